"""Analyses of a workspace's fingerprints and band structures: ``cluster``, ``sweep``,
``similar``, ``duplicates``, ``structures``, ``flatbands`` and ``find``. Each prints a table,
or with ``--format json`` the same rows as JSON."""

from __future__ import annotations

import click

from bandprint.cli.options import (
    check_sharded_engine,
    engine_options,
    format_option,
    hdbscan_options,
    model_id_option,
    p_option,
    parse_int_range,
    quiet_option,
    root_option,
    seed_option,
    sharded_option,
    strategy_option,
    user_errors,
    workspace_argument,
)
from bandprint.cli.output import echo_json, progress_bar, records, text_table
from bandprint.errors import BandprintError

_FLATBAND_COLUMNS = {
    "material_id": "id",
    "formula": "formula",
    "n_segments": "segments",
    "n_flat_segments": "flat segments",
    "flatness_score": "score",
    "is_flat": "flat",
    "strips": "strips",
    "plane_flat": "plane-flat",
    "band_gap": "gap",
    "is_metal": "metal",
}
_FIND_COLUMNS = {
    "material_id": "id",
    "formula": "formula",
    "band_gap": "gap",
    "is_metal": "metal",
    "flatness_score": "score",
    "strips": "strips",
    "plane_flat": "plane-flat",
    "cluster": "cluster",
}


