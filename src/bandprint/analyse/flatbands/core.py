"""Flat bands: the strips, the per-material result and the rules both detectors share.

The scheme is the flat-band genome's (Bhattacharya et al., npj Comput. Mater. 9, 101 (2023)).
The energy window around E_F is cut into 0.5 eV strips, numbered
from the top as published (over ±1 eV: 1 = +0.5…+1, 2 = 0…+0.5, 3 = −0.5…0, 4 = −1…−0.5 eV),
and the k-path into its segments. Each block (strip × segment) is flat or not.

**A flat level, not a flat band index.** A block is flat when there is a level whose
eigenvalues stay within the bandwidth threshold ``w`` across the whole segment and whose mean
lies inside the strip: at every k of the segment some eigenvalue lies within ``w/2`` of a common
centre. This is a horizontal line in the energy-vs-k point cloud, the thing the published CNN
sees in the picture. A steep band crossing a flat one swaps band indices (eigenvalues are sorted
at each k), which breaks a per-index bandwidth; the level criterion does not care which index
carries the flat level at a given k. Its bandwidth is the smallest spread ``max − min`` of one
eigenvalue picked per k, which equals the minimum of ``2·max_k min_b |E_kb − E|`` over ``E``
(the midpoint of a selection of spread s is within s/2 of every point). That function is
scanned on a grid of ``w/20`` and each local minimum refined by re-centring on its selection;
the bandwidth reported is the exact spread of the selection, at most ``w/20`` above the optimum.
Known limit, shared with the image detector: a dense manifold of dispersive bands spaced closer
than ``w`` at every k also contains such a level (no eigenvectors, no way to tell).

**Spin.** Each spin channel is searched on its own (a flat level is one spin's band); a block is
flat when it is flat in either channel.

**Published numbers, derived from the flat-band genome's published table**
(``flatness_scores.csv``, 5,270 rows, MIT licence; not shipped with bandprint, and checked on
every row when this was written):

* ``binary_flatness`` is 1 exactly when ``flat_segments == segments`` (a material is flat when
  *every* segment holds a flat block), and ``horz_flat_seg`` is non-zero exactly then;
* ``flatness_score`` lies strictly between ``0.5·f/n`` and ``(f + 0.5·(n − f))/n`` (``n``
  segments, ``f`` flat ones) on every row: what a mean over segments of a per-segment
  probability ``p`` gives, a segment being flat when ``p > 0.5``.

bandprint reports the same: ``flatness_score`` is the mean over segments of the segment score,
the segment score is the highest block score in it, and a block is flat when its score is at
least 0.5. The image detector's block score is the CNN's probability; the eigenvalue detector's
is ``1 / (1 + (W/w)²)`` for the block's smallest bandwidth ``W`` (0.5 at the threshold, 0.8 at
half of it, 0.2 at twice it, 0 when no level lies in the strip), so both give comparable scores.

**Default threshold 0.1 eV.** A fifth of a 0.5 eV strip, so a flat level cannot wander across
its strip; 2.8 px in the published 224 px ±4 eV image, about the smallest tilt a picture shows;
the order of the widths usually called flat (tens of meV up to ~0.1 eV); the zoo's own
``FLAT_BANDWIDTH``; and inside the range the zoo's perturbations (flatness-lifting terms of
1–30 % of the hopping) give formerly flat bands of kagome, Lieb and dice samples, so the zoo has
cases on both sides.

**What can be judged.** Flatness is a property along a k-path, so a band structure without a
labelled high-symmetry path (every k-point unlabelled, path ``?–?``: a k-point grid such as the
CASTEP NiO sample, or any file read without its path labels) is not analysed: no blocks, not
flat, not plane-flat, and a note in ``FlatBandResult.notes`` says why. A segment of fewer than
``MIN_SEGMENT_KPOINTS`` (4) k-points is too short to judge (2 or 3 eigenvalues per band pass
the 0.1 eV test by chance; every real line-mode sample has 6 or more per segment, the zoo 23 or
more) and is left out with a note; a path with no segment left is not analysed either. Both
detectors use the same rule (``judged_segments``).

**2-D materials.** A slab computed along a bulk path has out-of-plane segments where nothing
disperses: every band would be flat there. With ``in_plane=None`` (auto)
such segments are dropped whenever the material's metadata says ``is_2d``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    pass

#: Bandwidth (eV) under which a level counts as flat; see the module docstring for the choice.
DEFAULT_BANDWIDTH_THRESHOLD = 0.1
#: Height (eV) of one energy strip, the published 0.5 eV.
DEFAULT_STRIP_WIDTH = 0.5
#: Energy window (eV, relative to E_F) cut into strips, the published ±1 eV.
DEFAULT_WINDOW = (-1.0, 1.0)
#: Fewest k-points a path segment needs to be judged (shorter ones are left out, with a note).
MIN_SEGMENT_KPOINTS = 4
#: Name of the result table in a workspace.
FLATBANDS_TABLE = "flatbands"

Detector = Literal["eigen", "image"]

#: Columns of the per-material table (``flatband_table``), in order.
TABLE_COLUMNS = [
    "material_id",
    "formula",
    "n_segments",
    "n_flat_segments",
    "flatness_score",
    "is_flat",
    "strips",
    "flat_strip",
    "plane_flat",
    "plane_flat_energy",
    "path_bandwidth",
    "flat_blocks",
    "dropped_segments",
    "detector",
]


# -- strips ---------------------------------------------------------------------------------
def strip_edges(
    window: tuple[float, float] = DEFAULT_WINDOW, strip_width: float = DEFAULT_STRIP_WIDTH
) -> np.ndarray:
    """Strip boundaries from the top of the window down: strip ``i`` (1-based) holds energies
    ``edges[i] < E − E_F ≤ edges[i − 1]``, the renderer's row convention, so a level exactly at
    E_F belongs to the strip below it (3 of the published four)."""
    lo, hi = float(window[0]), float(window[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise BandprintError(f"energy window {window} must be (low, high) with low < high")
    if not strip_width > 0:
        raise BandprintError(f"strip width must be positive, got {strip_width}")
    n = (hi - lo) / strip_width
    if abs(n - round(n)) > 1e-6 or round(n) < 1:
        raise BandprintError(
            f"window {lo:g}…{hi:g} eV is not a whole number of {strip_width:g} eV strips"
        )
    return hi - strip_width * np.arange(round(n) + 1)


def strip_of(
    energy: float | np.ndarray,
    window: tuple[float, float] = DEFAULT_WINDOW,
    strip_width: float = DEFAULT_STRIP_WIDTH,
) -> np.ndarray:
    """1-based strip of each energy (relative to E_F); 0 outside the window."""
    edges = strip_edges(window, strip_width)
    e = np.asarray(energy, dtype=np.float64)
    # Strip i holds (i − 1) ≤ pos < i. Rounding keeps 0.30000000000000004-style energies that
    # sit exactly on a boundary on the side the renderer draws them.
    pos = np.round((edges[0] - e) / strip_width, 9)
    idx = np.floor(pos).astype(np.int64) + 1
    inside = (pos >= 0) & (pos < len(edges) - 1)
    return np.where(inside, idx, 0)


def block_score_from_bandwidth(bandwidth: np.ndarray, threshold: float) -> np.ndarray:
    """The eigenvalue detector's block score: ``1 / (1 + (W/w)²)``, 0 for no level (W = inf)."""
    w = np.asarray(bandwidth, dtype=np.float64) / threshold
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(np.isfinite(w), 1.0 / (1.0 + w * w), 0.0)


