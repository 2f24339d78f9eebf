"""Geometry of the band-structure images: rows, columns, clipping, breaks, spins, 2-D paths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bandprint import BandprintError, BandStructure, Segment, read_band_structure
from bandprint.render import (
    RenderSettings,
    line_width_of,
    pack_images,
    render_band_image,
    render_band_images,
    save_band_image,
    unpack_images,
)

REAL = Path(__file__).parent / "data" / "real"


def make_bs(
    bands: np.ndarray,
    distances: np.ndarray,
    segments: list[tuple[int, int]],
    efermi: float = 0.0,
    **kwargs,
) -> BandStructure:
    """bands: [spin, k, band] energies relative to E_F (efermi added back)."""
    return BandStructure(
        material_id="test",
        energies=np.asarray(bands, float) + efermi,
        efermi=efermi,
        distances=np.asarray(distances, float),
        segments=[Segment(a, b, "A", "B") for a, b in segments],
        **kwargs,
    )


def flat(e: float, nk: int = 30) -> BandStructure:
    return make_bs(np.full((1, nk, 1), e), np.linspace(0, 2, nk), [(0, nk)], efermi=5.3)


def expected_row(e: float, size: int = 224, window: tuple[float, float] = (-4, 4)) -> int:
    lo, hi = window
    return math.floor((hi - e) / (hi - lo) * size)


@pytest.mark.parametrize("e", [0.0, 1.3, -2.71, 3.9])
def test_flat_band_is_one_full_row_at_its_energy(e):
    img = render_band_image(flat(e))
    assert img.shape == (224, 224) and img.dtype == np.uint8
    assert set(np.unique(img)) <= {0, 1}
    rows = np.flatnonzero(img.any(axis=1))
    assert rows.tolist() == [expected_row(e)]
    assert img[expected_row(e)].all()  # continuous across every column


def test_flat_band_other_size_and_window():
    img = render_band_image(flat(0.75), size=64, window=(-1, 2))
    assert img.shape == (64, 64)
    assert np.flatnonzero(img.any(axis=1)).tolist() == [expected_row(0.75, 64, (-1, 2))]


def test_line_width_two_covers_the_two_nearest_rows():
    e = 0.3  # v = (4 - 0.3) / 8 * 224 = 103.6 -> rows floor(103.1) and floor(104.1)
    img = render_band_image(flat(e), line_width=2)
    assert np.flatnonzero(img.any(axis=1)).tolist() == [103, 104]
    assert line_width_of(img) == pytest.approx(2.0)


@pytest.mark.parametrize("e", [4.01, 4.5, -4.0, -30.0])
def test_band_outside_window_draws_nothing(e):
    # The window is (lo, hi]: a band exactly at the top edge is row 0, at the bottom it is out.
    assert render_band_image(flat(e)).sum() == 0


def test_band_at_top_edge_is_row_zero():
    assert np.flatnonzero(render_band_image(flat(4.0)).any(axis=1)).tolist() == [0]


def test_kagome_flat_band_on_a_row_boundary_is_one_row():
    # Uniform kagome (t = 1): flat band at exactly +2t, which is row boundary 56 at 224 px;
    # rounding noise of 1e-15 must not split it over rows 55 and 56.
    from bandprint import zoo

    bs = zoo.make_lattice("kagome", t=1.0).band_structure("kagome", efermi=0.0)
    img = render_band_image(bs)
    assert img[56].all()
    assert img[55].sum() == 0


def test_steep_line_is_cut_at_the_border_not_clamped():
    nk = 11
    # One band rising linearly from 0 eV to 20 eV: inside the window only for x < 1/5.
    bs = make_bs(np.linspace(0, 20, nk)[None, :, None], np.linspace(0, 1, nk), [(0, nk)])
    img = render_band_image(bs)
    cols = np.flatnonzero(img.any(axis=0))
    # It leaves the top at x = 4/20 of the width: column ~ 0.2 * 223.
    assert cols.max() <= math.ceil(0.2 * 223) + 1
    # Cut, not clamped: the top row holds only the one or two pixels where the line exits.
    assert img[0].sum() <= 2
    # And it is drawn without gaps from E_F (row 112) to the top.
    assert img.any(axis=1)[: expected_row(0.0) + 1].all()


def test_break_between_segments_is_not_joined():
    # Two segments meeting at a break (X|U): the band is at -2 eV before and +2 eV after.
    nk = 20
    energies = np.where(np.arange(nk) < 10, -2.0, 2.0)[None, :, None]
    distances = np.concatenate([np.linspace(0, 1, 10), np.linspace(1, 2, 10)])
    broken = make_bs(energies, distances, [(0, 10), (10, 20)])
    img = render_band_image(broken)
    top, bottom = expected_row(2.0), expected_row(-2.0)
    assert img[top + 1 : bottom].sum() == 0
    assert img[top].sum() > 100 and img[bottom].sum() > 100
    # The same energies in one segment are joined by a vertical line (the test can fail).
    joined = make_bs(energies, np.linspace(0, 2, nk), [(0, nk)])
    assert img.sum() < render_band_image(joined).sum()
    assert render_band_image(joined)[top + 1 : bottom].sum() >= bottom - top - 1


def test_distance_and_index_axes_place_segment_boundary_differently():
    # Segment 1 is 3 1/Å long, segment 2 is 1 1/Å long, each with 11 k-points.
    d1, d2 = np.linspace(0, 3, 11), np.linspace(3, 4, 11)
    energies = np.concatenate([np.full(11, -1.0), np.full(11, 1.0)])[None, :, None]
    bs = make_bs(energies, np.concatenate([d1, d2]), [(0, 11), (11, 22)])

    def last_column_of_first_segment(img):
        return int(np.flatnonzero(img[expected_row(-1.0)])[-1])

    by_distance = render_band_image(bs, x_axis="distance")
    by_index = render_band_image(bs, x_axis="index")
    # The boundary is at 3/4 of the path by distance, at 1/2 by k-point index.
    assert last_column_of_first_segment(by_distance) == math.floor(0.75 * 223 + 0.5)
    assert last_column_of_first_segment(by_index) == math.floor(0.5 * 223 + 0.5)


def test_spins():
    nk = 15
    energies = np.stack([np.full((nk, 1), -1.0), np.full((nk, 1), 1.0)])
    bs = make_bs(energies, np.linspace(0, 1, nk), [(0, nk)])
    rows = lambda img: np.flatnonzero(img.any(axis=1)).tolist()  # noqa: E731
    ef = {"energy_reference": "fermi"}  # the bands at ±1 eV around E_F, as written
    assert rows(render_band_image(bs, **ef)) == [expected_row(1.0), expected_row(-1.0)]
    assert rows(render_band_image(bs, spins="up", **ef)) == [expected_row(-1.0)]
    assert rows(render_band_image(bs, spins="down", **ef)) == [expected_row(1.0)]
    # The gap is [-1, 1]: drawn from the VBM the bands sit at 0 and +2 eV; mid-gap is E_F here.
    vbm = rows(render_band_image(bs, energy_reference="vbm"))
    assert vbm == [expected_row(2.0), expected_row(0.0)]
    assert rows(render_band_image(bs, energy_reference="midgap")) == rows(
        render_band_image(bs, **ef)
    )
    with pytest.raises(BandprintError, match="not spin-polarised"):
        render_band_image(flat(0.0), spins="down")


def test_out_of_plane_segments_dropped_for_2d_materials():
    # In-plane segment (k_z = 0) with a band at -1, out-of-plane one (k_z > 0) with a band at +1.
    nk = 10
    kpts = np.zeros((2 * nk, 3))
    kpts[:nk, 0] = np.linspace(0, 0.5, nk)
    kpts[nk:, 0] = 0.5
    kpts[nk:, 2] = np.linspace(0, 0.5, nk)
    energies = np.concatenate([np.full(nk, -1.0), np.full(nk, 1.0)])[None, :, None]
    distances = np.concatenate([np.linspace(0, 1, nk), np.linspace(1, 2, nk)])
    kw = dict(kpoints=kpts)
    bulk = make_bs(energies, distances, [(0, nk), (nk, 2 * nk)], **kw)
    slab = make_bs(energies, distances, [(0, nk), (nk, 2 * nk)], metadata={"is_2d": True}, **kw)
    # Not flagged 2-D: both segments drawn, half the width each.
    img = render_band_image(bulk)
    assert img[expected_row(1.0)].any() and not img[expected_row(-1.0)].all()
    # Flagged 2-D: only the in-plane segment, across the full width.
    img = render_band_image(slab)
    assert not img[expected_row(1.0)].any() and img[expected_row(-1.0)].all()
    assert render_band_image(slab, drop_out_of_plane=False)[expected_row(1.0)].any()


def test_real_samples_render_and_pack():
    paths = sorted(REAL.glob("*-json/*.json"))
    assert paths
    bss = [read_band_structure(p) for p in paths]
    images = render_band_images(bss, size=112)
    assert images.shape == (len(bss), 112, 112)
    # Every sample has bands within ±4 eV of E_F; ink is a few per cent of the image.
    ink = images.mean(axis=(1, 2))
    assert ((ink > 0.01) & (ink < 0.3)).all()
    assert np.array_equal(unpack_images(pack_images(images), 112), images)
    vbr2 = next(b for b in bss if b.nspin == 2)
    both = render_band_image(vbr2)
    up = render_band_image(vbr2, spins="up")
    assert ((both >= up).all()) and both.sum() > up.sum()


def test_settings_validation_and_key():
    with pytest.raises(BandprintError):
        RenderSettings(window=(1, -1))
    with pytest.raises(BandprintError):
        RenderSettings(x_axis="energy")
    a, b = RenderSettings(), RenderSettings(size=112)
    assert a.key != b.key and RenderSettings.from_dict(a.to_dict()) == a


def test_zero_length_path_is_an_error():
    bs = make_bs(np.zeros((1, 3, 1)), np.zeros(3), [(0, 3)])
    with pytest.raises(BandprintError, match="zero length"):
        render_band_image(bs)


def test_png_is_black_bands_on_white(tmp_path):
    from PIL import Image

    img = render_band_image(flat(0.0), size=32)
    path = save_band_image(img, tmp_path / "x.png")
    back = np.asarray(Image.open(path))
    assert back.shape == (32, 32)
    assert (back[img == 1] == 0).all() and (back[img == 0] == 255).all()
