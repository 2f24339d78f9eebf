"""A local web explorer of a workspace: the map, a page per material, and "where does my band
structure land?".

One module because most of it is ``Explorer``, one class of answers over one loaded map, and
the HTTP handler and server around it are thin.

``serve(ws)`` runs a small threaded ``http.server`` (standard library only) bound to the
loopback interface, never to a network: it is meant for the person at the machine, it has no
authentication, and it reads uploaded files. Pages:

* ``/``: the interactive map (the same page and script as the report's ``map.html``, with data,
  thumbnails and neighbours fetched from the server) plus a drop zone for band-structure files;
* ``/material/<id>``: the band structure, catalog facts, cluster and its exemplars, the most
  similar materials with distances, duplicates involving it, flat-band results.

JSON endpoints used by the script: ``/api/map``, ``/api/material/<id>``, ``POST /api/project``
(multipart upload; answers ``{"ok": false, "error": "<one line>"}`` for bad files, never a
traceback). Images: ``/bands/<id>.png`` (full plot), ``/thumb/<id>.png`` (hover thumbnail).

``Explorer`` holds the logic and works without the server (notebooks, tests).
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import html
import io
import ipaddress
import json
import math
import re
import socket
import tempfile
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError
from bandprint.report import (
    K_NEIGHBOURS,
    MapData,
    cluster_colour,
    clustering_model_id,
    describe_group,
    fingerprint_index,
    load_map_data,
    load_workspace_fingerprinter,
    map_page,
    map_payload,
    nearest_neighbours,
    thumbnail_png,
)

if TYPE_CHECKING:
    from bandprint.analyse.search import SimilarityIndex
    from bandprint.bandstructure import BandStructure
    from bandprint.store import Workspace

#: Largest upload accepted (bytes): a big vasprun.xml fits, a mistaken disk image does not.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
#: Band plots and thumbnails kept in memory.
IMAGE_CACHE = 512
#: Exemplars shown on a material page.
PAGE_EXEMPLARS = 6
#: Metadata a material page lists with the catalogue's facts when the source records it
#: (fact name → metadata key): what a computed corpus says about structure and magnetism.
PAGE_METADATA = {
    "prototype": "prototype",
    "space_group": "sg_symbol",
    "magnetic_state": "magnetic_state",
    "twin_of": "twin_of",
}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _finite(v: Any) -> Any:
    """A JSON-safe scalar: numpy types unwrapped, NaN/inf and pandas NA as None."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.ndarray):
        return [_finite(x) for x in v.tolist()]
    if isinstance(v, list | tuple):
        return [_finite(x) for x in v]
    return v


def distance_name(p: float) -> str:
    """What a fingerprint distance under Minkowski ``p`` is called on the material page."""
    if p == 2.0:
        return "L2 distance"
    if p == 1.0:
        return "L1 distance"
    return f"Minkowski p = {p:g} distance"


def distance_formula(p: float) -> str:
    """The formula of the distance ``analyse.search`` reports under ``p`` (metric form)."""
    if p == 2.0:
        return "Euclidean, √(Σ|Δ|²)"
    if p <= 1.0:
        return f"Σ|Δ|^{p:g}" + ("" if p == 1.0 else ", without the 1/p root")
    return f"(Σ|Δ|^{p:g})^(1/{p:g})"


def _distance_info(p: float | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"p": float(p), "name": distance_name(p), "formula": distance_formula(p)}


