r"""High-symmetry k-points and paths: label spelling, lattice types, labels from coordinates.

One module because every part answers from the same reduced cell and lattice classification
(label spelling, slab axis, Bravais type, path, naming a k-point), so they agree by construction.

Databases spell and walk the same path differently (``\Gamma``, ``G``, ``GAMMA``; ``X_1`` or
``X₁``; hexagonal cells walked Γ–M–K–Γ or Γ–K–M–Γ), and some inputs carry no labels at all (a
VASP run with an explicit k-point list, zero-weight k-points of a hybrid run). This module
gives every special point one name and one place:

* ``normalize_label`` writes a label one way: ``Γ``, other Greek letters as Unicode capitals,
  subscripts as plain digits (``X_1``, ``X$_1$``, ``X₁`` → ``X1``), primes as ``'``.
* ``vacuum_axis`` finds the out-of-plane lattice vector of a slab (a vacuum gap of at least
  ``VACUUM_GAP`` Å between atomic planes along exactly one lattice vector).
* ``lattice_type_2d`` names the 2-D Bravais lattice of a slab's in-plane cell (oblique,
  rectangular, centred rectangular, square, hexagonal); ``bravais_lattice`` the bulk one in
  the Setyawan–Curtarolo scheme (``"FCC"``, ``"HEX"``, ``"BCT1"``, …).
* ``kpath_spec`` gives, for one cell, the special points, the canonical path and the lattice's
  point symmetry; ``KPathSpec.label_of`` / ``infer_label`` name a k-point from its fractional
  coordinates, recognising every image of a special point under the lattice's point group and
  reciprocal-lattice translations (K and K′ of graphene are both ``K``).

Conventions. Bulk: Setyawan & Curtarolo, *Comput. Mater. Sci.* 49, 299 (2010), as pymatgen's
``KPathSetyawanCurtarolo`` implements it (Materials Project's paths). 2-D: the special points
of the five 2-D Bravais lattices as ASE defines them (C2DB's), on the paths ``PATHS_2D``:
hexagonal Γ–M–K–Γ, square Γ–X–M–Γ, rectangular Γ–X–S–Y–Γ (the in-plane loops of
Setyawan–Curtarolo's TET and ORC paths, and the zoo's; ASE walks square M–Γ–X–M and adds
Γ–S to the rectangle), centred rectangular Γ–X–A1–Y–Γ, oblique Γ–Y–H–C–H1–X–Γ (ASE's). ASE
names rectangular and oblique points after the order of the cell vectors; here the in-plane
cell is first reduced (shortest vector first, acute angle), so X always lies along the shorter
direct lattice vector's reciprocal and the names do not depend on how the cell was written.

Fractional k coordinates are in the basis of the reciprocal lattice given (rows ``b_i`` with
``a_i · b_j = 2π δ_ij``), as every reader stores ``BandStructure.kpoints``. Without a structure
the cell is taken as primitive and its symmetry as its lattice's (a conventional cell of a
centred lattice, given without atoms, is classified as the simple lattice it looks like).
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from pymatgen.core import Lattice, Structure

    from bandprint.bandstructure import BandStructure

#: A slab has at least this many Å between atomic planes along its out-of-plane lattice vector.
#: Bulk crystals stay well below it (graphite's interlayer spacing is 3.35 Å, the van der Waals
#: gaps of layered chalcogenides about 3 Å between atom planes); 2-D databases leave 10–20 Å.
VACUUM_GAP = 6.0
#: Two k-points are the same point when their fractional coordinates (in the standard cell,
#: after symmetry and translations) differ by less than this: files write 1/3 as 0.333333.
K_TOLERANCE = 2e-3
#: Relative tolerance on lengths and dot products when classifying a 2-D lattice.
LATTICE_TOLERANCE = 1e-3

LATTICE_TYPES_2D = ("oblique", "rectangular", "centred rectangular", "square", "hexagonal")
_ASE_2D = {
    "OBL": "oblique",
    "RECT": "rectangular",
    "CRECT": "centred rectangular",
    "SQR": "square",
    "HEX2D": "hexagonal",
}
#: Canonical 2-D paths, in normalised labels (module docstring: where each comes from).
PATHS_2D: dict[str, list[list[str]]] = {
    "hexagonal": [["Γ", "M", "K", "Γ"]],
    "square": [["Γ", "X", "M", "Γ"]],
    "rectangular": [["Γ", "X", "S", "Y", "Γ"]],
    "centred rectangular": [["Γ", "X", "A1", "Y", "Γ"]],
    "oblique": [["Γ", "Y", "H", "C", "H1", "X", "Γ"]],
}

_GREEK = {
    "GAMMA": "Γ",
    "SIGMA": "Σ",
    "DELTA": "Δ",
    "LAMBDA": "Λ",
    "PI": "Π",
    "XI": "Ξ",
    "THETA": "Θ",
    "PHI": "Φ",
    "OMEGA": "Ω",
    "PSI": "Ψ",
    "UPSILON": "Υ",
}
_GAMMA_ALIASES = {"G", "GM", "GAMMA", "Γ"}
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_PRIMES = ("′", "’", "\\prime")


def normalize_label(label: str | None) -> str:
    r"""A special point's label written one way; ``""`` for no label.

    ``\Gamma``, ``$\Gamma$``, ``GAMMA``, ``Gamma``, ``G``, ``GM`` → ``Γ``; other Greek letters
    (``\Sigma_1``, ``SIGMA1``) → Unicode capitals (``Σ1``); subscripts (``X_1``, ``X$_1$``,
    ``X_{1}``, ``X₁``) → digits (``X1``); primes (``K′``, ``K^\prime``, ``K'``) → ``'``;
    ``\mathrm{}``/``\text{}`` wrappers, ``$`` and braces dropped.
    """
    if label is None:
        return ""
    return _normalize_label(str(label))


@lru_cache(maxsize=4096)
def _normalize_label(label: str) -> str:
    # Cached: every segment end of every band structure drawn is named through it.
    text = label.strip().replace("$", "")
    text = re.sub(r"\\(?:mathrm|text|rm|mathit)\s*\{([^}]*)\}", r"\1", text)
    for p in _PRIMES:
        text = text.replace(p, "'")
    text = text.translate(_SUBSCRIPTS).replace("\\", "")
    text = text.replace("{", "").replace("}", "").replace("_", "").replace("^", "").strip()
    if not text:
        return ""
    m = re.fullmatch(r"([A-Za-zΑ-Ωα-ωΓ]+?)(\d*)('*)", text)
    if m is None:
        return text
    name, digits, primes = m.groups()
    upper = name.upper()
    if upper in _GAMMA_ALIASES:
        name = "Γ"
    elif upper in _GREEK:
        name = _GREEK[upper]
    elif len(name) == 1:
        name = name.upper()
    return name + digits + primes


# -- dimensionality -------------------------------------------------------------------------
def vacuum_gaps(structure: Structure) -> np.ndarray:
    """Largest empty gap (Å) between atomic planes along each lattice vector, ``[3]``.

    Along lattice vector ``i`` the atoms' fractional coordinates ``x_i`` are sorted around the
    unit circle; the widest gap times the spacing of the lattice planes ``(a_j, a_k)``
    (``V / |a_j × a_k|``) is the thickness of empty space a slab leaves along that vector.
    """
    return cell_vacuum_gaps(structure.lattice.matrix, structure.frac_coords)


def cell_vacuum_gaps(lattice: Any, frac_coords: Any) -> np.ndarray:
    """``vacuum_gaps`` of a cell (rows, Å) and its sites' fractional coordinates ``[n, 3]``."""
    lat = np.asarray(lattice, dtype=np.float64)
    frac = np.mod(np.asarray(frac_coords, dtype=np.float64).reshape(-1, 3), 1.0)
    frac = np.sort(frac, axis=0)
    # V / |a_j × a_k| = 1 / |row i of (A⁻¹)ᵀ|
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(lat), axis=0)
    wrapped = np.concatenate([frac, frac[:1] + 1.0])
    return np.diff(wrapped, axis=0).max(axis=0) * spacing


