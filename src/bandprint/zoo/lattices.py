"""Lattices: geometry, bonds from distance shells, Bloch Hamiltonians, the lattice builders.

One module because the fifteen builders are a few lines each over the private geometry and
bond helpers (``_s_lattice``, ``_p_lattice``, ``_frac``, ``_by_shell``) they all share.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.bandstructure import BandStructure, path_distances, segments_from_labels
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from pymatgen.core import Structure

#: Vacuum along c (Å) of the slab cell the structures and reciprocal lattices use.
VACUUM = 20.0
#: k-points along the whole path (shared out over segments by length) and the filling mesh.
PATH_KPOINTS = 120
MESH = 12

_TWO_PI = 2.0 * math.pi


# -- k-paths --------------------------------------------------------------------------------
@dataclass(frozen=True)
class KPath:
    """A high-symmetry path: labels and fractional reciprocal coordinates of its corners."""

    name: str
    labels: tuple[str, ...]
    points: tuple[tuple[float, float], ...]

    def sample(
        self, reciprocal: np.ndarray, n_kpoints: int = PATH_KPOINTS
    ) -> tuple[np.ndarray, list[str | None]]:
        """k-points ``[nk, 3]`` (fractional, third 0) and per-point labels.

        Segments get points in proportion to their length (at least 8 each) and both ends,
        so corners repeat where segments meet, as pymatgen's line-mode paths do.
        """
        corners = np.array([[x, y, 0.0] for x, y in self.points])
        lengths = np.linalg.norm(np.diff(corners @ reciprocal, axis=0), axis=1)
        counts = np.maximum(8, np.rint(n_kpoints * lengths / lengths.sum())).astype(int)
        kpts, labels = [], []
        for s, n in enumerate(counts):
            f = np.linspace(0.0, 1.0, n)[:, None]
            kpts.append(corners[s] + f * (corners[s + 1] - corners[s]))
            labels.extend([self.labels[s], *([None] * (n - 2)), self.labels[s + 1]])
        return np.concatenate(kpts), labels


PATHS: dict[str, KPath] = {
    # Hexagonal cell with a1 = a(1, 0), a2 = a(−1/2, √3/2) (γ = 120°, pymatgen's setting).
    "hexagonal": KPath(
        "hexagonal", ("Γ", "M", "K", "Γ"), ((0, 0), (0.5, 0), (1 / 3, 1 / 3), (0, 0))
    ),
    "square": KPath("square", ("Γ", "X", "M", "Γ"), ((0, 0), (0, 0.5), (0.5, 0.5), (0, 0))),
    "rectangular": KPath(
        "rectangular",
        ("Γ", "X", "S", "Y", "Γ"),
        ((0, 0), (0.5, 0), (0.5, 0.5), (0, 0.5), (0, 0)),
    ),
}


def slab_cell(a1: Iterable[float], a2: Iterable[float], thickness: float = 0.0) -> np.ndarray:
    """3×3 cell (rows, Å): the in-plane vectors and c = thickness + ``VACUUM`` along z."""
    cell = np.zeros((3, 3))
    cell[0, :2] = list(a1)
    cell[1, :2] = list(a2)
    cell[2, 2] = thickness + VACUUM
    return cell


def reciprocal_lattice(cell: np.ndarray) -> np.ndarray:
    """Reciprocal lattice rows with 2π included (pymatgen's ``reciprocal_lattice``)."""
    return _TWO_PI * np.linalg.inv(cell).T


# -- geometry -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bonds:
    """Every bond once: orbital-free site pairs ``i → j + R`` with vector, length and shell."""

    i: np.ndarray
    j: np.ndarray
    R: np.ndarray
    vec: np.ndarray
    dist: np.ndarray
    shell: np.ndarray

    def take(self, mask: np.ndarray) -> Bonds:
        return Bonds(*(x[mask] for x in (self.i, self.j, self.R, self.vec, self.dist, self.shell)))


def find_bonds(
    cell: np.ndarray, positions: np.ndarray, n_shells: int = 3, tol: float = 1e-3
) -> Bonds:
    """Bonds of the first ``n_shells`` distance shells (3-D distances, Å), each listed once.

    Shells are distinct bond lengths in increasing order (1 = nearest neighbours); ``tol``
    (Å) merges lengths that differ only by rounding.
    """
    ns = len(positions)
    # Cells up to two away: complete for bonds shorter than the shortest cell vector, which
    # covers every shell the builders ask for.
    shifts = np.array(list(itertools.product(range(-2, 3), repeat=2)))
    ii, jj, rr = np.meshgrid(np.arange(ns), np.arange(ns), np.arange(len(shifts)), indexing="ij")
    ii, jj, rr = ii.ravel(), jj.ravel(), rr.ravel()
    R = shifts[rr]
    # Each bond once: i < j, or i == j with R in the upper half-plane.
    positive = (R[:, 0] > 0) | ((R[:, 0] == 0) & (R[:, 1] > 0))
    keep = (ii < jj) | ((ii == jj) & positive)
    ii, jj, R = ii[keep], jj[keep], R[keep]
    vec = positions[jj] + R @ cell[:2] - positions[ii]
    dist = np.linalg.norm(vec, axis=1)
    order = np.argsort(dist, kind="stable")
    ii, jj, R, vec, dist = ii[order], jj[order], R[order], vec[order], dist[order]
    shell = np.concatenate([[1], 1 + np.cumsum(np.diff(dist) > tol)])
    sel = shell <= n_shells
    return Bonds(ii[sel], jj[sel], R[sel], vec[sel], dist[sel], shell[sel])


# -- the lattice ----------------------------------------------------------------------------
#: The element every site of a family carries: a label (one formula per family), not chemistry.
FAMILY_ELEMENT: dict[str, str] = {
    "square": "Po",
    "rectangular": "P",
    "triangular": "Ag",
    "honeycomb": "C",
    "kagome": "Fe",
    "breathing_kagome": "Nb",
    "lieb": "Cu",
    "dice": "B",
    "checkerboard": "Ir",
    "square_octagon": "Si",
    "star": "Au",
    "bilayer_kagome": "Co",
    "bilayer_honeycomb": "Ge",
    "two_orbital_square": "Bi",
    "px_py_honeycomb": "Sb",
}


@dataclass
class Lattice:
    """A tight-binding model on a 2-D lattice; ``H(k)`` for many k at once.

    ``hop_i``/``hop_j`` index orbitals; ``hop_value`` is the Hamiltonian matrix element ``h``
    (already ``−t`` for s orbitals). Each bond appears once; its conjugate is added in ``H``.
    """

    family: str
    cell: np.ndarray
    positions: np.ndarray
    orbital_site: np.ndarray
    orbital_kind: tuple[str, ...]
    onsite: np.ndarray
    hop_i: np.ndarray
    hop_j: np.ndarray
    hop_R: np.ndarray
    hop_value: np.ndarray
    path: KPath
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_orbitals(self) -> int:
        return len(self.orbital_site)

    @property
    def element(self) -> str:
        return FAMILY_ELEMENT.get(self.family, "C")

    @functools.cached_property
    def reciprocal(self) -> np.ndarray:
        """Reciprocal lattice rows (1/Å, 2π included) of the slab cell."""
        return reciprocal_lattice(self.cell)

    @functools.cached_property
    def _hop_geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # Bond vectors, and the hoppings grouped by matrix slot: fixed for a lattice.
        pos = self.positions[self.orbital_site, :2]
        d = pos[self.hop_j] + self.hop_R @ self.cell[:2, :2] - pos[self.hop_i]
        slot = self.hop_i * self.n_orbitals + self.hop_j
        order = np.argsort(slot, kind="stable")
        sorted_slot = slot[order]
        starts = np.flatnonzero(np.r_[True, sorted_slot[1:] != sorted_slot[:-1]])
        return d, order, sorted_slot[starts], starts

    def hamiltonian(self, kfrac: np.ndarray) -> np.ndarray:
        """``H(k)`` as ``[nk, n_orbitals, n_orbitals]`` for fractional k (``[nk, 2 or 3]``)."""
        k = np.atleast_2d(np.asarray(kfrac, dtype=float))
        kcart = k[:, :2] @ self.reciprocal[:2, :2]
        d, order, slots, starts = self._hop_geometry
        phase = np.exp(1j * (kcart @ d.T)) * self.hop_value
        n = self.n_orbitals
        # Sum hoppings that share a matrix slot (reduceat, not a BLAS product: these arrays are
        # tiny and threaded BLAS only adds overhead).
        upper = np.zeros((len(k), n * n), dtype=complex)
        if len(slots):
            upper[:, slots] = np.add.reduceat(phase[:, order], starts, axis=1)
        upper = upper.reshape(-1, n, n)
        h = upper + upper.conj().transpose(0, 2, 1)
        h[:, np.arange(n), np.arange(n)] += self.onsite
        return h

    def eigenvalues(self, kfrac: np.ndarray) -> np.ndarray:
        """Band energies ``[nk, n_orbitals]`` in eV, ascending."""
        return np.linalg.eigvalsh(self.hamiltonian(kfrac))

    def kpath(self, n_kpoints: int = PATH_KPOINTS) -> tuple[np.ndarray, list[str | None]]:
        """The family's high-symmetry path: fractional k ``[nk, 3]`` and per-point labels."""
        return self.path.sample(self.reciprocal, n_kpoints)

    def mesh(self, n: int = MESH) -> np.ndarray:
        """A uniform Γ-centred ``n × n`` mesh of the Brillouin zone (fractional ``[n², 2]``)."""
        g = np.arange(n) / n
        return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)

    def fermi_level(self, electrons: float, n: int = MESH) -> float:
        """E_F for ``electrons`` per cell (both spins) filled into the lowest mesh states."""
        e = np.sort(self.eigenvalues(self.mesh(n)).ravel())
        n_states = electrons / 2.0 * n * n
        if not 0 < n_states < len(e):
            raise BandprintError(
                f"{electrons} electrons per cell do not fit in {self.n_orbitals} bands"
            )
        lo = math.ceil(n_states) - 1
        return float(0.5 * (e[lo] + e[min(lo + 1, len(e) - 1)]))

    def scaled(self, factor: float) -> Lattice:
        """The same lattice with every energy multiplied by ``factor``."""
        params = {
            k: (v if k in GEOMETRY_PARAMS else _scale_param(v, factor))
            for k, v in self.params.items()
        }
        return replace(
            self, onsite=self.onsite * factor, hop_value=self.hop_value * factor, params=params
        )

    def with_spectators(self, bands: Iterable[tuple[float, float]]) -> Lattice:
        """Add remote bands ``(centre, width)`` in eV: one more s orbital on the first site
        each, hopping between neighbouring cells only (a Bravais-lattice band, uncoupled)."""
        hexagonal = self.path.name == "hexagonal"
        shifts = [(1, 0), (0, 1), (1, 1)] if hexagonal else [(1, 0), (0, 1)]
        onsite, hop_i, hop_j, hop_R, hop_value = [], [], [], [], []
        n = self.n_orbitals
        for centre, width in bands:
            # Triangular band: −2t Σcos spans [ε − 6t, ε + 3t]; square: [ε − 4t, ε + 4t].
            t = width / (9.0 if hexagonal else 8.0)
            onsite.append(centre + (1.5 * t if hexagonal else 0.0))
            for R in shifts:
                hop_i.append(n)
                hop_j.append(n)
                hop_R.append(R)
                hop_value.append(-t)
            n += 1
        if not onsite:
            return self
        return replace(
            self,
            orbital_site=np.concatenate([self.orbital_site, np.zeros(len(onsite), int)]),
            orbital_kind=self.orbital_kind + ("spectator",) * len(onsite),
            onsite=np.concatenate([self.onsite, onsite]),
            hop_i=np.concatenate([self.hop_i, hop_i]).astype(int),
            hop_j=np.concatenate([self.hop_j, hop_j]).astype(int),
            hop_R=np.concatenate([self.hop_R, np.array(hop_R, int).reshape(-1, 2)]),
            hop_value=np.concatenate([self.hop_value, hop_value]),
        )

    def structure_dict(self) -> dict[str, Any]:
        """The sites as a pymatgen ``Structure.as_dict()`` (written directly, it is fast)."""
        cell = self.cell
        lengths = np.linalg.norm(cell, axis=1)

        def angle(u: np.ndarray, v: np.ndarray) -> float:
            return math.degrees(math.acos(float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v))))

        xyz = self._site_coords()
        abc = xyz @ np.linalg.inv(cell)
        el = self.element
        return {
            "@module": "pymatgen.core.structure",
            "@class": "Structure",
            "charge": 0.0,
            "lattice": {
                "matrix": cell.tolist(),
                "pbc": [True, True, True],
                "a": float(lengths[0]),
                "b": float(lengths[1]),
                "c": float(lengths[2]),
                "alpha": angle(cell[1], cell[2]),
                "beta": angle(cell[0], cell[2]),
                "gamma": angle(cell[0], cell[1]),
                "volume": float(abs(np.linalg.det(cell))),
            },
            "properties": {},
            "sites": [
                {
                    "species": [{"element": el, "occu": 1}],
                    "abc": f.tolist(),
                    "properties": {},
                    "label": el,
                    "xyz": x.tolist(),
                }
                for f, x in zip(abc, xyz, strict=True)
            ],
        }

    def structure(self) -> Structure:
        """The sites as a pymatgen ``Structure`` (family element, vacuum along c)."""
        from pymatgen.core import Structure

        return Structure.from_dict(self.structure_dict())

    def _site_coords(self) -> np.ndarray:
        # Centre the layer(s) in the vacuum so no site sits on the cell boundary.
        coords = self.positions.copy()
        coords[:, 2] += 0.5 * (self.cell[2, 2] - np.ptp(coords[:, 2])) - coords[:, 2].min()
        return coords

    def band_structure(
        self,
        material_id: str | None = None,
        efermi: float = 0.0,
        n_kpoints: int = PATH_KPOINTS,
        energy_offset: float = 0.0,
        exchange_splitting: float = 0.0,
        with_structure: bool = True,
        metadata: dict[str, Any] | None = None,
        path_energies: np.ndarray | None = None,
        kpath: tuple[np.ndarray, list[str | None]] | None = None,
    ) -> BandStructure:
        """The bands along the family's high-symmetry path as a ``BandStructure``.

        Energies are the eigenvalues plus ``energy_offset`` (``efermi`` is given on the same
        absolute scale). A non-zero ``exchange_splitting`` gives two spin channels shifted by
        ∓Δ/2 (spin up lower). ``path_energies`` (``[nk, nband]``) skips the diagonalisation
        when the caller already has the eigenvalues on this path (``kpath``, from
        ``self.kpath(n_kpoints)``, the path itself).
        """
        kpts, labels = kpath if kpath is not None else self.kpath(n_kpoints)
        e = self.eigenvalues(kpts) if path_energies is None else path_energies
        e = e + energy_offset
        if exchange_splitting:
            energies = np.stack([e - exchange_splitting / 2, e + exchange_splitting / 2])
        else:
            energies = e[None]
        rec = self.reciprocal
        return BandStructure(
            material_id=material_id or self.family,
            energies=energies,
            efermi=efermi,
            distances=path_distances(kpts @ rec, labels),
            segments=segments_from_labels(labels),
            kpoints=kpts,
            reciprocal_lattice=rec,
            formula=self.element,
            source=None,
            source_format="zoo",
            structure=self.structure() if with_structure else None,
            metadata=dict(metadata or {"family": self.family, "is_2d": True}),
        )


