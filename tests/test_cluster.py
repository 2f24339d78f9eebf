"""HDBSCAN with the Minkowski p distance really applied, validity indices, sweep, workspace.

The central fact is proved on data built so that p = 0.2 and Euclidean disagree: three blobs
A, B, C, where B is A moved by 3 in ONE coordinate and C is A moved by 0.3 in ALL 98. With
Σ|Δ|^0.2 one big step barely counts (3^0.2 ≈ 1.25 against ≈ 49 for the within-blob noise
summed over 98 coordinates) while 98 small steps count a lot (≈ 77), so p = 0.2 sees two
clusters, A∪B and C; Euclidean sees three (|AB| = 3.0, |AC| = 0.3·√98 ≈ 3.0, within ≈ 0.4).
"""

from __future__ import annotations

import hdbscan
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hdbscan.validity import validity_index
from scipy.spatial.distance import cdist
from sklearn.metrics import adjusted_rand_score

from bandprint.analyse.cluster import (
    HDBSCAN_TREE_TO_LABELS_PARAMS,
    FingerprintClusterer,
    cluster_fingerprints,
    dbcv,
    hdbscan_private_api,
    recommend_setting,
    s_dbw,
    sweep_parameters,
)
from bandprint.analyse.embed import knn_from_matrix
from bandprint.analyse.search import pairwise_distances
from bandprint.errors import BandprintError
from bandprint.workflows.cluster import cluster_workspace

D_FP = 98


def three_blobs(seed: int = 0, m: int = 40, h: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=D_FP)
    a = base + rng.uniform(-h, h, (m, D_FP))
    b = base + rng.uniform(-h, h, (m, D_FP))
    b[:, 0] += 3.0
    c = base + 0.3 + rng.uniform(-h, h, (m, D_FP))
    return np.vstack([a, b, c]).astype(np.float32), np.repeat([0, 1, 2], m)


def gaussian_clusters(
    n_clusters: int = 6, size: int = 30, noise: int = 40, dim: int = D_FP, seed: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    X = [c + 0.25 * rng.normal(size=(size, dim)) for c in centres]
    X.append(1.3 * rng.normal(size=(noise, dim)))
    y = np.concatenate([np.repeat(np.arange(n_clusters), size), np.full(noise, -1)])
    return np.vstack(X).astype(np.float32), y


def brute_force(X: np.ndarray, p: float) -> np.ndarray:
    Xd = X.astype(np.float64)
    return (np.abs(Xd[:, None, :] - Xd[None, :, :]) ** p).sum(-1)


# -- hdbscan's private functions -------------------------------------------------------------
def test_hdbscan_private_api_is_where_bandprint_calls_it():
    """Fails loudly when an hdbscan release moves the private functions step 4 calls, or when
    the installed hdbscan lies outside the range pyproject.toml names (the tested one)."""
    import inspect
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    from hdbscan._hdbscan_linkage import label
    from hdbscan.hdbscan_ import _tree_to_labels
    from packaging.specifiers import SpecifierSet

    params = list(inspect.signature(_tree_to_labels).parameters)
    assert params[:2] == ["X", "single_linkage_tree"]
    assert set(HDBSCAN_TREE_TO_LABELS_PARAMS) <= set(params)
    assert hdbscan_private_api() == (label, _tree_to_labels)
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    (spec,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("hdbscan")]
    assert version("hdbscan") in SpecifierSet(spec.removeprefix("hdbscan"))


def test_a_moved_hdbscan_function_is_a_one_line_error(monkeypatch):
    import hdbscan.hdbscan_

    moved = lambda X, tree, min_cluster_size=10: None  # noqa: E731
    monkeypatch.setattr(hdbscan.hdbscan_, "_tree_to_labels", moved)
    X, _ = three_blobs()
    with pytest.raises(BandprintError, match=r"^hdbscan [\d.]+ moved the private functions") as e:
        cluster_fingerprints(X)
    assert "_tree_to_labels takes (X, tree, min_cluster_size)" in str(e.value)


# -- the distance really used ---------------------------------------------------------------
def test_hdbscan_default_path_ignores_p():
    """The trap: with 98 features hdbscan's default path is Prim's on a KD-tree
    and drops p, so "minkowski, p=0.2" is Euclidean, MST edge for MST edge."""
    X, _ = three_blobs()
    kw = dict(min_cluster_size=5, min_samples=2, gen_min_span_tree=True)
    trap = hdbscan.HDBSCAN(metric="minkowski", p=0.2, **kw).fit(X)
    euclid = hdbscan.HDBSCAN(metric="euclidean", **kw).fit(X)
    w_trap = np.sort(trap.minimum_spanning_tree_.to_numpy()[:, 2])
    w_euclid = np.sort(euclid.minimum_spanning_tree_.to_numpy()[:, 2])
    np.testing.assert_allclose(w_trap, w_euclid)
    assert (trap.labels_ == euclid.labels_).all()
    # ... while the true p = 0.2 distances are a different set of numbers altogether.
    core = np.sort(brute_force(X, 0.2), axis=1)[:, 2]
    assert core.min() > 5 * w_euclid.max()


@pytest.mark.parametrize("root", [True, False])
def test_p02_and_euclidean_give_different_clusterings(root):
    X, y = three_blobs()
    # A∪B holds 2/3 of the points, so the default cap on cluster size (½) is lifted here.
    ours = cluster_fingerprints(X, 5, 2, p=0.2, root=root, max_cluster_fraction=1.0)
    assert ours.n_clusters == 2 and ours.n_unclassified == 0
    label_of = [np.bincount(ours.labels[y == k]).argmax() for k in range(3)]
    assert label_of[0] == label_of[1] != label_of[2]  # A and B together, C apart
    euclid = cluster_fingerprints(X, 5, 2, p=2.0)
    assert euclid.n_clusters == 3 and adjusted_rand_score(y, euclid.labels) == 1.0
    trap = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=2, metric="minkowski", p=0.2).fit(X)
    assert adjusted_rand_score(y, trap.labels_) == 1.0  # what the package silently does
    assert adjusted_rand_score(trap.labels_, ours.labels) < 0.7


