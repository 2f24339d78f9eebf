"""Run ingest, fingerprint and compute on a Ray cluster (``--engine ray``), with the results
of one machine.

What runs where:

* **ingest**: discovery, the unchanged-source check, duplicate resolution and every shard write
  stay in the driver (``bandprint.ingest``); only parsing is farmed out (``run_chunk_tasks``),
  one Ray task per chunk of sources, each running the single-machine parser and returning an
  Arrow table.
* **fingerprint**: the driver lists what is not yet encoded and writes every fingerprint shard;
  encoder actors, each holding the model (one per GPU where the cluster has GPUs, else one per
  CPU), read their materials from the workspace's Parquet shards, render and encode them with
  the single-machine ``Fingerprinter.transform``.
* **compute** (``bandprint.compute.batch``): the driver reads the structures, skips what is done
  and writes every band structure file and ``failures.csv``; each material is one Ray task
  (``run_chunk_tasks``) that runs GPAW in its own process on that node and returns the file's
  bytes or the reason it failed. Nodes need GPAW (``gpaw_python``) but no shared disk.

So the store is written exactly as one machine writes it (write-once shards, atomic renames),
and a fingerprint depends only on its image (``transform`` pads every batch to one size), so
results do not depend on how the work was split. Ingest and fingerprint workers read sources
and shards by path: the inputs and the workspace must be on a file system every node mounts at
the same path, and every node needs the same bandprint, torch and Ray installed.

Failures: a Ray worker process or node that dies has its tasks retried (``MAX_RETRIES``) and
its actors replaced, elsewhere if the node is gone; work that still fails is reported (ingest:
a failure line per source; fingerprint: per material; compute: a line of ``failures.csv``, as
any failed material) and was not stored, so a rerun reads or encodes just that (compute: with
``--retry-failed``). Everything written before stays, as on one machine.
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from bandprint.fingerprint import Fingerprinter
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import FingerprintReport

#: Retries of a parse task, and resends of an encode task, whose worker process or node died.
MAX_RETRIES = 3
INSTALL_HINT = "pip install 'bandprint[ray]'"
#: Seconds to wait for a cluster's head to answer at ``--address HOST:PORT``.
CONNECT_TIMEOUT = 10


def import_ray(address: str | None = None) -> Any:
    """The ``ray`` module, or a one-line ``BandprintError`` saying how to install it; with a
    ``HOST:PORT`` ``address``, also one when nothing answers there (Ray itself would retry
    for minutes)."""
    try:
        import ray
    except ImportError:
        raise BandprintError(
            f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    host, _, port = (address or "").rpartition(":")
    if host and port.isdigit() and "://" not in address:
        try:
            socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT).close()
        except OSError as exc:
            raise BandprintError(
                f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
                "'ray start --head' or check the address"
            ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """Ray, connected: to the cluster at ``address`` (``"auto"``: the one started on this
    machine with ``ray start``); without one, Ray's own choice: ``RAY_ADDRESS``, else a cluster
    started here with ``ray start``, else a new local instance, stopped on exit. A session the
    caller already opened (``ray.init``) is used as it is and left open."""
    ray = import_ray(address)
    if ray.is_initialized():
        yield ray
        return
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise BandprintError(
            f"cannot start or reach {where}: {' '.join(str(exc).split())}"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: Any) -> int:
    """CPUs of the connected cluster (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_map(fn: Any, items: Sequence[Any], address: str | None = None) -> list[Any]:
    """``list(map(fn, items))`` with one Ray task per item (retried ``MAX_RETRIES`` times if
    its worker dies), results in the order of ``items``: the ``map_fn`` of
    ``bandprint.analyse.shards`` on a cluster (``functools.partial(ray_map, address=...)``).
    ``fn`` and the items are pickled to the workers, so shards travel as paths, not data."""
    with ray_session(address) as ray:
        call = ray.remote(max_retries=MAX_RETRIES)(_apply)
        return ray.get([call.remote(fn, item) for item in items])


def _apply(fn: Any, item: Any) -> Any:
    return fn(item)


# -- ingest and compute -------------------------------------------------------------------------
#: The end of ``run_chunk_tasks``' chunks (a chunk may be anything, ``None`` included).
_END = object()


def run_chunk_tasks(
    fn: Callable[[Any], Any],
    chunks: Iterable[Any],
    workers: int,
    on_result: Callable[[Any, Any], None],
    on_failure: Callable[[Any, str], None],
    ahead: int = 3,
) -> None:
    """``fn(chunk)`` for every chunk in Ray tasks of one CPU each (Ray must be connected, see
    ``ray_session``), handing each result to ``on_result(chunk, result)`` in this process as it
    arrives; at most ``ahead · workers`` chunks in flight, so the driver's memory stays bounded
    (more than ``workers`` keeps every worker busy between short tasks). ``chunks`` is read only
    as tasks are sent, so it may be lazy. A chunk whose task still fails after ``MAX_RETRIES``
    goes to ``on_failure(chunk, reason)`` (one line) and the rest goes on. ``fn`` and the
    chunks are pickled to the workers."""
    import ray

    call = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_apply)
    pending: dict[Any, Any] = {}
    todo = iter(chunks)
    more = True
    while True:
        while more and len(pending) < ahead * workers:
            chunk = next(todo, _END)
            if chunk is _END:
                more = False
            else:
                pending[call.remote(fn, chunk)] = chunk
        if not pending:
            break
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            chunk = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:
                on_failure(chunk, f"Ray worker failed: {_one_line(exc)}")
                continue
            on_result(chunk, result)


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]


