"""Special points: label spelling, lattice types, slabs' vacuum axis, labels from coordinates."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from bandprint.errors import BandprintError
from bandprint.kpath import (
    bravais_lattice,
    infer_label,
    kpath_spec,
    lattice_type_2d,
    normalize_label,
    vacuum_axis,
    vacuum_gaps,
)
from bandprint.read import read_band_structures


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("\\Gamma", "Γ"),
        ("$\\Gamma$", "Γ"),
        ("GAMMA", "Γ"),
        ("Gamma", "Γ"),
        ("G", "Γ"),
        ("GM", "Γ"),
        ("γ", "Γ"),
        ("\\mathrm{\\Gamma}", "Γ"),
        ("X_1", "X1"),
        ("X$_1$", "X1"),
        ("X_{1}", "X1"),
        ("X₁", "X1"),
        ("\\Sigma_1", "Σ1"),
        ("SIGMA1", "Σ1"),
        ("K'", "K'"),
        ("K′", "K'"),
        ("K^\\prime", "K'"),
        ("m", "M"),
        ("A1", "A1"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_label(raw, want):
    assert normalize_label(raw) == want


def _labelled_points(bs):
    for s in bs.segments:
        for idx, lab in ((s.start, s.start_label), (s.stop - 1, s.end_label)):
            if lab:
                yield bs.kpoints[idx], lab


@pytest.mark.parametrize(
    ("path", "lattice", "n_labels"),
    [
        ("pymatgen-json/CaO_2605_bandstructure.json", "FCC", 6),
        ("pymatgen-json/Cu_30_bandstructure.json", "FCC", 6),
        ("pymatgen-json/InN_22205_bandstructure.json", "HEX", 6),
        ("matminer-json/VBr2_971787_bandstructure.json", "HEX", 6),
        ("vasp/OsO2/vasprun.xml.gz", "TET", 6),
        ("castep/Si2.bands", "FCC", 5),
    ],
)
def test_labels_inferred_from_coordinates_match_the_files(real_dir, path, lattice, n_labels):
    """Every labelled k-point of a real file gets its own label back from its coordinates
    and the file's reciprocal lattice alone (MP and VASP write Setyawan–Curtarolo points,
    CASTEP's Si2 path uses the same names)."""
    bs = read_band_structures(real_dir / path)[0]
    spec = kpath_spec(bs.reciprocal_lattice)
    assert spec.lattice_type == lattice
    seen = set()
    for k, lab in _labelled_points(bs):
        assert spec.label_of(k) == normalize_label(lab), (lab, k)
        seen.add(lab)
    assert len(seen) == n_labels


def test_castep_fe_point_labelled_p_is_not_p(real_dir):
    """sumo's Fe.cell writes ``0.75 0.25 -0.25 !P`` in a bcc primitive basis: that point is
    2π/a (0, 1/2, 1), the middle of Γ–H (a reciprocal-lattice translation of (0, −1/2, 0)),
    not P = 2π/a (1/2, 1/2, 1/2). The true P, (1/4, 1/4, 1/4) here, is named P."""
    bs = read_band_structures(real_dir / "castep/Fe.bands")[0]
    spec = kpath_spec(bs.reciprocal_lattice)
    assert spec.lattice_type == "BCC"
    a = 2.8664  # 2 × 1.4332 Å, the cubic edge of the cell in Fe.cell
    cart = np.array([0.75, 0.25, -0.25]) @ bs.reciprocal_lattice
    np.testing.assert_allclose(cart, 2 * np.pi / a * np.array([0, 0.5, 1.0]), atol=1e-4)
    assert spec.label_of([0.75, 0.25, -0.25]) is None
    assert spec.label_of([0.25, 0.25, 0.25]) == "P"
    assert spec.label_of([0.5, 0.5, 0.5]) == "H"


def test_symmetry_images_and_translations_keep_the_label(real_dir):
    """K′ = (2/3, −1/3, 0), −K and K + b1 of hexagonal InN are all K; M's images are M."""
    bs = read_band_structures(real_dir / "pymatgen-json/InN_22205_bandstructure.json")[0]
    spec = kpath_spec(bs.reciprocal_lattice)
    for k in ([1 / 3, 1 / 3, 0], [2 / 3, -1 / 3, 0], [-1 / 3, -1 / 3, 0], [4 / 3, 1 / 3, 0]):
        assert spec.label_of(k) == "K", k
    for k in ([0.5, 0, 0], [0, 0.5, 0], [0.5, -0.5, 0], [-0.5, 1, 0]):
        assert spec.label_of(k) == "M", k
    assert spec.label_of([0.5, 0, 0.5]) == "L"
    assert spec.label_of([0.25, 0, 0]) is None


def test_labels_do_not_depend_on_the_order_of_the_cell_vectors(real_dir):
    """The same InN cell written (c, a, b): every special point keeps its name."""
    bs = read_band_structures(real_dir / "pymatgen-json/InN_22205_bandstructure.json")[0]
    perm = [2, 0, 1]
    spec = kpath_spec(bs.reciprocal_lattice[perm])
    for k, lab in _labelled_points(bs):
        assert spec.label_of(k[perm]) == normalize_label(lab), lab


