"""ASE ``BandStructure`` JSON (GPAW, ``ase band-structure``) and C2DB's ASR band-structure results.

ASE writes ``BandStructure.write("bs.json")`` through ``ase.io.jsonio``::

    {"path": {"kpts": {"__ndarray__": [[nk, 3], "float64", [...]]},
              "special_points": {"G": {"__ndarray__": ...}, "X": ...},
              "labelseq": "GXWK,UL",
              "cell": {"array": {"__ndarray__": [[3, 3], ...]}, "__ase_objtype__": "cell"},
              "__ase_objtype__": "bandpath"},
     "energies": {"__ndarray__": [[nspin, nk, nbands], "float64", [...]]},
     "reference": 5.12,                              <- the Fermi level for GPAW's band_structure()
     "__ase_objtype__": "bandstructure"}

C2DB's ASR recipe ``asr.bandstructure`` stores two such dictionaries, ``bs_nosoc`` and ``bs_soc``,
each with an added ``"efermi"``, inside an ASR result: ``{"object_id": …, "constructor": …,
"args": [], "kwargs": {"data": {"bs_soc": …, "bs_nosoc": …}, "metadata": …}}`` (older files keep
the data at the top level next to ``"__asr_name__"``). A whole C2DB row exported as one JSON maps
each of the material's files to its content (``{"results-asr.bandstructure.json": …,
"results-asr.database.material_fingerprint.json": …, "structure.json": …}``); the band structure,
uid and structure are taken from those entries. ``bs_nosoc["energies"]`` is
``[spin, k, band]``; ``bs_soc["energies"]`` is ``e_km.T``, i.e. ``[band, k]`` (one spinor channel),
and may be single precision.

Labels are the special points of the path found among the k-points, as
``BandPath.get_linear_kpoint_axis`` finds them (all special points, within 1e-5 in fractional
coordinates). The reciprocal lattice is ``2π · cell.reciprocal()`` (ASE's ``reciprocal()`` omits
2π; pymatgen's convention, used here, includes it), so the distances equal the x axis ASE itself
plots (``get_linear_kpoint_axis``, which converts with 2π).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import (
    BandStructure,
    normalize_label,
    path_distances,
    segments_from_labels,
)
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import load_json, material_id_from_path

FORMAT_ASE = "ase-bandstructure"
FORMAT_C2DB = "c2db"
C2DB_FILENAME = "results-asr.bandstructure.json"

#: ASE's tolerance for finding special points among the k-points.
SPECIAL_POINT_EPS = 1e-5
#: File stems that name the kind of file, not the material: the folder names it instead.
GENERIC_STEMS = frozenset(
    {"bs", "band", "bands", "bandstructure", "band_structure", "band-structure", "results"}
)

_ASE_START = re.compile(rb'^\s*\{\s*"path"\s*:\s*\{')


def looks_like_c2db(head: bytes) -> bool:
    return b'"bs_nosoc"' in head or b'"bs_soc"' in head


def looks_like_ase(head: bytes) -> bool:
    return bool(
        _ASE_START.match(head)
        or b'"__ase_objtype__": "bandstructure"' in head
        or b'"__ase_objtype__":"bandstructure"' in head
    )


def decode_array(obj: Any, what: str) -> np.ndarray:
    """An array as ``ase.io.jsonio`` writes it (``{"__ndarray__": [shape, dtype, flat]}``) or a
    plain nested list."""
    if isinstance(obj, dict) and "__ndarray__" in obj:
        try:
            shape, _dtype, flat = obj["__ndarray__"]
            return np.asarray(flat, dtype=np.float64).reshape(shape)
        except (ValueError, TypeError) as exc:
            raise BandprintError(f"{what}: malformed __ndarray__ ({exc})") from None
    if isinstance(obj, dict):
        raise BandprintError(f"{what}: expected an array, got an object with keys {sorted(obj)}")
    try:
        return np.asarray(obj, dtype=np.float64)
    except (ValueError, TypeError):
        raise BandprintError(f"{what}: not a numeric array") from None


def _cell(obj: Any, out_of_plane: np.ndarray | None = None) -> np.ndarray:
    """The path's cell. ASE writes a 2-D cell (C2DB) with a zero third vector; that is completed
    with ``out_of_plane`` (the structure's third vector) or else the unit normal, which leaves
    the in-plane reciprocal vectors, and so every path distance, unchanged."""
    if isinstance(obj, dict) and "array" in obj:
        obj = obj["array"]
    cell = decode_array(obj, "path cell")
    if cell.shape != (3, 3):
        raise BandprintError(f"path cell has shape {cell.shape}, expected (3, 3)")
    normal = np.cross(cell[0], cell[1])
    if not cell[2].any() and np.linalg.norm(normal) > 1e-12:
        cell = cell.copy()
        cell[2] = out_of_plane if out_of_plane is not None else normal / np.linalg.norm(normal)
    if abs(np.linalg.det(cell)) < 1e-12:
        raise BandprintError("path cell has zero volume")
    return cell


def special_point_labels(
    kpts: np.ndarray, special_points: dict[str, np.ndarray]
) -> list[str | None]:
    """The special-point label of each k-point, or None (``BandPath``'s own rule)."""
    labels: list[str | None] = [None] * len(kpts)
    for name, point in special_points.items():
        dist = np.linalg.norm(kpts - point[None, :], axis=1)
        for i in np.nonzero(dist < SPECIAL_POINT_EPS)[0]:
            neighbours = dist[max(i - 1, 0) : i + 2]
            if not (neighbours < dist[i]).any():
                labels[i] = normalize_label(name)
    return labels


def band_structure_from_ase_dict(
    d: dict[str, Any],
    material_id: str,
    source: str | None,
    efermi: float | None = None,
    metadata: dict[str, Any] | None = None,
    energies_band_k: bool = False,
    out_of_plane: np.ndarray | None = None,
) -> BandStructure:
    """The canonical band structure from a ``BandStructure.todict()``-style dictionary.

    ``energies_band_k``: energies are ``[band, k]`` (C2DB's ``bs_soc``) instead of
    ``[spin, k, band]``. ``out_of_plane``: the cell's third vector where a 2-D path cell has none.
    """
    path = d.get("path")
    if not isinstance(path, dict) or "kpts" not in path:
        raise BandprintError("no 'path' with 'kpts' (not an ASE band structure)")
    kpts = decode_array(path["kpts"], "path kpts")
    if kpts.ndim != 2 or kpts.shape[1] != 3:
        raise BandprintError(f"path kpts have shape {kpts.shape}, expected (n, 3)")
    nk = kpts.shape[0]
    cell = _cell(path.get("cell"), out_of_plane)
    raw_special = path.get("special_points") or {}
    if not isinstance(raw_special, dict):
        raise BandprintError("special_points is not a mapping")
    special = {str(k): decode_array(v, f"special point {k}") for k, v in raw_special.items()}
    for name, point in special.items():
        if point.shape != (3,):
            raise BandprintError(f"special point {name} has shape {point.shape}, expected (3,)")

    if "energies" not in d:
        raise BandprintError("no 'energies'")
    energies = decode_array(d["energies"], "energies")
    if energies_band_k:
        if energies.ndim != 2 or energies.shape[1] != nk:
            raise BandprintError(f"energies have shape {energies.shape}, expected (bands, {nk})")
        energies = energies.T[None, :, :]
    elif energies.ndim != 3 or energies.shape[1] != nk:
        raise BandprintError(f"energies have shape {energies.shape}, expected (spin, {nk}, bands)")

    meta = dict(metadata or {})
    if efermi is not None:
        meta.setdefault("efermi_source", "given")
    elif d.get("efermi") is not None:
        efermi = d["efermi"]
        meta.setdefault("efermi_source", "efermi")
    elif d.get("reference") is not None:
        efermi = d["reference"]
        meta.setdefault("efermi_source", "reference")
    else:
        raise BandprintError("no Fermi level ('efermi' or 'reference'); give efermi=<eV>")
    try:
        efermi = float(efermi)
    except (TypeError, ValueError):
        raise BandprintError(f"Fermi level is not a number: {efermi!r}") from None

    labels = special_point_labels(kpts, special)
    reciprocal = 2 * np.pi * np.linalg.inv(cell).T
    segments = segments_from_labels(labels)
    if not segments:
        raise BandprintError("no path segment of two or more k-points")
    if isinstance(path.get("labelseq"), str):
        meta.setdefault("ase_path", path["labelseq"])
    return BandStructure(
        material_id=str(material_id),
        energies=energies,
        efermi=efermi,
        distances=path_distances(kpts @ reciprocal, labels),
        segments=segments,
        kpoints=kpts,
        reciprocal_lattice=reciprocal,
        formula=meta.pop("formula", None),
        source=source,
        source_format=meta.pop("source_format", FORMAT_ASE),
        metadata=meta,
    )


def read_ase_json(
    path: str | Path, material_id: str | None = None, efermi: float | None = None
) -> BandStructure:
    """Read a JSON file written by ASE's ``BandStructure.write`` (or GPAW)."""
    path = Path(path)
    d = load_json(path)
    if not isinstance(d, dict):
        raise ReadError(path, "not an ASE band structure (top level is not an object)")
    mid = material_id or _stem_or_folder(path)
    try:
        return band_structure_from_ase_dict(
            d, mid, str(path), None if efermi is None else float(efermi), {"code": "ASE"}
        )
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None


def c2db_data(d: Any) -> dict[str, Any]:
    """The data dictionary of an ASR result file, new (``kwargs.data``) or old (top level)."""
    if isinstance(d, dict):
        kwargs = d.get("kwargs")
        if isinstance(kwargs, dict) and isinstance(kwargs.get("data"), dict):
            return kwargs["data"]
        if "bs_nosoc" in d or "bs_soc" in d:
            return d
    raise BandprintError("not an ASR band-structure result (no kwargs.data nor bs_nosoc)")


def read_c2db(path: str | Path, material_id: str | None = None, soc: bool = False) -> BandStructure:
    """Read C2DB's ``results-asr.bandstructure.json`` or a whole exported row: ``bs_nosoc`` or,
    with ``soc``, ``bs_soc``; the row's structure and uid go with it."""
    path = Path(path)
    d = load_json(path)
    row = d if isinstance(d, dict) and C2DB_FILENAME in d else None
    try:
        data = c2db_data(row[C2DB_FILENAME] if row else d)
        key = "bs_soc" if soc else "bs_nosoc"
        if not isinstance(data.get(key), dict):
            raise BandprintError(f"no {key!r} band structure in it")
        if row:
            uid = _uid_in(_maybe_data(row.get(_FINGERPRINT_FILE))) or _uid_in(data)
        else:
            uid = _uid_in(data) or _uid_in(d) or c2db_uid_beside(path.parent)
        mid = material_id or uid or _c2db_default_id(path)
        meta: dict[str, Any] = {
            "database": "C2DB",
            "is_2d": True,
            "code": "GPAW",
            "spin_orbit": soc,
        }
        if uid:
            meta["c2db_uid"] = uid
        structure = _structure_in_row(row) if row else None
        formula = (
            structure.composition.reduced_formula if structure else _formula_beside(path.parent)
        )
        if formula:
            meta["formula"] = formula
        bs = band_structure_from_ase_dict(
            data[key],
            mid,
            str(path),
            None,
            meta | {"source_format": FORMAT_C2DB},
            soc,
            structure.lattice.matrix[2] if structure else None,
        )
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None
    bs.structure = structure
    return bs


_FINGERPRINT_FILE = "results-asr.database.material_fingerprint.json"


def _structure_in_row(row: dict[str, Any]) -> Any:
    """The pymatgen structure of a row's ``structure.json`` (an ``ase db`` JSON), or None."""
    entry = row.get("structure.json")
    if not isinstance(entry, dict):
        return None
    import orjson
    from ase.db.row import AtomsRow
    from ase.io.jsonio import decode
    from pymatgen.io.ase import AseAtomsAdaptor

    try:
        db = decode(orjson.dumps(entry).decode())
        first = db[db["ids"][0]] if isinstance(db.get("ids"), list) and db["ids"] else db
        atoms = AtomsRow(first).toatoms()
        return AseAtomsAdaptor.get_structure(atoms)
    except Exception as exc:  # ASE and pymatgen raise many types on a malformed entry
        raise BandprintError(f"structure.json in the row is unreadable ({exc!r})") from None


def _uid_in(d: Any) -> str | None:
    if isinstance(d, dict) and isinstance(d.get("uid"), str) and d["uid"]:
        return d["uid"]
    return None


def c2db_uid_beside(folder: Path) -> str | None:
    """The C2DB uid from ASR's material fingerprint, ``info.json`` or ``data.json`` beside it."""
    for name in (_FINGERPRINT_FILE, "info.json", "data.json"):
        p = folder / name
        if not p.is_file():
            continue
        try:
            d = load_json(p)
        except ReadError:
            continue  # a sibling we only consult for the id; the band structure is still readable
        for candidate in (d, _maybe_data(d), *_db_rows(d)):
            uid = _uid_in(candidate)
            if uid:
                return uid
    return None


def _maybe_data(d: Any) -> Any:
    try:
        return c2db_data(d)
    except BandprintError:
        return None


def _db_rows(d: Any) -> list[Any]:
    """Rows of an ``ase db`` JSON export (``{"1": {…}, "ids": [1], …}``), key-value pairs too."""
    if not isinstance(d, dict) or not isinstance(d.get("ids"), list):
        return []
    rows = [d.get(str(i)) for i in d["ids"]]
    return [r for r in rows if isinstance(r, dict)] + [
        r.get("key_value_pairs") for r in rows if isinstance(r, dict)
    ]


def _formula_beside(folder: Path) -> str | None:
    """Reduced formula from ASR's ``structure.json``, when one is beside the result."""
    p = folder / "structure.json"
    if not p.is_file():
        return None
    from ase.io import read

    try:
        atoms = read(p, format="json")
    except Exception:  # an optional sibling; ASE raises many types on odd files
        return None
    if isinstance(atoms, list):
        atoms = atoms[-1] if atoms else None
    if atoms is None:
        return None
    from pymatgen.core import Composition

    return Composition(atoms.get_chemical_formula()).reduced_formula


def _c2db_default_id(path: Path) -> str:
    if path.name == C2DB_FILENAME or material_id_from_path(path).startswith("results-asr"):
        return path.resolve().parent.name
    return material_id_from_path(path)


def _stem_or_folder(path: Path) -> str:
    stem = material_id_from_path(path)
    if stem.lower() in GENERIC_STEMS:
        return path.resolve().parent.name or stem
    return stem
