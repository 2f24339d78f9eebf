"""The eigenvalue flat-band detector: a flat level per strip × segment block, searched in each
spin channel (the scheme and its thresholds: ``bandprint.analyse.flatbands.core``)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from bandprint.analyse.flatbands.core import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    MIN_SEGMENT_KPOINTS,
    FlatBandResult,
    block_score_from_bandwidth,
    strip_edges,
    strip_of,
)
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    pass


# -- the eigenvalue detector ----------------------------------------------------------------
def analysed_band_structure(
    bs: BandStructure, in_plane: bool | None = None
) -> tuple[BandStructure, list[str], list[str]]:
    """The band structure the detectors look at: out-of-plane segments dropped for 2-D materials.

    ``in_plane=None`` drops them for a slab (``kpath.slab_axis``: the reader's 2-D flag, else a
    vacuum gap in the structure; the out-of-plane axis is the vacuum's); ``True`` always (error
    without k-points), ``False`` never. Returns ``(bs, dropped segment names, notes)``.
    """
    from bandprint.kpath import slab_axis

    axis = slab_axis(bs, "auto" if in_plane is None else "2d")
    if in_plane is None:
        in_plane = axis is not None
        if in_plane and bs.kpoints is None:
            return bs, [], ["2-D material without k-point coordinates: all segments kept"]
    if not in_plane or axis is None:
        return bs, [], []
    dropped = bs.out_of_plane_segments(axis)
    names = [bs.segments[i].name for i in dropped]
    return bs.in_plane(axis), names, []


def judged_segments(
    bs: BandStructure, min_kpoints: int = MIN_SEGMENT_KPOINTS
) -> tuple[list[int], list[str]]:
    """Indices of the segments of ``bs`` the detectors judge, and notes on what was left out.

    No segment when the path has no labelled k-point at all (a k-point grid, path ``?–?``:
    flatness along a path is undefined there); otherwise the segments of at least
    ``min_kpoints`` k-points. An empty list means the band structure is not analysable; the
    notes say why.
    """
    if not any(s.start_label or s.end_label for s in bs.segments):
        return [], [
            f"not analysed: no labelled high-symmetry path (path {bs.path_string}, "
            f"{bs.nkpoints} unlabelled k-points); flatness along a path is undefined"
        ]
    keep = [i for i, s in enumerate(bs.segments) if s.stop - s.start >= min_kpoints]
    short = [s for s in bs.segments if s.stop - s.start < min_kpoints]
    notes = []
    if short:
        listed = ", ".join(f"{s.name} ({s.stop - s.start})" for s in short)
        notes.append(f"segments with fewer than {min_kpoints} k-points left out: {listed}")
    if not keep:
        notes.append(
            f"not analysed: no path segment has {min_kpoints} or more k-points to judge flatness on"
        )
    return keep, notes


def _nearest_eigenvalues(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``out[k, q]``: the eigenvalue of row ``k`` (sorted ascending) nearest ``query[k, q]``."""
    nk, nb = rows.shape
    base = min(float(rows.min()), float(query.min()))
    span = max(float(rows.max()), float(query.max())) - base + 1.0
    # One searchsorted over all rows: row k is shifted into its own interval [k·span, …).
    offsets = (np.arange(nk, dtype=np.float64) * span)[:, None]
    flat = (rows - base + offsets).ravel()
    q = query - base + offsets
    idx = np.searchsorted(flat, q.ravel()).reshape(q.shape)
    first = (np.arange(nk) * nb)[:, None]
    below = np.clip(idx - 1, first, first + nb - 1)
    above = np.clip(idx, first, first + nb - 1)
    take_above = np.abs(flat[above] - q) < np.abs(flat[below] - q)
    return np.where(take_above, flat[above], flat[below]) - offsets + base


