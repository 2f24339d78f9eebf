"""Database exports: Materials Project task documents, older pymatgen dictionary layouts and a
whole C2DB row; pymatgen and ASE are the oracles."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from bandprint.errors import ReadError
from bandprint.read import read_band_structure, read_band_structures
from read_helpers import assert_matches_pymatgen

pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # pymatgen on the old layouts
]

C2DB_ROW = "c2db/Be4-09dd42ad034e.json.gz"


def _load(path: Path):
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def test_task_documents_are_materials_named_by_task_id(real_dir):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    path = real_dir / "mp-documents" / "es_bs_objs.json.gz"
    docs = _load(path)
    found = read_band_structures(path)
    assert [bs.material_id for bs in found] == [d["task_id"] for d in docs]
    assert [bs.material_id for bs in found] == ["mp-1612487", "mp-1057384"]
    for bs, doc in zip(found, docs, strict=True):
        assert_matches_pymatgen(bs, BandStructureSymmLine.from_dict(doc["data"]))
    wo2, si = found
    assert (wo2.formula, wo2.nspin) == ("WO2", 2) and (si.formula, si.nspin) == ("Si", 1)


def test_one_document_and_a_bad_document(real_dir, tmp_path):
    docs = _load(real_dir / "mp-documents" / "es_bs_objs.json.gz")
    (tmp_path / "one.json").write_bytes(orjson.dumps(docs[1]))
    assert read_band_structure(tmp_path / "one.json").material_id == "mp-1057384"
    broken = [docs[1], {"task_id": "mp-0", "data": {"kpoints": []}}]
    (tmp_path / "two.json").write_bytes(orjson.dumps(broken))
    with pytest.raises(ReadError, match="document 2: not a pymatgen band structure"):
        read_band_structures(tmp_path / "two.json")
    (tmp_path / "twice.json").write_bytes(orjson.dumps([docs[1], docs[1]]))
    with pytest.raises(ReadError, match="documents share an id"):
        read_band_structures(tmp_path / "twice.json")


@pytest.mark.parametrize(
    "name",
    [
        "Cu2O_361_bandstructure.json.gz",  # 'kpoints' and 'bands' past the first 64 KiB
        "NiO_19009_bandstructure.json",
        "bs_ZnS_old.json",
        "dft_bs_sym_line.json",
    ],
)
def test_older_pymatgen_layouts_agree_with_pymatgen(real_dir, name):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    path = real_dir / "pymatgen-json-more" / name
    (bs,) = read_band_structures(path)
    assert_matches_pymatgen(bs, BandStructureSymmLine.from_dict(_load(path)))


def test_renamed_vasprun_finds_its_tagged_kpoints(real_dir):
    from pymatgen.io.vasp.outputs import Vasprun

    folder = real_dir / "pymatgen-json-more"
    vr = Vasprun(str(folder / "vasprun_Si_bands.xml.gz"), parse_potcar_file=False)
    pmg = vr.get_band_structure(kpoints_filename=str(folder / "KPOINTS_Si_bands"), line_mode=True)
    bs = read_band_structure(folder / "vasprun_Si_bands.xml.gz")
    assert_matches_pymatgen(bs, pmg)
    # line mode, 16 points a line: ten segments of 16
    assert [s.stop - s.start for s in bs.segments] == [16] * 10


@pytest.fixture(scope="module")
def row(real_dir):
    return _load(real_dir / C2DB_ROW)


def test_whole_c2db_row_without_and_with_spin_orbit(real_dir, row):
    from ase.db.row import AtomsRow
    from ase.io.jsonio import decode

    data = row["results-asr.bandstructure.json"]["kwargs"]["data"]
    nosoc = read_band_structure(real_dir / C2DB_ROW)
    soc = read_band_structure(real_dir / C2DB_ROW, soc=True)
    uid = row["results-asr.database.material_fingerprint.json"]["kwargs"]["data"]["uid"]
    assert nosoc.material_id == soc.material_id == uid == "Be4-09dd42ad034e"
    assert nosoc.metadata["spin_orbit"] is False and soc.metadata["spin_orbit"] is True
    # without spin–orbit [spin, k, band] = [1, 400, 24]; with it [band, k] = 48 one-electron bands
    assert (nosoc.nspin, nosoc.nkpoints, nosoc.nbands) == (1, 400, 24)
    assert (soc.nspin, soc.nkpoints, soc.nbands) == (1, 400, 48)
    assert nosoc.efermi == data["bs_nosoc"]["efermi"] and soc.efermi == data["bs_soc"]["efermi"]
    labelseq = data["bs_nosoc"]["path"]["labelseq"]  # "GXSYGS"
    assert nosoc.path_string == "–".join(labelseq.replace("G", "Γ")) == "Γ–X–S–Y–Γ–S"
    atoms = AtomsRow(decode(json.dumps(row["structure.json"]))[1]).toatoms()
    np.testing.assert_allclose(nosoc.structure.lattice.matrix, atoms.cell[:], atol=1e-12)
    assert nosoc.formula == "Be" and nosoc.metadata["c2db_uid"] == uid
    # C2DB's ground state says metal (gap 0), and so does the path
    assert row["results-asr.gs.json"]["kwargs"]["data"]["gap_nosoc"] == 0.0
    assert nosoc.is_metal and soc.is_metal


def test_c2db_2d_path_cell_keeps_in_plane_distances(real_dir, row):
    # ASE writes the 2-D path cell with a zero third vector; the in-plane reciprocal vectors
    # and so the path length are those of the in-plane cell alone.
    bs = read_band_structure(real_dir / C2DB_ROW)
    a, b = bs.structure.lattice.matrix[:2, :2]
    rec2 = 2 * np.pi * np.linalg.inv(np.array([a, b])).T
    k = bs.kpoints[:, :2] @ rec2
    length = np.sum(np.linalg.norm(np.diff(k, axis=0), axis=1)[np.diff(bs.distances) > 0])
    assert bs.distances[-1] == pytest.approx(length)


def test_ingest_with_and_without_spin_orbit(real_dir, tmp_path):
    from bandprint.ingest import ingest
    from bandprint.store import Workspace

    row = real_dir / C2DB_ROW
    ingest([row], tmp_path / "ws", workers=1, progress=False, soc=True)
    stored = Workspace(tmp_path / "ws").get("Be4-09dd42ad034e")
    assert stored.nbands == 48 and stored.metadata["spin_orbit"] is True
    # the option is part of what was read: without it the row is read again
    report = ingest([row], tmp_path / "ws", workers=1, progress=False)
    assert report.n_skipped_unchanged == 0
    stored = Workspace(tmp_path / "ws").get("Be4-09dd42ad034e")
    assert stored.nbands == 24 and stored.metadata["spin_orbit"] is False
