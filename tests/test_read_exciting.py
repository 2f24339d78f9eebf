"""exciting: the real CeO2 run (bandstructure.xml with input.xml and info.xml)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import discover_sources, read_band_structure
from bandprint.read.units import BOHR, HARTREE


@pytest.fixture(scope="module")
def ceo_dir(real_dir: Path) -> Path:
    return real_dir / "exciting" / "CeO"


@pytest.fixture(scope="module")
def ceo(ceo_dir: Path):
    return read_band_structure(ceo_dir)


def test_one_source_with_its_input_and_info(ceo_dir):
    (src,) = discover_sources([ceo_dir])
    assert src.format == "exciting" and [Path(p).name for p in src.paths] == [
        "bandstructure.xml",
        "input.xml",
        "info.xml",
    ]


def test_counts_labels_and_fermi_level(ceo, ceo_dir):
    text = (ceo_dir / "bandstructure.xml").read_text()
    assert ceo.nbands == text.count("<band>") == 106
    assert ceo.nkpoints == 100 and ceo.nspin == 1
    # the path of input.xml's <plot1d>, each vertex where its path length is
    assert ceo.path_string == "Γ–X–W–K–Γ–L–U–W–L–K"
    vertices = [float(x) for x in re.findall(r'<vertex distance="([^"]+)"', text)]
    ticks = [x for x, _ in ceo.labels]
    np.testing.assert_allclose(ticks, np.array(vertices) / BOHR, atol=1e-9)
    fermi = re.findall(r'fermiEnergy="([^"]+)"', (ceo_dir / "info.xml").read_text())
    assert ceo.efermi == pytest.approx(float(fermi[-1]) * HARTREE)
    first = float(re.search(r'eval="([^"]+)"', text).group(1))
    assert ceo.energies[0, 0, 0] == pytest.approx(first * HARTREE + ceo.efermi)


def test_k_points_and_cell_reproduce_exciting_path_lengths(ceo):
    np.testing.assert_allclose(ceo.kpoints[[0, 99]], [[0, 0, 0], [0.375, 0.375, 0.75]])
    cart = ceo.kpoints @ ceo.reciprocal_lattice
    lengths = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(cart, axis=0), axis=1))])
    np.testing.assert_allclose(ceo.distances, lengths, atol=1e-8)
    # input.xml: basevect (0, 2.7055, 2.7055)… in Å (scale = 1/Bohr), Ce at ½, O at ¼ and ¾
    np.testing.assert_allclose(
        ceo.structure.lattice.matrix, 2.7055 * (np.ones((3, 3)) - np.eye(3)), atol=1e-6
    )
    assert ceo.formula == "CeO2"


def test_states_below_fermi_level_match_the_valence_charge(ceo, ceo_dir):
    # info.xml: 24 valence electrons, one per second-variational state; 23 or 24 states lie
    # below E_F along the path, so a band crosses it: a metal in this run
    assert 'valence="24.00000000"' in (ceo_dir / "info.xml").read_text()
    below = (ceo.energies[0] < ceo.efermi).sum(axis=1)
    assert (below.min(), below.max()) == (23, 24)
    assert ceo.is_metal


def test_without_info_energies_stay_relative(tmp_path, ceo_dir, ceo):
    for name in ("bandstructure.xml", "input.xml"):
        (tmp_path / name).write_bytes((ceo_dir / name).read_bytes())
    bs = read_band_structure(tmp_path / "bandstructure.xml")
    assert bs.efermi == 0.0
    np.testing.assert_allclose(bs.energies, ceo.energies - ceo.efermi, atol=1e-9)
    text = (ceo_dir / "bandstructure.xml").read_text()
    (tmp_path / "bandstructure.xml").write_text(
        text.replace('distance="0.6144739817" up', 'distance="0.6" up')
    )
    with pytest.raises(ReadError, match=r"vertex 'X' at 0\.6 is at no k-point"):
        read_band_structure(tmp_path / "bandstructure.xml")
