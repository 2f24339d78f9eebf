"""Flat bands from pictures: a small CNN on the strip × segment blocks of a band image.

This is the flat-band genome's detector (Bhattacharya et al., npj Comput. Mater. 9, 101
(2023)): the picture of the bands is cut into 0.5 eV strips and along the
k-path segments, and a supervised CNN says of each block whether it holds a flat band. It needs
no eigenvalues, so band-structure figures (a PNG from a paper, a database thumbnail) can be
screened too, given where the image's energy window and segment boundaries lie.

**Blocks.** Each block is the strip plus a quarter strip of context above and below (so the
network can tell a line on the strip's edge from one inside it: the label goes by the level's
mean energy), resized by area averaging to ``BLOCK_SHAPE`` (48 rows × 32 columns) whatever the
image resolution. A band image from ``render_band_image`` (1 = band pixel) is what it expects.

**Labels and training.** The labels are the eigenvalue detector's (``flatbands.
detect_flat_bands`` at its default 0.1 eV threshold) on the tight-binding zoo and the real
samples, with the Fermi level shifted to bring flat levels and real d bands into the window, and
drawn at several resolutions (``RENDER_VARIANTS``: the detector's own 64 px per strip, the
published 224 px ±4 eV picture, k-index x axis, 1–3 px lines). ``scripts/train_flatband_cnn.py``
trains the shipped weights (``models/flatband-cnn.pt``) reproducibly on CPU.

**Summary.** Block probabilities feed the same per-material summary as the eigenvalue detector
(``FlatBandResult``): a block is flat at probability ≥ 0.5, the segment score is its highest
block probability and the flatness score their mean. Plane-flat cannot be seen from separate
blocks; the image detector reports a strip flat in every segment instead (energy: the strip's
centre, bandwidth NaN).

**What it judges.** The same segments as the eigenvalue detector (``flatbands.
judged_segments``): a band structure without a labelled high-symmetry path (a k-point grid,
path ``?–?``) gives no blocks, not flat, not plane-flat, with a note saying why, and segments
of fewer than ``MIN_SEGMENT_KPOINTS`` k-points are left out. The picture of a grid is still a
picture of lines, but the lines join k-points in index order, not along a path, so a "flat"
block there means nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from bandprint.analyse.flatbands.core import (
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    FlatBandResult,
    strip_edges,
)
from bandprint.analyse.flatbands.eigen import (
    analysed_band_structure,
    judged_segments,
)
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError
from bandprint.render import path_x, render_band_image

#: Rows × columns every block is resized to before the network sees it.
BLOCK_SHAPE = (48, 32)
#: Context above and below each strip, as a fraction of the strip height.
CONTEXT = 0.25
#: Where the shipped weights live.
DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "models" / "flatband-cnn.pt"


@dataclass(frozen=True)
class RenderVariant:
    """One way of drawing a band structure for the blocks (training uses several)."""

    name: str
    rows_per_strip: int | None = 64  # None: a fixed picture (size, window) as published
    size: int | None = None
    half_window: float | None = None
    x_axis: str = "distance"
    line_width: int = 2


#: The detector's own rendering (first) and the variants it is trained to read as well.
RENDER_VARIANTS = (
    RenderVariant("native"),
    RenderVariant("published-224", rows_per_strip=None, size=224, half_window=4.0),
    RenderVariant("index-32", rows_per_strip=32, x_axis="index", line_width=1),
    RenderVariant("thick-48", rows_per_strip=48, line_width=3),
)


# -- the network ----------------------------------------------------------------------------
class FlatBandCNN(nn.Module):
    """A 5×5 stride-2 stem, two conv–BN–ReLU–pool stages and a two-layer head; one logit per
    block.

    The stride-2 stem keeps training cheap on a CPU (a line 1–3 px thick survives it); the head
    is fully connected, not a global pooling, because whether a line spans the block and where
    it sits relative to the strip edges are positional facts.
    """

    def __init__(self, widths: Sequence[int] = (8, 16, 32), hidden: int = 64) -> None:
        super().__init__()
        if len(widths) != 3:
            raise BandprintError(f"FlatBandCNN takes 3 widths, got {len(widths)}")
        w1, w2, w3 = (int(w) for w in widths)

        def stage(cin: int, cout: int, k: int, stride: int) -> list[nn.Module]:
            conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
            return [conv, nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *stage(1, w1, 5, 2),
            *stage(w1, w2, 3, 1),
            nn.MaxPool2d(2),
            *stage(w2, w3, 3, 1),
            nn.MaxPool2d(2),
        )
        r, c = BLOCK_SHAPE[0] // 8, BLOCK_SHAPE[1] // 8
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(w3 * r * c, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
        )
        self.widths = (w1, w2, w3)
        self.hidden = int(hidden)
        self.info: dict[str, Any] = {}

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[n]`` for blocks ``[n, 1, *BLOCK_SHAPE]`` (values 0…1)."""
        return self.head(self.features(x)).squeeze(1)


