"""Band-structure plots for people: labelled high-symmetry points, the Fermi level, both spins.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot state), so plotting is
safe in scripts, servers and notebooks alike, and needs no display.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.bandstructure import BandStructure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SPIN_UP_COLOR = "#1f4e9c"
SPIN_DOWN_COLOR = "#d1495b"
FERMI_COLOR = "#555555"


def tick_label(label: str) -> str:
    """A k-point label as mathtext: ``K_1`` gets a real subscript; ``X|U`` keeps its bar."""
    parts = []
    for part in label.split("|"):
        m = re.fullmatch(r"([^_]+)_\{?([^}]+)\}?", part)
        parts.append(f"{m.group(1)}$_{{{m.group(2)}}}$" if m else part)
    return "|".join(parts)


def _title(bs: BandStructure) -> str:
    if bs.formula and bs.formula != bs.material_id:
        return f"{bs.material_id} ({bs.formula})"
    return bs.material_id


_REFERENCE_TEX = {"fermi": "E$_F$", "vbm": "E$_{VBM}$", "midgap": "E$_{mid}$"}


def plot_band_structure(
    bs: BandStructure,
    ax: Axes | None = None,
    window: tuple[float, float] | None = (-4.0, 4.0),
    title: str | None = None,
    legend: bool = True,
    fermi_label: bool = True,
    linewidth: float = 1.2,
    figsize: tuple[float, float] = (6.0, 4.5),
    reference: float | None = None,
    reference_name: str = "fermi",
) -> Figure:
    """Draw ``bs`` with energies relative to E_F; returns the figure it drew on.

    Each path segment is drawn on its own, so no line crosses a break such as ``X|U``
    (drawn as one merged tick). Spin up is solid, spin down dashed in a second colour.
    ``window=None`` shows every band. ``reference``: the absolute energy (eV) drawn as 0
    instead of E_F, named by ``reference_name`` (``"fermi"``, ``"vbm"``, ``"midgap"``; see
    ``render.reference_energy``).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    x = bs.distances
    zero = bs.efermi if reference is None else float(reference)
    rel = bs.energies - zero
    ref_tex = _REFERENCE_TEX.get(reference_name, "E$_F$")
    styles = [("spin ↑", SPIN_UP_COLOR, "solid"), ("spin ↓", SPIN_DOWN_COLOR, (0, (4, 2)))]
    for spin in range(bs.nspin):
        _, color, dash = styles[spin]
        lines = []
        for seg in bs.segments:
            xs = x[seg.start : seg.stop]
            for band in range(bs.nbands):
                lines.append(np.column_stack([xs, rel[spin, seg.start : seg.stop, band]]))
        ax.add_collection(
            LineCollection(
                lines,
                colors=color,
                linestyles=dash,
                linewidths=linewidth,
                zorder=3 - spin,
            )
        )
    ticks = bs.labels
    for pos, _ in ticks:
        ax.axvline(pos, color="#bbbbbb", linewidth=0.8, zorder=1)
    ax.axhline(0.0, color=FERMI_COLOR, linestyle="--", linewidth=0.9, zorder=1)
    ax.set_xticks([p for p, _ in ticks], [tick_label(lab) for _, lab in ticks])
    ax.set_xlim(float(x[0]), float(x[-1]))
    if window is not None:
        ax.set_ylim(*window)
    else:
        lo, hi = float(rel.min()), float(rel.max())
        pad = 0.03 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("Wave vector")
    ax.set_ylabel(f"E − {ref_tex} (eV)")
    ax.set_title(title if title is not None else _title(bs))
    if fermi_label:
        ax.text(
            1.0,
            0.0,
            " " + ref_tex,
            transform=ax.get_yaxis_transform(),
            va="center",
            ha="left",
            fontsize="small",
            color=FERMI_COLOR,
            clip_on=False,
        )
    if legend and bs.nspin == 2:
        handles = [
            Line2D([], [], color=c, linestyle=d, linewidth=linewidth, label=lab)
            for lab, c, d in styles
        ]
        ax.legend(handles=handles, loc="upper right", fontsize="small", framealpha=0.9)
    return fig


def plot_band_structures_side_by_side(
    bs_list: Sequence[BandStructure],
    titles: Sequence[str] | None = None,
    window: tuple[float, float] | None = (-4.0, 4.0),
    panel_size: tuple[float, float] = (4.5, 4.0),
) -> Figure:
    """Several band structures in a row sharing the energy axis (e.g. a duplicate pair)."""
    from matplotlib.figure import Figure

    n = len(bs_list)
    if n == 0:
        raise ValueError("no band structures to plot")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} band structures")
    fig = Figure(figsize=(panel_size[0] * n, panel_size[1]), layout="constrained")
    axes = fig.subplots(1, n, sharey=True, squeeze=False)[0]
    for i, (bs, ax) in enumerate(zip(bs_list, axes, strict=True)):
        plot_band_structure(
            bs,
            ax=ax,
            window=window,
            title=None if titles is None else titles[i],
            fermi_label=i == n - 1,  # one E_F mark, at the right edge, not between panels
        )
        if i:
            ax.set_ylabel("")
    return fig


def relative_luminance(colour: Any) -> float:
    """WCAG 2 relative luminance (0 black … 1 white) of a Matplotlib colour, alpha ignored."""
    from matplotlib.colors import to_rgb

    rgb = np.asarray(to_rgb(colour), dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast_text_colour(background: Any) -> str:
    """``"white"`` on a dark background, ``"black"`` on a light one: whichever has the higher
    WCAG contrast ratio with it (the switch is at luminance ≈ 0.18, where both give 4.6:1)."""
    lum = relative_luminance(background)
    return "white" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "black"


def save_band_plot(
    bs: BandStructure,
    out: str | Path,
    window: tuple[float, float] | None = (-4.0, 4.0),
    dpi: int = 150,
    **kwargs: Any,
) -> Path:
    """Plot ``bs`` to an image file (format from the extension: png, svg, pdf)."""
    out = Path(out)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    fig = plot_band_structure(bs, window=window, **kwargs)
    fig.savefig(out, dpi=dpi)
    return out


__all__ = [
    "contrast_text_colour",
    "plot_band_structure",
    "plot_band_structures_side_by_side",
    "relative_luminance",
    "save_band_plot",
    "tick_label",
]
