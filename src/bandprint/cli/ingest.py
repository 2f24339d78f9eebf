"""Getting band structures into a workspace and looking at them: ``zoo`` (generated
tight-binding band structures), ``ingest``, ``list``, ``show``."""

from __future__ import annotations

import sys

import click

from bandprint.cli.options import (
    check_engine,
    engine_options,
    format_option,
    material_argument,
    quiet_option,
    render_changes,
    render_options,
    seed_option,
    user_errors,
    workspace_argument,
)
from bandprint.cli.output import text_table
from bandprint.errors import BandprintError


@click.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--into", "workspace", required=True, type=click.Path(), help="Workspace folder.")
@click.option("--workers", type=int, default=None, help="Parallel readers [default: CPUs].")
@click.option("--strict", is_flag=True, help="Exit 1 if any file fails.")
@click.option("--efermi", type=float, default=None, help="Fermi level (eV) where files lack one.")
@click.option("--soc", is_flag=True, help="C2DB: the band structures with spin-orbit coupling.")
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Materials per stored shard (a killed ingest keeps every finished shard).",
)
@quiet_option()
@engine_options
@user_errors
def ingest(
    sources: tuple[str, ...],
    workspace: str,
    workers: int | None,
    strict: bool,
    efermi: float | None,
    soc: bool,
    shard_size: int,
    quiet: bool,
    engine: str,
    address: str | None,
) -> None:
    """Read band structures from SOURCES (files or folders) into the workspace.

    With --engine ray the files are parsed on a Ray cluster (every node must see SOURCES and
    the workspace at the same paths); the workspace is written exactly as without it."""
    from bandprint.ingest import ingest as run_ingest

    if workers is not None and workers < 1:
        raise BandprintError(f"--workers must be at least 1, got {workers}")
    check_engine(engine, address)
    report = run_ingest(
        list(sources),
        workspace,
        workers=workers,
        progress=not quiet,
        efermi=efermi,
        shard_size=shard_size,
        soc=soc,
        engine=engine,
        address=address,
    )
    click.echo(report.summary())
    sys.exit(report.exit_code(strict))


_CATALOG_COLUMNS = {
    "material_id": "material_id",
    "formula": "formula",
    "source_format": "format",
    "nspin": "nspin",
    "nkpoints": "nk",
    "nbands": "nbands",
    "band_gap": "gap",
    "is_metal": "metal",
    "path": "path",
}


@click.command(name="list")
@workspace_argument
@format_option
@user_errors
def list_materials(workspace: str, fmt: str) -> None:
    """List the materials stored in WORKSPACE."""
    import orjson

    from bandprint.store import Workspace

    df = Workspace(workspace).catalog()
    if fmt == "json":
        records = df.to_dict(orient="records")
        for rec in records:
            rec["metadata"] = orjson.loads(rec["metadata"]) if rec.get("metadata") else {}
            rec["is_2d"] = None if rec.get("is_2d") is None else bool(rec["is_2d"])
        click.echo(orjson.dumps(records, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    if df.empty:
        click.echo(
            f"{workspace}: no materials (add some with bandprint ingest SOURCE --into {workspace})"
        )
        return
    click.echo(text_table(df, _CATALOG_COLUMNS))
    click.echo(f"{len(df)} materials")


@click.command()
@workspace_argument
@material_argument
@click.option("--out", type=click.Path(), default=None, help="Image file [default: ID.png].")
@click.option(
    "--window", type=float, default=4.0, show_default=True, help="± eV around the reference."
)
@render_options
@user_errors
def show(
    workspace: str,
    material_id: str,
    out: str | None,
    window: float,
    keep_path: bool,
    energy_reference: str | None,
    two_d: bool | None,
) -> None:
    """Plot one material's band structure as it is drawn for fingerprints (canonical path,
    energy reference) and print what is known about it."""
    from dataclasses import replace

    from bandprint.plot import save_band_plot
    from bandprint.render import RenderSettings, describe_rendering, prepare_band_structure
    from bandprint.store import Workspace

    if window <= 0:
        raise BandprintError(f"--window must be positive, got {window}")
    bs = Workspace(workspace).get(material_id)
    settings = replace(RenderSettings(), **render_changes(keep_path, energy_reference, two_d))
    drawn, info = prepare_band_structure(bs, settings)
    gap = bs.band_gap()
    kind = (
        "metal"
        if gap.is_metal
        else f"gap {gap.energy:.3f} eV ({'direct' if gap.direct else 'indirect'})"
    )
    click.echo(
        f"{bs.material_id}  {bs.formula or '-'}  {bs.source_format}  {kind}  "
        f"E_F {bs.efermi:.4f} eV  {bs.nspin} spin, {bs.nkpoints} k-points, {bs.nbands} bands  "
        f"path {bs.path_string}"
    )
    click.echo(describe_rendering(info))
    path = save_band_plot(
        drawn,
        out or f"{material_id}.png",
        window=(-window, window),
        reference=info["reference_energy"],
        reference_name=info["energy_reference"],
    )
    click.echo(f"wrote {path}")


# -- zoo (issue 3) ---------------------------------------------------------------------------
@click.command()
@click.argument("out", type=click.Path(), required=False)
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, show_default=True)
@seed_option()
@click.option(
    "--families",
    default=None,
    help="Comma-separated lattice families [default: all; see 'bandprint zoo --list'].",
)
@click.option("--list", "list_families", is_flag=True, help="List the families and exit.")
@click.option("--force", is_flag=True, help="Replace a dataset already in OUT.")
@quiet_option()
@user_errors
def zoo(
    out: str | None,
    n: int,
    seed: int,
    families: str | None,
    list_families: bool,
    force: bool,
    quiet: bool,
) -> None:
    """Write N tight-binding band structures with known answers to OUT (2DMatPedia layout:
    db.json + bands/<id>.json, ground truth in ground_truth.csv/.parquet)."""
    from bandprint.zoo import FAMILIES, write_zoo

    if list_families:
        click.echo("\n".join(FAMILIES))
        return
    if out is None:
        raise BandprintError("give the output folder: bandprint zoo OUT --n N --seed S")
    names = [f.strip() for f in families.split(",") if f.strip()] if families else None
    table = write_zoo(out, n, seed, families=names, progress=not quiet, overwrite=force)
    counts = table["electronic_class"].value_counts()
    classes = ", ".join(f"{counts.get(c, 0)} {c}s" for c in ("metal", "semimetal", "insulator"))
    flat = int(table["has_flat_band_near_ef"].sum())
    click.echo(
        f"wrote {len(table)} band structures to {out} ({classes}; {flat} with a flat band "
        f"within ±1 eV of E_F) and {out}/ground_truth.csv"
    )
    click.echo(f"next: bandprint ingest {out} --into WORKSPACE")


#: The commands this module adds to ``bandprint``.
COMMANDS = [zoo, ingest, list_materials, show]
