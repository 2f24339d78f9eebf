"""Learned fingerprints: train the autoencoder on band-structure images, encode, decode.

One module because most of it is ``Fingerprinter``, one estimator whose training, checkpoints,
encoding and decoding share its model, device and precision state.

``Fingerprinter`` is a scikit-learn transformer (``BaseEstimator``, ``TransformerMixin``): ``fit``
trains the autoencoder of ``bandprint.model`` on images (or band structures, rendered with its
``RenderSettings``), ``transform`` gives the flattened latent maps (the fingerprints),
``reconstruct`` and ``decode`` go back to pictures, ``score`` is the negative reconstruction
loss (higher is better). Its parameters are its constructor's arguments, stored unchanged;
results of fitting end in ``_`` (``model_``, ``history_``, ``model_id_``). A run interrupted
after some epochs continues with ``Fingerprinter.from_checkpoint(path).fit(X)``.

Training follows the published recipe (Pentz, Warford et al. 2025): binary cross-entropy on logits,
random-erasing noise on half of the inputs with the clean image as target, batch size 64,
a one-cycle schedule peaking at 1e-3 (the library default rate; AdamW with weight decay 0.01,
as fastai's ``fit_one_cycle`` does), a seeded random train/validation split. Everything random
is derived from ``(random_state, epoch)``, so a run is repeatable and a run resumed from its
checkpoint continues exactly as if it had not stopped. On CUDA it trains in mixed precision
(bfloat16 where supported, else float16 with a gradient scaler); on a CPU with native bfloat16 in
bfloat16 autocast, else float32 (``precision``). Validation and encoding run in float32.

A model's identity is ``f"{preset}-{sha256(weights)[:10]}"``: fingerprints are stored under it,
so fingerprints of different models never mix. The render settings travel inside the model
file, so encoding draws exactly as training did.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from torch import Tensor
from torch.nn import functional as F

from bandprint.atomic import atomic_write
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError
from bandprint.model import PRESETS, Autoencoder, AutoencoderConfig, preset_config
from bandprint.render import (
    RenderSettings,
    check_images,
    pack_images,
    render_band_images,
    with_channel_axis,
    without_single_channel,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILE_FORMAT = "bandprint-fingerprinter"
#: Version 2 names the training seed ``random_state`` (version 1: ``seed``; still read).
FILE_VERSION = 2
DEFAULT_MODEL_FILE = "default-small.pt"

#: How fingerprints, reconstructions and validation losses are computed, recorded with the
#: fingerprints (``Fingerprinter.info``): float32 weights and inputs, convolutions and matrix
#: products in IEEE float32 on every backend (cuDNN and cuBLAS without TF32, oneDNN without
#: implicit bfloat16 or TF32) and deterministic cuDNN algorithms (``full_float32``).
ENCODE_PRECISION = "float32, IEEE (TF32 and reduced-precision float32 off), deterministic cuDNN"

#: Random-erasing noise (torchvision's ``RandomErasing`` ranges, area capped at the published
#: ~0.3): rectangle area fraction and aspect-ratio range.
NOISE_AREA = (0.02, 0.3)
NOISE_RATIO = (0.3, 3.3)


@dataclass(frozen=True)
class TrainSettings:
    """How a model was (or will be) trained; stored in checkpoints and model files."""

    epochs: int = 30
    batch_size: int = 64
    max_lr: float = 1e-3
    weight_decay: float = 0.01
    noise_prob: float = 0.5
    val_fraction: float = 0.1
    random_state: int = 0
    loss: str = "bce"
    #: Weight of the twin pull (``pull_loss``) in the training loss; 0 trains without it.
    pull_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise BandprintError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        if isinstance(self.random_state, bool) or not isinstance(
            self.random_state, int | np.integer
        ):
            raise BandprintError(
                f"random_state must be an integer seed, got {self.random_state!r} "
                "(a repeatable, resumable run needs a fixed seed)"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise BandprintError("epochs and batch size must be at least 1")
        if not 0 <= self.noise_prob <= 1:
            raise BandprintError(f"noise probability must be in [0, 1], got {self.noise_prob}")
        if not 0 <= self.val_fraction < 1:
            raise BandprintError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if self.max_lr <= 0:
            raise BandprintError(f"learning rate must be positive, got {self.max_lr}")
        if not (math.isfinite(self.pull_weight) and self.pull_weight >= 0):
            raise BandprintError(
                f"pull weight must be a finite number >= 0, got {self.pull_weight}"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSettings:
        """Settings stored in a model file or checkpoint (format version 1 says ``seed``;
        files from before the twin pull have no ``pull_weight``: 0)."""
        d = dict(d)
        if "seed" in d:
            d["random_state"] = d.pop("seed")
        return cls(**d)


# -- losses ---------------------------------------------------------------------------------
#: Training losses (``loss=``). ``bce``: per-pixel binary cross-entropy, the published recipe.
#: The others weigh the ink (the few % of pixels on a band line) more: ``weighted-bce`` (ink
#: pixels weighted by the ratio of blank to ink pixels in the training images), ``focal``
#: (Lin et al. 2017, γ = 2: well-predicted pixels count less) and ``bce+dice`` (BCE plus one
#: minus the soft Dice overlap of each image). Validation is plain BCE whatever the loss.
LOSSES = ("bce", "weighted-bce", "focal", "bce+dice")
FOCAL_GAMMA = 2.0


def training_loss(
    logits: Tensor, target: Tensor, loss: str = "bce", pos_weight: float = 1.0
) -> Tensor:
    """The mean training loss ``loss`` (``LOSSES``) of ``logits`` against 0/1 ``target``
    (``[n, c, s, s]``); ``pos_weight`` weighs ink pixels in ``weighted-bce``."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    if loss == "weighted-bce":
        weight = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, target, pos_weight=weight)
    if loss == "focal":
        ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        p = torch.sigmoid(logits)
        p_true = p * target + (1 - p) * (1 - target)
        return ((1 - p_true) ** FOCAL_GAMMA * ce).mean()
    if loss == "bce+dice":
        p = torch.sigmoid(logits).flatten(1)
        t = target.flatten(1)
        dice = (2 * (p * t).sum(1) + 1) / (p.sum(1) + t.sum(1) + 1)
        return F.binary_cross_entropy_with_logits(logits, target) + (1 - dice).mean()
    raise BandprintError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")


#: Added to the twin pull's denominator so that a batch of identical latents gives 0, not NaN.
PULL_EPS = 1e-8