def vacuum_axis(structure: Structure, threshold: float = VACUUM_GAP) -> int | None:
    """The lattice vector (0, 1, 2) along which a slab has vacuum, else ``None``.

    A structure is a slab when exactly one lattice vector has a gap of at least ``threshold``
    Å between atomic planes (``vacuum_gaps``). Two or more such vectors (a wire, a molecule in
    a box) or none (a bulk crystal) give ``None``.
    """
    return _one_axis(vacuum_gaps(structure), threshold)


def cell_vacuum_axis(lattice: Any, frac_coords: Any, threshold: float = VACUUM_GAP) -> int | None:
    """``vacuum_axis`` of a cell (rows, Å) and its sites' fractional coordinates."""
    return _one_axis(cell_vacuum_gaps(lattice, frac_coords), threshold)


def _one_axis(gaps: np.ndarray, threshold: float) -> int | None:
    axes = np.flatnonzero(gaps >= threshold)
    return int(axes[0]) if axes.size == 1 else None


# -- lattice types --------------------------------------------------------------------------
def _reduce_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer ``U`` (2×2) with ``U @ [a, b]`` Gauss-reduced, shortest first, acute angle."""
    u = np.eye(2, dtype=np.int64)
    vec = np.array([a, b], dtype=np.float64)
    for _ in range(100):
        if vec[1] @ vec[1] < vec[0] @ vec[0]:
            vec, u = vec[::-1].copy(), u[::-1].copy()
        m = int(np.rint((vec[0] @ vec[1]) / (vec[0] @ vec[0])))
        if m == 0:
            break
        vec[1] -= m * vec[0]
        u[1] -= m * u[0]
    if vec[0] @ vec[1] < 0:
        vec[1], u[1] = -vec[1], -u[1]
    return u


def _in_plane_axes(axis: int) -> tuple[int, int]:
    return (axis + 1) % 3, (axis + 2) % 3


def lattice_type_2d(cell: Any, axis: int | None = None) -> str:
    """The 2-D Bravais lattice of a slab's in-plane cell: one of ``LATTICE_TYPES_2D``.

    ``cell``: a 3×3 direct cell (rows in Å), a pymatgen ``Lattice`` or a ``Structure``.
    ``axis``: the out-of-plane lattice vector; by default ``vacuum_axis`` of a structure, or
    the longest vector of a bare cell. Lengths and the angle agree within ``LATTICE_TOLERANCE``.
    """
    matrix, axis = _cell_and_axis(cell, axis)
    i, j = _in_plane_axes(axis)
    u = _reduce_2d(matrix[i], matrix[j])
    a, b = u @ np.array([matrix[i], matrix[j]])
    aa, bb, ab = a @ a, b @ b, a @ b
    tol = LATTICE_TOLERANCE * aa
    same_length = abs(aa - bb) < tol
    if abs(ab) < tol:
        return "square" if same_length else "rectangular"
    if same_length:
        return "hexagonal" if abs(2 * ab - aa) < tol else "centred rectangular"
    # Reduced, |a| < |b|: a centred rectangular cell has b and b − a equally long.
    return "centred rectangular" if abs(2 * ab - aa) < tol else "oblique"


def _cell_and_axis(cell: Any, axis: int | None) -> tuple[np.ndarray, int]:
    structure = cell if hasattr(cell, "frac_coords") else None
    if structure is not None:
        matrix = np.asarray(structure.lattice.matrix, dtype=np.float64)
    elif hasattr(cell, "matrix"):
        matrix = np.asarray(cell.matrix, dtype=np.float64)
    else:
        matrix = np.asarray(cell, dtype=np.float64)
    if matrix.shape != (3, 3):
        raise BandprintError(f"a cell is 3×3, got shape {matrix.shape}")
    if axis is None and structure is not None:
        axis = vacuum_axis(structure)
    if axis is None:
        axis = int(np.argmax(np.linalg.norm(matrix, axis=1)))
    if axis not in (0, 1, 2):
        raise BandprintError(f"the out-of-plane axis is 0, 1 or 2, got {axis}")
    return matrix, int(axis)


def bravais_lattice(structure: Structure | Lattice | np.ndarray) -> str:
    """The bulk Bravais lattice in the Setyawan–Curtarolo scheme (``"FCC"``, ``"HEX"``, …).

    A bare cell (``Lattice`` or 3×3 rows in Å) is classified by its own symmetry.
    """
    return _bulk_kpath(_as_structure(structure)).name


def _as_structure(obj: Any) -> Structure:
    from pymatgen.core import Lattice, Structure

    if hasattr(obj, "frac_coords"):
        return obj
    lattice = obj if isinstance(obj, Lattice) else Lattice(np.asarray(obj, dtype=np.float64))
    return Structure(lattice, ["H"], [[0.0, 0.0, 0.0]])


def _bulk_kpath(structure: Structure) -> Any:
    from pymatgen.symmetry.kpath import KPathSetyawanCurtarolo

    with warnings.catch_warnings():
        # pymatgen warns whenever the cell is not its standard primitive one; the mapping
        # to the input cell below is what makes the points valid for any setting.
        warnings.simplefilter("ignore")
        return KPathSetyawanCurtarolo(structure)


# -- special points -------------------------------------------------------------------------
@dataclass(frozen=True)
class KPathSpec:
    """Special points, canonical path and point symmetry of one cell.

    ``to_standard`` maps fractional k coordinates of the input reciprocal cell to those of the
    standard cell (``f_std = to_standard @ f``), in which ``points`` are given and ``ops``
    (integer matrices acting as ``f → S f``) form the lattice's point group. For 2-D lattices
    ``axis`` is the out-of-plane lattice vector of the input cell and ``to_standard`` keeps only
    the in-plane coordinates (the third standard coordinate is the out-of-plane one).
    """

    lattice_type: str
    is_2d: bool
    axis: int | None
    to_standard: np.ndarray
    points: dict[str, np.ndarray]
    path: list[list[str]]
    ops: np.ndarray

    @property
    def path_string(self) -> str:
        """The canonical path as people write it, e.g. ``Γ–M–K–Γ`` or ``Γ–X–W|L–K``."""
        return "|".join("–".join(piece) for piece in self.path)

    @property
    def edges(self) -> list[tuple[str, str]]:
        """The canonical path's segments as ordered (start, end) label pairs."""
        return [(p[i], p[i + 1]) for p in self.path for i in range(len(p) - 1)]

    def label_of(self, frac_k: Any, tol: float = K_TOLERANCE) -> str | None:
        """The special point at fractional coordinates ``frac_k`` (input cell), else ``None``.

        Any image of a special point under the point group and reciprocal-lattice translations
        counts. For a slab, a k-point off the ``k_axis = 0`` plane is no special point. Where
        two names denote one point (U and K of FCC), the name whose own coordinates
        ``frac_k`` are wins, else the first in ``points``.
        """
        names = self.labels_at(frac_k, tol)
        return names[0] if names else None

    def labels_at(self, frac_k: Any, tol: float = K_TOLERANCE) -> list[str]:
        """Every name of the special point at ``frac_k``, the exact match first; ``[]`` when
        it is none."""
        return self.labels_at_many(np.asarray(frac_k, dtype=np.float64).reshape(1, 3), tol)[0]

    def labels_at_many(self, frac_ks: np.ndarray, tol: float = K_TOLERANCE) -> list[list[str]]:
        """``labels_at`` for each row of ``frac_ks`` ``[n, 3]``, in one array operation."""
        f = np.asarray(frac_ks, dtype=np.float64).reshape(-1, 3)
        names, table = self._table
        std = f @ self.to_standard.T  # [n, 3]
        # itself, then its images under the point group: [n, 1 + n_ops, 3]
        cand = np.concatenate([std[:, None, :], np.einsum("oij,nj->noi", self.ops, std)], 1)
        d = cand[:, :, None, :] - table[None, None, :, :]
        d -= np.rint(d)
        if self.is_2d:
            d[..., 2] = 0.0
        hit = np.abs(d).max(axis=3) < tol  # [n, 1 + n_ops, n_points]
        if self.is_2d and self.axis is not None:
            hit[np.abs(f[:, self.axis]) > tol] = False  # off the k_axis = 0 plane
        out = []
        for h in hit:
            exact = [names[i] for i in np.flatnonzero(h[0])]
            out.append(
                exact + [names[i] for i in np.flatnonzero(h.any(axis=0)) if names[i] not in exact]
            )
        return out

    @functools.cached_property
    def _table(self) -> tuple[list[str], np.ndarray]:
        names = list(self.points)
        return names, np.array([self.points[n] for n in names]).reshape(-1, 3)

    def is_point(self, frac_k: Any, label: str, tol: float = K_TOLERANCE) -> bool:
        """Whether ``frac_k`` is an image of the special point ``label`` (normalised)."""
        return normalize_label(label) in self.labels_at(frac_k, tol)

    def labels_of(self, frac_ks: np.ndarray, tol: float = K_TOLERANCE) -> list[str | None]:
        """``label_of`` for each row of ``frac_ks`` ``[n, 3]``."""
        return [self.label_of(k, tol) for k in np.asarray(frac_ks, dtype=np.float64)]


