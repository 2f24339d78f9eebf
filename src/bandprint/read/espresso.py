"""Quantum ESPRESSO band structures: ``pw.x`` output of a ``calculation='bands'`` run, and the
``data-file-schema.xml`` that ``pw.x`` writes into ``<prefix>.save/``.

pw.x output: the header gives the cell (``crystal axes`` in units of ``alat``), the electron and
band counts, and the k-points (``cryst. coord.`` list, else Cartesian in 2π/alat); after ``End of
band structure calculation`` each k-point's energies (eV) follow ``k = … bands (ev):``, spin up
then spin down (``SPIN UP``/``SPIN DOWN`` sections) in a collinear spin-polarised run. With
spin–orbit (noncollinear) there is one channel of one-electron bands.

The XML (schema ``qes``) holds the same in Hartree: ``output/band_structure`` with ``lsda``,
``noncolin``, ``nbnd`` (or ``nbnd_up``/``nbnd_dw``), ``nelec``, ``fermi_energy`` or
``highestOccupiedLevel``/``lowestUnoccupiedLevel``, and one ``ks_energies`` per k-point (its
``k_point`` Cartesian in 2π/alat, ``eigenvalues`` up then down); ``output/atomic_structure`` the
cell (Bohr) and atoms.

E_F, in order: ``efermi=``; the file's ``the Fermi energy is`` (``fermi_energy``); a
self-consistent pw.x output beside it (``the Fermi energy is``, or mid-gap between its ``highest
occupied, lowest unoccupied level``); else, for an insulator, mid-gap between the highest occupied
and lowest empty band of the path itself, occupied bands counted from the electron number (one
electron per band with spin–orbit, two otherwise). A bands run prints no Fermi level, so this is
the common case. Labels: a bands run carries none, so they are inferred from the coordinates
(``bandprint.read.labels``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import BandStructure, path_geometry
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import iter_lines, material_id_from_path, read_bytes, read_text
from bandprint.read.labels import infer_labels
from bandprint.read.source import Source
from bandprint.read.units import BOHR, HARTREE

FORMAT_OUT = "espresso-out"
FORMAT_XML = "espresso-xml"

_FLOAT = r"[-+]?(?:\d+\.\d*|\.\d+)(?:[eEdD][-+]?\d+)?"
_NUM = re.compile(r"-?\d+\.\d+|\*{3,}")
_BAND_END = re.compile(r"End of (band structure|self-consistent) calculation")
_KLINE = re.compile(r"^\s*k\s*=(.*)bands \(ev\)")
_KLIST = re.compile(
    r"k\(\s*\d+\)\s*=\s*\(\s*(" + _FLOAT + r")\s+(" + _FLOAT + r")\s+(" + _FLOAT + r")"
)


def looks_like_pw_output(head: bytes) -> bool:
    return b"Program PWSCF" in head[:4096]


def is_bands_run(path: Path) -> bool:
    """A pw.x output of a band-structure run (not a self-consistent one on a mesh). Reads up to
    the line that says which, just after the k-point list."""
    for line in iter_lines(path):
        if "Band Structure Calculation" in line or "End of band structure calculation" in line:
            return True
        if "Self-consistent Calculation" in line or "End of self-consistent calculation" in line:
            return False
    return False


def looks_like_qe_xml(head: bytes) -> bool:
    """QE's XML of a non-self-consistent run (a self-consistent one is on a mesh, not a path)."""
    if b"<qes:espresso" not in head[:4096] and b"quantum-espresso.org/ns/qes" not in head[:4096]:
        return False
    m = re.search(rb"<calculation>\s*([a-z-]+)\s*</calculation>", head)
    return m is None or m.group(1) in (b"bands", b"nscf")


# -- pw.x output ---------------------------------------------------------------------------
def _number(pattern: str, text: str, path: Path, what: str, default: float | None = None) -> float:
    m = re.search(pattern, text)
    if m is None:
        if default is not None:
            return default
        raise ReadError(path, f"no {what} in the header")
    return float(m.group(1))


def _vectors(lines: list[str], start: int, name: str, path: Path) -> np.ndarray:
    rows = []
    for line in lines[start + 1 : start + 4]:
        m = re.search(name + r"\(\d\)\s*=\s*\((.*)\)", line)
        if m is None:
            raise ReadError(path, f"malformed {name}(i) block near line {start + 2}")
        rows.append([float(x) for x in m.group(1).split()])
    return np.array(rows)