#: Builder parameters that are lengths or ratios, not energies (``scaled`` leaves them).
GEOMETRY_PARAMS = frozenset({"a", "b", "d", "s", "breathing", "lam"})


def _scale_param(v: Any, factor: float) -> Any:
    if v is None:
        return None
    if isinstance(v, list | tuple):
        return [float(x) * factor for x in v]
    return float(v) * factor


# -- building lattices ----------------------------------------------------------------------
def _s_lattice(
    family: str,
    cell: np.ndarray,
    positions: np.ndarray,
    bonds: Bonds,
    t: np.ndarray,
    onsite: Iterable[float],
    path: str,
    params: dict[str, Any],
) -> Lattice:
    """One s orbital per site; ``t`` is the hopping parameter per bond (0 drops it)."""
    keep = np.asarray(t, dtype=float) != 0
    b = bonds.take(keep)
    return Lattice(
        family=family,
        cell=cell,
        positions=positions,
        orbital_site=np.arange(len(positions)),
        orbital_kind=("s",) * len(positions),
        onsite=np.asarray(list(onsite), dtype=float),
        hop_i=b.i,
        hop_j=b.j,
        hop_R=b.R,
        hop_value=-np.asarray(t, dtype=float)[keep],
        path=PATHS[path],
        params=params,
    )


