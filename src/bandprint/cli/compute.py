"""``compute``: band structures of new structures with GPAW (``bandprint.compute``)."""

from __future__ import annotations

import sys

import click

from bandprint.cli.options import check_engine, engine_options, quiet_option, user_errors


@click.command()
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
    default=None,
    help="Materials computed at once (one core each) [default: 1; with --engine ray: the "
    "cluster's CPUs].",
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
@quiet_option()
@engine_options
@user_errors
def compute(
    structures: tuple[str, ...],
    out_dir: str,
    workers: int | None,
    basis: str,
    kspacing: float,
    smearing: float,
    path_points: int,
    time_limit: float,
    two_d: bool | None,
    retry_failed: bool,
    quiet: bool,
    engine: str,
    address: str | None,
) -> None:
    """Compute PBE band structures with GPAW (LCAO) for STRUCTURES into --out.

    STRUCTURES are CIF, POSCAR/CONTCAR, ASE or pymatgen JSON files, or a prototype table
    (.jsonl). Slabs get an in-plane k-mesh, ≥ 15 Å of vacuum and the 2-D high-symmetry path;
    magnetic elements are computed spin-polarised from a ferromagnetic start. A rerun skips
    what is done. Then: bandprint ingest OUT --into WS, and bandprint similar WS OUT/ID.json.gz.

    With --engine ray each material is a task on a Ray cluster, run by the GPAW of the node it
    lands on; this command writes every file, so --out need not be shared with the nodes.
    """
    from bandprint.compute import GPAWSettings
    from bandprint.compute import compute as run_compute

    check_engine(engine, address)
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
        engine=engine,
        address=address,
    )
    click.echo(
        f"{len(summary.done)} computed, {len(summary.skipped)} already done or failed before, "
        f"{len(summary.failed)} failed ({summary.cpu_seconds / 60:.1f} CPU-minutes) → {out_dir}"
    )
    for mid, reason in summary.failed.items():
        click.echo(f"  failed {mid}: {reason}")
    if summary.failed and not summary.done:
        sys.exit(1)


#: The commands this module adds to ``bandprint``.
COMMANDS = [compute]
