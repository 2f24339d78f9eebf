"""Figures: matplotlib figures and thumbnail images drawn from plain data.

Every function takes a ``MapData``, data frames, arrays or band structures and returns a
matplotlib ``Figure`` (or image bytes); none reads the workspace, so each works from a
notebook. ``report.build`` loads what they need from a workspace.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError
from bandprint.report.data import (
    UNCLASSIFIED_COLOUR,
    MapData,
    cluster_colour,
    group_hulls,
    group_letter,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bandprint.bandstructure import BandStructure

#: Clusters named in a legend; the rest are counted in one "+ N more" entry.
MAX_LEGEND_CLUSTERS = 15
#: The look of the two legends beside the map (clusters above, DBSCAN groups below).
_SIDE_LEGEND: dict[str, Any] = {"fontsize": 8, "title_fontsize": 9, "frameon": False}
#: Side of a hover thumbnail (pixels); the page shows it 1:1.
THUMBNAIL_SIZE = 160


# -- thumbnails -----------------------------------------------------------------------------
_THUMB_PALETTE = [255, 255, 255, 215, 215, 215, 150, 150, 150, 20, 40, 110, 190, 30, 40]


def band_thumbnail(bs: BandStructure, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """``band_thumbnail_with_info``'s image alone."""
    return band_thumbnail_with_info(bs, size)[0]


def band_thumbnail_with_info(
    bs: BandStructure, size: int = THUMBNAIL_SIZE
) -> tuple[np.ndarray, dict[str, Any]]:
    """A small palette image of a band structure: the autoencoder's view (``RenderSettings``'
    defaults at ``size`` pixels: ±4 eV about the render's energy zero, the path as
    ``render.prepare_band_structure`` draws it) with the file's E_F and the drawn path's segment
    boundaries drawn faintly.

    Both overlays come from the prepared band structure the bands were drawn from: boundaries
    where its segments meet (canonical order, a slab's out-of-plane segments left out), and the
    E_F line on the row of ``E_F − reference_energy`` (the zero is mid-gap for an insulator,
    so the line sits where the file puts E_F, usually at the valence-band top, not on the
    middle row); no line when E_F is outside the window.

    Values: 0 white, 1 segment boundary, 2 Fermi level, 3 spin-up/unpolarised band,
    4 spin-down band. Returned with ``prepare_band_structure``'s record of the picture
    (``info["path"]["drawn"]``: the path as drawn, which text beside the image should name).
    """
    from bandprint.render import (
        ROW_NUDGE,
        RenderSettings,
        path_x,
        prepare_band_structure,
        render_spin_channels,
    )

    settings = RenderSettings(size=size)
    drawn, info = prepare_band_structure(bs, settings)
    img = np.zeros((size, size), dtype=np.uint8)
    xs = path_x(drawn, settings.x_axis)
    length = float(xs[-1][-1]) or 1.0
    for x in xs[1:]:
        # The renderer's column of x: the first k-point at the centre of column 0, the last
        # at the centre of column size − 1.
        col = int(x[0] / length * (size - 1) + 0.5)
        img[:, min(col, size - 1)] = 1
    lo, hi = settings.window
    fermi = bs.efermi - info["reference_energy"]
    # The renderer's row of an energy (render module docstring), nudge included.
    row = math.floor((hi - fermi) / (hi - lo) * size + ROW_NUDGE)
    if 0 <= row < size:
        img[row, ::3] = 2
    # Spin up in channel 0, spin down in channel 1 (a copy of channel 0 without spin).
    up, down = render_spin_channels(bs, settings)
    img[up > 0] = 3
    if bs.nspin == 2:
        img[(down > 0) & (up == 0)] = 4
    return img, info


def thumbnail_png(bs: BandStructure, size: int = THUMBNAIL_SIZE) -> bytes:
    """``band_thumbnail`` as PNG bytes (a 5-colour palette PNG)."""
    return thumbnail_image_png(band_thumbnail(bs, size))


def thumbnail_image_png(img: np.ndarray) -> bytes:
    """A ``band_thumbnail`` image as PNG bytes (a 5-colour palette PNG)."""
    from PIL import Image

    im = Image.fromarray(img, mode="P")
    im.putpalette(_THUMB_PALETTE)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- static figures -------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


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
        **_SIDE_LEGEND,
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
            **_SIDE_LEGEND,
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
        bce = fp.reconstruction_bce(images[j : j + 1])
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