class Explorer:
    """The explorer's data and answers, independent of HTTP.

    Loads the map (clusters table joined with catalog and flat-band results) and the nearest
    neighbours of every mapped material once; band plots and thumbnails are drawn on demand
    and cached.
    """

    def __init__(
        self, ws: Workspace | str | Path, k: int = K_NEIGHBOURS, model: str | Path | None = None
    ):
        from bandprint.store import Workspace

        self.ws = ws if isinstance(ws, Workspace) else Workspace(ws)
        self.k = k
        self.model = model
        self.data: MapData = load_map_data(self.ws)
        self._index = {m: i for i, m in enumerate(self.data.ids)}
        self.model_id = clustering_model_id(self.ws)
        self.search_index: SimilarityIndex | None = None
        self.neighbours: dict[str, list[tuple[str, float]]] | None = None
        self.neighbours_error = ""
        try:
            self.search_index = fingerprint_index(self.ws, self.model_id)
            self.model_id = self.model_id or self.ws.fingerprint_models()[-1]
            self.neighbours = nearest_neighbours(self.ws, self.data.ids, k, self.search_index)
        except BandprintError as exc:
            self.neighbours_error = str(exc)
        self._catalog = self.ws.catalog().set_index("material_id", drop=False)
        self._tables = set(self.ws.tables())
        self._plot_lock = threading.Lock()  # matplotlib's font cache and torch are not re-entrant
        self._model_lock = threading.Lock()
        self._fingerprinter: Any = None

    # -- the map ------------------------------------------------------------------------
    def map_json(self) -> dict[str, Any]:
        return map_payload(self.data, self.neighbours, thumbnails=None)

    def map_page(self) -> str:
        return map_page(
            {},
            f"bandprint explorer: {self.ws.path.name}",
            inline=False,
            extra={
                "mode": "server",
                "dataUrl": "/api/map",
                "thumbUrl": "/thumb/{id}.png",
                "materialUrl": "/material/{id}",
                "projectUrl": "/api/project",
            },
        )

    # -- one material -------------------------------------------------------------------
    def _require(self, material_id: str) -> None:
        if material_id not in self._catalog.index:
            raise BandprintError(f"no material {material_id} in {self.ws.path}")

    def similar(self, material_id: str) -> list[dict[str, Any]]:
        """The ``k`` most similar materials with their fingerprint distances."""
        if self.search_index is None:
            raise BandprintError(self.neighbours_error or "no fingerprints to compare")
        if self.neighbours is not None and material_id in self.neighbours:
            pairs = self.neighbours[material_id]
        else:
            pairs = nearest_neighbours(self.ws, [material_id], self.k, self.search_index).get(
                material_id, []
            )
        return [self._brief(m, distance=d) for m, d in pairs]

    def _brief(self, material_id: str, **extra: Any) -> dict[str, Any]:
        i = self._index.get(material_id)
        formula = None
        if material_id in self._catalog.index:
            formula = self._catalog.at[material_id, "formula"]
        out: dict[str, Any] = {
            "material_id": material_id,
            "formula": _finite(formula),
            "cluster": int(self.data.points.at[i, "cluster"]) if i is not None else None,
        }
        out.update({k: _finite(v) for k, v in extra.items()})
        return out

    def duplicates(self, material_id: str) -> list[dict[str, Any]]:
        """Candidate duplicate pairs (``bandprint duplicates``) involving ``material_id``:
        the other member, the distance and how it compares with typical neighbours."""
        from bandprint.analyse.duplicates import DUPLICATES_TABLE

        if DUPLICATES_TABLE not in self._tables:
            return []
        df = self._duplicates_table()
        a, b = "material_id_1", "material_id_2"
        rows = df[(df[a] == material_id) | (df[b] == material_id)]
        out = []
        for r in rows.to_dict(orient="records"):
            other = r[b] if r[a] == material_id else r[a]
            extra = {
                k: r[k]
                for k in ("distance", "relative_distance", "same_formula", "mutual_nearest")
                if k in r
            }
            out.append(self._brief(str(other), **extra))
        return out

    @property
    def similar_p(self) -> float | None:
        """Minkowski p of the similar-materials distances (the clustering's; ``None``: no index)."""
        return None if self.search_index is None else float(self.search_index.p)

    @functools.cached_property
    def duplicates_p(self) -> float | None:
        """Minkowski p of the stored duplicate distances (``None``: no duplicates table)."""
        from bandprint.analyse.duplicates import DEFAULT_P, DUPLICATES_TABLE

        if DUPLICATES_TABLE not in self._tables:
            return None
        return float(self.ws.table_meta(DUPLICATES_TABLE).get("p", DEFAULT_P))

    @functools.cache  # noqa: B019 - one Explorer per server; the table is fixed
    def _duplicates_table(self) -> pd.DataFrame:
        from bandprint.analyse.duplicates import DUPLICATES_TABLE

        return self.ws.read_table(DUPLICATES_TABLE)

    def flatness(self, material_id: str) -> dict[str, Any] | None:
        if "flatbands" not in self._tables:
            return None
        df = self._flat_table()
        if material_id not in df.index:
            return None
        row = df.loc[material_id]
        return {c: _finite(row[c]) for c in df.columns if c not in ("material_id", "formula")}

    @functools.cache  # noqa: B019 - one Explorer per server; the table is small and fixed
    def _flat_table(self) -> pd.DataFrame:
        return self.ws.read_table("flatbands").set_index("material_id", drop=False)

    def material(self, material_id: str) -> dict[str, Any]:
        """Everything the material page shows, as JSON-ready data."""
        self._require(material_id)
        row = self._catalog.loc[material_id]
        from bandprint.store import CATALOG_COLUMNS

        facts = {c: _finite(row[c]) for c in CATALOG_COLUMNS if c != "metadata" and c in row.index}
        meta = json.loads(row["metadata"]) if row.get("metadata") else {}
        facts.update(
            {name: _finite(meta[key]) for name, key in PAGE_METADATA.items() if meta.get(key)}
        )
        out: dict[str, Any] = {"material_id": material_id, "facts": facts}
        i = self._index.get(material_id)
        if i is not None:
            p = self.data.points.loc[i]
            c = int(p["cluster"])
            members = self.data.points[self.data.points["cluster"] == c]
            out["map"] = {
                "x": _finite(p["x"]),
                "y": _finite(p["y"]),
                "cluster": c,
                "probability": _finite(p["probability"]),
                "group": int(p["group"]),
                "group_label": self.data.group_labels.get(int(p["group"]), ""),
                "cluster_size": len(members) if c >= 0 else None,
                "cluster_description": describe_group(members) if c >= 0 else None,
                "exemplars": [self._brief(m) for m in self.data.exemplars(c, PAGE_EXEMPLARS)]
                if c >= 0
                else [],
            }
        else:
            out["map"] = None
        try:
            out["similar"] = self.similar(material_id)
        except BandprintError as exc:
            out["similar"], out["similar_error"] = [], str(exc)
        out["duplicates"] = self.duplicates(material_id)
        # The two lists use different distances (duplicates: L2 by default; similar: the
        # clustering's p = 0.2), so each says which.
        out["similar_distance"] = _distance_info(self.similar_p)
        out["duplicates_distance"] = _distance_info(self.duplicates_p)
        out["flatness"] = self.flatness(material_id)
        out["rendering"] = self.rendering(material_id)
        return out

    def rendering(self, material_id: str) -> dict[str, Any]:
        """How the material is drawn for its fingerprints (``render.prepare_band_structure``
        under the render settings stored with the map's fingerprints): the path drawn,
        whether it is the canonical one, slab or bulk, and the energy reference."""
        from bandprint.render import RenderSettings, describe_rendering, prepare_band_structure

        settings = RenderSettings()
        if self.model_id:
            try:
                stored = self.ws.fingerprint_model_info(self.model_id).get("render")
            except BandprintError:
                stored = None
            if stored:
                settings = RenderSettings.from_dict(stored)
        bs = self.ws.get(material_id, with_structure=False)
        info = prepare_band_structure(bs, settings)[1]
        return {
            "path": info["path"]["drawn"],
            "canonical_path": bool(info["path"].get("applied")),
            "lattice_type": info["path"].get("lattice_type"),
            "two_d": info["two_d"],
            "energy_reference": info["energy_reference"],
            "reference_energy": info["reference_energy"],
            "description": describe_rendering(info),
        }

    # -- images -------------------------------------------------------------------------
    @functools.lru_cache(maxsize=IMAGE_CACHE)  # noqa: B019 - bounded, lives with the server
    def band_png(self, material_id: str) -> bytes:
        from bandprint.plot import plot_band_structure

        self._require(material_id)
        bs = self.ws.get(material_id, with_structure=False)
        with self._plot_lock:
            fig = plot_band_structure(bs, figsize=(7.0, 4.8))
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
        return buf.getvalue()

    @functools.lru_cache(maxsize=4 * IMAGE_CACHE)  # noqa: B019 - bounded, lives with the server
    def thumb_png(self, material_id: str) -> bytes:
        self._require(material_id)
        return thumbnail_png(self.ws.get(material_id, with_structure=False))

    # -- uploads ------------------------------------------------------------------------
    def read_upload(
        self, files: Sequence[tuple[str, bytes]]
    ) -> tuple[list[BandStructure], list[str]]:
        """Band structures in uploaded files (several files may make one, e.g. a VASP run
        with its KPOINTS), and one line per file that could not be read."""
        from bandprint.read import discover_sources, read_source

        if not files:
            raise BandprintError("no file received: choose or drop a band-structure file")
        with tempfile.TemporaryDirectory(prefix="bandprint-upload-") as tmp:
            folder = Path(tmp) / "upload"
            folder.mkdir()
            names = []
            for raw_name, content in files:
                name = _safe_name(raw_name)
                if name in names:
                    raise BandprintError(f"two uploaded files are named {name}")
                names.append(name)
                if not content:
                    raise BandprintError(f"{name}: file is empty")
                (folder / name).write_bytes(content)
            skipped: list[str] = []

            def clean(text: str) -> str:
                return " ".join(
                    text.replace(str(folder) + "/", "").replace(str(folder), "upload").split()
                )

            found: list[BandStructure] = []
            for src in discover_sources(
                [folder], on_skip=lambda p, r: skipped.append(clean(f"{p}: {r}"))
            ):
                try:
                    found.extend(read_source(src))
                except BandprintError as exc:
                    skipped.append(clean(str(exc)))
            for bs in found:
                bs.source = clean(bs.source or "")
        if not found:
            if skipped:
                raise BandprintError(skipped[0])
            raise BandprintError(
                f"{', '.join(names)}: not a band-structure format bandprint reads (pymatgen/"
                "Materials Project JSON, 2DMatPedia, VASP vasprun.xml with KPOINTS, CASTEP .bands "
                "with .cell, …)"
            )
        return found, skipped

    def _fingerprint(self, bss: Sequence[BandStructure]) -> np.ndarray:
        with self._model_lock:
            if self._fingerprinter is None:
                self._fingerprinter = load_workspace_fingerprinter(self.ws, self.model)
            return np.asarray(self._fingerprinter.transform(list(bss)), dtype=np.float32)

    def project(self, files: Sequence[tuple[str, bytes]]) -> dict[str, Any]:
        """Read uploaded files, fingerprint them with the workspace's model, and place each
        band structure on the map next to its nearest neighbours."""
        if self.search_index is None:
            raise BandprintError(self.neighbours_error or "no fingerprints to compare with")
        bss, skipped = self.read_upload(files)
        vectors = self._fingerprint(bss)
        idx, dist = self.search_index.search(vectors, k=self.k)
        results = []
        for bs, vec, ii, dd in zip(bss, vectors, idx, dist, strict=True):
            pairs = [
                (self.search_index.ids[j], float(d)) for j, d in zip(ii, dd, strict=True) if j >= 0
            ]
            x, y, how = self._place(vec, pairs)
            results.append(
                {
                    "material_id": bs.material_id,
                    "formula": bs.formula,
                    "source": bs.source,
                    "x": x,
                    "y": y,
                    "placement": how,
                    "neighbours": [
                        {**self._brief(m, distance=d), "index": self._index.get(m)}
                        for m, d in pairs
                        if m in self._index
                    ],
                }
            )
        return {"ok": True, "results": results, "skipped": skipped}

    def _place(self, vec: np.ndarray, pairs: list[tuple[str, float]]) -> tuple[float, float, str]:
        on_map = [(self._index[m], d) for m, d in pairs if m in self._index]
        if not on_map:
            raise BandprintError("none of its nearest neighbours is on the map")
        idx = np.array([i for i, _ in on_map])
        dist = np.array([d for _, d in on_map], dtype=float)
        # Shepard's inverse-distance weights (power 2): equidistant neighbours average, a
        # near-copy (distance far below the others) takes its neighbour's place.
        w = 1.0 / np.maximum(dist, 1e-12) ** 2
        pts = self.data.points
        x = float(np.average(pts["x"].to_numpy()[idx], weights=w))
        y = float(np.average(pts["y"].to_numpy()[idx], weights=w))
        return (
            x,
            y,
            (
                f"placed at the inverse-square-distance weighted mean of its {len(idx)} nearest "
                "neighbours' map positions"
            ),
        )

    # -- pages --------------------------------------------------------------------------
    def material_page(self, material_id: str) -> str:
        info = self.material(material_id)
        e = html.escape
        mid = e(material_id)
        facts = info["facts"]
        title = f"{facts.get('formula') or material_id} ({material_id})"

        def link(m: dict[str, Any], extra: str = "") -> str:
            c = m.get("cluster")
            sw = (
                f"<span class='swatch' style='background:{cluster_colour(c)}'></span>"
                if c is not None
                else ""
            )
            where = "" if c is None else " · " + ("unclassified" if c < 0 else f"cluster {c}")
            mid_ = m["material_id"]
            return (
                f"<li data-id='{e(mid_)}'>{sw}<a href='/material/{quote(mid_)}'>"
                f"{e(str(m.get('formula') or mid_))}</a> "
                f"<span class='mid'>{e(mid_)}{where}</span>{extra}</li>"
            )

        rows = "".join(
            f"<tr><th>{e(k.replace('_', ' '))}</th><td>{e(_fmt(v))}</td></tr>"
            for k, v in facts.items()
            if v is not None and v != ""
        )
        head = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(title)}</title><link rel='stylesheet' href='/static/map.css'>"
            "<link rel='stylesheet' href='/static/material.css'></head><body>"
            f"<header><h1>{e(title)}</h1><a href='/'>← map</a>"
            f"<a href='/?q={quote(material_id)}'>show on map</a></header>"
        )
        bands = (
            f"<section class='bands'><img id='band-plot' src='/bands/{quote(material_id)}.png' "
            f"alt='band structure of {mid}'></section>"
        )
        drawn = "".join(
            f"<p>{e(line)}</p>" for line in info["rendering"]["description"].split("\n")
        )
        facts_html = (
            f"<section id='facts'><h2>Facts</h2><table class='facts'>{rows}</table>"
            f"<div id='rendering'><h3>As drawn for its fingerprint</h3>{drawn}</div></section>"
        )
        m = info["map"]
        if m is None:
            cluster_html = (
                "<section id='cluster'><h2>Cluster</h2><p>Not on the map (not clustered).</p>"
                "</section>"
            )
        elif m["cluster"] < 0:
            cluster_html = (
                "<section id='cluster'><h2>Unclassified</h2><p>HDBSCAN put it in no cluster."
                + (f" Map group: {e(m['group_label'])}." if m["group"] >= 0 else "")
                + "</p></section>"
            )
        else:
            ex = "".join(
                f"<figure><a href='/material/{quote(x['material_id'])}'><img src='/thumb/"
                f"{quote(x['material_id'])}.png' alt='{e(x['material_id'])}'></a><figcaption>"
                f"{e(str(x.get('formula') or ''))} {e(x['material_id'])}</figcaption></figure>"
                for x in m["exemplars"]
            )
            cluster_html = (
                f"<section id='cluster'><h2><span class='swatch' style='background:"
                f"{cluster_colour(m['cluster'])}'></span>Cluster {m['cluster']}</h2>"
                f"<p>{m['cluster_size']} materials, {e(m['cluster_description'] or '')}; "
                f"membership probability of this one {_fmt(m['probability'])}."
                + (f" Map group: {e(m['group_label'])}." if m["group"] >= 0 else "")
                + f"</p><h3>Exemplars</h3><div class='exemplars'>{ex}</div></section>"
            )
        sim = info["similar"]
        sim_d = info["similar_distance"]
        dup_d = info["duplicates_distance"]
        if sim and sim_d is not None:
            sim_label = e(sim_d["name"].removeprefix("Minkowski "))
            items = "".join(
                link(
                    s,
                    f"<span class='d'><span class='metric'>{sim_label}</span> "
                    f"{_fmt(s.get('distance'))}</span>",
                )
                for s in sim
            )
            similar_html = (
                f"<section id='similar'><h2>Similar materials</h2><p class='hint'>Nearest "
                f"first by {e(sim_d['name'])} between fingerprints ({e(sim_d['formula'])}; "
                f"the clustering's distance).</p><ol class='nn'>{items}</ol></section>"
            )
        else:
            similar_html = (
                "<section id='similar'><h2>Similar materials</h2><p>"
                f"{e(info.get('similar_error') or 'none found')}</p></section>"
            )
        dups = info["duplicates"]
        if dups and dup_d is not None:
            dup_name = dup_d["name"]
            labels = {
                "distance": dup_name,
                "relative_distance": f"relative {dup_name}",
                "same_formula": "same formula",
                "mutual_nearest": "mutual nearest",
            }
            dup_items = "".join(
                link(
                    d,
                    "".join(
                        f" · <span class='mid'>{e(labels.get(k, k.replace('_', ' ')))} "
                        f"{e(_fmt(v))}</span>"
                        for k, v in d.items()
                        if k not in ("material_id", "formula", "cluster") and v is not None
                    ),
                )
                for d in dups
            )
            other = ""
            if sim_d is not None and sim_d["p"] != dup_d["p"]:
                other = (
                    f" A different distance from the {e(sim_d['name'])} under Similar "
                    "materials, so the two are not comparable."
                )
            dup_body = (
                f"<p class='hint'>Pairs far closer than usual by {e(dup_name)} between "
                f"fingerprints ({e(dup_d['formula'])}); relative: divided by the median "
                f"nearest-neighbour {e(dup_name)}.{other}</p><ul class='nn'>{dup_items}</ul>"
            )
        else:
            dup_body = "<p>None involving this material.</p>"
        dup_html = f"<section id='duplicates'><h2>Possible duplicates</h2>{dup_body}</section>"
        fl = info["flatness"]
        if fl is None:
            flat_body = "<p>No flat-band results (run <code>bandprint flatbands</code>).</p>"
        else:
            flat_body = (
                "<table class='facts'>"
                + "".join(
                    f"<tr><th>{e(k.replace('_', ' '))}</th><td>{e(_fmt(v))}</td></tr>"
                    for k, v in fl.items()
                    if v is not None and v != ""
                )
                + "</table>"
            )
        flat_html = f"<section id='flatness'><h2>Flat bands</h2>{flat_body}</section>"
        parts = [
            head,
            "<div class='page'><div class='col'>",
            bands,
            similar_html,
            dup_html,
            "</div><div class='col'>",
            facts_html,
            cluster_html,
            flat_html,
            "</div></div></body></html>",
        ]
        return "".join(parts)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        return ", ".join(_fmt(x) for x in v) or "–"
    return str(v)