def test_matches_hdbscan_on_a_brute_force_p02_matrix():
    """Same labels and probabilities as hdbscan fed the brute-force float64 p = 0.2 matrix
    (exactly, given the same matrix; float32 distances move probabilities by ~1e-6)."""
    X, _ = gaussian_clusters()
    D64 = brute_force(X, 0.2)
    ref = hdbscan.HDBSCAN(min_cluster_size=5, min_samples=2, metric="precomputed").fit(D64)
    same = cluster_fingerprints(X, distances=D64, root=False)
    assert (same.labels == ref.labels_).all()
    np.testing.assert_allclose(same.probabilities, ref.probabilities_, atol=1e-12)
    ours = cluster_fingerprints(X, root=False)
    assert (ours.labels == ref.labels_).all()
    np.testing.assert_allclose(ours.probabilities, ref.probabilities_, atol=1e-4)
    assert ours.n_clusters >= 4


def test_root_option_reproduces_hdbscan_generic_minkowski():
    X, _ = gaussian_clusters(seed=2)
    ref = hdbscan.HDBSCAN(
        min_cluster_size=5, min_samples=2, metric="minkowski", p=0.2, algorithm="generic"
    ).fit(X.astype(np.float64))
    ours = cluster_fingerprints(X, root=True)
    assert (ours.labels == ref.labels_).all()
    np.testing.assert_allclose(ours.probabilities, ref.probabilities_, atol=1e-4)
    assert ours.params["root"] and "1/p" in ours.params["metric"]