def _p_lattice(
    family: str,
    cell: np.ndarray,
    positions: np.ndarray,
    bonds: Bonds,
    vsigma: np.ndarray,
    vpi: np.ndarray,
    onsite: Iterable[float],
    path: str,
    params: dict[str, Any],
) -> Lattice:
    """px and py on every site, Slater–Koster hopping from the bond directions."""
    ns = len(positions)
    n_hat = bonds.vec[:, :2] / bonds.dist[:, None]
    hi, hj, hR, hv = [], [], [], []
    for a in range(2):
        for c in range(2):
            value = n_hat[:, a] * n_hat[:, c] * (vsigma - vpi) + (a == c) * vpi
            hi.append(2 * bonds.i + a)
            hj.append(2 * bonds.j + c)
            hR.append(bonds.R)
            hv.append(value)
    value = np.concatenate(hv)
    keep = np.abs(value) > 1e-14
    return Lattice(
        family=family,
        cell=cell,
        positions=positions,
        orbital_site=np.repeat(np.arange(ns), 2),
        orbital_kind=("px", "py") * ns,
        onsite=np.asarray(list(onsite), dtype=float),
        hop_i=np.concatenate(hi)[keep],
        hop_j=np.concatenate(hj)[keep],
        hop_R=np.concatenate(hR)[keep],
        hop_value=value[keep],
        path=PATHS[path],
        params=params,
    )


