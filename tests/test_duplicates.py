"""Candidate duplicates: calibrated threshold, planted near-copies, the command."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bandprint.analyse.duplicates import (
    DUPLICATE_COLUMNS,
    calibrate_threshold,
    find_duplicates,
)
from bandprint.errors import BandprintError
from bandprint.workflows.duplicates import duplicates_workspace


def planted(n=300, n_dup=12, dim=98, eps=0.01, seed=0):
    """Distinct fingerprints plus near-copies of ``n_dup`` of them (each value moved by up to
    ``eps``, against ~1 between distinct materials)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    src = rng.choice(n, n_dup, replace=False)
    copies = X[src] + rng.uniform(-eps, eps, size=(n_dup, dim))
    ids = [f"m{i}" for i in range(n)] + [f"m{s}-dup" for s in src]
    formulas = [f"F{i}" for i in range(n)] + [f"F{s}" for s in src]
    truth = {tuple(sorted((f"m{s}", f"m{s}-dup"))) for s in src}
    return ids, np.vstack([X, copies]).astype(np.float32), formulas, truth


def test_threshold_rule():
    rng = np.random.default_rng(1)
    bulk = np.exp(rng.normal(np.log(50.0), 0.05, size=1000))
    t = calibrate_threshold(np.r_[bulk, [5.0, 6.0, 7.0]])
    # 5 robust SDs below the median: ≈ 50·exp(-0.25); the planted tiny ones do not move it.
    assert t == pytest.approx(50 * np.exp(-5 * 0.05), rel=0.02)
    assert 7.0 < t < np.min(bulk)
    assert calibrate_threshold(bulk, k=3) == pytest.approx(50 * np.exp(-3 * 0.05), rel=0.02)
    with pytest.raises(BandprintError, match="at least 3"):
        calibrate_threshold(np.array([1.0, 0.0]))


@pytest.mark.parametrize("p", [0.2, 2.0])
def test_planted_near_copies_are_found(p):
    ids, X, formulas, truth = planted()
    result = find_duplicates(ids, X, formulas, p=p)
    t = result.table
    found = {tuple(sorted(ab)) for ab in zip(t.material_id_1, t.material_id_2, strict=True)}
    assert found == truth  # precision and recall 1 on this easy case
    assert list(result.table.columns) == DUPLICATE_COLUMNS
    assert result.table["same_formula"].all() and result.table["mutual_nearest"].all()
    assert (result.table["relative_distance"] < 1).all()
    assert result.table["distance"].is_monotonic_increasing
    assert result.threshold < result.median_nn_distance


def test_same_formula_flag_and_filter():
    ids, X, formulas, _ = planted(seed=2)
    formulas[-1] = "Other"
    all_pairs = find_duplicates(ids, X, formulas)
    assert (~all_pairs.table["same_formula"]).sum() == 1
    only = find_duplicates(ids, X, formulas, same_formula_only=True)
    assert len(only.table) == len(all_pairs.table) - 1 and only.table["same_formula"].all()
    given = find_duplicates(ids, X, formulas, threshold=0.0)
    assert given.rule == "given" and given.table.empty


def _ivf(ids, X, p):
    """Inverted lists probed one cell of 20 at a time: most nearest neighbours are missed."""
    from bandprint.analyse.search import SimilarityIndex

    return SimilarityIndex.build(ids, X, p=p, kind="ivf", nlist=20, nprobe=1)


