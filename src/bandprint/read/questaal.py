"""Questaal band structures: ``bnds.<ext>`` with ``syml.<ext>`` (labels), a cell and ``alat``.

``bnds.<ext>`` (``lmf --band``)::

       62  -0.01339     0          <- bands, E_F (Ry), colour weights
       70                          <- k-points on the first line of the path (twice as many
       0.00000   0.00000   0.00000     lines when spin-polarised: spin 1, spin 2 for each k)
     -1.3172 -1.2550 …             <- the k-point (Cartesian, 2π/alat), then its energies (Ry),
       …                              ten to a line
        0                          <- end

``syml.<ext>`` has one line per path line: ``n  k_start  k_end  A to B``; the labels are its
last words. The cell comes from ``POSCAR`` (Å) beside it, and ``alat`` (which the k-points are
in units of 2π over) from ``init.<ext>``/``site.<ext>``/``ctrl.<ext>`` (``ALAT``, in Bohr unless
``UNITS=A``; 1 when none states it).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import BandStructure, normalize_label, path_geometry
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import read_text
from bandprint.read.source import Source
from bandprint.read.units import BOHR, HARTREE

FORMAT = "questaal-bnds"
RYDBERG = HARTREE / 2
_NUM = re.compile(r"-?\d+\.\d+|\*{3,}")
_HEADER = re.compile(
    rb"^\s*\d+\s+-?\d*\.\d+\s+\d+\s*\n\s*\d+\s*\n\s*(-?\d+\.\d+\s+){2}-?\d+\.\d+\s*\n"
)


def looks_like_bnds(path: Path, head: bytes) -> bool:
    return path.name.startswith("bnds.") and bool(_HEADER.match(head))


def _ext(path: Path) -> str:
    return path.name.split(".", 1)[1] if "." in path.name else ""


def companions(path: Path) -> dict[str, Path | None]:
    """``syml``, ``POSCAR`` and the files stating ``alat`` beside a ``bnds`` file."""
    folder, ext = path.parent, _ext(path)
    syml = folder / f"syml.{ext}"
    if not syml.is_file():
        syml = next(iter(sorted(folder.glob("syml.*"))), None)
    poscar = folder / "POSCAR"
    alat_files = [folder / f"{n}.{ext}" for n in ("site", "init", "ctrl")]
    alat_files += sorted(folder.glob("init.*")) + sorted(folder.glob("site.*"))
    alat = next((p for p in alat_files if p.is_file()), None)
    return {
        "syml": syml if syml is not None and syml.is_file() else None,
        "POSCAR": poscar if poscar.is_file() else None,
        "alat": alat,
    }


def file_source(path: Path) -> Source:
    extra = [str(p) for p in companions(path).values() if p is not None]
    return Source(FORMAT, (str(path), *extra), bnds_material_id(path))


def bnds_material_id(path: Path) -> str:
    """The folder's name; with several ``bnds`` files in it, the folder and the extension."""
    folder = path.parent.resolve()
    if len(list(folder.glob("bnds.*"))) > 1:
        return f"{folder.name}-{_ext(path)}"
    return folder.name


