"""Flat bands of a workspace: the ``flatbands`` table (``analyse.flatbands.flatband_table``
over every stored material) written to the workspace, and queries over the catalogue and the
stored tables (``analyse.flatbands.query_materials``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from bandprint.analyse.flatbands import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    FLATBANDS_TABLE,
    check_settings,
    flatband_table,
    query_materials,
)
from bandprint.analyse.flatbands.core import Detector
from bandprint.bandstructure import BandStructure
from bandprint.store import Workspace


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
    check_settings(detector, window, strip_width, bandwidth_threshold)  # before any work
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
    # "clusters" is ``analyse.cluster.CLUSTERS_TABLE``, named here so that a query need not
    # import the clustering code.
    clusters = ws.read_table("clusters") if criteria.get("cluster") is not None else None
    return query_materials(ws.catalog(), flat_table, clusters, **criteria)


__all__ = ["find_in_workspace", "flatband_workspace"]
