"""Clusters and map of one set of fingerprints, as the tables ``bandprint cluster`` stores:
the k-NN graph (or full matrix) is built once and shared by HDBSCAN and the UMAP/t-SNE map,
and the map's DBSCAN groups are added. Arrays in, tables out; reading the fingerprints from a
workspace and writing the tables is ``bandprint.workflows.cluster``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bandprint.analyse.cluster.hdbscan import (
    MAX_CLUSTER_FRACTION,
    ClusterResult,
    check_params,
    cluster_fingerprints,
)
from bandprint.analyse.cluster.mst import KNN_GRAPH_K, Strategy, choose_strategy, knn_graph
from bandprint.analyse.lp import P_DEFAULT, pairwise_distances

#: Names of the result tables of clustering and of the parameter sweep in a workspace.
CLUSTERS_TABLE = "clusters"
TREE_TABLE = "cluster_tree"
SWEEP_TABLE = "sweep"

#: Columns of the per-material clusters table.
CLUSTER_COLUMNS = [
    "material_id",
    "formula",
    "cluster",
    "probability",
    "exemplar_rank",
    "core_distance",
    "x",
    "y",
    "group",
]


@dataclass
class ClusterRun:
    """Clusters and map of a set of fingerprints.

    ``table``: one row per material (``CLUSTER_COLUMNS``); ``tree``: the condensed tree plus
    ``cluster`` (the label of a selected cluster node, else -1); ``xy``: the map, ``[n, 2]``;
    ``meta``: the settings and counts stored with both tables.
    """

    table: pd.DataFrame
    tree: pd.DataFrame
    result: ClusterResult
    xy: np.ndarray
    meta: dict[str, Any]

    @property
    def n_clusters(self) -> int:
        return self.result.n_clusters

    @property
    def n_unclassified(self) -> int:
        return self.result.n_unclassified

    def summary(self, top: int = 5) -> pd.DataFrame:
        """One row per cluster: size, persistence, map group, top exemplars (ids, formulas)."""
        t = self.table
        rows = []
        for c in range(self.result.n_clusters):
            members = t[t["cluster"] == c].sort_values("exemplar_rank")
            groups = members["group"][members["group"] >= 0]
            rows.append(
                {
                    "cluster": c,
                    "size": len(members),
                    "persistence": float(self.result.persistence[c]),
                    "group": int(groups.mode().iloc[0]) if len(groups) else -1,
                    "exemplars": members["material_id"].head(top).tolist(),
                    "formulas": members["formula"].head(top).tolist(),
                }
            )
        return pd.DataFrame(
            rows, columns=["cluster", "size", "persistence", "group", "exemplars", "formulas"]
        )


def cluster_and_map(
    X: np.ndarray,
    ids: Sequence[str],
    formulas: Sequence[str],
    min_cluster_size: int = 5,
    min_samples: int = 2,
    p: float = P_DEFAULT,
    *,
    root: bool = True,
    strategy: Strategy = "auto",
    embedding: str = "umap",
    n_neighbors: int = 10,
    min_dist: float = 0.1,
    group_eps: float | None = None,
    group_eps_fraction: float | None = None,
    max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
    seed: int = 0,
) -> ClusterRun:
    """HDBSCAN clusters (``cluster_fingerprints``), the 2-D map (``embed_fingerprints``) and
    its groups (``map_groups``) of the fingerprints ``X`` (``[n, d]``), named ``ids`` with
    ``formulas`` (one each, "" for none).

    Fewer than 4 fingerprints get no map (``x``, ``y`` NaN). ``meta`` holds every setting
    (``result.params`` and the map's) and the counts; ``root_node`` is the tree's root, n.
    """
    from bandprint.analyse.embed import (
        DEFAULT_EPS_FRACTION,
        embed_fingerprints,
        knn_from_matrix,
        map_groups,
        neighbour_graph,
    )

    n = len(ids)
    check_params(n, min_cluster_size, min_samples)
    strategy = choose_strategy(n, strategy)
    k = max(KNN_GRAPH_K, n_neighbors + 1, min_samples + 1)
    D = None
    if strategy == "matrix":
        D = pairwise_distances(X, p=p)
        knn = knn_from_matrix(D, k)
    elif strategy == "exact":
        knn = neighbour_graph(X, k, p, exact=True)
    else:
        knn = knn_graph(X, k, p, seed=seed)
    result = cluster_fingerprints(
        X,
        min_cluster_size,
        min_samples,
        p,
        root=root,
        strategy=strategy,
        distances=D,
        knn=knn if strategy in ("knn", "exact") else None,
        max_cluster_fraction=max_cluster_fraction,
        random_state=seed,
    )
    del D
    if n >= 4:
        xy = embed_fingerprints(
            X,
            embedding,  # type: ignore[arg-type]
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=seed,
            p=p,
            root=root,
            knn=knn,
        )
    else:
        xy = np.full((n, 2), np.nan)
    fraction = DEFAULT_EPS_FRACTION if group_eps_fraction is None else group_eps_fraction
    groups, eps = map_groups(xy, result.labels, eps=group_eps, eps_fraction=fraction)
    table = pd.DataFrame(
        {
            "material_id": list(ids),
            "formula": list(formulas),
            "cluster": result.labels,
            "probability": result.probabilities,
            "exemplar_rank": result.exemplar_rank,
            "core_distance": result.core_distances,
            "x": xy[:, 0],
            "y": xy[:, 1],
            "group": groups,
        },
        columns=CLUSTER_COLUMNS,
    )
    tree = result.condensed_tree.copy()
    node_label = {int(node): c for c, node in enumerate(result.cluster_nodes)}
    tree["cluster"] = [
        node_label.get(int(c), -1) if big else -1
        for c, big in zip(tree["child"], tree["is_cluster"], strict=True)
    ]
    meta = {
        "n": n,
        "n_clusters": result.n_clusters,
        "n_unclassified": result.n_unclassified,
        "n_groups": int(groups.max() + 1) if len(groups) else 0,
        **result.params,
        "embedding": embedding,
        "n_neighbors": n_neighbors,
        "min_dist": min_dist,
        "seed": seed,
        "group_eps": eps,
        "group_eps_rule": (
            "given" if group_eps is not None else f"{fraction} x robust map diagonal"
        ),
        "root_node": n,
    }
    return ClusterRun(table, tree, result, xy, meta)


__all__ = [
    "CLUSTERS_TABLE",
    "CLUSTER_COLUMNS",
    "SWEEP_TABLE",
    "TREE_TABLE",
    "ClusterRun",
    "cluster_and_map",
]
