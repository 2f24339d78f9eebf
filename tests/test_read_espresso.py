"""Quantum ESPRESSO: the real WS2 pw.x bands output (ASE's reader is the oracle) and
data-file-schema.xml files written from its numbers (tests/qe_fixtures.py)."""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import detect_file_format, discover_sources, espresso, read_band_structure
from qe_fixtures import write_qe_xml

LOG = "qe/WS2-monolayer/bands-bpc_100-c_18-ecut_100-k_32.log"


@pytest.fixture(scope="module")
def log(real_dir: Path) -> Path:
    return real_dir / LOG


@pytest.fixture(scope="module")
def ase_run(log: Path):
    """The run as ASE's espresso-out reader parses it: atoms, k-points, eigenvalues."""
    import ase.io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        atoms = ase.io.read(log, format="espresso-out")
    calc = atoms.calc
    eig = np.array([calc.get_eigenvalues(kpt=i, spin=0) for i in range(501)])
    return atoms, np.asarray(calc.get_ibz_k_points()), eig


@pytest.fixture(scope="module")
def ws2(log: Path):
    return read_band_structure(log)


def test_counts_cell_and_energies_agree_with_ase(ws2, ase_run, log):
    atoms, kpts, eig = ase_run
    text = log.read_text()
    assert ws2.source_format == "espresso-out"
    assert ws2.nkpoints == int(re.search(r"number of k points=\s*(\d+)", text).group(1)) == 501
    assert ws2.nbands == int(re.search(r"Kohn-Sham states=\s*(\d+)", text).group(1)) == 80
    # spin–orbit: one channel of one-electron bands (the file says so)
    assert "Non magnetic calculation with spin-orbit" in text
    assert ws2.nspin == 1 and ws2.metadata["spin_orbit"] is True
    np.testing.assert_array_equal(ws2.energies[0], eig)
    np.testing.assert_allclose(ws2.kpoints, kpts, atol=1e-6)
    np.testing.assert_allclose(ws2.structure.lattice.matrix, atoms.cell[:], atol=1e-4)
    assert ws2.formula == "WS2"
    assert [x.symbol for x in ws2.structure.species] == atoms.get_chemical_symbols()
    diff = ws2.structure.frac_coords - atoms.get_scaled_positions()  # ASE wraps into the cell
    np.testing.assert_allclose(diff - np.round(diff), 0, atol=1e-6)


def test_labels_inferred_from_coordinates(ws2):
    # the path Γ–M–K–M′–K′–Γ in the hexagonal cell: M′ and K′ are images of M and K
    assert ws2.metadata["labels_source"] == "inferred from coordinates"
    assert ws2.path_string == "Γ–M–K–M–K–Γ"
    assert [(s.start, s.stop) for s in ws2.segments] == [(i, i + 101) for i in range(0, 500, 100)]
    np.testing.assert_allclose(
        ws2.kpoints[[0, 100, 200]], [[0, 0, 0], [0.5, 0, 0], [1 / 3] * 2 + [0]], atol=1e-6
    )


def test_fermi_level_is_mid_gap_of_the_forty_occupied_bands(ws2, ase_run):
    # A bands run prints no Fermi level; 40 electrons fill 40 one-electron bands.
    _, _, eig = ase_run
    homo, lumo = np.sort(eig, axis=1)[:, 39].max(), np.sort(eig, axis=1)[:, 40].min()
    assert ws2.metadata["efermi_source"] == "mid-gap of the path's bands (electron count)"
    assert ws2.efermi == pytest.approx((homo + lumo) / 2)
    gap = ws2.band_gap()
    assert not gap.is_metal and gap.direct
    assert abs(gap.energy - (lumo - homo)) < 0.01
    assert gap.energy == pytest.approx(1.5664, abs=1e-4)  # direct at K, as for monolayer WS2


