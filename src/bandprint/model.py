"""The convolutional autoencoder behind the fingerprints (Pentz, Warford et al., Commun. Phys.
2025), in plain torch.

Encoder: the convolutional part of ResNet18 (He et al. 2016; the layout of torchvision's
``resnet18`` without its pooling and classifier head): a 7×7 stride-2 stem with batch norm and
ReLU, a 3×3 stride-2 max pool, then four stages of two basic blocks (3×3 convolutions, batch
norm, identity or 1×1 projection shortcut) of widths w, 2w, 4w, 8w, each stage after the first
halving the resolution. The last block of the last stage is narrowed to ``z`` output channels,
so a 224 image gives a 7 × 7 × 2 latent map: flattened (channel, row, column order), the
98-value fingerprint. That block ends without its ReLU: a ReLU there would zero about half of
the 98 numbers for every material, wasting fingerprint, while its batch norm keeps the latent at
unit scale (so traversal shifts of 0.5…0.9 are meaningful).

Decoder: the mirror image. Each encoder block (conv a, stride s → conv b) is mirrored by a block
of transposed convolutions in reverse order (b then a, the second one upsampling ×s), with a
transposed 1×1 projection on the shortcut where shape changes; then a transposed 3×3 stride-2
convolution undoes the max pool and a transposed 7×7 stride-2 convolution undoes the stem,
ending in one map of logits the size of the input (train with ``BCEWithLogitsLoss``).

Presets (``PRESETS``):

* ``paper``: 224 input, widths 64/128/256/512, z = 2 → 7 × 7 × 2 = 98 values.
* ``small``: 112 input, widths 16/32/64/128, z = 2, no max pool (its place is a no-op) →
  7 × 7 × 2 = 98 values, the same fingerprint length and latent grid as ``paper`` at a
  quarter of the pixels and ~1/16 of the compute; it trains and encodes on a laptop CPU.
* ``small-spin``: ``small`` with two input and output channels, spin up and spin down
  (render with ``spins="channels"``, ``render.render_spin_channels``): the same 98-value
  fingerprint, which now tells a ferromagnet from a non-magnet with the same union of bands.

Fully convolutional, ``channels`` input channels (one image per channel, reconstructed as as
many maps of logits). Any input side divisible by 32 (16 without max pool) works; the latent
grid then scales with it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bandprint.errors import BandprintError

#: Initial output bias: the logit of a typical fraction of band pixels, so training starts near
#: the "all white" answer instead of BCE ≈ 0.69 (speeds the first epoch; the value is learnt).
INITIAL_INK_FRACTION = 0.05


@dataclass(frozen=True)
class AutoencoderConfig:
    """Architecture of one autoencoder; stored with every checkpoint."""

    name: str = "small"
    input_size: int = 112
    widths: tuple[int, int, int, int] = (16, 32, 64, 128)
    latent_channels: int = 2
    maxpool: bool = False
    #: Image channels in and out: 1 (the bands of both spins in one image) or 2 (spin up,
    #: spin down; ``RenderSettings(spins="channels")``).
    channels: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if len(self.widths) != 4 or min(self.widths) < 1:
            raise BandprintError(f"widths must be 4 positive numbers, got {self.widths}")
        if self.latent_channels < 1:
            raise BandprintError(f"latent_channels must be positive, got {self.latent_channels}")
        if self.channels not in (1, 2):
            raise BandprintError(f"channels must be 1 or 2 (spin channels), got {self.channels}")
        if self.input_size % self.reduction:
            raise BandprintError(
                f"input size {self.input_size} must be divisible by {self.reduction}"
            )

    @property
    def reduction(self) -> int:
        """Input side / latent side: stem 2 × max pool 2 × three strided stages 8."""
        return 32 if self.maxpool else 16

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        side = self.input_size // self.reduction
        return (self.latent_channels, side, side)

    @property
    def fingerprint_length(self) -> int:
        return math.prod(self.latent_shape)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AutoencoderConfig:
        return cls(**{**d, "widths": tuple(d["widths"])})


PRESETS: dict[str, AutoencoderConfig] = {
    "paper": AutoencoderConfig("paper", 224, (64, 128, 256, 512), 2, True),
    "small": AutoencoderConfig("small", 112, (16, 32, 64, 128), 2, False),
    "small-spin": AutoencoderConfig("small-spin", 112, (16, 32, 64, 128), 2, False, channels=2),
}


def preset_config(name: str) -> AutoencoderConfig:
    """The named preset (``paper``, ``small`` or ``small-spin``)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise BandprintError(
            f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None


def conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def deconv3x3(cin: int, cout: int, stride: int = 1) -> nn.ConvTranspose2d:
    # output_padding makes a stride-2 transposed conv exactly double the side.
    return nn.ConvTranspose2d(
        cin, cout, 3, stride=stride, padding=1, output_padding=stride - 1, bias=False
    )


# The strided 1×1 projections are computed as a subsample and an unstrided 1×1 convolution
# (the same parameters, the same result): oneDNN's AVX2 1×1 kernel for channels-last input
# with stride 2 writes past its workspace in the weight gradient when a side has fewer than 8
# channels (uxlfoundation/oneDNN#6035), which aborted, hung or silently corrupted training on
# AVX2-only CPUs. Unstrided 1×1 kernels do not take that path.
class StridedPointwiseConv(nn.Conv2d):
    """``nn.Conv2d(cin, cout, 1, stride=s, bias=False)`` without oneDNN's strided 1×1 path."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        s = self.stride[0]
        return F.conv2d(x[:, :, ::s, ::s], self.weight)


class StridedPointwiseConvTranspose(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d(cin, cout, 1, stride=s, output_padding=s - 1, bias=False)``: each
    input pixel lands on the top-left corner of its s × s output cell, the rest is zero."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__(cin, cout, 1, stride=stride, output_padding=stride - 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]
        s = self.stride[0]
        y = F.conv_transpose2d(x, self.weight)
        n, c, h, w = y.shape
        channels_last = y.is_contiguous(memory_format=torch.channels_last)
        out = y.new_zeros((n, c, h * s, w * s))
        if channels_last:  # keep the layout the rest of the network runs in
            out = out.contiguous(memory_format=torch.channels_last)
        out[:, :, ::s, ::s] = y
        return out


class BasicBlock(nn.Module):
    """ResNet basic block: conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus shortcut, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1, final_relu: bool = True) -> None:
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.final_relu = final_relu
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                StridedPointwiseConv(cin, cout, stride), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out)) + self.shortcut(x)
        return self.relu(out) if self.final_relu else out