def kpath_spec(
    reciprocal_lattice: Any = None,
    structure: Structure | None = None,
    two_d: bool | None = None,
    axis: int | None = None,
) -> KPathSpec:
    """The ``KPathSpec`` of a cell given by its reciprocal lattice (rows, 1/Å, 2π included)
    or by a structure (its lattice's reciprocal is then the k basis).

    ``two_d``: ``True`` for a slab, ``False`` for bulk, ``None`` to decide from the structure
    (``vacuum_axis``; bulk without a structure). ``axis``: the slab's out-of-plane lattice
    vector (found from the structure when not given, else the longest one). Raises
    ``BandprintError`` when neither a lattice nor a structure is given.
    """
    if structure is not None:
        direct = np.asarray(structure.lattice.matrix, dtype=np.float64)
    elif reciprocal_lattice is not None:
        rec = np.asarray(getattr(reciprocal_lattice, "matrix", reciprocal_lattice), np.float64)
        if rec.shape != (3, 3) or abs(np.linalg.det(rec)) < 1e-12:
            raise BandprintError(f"a reciprocal lattice is 3×3 and regular, got {rec.tolist()}")
        direct = 2 * np.pi * np.linalg.inv(rec).T
    else:
        raise BandprintError("a reciprocal lattice or a structure is needed to place k-points")
    if structure is not None and (two_d is None or (two_d and axis is None)):
        found = vacuum_axis(structure)
        if two_d is None:
            two_d = found is not None
        axis = found if axis is None else axis
    if two_d:
        _, axis = _cell_and_axis(direct, axis)
        return _spec_2d(direct, axis)
    if structure is not None:
        return _spec_bulk_structure(structure)
    return _spec_bulk(_key(direct))


