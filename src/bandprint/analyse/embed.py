"""The fingerprint map: UMAP (or t-SNE) to 2-D, and DBSCAN groups on it (Pentz, Warford et al.
2025: UMAP with 10 neighbours, min_dist 0.1; DBSCAN of min size 5 on the map).

The map uses the same ℓp neighbour graph as the clustering. ``umap.UMAP(metric="minkowski",
metric_kwds={"p": 0.2})`` does honour p (``umap/distances.py`` ``minkowski`` and
pynndescent's, both ``(Σ|x−y|^p)^(1/p)``; tested in ``tests/test_embed.py``), but computing the
graph ourselves lets clustering and map share it (computed once, exact up to 20 000 points).
UMAP is given the Minkowski form of the distances by default (``root=True``, as the paper's
``metric="minkowski"`` call; the same neighbours as the ℓp metric, different membership
weights). The layout starts from PCA (deterministic; see ``embed_fingerprints``).

Groups. DBSCAN on the map over the clustered points only (unclassified points get no group),
``min_samples`` 5. UMAP coordinates have no fixed scale (the layout's extent varies with the
data and n), so ε is set relative to the map: ``ε = eps_fraction × D``, where D is the length
of the diagonal of the box spanned by the 1st-99th percentiles of the clustered points'
coordinates (robust to a few far outliers). Default ``eps_fraction`` = 0.03: it is the paper's
ε = 0.8 for a map of robust diagonal ~27 units, carried over as a fraction, not tuned (the
demo's map of 1,330 materials has a diagonal of ~12, so ε ≈ 0.35 there). The paper's other
value, 25, only makes sense in a rescaled frame (e.g. plot coordinates of a ~800-unit-wide
figure, where 0.03·D ≈ 25), which is why a fraction is the portable setting.
``eps=`` sets an absolute value instead.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from bandprint.analyse.lp import P_DEFAULT, approximate_knn, as_f32, exact_knn
from bandprint.analyse.search import row_blocks
from bandprint.errors import BandprintError

#: Up to this many points the neighbour graph for the map is computed exactly.
EXACT_KNN_LIMIT = 20_000
#: ε of the map groups as a fraction of the map's robust diagonal (see module doc).
DEFAULT_EPS_FRACTION = 0.03
#: DBSCAN ``min_samples`` for the groups (the paper's minimum size 5).
GROUP_MIN_SAMPLES = 5

Method = Literal["umap", "tsne"]


def neighbour_graph(
    X: np.ndarray,
    k: int,
    p: float = P_DEFAULT,
    exact: bool | None = None,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, distances)`` of every point's k nearest (itself first), under the ℓp
    metric: exact up to ``EXACT_KNN_LIMIT`` points (or when ``exact``), else approximate
    (``lp.approximate_knn`` seeded with ``random_state``; distances always exact)."""
    X = as_f32(X, "fingerprints")
    k = min(k, X.shape[0])
    if exact is None:
        exact = X.shape[0] <= EXACT_KNN_LIMIT
    return exact_knn(X, k, p) if exact else approximate_knn(X, k, p, seed=random_state)


