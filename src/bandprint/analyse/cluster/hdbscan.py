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
(``bandprint.analyse.lp``), so the distance is the one computed; step 4 is hdbscan's own
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

Steps 1-3 and their strategies: ``bandprint.analyse.cluster.mst``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin

from bandprint.analyse.cluster.mst import MATRIX_LIMIT, Strategy, mutual_reachability_mst
from bandprint.analyse.lp import (
    P_DEFAULT,
    as_f32,
    metric_name,
)
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    pass


#: Excess of mass may not select a cluster holding more than this fraction of all points.
MAX_CLUSTER_FRACTION = 0.5
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


def check_params(n: int, min_cluster_size: int, min_samples: int) -> None:
    """Raise ``BandprintError`` unless n ≥ 2, min_cluster_size ≥ 2 and min_samples ≥ 1."""
    if n < 2:
        raise BandprintError(f"need at least 2 fingerprints to cluster, got {n}")
    if min_cluster_size < 2:
        raise BandprintError(f"min cluster size must be at least 2, got {min_cluster_size}")
    if min_samples < 1:
        raise BandprintError(f"min samples must be at least 1, got {min_samples}")


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
    random_state: int = 0,
) -> ClusterResult:
    """HDBSCAN of fingerprints ``X [n, d]`` under Minkowski ``p`` (see the module doc).

    ``random_state``: the integer seed of the approximate k-NN graph (``strategy="knn"``);
    the exact strategies use no randomness.

    ``max_cluster_fraction``: excess of mass may not select a cluster holding more than this
    fraction of all points (hdbscan's ``max_cluster_size``; ≥ 1 for no limit), see the module
    doc.
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    check_params(n, min_cluster_size, min_samples)
    mst, core, info = mutual_reachability_mst(
        X, min_samples, p, strategy, distances, knn, matrix_limit, random_state
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


class FingerprintClusterer(ClusterMixin, BaseEstimator):
    """``cluster_fingerprints`` as a scikit-learn clusterer: the parameters are that function's
    (same names and defaults), and ``fit(X)`` sets ``labels_`` (-1: unclassified),
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
        random_state: int = 0,
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
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: Any = None) -> FingerprintClusterer:
        """Cluster fingerprints ``X [n, d]``; ``y`` is ignored."""
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
