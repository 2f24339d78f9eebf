"""Analyses over many band structures: clusters and maps, duplicates, flat bands.

The names below are imported from their modules on first use (PEP 562), so that a command
needing one analysis (``bandprint similar``) does not pay for importing all of them (hdbscan,
UMAP, matminer: about a second).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name → the module of ``bandprint.analyse`` that defines it.
_EXPORTS = {
    # Discovery (issue 5): HDBSCAN with the true Minkowski p, the map, search, duplicates,
    # structure comparison.
    "ClusterResult": "cluster.hdbscan",
    "FingerprintClusterer": "cluster.hdbscan",
    "SweepResult": "cluster.sweep",
    "cluster_fingerprints": "cluster.hdbscan",
    "cluster_workspace": "cluster.workspace",
    "dbcv": "cluster.validity",
    "plot_sweep": "cluster.sweep",
    "s_dbw": "cluster.validity",
    "sweep_parameters": "cluster.sweep",
    "sweep_workspace": "cluster.workspace",
    "duplicates_workspace": "duplicates",
    "find_duplicates": "duplicates",
    "pair_figure": "duplicates",
    "embed_fingerprints": "embed",
    "map_groups": "embed",
    "SimilarityIndex": "search",
    "exact_knn": "lp",
    "pairwise_distances": "lp",
    "similar_materials": "search",
    "localisation": "structure",
    "structure_fingerprints": "structure",
    "structure_workspace": "structure",
    # Flat bands (issue 6). The image detector is ``bandprint.analyse.flatbands.cnn``.
    "FlatBandResult": "flatbands.core",
    "detect_flat_bands": "flatbands.eigen",
    "find_in_workspace": "flatbands.workspace",
    "flatband_table": "flatbands.workspace",
    "flatband_workspace": "flatbands.workspace",
    "query_materials": "flatbands.core",
}

#: The same names as ``_EXPORTS`` (a test keeps the two equal).
__all__ = [
    "ClusterResult",
    "FingerprintClusterer",
    "FlatBandResult",
    "SimilarityIndex",
    "SweepResult",
    "cluster_fingerprints",
    "cluster_workspace",
    "dbcv",
    "detect_flat_bands",
    "duplicates_workspace",
    "embed_fingerprints",
    "exact_knn",
    "find_duplicates",
    "find_in_workspace",
    "flatband_table",
    "flatband_workspace",
    "localisation",
    "map_groups",
    "pair_figure",
    "pairwise_distances",
    "plot_sweep",
    "query_materials",
    "s_dbw",
    "similar_materials",
    "structure_fingerprints",
    "structure_workspace",
    "sweep_parameters",
    "sweep_workspace",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:
    from bandprint.analyse.cluster import (
        ClusterResult,
        FingerprintClusterer,
        SweepResult,
        cluster_fingerprints,
        cluster_workspace,
        dbcv,
        plot_sweep,
        s_dbw,
        sweep_parameters,
        sweep_workspace,
    )
    from bandprint.analyse.duplicates import duplicates_workspace, find_duplicates, pair_figure
    from bandprint.analyse.embed import embed_fingerprints, map_groups
    from bandprint.analyse.flatbands import (
        FlatBandResult,
        detect_flat_bands,
        find_in_workspace,
        flatband_table,
        flatband_workspace,
        query_materials,
    )
    from bandprint.analyse.lp import exact_knn, pairwise_distances
    from bandprint.analyse.search import SimilarityIndex, similar_materials
    from bandprint.analyse.structure import (
        localisation,
        structure_fingerprints,
        structure_workspace,
    )