def _levels(
    rows: np.ndarray, grid: np.ndarray, f: np.ndarray, max_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate flat levels of a set of k-points: ``(mean energies, bandwidths)``.

    ``rows`` is ``[k, band]`` (sorted, relative to E_F) and ``f`` on ``grid`` is
    ``max_k min_b |E_kb − E|``. A level is a local minimum of ``f`` (no wider than
    ``max_width``); its eigenvalues (nearest the centre at each k) are re-centred twice at their
    midpoint, which never widens them and removes the grid error.
    """
    left = np.concatenate([[np.inf], f[:-1]])
    right = np.concatenate([f[1:], [np.inf]])
    minima = np.flatnonzero((f <= left) & (f < right) & (2 * f <= max_width))
    if minima.size == 0:
        return np.zeros(0), np.zeros(0)
    centres = grid[minima]
    for _ in range(2):
        sel = _nearest_eigenvalues(rows, np.broadcast_to(centres, (rows.shape[0], centres.size)))
        centres = (sel.max(axis=0) + sel.min(axis=0)) / 2
    sel = _nearest_eigenvalues(rows, np.broadcast_to(centres, (rows.shape[0], centres.size)))
    return sel.mean(axis=0), sel.max(axis=0) - sel.min(axis=0)


def detect_flat_bands(
    bs: BandStructure,
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    bandwidth_threshold: float = DEFAULT_BANDWIDTH_THRESHOLD,
    in_plane: bool | None = None,
) -> FlatBandResult:
    """Flat blocks of ``bs`` from its eigenvalues (criterion: ``flatbands.core``).

    ``window`` is relative to E_F and must be a whole number of ``strip_width`` strips.
    ``in_plane``: drop out-of-plane segments (None: when ``metadata['is_2d']``). Segments of
    fewer than ``MIN_SEGMENT_KPOINTS`` k-points are not counted, and a path without labelled
    k-points is not analysed at all (``judged_segments``; ``notes`` say so).
    """
    if not bandwidth_threshold > 0:
        raise BandprintError(f"bandwidth threshold must be positive, got {bandwidth_threshold}")
    edges = strip_edges(window, strip_width)
    work, dropped, notes = analysed_band_structure(bs, in_plane)
    keep, seg_notes = judged_segments(work)
    segments = [work.segments[i] for i in keep]
    notes = notes + seg_notes
    n_strips, n_seg = len(edges) - 1, len(segments)
    bandwidth = np.full((n_strips, n_seg), np.inf)
    energy = np.full((n_strips, n_seg), np.nan)

    lo, hi = float(edges[-1]), float(edges[0])
    # Levels up to ~1 eV wide still get a (small) score; their centre may sit outside the window
    # while their mean is inside, hence the margin.
    margin = max(strip_width, 5 * bandwidth_threshold)
    # The grid only seeds the levels (they are re-centred exactly), so a twentieth of the
    # threshold is fine enough to separate any two levels that matter.
    step = bandwidth_threshold / 20
    grid = np.arange(lo - margin, hi + margin + step / 2, step)
    # Levels wider than this score below 0.01 (see block_score_from_bandwidth): not worth it.
    max_width = 10 * bandwidth_threshold
    plane: list[tuple[float, float]] = []
    path_bw = math.inf
    for spin in range(work.nspin):
        rows = np.sort(work.energies_relative[spin], axis=1)
        # Distance from every grid level to the nearest eigenvalue, at every k (once per spin).
        nearest = _nearest_eigenvalues(rows, np.broadcast_to(grid, (rows.shape[0], grid.size)))
        dist = np.abs(nearest - grid[None, :])
        for j, seg in enumerate(segments):
            f = dist[seg.start : seg.stop].max(axis=0)
            mean, width = _levels(rows[seg.start : seg.stop], grid, f, max_width)
            strip = strip_of(mean, window, strip_width)
            for m, w, s in zip(mean, width, strip, strict=True):
                if s and w < bandwidth[s - 1, j]:
                    bandwidth[s - 1, j], energy[s - 1, j] = w, m
        if segments:
            ks = np.concatenate([np.arange(s.start, s.stop) for s in segments])
            mean, width = _levels(rows[ks], grid, dist[ks].max(axis=0), max_width)
            inside = strip_of(mean, window, strip_width) > 0
            if inside.any():
                path_bw = min(path_bw, float(width[inside].min()))
            plane += [
                (float(m), float(w))
                for m, w in zip(mean[inside], width[inside], strict=True)
                if w <= bandwidth_threshold
            ]
    return FlatBandResult(
        material_id=bs.material_id,
        formula=bs.formula,
        detector="eigen",
        window=(lo, hi),
        strip_width=float(strip_width),
        threshold=float(bandwidth_threshold),
        segment_names=[s.name for s in segments],
        block_score=block_score_from_bandwidth(bandwidth, bandwidth_threshold),
        block_flat=bandwidth <= bandwidth_threshold,
        block_bandwidth=bandwidth,
        block_energy=energy,
        plane_levels=sorted(set(plane)),
        path_bandwidth=path_bw if math.isfinite(path_bw) else math.nan,
        dropped_segments=dropped,
        notes=notes,
    )
