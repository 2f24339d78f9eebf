"""SIESTA: the real bcc Fe run (Fe.bands with Fe.fdf, Fe.XV, Fe.STRUCT_OUT)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import detect_file_format, read_band_structure
from bandprint.read.units import BOHR


@pytest.fixture(scope="module")
def fe_dir(real_dir: Path) -> Path:
    return real_dir / "siesta" / "Fe"


@pytest.fixture(scope="module")
def fe(fe_dir: Path):
    return read_band_structure(fe_dir / "Fe.bands")


def test_header_values_and_layout(fe, fe_dir):
    lines = (fe_dir / "Fe.bands").read_text().splitlines()
    assert fe.efermi == float(lines[0]) == -5.89300246620492
    assert (fe.nbands, fe.nspin, fe.nkpoints) == tuple(int(x) for x in lines[3].split())
    assert (fe.nbands, fe.nspin, fe.nkpoints) == (15, 2, 131)
    # line 5 starts the first k-point: path length, spin-1 bands, then spin 2 (10 a line)
    first = [float(x) for x in " ".join(lines[4:7]).split()]
    np.testing.assert_array_equal(fe.energies[0, 0], first[1:16])
    np.testing.assert_array_equal(fe.energies[1, 0], first[16:31])
    assert fe.source_format == "siesta-bands" and fe.material_id == "Fe"


def test_labels_sit_where_bandlines_put_them(fe):
    # %block BandLines: 1 Γ, 40 H, 28 N, 28 Γ, 34 P
    assert fe.path_string == "Γ–H–N–Γ–P"
    assert [s.start for s in fe.segments] == [0, 40, 68, 96]
    assert fe.segments[-1].stop == 131
    # BandLines in units of π/a: H = (2, 0, 0), N = (1, 1, 0), P = (1, 1, 1); fractional in
    # the bcc cell (a/2)(1, 1, 1), (a/2)(1, -1, 1), (a/2)(1, 1, -1):
    np.testing.assert_allclose(
        fe.kpoints[[0, 40, 68, 96, 130]],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0.5], [0, 0, 0], [0.75, 0.25, 0.25]],
        atol=1e-12,
    )


def test_path_lengths_agree_with_the_k_points_and_the_cell(fe):
    # SIESTA's path lengths (1/Bohr) against lengths from the fdf k-points in the XV cell
    cart = fe.kpoints @ fe.reciprocal_lattice
    lengths = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(cart, axis=0), axis=1))])
    np.testing.assert_allclose(fe.distances, lengths, atol=1e-5)
    assert fe.distances[40] == pytest.approx(1.158508 / BOHR)


def test_structure_from_xv_is_the_fdf_cell(fe):
    # LatticeConstant 2.87 Ang, LatticeVectors (0.5, ±0.5, ±0.5)
    np.testing.assert_allclose(
        fe.structure.lattice.matrix,
        2.87 * np.array([[0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.5, 0.5, -0.5]]),
        atol=1e-6,
    )
    assert fe.formula == "Fe"


def test_ferromagnet_has_exchange_split_spins(fe):
    # bcc Fe is a ferromagnetic metal: spin down lies above spin up
    assert fe.is_metal
    # the five d levels at Γ (bands 2–6): -8.22 … -7.05 eV up, -6.04 … -4.07 eV down
    split = fe.energies[1, 0, 1:6] - fe.energies[0, 0, 1:6]
    assert split.min() > 1.5


def test_not_castep_and_bad_label(tmp_path, fe_dir):
    assert detect_file_format(fe_dir / "Fe.bands").name == "siesta-bands"
    text = (fe_dir / "Fe.bands").read_text().replace("1.158508   'H'", "1.158000   'H'")
    (tmp_path / "Fe.bands").write_text(text)
    with pytest.raises(ReadError, match=r"label 'H' at 1\.158 is at no k-point"):
        read_band_structure(tmp_path / "Fe.bands")
