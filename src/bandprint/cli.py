"""The ``bandprint`` command: a thin layer over the Python API, one command per task.

Every command turns ``BandprintError`` (a user mistake or bad input) into one line on stderr and
a non-zero exit, never a traceback. Heavy imports happen inside commands so ``--help`` is fast.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from bandprint import __version__
from bandprint.errors import BandprintError


def user_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print a ``BandprintError`` as ``error: ...`` and exit 2 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BandprintError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def render_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--keep-path``, ``--energy-reference`` and ``--2d/--bulk`` (see ``RenderSettings``)."""
    func = click.option(
        "--2d/--bulk",
        "two_d",
        default=None,
        help="Draw as a slab (in-plane path) / as bulk [default: the reader's flag, else a "
        "vacuum gap in the structure].",
    )(func)
    func = click.option(
        "--energy-reference",
        type=click.Choice(["fermi", "vbm", "midgap"]),
        default=None,
        help="Energy drawn as 0; metals always use E_F [default: the model's, midgap].",
    )(func)
    return click.option(
        "--keep-path",
        is_flag=True,
        help="Draw the k-path as the file writes it, not reordered onto the canonical path.",
    )(func)


def _render_changes(
    keep_path: bool, energy_reference: str | None, two_d: bool | None
) -> dict[str, Any]:
    """The ``RenderSettings`` fields the ``render_options`` flags set."""
    changes: dict[str, Any] = {}
    if keep_path:
        changes["canonical_path"] = False
    if energy_reference is not None:
        changes["energy_reference"] = energy_reference
    if two_d is not None:
        changes["dimensionality"] = "2d" if two_d else "bulk"
    return changes


