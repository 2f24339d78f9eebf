"""The data behind the map, and how the report names and colours it (no I/O).

``MapData`` holds one row per mapped material; the functions here derive what every figure and
page shows from it: a cluster's colour, a material's electronic character, a DBSCAN group's
letter, description and hull on the map, the flat-band strips' labels.
"""

from __future__ import annotations

import colorsys
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from bandprint.store import Workspace

#: Colour of materials HDBSCAN left unclassified (cluster −1), on every figure and page.
UNCLASSIFIED_COLOUR = "#b9b9b9"
#: Band-gap edges (eV) of the characters used to describe groups. Below the first, a
#: non-metal is called a semimetal: on a discrete k-path, bands touching at E_F (Dirac points)
#: show a gap of the energy step to the next k-point, typically a few tens of meV.
GAP_EDGES = (0.1, 1.0, 2.0, 3.0)
#: Share of a group that must be flat (flat band at E_F) to say so in its description.
FLAT_SHARE = 0.5


# -- colours --------------------------------------------------------------------------------
def _distinct_palette() -> list[str]:
    import matplotlib as mpl
    import plotly.colors as pc

    candidates = [mpl.colors.to_hex(c) for c in mpl.colormaps["tab10"].colors]
    candidates += pc.qualitative.Dark24 + pc.qualitative.Alphabet + pc.qualitative.Light24
    out: list[str] = []
    for c in candidates:
        r, g, b = (int(c[i : i + 2], 16) / 255 for i in (1, 3, 5))
        _, light, sat = colorsys.rgb_to_hls(r, g, b)
        # Greys would read as "unclassified"; near-white vanishes on the page.
        if sat < 0.25 or light > 0.78 or c.lower() in out:
            continue
        out.append(c.lower())
    return out


_PALETTE: list[str] = []


def cluster_colour(cluster: int) -> str:
    """The colour of a cluster on every figure (grey for −1, unclassified)."""
    if cluster < 0:
        return UNCLASSIFIED_COLOUR
    if not _PALETTE:
        _PALETTE.extend(_distinct_palette())
    return _PALETTE[cluster % len(_PALETTE)]


# -- the data behind the map ----------------------------------------------------------------
def material_character(band_gap: float | None, is_metal: bool | None) -> str:
    """One word on a material's electronic character: metal, semimetal, or its gap range."""
    if is_metal is not None and bool(is_metal):
        return "metal"
    if is_metal is None or band_gap is None or not np.isfinite(band_gap):
        return "unknown"
    g = float(band_gap)
    if g < GAP_EDGES[0]:
        return "semimetal"
    for lo, hi in itertools.pairwise(GAP_EDGES):
        if g < hi:
            return f"gap {lo:g}–{hi:g} eV"
    return f"gap > {GAP_EDGES[-1]:g} eV"


_PLURAL = {"metal": "metals", "semimetal": "semimetals", "unknown": "unknown character"}


def group_letter(group: int) -> str:
    """A, B, …, Z, AA, AB, … for DBSCAN groups 0, 1, …"""
    letters = ""
    n = int(group)
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            return letters


def describe_group(members: pd.DataFrame) -> str:
    """A short description of a group of materials from its dominant character.

    ``members`` needs a ``character`` column and, when flat-band results exist, ``is_flat``
    and ``flat_at_fermi``. The dominant character is named with its share when it is not
    nearly all of the group (``metals (64 %)``); flat bands are added when at least
    ``FLAT_SHARE`` of the group has them.
    """
    counts = members["character"].value_counts()
    top = str(counts.index[0])
    share = counts.iloc[0] / len(members)
    text = _PLURAL.get(top, top)
    if share < 0.8:
        text += f" ({share:.0%})"
    if "flat_at_fermi" in members and members["flat_at_fermi"].fillna(False).mean() >= FLAT_SHARE:
        text += ", flat bands at E_F"
    elif "is_flat" in members and members["is_flat"].fillna(False).mean() >= FLAT_SHARE:
        text += ", flat bands"
    return text


def metadata_value(metadata: pd.Series, key: str) -> pd.Series:
    """``key`` of each catalogue row's metadata (JSON text, the catalogue's ``metadata``
    column) as text; "" where the row has no such entry."""
    import orjson

    out = pd.Series("", index=metadata.index, dtype=object)
    # Only rows that mention the key are parsed: most sources never set it.
    has = metadata.fillna("").astype(str).str.contains(f'"{key}"', regex=False)
    for i, text in metadata[has].items():
        value = orjson.loads(text).get(key)
        out.at[i] = "" if value is None else str(value)
    return out


def material_title(formula: str | None, material_id: str, prototype: str | None = None) -> str:
    """How a figure names a material: ``formula (id)``, with its structure prototype added
    when it has one that its id does not already spell out."""
    title = f"{formula or material_id} ({material_id})"
    if prototype and prototype not in material_id:
        title += f", {prototype}"
    return title


