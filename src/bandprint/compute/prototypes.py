"""Two-dimensional monolayer prototypes with chemically sensible element substitutions.

Each prototype is an ideal geometry written in terms of one bond length ``d`` (Å) estimated
from covalent radii (``ase.data.covalent_radii``); the in-plane lattice and the atomic
positions are then relaxed with a universal machine-learned potential
(:mod:`bandprint.compute.relax`), so the radii only need to give a sensible start.

The cell's third vector is the out-of-plane axis, orthogonal to the plane, with at least
:data:`VACUUM` Å of vacuum between periodic images of the slab.

Some materials are reserved for independent evaluation and are never generated
(:data:`RESERVED`); other compositions of the same prototypes are.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

#: Vacuum between periodic images of the slab along the out-of-plane axis (Å).
VACUUM = 15.0

#: Elements whose structures are computed spin-polarised, with these starting moments (μB).
MAGNETIC_MOMENTS = {"V": 3.0, "Cr": 4.0, "Mn": 5.0, "Fe": 4.0, "Co": 3.0, "Ni": 2.0}

#: (prototype, reduced formula) pairs kept out of the corpus for independent evaluation.
RESERVED = frozenset(
    [("buckled-honeycomb", f) for f in ("As", "Sb", "Bi", "P")]
    + [("planar-honeycomb", f) for f in ("ZnO", "BeO", "MgO")]
    + [("2H-MX2", f) for f in ("CrS2", "CrSe2", "WTe2")]
    + [("FeSe-type-MX", f) for f in ("SnO", "PbO")]
    + [("MXene-M2X", f) for f in ("Ti2C", "V2C", "Nb2C", "Zr2C")]
    + [("III-VI-M2X2", f) for f in ("InS", "GaTe")]
    + [("1T-MX2-halide", f) for f in ("MgI2", "CaI2", "CdBr2")]
    + [("1T-MX2", f) for f in ("ZrTe2", "HfTe2", "PdSe2", "NiSe2")]
)
#: Formulas reserved whatever the prototype (so no other polymorph of them leaks in).
RESERVED_FORMULAS = frozenset(
    f for _, f in RESERVED if f not in {"P", "As", "Sb", "Bi", "SnO", "PbO"}
)


@dataclass(frozen=True)
class Candidate:
    """One material to compute: its prototype, the substituted elements and a start geometry."""

    prototype: str
    elements: tuple[str, ...]
    atoms: Atoms

    @property
    def formula(self) -> str:
        from pymatgen.core import Composition

        return Composition(self.atoms.get_chemical_formula()).reduced_formula

    @property
    def material_id(self) -> str:
        return f"{self.prototype}_{self.formula}"

    @property
    def magnetic(self) -> bool:
        return any(s in MAGNETIC_MOMENTS for s in self.atoms.get_chemical_symbols())


def bond(a: str, b: str) -> float:
    """Bond length guess (Å): the sum of the two covalent radii."""
    return float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


Site = tuple[str, float, float, float]  # symbol, fractional a, fractional b, z in Å


def slab(a1: np.ndarray, a2: np.ndarray, sites: list[Site]) -> Atoms:
    """A slab from in-plane vectors and sites (fractional in-plane, Cartesian z), with vacuum."""
    z = np.array([s[3] for s in sites])
    thickness = z.max() - z.min()
    c = thickness + VACUUM
    cell = np.array([[*a1[:2], 0.0], [*a2[:2], 0.0], [0.0, 0.0, c]])
    pos = [
        fa * cell[0] + fb * cell[1] + np.array([0.0, 0.0, zz - z.min() + VACUUM / 2])
        for _, fa, fb, zz in sites
    ]
    atoms = Atoms([s[0] for s in sites], positions=pos, cell=cell, pbc=[True, True, False])
    atoms.wrap()
    return atoms


def hexagonal(a: float, sites: list[Site]) -> Atoms:
    return slab(np.array([a, 0.0]), np.array([-a / 2, a * np.sqrt(3) / 2]), sites)


def rectangular(a: float, b: float, sites: list[Site]) -> Atoms:
    return slab(np.array([a, 0.0]), np.array([0.0, b]), sites)


# -- geometries ----------------------------------------------------------------------------
# Octahedral/prismatic MX2 layers: metal–chalcogen bond d = sqrt(a²/3 + h²) with h ≈ a/2.
_HEX_A = 1.0 / np.sqrt(1 / 3 + 0.25)


def mx2_2h(m: str, x: str, y: str | None = None) -> Atoms:
    y = y or x
    d = (bond(m, x) + bond(m, y)) / 2
    a = _HEX_A * d
    return hexagonal(a, [(m, 0, 0, 0), (x, 1 / 3, 2 / 3, a / 2), (y, 1 / 3, 2 / 3, -a / 2)])


def mx2_1t(m: str, x: str, y: str | None = None) -> Atoms:
    y = y or x
    d = (bond(m, x) + bond(m, y)) / 2
    a = _HEX_A * d
    return hexagonal(a, [(m, 0, 0, 0), (x, 1 / 3, 2 / 3, a / 2), (y, 2 / 3, 1 / 3, -a / 2)])


def mx2_1t_prime(m: str, x: str) -> Atoms:
    """1T′: the 1T layer in its rectangular (a × √3a) cell with the metals dimerised."""
    a = _HEX_A * bond(m, x)
    b = np.sqrt(3) * a
    h = a / 2
    shift = 0.06  # fractional displacement of each metal toward its partner (Peierls pairing)
    sites: list[Site] = [
        (m, 0.0, 0.0 + shift, 0.0),
        (m, 0.5, 0.5 - shift, 0.0),
        (x, 0.0, 1 / 3, h),
        (x, 0.5, 5 / 6, h),
        (x, 0.0, 2 / 3, -h),
        (x, 0.5, 1 / 6, -h),
    ]
    return rectangular(a, b, sites)


def honeycomb(p: str, q: str, buckling: float = 0.0) -> Atoms:
    d = bond(p, q)
    dz = buckling * d
    a = np.sqrt(3) * np.sqrt(d * d - dz * dz)
    return hexagonal(a, [(p, 1 / 3, 2 / 3, dz / 2), (q, 2 / 3, 1 / 3, -dz / 2)])


def iii_vi(m: str, x: str) -> Atoms:
    """GaS-type X–M–M–X quadruple layer (D3h)."""
    d = bond(m, x)
    a = 1.1 * d * np.sqrt(3) / np.sqrt(1 + 0.5)
    dz = np.sqrt(max(d * d - a * a / 3, 0.5))
    zm = bond(m, m) / 2
    return hexagonal(
        a,
        [
            (m, 1 / 3, 2 / 3, zm),
            (m, 1 / 3, 2 / 3, -zm),
            (x, 2 / 3, 1 / 3, zm + dz),
            (x, 2 / 3, 1 / 3, -zm - dz),
        ],
    )


def fese_type(m: str, x: str) -> Atoms:
    """Tetragonal anti-PbO (litharge) layer: a square metal net with X above and below."""
    d = bond(m, x)
    a = d / np.sqrt(0.25 + 0.137)
    h = 0.37 * a
    return rectangular(a, a, [(m, 0, 0, 0), (m, 0.5, 0.5, 0), (x, 0, 0.5, h), (x, 0.5, 0, -h)])


def puckered(m: str, x: str) -> Atoms:
    """Black-phosphorus (A17) / GeS (B16) puckered layer; ``m == x`` for the elemental one."""
    s = bond(m, x) / 2.24  # the geometry below is phosphorene's, bond 2.24 Å
    a, b, z = 3.30 * s, 4.53 * s, 1.06 * s
    return rectangular(
        a,
        b,
        [(m, 0.0, 0.0804, z), (x, 0.5, 0.4196, z), (m, 0.5, 0.5804, -z), (x, 0.0, 0.9196, -z)],
    )


def mxene(m: str, x: str, n: int = 1, t: str | None = None) -> Atoms:
    """M(n+1)X(n) MXene, optionally terminated by T on both faces above the hollow site."""
    d = bond(m, x)
    a = d / np.sqrt(1 / 3 + 0.144)
    h = np.sqrt(max(d * d - a * a / 3, 0.5))
    stack = ["0", "1", "2"]  # close-packed positions A, B, C
    frac = {"0": (0.0, 0.0), "1": (1 / 3, 2 / 3), "2": (2 / 3, 1 / 3)}
    layers = []
    for i in range(2 * n + 1):  # alternating M X M X … M, ABC stacked
        layers.append((m if i % 2 == 0 else x, stack[i % 3], i * h))
    sites: list[Site] = [(el, *frac[p], z) for el, p, z in layers]
    if t is not None:
        top, bottom = layers[-1], layers[0]
        dt = np.sqrt(max(bond(m, t) ** 2 - a * a / 3, 0.6))
        used = {top[1], layers[-2][1]}
        free_top = next(p for p in stack if p not in used)
        used = {bottom[1], layers[1][1]}
        free_bottom = next(p for p in stack if p not in used)
        sites += [(t, *frac[free_top], top[2] + dt), (t, *frac[free_bottom], bottom[2] - dt)]
    return hexagonal(a, sites)


def _sqrt3_supercell(atoms: Atoms) -> Atoms:
    from ase.build import make_supercell

    return make_supercell(atoms, [[2, 1, 0], [-1, 1, 0], [0, 0, 1]])


def mx3(m: str, x: str) -> Atoms:
    """CrI3/BiI3 honeycomb: a √3×√3 1T layer with one metal of three removed."""
    atoms = _sqrt3_supercell(mx2_1t(m, x))
    metals = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == m]
    del atoms[metals[0]]
    return atoms


def mpx3(m: str, p: str, x: str) -> Atoms:
    """MPS3 / CrSiTe3 type: the MX3 honeycomb with a P2 (Si2, Ge2) dimer in each vacancy."""
    atoms = _sqrt3_supercell(mx2_1t(m, x))
    metals = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == m]
    centre = atoms.positions[metals[0]].copy()
    del atoms[metals[0]]
    half = bond(p, p) / 2
    for dz in (half, -half):
        atoms.append(p)
        atoms.positions[-1] = centre + np.array([0.0, 0.0, dz])
    return atoms


def breathing_kagome(m: str, x: str) -> Atoms:
    """Nb3I8 type: a 2×2 1T layer with one metal of four removed, the rest trimerised around
    the μ3 anion site at (2/3, 1/3) of the supercell (the trimer's threefold axis)."""
    from ase.geometry import find_mic

    atoms = mx2_1t(m, x).repeat((2, 2, 1))
    metals = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == m]
    del atoms[metals[0]]
    metals = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == m]
    target = atoms.cell.array[0] * 2 / 3 + atoms.cell.array[1] / 3
    target[2] = atoms.positions[metals[0], 2]
    to_centre, _ = find_mic(target - atoms.positions[metals], atoms.cell, pbc=[1, 1, 0])
    atoms.positions[metals] += 0.08 * to_centre  # the breathing distortion
    return atoms