# -- result ---------------------------------------------------------------------------------
@dataclass
class FlatBandResult:
    """Flat blocks of one material and the per-material summary the published table holds.

    Block arrays are ``[strip, segment]`` with strip 1 (top of the window) at row 0;
    ``block_bandwidth`` is the smallest bandwidth (eV) of a level with its mean in the block
    (inf: none within 10× the threshold; NaN from the image detector). ``plane_levels`` are the
    ``(energy, bandwidth)`` of levels flat along the whole analysed path inside the window;
    ``path_bandwidth`` is the whole-path bandwidth of the flattest level in the window (NaN when
    none is narrower than 10× the threshold).
    """

    material_id: str
    formula: str | None
    detector: str
    window: tuple[float, float]
    strip_width: float
    threshold: float
    segment_names: list[str]
    block_score: np.ndarray
    block_flat: np.ndarray
    block_bandwidth: np.ndarray
    block_energy: np.ndarray
    plane_levels: list[tuple[float, float]] = field(default_factory=list)
    path_bandwidth: float = math.nan
    dropped_segments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_strips(self) -> int:
        return int(self.block_score.shape[0])

    @property
    def n_segments(self) -> int:
        return int(self.block_score.shape[1])

    @property
    def segment_score(self) -> np.ndarray:
        """Per segment, its highest block score (0 for an empty block column)."""
        if self.n_segments == 0:
            return np.zeros(0)
        return self.block_score.max(axis=0) if self.n_strips else np.zeros(self.n_segments)

    @property
    def segment_flat(self) -> np.ndarray:
        return self.block_flat.any(axis=0)

    @property
    def n_flat_segments(self) -> int:
        return int(self.segment_flat.sum())

    @property
    def flatness_score(self) -> float:
        """Mean over segments of the segment score (the published relation)."""
        return float(self.segment_score.mean()) if self.n_segments else 0.0

    @property
    def is_flat(self) -> bool:
        """Every segment holds a flat block (the published ``binary_flatness``)."""
        return self.n_segments > 0 and self.n_flat_segments == self.n_segments

    @property
    def strips(self) -> list[int]:
        """Strips (1-based) holding at least one flat block."""
        return [int(i) + 1 for i in np.flatnonzero(self.block_flat.any(axis=1))]

    @property
    def flat_strip(self) -> int:
        """A strip flat in every segment (published ``horz_flat_seg``); the one nearest E_F when
        several are, 0 when none is."""
        full = np.flatnonzero(self.block_flat.all(axis=1)) if self.n_segments else []
        if len(full) == 0:
            return 0
        edges = strip_edges(self.window, self.strip_width)
        centres = (edges[:-1] + edges[1:]) / 2
        return int(min(full, key=lambda i: (abs(centres[i]), i))) + 1

    @property
    def plane_flat(self) -> bool:
        """One level flat along the whole (analysed) path, inside the window."""
        return bool(self.plane_levels)

    @property
    def plane_flat_energy(self) -> float:
        """Energy (eV from E_F) of the whole-path flat level nearest E_F; NaN when none."""
        if not self.plane_levels:
            return math.nan
        return float(min(self.plane_levels, key=lambda lv: abs(lv[0]))[0])

    @property
    def flat_blocks(self) -> str:
        """Flat blocks as text, ``Γ–M:2,3; M–K:2`` (segment: strips)."""
        parts = []
        for j, name in enumerate(self.segment_names):
            strips = [str(i + 1) for i in np.flatnonzero(self.block_flat[:, j])]
            if strips:
                parts.append(f"{name}:{','.join(strips)}")
        return "; ".join(parts)

    def to_row(self) -> dict[str, Any]:
        """One row of the per-material table (``TABLE_COLUMNS``)."""
        return {
            "material_id": self.material_id,
            "formula": self.formula,
            "n_segments": self.n_segments,
            "n_flat_segments": self.n_flat_segments,
            "flatness_score": self.flatness_score,
            "is_flat": self.is_flat,
            "strips": self.strips,
            "flat_strip": self.flat_strip,
            "plane_flat": self.plane_flat,
            "plane_flat_energy": self.plane_flat_energy,
            "path_bandwidth": self.path_bandwidth,
            "flat_blocks": self.flat_blocks,
            "dropped_segments": len(self.dropped_segments),
            "detector": self.detector,
        }


