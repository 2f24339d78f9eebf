"""Structure fingerprints (matminer CrystalNN site statistics) and map localisation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bandprint.analyse import structure as st
from bandprint.errors import BandprintError
from bandprint.workflows import structure as wst

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def real_structures():
    from bandprint.read import read_band_structures

    out = {}
    for path in ["castep/Si2.bands", "castep/NiO.bands", "castep/Fe.bands", "vasp/OsO2",
                 "vasp/Cs2SnI6-split"]:  # fmt: skip
        bs = read_band_structures(REAL / path)[0]
        out[bs.formula] = bs.structure
    return out


def test_real_structures_give_244_values_with_known_environments(real_structures):
    names = list(real_structures)
    X, errors = st.structure_fingerprints([real_structures[n] for n in names], n_jobs=1)
    assert X.shape == (5, st.STRUCTURE_FINGERPRINT_LENGTH) == (5, 244)
    assert errors == [""] * 5 and np.isfinite(X).all()
    labels = st.feature_labels()
    col = {lab: i for i, lab in enumerate(labels)}
    row = {n: X[i] for i, n in enumerate(names)}
    # Diamond Si: every atom tetrahedral, 4-coordinated. Rock-salt NiO: octahedral, 6.
    assert row["Si"][col["mean tetrahedral CN_4"]] == pytest.approx(1.0, abs=1e-6)
    assert row["Si"][col["mean wt CN_4"]] == pytest.approx(1.0, abs=1e-6)
    assert row["NiO"][col["mean octahedral CN_6"]] == pytest.approx(1.0, abs=1e-4)
    assert row["NiO"][col["std_dev octahedral CN_6"]] == pytest.approx(0.0, abs=1e-4)
    # bcc Fe: 8 nearest neighbours in a body-centred cube.
    assert np.argmax([row["Fe"][col[f"mean wt CN_{k}"]] for k in range(1, 13)]) + 1 == 8
    # Workers give the same numbers.
    Xp, _ = st.structure_fingerprints([real_structures[n] for n in names], n_jobs=2)
    np.testing.assert_allclose(Xp, X)


def test_structure_hash_sees_changes(real_structures):
    s = real_structures["Si"]
    strained = s.copy()
    strained.scale_lattice(s.volume * 1.01)
    assert st.structure_hash(s) == st.structure_hash(s.copy())
    assert st.structure_hash(s) != st.structure_hash(strained)


def test_localisation_is_a_permutation_test():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, size=(400, 2))
    labels = np.full(400, -1)
    tight = np.flatnonzero(np.linalg.norm(xy - [30, 30], axis=1) < 8)[:12]
    labels[tight] = 0  # a compact patch of the map
    labels[rng.choice(np.setdiff1d(np.arange(400), tight), 12, replace=False)] = 1  # scattered
    electronic = np.where(np.arange(400) % 2 == 0, 3, -1)
    loc = st.localisation(xy, labels, electronic, n_random=300, random_state=1)
    by = loc.set_index("structure_cluster")
    assert bool(by.loc[0, "localised"]) and by.loc[0, "p_value"] < 0.01
    assert not bool(by.loc[1, "localised"]) and by.loc[1, "p_value"] > 0.05
    assert by.loc[0, "spread"] < 0.3 * by.loc[0, "random_spread_median"]
    assert 0 < by.loc[0, "relative_spread"] < 0.1
    assert by.loc[0, "electronic_cluster"] == 3


def test_many_random_clusters_are_not_called_localised_by_chance():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 100, size=(1000, 2))
    labels = np.full(1000, -1)
    tight = np.flatnonzero(np.linalg.norm(xy - [50, 50], axis=1) < 6)[:10]
    labels[tight] = 0
    rest = rng.permutation(np.setdiff1d(np.arange(1000), tight))
    for c in range(1, 61):  # 60 clusters of 10 drawn at random: nothing to find
        labels[rest[(c - 1) * 10 : c * 10]] = c
    loc = st.localisation(xy, labels, n_random=2000, random_state=2).set_index("structure_cluster")
    raw = (loc["p_value"] < 0.05).drop(index=0)
    assert raw.sum() >= 1  # uncorrected, chance alone calls some random clusters localised
    assert bool(loc.loc[0, "localised"]) and loc["localised"].sum() == 1
    assert (loc["q_value"] >= loc["p_value"]).all() and (loc["q_value"] <= 1).all()


def test_benjamini_hochberg_by_hand():
    q = st.benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    # sorted 0.01, 0.03, 0.04, 0.5 → ×4/rank: 0.04, 0.06, 0.0533, 0.5 → running min from the top
    np.testing.assert_allclose(q, [0.04, 0.0533333, 0.0533333, 0.5], rtol=1e-6)


@pytest.fixture
def workspace(tmp_path):
    from bandprint.store import Workspace
    from bandprint.zoo import sample_zoo

    bss = sample_zoo(40, seed=5)
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(b, b.material_id, "x") for b in bss])
    rng = np.random.default_rng(0)
    ids = [b.material_id for b in bss]
    ws.write_table(
        "clusters",
        pd.DataFrame(
            {
                "material_id": ids,
                "formula": [b.formula for b in bss],
                "cluster": rng.integers(-1, 3, 40),
                "probability": 1.0,
                "exemplar_rank": 1,
                "core_distance": 1.0,
                "x": rng.normal(size=40),
                "y": rng.normal(size=40),
                "group": -1,
            }
        ),
        {"model_id": "m"},
    )
    return ws


def test_workspace_run_and_cache(workspace, monkeypatch):
    import orjson

    from bandprint.cli import main

    run = wst.structure_workspace(workspace, min_cluster_size=3, n_jobs=1)
    assert run.meta["n"] == 40 and not run.errors
    assert set(run.table.columns) == {"material_id", "structure_cluster", "probability"}
    assert run.n_clusters >= 2  # the zoo's lattice families differ in structure
    cache = workspace.read_table(st.CACHE_TABLE)
    assert len(cache) == 40 and all(len(v) == 244 for v in cache["vector"])
    # A second run computes nothing: every structure is cached under its hash.
    monkeypatch.setattr(wst, "structure_fingerprints", lambda *a, **k: pytest.fail("recomputed"))
    again = wst.structure_workspace(workspace, min_cluster_size=3, n_jobs=1)
    assert (again.table["structure_cluster"] == run.table["structure_cluster"]).all()
    res = CliRunner().invoke(main, ["structures", str(workspace.path), "--min-cluster-size",
                                    "3", "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = orjson.loads(res.output)
    assert out["meta"]["n_clusters"] == run.n_clusters
    assert len(out["localisation"]) == run.n_clusters


def test_workspace_needs_a_map(tmp_path):
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    with pytest.raises(BandprintError, match="bandprint cluster"):
        wst.structure_workspace(ws)