def penta(m: str, x: str) -> Atoms:
    """Penta-graphene type MX2: fourfold M in a square net, X2 dimers above and below."""
    s = bond(m, x) / 1.53  # penta-graphene geometry, sp3 bond 1.53 Å
    a, z = 3.64 * s, 0.6 * s
    return rectangular(
        a,
        a,
        [
            (m, 0, 0, 0),
            (m, 0.5, 0.5, 0),
            (x, 0.14, 0.36, z),
            (x, 0.86, 0.64, z),
            (x, 0.36, 0.86, -z),
            (x, 0.64, 0.14, -z),
        ],
    )


def quintuple(m: str, x: str) -> Atoms:
    """Bi2Se3-type X–M–X–M–X quintuple layer, ABC stacked."""
    d = bond(m, x)
    a = d / np.sqrt(1 / 3 + 0.2)
    h = np.sqrt(max(d * d - a * a / 3, 0.5))
    frac = [(0, 0), (1 / 3, 2 / 3), (2 / 3, 1 / 3), (0, 0), (1 / 3, 2 / 3)]
    els = [x, m, x, m, x]
    return hexagonal(
        a, [(el, *f, (i - 2) * h) for i, (el, f) in enumerate(zip(els, frac, strict=False))]
    )


def rocksalt_bilayer(m: str, x: str) -> Atoms:
    """Two (001) layers of rock salt."""
    d = bond(m, x)
    a = np.sqrt(2) * d
    return rectangular(a, a, [(m, 0, 0, 0), (x, 0.5, 0.5, 0), (x, 0, 0, d), (m, 0.5, 0.5, d)])


