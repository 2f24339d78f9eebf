"""The report: static figures of a clustered workspace and one self-contained interactive map.

``build_report(ws, out_dir)`` writes, from the tables the analysis stages stored in a workspace:

* ``map.png/.svg``: the UMAP plane coloured by HDBSCAN cluster (unclassified grey and small),
  the DBSCAN groups shaded by their convex hulls and lettered, each letter explained in a
  legend by the group's dominant electronic character (metal, semimetal, gap range, flat bands
  at E_F), derived from the catalog and the flat-band table;
* ``cluster_tree.png/.svg``: the condensed cluster tree (hdbscan's icicle plot, selected
  clusters ringed in their map colours);
* ``exemplars/cluster_<c>.png/.svg``: the top exemplars' band structures of each of the largest
  clusters;
* ``sweep.png/.svg`` when a parameter sweep is stored; ``reconstructions.png/.svg`` (the
  autoencoder's view of a few exemplars) when the fingerprint model can reconstruct;
  ``flatbands.png/.svg`` when the flat-band table is stored;
* ``map.html``: plotly scatter of the map; hovering shows the band-structure thumbnail (base64
  PNG in the page), a search box finds a material, clicking lists its nearest neighbours
  (precomputed, k per material, in the page). It opens from disk with no server and no network:
  plotly.js is inlined from the python package's offline copy;
* ``index.html`` linking all of it.

Every figure function takes plain data (a ``MapData``, data frames) and returns a matplotlib
``Figure``, so it works from a notebook; ``build_report`` only loads, calls and saves.
"""

from __future__ import annotations

import base64
import colorsys
import html
import io
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bandprint.analyse.search import SimilarityIndex
    from bandprint.bandstructure import BandStructure
    from bandprint.store import Workspace

#: Colour of materials HDBSCAN left unclassified (cluster −1), on every figure and page.
UNCLASSIFIED_COLOUR = "#b9b9b9"
#: Clusters named in a legend; the rest are counted in one "+ N more" entry.
MAX_LEGEND_CLUSTERS = 15
#: Materials that get a hover thumbnail in map.html (a few kB each).
MAX_THUMBNAILS = 5000
#: Side of a hover thumbnail (pixels); the page shows it 1:1.
THUMBNAIL_SIZE = 160
#: Nearest neighbours listed per material.
K_NEIGHBOURS = 10
#: Band-gap edges (eV) of the characters used to describe groups. Below the first, a
#: non-metal is called a semimetal: on a discrete k-path, bands touching at E_F (Dirac points)
#: show a gap of the energy step to the next k-point, typically a few tens of meV.
GAP_EDGES = (0.1, 1.0, 2.0, 3.0)
#: Share of a group that must be flat (flat band at E_F) to say so in its description.
FLAT_SHARE = 0.5

_STATIC = "explorer_static"


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