#: Tables print for people; ``--format json`` gives machines the same rows.
# -- flatbands, find (issue 6) -----------------------------------------------------------------
def _flat_window(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise BandprintError(f"--window must be LO,HI in eV (e.g. -1,1), got {text!r}") from None
    return lo, hi


def _flat_strips(text: str) -> list[int]:
    try:
        strips = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BandprintError(f"--strip must be strip numbers like 1,2, got {text!r}") from None
    if not strips or min(strips) < 1:
        raise BandprintError(f"--strip must be strip numbers 1, 2, ..., got {text!r}")
    return strips


@click.command()
@workspace_argument
@click.option(
    "--threshold", type=float, default=None, help="Bandwidth threshold (eV) [default: 0.1]."
)
@click.option("--window", default="-1,1", show_default=True, help="Window LO,HI (eV from E_F).")
@click.option("--strip-width", type=float, default=0.5, show_default=True, help="Strip (eV).")
@click.option(
    "--detector",
    type=click.Choice(["eigen", "image"]),
    default="eigen",
    show_default=True,
    help="eigen: from eigenvalues; image: the CNN on the band picture.",
)
@click.option(
    "--in-plane/--all-segments",
    default=None,
    help="Drop out-of-plane path segments [default: for 2-D materials].",
)
@format_option
@quiet_option()
@user_errors
def flatbands(
    workspace: str,
    threshold: float | None,
    window: str,
    strip_width: float,
    detector: str,
    in_plane: bool | None,
    fmt: str,
    quiet: bool,
) -> None:
    """Detect flat bands of every material in WORKSPACE and store the 'flatbands' table."""

    from bandprint.analyse.flatbands import DEFAULT_BANDWIDTH_THRESHOLD
    from bandprint.store import Workspace
    from bandprint.workflows.flatbands import flatband_workspace

    if detector == "image" and threshold is not None:
        raise BandprintError(
            "--threshold sets the eigen detector; the image detector's threshold is fixed by "
            "its training labels (0.1 eV)"
        )
    df, errors = flatband_workspace(
        Workspace(workspace),
        detector=detector,  # type: ignore[arg-type]
        strip_width=strip_width,
        window=_flat_window(window),
        bandwidth_threshold=threshold if threshold is not None else DEFAULT_BANDWIDTH_THRESHOLD,
        in_plane=in_plane,
        progress=not quiet and fmt == "table",
    )
    for mid, reason in errors:
        click.echo(f"skipped {mid}: {reason}", err=True)
    if fmt == "json":
        echo_json(records(df))
        return
    click.echo(text_table(df, _FLATBAND_COLUMNS))
    click.echo(
        f"{len(df)} materials: {int(df['is_flat'].sum())} flat (every segment), "
        f"{int(df['plane_flat'].sum())} plane-flat; stored as table 'flatbands' in {workspace}"
    )


@click.command()
@workspace_argument
@click.option("--flat", is_flag=True, default=None, help="Flat: a flat block in every segment.")
@click.option("--plane-flat", is_flag=True, default=None, help="One level flat along the path.")
@click.option("--strip", "strips", default=None, help="Flat blocks in any of these strips, 1,2.")
@click.option("--gap-min", type=float, default=None, help="Band gap at least (eV).")
@click.option("--gap-max", type=float, default=None, help="Band gap at most (eV).")
@click.option("--metal/--insulator", default=None, help="Metals only / non-metals only.")
@click.option("--cluster", type=int, default=None, help="Members of this cluster.")
@click.option("--formula", default=None, help="This (reduced) formula, e.g. CaO.")
@format_option
@user_errors
def find(
    workspace: str,
    flat: bool | None,
    plane_flat: bool | None,
    strips: str | None,
    gap_min: float | None,
    gap_max: float | None,
    metal: bool | None,
    cluster: int | None,
    formula: str | None,
    fmt: str,
) -> None:
    """Materials in WORKSPACE matching every criterion given (catalog, flat bands, clusters)."""

    from bandprint.store import Workspace
    from bandprint.workflows.flatbands import find_in_workspace

    df = find_in_workspace(
        Workspace(workspace),
        flat=flat,
        plane_flat=plane_flat,
        strips=_flat_strips(strips) if strips else None,
        gap_min=gap_min,
        gap_max=gap_max,
        metal=metal,
        cluster=cluster,
        formula=formula,
    )
    if fmt == "json":
        echo_json(records(df))
        return
    click.echo(text_table(df, _FIND_COLUMNS))
    click.echo(f"{len(df)} materials match")


@click.command()
@workspace_argument
@hdbscan_options
@p_option
@root_option("λ from the Minkowski form (Σ|Δ|^p)^(1/p), or (--no-root) the metric Σ|Δ|^p.")
@strategy_option("auto: full matrix up to 20k fingerprints, k-NN graph above.")
@click.option("--embedding", type=click.Choice(["umap", "tsne"]), default="umap", show_default=True)
@click.option("--n-neighbors", type=click.IntRange(2), default=10, show_default=True)
@click.option("--min-dist", type=float, default=0.1, show_default=True)
@click.option(
    "--group-eps", type=float, default=None,
    help="DBSCAN ε on the map [default: 0.03 × the map's robust diagonal].",
)  # fmt: skip
@click.option(
    "--max-cluster-fraction", type=click.FloatRange(0, min_open=True), default=0.5,
    show_default=True, help="No cluster may hold more than this share of all materials.",
)  # fmt: skip
@seed_option()
@click.option("--top", type=click.IntRange(1), default=5, show_default=True, help="Exemplars.")
@click.option("--map-out", type=click.Path(), default=None, help="Also save the map (PNG/SVG).")
@model_id_option
@format_option
@user_errors
def cluster(
    workspace: str,
    min_cluster_size: int,
    min_samples: int,
    p: float,
    root: bool,
    strategy: str,
    embedding: str,
    n_neighbors: int,
    min_dist: float,
    group_eps: float | None,
    max_cluster_fraction: float,
    seed: int,
    top: int,
    map_out: str | None,
    model_id: str | None,
    fmt: str,
) -> None:
    """HDBSCAN clusters (Minkowski p really applied), exemplars and the 2-D map.

    Stores the clusters table (cluster, probability, exemplar rank, map x/y, group per
    material) and the condensed cluster tree in WORKSPACE.
    """
    from bandprint.store import Workspace
    from bandprint.workflows.cluster import cluster_workspace

    ws = Workspace(workspace)
    run = cluster_workspace(
        ws,
        model_id,
        min_cluster_size,
        min_samples,
        p,
        root=root,
        strategy=strategy,  # type: ignore[arg-type]
        embedding=embedding,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        group_eps=group_eps,
        max_cluster_fraction=max_cluster_fraction,
        seed=seed,
    )
    if map_out:
        from bandprint.report import load_map_data, plot_map

        plot_map(load_map_data(ws)).savefig(map_out, dpi=150)
    summary = run.summary(top)
    m = run.meta
    if fmt == "json":
        echo_json({"meta": m, "clusters": records(summary), "materials": records(run.table)})
        return
    n = m["n"]
    click.echo(
        f"{n} materials (model {m['model_id']}): {m['n_clusters']} clusters, "
        f"{m['n_unclassified']} unclassified ({m['n_unclassified'] / n:.0%}), "
        f"{m['n_groups']} map groups (DBSCAN ε = {m['group_eps']:.3g})"
    )
    click.echo(
        f"distance: {m['metric']}; strategy {m['strategy']}"
        f"{'' if m['exact'] else ' (approximate k-NN graph)'}; "
        f"min cluster size {m['min_cluster_size']}, min samples {m['min_samples']}"
    )
    if len(summary):
        click.echo(
            f"{'cluster':>7} {'size':>5} {'group':>5} {'persist':>8}  exemplars (best first)"
        )
        for r in summary.itertuples():
            ex = ", ".join(
                f"{i} ({f})" if f else str(i) for i, f in zip(r.exemplars, r.formulas, strict=True)
            )
            click.echo(f"{r.cluster:>7} {r.size:>5} {r.group:>5} {r.persistence:>8.3g}  {ex}")
    if map_out:
        click.echo(f"map: {map_out}")


@click.command()
@workspace_argument
@click.option("--min-cluster-size", "sizes", default="2-11", show_default=True, help="Range.")
@click.option("--min-samples", "samples", default="2-11", show_default=True, help="Range.")
@p_option
@root_option("λ and DBCV from (Σ|Δ|^p)^(1/p), or (--no-root) from Σ|Δ|^p.")
@strategy_option()
@click.option("--out", type=click.Path(), default=None, help="Heat maps (PNG/SVG/PDF).")
@seed_option()
@quiet_option()
@model_id_option
@format_option
@user_errors
def sweep(
    workspace: str,
    sizes: str,
    samples: str,
    p: float,
    root: bool,
    strategy: str,
    out: str | None,
    seed: int,
    quiet: bool,
    model_id: str | None,
    fmt: str,
) -> None:
    """Min cluster size × min samples grid: clusters, unclassified, DBCV, S_Dbw; a
    recommended setting and why. Stores the sweep table."""
    from bandprint.analyse.cluster import plot_sweep
    from bandprint.store import Workspace
    from bandprint.workflows.cluster import sweep_workspace

    ws = Workspace(workspace)
    result = sweep_workspace(
        ws,
        model_id,
        parse_int_range(sizes, "--min-cluster-size"),
        parse_int_range(samples, "--min-samples"),
        p,
        root=root,
        strategy=strategy,  # type: ignore[arg-type]
        random_state=seed,
        progress=progress_bar("sweep", quiet or fmt == "json"),
    )
    if out:
        plot_sweep(result).savefig(out, dpi=150)
    if fmt == "json":
        echo_json(
            {
                "params": result.params,
                "recommended": result.recommended,
                "reason": result.reason,
                "table": records(result.table),
            }
        )
        return
    t = result.table
    click.echo(f"{'mcs':>4} {'ms':>3} {'clusters':>8} {'unclass':>7} {'DBCV':>7} {'S_Dbw':>7}")
    for r in t.itertuples():
        mark = " *" if result.recommended == (r.min_cluster_size, r.min_samples) else ""
        click.echo(
            f"{r.min_cluster_size:>4} {r.min_samples:>3} {r.n_clusters:>8} "
            f"{r.n_unclassified:>7} {r.dbcv:>7.3f} {r.s_dbw:>7.3f}{mark}"
        )
    click.echo(f"recommended: {result.recommended} — {result.reason}")
    click.echo(f"rule: {result.params['rule']}")
    if out:
        click.echo(f"heat maps: {out}")


@click.command()
@workspace_argument
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1), default=10, show_default=True)
@p_option
@model_id_option
@click.option(
    "--model-file", type=click.Path(), default=None,
    help="Model that encodes a FILE query [default: the shipped model].",
)  # fmt: skip
@click.option(
    "--index", "kind", type=click.Choice(["auto", "exact", "ivf"]), default="auto",
    show_default=True,
    help="exact: brute force over every fingerprint; ivf: inverted lists, exact distances.",
)  # fmt: skip
@sharded_option
@engine_options
@format_option
@user_errors
def similar(
    workspace: str,
    query: str,
    k: int,
    p: float,
    model_id: str | None,
    model_file: str | None,
    kind: str,
    sharded: bool,
    engine: str,
    address: str | None,
    fmt: str,
) -> None:
    """The K materials whose fingerprints are nearest to QUERY (a material id, or a band
    structure file, which is read, rendered and encoded on the fly)."""
    from bandprint.store import Workspace

    check_sharded_engine(sharded, engine, address)
    ws = Workspace(workspace)
    from bandprint.workflows.search import similar_materials

    df = similar_materials(
        ws,
        query,
        k,
        p,
        model_id,
        model_file,
        kind,  # type: ignore[arg-type]
        sharded=sharded,
        engine=engine,  # type: ignore[arg-type]
        address=address,
    )
    if fmt == "json":
        echo_json(records(df))
        return
    for q, part in df.groupby("query", sort=False):
        click.echo(f"nearest to {q}:")
        for r in part.to_dict(orient="records"):
            extra = ""
            if "cluster" in r:
                extra = f"  cluster {r['cluster']}" + (" (same)" if r["same_cluster"] else "")
            name = f"{r['material_id']} ({r['formula']})" if r["formula"] else r["material_id"]
            click.echo(f"{r['rank']:>4}  {r['distance']:>10.4g}  {name}{extra}")


