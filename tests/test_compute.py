"""bandprint compute: prototypes, structure preparation, the batch runner, and GPAW itself.

The GPAW tests run a real (small) PBE calculation in Debian's GPAW; they are skipped where
GPAW is not installed, except under CI (``CI=true``), where they fail: the Makefile installs
``gpaw gpaw-data`` as it installs Chromium.
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path

import numpy as np
import orjson
import pytest
from ase import Atoms
from ase.build import bulk, graphene
from ase.io import write

from bandprint.compute.batch import (
    ComputeJob,
    GPAWSettings,
    compute_band_structures,
    failed_ids,
    gpaw_python,
    run_gpaw,
    strained,
    which_gpaw,
)
from bandprint.compute.prototypes import PROTOTYPES, RESERVED, VACUUM, candidates
from bandprint.compute.structures import as_slab, prepare, read_structures, vacuum_axis, vacuum_gaps
from bandprint.errors import BandprintError, ReadError

IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="module")
def all_candidates():
    return candidates()


# -- prototypes ------------------------------------------------------------------------------
def test_at_least_25_prototypes_and_none_of_the_reserved_materials(all_candidates):
    assert len(PROTOTYPES) >= 25
    assert len(all_candidates) >= 1000
    protos = {c.prototype for c in all_candidates}
    assert protos == set(PROTOTYPES)
    pairs = {(c.prototype, c.formula) for c in all_candidates}
    assert not pairs & RESERVED
    formulas = {c.formula for c in all_candidates}
    for f in ("CrS2", "WTe2", "Ti2C", "MgI2", "ZrTe2", "InS", "GaTe"):
        assert f not in formulas, f
    ids = [c.material_id for c in all_candidates]
    assert len(ids) == len(set(ids))


def test_every_slab_has_its_vacuum_along_an_orthogonal_third_axis(all_candidates):
    for c in all_candidates[::7]:
        cell = c.atoms.cell.array
        assert abs(cell[2, 0]) + abs(cell[2, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) == 0
        assert vacuum_gaps(c.atoms)[2] >= VACUUM - 1e-9, c.material_id
        assert vacuum_axis(c.atoms) == 2


def _spacegroup(atoms: Atoms) -> int:
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    return SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(atoms), 0.05).get_space_group_number()


@pytest.mark.parametrize(
    ("material_id", "number"),
    [  # layer space groups of the known monolayers (as 3-D space groups of the slab)
        ("2H-MX2_MoS2", 187),  # P-6m2
        ("1T-MX2_HfS2", 164),  # P-3m1
        ("planar-honeycomb_C", 191),  # graphene, P6/mmm
        ("planar-honeycomb_BN", 187),
        ("buckled-honeycomb_Si", 164),  # silicene
        ("III-VI-M2X2_GaS", 187),
        ("FeSe-type-MX_FeSe", 129),  # P4/nmm
        ("GeS-type-MX_GeS", 31),  # Pmn2_1
        ("puckered-elemental_P", 53),  # phosphorene, Pmna
        ("MX3-honeycomb_CrI3", 162),  # P-31m
        ("Nb3X8-breathing-kagome_Nb3I8", 156),  # P3m1
        ("MPX3_NiPS3", 162),
        ("1Tprime-MX2_MoS2", 11),  # P2_1/m
        ("penta-MX2_C", 113),  # penta-graphene, P-42_1m
        ("MA2Z4_Si2MoN4", 187),
        ("Bi2Se3-quintuple_Bi2Se3", 164),
    ],
)
def test_prototype_geometries_have_the_published_symmetry(all_candidates, material_id, number):
    by_id = {c.material_id: c for c in all_candidates}
    assert _spacegroup(by_id[material_id].atoms) == number


def _metal_neighbour_distances(atoms: Atoms, metal: str, cutoff: float = 12.0) -> np.ndarray:
    """Per metal atom, the sorted distances to the nearest 9 other metal atoms (all images)."""
    from ase.neighborlist import neighbor_list

    only = atoms[[s == metal for s in atoms.get_chemical_symbols()]]
    i, d = neighbor_list("id", only, cutoff)
    return np.array([np.sort(d[i == k])[:9] for k in range(len(only))])


def test_mx3_metals_form_a_honeycomb_and_nb3x8_a_breathing_kagome(all_candidates):
    by_id = {c.material_id: c for c in all_candidates}
    cri3 = by_id["MX3-honeycomb_CrI3"].atoms
    a = cri3.cell.lengths()[0]
    d = _metal_neighbour_distances(cri3, "Cr")
    # honeycomb: three nearest metals at a/√3, the next six at a
    np.testing.assert_allclose(d[:, :3], a / np.sqrt(3), rtol=1e-6)
    np.testing.assert_allclose(d[:, 3:9], a, rtol=1e-6)
    nb = by_id["Nb3X8-breathing-kagome_Nb3I8"].atoms
    d = _metal_neighbour_distances(nb, "Nb")
    # kagome: four metal neighbours, two inside the trimer (short), two across (long)
    short, long_ = d[:, :2], d[:, 2:4]
    assert np.ptp(short) < 1e-6 and np.ptp(long_) < 1e-6
    assert long_.min() > 1.1 * short.max()
    assert d[:, 4].min() > long_.max() + 0.5


def test_strain_stretches_the_plane_only():
    slab = candidates(["2H-MX2"])[0].atoms
    s = strained(slab, 0.02)
    np.testing.assert_allclose(s.cell.lengths()[:2], slab.cell.lengths()[:2] * 1.02)
    assert s.cell.lengths()[2] == pytest.approx(slab.cell.lengths()[2])
    np.testing.assert_allclose(s.get_scaled_positions(), slab.get_scaled_positions(), atol=1e-12)


def test_kmesh_follows_the_reciprocal_lattice_and_is_1_along_vacuum():
    slab = candidates(["2H-MX2"])[0].atoms  # MoS2, a ≈ 3.2 Å: |b| = 4π/(√3 a) ≈ 2.27 1/Å
    b = 4 * np.pi / (np.sqrt(3) * slab.cell.lengths()[0])
    assert GPAWSettings(kspacing=0.4).kpts(slab) == [int(np.ceil(b / 0.4))] * 2 + [1]
    assert GPAWSettings(kspacing=10).kpts(slab) == [3, 3, 1]


# -- structures in ---------------------------------------------------------------------------
def _sorted_distances(atoms: Atoms) -> np.ndarray:
    return np.sort(atoms.get_all_distances(mic=True).ravel())


@pytest.mark.parametrize("turn", [0.0, 30.0, 47.0])
def test_band_path_places_each_special_point_where_its_label_says_in_any_cell_orientation(turn):
    # A hexagonal slab turned in the plane (as the MX3 and MPX3 prototypes are built) and one
    # with 60° between its vectors: every labelled k-point of the path must be that special
    # point of the cell (bandprint's own k-path analysis), at its distance from Γ.
    from bandprint.compute.batch import band_path
    from bandprint.kpath import kpath_spec

    a = 6.5
    c, s_ = np.cos(np.radians(turn)), np.sin(np.radians(turn))
    rot = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1]])
    for second in ([-a / 2, a * 3**0.5 / 2, 0], [a / 2, a * 3**0.5 / 2, 0]):
        cell = np.array([[a, 0, 0], second, [0, 0, 20.0]]) @ rot.T
        atoms = Atoms("Cr", cell=cell, pbc=[True, True, False])
        path = band_path(atoms, 60)
        assert path["labelseq"] == "GMKG"
        spec = kpath_spec(2 * np.pi * np.linalg.inv(cell).T, two_d=True, axis=2)
        rec = 2 * np.pi * np.linalg.inv(cell).T
        expected = {"G": 0.0, "M": 2 * np.pi / (a * 3**0.5), "K": 4 * np.pi / (3 * a)}
        for name, point in path["special_points"].items():
            assert spec.label_of(point) == {"G": "Γ"}.get(name, name)
            assert np.linalg.norm(np.asarray(point) @ rec) == pytest.approx(expected[name])
        kpts = np.asarray(path["kpts"])
        assert len(kpts) == 60 and np.allclose(kpts[0], 0) and np.allclose(kpts[-1], 0)


def test_band_path_names_rectangular_points_as_the_k_path_analysis_does():
    # ASE names the point along the first axis X; bandprint's k-path analysis (and so every
    # canonical path) names X along the shorter in-plane axis. A cell whose first axis is the
    # longer must come out with X along its second axis.
    from bandprint.compute.batch import band_path

    for a, b, x_at in ((4.141, 4.109, [0.0, 0.5, 0.0]), (3.9, 4.4, [0.5, 0.0, 0.0])):
        atoms = Atoms("Ge", cell=[[a, 0, 0], [0, b, 0], [0, 0, 18.0]], pbc=[True, True, False])
        path = band_path(atoms, 40)
        x = np.abs(np.asarray(path["special_points"]["X"]))
        assert x.tolist() == x_at
        assert set(path["labelseq"]) == {"G", "X", "S", "Y"}


def test_a_slab_with_vacuum_along_a_is_found_and_turned_upright(tmp_path):
    g = graphene(vacuum=6.0)  # vacuum along z, 12 Å
    # put the vacuum along the first lattice vector instead
    tilted = Atoms(
        g.get_chemical_symbols(),
        scaled_positions=g.get_scaled_positions()[:, [2, 0, 1]],
        cell=g.cell.array[[2, 0, 1]],
        pbc=True,
    )
    assert vacuum_axis(tilted) == 0
    slab = prepare(tilted)
    assert list(slab.pbc) == [True, True, False]
    assert vacuum_gaps(slab)[2] >= VACUUM - 1e-9
    assert abs(slab.cell.array[2, :2]).max() < 1e-12 and abs(slab.cell.array[:2, 2]).max() < 1e-12
    # in-plane bond lengths are kept (only the vacuum changed)
    ref = as_slab(g, 2)
    np.testing.assert_allclose(_sorted_distances(slab)[:20], _sorted_distances(ref)[:20], atol=1e-8)
    assert vacuum_axis(bulk("Si")) is None
    assert list(prepare(bulk("Si")).pbc) == [True, True, True]
    assert list(prepare(tilted, "bulk").pbc) == [True, True, True]


def test_structures_are_read_from_cif_poscar_and_tables_and_bad_files_say_why(tmp_path):
    g = graphene(vacuum=8.0)
    g.pbc = True
    write(tmp_path / "graphene.cif", g)
    write(tmp_path / "POSCAR", g, format="vasp")
    for path, mid in [
        (tmp_path / "graphene.cif", "graphene"),
        (tmp_path / "POSCAR", tmp_path.name),
    ]:
        [(got_id, atoms, _)] = read_structures(path)
        assert got_id == mid
        assert atoms.get_chemical_formula() == "C2"
        np.testing.assert_allclose(atoms.cell.lengths(), g.cell.lengths(), atol=1e-4)
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3\nloop_\n_atom_site_label\n")
    with pytest.raises(ReadError) as err:
        read_structures(tmp_path / "broken.cif")
    assert "broken.cif" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "t.jsonl").write_text('{"material_id": "x", "symbols": ["C"]}\n')
    with pytest.raises(ReadError, match="line 1"):
        read_structures(tmp_path / "t.jsonl")


# -- the batch runner, without GPAW ----------------------------------------------------------
def test_known_failures_are_listed_once_and_a_rerun_skips_them(tmp_path):
    job = ComputeJob("bad", graphene(vacuum=8), error="relaxation: atoms too close")
    s = compute_band_structures([job], tmp_path, progress=False, python="unused")
    assert s.failed == {"bad": "relaxation: atoms too close"}
    assert failed_ids(tmp_path) == {"bad": "relaxation: atoms too close"}
    s = compute_band_structures([job], tmp_path, progress=False, python="unused")
    assert s.skipped == ["bad"] and not s.failed
    s = compute_band_structures([job], tmp_path, progress=False, python="unused", retry_failed=True)
    assert s.failed == {"bad": "relaxation: atoms too close"}
    assert len((tmp_path / "failures.csv").read_text().splitlines()) == 3  # header + 2 attempts


def _fake_python(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "fakepython"
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_time_limit_and_crashes_become_one_line_failures_and_leave_no_file(tmp_path):
    out = tmp_path / "out"
    slow = _fake_python(tmp_path, "sleep 30")
    job = ComputeJob("slow", graphene(vacuum=8), GPAWSettings(time_limit=1))
    s = compute_band_structures([job], out, progress=False, python=slow)
    assert s.failed == {"slow": "time limit of 1 s exceeded"}
    crash = _fake_python(tmp_path, "echo 'Segmentation fault' >&2; exit 139")
    res = run_gpaw(ComputeJob("c", graphene(vacuum=8)), python=crash)
    assert res == {"error": "GPAW process exited with code 139: Segmentation fault"}
    assert not list(out.glob("*.json.gz")) and not list(out.glob(".*tmp-*"))


def test_missing_gpaw_is_one_line_saying_how_to_install(tmp_path):
    with pytest.raises(BandprintError) as err:
        gpaw_python([str(_fake_python(tmp_path, "exit 1")), None, str(tmp_path / "nope")])
    assert "apt-get install gpaw gpaw-data" in str(err.value)
    assert "\n" not in str(err.value)


# -- GPAW itself -----------------------------------------------------------------------------
GPAW = which_gpaw()
needs_gpaw = pytest.mark.skipif(
    GPAW is None and not IN_CI, reason="GPAW not installed (apt-get install gpaw gpaw-data)"
)


@needs_gpaw
def test_gpaw_is_installed_under_ci():
    assert GPAW is not None, "CI=true but GPAW is missing: the Makefile installs gpaw gpaw-data"


@needs_gpaw
@pytest.mark.slow
def test_compute_command_on_a_users_cif_and_poscar_gives_physical_band_structures(tmp_path):
    """h-BN from a CIF (vacuum along c) and graphene from a POSCAR with its vacuum along a:
    both are found to be slabs, computed on the hexagonal path, and ingest; BN has the wide
    direct gap at K of PBE (4.6–4.7 eV, Haastrup et al., 2D Mater. 5, 042002, 2018), graphene
    its Dirac point at K (the two bands nearest E_F touch there)."""
    from click.testing import CliRunner

    from bandprint.cli import main
    from bandprint.store import Workspace

    bn = Atoms(
        "BN",
        scaled_positions=[(1 / 3, 2 / 3, 0.5), (2 / 3, 1 / 3, 0.5)],
        cell=[[2.51, 0, 0], [-1.255, 2.51 * np.sqrt(3) / 2, 0], [0, 0, 16]],
        pbc=True,
    )
    write(tmp_path / "BN.cif", bn)
    g = graphene(a=2.467, vacuum=8.0)
    g_tilted = Atoms(
        g.get_chemical_symbols(),
        scaled_positions=g.get_scaled_positions()[:, [2, 0, 1]],
        cell=g.cell.array[[2, 0, 1]],
        pbc=True,
    )
    (tmp_path / "graphene").mkdir()
    write(tmp_path / "graphene" / "POSCAR", g_tilted, format="vasp")
    out = tmp_path / "out"
    args = [
        "compute",
        str(tmp_path / "BN.cif"),
        str(tmp_path / "graphene" / "POSCAR"),
        "--out",
        str(out),
        "--kspacing",
        "0.6",
        "--path-points",
        "31",
        "--workers",
        "2",
        "-q",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "2 computed" in res.output
    res = CliRunner().invoke(main, args)  # a rerun skips both
    assert "0 computed, 2 already done" in res.output

    ws = tmp_path / "ws"
    res = CliRunner().invoke(main, ["ingest", str(out), "--into", str(ws), "-q"])
    assert res.exit_code == 0, res.output
    w = Workspace(ws)
    bn_bs, g_bs = w.get("BN"), w.get("graphene")
    for bs in (bn_bs, g_bs):
        assert bs.path_string == "Γ–M–K–Γ"
        assert bs.metadata["is_2d"] is True and bs.metadata["code"] == "GPAW"
        assert bs.metadata["settings"]["kpts"][2] == 1
        assert bs.structure is not None
    gap = bn_bs.band_gap()
    assert 4.3 < gap.energy < 5.0 and gap.direct
    [k_seg] = [seg for seg in g_bs.segments if seg.end_label == "K"]
    k_index = k_seg.stop - 1  # segments are [start, stop): K is the last point of M–K
    e = g_bs.energies[0] - g_bs.efermi
    below = e[k_index][e[k_index] <= 0.05].max()
    above = e[k_index][e[k_index] > -0.05].min()
    assert above - below < 0.05  # Dirac point
    gaps_elsewhere = [e[k][e[k] > 0].min() - e[k][e[k] <= 0].max() for k in (0, 10)]
    assert min(gaps_elsewhere) > 1.0  # and nowhere else on Γ–M


def test_committed_corpus_files_are_bandprint_json_with_provenance():
    root = Path(__file__).resolve().parents[1] / "corpus" / "gpaw-2d" / "bands"
    files = sorted(root.glob("*.json.gz"))
    assert files, "the corpus has no band structures"
    d = orjson.loads(gzip.decompress(files[0].read_bytes()))
    assert d["@class"] == "bandprint.BandStructure"
    meta = d["metadata"]
    for key in ("prototype", "settings", "gpaw_version", "magnetic_state", "sg_number"):
        assert key in meta, key
