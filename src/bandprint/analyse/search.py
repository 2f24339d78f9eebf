"""Distances between fingerprints under Minkowski p, exact k-NN, and a similarity index.

The distance. For ``0 < p ≤ 1`` bandprint uses the ℓp metric ``d(x, y) = Σ |xᵢ − yᵢ|^p``
(no ``1/p`` root): it satisfies the triangle inequality (``|a + b|^p ≤ |a|^p + |b|^p``), so
it is a true metric, and it ranks every pair exactly as the Minkowski "distance"
``(Σ |xᵢ − yᵢ|^p)^(1/p)`` does (a monotone function of it), so nearest neighbours, core
distances' ranks and minimum spanning trees are the same. For ``p > 1`` the metric is the usual
rooted one (``p = 2`` is Euclidean). ``root=True`` gives the Minkowski form for every ``p``
(what ``hdbscan``'s generic path and ``umap``'s ``minkowski`` compute).

Arithmetic is float32, accumulated in float32 (relative error ~1e-6 over 98 values). The
power ``t^0.2`` is a fifth root computed by three Newton steps from a bit-level first guess
(relative error ≤ 2e-7, about float32 rounding); it vectorises, unlike ``libm``'s ``powf``.

The index (``SimilarityIndex``). ``exact``: brute force over every fingerprint with the true
metric (parallel, O(n·d) per query). ``ivf``: k-means inverted lists (faiss k-means, as in
faiss's IVF) whose probed cells are scanned with the exact ℓp metric, so every reported
distance is exact and only recall can be lost. faiss's own indexes were measured as candidate
generators (``bench/bench_search.py``): L2 candidates re-ranked exactly need many candidates for
good p = 0.2 recall; ``IndexHNSWFlat(METRIC_Lp)`` (exact distances) was tried during
development and found slow to build on two cores, but no figure of it was kept. Indexes are
saved in ``WS/index/<model>-p<p>/`` with a digest of the fingerprints they were built on, and
rebuilt when those change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    import pandas as pd

    from bandprint.store import Workspace

#: The paper's Minkowski exponent.
P_DEFAULT = 0.2

# Fast-math flags without "nnan"/"ninf": log(0) = -inf must stay well defined. Kernels also
# use error_model="numpy": Python's model checks every division for zero, which stops LLVM
# from vectorising the inner loop.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Power kernels, selected by an integer so one compiled kernel serves every p (LLVM unswitches
# the loop on it, so each branch still vectorises).
_MODE_ROOT5 = 0  # p = 0.2
_MODE_SQRT = 1  # p = 0.5
_MODE_ABS = 2  # p = 1
_MODE_SQUARE = 3  # p = 2
_MODE_GENERIC = 4  # exp(p log t)


def _power_mode(p: float) -> int:
    if not (p > 0 and math.isfinite(p)):
        raise BandprintError(f"Minkowski p must be a positive number, got {p}")
    return {0.2: _MODE_ROOT5, 0.5: _MODE_SQRT, 1.0: _MODE_ABS, 2.0: _MODE_SQUARE}.get(
        float(p), _MODE_GENERIC
    )


@intrinsic
def _f32_bits(typingctx, x):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _bits_f32(typingctx, x):  # type: ignore[no-untyped-def]
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _fifth_root(a):  # type: ignore[no-untyped-def]
    # First guess: dividing the float's bit pattern (≈ log2) by 5 (Blinn's trick), within
    # ~10 %; three Newton steps y ← (4y + a/y⁴)/5 bring it to float32 rounding.
    y = _bits_f32(
        np.int32(np.float32(_f32_bits(a)) * np.float32(0.2) + np.float32(0.8 * (127 << 23)))
    )
    for _ in range(3):
        y2 = y * y
        y = np.float32(0.8) * y + np.float32(0.2) * a / (y2 * y2)
    return y if a > 0 else np.float32(0.0)


@njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _term(a, mode, p):  # type: ignore[no-untyped-def]
    if mode == _MODE_ROOT5:
        return _fifth_root(a)
    elif mode == _MODE_SQRT:
        return np.sqrt(a)
    elif mode == _MODE_ABS:
        return a
    elif mode == _MODE_SQUARE:
        return a * a
    else:
        return np.exp(p * np.log(a)) if a > 0 else np.float32(0.0)


@njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _pair(X, i, Y, j, mode, p):  # type: ignore[no-untyped-def]
    s = np.float32(0.0)
    for k in range(X.shape[1]):
        s += _term(np.abs(X[i, k] - Y[j, k]), mode, p)
    return s


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _pairwise_kernel(X, Y, mode, p):  # type: ignore[no-untyped-def]
    n, m = X.shape[0], Y.shape[0]
    out = np.empty((n, m), dtype=np.float32)
    for i in prange(n):
        for j in range(m):
            out[i, j] = _pair(X, i, Y, j, mode, p)
    return out


@njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _self_row(X, out, i, mode, p):  # type: ignore[no-untyped-def]
    out[i, i] = 0.0
    for j in range(i + 1, X.shape[0]):
        d = _pair(X, i, X, j, mode, p)
        out[i, j] = d
        out[j, i] = d


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _self_pairwise_kernel(X, mode, p):  # type: ignore[no-untyped-def]
    # Upper triangle only, mirrored: half the work of the general kernel. Task t fills rows t
    # and n-1-t, so every task costs about n pairs and the threads stay balanced.
    n = X.shape[0]
    out = np.empty((n, n), dtype=np.float32)
    for t in prange((n + 1) // 2):
        _self_row(X, out, t, mode, p)
        if n - 1 - t != t:
            _self_row(X, out, n - 1 - t, mode, p)
    return out


@njit(inline="always")
def _push(bd, bi, filled, k, d, j):  # type: ignore[no-untyped-def]
    # Insert (d, j) into the sorted best-k lists bd/bi holding `filled` entries.
    if filled == k and d >= bd[k - 1]:
        return filled
    pos = min(filled, k - 1)
    if filled < k:
        filled += 1
    while pos > 0 and bd[pos - 1] > d:
        bd[pos] = bd[pos - 1]
        bi[pos] = bi[pos - 1]
        pos -= 1
    bd[pos] = d
    bi[pos] = j
    return filled


_BLOCK = 512


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _knn_kernel(Q, X, k, mode, p):  # type: ignore[no-untyped-def]
    # Per query: distances to a block of rows into a small buffer (that loop vectorises),
    # then a scan keeping the k best by insertion. No n-long temporaries.
    nq, n = Q.shape[0], X.shape[0]
    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    for i in prange(nq):
        buf = np.empty(_BLOCK, dtype=np.float32)
        bd, bi = dist[i], idx[i]
        filled = 0
        for j0 in range(0, n, _BLOCK):
            m = min(_BLOCK, n - j0)
            for jj in range(m):
                buf[jj] = _pair(Q, i, X, j0 + jj, mode, p)
            for jj in range(m):
                filled = _push(bd, bi, filled, k, buf[jj], j0 + jj)
    return idx, dist


@njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
def _ivf_query(Q, i, Xs, rows, offsets, cells, k, mode, p, bd, bi):  # type: ignore[no-untyped-def]
    # Like one query of _knn_kernel, but scanning only the rows of the probed cells; Xs holds
    # the vectors sorted by cell (contiguous scans), rows maps them back to row numbers.
    buf = np.empty(_BLOCK, dtype=np.float32)
    filled = 0
    for c in range(cells.shape[1]):
        cell = cells[i, c]
        if cell < 0:
            continue
        for j0 in range(offsets[cell], offsets[cell + 1], _BLOCK):
            m = min(_BLOCK, offsets[cell + 1] - j0)
            for jj in range(m):
                buf[jj] = _pair(Q, i, Xs, j0 + jj, mode, p)
            for jj in range(m):
                filled = _push(bd, bi, filled, k, buf[jj], rows[j0 + jj])


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _ivf_knn_kernel(Q, Xs, rows, offsets, cells, k, mode, p):  # type: ignore[no-untyped-def]
    nq = Q.shape[0]
    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    for i in prange(nq):
        _ivf_query(Q, i, Xs, rows, offsets, cells, k, mode, p, dist[i], idx[i])
    return idx, dist


@njit(fastmath=_FASTMATH, error_model="numpy", cache=True)
def _ivf_knn_serial(Q, Xs, rows, offsets, cells, k, mode, p):  # type: ignore[no-untyped-def]
    # One or two queries: a parallel region would only add the cost of waking threads
    # (several ms on a busy machine) to a sub-millisecond scan.
    nq = Q.shape[0]
    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    for i in range(nq):
        _ivf_query(Q, i, Xs, rows, offsets, cells, k, mode, p, dist[i], idx[i])
    return idx, dist


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _rerank_kernel(Q, X, cand, mode, p):  # type: ignore[no-untyped-def]
    nq, c = cand.shape
    out = np.full((nq, c), np.inf, dtype=np.float32)
    for i in prange(nq):
        for t in range(c):
            j = cand[i, t]
            if j >= 0:
                out[i, t] = _pair(Q, i, X, j, mode, p)
    return out


@njit(parallel=True, fastmath=_FASTMATH, error_model="numpy", cache=True)
def _edge_kernel(X, a, b, mode, p):  # type: ignore[no-untyped-def]
    out = np.empty(a.shape[0], dtype=np.float32)
    for t in prange(a.shape[0]):
        out[t] = _pair(X, a[t], X, b[t], mode, p)
    return out


def _as_f32(X: np.ndarray, name: str = "X") -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise BandprintError(f"{name} must be a 2-D array (n, d), got shape {X.shape}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        raise BandprintError(f"{name} holds NaN or infinite values")
    return X


def _finish(d: np.ndarray, p: float, root: bool) -> np.ndarray:
    """Raw sums Σ|Δ|^p → the reported distance (metric form or Minkowski form)."""
    if p > 1 or root:
        if p == 2.0:
            np.sqrt(d, out=d)
        elif p != 1.0:
            np.power(d, np.float32(1.0 / p), out=d)
    return d


def metric_name(p: float, root: bool = False) -> str:
    """Human-readable name of the distance ``pairwise_distances(p=p, root=root)`` returns."""
    if p == 2.0:
        return "euclidean"
    if p == 1.0:
        return "manhattan (L1)"
    if p < 1 and not root:
        return f"lp metric sum|x-y|^{p:g} (Minkowski p={p:g} without the 1/p root)"
    return f"minkowski p={p:g} (sum|x-y|^p)^(1/p)"


#: Bytes of temporaries a selection over a full distance matrix may hold at once
#: (``row_blocks``): it works through the matrix in blocks of rows of this size.
ROW_BLOCK_BYTES = 64 << 20


def row_blocks(n_rows: int, row_bytes: int) -> Iterator[slice]:
    """Consecutive row slices covering ``n_rows`` rows, each of at most
    ``ROW_BLOCK_BYTES // row_bytes`` rows (at least one): ``row_bytes`` is what a selection
    allocates per row (e.g. 8·n for an argpartition of an n-wide row)."""
    step = max(1, ROW_BLOCK_BYTES // max(int(row_bytes), 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def pairwise_distances(
    X: np.ndarray, Y: np.ndarray | None = None, p: float = P_DEFAULT, root: bool = False
) -> np.ndarray:
    """Distances ``[len(X), len(Y)]`` (float32); ``Y=None`` gives the symmetric self matrix."""
    mode = _power_mode(p)
    X = _as_f32(X)
    if Y is None:
        d = _self_pairwise_kernel(X, mode, np.float32(p))
    else:
        Y = _as_f32(Y, "Y")
        if Y.shape[1] != X.shape[1]:
            raise BandprintError(f"X has {X.shape[1]} values per row, Y {Y.shape[1]}")
        d = _pairwise_kernel(X, Y, mode, np.float32(p))
    return _finish(d, p, root)


def edge_distances(
    X: np.ndarray, a: np.ndarray, b: np.ndarray, p: float = P_DEFAULT, root: bool = False
) -> np.ndarray:
    """Distances between rows ``X[a[t]]`` and ``X[b[t]]`` for every t."""
    X = _as_f32(X)
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    return _finish(_edge_kernel(X, a, b, _power_mode(p), np.float32(p)), p, root)


def exact_knn(
    X: np.ndarray,
    k: int,
    p: float = P_DEFAULT,
    queries: np.ndarray | None = None,
    root: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest rows of ``X`` for each query (default: each row of ``X``, itself
    included at distance 0) by brute force with the true metric: ``(indices, distances)``,
    each ``[n_queries, k]``, nearest first. Time O(n_queries · n · d), memory O(n_queries · k).
    """
    X = _as_f32(X)
    Q = X if queries is None else _as_f32(queries, "queries")
    if Q.shape[1] != X.shape[1]:
        raise BandprintError(f"queries have {Q.shape[1]} values, the index {X.shape[1]}")
    k = int(min(k, X.shape[0]))
    if k < 1:
        raise BandprintError("k must be at least 1 (and the index must not be empty)")
    mode, pf = _power_mode(p), np.float32(p)
    if Q.shape[0] >= _parallel_queries():
        idx, dist = _knn_kernel(Q, X, k, mode, pf)
    else:
        # Few queries: parallelise over the rows of X instead (one thread per query would
        # leave the other cores idle), then select.
        d = _pairwise_kernel(X, Q, mode, pf).T
        idx = np.argpartition(d, k - 1, axis=1)[:, :k] if k < X.shape[0] else np.argsort(d, 1)
        dist = np.take_along_axis(d, idx, 1)
        order = np.argsort(dist, axis=1, kind="stable")
        idx = np.ascontiguousarray(np.take_along_axis(idx, order, 1), dtype=np.int64)
        dist = np.ascontiguousarray(np.take_along_axis(dist, order, 1))
    return idx, _finish(dist, p, root)


