"""HDBSCAN of fingerprints with the Minkowski p distance really applied (Pentz, Warford et al.
2025: min cluster size 5, min samples 2, p = 0.2).

The trap. ``hdbscan.HDBSCAN(metric="minkowski", p=0.2)`` clusters 98-value fingerprints with
Euclidean distance. With the default ``algorithm="best"`` and more than 60 features,
``hdbscan/hdbscan_.py`` (hdbscan 0.8.44) takes ``_hdbscan_prims_kdtree`` (the ``X.shape[1] >
60`` branch, lines 836-849); that function receives ``p`` (line 236) but builds
``KDTree(X, metric=metric, leaf_size=leaf_size, **kwargs)`` (line 248) and
``DistanceMetric.get_metric(metric, **kwargs)`` (line 251, under the comment "TO DO: Deal with
p for minkowski appropriately") without it, so sklearn's default p = 2 is used. The Boruvka
paths (lines 333-341, 377-385) drop ``p`` the same way. Only ``algorithm="generic"`` honours it
(``pairwise_distances(X, metric="minkowski", p=p)``, line 109), at the price of an n×n float64
matrix and several copies of it. ``tests/test_cluster.py`` shows all of this on data.

What bandprint does instead. HDBSCAN (Campello et al. 2013; McInnes & Healy 2017) is
(1) core distance of each point = distance to its ``min_samples``-th nearest other point;
(2) mutual reachability ``MR(a, b) = max(core a, core b, d(a, b))``; (3) a minimum spanning
tree (MST) of MR; (4) the single-linkage tree of that MST, condensed at ``min_cluster_size``,
clusters selected by excess of mass. Steps 1-3 are done here with our own ℓp kernels
(``bandprint.analyse.search``), so the distance is the one computed; step 4 is hdbscan's own
code (``_hdbscan_linkage.label`` and ``hdbscan_._tree_to_labels``), so labels, membership
probabilities, persistence and the condensed tree follow the package exactly.

Which distance λ reports. Neighbours, core-distance ranks and the MST are computed with the ℓp
metric ``Σ|xᵢ − yᵢ|^p`` (for p ≤ 1 a true metric, no ``1/p`` root), and are the same under the
Minkowski form ``(Σ|xᵢ − yᵢ|^p)^(1/p)``; only λ = 1/d, and so cluster stability and the
excess-of-mass selection, depend on the choice. By default (``root=True``) λ uses the
Minkowski form, the distance the paper names, and this reproduces ``hdbscan``'s generic path
exactly (tested). ``root=False`` uses the metric form, whose λ are compressed into a narrow
range: on one of two zoo draws its excess-of-mass selection fell apart where the Minkowski
form's did not (``bench/bench_cluster_quality.py``, figures in BENCHMARKS.md), hence the root
by default.

No giant clusters. Excess of mass compares a cluster's stability with the sum of its
children's, and on fingerprints, where most points are a diffuse bulk, the bulk itself can
win: on one of two zoo draws it selected a single cluster holding nearly every sample
(BENCHMARKS.md). So, by default, no cluster may hold more than half of all points
(``max_cluster_fraction`` = 0.5, hdbscan's ``max_cluster_size``): EOM then looks inside the
bulk, and the other draw's clusters stay unchanged. ``max_cluster_fraction=1`` is plain hdbscan.

Strategies for steps 1-3 (``strategy=``):

* ``matrix`` (``auto`` up to ``MATRIX_LIMIT`` = 20 000 points): the full n×n float32 distance
  matrix (n² · 4 bytes: 1.6 GB at 20 000) plus row blocks of at most
  ``search.ROW_BLOCK_BYTES`` for the selections over it; core distances and Prim's MST from
  it. Exact.
* ``exact``: exact brute-force k-NN for the core distances, then Prim's algorithm computing
  distances on the fly (O(n·d) memory, O(n²·d) time). Exact at any n, if you can wait.
* ``knn`` (``auto`` above 20 000): a k-NN graph from k-means inverted lists scanned with the
  exact metric (``search.approximate_knn``: every distance exact, neighbour lists
  approximate; the 30 % of points in the sparsest regions searched exhaustively up to 150 000
  points, ``knn_graph``), core distances from it, the MST of MR restricted to the graph
  (Kruskal), and components the graph leaves apart joined Boruvka-style by the shortest exact
  MR edge between samples of up to 64 points of each component and its 8 nearest components
  (by centroid). Approximate where a point's k-NN list misses true neighbours, where the true
  MST uses an edge outside the graph (long edges bridging sparse regions), and in the joining
  edges; agreement with the exact strategies is measured in BENCHMARKS.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from numba import njit

from bandprint.analyse.lp import (
    FASTMATH,
    P_DEFAULT,
    approximate_knn,
    as_f32,
    edge_distances,
    exact_knn,
    metric_name,
    pair,
    pairwise_distances,
    power_mode,
)
from bandprint.analyse.search import row_blocks
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bandprint.store import Workspace

#: Largest n for which ``auto`` builds the full distance matrix (n² float32: 1.6 GB at 20k).
MATRIX_LIMIT = 20_000
#: Excess of mass may not select a cluster holding more than this fraction of all points.
MAX_CLUSTER_FRACTION = 0.5
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
def _prim_dense(D, core, tie_to_smallest=False):  # type: ignore[no-untyped-def]
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


# -- results ---------------------------------------------------------------------------------


@dataclass
class ClusterResult:
    """HDBSCAN of n fingerprints. Arrays are per point, in the input order.

    ``labels``: cluster number, -1 = unclassified. ``probabilities``: membership strength in
    [0, 1] (hdbscan's: λ at which the point left, over the cluster's largest λ).
    ``exemplar_rank``: 1 for a cluster's best exemplar, 2 for the next, ... (0 if
    unclassified): members ordered by probability, ties (many members share 1.0) broken by
    smaller core distance (denser), then by input order. ``condensed_tree``: one row per
    condensed-tree edge (``parent``, ``child``, ``lambda``, ``size``, ``distance`` = 1/λ,
    ``is_cluster``); node ids ≥ n are clusters, n is the root; ``cluster_nodes[c]`` is the tree
    node of cluster c. ``persistence[c]``: hdbscan's cluster persistence.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    exemplar_rank: np.ndarray
    core_distances: np.ndarray
    condensed_tree: pd.DataFrame
    cluster_nodes: np.ndarray
    persistence: np.ndarray
    min_spanning_tree: np.ndarray = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max() + 1) if len(self.labels) else 0

    @property
    def n_unclassified(self) -> int:
        return int((self.labels < 0).sum())

    def exemplars(self, cluster: int, top: int = 5) -> np.ndarray:
        """Row numbers of the ``top`` best exemplars of ``cluster``, best first."""
        members = np.flatnonzero(self.labels == cluster)
        return members[np.argsort(self.exemplar_rank[members], kind="stable")][:top]

    def cluster_table(self, top: int = 5) -> pd.DataFrame:
        """One row per cluster: size, persistence, tree node and the top exemplars' rows."""
        rows = []
        for c in range(self.n_clusters):
            rows.append(
                {
                    "cluster": c,
                    "size": int((self.labels == c).sum()),
                    "persistence": float(self.persistence[c]),
                    "node": int(self.cluster_nodes[c]),
                    "exemplars": self.exemplars(c, top).tolist(),
                }
            )
        return pd.DataFrame(rows, columns=["cluster", "size", "persistence", "node", "exemplars"])


