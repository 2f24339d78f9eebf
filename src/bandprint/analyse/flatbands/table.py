"""Flat bands of many materials: the ``flatbands`` table (one row per material) from either
detector. Storing it in a workspace and querying it there is ``bandprint.workflows.flatbands``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from bandprint.analyse.flatbands.core import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    TABLE_COLUMNS,
    Detector,
    FlatBandResult,
    strip_edges,
)
from bandprint.analyse.flatbands.eigen import detect_flat_bands
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError


def check_settings(
    detector: str, window: tuple[float, float], strip_width: float, bandwidth_threshold: float
) -> None:
    """Raise ``BandprintError`` for an unknown detector, a window or strip width
    ``strip_edges`` rejects, or a bandwidth threshold (eV) that is not positive: a bad option
    is one error before any work, not one per material."""
    if detector not in ("eigen", "image"):
        raise BandprintError(f"unknown flat-band detector {detector!r} (eigen or image)")
    strip_edges(window, strip_width)
    if not bandwidth_threshold > 0:
        raise BandprintError(f"bandwidth threshold must be positive, got {bandwidth_threshold}")


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})


def _iter_eigen(
    band_structures: Iterable[BandStructure],
    strip_width: float,
    window: tuple[float, float],
    bandwidth_threshold: float,
    in_plane: bool | None,
    on_error: Callable[[str, str], None] | None,
) -> Iterable[FlatBandResult]:
    for bs in band_structures:
        try:
            yield detect_flat_bands(bs, strip_width, window, bandwidth_threshold, in_plane)
        except BandprintError as exc:
            if on_error is None:
                raise
            on_error(bs.material_id, str(exc))


def flatband_table(
    band_structures: Iterable[BandStructure],
    detector: Detector = "eigen",
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    bandwidth_threshold: float = DEFAULT_BANDWIDTH_THRESHOLD,
    in_plane: bool | None = None,
    on_error: Callable[[str, str], None] | None = None,
    model: Any = None,
) -> pd.DataFrame:
    """One row per material (``TABLE_COLUMNS``), from either detector.

    A material the detector cannot handle is skipped and reported to ``on_error(id, reason)``
    (raised when ``on_error`` is None).
    ``model`` is the image detector's ``FlatBandCNN`` (default: the shipped one).
    """
    check_settings(detector, window, strip_width, bandwidth_threshold)
    if detector == "image":
        from bandprint.analyse.flatbands.cnn import iter_detect_flat_bands_image

        results: Iterable[FlatBandResult] = iter_detect_flat_bands_image(
            band_structures, model, strip_width, window, in_plane, on_error=on_error
        )
    else:
        results = _iter_eigen(
            band_structures, strip_width, window, bandwidth_threshold, in_plane, on_error
        )
    rows = [r.to_row() for r in results]
    if not rows:
        return _empty_table()
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


__all__ = ["check_settings", "flatband_table"]
