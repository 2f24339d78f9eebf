"""pymatgen ``BandStructureSymmLine`` dictionaries: Materials Project, 2DMatPedia, matminer.

A file holds one such dictionary, or Materials Project documents as the database stores them:
a task document (``{"task_id": "mp-149", "data": {…band structure…}}``) or a list of them (or a
list of bare dictionaries); each document's id is its ``task_id`` (or ``material_id``).

The arrays are read straight from the JSON. Building pymatgen objects (one ``Kpoint`` per
k-point, one ``Lattice`` per ``Kpoint``) costs orders of magnitude more and is not needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import LABEL_TOLERANCE, BandStructure, normalize_label
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import load_json, material_id_from_path
from bandprint.read.paths import path_geometry

FORMAT = "pymatgen-json"


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


def band_structure_from_pymatgen_dict(
    d: dict[str, Any],
    material_id: str,
    source: str | None,
    metadata: dict[str, Any] | None = None,
    segment_sizes: list[int] | None = None,
) -> BandStructure:
    """The canonical band structure from a ``BandStructureSymmLine.as_dict()`` dictionary.

    Path segments are rebuilt from ``labels_dict`` and the k-points, never from ``branches``;
    ``segment_sizes`` (k-points per path line, when the caller knows them) split the path instead.
    """
    kpoints = np.asarray(d["kpoints"], dtype=np.float64)
    if kpoints.ndim != 2 or kpoints.shape[1] != 3:
        raise BandprintError(f"k-points have shape {kpoints.shape}, expected (n, 3)")
    nk = kpoints.shape[0]
    bands = d["bands"]
    spins = [k for k in ("1", "-1", "Spin.up", "Spin.down") if k in bands]
    if not spins:
        raise BandprintError(f"no spin channel in 'bands' (keys {sorted(bands)})")
    arrays = [np.asarray(bands[s], dtype=np.float64) for s in spins]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise BandprintError(f"bands arrays have shapes {sorted(shapes)}, expected (nbands, nk)")
    if arrays[0].shape[1] != nk:
        raise BandprintError(f"bands have {arrays[0].shape[1]} k-points but kpoints has {nk}")
    energies = np.stack([a.T for a in arrays])

    lattice = d.get("lattice_rec") or {}
    matrix = np.asarray(lattice["matrix"] if isinstance(lattice, dict) else lattice, dtype=float)
    if matrix.shape != (3, 3):
        raise BandprintError(f"reciprocal lattice has shape {matrix.shape}, expected (3, 3)")

    labels = _kpoint_labels(kpoints, d.get("labels_dict") or {})
    distances, segments = path_geometry(kpoints @ matrix, labels, segment_sizes)

    structure = None
    formula = None
    if d.get("structure"):
        from pymatgen.core import Structure

        structure = Structure.from_dict(d["structure"])
        formula = structure.composition.reduced_formula
    meta = dict(metadata or {})
    return BandStructure(
        material_id=str(material_id),
        energies=energies,
        efermi=float(d["efermi"]),
        distances=distances,
        segments=segments,
        kpoints=kpoints,
        reciprocal_lattice=matrix,
        formula=meta.pop("formula", None) or formula,
        source=source,
        source_format=meta.pop("source_format", FORMAT),
        structure=structure,
        metadata=meta,
    )


def _kpoint_labels(kpoints: np.ndarray, labels_dict: dict[str, Any]) -> list[str | None]:
    """Label of each k-point, matched by fractional coordinates as pymatgen does."""
    labels: list[str | None] = [None] * len(kpoints)
    for raw, coords in labels_dict.items():
        c = coords.get("fcoords", coords.get("frac_coords")) if isinstance(coords, dict) else coords
        c = np.asarray(c, dtype=np.float64)
        hit = np.nonzero(np.linalg.norm(kpoints - c, axis=1) < LABEL_TOLERANCE)[0]
        name = normalize_label(raw)
        for i in hit:
            labels[i] = name
    return labels