def _exemplar_ranks(labels: np.ndarray, prob: np.ndarray, core: np.ndarray) -> np.ndarray:
    order = np.lexsort((np.arange(len(labels)), core, -prob, labels))
    ranks = np.zeros(len(labels), dtype=np.int64)
    sorted_labels = labels[order]
    start = np.searchsorted(sorted_labels, sorted_labels, side="left")
    ranks[order] = np.arange(len(labels)) - start + 1
    ranks[labels < 0] = 0
    return ranks


def _selected_nodes(tree: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Condensed-tree node of each cluster label: the lowest common ancestor of the nodes its
    members fell out of."""
    parent_of: dict[int, int] = {}
    for row in tree[tree["child_size"] > 1]:
        parent_of[int(row["child"])] = int(row["parent"])
    point_rows = tree[tree["child"] < n]
    leaf_of = np.full(n, -1, dtype=np.int64)
    leaf_of[point_rows["child"].astype(np.int64)] = point_rows["parent"]

    def ancestors(node: int) -> list[int]:
        path = [node]
        while path[-1] in parent_of:
            path.append(parent_of[path[-1]])
        return path

    nodes = np.full(int(labels.max()) + 1 if len(labels) else 0, -1, dtype=np.int64)
    for c in range(len(nodes)):
        leaves = np.unique(leaf_of[labels == c])
        common = ancestors(int(leaves[0]))
        for leaf in leaves[1:]:
            anc = set(ancestors(int(leaf)))
            common = [a for a in common if a in anc]
        nodes[c] = common[0]
    return nodes


def condensed_tree_frame(tree: np.ndarray, n: int) -> pd.DataFrame:
    """hdbscan's condensed tree record array as a table (see ``ClusterResult``)."""
    lam = np.asarray(tree["lambda_val"], dtype=np.float64)
    with np.errstate(divide="ignore"):
        dist = np.where(lam > 0, 1.0 / np.where(lam > 0, lam, 1.0), np.inf)
    return pd.DataFrame(
        {
            "parent": np.asarray(tree["parent"], dtype=np.int64),
            "child": np.asarray(tree["child"], dtype=np.int64),
            "lambda": lam,
            "size": np.asarray(tree["child_size"], dtype=np.int64),
            "distance": dist,
            "is_cluster": np.asarray(tree["child"], dtype=np.int64) >= n,
        }
    )


#: The private hdbscan functions step 4 calls, and the parameters bandprint passes by name to
#: ``_tree_to_labels`` (after the two positional ones). pyproject.toml bounds hdbscan to the
#: versions these were tested with; ``hdbscan_private_api`` refuses others that moved them.
HDBSCAN_TREE_TO_LABELS_PARAMS = (
    "min_cluster_size",
    "cluster_selection_method",
    "allow_single_cluster",
    "cluster_selection_epsilon",
    "max_cluster_size",
)


def hdbscan_private_api() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``(hdbscan._hdbscan_linkage.label, hdbscan.hdbscan_._tree_to_labels)``, checked: a
    ``BandprintError`` naming the installed hdbscan when either is gone or ``_tree_to_labels``
    no longer takes ``(X, single_linkage_tree, ...)`` with the keywords bandprint passes."""
    import inspect
    from importlib.metadata import version

    try:
        from hdbscan._hdbscan_linkage import label
        from hdbscan.hdbscan_ import _tree_to_labels

        params = list(inspect.signature(_tree_to_labels).parameters)
    except (ImportError, TypeError, ValueError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    else:
        missing = [k for k in HDBSCAN_TREE_TO_LABELS_PARAMS if k not in params]
        if params[:2] == ["X", "single_linkage_tree"] and not missing:
            return label, _tree_to_labels
        problem = f"_tree_to_labels takes ({', '.join(params)})"
    raise BandprintError(
        f"hdbscan {version('hdbscan')} moved the private functions bandprint's clustering calls "
        f"({problem}); install the hdbscan version pyproject.toml names"
    )


def labels_from_mst(
    mst: np.ndarray,
    n: int,
    min_cluster_size: int,
    cluster_selection_method: str = "eom",
    allow_single_cluster: bool = False,
    cluster_selection_epsilon: float = 0.0,
    max_cluster_size: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """hdbscan's step 4 on a mutual-reachability MST: (labels, probabilities, persistence,
    condensed tree record array). ``max_cluster_size`` 0: no limit."""
    label, _tree_to_labels = hdbscan_private_api()
    # Sorted as hdbscan sorts (numpy's default kind): MST weights tie often (MR = a core
    # distance), and the order of tied merges decides the exact tree, so this keeps results
    # identical to hdbscan's on the same MST.
    mst = np.asarray(mst, dtype=np.float64)
    mst = np.ascontiguousarray(mst[np.argsort(mst[:, 2])])
    slt = label(mst)
    labels, probs, persistence, tree, _ = _tree_to_labels(
        None,
        slt,
        min_cluster_size=min_cluster_size,
        cluster_selection_method=cluster_selection_method,
        allow_single_cluster=allow_single_cluster,
        cluster_selection_epsilon=cluster_selection_epsilon,
        max_cluster_size=int(max_cluster_size),
    )
    return np.asarray(labels, dtype=np.int64), np.asarray(probs), np.asarray(persistence), tree


def max_cluster_size_for(n: int, max_cluster_fraction: float) -> int:
    """hdbscan's ``max_cluster_size`` for a fraction of n (0: no limit, for fractions ≥ 1)."""
    if not max_cluster_fraction > 0:
        raise BandprintError(f"max cluster fraction must be positive, got {max_cluster_fraction}")
    return 0 if max_cluster_fraction >= 1 else max(2, int(max_cluster_fraction * n))