def pull_loss(
    z_anchor: Tensor, z_partner: Tensor, z_batch: Tensor, eps: float = PULL_EPS
) -> Tensor:
    """The twin pull: the mean squared Euclidean distance between each anchor's fingerprint
    and its partner's (rows of ``z_anchor`` and ``z_partner``, ``[m, ...]``, flattened per
    row), divided by the batch's spread, the mean squared distance of the rows of ``z_batch``
    (``[n, ...]``) to their mean. Dimensionless: 0 when every pair coincides, about 2 when
    partners are as far apart as two random members of the batch, unchanged when every
    latent is scaled by one factor.

    Why the division: without it the encoder could shrink all fingerprints and the decoder
    scale them back up, making any absolute distance small at no cost. The spread keeps its
    gradient, so the term can only fall by bringing twins closer relative to everything else
    (which also pushes non-twins apart), never by rescaling."""
    if len(z_anchor) != len(z_partner):
        raise BandprintError(f"{len(z_anchor)} anchors but {len(z_partner)} partners")
    pairs = (z_anchor.flatten(1) - z_partner.flatten(1)).pow(2).sum(1).mean()
    flat = z_batch.flatten(1)
    spread = (flat - flat.mean(0, keepdim=True)).pow(2).sum(1).mean()
    return pairs / (spread + eps)


def _group_codes(groups: Sequence[Any], n: int) -> np.ndarray:
    """One integer per item, equal for items of one group (numbered in order of first
    appearance, so that relabelling groups gives the same codes)."""
    if isinstance(groups, str | bytes) or not hasattr(groups, "__len__"):
        raise BandprintError("groups must be a sequence with one label per image")
    if len(groups) != n:
        raise BandprintError(f"groups has {len(groups)} labels for {n} images; give one per image")
    codes: dict[Any, int] = {}
    try:
        return np.array([codes.setdefault(g, len(codes)) for g in groups], dtype=np.int64)
    except TypeError:
        raise BandprintError("group labels must be hashable (strings, numbers, tuples)") from None


class _Partners:
    """Draws, for images of the training side, another training-side image of the same group.

    ``codes``: group codes of all images (``_group_codes``); ``train_idx``: the training-side
    images. Validation images are never drawn: held out means never seen."""

    def __init__(self, codes: np.ndarray, train_idx: np.ndarray) -> None:
        train_idx = np.asarray(train_idx, dtype=np.int64)
        # Training-side images sorted by group; each image knows its group's first place in
        # that order, the group's size and its own place in it.
        order = np.argsort(codes[train_idx], kind="stable")
        self.members = train_idx[order]
        sorted_codes = codes[self.members]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        sizes = np.diff(np.r_[starts, len(sorted_codes)])
        group_of = np.repeat(np.arange(len(starts)), sizes)
        n = int(codes.shape[0])
        self.start = np.zeros(n, np.int64)
        self.size = np.zeros(n, np.int64)  # 0 for validation images: never anchors
        self.place = np.zeros(n, np.int64)
        self.start[self.members] = starts[group_of]
        self.size[self.members] = sizes[group_of]
        self.place[self.members] = np.arange(len(self.members)) - starts[group_of]

    @property
    def n_pairable(self) -> int:
        """Training-side images that have a partner."""
        return int(np.count_nonzero(self.size > 1))

    def draw(self, anchors: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, partners)``: the positions in ``anchors`` whose image has a partner, and
        for each one other member of its group drawn uniformly with ``rng``."""
        anchors = np.asarray(anchors, dtype=np.int64)
        rows = np.flatnonzero(self.size[anchors] > 1)
        a = anchors[rows]
        pick = rng.integers(0, self.size[a] - 1) if len(a) else np.zeros(0, np.int64)
        pick = pick + (pick >= self.place[a])  # skip the anchor itself
        return rows, self.members[self.start[a] + pick]


# -- noise ----------------------------------------------------------------------------------
def random_erase(
    images: Tensor,
    prob: float,
    generator: torch.Generator,
    area: tuple[float, float] = NOISE_AREA,
    ratio: tuple[float, float] = NOISE_RATIO,
) -> tuple[Tensor, Tensor]:
    """A copy of ``images [n, 1, h, w]`` where, with probability ``prob`` per image, one
    random rectangle is filled with uniform random values in [0, 1). Returns the noised copy
    and a boolean mask of the images hit. ``images`` itself is never modified.

    As torchvision's ``RandomErasing``: area fraction uniform in ``area``, aspect ratio
    log-uniform in ``ratio``, up to 10 tries to fit the rectangle inside the image.
    """
    out = images.clone()
    n, _, height, width = images.shape
    coins = torch.rand(n, generator=generator) < prob
    hit = torch.zeros(n, dtype=torch.bool)
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])

    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand(1, generator=generator))

    for i in torch.nonzero(coins).flatten().tolist():
        for _ in range(10):
            target_area = height * width * uniform(*area)
            aspect = math.exp(uniform(log_lo, log_hi))
            h = round(math.sqrt(target_area * aspect))
            w = round(math.sqrt(target_area / aspect))
            if 1 <= h <= height and 1 <= w <= width:
                top = int(torch.randint(0, height - h + 1, (1,), generator=generator))
                left = int(torch.randint(0, width - w + 1, (1,), generator=generator))
                out[i, :, top : top + h, left : left + w] = torch.rand(
                    (out.shape[1], h, w), generator=generator
                )
                hit[i] = True
                break
    return out, hit


def group_validation_mask(groups: Sequence[Any], val_fraction: float, seed: int = 0) -> np.ndarray:
    """A validation mask over items that keeps every group whole: ``round(val_fraction ·
    number of groups)`` groups (at least one when ``val_fraction`` > 0, never all), drawn
    with ``seed``, go to validation with all their items. Give every copy of one material
    (shifted Fermi levels, other renderings, images built from it) the same group, so that
    validation never sees a material that training saw."""
    keys = [repr(g) for g in groups]
    unique = sorted(set(keys))
    m = round(val_fraction * len(unique))
    m = min(max(m, 1 if val_fraction > 0 else 0), len(unique) - 1)
    chosen = {unique[i] for i in np.random.default_rng(seed).permutation(len(unique))[:m]}
    return np.array([k in chosen for k in keys], dtype=bool)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    """An independent 63-bit seed per (run seed, epoch, purpose)."""
    return int(np.random.SeedSequence([seed, epoch, stream]).generate_state(2, np.uint64)[0] >> 1)


# -- helpers --------------------------------------------------------------------------------
def pick_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise BandprintError(f"unknown device {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BandprintError("device 'cuda' asked for, but no CUDA GPU is available")
    return dev


def cpu_has_bf16() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX512-BF16 / AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The training autocast dtype: ``None`` for float32.

    ``"auto"``: on CUDA bfloat16 where supported, else float16 (with a gradient scaler); on a
    CPU with native bfloat16, bfloat16; otherwise float32. ``"float32"`` forces full
    precision.
    """
    if precision == "float32":
        return None
    if precision not in ("auto", "bfloat16", "float16"):
        raise BandprintError(f"precision must be auto, float32, bfloat16 or float16: {precision}")
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "float16":
        return torch.float16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else None


