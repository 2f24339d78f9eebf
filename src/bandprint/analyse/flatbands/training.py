"""Training the image flat-band detector (``bandprint.analyse.flatbands.cnn``): labelled
blocks from the eigenvalue detector, Fermi-shifted copies, the training loop and its evaluation.
``scripts/train_flatband_cnn.py`` trains the shipped weights with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from bandprint.analyse.flatbands.cnn import (
    BLOCK_SHAPE,
    RENDER_VARIANTS,
    FlatBandCNN,
    RenderVariant,
    band_structure_blocks,
)
from bandprint.analyse.flatbands.core import (
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
)
from bandprint.analyse.flatbands.eigen import (
    analysed_band_structure,
    detect_flat_bands,
)
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError


def labelled_blocks(
    bs: BandStructure,
    variant: RenderVariant = RENDER_VARIANTS[0],
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    bandwidth_threshold: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(blocks [n, *BLOCK_SHAPE] uint8 0…255, labels [n] bool)`` of one band structure, the
    labels from the eigenvalue detector (out-of-plane segments dropped for 2-D materials)."""
    kwargs = {} if bandwidth_threshold is None else {"bandwidth_threshold": bandwidth_threshold}
    result = detect_flat_bands(bs, strip_width=strip_width, window=window, **kwargs)
    work, _, _ = analysed_band_structure(bs)
    blocks = band_structure_blocks(work, window, strip_width, variant)
    if blocks.shape[:2] != result.block_flat.shape:
        raise BandprintError(f"{bs.material_id}: blocks and labels disagree in shape")
    q = np.rint(blocks.reshape(-1, *BLOCK_SHAPE) * 255).astype(np.uint8)
    return q, result.block_flat.reshape(-1).copy()


@dataclass
class TrainConfig:
    """How ``train_flatband_cnn`` trains; stored in the weights' info."""

    epochs: int = 12
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    widths: tuple[int, ...] = (8, 16, 32)
    hidden: int = 64
    threads: int | None = None


def train_flatband_cnn(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    config: TrainConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[FlatBandCNN, list[dict[str, float]]]:
    """Train a ``FlatBandCNN`` on uint8 (0…255) or float (0…1) blocks and 0/1 labels.

    Seeded (``config.seed``): the same data and config give the same weights on one machine.
    Adam with a one-cycle schedule, BCE with logits. Returns the model (eval mode) and a
    per-epoch history (train loss, validation loss, accuracy, precision, recall).
    """
    cfg = config or TrainConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = FlatBandCNN(cfg.widths, cfg.hidden)
    x = _as_float_tensor(x_train)
    y = torch.as_tensor(np.asarray(y_train), dtype=torch.float32)
    if len(x) != len(y) or len(x) == 0:
        raise BandprintError(f"{len(x)} blocks and {len(y)} labels")
    steps = cfg.epochs * math.ceil(len(x) / cfg.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    loss_fn = nn.BCEWithLogitsLoss()
    history: list[dict[str, float]] = []
    for epoch in range(cfg.epochs):
        model.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            xb = x[idx]
            # Mirror left-right half the time: a flat band is flat either way along k.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        entry = {"epoch": epoch + 1, "train_loss": total / len(x), "seconds": 0.0}
        if x_val is not None and y_val is not None and len(y_val):
            entry.update(evaluate_blocks(model, x_val, y_val))
        entry["seconds"] = time.perf_counter() - t0
        history.append(entry)
        if log:
            log(
                " ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items()
                )
            )
    model.eval()
    model.info = {"train": {k: v for k, v in asdict(cfg).items() if k != "threads"}}
    return model, history


def _as_float_tensor(blocks: np.ndarray) -> Tensor:
    arr = np.asarray(blocks)
    t = torch.from_numpy(np.ascontiguousarray(arr))
    t = t.float() / 255.0 if arr.dtype == np.uint8 else t.float()
    return t.reshape(-1, 1, *BLOCK_SHAPE)


@torch.no_grad()
def evaluate_blocks(model: FlatBandCNN, blocks: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Validation loss, accuracy, precision and recall of the model on labelled blocks."""
    model.eval()
    x = _as_float_tensor(blocks)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
    logits = torch.cat([model(x[i : i + 2048]) for i in range(0, len(x), 2048)])
    loss = float(F.binary_cross_entropy_with_logits(logits, y))
    pred = logits >= 0
    truth = y >= 0.5
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    return {
        "val_loss": loss,
        "val_accuracy": float((pred == truth).float().mean()),
        "val_precision": tp / (tp + fp) if tp + fp else math.nan,
        "val_recall": tp / (tp + fn) if tp + fn else math.nan,
    }


def fermi_shifted_copies(
    bs: BandStructure,
    n: int,
    rng: np.random.Generator,
    window: tuple[float, float] = DEFAULT_WINDOW,
    search: tuple[float, float] = (-8.0, 6.0),
    p_flat: float = 0.6,
) -> list[BandStructure]:
    """``n`` copies of ``bs`` with the Fermi level moved, to show the detectors more variety.

    With probability ``p_flat`` a copy puts a nearly flat piece (a block of bandwidth under
    three times the default threshold, found by the eigenvalue detector within ``search`` eV
    of E_F) at a random height in ``window`` (slightly beyond, for edge cases); otherwise E_F
    moves to a random eigenvalue within ``search``, plus up to ±1 eV. Ids get ``@shift<i>``.
    """
    from dataclasses import replace

    lo, hi = math.floor(search[0] * 2) / 2, math.ceil(search[1] * 2) / 2
    found = detect_flat_bands(bs, window=(lo, hi), bandwidth_threshold=0.1)
    near = np.isfinite(found.block_bandwidth) & (found.block_bandwidth < 0.3)
    candidates = found.block_energy[near]
    rel = bs.energies_relative.ravel()
    rel = rel[(rel > search[0]) & (rel < search[1])]
    out = []
    for i in range(n):
        if len(candidates) and rng.random() < p_flat:
            level = float(candidates[rng.integers(len(candidates))])
            delta = level - rng.uniform(window[0] - 0.1, window[1] + 0.1)
        elif len(rel):
            delta = float(rel[rng.integers(len(rel))]) + rng.uniform(-1.0, 1.0)
        else:
            delta = rng.uniform(search[0], search[1])
        out.append(replace(bs, material_id=f"{bs.material_id}@shift{i}", efermi=bs.efermi + delta))
    return out


def blocks_dataset(
    band_structures: Iterable[BandStructure],
    variants: Sequence[RenderVariant],
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    on_error: Callable[[str, str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(blocks, labels, source index)`` of many band structures, the i-th drawn with
    ``variants[i % len(variants)]``. Band structures that cannot be drawn are reported and
    skipped."""
    xs, ys, groups = [], [], []
    for i, bs in enumerate(band_structures):
        try:
            x, y = labelled_blocks(bs, variants[i % len(variants)], window, strip_width)
        except BandprintError as exc:
            if on_error:
                on_error(bs.material_id, str(exc))
            continue
        xs.append(x)
        ys.append(y)
        groups.append(np.full(len(y), i))
    if not xs:
        return (
            np.zeros((0, *BLOCK_SHAPE), np.uint8),
            np.zeros(0, bool),
            np.zeros(0, np.int64),
        )
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)


__all__ = [
    "TrainConfig",
    "blocks_dataset",
    "evaluate_blocks",
    "fermi_shifted_copies",
    "labelled_blocks",
    "train_flatband_cnn",
]