def fermi_levels(text: str) -> dict[str, float]:
    """What a pw.x output last states about E_F: ``efermi``, or ``homo`` (and ``lumo``), eV."""
    f = "(" + _FLOAT + ")"
    patterns = [
        (r"the Fermi energy is\s+" + f + r"\s*ev", lambda m: {"efermi": float(m.group(1))}),
        (
            r"the spin up/dw Fermi energies are\s+" + f + r"\s+" + f + r"\s*ev",
            lambda m: {"efermi": (float(m.group(1)) + float(m.group(2))) / 2},
        ),
        (
            r"highest occupied, lowest unoccupied level \(ev\):\s+" + f + r"\s+" + f,
            lambda m: {"homo": float(m.group(1)), "lumo": float(m.group(2))},
        ),
        (r"highest occupied level \(ev\):\s+" + f, lambda m: {"homo": float(m.group(1))}),
    ]
    last: tuple[int, dict[str, float]] = (-1, {})
    for pattern, value in patterns:
        for m in re.finditer(pattern, text):
            if m.start() > last[0]:
                last = (m.start(), value(m))
    return last[1]


def parse_pw_output(path: str | Path) -> dict[str, Any]:
    """Cell, structure, k-points (fractional), energies ``[spin, k, band]`` (eV) and counts."""
    path = Path(path)
    text = read_text(path)
    lines = text.splitlines()
    alat = _number(r"lattice parameter \(alat\)\s*=\s*(" + _FLOAT + ")", text, path, "alat")
    nelec = _number(r"number of electrons\s*=\s*(" + _FLOAT + ")", text, path, "electron count")
    nbnd = int(_number(r"number of Kohn-Sham states\s*=\s*(\d+)", text, path, "band count"))
    nks = int(_number(r"number of k points\s*=\s*(\d+)", text, path, "k-point count"))
    axes = next((i for i, x in enumerate(lines) if "crystal axes:" in x), None)
    if axes is None:
        raise ReadError(path, "no 'crystal axes' block")
    cell_alat = _vectors(lines, axes, "a", path)
    header = text[: text.find("number of k points")]
    spin_orbit = "calculation with spin-orbit" in header
    noncolin = spin_orbit or "Noncollinear calculation" in header
    ends = [i for i, x in enumerate(lines) if _BAND_END.search(x)]
    if not ends:
        raise ReadError(
            path, "no band energies (no 'End of band structure calculation'; did it finish?)"
        )
    lsda = any("SPIN UP" in x for x in lines[ends[-1] : ends[-1] + 40])
    nk = nks // 2 if lsda else nks

    kstart = next(i for i, x in enumerate(lines) if "number of k points" in x)
    window = range(kstart, min(len(lines), kstart + nks + 10))
    cryst = next((i for i in window if lines[i].strip() == "cryst. coord."), None)
    kfrac = _klist(lines, cryst, nks, path) if cryst is not None else None
    if kfrac is None:
        kcart = _klist(lines, kstart + 1, nks, path)
        kfrac = kcart @ cell_alat.T  # a_i · b_j = δ_ij in alat and 2π/alat units
    kfrac = kfrac[:nk]

    energies = _band_blocks(lines[ends[-1] + 1 :], nk * (2 if lsda else 1), nbnd, path)
    energies = energies.reshape(2 if lsda else 1, nk, nbnd)
    return {
        "alat": alat,
        "cell": cell_alat * alat * BOHR,
        "structure": _structure(lines, cell_alat, alat, path),
        "kpoints": kfrac,
        "energies": energies,
        "nelec": nelec,
        "noncolin": noncolin,
        "spin_orbit": spin_orbit,
        "lsda": lsda,
        "fermi": fermi_levels(text),
    }


def _klist(lines: list[str], start: int, n: int, path: Path) -> np.ndarray:
    out = []
    for line in lines[start + 1 : start + 1 + n]:
        m = _KLIST.search(line)
        if m is None:
            raise ReadError(path, f"truncated k-point list: {len(out)} of {n}")
        out.append([float(m.group(i)) for i in (1, 2, 3)])
    if len(out) != n:
        raise ReadError(path, f"truncated k-point list: {len(out)} of {n}")
    return np.array(out)