def save_flatband_cnn(model: FlatBandCNN, path: str | Path, info: dict[str, Any]) -> Path:
    """Weights (float32) and what made them, in one ``torch.save`` file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(
        {
            "format": "bandprint-flatband-cnn",
            "version": 1,
            "widths": list(model.widths),
            "hidden": model.hidden,
            "block_shape": list(BLOCK_SHAPE),
            "context": CONTEXT,
            "state_dict": state,
            "info": info,
        },
        path,
    )
    return path


_LOADED: dict[str, FlatBandCNN] = {}


def load_flatband_cnn(path: str | Path | None = None) -> FlatBandCNN:
    """The shipped image detector (or one saved by ``save_flatband_cnn``), in eval mode."""
    path = Path(path) if path is not None else DEFAULT_MODEL_PATH
    key = str(path.resolve())
    if key in _LOADED:
        return _LOADED[key]
    if not path.is_file():
        raise BandprintError(
            f"{path}: no flat-band CNN weights (train them with scripts/train_flatband_cnn.py)"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BandprintError(f"{path}: not a flat-band CNN file ({exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != "bandprint-flatband-cnn":
        raise BandprintError(f"{path}: not a flat-band CNN file")
    if tuple(ckpt["block_shape"]) != BLOCK_SHAPE or float(ckpt["context"]) != CONTEXT:
        raise BandprintError(f"{path}: made for other block settings than this bandprint")
    model = FlatBandCNN(ckpt["widths"], ckpt["hidden"])
    model.load_state_dict(ckpt["state_dict"])
    model.info = dict(ckpt.get("info") or {})
    model.eval()
    _LOADED[key] = model
    return model


# -- blocks ---------------------------------------------------------------------------------
def _segment_pairs(x_bounds: Sequence[float] | Sequence[tuple[float, float]]) -> np.ndarray:
    b = np.asarray(x_bounds, dtype=np.float64)
    if b.ndim == 1:
        if b.size < 2:
            raise BandprintError("need at least two segment boundaries")
        b = np.stack([b[:-1], b[1:]], axis=1)
    if b.ndim != 2 or b.shape[1] != 2 or not np.isfinite(b).all():
        raise BandprintError("segment boundaries must be n + 1 columns or n (start, end) pairs")
    if (b[:, 1] < b[:, 0]).any():
        raise BandprintError("segment boundaries must not decrease")
    return b


def cut_blocks(
    image: np.ndarray,
    x_bounds: Sequence[float] | Sequence[tuple[float, float]],
    image_window: tuple[float, float],
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
) -> np.ndarray:
    """Blocks ``[strip, segment, *BLOCK_SHAPE]`` (float32, 0…1) of a band image.

    ``image``: 2-D, 1 (or dark, see ``load_band_image``) where a band passes, row 0 at the top
    of ``image_window`` (eV from E_F, as the renderer draws it). ``x_bounds``: segment
    boundaries in pixel columns, either ``n + 1`` positions (segments end to end) or ``n``
    ``(start, end)`` pairs. Parts of a block outside the image are blank.
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 2:
        raise BandprintError(f"expected one 2-D image, got shape {img.shape}")
    lo_img, hi_img = float(image_window[0]), float(image_window[1])
    if not lo_img < hi_img:
        raise BandprintError(f"image window {image_window} must be (low, high), low < high")
    edges = strip_edges(window, strip_width)
    pairs = _segment_pairs(x_bounds)
    height, width = img.shape
    ctx = CONTEXT * strip_width
    row_of = height / (hi_img - lo_img)
    t = torch.from_numpy(img)
    out = np.zeros((len(edges) - 1, len(pairs), *BLOCK_SHAPE), dtype=np.float32)
    for i in range(len(edges) - 1):
        r0 = math.floor((hi_img - (edges[i] + ctx)) * row_of + 1e-6)
        r1 = math.ceil((hi_img - (edges[i + 1] - ctx)) * row_of - 1e-6)
        for j, (x0, x1) in enumerate(pairs):
            c0 = max(0, min(width - 1, math.floor(x0)))
            c1 = max(c0 + 1, min(width, math.ceil(x1)))
            crop = torch.zeros((max(r1 - r0, 1), c1 - c0))
            a, b = max(r0, 0), min(r1, height)
            if b > a:
                crop[a - r0 : b - r0] = t[a:b, c0:c1]
            pooled = F.adaptive_avg_pool2d(crop[None, None], BLOCK_SHAPE)
            out[i, j] = pooled[0, 0].numpy()
    return out