def _safe_name(name: str) -> str:
    """A plain file name from whatever a browser sent (no folders, no odd characters)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[^A-Za-z0-9._+-]", "_", base).lstrip(".")
    return base[:120] or "upload"


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """The ``(file name, content)`` of every file in a ``multipart/form-data`` body."""
    if "multipart/form-data" not in content_type or "boundary=" not in content_type:
        raise BandprintError("expected a multipart/form-data upload")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    files = []
    for part in msg.iter_parts():
        name = part.get_filename()
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        files.append((name, payload))
    return files


# -- HTTP -----------------------------------------------------------------------------------
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@functools.cache
def _static(name: str) -> bytes:
    if name == "plotly.min.js":
        from bandprint.report import plotly_js

        return plotly_js().encode()
    from importlib import resources

    return resources.files("bandprint").joinpath("explorer_static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        if cache:
            self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        body = json.dumps(obj, allow_nan=False, default=_finite).encode()
        self._send(status, body, "application/json")

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _error_page(self, status: int, message: str) -> None:
        e = html.escape(message)
        self._html(
            "<!doctype html><meta charset='utf-8'><link rel='stylesheet' href='/static/map.css'>"
            f"<title>{status}</title><header><h1>bandprint explorer</h1><a href='/'>← map</a>"
            f"</header><p class='error' id='error' style='padding:16px'>{e}</p>",
            status,
        )

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        ex = self.server.explorer
        url = urlsplit(self.path)
        path = unquote(url.path)
        try:
            if path in ("/", "/index.html"):
                self._html(ex.map_page())
            elif path == "/favicon.ico":
                self._send(204, b"", "image/x-icon")
            elif path.startswith("/static/"):
                name = path[len("/static/") :]
                if name not in {"map.js", "map.css", "material.css", "plotly.min.js"}:
                    self._error_page(404, f"no such file {name}")
                    return
                self._send(200, _static(name), _STATIC_TYPES[Path(name).suffix], cache=True)
            elif path == "/api/map":
                self._json(ex.map_json())
            elif path.startswith("/api/material/"):
                self._json(ex.material(path[len("/api/material/") :]))
            elif path.startswith("/material/"):
                self._html(ex.material_page(path[len("/material/") :]))
            elif path.startswith("/bands/") and path.endswith(".png"):
                self._send(200, ex.band_png(path[len("/bands/") : -4]), "image/png", cache=True)
            elif path.startswith("/thumb/") and path.endswith(".png"):
                self._send(200, ex.thumb_png(path[len("/thumb/") : -4]), "image/png", cache=True)
            elif path == "/api/search":
                q = parse_qs(url.query).get("q", [""])[0]
                self._json(search_map(ex.data, q))
            else:
                self._error_page(404, f"no page {path}")
        except BandprintError as exc:
            if path.startswith("/api/"):
                self._json({"ok": False, "error": str(exc)}, 404)
            else:
                self._error_page(404, str(exc))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path != "/api/project":
            self._json({"ok": False, "error": f"no endpoint {path}"}, 404)
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_UPLOAD_BYTES:
                raise BandprintError(
                    f"upload of {length / 2**20:.0f} MiB is over the "
                    f"{MAX_UPLOAD_BYTES / 2**20:.0f} MiB limit"
                )
            body = self.rfile.read(length)
            files = parse_multipart(self.headers.get("Content-Type", ""), body)
            self._json(self.server.explorer.project(files))
        except BandprintError as exc:
            self._json({"ok": False, "error": str(exc)}, 400)
        except Exception as exc:  # a reader bug must still answer in one line, not hang the page
            self._json(
                {"ok": False, "error": f"could not place this file ({type(exc).__name__}: {exc})"},
                500,
            )


def search_map(data: MapData, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Materials whose id or formula matches ``query``: exact id, exact formula, then
    substrings (the map page's search, for scripts)."""
    q = query.strip()
    if not q:
        return []
    pts = data.points
    ids = pts["material_id"].astype(str)
    forms = pts["formula"].astype(str)
    for mask in (
        ids.str.lower() == q.lower(),
        forms == q,
        forms.str.lower() == q.lower(),
        ids.str.lower().str.contains(q.lower(), regex=False)
        | forms.str.lower().str.contains(q.lower(), regex=False),
    ):
        if mask.any():
            hits = pts[mask].head(limit)
            return [
                {"material_id": m, "formula": f, "cluster": int(c)}
                for m, f, c in zip(
                    hits["material_id"], hits["formula"], hits["cluster"], strict=True
                )
            ]
    return []


