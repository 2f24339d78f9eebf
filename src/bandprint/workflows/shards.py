"""A workspace's fingerprints as shards, for ``similar`` and ``duplicates`` when they need not
fit in memory (``sharded=True`` in ``workflows.search`` and ``workflows.duplicates``): each
write-once fingerprint part (``Workspace.fingerprint_parts``) is a shard of
``analyse.shards``, read when it is searched, on this machine or (``engine="ray"``) on the
nodes of a Ray cluster, which read the parts by path from the shared workspace.

Per part, inverted lists (for parts above ``search.EXACT_INDEX_LIMIT`` fingerprints, or
``kind="ivf"``) are trained once and kept in the caller's index folder, reused while the part
is unchanged (parts are write-once, so until the part is superseded)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np

from bandprint.analyse.search import IndexKind, SimilarityIndex
from bandprint.analyse.shards import MapFn, load_or_build_index
from bandprint.errors import BandprintError
from bandprint.store import Workspace, read_fingerprint_part

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


def workspace_shards(ws: Workspace, model: str, index_dir: Path) -> list[FingerprintPartShard]:
    """The fingerprint parts of ``model`` as shards; their inverted lists live in
    ``index_dir``."""
    shards = []
    for path, rows in ws.fingerprint_parts(model):
        keep = None if rows is None else tuple(rows.tolist())
        shards.append(FingerprintPartShard(str(path), keep, str(index_dir)))
    return shards


def map_function(engine: Engine = "local", address: str | None = None) -> MapFn:
    """How shards are visited: one after another here, or as Ray tasks on a cluster."""
    if engine == "local":
        return map
    if engine == "ray":
        from bandprint.distributed import ray_map

        return partial(ray_map, address=address)
    raise BandprintError(f"unknown engine {engine!r} (local, ray)")


def stored_fingerprint(shards: list[FingerprintPartShard], material_id: str) -> np.ndarray | None:
    """The stored fingerprint of ``material_id`` (``[1, d]``), read part by part, or None."""
    for shard in shards:
        ids, vectors = shard()
        if material_id in ids:
            row = ids.index(material_id)
            return np.asarray(vectors[row : row + 1], dtype=np.float32)
    return None


__all__ = [
    "Engine",
    "FingerprintPartShard",
    "map_function",
    "stored_fingerprint",
    "workspace_shards",
]