def render_for_blocks(
    bs: BandStructure,
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    variant: RenderVariant = RENDER_VARIANTS[0],
) -> tuple[np.ndarray, tuple[float, float], np.ndarray]:
    """``(image, image_window, segment column pairs)`` of ``bs`` drawn for ``cut_blocks``.

    Only the segments the eigenvalue detector judges (``judged_segments``) get a pair; the
    pairs are ``[0, 2]`` when there is none (no labelled path).
    """
    edges = strip_edges(window, strip_width)
    n = len(edges) - 1
    if variant.rows_per_strip is not None:
        ctx = CONTEXT * strip_width
        # Large windows get fewer rows per strip so the picture stays ≤ 1024 px.
        rows = min(variant.rows_per_strip, int(1024 / (n + 2 * CONTEXT)))
        size = max(16, round(rows * (n + 2 * CONTEXT)))
        image_window = (float(edges[-1] - ctx), float(edges[0] + ctx))
    else:
        size = int(variant.size or 224)
        hw = float(variant.half_window or 4.0)
        image_window = (-hw, hw)
    image = render_band_image(
        bs,
        size=size,
        window=image_window,
        x_axis=variant.x_axis,  # type: ignore[arg-type]
        line_width=variant.line_width,
        # Strips are energies about E_F and the column pairs below come from bs's own segment
        # order, so the picture must keep both (the fingerprint's canonical path and mid-gap
        # reference would move the bands away from the blocks cut for them).
        canonical_path=False,
        energy_reference="fermi",
    )
    xs = path_x(bs, variant.x_axis)  # type: ignore[arg-type]
    scale = (size - 1) / float(xs[-1][-1])
    keep, _ = judged_segments(bs)
    pairs = np.array(
        [(xs[i][0] * scale + 0.5, xs[i][-1] * scale + 0.5) for i in keep], dtype=np.float64
    ).reshape(-1, 2)
    return image, image_window, pairs


def band_structure_blocks(
    bs: BandStructure,
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    variant: RenderVariant = RENDER_VARIANTS[0],
) -> np.ndarray:
    """Blocks ``[strip, segment, *BLOCK_SHAPE]`` of a band structure (already in-plane), one
    column per judged segment (none when the path is not analysable)."""
    if not judged_segments(bs)[0]:
        n_strips = len(strip_edges(window, strip_width)) - 1
        return np.zeros((n_strips, 0, *BLOCK_SHAPE), dtype=np.float32)
    image, image_window, pairs = render_for_blocks(bs, window, strip_width, variant)
    return cut_blocks(image, pairs, image_window, window, strip_width)