def _float32_switches() -> list[tuple[Any, str, Any]]:
    b = torch.backends
    return [
        (b.cudnn.conv, "fp32_precision", "ieee"),
        (b.cuda.matmul, "fp32_precision", "ieee"),
        (b.mkldnn.conv, "fp32_precision", "ieee"),
        (b.mkldnn.matmul, "fp32_precision", "ieee"),
        (b.cudnn, "deterministic", True),
        (b.cudnn, "benchmark", False),
    ]


@contextlib.contextmanager
def full_float32() -> Iterator[None]:
    """Within the block, float32 convolutions and matrix products run in IEEE float32 on every
    backend, with deterministic cuDNN algorithms (``ENCODE_PRECISION``); the previous settings
    are restored after. Why: PyTorch's CUDA default computes float32 convolutions in TF32,
    whose rounding moves fingerprint values by about 1e-3 relative, and the p = 0.2 distance
    magnifies small differences. (Only torch's new ``fp32_precision`` switches are used:
    mixing them with the legacy ``allow_tf32`` flags is an error in torch.)"""
    switches = _float32_switches()
    saved = [getattr(obj, name) for obj, name, _ in switches]
    try:
        for obj, name, value in switches:
            setattr(obj, name, value)
        yield
    finally:
        for (obj, name, _), value in zip(switches, saved, strict=True):
            setattr(obj, name, value)


