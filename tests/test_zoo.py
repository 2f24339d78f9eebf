"""The tight-binding zoo against analytic results, and its dataset against the readers.

Sign convention under test: an s-orbital hopping ``t`` enters the Hamiltonian as ``−t``.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import orjson
import pandas as pd
import pytest
from click.testing import CliRunner

from bandprint import BandStructure, read_band_structures
from bandprint.bandstructure import Segment
from bandprint.cli import main
from bandprint.errors import BandprintError
from bandprint.zoo import (
    FAMILIES,
    FAMILY_SPECS,
    FLAT_BANDWIDTH,
    TRUTH_COLUMNS,
    band_truth,
    find_bonds,
    flat_levels,
    ground_truth_table,
    make_lattice,
    read_ground_truth,
    sample_one,
    sample_zoo,
    write_zoo,
)

GAMMA, M_HEX, K_HEX = (0.0, 0.0), (0.5, 0.0), (1 / 3, 1 / 3)
X_SQ, M_SQ = (0.0, 0.5), (0.5, 0.5)


def levels(lattice, n=24):
    """Flat levels over a dense mesh plus the path: (energy, degeneracy)."""
    k = np.concatenate([lattice.mesh(n), lattice.kpath()[0][:, :2]])
    return [(round(lv.energy, 9), lv.degeneracy) for lv in flat_levels(lattice.eigenvalues(k))]


def eig(lattice, k):
    return lattice.eigenvalues(np.atleast_2d(k))[0]


def flat_width(lattice, near):
    """Width of the band that stays nearest to ``near`` over mesh and path."""
    k = np.concatenate([lattice.mesh(24), lattice.kpath()[0][:, :2]])
    e = lattice.eigenvalues(k)
    nearest = e[np.arange(len(e)), np.argmin(np.abs(e - near), axis=1)]
    return float(np.ptp(nearest))


# -- analytic spectra -----------------------------------------------------------------------
@pytest.mark.parametrize("t", [1.0, 0.7])
def test_kagome_flat_band_at_plus_2t_touching_at_gamma(t):
    lat = make_lattice("kagome", t=t)
    assert levels(lat) == [(pytest.approx(2 * t), 1)]
    e_gamma = eig(lat, GAMMA)
    # Quadratic band touching: at Γ the flat band and the top dispersive band meet at 2t.
    np.testing.assert_allclose(e_gamma, [-4 * t, 2 * t, 2 * t], atol=1e-12)
    e_k = eig(lat, K_HEX)  # Dirac point of the two dispersive bands at −t
    np.testing.assert_allclose(e_k, [-t, -t, 2 * t], atol=1e-12)
    # Quadratic, not linear: the gap to the flat band grows as q² away from Γ.
    small = [2 * t - eig(lat, (q, 0))[1] for q in (0.002, 0.004)]
    assert small[1] / small[0] == pytest.approx(4.0, rel=1e-3)


def test_negative_hopping_mirrors_the_spectrum():
    pos, neg = make_lattice("kagome", t=1.0), make_lattice("kagome", t=-1.0)
    assert levels(neg) == [(pytest.approx(-2.0), 1)]
    k = pos.kpath()[0]
    np.testing.assert_allclose(pos.eigenvalues(k), -neg.eigenvalues(k)[:, ::-1], atol=1e-12)


def test_lieb_and_dice_flat_band_at_the_centre():
    assert levels(make_lattice("lieb")) == [(pytest.approx(0.0, abs=1e-12), 1)]
    assert levels(make_lattice("dice")) == [(pytest.approx(0.0, abs=1e-12), 1)]
    # A corner (Lieb) or hub (dice) on-site energy keeps the flat band at the rim energy
    # and opens a gap beside it.
    lieb = make_lattice("lieb", eps=[0.8, 0.0, 0.0])
    assert levels(lieb) == [(pytest.approx(0.0, abs=1e-12), 1)]
    e_m = eig(lieb, M_SQ)  # at M the corner decouples: ε_c and the doubly degenerate edge 0
    np.testing.assert_allclose(sorted(e_m), [0.0, 0.0, 0.8], atol=1e-12)
    dice = make_lattice("dice", eps=[-0.5, 0.0, 0.0])
    assert levels(dice) == [(pytest.approx(0.0, abs=1e-12), 1)]
    # Lieb band edges: ±2√2 t at Γ, where the corner couples to both edges with 2t.
    np.testing.assert_allclose(eig(make_lattice("lieb"), GAMMA), [-(8**0.5), 0, 8**0.5], atol=1e-12)


def test_honeycomb_dirac_cone_at_k_with_velocity_3ta_over_2():
    t, a = 0.9, 2.46
    lat = make_lattice("honeycomb", t=t, a=a)
    np.testing.assert_allclose(eig(lat, K_HEX), [0.0, 0.0], atol=1e-12)
    bond = a / math.sqrt(3)
    rec = lat.reciprocal[:2, :2]
    for direction in ((1.0, 0.0), (0.3, -0.7)):
        d = np.array(direction) / np.linalg.norm(np.array(direction) @ rec)  # |Δk| = 1/Å
        for q in (1e-4, 2e-4):
            e = eig(lat, np.array(K_HEX) + q * d)
            # Linear: E = ±v|q| with v = 3 t d / 2 (d the bond length).
            np.testing.assert_allclose(e, [-1.5 * t * bond * q, 1.5 * t * bond * q], rtol=1e-3)
    # A sublattice mass Δ opens a gap Δ at K.
    np.testing.assert_allclose(eig(make_lattice("honeycomb", delta=0.4), K_HEX), [-0.2, 0.2])


def test_square_and_triangular_bandwidths():
    t = 0.8
    sq = make_lattice("square", t=t)
    np.testing.assert_allclose(eig(sq, GAMMA), [-4 * t])
    np.testing.assert_allclose(eig(sq, M_SQ), [4 * t])
    np.testing.assert_allclose(eig(sq, X_SQ), [0.0], atol=1e-12)
    e = sq.eigenvalues(sq.mesh(24))
    assert np.ptp(e) == pytest.approx(8 * t)
    tri = make_lattice("triangular", t=t)
    np.testing.assert_allclose(eig(tri, GAMMA), [-6 * t])
    np.testing.assert_allclose(eig(tri, K_HEX), [3 * t])
    assert np.ptp(tri.eigenvalues(tri.mesh(24))) == pytest.approx(9 * t)
    # Rectangular: bandwidth 4(tx + ty).
    rect = make_lattice("rectangular", tx=1.0, ty=0.3)
    assert np.ptp(rect.eigenvalues(rect.mesh(24))) == pytest.approx(5.2)


def test_checkerboard_flat_band_needs_t_cross_equal_t():
    lat = make_lattice("checkerboard", t=1.0, t_cross=1.0)
    assert levels(lat) == [(pytest.approx(2.0), 1)]
    np.testing.assert_allclose(eig(lat, M_SQ), [2.0, 2.0], atol=1e-12)  # touching at M
    assert levels(make_lattice("checkerboard", t=1.0, t_cross=0.8)) == []


def test_breathing_kagome_keeps_its_flat_band_at_t_up_plus_t_down():
    lat = make_lattice("breathing_kagome", breathing=0.2, t_up=1.0, t_down=0.45)
    assert levels(lat) == [(pytest.approx(1.45), 1)]
    b = find_bonds(lat.cell, lat.positions, 2)
    np.testing.assert_allclose(
        np.unique(np.round(b.dist, 9)), [0.8 * lat.cell[0, 0] / 2, 1.2 * lat.cell[0, 0] / 2]
    )


@pytest.mark.parametrize(
    ("family", "params", "expected"),
    [
        # Star (decorated honeycomb): flat bands at t_intra ± t_inter.
        ("star", {"t_intra": 0.7, "t_inter": 1.3}, [-0.6, 2.0]),
        # Square-octagon with fully connected plaquettes: flat at t_intra ± t_inter.
        ("square_octagon", {"t_intra": 1.0, "t_inter": 0.5, "t2": 1.0}, [0.5, 1.5]),
        # AA kagome bilayer: the kagome flat band split by ±t_perp (one hides in a crossing).
        ("bilayer_kagome", {"t": 1.0, "t_perp": 0.3}, [1.7, 2.3]),
        # σ-only px/py honeycomb: flat bands at ±3/2 Vσ.
        ("px_py_honeycomb", {"vsigma": 1.2, "vpi": 0.0}, [-1.8, 1.8]),
    ],
)
def test_flat_band_energies(family, params, expected):
    found = levels(make_lattice(family, **params))
    assert [e for e, _ in found] == pytest.approx(expected)
    assert [d for _, d in found] == [1] * len(expected)


def test_flat_band_degeneracy_of_decoupled_kagome_layers():
    # Without interlayer hopping the two layers' flat bands coincide: one level, twice.
    assert levels(make_lattice("bilayer_kagome", t=1.0, t_perp=0.0)) == [(pytest.approx(2.0), 2)]
    # Lieb: at M the flat band meets both dispersive bands (three-fold point at 0).
    e_m = eig(make_lattice("lieb"), M_SQ)
    np.testing.assert_allclose(e_m, [0.0, 0.0, 0.0], atol=1e-12)


def test_plain_square_octagon_and_dispersive_lattices_have_no_flat_band():
    for family in ("square", "triangular", "honeycomb", "square_octagon", "bilayer_honeycomb"):
        assert levels(make_lattice(family)) == [], family


def test_bernal_bilayer_touches_quadratically_at_k():
    lat = make_lattice("bilayer_honeycomb", t=1.0, t_perp=0.3)
    e_k = eig(lat, K_HEX)
    np.testing.assert_allclose(e_k, [-0.3, 0.0, 0.0, 0.3], atol=1e-12)
    e1, e2 = (eig(lat, (1 / 3 + q, 1 / 3))[2] for q in (1e-3, 2e-3))
    assert e2 / e1 == pytest.approx(4.0, rel=1e-2)
    gapped = make_lattice("bilayer_honeycomb", t=1.0, t_perp=0.3, delta=0.2)
    assert eig(gapped, K_HEX)[2] - eig(gapped, K_HEX)[1] == pytest.approx(0.2, rel=0.05)


def test_two_orbital_square_sigma_only_bands_are_one_dimensional():
    lat = make_lattice("two_orbital_square", vsigma=1.0, vpi=0.0)
    kpts, labels = lat.kpath()
    gx = slice(0, labels.index("X", 1) + 1)  # Γ–X runs along ky at kx = 0
    e = lat.eigenvalues(kpts[gx])
    assert np.ptp(e[:, 1]) < 1e-12 and e[0, 1] == pytest.approx(2.0)  # px: 2Vσ cos(kx a)
    assert np.ptp(e[:, 0]) == pytest.approx(4.0)  # py disperses fully along ky
    for efermi, strip in ((1.3, "1"), (1.5, "1"), (1.7, "2"), (2.2, "3"), (2.9, "4")):
        truth = band_truth(lat.band_structure(efermi=efermi))
        assert truth["n_flat_bands"] == 0 and truth["n_flat_segments"] == 1
        assert truth["flat_strips"] == strip, efermi  # strips are [a, b), the top one closed
    outside = band_truth(lat.band_structure(efermi=0.9))  # the flat piece at +1.1 eV
    assert outside["flat_strips"] == "" and outside["n_flat_segments"] == 0
    # The px band is flat along Γ–X only (2Vσ = 2 eV), not along the whole path.
    (piece,) = band_truth(lat.band_structure(efermi=1.7))["flat_pieces"]
    assert piece == {"segment": "Γ–X", "spin": 0, "energy": 0.3, "width": 0.0,
                     "whole_path": False}  # fmt: skip


@pytest.mark.parametrize(
    ("family", "knob", "near", "base"),
    [
        ("kagome", "t2", 2.0, {}),
        ("lieb", "t2", 0.0, {}),
        ("dice", "t_rim", 0.0, {}),
        ("checkerboard", "t2", 2.0, {}),
        ("star", "eps", 0.0, {}),
        ("px_py_honeycomb", "vpi", 1.5, {}),
    ],
)
def test_perturbations_lift_the_flat_band_monotonically(family, knob, near, base):
    def knob_value(s):
        # On-site disorder: a fixed random pattern scaled by s.
        return [s * x for x in (0.3, -1.1, 0.8, 0.5, -0.4, 1.0)] if knob == "eps" else s

    widths = [
        flat_width(make_lattice(family, **{**base, knob: knob_value(s)}), near)
        for s in (0.0, 0.01, 0.03, 0.1, 0.3)
    ]
    assert widths[0] < 1e-12
    assert all(b > a for a, b in itertools.pairwise(widths)), widths
    assert widths[-1] > FLAT_BANDWIDTH


@pytest.mark.parametrize(
    "family",
    [
        "kagome",
        "breathing_kagome",
        "lieb",
        "dice",
        "checkerboard",
        "square_octagon",
        "star",
        "bilayer_kagome",
        "px_py_honeycomb",
    ],
)
def test_sampled_perturbations_decide_exact_flatness(family):
    """Ideal samples (perturbation 0) keep an exactly flat band; perturbed ones have none."""
    rng = np.random.default_rng(7)
    seen = set()
    for _ in range(25):
        params, strength = FAMILY_SPECS[family].sample(rng)
        lat = make_lattice(family, **params)
        k = np.concatenate([lat.mesh(12), lat.kpath()[0][:, :2]])
        exact = flat_levels(lat.eigenvalues(k), max_width=1e-9)
        if strength == 0:
            assert exact, params
        elif strength < 1:
            assert not exact, params
        seen.add(strength == 0)
    assert seen == {True, False}


def test_on_site_disorder_lifts_the_kagome_flat_band():
    widths = [flat_width(make_lattice("kagome", eps=[s, -s, 0.0]), 2.0) for s in (0.0, 0.05, 0.2)]
    assert widths[0] < 1e-12 < widths[1] < widths[2]


# -- geometry and gauge ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "shell_counts"),
    [
        ("square", [4, 4]),  # per site: 4 NN, 4 diagonal NNN
        ("triangular", [6, 6]),
        ("honeycomb", [3, 6]),
        ("kagome", [4, 4]),
        ("lieb", [8 / 3, 8 / 3]),  # corner 4 + two edges 2 each; NNN only edge–edge (4 each)
    ],
)
def test_bonds_found_from_distance_shells(family, shell_counts):
    lat = make_lattice(family)
    b = find_bonds(lat.cell, lat.positions, 2)
    n_sites = len(lat.positions)
    for shell, per_site in enumerate(shell_counts, start=1):
        # Each bond is listed once and has two ends.
        assert 2 * (b.shell == shell).sum() / n_sites == pytest.approx(per_site)


@pytest.mark.parametrize("family", FAMILIES)
def test_physical_gauge_and_hermiticity(family):
    lat = make_lattice(family)
    rng = np.random.default_rng(0)
    k = rng.random((5, 2))
    h = lat.hamiltonian(k)
    np.testing.assert_allclose(h, h.conj().transpose(0, 2, 1), atol=1e-12)
    # With real positions in the phases, H(k + G)_ij = exp(iG·(r_j − r_i)) H(k)_ij.
    g = np.array([1.0, -2.0])
    r = lat.positions[lat.orbital_site, :2]
    gcart = g @ lat.reciprocal[:2, :2]
    u = np.exp(1j * (r @ gcart))
    expected = h * np.conj(u)[None, :, None] * u[None, None, :]
    np.testing.assert_allclose(lat.hamiltonian(k + g), expected, atol=1e-10)


def test_paths_repeat_corners_and_measure_true_distances():
    lat = make_lattice("kagome", a=5.0)
    bs = lat.band_structure()
    assert bs.path_string == "Γ–M–K–Γ"
    ticks = {lab: x for x, lab in bs.labels}
    gm = 2 * math.pi / (math.sqrt(3) * 5.0)  # |ΓM| = 2π/(√3 a)
    mk = 2 * math.pi / (3 * 5.0)  # |MK| = 2π/(3a)
    kg = 4 * math.pi / (3 * 5.0)  # |KΓ| = 4π/(3a)
    assert [lab for _, lab in bs.labels] == ["Γ", "M", "K", "Γ"]
    assert ticks["M"] == pytest.approx(gm)
    assert ticks["K"] == pytest.approx(gm + mk)
    assert bs.distances[-1] == pytest.approx(gm + mk + kg)
    assert (bs.kpoints[:, 2] == 0).all()
    # Corners repeat where segments meet, as in pymatgen line-mode files.
    for s0, s1 in zip(bs.segments, bs.segments[1:], strict=False):
        np.testing.assert_array_equal(bs.kpoints[s0.stop - 1], bs.kpoints[s1.start])
    assert bs.reciprocal_lattice[2, 2] == pytest.approx(2 * math.pi / lat.cell[2, 2])
    sq = make_lattice("lieb").band_structure()
    assert sq.path_string == "Γ–X–M–Γ"
    assert make_lattice("rectangular").band_structure().path_string == "Γ–X–S–Y–Γ"


@pytest.mark.parametrize("family", FAMILIES)
def test_structure_symmetry_matches_the_declared_space_group(family):
    from pymatgen.core import Lattice as PmgLattice
    from pymatgen.core import Structure
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    rng = np.random.default_rng(1)
    params, _ = FAMILY_SPECS[family].sample(rng)
    lat = make_lattice(family, **params)
    structure = lat.structure()
    reference = Structure(
        PmgLattice(lat.cell),
        [lat.element] * len(lat.positions),
        structure.cart_coords,
        coords_are_cartesian=True,
    )
    assert structure == reference  # the hand-written dict is a valid pymatgen Structure
    sga = SpacegroupAnalyzer(structure, symprec=1e-3)
    assert sga.get_space_group_number() == FAMILY_SPECS[family].sg_number
    assert sga.get_crystal_system() == FAMILY_SPECS[family].crystal_system
    assert structure.lattice.c >= 20.0  # vacuum along c
    assert np.ptp(structure.cart_coords[:, 2]) < structure.lattice.c - 19.9


# -- ground truth ---------------------------------------------------------------------------
def _bs(energies_rel, segments=None):
    e = np.asarray(energies_rel, dtype=float)
    nk = e.shape[0]
    return BandStructure(
        "t", e[None] + 1.0, 1.0, np.linspace(0, 1, nk), segments or [Segment(0, nk, "Γ", "X")]
    )


def test_flat_levels_through_crossings_and_strips():
    k = np.linspace(0, 1, 50)
    flat = np.full_like(k, 0.25)
    steep = -1.5 + 3 * k  # crosses the flat band
    e = np.sort(np.stack([flat, steep], axis=1), axis=1)
    assert np.ptp(e[:, 0]) > 1 and np.ptp(e[:, 1]) > 1  # sorted bands are not flat
    truth = band_truth(_bs(e))
    assert truth["flat_band_energies"] == [0.25]
    assert [(p["energy"], p["whole_path"]) for p in truth["flat_pieces"]] == [(0.25, True)]
    assert truth["n_flat_bands"] == 1 and truth["flat_strips"] == "2"
    low = band_truth(_bs(np.stack([flat - 1.0, steep + 5], axis=1)))
    assert low["flat_strips"] == "4" and low["has_flat_band_near_ef"]
    straddle = band_truth(_bs(np.stack([0.04 * k - 0.02, steep + 5], axis=1)))
    assert straddle["flat_strips"] == "2,3"
    far = band_truth(_bs(np.stack([flat + 2.0, steep], axis=1)))
    assert far["n_flat_bands"] == 1 and not far["has_flat_band_near_ef"]
    assert far["flat_strips"] == "" and far["n_flat_segments"] == 0
    wide = band_truth(_bs(np.stack([0.3 * k, steep + 5], axis=1)))
    assert wide["n_flat_bands"] == 0


def test_degenerate_flat_levels_are_counted():
    k = np.linspace(0, 1, 30)
    e = np.stack([np.zeros_like(k), np.zeros_like(k), np.cos(3 * k) + 3], axis=1)
    assert [(lv.energy, lv.degeneracy) for lv in flat_levels(e)] == [(0.0, 2)]


def test_fermi_level_by_filling():
    hc = make_lattice("honeycomb", t=1.0)
    assert hc.fermi_level(2.0) == pytest.approx(0.0, abs=1e-12)  # half filling: Dirac point
    sq = make_lattice("square", t=1.0)
    assert sq.fermi_level(1.0) == pytest.approx(0.0, abs=0.2)
    with pytest.raises(BandprintError):
        sq.fermi_level(2.5)


# -- samples --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples():
    return sample_zoo(90, seed=11)


def test_every_family_gives_valid_band_structures(samples):
    assert {bs.metadata["family"] for bs in samples} == set(FAMILIES)
    for bs in samples:
        bs.validate()
        assert bs.metadata["is_2d"] and bs.material_id.startswith(bs.metadata["family"] + "-")
        assert bs.kpoints is not None and bs.reciprocal_lattice is not None
        assert bs.structure is not None and bs.formula == bs.metadata["formula"]
        e = bs.energies_relative
        # Bandwidths of a few eV, Fermi level inside the spectrum.
        assert 1.5 <= bs.metadata["bandwidth"] <= 6.0
        assert e.min() < 0 < e.max()
        bs.to_pymatgen()  # pymatgen accepts it


def test_deterministic_for_a_seed_and_prefix_stable():
    a = sample_zoo(16, seed=3)
    b = sample_zoo(16, seed=3)
    c = sample_zoo(16, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.energies, y.energies)
        assert x.efermi == y.efermi and x.metadata == y.metadata
    assert any(not np.array_equal(x.energies, z.energies) for x, z in zip(a, c, strict=False))
    head = sample_zoo(5, seed=3)
    for x, y in zip(head, a[:5], strict=True):
        np.testing.assert_array_equal(x.energies, y.energies)
    one = sample_one(a[7].metadata["family"], 7, seed=3)
    np.testing.assert_array_equal(one.energies, a[7].energies)


def test_ground_truth_agrees_with_the_band_structure(samples):
    table = ground_truth_table(samples)
    assert list(table.columns) == TRUTH_COLUMNS
    for bs, row in zip(samples, table.itertuples(index=False), strict=True):
        gap = bs.band_gap()
        assert row.band_gap == pytest.approx(gap.energy, abs=1e-9)
        assert row.is_metal == gap.is_metal
        rel = bs.energies_relative
        if row.electronic_class == "insulator":
            assert gap.energy >= 0.05 and not gap.is_metal
            assert np.abs(rel).min() > 1e-3
        if row.target_class == "insulator":
            # Mid-gap: E_F sits at least half the smallest insulating gap from every band.
            assert row.electronic_class == "insulator"
            assert np.abs(rel).min() >= 0.1 - 1e-9
        if row.target_class == "semimetal":
            assert row.electronic_class == "semimetal"
            assert np.abs(rel).min() < 1e-6  # bands touch E_F
        if row.electronic_class == "metal":
            assert gap.is_metal
        energies = json.loads(row.flat_band_energies)
        assert len(energies) == len(json.loads(row.flat_band_widths))
        assert all(w < FLAT_BANDWIDTH for w in json.loads(row.flat_band_widths))
        assert json.loads(row.params) == bs.metadata["params"]


def test_classes_and_flat_bands_all_occur(samples):
    table = ground_truth_table(samples)
    counts = table["electronic_class"].value_counts()
    assert counts.get("metal", 0) >= 10
    assert counts.get("insulator", 0) >= 10
    assert counts.get("semimetal", 0) >= 3
    assert table["has_flat_band_near_ef"].sum() >= 5
    # A random filling aimed at a metal nearly always gives one (it can land in an exactly
    # flat band or a gap).
    metals = table[table["target_class"] == "metal"]
    assert (metals["electronic_class"] == "metal").mean() >= 0.8
    assert (table["n_flat_bands"] == 0).sum() >= 20
    assert table["spin_polarised"].any()


def test_ideal_kagome_samples_keep_the_flat_band_at_2t():
    ideal = 0
    for bs in sample_zoo(24, seed=5, families=["kagome"]):
        meta = bs.metadata
        if meta["perturbation"] == 0:
            ideal += 1
            flat = 2 * meta["params"]["t"] + meta["energy_offset"] - bs.efermi
            assert any(abs(e - flat) < 1e-6 for e in meta["flat_band_energies"])
        else:
            # Perturbed: the band near 2t is no longer exactly flat.
            assert all(w > 0 for w in meta["flat_band_widths"])
    assert ideal >= 3


def test_samples_are_rebuilt_from_their_recorded_parameters(samples):
    for bs in samples[:30]:
        meta = bs.metadata
        lat = make_lattice(meta["family"], **meta["params"])
        lat = lat.with_spectators(meta["spectators"])
        e = lat.eigenvalues(bs.kpoints) + meta["energy_offset"]
        split = meta["exchange_splitting"]
        expected = np.stack([e - split / 2, e + split / 2]) if split else e[None]
        np.testing.assert_allclose(bs.energies, expected, atol=1e-9)


# -- the 2DMatPedia layout ------------------------------------------------------------------
def test_written_zoo_reads_back_with_the_2dmatpedia_reader(tmp_path):
    table = write_zoo(tmp_path, 30, seed=2)
    assert (tmp_path / "db.json").is_file() and (tmp_path / "ground_truth.parquet").is_file()
    assert len(list((tmp_path / "bands").iterdir())) == 30
    memory = {bs.material_id: bs for bs in sample_zoo(30, seed=2)}
    read = read_band_structures(tmp_path)
    assert sorted(bs.material_id for bs in read) == sorted(memory)
    for bs in read:
        ref = memory[bs.material_id]
        np.testing.assert_array_equal(bs.energies, ref.energies)
        np.testing.assert_allclose(bs.distances, ref.distances, rtol=1e-12)
        assert bs.labels == ref.labels and bs.efermi == ref.efermi
        assert bs.source_format == "2dmatpedia"
        # db.json metadata joined on material_id.
        assert bs.metadata["discovery_process"] == "tight-binding zoo"
        assert bs.metadata["sg_number"] == ref.metadata["sg_number"]
        assert bs.metadata["bandgap"] == pytest.approx(bs.band_gap().energy)
        assert bs.formula == ref.formula
        assert bs.structure == ref.structure
    rows = [orjson.loads(line) for line in (tmp_path / "db.json").read_bytes().splitlines()]
    assert {r["material_id"] for r in rows} == set(memory)
    assert rows[0]["spacegroup"]["crystal_system"] in {"hexagonal", "tetragonal", "orthorhombic"}
    csv = read_ground_truth(tmp_path / "ground_truth.csv")
    parquet = read_ground_truth(tmp_path)
    pd.testing.assert_frame_equal(csv, table, check_dtype=False)
    pd.testing.assert_frame_equal(parquet, table)


def test_cli_zoo(tmp_path):
    runner = CliRunner()
    out = tmp_path / "zoo"
    result = runner.invoke(main, ["zoo", str(out), "--n", "6", "--seed", "1", "-q",
                                  "--families", "lieb,dice"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 6 band structures" in result.output
    gt = pd.read_csv(out / "ground_truth.csv")
    assert list(gt["family"]) == ["lieb", "dice"] * 3
    bad = runner.invoke(main, ["zoo", str(tmp_path / "x"), "--families", "kagome,hexagon"])
    assert bad.exit_code == 2
    assert bad.output.strip().startswith("error: unknown lattice family 'hexagon'")
    assert not (tmp_path / "x").exists()
    listed = runner.invoke(main, ["zoo", "--list"])
    assert listed.output.split() == FAMILIES
    again = runner.invoke(main, ["zoo", str(out), "--n", "2", "-q"])
    assert again.exit_code == 2 and "already holds a dataset" in again.output
    forced = runner.invoke(main, ["zoo", str(out), "--n", "2", "-q", "--force"])
    assert forced.exit_code == 0, forced.output
    assert sorted(f.name for f in (out / "bands").iterdir()) == [
        "rectangular-0001.json",
        "square-0000.json",
    ]


def test_bad_parameters_are_one_line_errors():
    with pytest.raises(BandprintError, match="unknown lattice family"):
        make_lattice("hexagon")
    with pytest.raises(BandprintError, match="kagome"):
        make_lattice("kagome", u=1.0)
    with pytest.raises(BandprintError, match="3 on-site"):
        make_lattice("kagome", eps=[0.0, 1.0])
    with pytest.raises(BandprintError, match="breathing"):
        make_lattice("breathing_kagome", breathing=0.7)


def test_bandprint_ingest_reads_the_zoo(tmp_path):
    write_zoo(tmp_path / "zoo", 8, seed=4)
    runner = CliRunner()
    ws = tmp_path / "ws"
    result = runner.invoke(main, ["ingest", str(tmp_path / "zoo"), "--into", str(ws), "-q",
                                  "--workers", "1", "--strict"])  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["list", str(ws), "--format", "json"])
    records = {r["material_id"]: r for r in orjson.loads(listed.output)}
    truth = read_ground_truth(tmp_path / "zoo")
    assert set(records) == set(truth["material_id"])
    for row in truth.itertuples(index=False):
        assert records[row.material_id]["formula"] == row.formula
        assert records[row.material_id]["band_gap"] == pytest.approx(row.band_gap)


def test_planted_near_duplicates_are_close_but_not_identical(tmp_path):
    from bandprint.read import read_band_structures
    from bandprint.zoo import write_near_duplicates, write_zoo

    write_zoo(tmp_path, 30, seed=3)
    pairs = write_near_duplicates(tmp_path, 4, seed=3)
    assert len(pairs) == 4 and (tmp_path / "duplicates.csv").is_file()
    by_id = {bs.material_id: bs for bs in read_band_structures(tmp_path)}
    assert len(by_id) == 34
    for dup_id, orig_id in zip(pairs.material_id, pairs.duplicate_of, strict=True):
        dup, orig = by_id[dup_id], by_id[orig_id]
        assert dup.formula == orig.formula and dup.path_string == orig.path_string
        shift = np.abs(dup.energies_relative - orig.energies_relative)
        # a small distortion: ≤3 % stretch of a few-eV spectrum plus a 5 meV ripple
        assert 0 < shift.max() < 0.03 * np.abs(orig.energies_relative).max() + 0.006
        ratio = dup.distances[-1] / orig.distances[-1]
        assert 0.97 < ratio < 1.03


def test_perturbed_twin_is_the_same_model_with_slightly_different_parameters():
    from bandprint.zoo import perturbed_twin

    samples = sample_zoo(45, seed=4)
    rng = np.random.default_rng(0)
    for bs in samples:
        same = perturbed_twin(bs, rng, change=0.0)
        np.testing.assert_allclose(same.energies, bs.energies, atol=1e-9)
        np.testing.assert_allclose(same.distances, bs.distances, rtol=1e-12)
        twin = perturbed_twin(bs, rng, change=0.03)
        assert twin.material_id == bs.material_id + "-twin" and twin.efermi == bs.efermi
        rel = bs.energies - bs.metadata["energy_offset"]  # eigenvalues on the model's scale
        shift = np.abs(twin.energies - bs.energies).max()
        assert 0 < shift <= 0.031 * np.abs(rel).max() * 3 + 1e-9  # each term moves ≤ 3 %
    # An ideal kagome keeps its exactly flat band, moved with its hopping to +2t'.
    ideal = next(
        b for b in samples if b.metadata["family"] == "kagome" and b.metadata["n_flat_bands"]
    )
    twin = perturbed_twin(ideal, rng)
    levels = flat_levels(twin.energies[0] - twin.metadata["energy_offset"], 1e-9)
    t = twin.metadata["params"]["t"]
    assert any(abs(lv.energy - 2 * t) < 1e-9 for lv in levels)
    assert twin.metadata["params"]["t"] != ideal.metadata["params"]["t"]
