"""A 2DMatPedia download: ``db.json`` (JSON lines, one material each) and ``bands/<id>.json``."""

from __future__ import annotations

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


def read_db_json(path: str | Path) -> dict[str, dict[str, Any]]:
    """``material_id`` → row for every readable line of ``db.json``; bad lines are reported."""
    from bandprint.read.files import read_bytes

    rows: dict[str, dict[str, Any]] = {}
    for lineno, line in enumerate(read_bytes(path).splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ReadError(path, f"line {lineno} is not JSON ({exc.args[0]})") from None
        if not isinstance(row, dict) or "material_id" not in row:
            raise ReadError(path, f"line {lineno} has no material_id")
        rows[str(row["material_id"])] = row
    return rows


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