def test_strategies_agree():
    X, _ = gaussian_clusters(seed=3)
    matrix = cluster_fingerprints(X, strategy="matrix")
    exact = cluster_fingerprints(X, strategy="exact")
    assert matrix.params["strategy"] == "matrix" and exact.params["strategy"] == "exact"
    np.testing.assert_allclose(
        np.sort(matrix.min_spanning_tree[:, 2]), np.sort(exact.min_spanning_tree[:, 2]), rtol=1e-5
    )
    assert (matrix.labels == exact.labels).all()
    # The k-NN graph strategy on the complete graph is the exact MST (Kruskal instead of Prim).
    D = pairwise_distances(X)
    full = cluster_fingerprints(X, strategy="knn", knn=knn_from_matrix(D, len(X)))
    assert not full.params["exact"]
    np.testing.assert_allclose(
        np.sort(full.min_spanning_tree[:, 2]), np.sort(matrix.min_spanning_tree[:, 2]), rtol=1e-6
    )
    assert adjusted_rand_score(full.labels, matrix.labels) == 1.0


def test_knn_graph_strategy_finds_the_clusters():
    X, y = gaussian_clusters(n_clusters=8, size=40, noise=60, seed=4)
    r = cluster_fingerprints(X, strategy="knn")
    assert r.params["knn_graph_k"] >= 3
    clustered = y >= 0
    assert adjusted_rand_score(y[clustered], r.labels[clustered]) > 0.95


def test_exhaustive_refinement_keeps_its_cost_past_the_limit():
    from bandprint.analyse.cluster import REFINE_FRACTION, REFINE_LIMIT, refine_fraction

    assert refine_fraction(1000) == refine_fraction(REFINE_LIMIT) == REFINE_FRACTION
    for n in (2 * REFINE_LIMIT, 1_000_000):
        # points refined × points searched: the same work as at the limit
        assert refine_fraction(n) * n * n == pytest.approx(REFINE_FRACTION * REFINE_LIMIT**2)
    assert round(refine_fraction(1_000_000) * 1_000_000) == 6750


def test_knn_graph_components_are_joined():
    # Four far-apart blobs: a 5-NN graph has four components, joined Boruvka-style.
    X, _ = gaussian_clusters(n_clusters=4, size=20, noise=0, seed=5)
    X[20:] += 50.0 * np.repeat(np.arange(1, 4), 20)[:, None]
    D = pairwise_distances(X)
    r = cluster_fingerprints(X, strategy="knn", knn=knn_from_matrix(D, 6))
    assert r.params["knn_graph_components"] == 4
    assert len(r.min_spanning_tree) == len(X) - 1
    assert r.n_clusters == 4


def test_no_cluster_may_hold_more_than_half_the_points():
    # Two adjacent blobs of 100 and a far one of 20: plain excess of mass selects the pair as
    # one cluster of 200 (91 %); capped at half of all points it looks inside and splits it.
    rng = np.random.default_rng(0)
    c = rng.normal(size=D_FP)
    X = np.vstack(
        [c + 0.3 * rng.normal(size=(100, D_FP)), c + 0.6 + 0.3 * rng.normal(size=(100, D_FP)),
         c + 5 + 0.3 * rng.normal(size=(20, D_FP))]
    ).astype(np.float32)  # fmt: skip
    truth = np.repeat([0, 1, 2], [100, 100, 20])
    plain = cluster_fingerprints(X, max_cluster_fraction=1.0)
    assert plain.n_clusters == 2 and np.bincount(plain.labels).max() == 200
    capped = cluster_fingerprints(X)  # default 0.5
    assert capped.params["max_cluster_fraction"] == 0.5
    assert adjusted_rand_score(truth, capped.labels) == 1.0
    with pytest.raises(BandprintError, match="fraction"):
        cluster_fingerprints(X, max_cluster_fraction=0.0)