def weights_digest(state_dict: dict[str, Tensor]) -> str:
    """SHA-256 of the weights as float32 (integers as they are), in key order."""
    h = hashlib.sha256()
    for key in sorted(state_dict):
        t = state_dict[key].detach().cpu()
        if t.is_floating_point():
            t = t.float()
        h.update(key.encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def images_digest(images: np.ndarray) -> str:
    """SHA-256 of 0/1 images (bit-packed), to check a resumed run sees the same data."""
    packed = pack_images(np.asarray(images) > 0.5)
    return hashlib.sha256(packed.tobytes() + repr(images.shape).encode()).hexdigest()


def _batches(items: Any, size: int) -> Iterator[Any]:
    if isinstance(items, np.ndarray | Tensor | Sequence):
        for start in range(0, len(items), size):
            yield items[start : start + size]
    else:
        it = iter(items)
        while chunk := list(itertools.islice(it, size)):
            yield chunk


def _bce_baseline(images: np.ndarray) -> float:
    """BCE of the best constant guess (the mean ink fraction): the floor to beat."""
    p = float(np.mean(images)) if images.size else 0.0
    if p <= 0 or p >= 1:
        return 0.0
    return float(-(p * math.log(p) + (1 - p) * math.log(1 - p)))


# -- the estimator --------------------------------------------------------------------------
class Fingerprinter(TransformerMixin, BaseEstimator):
    """Train the band-image autoencoder and turn band structures into fingerprints.

    Parameters follow the published recipe; ``preset`` is ``"small"`` (112 px, CPU-friendly)
    or ``"paper"`` (224 px, full ResNet18 widths); both give 7 × 7 × 2 = 98-value fingerprints.
    ``config`` / ``render`` override the preset's architecture and render settings (the render
    size must equal the input size). ``random_state``: the integer seed every random choice
    of training derives from (initial weights, split, batch order, noise). ``checkpoint`` is a
    file rewritten after every epoch; ``from_checkpoint`` continues the run it holds.
    ``device`` and ``precision`` concern training; fingerprints are always encoded in float32
    as ``ENCODE_PRECISION`` says. ``pull_weight`` (≥ 0, dimensionless): weight of the twin
    pull (``pull_loss``), which draws the fingerprints of views of one material (``fit``'s
    ``groups``) together; 0, the default, trains on reconstruction alone.

    A scikit-learn estimator: ``get_params``/``set_params``/``sklearn.base.clone`` see exactly
    the constructor's arguments, and ``clone`` gives an untrained copy.
    """

    def __init__(
        self,
        preset: str = "small",
        epochs: int = 30,
        batch_size: int = 64,
        max_lr: float = 1e-3,
        weight_decay: float = 0.01,
        noise_prob: float = 0.5,
        val_fraction: float = 0.1,
        random_state: int = 0,
        loss: str = "bce",
        device: str = "auto",
        precision: str = "auto",
        config: AutoencoderConfig | None = None,
        render: RenderSettings | None = None,
        checkpoint: str | Path | None = None,
        progress: bool = True,
        encode_batch_size: int | None = None,
        pull_weight: float = 0.0,
    ) -> None:
        self.preset = preset
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_lr = max_lr
        self.weight_decay = weight_decay
        self.noise_prob = noise_prob
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.loss = loss
        self.device = device
        self.precision = precision
        self.config = config
        self.render = render
        self.checkpoint = checkpoint
        self.progress = progress
        self.encode_batch_size = encode_batch_size
        self.pull_weight = pull_weight

    # -- settings -----------------------------------------------------------------------
    def _encode_batch(self) -> int:
        """Images per forward pass when encoding: ``encode_batch_size``, else the fastest
        measured on 2 CPU cores (bench/bench_encode.py): 64 at 112 px, 16 at 224 px."""
        if self.encode_batch_size:
            return int(self.encode_batch_size)
        config = getattr(self, "config_", None) or self._planned()[0]
        return 16 if config.input_size >= 224 else 64

    def _planned(self) -> tuple[AutoencoderConfig, RenderSettings, TrainSettings]:
        config = self.config or preset_config(self.preset)
        # A two-channel model (small-spin) draws spin up and spin down as its two channels.
        render = self.render or RenderSettings(
            size=config.input_size, spins="channels" if config.channels == 2 else "both"
        )
        if render.size != config.input_size:
            raise BandprintError(
                f"render size {render.size} differs from the model's input size {config.input_size}"
            )
        if render.channels != config.channels:
            raise BandprintError(
                f"the {config.name} model takes {config.channels}-channel images; render "
                f"spins={render.spins!r} draws {render.channels}"
            )
        train = TrainSettings(
            self.epochs,
            self.batch_size,
            self.max_lr,
            self.weight_decay,
            self.noise_prob,
            self.val_fraction,
            self.random_state,
            self.loss,
            pull_weight=self.pull_weight,
        )
        return config, render, train

    @property
    def render_settings(self) -> RenderSettings:
        """The render settings in use: the fitted model's, else the planned ones."""
        return self.render_ if hasattr(self, "render_") else self._planned()[1]

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise BandprintError("this Fingerprinter is not trained yet (fit it or load one)")

    def images(self, items: Any) -> np.ndarray:
        """``[n, size, size]`` images (``[n, 2, size, size]`` for a two-channel model) from
        band structures (rendered) or images (checked, ``render.check_images``)."""
        settings = self.render_settings
        if isinstance(items, BandStructure):
            items = [items]
        if isinstance(items, np.ndarray | Tensor):
            return check_images(items, settings)
        items = list(items)
        if items and not all(isinstance(b, BandStructure) for b in items):
            raise BandprintError("expected band structures or an image array")
        return render_band_images(items, settings)

    # -- training -----------------------------------------------------------------------
    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str = "auto",
        progress: bool = True,
        encode_batch_size: int | None = None,
    ) -> Fingerprinter:
        """A Fingerprinter that continues the training run saved in checkpoint ``path``.

        Its parameters are the run's (preset, architecture, render and training settings, the
        precision it trained in) and ``checkpoint=path``; ``device``, ``progress`` and
        ``encode_batch_size`` are this call's. Its ``fit(X)`` restores weights, optimiser,
        schedule, epoch and validation split from the file as it is then, and trains the
        remaining epochs on the same images (refused for other images, or after its
        parameters were changed with ``set_params``). ``clone`` of it starts afresh.
        """
        d = _load_file(path)
        if d["kind"] != "checkpoint":
            raise BandprintError(f"{path}: a finished model, not a training checkpoint")
        config = AutoencoderConfig.from_dict(d["model_config"])
        fp = cls(
            preset=config.name,
            config=config,
            render=RenderSettings.from_dict(d["render"]),
            device=device,
            precision=d.get("precision", "auto"),
            checkpoint=path,
            progress=progress,
            encode_batch_size=encode_batch_size,
            **asdict(TrainSettings.from_dict(d["train"])),
        )
        # Private, not a parameter: clone() of this object trains from scratch, as sklearn's
        # clone of any estimator does.
        fp._resume_from = Path(path)
        return fp

    def _resume_checkpoint(
        self, config: AutoencoderConfig, render: RenderSettings, train: TrainSettings
    ) -> dict[str, Any] | None:
        """The checkpoint ``fit`` continues (``from_checkpoint``), checked against the
        parameters; ``None`` for a fresh run."""
        path = getattr(self, "_resume_from", None)
        if path is None:
            return None
        ckpt = _load_file(path)
        stored = {
            "model architecture": AutoencoderConfig.from_dict(ckpt["model_config"]) == config,
            "render settings": RenderSettings.from_dict(ckpt["render"]) == render,
            "precision": ckpt.get("precision", "auto") == self.precision,
        }
        saved_train = asdict(TrainSettings.from_dict(ckpt["train"]))
        for key, value in asdict(train).items():
            stored[key] = saved_train[key] == value
        changed = [key for key, same in stored.items() if not same]
        if changed:
            raise BandprintError(
                f"{path}: the checkpoint's run has other {', '.join(changed)} than this "
                "Fingerprinter's parameters; resume with the checkpoint's own settings"
            )
        return ckpt

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        groups: Sequence[Any] | None = None,
        stop_after: int | None = None,
        data_note: str | None = None,
        val_indices: Sequence[int] | np.ndarray | None = None,
    ) -> Fingerprinter:
        """Train on band structures or 0/1 images ``[n, size, size]``; ``y`` is ignored.

        A Fingerprinter made by ``from_checkpoint`` continues that run (the data must be the
        same images); any other trains from scratch. ``stop_after``: train at most this many
        epochs in this call (with ``checkpoint`` set, ``from_checkpoint`` continues later).
        ``data_note`` is stored in the model. ``val_indices``: the items to validate on (e.g.
        ``group_validation_mask`` for data holding several copies of one material); by default
        a seeded random ``val_fraction`` of them. Checkpoints keep the split, so a resumed run
        validates on the same items. Parameters are read, never changed.

        ``groups``: one hashable label per item, equal for views of one material (Fermi-level
        shifted copies, settings or strain twins); checked whenever given, used only when
        ``pull_weight`` > 0, which needs them. Each batch then also encodes, for every image
        with another training-side image in its group, one such partner (drawn with a
        per-epoch seed, so runs repeat and resume exactly; validation items are never
        partners), and the loss adds ``pull_weight · pull_loss`` of the pairs. Checkpoints
        store a digest of the grouping (which items share a group, not the labels), and a
        resumed run must pass the same grouping.
        """
        config, render, train = self._planned()
        if train.pull_weight > 0 and groups is None:
            raise BandprintError(
                "pull_weight > 0 needs groups: one label per image, equal for views of one material"
            )
        ckpt = self._resume_checkpoint(config, render, train)
        resume = getattr(self, "_resume_from", None)
        self.render_ = render
        images = self.images(X)
        if len(images) < 2:
            raise BandprintError(f"need at least 2 images to train, got {len(images)}")
        digest = images_digest(images)
        if ckpt is not None and ckpt["data_hash"] != digest:
            raise BandprintError(
                f"{resume}: the checkpoint was trained on other images; resume needs the same data"
            )
        device = pick_device(self.device)
        n = len(images)
        stored = ckpt.get("val_indices") if ckpt is not None else None
        if val_indices is None and stored is not None:
            val_indices = stored
        if val_indices is not None:
            val_idx = np.unique(np.asarray(val_indices, dtype=np.int64))
            if len(val_idx) and not (val_idx[0] >= 0 and val_idx[-1] < n):
                raise BandprintError(f"validation indices must lie in 0..{n - 1}")
            if len(val_idx) >= n:
                raise BandprintError("the validation set leaves nothing to train on")
            if stored is not None and val_idx.tolist() != list(stored):
                raise BandprintError(f"{resume}: the checkpoint validated on other items")
            train_idx = np.setdiff1d(np.arange(n), val_idx)
            n_val = len(val_idx)
        else:
            perm = np.random.default_rng(train.random_state).permutation(n)
            n_val = round(train.val_fraction * n)
            n_val = min(max(n_val, 1 if train.val_fraction > 0 else 0), n - 1)
            train_idx, val_idx = np.sort(perm[n_val:]), np.sort(perm[:n_val])
        partners, groups_digest = None, None
        if groups is not None:
            codes = _group_codes(groups, n)
            groups_digest = hashlib.sha256(codes.tobytes()).hexdigest()
        if train.pull_weight > 0:
            partners = _Partners(codes, train_idx)
            if not partners.n_pairable:
                raise BandprintError(
                    "no group holds two training-side images, so the twin pull has no pairs; "
                    "give views of one material the same group label"
                )
            if ckpt is not None and ckpt.get("groups_digest") != groups_digest:
                raise BandprintError(
                    f"{resume}: the checkpoint was trained with other groups; resume needs the "
                    "same groups"
                )
        data = torch.from_numpy(np.ascontiguousarray(with_channel_axis(images > 0.5), np.uint8))

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(train.random_state)
            model = Autoencoder(config)
        model = model.to(device=device, memory_format=torch.channels_last)
        optimiser = torch.optim.AdamW(
            model.parameters(), lr=train.max_lr, weight_decay=train.weight_decay
        )
        steps = math.ceil(len(train_idx) / train.batch_size)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=train.max_lr, total_steps=train.epochs * steps
        )
        amp_dtype = autocast_dtype(device, self.precision)
        self.precision_ = str(amp_dtype or torch.float32).removeprefix("torch.")
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
        history: list[dict[str, float]] = []
        start_epoch = 0
        spent = 0.0
        if ckpt is not None:
            model.load_state_dict(ckpt["state_dict"])
            optimiser.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            scaler.load_state_dict(ckpt["scaler"])
            history = list(ckpt["history"])
            start_epoch = int(ckpt["epoch"])
            spent = float(ckpt.get("train_seconds", 0.0))
            if start_epoch >= train.epochs:
                raise BandprintError(f"{resume}: all {train.epochs} epochs are already trained")

        baseline = _bce_baseline(images[val_idx] if n_val else images[train_idx])
        ink = float(np.mean(images[train_idx] > 0.5))
        pos_weight = (1 - ink) / ink if 0 < ink < 1 else 1.0
        self.model_ = model
        self.config_ = config
        self.train_settings_ = train
        self.n_train_, self.n_val_ = len(train_idx), n_val
        self.baseline_bce_ = baseline
        self.data_hash_ = digest
        self.trained_on_ = data_note or (ckpt.get("trained_on") if ckpt else None) or ""

        end_epoch = (
            train.epochs if stop_after is None else min(train.epochs, start_epoch + stop_after)
        )
        from tqdm.auto import tqdm

        for epoch in range(start_epoch, end_epoch):
            t0 = time.perf_counter()
            order = np.random.default_rng(_epoch_seed(train.random_state, epoch, 0)).permutation(
                train_idx
            )
            noise_gen = torch.Generator().manual_seed(_epoch_seed(train.random_state, epoch, 1))
            # Its own stream: a run without the pull draws exactly what it drew before.
            pair_rng = np.random.default_rng(_epoch_seed(train.random_state, epoch, 2))
            model.train()
            total, count = 0.0, 0
            pull_total, pull_batches = 0.0, 0
            bar = tqdm(
                total=len(order),
                desc=f"epoch {epoch + 1}/{train.epochs}",
                unit="img",
                disable=not self.progress,
                leave=False,
            )
            for b in range(steps):
                batch = order[b * train.batch_size : (b + 1) * train.batch_size]
                idx = torch.from_numpy(batch)
                target = data[idx].float()
                noised, _ = random_erase(target, train.noise_prob, noise_gen)
                target = target.to(device).contiguous(memory_format=torch.channels_last)
                noised = noised.to(device).contiguous(memory_format=torch.channels_last)
                rows, mates = partners.draw(batch, pair_rng) if partners is not None else ([], [])
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    if len(rows):
                        # Partners go through the encoder in the same pass as the anchors, so
                        # batch norm normalises both alike and their fingerprints compare.
                        # They are encoded clean, as fingerprints are, and get no
                        # reconstruction loss: every image is reconstructed once per epoch
                        # with or without the pull, so materials with many views are not
                        # reconstructed more often, and train_bce keeps its meaning.
                        extra = data[torch.from_numpy(mates)].float().to(device)
                        x = torch.cat([noised, extra]).contiguous(memory_format=torch.channels_last)
                        z = model.encode(x)
                        logits = model.decode(z[: len(batch)])
                    else:
                        logits = model(noised)
                bce = F.binary_cross_entropy_with_logits(logits.float(), target)
                loss = (
                    bce
                    if train.loss == "bce"
                    else training_loss(logits.float(), target, train.loss, pos_weight)
                )
                if len(rows):
                    z = z.float()
                    anchors = z[torch.from_numpy(rows).to(device)]
                    pull = pull_loss(anchors, z[len(batch) :], z)
                    loss = loss + train.pull_weight * pull
                    pull_total += pull.item()
                    pull_batches += 1
                optimiser.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimiser)
                scaler.update()
                scheduler.step()
                total += bce.item() * len(idx)
                count += len(idx)
                bar.update(len(idx))
                bar.set_postfix(bce=f"{total / count:.4f}")
            bar.close()
            # Validation in float32: the precision fingerprints are encoded in.
            val = self._evaluate(data[torch.from_numpy(val_idx)]) if n_val else math.nan
            seconds = time.perf_counter() - t0
            spent += seconds
            record = {
                "epoch": epoch + 1,
                "train_bce": total / count,
                "val_bce": val,
                "lr_end": float(scheduler.get_last_lr()[0]),
                "seconds": seconds,
            }
            if partners is not None:
                # The mean pull_loss of the epoch's batches (dimensionless, ~2 for strangers).
                record["train_pull"] = pull_total / max(pull_batches, 1)
            history.append(record)
            self.history_ = history
            if self.progress:
                pulled = f", twin pull {record['train_pull']:.3f}" if partners is not None else ""
                tqdm.write(
                    f"epoch {epoch + 1}/{train.epochs}: train BCE {total / count:.4f} "
                    f"(noised inputs){pulled}, validation BCE {val:.4f} ({seconds:.0f} s)"
                )
            if self.checkpoint is not None:
                self._write(
                    self.checkpoint,
                    kind="checkpoint",
                    extra={
                        "epoch": epoch + 1,
                        "optimizer": optimiser.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "scaler": scaler.state_dict(),
                        "val_indices": val_idx.tolist(),
                        "groups_digest": groups_digest if partners is not None else None,
                    },
                    train_seconds=spent,
                )
        model.eval()
        self.history_ = history
        self.train_seconds_ = spent
        self.epochs_trained_ = len(history)
        self.model_id_ = self._model_id()
        return self

    def _evaluate(self, data: Tensor, amp_dtype: torch.dtype | None = None) -> float:
        """Mean per-pixel BCE of clean reconstructions of uint8 images ``[n, 1, s, s]``."""
        model = self.model_
        device = next(model.parameters()).device
        model.eval()
        total = 0.0
        with torch.inference_mode(), full_float32():
            for chunk in _batches(data, self._encode_batch()):
                x = chunk.float().to(device).contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                    logits = model(x)
                total += float(
                    F.binary_cross_entropy_with_logits(logits.float(), x, reduction="sum")
                )
        return total / max(data.numel(), 1)

    def reconstruction_bce(self, X: Any) -> float:
        """Mean per-pixel binary cross-entropy (nats) of reconstructing the clean images of
        ``X`` (band structures or images), in float32: the validation loss; lower is better."""
        self._check_fitted()
        images = self.images(X)
        data = torch.from_numpy(np.ascontiguousarray(with_channel_axis(images > 0.5), np.uint8))
        return self._evaluate(data)

    def score(self, X: Any, y: Any = None) -> float:
        """``-reconstruction_bce(X)``: higher is better, as scikit-learn's model selection
        expects of ``score``; ``y`` is ignored."""
        return -self.reconstruction_bce(X)

    # -- encoding and decoding ----------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, int, int]:
        self._check_fitted()
        return self.config_.latent_shape

    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _to_input(self, images: np.ndarray) -> Tensor:
        x = torch.from_numpy(with_channel_axis(np.asarray(images, dtype=np.float32)))
        return x.to(self._device()).contiguous(memory_format=torch.channels_last)

    def transform(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Fingerprints ``[n, d]`` float32 (flattened latent maps, channel-major), computed
        as ``ENCODE_PRECISION`` says on the model's device."""
        self._check_fitted()
        self.model_.eval()
        size = batch_size or self._encode_batch()
        out = [np.zeros((0, self.config_.fingerprint_length), dtype=np.float32)]
        with torch.inference_mode(), full_float32():
            for chunk in _batches(self._items(X), size):
                images = np.asarray(self.images(chunk), dtype=np.float32)
                # The convolution kernels differ with the batch size (~1e-6 in each value), and
                # the p = 0.2 distance magnifies that: one material encoded alone and in a batch
                # would sit at a clearly non-zero distance. Every batch is padded to the same
                # size, so a fingerprint depends only on its image (bitwise, measured).
                n = len(images)
                if n < size:
                    pad = np.zeros((size - n, *images.shape[1:]), dtype=np.float32)
                    images = np.concatenate([images, pad])
                z = self.model_.encode(self._to_input(images))[:n]
                out.append(z.float().flatten(1).cpu().numpy())
        return np.concatenate(out)

    def decode(self, latent: np.ndarray | Tensor) -> np.ndarray:
        """Probability images ``[n, size, size]`` from fingerprints ``[n, d]`` or maps."""
        self._check_fitted()
        z = torch.as_tensor(np.asarray(latent, dtype=np.float32))
        if z.ndim == 1:
            z = z[None]
        z = z.reshape(len(z), *self.config_.latent_shape)
        self.model_.eval()
        with torch.inference_mode(), full_float32():
            logits = self.model_.decode(z.to(self._device()))
        return without_single_channel(torch.sigmoid(logits.float()).cpu().numpy())

    def reconstruct(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """Reconstruction probabilities ``[n, size, size]`` of band structures or images."""
        self._check_fitted()
        self.model_.eval()
        out = []
        with torch.inference_mode(), full_float32():
            for chunk in _batches(self._items(X), batch_size or self._encode_batch()):
                logits = self.model_(self._to_input(self.images(chunk)))
                out.append(without_single_channel(torch.sigmoid(logits.float()).cpu().numpy()))
        size = self.render_settings.size
        return np.concatenate(out) if out else np.zeros((0, size, size), np.float32)

    def add_noise(self, X: Any, seed: int = 0, prob: float = 1.0) -> np.ndarray:
        """The training noise applied to images (each hit with probability ``prob``)."""
        images = np.asarray(self.images(X), dtype=np.float32)
        gen = torch.Generator().manual_seed(seed)
        noised, _ = random_erase(torch.from_numpy(with_channel_axis(images)), prob, gen)
        return without_single_channel(noised.numpy())

    @staticmethod
    def _items(X: Any) -> Any:
        return [X] if isinstance(X, BandStructure) else X

    # -- identity and files -------------------------------------------------------------
    def _model_id(self, state_dict: dict[str, Tensor] | None = None) -> str:
        sd = state_dict if state_dict is not None else self.model_.state_dict()
        return f"{self.config_.name}-{weights_digest(sd)[:10]}"

    def use_render_settings(self, **changes: Any) -> Fingerprinter:
        """Draw with the fitted model's render settings changed (``RenderSettings`` fields
        other than the image size), in place. Fingerprints drawn another way are another
        representation, so ``model_id_`` gets the new settings' key appended and they are
        stored apart from the model's own."""
        self._check_fitted()
        if "size" in changes and changes["size"] != self.render_.size:
            raise BandprintError(f"the model takes {self.render_.size}-pixel images")
        render = replace(self.render_, **changes)
        if render.channels != self.config_.channels:
            raise BandprintError(
                f"the model takes {self.config_.channels}-channel images; "
                f"spins={render.spins!r} draws {render.channels}"
            )
        if render != self.render_:
            self.render_ = render
            self.model_id_ = f"{self._model_id()}-r{render.key[:6]}"
        return self

    def info(self) -> dict[str, Any]:
        """What describes the fitted model (stored beside its fingerprints)."""
        self._check_fitted()
        last = self.history_[-1] if self.history_ else {}
        return {
            "model_id": self.model_id_,
            "preset": self.config_.name,
            "model_config": self.config_.to_dict(),
            "render": self.render_.to_dict(),
            "fingerprint_length": self.config_.fingerprint_length,
            "latent_shape": list(self.config_.latent_shape),
            "epochs_trained": len(self.history_),
            "train_bce": last.get("train_bce"),
            "val_bce": last.get("val_bce"),
            "baseline_bce": self.baseline_bce_,
            "n_train": self.n_train_,
            "n_val": self.n_val_,
            "trained_on": self.trained_on_,
            "pull_weight": self.train_settings_.pull_weight,
            "training_precision": self.precision_,
            "encode_device": str(self._device()),
            "encode_precision": ENCODE_PRECISION,
            "torch_version": str(torch.__version__),
        }

    def _payload(self, half: bool) -> tuple[dict[str, Tensor], str]:
        sd = {k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        if half:
            sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
        return sd, self._model_id(sd)

    def _write(
        self,
        path: str | Path,
        kind: str,
        half: bool = False,
        extra: dict[str, Any] | None = None,
        train_seconds: float | None = None,
    ) -> Path:
        state_dict, model_id = self._payload(half)
        payload = {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "kind": kind,
            "model_id": model_id,
            "model_config": self.config_.to_dict(),
            "render": self.render_.to_dict(),
            "train": asdict(self.train_settings_),
            "history": list(self.history_) if hasattr(self, "history_") else [],
            "state_dict": state_dict,
            "n_train": self.n_train_,
            "n_val": self.n_val_,
            "baseline_bce": self.baseline_bce_,
            "data_hash": self.data_hash_,
            "trained_on": self.trained_on_,
            "train_seconds": float(
                train_seconds if train_seconds is not None else self.train_seconds_
            ),
            "created": datetime.now(UTC).isoformat(),
            "torch_version": str(torch.__version__),
            "precision": getattr(self, "precision_", "float32"),
            **(extra or {}),
        }
        path = Path(path)
        atomic_write(path, lambda tmp: torch.save(payload, tmp))
        return path

    def save(self, path: str | Path, half: bool = False) -> Path:
        """Write the trained model (config, render settings, history, weights) to ``path``.

        ``half=True`` stores float16 weights (half the size); they are slightly different
        weights, so the file's model id differs from this object's ``model_id_``.
        """
        self._check_fitted()
        return self._write(path, kind="model", half=half)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Fingerprinter:
        """A trained Fingerprinter from a model file or a training checkpoint."""
        d = _load_file(path)
        config = AutoencoderConfig.from_dict(d["model_config"])
        render = RenderSettings.from_dict(d["render"])
        train = TrainSettings.from_dict(d["train"])
        fp = cls(
            preset=config.name,
            config=config,
            render=render,
            device=device,
            progress=False,
            **{k: v for k, v in asdict(train).items()},
        )
        model = Autoencoder(config)
        state = {k: v.float() if v.is_floating_point() else v for k, v in d["state_dict"].items()}
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise BandprintError(f"{path}: weights do not fit the stored architecture") from exc
        model.eval()
        fp.model_ = model.to(device=pick_device(device), memory_format=torch.channels_last)
        fp.config_, fp.render_, fp.train_settings_ = config, render, train
        fp.history_ = list(d["history"])
        fp.n_train_, fp.n_val_ = int(d["n_train"]), int(d["n_val"])
        fp.baseline_bce_ = float(d["baseline_bce"])
        fp.data_hash_ = d["data_hash"]
        fp.trained_on_ = d.get("trained_on", "")
        fp.train_seconds_ = float(d.get("train_seconds", 0.0))
        fp.precision_ = d.get("precision", "float32")
        fp.epochs_trained_ = len(fp.history_)
        fp.model_id_ = fp._model_id()
        fp.path_ = Path(path)
        return fp


def _load_file(path: str | Path | Any) -> dict[str, Any]:
    p = Path(str(path))
    if not p.is_file():
        raise BandprintError(f"{path}: no such model file")
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BandprintError(f"{path}: not a bandprint model file ({type(exc).__name__})") from None
    if not isinstance(d, dict) or d.get("format") != FILE_FORMAT:
        raise BandprintError(f"{path}: not a bandprint model file")
    if int(d.get("version", 0)) > FILE_VERSION:
        raise BandprintError(f"{path}: written by a newer bandprint; upgrade bandprint")
    return d


def default_model_path() -> Path:
    """The model file shipped inside the package (``bandprint/models/default-small.pt``)."""
    return Path(str(resources.files("bandprint") / "models" / DEFAULT_MODEL_FILE))


def load_default_fingerprinter(device: str = "cpu") -> Fingerprinter:
    """The shipped ``small`` model (trained by ``scripts/train_default_model.py``); offline."""
    path = default_model_path()
    if not path.is_file():
        raise BandprintError(
            f"the default model {path} is missing (run scripts/train_default_model.py)"
        )
    return Fingerprinter.load(path, device=device)


def load_fingerprinter(model: str | Path | None = None, device: str = "auto") -> Fingerprinter:
    """``model``: a model file, ``None`` / ``"default"`` for the shipped one."""
    if model is None or str(model) == "default":
        return load_default_fingerprinter(device="cpu" if device == "auto" else device)
    return Fingerprinter.load(model, device=device)


# -- rendering for encoding, comparable encodings -------------------------------------------
def render_batch(
    band_structures: list[BandStructure], settings: RenderSettings
) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
    """``(ids, images, skipped)``: the image of every band structure that renders, and
    ``(material_id, reason)`` for each that does not (``BandprintError``), in input order."""
    ids, images, skipped = [], [], []
    for bs in band_structures:
        try:
            images.append(render_band_images([bs], settings)[0])
            ids.append(bs.material_id)
        except BandprintError as exc:
            skipped.append((bs.material_id, str(exc)))
    return ids, images, skipped


def _device_kinds(info: dict[str, Any]) -> list[str]:
    """The kinds of device (``cpu``, ``cuda``, ...; ``cuda:1`` counts as ``cuda``) a stored
    fingerprint set was encoded on, as its model info records them (none before recording)."""
    devices = info.get("encode_devices") or (
        [info["encode_device"]] if "encode_device" in info else []
    )
    return sorted({str(d).split(":")[0] for d in devices})


def check_encoding(
    stored: dict[str, Any], device: str, precision: str = ENCODE_PRECISION, where: str = ""
) -> None:
    """Refuse fingerprints encoded on another kind of device or in another precision than the
    stored set described by ``stored`` (its ``model.json`` info), and a stored set that already
    mixes devices. Why: float32 convolutions on different backends (oneDNN on a CPU, cuDNN on
    a GPU) add in different orders and so differ in the last bits, and the p = 0.2 distance
    magnifies such differences into clearly non-zero distances between copies of one
    material. Fields the stored info does not record (older workspaces) are not compared.
    ``where`` starts the error message (e.g. the workspace and model)."""
    prefix = f"{where}: " if where else ""
    kinds = _device_kinds(stored)
    kind = str(device).split(":")[0]
    old_precision = stored.get("encode_precision")
    if len(kinds) > 1:
        raise BandprintError(
            f"{prefix}the stored fingerprints were encoded on {' and '.join(kinds)} and are "
            "not comparable with each other; re-encode them all on one device "
            "(bandprint fingerprint --redo)"
        )
    if (kinds and kinds[0] != kind) or (old_precision and old_precision != precision):
        old_device = kinds[0] if kinds else "an unrecorded device"
        old = f"{old_device} in {old_precision or 'an unrecorded precision'}"
        raise BandprintError(
            f"{prefix}the stored fingerprints were encoded on {old}, these on {kind} in "
            f"{precision}; fingerprints of different devices or precisions are not "
            "comparable: encode on the same kind of device, or re-encode all with --redo"
        )


def set_encode_device(stored: dict[str, Any], where: str = "") -> str:
    """The device to encode new fingerprints on so that they are comparable with a stored set
    (its ``model.json`` info): the kind it was encoded on, ``cpu`` when unrecorded. Refused
    (``BandprintError``) when the set mixes devices or that kind is not available here."""
    kinds = _device_kinds(stored) or ["cpu"]
    if len(kinds) == 1 and kinds[0] == "cuda" and not torch.cuda.is_available():
        prefix = f"{where}: " if where else ""
        raise BandprintError(
            f"{prefix}the stored fingerprints were encoded on cuda, and this machine has no "
            "CUDA GPU, so fingerprints encoded here (on cpu) would not be comparable; run this "
            "where a GPU is, or re-encode the workspace here (bandprint fingerprint --redo)"
        )
    if len(kinds) > 1:
        check_encoding(stored, kinds[0], where=where)  # raises: the set mixes devices
    return kinds[0]


# -- figures --------------------------------------------------------------------------------
def _as_image(fp: Fingerprinter, source: Any) -> np.ndarray:
    return np.asarray(fp.images(source)[0], dtype=np.float32)


def reconstruction_figure(
    fp: Fingerprinter, source: BandStructure | np.ndarray, seed: int = 0, title: str = ""
) -> Figure:
    """Input, noised input, reconstruction of the noised input and of the clean input."""
    from matplotlib.figure import Figure

    image = _as_image(fp, source)
    noised = fp.add_noise(image[None], seed=seed)[0]
    recon_noised, recon_clean = fp.reconstruct(np.stack([noised, image]))
    bce = fp.reconstruction_bce(image[None])
    panels = [
        ("input", image),
        ("noised input", noised),
        ("reconstruction\nof noised input", recon_noised),
        (f"reconstruction of input\n(BCE {bce:.3f})", recon_clean),
    ]
    fig = Figure(figsize=(3.0 * len(panels), 3.6), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for ax, (name, img) in zip(axes, panels, strict=True):
        ax.imshow(1 - img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    label = title or (source.material_id if isinstance(source, BandStructure) else "")
    fig.suptitle(f"{label}  [model {fp.model_id_}]".strip(), fontsize=11)
    return fig


def traversal_figure(
    fp: Fingerprinter,
    source: BandStructure | np.ndarray,
    channel: int,
    pos: tuple[int, int],
    deltas: Sequence[float] = (0.0, 0.5, 0.7, 0.9),
    title: str = "",
) -> Figure:
    """Decode the fingerprint with latent value ``[channel, i, j]`` shifted by each delta.

    ``channel`` and ``pos`` count from 0 (the paper's "channel 2, position (2, 2)" with
    channels counted from 1 is ``channel=1, pos=(2, 2)`` here if its positions count from 0).
    The region of the image that the latent cell sits over is outlined.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    z_ch, side_i, side_j = fp.latent_shape
    i, j = pos
    if not 0 <= channel < z_ch:
        raise BandprintError(f"channel {channel} is out of range 0..{z_ch - 1}")
    if not (0 <= i < side_i and 0 <= j < side_j):
        raise BandprintError(f"position ({i}, {j}) is outside the {side_i}×{side_j} latent grid")
    image = _as_image(fp, source)
    latent = fp.transform(image[None]).reshape(1, z_ch, side_i, side_j)
    shifted = np.repeat(latent, len(deltas), axis=0)
    for k, delta in enumerate(deltas):
        shifted[k, channel, i, j] += float(delta)
    decoded = fp.decode(shifted)
    base = latent[0, channel, i, j]
    size = image.shape[0]
    cell = size / side_i
    fig = Figure(figsize=(2.8 * (len(deltas) + 1), 3.4), layout="constrained")
    axes = fig.subplots(1, len(deltas) + 1)
    axes[0].imshow(1 - image, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axes[0].set_title("input", fontsize=10)
    for ax, delta, img in zip(axes[1:], deltas, decoded, strict=True):
        ax.imshow(1 - img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"Δ = {delta:g} (z = {base + delta:.2f})", fontsize=10)
    for ax in axes:
        ax.add_patch(
            Rectangle(
                (j * cell - 0.5, i * cell - 0.5), cell, cell, fill=False, ec="tab:red", lw=1.2
            )
        )
        ax.set_xticks([])
        ax.set_yticks([])
    label = title or (source.material_id if isinstance(source, BandStructure) else "")
    fig.suptitle(
        f"{label}  latent channel {channel}, position ({i}, {j})  [model {fp.model_id_}]".strip(),
        fontsize=11,
    )
    return fig


__all__ = [
    "ENCODE_PRECISION",
    "PRESETS",
    "Fingerprinter",
    "TrainSettings",
    "check_encoding",
    "default_model_path",
    "full_float32",
    "group_validation_mask",
    "load_default_fingerprinter",
    "load_fingerprinter",
    "pull_loss",
    "random_erase",
    "reconstruction_figure",
    "set_encode_device",
    "traversal_figure",
]
