"""Pages: the HTML of the interactive map (``map.html``, and the explorer's map) and of the
report's index, assembled from ``MapData`` and the files already written.

``map.html`` opens from disk with no server and no network: plotly.js is inlined from the
python package's offline copy, the map's data (points, clusters, group hulls, neighbours,
thumbnails as data URIs) is a JSON object in the page.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.report.data import (
    UNCLASSIFIED_COLOUR,
    MapData,
    cluster_colour,
    group_hulls,
    group_letter,
)

_STATIC = "explorer_static"


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
    drawn_paths: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON the map page's script reads: points, clusters, group hulls, neighbours,
    thumbnails (data URIs) — the same shape for map.html and the explorer.

    ``points.path`` is the catalogue's path, in the file's order; ``points.path_drawn`` the
    path a material's thumbnail is drawn along (``drawn_paths``, from the thumbnail pass,
    ``report.build.thumbnails_for``), ``None`` where not given."""
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
            "path_drawn": [(drawn_paths or {}).get(m) for m in pts["material_id"]],
            "prototype": [v or None for v in col("prototype")],
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
    drawn_paths: dict[str, str] | None = None,
) -> Path:
    """Write the self-contained interactive map (``map_payload``'s arguments)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = map_page(
        map_payload(data, neighbours, thumbnails, drawn_paths),
        title,
        inline=True,
        extra={"mode": "static"},
    )
    path.write_text(page, encoding="utf-8")
    return path


def thumbnail_priority(data: MapData) -> list[str]:
    """Ids ordered so that exemplars and confident cluster members get thumbnails first."""
    pts = data.points.assign(
        _uncl=data.points["cluster"] < 0,
        _rank=data.points["exemplar_rank"].fillna(np.inf),
    )
    order = pts.sort_values(["_uncl", "_rank", "probability"], ascending=[True, True, False])
    return order["material_id"].tolist()


# -- the index page ------------------------------------------------------------------------
@dataclass
class ReportPaths:
    """What ``build_report`` wrote: figure name → its files, and what it skipped and why."""

    out_dir: Path
    index: Path
    map_html: Path
    figures: dict[str, list[Path]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


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


def write_index_html(paths: ReportPaths, data: MapData, name: str) -> None:
    """Write ``paths.index``: the report's front page for the workspace called ``name``,
    every figure in ``paths.figures`` with its note, and what ``paths.skipped`` lists."""
    pts = data.points
    n_clusters = len(data.cluster_sizes())
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>bandprint report: {html.escape(name)}</title>",
        f"<style>{_asset('report.css')}</style></head><body>",
        f"<h1>bandprint report: {html.escape(name)}</h1>",
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