# -- exemplars, tree, estimator ---------------------------------------------------------------
def test_exemplar_ranks_and_condensed_tree():
    X, _ = gaussian_clusters(seed=6)
    r = cluster_fingerprints(X)
    n = len(X)
    for c in range(r.n_clusters):
        members = np.flatnonzero(r.labels == c)
        ranks = r.exemplar_rank[members]
        assert sorted(ranks) == list(range(1, len(members) + 1))
        order = members[np.argsort(ranks)]
        assert (np.diff(r.probabilities[order]) <= 1e-12).all()  # probability never rises
        tie = r.probabilities[order] == r.probabilities[order[0]]
        assert (np.diff(r.core_distances[order][tie]) >= 0).all()  # ties: denser first
        assert list(r.exemplars(c, 3)) == list(order[:3])
    assert (r.exemplar_rank[r.labels < 0] == 0).all()
    tree = r.condensed_tree
    assert list(tree.columns) == ["parent", "child", "lambda", "size", "distance", "is_cluster"]
    assert tree["parent"].min() == n  # the root
    np.testing.assert_allclose(tree["distance"] * tree["lambda"], 1.0)
    # Members of a selected cluster = the points below its node in the tree.
    children: dict[int, list[int]] = {}
    for p, ch in zip(tree["parent"], tree["child"], strict=True):
        children.setdefault(int(p), []).append(int(ch))

    def points_below(node: int) -> set[int]:
        out: set[int] = set()
        for ch in children.get(node, []):
            out |= {ch} if ch < n else points_below(ch)
        return out

    for c, node in enumerate(r.cluster_nodes):
        assert points_below(int(node)) == set(np.flatnonzero(r.labels == c))
    table = r.cluster_table(top=2)
    assert table["size"].sum() == n - r.n_unclassified


def test_estimator_interface():
    X, _ = gaussian_clusters(seed=7)
    est = FingerprintClusterer(min_cluster_size=6, min_samples=3)
    labels = est.fit_predict(X)
    ref = cluster_fingerprints(X, 6, 3)
    assert (labels == ref.labels).all() and est.n_clusters_ == ref.n_clusters
    assert est.get_params()["min_cluster_size"] == 6
    assert est.set_params(p=2.0).p == 2.0
    assert len(est.condensed_tree_) == len(ref.condensed_tree)


def test_bad_parameters():
    X, _ = gaussian_clusters(seed=8)
    with pytest.raises(BandprintError, match="min cluster size"):
        cluster_fingerprints(X, min_cluster_size=1)
    with pytest.raises(BandprintError, match="positive"):
        cluster_fingerprints(X, p=0.0)
    with pytest.raises(BandprintError, match="NaN"):
        cluster_fingerprints(np.full((10, 4), np.nan))
    with pytest.raises(BandprintError, match="strategy"):
        cluster_fingerprints(X, strategy="fast")  # type: ignore[arg-type]


# -- validity indices -------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 0.2])
def test_dbcv_equals_hdbscans_validity_index(p):
    dim = 3 if p == 2.0 else D_FP
    X, _ = gaussian_clusters(n_clusters=4, size=25, noise=20, dim=dim, seed=9)
    labels = cluster_fingerprints(X, p=p).labels
    D = brute_force(X, p) ** (1 / p if p > 1 else 1.0)
    ref = validity_index(D, labels, metric="precomputed", d=dim)
    assert dbcv(pairwise_distances(X, p=p), labels, dim) == pytest.approx(ref, abs=1e-6)
    if p == 2.0:
        assert ref == pytest.approx(validity_index(X.astype(np.float64), labels), abs=1e-9)


def test_dbcv_needs_two_clusters():
    X, _ = gaussian_clusters(n_clusters=2, seed=10)
    D = pairwise_distances(X)
    assert np.isnan(dbcv(D, np.zeros(len(X), dtype=int), D_FP))


def test_s_dbw_hand_computed():
    # A = {0, 1, 2}, B = {3, 4, 5} on a line: variances 2/3, data variance 35/12, so
    # Scat = 8/35; stdev = √(4/3)/2 ≈ 0.577; the midpoint 2.5 has two points within stdev
    # (2 and 3), each centre one (itself): Dens_bw = (2/1 + 2/1)/2 = 2.
    X = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0]])
    assert s_dbw(X, np.array([0, 0, 0, 1, 1, 1])) == pytest.approx(8 / 35 + 2)
    # Far apart pairs {0, 2}, {10, 12}: variance 1 each, data variance 26, no density between.
    X = np.array([[0.0], [2], [10], [12]])
    assert s_dbw(X, np.array([0, 0, 1, 1])) == pytest.approx(1 / 26)
    # Unclassified points enter only the data variance.
    X2 = np.vstack([X, [[6.0]]])
    var = np.var([0, 2, 10, 12, 6])
    assert s_dbw(X2, np.array([0, 0, 1, 1, -1])) == pytest.approx(1 / var)
    assert np.isnan(s_dbw(X, np.zeros(4, dtype=int)))


