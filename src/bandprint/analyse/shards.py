"""Nearest fingerprints and duplicates over shards that never sit in memory together.

A store too big for one machine's memory is searched one shard at a time. A *shard* is any
picklable callable returning ``(ids, vectors)`` (``[n, d]`` float32; a memory map is fine), e.g.
one Parquet part of a workspace's fingerprints or an ``.npy`` file (``NpyShard``). For every
shard, all queries are answered by a ``SimilarityIndex`` of that shard alone (exhaustive, or its
own inverted lists), and the per-shard answers are merged by their exact distances:

* with exhaustive shards the result is the exact k nearest overall (the k nearest of the union
  are among the union of each shard's k nearest), the same as one index over everything;
* with inverted lists per shard, neighbours can be missed (recall), but every reported distance
  is exact.

Memory: one shard's vectors and index, the queries, and k candidates per query and shard.
Shards are visited through ``map_fn`` (built-in ``map`` by default: one shard after another,
each search using every core of this machine; ``bandprint.distributed.ray_map`` farms shards
out to a Ray cluster, every node reading its shards by path).

Duplicates (``find_duplicates_sharded``): the threshold rule of ``find_duplicates``, calibrated
on the exact nearest-neighbour distances of a seeded sample of materials, then every shard's
materials as queries against every shard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bandprint.analyse.duplicates import (
    CALIBRATION_SAMPLE,
    DEFAULT_K,
    DEFAULT_P,
    NEIGHBOURS,
    DuplicateResult,
    DuplicateRule,
    duplicate_result,
    threshold_and_rule,
)
from bandprint.analyse.lp import P_DEFAULT, as_f32
from bandprint.analyse.search import (
    DEFAULT_NPROBE,
    IndexKind,
    SimilarityIndex,
    fingerprints_digest,
)
from bandprint.errors import BandprintError

#: A function applying a one-argument function to every shard, in order (``map``-like).
MapFn = Callable[[Callable[[Any], Any], Sequence[Any]], Iterable[Any]]


class Shard(Protocol):
    """A block of fingerprints: calling it returns ``(ids, [n, d] float32 vectors)``."""

    def __call__(self) -> tuple[list[str], np.ndarray]: ...


def load_or_build_index(
    folder: Path, ids: list[str], vectors: np.ndarray, p: float, kind: IndexKind, nprobe: int
) -> SimilarityIndex:
    """A shard's ``SimilarityIndex``: loaded from ``folder`` when it was built on exactly
    these fingerprints, else built, and kept there when it has inverted lists to keep."""
    digest = fingerprints_digest(ids, vectors)
    index = SimilarityIndex.load(folder, ids, vectors, digest)
    if index is None or float(index.p) != float(p):
        index = SimilarityIndex.build(ids, vectors, p=p, kind=kind, digest=digest)
        if index.kind != "exact":
            index.save(folder)
    index.nprobe = nprobe
    return index


@dataclass(frozen=True)
class ArrayShard:
    """A shard held in memory (tests, and blocks already loaded)."""

    ids: Sequence[str]
    vectors: np.ndarray

    def __call__(self) -> tuple[list[str], np.ndarray]:
        return list(self.ids), as_f32(self.vectors, "fingerprints")


@dataclass(frozen=True)
class NpyShard:
    """A shard on disk: ``<stem>.npy`` (``[n, d]`` float32, memory-mapped when read) and
    ``<stem>.ids.txt`` (one id per line)."""

    stem: str

    def __call__(self) -> tuple[list[str], np.ndarray]:
        path = Path(self.stem)
        try:
            vectors = np.load(path.with_suffix(".npy"), mmap_mode="r")
            ids = path.with_suffix(".ids.txt").read_text().splitlines()
        except (OSError, ValueError) as exc:
            raise BandprintError(f"{self.stem}: cannot read the shard ({exc})") from None
        if len(ids) != len(vectors):
            raise BandprintError(f"{self.stem}: {len(ids)} ids for {len(vectors)} fingerprints")
        return ids, vectors

    def index(
        self, ids: list[str], vectors: np.ndarray, p: float, kind: IndexKind, nprobe: int
    ) -> SimilarityIndex:
        """This shard's ``SimilarityIndex``; inverted lists are trained once and kept beside
        the shard (``<stem>.index-p<p>-<kind>/``, reused while the shard is unchanged)."""
        return load_or_build_index(
            Path(f"{self.stem}.index-p{p:g}-{kind}"), ids, vectors, p, kind, nprobe
        )

    @classmethod
    def write(cls, stem: str | Path, ids: Sequence[str], vectors: np.ndarray) -> NpyShard:
        """Write ``vectors`` and ``ids`` as a shard (each file under a temporary name, then
        renamed, so a killed writer leaves no half-written shard)."""
        path = Path(stem)
        tmp = path.with_name(f".{path.name}.tmp.npy")
        np.save(tmp, as_f32(vectors, "fingerprints"))
        tmp_ids = path.with_name(f".{path.name}.ids.tmp")
        tmp_ids.write_text("".join(f"{i}\n" for i in ids))
        tmp_ids.replace(path.with_suffix(".ids.txt"))
        tmp.replace(path.with_suffix(".npy"))
        return cls(str(path))


@dataclass(frozen=True)
class _ShardSearch:
    """One shard's answer to every query (a picklable task for ``map_fn``)."""

    queries: np.ndarray
    k: int
    p: float
    kind: IndexKind
    nprobe: int
    exclude_ids: tuple[str, ...] | None
    exact: bool | None

    def __call__(self, shard: Shard) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """``(ids, rows in the shard, distances)``, each ``[n_queries, ≤ k]``, and the
        shard's size (so the caller need not read the shard again to place its rows)."""
        ids, vectors = shard()
        if len(ids) == 0:
            nq = len(self.queries)
            empty = np.full((nq, 0), None, object)
            return empty, np.zeros((nq, 0), np.int64), np.zeros((nq, 0), np.float32), 0
        cached = getattr(shard, "index", None)
        if cached is not None:
            index = cached(ids, vectors, self.p, self.kind, self.nprobe)
        else:
            index = SimilarityIndex.build(
                ids, vectors, p=self.p, kind=self.kind, nprobe=self.nprobe, digest=""
            )
        exclude = None
        if self.exclude_ids is not None:
            row_of = {mid: r for r, mid in enumerate(ids)}
            exclude = np.array([row_of.get(mid, -1) for mid in self.exclude_ids], np.int64)
        rows, dist = index.search(self.queries, self.k, exclude=exclude, exact=self.exact)
        names = np.asarray(ids, dtype=object)[np.maximum(rows, 0)]
        names[rows < 0] = None
        return names, rows, dist, len(ids)


