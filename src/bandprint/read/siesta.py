"""SIESTA band structures: ``<SystemLabel>.bands`` with the ``.fdf`` input and ``.XV`` cell.

``.bands`` layout (SIESTA 4)::

    -5.89300246620492                      <- E_F (eV)
    0.000000000000000E+000 3.80018206581390  <- path length range (1/Bohr, 2π included)
    -14.5636169769593 160.775728292615     <- energy range
            15           2         131     <- bands, spin channels, k-points
    0.000000    -14.5636     -8.2196 …     <- path length, then bands × spins energies (eV),
                 37.6604     37.6604 …        spin 1's bands first, ten to a line
    …
           5                               <- number of labels
        0.000000   'Gamma'                 <- path length of each label
        1.158508   'H'

The path lengths and labels come from the file itself; the k-point coordinates from the
``%block BandLines`` of the ``.fdf`` (``BandLinesScale`` ``pi/a``, the default, or
``ReciprocalLatticeVectors``); the structure from ``.XV`` (Bohr), else ``.STRUCT_OUT`` (Å).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import BandStructure, normalize_label, segments_from_labels
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import read_text
from bandprint.read.source import Source
from bandprint.read.units import BOHR

FORMAT = "siesta-bands"
_HEADER_INT = re.compile(rb"^\s*\d+\s+\d+\s+\d+\s*$")
_LABEL_LINE = re.compile(r"^\s*(\S+)\s+'([^']*)'\s*$")


def looks_like_siesta_bands(head: bytes) -> bool:
    """One number, two numbers, two numbers, then ``bands spins k-points``."""
    lines = head.split(b"\n", 5)
    if len(lines) < 5:
        return False
    try:
        counts = [len(lines[i].split()) for i in range(3)]
        [float(x) for i in range(3) for x in lines[i].split()]
    except ValueError:
        return False
    return counts == [1, 2, 2] and bool(_HEADER_INT.match(lines[3]))


def _companions(path: Path) -> dict[str, Path | None]:
    folder, label = path.parent, path.name[: -len(".bands")]
    fdfs = sorted(folder.glob("*.fdf"))
    fdf = folder / f"{label}.fdf"
    if not fdf.is_file():
        fdf = next((p for p in fdfs if _fdf_label(p) == label), fdfs[0] if len(fdfs) == 1 else None)
    out: dict[str, Path | None] = {"fdf": fdf}
    for ext in ("XV", "STRUCT_OUT"):
        p = folder / f"{label}.{ext}"
        out[ext] = p if p.is_file() else None
    return out


def _fdf_label(path: Path) -> str | None:
    try:
        return _fdf_value(_fdf_text(path), "systemlabel")
    except ReadError:
        return None


def file_source(path: Path) -> Source:
    """The Source for a ``.bands`` file, with the ``.fdf``, ``.XV`` and ``.STRUCT_OUT`` beside."""
    extra = [str(p) for p in _companions(path).values() if p is not None]
    return Source(FORMAT, (str(path), *extra), path.name[: -len(".bands")] or path.stem)


# -- .bands --------------------------------------------------------------------------------
def parse_bands(path: Path) -> dict[str, Any]:
    """E_F, path lengths (1/Bohr), energies ``[spin, k, band]`` and labels of a ``.bands`` file."""
    lines = read_text(path).splitlines()
    if len(lines) < 5:
        raise ReadError(path, f"truncated: {len(lines)} lines, the header alone has 4")
    try:
        efermi = float(lines[0].split()[0])
        nb, ns, nk = (int(x) for x in lines[3].split()[:3])
    except (ValueError, IndexError):
        raise ReadError(
            path, "header lines 1 and 4 are not E_F and 'bands spins k-points'"
        ) from None
    if nb < 1 or ns not in (1, 2) or nk < 2:
        raise ReadError(path, f"implausible header: {nb} bands, {ns} spins, {nk} k-points")
    per_k = 1 + nb * ns
    tokens: list[str] = []
    i = 4
    while len(tokens) < nk * per_k:
        if i >= len(lines):
            raise ReadError(path, f"truncated: file ends before the {nk} k-points announced")
        tokens.extend(lines[i].split())
        i += 1
    if len(tokens) != nk * per_k:
        raise ReadError(path, f"line {i}: more numbers than {nk} k-points × {nb * ns} energies")
    try:
        values = np.array([float(t) for t in tokens]).reshape(nk, per_k)
    except ValueError:
        raise ReadError(path, "the energy block holds something that is not a number") from None
    if not np.isfinite(values).all() or not np.isfinite(efermi):
        raise ReadError(path, "holds NaN or infinite numbers")
    energies = values[:, 1:].reshape(nk, ns, nb).transpose(1, 0, 2)
    ticks: list[tuple[float, str]] = []
    rest = [x for x in lines[i:] if x.strip()]
    if rest:
        try:
            nlab = int(rest[0].split()[0])
        except ValueError:
            raise ReadError(
                path, f"expected the number of labels, got {rest[0].strip()!r}"
            ) from None
        if len(rest) - 1 < nlab:
            raise ReadError(path, f"truncated: {nlab} labels announced, {len(rest) - 1} present")
        for line in rest[1 : 1 + nlab]:
            m = _LABEL_LINE.match(line)
            if m is None:
                raise ReadError(path, f"not a label line: {line.strip()[:60]!r}")
            ticks.append((float(m.group(1)), normalize_label(m.group(2))))
    return {"efermi": efermi, "path": values[:, 0], "energies": energies, "ticks": ticks}


def tick_labels(path_lengths: np.ndarray, ticks: list[tuple[float, str]]) -> list[str | None]:
    """The label of each k-point at a labelled tick's path length (printed to 6 decimals)."""
    labels: list[str | None] = [None] * len(path_lengths)
    for x, name in ticks:
        hit = np.nonzero(np.abs(path_lengths - x) < 2e-6)[0]
        if hit.size == 0:
            raise BandprintError(f"label {name!r} at {x} is at no k-point of the path")
        for i in hit:
            labels[i] = name
    return labels


