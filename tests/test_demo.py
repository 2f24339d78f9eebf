"""The one-command demo, end to end on a small zoo: every stage runs and the report is whole."""

from __future__ import annotations

import re
import shutil

import numpy as np
import orjson
import pandas as pd
from click.testing import CliRunner

from bandprint.analyse.lp import P_DEFAULT, pairwise_distances
from bandprint.cli import main
from bandprint.compute.corpus import CORPUS_ENV, corpus_dir, load_corpus, select_corpus
from bandprint.demo import DEMO_DUPLICATES, bundled_samples_dir
from bandprint.store import Workspace

#: Band structures among the bundled real samples (the Cs2SnI6 split runs are one material).
BUNDLED_MATERIALS = 10


def test_demo_runs_the_pipeline_to_a_finished_report(tmp_path, monkeypatch) -> None:
    # As installed from a wheel: no GPAW corpus. The demo says so in one line and goes on.
    import bandprint.compute.corpus as corpus

    monkeypatch.delenv(corpus.CORPUS_ENV, raising=False)
    monkeypatch.setattr(corpus, "__file__", str(tmp_path / "site" / "bandprint" / "c" / "x.py"))
    n_zoo = 60
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(out), "--n", str(n_zoo)])
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if line.startswith("[corpus]")]
    assert len(notes) == 1 and corpus.CORPUS_ENV in notes[0], result.output
    assert "Real DFT" not in result.output

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


def test_demo_holds_the_gpaw_corpus_with_its_prototypes_and_twins(tmp_path, monkeypatch) -> None:
    # A small fixed copy of the corpus (it grows while tests run): a few prototypes' twin
    # groups, of which the demo's limit takes fewer still.
    bands = corpus_dir()
    assert bands is not None, "the checkout's corpus/gpaw-2d/bands is missing"
    subset = tmp_path / "corpus"
    subset.mkdir()
    for m in select_corpus(load_corpus(bands), 12):
        shutil.copy(bands / f"{m}.json.gz", subset)
    monkeypatch.setenv(CORPUS_ENV, str(subset))
    limit = 8
    expected = {b.material_id: b.metadata for b in load_corpus(subset)}
    expected = {m: expected[m] for m in select_corpus(load_corpus(subset), limit)}
    twins = {m for m, meta in expected.items() if meta.get("twin_of") in expected}
    prototypes = {meta["prototype"] for meta in expected.values()}
    assert twins and len(prototypes) > 1

    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", str(out), "--n", "60", "--corpus", str(limit)])
    assert result.exit_code == 0, result.output
    assert "[corpus]" not in result.output

    catalog = Workspace(out / "ws").catalog().set_index("material_id")
    assert set(expected) <= set(catalog.index)
    assert len(catalog) == 60 + DEMO_DUPLICATES + BUNDLED_MATERIALS + len(expected)
    for m, meta in expected.items():
        stored = orjson.loads(catalog.at[m, "metadata"])
        assert stored["prototype"] == meta["prototype"], m
        assert stored.get("twin_of") == meta.get("twin_of"), m
        assert catalog.at[m, "formula"] and catalog.at[m, "source_format"] == "bandprint"

    line = re.search(
        r"Real DFT: (\d+) GPAW band structures of (\d+) prototypes, (\d+) of them settings or "
        r"strain twins of another: the duplicate finder paired (\d+) twins with their "
        r"originals, and for (\d+) the original is the nearest material",
        result.output,
    )
    assert line, result.output
    n, n_proto, n_twins, n_found, n_nearest = map(int, line.groups())
    assert (n, n_proto, n_twins) == (len(expected), len(prototypes), len(twins))
    assert n_found <= n_twins and n_nearest <= n_twins
    ws = Workspace(out / "ws")
    pairs = ws.read_table("duplicates")
    paired = {
        frozenset(p) for p in zip(pairs["material_id_1"], pairs["material_id_2"], strict=True)
    }
    assert n_found == sum(frozenset((t, expected[t]["twin_of"])) in paired for t in twins)
    # Nearest by the clustering's distance (Minkowski p = 0.2) over all stored fingerprints.
    ids, X = ws.read_fingerprints()
    d = pairwise_distances(X, p=P_DEFAULT)
    np.fill_diagonal(d, np.inf)
    nearest = {ids[i]: ids[int(np.argmin(d[i]))] for i in range(len(ids))}
    assert n_nearest == sum(nearest[t] == expected[t]["twin_of"] for t in twins)

    # The map shows each corpus material's prototype, the explorer's page its space group and
    # magnetic state too.
    page = (out / "report" / "map.html").read_text(encoding="utf-8")
    for proto in prototypes:
        assert f'"{proto}"' in page, proto
    from bandprint.explorer import Explorer

    twin = sorted(twins)[0]
    facts = Explorer(ws).material(twin)["facts"]
    meta = expected[twin]
    assert facts["prototype"] == meta["prototype"]
    assert facts["space_group"] == meta["sg_symbol"]
    assert facts["magnetic_state"] == meta["magnetic_state"]
    assert facts["twin_of"] == meta["twin_of"]
