"""Questaal: the real ZnO bnds files (without and with spin polarisation), syml, init, POSCAR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import discover_sources, read_band_structure
from bandprint.read.questaal import RYDBERG


@pytest.fixture(scope="module")
def zno_dir(real_dir: Path) -> Path:
    return real_dir / "questaal" / "ZnO"


@pytest.fixture(scope="module")
def syml(zno_dir: Path) -> list[list[str]]:
    return [line.split() for line in (zno_dir / "syml.band_calc").read_text().splitlines()]


def test_two_sources_named_apart(zno_dir):
    found = {s.material_id: s.format for s in discover_sources([zno_dir])}
    assert found == {"ZnO-band_calc": "questaal-bnds", "ZnO-band_calc_spin": "questaal-bnds"}


def test_header_lines_and_labels(zno_dir, syml):
    bs = read_band_structure(zno_dir / "bnds.band_calc")
    assert (bs.nbands, bs.nspin) == (62, 1)
    assert bs.efermi == pytest.approx(-0.01339 * RYDBERG)
    lines = [w for w in syml if w[0] != "0"]
    assert [s.stop - s.start for s in bs.segments] == [int(w[0]) for w in lines]
    assert bs.nkpoints == sum(int(w[0]) for w in lines) == 496
    names = [(w[-3], w[-1]) for w in lines]
    assert [(s.start_label, s.end_label) for s in bs.segments] == [
        tuple("Γ" if x == "\\Gamma" else x for x in pair) for pair in names
    ]
    assert bs.formula == "ZnO"


def test_cartesian_k_points_land_on_the_syml_corners(zno_dir, syml):
    # bnds: Cartesian in 2π/alat (ALAT=1 Å in init.zno_sym); syml: the same corners, fractional
    bs = read_band_structure(zno_dir / "bnds.band_calc")
    lines = [w for w in syml if w[0] != "0"]
    for seg, w in zip(bs.segments, lines, strict=True):
        np.testing.assert_allclose(bs.kpoints[seg.start], [float(x) for x in w[1:4]], atol=1e-4)
        np.testing.assert_allclose(bs.kpoints[seg.stop - 1], [float(x) for x in w[4:7]], atol=1e-4)


def test_spin_polarised_file_pairs_the_channels(zno_dir):
    plain = read_band_structure(zno_dir / "bnds.band_calc")
    bs = read_band_structure(zno_dir / "bnds.band_calc_spin")
    assert bs.nspin == 2 and bs.nkpoints == plain.nkpoints  # 140 lines for 70 k-points
    # ZnO is non-magnetic: the two channels agree, and agree with the unpolarised run to 1e-3
    np.testing.assert_array_equal(bs.energies[0], bs.energies[1])
    assert np.abs(bs.energies[0] - plain.energies[0]).max() < 2e-3 * RYDBERG
    assert bs.efermi == pytest.approx(-0.01351 * RYDBERG)
    # that E_F (5 decimals in Ry) lies 0.14 meV below the valence-band top, so with the 0.1 meV
    # tolerance of the metal test the top band counts as crossing it: read as stated
    top = bs.energies[0][bs.energies[0] < bs.efermi + 0.01].max()
    assert 1e-4 < top - bs.efermi < 2e-4 and bs.is_metal


def test_gap_of_the_unpolarised_run(zno_dir):
    bs = read_band_structure(zno_dir / "bnds.band_calc")
    gap = bs.band_gap()
    assert not gap.is_metal and gap.direct
    e = bs.energies[0]
    ik = int(np.argmax(np.where(e < bs.efermi, e, -np.inf).max(axis=1)))
    np.testing.assert_allclose(bs.kpoints[ik], 0, atol=1e-9)  # the valence-band top at Γ
    # E_F as stated lies between the valence-band top and the conduction-band bottom
    assert gap.vbm < bs.efermi < gap.cbm


def test_missing_poscar_and_mismatched_syml(tmp_path, zno_dir):
    for name in ("bnds.band_calc", "syml.band_calc", "init.zno_sym"):
        (tmp_path / name).write_bytes((zno_dir / name).read_bytes())
    with pytest.raises(ReadError, match="no POSCAR beside it"):
        read_band_structure(tmp_path / "bnds.band_calc")
    (tmp_path / "POSCAR").write_bytes((zno_dir / "POSCAR").read_bytes())
    text = (zno_dir / "syml.band_calc").read_text().replace("   41 ", "   42 ", 1)
    (tmp_path / "syml.band_calc").write_text(text)
    with pytest.raises(ReadError, match="the syml file says"):
        read_band_structure(tmp_path / "bnds.band_calc")