class ExplorerServer(ThreadingHTTPServer):
    """The explorer's HTTP server; ``url`` is where to point a browser."""

    daemon_threads = True

    def __init__(self, explorer: Explorer, host: str, port: int, verbose: bool = False):
        self.explorer = explorer
        self.verbose = verbose
        if ":" in host:  # ::1
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}/" if ":" in str(host) else f"http://{host}:{port}/"


def make_server(
    ws: Workspace | str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    verbose: bool = False,
    model: str | Path | None = None,
) -> ExplorerServer:
    """An explorer server bound to ``host:port`` (port 0: any free port), not yet serving.

    Only loopback addresses are accepted: the explorer has no authentication.
    """
    if not _is_loopback(host):
        raise BandprintError(
            f"the explorer only listens on the loopback interface (127.0.0.1), not {host}: it has "
            "no authentication and reads uploaded files"
        )
    explorer = Explorer(ws, model=model)
    try:
        return ExplorerServer(explorer, host, port, verbose)
    except OSError as exc:
        raise BandprintError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); try another --port"
        ) from None


def serve(
    ws: Workspace | str | Path,
    host: str = "127.0.0.1",
    port: int = 8765,
    verbose: bool = False,
    model: str | Path | None = None,
) -> None:
    """Run the explorer until interrupted (Ctrl-C). ``model``: the fingerprint model file that
    made the workspace's fingerprints, for placing uploads (default: the shipped one)."""
    server = make_server(ws, host, port, verbose, model)
    print(f"bandprint explorer of {server.explorer.ws.path} at {server.url} (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = [
    "MAX_UPLOAD_BYTES",
    "Explorer",
    "ExplorerServer",
    "make_server",
    "parse_multipart",
    "search_map",
    "serve",
]