def test_fermi_level_from_a_self_consistent_output_beside_it(tmp_path, log):
    folder = tmp_path / "WS2"
    folder.mkdir()
    shutil.copy(log, folder / "bands.out")
    scf = "\n".join(
        [
            "     Program PWSCF v.7.3.1 starts on  4Feb2025 at 13:00:00",
            "     Self-consistent Calculation",
            "     End of self-consistent calculation",
            "     highest occupied, lowest unoccupied level (ev):    -5.4000   -3.9000",
        ]
    )
    (folder / "scf.out").write_text(scf + "\n")
    # the SCF output is no band structure of its own
    assert [s.format for s in discover_sources([folder])] == ["espresso-out"]
    bs = read_band_structure(folder / "bands.out")
    assert bs.material_id == "WS2"  # "bands" names the run, the folder the material
    assert bs.efermi == pytest.approx(-4.65) and bs.metadata["efermi_source"] == "scf.out (mid-gap)"
    (folder / "scf.out").write_text(scf + "\n     the Fermi energy is    -4.5000 ev\n")
    assert read_band_structure(folder / "bands.out").efermi == -4.5
    assert read_band_structure(folder / "bands.out", efermi=-4.0).efermi == -4.0


def test_a_metal_without_fermi_level_asks_for_one(tmp_path, log):
    # 41 electrons: band 41 meets band 42 (spin–orbit partners), so no gap to put E_F in
    text = log.read_text().replace(
        "number of electrons       =        40.00", "number of electrons       =        41.00"
    )
    (tmp_path / "odd.out").write_text(text)
    with pytest.raises(ReadError, match=r"no Fermi level.*--efermi"):
        read_band_structure(tmp_path / "odd.out")
    assert read_band_structure(tmp_path / "odd.out", efermi=-4.7).efermi == -4.7


def _xml_from_log(ws2, folder: Path, spin_down_shift: float | None, fermi: dict[str, float]):
    energies = ws2.energies
    if spin_down_shift is not None:
        energies = np.concatenate([energies, energies + spin_down_shift])
    st = ws2.structure
    return write_qe_xml(
        folder / "ws2.save" / "data-file-schema.xml",
        st.lattice.matrix,
        [s.symbol for s in st.species],
        st.cart_coords,
        ws2.kpoints,
        energies,
        40.0,
        spin_down_shift is None,
        fermi,
    )


def test_xml_gives_the_same_band_structure(tmp_path, ws2):
    homo, lumo = ws2.metadata["homo"], ws2.metadata["lumo"]
    path = _xml_from_log(
        ws2, tmp_path, None, {"highestOccupiedLevel": homo, "lowestUnoccupiedLevel": lumo}
    )
    assert detect_file_format(path).name == "espresso-xml"
    bs = read_band_structure(path)
    assert bs.source_format == "espresso-xml" and bs.material_id == "ws2"
    np.testing.assert_allclose(bs.energies, ws2.energies, atol=1e-9)
    np.testing.assert_allclose(bs.kpoints, ws2.kpoints, atol=1e-9)
    assert bs.path_string == ws2.path_string and bs.segments == ws2.segments
    assert bs.efermi == pytest.approx((homo + lumo) / 2)
    assert bs.metadata["efermi_source"] == "data-file-schema.xml (mid-gap)"
    assert bs.band_gap().energy == pytest.approx(ws2.band_gap().energy, abs=1e-9)


def test_xml_spin_polarised_with_fermi_energy(tmp_path, ws2):
    path = _xml_from_log(ws2, tmp_path, 0.25, {"fermi_energy": -4.6})
    bs = read_band_structure(path)
    assert bs.nspin == 2 and bs.efermi == pytest.approx(-4.6)
    np.testing.assert_allclose(bs.energies[1] - bs.energies[0], 0.25, atol=1e-9)
    assert bs.metadata["spin_orbit"] is False


def test_self_consistent_xml_is_not_a_band_structure(tmp_path, ws2):
    path = _xml_from_log(ws2, tmp_path, None, {"fermi_energy": -4.6})
    path.write_text(path.read_text().replace("<calculation>bands", "<calculation>scf"))
    assert detect_file_format(path) is None


def test_pw_output_header_facts(log):
    parsed = espresso.parse_pw_output(log)
    assert parsed["nelec"] == 40.0 and parsed["noncolin"] and not parsed["lsda"]
    assert parsed["fermi"] == {}  # a bands run states no Fermi level