# -- fingerprint ----------------------------------------------------------------------------
class _Encoder:
    """A Ray actor: the fingerprinter on this node's device, and the workspace it reads."""

    def __init__(self, fingerprinter: Fingerprinter, workspace: str, device: str) -> None:
        import torch

        from bandprint.store import Workspace

        fingerprinter.model_.to(device=torch.device(device), memory_format=torch.channels_last)
        self.fp = fingerprinter
        self.ws = Workspace(workspace)

    def encode(self, ids: list[str]) -> tuple[list[str], np.ndarray, list[tuple[str, str]]]:
        from bandprint.fingerprint import render_batch

        bss = list(self.ws.iter_band_structures(ids, batch_size=len(ids), with_structure=False))
        done, images, skipped = render_batch(bss, self.fp.render_)
        if not done:
            return [], np.zeros((0, self.fp.config_.fingerprint_length), np.float32), skipped
        return done, self.fp.transform(np.stack(images)), skipped


def fingerprint_workspace_ray(
    ws: Workspace,
    fingerprinter: Fingerprinter,
    redo: bool = False,
    batch_size: int = 512,
    progress: bool = True,
) -> FingerprintReport:
    """``fingerprint_workspace`` on the connected Ray cluster (see ``ray_session``): the same
    materials encoded, the same fingerprints stored, in the same shards' format.

    Encoder actors: one per GPU (``num_gpus=1``) where the cluster has GPUs, else one per CPU.
    Each task is at most ``batch_size`` materials, fewer when that gives every actor about
    four tasks. When an actor dies (its process or node), its task goes to another actor, to
    a new one when none is left, up to ``MAX_RETRIES`` times per task; materials still not
    encoded are listed in ``report.skipped`` with the reason, and a rerun encodes them.
    """
    import ray
    from tqdm.auto import tqdm

    from bandprint.workflows.fingerprint import encoding_plan

    gpus = int(ray.cluster_resources().get("GPU", 0))
    n_actors = max(1, gpus or cluster_cpus(ray))
    device = "cuda" if gpus else "cpu"
    todo, done, report, info = encoding_plan(ws, fingerprinter, redo, device)
    model_id = report.model_id
    if not todo:
        if not done:  # record the model, as the single-machine path does
            ws.write_fingerprints(model_id, [], np.zeros((0, info["fingerprint_length"])), info)
        return report

    chunk = max(1, min(batch_size, math.ceil(len(todo) / (4 * n_actors))))
    # (tries so far, ids); popped from the end
    queue = [(0, todo[i : i + chunk]) for i in range(0, len(todo), chunk)][::-1]
    n_actors = min(n_actors, len(queue))
    # Dead actors are not restarted by Ray (that would re-run their constructor on a node that
    # may be gone, and hold back a CPU the survivors need): their work goes to the others.
    actor_class = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1)(_Encoder)
    model = ray.put(fingerprinter)

    def new_actor() -> Any:
        return actor_class.remote(model, str(ws.path), device)

    idle = [new_actor() for _ in range(n_actors)]
    pending: dict[Any, tuple[Any, int, list[str]]] = {}
    first = True
    bar = tqdm(total=len(todo), desc="fingerprints", unit="material", disable=not progress)
    try:
        while queue or pending:
            if queue and not idle and not pending:
                idle.append(new_actor())  # every actor died: start afresh where Ray can
            while queue and idle:
                actor, (tries, ids) = idle.pop(), queue.pop()
                pending[actor.encode.remote(ids)] = (actor, tries, ids)
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, tries, ids = pending.pop(ref)
            try:
                encoded, vectors, skipped = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                if tries < MAX_RETRIES:
                    queue.append((tries + 1, ids))
                else:
                    _not_encoded(report, ids, exc, bar)
                continue
            except ray.exceptions.RayError as exc:  # the task failed, the actor lives on
                idle.append(actor)
                _not_encoded(report, ids, exc, bar)
                continue
            idle.append(actor)
            report.skipped += skipped
            if encoded:
                ws.write_fingerprints(model_id, encoded, vectors, info if first else None)
                report.encoded += len(encoded)
                first = False
            bar.update(len(ids))
    finally:
        bar.close()
        for actor in idle + [a for a, _, _ in pending.values()]:
            ray.kill(actor)
    if first and not done:
        ws.write_fingerprints(model_id, [], np.zeros((0, info["fingerprint_length"])), info)
    return report


def _not_encoded(report: FingerprintReport, ids: list[str], exc: Exception, bar: Any) -> None:
    why = f"not encoded, Ray worker failed ({_one_line(exc)}); rerun to encode it"
    report.skipped += [(mid, why) for mid in ids]
    bar.update(len(ids))


__all__ = [
    "INSTALL_HINT",
    "MAX_RETRIES",
    "cluster_cpus",
    "fingerprint_workspace_ray",
    "import_ray",
    "ray_session",
    "run_chunk_tasks",
]