def merge_nearest(
    answers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, int]], k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k nearest of per-shard answers ``(ids, rows, distances, shard size)`` (each array
    ``[nq, k_s]``, shards in order): ids (object array, ``None`` where fewer than k exist),
    global rows (shards laid end to end; -1 where none) and distances (``inf`` where none),
    nearest first; equal distances keep shard order."""
    names_s, rows_s, dist_s, sizes = zip(*answers, strict=True)
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    rows_s = tuple(np.where(r >= 0, r + int(o), -1) for r, o in zip(rows_s, offsets, strict=True))
    names = np.concatenate(names_s, axis=1)
    rows = np.concatenate(rows_s, axis=1).astype(np.int64)
    d = np.concatenate(dist_s, axis=1).astype(np.float32)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    names = np.take_along_axis(names, order, 1)
    rows = np.take_along_axis(rows, order, 1)
    d = np.take_along_axis(d, order, 1)
    if d.shape[1] < k:
        pad = ((0, 0), (0, k - d.shape[1]))
        names = np.pad(names, pad, constant_values=None)
        rows = np.pad(rows, pad, constant_values=-1)
        d = np.pad(d, pad, constant_values=np.inf)
    return names, rows, d


@dataclass
class ShardedIndex:
    """k nearest fingerprints over ``shards`` visited one at a time (module doc).

    ``kind``: each shard's ``SimilarityIndex`` kind (``exact``: exact overall; ``ivf`` or
    ``auto``: inverted lists for shards above ``EXACT_INDEX_LIMIT``). ``p``: the Minkowski
    exponent, as everywhere in bandprint.
    """

    shards: Sequence[Shard]
    p: float = P_DEFAULT
    kind: IndexKind = "auto"
    nprobe: int = DEFAULT_NPROBE
    map_fn: MapFn = map
    _sizes: np.ndarray | None = field(default=None, repr=False, compare=False)

    def sizes(self) -> np.ndarray:
        """Fingerprints per shard (read once, then kept)."""
        if self._sizes is None:
            self._sizes = np.array(list(self.map_fn(_shard_size, list(self.shards))), np.int64)
        return self._sizes

    def offsets(self) -> np.ndarray:
        """Global row number of each shard's first fingerprint (shards laid end to end)."""
        return np.r_[0, np.cumsum(self.sizes())[:-1]].astype(np.int64)

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        exclude_ids: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, distances)``, each ``[n_queries, k]``, nearest first (``None`` / ``inf``
        where the shards hold fewer). ``exclude_ids[r]``: an id left out of query r's answer
        (its own, when the query is a stored fingerprint). ``exact`` as in
        ``SimilarityIndex.search``."""
        names, _, dist = self.neighbours(queries, k, exclude_ids, exact)
        return names, dist

    def neighbours(
        self,
        queries: np.ndarray,
        k: int = 10,
        exclude_ids: Sequence[str] | None = None,
        exact: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``search`` with the global row numbers of the neighbours too (``offsets``):
        ``(ids, rows, distances)``."""
        if not self.shards:
            raise BandprintError("no shards to search")
        Q = as_f32(np.atleast_2d(queries), "queries")
        if k < 1:
            raise BandprintError("k must be at least 1")
        if exclude_ids is not None and len(exclude_ids) != len(Q):
            raise BandprintError(f"{len(exclude_ids)} excluded ids for {len(Q)} queries")
        task = _ShardSearch(
            Q,
            int(k),
            float(self.p),
            self.kind,
            int(self.nprobe),
            None if exclude_ids is None else tuple(exclude_ids),
            exact,
        )
        answers = list(self.map_fn(task, list(self.shards)))
        if self._sizes is None:
            self._sizes = np.array([a[3] for a in answers], np.int64)
        return merge_nearest(answers, int(k))

    def knn_graph(
        self, k: int, refine: float = 0.0, progress: Callable[[int, int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every fingerprint's k nearest (itself first, at distance 0) as global rows and
        distances, ``[n, k]`` each: the neighbour graph of the ``knn`` clustering strategy
        (``mutual_reachability_mst(knn=...)``), built shard by shard. ``refine``: the fraction
        of fingerprints whose k-th neighbour is farthest searched again exhaustively (as
        ``lp.approximate_knn`` does). ``progress(done, total)`` after each shard."""
        n = int(self.sizes().sum())
        idx = np.empty((n, k), np.int64)
        dist = np.empty((n, k), np.float32)
        for s, (shard, start) in enumerate(zip(self.shards, self.offsets(), strict=True)):
            _, vectors = shard()
            _, rows, d = self.neighbours(np.asarray(vectors), k)
            idx[start : start + len(rows)], dist[start : start + len(rows)] = rows, d
            if progress is not None:
                progress(s + 1, len(self.shards))
        m = round(refine * n)
        if m > 0:
            redo = np.sort(np.argsort(-dist[:, -1], kind="stable")[:m])
            _, rows, d = self.neighbours(self.rows(redo), k, exact=True)
            idx[redo], dist[redo] = rows, d
        return idx, dist

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The fingerprints at global ``rows`` (any order), ``[len(rows), d]`` float32."""
        rows = np.asarray(rows, np.int64)
        bounds = np.r_[self.offsets(), self.sizes().sum()]
        shard_of = np.searchsorted(bounds, rows, side="right") - 1
        out: np.ndarray | None = None
        for s in np.unique(shard_of):
            _, vectors = self.shards[s]()
            at = shard_of == s
            if out is None:
                out = np.empty((len(rows), vectors.shape[1]), np.float32)
            out[at] = vectors[rows[at] - bounds[s]]
        return out if out is not None else np.empty((0, 0), np.float32)


def _shard_size(shard: Shard) -> int:
    return len(shard()[0])


def find_duplicates_sharded(
    shards: Sequence[Shard],
    formulas: Mapping[str, str] | None = None,
    threshold: float | None = None,
    k_mad: float = DEFAULT_K,
    same_formula_only: bool = False,
    p: float = DEFAULT_P,
    neighbours: int = NEIGHBOURS,
    kind: IndexKind = "auto",
    nprobe: int = DEFAULT_NPROBE,
    calibration_sample: int = CALIBRATION_SAMPLE,
    seed: int = 0,
    map_fn: MapFn = map,
    progress: Callable[[int, int], None] | None = None,
) -> DuplicateResult:
    """``find_duplicates`` over shards (module doc): pairs closer than ``threshold``,
    calibrated when ``None`` on the exact nearest-neighbour distances of
    ``calibration_sample`` materials drawn with ``seed`` (all of them when fewer). Every
    shard's materials are then searched against all shards for their ``neighbours`` nearest.
    ``formulas``: id → formula (missing ids count as unknown). ``progress(done, total)`` is
    called after each query shard. ``nn_distance`` of the result holds the calibration
    sample's exact nearest-neighbour distances."""
    if not shards:
        raise BandprintError("no shards to search")
    index = ShardedIndex(shards, p=p, kind=kind, nprobe=nprobe, map_fn=map_fn)
    n = int(index.sizes().sum())
    if n < 2:
        raise BandprintError(f"need at least 2 fingerprints, got {n}")

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, min(int(calibration_sample), n), replace=False))
    # Exact 2 nearest of each sampled fingerprint; the nearest other is the one not itself.
    _, rows, d = index.neighbours(index.rows(sample), 2, exact=True)
    nn_exact = np.where(rows[:, 0] == sample, d[:, 1], d[:, 0]).astype(np.float64)
    finite = nn_exact[np.isfinite(nn_exact)]
    median_nn = float(np.median(finite)) if len(finite) else float("nan")
    threshold, rule = threshold_and_rule(nn_exact, threshold, k_mad, n, seed)

    kk = int(min(neighbours, n - 1))
    pairs: dict[tuple[str, str], float] = {}
    # Each paired material's nearest neighbour as found (for ``mutual_nearest``); a material
    # outside every pair when its own shard is searched cannot have its pair partner as nearest.
    nearest: dict[str, str | None] = {}
    for s, shard in enumerate(shards):
        ids, vectors = shard()
        names, dist = index.search(np.asarray(vectors), kk, exclude_ids=ids)
        rows, cols = np.nonzero(dist <= threshold)
        for r, c in zip(rows, cols, strict=True):
            a, b = sorted((ids[r], names[r, c]))
            pairs[(a, b)] = float(dist[r, c])
        for r in np.unique(rows):
            nearest[ids[r]] = names[r, 0]
        if progress is not None:
            progress(s + 1, len(shards))
    return duplicate_result(
        pairs,
        formulas or {},
        nearest,
        DuplicateRule(float(threshold), rule, float(p), float(k_mad), same_formula_only),
        median_nn,
        nn_exact,
        {"calibrated_on": len(sample), "index": f"sharded ({len(shards)} shards, {kind})", "n": n},
    )


def shards_of(ids: Sequence[str], vectors: np.ndarray, shard_size: int) -> list[ArrayShard]:
    """``vectors`` cut into in-memory shards of at most ``shard_size`` rows."""
    if shard_size < 1:
        raise BandprintError("shard_size must be at least 1")
    return [
        ArrayShard(list(ids[a : a + shard_size]), vectors[a : a + shard_size])
        for a in range(0, len(ids), shard_size)
    ]


__all__ = [
    "ArrayShard",
    "MapFn",
    "NpyShard",
    "Shard",
    "ShardedIndex",
    "find_duplicates_sharded",
    "load_or_build_index",
    "merge_nearest",
    "shards_of",
]