def _hex_cell(a: float, thickness: float = 0.0) -> np.ndarray:
    return slab_cell((a, 0.0), (-a / 2, a * math.sqrt(3) / 2), thickness)


def _frac(cell: np.ndarray, frac: list[tuple[float, float]], z: float = 0.0) -> np.ndarray:
    f = np.asarray(frac, dtype=float)
    out = np.zeros((len(f), 3))
    out[:, :2] = f @ cell[:2, :2]
    out[:, 2] = z
    return out


def _by_shell(bonds: Bonds, *t_per_shell: float) -> np.ndarray:
    t = np.zeros(len(bonds.dist))
    for s, value in enumerate(t_per_shell, start=1):
        t[bonds.shell == s] = value
    return t


def _eps(eps: Iterable[float] | float | None, n: int) -> list[float]:
    if eps is None:
        return [0.0] * n
    if isinstance(eps, int | float):
        return [float(eps)] * n
    values = [float(x) for x in eps]
    if len(values) != n:
        raise BandprintError(f"expected {n} on-site energies, got {len(values)}")
    return values


def square(a: float = 3.0, t: float = 1.0, t2: float = 0.0, eps: float = 0.0) -> Lattice:
    """Square lattice, one site: NN ``t``, diagonal NNN ``t2``."""
    params = _p(locals())
    cell = slab_cell((a, 0), (0, a))
    pos = _frac(cell, [(0, 0)])
    b = find_bonds(cell, pos, 2)
    return _s_lattice("square", cell, pos, b, _by_shell(b, t, t2), [eps], "square", params)


