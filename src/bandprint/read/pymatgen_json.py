"""pymatgen ``BandStructureSymmLine`` dictionaries: Materials Project, 2DMatPedia, matminer.

A file holds one such dictionary, or Materials Project documents as the database stores them:
a task document (``{"task_id": "mp-149", "data": {…band structure…}}``) or a list of them (or a
list of bare dictionaries); each document's id is its ``task_id`` (or ``material_id``).

The arrays are read straight from the JSON (``bandstructure.band_structure_from_pymatgen_dict``):
building pymatgen objects (one ``Kpoint`` per k-point, one ``Lattice`` per ``Kpoint``) is not
needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bandprint.bandstructure import (
    PYMATGEN_FORMAT,
    BandStructure,
    band_structure_from_pymatgen_dict,
)
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import load_json, material_id_from_path

FORMAT = PYMATGEN_FORMAT


def looks_like_pymatgen_dict(d: Any) -> bool:
    return isinstance(d, dict) and "bands" in d and "kpoints" in d and "efermi" in d


def database_id(d: dict[str, Any]) -> str | None:
    """The database's own id where the dictionary carries one (Materials Project documents
    and ``mp-api`` dumps have ``material_id`` or ``task_id``, e.g. ``mp-149``)."""
    for key in ("material_id", "task_id"):
        value = d.get(key)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def _band_structure_dict(d: Any) -> dict[str, Any] | None:
    """The band-structure dictionary of a document: itself, or under ``data``/``bandstructure``."""
    if looks_like_pymatgen_dict(d):
        return d
    if isinstance(d, dict):
        for key in ("data", "bandstructure", "band_structure"):
            if looks_like_pymatgen_dict(d.get(key)):
                return d[key]
    return None


def read_pymatgen_file(
    path: str | Path, material_id: str | None = None, metadata: dict[str, Any] | None = None
) -> list[BandStructure]:
    """Every band structure in a pymatgen JSON file: one dictionary, one Materials Project task
    document, or a list of either (``.json`` or ``.json.gz``)."""
    d = load_json(path)
    if not isinstance(d, list):
        return [read_pymatgen_json(path, material_id, metadata, loaded=d)]
    if not d:
        raise ReadError(path, "an empty list: no band structure in it")
    stem = material_id_from_path(path)
    out = []
    for i, doc in enumerate(d):
        mid = database_id(doc) if isinstance(doc, dict) else None
        out.append(
            read_pymatgen_json(path, mid or f"{stem}-{i + 1}", metadata, loaded=doc, index=i)
        )
    ids = [bs.material_id for bs in out]
    if len(set(ids)) != len(ids):
        raise ReadError(
            path, f"documents share an id: {sorted({x for x in ids if ids.count(x) > 1})}"
        )
    return out


def read_pymatgen_json(
    path: str | Path,
    material_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    loaded: Any = None,
    index: int | None = None,
) -> BandStructure:
    """Read one pymatgen band-structure JSON file (``.json`` or ``.json.gz``), or one task
    document of it (``loaded``, the ``index``-th of a list)."""
    doc = load_json(path) if loaded is None else loaded
    d = _band_structure_dict(doc)
    where = "" if index is None else f"document {index + 1}: "
    if d is None:
        raise ReadError(
            path, f"{where}not a pymatgen band structure (no 'bands', 'kpoints', 'efermi')"
        )
    ids = (database_id(doc) if isinstance(doc, dict) else None) or database_id(d)
    try:
        return band_structure_from_pymatgen_dict(
            d,
            material_id=material_id or ids or material_id_from_path(path),
            source=str(path),
            metadata=metadata,
        )
    except BandprintError as exc:
        raise ReadError(path, f"{where}{exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ReadError(path, f"{where}malformed pymatgen band structure: {exc!r}") from None
