"""The report of a workspace: the one module of ``bandprint.report`` that reads it.

``build_report(ws, out_dir)`` loads the tables the analysis stages stored, calls the figure
functions (``report.figures``) and the page builders (``report.pages``), and writes:

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
* ``map.html``: plotly scatter of the map; hovering shows the band-structure thumbnail, a
  search box finds a material, clicking lists its nearest neighbours (precomputed, k per
  material, in the page);
* ``index.html`` linking all of it.

The other functions here are the workspace-reading steps it is made of (the map's data, the
nearest neighbours, the thumbnails, the figures of stored tables), for the explorer and for
notebooks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.errors import BandprintError
from bandprint.report.data import (
    MapData,
    describe_group,
    flat_at_fermi,
    material_character,
    material_title,
    metadata_value,
    strip_labels,
)
from bandprint.report.figures import (
    band_thumbnail_with_info,
    cluster_nodes_from_labels,
    condensed_tree_array,
    data_uri,
    plot_band_grid,
    plot_condensed_tree,
    plot_flatband_summary,
    plot_map,
    plot_reconstructions,
    save_figure,
    thumbnail_image_png,
)
from bandprint.report.pages import (
    ReportPaths,
    thumbnail_priority,
    write_index_html,
    write_map_html,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bandprint.analyse.search import SimilarityIndex
    from bandprint.store import Workspace

#: Materials that get a hover thumbnail in map.html (a few kB each).
MAX_THUMBNAILS = 5000
#: Nearest neighbours listed per material.
K_NEIGHBOURS = 10


# -- the data behind the map ----------------------------------------------------------------
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
    catalog["prototype"] = metadata_value(catalog["metadata"], "prototype")
    facts = catalog[
        ["material_id", "formula", "band_gap", "is_metal", "path", "nspin", "prototype"]
    ]
    if "formula" in points:
        facts = facts.drop(columns=["formula"])
    points = points.merge(facts, on="material_id", how="left")
    points["formula"] = points["formula"].fillna("").astype(str)
    points["prototype"] = points["prototype"].fillna("").astype(str)
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
    """The workspace's similarity index (``workflows.search.workspace_index``, cached in it)
    over the clustering model's fingerprints, with the clustering's Minkowski p."""
    from bandprint.analyse.lp import P_DEFAULT
    from bandprint.workflows.search import workspace_index

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


# -- figures of the workspace's band structures and tables -----------------------------------
def plot_exemplars(data: MapData, cluster: int, k: int = 6) -> Figure:
    """The ``k`` top exemplars of one cluster."""
    ws = _require_ws(data)
    ids = data.exemplars(cluster, k)
    bss = list(ws.iter_band_structures(ids, with_structure=False))
    pts = data.points.set_index("material_id")
    titles = [
        material_title(
            bs.formula or pts.at[bs.material_id, "formula"],
            bs.material_id,
            pts.at[bs.material_id, "prototype"],
        )
        for bs in bss
    ]
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


@dataclass
class Thumbnails:
    """What the thumbnail pass made, by material id: ``images`` (data-URI PNGs of
    ``band_thumbnail``) and ``drawn_paths``, the k-path each image is drawn along
    (``render.prepare_band_structure``'s ``info["path"]["drawn"]``: canonical order, a slab's
    out-of-plane segments left out)."""

    images: dict[str, str] = field(default_factory=dict)
    drawn_paths: dict[str, str] = field(default_factory=dict)


def thumbnails_for(ws: Workspace, ids: Sequence[str], limit: int = MAX_THUMBNAILS) -> Thumbnails:
    """Thumbnails of up to ``limit`` of ``ids`` (in the given order of priority), each with
    the path it is drawn along, so the page names the path the picture shows."""
    chosen = list(ids)[:limit]
    out = Thumbnails()
    for bs in ws.iter_band_structures(chosen, with_structure=False):
        try:
            img, info = band_thumbnail_with_info(bs)
        except BandprintError:
            continue  # nothing drawable (zero-length path): the hover shows text only
        out.images[bs.material_id] = data_uri(thumbnail_image_png(img))
        out.drawn_paths[bs.material_id] = info["path"]["drawn"]
    return out


# -- the report -----------------------------------------------------------------------------
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
    write_map_html(
        data,
        paths.map_html,
        neighbours,
        thumbs.images,
        title=f"bandprint map: {ws.path.name}",
        drawn_paths=thumbs.drawn_paths,
    )
    write_index_html(paths, data, ws.path.name)
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
