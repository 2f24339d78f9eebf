"""The 2-D map (UMAP / t-SNE on the ℓp neighbour graph) and DBSCAN groups on it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from bandprint.analyse.embed import (
    DEFAULT_EPS_FRACTION,
    embed_fingerprints,
    knn_from_matrix,
    map_groups,
    map_scale,
    neighbour_graph,
)
from bandprint.analyse.search import exact_knn, pairwise_distances
from bandprint.errors import BandprintError
from synthetic_fingerprints import clustered


@pytest.mark.filterwarnings("ignore:n_jobs value")
def test_umap_honours_p_for_minkowski():
    """umap's own minkowski uses p: its neighbour graph (small-data path) is the p = 0.2
    k-NN graph of our kernel, and differs from the Euclidean one."""
    import umap

    rng = np.random.default_rng(1)
    X = (rng.normal(size=(150, 98)) * rng.uniform(0.01, 3, size=(1, 98))).astype(np.float32)
    k = 8

    def pattern(model):
        g = model.graph_.tocoo()
        return set(zip(g.row.tolist(), g.col.tolist(), strict=True))

    def expected(idx):
        edges = {(i, int(j)) for i in range(len(X)) for j in idx[i, 1:]}
        return edges | {(j, i) for i, j in edges}

    kw = dict(n_neighbors=k, random_state=0, n_epochs=1, init="random")
    m02 = umap.UMAP(metric="minkowski", metric_kwds={"p": 0.2}, **kw).fit(X)
    m2 = umap.UMAP(metric="euclidean", **kw).fit(X)
    ours, _ = exact_knn(X, k, p=0.2)
    euclid, _ = exact_knn(X, k, p=2.0)
    # UMAP drops the farthest neighbour's edge when its membership weight underflows to 0.
    assert len(pattern(m02) ^ expected(ours)) <= 0.02 * len(expected(ours))
    assert len(pattern(m02) ^ expected(euclid)) > 0.2 * len(expected(euclid))
    assert len(pattern(m2) ^ expected(euclid)) <= 0.02 * len(expected(euclid))


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_map_separates_clusters_and_is_seeded(method):
    X, y = clustered(n_clusters=5)
    xy = embed_fingerprints(X, method=method, random_state=3)
    assert xy.shape == (len(X), 2) and np.isfinite(xy).all()
    again = embed_fingerprints(X, method=method, random_state=3)
    np.testing.assert_allclose(xy, again)
    # Neighbours on the map belong to the same cluster.
    knn = KNeighborsClassifier(5).fit(xy, y)
    assert knn.score(xy, y) > 0.97


def test_precomputed_graph_is_used():
    X, _ = clustered(n_clusters=5, seed=4)
    a = embed_fingerprints(X, random_state=0, knn=exact_knn(X, 15))  # extra columns are cut to 10
    b = embed_fingerprints(X, random_state=0)  # computes the same exact p = 0.2 graph itself
    np.testing.assert_allclose(a, b)
    c = embed_fingerprints(X, random_state=0, knn=exact_knn(X, 10, p=2.0))
    assert not np.allclose(a, c)
    # The graph from a full matrix: the point itself first, the same distances.
    idx, dist = knn_from_matrix(pairwise_distances(X), 11)
    assert (idx[:, 0] == np.arange(len(X))).all() and (dist[:, 0] == 0).all()
    _, ref_d = neighbour_graph(X, 11)
    np.testing.assert_allclose(dist, ref_d, rtol=1e-5, atol=1e-4)


def test_selections_over_a_full_matrix_work_in_row_blocks(monkeypatch):
    """knn_from_matrix and core_distances_from_matrix hold at most a block of rows of
    temporaries (an argpartition of the whole matrix is an n×n int64 copy: 18 MB here), and
    answer as a full sort of each row does."""
    import tracemalloc

    from bandprint.analyse import search
    from bandprint.analyse.cluster import core_distances_from_matrix

    X = np.random.default_rng(3).normal(size=(1500, 8)).astype(np.float32)
    D = pairwise_distances(X, p=2.0)
    block = 1 << 20
    monkeypatch.setattr(search, "ROW_BLOCK_BYTES", block, raising=False)
    tracemalloc.start()
    try:
        idx, dist = knn_from_matrix(D, 10)
        knn_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        core = core_distances_from_matrix(D, 4)
        core_peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert knn_peak < idx.nbytes + dist.nbytes + 3 * block
    assert core_peak < core.nbytes + 3 * block
    full = np.sort(D, axis=1)
    assert (idx[:, 0] == np.arange(len(X))).all()
    np.testing.assert_array_equal(dist, full[:, :10])
    np.testing.assert_array_equal(np.take_along_axis(D, idx, 1), dist)
    np.testing.assert_array_equal(core, full[:, 4])


def test_groups_on_the_map():
    rng = np.random.default_rng(5)
    blob = lambda c, m: c + rng.normal(scale=0.3, size=(m, 2))  # noqa: E731
    xy = np.vstack([blob((0, 0), 60), blob((20, 0), 30), blob((0, 20), 40), blob((10, 10), 20)])
    labels = np.r_[np.zeros(60), np.ones(30), np.full(40, 2), np.full(20, -1)].astype(int)
    groups, eps = map_groups(xy, labels)
    assert eps == pytest.approx(DEFAULT_EPS_FRACTION * map_scale(xy[labels >= 0]))
    assert (groups[labels < 0] == -1).all()  # unclassified points get no group
    # Numbered by size: the 60-point blob is group 0, 40 → 1, 30 → 2.
    assert set(groups[:60]) == {0} and set(groups[90:130]) == {1} and set(groups[60:90]) == {2}
    # ε is relative to the map: rescaling the map changes nothing.
    scaled, eps_scaled = map_groups(1000 * xy, labels)
    assert (scaled == groups).all() and eps_scaled == pytest.approx(1000 * eps)
    # An absolute ε can be given.
    one, _ = map_groups(xy, labels, eps=50.0)
    assert set(one[labels >= 0]) == {0}


def test_too_few_points():
    with pytest.raises(BandprintError, match="at least 4"):
        embed_fingerprints(np.zeros((3, 98), dtype=np.float32))
    with pytest.raises(BandprintError, match="unknown embedding"):
        embed_fingerprints(clustered(n_clusters=5)[0], method="pca")  # type: ignore[arg-type]