def _check_params(n: int, min_cluster_size: int, min_samples: int) -> None:
    if n < 2:
        raise BandprintError(f"need at least 2 fingerprints to cluster, got {n}")
    if min_cluster_size < 2:
        raise BandprintError(f"min cluster size must be at least 2, got {min_cluster_size}")
    if min_samples < 1:
        raise BandprintError(f"min samples must be at least 1, got {min_samples}")


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
    Distances are in the metric form (see module doc).
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
        mst = _prim_dense(D, core)
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


def cluster_fingerprints(
    X: np.ndarray,
    min_cluster_size: int = 5,
    min_samples: int = 2,
    p: float = P_DEFAULT,
    *,
    root: bool = True,
    strategy: Strategy = "auto",
    cluster_selection_method: str = "eom",
    allow_single_cluster: bool = False,
    cluster_selection_epsilon: float = 0.0,
    max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
    distances: np.ndarray | None = None,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    matrix_limit: int = MATRIX_LIMIT,
    seed: int = 0,
) -> ClusterResult:
    """HDBSCAN of fingerprints ``X [n, d]`` under Minkowski ``p`` (see the module doc).

    ``max_cluster_fraction``: excess of mass may not select a cluster holding more than this
    fraction of all points (hdbscan's ``max_cluster_size``; ≥ 1 for no limit), see the module
    doc.
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    _check_params(n, min_cluster_size, min_samples)
    mst, core, info = mutual_reachability_mst(
        X, min_samples, p, strategy, distances, knn, matrix_limit, seed
    )
    mst = np.asarray(mst, dtype=np.float64)
    if root and p < 1:
        # Same tree, rooted weights: max() commutes with the monotone root.
        mst[:, 2] = mst[:, 2] ** (1.0 / p)
        core = core.astype(np.float64) ** (1.0 / p)
    labels, probs, persistence, tree = labels_from_mst(
        mst,
        n,
        min_cluster_size,
        cluster_selection_method,
        allow_single_cluster,
        cluster_selection_epsilon,
        max_cluster_size_for(n, max_cluster_fraction),
    )
    nodes = _selected_nodes(tree, labels, n) if labels.max() >= 0 else np.zeros(0, np.int64)
    params = {
        "min_cluster_size": int(min_cluster_size),
        "min_samples": int(min_samples),
        "p": float(p),
        "root": bool(root),
        "metric": metric_name(p, root),
        "cluster_selection_method": cluster_selection_method,
        "allow_single_cluster": bool(allow_single_cluster),
        "cluster_selection_epsilon": float(cluster_selection_epsilon),
        "max_cluster_fraction": float(max_cluster_fraction),
        **info,
    }
    return ClusterResult(
        labels=labels,
        probabilities=probs,
        exemplar_rank=_exemplar_ranks(labels, probs, np.asarray(core, dtype=np.float64)),
        core_distances=np.asarray(core, dtype=np.float64),
        condensed_tree=condensed_tree_frame(tree, n),
        cluster_nodes=nodes,
        persistence=persistence,
        min_spanning_tree=mst,
        params=params,
    )


class FingerprintClusterer:
    """scikit-learn-style wrapper of ``cluster_fingerprints``: ``fit(X)`` sets ``labels_``,
    ``probabilities_``, ``exemplar_rank_``, ``condensed_tree_``, ``cluster_persistence_``,
    ``n_clusters_``, ``n_unclassified_`` and ``result_`` (the ``ClusterResult``)."""

    def __init__(
        self,
        min_cluster_size: int = 5,
        min_samples: int = 2,
        p: float = P_DEFAULT,
        root: bool = True,
        strategy: Strategy = "auto",
        cluster_selection_method: str = "eom",
        allow_single_cluster: bool = False,
        cluster_selection_epsilon: float = 0.0,
        max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
        seed: int = 0,
    ) -> None:
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.p = p
        self.root = root
        self.strategy = strategy
        self.cluster_selection_method = cluster_selection_method
        self.allow_single_cluster = allow_single_cluster
        self.cluster_selection_epsilon = cluster_selection_epsilon
        self.max_cluster_fraction = max_cluster_fraction
        self.seed = seed

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "min_cluster_size",
                "min_samples",
                "p",
                "root",
                "strategy",
                "cluster_selection_method",
                "allow_single_cluster",
                "cluster_selection_epsilon",
                "max_cluster_fraction",
                "seed",
            )
        }

    def set_params(self, **params: Any) -> FingerprintClusterer:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"unknown parameter {k}")
            setattr(self, k, v)
        return self

    def fit(self, X: np.ndarray, y: Any = None) -> FingerprintClusterer:
        r = cluster_fingerprints(X, **self.get_params())
        self.result_ = r
        self.labels_ = r.labels
        self.probabilities_ = r.probabilities
        self.exemplar_rank_ = r.exemplar_rank
        self.condensed_tree_ = r.condensed_tree
        self.cluster_persistence_ = r.persistence
        self.n_clusters_ = r.n_clusters
        self.n_unclassified_ = r.n_unclassified
        return self

    def fit_predict(self, X: np.ndarray, y: Any = None) -> np.ndarray:
        return self.fit(X).labels_


# -- validity indices ------------------------------------------------------------------------


def dbcv(D: np.ndarray, labels: np.ndarray, dim: int) -> float:
    """Density-Based Clustering Validation (Moulavi et al. 2014) from a distance matrix.

    The same definition, MST tie-breaking and edge cases as
    ``hdbscan.validity.validity_index(D, labels, metric="precomputed", d=dim)`` (tested equal
    to it; the value depends on which of the tied mutual-reachability MSTs is taken, so the
    tie rule matters), but the all-points core distance
    ``(Σ d⁻ᵈⁱᵐ / (m−1))^(−1/dim)`` is computed in log space: with dim = 98 hdbscan's direct
    form under- or overflows unless distances are all close to 1. Unclassified points count in
    the size weights. NaN with fewer than two clusters.
    """
    labels = np.asarray(labels)
    ids = [c for c in range(int(labels.max()) + 1) if (labels == c).any()] if len(labels) else []
    if len(ids) < 2:
        return float("nan")
    members = {c: np.flatnonzero(labels == c) for c in ids}
    apcd: dict[int, np.ndarray] = {}
    internal: dict[int, np.ndarray] = {}
    sparseness: dict[int, float] = {}
    for c in ids:
        idx = members[c]
        Dc = np.asarray(D[np.ix_(idx, idx)], dtype=np.float64)
        apcd[c] = _all_points_core_distance(Dc, dim)
        mst = _prim_dense(Dc, apcd[c], True)
        deg = np.bincount(mst[:, :2].astype(np.int64).ravel(), minlength=len(idx))
        nodes = np.flatnonzero(deg > 1)
        if len(nodes) == 0:
            nodes = np.array([0])
        inside = np.isin(mst[:, 0], nodes) & np.isin(mst[:, 1], nodes)
        edges = mst[inside] if inside.any() else mst
        sparseness[c] = float(edges[:, 2].max()) if len(edges) else 0.0
        internal[c] = nodes
    total = 0.0
    for c in ids:
        sep = np.inf
        for o in ids:
            if o == c:
                continue
            a, b = internal[c], internal[o]
            sub = np.asarray(D[np.ix_(members[c][a], members[o][b])], dtype=np.float64)
            mr = np.maximum(sub, np.maximum(apcd[c][a][:, None], apcd[o][b][None, :]))
            sep = min(sep, float(mr.min()))
        sp = sparseness[c]
        v = (sep - sp) / max(sep, sp) if max(sep, sp) > 0 else 0.0
        total += len(members[c]) / len(labels) * v
    return float(total)


def _all_points_core_distance(Dc: np.ndarray, dim: int) -> np.ndarray:
    m = Dc.shape[0]
    if m < 2:
        return np.zeros(m)
    with np.errstate(divide="ignore"):
        logd = np.where(Dc > 0, np.log(np.where(Dc > 0, Dc, 1.0)), np.nan)
    x = -dim * logd  # log of d^-dim; NaN marks zero distances, which hdbscan leaves out
    finite = ~np.isnan(x)
    if not finite.any():
        return np.zeros(m)
    xmax = np.nanmax(np.where(finite, x, -np.inf), axis=1, keepdims=True)
    s = np.nansum(np.exp(x - xmax), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = xmax[:, 0] + np.log(s) - np.log(m - 1)
        out = np.exp(-log_mean / dim)
    # A row with no nonzero distance: hdbscan gives 0**(-1/d) = inf.
    out[~finite.any(axis=1)] = np.inf
    return out


def s_dbw(X: np.ndarray, labels: np.ndarray) -> float:
    """S_Dbw validity index (Halkidi & Vazirgiannis 2001, ICDM): Scat + Dens_bw, lower is
    better; Euclidean, with cluster centres = means, as defined there.

    Scat = mean over clusters of ‖σ(cluster)‖ / ‖σ(data)‖ (σ: per-feature variance vector;
    the data are all points given, unclassified included). stdev = √(Σ‖σ(cluster)‖) / c.
    Dens_bw = mean over ordered pairs i ≠ j of density(u_ij) / max(density(v_i), density(v_j)),
    density(u) = number of points of clusters i and j within stdev of u, v = centres,
    u_ij = midpoint of the centres (a pair with both centre densities 0 contributes 0).
    Unclassified points belong to no cluster. NaN with fewer than two clusters.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    ids = [c for c in range(int(labels.max()) + 1) if (labels == c).any()] if len(labels) else []
    c = len(ids)
    if c < 2:
        return float("nan")
    sigma_all = np.linalg.norm(X.var(axis=0))
    groups = [X[labels == k] for k in ids]
    centres = np.array([g.mean(axis=0) for g in groups])
    sig = np.array([np.linalg.norm(g.var(axis=0)) for g in groups])
    scat = float(sig.mean() / sigma_all) if sigma_all > 0 else 0.0
    stdev = float(np.sqrt(sig.sum()) / c)

    def density(points: np.ndarray, u: np.ndarray) -> int:
        return int((np.linalg.norm(points - u, axis=1) <= stdev).sum())

    dens = 0.0
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            both = np.concatenate([groups[i], groups[j]])
            u = (centres[i] + centres[j]) / 2
            denom = max(density(both, centres[i]), density(both, centres[j]))
            if denom > 0:
                dens += density(both, u) / denom
    return scat + dens / (c * (c - 1))


