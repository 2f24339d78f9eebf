"""Structures in, ready for a band-structure calculation: CIF, POSCAR, ASE or pymatgen JSON,
or a prototype table (JSON lines written by ``scripts/build_corpus.py``).

A structure is 2-D when exactly one lattice direction holds a vacuum gap of at least
:data:`bandprint.kpath.VACUUM_GAP` Å (the rule every stage uses); that axis is found, not
assumed.
A 2-D cell is rebuilt with the plane in x–y, the vacuum axis along z, orthogonal to the
plane, with at least :data:`~bandprint.compute.prototypes.VACUUM` Å of vacuum, and is
computed with an in-plane k-mesh and the 2-D high-symmetry path of its lattice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
from ase import Atoms

from bandprint import kpath
from bandprint.compute.prototypes import VACUUM
from bandprint.errors import ReadError


def vacuum_gaps(atoms: Atoms) -> np.ndarray:
    """:func:`bandprint.kpath.vacuum_gaps` of ASE atoms: the widest empty gap (Å) along each
    lattice vector."""
    from pymatgen.io.ase import AseAtomsAdaptor

    return kpath.vacuum_gaps(AseAtomsAdaptor.get_structure(atoms))


def vacuum_axis(atoms: Atoms, threshold: float = kpath.VACUUM_GAP) -> int | None:
    """:func:`bandprint.kpath.vacuum_axis` of ASE atoms: the slab's vacuum direction or None."""
    from pymatgen.io.ase import AseAtomsAdaptor

    return kpath.vacuum_axis(AseAtomsAdaptor.get_structure(atoms), threshold)


def as_slab(atoms: Atoms, axis: int, vacuum: float = VACUUM) -> Atoms:
    """The slab with its plane in x–y and ``vacuum`` Å of vacuum along an orthogonal z axis."""
    order = [(axis + 1) % 3, (axis + 2) % 3, axis]
    cell = atoms.cell.array[order]
    frac = atoms.get_scaled_positions(wrap=True)[:, order]
    # unwrap the slab across the periodic boundary: start just after the widest gap
    z = np.sort(frac[:, 2])
    gaps = np.diff(np.concatenate([z, z[:1] + 1.0]))
    start = z[(int(np.argmax(gaps)) + 1) % len(z)]
    frac[:, 2] = (frac[:, 2] - start) % 1.0
    a1, a2 = cell[0], cell[1]
    # rotate so a1 lies along x and the plane is x–y
    ex = a1 / np.linalg.norm(a1)
    ez = np.cross(a1, a2)
    ez /= np.linalg.norm(ez)
    ey = np.cross(ez, ex)
    rot = np.array([ex, ey, ez])
    cart = frac @ cell @ rot.T
    in_plane = np.array([rot @ a1, rot @ a2])
    thickness = cart[:, 2].max() - cart[:, 2].min()
    cart[:, 2] += vacuum / 2 - cart[:, 2].min()
    new_cell = np.array([[*in_plane[0, :2], 0], [*in_plane[1, :2], 0], [0, 0, thickness + vacuum]])
    out = Atoms(atoms.get_chemical_symbols(), positions=cart, cell=new_cell, pbc=[1, 1, 0])
    if atoms.has("initial_magmoms"):
        out.set_initial_magnetic_moments(atoms.get_initial_magnetic_moments())
    return out


def prepare(atoms: Atoms, dimension: str = "auto") -> Atoms:
    """The cell to compute: a slab (``dimension`` "2d", or "auto" with a vacuum gap) or the
    bulk cell unchanged ("bulk", or "auto" without one)."""
    if dimension not in {"auto", "2d", "bulk"}:
        raise ValueError(f"dimension must be auto, 2d or bulk, not {dimension!r}")
    if dimension == "bulk":
        out = atoms.copy()
        out.pbc = True
        return out
    if dimension == "2d":
        axis: int | None = int(np.argmax(vacuum_gaps(atoms)))
    else:
        axis = vacuum_axis(atoms)
    if axis is None:
        out = atoms.copy()
        out.pbc = True
        return out
    return as_slab(atoms, axis)


def read_structures(path: str | Path) -> list[tuple[str, Atoms, dict]]:
    """(material id, atoms, metadata) for each structure in a file: CIF, POSCAR/CONTCAR,
    ASE or pymatgen JSON, or a prototype table (``.jsonl``: one row per material with
    ``material_id``, ``symbols``, ``positions``, ``cell`` and optional ``metadata``)."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(path, "no such file")
    name = path.name.lower()
    stem = (
        path.name.split(".")[0]
        if not name.startswith(("poscar", "contcar"))
        else (path.parent.name or "structure")
    )
    try:
        if name.endswith(".jsonl"):
            rows = []
            for lineno, line in enumerate(path.read_bytes().splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                    atoms = Atoms(
                        row["symbols"],
                        positions=row["positions"],
                        cell=row["cell"],
                        pbc=row.get("pbc", True),
                    )
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise ReadError(path, f"line {lineno} is not a structure row ({exc})") from None
                rows.append((str(row["material_id"]), atoms, dict(row.get("metadata") or {})))
            return rows
        if name.endswith(".json"):
            d = orjson.loads(path.read_bytes())
            if isinstance(d, dict) and d.get("@class") == "Structure":
                from pymatgen.core import Structure
                from pymatgen.io.ase import AseAtomsAdaptor

                return [(stem, AseAtomsAdaptor.get_atoms(Structure.from_dict(d)), {})]
        from ase.io import read

        fmt = "vasp" if name.startswith(("poscar", "contcar")) or name.endswith(".vasp") else None
        atoms = read(str(path), format=fmt)
    except ReadError:
        raise
    except Exception as exc:  # ASE raises many kinds for a bad file; one line for each
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReadError(path, f"not a readable structure ({reason[:200]})") from None
    if isinstance(atoms, list):
        atoms = atoms[-1]
    if len(atoms) == 0:
        raise ReadError(path, "the structure has no atoms")
    return [(stem, atoms, {})]
