"""A 2DMatPedia download: ``db.json`` (JSON lines, one material each) and ``bands/<id>.json``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bandprint.errors import ReadError

FORMAT = "2dmatpedia"

#: db.json fields kept as metadata (the structure is kept as a pymatgen Structure instead).
METADATA_FIELDS = (
    "formula_pretty",
    "sg_number",
    "sg_symbol",
    "bandgap",
    "spacegroup",
    "discovery_process",
    "exfoliation_energy_per_atom",
    "decomposition_energy",
    "energy_per_atom",
    "total_magnetization",
    "is_gap_direct",
    "source_id",
)


def is_2dmatpedia_dir(path: Path) -> bool:
    return (
        path.is_dir()
        and (path / "bands").is_dir()
        and ((path / "db.json").is_file() or (path / "db.json.gz").is_file())
    )


def read_db_json(
    path: str | Path, on_bad_line: Callable[[str, str], None] | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """``material_id`` → row for every readable line of ``db.json``, and ``material_id`` → a
    digest of that line (so a rerun notices an edited row). A line that is not JSON or has no
    ``material_id`` is reported to ``on_bad_line(path, reason)`` and skipped; without a callback
    it raises ``ReadError``."""
    from bandprint.read.files import read_bytes

    rows: dict[str, dict[str, Any]] = {}
    digests: dict[str, str] = {}
    for lineno, line in enumerate(read_bytes(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problem = f"line {lineno} is not JSON ({exc.args[0]})"
        else:
            ok = isinstance(row, dict) and "material_id" in row
            problem = None if ok else f"line {lineno} has no material_id"
        if problem:
            if on_bad_line is None:
                raise ReadError(path, problem)
            on_bad_line(str(path), problem)
            continue
        mid = str(row["material_id"])
        rows[mid] = row
        digests[mid] = hashlib.blake2b(line, digest_size=8).hexdigest()
    return rows, digests


def metadata_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """Canonical metadata for one db.json row: database fields, formula, and the 2-D flag."""
    meta = {k: row[k] for k in METADATA_FIELDS if k in row}
    meta["database"] = "2DMatPedia"
    meta["is_2d"] = True
    if row.get("formula_pretty"):
        meta["formula"] = row["formula_pretty"]
    if row.get("structure"):
        meta["structure"] = row["structure"]
    return meta
