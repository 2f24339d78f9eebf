"""HDBSCAN of fingerprints with the Minkowski p distance really applied, its validity indices,
the parameter sweep, and clusters with their map as tables.

Modules: ``mst`` (steps 1-3: core distances, mutual reachability, its minimum spanning tree),
``hdbscan`` (step 4 with hdbscan's own code; ``cluster_fingerprints``,
``FingerprintClusterer``), ``validity`` (DBCV, S_Dbw), ``sweep`` (the parameter sweep and its
plot), ``run`` (clusters and map of a set of fingerprints as the stored tables). Every public
name is importable from ``bandprint.analyse.cluster``; reading a workspace and writing its
tables is ``bandprint.workflows.cluster``.
"""

from __future__ import annotations

from bandprint.analyse.cluster.hdbscan import (
    HDBSCAN_TREE_TO_LABELS_PARAMS,
    MAX_CLUSTER_FRACTION,
    ClusterResult,
    FingerprintClusterer,
    cluster_fingerprints,
    condensed_tree_frame,
    hdbscan_private_api,
    labels_from_mst,
    max_cluster_size_for,
)
from bandprint.analyse.cluster.mst import (
    KNN_GRAPH_K,
    MATRIX_LIMIT,
    REFINE_FRACTION,
    REFINE_LIMIT,
    choose_strategy,
    core_distances_from_matrix,
    knn_graph,
    mutual_reachability_mst,
    refine_fraction,
)
from bandprint.analyse.cluster.run import (
    CLUSTER_COLUMNS,
    CLUSTERS_TABLE,
    SWEEP_TABLE,
    TREE_TABLE,
    ClusterRun,
    cluster_and_map,
)
from bandprint.analyse.cluster.sweep import (
    SWEEP_RANGE,
    SweepResult,
    plot_sweep,
    recommend_setting,
    sweep_parameters,
)
from bandprint.analyse.cluster.validity import (
    dbcv,
    s_dbw,
)

__all__ = [
    "CLUSTERS_TABLE",
    "CLUSTER_COLUMNS",
    "HDBSCAN_TREE_TO_LABELS_PARAMS",
    "KNN_GRAPH_K",
    "MATRIX_LIMIT",
    "MAX_CLUSTER_FRACTION",
    "REFINE_FRACTION",
    "REFINE_LIMIT",
    "SWEEP_RANGE",
    "SWEEP_TABLE",
    "TREE_TABLE",
    "ClusterResult",
    "ClusterRun",
    "FingerprintClusterer",
    "SweepResult",
    "choose_strategy",
    "cluster_and_map",
    "cluster_fingerprints",
    "condensed_tree_frame",
    "core_distances_from_matrix",
    "dbcv",
    "hdbscan_private_api",
    "knn_graph",
    "labels_from_mst",
    "max_cluster_size_for",
    "mutual_reachability_mst",
    "plot_sweep",
    "recommend_setting",
    "refine_fraction",
    "s_dbw",
    "sweep_parameters",
]