@click.command()
@workspace_argument
@click.option("--threshold", type=float, default=None, help="[default: calibrated, see docs]")
@click.option(
    "--k-mad", type=float, default=5.0, show_default=True,
    help="Calibration: robust SDs below the median log nearest-neighbour distance.",
)  # fmt: skip
@click.option("--same-formula-only", is_flag=True, help="Only pairs with equal formulas.")
@click.option(
    "--p", "p", type=click.FloatRange(min=0, min_open=True), default=2.0, show_default=True,
    help="Minkowski p of the duplicate distance (Euclidean separates near-copies best).",
)  # fmt: skip
@model_id_option
@click.option("--show", nargs=2, default=None, metavar="ID1 ID2", help="Plot two side by side.")
@click.option("--out", type=click.Path(), default=None, help="Image for --show [ID1_ID2.png].")
@sharded_option
@engine_options
@format_option
@user_errors
def duplicates(
    workspace: str,
    threshold: float | None,
    k_mad: float,
    same_formula_only: bool,
    p: float,
    model_id: str | None,
    show: tuple[str, str] | None,
    out: str | None,
    sharded: bool,
    engine: str,
    address: str | None,
    fmt: str,
) -> None:
    """Candidate duplicate pairs: fingerprints much closer than typical nearest neighbours.
    Stores the duplicates table; --show ID1 ID2 draws the two band structures."""
    from bandprint.store import Workspace

    check_sharded_engine(sharded, engine, address)
    ws = Workspace(workspace)
    if show:
        from bandprint.workflows.duplicates import pair_distance, pair_figure

        dist = pair_distance(ws, show[0], show[1], model_id, p)
        path = out or f"{show[0]}_{show[1]}.png"
        pair_figure(ws, show[0], show[1], dist).savefig(path, dpi=150)
        if fmt == "json":
            echo_json({"image": path, "distance": dist})
        else:
            click.echo(f"{path}" + (f"  (fingerprint distance {dist:.4g})" if dist else ""))
        return
    from bandprint.workflows.duplicates import duplicates_workspace

    result = duplicates_workspace(
        ws,
        model_id,
        threshold,
        k_mad,
        same_formula_only,
        p,
        sharded=sharded,
        engine=engine,  # type: ignore[arg-type]
        address=address,
    )
    if fmt == "json":
        echo_json({"params": result.params, "pairs": records(result.table)})
        return
    t = result.table
    click.echo(
        f"threshold {result.threshold:.4g} ({result.rule}); median nearest-neighbour distance "
        f"{result.median_nn_distance:.4g}; {len(t)} candidate pairs"
        f" ({int(t['same_formula'].sum()) if len(t) else 0} with the same formula)"
    )
    for r in t.to_dict(orient="records"):
        same = "same formula" if r["same_formula"] else "different formulas"
        click.echo(
            f"{r['material_id_1']} ({r['formula_1']})  {r['material_id_2']} ({r['formula_2']})"
            f"  d={r['distance']:.4g} ({r['relative_distance']:.2f} of typical)  {same}"
        )


