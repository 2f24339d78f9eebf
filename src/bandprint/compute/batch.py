"""Band structures computed with GPAW for many structures: parallel, resumable, bounded.

``compute_band_structures(jobs, out)`` runs one GPAW process per material (in the Python that
has GPAW, see :func:`gpaw_python`), at most ``workers`` at a time, each with a wall-time
limit: on this machine (``engine="local"``), or as Ray tasks on a cluster's nodes
(``engine="ray"``). Either way :func:`compute_job` runs the material where it is placed and
returns the file's bytes, and this process writes them: each finished material as
``OUT/<id>.json.gz``, a bandprint ``BandStructure`` dictionary that ``bandprint ingest``
reads, atomically (temporary name, fsync, rename), so a killed batch leaves no half-written
file and a rerun skips what is done. Every failure (SCF not converged, GPAW error, time limit,
unphysical input, a Ray task lost) is appended to ``OUT/failures.csv`` with its reason, and
the batch goes on.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from ase import Atoms

from bandprint.bandstructure import BandStructure
from bandprint.compute.prototypes import MAGNETIC_MOMENTS
from bandprint.errors import BandprintError
from bandprint.store import atomic_write_bytes

WORKER = Path(__file__).with_name("gpaw_worker.py")
FAILURES = "failures.csv"

#: A spin-polarised result whose total moment is below this (μB per cell) is non-magnetic.
MAGNETIC_THRESHOLD = 0.1


@dataclass(frozen=True)
class GPAWSettings:
    """How a band structure is computed. Lengths in Å, energies in eV, k-spacing in 1/Å.

    The self-consistent Monkhorst–Pack mesh has ``max(3, ceil(|b_i| / kspacing))`` points
    along each periodic reciprocal vector ``b_i`` (2π included) and 1 along a vacuum axis.
    """

    basis: str = "dzp"
    xc: str = "PBE"
    h: float = 0.25
    kspacing: float = 0.4
    smearing: float = 0.05
    path_npoints: int = 80
    maxiter: int = 200
    convergence: dict[str, float] = field(default_factory=lambda: {"density": 5e-4})
    time_limit: float = 1800.0

    def kpts(self, atoms: Atoms) -> list[int]:
        recip = 2 * np.pi * np.linalg.inv(atoms.cell.array).T
        return [
            max(3, math.ceil(np.linalg.norm(b) / self.kspacing)) if periodic else 1
            for b, periodic in zip(recip, atoms.pbc, strict=False)
        ]


@dataclass
class ComputeJob:
    """One material to compute: its id, its structure, metadata to store with the result."""

    material_id: str
    atoms: Atoms
    settings: GPAWSettings = field(default_factory=GPAWSettings)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: Set when the job is known to fail before any computing (its structure could not be
    #: prepared): it is then reported as failed with this reason, and GPAW is not run.
    error: str | None = None


@dataclass
class ComputeSummary:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already computed (or failed) earlier
    failed: dict[str, str] = field(default_factory=dict)
    cpu_seconds: float = 0.0


def gpaw_python(candidates: Iterable[str | None] | None = None) -> str:
    """The Python interpreter that can import GPAW: ``$BANDPRINT_GPAW_PYTHON``, this one, or
    Debian's ``/usr/bin/python3`` (or the first of ``candidates``). Raises a one-line
    ``BandprintError`` saying how to install GPAW when none can."""
    if candidates is None:
        candidates = (os.environ.get("BANDPRINT_GPAW_PYTHON"), sys.executable, "/usr/bin/python3")
    return _first_with_gpaw(tuple(candidates))


@lru_cache(maxsize=8)
def _first_with_gpaw(candidates: tuple[str | None, ...]) -> str:
    for py in candidates:
        if not py or not Path(py).exists():
            continue
        probe = subprocess.run(
            [py, "-c", "import gpaw, ase"], capture_output=True, timeout=120, check=False
        )
        if probe.returncode == 0:
            return py
    raise BandprintError(
        "GPAW is not installed: apt-get install gpaw gpaw-data (Debian/Ubuntu), "
        "or pip install gpaw with its PAW setups, or set BANDPRINT_GPAW_PYTHON"
    )


def done_ids(out: str | Path) -> set[str]:
    out = Path(out)
    return {p.name[: -len(".json.gz")] for p in out.glob("*.json.gz")} if out.is_dir() else set()


def failed_ids(out: str | Path) -> dict[str, str]:
    path = Path(out) / FAILURES
    if not path.exists():
        return {}
    with open(path, newline="") as fh:
        return {row["material_id"]: row["reason"] for row in csv.DictReader(fh)}


def _append_failure(out: Path, material_id: str, reason: str) -> None:
    path = out / FAILURES
    new = not path.exists()
    with open(path, "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["material_id", "reason"])
        w.writerow([material_id, reason])
        fh.flush()
        os.fsync(fh.fileno())


def band_path(atoms: Atoms, npoints: int) -> dict[str, Any]:
    """The high-symmetry path of ``atoms``' cell (2-D where ``pbc`` says so), ``npoints``
    k-points spaced evenly in length: ``{"kpts" (fractional, this cell), "special_points",
    "labelseq"}`` for the worker. Made here, with this environment's ASE: the ASE beside GPAW
    may be older than 3.23, whose 2-D paths are wrong for a cell not aligned with x."""
    path = atoms.cell.bandpath(npoints=npoints, pbc=atoms.pbc)
    names = {k: k for k in path.special_points}
    if not all(atoms.pbc):
        # Name the points as bandprint's k-path analysis does (e.g. X along the shorter
        # in-plane axis of a rectangular cell, where ASE takes the first axis), so the file's
        # labels agree with the canonical paths every picture is drawn along.
        from bandprint.kpath import kpath_spec

        rec = 2 * np.pi * np.linalg.inv(atoms.cell.array).T
        spec = kpath_spec(rec, two_d=True, axis=int(np.flatnonzero(~np.asarray(atoms.pbc))[0]))
        for name, point in path.special_points.items():
            ours = spec.label_of(point)
            if ours is not None:
                names[name] = "G" if ours == "Γ" else ours
    return {
        "kpts": np.asarray(path.kpts).round(10).tolist(),
        "special_points": {
            names[k]: np.asarray(v).tolist() for k, v in path.special_points.items()
        },
        "labelseq": "".join(names.get(c, c) for c in path.path),
    }


def run_gpaw(job: ComputeJob, python: str | None = None) -> dict[str, Any]:
    """Run the GPAW worker for one job in a fresh process; the worker's result dictionary,
    or ``{"error": reason}``. The process group is killed at the job's time limit."""
    python = python or gpaw_python()
    s = job.settings
    atoms = job.atoms
    magmoms = None
    symbols = atoms.get_chemical_symbols()
    if any(el in MAGNETIC_MOMENTS for el in symbols):
        magmoms = [MAGNETIC_MOMENTS.get(el, 0.0) for el in symbols]  # ferromagnetic start
    payload = {
        "symbols": symbols,
        "positions": atoms.positions.tolist(),
        "cell": atoms.cell.array.tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
        "magmoms": magmoms,
        "settings": {**asdict(s), "kpts": s.kpts(atoms)},
        "path": band_path(atoms, s.path_npoints),
    }
    with tempfile.TemporaryDirectory(prefix="bandprint-gpaw-") as tmp:
        inp, res = Path(tmp, "in.json"), Path(tmp, "out.json")
        inp.write_text(json.dumps(payload))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        proc = subprocess.Popen(
            [python, str(WORKER), str(inp), str(res)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            cwd=tmp,
        )
        try:
            _, err = proc.communicate(timeout=s.time_limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return {"error": f"time limit of {s.time_limit:.0f} s exceeded"}
        if not res.exists():
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"error": f"GPAW process exited with code {proc.returncode}: {tail[0][:200]}"}
        result = json.loads(res.read_text())
        result.setdefault("kpts", payload["settings"]["kpts"])
        result["settings"] = payload["settings"]
        return result


def band_structure_from_result(job: ComputeJob, result: dict[str, Any]) -> BandStructure:
    """The bandprint band structure (with structure and metadata) from a worker result."""
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    from bandprint.read.ase_json import band_structure_from_ase_dict

    structure = AseAtomsAdaptor.get_structure(job.atoms)
    try:
        sga = SpacegroupAnalyzer(structure, symprec=0.1)
        sg_number, sg_symbol = int(sga.get_space_group_number()), sga.get_space_group_symbol()
    except Exception:  # spglib finds no cell: record nothing rather than a guess
        sg_number, sg_symbol = None, None
    spin = bool(result.get("spin_polarized"))
    moment = float(result.get("magnetic_moment") or 0.0)
    meta = {
        **job.metadata,
        "formula": structure.composition.reduced_formula,
        "code": "GPAW",
        "gpaw_version": result.get("gpaw_version"),
        "settings": result["settings"],
        "spin_polarized": spin,
        "magnetic_moment": moment,
        "magnetic_state": (
            ("ferromagnetic" if abs(moment) >= MAGNETIC_THRESHOLD else "non-magnetic")
            if spin
            else "non-magnetic (not spin-polarised)"
        ),
        "scf_iterations": result.get("scf_iterations"),
        "wall_time_s": result.get("wall_time_s"),
        "sg_number": sg_number,
        "sg_symbol": sg_symbol,
        "is_2d": not bool(job.atoms.pbc[2]),
        "source_format": "bandprint",
    }
    bs = band_structure_from_ase_dict(result, job.material_id, None, metadata=meta)
    bs.source_format = "bandprint"
    bs.structure = structure
    return bs


def compute_job(
    job: ComputeJob, python: str | None = None
) -> tuple[bytes | None, str | None, float]:
    """Compute one job here (in a thread of the local engine, or a Ray task on any node):
    ``(data, None, seconds)`` with ``data`` the gzipped bandprint JSON of its band structure,
    or ``(None, reason, seconds)`` when it failed (a one-line reason); ``seconds`` of wall time.
    ``python`` is the GPAW Python, by default this machine's (``gpaw_python``)."""
    if job.error:
        return None, job.error, 0.0
    t0 = time.time()
    try:
        python = python or gpaw_python()
    except BandprintError as exc:  # GPAW missing on this node: the material fails, not the batch
        return None, f"{exc} (on {socket.gethostname()})", 0.0
    result = run_gpaw(job, python)
    if "error" in result:
        return None, result["error"], time.time() - t0
    try:
        bs = band_structure_from_result(job, result)
    except BandprintError as exc:
        return None, f"unreadable GPAW result: {exc}", time.time() - t0
    data = gzip.compress(orjson.dumps(bs.to_dict(), option=orjson.OPT_SERIALIZE_NUMPY), 9)
    return data, None, time.time() - t0


def compute_band_structures(
    jobs: Iterable[ComputeJob],
    out: str | Path,
    workers: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    on_result: Callable[[str, str | None], None] | None = None,
    python: str | None = None,
    engine: str = "local",
    address: str | None = None,
) -> ComputeSummary:
    """Compute every job not already done in ``out``; see the module docstring.

    ``jobs`` may be a lazy iterable (structures relaxed on demand); it is consumed only as
    fast as workers free up. ``on_result(material_id, error_or_None)`` is called after each
    material, e.g. to commit results as they come. ``workers``: materials computed at once
    (default: 1; with Ray, the cluster's CPUs).

    ``engine="ray"`` computes each material in a Ray task of one CPU (``bandprint.distributed``)
    on the cluster at ``address``, else on a new local one: GPAW runs on that node (its own
    ``gpaw_python`` unless ``python`` is given), and this process writes the files, so ``out``
    need not be shared. What is skipped, written and listed as failed is the same either way.
    """
    from tqdm import tqdm

    if engine not in ("local", "ray"):
        raise BandprintError(f"unknown engine {engine!r}: choose local or ray")
    if engine == "ray":
        from bandprint.distributed import import_ray

        import_ray(address)  # a missing Ray or cluster is a one-line error before any work
    else:
        python = python or gpaw_python()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    done, failed = done_ids(out), failed_ids(out)
    summary = ComputeSummary()
    bar = tqdm(desc="compute", unit="material", disable=not progress)

    def pending() -> Iterator[ComputeJob]:
        for job in jobs:
            if job.material_id in done or (job.material_id in failed and not retry_failed):
                summary.skipped.append(job.material_id)
                continue
            yield job

    def record(job: ComputeJob, data: bytes | None, error: str | None, seconds: float) -> None:
        """Store one finished material (called in this process only, one at a time)."""
        mid = job.material_id
        summary.cpu_seconds += seconds
        if error is not None:
            summary.failed[mid] = error
            _append_failure(out, mid, error)
        else:
            atomic_write_bytes(out / f"{mid}.json.gz", data)
            summary.done.append(mid)
        bar.update(1)
        bar.set_postfix(done=len(summary.done), failed=len(summary.failed))
        if on_result:
            on_result(mid, error)

    try:
        if engine == "ray":
            _compute_on_ray(pending(), record, workers, python, address)
        else:
            _compute_in_threads(pending(), record, workers or 1, python)
    finally:
        bar.close()
    return summary


#: ``record(job, data, error, seconds)`` of ``compute_band_structures``.
_Record = Callable[[ComputeJob, bytes | None, str | None, float], None]


def _compute_in_threads(
    jobs: Iterator[ComputeJob], record: _Record, workers: int, python: str | None
) -> None:
    # Threads suffice: each waits on its own GPAW process.
    running: dict[Future, ComputeJob] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            while len(running) < workers:
                job = next(jobs, None)
                if job is None:
                    break
                running[pool.submit(compute_job, job, python)] = job
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                record(running.pop(fut), *fut.result())


def _compute_on_ray(
    jobs: Iterator[ComputeJob],
    record: _Record,
    workers: int | None,
    python: str | None,
    address: str | None,
) -> None:
    from bandprint.distributed import cluster_cpus, ray_session, run_chunk_tasks

    with ray_session(address) as ray:
        # One job in flight per worker: a GPAW run takes minutes, so a queue of tasks would only
        # pull lazy jobs (relaxations) forward.
        run_chunk_tasks(
            partial(compute_job, python=python),
            jobs,
            workers or cluster_cpus(ray),
            on_result=lambda job, result: record(job, *result),
            on_failure=lambda job, reason: record(job, None, reason, 0.0),
            ahead=1,
        )


def settings_twin(s: GPAWSettings) -> GPAWSettings:
    """The same material as another database might hold it: single-zeta basis, a coarser
    k-mesh and wider smearing."""
    return replace(s, basis="szp(dzp)", kspacing=s.kspacing * 1.5, smearing=0.1)


def strained(atoms: Atoms, strain: float) -> Atoms:
    """The slab with both in-plane lattice vectors stretched by ``strain`` (0.015 = 1.5 %)."""
    out = atoms.copy()
    cell = out.cell.array.copy()
    cell[:2] *= 1 + strain
    out.set_cell(cell, scale_atoms=True)
    return out


def which_gpaw() -> str | None:
    """The GPAW Python's path, or None when GPAW is not installed (for tests and ``--help``)."""
    try:
        return gpaw_python()
    except BandprintError:
        return None


__all__ = [
    "ComputeJob",
    "ComputeSummary",
    "GPAWSettings",
    "band_structure_from_result",
    "compute_band_structures",
    "compute_job",
    "done_ids",
    "failed_ids",
    "gpaw_python",
    "run_gpaw",
    "settings_twin",
    "strained",
    "which_gpaw",
]