def engine_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--engine local|ray`` and ``--address`` (see ``bandprint.distributed``)."""
    func = click.option(
        "--address",
        default=None,
        help="With --engine ray: the cluster to join (HOST:PORT of its head, or 'auto' for the "
        "one started here by 'ray start') [default: $RAY_ADDRESS, else a cluster started here, "
        "else a new local one].",
    )(func)
    return click.option(
        "--engine",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="local: processes on this machine; ray: tasks on a Ray cluster "
        "(pip install 'bandprint[ray]').",
    )(func)


def _check_engine(engine: str, address: str | None) -> None:
    if address is not None and engine != "ray":
        raise BandprintError("--address needs --engine ray")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bandprint")
def main() -> None:
    """Electronic fingerprints of band structures: read, render, encode, cluster, map, search."""


# Commands are added below, one block per pipeline stage.


# -- ingest, list, show (workspace) ------------------------------------------------------------
@main.command()
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
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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
    _check_engine(engine, address)
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


def _cell(value: Any) -> str:
    import numpy as np

    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return "-"
    if isinstance(value, np.ndarray | list | tuple):
        return ",".join(str(v) for v in value) or "-"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value)


def _text_table(df: Any, columns: dict[str, str]) -> str:
    """A plain-text table for a terminal: ``columns`` maps column names to headers (in order);
    numbers are right-aligned, missing values shown as ``-``."""
    import pandas as pd

    cols = [c for c in columns if c in df.columns]
    headers = [columns[c] for c in cols]
    rows = [[_cell(v) for v in r] for r in df[cols].itertuples(index=False)]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(headers)]
    numeric = {
        i
        for i, c in enumerate(cols)
        if pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c])
    }

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


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
_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@main.command(name="list")
@click.argument("workspace", type=click.Path())
@_FORMAT
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
    click.echo(_text_table(df, _CATALOG_COLUMNS))
    click.echo(f"{len(df)} materials")


@main.command()
@click.argument("workspace", type=click.Path())
@click.argument("material_id")
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
    settings = replace(RenderSettings(), **_render_changes(keep_path, energy_reference, two_d))
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


# -- report, serve (issue 7) -----------------------------------------------------------------
@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Report folder.")
@click.option(
    "--exemplars",
    type=click.IntRange(1, 24),
    default=6,
    show_default=True,
    help="Exemplar band structures per cluster figure.",
)
@click.option(
    "--clusters",
    type=click.IntRange(0),
    default=12,
    show_default=True,
    help="Exemplar figures for this many of the largest clusters.",
)
@click.option(
    "--thumbnails",
    type=click.IntRange(0),
    default=5000,
    show_default=True,
    help="Materials with a hover thumbnail in map.html.",
)
@click.option(
    "--model",
    type=click.Path(),
    default=None,
    help="Fingerprint model file of the workspace's fingerprints [default: the shipped one].",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not print each step.")
@user_errors
def report(
    workspace: str,
    out_dir: str,
    exemplars: int,
    clusters: int,
    thumbnails: int,
    model: str | None,
    quiet: bool,
) -> None:
    """Write figures, the interactive map.html and index.html for a clustered WORKSPACE."""
    from bandprint.report import build_report

    paths = build_report(
        workspace,
        out_dir,
        exemplars_per_cluster=exemplars,
        exemplar_clusters=clusters,
        max_thumbnails=thumbnails,
        model=model,
        progress=None if quiet else lambda msg: click.echo(f"  {msg}", err=True),
    )
    n_files = sum(len(f) for f in paths.figures.values())
    click.echo(f"wrote {n_files} figure files, {paths.map_html} and {paths.index}")
    for name, reason in paths.skipped.items():
        click.echo(f"  not made: {name}: {reason}")
    click.echo(f"open {paths.index.resolve().as_uri()}")


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on (other interfaces are refused).",
)
@click.option(
    "--model",
    type=click.Path(),
    default=None,
    help="Fingerprint model file of the workspace's fingerprints [default: the shipped one].",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
@user_errors
def serve(workspace: str, port: int, host: str, model: str | None, verbose: bool) -> None:
    """Explore WORKSPACE in a browser: the map, a page per material, drop-in files."""
    from bandprint.explorer import serve as run_server

    run_server(workspace, host=host, port=port, verbose=verbose, model=model)


# -- render, train, fingerprint, reconstruct, traverse (issue 4) ----------------------------
def _parse_floats(text: str, what: str, count: int | None = None) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BandprintError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise BandprintError(f"{what} needs {count} comma-separated numbers, got {text!r}")
    if not values:
        raise BandprintError(f"{what} is empty")
    return values


@main.command()
@click.argument("workspace", type=click.Path())
@click.argument("material_id")
@click.option("--out", required=True, type=click.Path(), help="PNG file to write.")
@click.option("--size", type=int, default=224, show_default=True, help="Image side (pixels).")
@click.option("--window", default="-4,4", show_default=True, help="Energy window LO,HI (eV).")
@click.option(
    "--x-axis", type=click.Choice(["distance", "index"]), default="distance", show_default=True
)
@click.option(
    "--spins", type=click.Choice(["both", "up", "down"]), default="both", show_default=True
)
@click.option("--line-width", type=int, default=1, show_default=True, help="Pixels.")
@click.option(
    "--model",
    type=click.Path(),
    default=None,
    help="Draw with this model's render settings instead ('default': the shipped one).",
)
@render_options
@user_errors
def render(
    workspace: str,
    material_id: str,
    out: str,
    size: int,
    window: str,
    x_axis: str,
    spins: str,
    line_width: int,
    model: str | None,
    keep_path: bool,
    energy_reference: str | None,
    two_d: bool | None,
) -> None:
    """Draw one material as the 0/1 image the autoencoder sees (black bands on white)."""
    from dataclasses import replace

    from bandprint.render import (
        RenderSettings,
        describe_rendering,
        prepare_band_structure,
        render_band_images,
        save_band_image,
    )
    from bandprint.store import Workspace

    if model is not None:
        from bandprint.fingerprint import load_fingerprinter

        settings = load_fingerprinter(model, device="cpu").render_
    else:
        lo, hi = _parse_floats(window, "--window", 2)
        settings = RenderSettings(size, (lo, hi), x_axis, spins, line_width)  # type: ignore[arg-type]
    settings = replace(settings, **_render_changes(keep_path, energy_reference, two_d))
    bs = Workspace(workspace).get(material_id, with_structure=False)
    image = render_band_images([bs], settings)[0]
    save_band_image(image, out)
    click.echo(
        f"wrote {out}: {settings.size}×{settings.size}, {int(image.sum())} band pixels "
        f"({100 * image.mean():.1f} %)"
    )
    click.echo(describe_rendering(prepare_band_structure(bs, settings)[1]))


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--preset", type=click.Choice(["small", "paper"]), default="small", show_default=True)
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option(
    "--out", type=click.Path(), default=None, help="Model file [default: WS/models/<model id>.pt]."
)
@click.option("--resume", type=click.Path(), default=None, help="Continue from this checkpoint.")
@click.option(
    "--checkpoint",
    type=click.Path(),
    default=None,
    help="Checkpoint rewritten every epoch [default: OUT.ckpt or WS/models/].",
)
@click.option("--val-fraction", type=float, default=0.1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="One-cycle peak rate.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--half", is_flag=True, help="Store float16 weights (half the file size).")
@click.option(
    "--precision",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="auto: bfloat16/float16 autocast on CUDA, bfloat16 on CPUs that have it.",
)
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@render_options
@user_errors
def train(
    workspace: str,
    preset: str,
    epochs: int,
    out: str | None,
    resume: str | None,
    checkpoint: str | None,
    val_fraction: float,
    seed: int,
    batch_size: int,
    lr: float,
    device: str,
    half: bool,
    precision: str,
    threads: int | None,
    quiet: bool,
    keep_path: bool,
    energy_reference: str | None,
    two_d: bool | None,
) -> None:
    """Train the autoencoder on every material of WORKSPACE and write the model (the render
    flags are stored with it and used for every fingerprint it makes)."""
    from pathlib import Path

    import torch

    from bandprint.fingerprint import Fingerprinter, train_on_workspace
    from bandprint.store import Workspace

    if threads:
        torch.set_num_threads(threads)

    ws = Workspace(workspace)
    models_dir = ws.path / "models"
    if checkpoint is None:
        checkpoint = resume or (
            f"{out}.ckpt" if out else str(models_dir / f"training-{preset}-seed{seed}.ckpt")
        )
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    changes = _render_changes(keep_path, energy_reference, two_d)
    render = None
    if changes:
        from bandprint.model import preset_config
        from bandprint.render import RenderSettings

        render = RenderSettings(size=preset_config(preset).input_size, **changes)
    fp = Fingerprinter(
        render=render,
        preset=preset,
        epochs=epochs,
        batch_size=batch_size,
        max_lr=lr,
        val_fraction=val_fraction,
        seed=seed,
        device=device,
        precision=precision,
        checkpoint=checkpoint,
        progress=not quiet,
    )
    fp, skipped = train_on_workspace(ws, fp, resume=resume, progress=not quiet)
    for mid, why in skipped[:20]:
        click.echo(f"  skipped {mid}: {why}", err=True)
    path = Path(out) if out else models_dir / "model.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fp.save(path, half=half)
    written = Fingerprinter.load(path, device="cpu")
    if not out:
        final = models_dir / f"{written.model_id_}.pt"
        path.replace(final)
        path = final
    last = fp.history_[-1]
    click.echo(
        f"trained {fp.config_.name} on {fp.n_train_} images ({fp.n_val_} for validation), "
        f"{len(fp.history_)} epochs in {fp.train_seconds_:.0f} s: train BCE "
        f"{last['train_bce']:.4f} (noised inputs), validation BCE {last['val_bce']:.4f} "
        f"(constant-guess baseline {fp.baseline_bce_:.4f})"
    )
    click.echo(f"wrote {path} (model {written.model_id_}); checkpoint {checkpoint}")
    click.echo(f"next: bandprint fingerprint {workspace} --model {path}")


@main.command()
@click.argument("workspace", type=click.Path())
@click.option(
    "--model",
    type=click.Path(),
    default=None,
    help="Model file [default: the shipped small model].",
)
@click.option("--all", "redo", is_flag=True, help="Re-encode materials already encoded.")
@click.option("--batch-size", type=click.IntRange(1), default=512, show_default=True)
@click.option(
    "--device",
    default="auto",
    show_default=True,
    help="With --engine ray: ignored, each encoder uses a GPU where the cluster has GPUs.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@render_options
@engine_options
@user_errors
def fingerprint(
    workspace: str,
    model: str | None,
    redo: bool,
    batch_size: int,
    device: str,
    quiet: bool,
    keep_path: bool,
    energy_reference: str | None,
    two_d: bool | None,
    engine: str,
    address: str | None,
) -> None:
    """Encode every material of WORKSPACE not yet encoded by the model.

    The render flags change how materials are drawn; such fingerprints are stored apart, under
    the model id with the settings' key appended. With --engine ray, encoder actors on a Ray
    cluster do the rendering and encoding; the fingerprints stored are the same."""
    from bandprint.fingerprint import fingerprint_workspace, load_fingerprinter
    from bandprint.store import Workspace

    _check_engine(engine, address)
    ws = Workspace(workspace)
    fp = load_fingerprinter(model, device="cpu" if engine == "ray" else device)
    changes = _render_changes(keep_path, energy_reference, two_d)
    if changes:
        fp.use_render_settings(**changes)
    if engine == "ray":
        from bandprint.distributed import fingerprint_workspace_ray, ray_session

        with ray_session(address):
            report = fingerprint_workspace_ray(
                ws, fp, redo=redo, batch_size=batch_size, progress=not quiet
            )
    else:
        report = fingerprint_workspace(ws, fp, redo=redo, batch_size=batch_size, progress=not quiet)
    click.echo(report.summary())


@main.command()
@click.argument("workspace", type=click.Path())
@click.argument("material_id")
@click.option("--out", required=True, type=click.Path(), help="Image file (PNG, PDF, SVG).")
@click.option("--model", type=click.Path(), default=None, help="[default: the shipped model]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@user_errors
def reconstruct(workspace: str, material_id: str, out: str, model: str | None, seed: int) -> None:
    """Input, noised input and reconstructions of one material, side by side."""
    from bandprint.fingerprint import load_fingerprinter, reconstruction_figure
    from bandprint.store import Workspace

    bs = Workspace(workspace).get(material_id, with_structure=False)
    fig = reconstruction_figure(load_fingerprinter(model, device="cpu"), bs, seed=seed)
    fig.savefig(out, dpi=120)
    click.echo(f"wrote {out}")


@main.command()
@click.argument("workspace", type=click.Path())
@click.argument("material_id")
@click.option("--channel", type=int, required=True, help="Latent channel (from 0).")
@click.option("--pos", required=True, help="Latent position I,J (row, column, from 0).")
@click.option(
    "--deltas",
    default="0,0.5,0.7,0.9",
    show_default=True,
    help="Shifts of that latent value, one panel each.",
)
@click.option("--out", required=True, type=click.Path(), help="Image file (PNG, PDF, SVG).")
@click.option("--model", type=click.Path(), default=None, help="[default: the shipped model]")
@user_errors
def traverse(
    workspace: str,
    material_id: str,
    channel: int,
    pos: str,
    deltas: str,
    out: str,
    model: str | None,
) -> None:
    """Decode one material's fingerprint with one latent value shifted (latent traversal)."""
    from bandprint.fingerprint import load_fingerprinter, traversal_figure
    from bandprint.store import Workspace

    i, j = _parse_floats(pos, "--pos", 2)
    if i != int(i) or j != int(j):
        raise BandprintError(f"--pos must be two integers I,J, got {pos!r}")
    bs = Workspace(workspace).get(material_id, with_structure=False)
    fig = traversal_figure(
        load_fingerprinter(model, device="cpu"),
        bs,
        channel=channel,
        pos=(int(i), int(j)),
        deltas=_parse_floats(deltas, "--deltas"),
    )
    fig.savefig(out, dpi=120)
    click.echo(f"wrote {out}")


