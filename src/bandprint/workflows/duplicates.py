"""Duplicates in a workspace: ``find_duplicates`` on its fingerprints (the similarity index of
``workflows.search`` reused), stored as the ``duplicates`` table; the distance of two stored
materials, and the two drawn side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bandprint.analyse.duplicates import (
    DEFAULT_K,
    DEFAULT_P,
    DUPLICATES_TABLE,
    DuplicateResult,
    find_duplicates,
)
from bandprint.analyse.lp import pairwise_distances
from bandprint.analyse.search import IndexKind
from bandprint.analyse.shards import find_duplicates_sharded
from bandprint.store import Workspace
from bandprint.workflows.inputs import catalogue_formulas, formula_lookup
from bandprint.workflows.search import part_shards, workspace_index
from bandprint.workflows.shards import Engine, map_function

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def duplicates_workspace(
    ws: Workspace,
    model_id: str | None = None,
    threshold: float | None = None,
    k_mad: float = DEFAULT_K,
    same_formula_only: bool = False,
    p: float = DEFAULT_P,
    write: bool = True,
    sharded: bool = False,
    kind: IndexKind = "auto",
    engine: Engine = "local",
    address: str | None = None,
) -> DuplicateResult:
    """``find_duplicates`` on a workspace (its similarity index reused); stores the
    ``duplicates`` table. ``sharded``: ``find_duplicates_sharded`` over the fingerprint parts
    (memory for one part; ``kind`` per part; on a Ray cluster with ``engine="ray"``)."""
    if sharded:
        shards, model = part_shards(ws, model_id, p)
        formulas = {m: str(f or "") for m, f in formula_lookup(ws).items()}
        result = find_duplicates_sharded(
            shards,
            formulas,
            threshold=threshold,
            k_mad=k_mad,
            same_formula_only=same_formula_only,
            p=p,
            kind=kind,
            map_fn=map_function(engine, address),
        )
    else:
        result, model = _in_memory(ws, model_id, threshold, k_mad, same_formula_only, p)
    result.params["model_id"] = model
    if write:
        ws.write_table(DUPLICATES_TABLE, result.table, result.params)
    return result


def _in_memory(
    ws: Workspace,
    model_id: str | None,
    threshold: float | None,
    k_mad: float,
    same_formula_only: bool,
    p: float,
) -> tuple[DuplicateResult, str]:
    index, model = workspace_index(ws, model_id, p)
    result = find_duplicates(
        index.ids,
        index.vectors,
        catalogue_formulas(ws, index.ids),
        threshold=threshold,
        k_mad=k_mad,
        same_formula_only=same_formula_only,
        p=p,
        index=index,
    )
    return result, model


def pair_distance(
    ws: Workspace, id1: str, id2: str, model_id: str | None = None, p: float = DEFAULT_P
) -> float | None:
    """The distance of two materials' fingerprints under Minkowski ``p`` as
    ``lp.pairwise_distances`` gives it (``lp.metric_name(p)``; ``model_id``: default the
    newest model), or None when either has no fingerprint."""
    index, _ = workspace_index(ws, model_id, p, few_queries=True)
    if id1 not in index.ids or id2 not in index.ids:  # list scans: no id dictionary
        return None
    v = index.vectors
    a, b = index.ids.index(id1), index.ids.index(id2)
    return float(pairwise_distances(v[[a]], v[[b]], p=p)[0, 0])


def pair_figure(ws: Workspace, id1: str, id2: str, distance: float | None = None) -> Figure:
    """The two band structures side by side, titled with ids, formulas (and the distance)."""
    from bandprint.plot import plot_band_structures_side_by_side

    bss = [ws.get(id1, with_structure=False), ws.get(id2, with_structure=False)]
    titles = [f"{b.material_id} ({b.formula})" if b.formula else b.material_id for b in bss]
    fig = plot_band_structures_side_by_side(bss, titles)
    if distance is not None:
        fig.suptitle(f"fingerprint distance {distance:.4g}")
    return fig


__all__ = ["duplicates_workspace", "pair_distance", "pair_figure"]