# -- sweep -------------------------------------------------------------------------------------
def test_sweep_reuses_distances_and_matches_single_runs():
    X, _ = gaussian_clusters(n_clusters=5, size=20, noise=30, seed=11)
    result = sweep_parameters(X, [3, 5, 8], [2, 4])
    t = result.table
    assert len(t) == 6 and set(t.columns) >= {"n_clusters", "n_unclassified", "dbcv", "s_dbw"}
    for mcs, ms in [(5, 2), (8, 4)]:
        single = cluster_fingerprints(X, mcs, ms)
        row = t[(t.min_cluster_size == mcs) & (t.min_samples == ms)].iloc[0]
        assert row.n_clusters == single.n_clusters
        assert row.n_unclassified == single.n_unclassified
        D = pairwise_distances(X, root=True)  # DBCV in the same form as λ (root default)
        assert row.dbcv == pytest.approx(dbcv(D, single.labels, D_FP), rel=1e-5)
        assert row.s_dbw == pytest.approx(s_dbw(X, single.labels))
    assert result.recommended in set(zip(t.min_cluster_size, t.min_samples, strict=True))
    assert "DBCV" in result.reason


@pytest.mark.parametrize("strategy", ["knn", "exact"])
def test_sweep_without_a_matrix_scores_every_setting(strategy):
    """The knn and exact strategies build no distance matrix; below the validity sample the
    indices still need one over all points (this once ended in an AssertionError)."""
    X, _ = gaussian_clusters(n_clusters=5, size=20, noise=30, seed=11)
    result = sweep_parameters(X, [3, 5], [2, 4], strategy=strategy)
    D = pairwise_distances(X, root=True)
    for _, row in result.table.iterrows():
        single = cluster_fingerprints(
            X, int(row.min_cluster_size), int(row.min_samples), strategy=strategy
        )
        assert row.n_clusters == single.n_clusters >= 2
        assert row.dbcv == pytest.approx(dbcv(D, single.labels, D_FP), rel=1e-5)
        assert row.s_dbw == pytest.approx(s_dbw(X, single.labels))
    assert result.params["strategy"] == strategy and result.params["validity_points"] == len(X)


def test_recommendation_rule():
    t = pd.DataFrame(
        {
            "min_cluster_size": [2, 3, 4, 5],
            "min_samples": [2, 2, 2, 2],
            "n_clusters": [1, 9, 8, 6],
            "n_unclassified": [0, 30, 20, 10],
            "dbcv": [0.9, 0.50, 0.495, 0.3],  # the first has one cluster: not eligible
            "s_dbw": [0.1, 0.40, 0.20, 0.1],
        }
    )
    setting, reason = recommend_setting(t)
    assert setting == (4, 2)  # within 0.01 of the best DBCV, lower S_Dbw
    assert "lowest S_Dbw" in reason
    none, why = recommend_setting(t.assign(n_clusters=1))
    assert none is None and "two or more clusters" in why


# -- workspace and command ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    from bandprint.store import Workspace
    from bandprint.zoo import sample_zoo

    bss = sample_zoo(48, seed=1)
    ws = Workspace(tmp_path_factory.mktemp("cl") / "ws", create=True)
    ws.add_band_structures([(b, b.material_id, "x") for b in bss])
    families = sorted({b.metadata["family"] for b in bss})
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(families), D_FP))
    X = [centres[families.index(b.metadata["family"])] + 0.3 * rng.normal(size=D_FP) for b in bss]
    ws.write_fingerprints("synthetic", [b.material_id for b in bss], np.array(X))
    return ws, [b.metadata["family"] for b in bss]


