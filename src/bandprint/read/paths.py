"""Path segments and distances for readers that know where each line of the k-path ends.

Codes that compute a path line by line (VASP line mode, FHI-aims ``output band``, SIESTA
``BandLines``) say how many k-points each line has. Splitting by those counts is exact even
where labels alone are ambiguous: a line of only its two labelled end points looks, label by
label, like a repeated point or a jump.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bandprint.bandstructure import Segment, path_distances, segments_from_labels
from bandprint.errors import BandprintError


def segments_from_sizes(sizes: Sequence[int], labels: Sequence[str | None]) -> list[Segment]:
    """Consecutive segments of ``sizes`` k-points each, labelled from their end k-points."""
    if sum(sizes) != len(labels):
        raise BandprintError(f"path lines hold {sum(sizes)} k-points, the bands {len(labels)}")
    segments, start = [], 0
    for n in sizes:
        if n < 2:
            raise BandprintError(f"a path line of {n} k-point(s); each needs at least 2")
        stop = start + n
        segments.append(Segment(start, stop, labels[start] or "", labels[stop - 1] or ""))
        start = stop
    return segments


def distances_from_sizes(cart_kpoints: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Cumulative path length (same units as ``cart_kpoints``), flat from one line to the next."""
    step = np.linalg.norm(np.diff(cart_kpoints, axis=0), axis=1)
    ends = np.cumsum(sizes)[:-1] - 1  # the last k-point of every line but the final one
    step[ends] = 0.0
    return np.concatenate([[0.0], np.cumsum(step)])


def path_geometry(
    cart_kpoints: np.ndarray,
    labels: Sequence[str | None],
    sizes: Sequence[int] | None = None,
) -> tuple[np.ndarray, list[Segment]]:
    """Distances and segments: by line sizes where known, otherwise from the labels alone."""
    if sizes is not None:
        return distances_from_sizes(cart_kpoints, sizes), segments_from_sizes(sizes, labels)
    segments = segments_from_labels(list(labels))
    if not segments:
        raise BandprintError("no path segment of two or more k-points")
    return path_distances(cart_kpoints, list(labels)), segments