def square_octagon(p: str, q: str) -> Atoms:
    """T-graphene / square-octagon lattice: squares of four atoms joined corner to corner."""
    d = bond(p, q)
    u = 0.215
    a = d / (2 * u)
    return rectangular(a, a, [(p, u, u, 0), (q, -u, u, 0), (p, -u, -u, 0), (q, u, -u, 0)])


def ma2z4(m: str, a_el: str, z: str) -> Atoms:
    """MoSi2N4 type septuple layer Z–A–Z–M–Z–A–Z: a 2H MZ2 core capped by AZ honeycombs."""
    d_mz, d_az = bond(m, z), bond(a_el, z)
    a = 1.05 * np.sqrt(3) * d_az
    h1 = np.sqrt(max(d_mz**2 - a * a / 3, 0.6))
    sites: list[Site] = [(m, 0, 0, 0)]
    for sign in (1, -1):
        sites += [
            (z, 1 / 3, 2 / 3, sign * h1),
            (a_el, 1 / 3, 2 / 3, sign * (h1 + d_az)),
            (z, 2 / 3, 1 / 3, sign * (h1 + d_az + 0.2)),
        ]
    return hexagonal(a, sites)


def matlockite(m: str, x: str) -> Atoms:
    """PbFCl (matlockite) type MOX layer X–M–O2–M–X, e.g. BiOCl."""
    d = bond(m, "O")
    a = 1.6 * d
    h = np.sqrt(max(d * d - a * a / 4, 0.5))
    hx = np.sqrt(max(bond(m, x) ** 2 - a * a / 2, 1.0))
    return rectangular(
        a,
        a,
        [
            ("O", 0, 0, 0),
            ("O", 0.5, 0.5, 0),
            (m, 0.5, 0, h),
            (m, 0, 0.5, -h),
            (x, 0, 0.5, h + hx),
            (x, 0.5, 0, -h - hx),
        ],
    )