#: Bulk specs of structures by content (``_structure_key``), at most ``_BULK_CACHE_SIZE``.
_BULK_SPECS: dict[tuple, KPathSpec] = {}
_BULK_CACHE_SIZE = 1024


def _structure_key(structure: Structure) -> tuple:
    # Positions rounded to 1e-6 of the cell and wrapped: far below spglib's tolerance.
    frac = np.round(np.asarray(structure.frac_coords, dtype=np.float64) % 1.0, 6) % 1.0
    return (
        _key(structure.lattice.matrix),
        tuple(str(sp) for sp in structure.species),
        tuple(frac.ravel().tolist()),
    )


def _spec_bulk_structure(structure: Structure) -> KPathSpec:
    """``_analyse_bulk_structure`` cached by the structure's content: the symmetry analysis
    is the costliest step of drawing a bulk material, which is drawn again under each render
    setting and for each of its twins."""
    key = _structure_key(structure)
    spec = _BULK_SPECS.get(key)
    if spec is None:
        spec = _analyse_bulk_structure(structure)
        if len(_BULK_SPECS) >= _BULK_CACHE_SIZE:
            _BULK_SPECS.pop(next(iter(_BULK_SPECS)))  # the oldest entry
        _BULK_SPECS[key] = spec
    return spec


