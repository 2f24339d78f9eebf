"""VASP band structures: ``vasprun.xml`` or ``EIGENVAL``, with the ``KPOINTS`` that names the path.

One module because it is one format in several input layouts (vasprun.xml, EIGENVAL, OUTCAR,
split runs, whole folders) that share the sibling-file lookups, path labels and Fermi level.

Conventions follow pymatgen's ``Vasprun.get_band_structure(line_mode=True)`` so that numbers
agree with it: k-point labels come from ``KPOINTS`` and are matched to the computed k-points by
fractional coordinates; in a hybrid-functional run (``LHFCALC`` or zero-weight k-points) only the
zero-weight k-points after the self-consistent mesh form the path; the Fermi level is the one
VASP wrote. A band structure split over several runs (sub-folders ``split-01``, ``split-02``, …
as ``sumo-kgen`` writes them) is joined as pymatgen's ``get_reconstructed_band_structure`` does:
k-points concatenated in order, the smallest band count kept, the Fermi levels averaged.

``EIGENVAL`` holds eigenvalues and k-points but neither the Fermi level nor the cell. The Fermi
level comes from ``efermi=`` or a sibling ``OUTCAR`` (last ``E-fermi``), ``vasprun.xml`` or
``DOSCAR`` (line 6, fourth field); the cell from a sibling ``CONTCAR``/``POSCAR``, ``OUTCAR``
or ``vasprun.xml``.

EIGENVAL layout (VASP 5.4.4 and later; older versions omit the occupation columns)::

        6    6    1    1          <- ions, ions, blocks, ISPIN
      0.1063E+02  0.45E-09  0.45E-09  0.32E-09  0.5E-15
      1.000000000000000E-004
      CAR
     system name
         40    463     36         <- electrons, k-points, bands
    (blank line)
      0.0000000E+00  0.0000000E+00  0.0000000E+00  0.2159827E-02   <- k (fractional), weight
        1      -63.386138   1.000000          <- band, energy [, energy down], occ [, occ down]
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.bandstructure import (
    BandStructure,
    band_structure_from_pymatgen_dict,
    normalize_label,
    path_geometry,
)
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import (
    iter_lines,
    material_id_from_path,
    read_bytes,
    read_head,
    read_text,
)
from bandprint.read.source import FolderClaim, Source

if TYPE_CHECKING:
    from pymatgen.core import Structure
    from pymatgen.io.vasp.inputs import Kpoints

FORMAT_VASPRUN = "vasprun"
FORMAT_EIGENVAL = "eigenval"

#: Sub-folders holding the parts of one split band structure (sumo-kgen writes ``split-01``…).
SPLIT_FOLDER = re.compile(r"^(split|part)[-_]?\d+$", re.IGNORECASE)
#: Folder names that say "band-structure run" rather than naming a material; the material id is
#: then taken from the folder above (``Si/bands/vasprun.xml`` → ``Si``).
GENERIC_RUN_FOLDERS = frozenset(
    {"band", "bands", "bs", "bandstructure", "band_structure", "band-structure", "nscf", "line"}
)

_FERMI_HINT = "give it explicitly: read_band_structures(path, efermi=<eV>)"


# -- finding files -------------------------------------------------------------------------
def sibling(folder: Path, name: str) -> Path | None:
    """``folder/name`` or ``folder/name.gz``, whichever exists."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def kpoints_beside(run: Path) -> Path | None:
    """The KPOINTS of a run file: ``KPOINTS`` beside it, or for a renamed run
    (``vasprun_Si_bands.xml``, ``EIGENVAL.Si``) the one with the same tag (``KPOINTS_Si_bands``)."""
    found = sibling(run.parent, "KPOINTS")
    if found is not None:
        return found
    stem = material_id_from_path(run)
    tag = re.sub(r"^(vasprun|eigenval)[._-]?", "", stem, flags=re.IGNORECASE)
    if not tag or tag == stem:
        return None
    for sep in ("_", ".", "-"):
        found = sibling(run.parent, f"KPOINTS{sep}{tag}")
        if found is not None:
            return found
    return None


def run_material_id(folder: Path) -> str:
    """The material id of a run folder: its name, or its parent's for ``bands/`` and the like."""
    folder = folder.resolve()
    if folder.name.lower() in GENERIC_RUN_FOLDERS and folder.parent.name:
        return folder.parent.name
    return folder.name


def file_material_id(path: Path) -> str:
    """``…/Si/vasprun.xml`` → ``Si``; a renamed one keeps its stem (``Si_hse.xml`` → ``Si_hse``)."""
    stem = material_id_from_path(path)
    if stem.lower() in {"vasprun", "eigenval", "outcar"}:
        return run_material_id(path.parent)
    return stem


# -- recognising files ---------------------------------------------------------------------
def looks_like_vasprun(head: bytes) -> bool:
    return b"<modeling" in head[:4096]


_INT_LINE = re.compile(rb"^\s*(-?\d+\s+){%d}-?\d+\s*$")
_FLOAT = rb"[-+]?(\d+\.?\d*|\.\d+)([eEdD][-+]?\d+)?"
_KPOINT_LINE = re.compile(rb"^\s*(" + _FLOAT + rb"\s+){3}" + _FLOAT + rb"\s*$")


