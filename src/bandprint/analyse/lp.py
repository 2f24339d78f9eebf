"""The ℓp distance between fingerprints and the numba kernels that compute it.

For ``0 < p ≤ 1`` the metric is ``d(x, y) = Σ |xᵢ − yᵢ|^p`` (no ``1/p`` root): it satisfies the
triangle inequality (``|a + b|^p ≤ |a|^p + |b|^p``), so it is a true metric, and it ranks every
pair exactly as the Minkowski "distance" ``(Σ |xᵢ − yᵢ|^p)^(1/p)`` does (a monotone function of
it), so nearest neighbours, core distances' ranks and minimum spanning trees are the same. For
``p > 1`` the metric is the usual rooted one (``p = 2`` is Euclidean). ``root=True`` gives the
Minkowski form for every ``p`` (what ``hdbscan``'s generic path and ``umap``'s ``minkowski``
compute).

Arithmetic is float32, accumulated in float32. The power ``t^0.2`` is a fifth root computed by
three Newton steps from a bit-level first guess (about float32 rounding); it vectorises, unlike
``libm``'s ``powf``.

Public here: the dense and edge-wise distances, exact k-NN and re-ranking, and the k-means
inverted lists (``IVFLists``, ``approximate_knn``: exact distances, approximate neighbour
lists). ``pair``, ``power_mode`` and ``FASTMATH`` are the building blocks other numba kernels
(the clustering's tree kernels) inline; ``as_f32`` is the input check every entry point uses.
Reference: the ℓp quasi-norm as a metric for ``p < 1``, e.g. Aggarwal, Hinneburg & Keim, "On
the surprising behavior of distance metrics in high dimensional space", ICDT 2001.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from bandprint.errors import BandprintError

#: The paper's Minkowski exponent.
P_DEFAULT = 0.2

# Fast-math flags without "nnan"/"ninf": log(0) = -inf must stay well defined. Kernels also
# use error_model="numpy": Python's model checks every division for zero, which stops LLVM
# from vectorising the inner loop.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

# Power kernels, selected by an integer so one compiled kernel serves every p (LLVM unswitches
# the loop on it, so each branch still vectorises).
_MODE_ROOT5 = 0  # p = 0.2
_MODE_SQRT = 1  # p = 0.5
_MODE_ABS = 2  # p = 1
_MODE_SQUARE = 3  # p = 2
_MODE_GENERIC = 4  # exp(p log t)


def power_mode(p: float) -> int:
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


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
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


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
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


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def pair(X, i, Y, j, mode, p):  # type: ignore[no-untyped-def]
    s = np.float32(0.0)
    for k in range(X.shape[1]):
        s += _term(np.abs(X[i, k] - Y[j, k]), mode, p)
    return s


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _pairwise_kernel(X, Y, mode, p):  # type: ignore[no-untyped-def]
    n, m = X.shape[0], Y.shape[0]
    out = np.empty((n, m), dtype=np.float32)
    for i in prange(n):
        for j in range(m):
            out[i, j] = pair(X, i, Y, j, mode, p)
    return out


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _self_row(X, out, i, mode, p):  # type: ignore[no-untyped-def]
    out[i, i] = 0.0
    for j in range(i + 1, X.shape[0]):
        d = pair(X, i, X, j, mode, p)
        out[i, j] = d
        out[j, i] = d


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
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


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
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
                buf[jj] = pair(Q, i, X, j0 + jj, mode, p)
            for jj in range(m):
                filled = _push(bd, bi, filled, k, buf[jj], j0 + jj)
    return idx, dist


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
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
                buf[jj] = pair(Q, i, Xs, j0 + jj, mode, p)
            for jj in range(m):
                filled = _push(bd, bi, filled, k, buf[jj], rows[j0 + jj])


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _ivf_knn_kernel(Q, Xs, rows, offsets, cells, k, mode, p):  # type: ignore[no-untyped-def]
    nq = Q.shape[0]
    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    for i in prange(nq):
        _ivf_query(Q, i, Xs, rows, offsets, cells, k, mode, p, dist[i], idx[i])
    return idx, dist


@njit(fastmath=FASTMATH, error_model="numpy", cache=True)
def _ivf_knn_serial(Q, Xs, rows, offsets, cells, k, mode, p):  # type: ignore[no-untyped-def]
    # One or two queries: a parallel region would only add the cost of waking threads
    # (several ms on a busy machine) to a sub-millisecond scan.
    nq = Q.shape[0]
    idx = np.full((nq, k), -1, dtype=np.int64)
    dist = np.full((nq, k), np.inf, dtype=np.float32)
    for i in range(nq):
        _ivf_query(Q, i, Xs, rows, offsets, cells, k, mode, p, dist[i], idx[i])
    return idx, dist


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _rerank_kernel(Q, X, cand, mode, p):  # type: ignore[no-untyped-def]
    nq, c = cand.shape
    out = np.full((nq, c), np.inf, dtype=np.float32)
    for i in prange(nq):
        for t in range(c):
            j = cand[i, t]
            if j >= 0:
                out[i, t] = pair(Q, i, X, j, mode, p)
    return out


@njit(parallel=True, fastmath=FASTMATH, error_model="numpy", cache=True)
def _edge_kernel(X, a, b, mode, p):  # type: ignore[no-untyped-def]
    out = np.empty(a.shape[0], dtype=np.float32)
    for t in prange(a.shape[0]):
        out[t] = pair(X, a[t], X, b[t], mode, p)
    return out


def as_f32(X: np.ndarray, name: str = "X") -> np.ndarray:
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


def pairwise_distances(
    X: np.ndarray, Y: np.ndarray | None = None, p: float = P_DEFAULT, root: bool = False
) -> np.ndarray:
    """Distances ``[len(X), len(Y)]`` (float32); ``Y=None`` gives the symmetric self matrix."""
    mode = power_mode(p)
    X = as_f32(X)
    if Y is None:
        d = _self_pairwise_kernel(X, mode, np.float32(p))
    else:
        Y = as_f32(Y, "Y")
        if Y.shape[1] != X.shape[1]:
            raise BandprintError(f"X has {X.shape[1]} values per row, Y {Y.shape[1]}")
        d = _pairwise_kernel(X, Y, mode, np.float32(p))
    return _finish(d, p, root)


def edge_distances(
    X: np.ndarray, a: np.ndarray, b: np.ndarray, p: float = P_DEFAULT, root: bool = False
) -> np.ndarray:
    """Distances between rows ``X[a[t]]`` and ``X[b[t]]`` for every t."""
    X = as_f32(X)
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    return _finish(_edge_kernel(X, a, b, power_mode(p), np.float32(p)), p, root)


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
    X = as_f32(X)
    Q = X if queries is None else as_f32(queries, "queries")
    if Q.shape[1] != X.shape[1]:
        raise BandprintError(f"queries have {Q.shape[1]} values, the index {X.shape[1]}")
    k = int(min(k, X.shape[0]))
    if k < 1:
        raise BandprintError("k must be at least 1 (and the index must not be empty)")
    mode, pf = power_mode(p), np.float32(p)
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
    X = as_f32(X)
    Q = as_f32(queries, "queries")
    cand = np.ascontiguousarray(candidates, dtype=np.int64)
    d = _rerank_kernel(Q, X, cand, power_mode(p), np.float32(p))
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

        X = as_f32(X)
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
        _, cells = self._quantizer.search(as_f32(queries, "queries"), min(nprobe, self.nlist))
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
        Q = as_f32(queries, "queries")
        cells = self.probe(Q, nprobe)
        kernel = _ivf_knn_kernel if len(Q) > 2 else _ivf_knn_serial
        idx, dist = kernel(
            Q,
            sorted_vectors,
            self.order,
            self.offsets,
            cells,
            int(k),
            power_mode(p),
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
    X = as_f32(X)
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
