"""Flat bands of many materials: the ``flatbands`` table from either detector, stored in a
workspace and queried there."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from bandprint.analyse.flatbands.core import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    FLATBANDS_TABLE,
    TABLE_COLUMNS,
    Detector,
    FlatBandResult,
    query_materials,
    strip_edges,
)
from bandprint.analyse.flatbands.eigen import detect_flat_bands
from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from bandprint.store import Workspace


# -- many materials -------------------------------------------------------------------------
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
    if detector not in ("eigen", "image"):
        raise BandprintError(f"unknown flat-band detector {detector!r} (eigen or image)")
    # Validate settings once, up front, so a bad option is one error rather than one per row.
    strip_edges(window, strip_width)
    if not bandwidth_threshold > 0:
        raise BandprintError(f"bandwidth threshold must be positive, got {bandwidth_threshold}")
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


def flatband_workspace(
    ws: Workspace,
    detector: Detector = "eigen",
    strip_width: float = DEFAULT_STRIP_WIDTH,
    window: tuple[float, float] = DEFAULT_WINDOW,
    bandwidth_threshold: float = DEFAULT_BANDWIDTH_THRESHOLD,
    in_plane: bool | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Detect flat bands of every material in ``ws`` and store the ``flatbands`` table.

    Returns ``(table, errors)``; ``errors`` lists ``(material_id, reason)`` of skipped ones.
    The table's meta records the detector and its settings.
    """
    strip_edges(window, strip_width)  # bad settings fail before any work starts
    if detector not in ("eigen", "image"):
        raise BandprintError(f"unknown flat-band detector {detector!r} (eigen or image)")
    if not bandwidth_threshold > 0:
        raise BandprintError(f"bandwidth threshold must be positive, got {bandwidth_threshold}")
    errors: list[tuple[str, str]] = []
    items: Iterable[BandStructure] = ws.iter_band_structures(with_structure=False)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, total=len(ws), desc="flat bands", unit="material")
    model = None
    if detector == "image":
        from bandprint.analyse.flatbands.cnn import load_flatband_cnn

        model = load_flatband_cnn()
    df = flatband_table(
        items,
        detector=detector,
        strip_width=strip_width,
        window=window,
        bandwidth_threshold=bandwidth_threshold,
        in_plane=in_plane,
        on_error=lambda mid, reason: errors.append((mid, reason)),
        model=model,
    )
    meta: dict[str, Any] = {
        "detector": detector,
        "window": list(window),
        "strip_width": strip_width,
        "bandwidth_threshold": bandwidth_threshold if detector == "eigen" else None,
        "in_plane": "auto" if in_plane is None else in_plane,
        "n_materials": len(df),
        "errors": [{"material_id": m, "reason": r} for m, r in errors],
    }
    if model is not None:
        meta["model"] = model.info
    ws.write_table(FLATBANDS_TABLE, df, meta)
    return df, errors


def find_in_workspace(ws: Workspace, **criteria: Any) -> pd.DataFrame:
    """``query_materials`` over a workspace's catalog and its stored tables.

    Raises ``BandprintError`` naming the command to run when a needed table is missing.
    """
    strips = criteria.get("strips")
    needs_flat = (
        criteria.get("flat") is not None or criteria.get("plane_flat") is not None or strips
    )
    flat_table = ws.read_table(FLATBANDS_TABLE) if needs_flat else None
    clusters = ws.read_table("clusters") if criteria.get("cluster") is not None else None
    return query_materials(ws.catalog(), flat_table, clusters, **criteria)
