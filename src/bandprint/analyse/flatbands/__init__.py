"""Flat bands (the flat-band genome's scheme, Bhattacharya et al., npj Comput. Mater. 9, 101
(2023)): strip × segment blocks judged flat from eigenvalues or from a picture.

Modules: ``core`` (strips, the per-material ``FlatBandResult``, the scheme's rules and the
query over a table), ``eigen`` (the eigenvalue detector), ``cnn`` (the image detector: a small
CNN on blocks of a band image; imports torch, so it is not imported here), ``training`` (how
the CNN is trained, likewise), ``table`` (the ``flatbands`` table over many materials).
Storing the table in a workspace and querying it there is ``bandprint.workflows.flatbands``.
"""

from __future__ import annotations

from bandprint.analyse.flatbands.core import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    DEFAULT_STRIP_WIDTH,
    DEFAULT_WINDOW,
    FLATBANDS_TABLE,
    MIN_SEGMENT_KPOINTS,
    TABLE_COLUMNS,
    FlatBandResult,
    block_score_from_bandwidth,
    query_materials,
    strip_edges,
    strip_of,
)
from bandprint.analyse.flatbands.eigen import (
    analysed_band_structure,
    detect_flat_bands,
    judged_segments,
)
from bandprint.analyse.flatbands.table import check_settings, flatband_table

__all__ = [
    "DEFAULT_BANDWIDTH_THRESHOLD",
    "DEFAULT_STRIP_WIDTH",
    "DEFAULT_WINDOW",
    "FLATBANDS_TABLE",
    "MIN_SEGMENT_KPOINTS",
    "TABLE_COLUMNS",
    "FlatBandResult",
    "analysed_band_structure",
    "block_score_from_bandwidth",
    "check_settings",
    "detect_flat_bands",
    "flatband_table",
    "judged_segments",
    "query_materials",
    "strip_edges",
    "strip_of",
]
