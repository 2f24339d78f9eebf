"""FHI-aims band structures: ``band1001.out``… per path segment, with ``control.in``,
``geometry.in`` and the main output.

FHI-aims writes one file per ``output band`` line of ``control.in`` and spin channel:
``band<spin><segment>.out`` (``band1001.out`` is spin 1, segment 1; ``band2001.out`` spin 2).
Each line is ``index k1 k2 k3`` (fractional) followed by ``occupation energy`` pairs, energies in
eV relative to the chemical potential. The absolute energies are those plus the chemical potential
the main output states last (``| Chemical potential (Fermi level): -5.00 eV`` or the older
``| Chemical potential is -9.38 eV.``), which is E_F; without the main output E_F is 0 on the
files' own scale. Labels are the last two words of each ``output band`` line (``control.in``, or
its copy in the main output); the cell is ``geometry.in`` or the main output's copy of it.
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
from bandprint.read.source import FolderClaim, Source

FORMAT = "fhi-aims"

BAND_FILE = re.compile(r"^band([12])(\d{3})\.out$")
_MAIN_MARK = "Invoking FHI-aims"
_OUTPUT_BAND = re.compile(r"^\s*output\s+band\s+(.*)$", re.MULTILINE)
_MU = re.compile(
    r"Chemical potential \(Fermi level\)(?: in eV)?\s*:\s*(\S+)|Chemical potential is\s+(\S+)\s+eV"
)
_SPIN = re.compile(r"^\s*spin\s+(\S+)", re.MULTILINE)


def looks_like_band_file(path: Path, head: bytes) -> bool:
    """``bandNNNN.out`` whose first line is an index, three coordinates and value pairs."""
    if not BAND_FILE.match(path.name):
        return False
    first = head.split(b"\n", 1)[0].split()
    return len(first) >= 6 and len(first) % 2 == 0 and first[0].isdigit()


def is_main_output(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return _MAIN_MARK.encode() in fh.read(4096)
    except OSError:
        return False


def run_files(folder: Path) -> dict[str, Any]:
    """The band files, ``control.in``, ``geometry.in`` and main output of a run folder."""
    bands = sorted(p for p in folder.iterdir() if p.is_file() and BAND_FILE.match(p.name))
    mains = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix in (".out", ".log", "")
        and not BAND_FILE.match(p.name)
        and is_main_output(p)
    )
    control = folder / "control.in"
    geometry = folder / "geometry.in"
    return {
        "bands": bands,
        "main": mains[0] if mains else None,
        "control": control if control.is_file() else None,
        "geometry": geometry if geometry.is_file() else None,
    }


def folder_sources(root: Path) -> FolderClaim | None:
    """The FHI-aims band structure of a run folder, and whatever else the folder holds."""
    try:
        files = run_files(root)
    except OSError:
        return None
    if not files["bands"]:
        return None
    main_paths = [files["bands"][0]]
    extra = [files[k] for k in ("control", "geometry", "main") if files[k] is not None]
    paths = [*main_paths, *files["bands"][1:], *extra]
    source = Source(FORMAT, tuple(str(p) for p in paths), root.resolve().name)
    claimed = set(paths)
    rest = [p for p in sorted(root.iterdir()) if not p.name.startswith(".") and p not in claimed]
    return FolderClaim([source], rest)


def file_source(path: Path) -> Source:
    """A band file named on its own: the whole run folder it belongs to."""
    return folder_sources(path.parent).sources[0]


def _band_lines(text: str) -> list[tuple[np.ndarray, np.ndarray, int, str, str]]:
    """``output band`` lines: start, end (fractional), k-point count and the two labels."""
    out = []
    for m in _OUTPUT_BAND.finditer(text):
        words = m.group(1).split("#", 1)[0].split()
        if len(words) < 7:
            continue
        try:
            start = np.array([float(x) for x in words[0:3]])
            end = np.array([float(x) for x in words[3:6]])
            n = int(words[6])
        except ValueError:
            continue
        labels = [*words[7:9], "", ""]
        out.append((start, end, n, normalize_label(labels[0]), normalize_label(labels[1])))
    return out


def _control_text(files: dict[str, Any]) -> str:
    """``control.in``, or the main output's copy of it (the part before the geometry)."""
    if files["control"] is not None:
        return read_text(files["control"])
    if files["main"] is not None:
        return read_text(files["main"])
    return ""


def chemical_potential(text: str) -> float | None:
    """The last chemical potential (E_F, eV) the main output states, or None."""
    found = None
    for m in _MU.finditer(text):
        found = m.group(1) or m.group(2)
    if found is None:
        return None
    value = float(found.replace("D", "E"))
    if not np.isfinite(value):
        raise BandprintError(f"chemical potential is {found}")
    return value