def rectangular(
    a: float = 3.0, b: float = 4.0, tx: float = 1.0, ty: float = 0.5, t2: float = 0.0,
    eps: float = 0.0,
) -> Lattice:  # fmt: skip
    """Rectangular lattice (a < b), one site: ``tx`` along a, ``ty`` along b, diagonal ``t2``."""
    params = _p(locals())
    if not a < b:
        raise BandprintError(f"rectangular lattice needs a < b, got a={a}, b={b}")
    cell = slab_cell((a, 0), (0, b))
    pos = _frac(cell, [(0, 0)])
    bonds = find_bonds(cell, pos, 3)
    t = _by_shell(bonds, tx, ty, t2)
    return _s_lattice("rectangular", cell, pos, bonds, t, [eps], "rectangular", params)


def triangular(a: float = 3.0, t: float = 1.0, t2: float = 0.0, eps: float = 0.0) -> Lattice:
    """Triangular lattice, one site: NN ``t``, NNN ``t2`` (at √3 a)."""
    params = _p(locals())
    cell = _hex_cell(a)
    pos = _frac(cell, [(0, 0)])
    b = find_bonds(cell, pos, 2)
    t_b = _by_shell(b, t, t2)
    return _s_lattice("triangular", cell, pos, b, t_b, [eps], "hexagonal", params)


def honeycomb(a: float = 3.0, t: float = 1.0, t2: float = 0.0, delta: float = 0.0) -> Lattice:
    """Honeycomb (graphene-like): NN ``t``, same-sublattice NNN ``t2``, sublattice mass ±Δ/2."""
    params = _p(locals())
    cell = _hex_cell(a)
    pos = _frac(cell, [(1 / 3, 2 / 3), (2 / 3, 1 / 3)])
    b = find_bonds(cell, pos, 2)
    onsite = [delta / 2, -delta / 2]
    return _s_lattice("honeycomb", cell, pos, b, _by_shell(b, t, t2), onsite, "hexagonal", params)