def _key(matrix: np.ndarray) -> tuple[float, ...]:
    # Rounded so caches hit for cells read back from files; 1e-8 Å is far below any tolerance.
    return tuple(np.round(np.asarray(matrix, dtype=np.float64).ravel(), 8).tolist())


def _spec_2d(direct: np.ndarray, axis: int) -> KPathSpec:
    i, j = _in_plane_axes(axis)
    u = _reduce_2d(direct[i], direct[j])
    a, b = u @ np.array([direct[i], direct[j]])
    aa = float(a @ a)
    # Points and symmetry depend on the cell's shape only: cells that differ in size or
    # orientation share one computation (1e-7 of the metric moves points far less than
    # K_TOLERANCE).
    shape = _spec_2d_shape(round(float(b @ b) / aa, 7), round(float(a @ b) / aa, 7))
    to_std = np.zeros((3, 3))
    # Reciprocal coordinates transform like the direct basis: f_std = U f (in-plane).
    to_std[:2, [i, j]] = u
    to_std[2, axis] = 1.0
    return replace(shape, axis=axis, to_standard=to_std)


@lru_cache(maxsize=4096)
def _spec_2d_shape(bb: float, ab: float) -> KPathSpec:
    """The spec of the reduced in-plane cell a = (1, 0), b with b·b = ``bb``, a·b = ``ab``."""
    from ase.cell import Cell

    a = np.array([1.0, 0.0, 0.0])
    b = np.array([ab, np.sqrt(max(bb - ab * ab, 0.0)), 0.0])
    cell = Cell(np.array([a, b, [0.0, 0.0, 20.0]]))
    lattice_type = lattice_type_2d(cell.array, axis=2)
    # ASE names the points of its own identification; it agrees with ours within tolerance.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bandpath = cell.bandpath(npoints=0, pbc=[True, True, False], eps=LATTICE_TOLERANCE)
        ase_name = cell.get_bravais_lattice(pbc=[True, True, False], eps=LATTICE_TOLERANCE).name
    points = {
        normalize_label(k): np.asarray(v, dtype=np.float64)
        for k, v in bandpath.special_points.items()
    }
    lattice_type = _ASE_2D.get(ase_name, lattice_type)
    return KPathSpec(
        lattice_type=lattice_type,
        is_2d=True,
        axis=2,
        to_standard=np.eye(3),
        points=points,
        path=[list(p) for p in PATHS_2D[lattice_type]],
        ops=_ops_2d(np.array([a, b])),
    )


#: Every integer 2×2 matrix with entries −2..2 (candidates for a 2-D lattice's point group).
_INT_2X2 = np.array(np.meshgrid(*[np.arange(-2, 3)] * 4, indexing="ij")).reshape(4, -1).T


def _ops_2d(basis: np.ndarray) -> np.ndarray:
    """The 2-D lattice's point group as 3×3 integer matrices acting on (f1, f2, f_out)."""
    g = basis @ basis.T
    s = _INT_2X2.reshape(-1, 2, 2).astype(np.float64)
    det = s[:, 0, 0] * s[:, 1, 1] - s[:, 0, 1] * s[:, 1, 0]
    metric = np.einsum("nij,jk,nlk->nil", s, g, s)
    keep = (np.abs(np.abs(det) - 1) < 0.5) & (
        np.abs(metric - g).max(axis=(1, 2)) < LATTICE_TOLERANCE * g[0, 0]
    )
    ops = np.repeat(np.eye(3)[None], int(keep.sum()), axis=0)
    ops[:, :2, :2] = s[keep]
    return ops


