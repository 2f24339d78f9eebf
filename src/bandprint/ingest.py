"""Ingest: read every band structure under some paths into a workspace, in parallel, safely.

* Sources are found with ``discover_sources``; files it cannot recognise are failures.
* A source whose files are unchanged since they were stored (same size and modification
  time, and the same ``--efermi``) is skipped, so a rerun only reads what is new or touched.
* The rest is parsed in worker processes, in chunks of sources so the per-file cost of
  inter-process traffic stays small; workers return ready-made Arrow tables.
* Every ``shard_size`` materials a shard is written (atomically, see ``store``), so a killed
  ingest keeps what it finished and a rerun does the rest.
* A file that cannot be read is listed with a one-line reason in the report and in
  ``WS/ingest-errors.csv`` (rewritten each run), and the batch goes on.
* Two sources giving the same material id in one run: the one found later wins, with a
  warning; the other is remembered as read, so a rerun does not swap them back.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from bandprint.errors import BandprintError, ReadError
from bandprint.read import Source, discover_sources, read_source
from bandprint.store import Workspace, atomic_write_bytes, band_structure_row, rows_to_table

#: Materials per shard: a killed ingest loses at most this many parsed materials.
SHARD_SIZE = 1000
#: Upper bound of sources per worker task; smaller chunks balance load, larger ones cut
#: inter-process overhead. The actual size also depends on the batch (see ``_chunk_size``).
MAX_CHUNK = 64


@dataclass
class IngestReport:
    """What an ingest did. ``failures`` holds ``(path, one-line reason)``."""

    workspace: Path
    n_found: int = 0
    n_ingested: int = 0
    n_skipped_unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    def exit_code(self, strict: bool = False) -> int:
        """0 when anything was ingested or is already stored unchanged; 1 when every source
        failed, when nothing at all was found, or with ``strict`` on any failure.

        A rerun over the same input therefore exits as the first run did.
        """
        if self.failures and (strict or self.n_ingested + self.n_skipped_unchanged == 0):
            return 1
        if self.n_found == 0 and not self.failures:
            return 1
        return 0

    def summary(self, max_reasons: int = 5) -> str:
        """A few lines for people: counts, then the first failures and warnings."""
        rate = f" in {self.seconds:.1f} s" if self.seconds else ""
        lines = [
            f"{self.workspace}: {self.n_ingested} ingested, {self.n_skipped_unchanged} "
            f"unchanged, {self.n_failed} failed (of {self.n_found} sources found){rate}"
        ]
        if self.n_found == 0 and not self.failures:
            lines.append("no band structures found in the given paths")
        for w in self.warnings[:max_reasons]:
            lines.append(f"warning: {w}")
        if len(self.warnings) > max_reasons:
            lines.append(f"warning: ... and {len(self.warnings) - max_reasons} more")
        for path, reason in self.failures[:max_reasons]:
            lines.append(f"failed: {path}: {reason}")
        if self.n_failed > max_reasons:
            lines.append(f"failed: ... and {self.n_failed - max_reasons} more")
        if self.failures:
            lines.append(f"all failures: {self.workspace / 'ingest-errors.csv'}")
        return "\n".join(lines)


class IngestFailed(BandprintError):
    """``ingest(strict=True)`` found failures; the readable sources were still stored."""

    def __init__(self, report: IngestReport):
        self.report = report
        path, reason = report.failures[0]
        more = f" (and {report.n_failed - 1} more)" if report.n_failed > 1 else ""
        super().__init__(f"{path}: {reason}{more}; see {report.workspace / 'ingest-errors.csv'}")


# -- worker side ------------------------------------------------------------------------------
_WorkItem = tuple[int, Source, str]  # (discovery index, source, source fingerprint)
#: A parsed chunk: (table or None, discovery index per row, failures (index, path, reason)).
_ParseResult = tuple[pa.Table | None, list[int], list[tuple[int, str, str]]]


def _parse_chunk(items: list[_WorkItem], ingested_at: datetime) -> _ParseResult:
    """Parse sources into one Arrow table. Returns (table, discovery index per row, failures).

    Never raises for a bad file: each failure is ``(index, path, reason)``.
    """
    rows: list[dict[str, Any]] = []
    row_index: list[int] = []
    failures: list[tuple[int, str, str]] = []
    for index, source, fingerprint in items:
        try:
            structures = read_source(source)
            source_rows = [
                band_structure_row(bs, source.key, fingerprint, ingested_at) for bs in structures
            ]
        except ReadError as exc:
            failures.append((index, exc.path, exc.reason))
            continue
        except BandprintError as exc:
            failures.append((index, source.key, " ".join(str(exc).split())))
            continue
        except Exception as exc:  # a reader bug must not stop the batch; report it instead
            failures.append((index, source.key, f"internal error: {exc!r}"))
            continue
        if not source_rows:
            failures.append((index, source.key, "holds no band structure"))
        rows.extend(source_rows)
        row_index.extend([index] * len(source_rows))
    table = rows_to_table(rows) if rows else None
    return table, row_index, failures


# -- main side --------------------------------------------------------------------------------
class _ShardWriter:
    """Buffers parsed rows, resolves duplicate ids (the later-found source wins), writes
    shards of ``shard_size`` rows and remembers sources dropped as duplicates."""

    def __init__(self, ws: Workspace, shard_size: int, report: IngestReport):
        self.ws = ws
        self.shard_size = max(1, shard_size)
        self.report = report
        self.buffer: list[tuple[pa.Table, list[bool]]] = []
        self.n_alive = 0
        # material id -> (discovery index, source key, buffer slot or None once written)
        self.winner: dict[str, tuple[int, str, tuple[int, int] | None]] = {}
        self.dropped: list[dict[str, Any]] = []
        self.items: dict[int, _WorkItem] = {}
        self.stored: dict[str, str] = {}  # material id -> source key, from earlier runs

    def add(self, table: pa.Table, row_index: list[int]) -> None:
        slot = len(self.buffer)
        alive = [True] * table.num_rows
        self.buffer.append((table, alive))
        for r, (mid, index) in enumerate(
            zip(table.column("material_id").to_pylist(), row_index, strict=True)
        ):
            key = self.items[index][1].key
            prev = self.winner.get(mid)
            if prev is not None and prev[0] > index:
                alive[r] = False  # a source found later already gave this id
                self._drop(index, mid, winner_key=prev[1])
                continue
            if prev is not None and prev[0] != index:
                old_slot = prev[2]
                if old_slot is not None:  # still buffered: never write the loser
                    self.buffer[old_slot[0]][1][old_slot[1]] = False
                    self.n_alive -= 1
                    self._drop(prev[0], mid, winner_key=key)
                else:  # already in a shard: the newer shard supersedes it
                    self.report.warnings.append(
                        f"material {mid}: {key} supersedes {prev[1]} (same material id)"
                    )
            elif prev is not None and prev[2] is not None:
                # the same source gave one id twice: its last row wins
                self.buffer[prev[2][0]][1][prev[2][1]] = False
                self.n_alive -= 1
            elif prev is None and self.stored.get(mid, key) != key:
                self.report.warnings.append(
                    f"material {mid}: {key} supersedes the stored one from {self.stored[mid]} "
                    "(same material id)"
                )
            self.winner[mid] = (index, key, (slot, r))
            self.n_alive += 1
        if self.n_alive >= self.shard_size:
            self.flush()

    def _drop(self, index: int, mid: str, winner_key: str) -> None:
        _, source, fingerprint = self.items[index]
        self.report.warnings.append(
            f"material {mid}: {winner_key} supersedes {source.key} (same material id)"
        )
        self.dropped.append(
            {
                "source_key": source.key,
                "source_fingerprint": fingerprint,
                "status": "duplicate",
                "material_ids": orjson.dumps([mid]).decode(),
                "ingested_at": datetime.now(UTC),
            }
        )

    def flush(self) -> None:
        tables = []
        for table, alive in self.buffer:
            if all(alive):
                tables.append(table)
            elif any(alive):
                tables.append(table.filter(pa.array(alive)))
        if tables:
            written = self.ws.write_band_rows(pa.concat_tables(tables))
            self.report.n_ingested += written
        for mid, (index, key, slot) in list(self.winner.items()):
            if slot is not None:
                self.winner[mid] = (index, key, None)
        self.buffer.clear()
        self.n_alive = 0
        if self.dropped:
            self.ws._record_sources(self.dropped)
            self.dropped = []


def _chunk_size(n: int, workers: int) -> int:
    # About eight tasks per worker for load balance, never more than MAX_CHUNK sources each.
    return max(1, min(MAX_CHUNK, -(-n // (workers * 8))))


def _with_options(source: Source, efermi: float | None, soc: bool) -> Source:
    options = dict(source.options)
    if efermi is not None:
        options["efermi"] = float(efermi)
    if soc:
        options["soc"] = True
    if options == source.options:
        return source
    return Source(source.format, source.paths, source.material_id, source.metadata, options)


def ingest(
    paths: Iterable[str | Path] | str | Path,
    workspace: Workspace | str | Path,
    workers: int | None = None,
    strict: bool = False,
    progress: bool = True,
    efermi: float | None = None,
    shard_size: int = SHARD_SIZE,
    soc: bool = False,
    engine: str = "local",
    address: str | None = None,
) -> IngestReport:
    """Read every band structure under ``paths`` into ``workspace`` (created if needed).

    ``workers`` processes parse in parallel (default: all CPUs; 1 parses in this process).
    ``engine="ray"`` parses in Ray tasks instead (``bandprint.distributed``), on the cluster at
    ``address``, else on a new local one; ``workers`` then defaults to the cluster's CPUs. The
    workspace is written by this process either way, identically.
    ``efermi`` overrides the Fermi level for sources that do not carry one (VASP EIGENVAL).
    ``soc`` reads C2DB's band structures with spin–orbit coupling instead of without.
    With ``strict`` an ``IngestFailed`` is raised after the run if any source failed (what
    was readable is stored all the same). Returns an ``IngestReport``.
    """
    started = time.perf_counter()
    if engine not in ("local", "ray"):
        raise BandprintError(f"unknown engine {engine!r}: choose local or ray")
    if engine == "ray":
        from bandprint.distributed import import_ray

        import_ray(address)  # a missing Ray or cluster is a one-line error before any work
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace, create=True)
    if isinstance(paths, str | Path):
        paths = [paths]
    # Absolute paths make source keys independent of the working directory, so a rerun from
    # elsewhere still recognises unchanged files.
    paths = [Path(os.path.abspath(p)) for p in paths]
    report = IngestReport(workspace=ws.path)
    failures: list[tuple[int, str, str]] = []  # (order, path, reason), sorted at the end

    # The workspace may sit inside a folder being ingested: never read it as input.
    ws_root = os.path.abspath(ws.path) + os.sep

    def inside_workspace(path: str) -> bool:
        return os.path.abspath(path).startswith(ws_root)

    def on_skip(path: str, reason: str) -> None:
        if not inside_workspace(path):
            failures.append((-1, path, reason))

    sources = [
        _with_options(s, efermi, soc)
        for s in discover_sources(paths, on_skip=on_skip)
        if not inside_workspace(s.paths[0])
    ]
    report.n_found = len(sources) + len(failures)
    stored = ws.ingested_sources()
    todo: list[_WorkItem] = []
    for index, source in enumerate(sources):
        try:
            fingerprint = source.fingerprint()
        except OSError as exc:
            failures.append((index, source.key, f"cannot read: {exc.strerror or exc}"))
            continue
        if efermi is not None:
            fingerprint += f";efermi={float(efermi)!r}"
        if soc:
            fingerprint += ";soc"
        if stored.get(source.key) == fingerprint:
            report.n_skipped_unchanged += 1
        else:
            todo.append((index, source, fingerprint))

    writer = _ShardWriter(ws, shard_size, report)
    writer.items = {item[0]: item for item in todo}
    writer.stored = ws.material_sources() if todo else {}
    ingested_at = datetime.now(UTC)
    if engine == "ray" and todo:
        try:
            _ingest_on_ray(todo, ingested_at, writer, failures, workers, progress, address)
        finally:
            _record_failures(ws, report, failures, started)
        return _checked(report, strict)
    workers = max(1, int(workers or os.cpu_count() or 1))
    # One source of each format is read here first: that imports what its reader needs
    # (pymatgen and friends, slow to import) once, before the workers fork, not once in every
    # worker.
    first_of_format: dict[str, _WorkItem] = {}
    for item in todo:
        first_of_format.setdefault(item[1].format, item)
    warm_up = list(first_of_format.values()) if workers > 1 else []
    warm_ids = {item[0] for item in warm_up}
    rest = [item for item in todo if item[0] not in warm_ids]
    chunk = _chunk_size(len(rest), workers)
    chunks = [rest[i : i + chunk] for i in range(0, len(rest), chunk)]
    bar = _progress_bar(len(todo), progress)
    try:
        if warm_up:
            _collect(_parse_chunk(warm_up, ingested_at), writer, failures)
            bar.update(len(warm_up))
        if workers == 1 or len(chunks) <= 1:
            for items in chunks:
                _collect(_parse_chunk(items, ingested_at), writer, failures)
                bar.update(len(items))
        else:
            _run_pool(chunks, workers, ingested_at, writer, failures, bar)
    finally:
        # Whatever was parsed is stored, even when interrupted (Ctrl-C) part-way.
        bar.close()
        writer.flush()
        _record_failures(ws, report, failures, started)
    return _checked(report, strict)


def _record_failures(
    ws: Workspace, report: IngestReport, failures: list[tuple[int, str, str]], started: float
) -> None:
    failures.sort(key=lambda f: f[0])
    report.failures = [(p, r) for _, p, r in failures]
    _write_errors_csv(ws, report.failures)
    report.seconds = time.perf_counter() - started


def _checked(report: IngestReport, strict: bool) -> IngestReport:
    if strict and report.failures:
        raise IngestFailed(report)
    return report


def _progress_bar(total: int, progress: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="file",
        desc="ingest",
        file=sys.stderr,
        disable=not progress or not total,
        dynamic_ncols=True,
    )


def _ingest_on_ray(
    todo: list[_WorkItem],
    ingested_at: datetime,
    writer: _ShardWriter,
    failures: list[tuple[int, str, str]],
    workers: int | None,
    progress: bool,
    address: str | None,
) -> None:
    # No warm-up read here: Ray workers are not forked from this process.
    from bandprint.distributed import cluster_cpus, ray_session, run_chunk_tasks

    with ray_session(address) as ray:
        workers = max(1, int(workers or cluster_cpus(ray)))
        chunk = _chunk_size(len(todo), workers)
        chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
        bar = _progress_bar(len(todo), progress)

        def on_result(items: list[_WorkItem], result: _ParseResult) -> None:
            _collect(result, writer, failures)
            bar.update(len(items))

        def on_failure(items: list[_WorkItem], reason: str) -> None:
            failures.extend((i, s.key, reason) for i, s, _ in items)
            bar.update(len(items))

        try:
            parse = functools.partial(_parse_chunk, ingested_at=ingested_at)
            run_chunk_tasks(parse, chunks, workers, on_result, on_failure)
        finally:
            bar.close()
            writer.flush()


def _collect(
    result: _ParseResult,
    writer: _ShardWriter,
    failures: list[tuple[int, str, str]],
) -> None:
    table, row_index, chunk_failures = result
    failures.extend(chunk_failures)
    if table is not None:
        writer.add(table, row_index)


def _run_pool(
    chunks: Sequence[list[_WorkItem]],
    workers: int,
    ingested_at: datetime,
    writer: _ShardWriter,
    failures: list[tuple[int, str, str]],
    bar: Any,
) -> None:
    # At most a few chunks in flight per worker, so memory stays bounded however many files.
    max_in_flight = workers * 3
    pending: dict[Future, list[_WorkItem]] = {}
    next_chunk = 0
    with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
        while next_chunk < len(chunks) or pending:
            while next_chunk < len(chunks) and len(pending) < max_in_flight:
                items = chunks[next_chunk]
                pending[pool.submit(_parse_chunk, items, ingested_at)] = items
                next_chunk += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                items = pending.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    # A worker died (e.g. killed for memory): report its files, keep the rest.
                    result = (
                        None,
                        [],
                        [(i, s.key, "worker process died while reading it") for i, s, _ in items],
                    )
                    _collect(result, writer, failures)
                    for i, s, _ in (it for c in chunks[next_chunk:] for it in c):
                        failures.append((i, s.key, "not read: a worker process died"))
                    for other in pending.values():
                        for i, s, _ in other:
                            failures.append((i, s.key, "not read: a worker process died"))
                    return
                _collect(result, writer, failures)
                bar.update(len(items))


def _write_errors_csv(ws: Workspace, failures: list[tuple[str, str]]) -> None:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["path", "reason"])
    out.writerows(failures)
    atomic_write_bytes(ws.errors_csv, buf.getvalue().encode())


__all__ = ["SHARD_SIZE", "IngestFailed", "IngestReport", "ingest"]
