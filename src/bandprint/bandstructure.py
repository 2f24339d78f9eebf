"""The canonical band structure every reader produces and every later stage consumes.

Conventions (the same as pymatgen's ``BandStructureSymmLine``, so figures and numbers agree):

* ``energies`` is ``[spin, k, band]`` in eV, absolute (not shifted); ``efermi`` is in eV.
  Spin index 0 is spin up (pymatgen ``Spin.up``, key ``"1"``), 1 is spin down (``"-1"``).
* ``distances`` is the cumulative path length in 1/Å (2π included). It does not grow between
  two consecutive labelled k-points: that is either the repeated point where two segments
  meet, or a jump such as ``X|U`` which is a break, not a connected segment.
* ``segments`` are runs of k-points drawn as one connected line, ``[start, stop)``, from one
  labelled k-point to the next. Where the path runs through a labelled k-point written once
  (ASE, CASTEP and explicit VASP k-point lists do this) the two segments share that k-point.

Beside the class: the path geometry every reader shares (segments and distances from per-k-point
labels or from the k-points per path line) and the pymatgen dictionary round trip
(``BandStructure.to_pymatgen_dict`` and ``band_structure_from_pymatgen_dict``, which reads the
arrays straight from the dictionary without building pymatgen objects). Readers build on this
module; it imports none of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from pymatgen.core import Structure
    from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

#: Labels are matched to k-points within this distance in fractional coordinates (pymatgen's).
LABEL_TOLERANCE = 1e-4
#: ``source_format`` of band structures read from pymatgen dictionaries.
PYMATGEN_FORMAT = "pymatgen-json"
#: Energies within this of E_F count as at E_F when deciding metal/insulator (pymatgen's).
METAL_TOLERANCE = 1e-4

_LABEL_ALIASES = {"GAMMA": "Γ", "G": "Γ", "GM": "Γ", "Γ": "Γ"}
_GREEK = {"Gamma": "Γ", "Sigma": "Σ", "Delta": "Δ", "Lambda": "Λ", "Pi": "Π"}


def normalize_label(label: str) -> str:
    r"""A high-symmetry label as people write it: ``\Gamma``, ``GAMMA``, ``G`` all become ``Γ``."""
    text = str(label).strip().replace("$", "")
    text = re.sub(r"\\mathrm\{([^}]*)\}", r"\1", text)
    text = re.sub(r"\\(Gamma|Sigma|Delta|Lambda|Pi)", lambda m: _GREEK[m.group(1)], text)
    text = text.replace("{", "").replace("}", "")
    return _LABEL_ALIASES.get(text.upper(), text)


@dataclass(frozen=True)
class Segment:
    """One connected piece of the k-path: k-point indices ``[start, stop)`` and end labels."""

    start: int
    stop: int
    start_label: str = ""
    end_label: str = ""

    @property
    def name(self) -> str:
        return f"{self.start_label or '?'}–{self.end_label or '?'}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "stop": self.stop,
            "start_label": self.start_label,
            "end_label": self.end_label,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Segment:
        return cls(
            int(d["start"]), int(d["stop"]), d.get("start_label", ""), d.get("end_label", "")
        )


@dataclass(frozen=True)
class BandGap:
    """The band gap as pymatgen defines it: 0 for a metal; direct when VBM and CBM share a k."""

    energy: float
    direct: bool
    is_metal: bool
    vbm: float | None
    cbm: float | None


@dataclass(eq=False)
class BandStructure:
    """A band structure along a high-symmetry path, independent of the code that computed it."""

    material_id: str
    energies: np.ndarray
    efermi: float
    distances: np.ndarray
    segments: list[Segment]
    kpoints: np.ndarray | None = None
    reciprocal_lattice: np.ndarray | None = None
    formula: str | None = None
    source: str | None = None
    source_format: str | None = None
    structure: Structure | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.energies = np.asarray(self.energies, dtype=np.float64)
        self.distances = np.asarray(self.distances, dtype=np.float64)
        if self.kpoints is not None:
            self.kpoints = np.asarray(self.kpoints, dtype=np.float64)
        if self.reciprocal_lattice is not None:
            self.reciprocal_lattice = np.asarray(self.reciprocal_lattice, dtype=np.float64)
        self.efermi = float(self.efermi)
        self.segments = [
            s if isinstance(s, Segment) else Segment.from_dict(s) for s in self.segments
        ]
        self.validate()

    # -- checks ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise ``BandprintError`` (one line) when the arrays do not describe a band structure."""
        e = self.energies
        if e.ndim != 3:
            raise BandprintError(f"energies must be [spin, k, band], got {e.ndim} dimensions")
        nspin, nk, nband = e.shape
        if nspin not in (1, 2):
            raise BandprintError(f"expected 1 or 2 spin channels, got {nspin}")
        if nk < 2 or nband < 1:
            raise BandprintError(f"need at least 2 k-points and 1 band, got {nk} and {nband}")
        if not np.isfinite(e).all():
            raise BandprintError(f"{int((~np.isfinite(e)).sum())} energies are NaN or infinite")
        if not math.isfinite(self.efermi):
            raise BandprintError("Fermi level is NaN or infinite")
        if self.distances.shape != (nk,):
            raise BandprintError(f"{self.distances.shape[0]} path distances for {nk} k-points")
        if not np.isfinite(self.distances).all() or (np.diff(self.distances) < -1e-9).any():
            raise BandprintError("path distances must be finite and non-decreasing")
        if self.kpoints is not None and self.kpoints.shape != (nk, 3):
            raise BandprintError(f"k-points have shape {self.kpoints.shape}, expected ({nk}, 3)")
        if not self.segments:
            raise BandprintError("the k-path has no segments")
        for s in self.segments:
            if not (0 <= s.start < s.stop <= nk):
                raise BandprintError(f"segment {s.name} [{s.start}, {s.stop}) is outside 0..{nk}")

    # -- shape ----------------------------------------------------------------------------
    @property
    def nspin(self) -> int:
        return int(self.energies.shape[0])

    @property
    def nkpoints(self) -> int:
        return int(self.energies.shape[1])

    @property
    def nbands(self) -> int:
        return int(self.energies.shape[2])

    @property
    def is_spin_polarized(self) -> bool:
        return self.nspin == 2

    @property
    def energies_relative(self) -> np.ndarray:
        """Energies relative to the Fermi level, ``[spin, k, band]`` in eV."""
        return self.energies - self.efermi

    @property
    def labels(self) -> list[tuple[float, str]]:
        """``(distance, label)`` at every segment end, joined as ``X|U`` where the path jumps."""
        ticks: list[tuple[float, str]] = []
        for s in self.segments:
            for idx, lab in ((s.start, s.start_label), (s.stop - 1, s.end_label)):
                x = float(self.distances[idx])
                if ticks and abs(ticks[-1][0] - x) < 1e-9:
                    if lab and lab != ticks[-1][1]:
                        ticks[-1] = (x, f"{ticks[-1][1]}|{lab}" if ticks[-1][1] else lab)
                else:
                    ticks.append((x, lab))
        return ticks

    @property
    def path_string(self) -> str:
        """The path as people write it, e.g. ``Γ–M–K–Γ|A–L``."""
        out = ""
        prev_end: str | None = None
        for s in self.segments:
            if prev_end is None:
                out = s.start_label or "?"
            elif s.start_label != prev_end:
                out += "|" + (s.start_label or "?")
            out += "–" + (s.end_label or "?")
            prev_end = s.end_label
        return out

    # -- physics --------------------------------------------------------------------------
    def band_gap(self) -> BandGap:
        """Band gap, direct/indirect and metal flag, computed as pymatgen does."""
        e = self.energies
        ef = self.efermi
        crosses = ((e - ef) < -METAL_TOLERANCE).any(axis=1) & ((e - ef) > METAL_TOLERANCE).any(
            axis=1
        )
        # pymatgen counts a level exactly at E_F as conduction band (its get_cbm uses >=).
        below = np.where(e < ef, e, -np.inf)
        above = np.where(e >= ef, e, np.inf)
        vbm = float(below.max()) if np.isfinite(below.max()) else None
        cbm = float(above.min()) if np.isfinite(above.min()) else None
        if bool(crosses.any()) or vbm is None or cbm is None:
            return BandGap(0.0, False, True, vbm, cbm)
        k_vbm = np.unravel_index(int(np.argmax(below)), e.shape)[1]
        k_cbm = np.unravel_index(int(np.argmin(above)), e.shape)[1]
        if self.kpoints is not None:
            direct = bool(
                np.allclose(self.kpoints[k_vbm], self.kpoints[k_cbm], atol=LABEL_TOLERANCE)
            )
        else:
            direct = bool(abs(self.distances[k_vbm] - self.distances[k_cbm]) < 1e-9)
        return BandGap(cbm - vbm, direct, False, vbm, cbm)

    @property
    def is_metal(self) -> bool:
        return self.band_gap().is_metal

    # -- 2-D paths ------------------------------------------------------------------------
    def out_of_plane_segments(self, axis: int = 2) -> list[int]:
        """Indices of segments that leave the k_axis = 0 plane.

        For a slab (a 2-D material in a cell with vacuum along ``axis``) nothing disperses
        along the vacuum direction, so such segments repeat in-plane ones or show every band
        as flat. ``kpoints`` are needed to tell.
        """
        if self.kpoints is None:
            raise BandprintError(
                f"{self.material_id}: no k-point coordinates, cannot find the plane"
            )
        off = np.abs(self.kpoints[:, axis]) > LABEL_TOLERANCE
        return [i for i, s in enumerate(self.segments) if off[s.start : s.stop].any()]

    def in_plane(self, axis: int = 2) -> BandStructure:
        """A copy keeping only the segments in the k_axis = 0 plane, laid end to end."""
        drop = set(self.out_of_plane_segments(axis))
        if not drop:
            return self
        keep = [s for i, s in enumerate(self.segments) if i not in drop]
        if not keep:
            raise BandprintError(f"{self.material_id}: every path segment leaves the plane")
        return self.select_segments([self.segments.index(s) for s in keep])

    def select_segments(self, indices: list[int]) -> BandStructure:
        """A copy with only the given segments, distances re-accumulated without gaps."""
        return self.reordered([(i, False) for i in indices])

    def reordered(self, order: list[tuple[int, bool]]) -> BandStructure:
        """A copy with the segments ``(index, reversed)`` in this order, laid end to end.

        A reversed segment runs its k-points backwards and swaps its end labels; inside every
        segment the k-distances between consecutive points are kept, so the picture of each
        segment is the same, mirrored when reversed.
        """
        idx_parts, dist_parts, new_segments = [], [], []
        offset, n = 0.0, 0
        for i, backwards in order:
            s = self.segments[i]
            d = self.distances[s.start : s.stop]
            idx = np.arange(s.start, s.stop)
            local = d - d[0]
            if backwards:
                idx, local = idx[::-1], d[-1] - d[::-1]
                s = replace(s, start_label=s.end_label, end_label=s.start_label)
            idx_parts.append(idx)
            dist_parts.append(local + offset)
            offset = float(dist_parts[-1][-1])
            new_segments.append(replace(s, start=n, stop=n + (s.stop - s.start)))
            n += s.stop - s.start
        idx = np.concatenate(idx_parts)
        return replace(
            self,
            energies=self.energies[:, idx, :],
            distances=np.concatenate(dist_parts),
            kpoints=None if self.kpoints is None else self.kpoints[idx],
            segments=new_segments,
            metadata=dict(self.metadata),
        )

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; ``from_dict`` restores an equal object (floats are exact)."""
        return {
            "@class": "bandprint.BandStructure",
            "material_id": self.material_id,
            "formula": self.formula,
            "source": self.source,
            "source_format": self.source_format,
            "efermi": self.efermi,
            "energies": self.energies.tolist(),
            "distances": self.distances.tolist(),
            "segments": [s.to_dict() for s in self.segments],
            "kpoints": None if self.kpoints is None else self.kpoints.tolist(),
            "reciprocal_lattice": None
            if self.reciprocal_lattice is None
            else self.reciprocal_lattice.tolist(),
            "structure": None if self.structure is None else self.structure.as_dict(),
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BandStructure:
        structure = None
        if d.get("structure"):
            from pymatgen.core import Structure

            structure = Structure.from_dict(d["structure"])
        return cls(
            material_id=d["material_id"],
            energies=np.asarray(d["energies"], dtype=np.float64),
            efermi=d["efermi"],
            distances=np.asarray(d["distances"], dtype=np.float64),
            segments=[Segment.from_dict(s) for s in d["segments"]],
            kpoints=None if d.get("kpoints") is None else np.asarray(d["kpoints"]),
            reciprocal_lattice=None
            if d.get("reciprocal_lattice") is None
            else np.asarray(d["reciprocal_lattice"]),
            formula=d.get("formula"),
            source=d.get("source"),
            source_format=d.get("source_format"),
            structure=structure,
            metadata=dict(d.get("metadata") or {}),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BandStructure):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    # -- pymatgen interop -----------------------------------------------------------------
    def to_pymatgen_dict(self) -> dict[str, Any]:
        """The ``BandStructureSymmLine.as_dict()`` form (what Materials Project and 2DMatPedia
        ship), written directly without building pymatgen objects."""
        if self.kpoints is None or self.reciprocal_lattice is None:
            raise BandprintError(
                f"{self.material_id}: k-point coordinates and reciprocal lattice are needed"
            )
        labels_dict: dict[str, list[float]] = {}
        for s in self.segments:
            for idx, lab in ((s.start, s.start_label), (s.stop - 1, s.end_label)):
                if lab and _pymatgen_label(lab) not in labels_dict:
                    labels_dict[_pymatgen_label(lab)] = self.kpoints[idx].tolist()
        gap = self.band_gap()
        spins = ["1", "-1"][: self.nspin]
        d: dict[str, Any] = {
            "@module": "pymatgen.electronic_structure.bandstructure",
            "@class": "BandStructureSymmLine",
            "lattice_rec": {
                "@module": "pymatgen.core.lattice",
                "@class": "Lattice",
                "matrix": self.reciprocal_lattice.tolist(),
            },
            "efermi": self.efermi,
            "kpoints": self.kpoints.tolist(),
            "bands": {sp: self.energies[i].T.tolist() for i, sp in enumerate(spins)},
            "is_spin_polarized": self.is_spin_polarized,
            "labels_dict": labels_dict,
            "branches": [
                {"start_index": s.start, "end_index": s.stop - 1, "name": s.name}
                for s in self.segments
            ],
            "is_metal": gap.is_metal,
            "band_gap": {"energy": gap.energy, "direct": gap.direct, "transition": None},
        }
        if self.structure is not None:
            d["structure"] = self.structure.as_dict()
        return d

    def to_pymatgen(self) -> BandStructureSymmLine:
        """A pymatgen ``BandStructureSymmLine`` (for its plotters and analysis tools)."""
        from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

        return BandStructureSymmLine.from_dict(self.to_pymatgen_dict())

    @classmethod
    def from_pymatgen(cls, bs: Any, material_id: str = "pymatgen") -> BandStructure:
        """From a pymatgen ``BandStructureSymmLine`` object or its ``as_dict()``."""
        d = bs if isinstance(bs, dict) else bs.as_dict()
        return band_structure_from_pymatgen_dict(d, material_id=material_id, source=None)


def _pymatgen_label(label: str) -> str:
    return "\\Gamma" if label == "Γ" else label


def segments_from_labels(kpoint_labels: list[str | None]) -> list[Segment]:
    """Path segments from per-k-point labels, as pymatgen builds its branches.

    A new segment starts between two consecutive labelled k-points: either the repeated point
    where two segments meet, or a jump such as ``X|U``. A labelled k-point written only once
    inside a run (``Γ … Z … R`` as ASE, CASTEP and explicit VASP lists write paths) ends one
    segment and starts the next, both sharing it, so its label is kept. This ignores the
    ``branches`` field, which is unreliable in 2DMatPedia files.
    """
    n = len(kpoint_labels)
    segments: list[Segment] = []

    def close(a: int, b: int) -> None:
        if b - a >= 2:
            segments.append(Segment(a, b, kpoint_labels[a] or "", kpoint_labels[b - 1] or ""))

    start = 0
    for i in range(1, n):
        if kpoint_labels[i] and kpoint_labels[i - 1]:
            close(start, i)
            start = i
        elif kpoint_labels[i] and i < n - 1 and not kpoint_labels[i + 1]:
            close(start, i + 1)
            start = i
    close(start, n)
    return segments


def path_distances(cart_kpoints: np.ndarray, kpoint_labels: list[str | None]) -> np.ndarray:
    """Cumulative path length, not growing between consecutive labelled points (pymatgen's)."""
    step = np.linalg.norm(np.diff(cart_kpoints, axis=0), axis=1)
    labelled = np.array([bool(x) for x in kpoint_labels])
    step[labelled[1:] & labelled[:-1]] = 0.0
    return np.concatenate([[0.0], np.cumsum(step)])


def segments_from_sizes(sizes: Sequence[int], labels: Sequence[str | None]) -> list[Segment]:
    """Consecutive segments of ``sizes`` k-points each, labelled from their end k-points."""
    if sum(sizes) != len(labels):
        raise BandprintError(f"path lines hold {sum(sizes)} k-points, the bands {len(labels)}")
    segments, start = [], 0
    for n in sizes:
        if n < 2:
            raise BandprintError(f"a path line of {n} k-point(s); each needs at least 2")
        stop = start + n
        segments.append(Segment(start, stop, labels[start] or "", labels[stop - 1] or ""))
        start = stop
    return segments


def distances_from_sizes(cart_kpoints: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Cumulative path length (same units as ``cart_kpoints``), flat from one line to the next."""
    step = np.linalg.norm(np.diff(cart_kpoints, axis=0), axis=1)
    ends = np.cumsum(sizes)[:-1] - 1  # the last k-point of every line but the final one
    step[ends] = 0.0
    return np.concatenate([[0.0], np.cumsum(step)])


def path_geometry(
    cart_kpoints: np.ndarray,
    labels: Sequence[str | None],
    sizes: Sequence[int] | None = None,
) -> tuple[np.ndarray, list[Segment]]:
    """Distances and segments: by line sizes where known, otherwise from the labels alone."""
    if sizes is not None:
        return distances_from_sizes(cart_kpoints, sizes), segments_from_sizes(sizes, labels)
    segments = segments_from_labels(list(labels))
    if not segments:
        raise BandprintError("no path segment of two or more k-points")
    return path_distances(cart_kpoints, list(labels)), segments


def band_structure_from_pymatgen_dict(
    d: dict[str, Any],
    material_id: str,
    source: str | None,
    metadata: dict[str, Any] | None = None,
    segment_sizes: list[int] | None = None,
) -> BandStructure:
    """The canonical band structure from a ``BandStructureSymmLine.as_dict()`` dictionary.

    Path segments are rebuilt from ``labels_dict`` and the k-points, never from ``branches``;
    ``segment_sizes`` (k-points per path line, when the caller knows them) split the path instead.
    """
    kpoints = np.asarray(d["kpoints"], dtype=np.float64)
    if kpoints.ndim != 2 or kpoints.shape[1] != 3:
        raise BandprintError(f"k-points have shape {kpoints.shape}, expected (n, 3)")
    nk = kpoints.shape[0]
    bands = d["bands"]
    spins = [k for k in ("1", "-1", "Spin.up", "Spin.down") if k in bands]
    if not spins:
        raise BandprintError(f"no spin channel in 'bands' (keys {sorted(bands)})")
    arrays = [np.asarray(bands[s], dtype=np.float64) for s in spins]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise BandprintError(f"bands arrays have shapes {sorted(shapes)}, expected (nbands, nk)")
    if arrays[0].shape[1] != nk:
        raise BandprintError(f"bands have {arrays[0].shape[1]} k-points but kpoints has {nk}")
    energies = np.stack([a.T for a in arrays])

    lattice = d.get("lattice_rec") or {}
    matrix = np.asarray(lattice["matrix"] if isinstance(lattice, dict) else lattice, dtype=float)
    if matrix.shape != (3, 3):
        raise BandprintError(f"reciprocal lattice has shape {matrix.shape}, expected (3, 3)")

    labels = _kpoint_labels(kpoints, d.get("labels_dict") or {})
    distances, segments = path_geometry(kpoints @ matrix, labels, segment_sizes)

    structure = None
    formula = None
    if d.get("structure"):
        from pymatgen.core import Structure

        structure = Structure.from_dict(d["structure"])
        formula = structure.composition.reduced_formula
    meta = dict(metadata or {})
    return BandStructure(
        material_id=str(material_id),
        energies=energies,
        efermi=float(d["efermi"]),
        distances=distances,
        segments=segments,
        kpoints=kpoints,
        reciprocal_lattice=matrix,
        formula=meta.pop("formula", None) or formula,
        source=source,
        source_format=meta.pop("source_format", PYMATGEN_FORMAT),
        structure=structure,
        metadata=meta,
    )


def _kpoint_labels(kpoints: np.ndarray, labels_dict: dict[str, Any]) -> list[str | None]:
    """Label of each k-point, matched by fractional coordinates as pymatgen does."""
    labels: list[str | None] = [None] * len(kpoints)
    for raw, coords in labels_dict.items():
        c = coords.get("fcoords", coords.get("frac_coords")) if isinstance(coords, dict) else coords
        c = np.asarray(c, dtype=np.float64)
        hit = np.nonzero(np.linalg.norm(kpoints - c, axis=1) < LABEL_TOLERANCE)[0]
        name = normalize_label(raw)
        for i in hit:
            labels[i] = name
    return labels