def parse_bnds(path: Path) -> dict[str, Any]:
    """E_F (eV), k-points (Cartesian, 2π/alat), energies ``[spin, k, band]`` (eV), line sizes."""
    lines = [x for x in read_text(path).splitlines() if x.strip()]
    try:
        nb = int(lines[0].split()[0])
        efermi = float(lines[0].split()[1]) * RYDBERG
    except (ValueError, IndexError):
        raise ReadError(path, "line 1 is not 'bands E_F colours'") from None
    if nb < 1 or not np.isfinite(efermi):
        raise ReadError(path, f"implausible header: {nb} bands, E_F {lines[0].split()[1]}")
    rows_per_k = 1 + -(-nb // 10)
    i, sizes, kpts, energies = 1, [], [], []
    while True:
        if i >= len(lines):
            raise ReadError(path, "truncated: no final 0 line")
        try:
            nq = int(lines[i].split()[0])
        except ValueError:
            raise ReadError(
                path, f"expected a k-point count, got {lines[i].strip()[:40]!r}"
            ) from None
        i += 1
        if nq == 0:
            break
        sizes.append(nq)
        for _ in range(nq):
            block = lines[i : i + rows_per_k]
            if len(block) < rows_per_k:
                raise ReadError(path, "truncated inside a k-point block")
            k = _NUM.findall(block[0])
            e = [t for row in block[1:] for t in _NUM.findall(row)]
            if len(k) != 3 or len(e) != nb or any(t.startswith("*") for t in k + e):
                raise ReadError(path, f"k-point block at line {i + 1}: expected 3 + {nb} numbers")
            kpts.append([float(x) for x in k])
            energies.append([float(x) for x in e])
            i += rows_per_k
    if len(kpts) < 2:
        raise ReadError(path, "fewer than 2 k-points")
    return {
        "efermi": efermi,
        "kpoints": np.array(kpts),
        "energies": np.array(energies) * RYDBERG,
        "sizes": sizes,
    }


def syml_lines(path: Path) -> list[tuple[int, str, str]]:
    """``(n, start label, end label)`` of each path line of a ``syml`` file."""
    out = []
    for line in read_text(path).splitlines():
        words = line.split()
        if not words or words[0] == "0":
            break
        m = re.search(r"(\S+)\s+to\s+(\S+)\s*$", line)
        try:
            n = int(words[0])
        except ValueError:
            raise ReadError(path, f"not a syml line: {line.strip()[:60]!r}") from None
        out.append(
            (n, normalize_label(m.group(1)) if m else "", normalize_label(m.group(2)) if m else "")
        )
    return out


def alat_angstrom(path: Path | None) -> float:
    """``ALAT`` in Å from an init/site/ctrl file (Bohr unless ``UNITS=A``); 1 Bohr without one."""
    if path is None:
        return BOHR
    text = read_text(path)
    m = re.search(r"\balat\s*=\s*([-+0-9.eEdD]+)", text, re.IGNORECASE)
    value = float(m.group(1).replace("D", "E")) if m else 1.0
    units = re.search(r"\bUNITS\s*=\s*(\w+)", text)
    if not np.isfinite(value) or value <= 0:
        raise ReadError(path, f"ALAT is {value}")
    return value if units and units.group(1).upper().startswith("A") else value * BOHR


def read_bnds(
    path: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of a Questaal ``bnds`` file and the files beside it."""
    from pymatgen.io.vasp.inputs import Poscar

    path = Path(path)
    parsed = parse_bnds(path)
    found = companions(path)
    if found["POSCAR"] is None:
        raise ReadError(path, "no POSCAR beside it: the cell is needed")
    text = read_text(found["POSCAR"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # sumo writes POSCARs without the species line, naming them in the comment line
            names = text.splitlines()[0].split()
            structure = Poscar.from_str(text, default_names=names).structure
    except Exception as exc:  # pymatgen raises many types on malformed input
        raise ReadError(found["POSCAR"], f"not a readable POSCAR ({type(exc).__name__})") from None
    alat = alat_angstrom(found["alat"])
    sizes = parsed["sizes"]
    lines = syml_lines(found["syml"]) if found["syml"] is not None else []
    nk_total = sum(sizes)
    spin = 1
    if lines and [2 * n for n, *_ in lines] == sizes:
        spin = 2
    elif lines and [n for n, *_ in lines] != sizes:
        raise ReadError(
            path, f"path lines of {sizes} k-points, the syml file says {[n for n, *_ in lines]}"
        )
    kcart = parsed["kpoints"][::spin]
    energies = np.stack([parsed["energies"][s::spin] for s in range(spin)])
    sizes = [n // spin for n in sizes]
    if kcart.shape[0] != nk_total // spin:
        raise ReadError(path, "spin blocks do not pair up")
    kfrac = kcart @ structure.lattice.matrix.T / alat
    labels: list[str | None] = [None] * len(kfrac)
    start = 0
    for i, n in enumerate(sizes):
        if lines:
            labels[start], labels[start + n - 1] = lines[i][1] or None, lines[i][2] or None
        start += n
    reciprocal = 2 * np.pi * np.linalg.inv(structure.lattice.matrix).T
    try:
        distances, segments = path_geometry(kfrac @ reciprocal, labels, sizes)
        return BandStructure(
            material_id=material_id or bnds_material_id(path),
            energies=energies,
            efermi=parsed["efermi"] if efermi is None else float(efermi),
            distances=distances,
            segments=segments,
            kpoints=kfrac,
            reciprocal_lattice=reciprocal,
            formula=structure.composition.reduced_formula,
            source=str(path),
            source_format=FORMAT,
            structure=structure,
            metadata={
                "code": "Questaal",
                "efermi_source": "given" if efermi is not None else "bnds",
            },
        )
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None


def read_bnds_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects (registered in ``bandprint.read``)."""
    return [read_bnds(source.paths[0], source.options.get("efermi"), source.material_id)]