# -- .fdf and cell -------------------------------------------------------------------------
def _fdf_text(path: Path) -> str:
    return "\n".join(line.split("#", 1)[0] for line in read_text(path).splitlines())


def _fdf_key(name: str) -> str:
    """fdf labels ignore case, '.', '-' and '_'."""
    return re.sub(r"[._-]", "", name).lower()


def _fdf_value(text: str, key: str) -> str | None:
    for line in text.splitlines():
        words = line.split(None, 1)
        if len(words) == 2 and _fdf_key(words[0]) == key:
            return words[1].strip()
    return None


def _fdf_block(text: str, key: str) -> list[list[str]] | None:
    rows: list[list[str]] | None = None
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].lower() == "%block" and _fdf_key(words[1]) == key:
            rows = []
        elif rows is not None and words and words[0].lower() == "%endblock":
            return rows
        elif rows is not None and words:
            rows.append(words)
    return None


def _length(value: str, path: Path, what: str) -> float:
    words = value.split()
    try:
        x = float(words[0])
    except (ValueError, IndexError):
        raise ReadError(path, f"{what} is not a number: {value!r}") from None
    unit = words[1].lower() if len(words) > 1 else "bohr"
    if unit.startswith("ang"):
        return x
    if unit.startswith("bohr"):
        return x * BOHR
    if unit == "nm":
        return 10 * x
    raise ReadError(path, f"{what} has an unknown unit {unit!r}")


