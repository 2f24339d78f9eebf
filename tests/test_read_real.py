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

#: (format, material id) → (spin channels, k-points, bands, path) for every real sample.
EXPECTED = {
    ("pymatgen-json", "CaO_2605_bandstructure"): (1, 160, 16, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("pymatgen-json", "Cu_30_bandstructure"): (1, 350, 20, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("pymatgen-json", "InN_22205_bandstructure"): (1, 156, 36, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    ("pymatgen-json", "VBr2_971787_bandstructure"): (2, 143, 30, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    ("pymatgen-json", "si_bandstructure_line"): (1, 164, 16, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("vasprun", "OsO2"): (1, 463, 36, "Γ–Z–R–X–M–A–Z–Γ–M"),
    ("vasprun", "Cs2SnI6-split"): (1, 111, 64, "Γ–L–W–X–Γ"),
    ("castep-bands", "Si2"): (1, 44, 14, "W–L–Γ–X–W–K"),
    ("castep-bands", "Fe"): (2, 118, 6, "Γ–H–N–Γ–P–N"),
    ("castep-bands", "NiO"): (2, 4, 22, "?–?"),
    # Materials Project task documents: one file, two materials named by their task_id
    ("pymatgen-json", "mp-1612487"): (2, 160, 64, "Γ–L–B_1|B–Z–Γ–X|Q–F–P_1–Z|L–P"),
    ("pymatgen-json", "mp-1057384"): (1, 164, 12, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    # older pymatgen dictionary layouts, and a renamed VASP run with its KPOINTS_<tag>
    ("pymatgen-json", "Cu2O_361_bandstructure"): (1, 96, 48, "Γ–X–M–Γ–R–X|M–R"),
    ("pymatgen-json", "NiO_19009_bandstructure"): (2, 160, 27, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("pymatgen-json", "bs_ZnS_old"): (1, 165, 20, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("pymatgen-json", "dft_bs_sym_line"): (2, 143, 16, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    ("vasprun", "vasprun_Si_bands"): (2, 160, 13, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("c2db", "Be4-09dd42ad034e"): (1, 400, 24, "Γ–X–S–Y–Γ–S"),
    ("espresso-out", "bands-bpc_100-c_18-ecut_100-k_32"): (1, 501, 80, "Γ–M–K–M–K–Γ"),
    ("fhi-aims", "Ge"): (1, 280, 43, "Γ–X–W–K–Γ–L–U–W–L–K|U–X"),
    ("siesta-bands", "Fe"): (2, 131, 15, "Γ–H–N–Γ–P"),
    ("outcar", "CZTS-zero-weight"): (1, 550, 52, "Γ–X–M–Γ–Z"),
    ("exciting", "CeO"): (1, 100, 106, "Γ–X–W–K–Γ–L–U–W–L–K"),
    ("questaal-bnds", "ZnO-band_calc"): (1, 496, 62, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
    ("questaal-bnds", "ZnO-band_calc_spin"): (2, 496, 62, "Γ–M–K–Γ–A–L–H–A|L–M|K–H"),
}
#: Files beside the band structures that no reader needs: sumo's header JSONs (test oracles),
#: the CZTS run's INCAR and SIESTA's main output (it states no Fermi level).
SIDE_FILES = {"Fe.bands_header.json", "Si2.bands_header.json", "INCAR", "out"}


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
    assert skipped_paths == {p for p in files if p.name.endswith(".bands_header.json")}
    assert files - claimed == {p for p in files if p.name in SIDE_FILES}


def test_every_real_source_reads(real_dir, real_sources):
    sources, _ = real_sources
    found = {}
    for src in sources:
        for bs in read_source(src):
            found[(bs.source_format, bs.material_id)] = bs
    assert set(found) == set(EXPECTED)
    for key, (nspin, nk, nb, path) in EXPECTED.items():
        bs = found[key]
        assert (bs.nspin, bs.nkpoints, bs.nbands) == (nspin, nk, nb), key
        assert bs.path_string == path, key
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
    # sumo's two header JSONs (test oracles) are not ingested; two materials share the id "Fe"
    # (CASTEP and SIESTA), the later found is kept
    ids = {mid for _, mid in EXPECTED}
    assert report.n_failed == 2
    ws = Workspace(tmp_path / "ws")
    assert set(ws.ids()) == ids
    for bs in read_band_structures(real_dir / "pymatgen-json", real_dir / "qe", real_dir / "c2db"):
        stored = ws.get(bs.material_id)
        nspin, nk, nb, path = EXPECTED[(bs.source_format, bs.material_id)]
        assert (stored.nspin, stored.nkpoints, stored.nbands) == (nspin, nk, nb)
        assert stored.path_string == path
        # the store adds what it derives from the structure (the slab's vacuum axis)
        assert set(stored.metadata) - set(bs.metadata) <= {"vacuum_axis"}
        stored.metadata = {k: stored.metadata[k] for k in bs.metadata}
        assert stored == bs


def test_a_materials_project_id_in_the_dictionary_names_the_material(real_dir, tmp_path):
    d = json.loads((real_dir / "pymatgen-json/CaO_2605_bandstructure.json").read_text())
    d["material_id"] = "mp-2605"
    (tmp_path / "CaO.json").write_text(json.dumps(d))
    (bs,) = read_band_structures(tmp_path / "CaO.json")
    assert bs.material_id == "mp-2605"
