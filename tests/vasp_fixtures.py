"""Real-format VASP files derived from the real OsO2 run, for the reader tests.

``slim_vasprun`` writes the real vasprun.xml without its projections and DOS curves (optionally
spin-polarised, without Fermi level, or marked as a grid run); ``write_eigenval``,
``write_outcar`` and ``write_doscar`` write those files in VASP's own layout.
"""

from __future__ import annotations

import copy
import gzip
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np


def slimmed(vasprun_gz: Path) -> bytes:
    """A real vasprun.xml.gz without its projections and DOS curves (the efermi kept)."""
    root = ET.fromstring(gzip.decompress(vasprun_gz.read_bytes()))
    calc = root.find("calculation")
    calc.remove(calc.find("projected"))
    dos = calc.find("dos")
    for child in list(dos):
        if child.tag != "i":
            dos.remove(child)
    return ET.tostring(root, encoding="ISO-8859-1", xml_declaration=True)


def slim_vasprun(
    slim: bytes,
    dst: Path,
    spin_down_shift: float | None = None,
    drop_efermi: bool = False,
    grid: bool = False,
) -> Path:
    """Write the slimmed vasprun, optionally with a second spin channel (spin up shifted),
    without the Fermi level, or marked as a self-consistent grid run."""
    root = ET.fromstring(slim)
    calc = root.find("calculation")
    if drop_efermi:
        calc.remove(calc.find("dos"))
    if spin_down_shift is not None:
        spins = calc.find("eigenvalues/array/set")
        down = copy.deepcopy(spins.find("set[@comment='spin 1']"))
        down.set("comment", "spin 2")
        for r in down.iter("r"):
            e, occ = r.text.split()
            r.text = f" {float(e) + spin_down_shift:.4f} {occ} "
        spins.append(down)
        for i in root.iter("i"):
            if i.get("name") == "ISPIN":
                i.text = " 2"
    if grid:
        gen = ET.Element("generation", param="Monkhorst-Pack")
        ET.SubElement(gen, "v", type="int", name="divisions").text = " 4 4 4 "
        root.find("kpoints").insert(0, gen)
    dst.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(dst, encoding="ISO-8859-1", xml_declaration=True)
    return dst


def fortran_e(x: float, digits: int = 7) -> str:
    """A number as Fortran's ``E15.7`` writes it: ``0.1234567E+01``."""
    if x == 0:
        return f"{0:.{digits}f}E+00"
    exp = math.floor(math.log10(abs(x))) + 1
    mant = round(abs(x) / 10**exp, digits)
    if mant >= 1:
        mant, exp = mant / 10, exp + 1
    return f"{'-' if x < 0 else ''}{mant:.{digits}f}E{exp:+03d}"


def write_eigenval(
    path: Path,
    kpoints: np.ndarray,
    weights: np.ndarray,
    energies: np.ndarray,
    occupations: np.ndarray | None,
    nelect: int,
    nions: int,
    system: str,
) -> Path:
    """Write EIGENVAL as VASP 5.4.4+ does (layout in ``bandprint.read.vasp``'s docstring)."""
    ispin, nk, nb = energies.shape
    out = [
        f"{nions:5d}{nions:5d}{1:5d}{ispin:5d}",
        "".join(f"{fortran_e(x):>15}" for x in (10.63583, 4.472e-10, 4.472e-10, 3.19e-10, 5e-16)),
        "  1.000000000000000E-004",
        "  CAR ",
        f" {system}",
        f"{nelect:7d}{nk:7d}{nb:7d}",
    ]
    for ik in range(nk):
        out.append(" ")
        out.append("".join(f"{fortran_e(x):>15}" for x in (*kpoints[ik], weights[ik])))
        for ib in range(nb):
            widths = (16, 14)
            line = f"{ib + 1:5d}" + "".join(
                f"{energies[s, ik, ib]:{widths[s]}.6f}" for s in range(ispin)
            )
            if occupations is not None:
                line += "".join(f"{occupations[s, ik, ib]:11.6f}" for s in range(ispin))
            out.append(line)
    path.write_text("\n".join(out) + "\n")
    return path


def write_outcar(path: Path, fermi_levels: list[float], lattice: np.ndarray | None) -> Path:
    """The OUTCAR lines bandprint reads (one 'E-fermi' per electronic step, the cell block)."""
    lines = [" vasp.5.4.1 24Jun15 (build Jul 08 2015 18:11:14) complex", ""]
    if lattice is not None:
        rec = np.linalg.inv(lattice).T
        lines.append("      direct lattice vectors                 reciprocal lattice vectors")
        for a, b in zip(lattice, rec, strict=True):
            lines.append("  " + " ".join(f"{x:12.9f}" for x in (*a, *b)))
    for ef in fermi_levels:
        lines.append(f" E-fermi : {ef:9.4f}     XC(G=0):  -8.8771     alpha+bet : -6.6208")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_doscar(path: Path, efermi: float) -> Path:
    head = ["     6     6     1     0", "  0.1063583E+02  0.4472136E-09", "  1.0E-004", "  CAR "]
    head += [" OsO2", f"     10.07489957    -17.58858765    301 {efermi:15.8f}      1.00000000"]
    path.write_text("\n".join(head) + "\n")
    return path