_KAGOME = [(0.5, 0.0), (0.0, 0.5), (0.5, 0.5)]


def kagome(
    a: float = 5.0, t: float = 1.0, t2: float = 0.0, eps: Iterable[float] | None = None
) -> Lattice:
    """Kagome: NN ``t`` (bond a/2), NNN ``t2`` (at a√3/2), on-site energies ``eps`` (3)."""
    params = _p(locals())
    cell = _hex_cell(a)
    pos = _frac(cell, _KAGOME)
    b = find_bonds(cell, pos, 2)
    t_b = _by_shell(b, t, t2)
    return _s_lattice("kagome", cell, pos, b, t_b, _eps(eps, 3), "hexagonal", params)


def breathing_kagome(
    a: float = 5.0, breathing: float = 0.2, t_up: float = 1.0, t_down: float = 0.6,
    t2: float = 0.0, eps: Iterable[float] | None = None,
) -> Lattice:  # fmt: skip
    """Kagome whose up triangles shrink: sides a(1−β)/2 (``t_up``) and a(1+β)/2 (``t_down``).

    NNN ``t2`` acts on the third distance shell (the kagome next-nearest neighbours).
    """
    params = _p(locals())
    if not 0 < breathing < 0.5:
        raise BandprintError(f"breathing must lie in (0, 0.5), got {breathing}")
    cell = _hex_cell(a)
    centre = np.array([2 / 3, 1 / 3])
    # Up-triangle corners of the 120° cell around the honeycomb site (2/3, 1/3).
    corners = np.array([(0.5, 0.0), (1.0, 0.5), (0.5, 0.5)])
    frac = centre + (1 - breathing) * (corners - centre)
    pos = _frac(cell, [tuple(x) for x in frac])
    b = find_bonds(cell, pos, 3)
    t_b = _by_shell(b, t_up, t_down, t2)
    return _s_lattice("breathing_kagome", cell, pos, b, t_b, _eps(eps, 3), "hexagonal", params)


def lieb(
    a: float = 4.0, t: float = 1.0, t2: float = 0.0, eps: Iterable[float] | None = None
) -> Lattice:
    """Lieb (CuO2-plane) lattice: corner + two edge sites; NN ``t``, edge–edge NNN ``t2``."""
    params = _p(locals())
    cell = slab_cell((a, 0), (0, a))
    pos = _frac(cell, [(0, 0), (0.5, 0), (0, 0.5)])
    b = find_bonds(cell, pos, 2)
    t_b = _by_shell(b, t, t2)
    return _s_lattice("lieb", cell, pos, b, t_b, _eps(eps, 3), "square", params)


def dice(
    a: float = 4.0, t: float = 1.0, t_rim: float = 0.0, eps: Iterable[float] | None = None
) -> Lattice:
    """Dice (T3): hub at the origin bonded to two rim sites (``t``); rim–rim bonds of the same
    length get ``t_rim`` (0 in the ideal lattice, which has a flat band at the rim energy)."""
    params = _p(locals())
    cell = _hex_cell(a)
    pos = _frac(cell, [(0, 0), (1 / 3, 2 / 3), (2 / 3, 1 / 3)])
    b = find_bonds(cell, pos, 1)
    hub = (b.i == 0) | (b.j == 0)
    t_b = np.where(hub, t, t_rim)
    return _s_lattice("dice", cell, pos, b, t_b, _eps(eps, 3), "hexagonal", params)


def checkerboard(
    a: float = 4.0, t: float = 1.0, t_cross: float = 1.0, t2: float = 0.0,
    eps: Iterable[float] | None = None,
) -> Lattice:  # fmt: skip
    """Checkerboard (planar pyrochlore): sites A (0,0), B (½,½); NN ``t`` (A–B); the crossings
    of alternate plaquettes, A–A along x and B–B along y, get ``t_cross``; the other
    second-shell bonds get ``t2``. ``t_cross = t`` gives a flat band."""
    params = _p(locals())
    cell = slab_cell((a, 0), (0, a))
    pos = _frac(cell, [(0, 0), (0.5, 0.5)])
    b = find_bonds(cell, pos, 2)
    along_x = np.abs(b.vec[:, 1]) < 1e-9
    crossing = (b.shell == 2) & (((b.i == 0) & along_x) | ((b.i == 1) & ~along_x))
    t_b = np.where(b.shell == 1, t, np.where(crossing, t_cross, t2))
    return _s_lattice("checkerboard", cell, pos, b, t_b, _eps(eps, 2), "square", params)


