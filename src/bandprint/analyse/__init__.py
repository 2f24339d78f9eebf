"""Analyses over many band structures: clusters and maps, duplicates, flat bands. Arrays and
tables in, arrays and tables out: reading a workspace and storing results in it is
``bandprint.workflows``.

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
    "cluster_and_map": "cluster.run",
    "cluster_fingerprints": "cluster.hdbscan",
    "dbcv": "cluster.validity",
    "plot_sweep": "cluster.sweep",
    "s_dbw": "cluster.validity",
    "sweep_parameters": "cluster.sweep",
    "find_duplicates": "duplicates",
    "FingerprintMap": "embed",
    "embed_fingerprints": "embed",
    "map_groups": "embed",
    "SimilarityIndex": "search",
    "exact_knn": "lp",
    "pairwise_distances": "lp",
    "StructureFingerprinter": "structure",
    "localisation": "structure",
    "structure_fingerprints": "structure",
    # Flat bands (issue 6). The image detector is ``bandprint.analyse.flatbands.cnn``.
    "FlatBandResult": "flatbands.core",
    "detect_flat_bands": "flatbands.eigen",
    "flatband_table": "flatbands.table",
    "query_materials": "flatbands.core",
}

#: The same names as ``_EXPORTS`` (a test keeps the two equal).
__all__ = [
    "ClusterResult",
    "FingerprintClusterer",
    "FingerprintMap",
    "FlatBandResult",
    "SimilarityIndex",
    "StructureFingerprinter",
    "SweepResult",
    "cluster_and_map",
    "cluster_fingerprints",
    "dbcv",
    "detect_flat_bands",
    "embed_fingerprints",
    "exact_knn",
    "find_duplicates",
    "flatband_table",
    "localisation",
    "map_groups",
    "pairwise_distances",
    "plot_sweep",
    "query_materials",
    "s_dbw",
    "structure_fingerprints",
    "sweep_parameters",
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
        cluster_and_map,
        cluster_fingerprints,
        dbcv,
        plot_sweep,
        s_dbw,
        sweep_parameters,
    )
    from bandprint.analyse.duplicates import find_duplicates
    from bandprint.analyse.embed import FingerprintMap, embed_fingerprints, map_groups
    from bandprint.analyse.flatbands import (
        FlatBandResult,
        detect_flat_bands,
        flatband_table,
        query_materials,
    )
    from bandprint.analyse.lp import exact_knn, pairwise_distances
    from bandprint.analyse.search import SimilarityIndex
    from bandprint.analyse.structure import (
        StructureFingerprinter,
        localisation,
        structure_fingerprints,
    )