def test_cluster_workspace_tables(workspace):
    ws, families = workspace
    run = cluster_workspace(ws, min_cluster_size=3)
    t = ws.read_table("clusters")
    assert list(t.columns) == [
        "material_id", "formula", "cluster", "probability", "exemplar_rank",
        "core_distance", "x", "y", "group",
    ]  # fmt: skip
    assert len(t) == 48 and t["formula"].str.len().min() > 0
    assert adjusted_rand_score(families, t["cluster"]) == 1.0  # 3 per family, well separated
    assert np.isfinite(t[["x", "y"]].to_numpy()).all()
    meta = ws.table_meta("clusters")
    assert meta["model_id"] == "synthetic" and meta["p"] == 0.2 and meta["strategy"] == "matrix"
    assert meta["n_clusters"] == run.n_clusters == len(set(families))
    tree = ws.read_table("cluster_tree")
    chosen = tree[tree["cluster"] >= 0]
    assert sorted(chosen["cluster"]) == list(range(run.n_clusters))
    assert (chosen["is_cluster"]).all()


def test_cli_cluster_and_sweep(workspace, tmp_path):
    import orjson

    from bandprint.cli import main

    ws, families = workspace
    runner = CliRunner()
    map_png = tmp_path / "map.png"
    res = runner.invoke(
        main, ["cluster", str(ws.path), "--min-cluster-size", "3", "--map-out", str(map_png)]
    )
    assert res.exit_code == 0, res.output
    assert f"{len(set(families))} clusters, 0 unclassified" in res.output
    assert "exemplars" in res.output
    assert f"map: {map_png}" in res.output and map_png.stat().st_size > 10_000
    res = runner.invoke(
        main, ["cluster", str(ws.path), "--format", "json", "--embedding", "tsne", "--top", "2"]
    )
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.output)
    assert out["meta"]["embedding"] == "tsne" and len(out["clusters"][0]["exemplars"]) <= 2
    materials = out["materials"]  # the per-material table, as stored
    assert len(materials) == out["meta"]["n"]
    assert {"material_id", "cluster", "probability", "exemplar_rank", "x", "y", "group"} <= set(
        materials[0]
    )
    assert sum(r["cluster"] < 0 for r in materials) == out["meta"]["n_unclassified"]
    sizes = {c["cluster"]: c["size"] for c in out["clusters"]}
    assert all(sum(r["cluster"] == c for r in materials) == n for c, n in sizes.items())
    png = tmp_path / "sweep.png"
    res = runner.invoke(
        main,
        ["sweep", str(ws.path), "--min-cluster-size", "2-4", "--min-samples", "2,3", "--out",
         str(png), "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.output)
    assert len(out["table"]) == 6 and out["recommended"] is not None
    assert png.stat().st_size > 10_000
    assert ws.table_meta("sweep")["reason"] == out["reason"]
    for strategy in ("knn", "exact"):  # no distance matrix at 48 points
        res = runner.invoke(
            main, ["sweep", str(ws.path), "--strategy", strategy, "--format", "json", "-q"]
        )
        assert res.exit_code == 0, res.output
        table = orjson.loads(res.output)["table"]
        assert len(table) == 100 and any(r["n_clusters"] >= 2 for r in table)
        assert all(r["dbcv"] is not None for r in table if r["n_clusters"] >= 2)
    res = runner.invoke(main, ["sweep", str(ws.path), "--min-samples", "x"])
    assert res.exit_code == 2 and res.output.startswith("error: --min-samples")


def test_cli_cluster_without_fingerprints(tmp_path):
    from bandprint.cli import main
    from bandprint.store import Workspace

    Workspace(tmp_path / "empty", create=True)
    res = CliRunner().invoke(main, ["cluster", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no fingerprints" in res.output


def test_euclidean_distances_match_scipy():
    X, _ = gaussian_clusters(n_clusters=2, size=10, noise=0, dim=5, seed=12)
    np.testing.assert_allclose(pairwise_distances(X, p=2.0), cdist(X, X), rtol=1e-5, atol=1e-5)