class TransposedBlock(nn.Module):
    """Mirror of ``BasicBlock``: deconv3×3 → BN → ReLU → deconv3×3(upsample ×stride) → BN,
    plus a transposed shortcut, ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = deconv3x3(cin, cin)
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv2 = deconv3x3(cin, cout, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                StridedPointwiseConvTranspose(cin, cout, stride),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out)) + self.shortcut(x)
        return self.relu(out)


class Encoder(nn.Module):
    """ResNet18 convolutional stages, last block narrowed to the latent channels."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        w1, w2, w3, w4 = config.widths
        z = config.latent_channels
        self.stem = nn.Sequential(
            nn.Conv2d(config.channels, w1, 7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(w1),
            nn.ReLU(inplace=True),
        )
        self.pool: nn.Module = (
            nn.MaxPool2d(3, stride=2, padding=1) if config.maxpool else nn.Identity()
        )
        self.layer1 = nn.Sequential(BasicBlock(w1, w1), BasicBlock(w1, w1))
        self.layer2 = nn.Sequential(BasicBlock(w1, w2, 2), BasicBlock(w2, w2))
        self.layer3 = nn.Sequential(BasicBlock(w2, w3, 2), BasicBlock(w3, w3))
        self.layer4 = nn.Sequential(BasicBlock(w3, w4, 2), BasicBlock(w4, z, final_relu=False))

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.stem(x))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class Decoder(nn.Module):
    """Mirror of ``Encoder``: latent map → a map of logits per input channel, the size of
    the input."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        w1, w2, w3, w4 = config.widths
        z = config.latent_channels
        self.layer4 = nn.Sequential(TransposedBlock(z, w4), TransposedBlock(w4, w3, 2))
        self.layer3 = nn.Sequential(TransposedBlock(w3, w3), TransposedBlock(w3, w2, 2))
        self.layer2 = nn.Sequential(TransposedBlock(w2, w2), TransposedBlock(w2, w1, 2))
        self.layer1 = nn.Sequential(TransposedBlock(w1, w1), TransposedBlock(w1, w1))
        self.unpool: nn.Module = nn.Identity()
        if config.maxpool:
            self.unpool = nn.Sequential(
                deconv3x3(w1, w1, 2), nn.BatchNorm2d(w1), nn.ReLU(inplace=True)
            )
        self.unstem = nn.ConvTranspose2d(
            w1, config.channels, 7, stride=2, padding=3, output_padding=1
        )

    def forward(self, z: Tensor) -> Tensor:
        x = self.layer1(self.layer2(self.layer3(self.layer4(z))))
        return self.unstem(self.unpool(x))


class Autoencoder(nn.Module):
    """Encoder + decoder; ``forward`` gives reconstruction logits, ``encode`` the latent map."""

    def __init__(self, config: AutoencoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or PRESETS["small"]
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's ResNet initialisation.
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # The output layer starts near zero so the first reconstruction is the constant prior
        # (BCE ≈ the entropy of the ink fraction) rather than random logits of unit scale.
        nn.init.normal_(self.decoder.unstem.weight, std=1e-3)
        assert self.decoder.unstem.bias is not None
        p = INITIAL_INK_FRACTION
        nn.init.constant_(self.decoder.unstem.bias, math.log(p / (1 - p)))

    def encode(self, x: Tensor) -> Tensor:
        """Latent maps ``[n, z, s, s]`` of images ``[n, channels, size, size]``."""
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """Reconstruction logits ``[n, channels, size, size]`` of latent maps."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