def square_octagon(
    a: float = 5.0, s: float = 0.25, t_intra: float = 1.0, t_inter: float = 1.0,
    t2: float = 0.0, eps: Iterable[float] | None = None,
) -> Lattice:  # fmt: skip
    """Square-octagon (4-8) lattice: a square plaquette per cell, corners at (½±s, ½), (½, ½±s).

    ``t_intra`` on plaquette edges, ``t_inter`` between plaquettes, ``t2`` on the plaquette
    diagonals.
    """
    params = _p(locals())
    if not 0 < s < 0.5:
        raise BandprintError(f"square_octagon needs 0 < s < 0.5, got {s}")
    cell = slab_cell((a, 0), (0, a))
    pos = _frac(cell, [(0.5 + s, 0.5), (0.5, 0.5 + s), (0.5 - s, 0.5), (0.5, 0.5 - s)])
    b = find_bonds(cell, pos, 4)
    plaquette_edge = np.isclose(b.dist, s * a * math.sqrt(2))
    inter = np.isclose(b.dist, (1 - 2 * s) * a) & (b.R != 0).any(axis=1)
    diagonal = np.isclose(b.dist, 2 * s * a) & (b.R == 0).all(axis=1)
    t_b = np.where(inter, t_inter, 0.0) + np.where(plaquette_edge, t_intra, 0.0)
    t_b = t_b + np.where(diagonal, t2, 0.0)
    return _s_lattice("square_octagon", cell, pos, b, t_b, _eps(eps, 4), "square", params)


def _star_positions(cell: np.ndarray, lam: float) -> np.ndarray:
    # Each honeycomb vertex becomes a triangle pulled a fraction ``lam`` towards its neighbours.
    verts = {0: np.array([1 / 3, 2 / 3]), 1: np.array([2 / 3, 1 / 3])}
    deltas = [np.array(d) for d in ((1 / 3, -1 / 3), (1 / 3, 2 / 3), (-2 / 3, -1 / 3))]
    frac = [verts[0] + lam * d for d in deltas] + [verts[1] - lam * d for d in deltas]
    return _frac(cell, [tuple(f) for f in frac])