# -- substitutions -------------------------------------------------------------------------
# Element lists are written as one string each, pairs as "A-B": the table stays readable at a
# glance and the formatter does not spread it one element a line.
def _els(text: str) -> list[str]:
    """``"Ti Zr Hf"`` → ``["Ti", "Zr", "Hf"]``."""
    return text.split()


def _couples(text: str) -> list[tuple[str, ...]]:
    """``"Ga-As In-P"`` → ``[("Ga", "As"), ("In", "P")]``."""
    return [tuple(pair.split("-")) for pair in text.split()]


def _pairs(*lists: list[str]) -> list[tuple[str, ...]]:
    """Every combination, one element from each list, in ``itertools.product`` order."""
    return list(itertools.product(*lists))


TM_CHALCOGENIDE_2H = _els("Ti Zr Hf V Nb Ta Cr Mo W Mn Fe Sc Y Re Ni Pd Pt Co Ru Os Rh Ir")
TM_CHALCOGENIDE_1T = _els("Ti Zr Hf V Nb Ta Cr Mo W Mn Fe Co Ni Pd Pt Re Sn Ge Ir Rh Sc Ru Os Pb")
CHALCOGENS = _els("S Se Te")
HALIDE_METALS = _els("Mg Ca Sr Ba Zn Cd Hg Fe Co Ni Mn V Ti Cr Pb Ge Sn Cu Pd Zr")
HALOGENS = _els("Cl Br I")
#: Metals of the M2X MXenes, with and without terminations.
_MXENE_METALS = _els("Sc Ti V Cr Zr Nb Mo Hf Ta W Y")


def _janus(metals: str, anions: list[str]) -> list[tuple[str, ...]]:
    """(M, X, Y) for every metal and every unordered pair X ≠ Y of ``anions``."""
    return [(m, x, y) for m in _els(metals) for x, y in itertools.combinations(anions, 2)]