@dataclass
class MapData:
    """Everything the figures and pages show about the mapped materials.

    ``points`` has one row per material of the clusters table, in its order: material_id,
    formula, cluster (−1 unclassified), probability, exemplar_rank, x, y, group (−1 none), and
    from the catalog band_gap, is_metal, path, character, prototype (the source's structure
    prototype from the metadata, "" when it names none); from the flat-band table, when
    stored, is_flat, flatness_score, flat_strip, flat_at_fermi. ``strip_labels`` names the
    flat-band strips (``1: "+0.5…+1 eV"``).
    """

    points: pd.DataFrame
    group_labels: dict[int, str] = field(default_factory=dict)
    workspace: Workspace | None = None
    strip_labels: dict[int, str] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return self.points["material_id"].tolist()

    def index_of(self, material_id: str) -> int:
        hits = np.flatnonzero(self.points["material_id"].to_numpy() == material_id)
        if hits.size == 0:
            raise BandprintError(f"{material_id} is not on the map")
        return int(hits[0])

    def cluster_sizes(self) -> pd.Series:
        """Members per cluster (−1 excluded), largest first."""
        c = self.points["cluster"]
        return c[c >= 0].value_counts().sort_values(ascending=False, kind="stable")

    def exemplars(self, cluster: int, k: int = 6) -> list[str]:
        """The ``k`` most typical members of a cluster (lowest exemplar rank, then highest
        membership probability)."""
        members = self.points[self.points["cluster"] == cluster]
        order = members.sort_values(
            ["exemplar_rank", "probability"], ascending=[True, False], na_position="last"
        )
        return order["material_id"].head(k).tolist()


def strip_labels(meta: dict[str, Any] | None = None) -> dict[int, str]:
    """``{strip number: "low…high eV"}`` of a flat-band table's strips (published numbering,
    1 at the top of the window)."""
    from bandprint.analyse.flatbands import DEFAULT_STRIP_WIDTH, DEFAULT_WINDOW, strip_edges

    meta = meta or {}
    edges = strip_edges(
        tuple(meta.get("window") or DEFAULT_WINDOW),
        float(meta.get("strip_width") or DEFAULT_STRIP_WIDTH),
    )

    def signed(v: float) -> str:
        return "0" if abs(v) < 1e-12 else f"{v:+g}".replace("-", "−")

    return {i + 1: f"{signed(edges[i + 1])}…{signed(edges[i])} eV" for i in range(len(edges) - 1)}


def flat_at_fermi(flat: pd.DataFrame, meta: dict[str, Any] | None = None) -> pd.Series:
    """Whether each material of a flat-band table has a band flat along its whole path in a
    strip touching E_F (the published ``horz_flat_seg`` in the strips just above or below
    E_F), or a whole-path flat level within one strip width of E_F."""
    from bandprint.analyse.flatbands import DEFAULT_STRIP_WIDTH, DEFAULT_WINDOW, strip_edges

    meta = meta or {}
    window = tuple(meta.get("window") or DEFAULT_WINDOW)
    width = float(meta.get("strip_width") or DEFAULT_STRIP_WIDTH)
    edges = strip_edges(window, width)
    # Strip i (1-based) spans edges[i]..edges[i-1]; it touches E_F when 0 lies in its closure.
    at_fermi = {i + 1 for i in range(len(edges) - 1) if edges[i + 1] <= 0.0 <= edges[i]}
    out = pd.Series(False, index=flat.index)
    if "flat_strip" in flat:
        out |= flat["flat_strip"].fillna(0).astype(int).isin(at_fermi)
    if "plane_flat_energy" in flat:
        out |= flat["plane_flat_energy"].astype(float).abs() <= width
    return out


def group_hulls(points: pd.DataFrame, pad: float = 0.03) -> dict[int, np.ndarray]:
    """A closed polygon around each DBSCAN group on the map (convex hull, padded outward by
    ``pad`` of the map's extent so edge points sit inside the shading)."""
    from scipy.spatial import ConvexHull, QhullError

    xy_all = points[["x", "y"]].to_numpy(dtype=float)
    span = float(np.ptp(xy_all, axis=0).max()) if len(xy_all) else 1.0
    r = pad * (span or 1.0)
    out: dict[int, np.ndarray] = {}
    for g, members in points[points["group"] >= 0].groupby("group", sort=True):
        xy = members[["x", "y"]].to_numpy(dtype=float)
        # A padded hull: hull of every point surrounded by a small polygon.
        ring = np.stack(
            [
                np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
                np.sin(np.linspace(0, 2 * np.pi, 12, endpoint=False)),
            ],
            axis=1,
        )
        cloud = (xy[:, None, :] + r * ring[None, :, :]).reshape(-1, 2)
        try:
            hull = ConvexHull(cloud)
        except QhullError:
            continue
        poly = cloud[hull.vertices]
        out[int(g)] = np.vstack([poly, poly[:1]])
    return out