@torch.no_grad()
def predict_blocks(model: FlatBandCNN, blocks: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Flat-band probability of every block; ``blocks`` is ``[..., *BLOCK_SHAPE]``."""
    shape = blocks.shape[:-2]
    flat = torch.from_numpy(np.ascontiguousarray(blocks, dtype=np.float32)).reshape(
        -1, 1, *BLOCK_SHAPE
    )
    model.eval()
    out = [torch.sigmoid(model(flat[i : i + batch_size])) for i in range(0, len(flat), batch_size)]
    probs = torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)
    return probs.reshape(shape).astype(np.float64)


def _result_from_probs(
    probs: np.ndarray,
    material_id: str,
    formula: str | None,
    window: tuple[float, float],
    strip_width: float,
    segment_names: list[str],
    dropped: list[str],
    notes: list[str],
    model: FlatBandCNN,
) -> FlatBandResult:
    edges = strip_edges(window, strip_width)
    flat = probs >= 0.5
    plane: list[tuple[float, float]] = []
    if probs.shape[1]:
        for i in np.flatnonzero(flat.all(axis=1)):
            plane.append((float((edges[i] + edges[i + 1]) / 2), math.nan))
    nan = np.full(probs.shape, np.nan)
    return FlatBandResult(
        material_id=material_id,
        formula=formula,
        detector="image",
        window=(float(edges[-1]), float(edges[0])),
        strip_width=float(strip_width),
        threshold=float(model.info.get("label_threshold", math.nan)),
        segment_names=segment_names,
        block_score=probs,
        block_flat=flat,
        block_bandwidth=nan,
        block_energy=nan.copy(),
        plane_levels=plane,
        path_bandwidth=math.nan,
        dropped_segments=dropped,
        notes=notes,
    )


def detect_flat_bands_image(
    bs: BandStructure,
    model: FlatBandCNN | None = None,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    in_plane: bool | None = None,
) -> FlatBandResult:
    """Flat blocks of ``bs`` seen by the CNN in its picture (out-of-plane segments dropped for
    2-D materials, short segments left out and unlabelled paths not analysed, as the
    eigenvalue detector does)."""
    model = model or load_flatband_cnn()
    prepared = _prepared(bs, in_plane, window, strip_width)
    return prepared.result(predict_blocks(model, prepared.blocks), window, strip_width, model)


class _Prepared(NamedTuple):
    """A band structure cut into the CNN's blocks, with what its result reports besides."""

    bs: BandStructure
    blocks: np.ndarray  # [strips, judged segments, *BLOCK_SHAPE]
    names: list[str]  # the judged segments
    dropped: list[str]
    notes: list[str]

    def result(
        self,
        probs: np.ndarray,
        window: tuple[float, float],
        strip_width: float,
        model: FlatBandCNN,
    ) -> FlatBandResult:
        """The result from the CNN's probabilities ``probs`` ``[strips, segments]``."""
        return _result_from_probs(
            probs,
            self.bs.material_id,
            self.bs.formula,
            window,
            strip_width,
            self.names,
            self.dropped,
            self.notes,
            model,
        )


def _prepared(
    bs: BandStructure, in_plane: bool | None, window: tuple[float, float], strip_width: float
) -> _Prepared:
    work, dropped, notes = analysed_band_structure(bs, in_plane)
    keep, seg_notes = judged_segments(work)
    names = [work.segments[i].name for i in keep]
    blocks = band_structure_blocks(work, window, strip_width)
    return _Prepared(bs, blocks, names, dropped, notes + seg_notes)


def iter_detect_flat_bands_image(
    band_structures: Iterable[BandStructure],
    model: FlatBandCNN | None = None,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    in_plane: bool | None = None,
    batch_materials: int = 64,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[FlatBandResult]:
    """``detect_flat_bands_image`` over many band structures, the blocks of
    ``batch_materials`` at a time in one forward pass (much faster than one by one).
    A band structure that cannot be drawn is reported to ``on_error(id, reason)`` and skipped.
    """
    model = model or load_flatband_cnn()
    pending: list[_Prepared] = []

    def flush() -> Iterator[FlatBandResult]:
        if not pending:
            return
        probs = predict_blocks(
            model, np.concatenate([p.blocks.reshape(-1, *BLOCK_SHAPE) for p in pending])
        )
        start = 0
        for p in pending:
            shape = p.blocks.shape[:2]
            n = shape[0] * shape[1]
            yield p.result(probs[start : start + n].reshape(shape), window, strip_width, model)
            start += n
        pending.clear()

    for bs in band_structures:
        try:
            pending.append(_prepared(bs, in_plane, window, strip_width))
        except BandprintError as exc:
            if on_error is None:
                raise
            on_error(bs.material_id, str(exc))
            continue
        if len(pending) >= batch_materials:
            yield from flush()
    yield from flush()


def detect_flat_bands_in_image(
    image: np.ndarray,
    x_bounds: Sequence[float] | Sequence[tuple[float, float]],
    image_window: tuple[float, float],
    model: FlatBandCNN | None = None,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    segment_names: Sequence[str] | None = None,
    material_id: str = "image",
) -> FlatBandResult:
    """Flat blocks of a bare band image: no eigenvalues needed.

    ``image`` has 1 where a band passes (``load_band_image`` turns a picture into that),
    row 0 at the top of ``image_window`` (eV from E_F); ``x_bounds`` gives the segments' pixel
    columns (``n + 1`` boundaries or ``n`` pairs). The picture should span the whole strip
    window; strips it does not cover come out blank, so not flat.
    """
    model = model or load_flatband_cnn()
    blocks = cut_blocks(image, x_bounds, image_window, window, strip_width)
    n = blocks.shape[1]
    names = [f"segment {i + 1}" for i in range(n)] if segment_names is None else list(segment_names)
    if len(names) != n:
        raise BandprintError(f"{len(names)} segment names for {n} segments")
    return _result_from_probs(
        predict_blocks(model, blocks), material_id, None, window, strip_width, names, [], [], model
    )


def load_band_image(path: str | Path, dark_bands: bool = True) -> np.ndarray:
    """A picture file as a 0/1 band image: grey level binarised at half scale (bands dark on a
    light background unless ``dark_bands=False``). Axes and labels should be cropped away."""
    from PIL import Image, UnidentifiedImageError

    try:
        grey = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError) as exc:
        raise BandprintError(f"{path}: not a readable image ({exc})") from None
    return ((grey < 0.5) if dark_bands else (grey >= 0.5)).astype(np.uint8)


__all__ = [
    "BLOCK_SHAPE",
    "CONTEXT",
    "DEFAULT_MODEL_PATH",
    "RENDER_VARIANTS",
    "FlatBandCNN",
    "RenderVariant",
    "band_structure_blocks",
    "cut_blocks",
    "detect_flat_bands_image",
    "detect_flat_bands_in_image",
    "iter_detect_flat_bands_image",
    "load_band_image",
    "load_flatband_cnn",
    "predict_blocks",
    "render_for_blocks",
    "save_flatband_cnn",
]
