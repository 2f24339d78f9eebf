"""Steps 1-3 of HDBSCAN with the ℓp metric: core distances, mutual reachability and its
minimum spanning tree (Prim on a matrix or streaming, Kruskal on a k-NN graph).

Strategies for steps 1-3 (``strategy=``):

* ``matrix`` (``auto`` up to ``MATRIX_LIMIT`` = 20 000 points): the full n×n float32 distance
  matrix (n² · 4 bytes: 1.6 GB at 20 000) plus row blocks of at most
  ``search.ROW_BLOCK_BYTES`` for the selections over it; core distances and Prim's MST from
  it. Exact.
* ``exact``: exact brute-force k-NN for the core distances, then Prim's algorithm computing
  distances on the fly (O(n·d) memory, O(n²·d) time). Exact at any n, if you can wait.
* ``knn`` (``auto`` above 20 000): a k-NN graph from k-means inverted lists scanned with the
  exact metric (``lp.approximate_knn``: every distance exact, neighbour lists
  approximate; the 30 % of points in the sparsest regions searched exhaustively up to 150 000
  points, ``knn_graph``), core distances from it, the MST of MR restricted to the graph
  (Kruskal), and components the graph leaves apart joined Boruvka-style by the shortest exact
  MR edge between samples of up to 64 points of each component and its 8 nearest components
  (by centroid). Approximate where a point's k-NN list misses true neighbours, where the true
  MST uses an edge outside the graph (long edges bridging sparse regions), and in the joining
  edges; agreement with the exact strategies is measured in BENCHMARKS.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numba import njit

from bandprint.analyse.lp import (
    FASTMATH,
    P_DEFAULT,
    approximate_knn,
    as_f32,
    edge_distances,
    exact_knn,
    pair,
    pairwise_distances,
    power_mode,
)
from bandprint.analyse.search import row_blocks
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    pass

#: Largest n for which ``auto`` builds the full distance matrix (n² float32: 1.6 GB at 20k).
MATRIX_LIMIT = 20_000
#: Neighbours per point in the ``knn`` strategy's graph (also enough for UMAP's 10).
KNN_GRAPH_K = 16
#: Fraction of points (those in the sparsest regions) whose k-NN lists the ``knn`` strategy
#: recomputes exhaustively, up to ``REFINE_LIMIT`` points; above, the fraction shrinks so the
#: cost (fraction · n² · d) stays that of the limit.
REFINE_FRACTION = 0.3
REFINE_LIMIT = 150_000


def refine_fraction(n: int) -> float:
    """Share of the ``n`` points whose neighbours the ``knn`` strategy searches exhaustively:
    ``REFINE_FRACTION`` up to ``REFINE_LIMIT`` points, then the same exhaustive work spent on
    the sparsest ones (at a million: 0.7 %, 6,750 points)."""
    return REFINE_FRACTION * min(1.0, (REFINE_LIMIT / max(n, 1)) ** 2)


def knn_graph(
    X: np.ndarray, k: int, p: float = P_DEFAULT, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The ``knn`` strategy's neighbour graph: inverted-list search with exact distances,
    the sparsest ``refine_fraction(n)`` of points searched exhaustively (without it, points in
    sparse regions find each other inside one k-means cell and form spurious small clusters)."""
    return approximate_knn(X, k, p, seed=seed, refine=refine_fraction(X.shape[0]))


Strategy = Literal["auto", "matrix", "exact", "knn"]


# -- minimum spanning trees of mutual reachability ------------------------------------------


@njit(cache=True)
def prim_dense(D, core, tie_to_smallest=False):  # type: ignore[no-untyped-def]
    """MST of max(D[i, j], core[i], core[j]) over the complete graph; rows (parent, child, w).

    Mutual reachability ties often, so several MSTs exist. By default a node keeps the first
    tree node that reached it at its best weight (hdbscan's ``mst_linkage_core``);
    ``tie_to_smallest`` takes the smallest-numbered one instead (what
    ``hdbscan.validity.internal_minimum_spanning_tree`` reconstructs).
    """
    n = D.shape[0]
    in_tree = np.zeros(n, dtype=np.bool_)
    best = np.full(n, np.inf)
    parent = np.zeros(n, dtype=np.int64)
    mst = np.empty((max(n - 1, 0), 3))
    current = 0
    in_tree[0] = True
    for step in range(n - 1):
        cc = core[current]
        new_best = np.inf
        new_node = -1
        for j in range(n):
            if in_tree[j]:
                continue
            mr = max(D[current, j], cc, core[j])
            if mr < best[j] or (tie_to_smallest and mr == best[j] and current < parent[j]):
                best[j] = mr
                parent[j] = current
            if best[j] < new_best or new_node < 0:
                new_best = best[j]
                new_node = j
        mst[step, 0] = parent[new_node]
        mst[step, 1] = new_node
        mst[step, 2] = new_best
        in_tree[new_node] = True
        current = new_node
    return mst


