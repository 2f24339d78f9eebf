"""Draw the canonical k-path of each 2-D lattice type in its Brillouin zone.

    python scripts/plot_canonical_paths.py [--out docs/images/canonical-paths-2d.png]

One panel per type of ``bandprint.kpath.LATTICE_TYPES_2D``, on an example cell of that type:
the first Brillouin zone (the Voronoi cell of Γ among reciprocal-lattice points), the special
points as ``kpath_spec`` places them and the path ``PATHS_2D`` walks, arrows in its direction.
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path

import numpy as np

#: Example in-plane cells (a, b, γ in degrees) of each type.
CELLS = {
    "hexagonal": (1.0, 1.0, 120.0),
    "square": (1.0, 1.0, 90.0),
    "rectangular": (1.0, 1.5, 90.0),
    "centred rectangular": (1.0, 1.0, 70.0),
    "oblique": (1.0, 1.3, 80.0),
}


def zone(rec2: np.ndarray) -> np.ndarray:
    """Corners of the first Brillouin zone of the 2-D reciprocal lattice ``rec2`` (rows)."""
    from scipy.spatial import Voronoi

    n = np.arange(-2, 3)
    grid = np.array([i * rec2[0] + j * rec2[1] for i in n for j in n])
    vor = Voronoi(grid)
    centre = int(np.argmin(np.linalg.norm(grid, axis=1)))
    corners = vor.vertices[vor.regions[vor.point_region[centre]]]
    order = np.argsort(np.arctan2(corners[:, 1], corners[:, 0]))
    return corners[order]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="docs/images/canonical-paths-2d.png")
    args = ap.parse_args()

    from matplotlib.figure import Figure

    from bandprint.kpath import kpath_spec

    fig = Figure(figsize=(15, 4.0), layout="constrained")
    axes = fig.subplots(1, len(CELLS))
    for ax, (name, (a, b, gamma)) in zip(axes, CELLS.items(), strict=True):
        g = np.radians(gamma)
        cell = np.array([[a, 0, 0], [b * np.cos(g), b * np.sin(g), 0], [0, 0, 20.0]])
        rec = 2 * np.pi * np.linalg.inv(cell).T
        spec = kpath_spec(rec, two_d=True, axis=2)
        assert spec.lattice_type == name, (name, spec.lattice_type)
        to_input = np.linalg.inv(spec.to_standard)
        cart = {k: (to_input @ p) @ rec for k, p in spec.points.items()}
        corners = zone(rec[:2, :2])
        ax.fill(corners[:, 0], corners[:, 1], color="#eef3fb", edgecolor="#7a8fb3", lw=1)
        for piece in spec.path:
            pts = np.array([cart[k][:2] for k in piece])
            ax.plot(pts[:, 0], pts[:, 1], color="#c0392b", lw=2, zorder=3)
            for p, q in pairwise(pts):
                mid = p + 0.55 * (q - p)
                ax.annotate(
                    "",
                    xy=mid,
                    xytext=p + 0.45 * (q - p),
                    arrowprops={"arrowstyle": "-|>", "color": "#c0392b", "lw": 2},
                    zorder=4,
                )
        for k, p in cart.items():
            ax.plot(*p[:2], "o", color="black", ms=4, zorder=5)
            ax.annotate(k, p[:2], textcoords="offset points", xytext=(5, 5), fontsize=12)
        ax.set_title(f"{name}\n{spec.path_string}", fontsize=11)
        ax.set_aspect("equal")
        ax.margins(0.12)
        ax.axis("off")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
