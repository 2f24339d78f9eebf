"""The two-channel preset (``small-spin``): spin up and spin down in, the same out, and a
Fingerprinter that trains and encodes on such images end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bandprint import BandprintError
from bandprint.fingerprint import Fingerprinter
from bandprint.model import Autoencoder, AutoencoderConfig, count_parameters, preset_config
from bandprint.render import RenderSettings, render_band_images

sys.path.insert(0, str(Path(__file__).parent))
from test_render_spins import ferromagnet, non_magnet

TINY_SPIN = AutoencoderConfig("tiny-spin", 32, (4, 8, 8, 8), 2, False, channels=2)
TINY = AutoencoderConfig("tiny", 32, (4, 8, 8, 8), 2, False)


def test_small_spin_preset_takes_and_gives_two_channels():
    small, spin = preset_config("small"), preset_config("small-spin")
    assert (small.channels, spin.channels) == (1, 2)
    assert spin.fingerprint_length == small.fingerprint_length == 98
    torch.manual_seed(0)
    model = Autoencoder(spin).eval()
    with torch.inference_mode():
        z = model.encode((torch.rand(3, 2, 112, 112) < 0.05).float())
        assert z.shape == (3, 2, 7, 7)
        assert model.decode(z).shape == (3, 2, 112, 112)
    # The second channel adds one 7×7 kernel per stem filter (16) in the stem and in the
    # output convolution, and the output convolution one bias.
    gained = count_parameters(model) - count_parameters(Autoencoder(small))
    assert gained == 2 * 16 * 7 * 7 + 1
    # A model file written before the field existed is a one-channel model.
    old = {k: v for k, v in small.to_dict().items() if k != "channels"}
    assert AutoencoderConfig.from_dict(old) == small
    with pytest.raises(BandprintError, match="channels must be 1 or 2"):
        AutoencoderConfig(channels=3)


@pytest.fixture(scope="module")
def spin_samples():
    from bandprint import zoo

    # Zoo samples (one spin) and the ferromagnet / non-magnet pair with the same union of bands.
    return [*zoo.sample_zoo(14, seed=5), ferromagnet(), non_magnet()]


def fingerprinter(config: AutoencoderConfig, spins: str) -> Fingerprinter:
    return Fingerprinter(
        config=config,
        render=RenderSettings(size=32, spins=spins),  # type: ignore[arg-type]
        epochs=2,
        batch_size=8,
        progress=False,
        device="cpu",
    )


def test_two_channel_fingerprinter_end_to_end(spin_samples, tmp_path):
    fp = fingerprinter(TINY_SPIN, "channels").fit(spin_samples)
    x = fp.transform(spin_samples)
    assert x.shape == (16, 8) and np.isfinite(x).all()
    # The pair draws alike overlaid, so a one-channel model cannot tell it apart; as channels
    # the images differ and so do the fingerprints.
    one = fingerprinter(TINY, "both").fit(spin_samples)
    y = one.transform(spin_samples)
    assert np.array_equal(y[-2], y[-1])
    assert np.abs(x[-2] - x[-1]).max() > 1e-3
    # Images in, the same fingerprints as band structures in.
    images = render_band_images(spin_samples, fp.render_settings)
    assert images.shape == (16, 2, 32, 32)
    assert np.array_equal(fp.transform(images), x)
    assert fp.reconstruct(images[:3]).shape == (3, 2, 32, 32)
    assert fp.add_noise(images[:2], prob=1.0).shape == (2, 2, 32, 32)
    assert fp.decode(x[:2]).shape == (2, 2, 32, 32)
    info = fp.info()
    assert info["render"]["spins"] == "channels" and info["model_config"]["channels"] == 2
    assert info["model_id"].startswith("tiny-spin-")
    back = Fingerprinter.load(fp.save(tmp_path / "spin.pt"), device="cpu")
    assert back.render_settings.spins == "channels"
    assert np.array_equal(back.transform(images), x)


def test_mixing_one_and_two_channel_images_is_refused(spin_samples):
    fp = fingerprinter(TINY_SPIN, "channels").fit(spin_samples[:4])
    one_channel = render_band_images(spin_samples[:2], RenderSettings(size=32))
    with pytest.raises(BandprintError, match="two spin channels"):
        fp.transform(one_channel)
    with pytest.raises(BandprintError, match="takes 2-channel images"):
        fp.use_render_settings(spins="both")
    with pytest.raises(BandprintError, match=r"expected \[n, 32, 32\]"):
        fingerprinter(TINY, "both").fit(spin_samples[:4]).transform(
            render_band_images(spin_samples[:2], RenderSettings(size=32, spins="channels"))
        )
    # Explicit settings that disagree with the model are refused before any training.
    with pytest.raises(BandprintError, match="takes 2-channel images; render spins='both'"):
        fingerprinter(TINY_SPIN, "both").fit(spin_samples[:4])
    with pytest.raises(BandprintError, match="takes 1-channel images; render spins='channels'"):
        fingerprinter(TINY, "channels").fit(spin_samples[:4])
    # The preset alone picks the matching rendering.
    assert Fingerprinter(preset="small-spin").render_settings.spins == "channels"
    assert Fingerprinter(preset="small").render_settings.spins == "both"
