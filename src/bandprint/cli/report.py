"""Presenting a workspace: ``report`` (figures and HTML pages), ``serve`` (the local
explorer) and ``demo`` (the whole pipeline on built-in data, ending in a report)."""

from __future__ import annotations

import click

from bandprint.cli.options import (
    quiet_option,
    seed_option,
    user_errors,
    workspace_argument,
    workspace_model_option,
)


@click.command()
@workspace_argument
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
@workspace_model_option
@quiet_option("Do not print each step.")
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


@click.command()
@workspace_argument
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Loopback address to listen on (other interfaces are refused).",
)
@workspace_model_option
@click.option("--verbose", "-v", is_flag=True, help="Log every request.")
@user_errors
def serve(workspace: str, port: int, host: str, model: str | None, verbose: bool) -> None:
    """Explore WORKSPACE in a browser: the map, a page per material, drop-in files."""
    from bandprint.explorer import serve as run_server

    run_server(workspace, host=host, port=port, verbose=verbose, model=model)


# -- demo (issue 7) --------------------------------------------------------------------------
@click.command()
@click.argument("out_dir", default="demo-out", type=click.Path(file_okay=False))
@click.option("--n", "n_zoo", default=None, type=click.IntRange(min=50), help="Zoo size.")
@click.option(
    "--corpus",
    "corpus_limit",
    default=None,
    type=click.IntRange(min=0),
    help="Most GPAW corpus band structures to take (0: none; default: "
    "bandprint.demo.DEMO_CORPUS_LIMIT).",
)
@seed_option("Seed of the zoo.")
@user_errors
def demo(out_dir: str, n_zoo: int | None, corpus_limit: int | None, seed: int) -> None:
    """Run the whole pipeline on built-in data into OUT_DIR and write the report.

    A tight-binding zoo (with planted near-duplicates), the bundled real DFT samples and, from
    a source checkout (or $BANDPRINT_CORPUS), the project's GPAW corpus of 2-D materials are
    ingested, fingerprinted with the shipped model, clustered and mapped, screened for flat
    bands and duplicates, and drawn in a report. Offline; a few minutes on a laptop.
    """
    from bandprint.demo import DEMO_CORPUS_LIMIT, DEMO_ZOO_SIZE, run_demo

    result = run_demo(
        out_dir,
        n_zoo=n_zoo or DEMO_ZOO_SIZE,
        seed=seed,
        say=click.echo,
        corpus_limit=DEMO_CORPUS_LIMIT if corpus_limit is None else corpus_limit,
    )
    total = sum(result.seconds.values())
    click.echo(
        f"\n{result.n_materials} materials: {result.n_clusters} clusters, "
        f"{result.n_unclassified} unclassified, {result.n_flat} with flat bands near E_F, "
        f"{result.n_duplicate_pairs} candidate duplicate pairs, holding "
        f"{result.n_planted_found} of the {result.n_planted_duplicates} planted near-duplicates "
        f"({total:.0f} s)."
    )
    if result.n_corpus:
        click.echo(
            f"Real DFT: {result.n_corpus} GPAW band structures of "
            f"{result.n_corpus_prototypes} prototypes, {result.n_corpus_twins} of them settings "
            f"or strain twins of another: the duplicate finder paired "
            f"{result.n_corpus_twins_found} twins with their originals, and for "
            f"{result.n_corpus_twins_nearest} the original is the nearest material."
        )
    click.echo(f"Workspace: {result.workspace}  (try: bandprint list {result.workspace})")
    click.echo(f"Open the report: {result.report_index.resolve()}")
    click.echo(f"Or explore it:   bandprint serve {result.workspace}")


#: The commands this module adds to ``bandprint``.
COMMANDS = [report, serve, demo]