@lru_cache(maxsize=4096)
def _spec_bulk(key: tuple[float, ...]) -> KPathSpec:
    return _analyse_bulk_structure(_as_structure(np.array(key).reshape(3, 3)))


def _analyse_bulk_structure(structure: Structure) -> KPathSpec:
    kp = _bulk_kpath(structure)
    prim = kp.prim.lattice
    lattice = structure.lattice
    # The input cell may be conventional (more atoms than the primitive cell); its primitive
    # cell in the same Cartesian frame relates to it by a rational matrix.
    primitive = structure.get_primitive_structure().lattice
    to_prim_input = primitive.matrix @ np.linalg.inv(lattice.matrix)
    # Of the equivalent mappings, the one with the least rotation: a cell already in the
    # standard setting keeps its coordinates, so labels written at those coordinates survive.
    mappings = list(prim.find_all_mappings(primitive, ltol=1e-3, atol=0.5))
    if not mappings:
        raise BandprintError(f"cannot map the cell onto its standard {kp.name} cell")
    best = max(mappings, key=lambda m: float(np.trace(m[1])))
    # pymatgen: rotated input cell = scale @ standard cell, so standard = scale⁻¹ @ input.
    to_standard_cell = np.linalg.inv(np.asarray(best[2], dtype=np.float64))
    ops = [np.asarray(m[2], dtype=np.float64) for m in prim.find_all_mappings(prim, 1e-3, 0.5)]
    return KPathSpec(
        lattice_type=str(kp.name),
        is_2d=False,
        axis=None,
        to_standard=to_standard_cell @ to_prim_input,
        points={
            normalize_label(k): np.asarray(v, np.float64) for k, v in kp.kpath["kpoints"].items()
        },
        path=[[normalize_label(x) for x in piece] for piece in kp.kpath["path"]],
        ops=np.unique(np.round(ops).astype(np.int64), axis=0).astype(np.float64),
    )


def infer_label(
    frac_k: Any,
    reciprocal_lattice: Any,
    lattice_type: str | None = None,
    structure: Structure | None = None,
    axis: int | None = None,
) -> str | None:
    """The normalised label of the special point at ``frac_k`` (fractional coordinates in the
    basis of ``reciprocal_lattice``, rows in 1/Å with 2π), or ``None`` when it is none.

    ``lattice_type``: one of ``LATTICE_TYPES_2D`` to treat the cell as a slab (``axis``: its
    out-of-plane lattice vector, else found from ``structure`` or taken as the longest), any
    other value or ``None`` for bulk unless ``structure`` is a slab. The cell's own 2-D or
    Setyawan–Curtarolo type is used; a ``lattice_type`` naming another 2-D type raises
    ``BandprintError``. For many k-points of one cell, build ``kpath_spec`` once and call
    ``KPathSpec.labels_of``.
    """
    two_d = True if lattice_type in LATTICE_TYPES_2D else None
    if lattice_type is not None and two_d is None:
        two_d = False
    spec = kpath_spec(reciprocal_lattice, structure=structure, two_d=two_d, axis=axis)
    if two_d and lattice_type != spec.lattice_type:
        raise BandprintError(f"the cell's 2-D lattice is {spec.lattice_type}, not {lattice_type}")
    return spec.label_of(frac_k)


# -- band structures ------------------------------------------------------------------------
#: The canonical order is applied when the segments found on the canonical path make up at
#: least this fraction of the path's k-length; the others are then left out. Below it (a path
#: in another convention, or without special points) the path is drawn as written.
MIN_MATCHED_FRACTION = 0.5
Dimensionality = Literal["auto", "2d", "bulk"]


def slab_axis(bs: BandStructure, dimensionality: Dimensionality = "auto") -> int | None:
    """The out-of-plane lattice vector when ``bs`` is to be treated as a slab, else ``None``.

    ``"bulk"`` never, ``"2d"`` always. ``"auto"``: the reader's ``metadata["is_2d"]`` when it
    set one, else a vacuum gap in the structure (``vacuum_axis``, or ``metadata["vacuum_axis"]``
    recorded when the structure was stored). The axis is the structure's vacuum axis, else the
    longest direct lattice vector (from ``reciprocal_lattice``), else the third.
    """
    if dimensionality == "bulk":
        return None
    meta = bs.metadata or {}
    axis = meta.get("vacuum_axis")
    if bs.structure is not None and "vacuum_axis" not in meta:
        axis = vacuum_axis(bs.structure)
    flagged = meta.get("is_2d")
    if dimensionality == "2d" or flagged or (flagged is None and axis is not None):
        if axis is None and bs.reciprocal_lattice is not None:
            axis = int(np.argmin(np.linalg.norm(bs.reciprocal_lattice, axis=1)))
        return 2 if axis is None else int(axis)
    return None