def test_threshold_from_exact_distances_under_an_approximate_index():
    """An approximate index reports a farther neighbour for the points whose nearest it
    misses; the threshold must come from exact distances all the same."""
    from scipy.spatial.distance import cdist

    ids, X, formulas, _ = planted(n=600, n_dup=10, seed=3)
    ivf = _ivf(ids, X, 2.0)
    _, approx = ivf.search(X, 1, exclude=np.arange(len(X)))
    D = cdist(X.astype(np.float64), X.astype(np.float64))
    np.fill_diagonal(D, np.inf)
    exact_nn = D.min(axis=1)
    assert (approx[:, 0] > exact_nn * (1 + 1e-4)).mean() > 0.5  # the lists miss most

    everyone = find_duplicates(ids, X, formulas, index=ivf)  # 610 ≤ the calibration sample
    assert everyone.threshold == pytest.approx(calibrate_threshold(exact_nn), rel=1e-5)
    assert everyone.median_nn_distance == pytest.approx(np.median(exact_nn), rel=1e-5)
    assert everyone.params["calibrated_on"] == len(X)

    sampled = find_duplicates(ids, X, formulas, index=ivf, calibration_sample=150, seed=7)
    rows = np.sort(np.random.default_rng(7).choice(len(X), 150, replace=False))
    assert sampled.threshold == pytest.approx(calibrate_threshold(exact_nn[rows]), rel=1e-5)
    assert "exact NN distances of 150 of 610 materials" in sampled.rule


def test_an_index_for_another_p_is_refused():
    ids, X, formulas, _ = planted()
    with pytest.raises(BandprintError, match=r"built for Minkowski p=0\.2, duplicates are asked"):
        find_duplicates(ids, X, formulas, p=2.0, index=_ivf(ids, X, 0.2))
    with pytest.raises(BandprintError, match="holds 312 fingerprints, not 311"):
        find_duplicates(ids[:-1], X[:-1], formulas[:-1], p=2.0, index=_ivf(ids, X, 2.0))


@pytest.fixture
def workspace(tmp_path):
    from bandprint.store import Workspace
    from bandprint.zoo import near_duplicate, sample_zoo

    bss = sample_zoo(30, seed=4)
    rng = np.random.default_rng(0)
    dup = near_duplicate(bss[0], rng)
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(b, b.material_id, "x") for b in [*bss, dup]])
    X = rng.normal(size=(31, 98))
    X[30] = X[0] + rng.uniform(-0.01, 0.01, 98)
    ws.write_fingerprints("synthetic", [b.material_id for b in [*bss, dup]], X)
    return ws, bss[0].material_id, dup.material_id


def test_pair_distance_of_two_stored_materials(workspace):
    """The ℓp distance of the two fingerprints (Euclidean at p = 2, Σ|Δ|^p without the root
    below p = 1); None for an id without a fingerprint."""
    from bandprint.workflows.duplicates import pair_distance

    ws, a, b = workspace
    ids, X = ws.read_fingerprints()
    delta = X[ids.index(a)].astype(np.float64) - X[ids.index(b)]
    euclidean = float(np.sqrt((delta**2).sum()))
    assert pair_distance(ws, a, b, p=2.0) == pytest.approx(euclidean, rel=1e-4)
    assert pair_distance(ws, b, a, p=1.0) == pytest.approx(float(np.abs(delta).sum()), rel=1e-4)
    lp02 = float((np.abs(delta) ** 0.2).sum())
    assert pair_distance(ws, a, b, p=0.2) == pytest.approx(lp02, rel=1e-4)
    assert pair_distance(ws, a, "nope") is None


def test_workspace_and_command(workspace, tmp_path):
    import orjson

    from bandprint.cli import main

    ws, a, b = workspace
    result = duplicates_workspace(ws)
    assert len(result.table) == 1
    row = result.table.iloc[0]
    assert {row.material_id_1, row.material_id_2} == {a, b} and row.same_formula
    assert ws.table_meta("duplicates")["threshold"] == pytest.approx(result.threshold)
    runner = CliRunner()
    res = runner.invoke(main, ["duplicates", str(ws.path), "--format", "json"])
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.output)
    assert len(out["pairs"]) == 1 and out["params"]["rule"].startswith("exp(median")
    res = runner.invoke(main, ["duplicates", str(ws.path)])
    assert "1 candidate pairs (1 with the same formula)" in res.output
    png = tmp_path / "pair.png"
    res = runner.invoke(main, ["duplicates", str(ws.path), "--show", a, b, "--out", str(png)])
    assert res.exit_code == 0, res.output
    assert png.stat().st_size > 10_000 and "fingerprint distance" in res.output
    res = runner.invoke(main, ["duplicates", str(ws.path), "--show", a, "nope", "--out", str(png)])
    assert res.exit_code == 2 and "no material nope" in res.output