@njit(fastmath=FASTMATH, error_model="numpy", cache=True)
def _prim_streaming(X, core, mode, p):  # type: ignore[no-untyped-def]
    """Prim's MST of mutual reachability computing each distance once, on the fly.

    Serial on purpose: a parallel loop per Prim step (n steps of ~n/2 distances) spent more
    on thread synchronisation than on distances. Each step first lists the points whose best
    edge could still improve (max of the two core distances below it, which skips part of the
    distances), then computes their distances in a tight loop (which vectorises), then
    updates."""
    n = X.shape[0]
    remaining = np.arange(1, n)
    best = np.full(n, np.inf, dtype=np.float32)
    parent = np.zeros(n, dtype=np.int64)
    mst = np.empty((max(n - 1, 0), 3))
    todo = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=np.float32)
    current = 0
    m = n - 1
    for step in range(n - 1):
        cc = core[current]
        c = 0
        for t in range(m):
            j = remaining[t]
            if max(cc, core[j]) < best[j]:
                todo[c] = j
                c += 1
        for u in range(c):
            dist[u] = pair(X, current, X, todo[u], mode, p)
        for u in range(c):
            j = todo[u]
            mr = max(dist[u], cc, core[j])
            if mr < best[j]:
                best[j] = mr
                parent[j] = current
        bt = 0
        bv = np.float32(np.inf)
        for t in range(m):
            v = best[remaining[t]]
            if v < bv:
                bv = v
                bt = t
        new_node = remaining[bt]
        mst[step, 0] = parent[new_node]
        mst[step, 1] = new_node
        mst[step, 2] = bv
        remaining[bt] = remaining[m - 1]
        m -= 1
        current = new_node
    return mst


@njit(cache=True)
def _find(uf, a):  # type: ignore[no-untyped-def]
    root = a
    while uf[root] != root:
        root = uf[root]
    while uf[a] != root:
        nxt = uf[a]
        uf[a] = root
        a = nxt
    return root


@njit(cache=True)
def _kruskal(n, a, b, w):  # type: ignore[no-untyped-def]
    """Minimum spanning forest of the edges (a, b, w) over nodes 0..n-1:
    (indices of the chosen edges, root of each node's component)."""
    order = np.argsort(w, kind="mergesort")
    uf = np.arange(n)
    chosen = np.empty(max(n - 1, 0), dtype=np.int64)
    m = 0
    for e in order:
        ra = _find(uf, a[e])
        rb = _find(uf, b[e])
        if ra != rb:
            uf[ra] = rb
            chosen[m] = e
            m += 1
    comp = np.empty(n, dtype=np.int64)
    for i in range(n):
        comp[i] = _find(uf, i)
    return chosen[:m], comp


def _core_from_knn(knn_dist: np.ndarray, min_samples: int) -> np.ndarray:
    # Column 0 is the point itself (distance 0), as in hdbscan's k = min_samples + 1 query.
    return np.ascontiguousarray(knn_dist[:, min(min_samples, knn_dist.shape[1] - 1)])


def core_distances_from_matrix(D: np.ndarray, min_samples: int) -> np.ndarray:
    """Distance to the ``min_samples``-th nearest other point, from a full matrix; row
    blocks keep the temporaries within ``search.ROW_BLOCK_BYTES``."""
    k = min(min_samples, D.shape[1] - 1)
    core = np.empty(D.shape[0], dtype=D.dtype)
    for rows in row_blocks(D.shape[0], D.shape[1] * D.itemsize):
        core[rows] = np.partition(D[rows], k, axis=1)[:, k]
    return core


def _mst_knn_graph(
    X: np.ndarray,
    knn_idx: np.ndarray,
    knn_dist: np.ndarray,
    core: np.ndarray,
    p: float,
    seed: int,
    sample: int = 64,
    near: int = 8,
) -> tuple[np.ndarray, int]:
    """MST of mutual reachability on a k-NN graph, components joined; (mst, n_components)."""
    n = X.shape[0]
    rows = np.repeat(np.arange(n), knn_idx.shape[1])
    cols = knn_idx.ravel()
    ok = (cols >= 0) & (cols != rows)
    a, b = rows[ok], cols[ok]
    w = np.maximum(knn_dist.ravel()[ok], np.maximum(core[a], core[b])).astype(np.float64)
    a, b = a.astype(np.int64), b.astype(np.int64)
    chosen, comp = _kruskal(n, a, b, w)
    edges = [np.column_stack([a[chosen], b[chosen], w[chosen]])]
    n_components = len(np.unique(comp))
    rng = np.random.default_rng(seed)
    while True:
        _, comp = np.unique(comp, return_inverse=True)
        n_comp = int(comp.max()) + 1
        if n_comp == 1:
            break
        # Boruvka round: every component gets candidate edges to its nearest components;
        # a spanning forest over components keeps the shortest. Each round at least halves
        # the number of components.
        joins = _joining_edges(X, comp, n_comp, core, p, rng, sample, near)
        ja, jb = joins[:, 0].astype(np.int64), joins[:, 1].astype(np.int64)
        picked, merged = _kruskal(n_comp, comp[ja], comp[jb], joins[:, 2].copy())
        edges.append(joins[picked])
        comp = merged[comp]
    mst = np.concatenate(edges)
    return mst[np.argsort(mst[:, 2], kind="mergesort")], n_components


