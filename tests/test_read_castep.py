"""CASTEP .bands + .cell reader, checked against sumo's header JSON and the geometry of the cell."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from ase.units import Bohr, Hartree

from bandprint.errors import ReadError
from bandprint.read import castep as castep_reader
from bandprint.read import detect_file_format, discover_sources, read_band_structure, read_source
from read_helpers import kpoint_labels, pymatgen_kpoint_labels


@pytest.fixture(scope="module")
def castep_dir(real_dir: Path) -> Path:
    return real_dir / "castep"


def raw_kpoint_blocks(path: Path) -> dict[int, tuple[list[float], list[float]]]:
    """K-point index → (k, eigenvalues of spin 1 in Hartree), straight from the text."""
    text = path.read_text()
    out = {}
    for m in re.finditer(
        r"K-point\s+(\d+)((?:\s+\S+){4})\s*\nSpin component 1\n((?:\s+\S+\n)+)", text
    ):
        out[int(m.group(1))] = (
            [float(x) for x in m.group(2).split()[:3]],
            [float(x) for x in m.group(3).split()],
        )
    return out


def cell_lattice(path: Path) -> np.ndarray:
    """The %block lattice_cart of a .cell, in Å (what the user wrote, independent of .bands)."""
    text = path.read_text()
    m = re.search(r"%block lattice_cart\s*\n(.*?)%endblock", text, re.IGNORECASE | re.DOTALL)
    return np.array([[float(x) for x in ln.split()[:3]] for ln in m.group(1).strip().splitlines()])


@pytest.mark.parametrize("seed", ["Si2", "Fe"])
def test_header_values_match_sumo(castep_dir, seed):
    header = json.loads((castep_dir / f"{seed}.bands_header.json").read_text())
    bs = read_band_structure(castep_dir / f"{seed}.bands")
    assert bs.nkpoints == header["n_kpoints"]
    assert bs.nspin == header["n_spins"]
    assert bs.nbands == header["n_bands"][0]
    assert bs.efermi == pytest.approx(header["e_fermi"][0] * Hartree, abs=1e-12)
    real = np.asarray(header["lattice_vectors"]) * Bohr
    np.testing.assert_allclose(bs.reciprocal_lattice, 2 * np.pi * np.linalg.inv(real).T)
    assert bs.material_id == seed
    assert bs.source_format == "castep-bands"
    assert bs.metadata["nelectrons"] == header["n_electrons"]


@pytest.mark.parametrize(
    ("seed", "path", "formula"),
    [("Si2", "W–L–Γ–X–W–K", "Si"), ("Fe", "Γ–H–N–Γ–P–N", "Fe")],
)
def test_path_labels_and_geometry(castep_dir, seed, path, formula):
    bs = read_band_structure(castep_dir / f"{seed}.bands")
    assert bs.path_string == path
    assert bs.formula == formula
    # Every tick-to-tick distance is |Δk| in 1/Å with 2π, computed from the .cell (Å), not
    # from the .bands header (Bohr): checks the unit conversion and the 2π convention.
    rec = 2 * np.pi * np.linalg.inv(cell_lattice(castep_dir / f"{seed}.cell")).T
    for s in bs.segments:
        dk = (bs.kpoints[s.stop - 1] - bs.kpoints[s.start]) @ rec
        travelled = bs.distances[s.stop - 1] - bs.distances[s.start]
        assert travelled == pytest.approx(np.linalg.norm(dk), rel=1e-5)


def test_kpoints_sorted_by_index_and_energies_converted(castep_dir):
    raw = raw_kpoint_blocks(castep_dir / "Si2.bands")
    assert len(raw) == 44 and list(raw)[:3] == [1, 5, 9]  # CASTEP wrote them out of order
    bs = read_band_structure(castep_dir / "Si2.bands")
    for index, (k, eigs) in raw.items():
        np.testing.assert_allclose(bs.kpoints[index - 1], k)
        np.testing.assert_allclose(bs.energies[0, index - 1], np.array(eigs) * Hartree)
    np.testing.assert_allclose(bs.kpoints[0], [0.5, 0.25, 0.75])  # W, first on the path


def test_spin_polarised_iron_keeps_both_channels(castep_dir):
    bs = read_band_structure(castep_dir / "Fe.bands")
    assert bs.is_spin_polarized
    assert bs.energies[1, 0, 0] == pytest.approx(-0.11871227 * Hartree)
    assert bs.energies[0, 0, 0] == pytest.approx(-0.13289110 * Hartree)
    assert "efermi_per_spin" not in bs.metadata  # both channels report 0.173332 Ha
    assert bs.is_metal


def test_same_as_pymatgen_built_the_sumo_way(castep_dir):
    """sumo's castep.band_structure builds a BandStructureSymmLine from the sorted k-points and
    the .cell labels; built here from the raw text with a 2π reciprocal lattice, pymatgen
    agrees on labels, distances and the gap."""
    from pymatgen.core import Lattice
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine
    from pymatgen.electronic_structure.core import Spin

    raw = raw_kpoint_blocks(castep_dir / "Si2.bands")
    order = sorted(raw)
    kpts = np.array([raw[i][0] for i in order])
    eigs = np.array([raw[i][1] for i in order]).T * Hartree
    header = json.loads((castep_dir / "Si2.bands_header.json").read_text())
    real = np.asarray(header["lattice_vectors"]) * Bohr
    labels = {"W": [0.5, 0.25, 0.75], "L": [0.5, 0.5, 0.5], "\\Gamma": [0, 0, 0]}
    labels |= {"X": [0.5, 0, 0.5], "K": [0.375, 0.375, 0.75]}
    pmg = BandStructureSymmLine(
        kpts,
        {Spin.up: eigs},
        Lattice(2 * np.pi * np.linalg.inv(real).T),
        header["e_fermi"][0] * Hartree,
        labels,
    )
    bs = read_band_structure(castep_dir / "Si2.bands")
    assert kpoint_labels(bs) == pymatgen_kpoint_labels(pmg)
    np.testing.assert_allclose(bs.distances, pmg.distance, atol=1e-9)
    assert bs.is_metal == pmg.is_metal()


def test_silicon_reports_its_scf_fermi_level(castep_dir):
    """The .bands Fermi level is the self-consistent one, from a grid without Γ: it sits below
    the valence-band maximum at Γ on the path, so by pymatgen's rule the band structure
    crosses it. Kept as written (sumo and pymatgen do the same)."""
    bs = read_band_structure(castep_dir / "Si2.bands")
    e = bs.energies[0]
    assert e[:, 3].max() - bs.efermi == pytest.approx(0.3219, abs=1e-3)
    assert e[:, 4].min() > e[:, 3].max()  # the 4 occupied bands (8 electrons) are separated


def test_grid_bands_file_reads_unlabelled_with_a_note(castep_dir):
    bs = read_band_structure(castep_dir / "NiO.bands")
    assert (bs.nkpoints, bs.nbands, bs.nspin) == (4, 22, 2)
    assert bs.metadata["kpath"] == "unlabelled"
    assert "SPECTRAL_KPOINTS_MP_GRID" in bs.metadata["kpath_note"]
    assert bs.formula == "NiO"
    assert bs.path_string == "?–?"


def test_renamed_bands_file_is_recognised_by_its_header(tmp_path, castep_dir):
    shutil.copy(castep_dir / "Si2.bands", tmp_path / "silicon_run")
    assert detect_file_format(tmp_path / "silicon_run").name == "castep-bands"
    bs = read_band_structure(tmp_path / "silicon_run")
    assert bs.material_id == "silicon_run"
    assert bs.metadata["kpath"] == "unlabelled"  # no silicon_run.cell beside it
    shutil.copy(castep_dir / "Si2.cell", tmp_path / "silicon_run.cell")
    (src,) = discover_sources([tmp_path])
    assert src.paths[1].endswith("silicon_run.cell")
    assert read_source(src)[0].path_string == "W–L–Γ–X–W–K"


SI2_PATH_VARIANTS = {
    "comments with # and no spaces": (
        "%BLOCK BS_KPOINT_PATH\n0.5 0.25 0.75 #W\n0.5 0.5 0.5 #L\n0 0 0 #G\n"
        "0.5 0 0.5 #X\n0.5 0.25 0.75 #W\n0.375 0.375 0.75 #K\n%ENDBLOCK BS_KPOINT_PATH\n"
    ),
    "spectral block, Gamma spelt out": (
        "%block spectral_kpoints_path\n0.5 0.25 0.75 ! W\n0.5 0.5 0.5 ! L\n"
        "0.0 0.0 0.0 ! Gamma\n0.5 0.0 0.5 ! X\n0.5 0.25 0.75 ! W\n0.375 0.375 0.75 ! K\n"
        "%endblock spectral_kpoints_path\n"
    ),
}


@pytest.mark.parametrize("variant", sorted(SI2_PATH_VARIANTS))
def test_cell_label_variants(tmp_path, castep_dir, variant):
    shutil.copy(castep_dir / "Si2.bands", tmp_path / "Si2.bands")
    cell = (castep_dir / "Si2.cell").read_text()
    cell = re.sub(r"%block bs_kpoint_path.*?%endblock bs_kpoint_path", "", cell, flags=re.S)
    (tmp_path / "Si2.cell").write_text(cell + SI2_PATH_VARIANTS[variant])
    assert read_band_structure(tmp_path / "Si2.bands").path_string == "W–L–Γ–X–W–K"


def test_break_in_path_block_and_labels(tmp_path):
    cell = tmp_path / "x.cell"
    cell.write_text(
        "%block lattice_cart\nang\n3 0 0\n0 3 0\n0 0 3\n%endblock lattice_cart\n"
        "%block positions_frac\nNa:1 0 0 0\n%endblock positions_frac\n"
        "%block bs_kpoint_path\n0 0 0 ! G\n0.5 0 0 ! X\nBREAK\n0.5 0.5 0 ! M\n0 0 0 ! G\n"
        "%endblock bs_kpoint_path\n"
    )
    parsed = castep_reader.parse_cell(cell)
    labels, block = parsed.kpath_labels()
    assert block == "bs_kpoint_path" and sorted(labels) == ["M", "X", "Γ"]
    assert parsed.structure().composition.reduced_formula == "Na"


def test_bad_bands_files(tmp_path, castep_dir):
    lines = (castep_dir / "Si2.bands").read_text().splitlines()
    cases = {
        "fewer_kpoints_than_header": ["Number of k-points    45", *lines[1:]],
        "missing_eigenvalue": lines[:15] + lines[16:],
        "nan_eigenvalue": [*lines[:12], "   NaN", *lines[13:]],
        "duplicate_index": [
            *lines[:9],
            lines[9].replace("K-point     1", "K-point     5"),
            *lines[10:],
        ],
        "not_atomic_units": [*lines[:4], "Fermi energy (in eV)     6.06", *lines[5:]],
        "zero_cell": lines[:6] + ["0 0 0"] * 3 + lines[9:],
        "truncated": lines[: len(lines) // 2],
    }
    for name, content in cases.items():
        p = tmp_path / f"{name}.bands"
        p.write_text("\n".join(content) + "\n")
        with pytest.raises(ReadError) as err:
            read_band_structure(p)
        assert str(p) in str(err.value) and "\n" not in str(err.value), name


def test_bad_cell_file_is_named(tmp_path, castep_dir):
    shutil.copy(castep_dir / "Si2.bands", tmp_path / "Si2.bands")
    cell = (castep_dir / "Si2.cell").read_text().replace("%endblock bs_kpoint_path", "")
    (tmp_path / "Si2.cell").write_text(cell)
    with pytest.raises(ReadError, match="never closed") as err:
        read_band_structure(tmp_path / "Si2.bands")
    assert "Si2.cell" in str(err.value)
