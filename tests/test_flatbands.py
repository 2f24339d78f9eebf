"""Flat-band detection from eigenvalues: analytic lattices, crossings, slabs, strips, queries."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from bandprint import read_band_structure, read_band_structures, zoo
from bandprint.analyse.flatbands import (
    MIN_SEGMENT_KPOINTS,
    FlatBandResult,
    block_score_from_bandwidth,
    detect_flat_bands,
    flatband_table,
    judged_segments,
    query_materials,
    strip_edges,
    strip_of,
)
from bandprint.bandstructure import BandStructure, path_distances, segments_from_labels
from bandprint.errors import BandprintError
from bandprint.workflows.flatbands import find_in_workspace, flatband_workspace

SQ3 = math.sqrt(3)
# Hexagonal cell a1 = (1, 0), a2 = (1/2, √3/2) (Å); reciprocal rows with 2π.
CELL = np.array([[1.0, 0, 0], [0.5, SQ3 / 2, 0], [0, 0, 20.0]])
RECIP = 2 * np.pi * np.linalg.inv(CELL).T
HEX_POINTS = {
    "Γ": (0, 0, 0),
    "M": (0.5, 0, 0),
    "K": (1 / 3, 1 / 3, 0),
    "A": (0, 0, 0.5),
    "L": (0.5, 0, 0.5),
    "H": (1 / 3, 1 / 3, 0.5),
}


def hex_path(corners: list[str], n_per_segment: int = 30) -> tuple[np.ndarray, list[str | None]]:
    """Fractional k-points along corners ("X|Y" pairs jump), corners repeated per segment."""
    kpts, labels = [], []
    for a, b in itertools.pairwise(corners):
        if a.endswith("|"):
            continue
        a, b = a.rstrip("|"), b.rstrip("|")
        f = np.linspace(0, 1, n_per_segment)[:, None]
        pa, pb = np.array(HEX_POINTS[a]), np.array(HEX_POINTS[b])
        kpts.append(pa + f * (pb - pa))
        labels += [a, *([None] * (n_per_segment - 2)), b]
    return np.concatenate(kpts), labels


def band_structure(
    energies: np.ndarray, kpts: np.ndarray, labels: list[str | None], efermi: float, **kw
) -> BandStructure:
    e = np.asarray(energies, dtype=float)
    if e.ndim == 2:
        e = e[None]
    return BandStructure(
        material_id=kw.pop("material_id", "test"),
        energies=e,
        efermi=efermi,
        distances=path_distances(kpts @ RECIP, labels),
        segments=segments_from_labels(labels),
        kpoints=kpts,
        reciprocal_lattice=RECIP,
        **kw,
    )


def kagome_bands(
    kpts: np.ndarray, t: float = 1.0, t2: float = 0.0, eps_a: float = 0.0
) -> np.ndarray:
    """Kagome with sites 0, a1/2, a2/2: NN hopping −t, NNN (at √3/2) −t2, on-site eps_a on the
    first site. Flat band at +2t when t2 = eps_a = 0."""
    k = kpts @ RECIP
    a1, a2 = CELL[0], CELL[1]
    h = np.zeros((len(k), 3, 3))
    ab = -2 * t * np.cos(k @ (a1 / 2)) - 2 * t2 * np.cos(k @ (a1 / 2 - a2))
    ac = -2 * t * np.cos(k @ (a2 / 2)) - 2 * t2 * np.cos(k @ (a2 / 2 - a1))
    bc = -2 * t * np.cos(k @ ((a2 - a1) / 2)) - 2 * t2 * np.cos(k @ ((a1 + a2) / 2))
    h[:, 0, 1] = h[:, 1, 0] = ab
    h[:, 0, 2] = h[:, 2, 0] = ac
    h[:, 1, 2] = h[:, 2, 1] = bc
    h[:, 0, 0] = eps_a
    return np.linalg.eigvalsh(h)


def triangular_band(kpts: np.ndarray, t: float = 0.4) -> np.ndarray:
    """One band −2t Σ cos(k·a) over the in-plane neighbours; k_z plays no part (a slab)."""
    k = kpts @ RECIP
    a1, a2 = CELL[0], CELL[1]
    return -2 * t * (np.cos(k @ a1) + np.cos(k @ a2) + np.cos(k @ (a2 - a1)))[:, None]


# -- strips ---------------------------------------------------------------------------------
def test_strip_edges_and_published_numbering() -> None:
    assert strip_edges().tolist() == [1.0, 0.5, 0.0, -0.5, -1.0]
    # 1 = +0.5…+1, 2 = 0…+0.5, 3 = −0.5…0, 4 = −1…−0.5; a boundary belongs to the strip below
    # it (the renderer draws E exactly on a row edge in the lower row), E_F itself in strip 3.
    e = [1.0, 0.75, 0.5, 0.25, 1e-9, 0.0, -0.25, -0.5, -0.75, -1.0, 1.01, -1.2]
    assert strip_of(np.array(e)).tolist() == [1, 1, 2, 2, 2, 3, 3, 4, 4, 0, 0, 0]
    assert strip_of(0.1 + 0.2 + 0.2) == 2  # 0.5000000000000001 is still the 0.5 boundary
    assert strip_of(-2.2, window=(-4, 4)) == 13
    with pytest.raises(BandprintError, match="whole number"):
        strip_edges((-1, 1), 0.3)
    with pytest.raises(BandprintError, match="low < high"):
        strip_edges((1, -1))


def test_block_score_is_half_at_threshold() -> None:
    s = block_score_from_bandwidth(np.array([0.0, 0.05, 0.1, 0.2, np.inf]), 0.1)
    assert s.tolist() == pytest.approx([1.0, 0.8, 0.5, 0.2, 0.0])


# -- kagome ---------------------------------------------------------------------------------
def test_kagome_flat_band_found_in_its_strip() -> None:
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    e = kagome_bands(kpts, t=1.0)
    assert np.ptp(e[:, 2]) < 1e-12 and e[0, 2] == pytest.approx(2.0)  # exact flat band at 2t
    # E_F 0.3 eV below the flat band: it lies in strip 2 (0…+0.5).
    r = detect_flat_bands(band_structure(e, kpts, labels, efermi=1.7))
    assert r.segment_names == ["Γ–M", "M–K", "K–Γ"]
    assert r.block_flat.tolist() == [[False] * 3, [True] * 3, [False] * 3, [False] * 3]
    assert r.block_energy[1] == pytest.approx([0.3] * 3)
    assert r.block_bandwidth[1] == pytest.approx([0, 0, 0], abs=1e-9)
    assert (r.n_segments, r.n_flat_segments, r.is_flat) == (3, 3, True)
    assert r.flatness_score == pytest.approx(1.0)
    assert r.strips == [2] and r.flat_strip == 2
    assert r.plane_flat and r.plane_flat_energy == pytest.approx(0.3)
    # The same lattice with E_F 1.7 eV below the flat band: nothing flat within ±1 eV, but a
    # ±2 eV window finds it in strip 1 of 8.
    far = band_structure(e, kpts, labels, efermi=0.3)
    assert not detect_flat_bands(far).block_flat.any()
    wide = detect_flat_bands(far, window=(-2, 2))
    assert wide.strips == [1] and wide.plane_flat_energy == pytest.approx(1.7)


def _kagome_with_flat_width(target: float) -> tuple[np.ndarray, np.ndarray, list]:
    """Kagome with NNN hopping t2 chosen so the top (formerly flat) band is ``target`` wide."""
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])

    def width(t2: float) -> float:
        return float(np.ptp(kagome_bands(kpts, t2=t2)[:, 2]))

    lo, hi = 0.0, 0.5
    assert width(hi) > target
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if width(mid) < target else (lo, mid)
    return kagome_bands(kpts, t2=hi), kpts, labels


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_perturbed_kagome_either_side_of_threshold(factor: float) -> None:
    threshold = 0.1
    e, kpts, labels = _kagome_with_flat_width(factor * threshold)
    top = e[:, 2]
    assert np.ptp(top) == pytest.approx(factor * threshold, rel=1e-6)
    bs = band_structure(e, kpts, labels, efermi=float(top.mean()) - 0.25)
    r = detect_flat_bands(bs, bandwidth_threshold=threshold)
    # Whole path: flat exactly when the band's width is under the threshold.
    assert r.plane_flat == (factor < 1)
    assert r.path_bandwidth == pytest.approx(np.ptp(top), abs=1e-9)
    # Per block: the top band's width on each segment (NNN hopping bends it most along Γ–M,
    # least along M–K: 1, 0.26 and 0.74 of its whole width).
    per_segment = np.array([np.ptp(top[s.start : s.stop]) for s in bs.segments])
    assert r.block_bandwidth[1] == pytest.approx(per_segment, abs=1e-9)
    assert r.block_flat[1].tolist() == (per_segment <= threshold).tolist()
    if factor > 1:
        assert r.segment_flat.tolist() == [False, True, False]
        assert not r.is_flat and r.strips == [2]
    else:
        assert r.is_flat and r.strips == [2] and r.flat_strip == 2


def test_threshold_is_configurable() -> None:
    e, kpts, labels = _kagome_with_flat_width(0.2)
    bs = band_structure(e, kpts, labels, efermi=float(e[:, 2].mean()) - 0.25)
    assert not detect_flat_bands(bs, bandwidth_threshold=0.1).plane_flat
    assert detect_flat_bands(bs, bandwidth_threshold=0.25).plane_flat


# -- crossings ------------------------------------------------------------------------------
def test_band_crossing_does_not_break_a_flat_level() -> None:
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"], n_per_segment=40)
    x = np.linspace(0, 1, len(kpts))
    flat = 0.2 + 0.02 * np.sin(7 * x)  # 40 meV wide
    steep = -0.9 + 2.0 * x  # crosses the flat level on the M–K segment
    e = np.sort(np.stack([flat, steep], axis=1), axis=1)  # eigenvalues come sorted: indices swap
    # Per band index neither is flat: the crossing swaps them.
    assert np.ptp(e[:, 0]) > 0.5 and np.ptp(e[:, 1]) > 0.5
    r = detect_flat_bands(band_structure(e, kpts, labels, efermi=0.0))
    assert r.block_flat[1].all() and r.is_flat and r.plane_flat
    assert r.plane_flat_energy == pytest.approx(0.2, abs=0.01)
    assert r.path_bandwidth == pytest.approx(np.ptp(flat), abs=1e-9)
    # The steep band alone is flat nowhere.
    only_steep = detect_flat_bands(band_structure(steep[:, None], kpts, labels, efermi=0.0))
    assert not only_steep.block_flat.any()


def test_kagome_flat_line_survives_site_energy_through_an_index_swap() -> None:
    # An on-site energy on site A lifts the flat band, except along Γ–K where k·a1 = k·a2: there
    # (0, 1, −1) on sites B, C is an exact eigenvector at +2t for any eps_a. Near Γ that level
    # is the middle band, near K the top one: the sorted band indices swap on the segment.
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    e = kagome_bands(kpts, eps_a=0.3)
    bs = band_structure(e, kpts, labels, efermi=1.8)
    k_gamma = bs.segments[2]
    seg = e[k_gamma.start : k_gamma.stop]
    assert np.abs(seg - 2.0).min(axis=1).max() < 1e-12  # 2t at every k of K–Γ
    assert np.ptp(seg[:, 1]) > 0.1 and np.ptp(seg[:, 2]) > 0.1  # neither index is flat
    r = detect_flat_bands(bs)
    assert r.block_flat[:, 2].tolist() == [False, True, False, False]
    assert r.block_energy[1, 2] == pytest.approx(0.2) and r.block_bandwidth[1, 2] < 1e-9
    # Elsewhere the lifted top band decides; along the whole path nothing is flat.
    for j in (0, 1):
        sj = bs.segments[j]
        assert r.block_flat[:, j].any() == (np.ptp(e[sj.start : sj.stop, 2]) <= 0.1)
    assert np.ptp(e[:, 2]) > 0.1 and not r.plane_flat


def test_two_steep_bands_crossing_make_no_flat_level() -> None:
    kpts, labels = hex_path(["Γ", "M"], n_per_segment=60)
    x = np.linspace(-1, 1, len(kpts))
    e = np.sort(np.stack([0.3 + x, 0.3 - x], axis=1), axis=1)  # an X through +0.3 eV
    r = detect_flat_bands(band_structure(e, kpts, labels, efermi=0.0))
    assert not r.block_flat.any()


# -- 2-D slabs ------------------------------------------------------------------------------
SLAB_PATH = ["Γ", "M", "K", "Γ", "A", "L", "H", "A|", "L", "M|", "K", "H"]


def test_slab_out_of_plane_segments_dropped_for_2d() -> None:
    kpts, labels = hex_path(SLAB_PATH, n_per_segment=20)
    e = triangular_band(kpts, t=0.4)  # −6t = −2.4 eV at Γ, +3t at M (and nothing along k_z)
    efermi = -2.4 + 0.3  # Γ sits at −0.3 eV
    bs = band_structure(e, kpts, labels, efermi=efermi)
    assert bs.path_string == "Γ–M–K–Γ–A–L–H–A|L–M|K–H"
    # Read as bulk: Γ–A (and the vertical lines at M and K if in the window) are all flat.
    bulk = detect_flat_bands(bs, in_plane=False)
    assert "Γ–A:3" in bulk.flat_blocks
    assert bulk.n_segments == 9 and bulk.dropped_segments == []
    # As a 2-D material (auto from metadata, or explicitly) those segments go and nothing is flat.
    slab = band_structure(e, kpts, labels, efermi=efermi, metadata={"is_2d": True})
    for r in (detect_flat_bands(slab), detect_flat_bands(bs, in_plane=True)):
        assert r.segment_names == ["Γ–M", "M–K", "K–Γ"]
        assert "Γ–A" in r.dropped_segments and len(r.dropped_segments) == 6
        assert not r.block_flat.any() and not r.plane_flat


def test_2d_without_kpoints_keeps_segments_with_a_note() -> None:
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    bs = band_structure(kagome_bands(kpts), kpts, labels, efermi=1.7, metadata={"is_2d": True})
    bs.kpoints = None
    r = detect_flat_bands(bs)
    assert r.is_flat and r.notes and "k-point" in r.notes[0]
    with pytest.raises(BandprintError, match="k-point"):
        detect_flat_bands(bs, in_plane=True)


# -- spins, scores --------------------------------------------------------------------------
def test_spin_polarised_flat_band_in_one_channel() -> None:
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    e = kagome_bands(kpts)
    up = e - 3.0  # spin up: its flat band at −3.2 eV from E_F, outside the window
    down = e.copy()
    bs = band_structure(np.stack([up, down]), kpts, labels, efermi=2.2)  # down flat at −0.2
    r = detect_flat_bands(bs)
    assert r.strips == [3] and r.plane_flat_energy == pytest.approx(-0.2)


def test_flatness_score_follows_published_relation() -> None:
    # Flat on Γ–M only: one of three segments; the score lies strictly between the bounds the
    # published table obeys (0.5·f/n, (f + 0.5·(n − f))/n) and equals the mean segment score.
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"], n_per_segment=30)
    x = np.linspace(0, 1, len(kpts))
    band = np.where(np.arange(len(kpts)) < 30, 0.2, 0.2 + 3 * (x - x[29]))
    r = detect_flat_bands(band_structure(band[:, None], kpts, labels, efermi=0.0))
    assert r.segment_flat.tolist() == [True, False, False]
    assert not r.is_flat and r.flat_strip == 0 and r.strips == [2]
    assert 0.5 / 3 < r.flatness_score < (1 + 0.5 * 2) / 3
    assert r.flatness_score == pytest.approx(r.segment_score.mean())


# -- what can be judged ----------------------------------------------------------------------
def test_kpoint_grid_without_a_path_is_not_analysed(real_dir) -> None:
    # NiO: a CASTEP run on 4 unlabelled grid k-points. Its few eigenvalues per band sit within
    # 0.1 eV by chance (it was flagged flat and plane-flat, strip 4); with no path there is
    # nothing to be flat along.
    nio = read_band_structure(real_dir / "castep" / "NiO.bands")
    assert nio.path_string == "?–?" and nio.nkpoints == 4
    r = detect_flat_bands(nio)
    assert (r.n_segments, r.is_flat, r.plane_flat, r.strips, r.flat_strip) == (
        0,
        False,
        False,
        [],
        0,
    )
    assert r.flatness_score == 0.0 and r.flat_blocks == "" and r.block_flat.shape == (4, 0)
    assert len(r.notes) == 1 and "no labelled high-symmetry path" in r.notes[0]
    # A wide window changes nothing, and the table row says the same.
    assert not detect_flat_bands(nio, window=(-6, 2)).block_flat.any()
    row = flatband_table([nio]).iloc[0]
    assert (row["n_segments"], row["is_flat"], row["plane_flat"]) == (0, False, False)


def test_zoo_kagome_is_still_flagged() -> None:
    kag = zoo.make_lattice("kagome", t=1.0).band_structure(
        "kagome", efermi=1.7, with_structure=False
    )
    r = detect_flat_bands(kag)
    assert r.is_flat and r.plane_flat and r.strips == [2] and r.notes == []


def test_unlabelled_path_is_not_analysed_however_dense() -> None:
    # The ideal kagome drawn along Γ–M–K–Γ but read without its labels (one "?–?" run of 90
    # k-points): the flat band is there, but the detector has no path to judge it along.
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    e = kagome_bands(kpts)
    assert detect_flat_bands(band_structure(e, kpts, labels, efermi=1.7)).is_flat
    bare = band_structure(e, kpts, [None] * len(labels), efermi=1.7)
    assert bare.path_string == "?–?"
    r = detect_flat_bands(bare)
    assert r.n_segments == 0 and not r.is_flat and not r.plane_flat
    assert "no labelled high-symmetry path" in r.notes[0]


def test_segments_too_short_to_judge_are_left_out() -> None:
    assert MIN_SEGMENT_KPOINTS == 4
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"], n_per_segment=30)
    # M–K with 3 k-points: too few; the other two are judged.
    short_kpts, short_labels = hex_path(["M", "K"], n_per_segment=3)
    kpts = np.concatenate([kpts[:30], short_kpts, kpts[60:]])
    labels = labels[:30] + short_labels + labels[60:]
    bs = band_structure(kagome_bands(kpts), kpts, labels, efermi=1.7)
    assert [s.stop - s.start for s in bs.segments] == [30, 3, 30]
    r = detect_flat_bands(bs)
    assert r.segment_names == ["Γ–M", "K–Γ"] and r.is_flat and r.plane_flat
    assert r.notes == ["segments with fewer than 4 k-points left out: M–K (3)"]
    # Every segment that short: nothing to judge.
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"], n_per_segment=3)
    coarse = band_structure(kagome_bands(kpts), kpts, labels, efermi=1.7)
    keep, notes = judged_segments(coarse)
    assert keep == [] and "no path segment has 4 or more k-points" in notes[-1]
    r = detect_flat_bands(coarse)
    assert r.n_segments == 0 and not r.is_flat and not r.plane_flat and r.notes == notes


def test_real_line_mode_samples_keep_their_results(real_dir) -> None:
    # Recorded before the not-analysable rule: every real line-mode sample has 6 or more
    # k-points per segment, so nothing about them changes.
    expected = {
        "Cu_30_bandstructure": (10, 0, False, []),
        "CaO_2605_bandstructure": (10, 0, False, []),
        "InN_22205_bandstructure": (9, 0, False, []),
        "si_bandstructure_line": (10, 0, False, []),
        "VBr2_971787_bandstructure": (9, 5, False, [3, 4]),
        "Cs2SnI6-split": (4, 4, True, [3, 4]),
        "Fe": (5, 0, False, []),
        "OsO2": (8, 0, False, []),
        "Si2": (5, 0, False, []),
        "NiO": (0, 0, False, []),
    }
    got = {}
    recorded = ["pymatgen-json", "matminer-json", "vasp/OsO2", "vasp/Cs2SnI6-split", "castep"]
    for bs in read_band_structures(*(real_dir / x for x in recorded)):
        r = detect_flat_bands(bs)
        got[bs.material_id] = (r.n_segments, r.n_flat_segments, r.is_flat, r.strips)
        assert r.plane_flat is False
        assert bool(r.notes) == (bs.material_id == "NiO")
    assert got == expected


def test_bad_settings_are_one_line_errors() -> None:
    kpts, labels = hex_path(["Γ", "M"])
    bs = band_structure(kagome_bands(kpts), kpts, labels, efermi=1.7)
    with pytest.raises(BandprintError, match="threshold"):
        detect_flat_bands(bs, bandwidth_threshold=0)
    with pytest.raises(BandprintError, match="strips"):
        detect_flat_bands(bs, window=(-1, 0.8))


# -- tables, workspace, query ---------------------------------------------------------------
def _materials() -> list[BandStructure]:
    kpts, labels = hex_path(["Γ", "M", "K", "Γ"])
    kag = band_structure(kagome_bands(kpts), kpts, labels, 1.7, material_id="kag", formula="Fe3")
    tri = band_structure(
        triangular_band(kpts), kpts, labels, -1.0, material_id="tri", formula="OCa"
    )
    return [kag, tri]


def test_flatband_table_rows_and_errors() -> None:
    mats = _materials()
    errors: list[tuple[str, str]] = []
    df = flatband_table(mats, on_error=lambda m, r: errors.append((m, r)))
    assert df["material_id"].tolist() == ["kag", "tri"]
    assert df["is_flat"].tolist() == [True, False]
    assert df["strips"].tolist() == [[2], []]
    assert df.loc[0, "flat_blocks"] == "Γ–M:2; M–K:2; K–Γ:2"
    assert errors == []


def test_workspace_table_and_find(tmp_path) -> None:
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, bs.material_id, "fp") for bs in _materials()])
    with pytest.raises(BandprintError, match="bandprint flatbands"):
        find_in_workspace(ws, flat=True)
    df, errors = flatband_workspace(ws)
    assert errors == [] and len(df) == 2
    stored = ws.read_table("flatbands")
    assert stored["is_flat"].tolist() == [True, False]
    assert ws.table_meta("flatbands")["bandwidth_threshold"] == 0.1
    assert find_in_workspace(ws, flat=True)["material_id"].tolist() == ["kag"]
    assert find_in_workspace(ws, strips=[3, 4])["material_id"].tolist() == []
    assert find_in_workspace(ws, strips=[2])["material_id"].tolist() == ["kag"]
    assert find_in_workspace(ws, formula="CaO")["material_id"].tolist() == ["tri"]
    with pytest.raises(BandprintError, match="bandprint cluster"):
        find_in_workspace(ws, cluster=1)


def test_query_materials_combines_criteria() -> None:
    catalog = pd.DataFrame(
        {
            "material_id": ["a", "b", "c", "d"],
            "formula": ["CaO", "Cu", "VBr2", "Si"],
            "band_gap": [3.5, 0.0, 0.0, 0.6],
            "is_metal": [False, True, True, False],
        }
    )
    flat = pd.DataFrame(
        {
            "material_id": ["a", "b", "c", "d"],
            "is_flat": [True, False, True, False],
            "flatness_score": [0.9, 0.1, 0.8, 0.0],
            "strips": [[4], [], [2, 3], []],
            "plane_flat": [True, False, False, False],
            "n_flat_segments": [3, 0, 3, 0],
        }
    )
    clusters = pd.DataFrame({"material_id": ["a", "b", "c"], "cluster": [0, 1, 0]})
    q = query_materials
    assert q(catalog, flat, flat=True)["material_id"].tolist() == ["a", "c"]
    assert q(catalog, flat, flat=True, metal=False)["material_id"].tolist() == ["a"]
    assert q(catalog, flat, strips=[2])["material_id"].tolist() == ["c"]
    assert q(catalog, gap_min=0.5, gap_max=1.0)["material_id"].tolist() == ["d"]
    assert q(catalog, flat, clusters, flat=True, cluster=0)["material_id"].tolist() == ["a", "c"]
    assert q(catalog, clusters=clusters, cluster=1)["material_id"].tolist() == ["b"]
    assert q(catalog, flat, plane_flat=True)["material_id"].tolist() == ["a"]
    with pytest.raises(BandprintError, match="flatbands"):
        q(catalog, flat=True)


def test_result_row_has_every_table_column() -> None:
    from bandprint.analyse.flatbands import TABLE_COLUMNS

    kpts, labels = hex_path(["Γ", "M"])
    r = detect_flat_bands(band_structure(kagome_bands(kpts), kpts, labels, efermi=1.7))
    assert isinstance(r, FlatBandResult)
    assert list(r.to_row()) == TABLE_COLUMNS


def test_cli_flatbands_and_find(tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from bandprint.cli import main
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, bs.material_id, "fp") for bs in _materials()])
    runner = CliRunner()
    missing = runner.invoke(main, ["find", str(ws.path), "--flat"])
    assert missing.exit_code == 2 and "run bandprint flatbands" in missing.output
    out = runner.invoke(main, ["flatbands", str(ws.path), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {r["material_id"]: r for r in json.loads(out.output)}
    assert rows["kag"]["is_flat"] and rows["kag"]["strips"] == [2]
    assert rows["kag"]["plane_flat_energy"] == pytest.approx(0.3)
    assert not rows["tri"]["is_flat"] and rows["tri"]["plane_flat_energy"] is None
    table = runner.invoke(main, ["flatbands", str(ws.path), "-q", "--threshold", "0.05"])
    assert table.exit_code == 0 and "plane-flat" in table.output and "1 flat" in table.output
    assert ws.table_meta("flatbands")["bandwidth_threshold"] == 0.05
    found = runner.invoke(main, ["find", str(ws.path), "--flat", "--strip", "2", "--metal"])
    assert found.exit_code == 0 and "kag" in found.output and "1 materials match" in found.output
    none = runner.invoke(main, ["find", str(ws.path), "--flat", "--insulator", "--format", "json"])
    assert json.loads(none.output) == []
    bad = runner.invoke(main, ["flatbands", str(ws.path), "--window", "-1,0.7"])
    assert bad.exit_code == 2 and "whole number" in bad.output
    bad = runner.invoke(main, ["find", str(ws.path), "--strip", "x"])
    assert bad.exit_code == 2 and "--strip" in bad.output