def _band_blocks(lines: list[str], nblocks: int, nbnd: int, path: Path) -> np.ndarray:
    """Energies of the ``k = … bands (ev):`` blocks, skipping occupation blocks."""
    blocks: list[list[float]] = []
    current: list[float] | None = None
    for line in lines:
        if _KLINE.match(line):
            if len(blocks) == nblocks:
                break
            current = []
            blocks.append(current)
            continue
        stripped = line.strip()
        if current is None or not stripped:
            continue
        if not re.match(r"^[-\d*.\s]+$", stripped):
            current = None  # "occupation numbers", "the Fermi energy is", "Writing …"
            continue
        tokens = _NUM.findall(stripped)
        if any(t.startswith("*") for t in tokens):
            raise ReadError(path, f"an energy overflowed its field: {stripped[:60]!r}")
        if len(current) < nbnd:
            current.extend(float(t) for t in tokens)
    if len(blocks) != nblocks:
        raise ReadError(path, f"truncated: energies for {len(blocks)} of {nblocks} k-points")
    for i, b in enumerate(blocks):
        if len(b) != nbnd:
            raise ReadError(path, f"k-point {i + 1} has {len(b)} energies, expected {nbnd}")
    return np.array(blocks)


def _structure(lines: list[str], cell_alat: np.ndarray, alat: float, path: Path) -> Any:
    from pymatgen.core import Lattice, Structure

    start = next((i for i, x in enumerate(lines) if "positions (cryst. coord.)" in x), None)
    frac = True
    if start is None:
        start = next((i for i, x in enumerate(lines) if "positions (alat units)" in x), None)
        frac = False
    if start is None:
        return None
    species, coords = [], []
    for line in lines[start + 1 :]:
        m = re.match(r"^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=\s*\((.*)\)", line)
        if m is None:
            break
        species.append(re.sub(r"[\d_+-].*$", "", m.group(1)))
        coords.append([float(x) for x in m.group(2).split()])
    if not species:
        return None
    lattice = Lattice(cell_alat * alat * BOHR)
    xyz = np.array(coords)
    try:
        if frac:
            return Structure(lattice, species, xyz)
        return Structure(lattice, species, xyz * alat * BOHR, coords_are_cartesian=True)
    except (ValueError, KeyError) as exc:
        raise ReadError(path, f"unreadable atomic positions ({exc})") from None


# -- data-file-schema.xml ------------------------------------------------------------------
def _find(root: ET.Element, tag: str) -> ET.Element | None:
    return next((e for e in root.iter() if e.tag.split("}")[-1] == tag), None)


def _floats(e: ET.Element | None, path: Path, what: str) -> np.ndarray:
    if e is None or e.text is None:
        raise ReadError(path, f"no <{what}>")
    try:
        return np.array([float(x) for x in e.text.split()])
    except ValueError:
        raise ReadError(path, f"<{what}> is not numbers") from None