@click.command()
@workspace_argument
@hdbscan_options
@click.option("--workers", type=click.IntRange(1), default=None, help="[default: CPUs]")
@seed_option()
@quiet_option()
@format_option
@user_errors
def structures(
    workspace: str,
    min_cluster_size: int,
    min_samples: int,
    workers: int | None,
    seed: int,
    quiet: bool,
    fmt: str,
) -> None:
    """Structure fingerprints (matminer CrystalNN site statistics, 244 values) clustered with
    HDBSCAN, and which structure clusters are localised in the electronic map."""
    from bandprint.store import Workspace
    from bandprint.workflows.structure import structure_workspace

    ws = Workspace(workspace)
    run = structure_workspace(
        ws,
        min_cluster_size,
        min_samples,
        n_jobs=workers,
        seed=seed,
        progress=progress_bar("CrystalNN", quiet or fmt == "json"),
    )
    if fmt == "json":
        echo_json(
            {"meta": run.meta, "localisation": records(run.localisation), "errors": run.errors}
        )
        return
    m = run.meta
    click.echo(
        f"{m['n']} structures ({m['n_failed']} failed): {m['n_clusters']} structure clusters, "
        f"{m['n_localised']} localised in the electronic map ({m['localised_rule']})"
    )
    loc = run.localisation
    if len(loc):
        click.echo(
            f"{'cluster':>7} {'size':>5} {'spread':>8} {'random':>8} {'p':>6} {'q':>6}  localised"
        )
        for r in loc.to_dict(orient="records"):
            click.echo(
                f"{r['structure_cluster']:>7} {r['size']:>5} {r['spread']:>8.3g} "
                f"{r['random_spread_median']:>8.3g} {r['p_value']:>6.3f} {r['q_value']:>6.3f}  "
                f"{'yes' if r['localised'] else 'no'}"
            )
    for mid, err in list(run.errors.items())[:10]:
        click.echo(f"  skipped {mid}: {err}")


#: The commands this module adds to ``bandprint``.
COMMANDS = [cluster, sweep, similar, duplicates, structures, flatbands, find]
