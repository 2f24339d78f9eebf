"""The canonical BandStructure: derived physics, path bookkeeping, round trips, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bandprint import BandprintError, BandStructure, Segment
from bandprint.bandstructure import normalize_label, path_distances, segments_from_labels

REAL = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def real_json_files() -> list[Path]:
    return sorted(REAL.glob("*-json/*.json"))


def _chain(efermi: float = 0.0, nk: int = 21, t: float = 1.0, spins: int = 1) -> BandStructure:
    """Two cosine bands with a direct gap of exactly 1 eV at the path end (k = π)."""
    k = np.linspace(0, np.pi, nk)
    lower = -1.0 - 0.5 * np.cos(k)  # max -0.5 at k = π
    upper = 1.0 + 0.5 * np.cos(k)  # min +0.5 at k = π  → direct gap 1.0 at k = π
    e = np.stack([lower, upper], axis=1)[None].repeat(spins, axis=0)
    kpts = np.zeros((nk, 3))
    kpts[:, 0] = np.linspace(0, 0.5, nk)
    return BandStructure(
        material_id="chain",
        energies=e,
        efermi=efermi,
        distances=k,
        segments=[Segment(0, nk, "Γ", "X")],
        kpoints=kpts,
        reciprocal_lattice=np.eye(3) * 2 * np.pi,
    )


def test_gap_direct_and_metal_from_fermi_level():
    bs = _chain(efermi=0.0)
    gap = bs.band_gap()
    assert gap.energy == pytest.approx(1.0)
    assert gap.direct and not gap.is_metal
    assert gap.vbm == pytest.approx(-0.5) and gap.cbm == pytest.approx(0.5)
    # E_F inside the lower band: that band crosses it, so a metal with gap 0.
    metal = _chain(efermi=-1.0).band_gap()
    assert metal.is_metal and metal.energy == 0.0


def test_matches_pymatgen_on_real_samples(real_json_files):
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

    from bandprint import read_band_structure

    for path in real_json_files:
        ours = read_band_structure(path)
        with open(path) as fh:
            theirs = BandStructureSymmLine.from_dict(json.load(fh))
        g = theirs.get_band_gap()
        assert ours.is_metal == theirs.is_metal(), path
        assert ours.band_gap().energy == pytest.approx(g["energy"], abs=1e-9), path
        assert ours.band_gap().direct == g["direct"], path
        np.testing.assert_allclose(ours.distances, theirs.distance, atol=1e-9)
        assert len(ours.segments) == len(theirs.branches)


def test_segments_split_at_repeated_points_and_jumps():
    labels = ["Γ", None, "X", "X", None, "M", "K", None, "Γ"]
    segs = segments_from_labels(labels)
    assert [(s.start, s.stop, s.start_label, s.end_label) for s in segs] == [
        (0, 3, "Γ", "X"),
        (3, 6, "X", "M"),
        (6, 9, "K", "Γ"),
    ]
    cart = np.arange(9, dtype=float)[:, None] * np.array([[1.0, 0, 0]])
    d = path_distances(cart, labels)
    # no distance is added between consecutive labelled points (X,X and M,K)
    assert d[3] == d[2] and d[6] == d[5]
    assert d[-1] == pytest.approx(6.0)


def test_path_string_marks_breaks():
    bs = _chain()
    two = BandStructure(
        material_id="x",
        energies=np.zeros((1, 6, 1)),
        efermi=0,
        distances=[0, 1, 2, 2, 3, 4],
        segments=[Segment(0, 3, "Γ", "X"), Segment(3, 6, "U", "L")],
    )
    assert two.path_string == "Γ–X|U–L"
    assert two.labels == [(0.0, "Γ"), (2.0, "X|U"), (4.0, "L")]
    assert bs.path_string == "Γ–X"


def test_in_plane_drops_out_of_plane_segments():
    nk = 5
    kz = np.zeros((3 * nk, 3))
    kz[:nk, 0] = np.linspace(0, 0.5, nk)  # Γ–M, in plane
    kz[nk : 2 * nk, 0] = 0.5
    kz[nk : 2 * nk, 2] = np.linspace(0, 0.5, nk)  # M–L, along kz
    kz[2 * nk :, 0] = np.linspace(0.5, 0, nk)
    kz[2 * nk :, 2] = 0.5  # L–A, in plane but at kz = 0.5
    bs = BandStructure(
        material_id="slab",
        energies=np.random.default_rng(0).normal(size=(1, 3 * nk, 2)),
        efermi=0,
        distances=np.concatenate(
            [np.arange(nk), nk - 1 + np.arange(nk), 2 * nk - 2 + np.arange(nk)]
        ),
        segments=[
            Segment(0, nk, "Γ", "M"),
            Segment(nk, 2 * nk, "M", "L"),
            Segment(2 * nk, 3 * nk, "L", "A"),
        ],
        kpoints=kz,
    )
    assert bs.out_of_plane_segments() == [1, 2]
    flat = bs.in_plane()
    assert [s.name for s in flat.segments] == ["Γ–M"]
    np.testing.assert_array_equal(flat.energies, bs.energies[:, :nk])


def test_dict_and_json_round_trip_is_lossless(real_json_files):
    from bandprint import read_band_structure

    bs = read_band_structure(real_json_files[0])
    again = BandStructure.from_dict(json.loads(json.dumps(bs.to_dict())))
    assert again == bs
    np.testing.assert_array_equal(again.energies, bs.energies)


def test_pymatgen_round_trip(real_json_files):
    from bandprint import read_band_structure

    for path in real_json_files:
        bs = read_band_structure(path)
        pmg = bs.to_pymatgen()
        back = BandStructure.from_pymatgen(pmg, material_id=bs.material_id)
        np.testing.assert_allclose(back.energies, bs.energies)
        assert back.path_string == bs.path_string
        assert back.efermi == bs.efermi


def test_pymatgen_dict_keeps_the_first_point_of_every_label():
    """pymatgen's labels_dict holds one point per label; the first occurrence along the path
    is kept for Γ (stored as "\\Gamma") exactly as for any other label."""
    nk = 21
    kpts = np.zeros((2 * nk, 3))
    kpts[:nk, 0] = np.linspace(0.0, 0.5, nk)  # Γ (0,0,0) → X (½,0,0)
    kpts[nk:, 0] = np.linspace(0.5, 1.0, nk)  # X → Γ of the next zone (1,0,0)
    bs = BandStructure(
        material_id="two-gammas",
        energies=np.zeros((1, 2 * nk, 1)),
        efermi=0.0,
        distances=np.concatenate([np.linspace(0, 1, nk), np.linspace(1, 2, nk)]),
        segments=[Segment(0, nk, "Γ", "X"), Segment(nk, 2 * nk, "X", "Γ")],
        kpoints=kpts,
        reciprocal_lattice=np.eye(3),
    )
    labels = bs.to_pymatgen_dict()["labels_dict"]
    assert labels == {"\\Gamma": [0.0, 0.0, 0.0], "X": [0.5, 0.0, 0.0]}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"energies": np.zeros((3, 4, 2))}, "spin"),
        ({"energies": np.full((1, 4, 2), np.nan)}, "NaN"),
        ({"energies": np.zeros((4, 2))}, "dimensions"),
        ({"distances": np.arange(3.0)}, "distances"),
        ({"distances": np.array([0, 2, 1, 3.0])}, "non-decreasing"),
        ({"efermi": float("inf")}, "Fermi"),
        ({"segments": [Segment(0, 9)]}, "outside"),
    ],
)
def test_validation_gives_one_line_reason(kwargs, message):
    base = {
        "material_id": "bad",
        "energies": np.zeros((1, 4, 2)),
        "efermi": 0.0,
        "distances": np.arange(4.0),
        "segments": [Segment(0, 4)],
    }
    base.update(kwargs)
    with pytest.raises(BandprintError, match=message) as info:
        BandStructure(**base)
    assert "\n" not in str(info.value)


def test_label_normalisation():
    assert normalize_label("\\Gamma") == "Γ"
    assert normalize_label("GAMMA") == "Γ"
    assert normalize_label("$\\Gamma$") == "Γ"
    assert normalize_label("G") == "Γ"
    assert normalize_label("K") == "K"
    assert normalize_label("\\mathrm{M}") == "M"
