"""Duplicates and similar over a workspace whose fingerprints need not fit in memory: each
write-once fingerprint part (``Workspace.fingerprint_parts``) is a shard of
``analyse.shards``, read when it is searched, on this machine or (``engine="ray"``) on the
nodes of a Ray cluster, which read the parts by path from the shared workspace.

Per part, inverted lists (for parts above ``search.EXACT_INDEX_LIMIT`` fingerprints, or
``kind="ivf"``) are trained once and kept in ``WS/index/<model>-p<p>-parts/<part>/``, reused
while the part is unchanged (parts are write-once, so until the part is superseded)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from bandprint.analyse.duplicates import DEFAULT_K, DEFAULT_P, DUPLICATES_TABLE, DuplicateResult
from bandprint.analyse.lp import P_DEFAULT
from bandprint.analyse.search import IndexKind, SimilarityIndex
from bandprint.analyse.shards import (
    MapFn,
    ShardedIndex,
    find_duplicates_sharded,
    load_or_build_index,
)
from bandprint.errors import BandprintError
from bandprint.store import Workspace, read_fingerprint_part
from bandprint.workflows.inputs import formula_lookup
from bandprint.workflows.search import INDEX_DIR, encode_query_file, neighbour_table

Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class FingerprintPartShard:
    """One fingerprint part of a workspace as a shard: its rows that are the latest write of
    their id (all when ``rows`` is None); ``index_dir`` keeps its inverted lists."""

    path: str
    rows: tuple[int, ...] | None
    index_dir: str

    def __call__(self) -> tuple[list[str], np.ndarray]:
        rows = None if self.rows is None else np.array(self.rows, dtype=np.int64)
        return read_fingerprint_part(self.path, rows)

    def index(
        self, ids: list[str], vectors: np.ndarray, p: float, kind: IndexKind, nprobe: int
    ) -> SimilarityIndex:
        folder = Path(self.index_dir) / f"{Path(self.path).stem}-{kind}"
        return load_or_build_index(folder, ids, vectors, p, kind, nprobe)


def workspace_shards(
    ws: Workspace, model_id: str | None = None, p: float = DEFAULT_P
) -> tuple[list[FingerprintPartShard], str]:
    """The fingerprint parts of ``model_id`` (default: the newest model) as shards, and the
    model id."""
    models = ws.fingerprint_models()
    if not models:
        raise BandprintError(f"no fingerprints in {ws.path} (run bandprint fingerprint {ws.path})")
    model = model_id or models[-1]
    index_dir = Path(ws.path) / INDEX_DIR / f"{model}-p{p:g}-parts"
    shards = [
        FingerprintPartShard(
            str(path), None if rows is None else tuple(rows.tolist()), str(index_dir)
        )
        for path, rows in ws.fingerprint_parts(model)
    ]
    return shards, model


def map_function(engine: Engine = "local", address: str | None = None) -> MapFn:
    """How shards are visited: one after another here, or as Ray tasks on a cluster."""
    if engine == "local":
        return map
    if engine == "ray":
        from bandprint.distributed import ray_map

        return partial(ray_map, address=address)
    raise BandprintError(f"unknown engine {engine!r} (local, ray)")


def duplicates_sharded_workspace(
    ws: Workspace,
    model_id: str | None = None,
    threshold: float | None = None,
    k_mad: float = DEFAULT_K,
    same_formula_only: bool = False,
    p: float = DEFAULT_P,
    kind: IndexKind = "auto",
    engine: Engine = "local",
    address: str | None = None,
    write: bool = True,
) -> DuplicateResult:
    """``find_duplicates_sharded`` over the workspace's fingerprint parts; stores the
    ``duplicates`` table as ``workflows.duplicates.duplicates_workspace`` does."""
    shards, model = workspace_shards(ws, model_id, p)
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
    result.params["model_id"] = model
    if write:
        ws.write_table(DUPLICATES_TABLE, result.table, result.params)
    return result


def stored_fingerprint(shards: list[FingerprintPartShard], material_id: str) -> np.ndarray | None:
    """The stored fingerprint of ``material_id`` (``[1, d]``), read part by part, or None."""
    for shard in shards:
        ids, vectors = shard()
        if material_id in ids:
            row = ids.index(material_id)
            return np.asarray(vectors[row : row + 1], dtype=np.float32)
    return None


def similar_sharded(
    ws: Workspace,
    query: str,
    k: int = 10,
    p: float = P_DEFAULT,
    model_id: str | None = None,
    model_file: str | None = None,
    kind: IndexKind = "auto",
    engine: Engine = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """``workflows.search.similar_materials`` over the workspace's fingerprint parts, one
    part at a time (``kind`` per part), the same table."""
    shards, model = workspace_shards(ws, model_id, p)
    own = stored_fingerprint(shards, query)
    if own is not None:
        names, Q, exclude = [query], own, [query]
    else:
        names, Q = encode_query_file(ws, model, query, model_file)
        exclude = None
    index = ShardedIndex(shards, p=p, kind=kind, map_fn=map_function(engine, address))
    found, dist = index.search(
        Q, k, exclude_ids=exclude, exact=None if kind == "auto" else kind == "exact"
    )
    return neighbour_table(ws, model, names, found, dist)


__all__ = [
    "Engine",
    "FingerprintPartShard",
    "duplicates_sharded_workspace",
    "map_function",
    "similar_sharded",
    "stored_fingerprint",
    "workspace_shards",
]
