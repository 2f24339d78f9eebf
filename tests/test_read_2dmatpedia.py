"""The 2DMatPedia download layout (db.json + bands/<id>.json), built from the real dictionaries.

The band files are copies of the real pymatgen dictionaries in tests/data/real; the db.json rows
carry 2DMatPedia's fields. Their structures use each file's own lattice with the prototype's
atom positions (the dictionaries carry no structure), and the database numbers are test values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from bandprint.read import discover_sources, read_band_structure, read_source

#: material id → (real file, formula, space group, crystal system, prototype sites).
MATERIALS = {
    "2dm-11": ("pymatgen-json/CaO_2605_bandstructure.json", "CaO", 225, "cubic",
               [("Ca", [0, 0, 0]), ("O", [0.5, 0.5, 0.5])]),
    "2dm-12": ("pymatgen-json/Cu_30_bandstructure.json", "Cu", 225, "cubic",
               [("Cu", [0, 0, 0])]),
    "2dm-13": ("pymatgen-json/InN_22205_bandstructure.json", "InN", 186, "hexagonal",
               [("In", [1 / 3, 2 / 3, 0]), ("In", [2 / 3, 1 / 3, 0.5]),
                ("N", [1 / 3, 2 / 3, 0.38]), ("N", [2 / 3, 1 / 3, 0.88])]),
    "2dm-14": ("matminer-json/VBr2_971787_bandstructure.json", "VBr2", 164, "trigonal",
               [("V", [0, 0, 0]), ("Br", [1 / 3, 2 / 3, 0.25]), ("Br", [2 / 3, 1 / 3, 0.75])]),
    "2dm-15": ("matminer-json/si_bandstructure_line.json", "Si", 227, "cubic",
               [("Si", [0, 0, 0]), ("Si", [0.25, 0.25, 0.25])]),
}  # fmt: skip
WRONG_BRANCHES = "2dm-14"


def db_row(mid: str, d: dict, formula: str, sg: int, system: str, sites: list) -> dict:
    from pymatgen.core import Lattice, Structure
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    rec = np.asarray(d["lattice_rec"]["matrix"])
    lattice = Lattice(2 * np.pi * np.linalg.inv(rec).T)
    structure = Structure(lattice, [s for s, _ in sites], [c for _, c in sites])
    gap = BandStructureSymmLine.from_dict(d).get_band_gap()["energy"]
    return {
        "material_id": mid,
        "formula_pretty": formula,
        "sg_number": sg,
        "sg_symbol": None,
        "spacegroup": {"crystal_system": system, "point_group": None},
        "bandgap": gap,
        "discovery_process": "top-down",
        "exfoliation_energy_per_atom": 0.05 + int(mid[-1]) / 100,
        "decomposition_energy": 0.01 * int(mid[-1]),
        "structure": structure.as_dict(),
    }


@pytest.fixture
def download(tmp_path: Path, real_dir: Path) -> Path:
    root = tmp_path / "2dmatpedia"
    (root / "bands").mkdir(parents=True)
    rows = []
    for mid, (name, formula, sg, system, sites) in MATERIALS.items():
        d = json.loads((real_dir / name).read_text())
        rows.append(db_row(mid, d, formula, sg, system, sites))
        if mid == WRONG_BRANCHES:
            # one branch over the whole path with a made-up name, as some 2DMatPedia files have
            d["branches"] = [{"start_index": 0, "end_index": 5, "name": "X-Y"}]
        (root / "bands" / f"{mid}.json").write_bytes(orjson.dumps(d))
    (root / "db.json").write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return root


def test_every_material_joined_with_its_db_row(download, real_dir):
    sources = list(discover_sources([download]))
    assert sorted(s.material_id for s in sources) == sorted(MATERIALS)
    for src in sources:
        (bs,) = read_source(src)
        name, formula, sg, system, _ = MATERIALS[bs.material_id]
        assert bs.source_format == "2dmatpedia"
        assert bs.formula == formula
        assert bs.metadata["sg_number"] == sg
        assert bs.metadata["spacegroup"]["crystal_system"] == system
        assert bs.metadata["discovery_process"] == "top-down"
        assert bs.metadata["exfoliation_energy_per_atom"] == 0.05 + int(bs.material_id[-1]) / 100
        assert bs.metadata["database"] == "2DMatPedia" and bs.metadata["is_2d"]
        assert bs.structure is not None
        assert bs.structure.composition.reduced_formula == formula
        assert bs.metadata["bandgap"] == pytest.approx(bs.band_gap().energy, abs=1e-9)
        plain = read_band_structure(real_dir / name)  # the same dictionary, read on its own
        np.testing.assert_array_equal(bs.energies, plain.energies)
        assert bs.segments == plain.segments


def test_wrong_branches_are_ignored(download, real_dir):
    bs = read_band_structure(download / "bands" / f"{WRONG_BRANCHES}.json")
    assert bs.path_string == "Γ–M–K–Γ–A–L–H–A|L–M|K–H"
    assert len(bs.segments) == 9
    original = read_band_structure(real_dir / MATERIALS[WRONG_BRANCHES][0])
    assert bs.segments == original.segments


def test_material_without_db_row_still_reads(download):
    (download / "bands" / "2dm-99.json").write_bytes(
        (download / "bands" / "2dm-11.json").read_bytes()
    )
    src = next(s for s in discover_sources([download]) if s.material_id == "2dm-99")
    (bs,) = read_source(src)
    assert bs.metadata["database"] == "2DMatPedia" and "sg_number" not in bs.metadata
