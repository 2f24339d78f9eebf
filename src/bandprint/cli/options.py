"""What the commands share: the ``user_errors`` wrapper, option decorators used by more than
one command, and parsers of option values that raise one-line ``BandprintError``\\ s.

An option decorator here is applied exactly as a ``click.option`` is (topmost decorator
first in ``--help``); factories (``quiet_option(help)``) take what differs between commands.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from bandprint.errors import BandprintError

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


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


# -- arguments -------------------------------------------------------------------------------
#: The workspace folder, first argument of every command that reads or writes one.
workspace_argument = click.argument("workspace", type=click.Path())

#: One material of the workspace, by id.
material_argument = click.argument("material_id")


# -- options shared by several commands -----------------------------------------------------
#: Tables print for people; ``--format json`` gives machines the same rows.
format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)

#: Which stored fingerprints an analysis uses (``--model`` as a model id, not a file).
model_id_option = click.option(
    "--model", "model_id", default=None, help="Fingerprint model id [default: the latest]."
)

#: The Minkowski p of the fingerprint distance (the published clustering distance).
p_option = click.option(
    "--p", "p", type=click.FloatRange(min=0, min_open=True), default=0.2, show_default=True,
    help="Minkowski p of the fingerprint distance.",
)  # fmt: skip


def quiet_option(help: str = "No progress bar.") -> Decorator:
    """``--quiet/-q``: no progress output (``help`` says which)."""
    return click.option("--quiet", "-q", is_flag=True, help=help)


def seed_option(help: str | None = None) -> Decorator:
    """``--seed`` (an integer, 0 by default)."""
    return click.option("--seed", type=int, default=0, show_default=True, help=help)


def model_file_option(help: str) -> Decorator:
    """``--model``: a fingerprint model file (``help`` gives the default's meaning)."""
    return click.option("--model", type=click.Path(), default=None, help=help)


#: ``--model`` of the commands that draw on a workspace clustered with its fingerprints.
workspace_model_option = model_file_option(
    "Fingerprint model file of the workspace's fingerprints [default: the shipped one]."
)

#: ``--model`` of the commands that decode one material.
decoder_model_option = model_file_option("[default: the shipped model]")


def device_option(help: str) -> Decorator:
    """``--device`` for torch (``auto``: CUDA when present, else CPU)."""
    return click.option("--device", default="auto", show_default=True, help=help)


def root_option(help: str) -> Decorator:
    """``--root/--no-root``: distances with or without the Minkowski 1/p root."""
    return click.option("--root/--no-root", default=True, show_default=True, help=help)


def strategy_option(help: str | None = None) -> Decorator:
    """``--strategy`` of the mutual-reachability tree (``analyse.cluster.mst``)."""
    return click.option(
        "--strategy",
        type=click.Choice(["auto", "matrix", "exact", "knn"]),
        default="auto",
        show_default=True,
        help=help,
    )


def hdbscan_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--min-cluster-size`` and ``--min-samples`` of one HDBSCAN run."""
    func = click.option("--min-samples", type=click.IntRange(1), default=2, show_default=True)(func)
    return click.option("--min-cluster-size", type=click.IntRange(2), default=5, show_default=True)(
        func
    )


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


def render_changes(
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


def sharded_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--sharded``: search the stored fingerprints part by part (``workflows.shards``)."""
    return click.option(
        "--sharded",
        is_flag=True,
        help="Search the stored fingerprints part by part: memory for one part, not all of "
        "them; with --engine ray the parts are searched on a Ray cluster.",
    )(func)


def check_sharded_engine(sharded: bool, engine: str, address: str | None) -> None:
    """``--engine ray`` searches part by part, so it needs ``--sharded``."""
    check_engine(engine, address)
    if engine == "ray" and not sharded:
        raise BandprintError("--engine ray searches part by part: add --sharded")


def check_engine(engine: str, address: str | None) -> None:
    """``--address`` only means something with ``--engine ray``."""
    if address is not None and engine != "ray":
        raise BandprintError("--address needs --engine ray")


# -- option values ---------------------------------------------------------------------------
def parse_floats(text: str, what: str, count: int | None = None) -> list[float]:
    """``"1,2.5"`` → ``[1.0, 2.5]``; ``count``: exactly that many. ``what`` names the option
    in the error."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BandprintError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if count is not None and len(values) != count:
        raise BandprintError(f"{what} needs {count} comma-separated numbers, got {text!r}")
    if not values:
        raise BandprintError(f"{what} is empty")
    return values


def parse_int_range(text: str, what: str) -> list[int]:
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


#: ``--out`` of the commands that draw one figure.
figure_out_option = click.option(
    "--out", required=True, type=click.Path(), help="Image file (PNG, PDF, SVG)."
)