def band_lines_kpoints(fdf: Path, nk: int) -> np.ndarray | None:
    """Fractional k-points of ``%block BandLines`` (None if absent or not of ``nk`` points)."""
    text = _fdf_text(fdf)
    rows = _fdf_block(text, "bandlines")
    if not rows:
        return None
    try:
        counts = [int(r[0]) for r in rows]
        corners = np.array([[float(x) for x in r[1:4]] for r in rows])
    except (ValueError, IndexError):
        raise ReadError(fdf, "malformed %block BandLines") from None
    if not np.isfinite(corners).all() or min(counts[1:], default=1) < 1:
        raise ReadError(fdf, "%block BandLines holds a non-finite point or an empty line")
    if sum(counts) != nk:
        return None
    points = [corners[0]]
    for i in range(1, len(rows)):
        for j in range(1, counts[i] + 1):
            points.append(corners[i - 1] + (corners[i] - corners[i - 1]) * j / counts[i])
    k = np.array(points)
    scale = (_fdf_value(text, "bandlinesscale") or "pi/a").lower()
    if scale.startswith("reciprocal"):
        return k
    if scale != "pi/a":
        raise ReadError(fdf, f"BandLinesScale {scale!r} is not supported")
    constant = _fdf_value(text, "latticeconstant")
    if constant is None:
        raise ReadError(fdf, "BandLines in units of pi/a but no LatticeConstant")
    a = _length(constant, fdf, "LatticeConstant")
    vectors = _fdf_block(text, "latticevectors")
    try:
        cell = np.array([[float(x) for x in r[:3]] for r in vectors]) if vectors else np.eye(3)
    except ValueError:
        raise ReadError(fdf, "malformed %block LatticeVectors") from None
    cart = k * np.pi / a  # 1/Å, 2π included
    with np.errstate(all="ignore"):
        frac = cart @ (cell * a).T / (2 * np.pi)
    if not np.isfinite(frac).all():
        raise ReadError(fdf, "BandLines, LatticeConstant or LatticeVectors are not finite numbers")
    return frac


def read_cell_file(path: Path, xv: bool) -> Any:
    """A pymatgen structure from ``.XV`` (``xv``: cell and Cartesian positions in Bohr) or
    ``.STRUCT_OUT`` (cell in Å, fractional positions)."""
    from pymatgen.core import Lattice, Structure

    unit = BOHR if xv else 1.0
    lines = [x for x in read_text(path).splitlines() if x.strip()]
    try:
        cell = np.array([[float(x) for x in line.split()[:3]] for line in lines[:3]]) * unit
        nat = int(lines[3].split()[0])
        numbers = [int(line.split()[1]) for line in lines[4 : 4 + nat]]
        coords = np.array([[float(x) for x in line.split()[2:5]] for line in lines[4 : 4 + nat]])
    except (ValueError, IndexError):
        raise ReadError(path, "not a SIESTA cell file (3 cell rows, atom count, atoms)") from None
    if len(numbers) != nat or cell.shape != (3, 3):
        raise ReadError(path, f"truncated: {nat} atoms announced, {len(numbers)} present")
    if not (np.isfinite(cell).all() and np.isfinite(coords).all()):
        raise ReadError(path, "the cell or the positions are not finite numbers")
    lattice = Lattice(cell)
    if abs(lattice.volume) < 1e-9:
        raise ReadError(path, "the cell has zero volume")
    return Structure(lattice, numbers, coords * unit, coords_are_cartesian=xv)


# -- reading -------------------------------------------------------------------------------
def read_siesta_bands(
    path: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of a SIESTA ``.bands`` file and the files beside it."""
    path = Path(path)
    parsed = parse_bands(path)
    companions = _companions(path)
    structure = None
    if companions["XV"] is not None:
        structure = read_cell_file(companions["XV"], xv=True)
    elif companions["STRUCT_OUT"] is not None:
        structure = read_cell_file(companions["STRUCT_OUT"], xv=False)
    nk = parsed["energies"].shape[1]
    kpoints = band_lines_kpoints(companions["fdf"], nk) if companions["fdf"] else None
    try:
        labels = tick_labels(parsed["path"], parsed["ticks"])
        segments = segments_from_labels(labels)
        if not segments:
            raise BandprintError("no labelled path segment (the label list is missing)")
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None
    meta: dict[str, Any] = {
        "code": "SIESTA",
        "efermi_source": ".bands" if efermi is None else "given",
    }
    reciprocal = None
    if structure is not None:
        reciprocal = 2 * np.pi * np.linalg.inv(structure.lattice.matrix).T
    return BandStructure(
        material_id=material_id or path.name[: -len(".bands")],
        energies=parsed["energies"],
        efermi=parsed["efermi"] if efermi is None else float(efermi),
        distances=parsed["path"] / BOHR,
        segments=segments,
        kpoints=kpoints,
        reciprocal_lattice=reciprocal,
        formula=structure.composition.reduced_formula if structure is not None else None,
        source=str(path),
        source_format=FORMAT,
        structure=structure,
        metadata=meta,
    )


def read_siesta_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects (registered in ``bandprint.read``)."""
    efermi = source.options.get("efermi")
    return [read_siesta_bands(source.paths[0], efermi, source.material_id)]
