"""Analyses over many band structures: clusters and maps, duplicates, flat bands."""

# Discovery (issue 5): HDBSCAN with the true Minkowski p, the map, search, duplicates,
# structure comparison.
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

# Flat bands (issue 6). The image detector lives in ``bandprint.analyse.flatband_cnn`` (it
# imports torch, so it is not imported here).
from bandprint.analyse.flatbands import (
    FlatBandResult,
    detect_flat_bands,
    find_in_workspace,
    flatband_table,
    flatband_workspace,
    query_materials,
)
from bandprint.analyse.search import (
    SimilarityIndex,
    exact_knn,
    pairwise_distances,
    similar_materials,
)
from bandprint.analyse.structure import (
    localisation,
    structure_fingerprints,
    structure_workspace,
)

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