def _joining_edges(
    X: np.ndarray,
    comp: np.ndarray,
    n_comp: int,
    core: np.ndarray,
    p: float,
    rng: np.random.Generator,
    sample: int,
    near: int,
) -> np.ndarray:
    """For each component, the shortest MR edge to each of its ``near`` nearest components,
    searched between samples of at most ``sample`` points of each: rows (a, b, w)."""
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], np.arange(n_comp + 1))
    reps = []
    centroids = np.empty((n_comp, X.shape[1]), dtype=np.float32)
    for c in range(n_comp):
        members = order[starts[c] : starts[c + 1]]
        centroids[c] = X[members].mean(axis=0)
        reps.append(members if len(members) <= sample else rng.choice(members, sample, False))
    nn, _ = exact_knn(centroids, min(near + 1, n_comp), p)
    pairs = {(min(c, int(o)), max(c, int(o))) for c in range(n_comp) for o in nn[c] if o != c}
    out = np.empty((len(pairs), 3))
    for t, (c1, c2) in enumerate(sorted(pairs)):
        r1, r2 = reps[c1], reps[c2]
        aa = np.repeat(r1, len(r2))
        bb = np.tile(r2, len(r1))
        d = edge_distances(X, aa, bb, p)
        mr = np.maximum(d, np.maximum(core[aa], core[bb]))
        best = int(np.argmin(mr))
        out[t] = aa[best], bb[best], mr[best]
    return out


def choose_strategy(n: int, strategy: Strategy = "auto", matrix_limit: int = MATRIX_LIMIT) -> str:
    if strategy == "auto":
        return "matrix" if n <= matrix_limit else "knn"
    if strategy not in ("matrix", "exact", "knn"):
        raise BandprintError(f"unknown strategy {strategy!r} (auto, matrix, exact, knn)")
    return strategy


def mutual_reachability_mst(
    X: np.ndarray,
    min_samples: int = 2,
    p: float = P_DEFAULT,
    strategy: Strategy = "auto",
    distances: np.ndarray | None = None,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    matrix_limit: int = MATRIX_LIMIT,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Steps 1-3: ``(mst [n-1, 3] (a, b, MR distance), core distances, info)``.

    ``distances``: a full matrix from ``pairwise_distances`` (matrix strategy, reused).
    ``knn``: ``(indices, distances)`` of each point's neighbours, itself first: the graph of
    the knn strategy, or (exact strategy) an exact one whose distances give core distances.
    Distances are in the metric form (see ``bandprint.analyse.cluster.hdbscan``).
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    ms = int(min(min_samples, n - 1))
    strategy = choose_strategy(n, strategy, matrix_limit) if distances is None else "matrix"
    info: dict[str, Any] = {"strategy": strategy, "exact": strategy != "knn"}
    if strategy == "matrix":
        D = pairwise_distances(X, p=p) if distances is None else distances
        if D.shape != (n, n):
            raise BandprintError(f"distance matrix has shape {D.shape}, expected ({n}, {n})")
        core = core_distances_from_matrix(D, ms)
        mst = prim_dense(D, core)
    elif strategy == "exact":
        if knn is not None and knn[1].shape[1] >= ms + 1:
            kd = knn[1]  # the caller's graph, which must then be exact
        else:
            _, kd = exact_knn(X, ms + 1, p)
        core = _core_from_knn(kd, ms)
        # The kernel works on raw sums Σ|Δ|^p; for p > 1 undo the root of the core distances
        # (same ordering), and put it back on the MST weights below.
        raw_core = core.astype(np.float32) ** np.float32(p) if p > 1 else core
        mst = _prim_streaming(X, raw_core, power_mode(p), np.float32(p))
        if p > 1:
            mst[:, 2] = mst[:, 2] ** (1.0 / p)
    else:
        if knn is None or knn[0].shape[1] < ms + 1:
            knn = knn_graph(X, max(KNN_GRAPH_K, ms + 1), p, seed=seed)
        core = _core_from_knn(knn[1], ms)
        mst, n_comp = _mst_knn_graph(X, knn[0], knn[1], core, p, seed)
        info["knn_graph_k"] = int(knn[0].shape[1])
        info["knn_graph_components"] = n_comp
    return mst, core, info
