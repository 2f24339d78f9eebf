"""VASP readers: vasprun.xml (+ KPOINTS), split runs, EIGENVAL; pymatgen is the oracle."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bandprint.errors import ReadError
from bandprint.read import (
    Source,
    detect_file_format,
    discover_sources,
    read_band_structure,
    read_band_structures,
    read_source,
)
from bandprint.read import vasp as vasp_reader
from read_helpers import assert_matches_pymatgen, kpoint_labels
from vasp_fixtures import slim_vasprun, slimmed, write_doscar, write_eigenval, write_outcar

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


# -- oracles, parsed once per module (vasprun parsing is the slow part) -------------------------
@pytest.fixture(scope="module")
def oso2_dir(real_dir: Path) -> Path:
    return real_dir / "vasp" / "OsO2"


@pytest.fixture(scope="module")
def split_dir(real_dir: Path) -> Path:
    return real_dir / "vasp" / "Cs2SnI6-split"


def _pymatgen_band_structure(run: Path):
    from pymatgen.io.vasp.outputs import Vasprun

    vr = Vasprun(str(run / "vasprun.xml.gz"), parse_projected_eigen=False, parse_potcar_file=False)
    return vr.get_band_structure(kpoints_filename=str(run / "KPOINTS.gz"), line_mode=True)


@pytest.fixture(scope="module")
def oso2_pymatgen(oso2_dir: Path):
    return _pymatgen_band_structure(oso2_dir)


@pytest.fixture(scope="module")
def oso2(oso2_dir: Path):
    return read_band_structure(oso2_dir)


@pytest.fixture(scope="module")
def split_pymatgen(split_dir: Path):
    return [_pymatgen_band_structure(split_dir / f"split-0{i}") for i in (1, 2)]


@pytest.fixture(scope="module")
def split(split_dir: Path):
    return read_band_structure(split_dir)


# -- vasprun.xml -------------------------------------------------------------------------------
def test_oso2_vasprun_equals_pymatgen(oso2, oso2_pymatgen):
    assert_matches_pymatgen(oso2, oso2_pymatgen)


def test_oso2_identity_labels_and_fermi_level(oso2, oso2_dir):
    assert oso2.material_id == "OsO2"
    assert oso2.formula == "OsO2"
    assert oso2.source_format == "vasprun"
    # the <dos> efermi VASP wrote, not a recomputed one
    assert oso2.efermi == 5.69540075
    assert oso2.metadata["efermi_source"] == "vasprun.xml"
    # KPOINTS lists the path as single labelled points; every label is kept
    assert oso2.path_string == "Γ–Z–R–X–M–A–Z–Γ–M"
    assert oso2.nkpoints == 463 and oso2.nbands == 36 and oso2.nspin == 1
    assert oso2.structure is not None and oso2.structure.composition.reduced_formula == "OsO2"


def test_labels_survive_the_round_trip_through_pymatgen(oso2):
    back = oso2.to_pymatgen()
    assert {k for k in back.labels_dict} == {"\\Gamma", "Z", "R", "X", "M", "A"}
    assert len(back.kpoints) == oso2.nkpoints


def test_split_runs_are_one_material(split, split_pymatgen):
    from pymatgen.electronic_structure.bandstructure import get_reconstructed_band_structure

    assert split.material_id == "Cs2SnI6-split"
    assert split.formula == "Cs2SnI6"
    # hybrid runs: the weighted self-consistent mesh (36 points) is dropped from each run, the
    # zero-weight path points are concatenated in order, none removed or added
    assert [len(b.kpoints) for b in split_pymatgen] == [60, 51]
    assert split.nkpoints == 60 + 51
    assert split.path_string == "Γ–L–W–X–Γ"
    assert len(split.metadata["split_runs"]) == 2
    assert_matches_pymatgen(split, get_reconstructed_band_structure(split_pymatgen))


def test_split_folder_discovery_groups_the_runs(split_dir):
    sources = list(discover_sources([split_dir]))
    assert len(sources) == 1
    (src,) = sources
    assert src.format == "vasprun" and src.material_id == "Cs2SnI6-split"
    assert [Path(p).parent.name for p in src.paths] == ["split-01"] * 2 + ["split-02"] * 2


# -- derived vasprun files (smaller, spin-polarised, no Fermi level, grid runs) -----------------
@pytest.fixture(scope="module")
def oso2_slim(oso2_dir: Path) -> bytes:
    return slimmed(oso2_dir / "vasprun.xml.gz")


def test_spin_polarised_vasprun_keeps_both_spins(tmp_path, oso2_dir, oso2_slim):
    from pymatgen.io.vasp.outputs import BSVasprun  # the slimmed file has no DOS for Vasprun

    run = tmp_path / "OsO2-spin"
    vasprun = slim_vasprun(oso2_slim, run / "vasprun.xml", spin_down_shift=0.25)
    shutil.copy(oso2_dir / "KPOINTS.gz", run / "KPOINTS.gz")
    bs = read_band_structure(run)
    pmg = BSVasprun(str(vasprun), parse_potcar_file=False).get_band_structure(
        str(run / "KPOINTS.gz"), line_mode=True
    )
    assert bs.is_spin_polarized and bs.nspin == 2
    assert_matches_pymatgen(bs, pmg)
    np.testing.assert_allclose(bs.energies[1] - bs.energies[0], 0.25, atol=1e-4)


def test_renamed_vasprun_is_recognised_by_content(tmp_path, oso2_dir, oso2_slim):
    slim_vasprun(oso2_slim, tmp_path / "OsO2_pbesol.xml")
    shutil.copy(oso2_dir / "KPOINTS.gz", tmp_path / "KPOINTS.gz")
    assert detect_file_format(tmp_path / "OsO2_pbesol.xml").name == "vasprun"
    (src,) = discover_sources([tmp_path])
    assert src.material_id == "OsO2_pbesol"
    assert any(p.endswith("KPOINTS.gz") for p in src.paths)
    bs = read_source(src)[0]
    assert bs.path_string == "Γ–Z–R–X–M–A–Z–Γ–M" and bs.efermi == 5.69540075


def test_band_run_below_a_grid_run_is_found_and_named_after_the_material(
    tmp_path, oso2_dir, oso2_slim
):
    material = tmp_path / "OsO2"
    slim_vasprun(oso2_slim, material / "vasprun.xml", grid=True)
    slim_vasprun(oso2_slim, material / "bands" / "vasprun.xml")
    shutil.copy(oso2_dir / "KPOINTS.gz", material / "bands" / "KPOINTS.gz")
    # the self-consistent run is no band structure: a walk passes it over …
    (src,) = discover_sources([tmp_path])
    band_run = read_source(src)[0]
    assert band_run.material_id == "OsO2" and band_run.nkpoints == 463
    # … and named on its own it says what it is
    with pytest.raises(ReadError, match="self-consistent run on an automatic k-point mesh"):
        read_band_structure(material / "vasprun.xml")


def test_run_folder_hides_neither_sub_runs_nor_other_files(
    tmp_path, oso2_dir, oso2_slim, oso2_raw, real_dir
):
    run = tmp_path / "OsO2"
    slim_vasprun(oso2_slim, run / "vasprun.xml")
    shutil.copy(oso2_dir / "KPOINTS.gz", run / "KPOINTS.gz")
    eigenval_run(run, oso2_raw, oso2_dir)  # EIGENVAL, KPOINTS, POSCAR of the same run
    slim_vasprun(oso2_slim, run / "hse" / "vasprun.xml")
    shutil.copy(oso2_dir / "KPOINTS.gz", run / "hse" / "KPOINTS.gz")
    shutil.copy(real_dir / "pymatgen-json" / "CaO_2605_bandstructure.json", run / "CaO.json")
    sources = list(discover_sources([tmp_path]))
    assert sorted((s.format, s.material_id or "") for s in sources) == [
        ("pymatgen-json", ""),
        ("vasprun", "OsO2"),  # one source for vasprun.xml + EIGENVAL: no duplicate
        ("vasprun", "hse"),
    ]


def test_vasprun_without_kpoints_says_so(tmp_path, oso2_dir, oso2_slim):
    slim_vasprun(oso2_slim, tmp_path / "OsO2" / "vasprun.xml")
    with pytest.raises(ReadError, match="no KPOINTS beside it") as err:
        read_band_structure(tmp_path / "OsO2")
    assert "vasprun.xml" in str(err.value) and "\n" not in str(err.value)


def test_vasprun_without_fermi_level_uses_outcar_or_asks(tmp_path, oso2_dir, oso2_slim):
    run = tmp_path / "OsO2"
    slim_vasprun(oso2_slim, run / "vasprun.xml", drop_efermi=True)
    shutil.copy(oso2_dir / "KPOINTS.gz", run / "KPOINTS.gz")
    with pytest.raises(ReadError, match=r"no Fermi level .*efermi=") as err:
        read_band_structure(run)
    assert str(run / "vasprun.xml") in str(err.value)
    assert read_band_structure(run, efermi=5.5).efermi == 5.5
    write_outcar(run / "OUTCAR", [4.0, 5.6954], lattice=None)
    bs = read_band_structure(run)
    assert bs.efermi == 5.6954 and bs.metadata["efermi_source"] == "OUTCAR"


# -- EIGENVAL ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oso2_raw(oso2_dir: Path):
    """The OsO2 run as pymatgen parses it: k-points, weights, eigenvalues, occupations."""
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import BSVasprun

    vr = BSVasprun(str(oso2_dir / "vasprun.xml.gz"), parse_potcar_file=False)
    eig = vr.eigenvalues[Spin.up]
    return {
        "kpoints": np.asarray(vr.actual_kpoints),
        "weights": np.asarray(vr.actual_kpoints_weights),
        "energies": eig[None, :, :, 0],
        "occupations": eig[None, :, :, 1],
        "structure": vr.final_structure,
    }


def eigenval_run(folder: Path, raw: dict, oso2_dir: Path, spin_shift: float | None = None):
    """A folder with EIGENVAL (written from the real OsO2 eigenvalues), KPOINTS and POSCAR."""
    from pymatgen.io.vasp.inputs import Poscar

    folder.mkdir(parents=True, exist_ok=True)
    energies, occ = raw["energies"], raw["occupations"]
    if spin_shift is not None:
        energies = np.concatenate([energies, energies + spin_shift])
        occ = np.concatenate([occ, occ])
    write_eigenval(
        folder / "EIGENVAL", raw["kpoints"], raw["weights"], energies, occ, 40, 6, "OsO2"
    )
    shutil.copy(oso2_dir / "KPOINTS.gz", folder / "KPOINTS.gz")
    Poscar(raw["structure"]).write_file(folder / "POSCAR")
    return folder


def test_eigenval_gives_the_vasprun_energies(tmp_path, oso2, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    bs = read_band_structure(run / "EIGENVAL", efermi=oso2.efermi)
    assert bs.source_format == "eigenval" and bs.material_id == "OsO2"
    assert bs.metadata["efermi_source"] == "given"
    np.testing.assert_array_equal(bs.energies, oso2.energies)
    np.testing.assert_allclose(bs.kpoints, oso2.kpoints, atol=1e-7)
    np.testing.assert_allclose(bs.distances, oso2.distances, atol=1e-6)
    assert kpoint_labels(bs) == kpoint_labels(oso2)
    assert bs.path_string == oso2.path_string
    assert bs.band_gap() == oso2.band_gap()


def test_eigenval_agrees_with_pymatgens_parser(tmp_path, oso2_raw, oso2_dir):
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import Eigenval

    for spin_shift in (None, 0.3):
        run = eigenval_run(tmp_path / f"run{spin_shift}", oso2_raw, oso2_dir, spin_shift)
        ours = vasp_reader.parse_eigenval(run / "EIGENVAL")
        pmg = Eigenval(str(run / "EIGENVAL"))
        spins = [Spin.up, Spin.down][: ours.energies.shape[0]]
        assert pmg.ispin == len(spins) and pmg.nkpt == 463 and pmg.nbands == 36
        np.testing.assert_array_equal(ours.kpoints, pmg.kpoints)
        np.testing.assert_array_equal(ours.weights, pmg.kpoints_weights)
        for i, s in enumerate(spins):
            np.testing.assert_array_equal(ours.energies[i], pmg.eigenvalues[s][:, :, 0])
            np.testing.assert_array_equal(ours.occupations[i], pmg.eigenvalues[s][:, :, 1])
        bs = read_band_structure(run / "EIGENVAL", efermi=5.0)
        assert bs.nspin == len(spins)


def test_eigenval_fermi_level_from_siblings(tmp_path, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    with pytest.raises(ReadError, match=r"no Fermi level.*efermi=") as err:
        read_band_structure(run)
    assert str(run / "EIGENVAL") in str(err.value) and "\n" not in str(err.value)

    write_doscar(run / "DOSCAR", 5.61)
    bs = read_band_structure(run)
    assert (bs.efermi, bs.metadata["efermi_source"]) == (5.61, "DOSCAR")

    shutil.copy(oso2_dir / "vasprun.xml.gz", run / "vasprun.xml.gz")
    bs = read_band_structure(run / "EIGENVAL")  # the file itself; the folder is a vasprun run
    assert (bs.efermi, bs.metadata["efermi_source"]) == (5.69540075, "vasprun.xml")

    write_outcar(run / "OUTCAR", [1.0, 2.0, 5.6891], lattice=None)
    bs = read_band_structure(run / "EIGENVAL")
    assert (bs.efermi, bs.metadata["efermi_source"]) == (5.6891, "OUTCAR")  # the last one
    assert read_band_structure(run / "EIGENVAL", efermi=4.2).efermi == 4.2


def test_eigenval_cell_from_outcar_and_missing_cell(tmp_path, oso2, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    (run / "POSCAR").unlink()
    with pytest.raises(ReadError, match="no cell"):
        read_band_structure(run, efermi=5.0)
    write_outcar(run / "OUTCAR", [5.0], lattice=oso2_raw["structure"].lattice.matrix)
    bs = read_band_structure(run)
    np.testing.assert_allclose(bs.reciprocal_lattice, oso2.reciprocal_lattice, atol=1e-8)
    assert bs.formula is None and bs.structure is None


def test_eigenval_without_occupations_and_renamed(tmp_path, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    old_style = tmp_path / "OsO2" / "EIGENVAL.old"
    lines = (run / "EIGENVAL").read_text().splitlines()
    head, body = lines[:8], lines[8:]
    old_style.write_text(
        "\n".join(head + [" ".join(ln.split()[:2]) if len(ln.split()) == 3 else ln for ln in body])
    )
    assert detect_file_format(old_style).name == "eigenval"
    eig = vasp_reader.parse_eigenval(old_style)
    assert eig.occupations is None
    np.testing.assert_array_equal(eig.energies, oso2_raw["energies"])


def test_eigenval_folder_is_one_source_with_its_siblings(tmp_path, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    write_doscar(run / "DOSCAR", 5.61)
    (src,) = discover_sources([tmp_path])
    assert src.format == "eigenval" and src.material_id == "OsO2"
    assert {Path(p).name for p in src.paths} == {"EIGENVAL", "KPOINTS.gz", "DOSCAR", "POSCAR"}
    assert read_source(src)[0].efermi == 5.61
    assert read_band_structures(tmp_path, efermi=1.5)[0].efermi == 1.5


def test_eigenval_dimension_mismatches(tmp_path, oso2_raw, oso2_dir):
    run = eigenval_run(tmp_path / "OsO2", oso2_raw, oso2_dir)
    lines = (run / "EIGENVAL").read_text().splitlines()
    cases = {
        "more_kpoints": [*lines[:5], "     40    464     36", *lines[6:]],
        "fewer_kpoints": [*lines[:5], "     40    400     36", *lines[6:]],
        "missing_band": lines[:20] + lines[21:],
        "extra_column": [*lines[:10], lines[10] + "   9.9", *lines[11:]],
        "text_energy": [*lines[:10], "    3       ******   1.000000", *lines[11:]],
        "nan_energy": [*lines[:10], "    3          NaN   1.000000", *lines[11:]],
    }
    for name, content in cases.items():
        p = tmp_path / "OsO2" / f"EIGENVAL_{name}"
        p.write_text("\n".join(content) + "\n")
        src = Source("eigenval", (str(p),), "OsO2", options={"efermi": 5.0})
        with pytest.raises(ReadError) as err:
            read_source(src)
        assert str(p) in str(err.value) and "\n" not in str(err.value), name


def test_line_mode_kpoints_with_two_points_per_line(tmp_path, oso2, oso2_raw, oso2_dir):
    """Each line only its two labelled ends: one segment per line, not 'no path segment'."""
    from pymatgen.io.vasp.inputs import Poscar

    ends = [(s.start, s.stop - 1) for s in oso2.segments]
    idx = np.array([i for pair in ends for i in pair])
    lines = ["two points per line", "2", "Line-mode", "Reciprocal"]
    for s, (a, b) in zip(oso2.segments, ends, strict=True):
        for i, lab in ((a, s.start_label), (b, s.end_label)):
            k = oso2.kpoints[i]
            lines.append(f"{k[0]:.8f} {k[1]:.8f} {k[2]:.8f} ! {lab.replace('Γ', 'GAMMA')}")
        lines.append("")
    folder = tmp_path / "OsO2-ends"
    folder.mkdir()
    (folder / "KPOINTS").write_text("\n".join(lines) + "\n")
    write_eigenval(
        folder / "EIGENVAL",
        oso2.kpoints[idx],
        np.zeros(len(idx)),
        oso2.energies[:, idx, :],
        oso2_raw["occupations"][:, idx, :],
        40,
        6,
        "OsO2",
    )
    Poscar(oso2_raw["structure"]).write_file(folder / "POSCAR")

    bs = read_band_structure(folder / "EIGENVAL", efermi=oso2.efermi)
    assert [(s.start, s.stop) for s in bs.segments] == [
        (2 * i, 2 * i + 2) for i in range(len(ends))
    ]
    assert [s.name for s in bs.segments] == [s.name for s in oso2.segments]
    np.testing.assert_array_equal(bs.energies, oso2.energies[:, idx, :])
    # The path length of each line is its full length; from one line to the next nothing.
    lengths = [oso2.distances[b] - oso2.distances[a] for a, b in ends]
    np.testing.assert_allclose(np.diff(bs.distances)[0::2], lengths, atol=1e-6)
    np.testing.assert_allclose(np.diff(bs.distances)[1::2], 0.0, atol=1e-12)


# -- OUTCAR of a zero-weight path (CZTS, the hybrid-functional way) ----------------------------
@pytest.fixture(scope="module")
def czts_dir(real_dir: Path) -> Path:
    return real_dir / "vasp" / "CZTS-zero-weight"


def test_zero_weight_outcar_keeps_only_the_path(czts_dir):
    from pymatgen.io.vasp.outputs import Outcar

    (src,) = discover_sources([czts_dir])
    assert src.format == "outcar"
    bs = read_band_structure(czts_dir)
    # KPOINTS: 601 k-points, the first 51 weighted (the SCF mesh), 550 of weight 0
    weights = np.loadtxt(czts_dir / "KPOINTS", skiprows=3)[:, 3]
    assert len(weights) == 601 and (weights[:51] > 0).all() and (weights[51:] == 0).all()
    assert bs.nkpoints == 550 and bs.nbands == 52 and bs.nspin == 1  # NBANDS = 52, ISPIN = 1
    assert bs.efermi == Outcar(str(czts_dir / "OUTCAR.gz")).efermi == 4.7175
    assert bs.metadata["zero_weight_path"] is True
    # the OUTCAR's own lines for k-point 601 (Z): band 1 -64.3058, band 52 11.2217
    assert (bs.energies[0, -1, 0], bs.energies[0, -1, 51]) == (-64.3058, 11.2217)
    np.testing.assert_allclose(bs.kpoints[-1], [0, 0, 0.5])
    assert bs.formula == "ZnCu2SnS4"  # Cu2ZnSnS4 as pymatgen orders it


def test_zero_weight_labels_from_the_kpoints_comment(czts_dir):
    bs = read_band_structure(czts_dir)
    # "… Kroute: 130,5.4353, 5.4353,6.646963 , GXMGZ" names the five corners of the path
    assert bs.metadata["labels_source"] == "KPOINTS comment"
    assert bs.path_string == "Γ–X–M–Γ–Z"
    assert [s.start for s in bs.segments] == [0, 130, 260, 443]


def test_zero_weight_labels_inferred_without_a_route(tmp_path, czts_dir):
    folder = tmp_path / "CZTS"
    shutil.copytree(czts_dir, folder)
    lines = (folder / "KPOINTS").read_text().splitlines()
    (folder / "KPOINTS").write_text("\n".join(["CZTS path", *lines[1:]]) + "\n")
    bs = read_band_structure(folder)
    # Setyawan–Curtarolo names for this body-centred tetragonal (BCT2) cell
    assert bs.metadata["labels_source"] == "inferred from coordinates"
    assert bs.path_string == "Γ–N–X–Γ–Z"


def test_zero_weight_gap_agrees_with_the_outcar_occupations(czts_dir):
    bs = read_band_structure(czts_dir)
    run = vasp_reader.parse_outcar_bands(czts_dir / "OUTCAR.gz")
    e, occ = run.energies[0, 51:], run.occupations[0, 51:]
    vbm, cbm = e[occ > 1].max(), e[occ < 1].min()  # ISPIN = 1: filled states hold 2
    gap = bs.band_gap()
    assert not gap.is_metal and gap.direct
    assert abs(gap.vbm - vbm) < 0.01 and abs(gap.cbm - cbm) < 0.01
    assert gap.energy == pytest.approx(0.1864, abs=1e-4)


def test_outcar_beside_a_vasprun_is_not_a_second_band_structure(tmp_path, czts_dir, oso2_dir):
    folder = tmp_path / "OsO2"
    shutil.copytree(oso2_dir, folder)
    shutil.copy(czts_dir / "OUTCAR.gz", folder / "OUTCAR.gz")
    assert [s.format for s in discover_sources([folder])] == ["vasprun"]


def test_scf_outcar_is_no_band_structure(tmp_path, czts_dir):
    import gzip

    text = gzip.decompress((czts_dir / "OUTCAR.gz").read_bytes()).decode()
    (tmp_path / "OUTCAR").write_text(text.replace("       0.000\n", "       0.001\n"))
    assert detect_file_format(tmp_path / "OUTCAR") is None


def test_zero_weight_vasprun_without_labels_infers_them(tmp_path, split_dir, split):
    """The split HSE run with its KPOINTS labels removed: the same path, labels from coordinates."""
    import gzip

    folder = tmp_path / "Cs2SnI6"
    shutil.copytree(split_dir, folder)
    for part in ("split-01", "split-02"):
        kp = folder / part / "KPOINTS.gz"
        lines = gzip.decompress(kp.read_bytes()).decode().splitlines()
        kept = lines[:3] + [" ".join(x.split()[:4]) for x in lines[3:] if x.strip()]
        kp.write_bytes(gzip.compress(("\n".join(kept) + "\n").encode()))
    bs = read_band_structure(folder)
    assert bs.metadata["labels_source"] == "inferred from coordinates"
    assert bs.path_string == split.path_string == "Γ–L–W–X–Γ"
    assert kpoint_labels(bs) == kpoint_labels(split)
    np.testing.assert_array_equal(bs.energies, split.energies)
