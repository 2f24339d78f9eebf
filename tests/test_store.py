"""The workspace store: lossless round trips, superseding, crash leftovers, tables, fingerprints."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from pymatgen.core import Lattice, Structure

from bandprint.errors import BandprintError
from bandprint.read import read_band_structure, read_band_structures
from bandprint.store import Workspace

DATA = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def real() -> list:
    return read_band_structures(DATA / "pymatgen-json", DATA / "matminer-json")


def _with_structure(bs):
    """A copy carrying a structure and awkward metadata (nested, exact floats, unicode)."""
    structure = Structure(
        Lattice.hexagonal(3.7, 6.3),
        ["V", "Br", "Br"],
        [[0, 0, 0], [1 / 3, 2 / 3, 0.23], [2 / 3, 1 / 3, 0.77]],
        site_properties={"magmom": [3.0, -0.1, -0.1]},
    )
    meta = {"database": "test", "note": "Γ–M", "x": 0.1 + 0.2, "nested": {"a": [1, 2.5e-17]}}
    return replace(bs, structure=structure, metadata=meta, formula="VBr2")


def test_round_trip_of_real_band_structures_is_lossless(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    records = [(bs, bs.source, "fp") for bs in real]
    records.append((_with_structure(replace(real[3], material_id="VBr2-s")), "s", "fp"))
    assert ws.add_band_structures(records) == len(records)
    assert sorted(ws.ids()) == sorted(bs.material_id for bs, _, _ in records)
    for bs, _, _ in records:
        got = ws.get(bs.material_id)
        assert got == bs  # every array bit-exact, segments, labels, structure, metadata
        assert got.energies.dtype == np.float64
    stored = ws.get("VBr2-s")
    assert stored.structure.site_properties["magmom"] == [3.0, -0.1, -0.1]
    assert stored.metadata["x"] == 0.1 + 0.2
    # A fresh Workspace object (no caches) reads the same.
    assert Workspace(tmp_path / "ws").get("Cu_30_bandstructure") == real[1]


def test_catalog_holds_derived_physics(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, bs.source, "fp") for bs in real])
    cat = ws.catalog().set_index("material_id")
    for bs in real:
        row = cat.loc[bs.material_id]
        gap = bs.band_gap()
        assert row.band_gap == gap.energy
        assert bool(row.is_metal) == gap.is_metal
        assert (row.nspin, row.nkpoints, row.nbands) == bs.energies.shape
        assert row.path == bs.path_string
        assert row.efermi == bs.efermi
    assert bool(cat.loc["Cu_30_bandstructure"].is_metal)
    assert cat.loc["VBr2_971787_bandstructure"].nspin == 2
    assert cat.loc["CaO_2605_bandstructure"].band_gap == pytest.approx(3.6348, abs=1e-4)


def test_shards_are_plain_parquet_that_duckdb_reads(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, "a", "1") for bs in real[:2]])
    ws.add_band_structures([(bs, "b", "1") for bs in real[2:]])
    glob = str(ws.bands_dir / "*.parquet")
    ((n, nk),) = duckdb.sql(
        f"SELECT count(*), sum(nkpoints) FROM read_parquet('{glob}')"
    ).fetchall()
    assert n == len(real)
    assert nk == sum(bs.nkpoints for bs in real)


def test_newer_row_supersedes_and_iteration_yields_each_material_once(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, bs.source, "v1") for bs in real])
    shifted = replace(real[0], efermi=real[0].efermi + 1.0, metadata={"v": 2})
    ws.add_band_structures([(shifted, real[0].source, "v2")])
    assert len(ws) == len(real)
    assert ws.get(real[0].material_id) == shifted
    cat = ws.catalog()
    assert len(cat) == len(real)
    assert cat.set_index("material_id").loc[real[0].material_id].efermi == shifted.efermi
    every = list(ws.iter_band_structures(batch_size=2))
    assert [bs.material_id for bs in every] == ws.ids()
    assert sorted(bs.material_id for bs in every) == sorted(bs.material_id for bs in real)
    assert next(b for b in every if b.material_id == real[0].material_id) == shifted
    assert ws.ingested_sources()[real[0].source] == "v2"


def test_last_record_of_an_id_wins_within_one_write(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    second = replace(real[1], material_id=real[0].material_id)
    ws.add_band_structures([(real[0], "a", "1"), (second, "b", "1")])
    assert len(ws) == 1
    assert ws.get(real[0].material_id) == second


def test_iter_by_ids_keeps_requested_order_and_rejects_unknown(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    for bs in real:  # one shard each
        ws.add_band_structures([(bs, bs.source, "1")])
    wanted = [real[4].material_id, real[0].material_id, real[2].material_id]
    got = list(ws.iter_band_structures(wanted, batch_size=2))
    assert [b.material_id for b in got] == wanted
    assert got[0] == real[4]
    with pytest.raises(BandprintError, match="no material nope"):
        list(ws.iter_band_structures(["nope"]))
    with pytest.raises(BandprintError, match="bandprint list"):
        ws.get("nope")
    assert "nope" not in ws and real[0].material_id in ws


def test_workspace_marker_is_required(tmp_path):
    with pytest.raises(BandprintError, match="no workspace"):
        Workspace(tmp_path / "missing")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.txt").write_text("hello")
    with pytest.raises(BandprintError, match="not a bandprint workspace"):
        Workspace(tmp_path / "data")
    with pytest.raises(BandprintError, match="not empty"):
        Workspace(tmp_path / "data", create=True)
    Workspace(tmp_path / "ws", create=True)
    assert Workspace(tmp_path / "ws").info["version"] == 1


def test_stray_temporary_is_ignored_then_cleaned(tmp_path, real):
    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(real[0], "a", "1")])
    # A temporary left by a killed writer: its process (a finished child) no longer exists.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    stray = ws.bands_dir / f".part-0.parquet.tmp-{int(dead.stdout)}-deadbeef"
    stray.write_bytes(b"PAR1 half a file")
    assert len(Workspace(ws.path)) == 1
    assert len(ws.catalog()) == 1
    ws.add_band_structures([(real[1], "b", "1")])
    assert not stray.exists()
    assert len(ws) == 2


def test_tables_round_trip_and_replace_atomically(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    with pytest.raises(BandprintError, match="bandprint cluster"):
        ws.read_table("clusters")
    df = pd.DataFrame(
        {"material_id": ["a", "b"], "cluster": [0, -1], "prob": [0.9, 0.0], "flag": [True, False]}
    )
    ws.write_table("clusters", df, meta={"min_cluster_size": 5, "p": 0.2})
    pd.testing.assert_frame_equal(ws.read_table("clusters"), df)
    assert ws.table_meta("clusters")["p"] == 0.2
    df2 = df.assign(cluster=[3, 3])
    ws.write_table("clusters", df2)
    pd.testing.assert_frame_equal(ws.read_table("clusters"), df2)
    assert ws.tables() == ["clusters"]
    assert not [p for p in ws.tables_dir.iterdir() if ".tmp-" in p.name]


def test_fingerprints_round_trip_supersede_and_pick_latest_model(tmp_path):
    ws = Workspace(tmp_path / "ws", create=True)
    with pytest.raises(BandprintError, match="bandprint fingerprint"):
        ws.read_fingerprints()
    rng = np.random.default_rng(0)
    v1 = rng.normal(size=(3, 98)).astype(np.float32)
    ws.write_fingerprints("paper", ["a", "b", "c"], v1, {"preset": "paper"})
    ids, vec = ws.read_fingerprints()
    assert ids == ["a", "b", "c"]
    np.testing.assert_array_equal(vec, v1)
    newer_b = np.full((1, 98), 7.0, np.float32)
    ws.write_fingerprints("paper", ["b", "d"], np.vstack([newer_b, v1[:1]]))
    ids, vec = ws.read_fingerprints("paper")
    assert ids == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(vec[1], newer_b[0])
    np.testing.assert_array_equal(vec[3], v1[0])
    assert ws.fingerprint_model_info("paper")["preset"] == "paper"
    ws.write_fingerprints("small", ["a"], np.ones((1, 16)))
    assert ws.fingerprint_models() == ["paper", "small"]
    assert ws.read_fingerprints()[1].shape == (1, 16)  # most recently written model
    with pytest.raises(BandprintError, match="98-value"):
        ws.write_fingerprints("paper", ["x"], np.ones((1, 50)))
    with pytest.raises(BandprintError, match="no fingerprints of model other"):
        ws.read_fingerprints("other")
    # The parts, read one at a time, hold each id once with its latest vector: the same
    # fingerprints as read_fingerprints, which is what a sharded search relies on.
    from bandprint.store import read_fingerprint_part

    parts = ws.fingerprint_parts("paper")
    assert len(parts) == 2 and parts[0][1].tolist() == [0, 2] and parts[1][1] is None
    got = {}
    for path, rows in parts:
        part_ids, part_vec = read_fingerprint_part(path, rows)
        for mid, v in zip(part_ids, part_vec, strict=True):
            assert mid not in got
            got[mid] = v
    ids, vec = ws.read_fingerprints("paper")
    assert sorted(got) == sorted(ids)
    for mid, v in zip(ids, vec, strict=True):
        np.testing.assert_array_equal(got[mid], v)


def test_get_reads_from_the_right_row_group(tmp_path):
    """Many materials in one shard span several row groups; each id maps to its own row."""
    bs = read_band_structure(DATA / "pymatgen-json" / "CaO_2605_bandstructure.json")
    ws = Workspace(tmp_path / "ws", create=True)
    copies = [replace(bs, material_id=f"m{i:03d}", efermi=float(i)) for i in range(100)]
    ws.add_band_structures([(c, c.material_id, "1") for c in copies])
    for i in (0, 31, 32, 63, 64, 99):
        assert ws.get(f"m{i:03d}").efermi == float(i)
    assert os.listdir(ws.bands_dir)  # one shard