# -- parameter sweep -------------------------------------------------------------------------

#: The paper's grid: min cluster size and min samples each 2..11.
SWEEP_RANGE = tuple(range(2, 12))
#: DBCV values this close to the best count as tied (then S_Dbw decides).
DBCV_TIE = 0.01
#: The recommendation rule, as stored with the sweep table.
RECOMMEND_RULE = (
    "highest DBCV among settings with at least two clusters; settings within 0.01 of it are "
    "tied, and among those the lowest S_Dbw wins, then the fewest unclassified, then the "
    "smallest (min_cluster_size, min_samples)"
)
#: Above this many points the validity indices are computed on a seeded sample of this size.
VALIDITY_SAMPLE = 5000


@dataclass
class SweepResult:
    """Grid of HDBSCAN settings: ``table`` has one row per (min_cluster_size, min_samples)
    with n_clusters, n_unclassified, unclassified_fraction, dbcv and s_dbw;
    ``recommended`` = (min_cluster_size, min_samples) and ``reason`` says why."""

    table: pd.DataFrame
    recommended: tuple[int, int] | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def recommend_setting(table: pd.DataFrame) -> tuple[tuple[int, int] | None, str]:
    """The rule: the highest DBCV among settings with at least two clusters; settings within
    ``DBCV_TIE`` of it are tied, and among those the lowest S_Dbw wins, then the fewest
    unclassified, then the smallest (min_cluster_size, min_samples)."""
    ok = table[(table["n_clusters"] >= 2) & np.isfinite(table["dbcv"])]
    if ok.empty:
        return None, "no setting gave two or more clusters, so DBCV is undefined everywhere"
    best = float(ok["dbcv"].max())
    tied = ok[ok["dbcv"] >= best - DBCV_TIE].copy()
    tied["_s"] = tied["s_dbw"].fillna(np.inf)
    pick = tied.sort_values(
        ["_s", "n_unclassified", "min_cluster_size", "min_samples"], kind="stable"
    ).iloc[0]
    setting = (int(pick["min_cluster_size"]), int(pick["min_samples"]))
    reason = (
        f"highest DBCV ({best:.3f}); {len(tied)} setting(s) within {DBCV_TIE} of it, of which "
        f"min cluster size {setting[0]}, min samples {setting[1]} has the lowest S_Dbw "
        f"({float(pick['s_dbw']):.3f}); DBCV {float(pick['dbcv']):.3f}, "
        f"{int(pick['n_clusters'])} clusters, {int(pick['n_unclassified'])} unclassified"
    )
    return setting, reason