def parse_band_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k-points (fractional), occupations and energies (eV, relative to μ) of one band file."""
    rows = []
    width = None
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            values = [float(x) for x in line.split()]
        except ValueError:
            raise ReadError(path, f"line {lineno}: not numbers: {line.strip()[:60]!r}") from None
        if width is None:
            width = len(values)
            if width < 6 or width % 2:
                raise ReadError(path, f"line {lineno}: expected index, k1 k2 k3, then pairs")
        if len(values) != width:
            raise ReadError(path, f"line {lineno}: {len(values)} numbers, line 1 has {width}")
        rows.append(values)
    a = np.asarray(rows)
    if len(a) < 2:
        raise ReadError(path, f"{len(a)} k-point(s); a path segment needs at least 2")
    if not np.isfinite(a).all():
        raise ReadError(path, "holds NaN or infinite numbers")
    return a[:, 1:4], a[:, 4::2], a[:, 5::2]


def _structure(files: dict[str, Any]) -> Any:
    """The structure from ``geometry.in``, else from the main output."""
    from ase.io import read
    from pymatgen.io.ase import AseAtomsAdaptor

    for key, fmt in (("geometry", "aims"), ("main", "aims-output")):
        p = files[key]
        if p is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                atoms = read(p, format=fmt)
        except Exception as exc:  # ASE raises many types on malformed input
            raise ReadError(p, f"no readable structure ({type(exc).__name__}: {exc})") from None
        if not np.isfinite(atoms.cell[:]).all() or not np.isfinite(atoms.positions).all():
            raise ReadError(p, "the cell or the atom positions are not finite numbers")
        if not atoms.pbc.all() or abs(atoms.cell.volume) < 1e-9:
            raise ReadError(p, "no periodic cell (lattice_vector lines)")
        return AseAtomsAdaptor.get_structure(atoms)
    return None


def read_fhi_aims(
    folder: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of an FHI-aims run folder (layout in the module docstring)."""
    folder = Path(folder)
    files = run_files(folder)
    if not files["bands"]:
        raise ReadError(folder, "no band1001.out… band files in it")
    by_spin: dict[int, dict[int, Path]] = {}
    for p in files["bands"]:
        m = BAND_FILE.match(p.name)
        by_spin.setdefault(int(m.group(1)), {})[int(m.group(2))] = p
    control = _control_text(files)
    spin_word = _SPIN.findall(control)
    polarised = bool(spin_word) and spin_word[0].lower() == "collinear"
    spins = sorted(by_spin)
    first = files["bands"][0]
    if polarised and spins != [1, 2]:
        have = "spin 1 (band1…)" if spins == [1] else "spin 2 (band2…)"
        raise ReadError(first, f"a spin-polarised run, but only {have} band files are here")
    if len(spins) == 2 and set(by_spin[1]) != set(by_spin[2]):
        raise ReadError(first, "the two spin channels have different segments")
    numbers = sorted(by_spin[spins[0]])
    if numbers != list(range(1, len(numbers) + 1)):
        raise ReadError(first, f"segment files {numbers} are not 1…{len(numbers)}")

    lines = _band_lines(control)
    if lines and len(lines) != len(numbers):
        raise ReadError(first, f"{len(lines)} 'output band' lines but {len(numbers)} band files")
    kparts, eparts, sizes = [], [], []
    for n in numbers:
        per_spin = [parse_band_file(by_spin[s][n]) for s in spins]
        k = per_spin[0][0]
        for kk, _, e in per_spin[1:]:
            if (
                kk.shape != k.shape
                or not np.allclose(kk, k, atol=1e-6)
                or e.shape[1] != per_spin[0][2].shape[1]
            ):
                raise ReadError(by_spin[spins[1]][n], "does not match its spin-1 file")
        if lines and lines[n - 1][2] != len(k):
            raise ReadError(
                by_spin[spins[0]][n], f"{len(k)} k-points, control.in asks {lines[n - 1][2]}"
            )
        kparts.append(k)
        eparts.append(np.stack([e for _, _, e in per_spin]))
        sizes.append(len(k))
    if len({e.shape[2] for e in eparts}) != 1:
        raise ReadError(first, "segments have different band counts")
    kpoints = np.concatenate(kparts)
    energies = np.concatenate(eparts, axis=1)

    meta: dict[str, Any] = {"code": "FHI-aims"}
    mu = chemical_potential(read_text(files["main"])) if files["main"] is not None else None
    if efermi is not None:
        shift, ef, meta["efermi_source"] = float(efermi), float(efermi), "given"
    elif mu is not None:
        shift, ef, meta["efermi_source"] = mu, mu, "main output (chemical potential)"
    else:
        shift, ef, meta["efermi_source"] = 0.0, 0.0, "band files (zero is the chemical potential)"
    energies = energies + shift

    structure = _structure(files)
    if structure is None:
        raise ReadError(first, "no cell: put geometry.in (or the main output) beside the files")
    reciprocal = 2 * np.pi * np.linalg.inv(structure.lattice.matrix).T
    labels: list[str | None] = [None] * len(kpoints)
    start = 0
    for i, n in enumerate(sizes):
        if lines:
            labels[start] = lines[i][3] or None
            labels[start + n - 1] = lines[i][4] or None
        start += n
    if not lines:
        from bandprint.read.labels import infer_labels

        inferred = infer_labels(kpoints, structure)
        ends = np.cumsum(sizes)
        for i in {0, *ends[:-1], *(ends - 1)}:
            labels[i] = inferred[i]
        meta["labels_source"] = "inferred from coordinates"
    try:
        distances, segments = path_geometry(kpoints @ reciprocal, labels, sizes)
    except BandprintError as exc:
        raise ReadError(first, str(exc)) from None
    return BandStructure(
        material_id=material_id or folder.resolve().name,
        energies=energies,
        efermi=ef,
        distances=distances,
        segments=segments,
        kpoints=kpoints,
        reciprocal_lattice=reciprocal,
        formula=structure.composition.reduced_formula,
        source=str(first),
        source_format=FORMAT,
        structure=structure,
        metadata=meta,
    )


def read_fhi_aims_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects (registered in ``bandprint.read``)."""
    efermi = source.options.get("efermi")
    first = Path(source.paths[0])
    if not BAND_FILE.match(first.name):
        raise ReadError(first, "not an FHI-aims band file (band<spin><segment>.out)")
    return [read_fhi_aims(first.parent, efermi, source.material_id)]