def looks_like_eigenval(head: bytes) -> bool:
    """Line 1 four integers, line 6 three integers, then a blank line and a k-point line."""
    lines = head.split(b"\n", 9)
    if len(lines) < 9:
        return False
    four, three = (re.compile(_INT_LINE.pattern % n) for n in (3, 2))
    return bool(
        four.match(lines[0])
        and three.match(lines[5])
        and not lines[6].strip()
        and _KPOINT_LINE.match(lines[7])
    )


def vasprun_kpoint_kind(head: bytes) -> str:
    """How the run's k-points were made: ``"line"`` (line mode), ``"grid"`` (an automatic mesh,
    a self-consistent run) or ``"list"`` (an explicit list, as hybrid band runs use)."""
    m = re.search(rb'<generation\s+param="([^"]*)"', head)
    if m is None:
        return "list"
    return "line" if m.group(1).lower().startswith(b"list") else "grid"


# -- KPOINTS -------------------------------------------------------------------------------
def read_kpoints(path: Path) -> Kpoints:
    from pymatgen.io.vasp.inputs import Kpoints

    text = read_text(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kpoints = Kpoints.from_str(text)
    except Exception as exc:  # pymatgen raises many types on malformed input
        raise ReadError(path, f"not a readable KPOINTS file ({_describe(exc)})") from None
    return kpoints


def kpoints_path_kind(kpoints: Kpoints) -> str:
    """``"line"``, ``"list"`` (explicit k-points with at least one label, or with zero-weight
    k-points: a path after the self-consistent mesh) or ``"grid"``."""
    from pymatgen.io.vasp.inputs import Kpoints

    style = kpoints.style
    if style == Kpoints.supported_modes.Line_mode:
        return "line"
    explicit = style in (Kpoints.supported_modes.Reciprocal, Kpoints.supported_modes.Cartesian)
    zero_weight = 0 in [float(w) for w in (kpoints.kpts_weights or [])]
    if explicit and kpoints.num_kpts > 0 and (any(kpoints.labels or []) or zero_weight):
        return "list"
    return "grid"


def _is_cartesian(kpoints: Kpoints) -> bool:
    from pymatgen.io.vasp.inputs import Kpoints

    if kpoints.style == Kpoints.supported_modes.Cartesian:
        return True
    coord = (kpoints.coord_type or "").strip().lower()
    return kpoints.style == Kpoints.supported_modes.Line_mode and coord[:1] in ("c", "k")


def _labels_dict(kpoints: Kpoints, path: Path, first: int) -> dict[str, np.ndarray]:
    """Label → fractional coordinates, from k-point ``first`` on (pymatgen's rule)."""
    if kpoints_path_kind(kpoints) == "grid":
        raise ReadError(
            path, f"is an automatic {kpoints.style.name} k-point mesh, not a band-structure path"
        )
    if _is_cartesian(kpoints):
        raise ReadError(path, "Cartesian k-points are not supported; write them as Reciprocal")
    labels = kpoints.labels or []
    out: dict[str, np.ndarray] = {}
    for i in range(first, min(len(labels), len(kpoints.kpts))):
        if labels[i]:
            out[labels[i]] = np.asarray(kpoints.kpts[i], dtype=np.float64)
    return out


def line_sizes(kpoints: Kpoints, nk: int) -> list[int] | None:
    """k-points per path line of a line-mode KPOINTS, when the run computed exactly those."""
    if kpoints_path_kind(kpoints) != "line":
        return None
    nlines = len(kpoints.kpts) // 2
    per_line = int(kpoints.num_kpts)
    if nlines < 1 or per_line < 2 or nlines * per_line != nk:
        return None
    return [per_line] * nlines


# -- Fermi level and cell from sibling files -----------------------------------------------
_OUTCAR_EFERMI = re.compile(r"E-fermi\s*:\s*(\S+)")
_VASPRUN_EFERMI = re.compile(rb'<i\s+name="efermi"\s*>\s*(\S+)\s*</i>')


def fermi_level_from_outcar(path: Path) -> float | None:
    """The last ``E-fermi`` in an OUTCAR (the converged one), as pymatgen's ``Outcar`` reads it."""
    found = None
    for line in read_text(path).splitlines():
        m = _OUTCAR_EFERMI.search(line)
        if m:
            found = m.group(1)
    return _to_float(found, path, "E-fermi") if found is not None else None


def fermi_level_from_vasprun(path: Path) -> float | None:
    m = _VASPRUN_EFERMI.search(read_bytes(path))
    return _to_float(m.group(1).decode(), path, "efermi") if m else None


def fermi_level_from_doscar(path: Path) -> float | None:
    lines = read_text(path).splitlines()
    if len(lines) < 6 or len(lines[5].split()) < 4:
        raise ReadError(path, "line 6 has no Fermi level (expected EMAX EMIN NEDOS EFERMI …)")
    return _to_float(lines[5].split()[3], path, "the DOSCAR Fermi level")


_FERMI_SOURCES = (
    ("OUTCAR", fermi_level_from_outcar),
    ("vasprun.xml", fermi_level_from_vasprun),
    ("DOSCAR", fermi_level_from_doscar),
)


def find_fermi_level(folder: Path) -> tuple[float, str] | None:
    """The Fermi level from ``OUTCAR``, ``vasprun.xml`` or ``DOSCAR`` beside a run, and which."""
    for name, reader in _FERMI_SOURCES:
        p = sibling(folder, name)
        if p is None:
            continue
        value = reader(p)
        if value is not None:
            return value, name
    return None


_OUTCAR_LATTICE = re.compile(r"direct lattice vectors")


def lattice_from_outcar(path: Path) -> np.ndarray | None:
    lines = read_text(path).splitlines()
    starts = [i for i, line in enumerate(lines) if _OUTCAR_LATTICE.search(line)]
    if not starts:
        return None
    rows = lines[starts[-1] + 1 : starts[-1] + 4]
    try:
        matrix = np.array([[float(x) for x in row.split()[:3]] for row in rows])
    except ValueError:
        raise ReadError(path, "malformed 'direct lattice vectors' block") from None
    if matrix.shape != (3, 3):
        raise ReadError(path, "malformed 'direct lattice vectors' block")
    return matrix


def structure_from_poscar(path: Path) -> Structure:
    from pymatgen.io.vasp.inputs import Poscar

    text = read_text(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Poscar.from_str(text).structure
    except Exception as exc:  # pymatgen raises many types on malformed input
        raise ReadError(path, f"not a readable POSCAR ({_describe(exc)})") from None


def _lattice_beside(folder: Path) -> tuple[np.ndarray, Structure | None] | None:
    """Real-space lattice (rows, Å) and structure where known, from files beside a run."""
    for name in ("CONTCAR", "POSCAR"):
        p = sibling(folder, name)
        if p is not None:
            structure = structure_from_poscar(p)
            return structure.lattice.matrix, structure
    p = sibling(folder, "OUTCAR")
    if p is not None:
        matrix = lattice_from_outcar(p)
        if matrix is not None:
            return matrix, None
    p = sibling(folder, "vasprun.xml")
    if p is not None:
        run = _parse_vasprun(p)
        return run.structure.lattice.matrix, run.structure
    return None


# -- vasprun.xml ---------------------------------------------------------------------------
@dataclass
class _Run:
    """What one VASP run contributes to a band structure."""

    path: Path
    kpoints: np.ndarray  # [nk, 3] fractional
    weights: np.ndarray  # [nk]
    energies: np.ndarray  # [spin, nk, band] eV
    efermi: float | None
    structure: Any = None
    hybrid: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


def _parse_vasprun(path: Path) -> _Run:
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.outputs import BSVasprun

    _check_not_empty(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vr = BSVasprun(str(path), parse_projected_eigen=False, parse_potcar_file=False)
    except Exception as exc:  # pymatgen/ElementTree raise many types on malformed XML
        raise ReadError(path, f"not a readable vasprun.xml ({_describe(exc)})") from None
    if not vr.eigenvalues:
        raise ReadError(path, "holds no eigenvalues (did the run finish?)")
    try:
        spins = [Spin.up, Spin.down] if Spin.down in vr.eigenvalues else [Spin.up]
        energies = np.stack([np.asarray(vr.eigenvalues[s])[:, :, 0] for s in spins])
        kpoints = np.asarray(vr.actual_kpoints, dtype=np.float64)
        weights = np.asarray(vr.actual_kpoints_weights, dtype=np.float64)
        structure = vr.final_structure
        params = vr.parameters
    except (AttributeError, KeyError, ValueError, IndexError, TypeError) as exc:
        raise ReadError(path, f"incomplete vasprun.xml ({_describe(exc)})") from None
    if kpoints.ndim != 2 or kpoints.shape[1] != 3 or kpoints.shape[0] != energies.shape[1]:
        raise ReadError(
            path, f"{kpoints.shape[0]} k-points but eigenvalues for {energies.shape[1]}"
        )
    if weights.shape != (kpoints.shape[0],):
        raise ReadError(path, f"{weights.shape[0]} k-point weights for {kpoints.shape[0]} k-points")
    version = (getattr(vr, "generator", None) or {}).get("version")
    return _Run(
        path=path,
        kpoints=kpoints,
        weights=weights,
        energies=energies,
        efermi=vr.efermi,
        structure=structure,
        hybrid=bool(params.get("LHFCALC", False)) or bool((weights == 0).any()),
        metadata={"code": "VASP", "code_version": str(version).strip() if version else None},
    )


def _band_part(run: _Run) -> int:
    """Index of the first k-point of the band path (after a hybrid run's self-consistent mesh)."""
    if not run.hybrid:
        return 0
    zero = np.nonzero(np.isclose(run.weights, 0.0))[0]
    return int(zero[0]) if zero.size else 0


def read_vasprun(
    *runs: str | Path,
    kpoints: str | Path | None = None,
    efermi: float | None = None,
    material_id: str | None = None,
) -> BandStructure:
    """One band structure from one ``vasprun.xml(.gz)``, or from several runs that split it.

    Each run is a ``vasprun.xml`` file or a folder holding one; its ``KPOINTS(.gz)`` is taken
    from beside it unless ``kpoints`` is given (one run only). ``efermi`` (eV) overrides the
    Fermi level in the files.
    """
    if not runs:
        raise BandprintError("read_vasprun needs at least one vasprun.xml or run folder")
    paths = [_vasprun_in(Path(r)) for r in runs]
    if kpoints is not None and len(paths) > 1:
        raise BandprintError("kpoints= can only be given for a single run")
    parts = []
    for p in paths:
        if _vasprun_is_grid_run(p):
            raise ReadError(
                p, "is a self-consistent run on an automatic k-point mesh, not a band structure"
            )
        run = _parse_vasprun(p)
        kp_path = Path(kpoints) if kpoints is not None else kpoints_beside(p)
        if kp_path is None:
            raise ReadError(
                p, "no KPOINTS beside it: the k-path labels are only in KPOINTS, copy it here"
            )
        kp = read_kpoints(kp_path)
        first = _band_part(run)
        labels = _labels_dict(kp, kp_path, first if kpoints_path_kind(kp) == "list" else 0)
        sizes = line_sizes(kp, len(run.kpoints) - first)
        parts.append((run, first, labels, sizes, kp.comment or ""))

    source = str(paths[0]) if len(paths) == 1 else str(paths[0].parent.parent)
    if material_id is None:
        material_id = (
            file_material_id(paths[0])
            if len(paths) == 1
            else run_material_id(paths[0].parent.parent)
        )
    return _join_runs(parts, efermi, material_id, source)


def _join_runs(
    parts: list[tuple[_Run, int, dict[str, np.ndarray], list[int] | None, str]],
    efermi: float | None,
    material_id: str,
    source: str,
) -> BandStructure:
    first_run = parts[0][0]
    nspin = first_run.energies.shape[0]
    formula = first_run.structure.composition.reduced_formula if first_run.structure else None
    for run, *_ in parts[1:]:
        if run.energies.shape[0] != nspin:
            raise ReadError(run.path, "spin-polarised and unpolarised runs cannot be joined")
        other = run.structure.composition.reduced_formula if run.structure else None
        if other != formula:
            raise ReadError(run.path, f"holds {other}, the first run {formula}: not one material")
    nbands = min(run.energies.shape[2] for run, *_ in parts)
    kpts = np.concatenate([run.kpoints[first:] for run, first, *_ in parts])
    energies = np.concatenate([run.energies[:, first:, :nbands] for run, first, *_ in parts], 1)
    labels: dict[str, np.ndarray] = {}
    for part in parts:
        labels.update(part[2])
    part_sizes = [p[3] for p in parts]
    sizes = None if None in part_sizes else [n for p in part_sizes for n in p]

    efermi_source = "given"
    if efermi is None:
        found = []
        for run, *_ in parts:
            ef = run.efermi
            if ef is None:
                beside = find_fermi_level(run.path.parent)
                if beside is None:
                    raise ReadError(
                        run.path,
                        f"no Fermi level in it nor in OUTCAR/DOSCAR beside it; {_FERMI_HINT}",
                    )
                ef, efermi_source = beside
            else:
                efermi_source = "vasprun.xml"
            found.append(ef)
        efermi = float(np.mean(found))

    meta = dict(first_run.metadata)
    meta.update(
        source_format=FORMAT_VASPRUN,
        formula=formula,
        efermi_source=efermi_source,
        hybrid=first_run.hybrid,
    )
    if len(parts) > 1:
        meta["split_runs"] = [str(run.path) for run, *_ in parts]
    if not labels:
        comment = parts[0][4]
        return _assemble_unlabelled(
            kpts, energies, efermi, first_run.structure, comment, material_id, source, meta
        )
    return _assemble(
        kpts, energies, efermi, first_run.structure, labels, material_id, source, meta, sizes=sizes
    )


def _assemble(
    kpts: np.ndarray,
    energies: np.ndarray,
    efermi: float,
    structure: Any,
    labels: dict[str, np.ndarray],
    material_id: str,
    source: str,
    metadata: dict[str, Any],
    lattice: np.ndarray | None = None,
    sizes: list[int] | None = None,
) -> BandStructure:
    """The canonical band structure, labels matched and segments built as pymatgen does, or split
    by ``sizes`` (k-points per line of a line-mode KPOINTS) where known."""
    if lattice is None:
        lattice = structure.lattice.matrix
    lattice = np.asarray(lattice, dtype=np.float64)
    if lattice.shape != (3, 3) or not np.isfinite(lattice).all():
        raise ReadError(source, "the cell is not a 3×3 matrix of numbers")
    if abs(np.linalg.det(lattice)) < 1e-9:
        raise ReadError(source, "the cell has zero volume")
    reciprocal = 2 * np.pi * np.linalg.inv(lattice).T
    spins = ["1", "-1"][: energies.shape[0]]
    d = {
        "kpoints": kpts,
        "bands": {s: energies[i].T for i, s in enumerate(spins)},
        "lattice_rec": {"matrix": reciprocal},
        "labels_dict": labels,
        "efermi": efermi,
    }
    try:
        bs = band_structure_from_pymatgen_dict(d, material_id, source, metadata, sizes)
    except ReadError:
        raise
    except BandprintError as exc:
        raise ReadError(source, str(exc)) from None
    bs.structure = structure
    return bs


def _vasprun_in(p: Path) -> Path:
    if p.is_dir():
        found = sibling(p, "vasprun.xml")
        if found is None:
            raise ReadError(p, "no vasprun.xml in this folder")
        return found
    return p


# -- EIGENVAL ------------------------------------------------------------------------------
@dataclass
class Eigenval:
    """The content of an EIGENVAL file."""

    nelect: float
    kpoints: np.ndarray  # [nk, 3] fractional
    weights: np.ndarray  # [nk]
    energies: np.ndarray  # [spin, nk, band] eV
    occupations: np.ndarray | None  # [spin, nk, band], None in files from VASP < 5.4.4


def parse_eigenval(path: str | Path) -> Eigenval:
    """Parse an EIGENVAL file, checking every count the header announces."""
    path = Path(path)
    lines = read_text(path).splitlines()
    if len(lines) < 8:
        raise ReadError(path, f"truncated EIGENVAL header ({len(lines)} lines)")
    try:
        ispin = int(lines[0].split()[-1])
        nelect_s, nk_s, nb_s = lines[5].split()[:3]
        nelect, nk, nb = float(nelect_s), int(nk_s), int(nb_s)
    except (ValueError, IndexError):
        raise ReadError(
            path, "not an EIGENVAL file (header lines 1 and 6 are not counts)"
        ) from None
    if ispin not in (1, 2) or nk < 1 or nb < 1:
        raise ReadError(path, f"implausible header: ISPIN={ispin}, {nk} k-points, {nb} bands")
    if nk * (nb + 1) > len(lines):
        raise ReadError(
            path,
            f"truncated: header announces {nk} k-points × {nb} bands, file has {len(lines)} lines",
        )
    body = iter(enumerate(lines[6:], start=7))
    kpoints = np.empty((nk, 3))
    weights = np.empty(nk)
    energies = np.empty((ispin, nk, nb))
    occupations: np.ndarray | None = np.empty((ispin, nk, nb))
    for ik in range(nk):
        lineno, kline = _next_nonblank(body, path, f"k-point {ik + 1} of {nk}")
        try:
            k = [float(x) for x in kline.split()]
        except ValueError:
            raise ReadError(
                path, f"line {lineno}: expected a k-point, got {kline.strip()[:60]!r}"
            ) from None
        if len(k) != 4:
            raise ReadError(path, f"line {lineno}: expected k1 k2 k3 weight, got {len(k)} numbers")
        kpoints[ik], weights[ik] = k[:3], k[3]
        for ib in range(nb):
            lineno, bline = _next_line(body, path, f"band {ib + 1} of k-point {ik + 1}")
            tokens = bline.split()
            try:
                band = int(tokens[0]) if tokens else 0
                cols = [float(x) for x in tokens[1:]]
            except ValueError:
                raise ReadError(
                    path, f"line {lineno}: expected 'band energy …', got {bline.strip()[:60]!r}"
                ) from None
            if band != ib + 1:
                raise ReadError(path, f"line {lineno}: band {band}, expected {ib + 1}")
            ncol = len(cols)
            if ncol == ispin:  # VASP before 5.4.4 writes no occupations
                occupations = None
            elif ncol != 2 * ispin:
                raise ReadError(
                    path,
                    f"line {lineno}: {ncol} numbers after the band index, expected "
                    f"{ispin} or {2 * ispin}",
                )
            energies[:, ik, ib] = cols[:ispin]
            if occupations is not None:
                occupations[:, ik, ib] = cols[ispin:]
    for lineno, extra in body:
        if extra.strip():
            raise ReadError(path, f"line {lineno}: more data than the {nk} k-points announced")
    return Eigenval(nelect, kpoints, weights, energies, occupations)


def read_eigenval(
    path: str | Path,
    kpoints: str | Path | None = None,
    efermi: float | None = None,
    material_id: str | None = None,
) -> BandStructure:
    """A band structure from ``EIGENVAL`` and its line-mode (or labelled list) ``KPOINTS``."""
    path = Path(path)
    folder = path.parent
    eig = parse_eigenval(path)
    kp_path = Path(kpoints) if kpoints is not None else kpoints_beside(path)
    if kp_path is None:
        raise ReadError(path, "no KPOINTS beside it: the k-path labels are only in KPOINTS")
    kp = read_kpoints(kp_path)
    hybrid = bool((eig.weights == 0).any())
    first = int(np.nonzero(eig.weights == 0)[0][0]) if hybrid else 0
    labels = _labels_dict(kp, kp_path, first if kpoints_path_kind(kp) == "list" else 0)

    efermi_source = "given"
    if efermi is None:
        found = find_fermi_level(folder)
        if found is None:
            raise ReadError(
                path,
                f"no Fermi level: EIGENVAL has none and no OUTCAR, vasprun.xml or DOSCAR "
                f"is beside it; {_FERMI_HINT}",
            )
        efermi, efermi_source = found
    cell = _lattice_beside(folder)
    if cell is None:
        raise ReadError(
            path, "no cell: EIGENVAL holds none; put the POSCAR (or CONTCAR, OUTCAR) beside it"
        )
    lattice, structure = cell
    meta = {
        "code": "VASP",
        "source_format": FORMAT_EIGENVAL,
        "formula": structure.composition.reduced_formula if structure is not None else None,
        "efermi_source": efermi_source,
        "hybrid": hybrid,
    }
    if not labels:
        return _assemble_unlabelled(
            eig.kpoints[first:],
            eig.energies[:, first:, :],
            efermi,
            structure,
            kp.comment or "",
            material_id or file_material_id(path),
            str(path),
            meta,
            lattice,
        )
    return _assemble(
        eig.kpoints[first:],
        eig.energies[:, first:, :],
        efermi,
        structure,
        labels,
        material_id or file_material_id(path),
        str(path),
        meta,
        lattice=lattice,
        sizes=line_sizes(kp, len(eig.kpoints) - first),
    )


# -- OUTCAR of a zero-weight (hybrid-style) band run ---------------------------------------
FORMAT_OUTCAR = "outcar"
_OUTCAR_COUNTS = re.compile(r"NKPTS\s*=\s*(\d+).*NBANDS\s*=\s*(\d+)")
_OUTCAR_ISPIN = re.compile(r"^\s*ISPIN\s*=\s*(\d+)", re.MULTILINE)
_OUTCAR_KBLOCK = "k-points in reciprocal lattice and weights"


def looks_like_outcar(head: bytes) -> bool:
    return bool(re.match(rb"\s*vasp\.\d", head)) and b"POTCAR:" in head


def outcar_is_band_run(path: Path) -> bool:
    """An OUTCAR whose k-points end in zero-weight ones (a path after the SCF mesh). Reads only
    up to the end of its k-point list, near the top of the file."""
    lines: list[str] = []
    in_block = False
    for line in iter_lines(path):
        if _OUTCAR_KBLOCK in line:
            in_block = True
        elif in_block and len(line.split()) != 4:
            break
        if in_block:
            lines.append(line)
    try:
        parsed = _outcar_kpoints(lines, path)
    except ReadError:
        return False
    return bool(parsed is not None and (parsed[1] == 0).any() and (parsed[1] > 0).any())


def _outcar_kpoints(lines: list[str], path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    start = next((i for i, x in enumerate(lines) if _OUTCAR_KBLOCK in x), None)
    if start is None:
        return None
    rows = []
    for line in lines[start + 1 :]:
        words = line.split()
        if len(words) != 4:
            break
        try:
            rows.append([float(x) for x in words])
        except ValueError:
            break
    if not rows:
        raise ReadError(path, f"empty '{_OUTCAR_KBLOCK}' block")
    a = np.array(rows)
    if not np.isfinite(a).all():
        raise ReadError(path, f"'{_OUTCAR_KBLOCK}' holds numbers that are not finite")
    return a[:, :3], a[:, 3]


def parse_outcar_bands(path: str | Path) -> Eigenval:
    """k-points, weights and the last eigenvalues of an OUTCAR (occupations too)."""
    path = Path(path)
    text = read_text(path)
    lines = text.splitlines()
    m = _OUTCAR_COUNTS.search(text)
    if m is None:
        raise ReadError(path, "no NKPTS/NBANDS line: not a VASP OUTCAR")
    nk, nb = int(m.group(1)), int(m.group(2))
    mi = _OUTCAR_ISPIN.search(text)
    ispin = int(mi.group(1)) if mi else 1
    kw = _outcar_kpoints(lines, path)
    if kw is None or len(kw[0]) != nk:
        raise ReadError(path, f"the k-point list does not hold the NKPTS = {nk} k-points")
    fermi = [i for i, x in enumerate(lines) if _OUTCAR_EFERMI.search(x)]
    if not fermi:
        raise ReadError(path, "no eigenvalues (no 'E-fermi' line; did the run finish?)")
    energies = np.empty((ispin, nk, nb))
    occupations = np.empty((ispin, nk, nb))
    i = fermi[-1]
    for s in range(ispin):
        for k in range(nk):
            while i < len(lines) and not re.match(rf"^\s*k-point\s+{k + 1}\s*:", lines[i]):
                i += 1
            if i >= len(lines):
                raise ReadError(
                    path, f"truncated: no eigenvalues of k-point {k + 1} (spin {s + 1})"
                )
            block = lines[i + 2 : i + 2 + nb]
            try:
                values = np.array([[float(x) for x in b.split()[1:3]] for b in block])
            except ValueError:
                raise ReadError(path, f"line {i + 3}: eigenvalues are not numbers") from None
            if values.shape != (nb, 2):
                raise ReadError(path, f"truncated: k-point {k + 1} lacks some of its {nb} bands")
            energies[s, k], occupations[s, k] = values[:, 0], values[:, 1]
            i += 2 + nb
    if not np.isfinite(energies).all():
        raise ReadError(path, "eigenvalues hold NaN or infinite numbers")
    return Eigenval(float("nan"), kw[0], kw[1], energies, occupations)


def route_labels(comment: str) -> list[str]:
    """The path a KPOINTS comment names as its last word: ``… GXMGZ`` → G, X, M, G, Z."""
    words = re.split(r"[\s,;:]+", comment.strip())
    last = words[-1] if words else ""
    parts = (
        re.split(r"[-|]", last)
        if re.search(r"[-|]", last)
        else re.findall(r"Γ|[A-Z][a-z]*\d*(?:_\d+)?", last)
    )
    if len(parts) < 2 or "".join(parts) != re.sub(r"[-|]", "", last):
        return []
    return [normalize_label(p) for p in parts]


def path_labels(kpoints: np.ndarray, structure: Any, comment: str) -> tuple[list[str | None], str]:
    """Labels of an unlabelled path: the KPOINTS comment's route at the path's corners where it
    names as many points as there are and puts Γ only at Γ, else inferred from coordinates."""
    from bandprint.read.labels import infer_labels, turning_points

    corners = turning_points(kpoints)
    labels: list[str | None] = [None] * len(kpoints)
    route = route_labels(comment)
    at_gamma = [bool(np.allclose(kpoints[i] - np.round(kpoints[i]), 0, atol=1e-4)) for i in corners]
    if len(route) == len(corners) and all(
        (lab == "Γ") == g for lab, g in zip(route, at_gamma, strict=True)
    ):
        for i, lab in zip(corners, route, strict=True):
            labels[i] = lab
        return labels, "KPOINTS comment"
    inferred = infer_labels(kpoints, structure)
    for i in corners:
        labels[i] = inferred[i]
    return labels, "inferred from coordinates"


def read_outcar(
    path: str | Path,
    kpoints: str | Path | None = None,
    efermi: float | None = None,
    material_id: str | None = None,
) -> BandStructure:
    """A band structure from the OUTCAR of a run whose path is the zero-weight k-points after the
    self-consistent mesh (hybrid functionals, explicit lists), with the ``KPOINTS`` and ``POSCAR``
    beside it. Labels come from the KPOINTS (its labels, else the route its comment names), else
    from the coordinates."""
    path = Path(path)
    folder = path.parent
    eig = parse_outcar_bands(path)
    kp_path = Path(kpoints) if kpoints is not None else kpoints_beside(path)
    kp = read_kpoints(kp_path) if kp_path is not None else None
    kpts, weights = eig.kpoints, eig.weights
    same = (
        kp is not None
        and len(kp.kpts) == len(kpts)
        and kp.kpts_weights is not None
        and np.allclose(np.asarray(kp.kpts, dtype=float), kpts, atol=1e-6)
    )
    if same:  # KPOINTS holds the same list at full precision (OUTCAR prints weights to 3 decimals)
        kpts = np.asarray(kp.kpts, dtype=np.float64)
        weights = np.asarray(kp.kpts_weights, dtype=np.float64)
    zero = np.nonzero(weights == 0)[0]
    if (
        zero.size == 0
        or zero[0] == 0
        or not (np.diff(zero) == 1).all()
        or zero[-1] != len(weights) - 1
    ):
        raise ReadError(path, "no zero-weight k-points after the self-consistent mesh: no path")
    first = int(zero[0])
    cell = _lattice_beside(folder)
    if cell is None or cell[1] is None:
        raise ReadError(path, "no POSCAR (or CONTCAR) beside it: its cell and atoms are needed")
    lattice, structure = cell
    meta: dict[str, Any] = {
        "code": "VASP",
        "source_format": FORMAT_OUTCAR,
        "zero_weight_path": True,
    }
    meta["formula"] = structure.composition.reduced_formula
    if efermi is None:
        efermi = fermi_level_from_outcar(path)
        meta["efermi_source"] = "OUTCAR"
    else:
        meta["efermi_source"] = "given"
    path_k = kpts[first:]
    labels_dict: dict[str, np.ndarray] = {}
    if kp is not None and kpoints_path_kind(kp) == "list":
        labels_dict = _labels_dict(kp, kp_path, first)
    if labels_dict:
        meta["labels_source"] = "KPOINTS"
        return _assemble(
            path_k,
            eig.energies[:, first:],
            efermi,
            structure,
            labels_dict,
            material_id or file_material_id(path),
            str(path),
            meta,
            lattice=lattice,
        )
    return _assemble_unlabelled(
        path_k,
        eig.energies[:, first:],
        efermi,
        structure,
        kp.comment if kp is not None else "",
        material_id or file_material_id(path),
        str(path),
        meta,
        lattice,
    )


def _assemble_unlabelled(
    kpts: np.ndarray,
    energies: np.ndarray,
    efermi: float,
    structure: Any,
    comment: str,
    material_id: str,
    source: str,
    metadata: dict[str, Any],
    lattice: np.ndarray | None = None,
) -> BandStructure:
    """The band structure of a path whose KPOINTS names no point: labels from the route its
    comment names, else from the coordinates (``path_labels``)."""
    if structure is None:
        raise ReadError(source, "the path has no labels and no structure to infer them from")
    lattice = structure.lattice.matrix if lattice is None else np.asarray(lattice, np.float64)
    meta = dict(metadata)
    labels, meta["labels_source"] = path_labels(kpts, structure, comment)
    reciprocal = 2 * np.pi * np.linalg.inv(lattice).T
    try:
        distances, segments = path_geometry(kpts @ reciprocal, labels)
    except BandprintError as exc:
        raise ReadError(source, str(exc)) from None
    return BandStructure(
        material_id=material_id,
        energies=energies,
        efermi=efermi,
        distances=distances,
        segments=segments,
        kpoints=kpts,
        reciprocal_lattice=reciprocal,
        formula=meta.pop("formula", None),
        source=source,
        source_format=meta.pop("source_format"),
        structure=structure,
        metadata=meta,
    )


# -- folders -------------------------------------------------------------------------------
def _with_siblings(folder: Path, main: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """The main file and those siblings that exist: all of them decide an ingest's freshness."""
    extra = [sibling(folder, n) for n in names]
    return (str(main), *(str(p) for p in extra if p is not None))


_EIGENVAL_SIBLINGS = ("KPOINTS", "OUTCAR", "DOSCAR", "CONTCAR", "POSCAR")


def vasp_folder_sources(root: Path) -> FolderClaim | None:
    """The VASP band structure of a run folder or of a split run, and what else the folder holds.

    A run folder (``vasprun.xml`` and/or ``EIGENVAL``) is one source, read from ``vasprun.xml``
    where there is one; a folder of ``split-01``, ``split-02``, … runs is one source. A
    self-consistent run on a k-point grid is no band structure and yields nothing. Other files
    and sub-folders (``Si/`` holding the SCF run and ``Si/bands/`` the band run) are walked as
    usual, so claiming the folder hides nothing.
    """
    vasprun = sibling(root, "vasprun.xml")
    eigenval = sibling(root, "EIGENVAL")
    splits = sorted(
        d for d in _subfolders(root) if SPLIT_FOLDER.match(d.name) and sibling(d, "vasprun.xml")
    )
    if vasprun is None and eigenval is None and not splits:
        return None
    sources = []
    if vasprun is not None:
        if not _vasprun_is_grid_run(vasprun):
            paths = _with_siblings(root, vasprun, ("KPOINTS",))
            sources.append(Source(FORMAT_VASPRUN, paths, run_material_id(root)))
    elif eigenval is not None:
        if not _kpoints_is_grid(sibling(root, "KPOINTS")):
            paths = _with_siblings(root, eigenval, _EIGENVAL_SIBLINGS)
            sources.append(Source(FORMAT_EIGENVAL, paths, run_material_id(root)))
    elif splits:
        paths = tuple(
            p for d in splits for p in _with_siblings(d, sibling(d, "vasprun.xml"), ("KPOINTS",))
        )
        sources.append(Source(FORMAT_VASPRUN, paths, run_material_id(root)))
    run_files = {p for p in (vasprun, eigenval) if p is not None}
    if run_files:  # the run's own OUTCAR serves its E_F or cell, it is no second band structure
        run_files.add(sibling(root, "OUTCAR"))
    claimed_dirs = set(splits) if vasprun is None and eigenval is None else set()
    rest = [
        p
        for p in sorted(root.iterdir())
        if not p.name.startswith(".") and p not in run_files and p not in claimed_dirs
    ]
    return FolderClaim(sources, rest)


def file_source(path: Path) -> Source:
    """The Source for a vasprun, EIGENVAL or OUTCAR named directly: with the files beside it it
    needs."""
    head = read_head(path)
    if looks_like_vasprun(head):
        fmt, names = FORMAT_VASPRUN, ("KPOINTS",)
    elif looks_like_outcar(head):
        fmt, names = FORMAT_OUTCAR, ("KPOINTS", "CONTCAR", "POSCAR")
    else:
        fmt, names = FORMAT_EIGENVAL, _EIGENVAL_SIBLINGS
    paths = _with_siblings(path.parent, path, names)
    kp = kpoints_beside(path)
    if kp is not None and str(kp) not in paths:
        paths = (*paths, str(kp))
    return Source(fmt, paths, file_material_id(path))


def read_vasp_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects of either VASP format (registered in ``bandprint.read``)."""
    efermi = source.options.get("efermi")
    efermi = None if efermi is None else float(efermi)
    paths = [Path(p) for p in source.paths]
    if source.format == FORMAT_OUTCAR:
        return [read_outcar(paths[0], efermi=efermi, material_id=source.material_id)]
    if source.format == FORMAT_EIGENVAL:
        return [read_eigenval(paths[0], efermi=efermi, material_id=source.material_id)]
    runs = [p for p in paths if _is_vasprun_name(p)] or [paths[0]]
    kpoints = next((p for p in paths if p.name.startswith("KPOINTS")), None)
    return [
        read_vasprun(
            *runs,
            kpoints=kpoints if len(runs) == 1 else None,
            efermi=efermi,
            material_id=source.material_id,
        )
    ]


def _is_vasprun_name(p: Path) -> bool:
    return p.name.lower() in {"vasprun.xml", "vasprun.xml.gz"} or p.suffix.lower() == ".xml"


def _vasprun_is_grid_run(path: Path) -> bool:
    return vasprun_kpoint_kind(read_head(path)) == "grid"


def _kpoints_is_grid(path: Path | None) -> bool:
    """True only for a readable KPOINTS that is an automatic mesh (a self-consistent run)."""
    if path is None:
        return False
    try:
        return kpoints_path_kind(read_kpoints(path)) == "grid"
    except ReadError:
        return False


# -- small helpers -------------------------------------------------------------------------
def _subfolders(root: Path) -> Iterator[Path]:
    try:
        yield from (d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    except OSError:
        return


def _check_not_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ReadError(path, "file not found") from None
    except OSError as exc:
        raise ReadError(path, f"cannot read: {exc.strerror or exc}") from None
    if size == 0:
        raise ReadError(path, "file is empty")


def _next_line(body: Iterator[tuple[int, str]], path: Path, what: str) -> tuple[int, str]:
    try:
        return next(body)
    except StopIteration:
        raise ReadError(path, f"truncated: file ends before {what}") from None


def _next_nonblank(body: Iterator[tuple[int, str]], path: Path, what: str) -> tuple[int, str]:
    while True:
        lineno, line = _next_line(body, path, what)
        if line.strip():
            return lineno, line


def _to_float(text: str, path: Path, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ReadError(path, f"{what} is not a number: {text!r}") from None
    if not np.isfinite(value):
        raise ReadError(path, f"{what} is {text}")
    return value


def _describe(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first[:200]}" if first else type(exc).__name__
