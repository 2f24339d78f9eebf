"""exciting band structures: ``bandstructure.xml`` with ``input.xml`` (cell) and ``info.xml`` (E_F).

``bandstructure.xml`` holds one ``<band>`` per state, each a list of ``<point distance="…"
eval="…"/>`` (path length in 1/Bohr, 2π included; energy in Hartree relative to E_F), and one
``<vertex distance="…" label="…" coord="…"/>`` per corner of the path (fractional coordinates).
The k-points between two vertices lie on the straight line joining them, at their path length.
Absolute energies need E_F: the last ``fermiEnergy`` (Hartree) in ``info.xml``; without it E_F
is 0 on the file's own scale. ``input.xml`` gives the cell (``<crystal scale>`` × ``<basevect>``,
Bohr) and the atoms. With collinear spin (``<spin>``) and without spin–orbit exciting still
writes one list of second-variational states, each holding one electron, so there is one
channel.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.bandstructure import BandStructure, normalize_label, segments_from_labels
from bandprint.errors import BandprintError, ReadError
from bandprint.read.files import read_bytes, read_head
from bandprint.read.source import FolderClaim, Source
from bandprint.read.units import BOHR, HARTREE

FORMAT = "exciting"
_FERMI = re.compile(rb'fermiEnergy="([^"]+)"')


def looks_like_exciting(head: bytes) -> bool:
    return b"<bandstructure>" in head[:4096] and b"<point distance=" in head


def _xml(path: Path) -> ET.Element:
    try:
        return ET.fromstring(read_bytes(path))
    except ET.ParseError as exc:
        raise ReadError(path, f"not well-formed XML ({exc})") from None


def _float(value: str | None, path: Path, what: str) -> float:
    try:
        x = float(str(value).replace("D", "E"))
    except ValueError:
        raise ReadError(path, f"{what} is not a number: {value!r}") from None
    if not np.isfinite(x):
        raise ReadError(path, f"{what} is {value}")
    return x


def _vector(value: str | None, path: Path, what: str) -> np.ndarray:
    words = str(value or "").split()
    if len(words) != 3:
        raise ReadError(path, f"{what} is not three numbers: {value!r}")
    return np.array([_float(w, path, what) for w in words])


def parse_bandstructure_xml(path: Path) -> dict[str, Any]:
    """Path lengths (1/Bohr), energies ``[band, k]`` (Hartree, relative to E_F) and vertices."""
    root = _xml(path)
    bands = root.findall("band")
    if not bands:
        raise ReadError(path, "no <band> in it")
    lengths = None
    energies = []
    for i, band in enumerate(bands, start=1):
        points = band.findall("point")
        d = np.array([_float(p.get("distance"), path, "distance") for p in points])
        e = np.array([_float(p.get("eval"), path, "eval") for p in points])
        if lengths is None:
            lengths = d
        elif d.shape != lengths.shape or not np.allclose(d, lengths, atol=1e-8):
            raise ReadError(path, f"band {i} is on other k-points than band 1")
        energies.append(e)
    if lengths is None or len(lengths) < 2:
        raise ReadError(path, "fewer than 2 k-points")
    vertices = [
        (
            _float(v.get("distance"), path, "vertex distance"),
            normalize_label(v.get("label") or ""),
            _vector(v.get("coord"), path, "vertex coord"),
        )
        for v in root.findall("vertex")
    ]
    if len(vertices) < 2:
        raise ReadError(path, "fewer than 2 <vertex> elements: no path")
    return {"lengths": lengths, "energies": np.array(energies), "vertices": vertices}


def structure_from_input(path: Path) -> Any:
    """The structure of an exciting ``input.xml`` (fractional ``<atom coord>``)."""
    from pymatgen.core import Lattice, Structure

    root = _xml(path)
    crystal = root.find("structure/crystal")
    if crystal is None:
        raise ReadError(path, "no <structure><crystal>")
    scale = _float(crystal.get("scale", "1"), path, "crystal scale")
    vectors = [_vector(v.text, path, "basevect") for v in crystal.findall("basevect")]
    if len(vectors) != 3:
        raise ReadError(path, f"{len(vectors)} <basevect>, expected 3")
    species, coords = [], []
    for sp in root.findall("structure/species"):
        symbol = re.sub(r"\.xml$", "", sp.get("speciesfile") or sp.get("chemicalSymbol") or "")
        for atom in sp.findall("atom"):
            species.append(symbol)
            coords.append(_vector(atom.get("coord"), path, "atom coord"))
    if root.find("structure").get("cartesian", "false").lower() == "true":
        raise ReadError(path, "Cartesian atom coordinates are not supported")
    lattice = Lattice(np.array(vectors) * scale * BOHR)
    if abs(lattice.volume) < 1e-9:
        raise ReadError(path, "the cell has zero volume")
    try:
        return Structure(lattice, species, coords)
    except (ValueError, KeyError) as exc:
        raise ReadError(path, f"unreadable species or atoms ({exc})") from None


def fermi_level_from_info(path: Path) -> float | None:
    """The last ``fermiEnergy`` in ``info.xml``, in eV."""
    found = _FERMI.findall(read_bytes(path))
    return _float(found[-1].decode(), path, "fermiEnergy") * HARTREE if found else None


def kpoints_on_path(
    lengths: np.ndarray, vertices: list[tuple[float, str, np.ndarray]]
) -> np.ndarray:
    """Fractional k-points: each on the line between the vertices around its path length."""
    d = np.array([v[0] for v in vertices])
    coords = np.array([v[2] for v in vertices])
    out = np.empty((len(lengths), 3))
    for i, x in enumerate(lengths):
        j = int(np.clip(np.searchsorted(d, x, side="right") - 1, 0, len(d) - 2))
        span = d[j + 1] - d[j]
        t = 0.0 if span <= 0 else (x - d[j]) / span
        out[i] = coords[j] + t * (coords[j + 1] - coords[j])
    return out


def read_exciting(
    path: str | Path, efermi: float | None = None, material_id: str | None = None
) -> BandStructure:
    """The band structure of an exciting ``bandstructure.xml`` and the files beside it."""
    path = Path(path)
    parsed = parse_bandstructure_xml(path)
    folder = path.parent
    structure = None
    if (folder / "input.xml").is_file():
        structure = structure_from_input(folder / "input.xml")
    meta: dict[str, Any] = {"code": "exciting"}
    if efermi is not None:
        ef, meta["efermi_source"] = float(efermi), "given"
    else:
        info = folder / "info.xml"
        found = fermi_level_from_info(info) if info.is_file() else None
        ef = 0.0 if found is None else found
        meta["efermi_source"] = "bandstructure.xml (zero is E_F)" if found is None else "info.xml"
    lengths = parsed["lengths"]
    labels: list[str | None] = [None] * len(lengths)
    for x, name, _ in parsed["vertices"]:
        hit = np.nonzero(np.abs(lengths - x) < 1e-6)[0]
        if hit.size == 0:
            raise ReadError(path, f"vertex {name!r} at {x} is at no k-point")
        for i in hit:
            labels[i] = name or None
    segments = segments_from_labels(labels)
    if not segments:
        raise ReadError(path, "no labelled path segment")
    reciprocal = None
    if structure is not None:
        reciprocal = 2 * np.pi * np.linalg.inv(structure.lattice.matrix).T
    energies = parsed["energies"].T[None, :, :] * HARTREE + ef
    try:
        return BandStructure(
            material_id=material_id or folder.resolve().name,
            energies=energies,
            efermi=ef,
            distances=lengths / BOHR,
            segments=segments,
            kpoints=kpoints_on_path(lengths, parsed["vertices"]),
            reciprocal_lattice=reciprocal,
            formula=structure.composition.reduced_formula if structure is not None else None,
            source=str(path),
            source_format=FORMAT,
            structure=structure,
            metadata=meta,
        )
    except BandprintError as exc:
        raise ReadError(path, str(exc)) from None


def folder_sources(root: Path) -> FolderClaim | None:
    """An exciting run folder: ``bandstructure.xml`` with its ``input.xml`` and ``info.xml``
    (which are no band structures themselves), and whatever else the folder holds."""
    main = root / "bandstructure.xml"
    if not main.is_file() or not looks_like_exciting(read_head(main)):
        return None
    extra = [root / n for n in ("input.xml", "info.xml") if (root / n).is_file()]
    paths = (main, *extra)
    source = Source(FORMAT, tuple(str(p) for p in paths), root.resolve().name)
    rest = [p for p in sorted(root.iterdir()) if not p.name.startswith(".") and p not in paths]
    return FolderClaim([source], rest)


def file_source(path: Path) -> Source:
    """``bandstructure.xml`` named on its own: with the ``input.xml`` and ``info.xml`` beside it."""
    return folder_sources(path.parent).sources[0]


def read_exciting_source(source: Source) -> list[BandStructure]:
    """Reader for ``Source`` objects (registered in ``bandprint.read``)."""
    efermi = source.options.get("efermi")
    return [read_exciting(source.paths[0], efermi, source.material_id)]