def _parallel_queries() -> int:
    import numba

    return 4 * numba.get_num_threads()


def rerank(
    X: np.ndarray,
    queries: np.ndarray,
    candidates: np.ndarray,
    k: int,
    p: float = P_DEFAULT,
    root: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of each query's ``candidates`` (row indices into ``X``, -1 = none) by the
    exact metric: ``(indices, distances)`` nearest first."""
    X = _as_f32(X)
    Q = _as_f32(queries, "queries")
    cand = np.ascontiguousarray(candidates, dtype=np.int64)
    d = _rerank_kernel(Q, X, cand, _power_mode(p), np.float32(p))
    # A candidate listed twice counts once.
    order = np.argsort(cand, axis=1, kind="stable")
    srt = np.take_along_axis(cand, order, 1)
    repeat = np.zeros_like(cand, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], srt[:, 1:] == srt[:, :-1], 1)
    d[repeat] = np.inf
    k = min(k, cand.shape[1])
    part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < cand.shape[1] else np.argsort(d, 1)
    dk = np.take_along_axis(d, part, 1)
    order = np.argsort(dk, axis=1, kind="stable")
    part = np.take_along_axis(part, order, 1)
    dk = np.take_along_axis(dk, order, 1)
    ik = np.take_along_axis(cand, part, 1)
    ik[~np.isfinite(dk)] = -1
    return ik, _finish(dk, p, root)


# -- inverted lists: approximate neighbours with exact distances ----------------------------


@dataclass
class IVFLists:
    """A k-means partition of the fingerprints (an inverted file, as in faiss's IVF).

    A query scans the points of its ``nprobe`` nearest cells with the *exact* ℓp metric, so
    every distance it returns is exact; a true neighbour is missed only when it lies in a cell
    that was not probed. Cells come from faiss k-means (L2, which is what k-means minimises)
    and are probed in order of L2 distance from the query to their centroids.
    """

    centroids: np.ndarray  # [nlist, d] float32
    order: np.ndarray  # row numbers sorted by cell
    offsets: np.ndarray  # [nlist + 1]: cell c holds order[offsets[c]:offsets[c + 1]]
    _quantizer: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def train(cls, X: np.ndarray, nlist: int | None = None, seed: int = 0) -> IVFLists:
        import faiss

        X = _as_f32(X)
        n, dim = X.shape
        nlist = int(nlist or default_nlist(n))
        nlist = max(1, min(nlist, n))
        km = faiss.Kmeans(
            dim, nlist, niter=20, seed=seed, max_points_per_centroid=256, verbose=False
        )
        km.train(X)
        _, assign = km.index.search(X, 1)
        assign = assign[:, 0]
        order = np.argsort(assign, kind="stable").astype(np.int64)
        offsets = np.zeros(nlist + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=nlist), out=offsets[1:])
        return cls(np.ascontiguousarray(km.centroids, dtype=np.float32), order, offsets)

    @property
    def nlist(self) -> int:
        return int(self.centroids.shape[0])

    def probe(self, queries: np.ndarray, nprobe: int) -> np.ndarray:
        """The ``nprobe`` cells nearest to each query (by L2 to the centroids)."""
        import faiss

        if self._quantizer is None:
            self._quantizer = faiss.IndexFlatL2(self.centroids.shape[1])
            self._quantizer.add(self.centroids)
        _, cells = self._quantizer.search(_as_f32(queries, "queries"), min(nprobe, self.nlist))
        return np.ascontiguousarray(cells, dtype=np.int64)

    def search(
        self,
        sorted_vectors: np.ndarray,
        queries: np.ndarray,
        k: int,
        nprobe: int,
        p: float = P_DEFAULT,
        root: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(row indices, exact distances)`` of the k best in the probed cells.

        ``sorted_vectors`` is ``X[self.order]`` (kept by the caller, so it is made once).
        """
        Q = _as_f32(queries, "queries")
        cells = self.probe(Q, nprobe)
        kernel = _ivf_knn_kernel if len(Q) > 2 else _ivf_knn_serial
        idx, dist = kernel(
            Q,
            sorted_vectors,
            self.order,
            self.offsets,
            cells,
            int(k),
            _power_mode(p),
            np.float32(p),
        )
        return idx, _finish(dist, p, root)


def default_nlist(n: int) -> int:
    """faiss's rule of thumb, about 4·√n cells."""
    # and at least 39 training points per cell (below that faiss warns).
    return int(max(1, min(65536, round(4 * math.sqrt(n)), n // 39)))


def default_nprobe(nlist: int) -> int:
    """Cells scanned per query for the k-NN graph: 1/16 of them, at least 32."""
    return int(min(nlist, max(32, nlist // 16)))


def approximate_knn(
    X: np.ndarray,
    k: int,
    p: float = P_DEFAULT,
    nlist: int | None = None,
    nprobe: int | None = None,
    seed: int = 0,
    refine: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """k nearest rows of every row of ``X`` (itself included), scanning ``nprobe`` of
    ``nlist`` k-means cells per row: distances exact, neighbour lists approximate
    (recall measured in ``bench/bench_search.py``). Time ~ n² · nprobe/nlist · d.

    ``refine``: the fraction of rows whose k-th neighbour is farthest (the rows in sparse
    regions, whose neighbours the cells serve worst) searched again exhaustively, so their
    lists are exact; costs ``refine`` · n² · d.
    """
    X = _as_f32(X)
    n = X.shape[0]
    k = min(k, n)
    ivf = IVFLists.train(X, nlist, seed)
    nprobe = nprobe or default_nprobe(ivf.nlist)
    idx, dist = ivf.search(np.ascontiguousarray(X[ivf.order]), X, k, nprobe, p)
    m = round(refine * n)
    if m > 0:
        rows = np.argsort(-dist[:, -1], kind="stable")[:m]
        idx[rows], dist[rows] = exact_knn(X, k, p, queries=X[rows])
    return idx, dist


# -- similarity index -----------------------------------------------------------------------

IndexKind = Literal["auto", "exact", "ivf"]

#: Up to this many fingerprints ``auto`` builds no inverted lists at all.
EXACT_INDEX_LIMIT = 100_000
#: Up to this many queries at once an index searches exhaustively whatever its kind (recall
#: 1; fast enough for ``bandprint similar`` at a million fingerprints); the inverted lists pay
#: off for batches, e.g. every material's neighbours for the report (latencies and recall in
#: BENCHMARKS.md).
EXACT_QUERY_LIMIT = 8
#: Cells probed per query by the ``ivf`` index (recall and latency in BENCHMARKS.md).
DEFAULT_NPROBE = 64


def fingerprints_digest(ids: list[str], vectors: np.ndarray) -> str:
    """A short hash of ids and vectors: an index built on other fingerprints is stale."""
    h = hashlib.blake2b(digest_size=16)
    h.update("\n".join(ids).encode())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return h.hexdigest()


@dataclass
class SimilarityIndex:
    """Nearest fingerprints under the ℓp metric; every distance it reports is exact.

    ``kind``: ``exact`` (brute force over all fingerprints, parallel) or ``ivf`` (k-means
    inverted lists, ``nprobe`` cells scanned exactly per query); ``auto`` picks exact up to
    ``EXACT_INDEX_LIMIT`` fingerprints, ivf above.
    """

    ids: list[str]
    vectors: np.ndarray
    p: float = P_DEFAULT
    kind: str = "exact"
    nprobe: int = DEFAULT_NPROBE
    digest: str = ""
    ivf: IVFLists | None = field(default=None, repr=False)
    _sorted: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        ids: list[str],
        vectors: np.ndarray,
        p: float = P_DEFAULT,
        kind: IndexKind = "auto",
        nlist: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        seed: int = 0,
        digest: str | None = None,
    ) -> SimilarityIndex:
        vectors = _as_f32(vectors, "fingerprints")
        if len(ids) != vectors.shape[0]:
            raise BandprintError(f"{len(ids)} ids for {vectors.shape[0]} fingerprints")
        _power_mode(p)
        if kind == "auto":
            kind = "exact" if vectors.shape[0] <= EXACT_INDEX_LIMIT else "ivf"
        if kind not in ("exact", "ivf"):
            raise BandprintError(f"unknown index kind {kind!r} (exact, ivf, auto)")
        index = cls(
            ids=list(ids),
            vectors=vectors,
            p=float(p),
            kind=kind,
            nprobe=int(nprobe),
            digest=fingerprints_digest(list(ids), vectors) if digest is None else digest,
        )
        if kind == "ivf":
            index.ivf = IVFLists.train(vectors, nlist, seed)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        exclude: np.ndarray | None = None,
        exact: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(row indices, distances)``, each ``[n_queries, k]``, nearest first (-1: none).

        ``exclude[r]``: a row number left out of query r's answer (its own row when the
        query is a stored fingerprint; -1 for none). ``exact``: search exhaustively (True),
        through the inverted lists (False; ``ivf`` indexes only) or, by default, exhaustively
        for up to ``EXACT_QUERY_LIMIT`` queries and by the index's kind above.
        """
        Q = _as_f32(np.atleast_2d(queries), "queries")
        if Q.shape[1] != self.vectors.shape[1]:
            raise BandprintError(
                f"query fingerprints have {Q.shape[1]} values, the index {self.vectors.shape[1]}"
            )
        k = int(k)
        if k < 1:
            raise BandprintError("k must be at least 1")
        kk = min(k + int(exclude is not None), len(self))
        if exact is None:
            exact = len(Q) <= EXACT_QUERY_LIMIT
        if self.kind == "exact" or exact:
            idx, dist = exact_knn(self.vectors, kk, self.p, queries=Q)
        else:
            assert self.ivf is not None
            if self._sorted is None:
                self._sorted = np.ascontiguousarray(self.vectors[self.ivf.order])
            idx, dist = self.ivf.search(self._sorted, Q, kk, self.nprobe, self.p)
        if exclude is not None:
            idx, dist = _drop_rows(idx, dist, np.asarray(exclude, dtype=np.int64), k)
        return idx[:, :k], dist[:, :k]

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the index to ``folder`` (``meta.json`` + ``ivf.npz``). Vectors are not
        saved (they live in the workspace), only the digest of those it was built on."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.ivf is not None:
            tmp = folder / ".ivf.tmp.npz"
            np.savez(
                tmp, centroids=self.ivf.centroids, order=self.ivf.order, offsets=self.ivf.offsets
            )
            tmp.replace(folder / "ivf.npz")
        meta = {
            "kind": self.kind,
            "p": self.p,
            "nprobe": self.nprobe,
            "digest": self.digest,
            "n": len(self.ids),
            "dim": int(self.vectors.shape[1]),
        }
        tmp = folder / ".meta.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        tmp.replace(folder / "meta.json")
        return folder

    @classmethod
    def load(
        cls, folder: str | Path, ids: list[str], vectors: np.ndarray, digest: str | None = None
    ) -> SimilarityIndex | None:
        """The index saved in ``folder`` if it was built on exactly these fingerprints."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        vectors = _as_f32(vectors, "fingerprints")
        digest = digest or fingerprints_digest(list(ids), vectors)
        if meta.get("digest") != digest:
            return None
        index = cls(
            ids=list(ids),
            vectors=vectors,
            p=float(meta["p"]),
            kind=str(meta["kind"]),
            nprobe=int(meta["nprobe"]),
            digest=digest,
        )
        if index.kind == "ivf":
            try:
                with np.load(folder / "ivf.npz") as z:
                    index.ivf = IVFLists(z["centroids"], z["order"], z["offsets"])
            except (OSError, ValueError, KeyError):
                return None
            if len(index.ivf.order) != len(ids):
                return None
        return index


def _drop_rows(
    idx: np.ndarray, dist: np.ndarray, exclude: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    keep = idx != exclude[:, None]
    # Keep the first k survivors of each row, in order.
    rank = np.cumsum(keep, axis=1) - 1
    keep &= rank < k
    out_i = np.full((idx.shape[0], k), -1, dtype=np.int64)
    out_d = np.full((idx.shape[0], k), np.inf, dtype=np.float32)
    r, c = np.nonzero(keep)
    out_i[r, rank[r, c]] = idx[r, c]
    out_d[r, rank[r, c]] = dist[r, c]
    return out_i, out_d


# -- workspaces ------------------------------------------------------------------------------

#: Folder of a workspace holding similarity indexes, one subfolder per model and p.
INDEX_DIR = "index"


def index_folder(ws: Workspace, model_id: str, p: float) -> Path:
    return Path(ws.path) / INDEX_DIR / f"{model_id}-p{p:g}"


def workspace_index(
    ws: Workspace,
    model_id: str | None = None,
    p: float = P_DEFAULT,
    kind: IndexKind = "auto",
    rebuild: bool = False,
    few_queries: bool = False,
) -> tuple[SimilarityIndex, str]:
    """The similarity index of a workspace's fingerprints (``(index, model id)``), loaded
    from ``WS/index/<model>-p<p>/`` when it was built on exactly the current fingerprints,
    else built and saved there.

    ``few_queries``: the caller will search at most a handful of queries, which ``search``
    answers exhaustively whatever the index; so with ``kind="auto"`` an exact index is used in
    memory, and the inverted lists (minutes to train at a million) are left to the first caller
    that searches in bulk.
    """
    models = ws.fingerprint_models()
    ids, X = ws.read_fingerprints(model_id)
    model = model_id or models[-1]
    if not ids:
        raise BandprintError(f"{ws.path}: no fingerprints of model {model}")
    if few_queries and kind == "auto":
        # Exhaustive search answers these whatever is saved, so neither a saved index nor the
        # digest that finds one (seconds to hash a million fingerprints) is needed.
        return SimilarityIndex.build(ids, X, p=p, kind="exact", digest=""), model
    folder = index_folder(ws, model, p)
    digest = fingerprints_digest(ids, X)
    index = None if rebuild else SimilarityIndex.load(folder, ids, X, digest)
    if index is not None and kind not in ("auto", index.kind):
        index = None
    if index is None:
        index = SimilarityIndex.build(ids, X, p=p, kind=kind, digest=digest)
        index.save(folder)
    return index, model


def _query_fingerprints(
    ws: Workspace, index: SimilarityIndex, model: str, query: str, model_file: str | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(query names, fingerprints, own row or -1) for an id in the workspace or a file."""
    with contextlib.suppress(ValueError):  # a list scan: no million-entry dict for one id
        row = index.ids.index(query)
        return [query], index.vectors[row : row + 1], np.array([row])
    path = Path(query)
    if not path.exists():
        raise BandprintError(f"{query}: neither a material id in {ws.path} nor a file")
    from bandprint.fingerprint import load_fingerprinter
    from bandprint.read import read_band_structures

    fingerprinter = load_fingerprinter(model_file)
    if fingerprinter.model_id_ != model:
        raise BandprintError(
            f"the model {'file ' + str(model_file) if model_file else '(shipped default)'} is "
            f"{fingerprinter.model_id_}, but the fingerprints searched are of model {model}; "
            f"pass the matching --model-file (or --model {fingerprinter.model_id_} after "
            f"bandprint fingerprint {ws.path})"
        )
    band_structures = read_band_structures(path)
    if not band_structures:
        raise BandprintError(f"{path}: no band structure found")
    vectors = fingerprinter.transform(band_structures)
    names = [bs.material_id for bs in band_structures]
    return names, vectors, np.full(len(names), -1)


def similar_materials(
    ws: Workspace,
    query: str,
    k: int = 10,
    p: float = P_DEFAULT,
    model_id: str | None = None,
    model_file: str | None = None,
    kind: IndexKind = "auto",
) -> pd.DataFrame:
    """The k materials nearest to ``query`` (a material id of the workspace, or a band
    structure file, which is read, rendered and encoded with the workspace's model).

    Columns: query, rank, material_id, formula, distance, and cluster / same_cluster when
    ``bandprint cluster`` has been run on these fingerprints.
    """
    import pandas as pd

    index, model = workspace_index(ws, model_id, p, kind, few_queries=True)
    names, Q, own = _query_fingerprints(ws, index, model, query, model_file)
    idx, dist = index.search(Q, k, exclude=own, exact=None if kind == "auto" else kind == "exact")
    cat = ws.catalog()
    formula = dict(zip(cat["material_id"], cat["formula"], strict=True)) if len(cat) else {}
    cluster: dict[str, int] = {}
    if "clusters" in ws.tables():
        ct = ws.read_table("clusters")
        if ws.table_meta("clusters").get("model_id") == model:
            cluster = dict(zip(ct["material_id"], ct["cluster"].astype(int), strict=True))
    rows = []
    for q, name in enumerate(names):
        qc = cluster.get(name, -1)
        for r in range(idx.shape[1]):
            j = int(idx[q, r])
            if j < 0:
                continue
            mid = index.ids[j]
            row: dict[str, Any] = {
                "query": name,
                "rank": r + 1,
                "material_id": mid,
                "formula": str(formula.get(mid) or ""),
                "distance": float(dist[q, r]),
            }
            if cluster:
                c = cluster.get(mid, -1)
                row["cluster"] = c
                row["same_cluster"] = bool(c >= 0 and c == qc)
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "DEFAULT_NPROBE",
    "EXACT_INDEX_LIMIT",
    "INDEX_DIR",
    "P_DEFAULT",
    "ROW_BLOCK_BYTES",
    "IVFLists",
    "SimilarityIndex",
    "approximate_knn",
    "default_nlist",
    "default_nprobe",
    "edge_distances",
    "exact_knn",
    "fingerprints_digest",
    "index_folder",
    "metric_name",
    "pairwise_distances",
    "rerank",
    "row_blocks",
    "similar_materials",
    "workspace_index",
]
