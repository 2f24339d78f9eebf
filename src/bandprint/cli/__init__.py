"""The ``bandprint`` command: a thin layer over the workflows and the Python API, one command
per task.

Every command turns ``BandprintError`` (a user mistake or bad input) into one line on stderr and
a non-zero exit, never a traceback (``options.user_errors``). Heavy imports happen inside
commands so ``--help`` is fast.

Modules, one per stage: ``ingest`` (zoo, ingest, list, show), ``fingerprint`` (render, train,
fingerprint, reconstruct, traverse), ``analyse`` (cluster, sweep, similar, duplicates,
structures, flatbands, find), ``report`` (report, serve, demo), ``compute`` (GPAW); what they
share is in ``options`` (option decorators, value parsers) and ``output`` (tables, JSON).
"""

from __future__ import annotations

import click

from bandprint import __version__
from bandprint.cli import analyse, compute, fingerprint, ingest, report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bandprint")
def main() -> None:
    """Electronic fingerprints of band structures: read, render, encode, cluster, map, search."""


for _stage in (ingest, fingerprint, analyse, report, compute):
    for _command in _stage.COMMANDS:
        main.add_command(_command)

__all__ = ["main"]