PROTOTYPES: dict[str, tuple[Callable[..., Atoms], list[tuple[str, ...]]]] = {
    "2H-MX2": (mx2_2h, _pairs(TM_CHALCOGENIDE_2H, [*CHALCOGENS, "O"])),
    "1T-MX2": (mx2_1t, _pairs(TM_CHALCOGENIDE_1T, [*CHALCOGENS, "O"])),
    "1T-MX2-halide": (mx2_1t, _pairs(HALIDE_METALS, HALOGENS)),
    "2H-MXY-Janus": (mx2_2h, _janus("Mo W Cr V Nb Ta Ti Zr Hf", CHALCOGENS)),
    "1T-MXY-Janus": (
        mx2_1t,
        _janus("Pt Pd Sn Zr Hf Ti V Cr Mn Fe", CHALCOGENS)
        + _pairs(_els("Bi Sb"), CHALCOGENS, HALOGENS)
        + _janus("V Cr Mn Fe Co Ni", HALOGENS)
        + [
            t
            for m in _els("Nb Ta Mo W Ge Mg Ca Zn Cd Pb Sn Ti Zr")
            for t in _janus(m, CHALCOGENS if m in {"Nb", "Ta", "Mo", "W", "Ge"} else HALOGENS)
        ],
    ),
    "planar-honeycomb": (
        honeycomb,
        _couples(
            "C-C B-N Al-N Ga-N B-P B-As Si-C Ge-C Sn-C Be-S Zn-S Cd-O Ca-O Sr-O Be-Se In-N "
            "Al-P Cu-Se"
        ),
    ),
    "buckled-honeycomb": (
        lambda p, q: honeycomb(p, q, buckling=0.2),
        _couples(
            "Si-Si Ge-Ge Sn-Sn Pb-Pb Si-Ge Si-Sn Ge-Sn Al-P Al-As Al-Sb Ga-P Ga-As Ga-Sb In-P "
            "In-As In-Sb B-Sb Tl-Sb Tl-Bi In-Bi Ga-Bi Al-Bi Zn-Se Cd-Se Cd-Te Zn-Te Tl-P Tl-As"
        ),
    ),
    "III-VI-M2X2": (iii_vi, _pairs(_els("Al Ga In Tl"), CHALCOGENS)),
    "FeSe-type-MX": (
        fese_type,
        _pairs(_els("Fe Co Mn Ni Cu Zn Sn Pb Ge"), CHALCOGENS) + _couples("Ge-O Ti-O V-O"),
    ),
    "GeS-type-MX": (puckered, _pairs(_els("Ge Sn Si Pb"), CHALCOGENS) + _couples("Si-O")),
    "puckered-elemental": (puckered, _couples("P-P As-As Sb-Sb Bi-Bi Si-Si Ge-Ge Sn-Sn")),
    "MXene-M2X": (mxene, _pairs([*_MXENE_METALS, "Mn"], _els("C N"))),
    "MXene-M3X2": (
        lambda m, x: mxene(m, x, n=2),
        _pairs(_els("Sc Ti V Cr Zr Nb Mo Hf Ta W"), _els("C N")),
    ),
    "MXene-M4X3": (
        lambda m, x: mxene(m, x, n=3),
        _pairs(_els("Ti V Zr Nb Hf Ta Mo Cr W"), _els("C N")),
    ),
    "MXene-M2XT2": (
        lambda m, x, t: mxene(m, x, t=t),
        _pairs(_MXENE_METALS, _els("C N"), _els("O F Cl S"))
        # the halide and chalcogenide terminations made by molten-salt etching
        + _pairs(_MXENE_METALS, _els("C N"), _els("Br Se Te")),
    ),
    "MX3-honeycomb": (
        mx3,
        _pairs(_els("Cr V Mn Fe Ti Sc Y Bi Sb Al Ga In Ru Mo Nb Zr Rh Ir Co Ni"), HALOGENS)
        + _pairs(_els("Hf Os W"), HALOGENS),
    ),
    "Nb3X8-breathing-kagome": (
        breathing_kagome,
        _pairs(_els("Nb Ta Mo V Ti Zr Cr W Ru Hf Re"), HALOGENS),
    ),
    "MPX3": (
        mpx3,
        _pairs(_els("Mn Fe Co Ni Zn Cd Mg V Pd Ca"), ["P"], _els("S Se"))
        + _pairs(_els("Cr Mn V Fe In Bi"), _els("Si Ge"), _els("Te Se"))
        + _pairs(["Sn"], ["P"], _els("S Se")),
    ),
    "1Tprime-MX2": (mx2_1t_prime, _pairs(_els("Mo W Re Nb Ta Ti Zr"), CHALCOGENS)),
    "penta-MX2": (
        penta,
        _couples(
            "C-C Si-C Ge-C Pd-S Pd-Te Pt-S Pt-Se Pt-Te Ni-S Pd-P Pt-P Pd-N Pt-N Ni-N C-N Ni-P "
            "Pd-As Pt-As Ni-As Pt-Sb"
        ),
    ),
    "Bi2Se3-quintuple": (quintuple, _pairs(_els("Bi Sb In Ga Al As"), CHALCOGENS)),
    "rocksalt-bilayer": (
        rocksalt_bilayer,
        _pairs(_els("Pb Sn Ge"), CHALCOGENS)
        + _pairs(_els("Ca Sr Ba Mg"), _els("O S Se"))
        + _pairs(_els("Li Na K Rb Ag"), _els("F Cl Br I"))
        + _pairs(_els("Ca Sr Ba Mg"), ["Te"]),
    ),
    "square-octagon": (
        square_octagon,
        _couples("C-C B-N Si-Si Si-C Al-N Ge-Ge B-P Ga-N Ge-C Sn-C Al-P"),
    ),
    "MA2Z4": (ma2z4, _pairs(_els("Mo W Cr Ti Zr Hf V Nb Ta"), _els("Si Ge"), _els("N P As"))),
    "matlockite-MOX": (
        matlockite,
        _pairs(_els("Bi Y Sc Sb In"), _els("Cl Br I")) + [(m, "F") for m in _els("Bi Y Sc Sb In")],
    ),
}