@dataclass
class MapData:
    """Everything the figures and pages show about the mapped materials.

    ``points`` has one row per material of the clusters table, in its order: material_id,
    formula, cluster (−1 unclassified), probability, exemplar_rank, x, y, group (−1 none), and
    from the catalog band_gap, is_metal, path, character; from the flat-band table, when
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


def load_map_data(ws: Workspace | str | Path) -> MapData:
    """The clusters table joined with catalog facts and flat-band results.

    Raises ``BandprintError`` naming the missing step when the workspace has not been
    clustered yet.
    """
    ws = _workspace(ws)
    clusters = ws.read_table("clusters")
    need = {"material_id", "cluster", "x", "y"}
    missing = need - set(clusters.columns)
    if missing:
        raise BandprintError(
            f"the clusters table of {ws.path} lacks {', '.join(sorted(missing))} "
            f"(run bandprint cluster {ws.path} again)"
        )
    points = clusters.copy()
    points["material_id"] = points["material_id"].astype(str)
    points["cluster"] = points["cluster"].fillna(-1).astype(int)
    for col, default in (("probability", np.nan), ("exemplar_rank", np.nan), ("group", -1)):
        if col not in points:
            points[col] = default
    points["group"] = points["group"].fillna(-1).astype(int)
    catalog = ws.catalog()
    facts = catalog[["material_id", "formula", "band_gap", "is_metal", "path", "nspin"]]
    if "formula" in points:
        facts = facts.drop(columns=["formula"])
    points = points.merge(facts, on="material_id", how="left")
    points["formula"] = points["formula"].fillna("").astype(str)
    points["character"] = [
        material_character(g, None if pd.isna(m) else bool(m))
        for g, m in zip(points["band_gap"], points["is_metal"], strict=True)
    ]
    if "flatbands" in ws.tables():
        flat = ws.read_table("flatbands")
        flat_meta = ws.table_meta("flatbands")
        flat = flat.assign(flat_at_fermi=flat_at_fermi(flat, flat_meta))
        keep = [
            c
            for c in ("material_id", "is_flat", "flatness_score", "flat_strip", "flat_at_fermi")
            if c in flat
        ]
        points = points.merge(flat[keep], on="material_id", how="left")
        labels = strip_labels(flat_meta)
    else:
        labels = {}
    data = MapData(points=points.reset_index(drop=True), workspace=ws, strip_labels=labels)
    data.group_labels = {
        int(g): describe_group(members)
        for g, members in points[points["group"] >= 0].groupby("group", sort=True)
    }
    return data


def _workspace(ws: Workspace | str | Path) -> Workspace:
    from bandprint.store import Workspace

    return ws if isinstance(ws, Workspace) else Workspace(ws)


# -- thumbnails -----------------------------------------------------------------------------
_THUMB_PALETTE = [255, 255, 255, 215, 215, 215, 150, 150, 150, 20, 40, 110, 190, 30, 40]


def band_thumbnail(bs: BandStructure, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A small palette image of a band structure: the autoencoder's view (±4 eV, bands as
    rendered by ``render_band_image``) with E_F and the segment boundaries drawn faintly.

    Values: 0 white, 1 segment boundary, 2 Fermi level, 3 spin-up/unpolarised band,
    4 spin-down band.
    """
    from bandprint.render import path_x, render_band_image

    if bs.metadata.get("is_2d") and bs.kpoints is not None:
        # The renderer drops a slab's out-of-plane segments; the boundaries must match.
        bs = bs.in_plane()
    img = np.zeros((size, size), dtype=np.uint8)
    xs = path_x(bs)
    length = float(xs[-1][-1]) or 1.0
    for x in xs[1:]:
        col = int(x[0] / length * (size - 1) + 0.5)
        img[:, min(col, size - 1)] = 1
    img[size // 2, ::3] = 2  # E_F: the middle of a window symmetric about 0
    up = render_band_image(bs, size=size, spins="up" if bs.nspin == 2 else "both")
    img[up > 0] = 3
    if bs.nspin == 2:
        down = render_band_image(bs, size=size, spins="down")
        img[(down > 0) & (up == 0)] = 4
    return img


def thumbnail_png(bs: BandStructure, size: int = THUMBNAIL_SIZE) -> bytes:
    """``band_thumbnail`` as PNG bytes (a 5-colour palette PNG)."""
    from PIL import Image

    im = Image.fromarray(band_thumbnail(bs, size), mode="P")
    im.putpalette(_THUMB_PALETTE)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- neighbours -----------------------------------------------------------------------------
def clustering_model_id(ws: Workspace) -> str | None:
    """The fingerprint model the clusters were computed from (``None``: the latest one)."""
    if "clusters" in ws.tables():
        meta = ws.table_meta("clusters")
        for key in ("model_id", "model"):
            if isinstance(meta.get(key), str):
                return meta[key]
    return None


def fingerprint_index(ws: Workspace, model_id: str | None = None) -> SimilarityIndex:
    """The workspace's similarity index (``search.workspace_index``, cached in the workspace)
    over the clustering model's fingerprints, with the clustering's Minkowski p."""
    from bandprint.analyse.search import P_DEFAULT, workspace_index

    model_id = model_id or clustering_model_id(ws)
    p = P_DEFAULT
    if "clusters" in ws.tables():
        p = float(ws.table_meta("clusters").get("p", P_DEFAULT))
    index, _model = workspace_index(ws, model_id, p)
    return index


def nearest_neighbours(
    ws: Workspace,
    ids: Sequence[str],
    k: int = K_NEIGHBOURS,
    index: SimilarityIndex | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` most similar other materials of each id (with a fingerprint), nearest first,
    with their fingerprint distances."""
    index = index or fingerprint_index(ws)
    pos = {m: i for i, m in enumerate(index.ids)}
    rows = [pos[m] for m in ids if m in pos]
    if not rows:
        return {}
    out: dict[str, list[tuple[str, float]]] = {}
    for start in range(0, len(rows), 4096):
        chunk = rows[start : start + 4096]
        idx, dist = index.search(index.vectors[chunk], k=k, exclude=np.asarray(chunk))
        for r, ii, dd in zip(chunk, idx, dist, strict=True):
            out[index.ids[r]] = [
                (index.ids[j], float(d)) for j, d in zip(ii, dd, strict=True) if j >= 0
            ]
    return out


def load_workspace_fingerprinter(ws: Workspace, model: str | Path | None = None) -> Any:
    """The fingerprint model that made the clustered fingerprints: the model file ``model``,
    else the shipped one; refused (``BandprintError``) when its id is not the workspace's, as
    its fingerprints would not compare with the stored ones."""
    from bandprint.fingerprint import load_fingerprinter

    wanted = clustering_model_id(ws)
    if wanted is None:
        models = ws.fingerprint_models()
        wanted = models[-1] if models else None
    fp = load_fingerprinter(model, device="cpu")
    if wanted is not None and fp.model_id_ != wanted:
        raise BandprintError(
            f"the workspace's fingerprints come from model {wanted}, not {fp.model_id_} "
            f"({'the shipped model' if model is None else model}); pass that model's file"
        )
    return fp


# -- static figures -------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


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


def plot_map(data: MapData, ax: Axes | None = None, title: str | None = None) -> Figure:
    """The map: clusters coloured, unclassified grey and small, DBSCAN groups shaded."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Polygon

    if ax is None:
        fig = _new_figure(11.5, 7.5)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    pts = data.points
    n = len(pts)
    marker = max(4.0, min(18.0, 6000.0 / max(n, 1)))
    uncl = pts[pts["cluster"] < 0]
    hulls = group_hulls(pts)
    for poly in hulls.values():
        ax.add_patch(
            Polygon(
                poly,
                closed=True,
                facecolor=(0.29, 0.44, 0.65, 0.10),
                edgecolor=(0.29, 0.44, 0.65, 0.75),
                linewidth=0.9,
                linestyle="--",
                zorder=0,
            )
        )
    ax.scatter(
        uncl["x"],
        uncl["y"],
        s=marker * 0.5,
        c=UNCLASSIFIED_COLOUR,
        linewidths=0,
        zorder=1,
        rasterized=n > 3000,
    )
    sizes = data.cluster_sizes()
    for c in sizes.index:
        m = pts[pts["cluster"] == c]
        ax.scatter(
            m["x"],
            m["y"],
            s=marker,
            c=cluster_colour(int(c)),
            linewidths=0,
            zorder=2,
            rasterized=n > 3000,
        )
    for g, poly in hulls.items():
        top = poly[np.argmax(poly[:, 1])]
        ax.annotate(
            group_letter(g),
            xy=(top[0], top[1]),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=11,
            fontweight="bold",
            color="#27466e",
            zorder=4,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
        )
    ax.set_xlabel("UMAP 1")
    ax.set_ylabel("UMAP 2")
    ax.set_title(title or f"Map of {n} materials: {len(sizes)} clusters, {len(uncl)} unclassified")
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.06)

    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=6,
            markerfacecolor=cluster_colour(int(c)),
            markeredgewidth=0,
            label=f"cluster {int(c)} ({int(s)})",
        )
        for c, s in list(sizes.items())[:MAX_LEGEND_CLUSTERS]
    ]
    if len(sizes) > MAX_LEGEND_CLUSTERS:
        rest = sizes.iloc[MAX_LEGEND_CLUSTERS:]
        handles.append(
            Line2D([], [], linestyle="", label=f"+ {len(rest)} more clusters ({int(rest.sum())})")
        )
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=4,
            markerfacecolor=UNCLASSIFIED_COLOUR,
            markeredgewidth=0,
            label=f"unclassified ({len(uncl)})",
        )
    )
    leg = ax.legend(
        handles=handles,
        title="HDBSCAN clusters (size)",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=8,
        title_fontsize=9,
        frameon=False,
    )
    if hulls:
        ax.add_artist(leg)  # keep it: the groups' legend below replaces ax.legend_
        counts = pts[pts["group"] >= 0]["group"].value_counts()
        group_handles = [
            Patch(
                facecolor=(0.29, 0.44, 0.65, 0.18),
                edgecolor=(0.29, 0.44, 0.65, 0.75),
                linestyle="--",
                label=f"{group_letter(g)}: {_wrap(data.group_labels.get(g, ''), 34)} "
                f"({int(counts[g])})",
            )
            for g in list(hulls)[:MAX_LEGEND_CLUSTERS]
        ]
        if len(hulls) > MAX_LEGEND_CLUSTERS:
            group_handles.append(
                Patch(
                    facecolor="none",
                    edgecolor="none",
                    label=f"+ {len(hulls) - MAX_LEGEND_CLUSTERS} more groups",
                )
            )
        ax.legend(
            handles=group_handles,
            title="DBSCAN groups on the map",
            loc="lower left",
            bbox_to_anchor=(1.02, 0.0),
            fontsize=8,
            title_fontsize=9,
            frameon=False,
        )
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n    ".join(textwrap.wrap(text, width)) if text else ""


def condensed_tree_array(tree: pd.DataFrame) -> np.ndarray:
    """hdbscan's condensed-tree record array from a table with parent, child and
    lambda_val/lambda and child_size/size columns."""
    lam = "lambda_val" if "lambda_val" in tree else "lambda"
    size = "child_size" if "child_size" in tree else "size"
    missing = [c for c in ("parent", "child", lam, size) if c not in tree]
    if missing:
        raise BandprintError(f"the condensed-tree table lacks {', '.join(missing)}")
    arr = np.zeros(
        len(tree),
        dtype=[
            ("parent", np.intp),
            ("child", np.intp),
            ("lambda_val", float),
            ("child_size", np.intp),
        ],
    )
    arr["parent"] = tree["parent"].to_numpy()
    arr["child"] = tree["child"].to_numpy()
    arr["lambda_val"] = tree[lam].to_numpy()
    arr["child_size"] = tree[size].to_numpy()
    return arr


def cluster_nodes_from_labels(tree: np.ndarray, labels: np.ndarray) -> dict[int, int]:
    """Tree node of each cluster when only the labels are known: the lowest common ancestor
    of the nodes its points fell out of."""
    n = len(labels)
    parent_of = {int(r["child"]): int(r["parent"]) for r in tree[tree["child_size"] > 1]}
    fell_from = {int(r["child"]): int(r["parent"]) for r in tree[tree["child"] < n]}

    def ancestors(node: int) -> list[int]:
        path = [node]
        while path[-1] in parent_of:
            path.append(parent_of[path[-1]])
        return path

    out: dict[int, int] = {}
    for c in sorted({int(x) for x in labels if x >= 0}):
        leaves = {fell_from[i] for i in np.flatnonzero(labels == c) if i in fell_from}
        if not leaves:
            continue
        common = ancestors(leaves.pop())
        for leaf in leaves:
            anc = set(ancestors(leaf))
            common = [a for a in common if a in anc]
        out[c] = common[0]
    return out


def plot_condensed_tree(
    tree: pd.DataFrame,
    cluster_nodes: dict[int, int],
    title: str = "Condensed cluster tree",
    log_size: bool | None = None,
) -> Figure:
    """The icicle plot of the condensed tree (hdbscan's drawing data): branch width is the
    number of points still in it as λ = 1/distance grows downwards; the selected clusters are
    ringed in their map colours and numbered as on the map.

    ``cluster_nodes``: cluster number → its node in the tree.
    """
    import matplotlib as mpl
    from hdbscan.plots import CondensedTree
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.patches import Ellipse

    arr = condensed_tree_array(tree)
    if len(arr) == 0:
        raise BandprintError("the condensed tree is empty")
    n_points = int(arr["child_size"][arr["parent"] == arr["parent"].min()].sum())
    log_size = n_points > 2000 if log_size is None else log_size
    ct = CondensedTree(arr, np.zeros(0, dtype=np.intp))
    data = ct.get_plot_data(log_size=log_size)
    fig = _new_figure(11.5, 6.5)
    ax = fig.add_subplot()
    widths = np.asarray(data["bar_widths"], dtype=float)
    norm = Normalize(0, float(widths.max()) if widths.size else 1.0)
    cmap = mpl.colormaps["viridis"]
    ax.bar(
        data["bar_centers"],
        data["bar_tops"],
        bottom=data["bar_bottoms"],
        width=widths,
        color=cmap(norm(widths)),
        align="center",
        linewidth=0,
    )
    for xs, ys in zip(data["line_xs"], data["line_ys"], strict=True):
        ax.plot(xs, ys, color="black", linewidth=1)
    finite = np.r_[data["bar_tops"], data["bar_bottoms"]]
    finite = finite[np.isfinite(finite)]
    span = float(np.ptp(finite)) if finite.size else 1.0
    label_every = max(1, math.ceil(len(cluster_nodes) / 40))
    for k, (c, node) in enumerate(sorted(cluster_nodes.items())):
        b = data["cluster_bounds"].get(node)
        if b is None:
            continue
        left, right, bottom, top = b
        if not np.isfinite(top):
            top = bottom + 0.1 * span
        width = max(right - left, 1e-9)
        height = max(top - bottom, 0.04 * span)
        centre = ((left + right) / 2, (bottom + top) / 2)
        ax.add_patch(
            Ellipse(
                centre,
                1.6 * width,
                1.2 * height,
                facecolor="none",
                edgecolor=cluster_colour(c),
                linewidth=2,
                zorder=3,
            )
        )
        if k % label_every == 0:
            # Above the ring (λ grows downwards, so "above" is the smaller λ).
            ax.annotate(
                str(c),
                xy=(centre[0], centre[1] - 0.6 * height),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
                fontweight="bold",
                color=cluster_colour(c),
                zorder=4,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
            )
    ax.set_xticks([])
    for side in ("right", "top", "bottom"):
        ax.spines[side].set_visible(False)
    ax.invert_yaxis()  # λ grows downwards: the root (all points) on top
    ax.set_ylabel("λ = 1 / distance")
    sm = ScalarMappable(norm=norm, cmap=cmap)
    cbar = fig.colorbar(sm, ax=ax, pad=0.01)
    cbar.set_label("log(points in branch)" if log_size else "points in branch")
    ax.set_title(
        f"{title}: {len(cluster_nodes)} selected clusters, ringed and numbered as on the map"
    )
    return fig


def plot_band_grid(
    band_structures: Sequence[BandStructure],
    titles: Sequence[str],
    suptitle: str,
    ncols: int = 3,
    window: tuple[float, float] = (-4.0, 4.0),
) -> Figure:
    """Band structures in a grid of small panels (E − E_F in eV, k-path labels below)."""
    from bandprint.plot import plot_band_structure

    n = len(band_structures)
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = _new_figure(3.6 * ncols, 2.9 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, bs, t in zip(axes.flat, band_structures, titles, strict=False):
        plot_band_structure(bs, ax=ax, window=window, title=t)
        ax.title.set_fontsize(9)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(suptitle, fontsize=11)
    return fig


def plot_exemplars(data: MapData, cluster: int, k: int = 6) -> Figure:
    """The ``k`` top exemplars of one cluster."""
    ws = _require_ws(data)
    ids = data.exemplars(cluster, k)
    bss = list(ws.iter_band_structures(ids, with_structure=False))
    pts = data.points.set_index("material_id")
    titles = [f"{bs.formula or pts.at[bs.material_id, 'formula']} ({bs.material_id})" for bs in bss]
    size = int((data.points["cluster"] == cluster).sum())
    chars = data.points[data.points["cluster"] == cluster]
    desc = describe_group(chars) if len(chars) else ""
    return plot_band_grid(
        bss, titles, f"Cluster {cluster}: {size} materials, {desc}; top {len(bss)} exemplars"
    )


def _require_ws(data: MapData) -> Workspace:
    if data.workspace is None:
        raise BandprintError("this figure needs the workspace's band structures")
    return data.workspace


def plot_flatband_summary(data: MapData, max_clusters: int = 20) -> Figure:
    """Flatness scores (flat / not flat), where whole-path flat bands lie in energy, and the
    share of flat materials per cluster."""
    pts = data.points
    if "is_flat" not in pts:
        raise BandprintError("no flat-band results (run bandprint flatbands first)")
    fig = _new_figure(14.0, 4.6)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1, 0.8, 1.3])
    flat = pts["is_flat"].fillna(False).astype(bool)
    colours = ["#9aa7b8", "#d1495b"]
    score = pts["flatness_score"].astype(float) if "flatness_score" in pts else None
    if score is not None and score.notna().any():
        bins = np.linspace(0.0, max(1.0, float(np.nanmax(score))), 26)
        ax1.hist(
            [score[~flat].dropna(), score[flat].dropna()],
            bins=bins,
            stacked=True,
            color=colours,
            label=[f"not flat ({int((~flat).sum())})", f"flat ({int(flat.sum())})"],
        )
        ax1.set_xlabel("flatness score")
        ax1.legend(frameon=False, fontsize=9)
    else:
        ax1.bar(["not flat", "flat"], [int((~flat).sum()), int(flat.sum())], color=colours)
    ax1.set_ylabel("materials")
    ax1.set_title("Flatness scores")

    if "flat_strip" in pts and data.strip_labels:
        strips = sorted(data.strip_labels)
        counts = [int((pts["flat_strip"] == s).sum()) for s in strips]
        ax2.barh([f"{s}: {data.strip_labels[s]}" for s in strips], counts, color="#d1495b")
        ax2.invert_yaxis()  # strip 1 (highest energy) on top, as in a band plot
        ax2.set_xlabel("materials")
        ax2.set_title("Band flat along the whole path,\nby energy strip (E − E$_F$)")
        ax2.tick_params(axis="y", labelsize=9)
    else:
        ax2.set_visible(False)

    sizes = data.cluster_sizes().head(max_clusters)
    share = [float(flat[pts["cluster"] == c].mean()) for c in sizes.index]
    ax3.bar(
        [str(int(c)) for c in sizes.index],
        share,
        color=[cluster_colour(int(c)) for c in sizes.index],
    )
    uncl = pts["cluster"] < 0
    if uncl.any():
        ax3.axhline(
            float(flat[uncl].mean()),
            color="#555",
            linestyle="--",
            linewidth=1,
            label="unclassified",
        )
        ax3.legend(frameon=False, fontsize=9, loc="upper right")
    ax3.set_ylim(0, 1.05)
    ax3.set_xlabel(f"cluster (the {len(sizes)} largest)")
    ax3.set_ylabel("share with flat bands")
    ax3.set_title("Flat bands per cluster")
    if len(sizes) > 12:
        ax3.tick_params(axis="x", labelsize=8, rotation=90)
    return fig


def plot_reconstructions(
    fp: Any, band_structures: Sequence[BandStructure], titles: Sequence[str]
) -> Figure:
    """The images the autoencoder sees (top) and its reconstructions from the fingerprints
    (bottom), with each reconstruction's per-pixel binary cross-entropy."""
    images = np.asarray(fp.images(list(band_structures)), dtype=np.float32)
    recon = fp.reconstruct(images)
    n = len(images)
    fig = _new_figure(max(2.9 * n + 0.6, 7.0), 6.6)
    axes = fig.subplots(2, n, squeeze=False)
    for j in range(n):
        bce = fp.score(images[j : j + 1])
        for row, (img, label) in enumerate(
            ((images[j], titles[j]), (recon[j], f"reconstruction, BCE {bce:.3f}"))
        ):
            ax = axes[row, j]
            ax.imshow(1 - img, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(label, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input image", fontsize=10)
    axes[1, 0].set_ylabel("decoded fingerprint", fontsize=10)
    fig.suptitle(
        f"What the {fp.config_.fingerprint_length}-value fingerprint keeps\n"
        f"exemplars of the largest clusters, model {fp.model_id_}",
        fontsize=11,
    )
    return fig


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` (150 dpi) and ``stem.svg``; return both paths."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    return paths


# -- the interactive map --------------------------------------------------------------------
def _asset(name: str) -> str:
    return resources.files("bandprint").joinpath(_STATIC, name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.js from the python package's offline bundle (no CDN, no network)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def map_payload(
    data: MapData,
    neighbours: dict[str, list[tuple[str, float]]] | None = None,
    thumbnails: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON the map page's script reads: points, clusters, group hulls, neighbours,
    thumbnails (data URIs) — the same shape for map.html and the explorer."""
    pts = data.points
    index = {m: i for i, m in enumerate(pts["material_id"])}

    def col(name: str, digits: int | None = None) -> list[Any]:
        if name not in pts:
            return [None] * len(pts)
        out = []
        for v in pts[name].tolist():
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                out.append(None)
            elif digits is not None:
                out.append(round(float(v), digits))
            else:
                out.append(v.item() if hasattr(v, "item") else v)
        return out

    payload: dict[str, Any] = {
        "points": {
            "id": pts["material_id"].tolist(),
            "formula": pts["formula"].tolist(),
            "cluster": [int(c) for c in pts["cluster"]],
            "group": [int(g) for g in pts["group"]],
            "x": col("x", 4),
            "y": col("y", 4),
            "probability": col("probability", 3),
            "band_gap": col("band_gap", 3),
            "character": pts["character"].tolist(),
            "path": col("path"),
            "is_flat": [None if v is None else bool(v) for v in col("is_flat")],
        },
        "clusters": [
            {"id": int(c), "size": int(s), "colour": cluster_colour(int(c))}
            for c, s in data.cluster_sizes().items()
        ],
        "unclassified_colour": UNCLASSIFIED_COLOUR,
        "groups": [
            {
                "id": g,
                "letter": group_letter(g),
                "label": data.group_labels.get(g, ""),
                "hull": np.round(poly, 4).tolist(),
            }
            for g, poly in group_hulls(pts).items()
        ],
        "neighbours": None,
        "thumbnails": None,
    }
    if neighbours is not None:
        idx, dist = [], []
        for m in pts["material_id"]:
            pairs = [(index[n], d) for n, d in neighbours.get(m, []) if n in index]
            idx.append([p[0] for p in pairs])
            dist.append([float(f"{d:.4g}") for _, d in pairs])
        payload["neighbours"] = {"index": idx, "distance": dist}
    if thumbnails is not None:
        payload["thumbnails"] = thumbnails
    return payload


def _json_for_script(obj: Any) -> str:
    # "</" would end the <script> element early.
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def map_page(
    payload: dict[str, Any], title: str, inline: bool, extra: dict[str, Any] | None = None
) -> str:
    """The map page. ``inline``: plotly.js, script, style and data inside the page (map.html);
    otherwise they are fetched from the explorer's server."""
    config = {"title": title, **(extra or {})}
    if inline:
        head = f"<style>{_asset('map.css')}</style>"
        scripts = (
            f"<script>{plotly_js()}</script>\n"
            f"<script>window.BANDPRINT_DATA = {_json_for_script(payload)};\n"
            f"window.BANDPRINT_CONFIG = {_json_for_script(config)};</script>\n"
            f"<script>{_asset('map.js')}</script>"
        )
    else:
        head = '<link rel="stylesheet" href="/static/map.css">'
        scripts = (
            '<script src="/static/plotly.min.js"></script>\n'
            f"<script>window.BANDPRINT_DATA = null;\n"
            f"window.BANDPRINT_CONFIG = {_json_for_script(config)};</script>\n"
            '<script src="/static/map.js"></script>'
        )
    body = _asset("map.html").replace("{{TITLE}}", html.escape(title))
    return body.replace("{{HEAD}}", head).replace("{{SCRIPTS}}", scripts)


def write_map_html(
    data: MapData,
    path: str | Path,
    neighbours: dict[str, list[tuple[str, float]]] | None = None,
    thumbnails: dict[str, str] | None = None,
    title: str = "bandprint map",
) -> Path:
    """Write the self-contained interactive map."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = map_page(
        map_payload(data, neighbours, thumbnails), title, inline=True, extra={"mode": "static"}
    )
    path.write_text(page, encoding="utf-8")
    return path


def thumbnails_for(
    ws: Workspace, ids: Sequence[str], limit: int = MAX_THUMBNAILS
) -> dict[str, str]:
    """Data-URI thumbnails of up to ``limit`` of ``ids`` (in the given order of priority)."""
    chosen = list(ids)[:limit]
    out: dict[str, str] = {}
    for bs in ws.iter_band_structures(chosen, with_structure=False):
        try:
            out[bs.material_id] = data_uri(thumbnail_png(bs))
        except BandprintError:
            continue  # nothing drawable (zero-length path): the hover shows text only
    return out


def thumbnail_priority(data: MapData) -> list[str]:
    """Ids ordered so that exemplars and confident cluster members get thumbnails first."""
    pts = data.points.assign(
        _uncl=data.points["cluster"] < 0,
        _rank=data.points["exemplar_rank"].fillna(np.inf),
    )
    order = pts.sort_values(["_uncl", "_rank", "probability"], ascending=[True, True, False])
    return order["material_id"].tolist()


# -- the report -----------------------------------------------------------------------------
@dataclass
class ReportPaths:
    """What ``build_report`` wrote: figure name → its files, and what it skipped and why."""

    out_dir: Path
    index: Path
    map_html: Path
    figures: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def build_report(
    ws: Workspace | str | Path,
    out_dir: str | Path,
    exemplars_per_cluster: int = 6,
    exemplar_clusters: int = 12,
    reconstructions: int = 4,
    max_thumbnails: int = MAX_THUMBNAILS,
    k_neighbours: int = K_NEIGHBOURS,
    model: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportPaths:
    """Write every figure the workspace's tables allow, map.html and index.html to ``out_dir``.

    The map needs the clusters table (``bandprint cluster``); the other figures are made when
    their inputs exist and listed in ``skipped`` (and on the index page) with the reason
    otherwise. ``model``: the fingerprint model file behind the workspace's fingerprints, for
    the reconstructions (default: the shipped model).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    ws = _workspace(ws)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _msg: None)
    data = load_map_data(ws)
    paths = ReportPaths(out_dir=out, index=out / "index.html", map_html=out / "map.html")

    def attempt(name: str, make: Callable[[], Figure | None], stem: Path) -> None:
        say(f"figure {name}")
        try:
            fig = make()
        except BandprintError as exc:
            paths.skipped[name] = str(exc)
            return
        if fig is not None:
            paths.figures[name] = save_figure(fig, stem)

    attempt("map", lambda: plot_map(data), out / "map")
    attempt("cluster_tree", lambda: cluster_tree_figure(ws, data), out / "cluster_tree")
    for c in data.cluster_sizes().index[:exemplar_clusters]:
        attempt(
            f"exemplars_cluster_{int(c)}",
            lambda c=c: plot_exemplars(data, int(c), exemplars_per_cluster),
            out / "exemplars" / f"cluster_{int(c):03d}",
        )
    attempt("sweep", lambda: sweep_figure(ws), out / "sweep")
    if reconstructions > 0:
        attempt(
            "reconstructions",
            lambda: reconstructions_figure(ws, data, reconstructions, model),
            out / "reconstructions",
        )
    attempt("flatbands", lambda: plot_flatband_summary(data), out / "flatbands")

    say("neighbours")
    try:
        neighbours = nearest_neighbours(ws, data.ids, k_neighbours)
    except BandprintError as exc:
        neighbours = None
        paths.skipped["neighbours"] = str(exc)
    say("thumbnails")
    thumbs = thumbnails_for(ws, thumbnail_priority(data), max_thumbnails)
    write_map_html(data, paths.map_html, neighbours, thumbs, title=f"bandprint map: {ws.path.name}")
    _write_index(paths, data, ws)
    return paths


def cluster_tree_figure(ws: Workspace, data: MapData) -> Figure:
    """The condensed tree stored by ``bandprint cluster``, selected clusters numbered."""
    from bandprint.analyse.cluster import TREE_TABLE

    if TREE_TABLE not in ws.tables():
        raise BandprintError(f"no condensed cluster tree in {ws.path} (run bandprint cluster)")
    tree = ws.read_table(TREE_TABLE)
    if "cluster" in tree:
        chosen = tree[tree["cluster"] >= 0]
        nodes = {int(c): int(n) for c, n in zip(chosen["cluster"], chosen["child"], strict=True)}
    else:
        # Point ids in the tree are rows of the clustered fingerprints: the clusters table's
        # order.
        nodes = cluster_nodes_from_labels(
            condensed_tree_array(tree), data.points["cluster"].to_numpy()
        )
    return plot_condensed_tree(tree, nodes)


def sweep_figure(ws: Workspace) -> Figure:
    """The stored parameter sweep as heat maps (``cluster.plot_sweep``)."""
    from bandprint.analyse.cluster import SWEEP_TABLE, SweepResult, plot_sweep

    if SWEEP_TABLE not in ws.tables():
        raise BandprintError(f"no parameter sweep in {ws.path} (run bandprint sweep {ws.path})")
    meta = ws.table_meta(SWEEP_TABLE)
    recommended = meta.get("recommended")
    result = SweepResult(
        table=ws.read_table(SWEEP_TABLE),
        recommended=tuple(recommended) if recommended else None,
        reason=str(meta.get("reason", "")),
        params=meta,
    )
    fig = plot_sweep(result)
    title = "HDBSCAN parameter sweep"
    if result.recommended:
        title += (
            f": recommended min cluster size {result.recommended[0]}, "
            f"min samples {result.recommended[1]} (boxed)"
        )
    fig.suptitle(title, fontsize=11)
    return fig


def reconstructions_figure(
    ws: Workspace, data: MapData, n: int = 4, model: str | Path | None = None
) -> Figure:
    """Reconstructions of the best exemplar of each of the ``n`` largest clusters."""
    ids = [data.exemplars(int(c), 1)[0] for c in data.cluster_sizes().index[:n]]
    if not ids:
        raise BandprintError("no clusters, so no exemplars to reconstruct")
    fp = load_workspace_fingerprinter(ws, model)
    bss = list(ws.iter_band_structures(ids, with_structure=False))
    pts = data.points.set_index("material_id")
    titles = [
        f"{pts.at[b.material_id, 'formula'] or b.material_id}\n{b.material_id} (cluster "
        f"{int(pts.at[b.material_id, 'cluster'])})"
        for b in bss
    ]
    return plot_reconstructions(fp, bss, titles)


_FIGURE_NOTES = {
    "map": "The fingerprint map (UMAP of the fingerprints). Colours: HDBSCAN clusters; grey: "
    "unclassified. Shaded, lettered regions: DBSCAN groups on the map, described by their "
    "dominant electronic character.",
    "cluster_tree": "The condensed cluster tree: how clusters split as the density threshold "
    "λ rises; the selected clusters are ringed in their map colours.",
    "sweep": "Cluster count, unclassified count, DBCV and S_Dbw over min cluster size × min "
    "samples.",
    "reconstructions": "Band-structure images and the autoencoder's reconstructions of one "
    "exemplar per large cluster: what the fingerprint keeps.",
    "flatbands": "Flat-band detection: flatness scores, and the share of flat-band materials per "
    "cluster.",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _write_index(paths: ReportPaths, data: MapData, ws: Workspace) -> None:
    pts = data.points
    n_clusters = len(data.cluster_sizes())
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>bandprint report: {html.escape(ws.path.name)}</title>",
        f"<style>{_asset('report.css')}</style></head><body>",
        f"<h1>bandprint report: {html.escape(ws.path.name)}</h1>",
        f"<p>{_count(len(pts), 'material')} on the map, {_count(n_clusters, 'cluster')}, "
        f"{int((pts['cluster'] < 0).sum())} unclassified, "
        f"{_count(len(data.group_labels), 'shaded group')}.</p>",
        "<h2><a href='map.html'>Interactive map</a></h2>",
        "<p>Hover a point to see its band structure, search a material by id or formula, click a "
        "point to list its nearest neighbours. Opens from disk; no server or network needed.</p>",
    ]
    for name, files in paths.figures.items():
        if name.startswith("exemplars_"):
            continue
        png, svg = (f.relative_to(paths.out_dir).as_posix() for f in files)
        parts += [
            f"<h2 id='{name}'>{html.escape(name.replace('_', ' ').capitalize())}</h2>",
            f"<p>{html.escape(_FIGURE_NOTES.get(name, ''))} <a href='{svg}'>SVG</a></p>",
            f"<a href='{png}'><img src='{png}' alt='{name}'></a>",
        ]
    ex = [(n, f) for n, f in paths.figures.items() if n.startswith("exemplars_")]
    if ex:
        parts.append("<h2 id='exemplars'>Exemplars of the largest clusters</h2>")
        parts.append(
            "<p>The most typical members (highest membership probability) of each "
            "cluster, E − E<sub>F</sub> in eV along each material's k-path.</p>"
        )
        for name, files in ex:
            png, svg = (f.relative_to(paths.out_dir).as_posix() for f in files)
            label = name.replace("exemplars_cluster_", "cluster ")
            parts.append(
                f"<h3>{label} <a href='{svg}'>SVG</a></h3><a href='{png}'>"
                f"<img class='grid' src='{png}' alt='{name}'></a>"
            )
    if paths.skipped:
        parts.append("<h2>Not made</h2><ul>")
        parts += [f"<li>{html.escape(n)}: {html.escape(r)}</li>" for n, r in paths.skipped.items()]
        parts.append("</ul>")
    parts.append("</body></html>")
    paths.index.write_text("\n".join(parts), encoding="utf-8")


__all__ = [
    "K_NEIGHBOURS",
    "MAX_THUMBNAILS",
    "UNCLASSIFIED_COLOUR",
    "MapData",
    "ReportPaths",
    "band_thumbnail",
    "build_report",
    "cluster_colour",
    "cluster_nodes_from_labels",
    "cluster_tree_figure",
    "clustering_model_id",
    "condensed_tree_array",
    "describe_group",
    "fingerprint_index",
    "flat_at_fermi",
    "group_hulls",
    "group_letter",
    "load_map_data",
    "load_workspace_fingerprinter",
    "map_page",
    "map_payload",
    "material_character",
    "nearest_neighbours",
    "plot_band_grid",
    "plot_condensed_tree",
    "plot_exemplars",
    "plot_flatband_summary",
    "plot_map",
    "plot_reconstructions",
    "reconstructions_figure",
    "save_figure",
    "strip_labels",
    "sweep_figure",
    "thumbnail_png",
    "write_map_html",
]