def parse_qe_xml(path: str | Path) -> dict[str, Any]:
    """The same content as ``parse_pw_output`` from a ``data-file-schema.xml``."""
    from pymatgen.core import Lattice, Structure

    path = Path(path)
    try:
        root = ET.fromstring(read_bytes(path))
    except ET.ParseError as exc:
        raise ReadError(path, f"not well-formed XML ({exc})") from None
    output = _find(root, "output")
    bs = _find(output, "band_structure") if output is not None else None
    atomic = _find(output, "atomic_structure") if output is not None else None
    if bs is None or atomic is None:
        raise ReadError(path, "no output/band_structure or output/atomic_structure")

    def flag(tag: str) -> bool:
        e = _find(bs, tag)
        return e is not None and (e.text or "").strip().lower() == "true"

    lsda, noncolin, spin_orbit = flag("lsda"), flag("noncolin"), flag("spinorbit")
    try:
        alat = float(atomic.get("alat", "nan"))
        cell_bohr = np.stack([_floats(_find(atomic, f"a{i}"), path, f"a{i}") for i in (1, 2, 3)])
    except ValueError:
        raise ReadError(path, "atomic_structure: alat or cell is not numbers") from None
    finite = np.isfinite(alat) and np.isfinite(cell_bohr).all()
    if cell_bohr.shape != (3, 3) or not finite or abs(np.linalg.det(cell_bohr)) < 1e-9:
        raise ReadError(path, "atomic_structure: no valid cell (a1, a2, a3) and alat")
    nbnd = _count(bs, "nbnd_up" if lsda else "nbnd", path)
    nelec = float(_floats(_find(bs, "nelec"), path, "nelec")[0])
    kpts, energies = [], []
    for ks in (e for e in bs if e.tag.split("}")[-1] == "ks_energies"):
        k = _floats(_find(ks, "k_point"), path, "k_point")
        e = _floats(_find(ks, "eigenvalues"), path, "eigenvalues")
        width = (2 if lsda else 1) * nbnd
        if k.shape != (3,) or e.shape != (width,):
            raise ReadError(
                path,
                f"ks_energies {len(kpts) + 1}: {e.size} eigenvalues, expected {width}",
            )
        kpts.append(k)
        energies.append(e.reshape(2 if lsda else 1, nbnd) * HARTREE)
    nks = _count(bs, "nks", path)
    if len(kpts) != nks:
        raise ReadError(path, f"{len(kpts)} ks_energies, nks says {nks}")
    cell_alat = cell_bohr / alat
    kfrac = np.array(kpts) @ cell_alat.T
    if not np.isfinite(kfrac).all():
        raise ReadError(path, "a k_point is not finite numbers")
    fermi: dict[str, float] = {}
    for tag, key in (
        ("fermi_energy", "efermi"),
        ("highestOccupiedLevel", "homo"),
        ("lowestUnoccupiedLevel", "lumo"),
    ):
        e = _find(bs, tag)
        if e is not None:
            fermi[key] = float(_floats(e, path, tag)[0]) * HARTREE
    two = _find(bs, "two_fermi_energies")
    if two is not None:
        fermi["efermi"] = float(_floats(two, path, "two_fermi_energies").mean()) * HARTREE
    species, coords = [], []
    for atom in (e for e in atomic.iter() if e.tag.split("}")[-1] == "atom"):
        species.append(re.sub(r"[\d_+-].*$", "", atom.get("name", "")))
        coords.append(_floats(atom, path, "atom"))
    if not all(c.shape == (3,) and np.isfinite(c).all() for c in coords):
        raise ReadError(path, "an atom's position is not three finite numbers")
    structure = None
    if species:
        try:
            structure = Structure(
                Lattice(cell_bohr * BOHR),
                species,
                np.array(coords) * BOHR,
                coords_are_cartesian=True,
            )
        except (ValueError, KeyError) as exc:
            raise ReadError(path, f"unreadable atoms ({exc})") from None
    return {
        "alat": alat,
        "cell": cell_bohr * BOHR,
        "structure": structure,
        "kpoints": kfrac,
        "energies": np.stack(energies, axis=1),
        "nelec": nelec,
        "noncolin": noncolin,
        "spin_orbit": spin_orbit,
        "lsda": lsda,
        "fermi": fermi,
    }


def _count(parent: ET.Element, tag: str, path: Path) -> int:
    v = _floats(_find(parent, tag), path, tag)
    if v.size != 1 or v[0] < 1 or v[0] != int(v[0]):
        raise ReadError(path, f"<{tag}> is not a positive count")
    return int(v[0])


# -- Fermi level ---------------------------------------------------------------------------
def mid_gap_from_count(
    energies: np.ndarray, nelec: float, noncolin: bool
) -> tuple[float, float, float] | None:
    """(E_F mid-gap, highest occupied, lowest empty) of an insulator on this path, or None.

    Occupied bands per spin: ``nelec`` with spin–orbit, ``nelec / 2`` otherwise (for a
    collinear spin-polarised run, ``nelec / 2`` per channel: right only for a non-magnetic state,
    so that case is not attempted).
    """
    if energies.shape[0] != 1:
        return None
    nocc = nelec if noncolin else nelec / 2
    if abs(nocc - round(nocc)) > 1e-6 or not 1 <= round(nocc) < energies.shape[2]:
        return None
    nocc = round(nocc)
    e = np.sort(energies[0], axis=1)
    homo, lumo = float(e[:, nocc - 1].max()), float(e[:, nocc].min())
    if lumo <= homo:
        return None
    return (homo + lumo) / 2, homo, lumo


def _companion_fermi(path: Path) -> tuple[dict[str, float], Path] | None:
    """E_F statements of a self-consistent pw.x output beside ``path`` (one, unambiguous)."""
    found = []
    for p in sorted(path.parent.iterdir()):
        if p == path or not p.is_file() or p.suffix.lower() not in (".out", ".log", ".txt", ""):
            continue
        try:
            with open(p, "rb") as fh:
                if not looks_like_pw_output(fh.read(4096)):
                    continue
        except OSError:
            continue
        if is_bands_run(p):
            continue
        levels = fermi_levels(read_text(p))
        if levels:
            found.append((levels, p))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = ", ".join(p.name for _, p in found)
        raise ReadError(path, f"several self-consistent outputs beside it ({names}); give efermi=")
    return None


