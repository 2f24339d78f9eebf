"""Compute band structures with DFT (GPAW), for new structures and for the corpus.

Stages: structures in (:mod:`.structures`: CIF, POSCAR, JSON, prototype tables) → a cell
ready for a 2-D or bulk calculation → GPAW in its own process (:mod:`.gpaw_worker`, run by
:mod:`.batch`: parallel, resumable, time-limited) → ``<id>.json.gz`` band structures that
``bandprint ingest`` reads. :mod:`.prototypes` and :mod:`.relax` generate the corpus's
2-D structures.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bandprint.compute.batch import (
    ComputeJob,
    ComputeSummary,
    GPAWSettings,
    compute_band_structures,
    gpaw_python,
)
from bandprint.compute.structures import prepare, read_structures
from bandprint.errors import ReadError


def compute(
    paths: Iterable[str | Path],
    out: str | Path,
    settings: GPAWSettings | None = None,
    workers: int | None = None,
    dimension: str = "auto",
    retry_failed: bool = False,
    progress: bool = True,
    engine: str = "local",
    address: str | None = None,
) -> ComputeSummary:
    """Band structures of every structure in ``paths`` (files of any supported kind) written
    to ``out``; unreadable structure files are listed as failures and the batch goes on.
    ``workers``, ``engine`` and ``address``: as ``compute_band_structures`` takes them."""
    settings = settings or GPAWSettings()
    gpaw_python()  # fail in one line before reading anything when GPAW is missing
    jobs: list[ComputeJob] = []
    unreadable: dict[str, str] = {}
    for path in paths:
        try:
            rows = read_structures(path)
        except ReadError as exc:
            unreadable[str(path)] = exc.reason
            continue
        for mid, atoms, meta in rows:
            prepared = prepare(atoms, dimension)
            meta = {**meta, "structure_file": str(path)}
            jobs.append(ComputeJob(mid, prepared, settings, meta))
    summary = compute_band_structures(
        jobs,
        out,
        workers=workers,
        retry_failed=retry_failed,
        progress=progress,
        engine=engine,
        address=address,
    )
    summary.failed.update(unreadable)
    return summary


__all__ = ["ComputeJob", "ComputeSummary", "GPAWSettings", "compute", "compute_band_structures"]