# -- zoo (issue 3) ---------------------------------------------------------------------------
@main.command()
@click.argument("out", type=click.Path(), required=False)
@click.option("--n", "n", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--families",
    default=None,
    help="Comma-separated lattice families [default: all; see 'bandprint zoo --list'].",
)
@click.option("--list", "list_families", is_flag=True, help="List the families and exit.")
@click.option("--force", is_flag=True, help="Replace a dataset already in OUT.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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


@main.command()
@click.argument("workspace", type=click.Path())
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
@_FORMAT
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
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

    from bandprint.analyse.flatbands import (
        DEFAULT_BANDWIDTH_THRESHOLD,
        flatband_workspace,
    )
    from bandprint.store import Workspace

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
        _echo_json(_records(df))
        return
    click.echo(_text_table(df, _FLATBAND_COLUMNS))
    click.echo(
        f"{len(df)} materials: {int(df['is_flat'].sum())} flat (every segment), "
        f"{int(df['plane_flat'].sum())} plane-flat; stored as table 'flatbands' in {workspace}"
    )


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--flat", is_flag=True, default=None, help="Flat: a flat block in every segment.")
@click.option("--plane-flat", is_flag=True, default=None, help="One level flat along the path.")
@click.option("--strip", "strips", default=None, help="Flat blocks in any of these strips, 1,2.")
@click.option("--gap-min", type=float, default=None, help="Band gap at least (eV).")
@click.option("--gap-max", type=float, default=None, help="Band gap at most (eV).")
@click.option("--metal/--insulator", default=None, help="Metals only / non-metals only.")
@click.option("--cluster", type=int, default=None, help="Members of this cluster.")
@click.option("--formula", default=None, help="This (reduced) formula, e.g. CaO.")
@_FORMAT
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

    from bandprint.analyse.flatbands import find_in_workspace
    from bandprint.store import Workspace

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
        _echo_json(_records(df))
        return
    click.echo(_text_table(df, _FIND_COLUMNS))
    click.echo(f"{len(df)} materials match")


# -- cluster, sweep, similar, duplicates, structures (issue 5) -------------------------------
_MODEL_ID = click.option(
    "--model", "model_id", default=None, help="Fingerprint model id [default: the latest]."
)
_P = click.option(
    "--p", "p", type=click.FloatRange(min=0, min_open=True), default=0.2, show_default=True,
    help="Minkowski p of the fingerprint distance.",
)  # fmt: skip


def _echo_json(obj: Any) -> None:
    import orjson

    click.echo(
        orjson.dumps(
            obj, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS, default=str
        ).decode()
    )


def _records(df: Any) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN → null, numpy scalars and arrays → Python values."""
    import numpy as np

    def clean(v: Any) -> Any:
        if isinstance(v, np.ndarray | list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v

    return [{k: clean(v) for k, v in rec.items()} for rec in df.to_dict(orient="records")]


def _int_range(text: str, what: str) -> list[int]:
    """``2-11`` or ``2,3,5`` → a list of ints."""
    try:
        if "-" in text:
            lo, hi = (int(t) for t in text.split("-", 1))
            values = list(range(lo, hi + 1))
        else:
            values = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise BandprintError(
            f"{what}: expected LO-HI or a comma list of integers, got {text!r}"
        ) from None
    if not values:
        raise BandprintError(f"{what}: empty range {text!r}")
    return values


def _progress_bar(total_label: str, quiet: bool) -> Callable[[int, int], None] | None:
    if quiet:
        return None
    from tqdm.auto import tqdm

    bar: list[Any] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc=total_label, leave=False))
        bar[0].n = done
        bar[0].refresh()
        if done >= total:
            bar[0].close()

    return update


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--min-cluster-size", type=click.IntRange(2), default=5, show_default=True)
@click.option("--min-samples", type=click.IntRange(1), default=2, show_default=True)
@_P
@click.option(
    "--root/--no-root", default=True, show_default=True,
    help="λ from the Minkowski form (Σ|Δ|^p)^(1/p), or (--no-root) the metric Σ|Δ|^p.",
)  # fmt: skip
@click.option(
    "--strategy", type=click.Choice(["auto", "matrix", "exact", "knn"]), default="auto",
    show_default=True, help="auto: full matrix up to 20k fingerprints, k-NN graph above.",
)  # fmt: skip
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
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--top", type=click.IntRange(1), default=5, show_default=True, help="Exemplars.")
@click.option("--map-out", type=click.Path(), default=None, help="Also save the map (PNG/SVG).")
@_MODEL_ID
@_FORMAT
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
    from bandprint.analyse.cluster import cluster_workspace
    from bandprint.store import Workspace

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
        _echo_json({"meta": m, "clusters": _records(summary), "materials": _records(run.table)})
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


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--min-cluster-size", "sizes", default="2-11", show_default=True, help="Range.")
@click.option("--min-samples", "samples", default="2-11", show_default=True, help="Range.")
@_P
@click.option(
    "--root/--no-root", default=True, show_default=True,
    help="λ and DBCV from (Σ|Δ|^p)^(1/p), or (--no-root) from Σ|Δ|^p.",
)  # fmt: skip
@click.option(
    "--strategy",
    type=click.Choice(["auto", "matrix", "exact", "knn"]),
    default="auto",
    show_default=True,
)
@click.option("--out", type=click.Path(), default=None, help="Heat maps (PNG/SVG/PDF).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_MODEL_ID
@_FORMAT
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
    from bandprint.analyse.cluster import plot_sweep, sweep_workspace
    from bandprint.store import Workspace

    ws = Workspace(workspace)
    result = sweep_workspace(
        ws,
        model_id,
        _int_range(sizes, "--min-cluster-size"),
        _int_range(samples, "--min-samples"),
        p,
        root=root,
        strategy=strategy,  # type: ignore[arg-type]
        seed=seed,
        progress=_progress_bar("sweep", quiet or fmt == "json"),
    )
    if out:
        plot_sweep(result).savefig(out, dpi=150)
    if fmt == "json":
        _echo_json(
            {
                "params": result.params,
                "recommended": result.recommended,
                "reason": result.reason,
                "table": _records(result.table),
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


@main.command()
@click.argument("workspace", type=click.Path())
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1), default=10, show_default=True)
@_P
@_MODEL_ID
@click.option(
    "--model-file", type=click.Path(), default=None,
    help="Model that encodes a FILE query [default: the shipped model].",
)  # fmt: skip
@click.option(
    "--index", "kind", type=click.Choice(["auto", "exact", "ivf"]), default="auto",
    show_default=True,
    help="exact: brute force over every fingerprint; ivf: inverted lists, exact distances.",
)  # fmt: skip
@_FORMAT
@user_errors
def similar(
    workspace: str,
    query: str,
    k: int,
    p: float,
    model_id: str | None,
    model_file: str | None,
    kind: str,
    fmt: str,
) -> None:
    """The K materials whose fingerprints are nearest to QUERY (a material id, or a band
    structure file, which is read, rendered and encoded on the fly)."""
    from bandprint.analyse.search import similar_materials
    from bandprint.store import Workspace

    ws = Workspace(workspace)
    df = similar_materials(ws, query, k, p, model_id, model_file, kind)  # type: ignore[arg-type]
    if fmt == "json":
        _echo_json(_records(df))
        return
    for q, part in df.groupby("query", sort=False):
        click.echo(f"nearest to {q}:")
        for r in part.to_dict(orient="records"):
            extra = ""
            if "cluster" in r:
                extra = f"  cluster {r['cluster']}" + (" (same)" if r["same_cluster"] else "")
            name = f"{r['material_id']} ({r['formula']})" if r["formula"] else r["material_id"]
            click.echo(f"{r['rank']:>4}  {r['distance']:>10.4g}  {name}{extra}")


@main.command()
@click.argument("workspace", type=click.Path())
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
@_MODEL_ID
@click.option("--show", nargs=2, default=None, metavar="ID1 ID2", help="Plot two side by side.")
@click.option("--out", type=click.Path(), default=None, help="Image for --show [ID1_ID2.png].")
@_FORMAT
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
    fmt: str,
) -> None:
    """Candidate duplicate pairs: fingerprints much closer than typical nearest neighbours.
    Stores the duplicates table; --show ID1 ID2 draws the two band structures."""
    from bandprint.store import Workspace

    ws = Workspace(workspace)
    if show:
        from bandprint.analyse.duplicates import pair_figure
        from bandprint.analyse.search import pairwise_distances, workspace_index

        index, _ = workspace_index(ws, model_id, p, few_queries=True)
        dist = None
        if show[0] in index.ids and show[1] in index.ids:  # list scans: no id dictionary
            v = index.vectors
            a, b = index.ids.index(show[0]), index.ids.index(show[1])
            dist = float(pairwise_distances(v[[a]], v[[b]], p=p)[0, 0])
        path = out or f"{show[0]}_{show[1]}.png"
        pair_figure(ws, show[0], show[1], dist).savefig(path, dpi=150)
        if fmt == "json":
            _echo_json({"image": path, "distance": dist})
        else:
            click.echo(f"{path}" + (f"  (fingerprint distance {dist:.4g})" if dist else ""))
        return
    from bandprint.analyse.duplicates import duplicates_workspace

    result = duplicates_workspace(ws, model_id, threshold, k_mad, same_formula_only, p)
    if fmt == "json":
        _echo_json({"params": result.params, "pairs": _records(result.table)})
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


@main.command()
@click.argument("workspace", type=click.Path())
@click.option("--min-cluster-size", type=click.IntRange(2), default=5, show_default=True)
@click.option("--min-samples", type=click.IntRange(1), default=2, show_default=True)
@click.option("--workers", type=click.IntRange(1), default=None, help="[default: CPUs]")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@_FORMAT
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
    from bandprint.analyse.structure import structure_workspace
    from bandprint.store import Workspace

    ws = Workspace(workspace)
    run = structure_workspace(
        ws,
        min_cluster_size,
        min_samples,
        n_jobs=workers,
        seed=seed,
        progress=_progress_bar("CrystalNN", quiet or fmt == "json"),
    )
    if fmt == "json":
        _echo_json(
            {"meta": run.meta, "localisation": _records(run.localisation), "errors": run.errors}
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


# -- demo (issue 7) --------------------------------------------------------------------------
@main.command()
@click.argument("out_dir", default="demo-out", type=click.Path(file_okay=False))
@click.option("--n", "n_zoo", default=None, type=click.IntRange(min=50), help="Zoo size.")
@click.option("--seed", default=0, show_default=True, help="Seed of the zoo.")
@user_errors
def demo(out_dir: str, n_zoo: int | None, seed: int) -> None:
    """Run the whole pipeline on built-in data into OUT_DIR and write the report.

    A tight-binding zoo (with planted near-duplicates) and the bundled real DFT samples are
    ingested, fingerprinted with the shipped model, clustered and mapped, screened for flat
    bands and duplicates, and drawn in a report. Offline; a few minutes on a laptop.
    """
    from bandprint.demo import DEMO_ZOO_SIZE, run_demo

    result = run_demo(out_dir, n_zoo=n_zoo or DEMO_ZOO_SIZE, seed=seed, say=click.echo)
    total = sum(result.seconds.values())
    click.echo(
        f"\n{result.n_materials} materials: {result.n_clusters} clusters, "
        f"{result.n_unclassified} unclassified, {result.n_flat} with flat bands near E_F, "
        f"{result.n_duplicate_pairs} candidate duplicate pairs, holding "
        f"{result.n_planted_found} of the {result.n_planted_duplicates} planted near-duplicates "
        f"({total:.0f} s)."
    )
    click.echo(f"Workspace: {result.workspace}  (try: bandprint list {result.workspace})")
    click.echo(f"Open the report: {result.report_index.resolve()}")
    click.echo(f"Or explore it:   bandprint serve {result.workspace}")


# -- compute (DFT with GPAW) -------------------------------------------------------------------
@main.command()
@click.argument("structures", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for <id>.json.gz band structures and failures.csv.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Materials computed at once (one core each).",
)
@click.option("--basis", default="dzp", show_default=True, help="GPAW LCAO basis.")
@click.option(
    "--kspacing",
    type=float,
    default=0.4,
    show_default=True,
    help="Self-consistent k-mesh spacing (1/Å, 2π included).",
)
@click.option(
    "--smearing", type=float, default=0.05, show_default=True, help="Fermi–Dirac width (eV)."
)
@click.option(
    "--path-points",
    type=click.IntRange(20),
    default=80,
    show_default=True,
    help="k-points along the band path.",
)
@click.option(
    "--time-limit",
    type=float,
    default=1800,
    show_default=True,
    help="Seconds per material before it is stopped and listed as failed.",
)
@click.option(
    "--2d/--bulk",
    "two_d",
    default=None,
    help="Compute as a slab / as bulk [default: a vacuum gap ≥ 6 Å makes a slab].",
)
@click.option("--retry-failed", is_flag=True, help="Try again the materials that failed before.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def compute(
    structures: tuple[str, ...],
    out_dir: str,
    workers: int,
    basis: str,
    kspacing: float,
    smearing: float,
    path_points: int,
    time_limit: float,
    two_d: bool | None,
    retry_failed: bool,
    quiet: bool,
) -> None:
    """Compute PBE band structures with GPAW (LCAO) for STRUCTURES into --out.

    STRUCTURES are CIF, POSCAR/CONTCAR, ASE or pymatgen JSON files, or a prototype table
    (.jsonl). Slabs get an in-plane k-mesh, ≥ 15 Å of vacuum and the 2-D high-symmetry path;
    magnetic elements are computed spin-polarised from a ferromagnetic start. A rerun skips
    what is done. Then: bandprint ingest OUT --into WS, and bandprint similar WS OUT/ID.json.gz.
    """
    from bandprint.compute import GPAWSettings
    from bandprint.compute import compute as run_compute

    settings = GPAWSettings(
        basis=basis,
        kspacing=kspacing,
        smearing=smearing,
        path_npoints=path_points,
        time_limit=time_limit,
    )
    dimension = "auto" if two_d is None else ("2d" if two_d else "bulk")
    summary = run_compute(
        structures,
        out_dir,
        settings,
        workers=workers,
        dimension=dimension,
        retry_failed=retry_failed,
        progress=not quiet,
    )
    click.echo(
        f"{len(summary.done)} computed, {len(summary.skipped)} already done or failed before, "
        f"{len(summary.failed)} failed ({summary.cpu_seconds / 60:.1f} CPU-minutes) → {out_dir}"
    )
    for mid, reason in summary.failed.items():
        click.echo(f"  failed {mid}: {reason}")
    if summary.failed and not summary.done:
        sys.exit(1)
