"""Clustering a workspace: read its fingerprints, cluster and map them
(``analyse.cluster.cluster_and_map``) or sweep the HDBSCAN settings
(``analyse.cluster.sweep_parameters``), and write the ``clusters``, ``cluster_tree`` and
``sweep`` tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bandprint.analyse.cluster import (
    CLUSTERS_TABLE,
    SWEEP_RANGE,
    SWEEP_TABLE,
    TREE_TABLE,
    ClusterRun,
    SweepResult,
    cluster_and_map,
    sweep_parameters,
)
from bandprint.analyse.lp import P_DEFAULT
from bandprint.store import Workspace
from bandprint.workflows.inputs import catalogue_formulas, read_fingerprints


def cluster_workspace(
    ws: Workspace,
    model_id: str | None = None,
    min_cluster_size: int = 5,
    min_samples: int = 2,
    p: float = P_DEFAULT,
    *,
    write: bool = True,
    **settings: Any,
) -> ClusterRun:
    """Cluster and map the fingerprints of a workspace (``cluster_and_map``, which takes the
    keyword ``settings``: ``root``, ``strategy``, ``embedding``, ``n_neighbors``, ...;
    ``model_id``: whose fingerprints, default the newest model); store the ``clusters``
    table (one row per material: ``CLUSTER_COLUMNS``) and the ``cluster_tree`` table, both
    with the run's meta (``model_id`` first)."""
    model, ids, X = read_fingerprints(ws, model_id, at_least=2)
    run = cluster_and_map(
        X, ids, catalogue_formulas(ws, ids), min_cluster_size, min_samples, p, **settings
    )
    run.meta = {"model_id": model, **run.meta}
    if write:
        ws.write_table(CLUSTERS_TABLE, run.table, run.meta)
        ws.write_table(TREE_TABLE, run.tree, run.meta)
    return run


def sweep_workspace(
    ws: Workspace,
    model_id: str | None = None,
    min_cluster_sizes: Iterable[int] = SWEEP_RANGE,
    min_samples_values: Iterable[int] = SWEEP_RANGE,
    p: float = P_DEFAULT,
    *,
    write: bool = True,
    **settings: Any,
) -> SweepResult:
    """``sweep_parameters`` on a workspace's fingerprints (with its keyword ``settings``:
    ``root``, ``strategy``, ``max_cluster_fraction``, ``progress``, ...); stores the ``sweep``
    table."""
    model, _ids, X = read_fingerprints(ws, model_id, at_least=2)
    result = sweep_parameters(X, min_cluster_sizes, min_samples_values, p, **settings)
    result.params["model_id"] = model
    if write:
        meta = {
            **result.params,
            "recommended": list(result.recommended) if result.recommended else None,
            "reason": result.reason,
        }
        ws.write_table(SWEEP_TABLE, result.table, meta)
    return result


__all__ = ["cluster_workspace", "sweep_workspace"]
