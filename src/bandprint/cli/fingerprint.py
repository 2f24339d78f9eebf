"""Images and the autoencoder: ``render`` (the 0/1 image), ``train``, ``fingerprint``
(encode a workspace), ``reconstruct`` and ``traverse`` (what the model learned)."""

from __future__ import annotations

import click

from bandprint.cli.options import (
    check_engine,
    decoder_model_option,
    device_option,
    engine_options,
    figure_out_option,
    material_argument,
    model_file_option,
    parse_floats,
    quiet_option,
    render_changes,
    render_options,
    seed_option,
    user_errors,
    workspace_argument,
)
from bandprint.errors import BandprintError


@click.command()
@workspace_argument
@material_argument
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
@model_file_option("Draw with this model's render settings instead ('default': the shipped one).")
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
        lo, hi = parse_floats(window, "--window", 2)
        settings = RenderSettings(size, (lo, hi), x_axis, spins, line_width)  # type: ignore[arg-type]
    settings = replace(settings, **render_changes(keep_path, energy_reference, two_d))
    bs = Workspace(workspace).get(material_id, with_structure=False)
    image = render_band_images([bs], settings)[0]
    save_band_image(image, out)
    click.echo(
        f"wrote {out}: {settings.size}×{settings.size}, {int(image.sum())} band pixels "
        f"({100 * image.mean():.1f} %)"
    )
    click.echo(describe_rendering(prepare_band_structure(bs, settings)[1]))


@click.command()
@workspace_argument
@click.option(
    "--preset", default="small", show_default=True,
    help="small (112 px), paper (224 px, as elf) or small-spin (spins as two channels).",
)  # fmt: skip
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option(
    "--loss", default="bce", show_default=True,
    help="Training loss: bce (the published recipe), or weighted-bce, focal, bce+dice, which "
    "weigh the band lines more.",
)  # fmt: skip
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
@seed_option()
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="One-cycle peak rate.")
@device_option("auto, cpu, cuda, cuda:1 ...")
@click.option("--half", is_flag=True, help="Store float16 weights (half the file size).")
@click.option(
    "--precision",
    type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
    default="auto",
    show_default=True,
    help="auto: bfloat16/float16 autocast on CUDA, bfloat16 on CPUs that have it.",
)
@click.option("--threads", type=click.IntRange(1), default=None, help="CPU threads for torch.")
@quiet_option("No progress bars.")
@render_options
@user_errors
def train(
    workspace: str,
    preset: str,
    epochs: int,
    loss: str,
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

    from bandprint.fingerprint import Fingerprinter
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import train_on_workspace

    if threads:
        torch.set_num_threads(threads)

    ws = Workspace(workspace)
    models_dir = ws.path / "models"
    if checkpoint is None:
        checkpoint = resume or (
            f"{out}.ckpt" if out else str(models_dir / f"training-{preset}-seed{seed}.ckpt")
        )
    Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
    changes = render_changes(keep_path, energy_reference, two_d)
    render = None
    if changes:
        from bandprint.model import preset_config
        from bandprint.render import RenderSettings

        config = preset_config(preset)
        spins = "channels" if config.channels == 2 else "both"
        render = RenderSettings(size=config.input_size, spins=spins, **changes)
    if resume:
        # The run's own settings come from the checkpoint; the options above do not apply.
        fp = Fingerprinter.from_checkpoint(resume, device=device, progress=not quiet)
        fp.set_params(checkpoint=checkpoint)
    else:
        fp = Fingerprinter(
            render=render,
            preset=preset,
            epochs=epochs,
            batch_size=batch_size,
            max_lr=lr,
            val_fraction=val_fraction,
            random_state=seed,
            loss=loss,
            device=device,
            precision=precision,
            checkpoint=checkpoint,
            progress=not quiet,
        )
    fp, skipped = train_on_workspace(ws, fp, progress=not quiet)
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


@click.command()
@workspace_argument
@model_file_option("Model file [default: the shipped small model].")
@click.option("--all", "redo", is_flag=True, help="Re-encode materials already encoded.")
@click.option("--batch-size", type=click.IntRange(1), default=512, show_default=True)
@device_option("With --engine ray: ignored, each encoder uses a GPU where the cluster has GPUs.")
@quiet_option()
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
    from bandprint.fingerprint import load_fingerprinter
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import fingerprint_workspace

    check_engine(engine, address)
    ws = Workspace(workspace)
    fp = load_fingerprinter(model, device="cpu" if engine == "ray" else device)
    changes = render_changes(keep_path, energy_reference, two_d)
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


@click.command()
@workspace_argument
@material_argument
@figure_out_option
@decoder_model_option
@seed_option("Seed of the noise.")
@user_errors
def reconstruct(workspace: str, material_id: str, out: str, model: str | None, seed: int) -> None:
    """Input, noised input and reconstructions of one material, side by side."""
    from bandprint.fingerprint import load_fingerprinter, reconstruction_figure
    from bandprint.store import Workspace

    bs = Workspace(workspace).get(material_id, with_structure=False)
    fig = reconstruction_figure(load_fingerprinter(model, device="cpu"), bs, seed=seed)
    fig.savefig(out, dpi=120)
    click.echo(f"wrote {out}")


@click.command()
@workspace_argument
@material_argument
@click.option("--channel", type=int, required=True, help="Latent channel (from 0).")
@click.option("--pos", required=True, help="Latent position I,J (row, column, from 0).")
@click.option(
    "--deltas",
    default="0,0.5,0.7,0.9",
    show_default=True,
    help="Shifts of that latent value, one panel each.",
)
@figure_out_option
@decoder_model_option
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

    i, j = parse_floats(pos, "--pos", 2)
    if i != int(i) or j != int(j):
        raise BandprintError(f"--pos must be two integers I,J, got {pos!r}")
    bs = Workspace(workspace).get(material_id, with_structure=False)
    fig = traversal_figure(
        load_fingerprinter(model, device="cpu"),
        bs,
        channel=channel,
        pos=(int(i), int(j)),
        deltas=parse_floats(deltas, "--deltas"),
    )
    fig.savefig(out, dpi=120)
    click.echo(f"wrote {out}")


#: The commands this module adds to ``bandprint``.
COMMANDS = [render, train, fingerprint, reconstruct, traverse]
