"""FHI-aims: the real Ge run (band1001.out… with control.in, geometry.in, main output) and the
real Fe sample that holds only the spin-down files of a spin-polarised run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import discover_sources, read_band_structure

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # ASE's aims IO notice

# The main output's last chemical potential and its "Band gap" of the total set of bands.
GE_MU = -5.00245630
GE_HOMO, GE_LUMO = -5.00515539, -5.00163269


@pytest.fixture(scope="module")
def ge_dir(real_dir: Path) -> Path:
    return real_dir / "fhi-aims" / "Ge"


@pytest.fixture(scope="module")
def ge(ge_dir: Path):
    return read_band_structure(ge_dir)


def test_ge_counts_labels_and_cell(ge, ge_dir):
    lines = [x.split() for x in (ge_dir / "control.in").read_text().splitlines()]
    bands = [w for w in lines if w[:2] == ["output", "band"]]
    assert len(bands) == len(ge.segments) == 10
    assert ge.nkpoints == sum(int(w[8]) for w in bands) == 280
    assert [s.stop - s.start for s in ge.segments] == [int(w[8]) for w in bands]
    assert [(s.start_label, s.end_label) for s in ge.segments] == [
        tuple("Γ" if x == "G" else x for x in w[9:11]) for w in bands
    ]
    # 90 columns: index, k1 k2 k3, then 43 (occupation, energy) pairs
    assert ge.nbands == 43 and ge.nspin == 1
    np.testing.assert_allclose(ge.kpoints[0], [0, 0, 0])
    np.testing.assert_allclose(ge.kpoints[43], [0.5, 0, 0.5])
    from ase.io import read

    atoms = read(ge_dir / "geometry.in", format="aims")
    np.testing.assert_allclose(ge.structure.lattice.matrix, atoms.cell[:], atol=1e-12)
    assert ge.formula == "Ge" and ge.material_id == "Ge"


def test_ge_energies_are_the_files_plus_the_chemical_potential(ge, ge_dir):
    first = np.loadtxt(ge_dir / "band1001.out")[0]
    assert ge.efermi == GE_MU
    assert ge.metadata["efermi_source"] == "main output (chemical potential)"
    np.testing.assert_allclose(ge.energies[0, 0], first[5::2] + GE_MU, atol=1e-12)


def test_ge_band_edges_agree_with_what_fhi_aims_prints(ge):
    gap = ge.band_gap()
    # FHI-aims: highest occupied -5.00515539 eV, lowest unoccupied -5.00163269 eV, difference
    # 0.00352270 eV; on this path a band crosses E_F between two k-points, so it is a metal here
    assert abs(gap.vbm - GE_HOMO) < 0.01 and abs(gap.cbm - GE_LUMO) < 0.01
    assert abs((gap.cbm - gap.vbm) - 0.00352270) < 1e-4


def test_without_main_output_energies_stay_relative(tmp_path, ge_dir, ge):
    folder = tmp_path / "Ge"
    shutil.copytree(ge_dir, folder)
    (folder / "calculation.out").unlink()
    bs = read_band_structure(folder)
    assert bs.efermi == 0.0
    np.testing.assert_allclose(bs.energies, ge.energies - GE_MU, atol=1e-9)
    assert read_band_structure(folder, efermi=GE_MU) == read_band_structure(folder, efermi=GE_MU)
    np.testing.assert_allclose(read_band_structure(folder, efermi=1.0).energies, bs.energies + 1)


def test_two_spin_channels(tmp_path, ge_dir, ge):
    # Ge's files as spin up, the same shifted by 0.3 eV as spin down: the layout of a
    # spin-polarised run, to follow both channels through (the Fe sample lacks spin up).
    folder = tmp_path / "Ge-spin"
    shutil.copytree(ge_dir, folder)
    for p in sorted(folder.glob("band1*.out")):
        a = np.loadtxt(p)
        a[:, 5::2] += 0.3
        np.savetxt(folder / p.name.replace("band1", "band2"), a, fmt="%.7f")
    control = folder / "control.in"
    control.write_text(
        control.read_text().replace("spin                               none", "spin collinear")
    )
    bs = read_band_structure(folder)
    assert bs.nspin == 2
    np.testing.assert_allclose(bs.energies[1] - bs.energies[0], 0.3, atol=1e-9)
    np.testing.assert_allclose(bs.energies[0], ge.energies[0])
    (folder / "band2003.out").unlink()
    with pytest.raises(ReadError, match="different segments"):
        read_band_structure(folder)


def test_fe_sample_lacks_spin_up_and_says_so(data_dir):
    folder = data_dir / "real-incomplete" / "fhi-aims" / "Fe-spin"
    (src,) = discover_sources([folder])
    assert src.format == "fhi-aims" and len(src.paths) == 4  # 3 band files, main output
    with pytest.raises(ReadError) as err:
        read_band_structure(folder)
    assert err.value.reason == "a spin-polarised run, but only spin 2 (band2…) band files are here"
    assert err.value.path.endswith("band2001.out")


def test_segment_count_must_match_control_in(tmp_path, ge_dir):
    folder = tmp_path / "Ge"
    shutil.copytree(ge_dir, folder)
    (folder / "band1010.out").unlink()
    with pytest.raises(ReadError, match="10 'output band' lines but 9 band files"):
        read_band_structure(folder)
