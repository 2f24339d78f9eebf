"""ℓp distances, exact and approximate neighbours, the similarity index and ``similar``."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bandprint.analyse.search import (
    IVFLists,
    SimilarityIndex,
    approximate_knn,
    edge_distances,
    exact_knn,
    fingerprints_digest,
    pairwise_distances,
    rerank,
)
from bandprint.errors import BandprintError
from bandprint.workflows.search import similar_materials, workspace_index
from synthetic_fingerprints import clustered


def brute(X, Y, p, root=False):
    d = (np.abs(X.astype(np.float64)[:, None] - Y.astype(np.float64)[None]) ** p).sum(-1)
    return d ** (1 / p) if (p > 1 or root) else d


@pytest.mark.parametrize("p", [0.2, 0.5, 1.0, 2.0, 0.7, 3.0])
def test_distances_equal_brute_force(p):
    rng = np.random.default_rng(1)
    # Wide dynamic range: tiny and large differences, exact zeros.
    X = (rng.normal(size=(30, 98)) * 10.0 ** rng.uniform(-4, 1, (30, 98))).astype(np.float32)
    X[3] = X[4]
    Y = X[:7] + np.float32(0.5)
    np.testing.assert_allclose(pairwise_distances(X, p=p), brute(X, X, p), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(pairwise_distances(X, Y, p=p), brute(X, Y, p), rtol=2e-6)
    assert pairwise_distances(X, p=p)[3, 4] == 0.0
    np.testing.assert_allclose(
        pairwise_distances(X, p=p, root=True), brute(X, X, p, root=True), rtol=1e-5, atol=1e-6
    )
    a, b = np.array([0, 5, 9]), np.array([1, 2, 29])
    np.testing.assert_allclose(edge_distances(X, a, b, p), brute(X, X, p)[a, b], rtol=2e-6)


def test_lp_metric_is_a_metric_and_the_minkowski_form_is_not():
    # For p < 1, Σ|Δ|^p obeys the triangle inequality; (Σ|Δ|^p)^(1/p) does not:
    # x = (0,0), y = (1,0), z = (1,1): d(x,z) = 2 ≤ 1 + 1, but rooted 2^5 = 32 > 2.
    X = np.array([[0, 0], [1, 0], [1, 1]], dtype=np.float32)
    d = pairwise_distances(X, p=0.2)
    assert d[0, 2] == pytest.approx(2.0) and d[0, 2] <= d[0, 1] + d[1, 2]
    r = pairwise_distances(X, p=0.2, root=True)
    assert r[0, 2] == pytest.approx(32.0) and r[0, 2] > r[0, 1] + r[1, 2]
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(40, 98)).astype(np.float32)
    D = pairwise_distances(Z, p=0.2).astype(np.float64)
    assert (D[:, :, None] <= D[:, None, :] + D.T[None, :, :] + 1e-3).all()


def test_exact_knn_many_and_few_queries():
    X, _ = clustered()
    D = brute(X, X, 0.2)
    idx, dist = exact_knn(X, 6)
    np.testing.assert_allclose(dist, np.sort(D, axis=1)[:, :6], rtol=2e-6, atol=1e-5)
    assert (idx[:, 0] == np.arange(len(X))).all()
    few_i, few_d = exact_knn(X, 6, queries=X[:2])  # the path parallel over rows of X
    assert (few_i == idx[:2]).all()
    np.testing.assert_allclose(few_d, dist[:2], rtol=1e-6)


def test_rerank_keeps_the_exact_best():
    X, _ = clustered(seed=3)
    cand = np.array([[5, 1, 2, -1, 7], [3, 3, 0, 9, 8]])
    idx, _dist = rerank(X, X[:2], cand, 3)
    for r in range(2):
        c = np.unique(cand[r][cand[r] >= 0])
        d = brute(X[[r]], X[c], 0.2)[0]
        assert list(idx[r]) == list(c[np.argsort(d)[:3]])


def test_ivf_with_all_cells_is_exact_and_approximate_knn_distances_are_exact():
    X, _ = clustered(seed=4)
    ivf = IVFLists.train(X, nlist=16)
    assert sorted(ivf.order) == list(range(len(X))) and ivf.offsets[-1] == len(X)
    _idx, dist = ivf.search(X[ivf.order], X[:50], 10, nprobe=16)
    _ref_i, ref_d = exact_knn(X, 10, queries=X[:50])
    np.testing.assert_allclose(dist, ref_d, rtol=1e-6)
    ai, ad = approximate_knn(X, 10, nlist=16, nprobe=2)
    np.testing.assert_allclose(
        ad, brute(X, X, 0.2)[np.arange(len(X))[:, None], ai], rtol=2e-6, atol=1e-5
    )
    recall = np.mean([len(set(ai[i]) & set(ref_i2)) / 10 for i, ref_i2 in
                      enumerate(exact_knn(X, 10)[0])])  # fmt: skip
    assert recall > 0.9
    # Refining every row is the exhaustive search.
    _ri, rd = approximate_knn(X, 10, nlist=16, nprobe=1, refine=1.0)
    _ei, ed = exact_knn(X, 10)
    np.testing.assert_allclose(rd, ed, rtol=1e-6)


def test_similarity_index_exact_ivf_and_persistence(tmp_path):
    X, labels = clustered(seed=5)
    ids = [f"m{i}" for i in range(len(X))]
    exact = SimilarityIndex.build(ids, X, kind="exact")
    i1, d1 = exact.search(X[:20], k=5, exclude=np.arange(20))
    assert (i1 != np.arange(20)[:, None]).all()
    _ref_i, ref_d = exact_knn(X, 6, queries=X[:20])
    np.testing.assert_allclose(d1, ref_d[:, 1:], rtol=1e-6)
    assert (labels[i1] == labels[:20, None]).all()
    ivf = SimilarityIndex.build(ids, X, kind="ivf", nlist=16, nprobe=16)
    i2, d2 = ivf.search(X[:20], k=5, exclude=np.arange(20))
    np.testing.assert_allclose(d2, d1, rtol=1e-6)
    ivf.save(tmp_path / "ix")
    back = SimilarityIndex.load(tmp_path / "ix", ids, X)
    assert back is not None and back.kind == "ivf"
    assert (back.search(X[:20], 5, exclude=np.arange(20))[0] == i2).all()
    # Other fingerprints: the saved index is stale.
    assert SimilarityIndex.load(tmp_path / "ix", ids, X + 1) is None
    assert fingerprints_digest(ids, X) != fingerprints_digest(ids[::-1], X)
    with pytest.raises(BandprintError, match="values"):
        exact.search(np.zeros((1, 5)))


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory):
    """A tiny fingerprinter trained for seconds (the test needs a model, not a good one)."""
    from bandprint.fingerprint import Fingerprinter
    from bandprint.model import AutoencoderConfig
    from bandprint.zoo import sample_zoo

    bss = sample_zoo(30, seed=2)
    fp = Fingerprinter(
        config=AutoencoderConfig("tiny", 32, (4, 8, 8, 8), 2, False),
        epochs=2, batch_size=8, progress=False, device="cpu",
    )  # fmt: skip
    fp.fit(bss)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    fp.save(path)
    return fp, path, bss


def test_workspace_similar_by_id_and_by_file(trained_model, tmp_path):
    import orjson

    from bandprint.cli import main
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import fingerprint_workspace

    fp, path, bss = trained_model
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(b, b.material_id, "x") for b in bss])
    fingerprint_workspace(ws, fp, progress=False)
    index, model = workspace_index(ws)
    assert model == fp.model_id_ and (tmp_path / "ws" / "index" / f"{model}-p0.2").is_dir()
    again, _ = workspace_index(ws)
    assert again.digest == index.digest
    df = similar_materials(ws, bss[0].material_id, k=4)
    assert list(df["rank"]) == [1, 2, 3, 4] and bss[0].material_id not in set(df["material_id"])
    assert df["distance"].is_monotonic_increasing
    # A file is read, rendered and encoded with the workspace's model: an identical band
    # structure comes back first, far closer than anything else (not at exactly 0: encoding
    # one image instead of a batch changes the last float32 bits, and Σ|Δ|^0.2 counts
    # |1e-6|^0.2 = 0.06 per differing value).
    file = tmp_path / "q.json"
    file.write_bytes(orjson.dumps(bss[3].to_pymatgen_dict()))
    runner = CliRunner()
    res = runner.invoke(
        main, ["similar", str(ws.path), str(file), "-k", "3", "--model-file", str(path),
               "--format", "json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = orjson.loads(res.output)
    assert rows[0]["material_id"] == bss[3].material_id
    assert rows[0]["distance"] < 0.1 * rows[1]["distance"]
    res = runner.invoke(main, ["similar", str(ws.path), bss[1].material_id, "-k", "2"])
    assert res.exit_code == 0 and res.output.startswith(f"nearest to {bss[1].material_id}")
    res = runner.invoke(main, ["similar", str(ws.path), "no-such-thing"])
    assert res.exit_code == 2 and "neither a material id" in res.output
    # The shipped model is not the one these fingerprints were made with.
    res = runner.invoke(main, ["similar", str(ws.path), str(file)])
    assert res.exit_code == 2 and ("model" in res.output)


def test_a_single_query_never_waits_for_the_inverted_lists(trained_model, tmp_path, monkeypatch):
    from bandprint.analyse import search
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import fingerprint_workspace

    fp, _path, bss = trained_model
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(b, b.material_id, "x") for b in bss])
    fingerprint_workspace(ws, fp, progress=False)
    monkeypatch.setattr(search, "EXACT_INDEX_LIMIT", 10)  # 30 fingerprints: "large"
    trained = []
    monkeypatch.setattr(search.IVFLists, "train", lambda *a, **k: trained.append(1))
    df = similar_materials(ws, bss[0].material_id, k=5)
    assert not trained and not (tmp_path / "ws" / "index").exists()
    ids, X = ws.read_fingerprints()
    d = search.pairwise_distances(X[:1], X, p=0.2)[0]
    d[0] = np.inf
    expected = [ids[i] for i in np.argsort(d)[:5]]
    assert list(df["material_id"]) == expected
    np.testing.assert_allclose(df["distance"], np.sort(d)[:5], rtol=1e-5)


def test_analyse_names_resolve_on_first_use_and_search_alone_stays_light():
    import subprocess
    import sys

    import bandprint.analyse as analyse

    assert analyse.__all__ == sorted(analyse._EXPORTS)
    for name in analyse.__all__:
        assert getattr(analyse, name).__module__ == f"bandprint.analyse.{analyse._EXPORTS[name]}"
    # `bandprint similar` needs only the search module: not hdbscan, UMAP or matminer.
    code = (
        "import sys, bandprint.analyse.search; "
        "print(sorted(m for m in ('hdbscan', 'umap', 'matminer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