def sweep_parameters(
    X: np.ndarray,
    min_cluster_sizes: Iterable[int] = SWEEP_RANGE,
    min_samples_values: Iterable[int] = SWEEP_RANGE,
    p: float = P_DEFAULT,
    *,
    root: bool = True,
    strategy: Strategy = "auto",
    max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
    validity: bool = True,
    validity_sample: int = VALIDITY_SAMPLE,
    matrix_limit: int = MATRIX_LIMIT,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Cluster with every (min_cluster_size, min_samples) pair of the grid, score each with
    DBCV (same ℓp metric) and S_Dbw, and recommend one (``recommend_setting``).

    The distances are computed once: the matrix (or k-NN graph) is shared by all settings;
    one MST per min_samples value, one condensation per min_cluster_size. Above
    ``validity_sample`` points the indices are computed on a seeded random sample of that
    many points (their labels from the full clustering).
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    sizes = sorted({int(m) for m in min_cluster_sizes})
    samples = sorted({int(m) for m in min_samples_values})
    if not sizes or not samples:
        raise BandprintError("the sweep grid is empty")
    for m in sizes:
        _check_params(n, m, min(samples))
    strategy = choose_strategy(n, strategy, matrix_limit)
    D = pairwise_distances(X, p=p) if strategy == "matrix" else None
    knn = None
    if strategy == "knn":
        knn = knn_graph(X, max(KNN_GRAPH_K, max(samples) + 1), p, seed=seed)
    rows_v = np.arange(n)
    D_v = D
    if validity and n > validity_sample:
        rows_v = np.sort(np.random.default_rng(seed).choice(n, validity_sample, replace=False))
        D_v = pairwise_distances(X[rows_v], p=p)
    elif validity and D_v is None:
        # The knn and exact strategies build no matrix; DBCV needs one over its points.
        D_v = pairwise_distances(X, p=p)
    if validity and D_v is not None and root and p < 1:
        D_v = D_v ** np.float32(1.0 / p)
    records = []
    total, done = len(sizes) * len(samples), 0
    for ms in samples:
        mst, _core, _info = mutual_reachability_mst(
            X, ms, p, strategy, distances=D, knn=knn, matrix_limit=matrix_limit, seed=seed
        )
        mst = np.asarray(mst, dtype=np.float64)
        if root and p < 1:
            mst[:, 2] = mst[:, 2] ** (1.0 / p)
        for mcs in sizes:
            labels, _, _, _ = labels_from_mst(
                mst, n, mcs, max_cluster_size=max_cluster_size_for(n, max_cluster_fraction)
            )
            rec: dict[str, Any] = {
                "min_cluster_size": mcs,
                "min_samples": ms,
                "n_clusters": int(labels.max() + 1),
                "n_unclassified": int((labels < 0).sum()),
                "unclassified_fraction": float((labels < 0).mean()),
                "dbcv": float("nan"),
                "s_dbw": float("nan"),
            }
            if validity:
                lv = labels[rows_v]
                rec["dbcv"] = dbcv(D_v, lv, X.shape[1])
                rec["s_dbw"] = s_dbw(X[rows_v], lv)
            records.append(rec)
            done += 1
            if progress is not None:
                progress(done, total)
    table = pd.DataFrame(records)
    setting, reason = (
        recommend_setting(table) if validity else (None, "validity indices not computed")
    )
    params = {
        "p": float(p),
        "root": bool(root),
        "metric": metric_name(p, root),
        "strategy": strategy,
        "n": int(n),
        "validity_points": len(rows_v) if validity else 0,
        "max_cluster_fraction": float(max_cluster_fraction),
        "rule": RECOMMEND_RULE,
    }
    return SweepResult(table, setting, reason, params)


def plot_sweep(result: SweepResult, figsize: tuple[float, float] = (11.0, 9.0)) -> Figure:
    """Heat maps over (min cluster size × min samples): clusters, unclassified, DBCV, S_Dbw;
    the recommended setting boxed."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from bandprint.plot import contrast_text_colour

    t = result.table
    sizes = sorted(t["min_cluster_size"].unique())
    samples = sorted(t["min_samples"].unique())
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(2, 2)
    panels = [
        ("n_clusters", "clusters", "viridis", "d"),
        ("n_unclassified", "unclassified", "magma_r", "d"),
        ("dbcv", "DBCV (higher is better)", "RdYlGn", ".2f"),
        ("s_dbw", "S_Dbw (lower is better)", "RdYlGn_r", ".2f"),
    ]
    for ax, (col, title, cmap, fmt) in zip(axes.ravel(), panels, strict=True):
        grid = (
            t.pivot(index="min_samples", columns="min_cluster_size", values=col)
            .reindex(index=samples, columns=sizes)
            .to_numpy(dtype=float)
        )
        im = ax.imshow(grid, origin="lower", cmap=cmap, aspect="auto")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
        ax.set_yticks(range(len(samples)), [str(s) for s in samples])
        ax.set_xlabel("min cluster size")
        ax.set_ylabel("min samples")
        ax.set_title(title)
        if len(sizes) * len(samples) <= 144:
            for (r, c), v in np.ndenumerate(grid):
                if np.isfinite(v):
                    text = format(int(v), fmt) if fmt == "d" else format(v, fmt)
                    colour = contrast_text_colour(im.to_rgba(v))
                    ax.text(c, r, text, ha="center", va="center", size=6.5, color=colour)
        if result.recommended is not None:
            c = sizes.index(result.recommended[0])
            r = samples.index(result.recommended[1])
            edge = contrast_text_colour(im.to_rgba(grid[r, c]))
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=edge, lw=2))
    return fig


# -- workspaces ------------------------------------------------------------------------------

#: Result tables written by ``cluster_workspace`` and ``sweep_workspace``.
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
    """What ``cluster_workspace`` computed and stored."""

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


def catalogue_formulas(ws: Workspace, ids: list[str]) -> list[str]:
    """The catalogue's formula of each material id, in order ("" where it has none)."""
    cat = ws.catalog()
    formula = dict(zip(cat["material_id"], cat["formula"], strict=True)) if len(cat) else {}
    return [str(formula.get(m) or "") for m in ids]


def _read(ws: Workspace, model_id: str | None) -> tuple[str, list[str], np.ndarray]:
    models = ws.fingerprint_models()
    ids, X = ws.read_fingerprints(model_id)
    model = model_id or (models[-1] if models else "")
    if len(ids) < 2:
        raise BandprintError(f"{ws.path}: only {len(ids)} fingerprint(s) of model {model}")
    return model, ids, X


def cluster_workspace(
    ws: Workspace,
    model_id: str | None = None,
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
    write: bool = True,
) -> ClusterRun:
    """Cluster and map the fingerprints of a workspace; store the ``clusters`` table (one row
    per material: ``CLUSTER_COLUMNS``) and the ``cluster_tree`` table (the condensed tree
    plus ``cluster``: the label of a selected cluster node, else -1)."""
    from bandprint.analyse.embed import (
        DEFAULT_EPS_FRACTION,
        embed_fingerprints,
        knn_from_matrix,
        map_groups,
        neighbour_graph,
    )

    model, ids, X = _read(ws, model_id)
    n = len(ids)
    _check_params(n, min_cluster_size, min_samples)
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
        seed=seed,
    )
    del D
    if n >= 4:
        xy = embed_fingerprints(
            X,
            embedding,  # type: ignore[arg-type]
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            seed=seed,
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
            "material_id": ids,
            "formula": catalogue_formulas(ws, ids),
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
        "model_id": model,
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
    if write:
        ws.write_table(CLUSTERS_TABLE, table, meta)
        ws.write_table(TREE_TABLE, tree, meta)
    return ClusterRun(table, tree, result, xy, meta)


def sweep_workspace(
    ws: Workspace,
    model_id: str | None = None,
    min_cluster_sizes: Iterable[int] = SWEEP_RANGE,
    min_samples_values: Iterable[int] = SWEEP_RANGE,
    p: float = P_DEFAULT,
    *,
    root: bool = True,
    strategy: Strategy = "auto",
    max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
    seed: int = 0,
    write: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """``sweep_parameters`` on a workspace's fingerprints; stores the ``sweep`` table."""
    model, _ids, X = _read(ws, model_id)
    result = sweep_parameters(
        X,
        min_cluster_sizes,
        min_samples_values,
        p,
        root=root,
        strategy=strategy,
        max_cluster_fraction=max_cluster_fraction,
        seed=seed,
        progress=progress,
    )
    result.params["model_id"] = model
    if write:
        meta = {
            **result.params,
            "recommended": list(result.recommended) if result.recommended else None,
            "reason": result.reason,
        }
        ws.write_table(SWEEP_TABLE, result.table, meta)
    return result


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
    "cluster_fingerprints",
    "cluster_workspace",
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
    "sweep_workspace",
]
