"""Shapes and structure of the ResNet18 autoencoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bandprint import BandprintError
from bandprint.model import (
    PRESETS,
    Autoencoder,
    AutoencoderConfig,
    BasicBlock,
    StridedPointwiseConv,
    StridedPointwiseConvTranspose,
    count_parameters,
    preset_config,
)


def test_paper_preset_gives_98_values_from_224():
    cfg = preset_config("paper")
    assert cfg.input_size == 224 and cfg.widths == (64, 128, 256, 512) and cfg.maxpool
    assert cfg.latent_shape == (2, 7, 7) and cfg.fingerprint_length == 98
    torch.manual_seed(0)
    model = Autoencoder(cfg).eval()
    x = (torch.rand(1, 1, 224, 224) < 0.05).float()
    with torch.inference_mode():
        z = model.encode(x)
        out = model.decode(z)
    assert z.shape == (1, 2, 7, 7)
    assert out.shape == (1, 1, 224, 224)


def test_paper_encoder_is_resnet18_with_narrowed_last_block():
    # torchvision's resnet18 has 11,689,512 parameters; without its fc layer (512*1000+1000)
    # 11,176,512. Here: 1 input channel instead of 3 in the stem (-64*2*49), and the last
    # block maps 512 -> 2 channels: its two 3x3 convs and BNs (2*512*512*9 + 2*1024) become
    # 512*2*9 + 2*2*9 + 2*4, plus a 1x1 projection shortcut 512*2 with its BN (4).
    expected = (
        11_689_512
        - 513_000
        - 64 * 2 * 49
        - (2 * 512 * 512 * 9 + 2 * 1024)
        + (512 * 2 * 9 + 2 * 2 * 9 + 2 * 4 + 512 * 2 + 4)
    )
    encoder = Autoencoder(PRESETS["paper"]).encoder
    assert count_parameters(encoder) == expected
    blocks = [m for m in encoder.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8  # [2, 2, 2, 2]
    assert [b.conv1.out_channels for b in blocks] == [64, 64, 128, 128, 256, 256, 512, 2]
    stem = encoder.stem[0]
    assert stem.kernel_size == (7, 7) and stem.stride == (2, 2) and stem.in_channels == 1
    assert isinstance(encoder.pool, nn.MaxPool2d)
    assert not blocks[-1].final_relu and all(b.final_relu for b in blocks[:-1])


def test_small_preset_shapes():
    cfg = preset_config("small")
    assert cfg.input_size == 112 and not cfg.maxpool and cfg.fingerprint_length == 98
    model = Autoencoder(cfg).eval()
    x = (torch.rand(3, 1, 112, 112) < 0.05).float()
    with torch.inference_mode():
        z = model.encode(x)
        out = model(x)
    assert z.shape == (3, 2, 7, 7)
    assert out.shape == x.shape
    # The latent has no final ReLU: values of both signs.
    assert (z < 0).any() and (z > 0).any()


@pytest.mark.parametrize(
    ("size", "maxpool", "latent_side"), [(64, False, 4), (96, True, 3), (160, False, 10)]
)
def test_fully_convolutional_decoder_matches_input_size(size, maxpool, latent_side):
    cfg = AutoencoderConfig("t", size, (4, 4, 8, 8), 3, maxpool)
    assert cfg.latent_shape == (3, latent_side, latent_side)
    model = Autoencoder(cfg).eval()
    with torch.inference_mode():
        z = model.encode(torch.zeros(2, 1, size, size))
        assert z.shape == (2, 3, latent_side, latent_side)
        assert model.decode(z).shape == (2, 1, size, size)


def test_initial_output_is_near_the_constant_prior():
    model = Autoencoder(AutoencoderConfig("t", 32, (4, 4, 8, 8), 2, False)).eval()
    with torch.inference_mode():
        p = torch.sigmoid(model(torch.zeros(1, 1, 32, 32)))
    assert torch.allclose(p, torch.full_like(p, 0.05), atol=0.01)


def test_bad_configs():
    with pytest.raises(BandprintError, match="unknown preset"):
        preset_config("huge")
    with pytest.raises(BandprintError, match="divisible"):
        AutoencoderConfig("t", 100, (4, 4, 8, 8), 2, True)
    assert AutoencoderConfig.from_dict(PRESETS["paper"].to_dict()) == PRESETS["paper"]


@pytest.mark.parametrize(("cin", "cout"), [(4, 8), (2, 64), (64, 2), (16, 32)])
@pytest.mark.parametrize("transposed", [False, True])
def test_strided_projection_gradients_are_exact(cin: int, cout: int, transposed: bool) -> None:
    # Reference: torch's own strided 1×1 (transposed) convolution in float64, which never goes
    # through oneDNN. In float32 channels-last, oneDNN's AVX2 kernel got the weight gradient
    # wrong (or corrupted the heap) when a side had < 8 channels (oneDNN#6035).
    torch.manual_seed(0)
    if transposed:
        ours = StridedPointwiseConvTranspose(cin, cout, 2)
        ref = nn.ConvTranspose2d(cin, cout, 1, stride=2, output_padding=1, bias=False)
    else:
        ours = StridedPointwiseConv(cin, cout, 2)
        ref = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
    assert list(ours.state_dict()) == list(ref.state_dict())  # shipped weights load unchanged
    ref.load_state_dict(ours.state_dict())
    ref = ref.double()
    x = torch.randn(8, cin, 14, 14)
    ours = ours.to(memory_format=torch.channels_last)
    xo = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    xr = x.double().requires_grad_()
    yo, yr = ours(xo), ref(xr)
    assert yo.shape == yr.shape
    torch.testing.assert_close(yo.double(), yr, rtol=1e-5, atol=1e-5)
    (yo.double() ** 2).sum().backward()
    (yr**2).sum().backward()
    torch.testing.assert_close(xo.grad.double(), xr.grad, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(ours.weight.grad.double(), ref.weight.grad, rtol=1e-5, atol=1e-3)