#: Well-studied materials per prototype, computed first so that a partial corpus holds the
#: ones with published reference values (formulas as pymatgen's ``reduced_formula`` writes them).
WELL_KNOWN = {
    "2H-MX2": ["MoS2", "WS2", "MoSe2", "WSe2", "MoTe2", "NbSe2"],
    "1T-MX2": ["HfS2", "ZrS2", "SnS2", "PtS2", "PtSe2", "TiS2"],
    "1T-MX2-halide": ["CdI2"],
    "planar-honeycomb": ["BN", "C"],
    "buckled-honeycomb": ["Si", "Ge"],
    "III-VI-M2X2": ["GaS", "GaSe", "InSe"],
    "FeSe-type-MX": ["FeSe"],
    "GeS-type-MX": ["GeS", "SnSe"],
    "puckered-elemental": ["P"],
    "MXene-M2XT2": ["Ti2CO2"],
    "MXene-M3X2": ["Ti3C2"],
    "MX3-honeycomb": ["CrI3", "CrBr3"],
    "Nb3X8-breathing-kagome": ["Nb3I8"],
    "MPX3": ["NiPS3", "FePS3"],
    "MA2Z4": ["Si2MoN4"],
    "Bi2Se3-quintuple": ["Bi2Se3"],
}


def candidates(prototypes: list[str] | None = None) -> list[Candidate]:
    """Every substituted material of the given prototypes (all by default), minus the reserved
    ones, ordered round-robin over prototypes so that any prefix covers them all."""
    names = prototypes or list(PROTOTYPES)
    unknown = set(names) - set(PROTOTYPES)
    if unknown:
        raise ValueError(f"unknown prototype(s): {', '.join(sorted(unknown))}")
    per_proto: list[list[Candidate]] = []
    available = set(atomic_numbers)
    for name in names:
        build, subs = PROTOTYPES[name]
        seen: set[str] = set()
        rows = []
        for els in subs:
            if not set(els) <= available:
                continue
            cand = Candidate(name, tuple(els), build(*els))
            f = cand.formula
            if f in seen or (name, f) in RESERVED or f in RESERVED_FORMULAS:
                continue
            seen.add(f)
            rows.append(cand)
        known = WELL_KNOWN.get(name, [])
        rows.sort(key=lambda c: known.index(c.formula) if c.formula in known else len(known))
        per_proto.append(rows)
    out = []
    for group in itertools.zip_longest(*per_proto):
        out.extend(c for c in group if c is not None)
    return out
