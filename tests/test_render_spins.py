"""Spins as two image channels (``RenderSettings(spins="channels")``): what the overlaid
picture cannot tell apart, and what stays the same."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bandprint import BandprintError, BandStructure, Segment
from bandprint.render import (
    RenderSettings,
    check_images,
    pack_images,
    render_band_images,
    unpack_images,
)

SIZE = 64
WINDOW = (-4.0, 4.0)
NK = 60
K = np.linspace(0.0, math.pi, NK)
#: One dispersive band, 0.5 cos k (−0.5 … 0.5 eV), split by an exchange field of ±0.8 eV.
BAND = 0.5 * np.cos(K)
SPLIT = 0.8


def bands(energies: np.ndarray, material_id: str) -> BandStructure:
    """energies [spin, k, band] in eV; E_F at 0, in the gap between the split bands."""
    return BandStructure(
        material_id=material_id,
        energies=energies,
        efermi=0.0,
        distances=K.copy(),
        segments=[Segment(0, NK, "Γ", "X")],
    )


def ferromagnet() -> BandStructure:
    """Spin up carries the band at −0.8 eV, spin down the one at +0.8 eV."""
    up, down = BAND - SPLIT, BAND + SPLIT
    return bands(np.stack([up[:, None], down[:, None]]), "ferromagnet")


def non_magnet() -> BandStructure:
    """One spin channel holding both bands of the ferromagnet: the union of its spins."""
    return bands(np.stack([BAND - SPLIT, BAND + SPLIT], axis=1)[None], "non-magnet")


def row(e: float) -> int:
    lo, hi = WINDOW
    return math.floor((hi - e) / (hi - lo) * SIZE)


def rows_of(img: np.ndarray) -> set[int]:
    return set(np.flatnonzero(img.any(axis=1)).tolist())


OVERLAY = RenderSettings(size=SIZE, window=WINDOW)
CHANNELS = RenderSettings(size=SIZE, window=WINDOW, spins="channels")


def test_ferromagnet_and_union_non_magnet_alike_overlaid_apart_as_channels():
    fm, nm = ferromagnet(), non_magnet()
    # Same union of bands, same gap, so the same energy zero (mid-gap = E_F = 0 here).
    assert fm.band_gap() == nm.band_gap()
    over = render_band_images([fm, nm], OVERLAY)
    assert over.shape == (2, SIZE, SIZE) and over[0].any()
    assert np.array_equal(over[0], over[1])

    ch = render_band_images([fm, nm], CHANNELS)
    assert ch.shape == (2, 2, SIZE, SIZE)
    fm_up, fm_down = ch[0]
    # Spin up lies wholly below E_F (rows of −1.3 … −0.3 eV), spin down wholly above.
    assert rows_of(fm_up) <= set(range(row(-0.3), row(-1.3) + 1)) and fm_up.any()
    assert rows_of(fm_down) <= set(range(row(1.3), row(0.3) + 1)) and fm_down.any()
    assert not (fm_up & fm_down).any()
    # Together the channels are the overlaid picture.
    assert np.array_equal(fm_up | fm_down, over[0])
    # The non-magnet has both bands in both channels: its channels equal the overlay.
    assert np.array_equal(ch[1, 0], over[1]) and np.array_equal(ch[1, 1], over[1])
    assert not np.array_equal(ch[0], ch[1])


def test_unpolarised_band_structures_give_identical_channels():
    nm = non_magnet()
    # The same bands written as two equal spin channels (a spin-polarised run that found no
    # moment) draw as the one-channel band structure does.
    both = bands(np.concatenate([nm.energies, nm.energies]), "unpolarised-two-spins")
    ch = render_band_images([nm, both], CHANNELS)
    assert np.array_equal(ch[0, 0], ch[0, 1])
    assert np.array_equal(ch[1, 0], ch[1, 1])
    assert np.array_equal(ch[0], ch[1])


def test_channel_settings_shape_key_and_images():
    assert (OVERLAY.channels, CHANNELS.channels) == (1, 2)
    assert OVERLAY.image_shape == (SIZE, SIZE) and CHANNELS.image_shape == (2, SIZE, SIZE)
    assert OVERLAY.key != CHANNELS.key  # cached images of the two never mix
    assert RenderSettings.from_dict(CHANNELS.to_dict()) == CHANNELS
    assert render_band_images([], CHANNELS).shape == (0, 2, SIZE, SIZE)
    ch = render_band_images([ferromagnet()], CHANNELS)
    assert np.array_equal(unpack_images(pack_images(ch), SIZE), ch)
    assert check_images(ch, CHANNELS).shape == (1, 2, SIZE, SIZE)
    # One-channel images are refused, also two of them, which have a two-channel image's shape.
    for wrong in (np.zeros((3, SIZE, SIZE)), np.zeros((2, SIZE, SIZE)), ch[0]):
        with pytest.raises(BandprintError, match=r"expected \[n, 2, 64, 64\] \(two spin"):
            check_images(wrong, CHANNELS)
    with pytest.raises(BandprintError, match=r"expected \[n, 64, 64\]"):
        check_images(ch, OVERLAY)
    assert check_images(np.zeros((3, 1, SIZE, SIZE)), OVERLAY).shape == (3, SIZE, SIZE)
    with pytest.raises(BandprintError, match="'channels'"):
        RenderSettings(spins="pairs")  # type: ignore[arg-type]
