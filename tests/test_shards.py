"""Sharded search and duplicates give the answers of one index over everything."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from bandprint.analyse.duplicates import find_duplicates
from bandprint.analyse.search import SimilarityIndex
from bandprint.analyse.shards import (
    ArrayShard,
    NpyShard,
    ShardedIndex,
    find_duplicates_sharded,
    shards_of,
)
from bandprint.errors import BandprintError


def clustered(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d)) * 3
    return (centres[rng.integers(0, 20, n)] + rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("p", [0.2, 2.0])
def test_exact_shards_equal_one_exact_index(p: float) -> None:
    X = clustered(1500)
    ids = [f"m{i}" for i in range(len(X))]
    Q = clustered(40, seed=1)
    one = SimilarityIndex.build(ids, X, p=p, kind="exact")
    rows, d_one = one.search(Q, 7, exact=True)
    # Uneven shards, one of them a single row: the merge must not care how the data is cut.
    cuts = [0, 1, 400, 1100, 1500]
    shards = [ArrayShard(ids[a:b], X[a:b]) for a, b in itertools.pairwise(cuts)]
    names, d = ShardedIndex(shards, p=p, kind="exact").search(Q, 7)
    assert names.tolist() == np.asarray(ids, dtype=object)[rows].tolist()
    np.testing.assert_allclose(d, d_one, rtol=1e-6)


def test_exclude_own_id_and_fewer_than_k(tmp_path) -> None:
    X = clustered(30)
    ids = [f"m{i}" for i in range(30)]
    shards = [
        NpyShard.write(tmp_path / f"s{s}", ids[s * 10 : s * 10 + 10], X[s * 10 : s * 10 + 10])
        for s in range(3)
    ]
    names, d = ShardedIndex(shards, kind="exact").search(X[:5], 3, exclude_ids=ids[:5])
    assert all(ids[r] not in names[r].tolist() for r in range(5))
    # Excluded, each query's own distance-0 row is gone: every distance is positive.
    assert (d > 0).all()
    names, d = ShardedIndex(shards, kind="exact").search(X[:1], 40)
    assert names[0, :30].tolist().count(None) == 0
    assert names[0, 30:].tolist() == [None] * 10 and np.isinf(d[0, 30:]).all()
    assert names[0, 0] == "m0" and d[0, 0] == 0


def test_ivf_shards_report_exact_distances() -> None:
    X = clustered(6000, seed=2)
    ids = [str(i) for i in range(len(X))]
    shards = shards_of(ids, X, 2000)
    names, d = ShardedIndex(shards, p=0.2, kind="ivf", nprobe=4).search(X[:50], 5)
    found = names != None  # noqa: E711 (object array)
    rows = np.array([[int(v) for v in row] for row in names[found].reshape(-1, 1)])[:, 0]
    q = np.repeat(np.arange(50), found.sum(1))
    true = (np.abs(X[q] - X[rows]) ** 0.2).sum(1)
    np.testing.assert_allclose(d[found], true, rtol=1e-5)


def test_sharded_duplicates_equal_find_duplicates() -> None:
    X = clustered(1200, seed=3)
    rng = np.random.default_rng(4)
    src = rng.choice(len(X), 15, replace=False)
    copies = X[src] + rng.uniform(-1, 1, (15, X.shape[1])).astype(np.float32) * 0.01
    X = np.concatenate([X, copies])
    ids = [f"m{i:05d}" for i in range(len(X))]
    formulas = {mid: ("AB" if i % 2 else "C") for i, mid in enumerate(ids)}
    one = find_duplicates(ids, X, [formulas[m] for m in ids])
    sharded = find_duplicates_sharded(
        shards_of(ids, X, 500), formulas, kind="exact", calibration_sample=len(X)
    )
    assert sharded.threshold == pytest.approx(one.threshold, rel=1e-6)
    key = ["material_id_1", "material_id_2"]
    a = one.table.sort_values(key).reset_index(drop=True)
    b = sharded.table.sort_values(key).reset_index(drop=True)
    assert len(a) >= 15  # every planted copy is found
    assert a[[*key, "same_formula", "mutual_nearest"]].equals(
        b[[*key, "same_formula", "mutual_nearest"]]
    )
    np.testing.assert_allclose(b["distance"], a["distance"], rtol=1e-5)
    planted = {tuple(sorted((ids[s], ids[1200 + t]))) for t, s in enumerate(src)}
    assert planted <= set(zip(b.material_id_1, b.material_id_2, strict=True))


def test_bad_shard_is_one_line_error(tmp_path) -> None:
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    (tmp_path / "broken.ids.txt").write_text("a\n")
    with pytest.raises(BandprintError, match="broken: cannot read the shard"):
        ShardedIndex([NpyShard(str(tmp_path / "broken"))]).search(np.zeros((1, 4)), 1)
    with pytest.raises(BandprintError, match="no shards"):
        ShardedIndex([]).search(np.zeros((1, 4)), 1)


def test_npy_shard_keeps_its_inverted_lists_and_rebuilds_them_when_it_changes(tmp_path) -> None:
    X = clustered(3000, seed=5)
    ids = [str(i) for i in range(3000)]
    shard = NpyShard.write(tmp_path / "s0", ids, X)
    index = ShardedIndex([shard], kind="ivf", nprobe=8)
    first = index.search(X[:20], 4)
    folder = tmp_path / "s0.index-p0.2-ivf"
    saved = (folder / "ivf.npz").read_bytes()
    assert index.search(X[:20], 4)[0].tolist() == first[0].tolist()
    assert (folder / "ivf.npz").read_bytes() == saved  # reused, not retrained
    # The shard rewritten with other fingerprints: the stale lists are not used.
    NpyShard.write(tmp_path / "s0", ids, X[::-1].copy())
    names, _ = index.search(X[:1], 1)
    assert names[0, 0] == "2999"
    assert (folder / "ivf.npz").read_bytes() != saved  # retrained on the new fingerprints


def test_knn_graph_over_shards_is_the_exact_graph_and_clusters_like_one_machine() -> None:
    from sklearn.metrics import adjusted_rand_score

    from bandprint.analyse.cluster import cluster_fingerprints
    from bandprint.analyse.lp import exact_knn

    rng = np.random.default_rng(6)
    centres = rng.normal(size=(6, 10)) * 4
    truth = rng.integers(0, 6, 1200)
    X = (centres[truth] + rng.normal(size=(1200, 10)) * 0.5).astype(np.float32)
    ids = [str(i) for i in range(len(X))]
    index = ShardedIndex(shards_of(ids, X, 250), kind="exact")
    idx, dist = index.knn_graph(16)
    ref_idx, ref_dist = exact_knn(X, 16)
    assert (idx[:, 0] == np.arange(len(X))).all() and (dist[:, 0] == 0).all()
    assert (idx == ref_idx).all()
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-6)
    assert index.rows(np.array([1199, 0, 600])).tolist() == X[[1199, 0, 600]].tolist()
    sharded = cluster_fingerprints(X, 20, 5, strategy="knn", knn=(idx, dist))
    one = cluster_fingerprints(X, 20, 5, strategy="exact")
    assert adjusted_rand_score(truth, sharded.labels) > 0.95
    assert adjusted_rand_score(one.labels, sharded.labels) > 0.95


def test_workspace_duplicates_part_by_part_equal_the_in_memory_path(tmp_path) -> None:
    from click.testing import CliRunner

    from bandprint.cli import main
    from bandprint.store import Workspace
    from bandprint.workflows.duplicates import duplicates_workspace
    from bandprint.workflows.search import part_shards

    X = clustered(900, d=98, seed=7)
    rng = np.random.default_rng(8)
    X[850:] = X[:50] + rng.uniform(-1, 1, (50, 98)).astype(np.float32) * 0.002  # 50 copies
    ids = [f"m{i:04d}" for i in range(len(X))]
    ws = Workspace(tmp_path / "ws", create=True)
    for a in range(0, 900, 300):  # three parts
        ws.write_fingerprints("small-test", ids[a : a + 300], X[a : a + 300], {"preset": "small"})
    # A fourth part supersedes ten fingerprints of the first: the latest write must win.
    ws.write_fingerprints("small-test", ids[100:110], X[100:110] + 5)
    shards, model = part_shards(ws)
    assert model == "small-test" and len(shards) == 4
    assert sum(len(s()[0]) for s in shards) == 900
    one = duplicates_workspace(ws, write=False)
    parts = duplicates_workspace(ws, sharded=True, kind="exact")
    key = ["material_id_1", "material_id_2"]
    a = one.table.sort_values(key).reset_index(drop=True)
    b = parts.table.sort_values(key).reset_index(drop=True)
    assert len(b) >= 50 and a[key].equals(b[key])
    np.testing.assert_allclose(b["distance"], a["distance"], rtol=1e-5)
    assert ws.read_table("duplicates").shape[0] == len(b)
    runner = CliRunner()
    out = runner.invoke(main, ["duplicates", str(ws.path), "--sharded", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert len(json.loads(out.output)["pairs"]) == len(b)
    # similar, part by part: the same neighbours as the in-memory path.
    from bandprint.workflows.search import similar_materials

    ref = similar_materials(ws, "m0003", 7)
    got = similar_materials(ws, "m0003", 7, sharded=True)
    assert got["material_id"].tolist() == ref["material_id"].tolist()
    np.testing.assert_allclose(got["distance"], ref["distance"], rtol=1e-5)
    assert "m0853" in got["material_id"].tolist()[:1]  # its planted copy comes first
    out = runner.invoke(main, ["similar", str(ws.path), "m0105", "--sharded", "-k", "3"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("nearest to m0105:")  # the superseded vector is not searched
    out = runner.invoke(main, ["similar", str(ws.path), "nothing-here", "--sharded"])
    assert out.exit_code == 2 and "neither a material id" in out.output
    out = runner.invoke(main, ["duplicates", str(ws.path), "--engine", "ray"])
    assert (out.exit_code, out.output) == (
        2,
        "error: --engine ray searches part by part: add --sharded\n",
    )
