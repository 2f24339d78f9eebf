"""Every real sample in tests/data/real reads; the pymatgen dictionaries agree with pymatgen.

(VASP is compared with pymatgen's Vasprun in test_read_vasp.py, CASTEP with sumo's header
values in test_read_castep.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bandprint.read import discover_sources, read_band_structures, read_source
from read_helpers import assert_matches_pymatgen

#: material id → (format, spin channels, k-points, bands, path) for every real sample.
EXPECTED = {
    "CaO_2605_bandstructure": ("pymatgen-json", 1, 160, 16, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    "Cu_30_bandstructure": ("pymatgen-json", 1, 350, 20, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    "InN_22205_bandstructure": ("pymatgen-json", 1, 156, 36, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    "VBr2_971787_bandstructure": ("pymatgen-json", 2, 143, 30, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    "si_bandstructure_line": ("pymatgen-json", 1, 164, 16, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    "OsO2": ("vasprun", 1, 463, 36, "Γ–Z–R–X–M–A–Z–Γ–M"),
    "Cs2SnI6-split": ("vasprun", 1, 111, 64, "Γ–L–W–X–Γ"),
    "Si2": ("castep-bands", 1, 44, 14, "W–L–Γ–X–W–K"),
    "Fe": ("castep-bands", 2, 118, 6, "Γ–H–N–Γ–P–N"),
    "NiO": ("castep-bands", 2, 4, 22, "?–?"),
}


@pytest.fixture(scope="module")
def real_sources(real_dir: Path):
    skipped: list[tuple[str, str]] = []
    sources = list(discover_sources([real_dir], on_skip=lambda p, r: skipped.append((p, r))))
    return sources, skipped


def test_every_real_file_is_one_source_or_a_known_side_file(real_dir, real_sources):
    sources, skipped = real_sources
    claimed = {Path(p) for s in sources for p in s.paths}
    skipped_paths = {Path(p) for p, _ in skipped}
    files = {p for p in real_dir.rglob("*") if p.is_file()}
    # sumo's header JSONs (test oracles, no band structure) are the only files passed over
    assert skipped_paths == {p for p in files if p.name.endswith(".bands_header.json")}
    assert files == claimed | skipped_paths


def test_every_real_source_reads(real_sources):
    sources, _ = real_sources
    found = {}
    for src in sources:
        for bs in read_source(src):
            found[bs.material_id] = bs
    assert set(found) == set(EXPECTED)
    for mid, (fmt, nspin, nk, nb, path) in EXPECTED.items():
        bs = found[mid]
        assert (bs.source_format, bs.nspin, bs.nkpoints, bs.nbands) == (fmt, nspin, nk, nb), mid
        assert bs.path_string == path, mid
        assert np.isfinite(bs.energies).all() and np.isfinite(bs.efermi)


PYMATGEN_DICTS = [
    "pymatgen-json/CaO_2605_bandstructure.json",
    "pymatgen-json/Cu_30_bandstructure.json",
    "pymatgen-json/InN_22205_bandstructure.json",
    "matminer-json/VBr2_971787_bandstructure.json",
    "matminer-json/si_bandstructure_line.json",
]


@pytest.mark.parametrize("name", PYMATGEN_DICTS)
def test_pymatgen_dictionaries_agree_with_pymatgen(real_dir, name):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    path = real_dir / name
    pmg = BandStructureSymmLine.from_dict(json.loads(path.read_text()))
    (bs,) = read_band_structures(path)
    assert_matches_pymatgen(bs, pmg)


def test_metals_and_spin(real_dir):
    cu, vbr2 = read_band_structures(
        real_dir / "pymatgen-json/Cu_30_bandstructure.json",
        real_dir / "matminer-json/VBr2_971787_bandstructure.json",
    )
    assert cu.is_metal
    assert vbr2.is_spin_polarized and not vbr2.is_metal
    assert not np.allclose(vbr2.energies[0], vbr2.energies[1])


def test_every_real_file_ingests_and_the_store_gives_back_what_was_read(real_dir, tmp_path):
    from bandprint.ingest import ingest
    from bandprint.store import Workspace

    report = ingest([real_dir], tmp_path / "ws", workers=2, progress=False)
    # only sumo's two header JSONs (test oracles) are passed over
    assert (report.n_ingested, report.n_failed) == (len(EXPECTED), 2)
    ws = Workspace(tmp_path / "ws")
    assert set(ws.ids()) == set(EXPECTED)
    for bs in read_band_structures(real_dir):
        stored = ws.get(bs.material_id)
        fmt, nspin, nk, nb, path = EXPECTED[bs.material_id]
        assert (stored.source_format, stored.nspin, stored.nkpoints, stored.nbands) == (
            fmt,
            nspin,
            nk,
            nb,
        )
        assert stored.path_string == path and stored == bs


def test_a_materials_project_id_in_the_dictionary_names_the_material(real_dir, tmp_path):
    d = json.loads((real_dir / "pymatgen-json/CaO_2605_bandstructure.json").read_text())
    d["material_id"] = "mp-2605"
    (tmp_path / "CaO.json").write_text(json.dumps(d))
    (bs,) = read_band_structures(tmp_path / "CaO.json")
    assert bs.material_id == "mp-2605"
