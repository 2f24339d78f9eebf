"""ASE BandStructure JSON and C2DB results-asr.bandstructure.json, made by ASE itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from ase.io.jsonio import read_json
from ase.spectrum.band_structure import BandStructure as AseBandStructure
from ase.units import Bohr, Hartree

from ase_fixtures import (
    AL_FIXTURE,
    aluminium,
    asr_uid,
    mos2_monolayer,
    soc_energies,
    write_c2db_folder,
)
from bandprint.bandstructure import normalize_label
from bandprint.errors import ReadError
from bandprint.read import (
    Source,
    detect_file_format,
    discover_sources,
    read_band_structure,
    read_band_structures,
    read_source,
)
from read_helpers import kpoint_labels

#: ħ²/2m in eV·Å²: free electrons have E = HBAR2_2M |k|².
HBAR2_2M = Hartree * Bohr**2 / 2


@pytest.fixture(scope="module")
def al_ase() -> AseBandStructure:
    return aluminium()


@pytest.fixture(scope="module")
def al(tmp_path_factory, al_ase):
    path = tmp_path_factory.mktemp("ase") / "Al.json"
    al_ase.write(path)
    return read_band_structure(path)


def test_ase_json_shape_fermi_level_and_labels(al, al_ase):
    assert al.source_format == "ase-bandstructure" and al.material_id == "Al"
    assert (al.nspin, al.nkpoints, al.nbands) == al_ase.energies.shape
    np.testing.assert_array_equal(al.energies, al_ase.energies)
    assert al.efermi == al_ase.reference
    x, ticks, names = al_ase.path.get_linear_kpoint_axis()
    # ASE's own axis (it converts with 2π) is the canonical distance axis
    np.testing.assert_allclose(al.distances, x, atol=1e-9)
    ours = al.labels
    assert [lab for _, lab in ours] == ["Γ", "X", "W", "K", "Γ", "L", "U", "W", "L", "K|U", "X"]
    tick_x = sorted({round(float(t), 9) for t in ticks})
    np.testing.assert_allclose([x for x, _ in ours], tick_x, atol=1e-9)
    assert [normalize_label(n) for n in names] == list(kpoint_labels(al).values())


def test_ase_reciprocal_lattice_includes_two_pi(al, al_ase):
    # ASE's Cell.reciprocal() has no 2π; pymatgen's convention (ours) has it
    cell = al_ase.path.cell
    np.testing.assert_allclose(al.reciprocal_lattice, 2 * np.pi * np.asarray(cell.reciprocal()))
    np.testing.assert_allclose(
        al.reciprocal_lattice @ np.asarray(cell).T, 2 * np.pi * np.eye(3), atol=1e-12
    )


def test_free_electron_physics(al):
    """E_F = ħ²/2m (3π² n)^(2/3) for 3 electrons per fcc Al cell, and the lowest band along
    Γ–X is ħ²k²/2m with k the path distance from Γ: units and 2π must both be right."""
    volume = abs(np.linalg.det(2 * np.pi * np.linalg.inv(al.reciprocal_lattice).T))
    kf = (3 * np.pi**2 * 3 / volume) ** (1 / 3)
    assert al.efermi == pytest.approx(HBAR2_2M * kf**2, rel=1e-9)
    gamma_x = al.segments[0]
    assert (gamma_x.start_label, gamma_x.end_label) == ("Γ", "X")
    d = al.distances[gamma_x.start : gamma_x.stop]
    np.testing.assert_allclose(al.energies[0, gamma_x.start : gamma_x.stop, 0], HBAR2_2M * d**2)
    assert al.is_metal


def test_committed_fixture_is_what_ase_writes(data_dir, al_ase):
    assert data_dir / "ase" / "Al_free_electrons.json" == AL_FIXTURE
    committed = read_json(str(AL_FIXTURE))
    np.testing.assert_allclose(committed.energies, al_ase.energies, atol=1e-12)
    np.testing.assert_allclose(committed.path.kpts, al_ase.path.kpts, atol=1e-12)
    bs = read_band_structure(AL_FIXTURE)
    assert bs.material_id == "Al_free_electrons" and bs.nkpoints == 50


def test_spin_polarised_ase_json_keeps_both_spins(tmp_path, al_ase):
    e = al_ase.energies[0]
    two = AseBandStructure(al_ase.path, np.stack([e, e + 0.4]), reference=al_ase.reference)
    two.write(tmp_path / "bs.json")
    (tmp_path / "bs.json").rename(tmp_path / "bs")  # no extension: recognised by content
    bs = read_band_structure(tmp_path / "bs")
    assert bs.nspin == 2
    np.testing.assert_allclose(bs.energies[1] - bs.energies[0], 0.4)
    assert bs.material_id == tmp_path.name  # "bs" names the file kind, the folder the material


def test_ase_json_bad_inputs(tmp_path, al_ase):
    good = json.loads(AL_FIXTURE.read_text())
    nk = len(al_ase.path.kpts)
    bad = {
        "energies_k_mismatch": good
        | {"energies": {"__ndarray__": [[1, nk - 1, 8], "float64", [0.0] * (nk - 1) * 8]}},
        "ndarray_shape_lies": good
        | {"energies": {"__ndarray__": [[1, nk, 9], "float64", [0.0] * nk * 8]}},
        "nan_energies": good | {"energies": [[[float("nan")] * 8] * nk]},
        "no_reference": {k: v for k, v in good.items() if k != "reference"},
        # (a zero third vector alone is how ASE writes a 2-D cell, and is completed, not refused)
        "flat_cell": good | {"path": good["path"] | {"cell": [[1, 0, 0], [2, 0, 0], [0, 0, 0]]}},
        "no_path": {"energies": good["energies"], "reference": 1.0},
    }
    for name, content in bad.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(content, allow_nan=True))
        src = Source("ase-bandstructure", (str(p),), name)
        with pytest.raises(ReadError) as err:
            read_source(src)
        assert str(p) in str(err.value) and "\n" not in str(err.value), name


# -- C2DB --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def c2db_file(tmp_path_factory) -> Path:
    return write_c2db_folder(tmp_path_factory.mktemp("c2db"))


def test_c2db_nosoc_by_default(c2db_file):
    atoms, ase_bs = mos2_monolayer()
    bs = read_band_structure(c2db_file)
    assert bs.source_format == "c2db"
    assert bs.material_id == asr_uid(atoms) == c2db_file.parent.name
    assert bs.metadata["c2db_uid"] == bs.material_id
    assert bs.metadata["is_2d"] and not bs.metadata["spin_orbit"]
    assert bs.formula == "MoS2"
    np.testing.assert_array_equal(bs.energies, ase_bs.energies)
    assert bs.efermi == ase_bs.reference
    assert bs.path_string == "Γ–M–K–Γ"
    np.testing.assert_allclose(bs.distances, ase_bs.path.get_linear_kpoint_axis()[0], atol=1e-9)
    assert bs.out_of_plane_segments() == []  # a 2-D path stays in the k_z = 0 plane


def test_c2db_soc_option(c2db_file):
    _, ase_bs = mos2_monolayer()
    soc = read_band_structure(c2db_file, soc=True)
    assert soc.metadata["spin_orbit"] and soc.nspin == 1
    e_mk = soc_energies(ase_bs.energies)
    assert soc.nbands == e_mk.shape[0] and soc.nkpoints == e_mk.shape[1]
    np.testing.assert_array_equal(soc.energies[0], e_mk.T.astype(np.float64))
    assert soc.efermi == pytest.approx(ase_bs.reference + 0.01)


def test_c2db_uid_sources_and_old_layout(tmp_path):
    target = write_c2db_folder(tmp_path / "new")
    uid = target.parent.name
    plain = tmp_path / "plain" / "MoS2_monolayer"
    plain.mkdir(parents=True)
    shutil.copy(target, plain / target.name)
    assert read_band_structure(plain).material_id == "MoS2_monolayer"  # folder name
    (plain / "info.json").write_text(json.dumps({"uid": uid}))
    assert read_band_structure(plain).material_id == uid  # from info.json
    old = write_c2db_folder(tmp_path / "old", old_style=True)  # data at the top level
    bs = read_band_structure(old)
    assert bs.material_id == old.parent.name and bs.path_string == "Γ–M–K–Γ"
    assert detect_file_format(old).name == "c2db"


def test_c2db_folder_discovery_and_batch(tmp_path):
    for i in range(2):
        write_c2db_folder(tmp_path / f"batch{i}")
    sources = list(discover_sources([tmp_path]))
    assert [s.format for s in sources] == ["c2db", "c2db"]
    assert len(read_band_structures(tmp_path, soc=True)) == 2


def test_c2db_bad_inputs(tmp_path, c2db_file):
    good = json.loads(c2db_file.read_text())
    data = good["kwargs"]["data"]
    soc = data["bs_soc"]
    bad = {
        "no_nosoc": good | {"kwargs": {"data": {"bs_soc": soc}}},
        "soc_energies_transposed": good
        | {"kwargs": {"data": data | {"bs_nosoc": soc | {"energies": [[1.0] * 16] * 30}}}},
        "not_asr": {"kwargs": {"something": 1}, "bs_nosocx": 2},
    }
    for name, content in bad.items():
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(content))
        with pytest.raises(ReadError) as err:
            read_source(Source("c2db", (str(p),), name))
        assert str(p) in str(err.value) and "\n" not in str(err.value), name