def spec_of(bs: BandStructure, axis: int | None) -> KPathSpec | None:
    """The ``KPathSpec`` of ``bs``'s cell (a slab when ``axis`` is given), ``None`` without
    a reciprocal lattice or when its symmetry cannot be analysed."""
    if bs.reciprocal_lattice is None:
        return None
    if axis is None:
        fast = _standard_setting_spec(bs)
        if fast is not None:
            return fast
    try:
        if axis is not None:
            return kpath_spec(bs.reciprocal_lattice, two_d=True, axis=axis)
        return kpath_spec(bs.reciprocal_lattice, structure=bs.structure, two_d=False)
    except (BandprintError, ValueError, np.linalg.LinAlgError):
        return None


#: Setyawan–Curtarolo lattices whose special points have fixed fractional coordinates in the
#: standard primitive cell (the others' depend on the cell's parameters).
_FIXED_SC = ("cubic", "fcc", "bcc", "tet", "orc", "hex")


@lru_cache(maxsize=1)
def _fixed_sc_paths() -> dict[str, tuple[dict[str, np.ndarray], list[list[str]]]]:
    from types import SimpleNamespace

    from pymatgen.symmetry.kpath import KPathSetyawanCurtarolo

    out = {}
    for method in _FIXED_SC:
        holder = SimpleNamespace()
        kp = getattr(KPathSetyawanCurtarolo, method)(holder)
        points = {normalize_label(k): np.asarray(v, np.float64) for k, v in kp["kpoints"].items()}
        out[holder.name] = (points, [[normalize_label(x) for x in p] for p in kp["path"]])
    return out


def _standard_cell_shape(lattice_type: str, direct: np.ndarray) -> bool:
    """Whether the cell (rows, Å) has the shape of the standard primitive cell of one of the
    ``_FIXED_SC`` lattices: equal lengths and 90° (CUB), 60° (FCC) or 109.47° (BCC) angles;
    a = b ≠ c with 90° (TET); a < b < c with 90° (ORC); a = b, 90°, 90°, 120° (HEX)."""
    lengths = np.linalg.norm(direct, axis=1)
    unit = direct / lengths[:, None]
    # angles α (b, c), β (a, c), γ (a, b), in degrees
    cosines = [unit[1] @ unit[2], unit[0] @ unit[2], unit[0] @ unit[1]]
    angles = np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))
    same = np.abs(lengths / lengths[0] - 1.0) < LATTICE_TOLERANCE
    want = {
        "CUB": (90.0, 90.0, 90.0),
        "FCC": (60.0, 60.0, 60.0),
        "BCC": (109.4712206, 109.4712206, 109.4712206),
        "TET": (90.0, 90.0, 90.0),
        "ORC": (90.0, 90.0, 90.0),
        "HEX": (90.0, 90.0, 120.0),
    }[lattice_type]
    if np.abs(angles - want).max() > 0.1:
        return False
    if lattice_type in ("CUB", "FCC", "BCC"):
        return bool(same.all())
    if lattice_type in ("TET", "HEX"):
        return bool(same[1] and not same[2])
    return bool(lengths[0] < lengths[1] < lengths[2])


def _standard_setting_spec(bs: BandStructure) -> KPathSpec | None:
    """The spec without symmetry analysis, for a path in a standard setting: every segment end
    labelled, and each label's point at the coordinates Setyawan–Curtarolo give it (up to
    reciprocal-lattice translations) in one of the ``_FIXED_SC`` lattices, as Materials
    Project's files are. ``None`` otherwise (the full analysis decides)."""
    if bs.kpoints is None or bs.reciprocal_lattice is None:
        return None
    direct = 2 * np.pi * np.linalg.inv(bs.reciprocal_lattice).T
    ends = []
    for seg in bs.segments:
        for idx, lab in ((seg.start, seg.start_label), (seg.stop - 1, seg.end_label)):
            name = normalize_label(lab)
            if not name:
                return None
            ends.append((name, bs.kpoints[idx]))
    for lattice_type, (points, path) in _fixed_sc_paths().items():
        ok = _standard_cell_shape(lattice_type, direct)
        for name, k in ends:
            p = points.get(name)
            d = None if p is None else k - p
            if d is None or np.abs(d - np.rint(d)).max() >= K_TOLERANCE:
                ok = False
                break
        if ok:
            return KPathSpec(lattice_type, False, None, np.eye(3), points, path, np.eye(3)[None])
    return None