def star(
    a: float = 6.0, lam: float = 0.25, t_intra: float = 1.0, t_inter: float = 1.0,
    t2: float = 0.0, eps: Iterable[float] | None = None,
) -> Lattice:  # fmt: skip
    """Star (decorated honeycomb, triangle–honeycomb) lattice: 6 sites, ``t_intra`` inside the
    triangles, ``t_inter`` on the bonds joining them, ``t2`` between triangles' next
    neighbours (the third shell of the ideal geometry)."""
    params = _p(locals())
    if not 0 < lam < 0.5:
        raise BandprintError(f"star needs 0 < lam < 0.5, got {lam}")
    cell = _hex_cell(a)
    pos = _star_positions(cell, lam)
    b = find_bonds(cell, pos, 4)
    triangle = (b.R == 0).all(axis=1) & ((b.i // 3) == (b.j // 3))
    dimer = (b.i // 3 != b.j // 3) & np.isclose(b.dist, (1 - 2 * lam) * a / math.sqrt(3))
    other = ~triangle & ~dimer
    nnn = other & (b.dist <= np.min(b.dist[other], initial=np.inf) + 1e-6)
    t_b = np.where(triangle, t_intra, 0.0) + np.where(dimer, t_inter, 0.0)
    t_b = t_b + np.where(nnn, t2, 0.0)
    return _s_lattice("star", cell, pos, b, t_b, _eps(eps, 6), "hexagonal", params)


def bilayer_kagome(
    a: float = 5.0, d: float = 3.3, t: float = 1.0, t_perp: float = 0.3, t2: float = 0.0,
    eps: Iterable[float] | None = None,
) -> Lattice:  # fmt: skip
    """AA-stacked kagome bilayer: in-plane NN ``t`` and NNN ``t2``, ``t_perp`` between sites
    stacked vertically (distance ``d`` Å). Flat bands at 2t ± t_perp in the ideal case."""
    params = _p(locals())
    cell = _hex_cell(a, d)
    pos = np.concatenate([_frac(cell, _KAGOME, 0.0), _frac(cell, _KAGOME, d)])
    b = find_bonds(cell, pos, 6)
    same_layer = (b.i // 3) == (b.j // 3)
    vertical = ~same_layer & (np.linalg.norm(b.vec[:, :2], axis=1) < 1e-6)
    nn, nnn = a / 2, a * math.sqrt(3) / 2
    t_b = np.where(same_layer & np.isclose(b.dist, nn), t, 0.0)
    t_b = t_b + np.where(same_layer & np.isclose(b.dist, nnn), t2, 0.0)
    t_b = t_b + np.where(vertical, t_perp, 0.0)
    return _s_lattice("bilayer_kagome", cell, pos, b, t_b, _eps(eps, 6), "hexagonal", params)


def bilayer_honeycomb(
    a: float = 2.46, d: float = 3.35, t: float = 1.0, t_perp: float = 0.15,
    delta: float = 0.0,
) -> Lattice:  # fmt: skip
    """Bernal (AB) honeycomb bilayer: NN ``t`` in each layer, ``t_perp`` on the vertical
    dimers, layer bias ``delta`` (±Δ/2, opens a gap at K)."""
    params = _p(locals())
    cell = _hex_cell(a, d)
    lower = _frac(cell, [(1 / 3, 2 / 3), (2 / 3, 1 / 3)], 0.0)
    upper = _frac(cell, [(2 / 3, 1 / 3), (0.0, 0.0)], d)
    pos = np.concatenate([lower, upper])
    b = find_bonds(cell, pos, 8)
    same_layer = (b.i // 2) == (b.j // 2)
    vertical = ~same_layer & (np.linalg.norm(b.vec[:, :2], axis=1) < 1e-6)
    t_b = np.where(same_layer & np.isclose(b.dist, a / math.sqrt(3)), t, 0.0)
    t_b = t_b + np.where(vertical, t_perp, 0.0)
    onsite = [delta / 2, delta / 2, -delta / 2, -delta / 2]
    return _s_lattice("bilayer_honeycomb", cell, pos, b, t_b, onsite, "hexagonal", params)


def two_orbital_square(
    a: float = 3.0, vsigma: float = 1.0, vpi: float = -0.2, vsigma2: float = 0.0,
    vpi2: float = 0.0, delta: float = 0.0,
) -> Lattice:  # fmt: skip
    """px, py on a square lattice: NN Slater–Koster ``vsigma``/``vpi``, diagonal NNN
    ``vsigma2``/``vpi2``, crystal-field splitting ±Δ/2 (px up). With ``vpi = 0`` each band
    disperses along one axis only (flat along the other)."""
    params = _p(locals())
    cell = slab_cell((a, 0), (0, a))
    pos = _frac(cell, [(0, 0)])
    b = find_bonds(cell, pos, 2)
    vs = _by_shell(b, vsigma, vsigma2)
    vp = _by_shell(b, vpi, vpi2)
    onsite = [delta / 2, -delta / 2]
    return _p_lattice("two_orbital_square", cell, pos, b, vs, vp, onsite, "square", params)


def px_py_honeycomb(
    a: float = 3.0, vsigma: float = 1.0, vpi: float = 0.0, delta: float = 0.0
) -> Lattice:
    """px, py on the honeycomb: NN Slater–Koster ``vsigma``/``vpi``, sublattice mass ±Δ/2.
    With ``vpi = 0`` the top and bottom bands are exactly flat (at ±3/2 Vσ)."""
    params = _p(locals())
    cell = _hex_cell(a)
    pos = _frac(cell, [(1 / 3, 2 / 3), (2 / 3, 1 / 3)])
    b = find_bonds(cell, pos, 1)
    vs = _by_shell(b, vsigma)
    vp = _by_shell(b, vpi)
    onsite = [delta / 2, delta / 2, -delta / 2, -delta / 2]
    return _p_lattice("px_py_honeycomb", cell, pos, b, vs, vp, onsite, "hexagonal", params)


def _p(local_vars: dict[str, Any]) -> dict[str, Any]:
    """A builder's arguments as JSON-ready parameters."""
    out: dict[str, Any] = {}
    for k, v in local_vars.items():
        if isinstance(v, int | float | np.floating):
            out[k] = float(v)
        elif v is None:
            out[k] = None
        elif isinstance(v, Iterable) and not isinstance(v, str | np.ndarray | dict):
            out[k] = [float(x) for x in v]
    return out