def test_conventional_cell_with_atoms():
    """fcc Cu in its 4-atom cubic cell: k = 2π/a (1, 0, 0) is X and 2π/a (½, ½, ½) is L; in
    that cell's reciprocal basis (b_i = 2π/a e_i) they sit at (1, 0, 0) and (½, ½, ½)."""
    cu = Structure.from_spacegroup("Fm-3m", Lattice.cubic(3.61), ["Cu"], [[0, 0, 0]])
    assert len(cu) == 4
    assert bravais_lattice(cu) == "FCC"
    rec = cu.lattice.reciprocal_lattice.matrix
    assert infer_label([1, 0, 0], rec, structure=cu) == "X"
    assert infer_label([0.5, 0.5, 0.5], rec, structure=cu) == "L"
    assert infer_label([0, 0, 0], rec, structure=cu) == "Γ"


def _cell(a, b, gamma_deg, c=20.0):
    g = np.radians(gamma_deg)
    return np.array([[a, 0, 0], [b * np.cos(g), b * np.sin(g), 0], [0, 0, c]])


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        (_cell(3.0, 3.0, 120), "hexagonal"),
        (_cell(3.0, 3.0, 60), "hexagonal"),
        (_cell(3.0, 3.0, 90), "square"),
        (_cell(3.0, 4.0, 90), "rectangular"),
        (_cell(3.0, 3.0, 70), "centred rectangular"),
        # a = 3 and b with b·a = a²/2: b and b − a equally long (a centred rectangular cell)
        (np.array([[3.0, 0, 0], [1.5, 3.7, 0], [0, 0, 20]]), "centred rectangular"),
        (np.array([[3.0, 0, 0], [1.1, 3.5, 0], [0, 0, 20]]), "oblique"),
        # hexagonal written with a non-reduced basis (a, a + b)
        (np.array([[3.0, 0, 0], [4.5, 3 * np.sqrt(3) / 2, 0], [0, 0, 20]]), "hexagonal"),
    ],
)
def test_lattice_type_2d(cell, want):
    assert lattice_type_2d(cell, axis=2) == want
    assert kpath_spec(2 * np.pi * np.linalg.inv(cell).T, two_d=True, axis=2).lattice_type == want


def _slab(vacuum_axis_index: int) -> Structure:
    """A MoS2-like hexagonal monolayer (a = 3.18 Å, S planes ±1.56 Å) with 20 Å of cell along
    ``vacuum_axis_index``."""
    a = 3.18
    in_plane = [np.array([a, 0, 0]), np.array([-a / 2, a * np.sqrt(3) / 2, 0])]
    vectors: list[np.ndarray] = [np.zeros(3)] * 3
    others = [i for i in range(3) if i != vacuum_axis_index]
    vectors[others[0]], vectors[others[1]] = in_plane
    vectors[vacuum_axis_index] = np.array([0, 0, 20.0])
    lat = np.array(vectors)
    if np.linalg.det(lat) < 0:
        lat[others[0]], lat[others[1]] = in_plane[1], in_plane[0]
    cart = [[0, 0, 0], [0, a / np.sqrt(3), 1.56], [0, a / np.sqrt(3), -1.56]]
    return Structure(lat, ["Mo", "S", "S"], cart, coords_are_cartesian=True)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_vacuum_axis_is_found_not_assumed(axis):
    slab = _slab(axis)
    gaps = vacuum_gaps(slab)
    # 20 Å of cell minus the 3.12 Å thick S–Mo–S sheet
    assert gaps[axis] == pytest.approx(20.0 - 3.12, abs=1e-6)
    assert vacuum_axis(slab) == axis
    assert lattice_type_2d(slab) == "hexagonal"
    spec = kpath_spec(structure=slab)
    assert spec.is_2d and spec.axis == axis and spec.lattice_type == "hexagonal"
    assert spec.path_string == "Γ–M–K–Γ"
    # K of the hexagonal plane; a point off the plane is no in-plane special point
    k = np.zeros(3)
    k[[i for i in range(3) if i != axis]] = [1 / 3, 1 / 3]
    assert spec.label_of(k) == "K"
    k[axis] = 0.5
    assert spec.label_of(k) is None


def test_bulk_has_no_vacuum_axis():
    graphite_like = Structure(
        Lattice.hexagonal(2.46, 6.70),
        ["C"] * 4,
        [[0, 0, 0.25], [0, 0, 0.75], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]],
    )
    assert vacuum_gaps(graphite_like).max() == pytest.approx(3.35)
    assert vacuum_axis(graphite_like) is None
    assert kpath_spec(structure=graphite_like).is_2d is False


def test_rectangular_x_lies_along_the_shorter_vector():
    """Whichever way the cell is written, X = π/a along the shorter direct vector a."""
    for cell, x_at in ((_cell(3.0, 4.0, 90), [0.5, 0, 0]), (_cell(4.0, 3.0, 90), [0, 0.5, 0])):
        spec = kpath_spec(2 * np.pi * np.linalg.inv(cell).T, two_d=True, axis=2)
        assert spec.label_of(x_at) == "X"
        assert spec.label_of([0.5, 0.5, 0]) == "S"
        assert spec.path_string == "Γ–X–S–Y–Γ"


def test_infer_label_checks_the_2d_type():
    rec = 2 * np.pi * np.linalg.inv(_cell(3.0, 3.0, 120)).T
    assert infer_label([1 / 3, 1 / 3, 0], rec, "hexagonal", axis=2) == "K"
    with pytest.raises(BandprintError, match="hexagonal, not square"):
        infer_label([0.5, 0.5, 0], rec, "square", axis=2)
    with pytest.raises(BandprintError, match="reciprocal lattice or a structure"):
        kpath_spec()
