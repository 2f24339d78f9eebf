"""Ingest: parallel, incremental, failure-tolerant, and safe to kill."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from bandprint.cli import main
from bandprint.ingest import IngestFailed, ingest
from bandprint.read import read_band_structures
from bandprint.store import Workspace

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_2dmatpedia import write_2dmatpedia

DATA = Path(__file__).parent / "data" / "real"


def _errors_csv(ws_path: Path) -> list[dict[str, str]]:
    with open(ws_path / "ingest-errors.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture()
def mixed(tmp_path) -> Path:
    """Real pymatgen files plus truncated, empty, NaN-filled and mismatched ones."""
    src = tmp_path / "in"
    shutil.copytree(DATA / "pymatgen-json", src)
    good = (DATA / "matminer-json" / "si_bandstructure_line.json").read_bytes()
    (src / "truncated.json").write_bytes(good[: len(good) // 2])
    (src / "empty.json").write_bytes(b"")
    d = orjson.loads(good)
    d["bands"]["1"][0][3] = float("nan")
    (src / "nan.json").write_bytes(orjson.dumps(d).replace(b"null", b"NaN", 1))
    d = orjson.loads(good)
    d["kpoints"] = d["kpoints"][:-1]
    (src / "mismatch.json").write_bytes(orjson.dumps(d))
    return src


def test_2dmatpedia_folder_ingests_losslessly_with_metadata(tmp_path):
    ids = write_2dmatpedia(tmp_path / "db", 12, seed=1, nbands=8, points_per_segment=10)
    report = ingest([tmp_path / "db"], tmp_path / "ws", workers=2, progress=False)
    assert (report.n_found, report.n_ingested, report.n_failed) == (12, 12, 0)
    ws = Workspace(tmp_path / "ws")
    assert sorted(ws.ids()) == sorted(ids)
    for bs in read_band_structures(tmp_path / "db"):
        assert ws.get(bs.material_id) == bs
    one = ws.get("2dm-3")
    assert one.formula == "MoS2"
    assert one.metadata["database"] == "2DMatPedia" and one.metadata["sg_number"] == 187
    assert one.structure is not None and one.structure.composition.reduced_formula == "MoS2"
    cat = ws.catalog()
    assert set(cat.database) == {"2DMatPedia"} and cat.is_2d.all()
    assert _errors_csv(tmp_path / "ws") == []


def test_rerun_skips_unchanged_and_reingests_a_touched_file(tmp_path):
    write_2dmatpedia(tmp_path / "db", 10, seed=2, nbands=6, points_per_segment=8)
    ws_path = tmp_path / "ws"
    assert ingest([tmp_path / "db"], ws_path, workers=1, progress=False).n_ingested == 10
    again = ingest([tmp_path / "db"], ws_path, workers=1, progress=False)
    assert (again.n_ingested, again.n_skipped_unchanged, again.exit_code()) == (0, 10, 0)
    # Rewrite one material with another Fermi level: only that one is read again.
    f = tmp_path / "db" / "bands" / "2dm-4.json"
    d = orjson.loads(f.read_bytes())
    d["efermi"] = 0.125
    f.write_bytes(orjson.dumps(d))
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    third = ingest([tmp_path / "db"], ws_path, workers=1, progress=False)
    assert (third.n_ingested, third.n_skipped_unchanged) == (1, 9)
    ws = Workspace(ws_path)
    assert ws.get("2dm-4").efermi == 0.125
    assert len(ws) == 10 and len(ws.catalog()) == 10


def test_a_bad_db_json_line_costs_only_that_row_and_a_mended_row_is_reread(tmp_path):
    write_2dmatpedia(tmp_path / "db", 4, seed=5, nbands=4, points_per_segment=6)
    db = tmp_path / "db" / "db.json"
    lines = db.read_bytes().splitlines()
    good_last = lines[-1]
    lines[-1] = good_last[: len(good_last) // 2]  # truncated: 2dm-4's row is lost
    db.write_bytes(b"\n".join(lines) + b"\n")
    ws_path = tmp_path / "ws"
    report = ingest([tmp_path / "db"], ws_path, workers=1, progress=False)
    assert (report.n_ingested, report.n_failed) == (4, 1)
    ((path, reason),) = report.failures
    assert path == str(db) and reason.startswith("line 4 is not JSON")
    ws = Workspace(ws_path)
    assert ws.get("2dm-3").metadata["sg_number"] == 187
    assert "sg_number" not in ws.get("2dm-4").metadata  # stored, without its lost row

    # Mend the row and edit another: exactly those two are read again, band files untouched.
    rows = [orjson.loads(line) for line in lines[:-1]] + [orjson.loads(good_last)]
    rows[1]["sg_number"] = 164
    db.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    again = ingest([tmp_path / "db"], ws_path, workers=1, progress=False)
    assert (again.n_ingested, again.n_skipped_unchanged, again.n_failed) == (2, 2, 0)
    ws = Workspace(ws_path)
    assert ws.get("2dm-4").metadata["sg_number"] == 187
    assert ws.get("2dm-2").metadata["sg_number"] == 164
    assert len(ws) == 4


def test_failures_are_reported_one_line_each_and_the_batch_goes_on(tmp_path, mixed):
    ws_path = tmp_path / "ws"
    report = ingest([mixed, tmp_path / "nowhere"], ws_path, workers=2, progress=False)
    assert report.n_ingested == 3
    failed = dict(report.failures)
    assert set(failed) == {
        str(mixed / "truncated.json"),
        str(mixed / "empty.json"),
        str(mixed / "nan.json"),
        str(mixed / "mismatch.json"),
        str(tmp_path / "nowhere"),
    }
    assert "empty" in failed[str(mixed / "empty.json")]
    assert "JSON" in failed[str(mixed / "nan.json")]
    assert "k-points" in failed[str(mixed / "mismatch.json")]
    assert "no such file" in failed[str(tmp_path / "nowhere")]
    assert all("\n" not in reason for reason in failed.values())
    rows = _errors_csv(ws_path)
    assert {r["path"]: r["reason"] for r in rows} == failed
    assert report.exit_code() == 0 and report.exit_code(strict=True) == 1
    assert "failed: " in report.summary() and "ingest-errors.csv" in report.summary()
    # Fix the input: the next run reads only what is left and the error list is rewritten.
    for name in ("truncated.json", "empty.json", "nan.json", "mismatch.json"):
        (mixed / name).unlink()
    rerun = ingest([mixed], ws_path, workers=1, progress=False)
    assert (rerun.n_ingested, rerun.n_skipped_unchanged, rerun.n_failed) == (0, 3, 0)
    assert _errors_csv(ws_path) == []


def test_strict_raises_after_storing_what_was_readable(tmp_path, mixed):
    with pytest.raises(IngestFailed, match=r"ingest-errors\.csv") as info:
        ingest([mixed], tmp_path / "ws", workers=1, progress=False, strict=True)
    assert info.value.report.n_ingested == 3
    assert len(Workspace(tmp_path / "ws")) == 3


def test_same_id_from_two_sources_keeps_the_later_and_warns(tmp_path):
    cao = (DATA / "pymatgen-json" / "CaO_2605_bandstructure.json").read_bytes()
    cu = (DATA / "pymatgen-json" / "Cu_30_bandstructure.json").read_bytes()
    for folder, content in (("a", cao), ("b", cu)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "X.json").write_bytes(content)
    ws_path = tmp_path / "ws"
    report = ingest([tmp_path / "a", tmp_path / "b"], ws_path, workers=1, progress=False)
    assert report.n_ingested == 1
    assert any("material X" in w and "supersedes" in w for w in report.warnings)
    ws = Workspace(ws_path)
    assert ws.get("X").nbands == 20  # Cu's, the one found later
    rerun = ingest([tmp_path / "a", tmp_path / "b"], ws_path, workers=1, progress=False)
    assert (rerun.n_ingested, rerun.n_skipped_unchanged) == (0, 2)
    assert Workspace(ws_path).get("X").nbands == 20
    # A later run bringing the same id from yet another file replaces it, and says so.
    (tmp_path / "c").mkdir()
    shutil.copy(DATA / "pymatgen-json" / "InN_22205_bandstructure.json", tmp_path / "c" / "X.json")
    third = ingest([tmp_path / "c"], ws_path, workers=1, progress=False)
    assert third.n_ingested == 1
    assert any("supersedes the stored one" in w for w in third.warnings)
    assert Workspace(ws_path).get("X").nbands == 36


def test_cli_exit_codes(tmp_path, mixed):
    runner = CliRunner()
    ws = str(tmp_path / "ws")
    ok = runner.invoke(main, ["ingest", str(mixed), "--into", ws, "-q", "--workers", "1"])
    assert ok.exit_code == 0, ok.output
    assert "3 ingested" in ok.output and "failed: " in ok.output
    nothing_new = runner.invoke(main, ["ingest", str(mixed), "--into", ws, "-q"])
    assert nothing_new.exit_code == 0 and "3 unchanged" in nothing_new.output
    strict = runner.invoke(main, ["ingest", str(mixed), "--into", ws, "-q", "--strict"])
    assert strict.exit_code == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.json").write_bytes(b"{")
    all_failed = runner.invoke(main, ["ingest", str(bad / "a.json"), "--into", ws, "-q"])
    assert all_failed.exit_code == 1 and "0 ingested" in all_failed.output
    empty = tmp_path / "empty"
    empty.mkdir()
    none_found = runner.invoke(main, ["ingest", str(empty), "--into", ws, "-q"])
    assert none_found.exit_code == 1 and "no band structures found" in none_found.output
    inside = runner.invoke(main, ["ingest", str(mixed), "--into", str(mixed / "ws"), "-q"])
    assert "0 ingested" not in inside.output
    again = runner.invoke(main, ["ingest", str(mixed), "--into", str(mixed / "ws"), "-q"])
    assert again.exit_code == 0 and "3 unchanged, 4 failed (of 7" in again.output  # not ws/
    not_a_ws = runner.invoke(main, ["ingest", str(mixed), "--into", str(mixed), "-q"])
    assert not_a_ws.exit_code == 2 and "not a bandprint workspace" in not_a_ws.output
    listed = runner.invoke(main, ["list", ws, "--format", "json"])
    assert listed.exit_code == 0
    records = orjson.loads(listed.output)
    assert {r["material_id"] for r in records} == {
        "CaO_2605_bandstructure",
        "Cu_30_bandstructure",
        "InN_22205_bandstructure",
    }
    table = runner.invoke(main, ["list", ws])
    assert table.exit_code == 0 and "Cu_30_bandstructure" in table.output
    assert "3 materials" in table.output
    missing = runner.invoke(main, ["list", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no workspace" in missing.output


def test_killed_ingest_leaves_a_readable_store_and_a_rerun_completes_it(tmp_path):
    n = 3000
    ids = write_2dmatpedia(tmp_path / "db", n, seed=3, nbands=4, points_per_segment=6)
    ws_path = tmp_path / "ws"
    cmd = [sys.executable, "-m", "bandprint", "ingest", str(tmp_path / "db")]
    cmd += ["--into", str(ws_path), "--workers", "2", "--shard-size", "100", "-q"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            bands = ws_path / "bands"
            if bands.is_dir() and any(p.suffix == ".parquet" for p in bands.iterdir()):
                break
            time.sleep(0.002)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its worker processes
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed"

    ws = Workspace(ws_path)
    stored = ws.ids()
    assert 0 < len(stored) < n
    for bs in ws.iter_band_structures(batch_size=256, with_structure=False):
        bs.validate()
        assert bs.energies.shape == (1, 18, 4) or bs.energies.shape == (2, 18, 4)
    listed = CliRunner().invoke(main, ["list", str(ws_path), "--format", "json"])
    assert listed.exit_code == 0 and len(orjson.loads(listed.output)) == len(stored)

    rerun = ingest([tmp_path / "db"], ws_path, workers=2, progress=False)
    assert rerun.n_failed == 0
    assert rerun.n_skipped_unchanged == len(stored)
    assert rerun.n_ingested == n - len(stored)
    ws = Workspace(ws_path)
    assert len(ws) == n and sorted(ws.ids()) == sorted(ids)
    assert len(ws.catalog()) == n
    assert not [p for p in ws.bands_dir.iterdir() if ".tmp-" in p.name]
