"""CASTEP band structures: ``seed.bands`` with ``seed.cell`` for the k-path labels.

The ``.bands`` file, in atomic units::

    Number of k-points    44
    Number of spin components 1
    Number of electrons  8.000
    Number of eigenvalues     14
    Fermi energy (in atomic units)     0.222783       <- "Fermi energies" and two values
    Unit cell vectors                                    when spin-polarised
        5.093690    5.093690    0.000000               <- rows, Bohr
        ...
    K-point     1  0.50000000  0.25000000  0.75000000  0.02272727   <- index, fractional k, weight
    Spin component 1
       -0.04787972                                     <- Hartree, one per band
       ...

CASTEP writes the k-points in the order its parallel ranks finish, not along the path: they are
sorted by their index, as sumo does. Energies and Fermi level are converted from Hartree to eV,
the cell from Bohr to Å (CODATA values from ``ase.units``); the reciprocal lattice includes 2π
(pymatgen's convention; sumo builds its pymatgen object without it). Labels are the comments
(``0.5 0.25 0.75 ! W``) of the ``.cell``'s ``bs_kpoint_path``/``spectral_kpoint_path`` block (or
the ``*_list`` blocks), matched to the k-points by fractional coordinates as pymatgen does.

Without such a block (no ``.cell``, or a ``.cell`` that only sets a k-point grid) the file is
still read, k-points in index order and unlabelled; ``metadata["kpath"]`` then says
``"unlabelled"`` and ``metadata["kpath_note"]`` why.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase.units import Bohr, Hartree

from bandprint.bandstructure import (
    BandStructure,
    band_structure_from_pymatgen_dict,
    normalize_label,
)
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import material_id_from_path, read_text
from bandprint.read.source import Source

if TYPE_CHECKING:
    from pymatgen.core import Structure

FORMAT = "castep-bands"

#: Blocks of a .cell that list the band-structure k-points (CASTEP accepts both spellings).
PATH_BLOCKS = tuple(
    f"{task}_{kp}_{kind}"
    for kind in ("path", "list")
    for task in ("bs", "spectral")
    for kp in ("kpoint", "kpoints")
)

_LENGTH_UNITS = {"ang": 1.0, "bohr": Bohr, "a0": Bohr, "nm": 10.0, "cm": 1e8, "m": 1e10}


def looks_like_castep_bands(head: bytes) -> bool:
    lines = head.lstrip().split(b"\n", 2)
    return (
        len(lines) >= 2
        and lines[0].strip().startswith(b"Number of k-points")
        and lines[1].strip().startswith(b"Number of spin components")
    )


class BandsFile:
    """The content of a CASTEP ``.bands`` file, k-points in index order, converted to eV and Å."""

    def __init__(
        self,
        lattice: np.ndarray,
        kpoints: np.ndarray,
        weights: np.ndarray,
        energies: np.ndarray,
        efermi_per_spin: list[float],
        nelectrons: list[float],
    ):
        self.lattice = lattice  # rows, Å
        self.kpoints = kpoints  # [nk, 3] fractional
        self.weights = weights
        self.energies = energies  # [spin, nk, band] eV
        self.efermi_per_spin = efermi_per_spin  # eV
        self.nelectrons = nelectrons


def parse_bands(path: str | Path) -> BandsFile:
    """Parse a ``.bands`` file, checking every count its header announces."""
    path = Path(path)
    lines = read_text(path).splitlines()
    if len(lines) < 9:
        raise ReadError(path, f"truncated .bands header ({len(lines)} lines)")
    try:
        nk = int(_after(lines[0], "Number of k-points", path))
        nspin = int(_after(lines[1], "Number of spin components", path))
        nelectrons = [float(x) for x in _after(lines[2], "Number of electrons", path).split()]
        nbands = [int(x) for x in _after(lines[3], "Number of eigenvalues", path).split()]
        fermi_text = lines[4]
        if "atomic units" not in fermi_text:
            raise ReadError(
                path, f"line 5: expected the Fermi energy in atomic units: {fermi_text!r}"
            )
        efermi_ha = [float(x) for x in fermi_text.split(")", 1)[1].split()]
        if lines[5].strip() != "Unit cell vectors":
            raise ReadError(path, f"line 6: expected 'Unit cell vectors', got {lines[5].strip()!r}")
        lattice = np.array([[float(x) for x in lines[i].split()] for i in (6, 7, 8)])
    except (ValueError, IndexError):
        raise ReadError(path, "malformed .bands header (lines 1-9)") from None
    if nspin not in (1, 2) or nk < 1:
        raise ReadError(path, f"implausible header: {nspin} spin components, {nk} k-points")
    if len(nbands) != nspin or len(efermi_ha) not in (1, nspin) or min(nbands) < 1:
        raise ReadError(
            path,
            f"header gives {len(nbands)} band counts, {len(efermi_ha)} Fermi energies "
            f"for {nspin} spin components",
        )
    if lattice.shape != (3, 3) or not np.isfinite(lattice).all():
        raise ReadError(path, "unit cell vectors are not a 3×3 matrix of numbers")
    if abs(np.linalg.det(lattice)) < 1e-12:
        raise ReadError(path, "unit cell vectors are linearly dependent (zero volume)")

    if nk * (1 + sum(n + 1 for n in nbands)) > len(lines):
        raise ReadError(
            path,
            f"truncated: header announces {nk} k-points × {nbands} bands, file has "
            f"{len(lines)} lines",
        )
    index = np.empty(nk, dtype=np.int64)
    kpoints = np.empty((nk, 3))
    weights = np.empty(nk)
    nb = min(nbands)
    energies = np.empty((nspin, nk, nb))
    pos = 9
    for ik in range(nk):
        pos = _skip_blank(lines, pos)
        fields = _line(lines, pos, path, f"k-point block {ik + 1} of {nk}").split()
        if len(fields) != 6 or fields[0] != "K-point":
            raise ReadError(path, f"line {pos + 1}: expected 'K-point i k1 k2 k3 w'")
        try:
            index[ik] = int(fields[1])
            kpoints[ik] = [float(x) for x in fields[2:5]]
            weights[ik] = float(fields[5])
        except ValueError:
            raise ReadError(path, f"line {pos + 1}: malformed k-point line") from None
        pos += 1
        for s in range(nspin):
            header = _line(lines, pos, path, f"spin component {s + 1} of k-point {ik + 1}")
            if header.split()[:2] != ["Spin", "component"]:
                raise ReadError(path, f"line {pos + 1}: expected 'Spin component {s + 1}'")
            pos += 1
            for ib in range(nbands[s]):
                text = _line(lines, pos, path, f"band {ib + 1} of k-point {ik + 1}")
                try:
                    value = float(text)
                except ValueError:
                    raise ReadError(
                        path, f"line {pos + 1}: not an eigenvalue: {text.strip()!r}"
                    ) from None
                if ib < nb:
                    energies[s, ik, ib] = value
                pos += 1
    pos = _skip_blank(lines, pos)
    if pos < len(lines):
        raise ReadError(path, f"line {pos + 1}: more data than the {nk} k-points announced")
    order = np.argsort(index, kind="stable")
    if not np.array_equal(index[order], np.arange(1, nk + 1)):
        raise ReadError(path, f"k-point indices are not 1..{nk} each once")
    return BandsFile(
        lattice=lattice * Bohr,
        kpoints=kpoints[order],
        weights=weights[order],
        energies=energies[:, order, :] * Hartree,
        efermi_per_spin=[e * Hartree for e in efermi_ha],
        nelectrons=nelectrons,
    )


class CellFile:
    """The parts of a CASTEP ``.cell`` bandprint uses: blocks (with comments) and keywords."""

    def __init__(self, blocks: dict[str, list[tuple[list[str], str]]], keywords: dict[str, str]):
        self.blocks = blocks
        self.keywords = keywords

    def kpath_labels(self) -> tuple[dict[str, np.ndarray], str | None]:
        """Label → fractional coordinates from the first band-path block, and the block name."""
        for name in PATH_BLOCKS:
            if name not in self.blocks:
                continue
            labels: dict[str, np.ndarray] = {}
            for values, comment in self.blocks[name]:
                if not values or values[0].lower() == "break":
                    continue
                coords = np.array([float(x) for x in values[:3]])
                extra = [v for v in values[3:] if not _is_number(v)]
                label = (comment.split() or extra or [""])[0]
                if label:
                    labels[normalize_label(label)] = coords
            return labels, name
        return {}, None

    def structure(self) -> Structure | None:
        """The crystal structure, when the .cell gives a lattice and positions pymatgen accepts."""
        from pymatgen.core import Lattice, Structure

        lattice = self._lattice()
        frac = "positions_frac" in self.blocks
        rows = self.blocks.get("positions_frac") or self.blocks.get("positions_abs")
        if lattice is None or not rows:
            return None
        scale = 1.0
        values = [v for v, _ in rows]
        if values[0] and values[0][0].lower() in _LENGTH_UNITS:
            scale = _LENGTH_UNITS[values[0][0].lower()]
            values = values[1:]
        species = [re.sub(r"[:\d].*$", "", v[0]) for v in values]
        coords = np.array([[float(x) for x in v[1:4]] for v in values])
        try:
            return Structure(
                Lattice(lattice),
                species,
                coords if frac else coords * scale,
                coords_are_cartesian=not frac,
            )
        except (ValueError, KeyError):
            return None  # species names pymatgen does not know: the structure is optional

    def _lattice(self) -> np.ndarray | None:
        rows = self.blocks.get("lattice_cart")
        if not rows:
            return None
        values = [v for v, _ in rows]
        scale = 1.0
        if values[0] and values[0][0].lower() in _LENGTH_UNITS:
            scale = _LENGTH_UNITS[values[0][0].lower()]
            values = values[1:]
        matrix = np.array([[float(x) for x in v[:3]] for v in values]) * scale
        return matrix if matrix.shape == (3, 3) else None


def parse_cell(path: str | Path) -> CellFile:
    """Blocks and keywords of a ``.cell`` file; keys lower-case, comments kept per block line."""
    path = Path(path)
    blocks: dict[str, list[tuple[list[str], str]]] = {}
    keywords: dict[str, str] = {}
    current: str | None = None
    for lineno, raw in enumerate(read_text(path).splitlines(), 1):
        line = raw.strip()
        values_text = re.split(r"[!#;]", line, maxsplit=1)[0]
        comment = line[len(values_text) + 1 :].strip() if len(values_text) < len(line) else ""
        words = values_text.split()
        if not words:
            continue
        head = words[0].lower()
        if head == "%block":
            if current is not None:
                raise ReadError(path, f"line {lineno}: block inside block {current!r}")
            if len(words) < 2:
                raise ReadError(path, f"line {lineno}: %block without a name")
            current = words[1].lower()
            blocks[current] = []
        elif head == "%endblock":
            if current is None or len(words) < 2 or words[1].lower() != current:
                raise ReadError(path, f"line {lineno}: %endblock does not close {current!r}")
            current = None
        elif current is not None:
            blocks[current].append((words, comment))
        else:
            keywords[head.rstrip(":=")] = " ".join(w for w in words[1:] if w not in ":=")
    if current is not None:
        raise ReadError(path, f"block {current!r} is never closed (truncated file?)")
    return CellFile(blocks, keywords)


def cell_beside(bands_path: Path) -> Path | None:
    """``seed.cell`` (or ``.cell.gz``) next to ``seed.bands``."""
    seed = material_id_from_path(bands_path)
    for name in (f"{seed}.cell", f"{seed}.cell.gz"):
        p = bands_path.parent / name
        if p.is_file():
            return p
    return None


def read_castep_bands(
    path: str | Path,
    cell: str | Path | None = None,
    material_id: str | None = None,
    efermi: float | None = None,
) -> BandStructure:
    """A band structure from a CASTEP ``.bands`` file and the ``.cell`` beside it (for labels)."""
    path = Path(path)
    bands = parse_bands(path)
    cell_path = Path(cell) if cell is not None else cell_beside(path)
    meta: dict[str, Any] = {
        "code": "CASTEP",
        "source_format": FORMAT,
        "nelectrons": bands.nelectrons,
    }
    labels: dict[str, np.ndarray] = {}
    structure = None
    if cell_path is None:
        meta["kpath"] = "unlabelled"
        meta["kpath_note"] = f"no {material_id_from_path(path)}.cell beside the .bands file"
    else:
        cell_file = parse_cell(cell_path)
        try:
            labels, block = cell_file.kpath_labels()
        except (ValueError, IndexError):
            raise ReadError(cell_path, "malformed k-point path block") from None
        try:
            structure = cell_file.structure()
        except (ValueError, IndexError):
            raise ReadError(cell_path, "malformed lattice or positions block") from None
        if block is None:
            grids = [k for k in cell_file.keywords if k.endswith("mp_grid")]
            meta["kpath"] = "unlabelled"
            meta["kpath_note"] = f"{cell_path.name} has no band-structure k-point path block" + (
                f" (it sets {', '.join(grids).upper()}: the k-points are a grid)" if grids else ""
            )
        else:
            meta["kpath_block"] = block
    if structure is not None:
        meta["formula"] = structure.composition.reduced_formula

    efermi_source = "given"
    if efermi is None:
        per_spin = bands.efermi_per_spin
        # Two equal values for a spin-polarised run; a fixed-spin run has one per channel,
        # and a single Fermi level can only be their mean (both are kept in the metadata).
        efermi = float(np.mean(per_spin))
        efermi_source = "bands"
        if len(per_spin) > 1 and abs(per_spin[0] - per_spin[1]) > 1e-6:
            meta["efermi_per_spin"] = per_spin
    meta["efermi_source"] = efermi_source

    reciprocal = 2 * np.pi * np.linalg.inv(bands.lattice).T
    spins = ["1", "-1"][: bands.energies.shape[0]]
    d = {
        "kpoints": bands.kpoints,
        "bands": {s: bands.energies[i].T for i, s in enumerate(spins)},
        "lattice_rec": {"matrix": reciprocal},
        "labels_dict": labels,
        "efermi": efermi,
    }
    try:
        bs = band_structure_from_pymatgen_dict(
            d, material_id or material_id_from_path(path), str(path), meta
        )
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None
    bs.structure = structure
    return bs


def file_source(path: Path) -> Source:
    cell = cell_beside(path)
    paths = (str(path),) if cell is None else (str(path), str(cell))
    return Source(FORMAT, paths, material_id_from_path(path))


def read_castep_source(source: Source) -> list[BandStructure]:
    efermi = source.options.get("efermi")
    cell = source.paths[1] if len(source.paths) > 1 else None
    return [
        read_castep_bands(
            source.paths[0],
            cell=cell,
            material_id=source.material_id,
            efermi=None if efermi is None else float(efermi),
        )
    ]


def _after(line: str, prefix: str, path: Path) -> str:
    if not line.strip().startswith(prefix):
        raise ReadError(path, f"expected {prefix!r}, got {line.strip()[:60]!r}")
    return line.strip()[len(prefix) :]


def _line(lines: list[str], pos: int, path: Path, what: str) -> str:
    if pos >= len(lines):
        raise ReadError(path, f"truncated: file ends before {what}")
    return lines[pos]


def _skip_blank(lines: list[str], pos: int) -> int:
    while pos < len(lines) and not lines[pos].strip():
        pos += 1
    return pos


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