def _fermi(
    parsed: dict[str, Any], path: Path, efermi: float | None
) -> tuple[float, dict[str, Any]]:
    if efermi is not None:
        return float(efermi), {"efermi_source": "given"}
    sources = [(parsed["fermi"], path.name)]
    if parsed["fermi"].get("efermi") is None:
        companion = _companion_fermi(path)
        if companion is not None:
            sources.append((companion[0], companion[1].name))
    for levels, name in sources:
        if "efermi" in levels:
            return levels["efermi"], {"efermi_source": f"{name} (the Fermi energy)"}
    for levels, name in sources:
        if "homo" in levels and "lumo" in levels:
            meta = {
                "efermi_source": f"{name} (mid-gap)",
                "homo": levels["homo"],
                "lumo": levels["lumo"],
            }
            return (levels["homo"] + levels["lumo"]) / 2, meta
    mid = mid_gap_from_count(parsed["energies"], parsed["nelec"], parsed["noncolin"])
    if mid is not None:
        meta = {
            "efermi_source": "mid-gap of the path's bands (electron count)",
            "homo": mid[1],
            "lumo": mid[2],
        }
        return mid[0], meta
    raise ReadError(
        path,
        "no Fermi level: none in it, no self-consistent output beside it, and the bands "
        "are not those of an insulator; give efermi=<eV> (--efermi)",
    )


# -- reading -------------------------------------------------------------------------------
def _band_structure(
    parsed: dict[str, Any], path: Path, efermi: float | None, material_id: str, fmt: str
) -> BandStructure:
    ef, meta = _fermi(parsed, path, efermi)
    structure = parsed["structure"]
    kpoints = parsed["kpoints"]
    reciprocal = 2 * np.pi * np.linalg.inv(parsed["cell"]).T
    labels: list[str | None] = [None] * len(kpoints)
    if structure is not None:
        from bandprint.read.labels import turning_points

        inferred = infer_labels(kpoints, structure)
        # Only where the path turns, starts, ends or jumps: a straight line through a special
        # point (Γ–K–M on one line) is not split there.
        for i in turning_points(kpoints):
            labels[i] = inferred[i]
        meta["labels_source"] = "inferred from coordinates"
    try:
        distances, segments = path_geometry(kpoints @ reciprocal, labels)
    except BandprintError as exc:
        raise ReadError(path, f"{exc} (no special points recognised on the path)") from None
    meta.update(code="Quantum ESPRESSO", spin_orbit=bool(parsed["spin_orbit"]))
    return BandStructure(
        material_id=material_id,
        energies=parsed["energies"],
        efermi=ef,
        distances=distances,
        segments=segments,
        kpoints=kpoints,
        reciprocal_lattice=reciprocal,
        formula=structure.composition.reduced_formula if structure is not None else None,
        source=str(path),
        source_format=fmt,
        structure=structure,
        metadata=meta,
    )


def read_pw_output(
    path: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of a pw.x ``calculation='bands'`` output."""
    path = Path(path)
    parsed = parse_pw_output(path)
    return _band_structure(
        parsed, path, efermi, material_id or output_material_id(path), FORMAT_OUT
    )


#: Output names that say what was run, not on what: the folder names the material instead.
GENERIC_STEMS = frozenset({"bands", "band", "nscf", "scf", "pw", "out", "output", "espresso"})


def output_material_id(path: Path) -> str:
    """``WS2.bands.out`` → ``WS2.bands``; ``Si/bands.out`` → ``Si``."""
    stem = re.sub(r"(\.(out|log|txt|gz))+$", "", path.name, flags=re.IGNORECASE)
    if stem.lower() in GENERIC_STEMS:
        return path.resolve().parent.name or stem
    return stem


def read_qe_xml(
    path: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of a ``data-file-schema.xml`` (material id: the ``.save`` folder's prefix
    or the folder name)."""
    path = Path(path)
    parsed = parse_qe_xml(path)
    folder = path.resolve().parent
    default = folder.name[: -len(".save")] if folder.name.endswith(".save") else folder.name
    if material_id_from_path(path) not in ("data-file-schema", "data-file"):
        default = material_id_from_path(path)
    return _band_structure(parsed, path, efermi, material_id or default, FORMAT_XML)


def read_espresso_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects of either QE format (registered in ``bandprint.read``)."""
    efermi = source.options.get("efermi")
    reader = read_qe_xml if source.format == FORMAT_XML else read_pw_output
    return [reader(source.paths[0], efermi, source.material_id)]