def knn_from_matrix(D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(indices [n, k] int64, distances [n, k] float32)`` of the k nearest per row of a
    full distance matrix, itself first. Works through ``D`` in row blocks, so its temporaries
    stay within ``search.ROW_BLOCK_BYTES`` besides the two outputs."""
    n = D.shape[0]
    k = min(k, D.shape[1])
    idx = np.empty((n, k), dtype=np.int64)
    dist = np.empty((n, k), dtype=np.float32)
    # argpartition's int64 indices, and its copy of the row, per row of D.
    for rows in row_blocks(n, D.shape[1] * (8 + D.itemsize)):
        block = D[rows]
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        d = np.take_along_axis(block, part, 1)
        # Itself first even when duplicates are also at distance 0.
        own = np.arange(rows.start, rows.stop)[:, None]
        order = np.argsort(np.where(part == own, -1.0, d), axis=1, kind="stable")
        idx[rows] = np.take_along_axis(part, order, 1)
        dist[rows] = np.take_along_axis(d, order, 1)
    return idx, dist


def embed_fingerprints(
    X: np.ndarray,
    method: Method = "umap",
    n_neighbors: int = 10,
    min_dist: float = 0.1,
    random_state: int = 0,
    p: float = P_DEFAULT,
    root: bool = True,
    perplexity: float = 30.0,
    knn: tuple[np.ndarray, np.ndarray] | None = None,
    init: str = "pca",
) -> np.ndarray:
    """2-D map ``[n, 2]`` of fingerprints under the ℓp metric; seeded with the integer
    ``random_state``, so repeatable.

    ``init``: UMAP's starting layout. ``pca`` by default because it is deterministic: umap's
    ``spectral`` init gave different maps for the same seed from run to run when the
    neighbour graph has several components (tested in ``tests/test_embed.py``).

    ``knn``: a precomputed neighbour graph (itself first, metric form), e.g. the one the
    clustering used; computed here when missing. UMAP uses the first ``n_neighbors`` columns
    (UMAP counts the point itself), t-SNE the first ``3·perplexity + 2``.
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    if n < 4:
        raise BandprintError(f"need at least 4 fingerprints for a map, got {n}")
    if method == "umap":
        k = int(min(n_neighbors, n - 1))
    elif method == "tsne":
        perplexity = float(min(perplexity, (n - 1) / 3.0))
        # sklearn wants min(n - 1, ⌊3·perplexity + 1⌋) neighbours besides the point itself.
        k = int(min(n - 1, int(3 * perplexity + 1))) + 1
    else:
        raise BandprintError(f"unknown embedding {method!r} (umap, tsne)")
    if knn is None or knn[0].shape[1] < k:
        knn = neighbour_graph(X, k, p, random_state=random_state)
    idx = np.ascontiguousarray(knn[0][:, :k], dtype=np.int64)
    dist = np.ascontiguousarray(knn[1][:, :k], dtype=np.float32)
    if root and p < 1:
        dist = dist ** np.float32(1.0 / p)
    if method == "umap":
        import umap

        model = umap.UMAP(
            n_neighbors=k,
            min_dist=min_dist,
            n_components=2,
            metric="minkowski",
            metric_kwds={"p": p},
            random_state=random_state,
            precomputed_knn=(idx, dist, None),
            init=init,
        )
        with warnings.catch_warnings():
            # No search index is passed (transform is not needed), and random_state turns
            # off parallelism; both are announced as warnings.
            warnings.simplefilter("ignore", UserWarning)
            xy = model.fit_transform(X)
    else:
        from scipy.sparse import csr_matrix
        from sklearn.manifold import TSNE
        from sklearn.neighbors import sort_graph_by_row_values

        rows = np.repeat(np.arange(n), k)
        # sklearn's precomputed neighbour graph must hold each point itself too (it asks for
        # one more neighbour and drops the point). A stored zero might be dropped as sparse
        # structure, so zero distances (itself, duplicates) become a tiny positive number.
        vals = np.maximum(dist.ravel().astype(np.float64), 1e-12)
        graph = sort_graph_by_row_values(
            csr_matrix((vals, (rows, idx.ravel())), shape=(n, n)), warn_when_not_sorted=False
        )
        tsne = TSNE(
            n_components=2,
            perplexity=perplexity,
            metric="precomputed",
            init="random",
            random_state=random_state,
        )
        xy = tsne.fit_transform(graph)
    return np.asarray(xy, dtype=np.float64)


class FingerprintMap(TransformerMixin, BaseEstimator):
    """``embed_fingerprints`` as a scikit-learn estimator: the parameters are that function's
    (same names and defaults); ``fit(X)`` sets ``embedding_`` (``[n, 2]``, the map of ``X``)
    and ``n_features_in_``, ``fit_transform(X)`` returns it. Like t-SNE it has no ``transform``
    of new points: a map is laid out for the points it was fitted on."""

    def __init__(
        self,
        method: Method = "umap",
        n_neighbors: int = 10,
        min_dist: float = 0.1,
        random_state: int = 0,
        p: float = P_DEFAULT,
        root: bool = True,
        perplexity: float = 30.0,
        init: str = "pca",
    ) -> None:
        self.method = method
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.random_state = random_state
        self.p = p
        self.root = root
        self.perplexity = perplexity
        self.init = init

    def fit(
        self, X: np.ndarray, y: object = None, knn: tuple[np.ndarray, np.ndarray] | None = None
    ) -> FingerprintMap:
        """Lay out fingerprints ``X [n, d]``; ``knn``: a precomputed neighbour graph, as for
        ``embed_fingerprints``; ``y`` is ignored."""
        self.embedding_ = embed_fingerprints(X, knn=knn, **self.get_params())
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def fit_transform(
        self, X: np.ndarray, y: object = None, knn: tuple[np.ndarray, np.ndarray] | None = None
    ) -> np.ndarray:
        return self.fit(X, y, knn=knn).embedding_


def map_scale(xy: np.ndarray) -> float:
    """The map's robust diagonal: the diagonal of the 1st-99th percentile box."""
    xy = np.asarray(xy, dtype=np.float64)
    if len(xy) == 0:
        return 0.0
    lo, hi = np.percentile(xy, [1, 99], axis=0)
    return float(np.hypot(*(hi - lo)))


def map_groups(
    xy: np.ndarray,
    labels: np.ndarray,
    eps: float | None = None,
    eps_fraction: float = DEFAULT_EPS_FRACTION,
    min_samples: int = GROUP_MIN_SAMPLES,
) -> tuple[np.ndarray, float]:
    """DBSCAN groups on the map over clustered points (``labels >= 0``):
    ``(group per point, -1 = none; ε used)``. Groups are numbered by size, largest first."""
    from sklearn.cluster import DBSCAN

    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(labels)
    groups = np.full(len(xy), -1, dtype=np.int64)
    clustered = np.flatnonzero(labels >= 0)
    if eps is None:
        eps = eps_fraction * map_scale(xy[clustered])
    if len(clustered) < min_samples or not eps > 0:
        return groups, float(eps)
    found = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(xy[clustered])
    ids, counts = np.unique(found[found >= 0], return_counts=True)
    renumber = {int(g): r for r, g in enumerate(ids[np.argsort(-counts, kind="stable")])}
    groups[clustered] = [renumber.get(int(g), -1) for g in found]
    return groups, float(eps)


__all__ = [
    "DEFAULT_EPS_FRACTION",
    "EXACT_KNN_LIMIT",
    "GROUP_MIN_SAMPLES",
    "FingerprintMap",
    "embed_fingerprints",
    "knn_from_matrix",
    "map_groups",
    "map_scale",
    "neighbour_graph",
]