# -- search ---------------------------------------------------------------------------------
def _reduced_formula(formula: str | None) -> str | None:
    if not formula or not isinstance(formula, str):
        return None
    try:
        from pymatgen.core import Composition

        return Composition(formula).reduced_formula
    except Exception:
        # Not a chemical formula pymatgen can parse: compare the text as written.
        return formula


def query_materials(
    catalog: pd.DataFrame,
    flatbands: pd.DataFrame | None = None,
    clusters: pd.DataFrame | None = None,
    *,
    flat: bool | None = None,
    plane_flat: bool | None = None,
    strips: Iterable[int] | None = None,
    gap_min: float | None = None,
    gap_max: float | None = None,
    metal: bool | None = None,
    cluster: int | None = None,
    formula: str | None = None,
) -> pd.DataFrame:
    """Materials matching every given criterion, catalog order, with the columns used.

    ``flat``/``plane_flat``/``strips`` need the flat-band table (``strips``: a flat block in
    any of them), ``cluster`` the cluster table (``material_id``, ``cluster``); a criterion left
    at None is not applied. ``formula`` matches the reduced formula (``OCa`` finds ``CaO``).
    """
    strips = sorted({int(s) for s in strips}) if strips is not None else None
    needs_flat = flat is not None or plane_flat is not None or bool(strips)
    if needs_flat and flatbands is None:
        raise BandprintError("flat-band criteria need the flatbands table")
    if cluster is not None and clusters is None:
        raise BandprintError("a cluster criterion needs the clusters table")
    out = catalog[["material_id", "formula", "band_gap", "is_metal"]].copy()
    if flatbands is not None:
        fb = flatbands[
            ["material_id", "is_flat", "flatness_score", "strips", "plane_flat", "n_flat_segments"]
        ]
        out = out.merge(fb, on="material_id", how="left")
    if clusters is not None:
        if not {"material_id", "cluster"} <= set(clusters.columns):
            raise BandprintError("the clusters table has no material_id and cluster columns")
        out = out.merge(clusters[["material_id", "cluster"]], on="material_id", how="left")

    keep = np.ones(len(out), dtype=bool)
    if flat is not None:
        keep &= out["is_flat"].fillna(False).astype(bool).to_numpy() == flat
    if plane_flat is not None:
        keep &= out["plane_flat"].fillna(False).astype(bool).to_numpy() == plane_flat
    if strips:
        wanted = set(strips)
        keep &= np.array(
            [s is not None and bool(wanted & {int(x) for x in s}) for s in out["strips"]],
            dtype=bool,
        )
    gap = out["band_gap"].astype(float).to_numpy()
    if gap_min is not None:
        keep &= gap >= gap_min
    if gap_max is not None:
        keep &= gap <= gap_max
    if metal is not None:
        keep &= out["is_metal"].fillna(False).astype(bool).to_numpy() == metal
    if cluster is not None:
        keep &= out["cluster"].fillna(-(10**9)).astype(int).to_numpy() == int(cluster)
    if formula is not None:
        target = _reduced_formula(formula)
        keep &= np.array([_reduced_formula(f) == target for f in out["formula"]], dtype=bool)
    result = out[keep].reset_index(drop=True)
    if "strips" in result:
        result["strips"] = [list(s) if s is not None else [] for s in result["strips"]]
    return result
