"""The one-command demo, end to end on a small zoo: every stage runs and the report is whole."""

from __future__ import annotations

import re

import pandas as pd
from click.testing import CliRunner

from bandprint.cli import main
from bandprint.demo import DEMO_DUPLICATES, bundled_samples_dir
from bandprint.store import Workspace

#: Band structures among the bundled real samples (the Cs2SnI6 split runs are one material).
BUNDLED_MATERIALS = 10


def test_demo_runs_the_pipeline_to_a_finished_report(tmp_path) -> None:
    n_zoo = 60
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(out), "--n", str(n_zoo)])
    assert result.exit_code == 0, result.output

    ws = Workspace(out / "ws")
    catalog = ws.catalog()
    assert len(catalog) == n_zoo + DEMO_DUPLICATES + BUNDLED_MATERIALS
    # The real samples went through their own readers, not only the zoo's.
    assert {"vasprun", "castep-bands", "pymatgen-json"} <= set(catalog["source_format"])
    assert "Cs2SnI6-split" in set(catalog["material_id"])
    assert {"clusters", "sweep", "flatbands", "duplicates"} <= set(ws.tables())

    # The zoo's ground truth says which samples have a flat band near E_F; the detector must
    # find flat materials among exactly those.
    flat = ws.read_table("flatbands")
    truth = pd.read_csv(out / "zoo" / "ground_truth.csv")
    assert flat["is_flat"].any()
    assert set(flat.loc[flat["is_flat"], "material_id"]) & set(
        truth.loc[truth["has_flat_band_near_ef"].astype(bool), "material_id"]
    )

    report = out / "report"
    for name in ("index.html", "map.html", "map.png", "cluster_tree.png", "sweep.png"):
        assert (report / name).stat().st_size > 0, name
    assert list((report / "exemplars").glob("cluster_*.png"))

    summary = re.search(
        r"(\d+) materials: (\d+) clusters, (\d+) unclassified, (\d+) with flat bands.*?"
        r"(\d+) candidate duplicate pairs, holding (\d+) of the (\d+) planted",
        result.output,
        re.S,
    )
    assert summary, result.output
    n, _, _, n_flat, n_pairs, n_found, n_planted = map(int, summary.groups())
    assert n == len(catalog)
    assert n_flat == int(flat["is_flat"].sum())
    assert n_planted == DEMO_DUPLICATES
    planted = pd.read_csv(out / "zoo" / "duplicates.csv")
    assert len(planted) == DEMO_DUPLICATES
    assert n_found <= min(n_pairs, n_planted)
    assert str((report / "index.html").resolve()) in result.output


def test_bundled_samples_ship_with_their_origin_note() -> None:
    samples = bundled_samples_dir()
    assert (samples / "ORIGIN.md").is_file()
    assert (samples / "vasp" / "Cs2SnI6-split" / "split-01" / "vasprun.xml.gz").is_file()