def _segment_end_names(spec: KPathSpec, bs: BandStructure) -> list[tuple[list[str], list[str]]]:
    """Candidate names of each segment's (start, end): without coordinates its label; with
    them every name of the point there (``U`` and ``K`` of FCC are one point), the label first
    when it is one of them. Coordinates win over a label that names another point, or none:
    sumo's CASTEP Fe path labels 2π/a (0, ½, 1), a point of Γ–H, as P."""
    idx = [i for s in bs.segments for i in (s.start, s.stop - 1)]
    labels = [normalize_label(lab) for s in bs.segments for lab in (s.start_label, s.end_label)]
    if bs.kpoints is None:
        found: list[list[str]] = [[name] for name in labels]
    else:
        found = []
        for name, names in zip(labels, spec.labels_at_many(bs.kpoints[idx]), strict=True):
            if name in names:
                found.append([name] + [n for n in names if n != name])
            else:
                found.append(names or [""])
    return [(found[2 * i], found[2 * i + 1]) for i in range(len(bs.segments))]


def canonical_path(bs: BandStructure, axis: int | None = None) -> tuple[BandStructure, dict]:
    """``bs`` with its segments reordered and reversed onto its lattice's canonical path.

    Segment ends are named by ``normalize_label``, or from their k-point coordinates where
    the label is missing, non-standard or names another point. Each edge of the canonical
    path (``KPathSpec.edges``) takes the first segment joining the same two points, reversed
    if it runs the other way. Segments on no canonical edge, and repeats of an edge, are left
    out when the segments kept make up at least ``MIN_MATCHED_FRACTION`` of the path's length;
    otherwise the path is returned as it is. Canonical edges the input lacks are skipped.

    ``axis``: a slab's out-of-plane lattice vector (``slab_axis``); the path is expected to be
    in-plane already. Returns the band structure and a record of what was done (``applied``,
    ``lattice_type``, ``canonical``, ``original``, ``drawn``, ``reversed``, ``dropped``,
    ``missing``, ``relabelled``, ``reason``).
    """
    spec = spec_of(bs, axis)
    record: dict[str, Any] = {
        "applied": False,
        "lattice_type": None if spec is None else spec.lattice_type,
        "two_d": axis is not None,
        "axis": axis,
        "canonical": None if spec is None else spec.path_string,
        "original": bs.path_string,
        "drawn": bs.path_string,
        "reversed": 0,
        "dropped": [],
        "missing": [],
        "relabelled": {},
        "reason": "",
    }
    if spec is None:
        record["reason"] = "no reciprocal lattice: the lattice type is unknown"
        return bs, record
    ends = _segment_end_names(spec, bs)
    # Each segment's first names (its label, or the exact point) first; other names of the
    # same point only for the edges still open, so U–W is not taken for W–K.
    found: dict[int, tuple[int, bool]] = {}
    names: dict[int, tuple[str, str]] = {}
    for depth in (1, None):
        for e, (a, b) in enumerate(spec.edges):
            if e in found:
                continue
            for i, (xs, ys) in enumerate(ends):
                xs, ys = xs[:depth], ys[:depth]
                if i in names or not ((a in xs and b in ys) or (b in xs and a in ys)):
                    continue
                rev = not (a in xs and b in ys)
                found[e], names[i] = (i, rev), ((b, a) if rev else (a, b))
                break
    order = [found[e] for e in range(len(spec.edges)) if e in found]
    record["missing"] = [f"{a}–{b}" for e, (a, b) in enumerate(spec.edges) if e not in found]
    used = set(names)
    for i, s in enumerate(bs.segments):
        for lab, new in zip((s.start_label, s.end_label), names.get(i, ()), strict=False):
            if lab and new != lab:
                record["relabelled"][lab] = new
    lengths = np.array([bs.distances[s.stop - 1] - bs.distances[s.start] for s in bs.segments])
    if lengths.sum() <= 0:
        lengths = np.array([s.stop - s.start for s in bs.segments], dtype=np.float64)
    matched = float(lengths[sorted(used)].sum()) if used else 0.0
    if matched < MIN_MATCHED_FRACTION * float(lengths.sum()):
        record["reason"] = (
            f"only {matched / lengths.sum():.0%} of the path lies on the canonical "
            f"{spec.lattice_type} path {spec.path_string}; drawn as written"
        )
        return bs, record
    out = bs.reordered(order)
    # The canonical names (a file's U written as K, say) travel with the drawn path.
    out.segments = [
        replace(seg, start_label=names[i][rev], end_label=names[i][not rev])
        for seg, (i, rev) in zip(out.segments, order, strict=True)
    ]
    record.update(
        applied=True,
        drawn=out.path_string,
        reversed=sum(rev for _, rev in order),
        dropped=[bs.segments[i].name for i in range(len(bs.segments)) if i not in used],
    )
    return out, record
