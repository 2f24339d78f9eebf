"""Build (or resume) the GPAW corpus of 2-D materials in ``corpus/gpaw-2d/``.

    python scripts/build_corpus.py [--workers 2] [--limit N] [--commit-every 0]

For every prototype candidate (:mod:`bandprint.compute.prototypes`, round-robin over
prototypes) the start geometry is relaxed with CHGNet (in-plane lattice and positions),
written to ``structures.jsonl`` (the prototype table, reusable with ``bandprint compute``)
and its PBE band structure computed with GPAW (LCAO dzp) into ``bands/<id>.json.gz``.
Among the first 330 materials, every third also gets a settings twin (``<id>--settings``:
single-zeta basis ``szp(dzp)``, 1.5× coarser k-mesh, 0.1 eV smearing) and every third a
strain twin (``<id>--strain1`` / ``--strain2``: in-plane lattice stretched by 1 % or 2 %,
positions scaled). Rerunning skips what is done; failures are listed in
``bands/failures.csv`` and not retried unless ``--retry-failed``. ``--cheapest-first``
orders candidates by the median GPAW wall time of their prototype in the files already
computed, so a session's compute time buys the most materials; structures are relaxed one
job ahead of the workers in a background thread so no worker waits on CHGNet.
"""

from __future__ import annotations

import argparse
import gzip
import queue
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
from ase import Atoms

from bandprint.compute.batch import (
    ComputeJob,
    GPAWSettings,
    compute_band_structures,
    settings_twin,
    strained,
)
from bandprint.compute.prototypes import candidates

ROOT = Path(__file__).resolve().parents[1] / "corpus" / "gpaw-2d"
TWIN_RANGE = 330


def load_table(path: Path) -> dict[str, dict]:
    rows = {}
    if path.exists():
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                rows[row["material_id"]] = row
    return rows


def atoms_of(row: dict) -> Atoms:
    return Atoms(row["symbols"], positions=row["positions"], cell=row["cell"], pbc=row["pbc"])


def prototype_cost(out: Path) -> dict[str, float]:
    """Median GPAW wall time (s) per prototype over the band structures already in ``out``."""
    times: dict[str, list[float]] = {}
    for path in out.glob("*.json.gz"):
        meta = orjson.loads(gzip.decompress(path.read_bytes()))["metadata"]
        times.setdefault(meta["prototype"], []).append(meta.get("wall_time_s") or 0.0)
    return {proto: statistics.median(ts) for proto, ts in times.items()}


def prefetched(items: Iterator[ComputeJob], depth: int = 2) -> Iterator[ComputeJob]:
    """``items`` produced ``depth`` ahead in a background thread (CHGNet relaxation runs
    while the GPAW workers compute)."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    end = object()

    def fill() -> None:
        try:
            for item in items:
                buffer.put(item)
        finally:
            buffer.put(end)

    threading.Thread(target=fill, daemon=True).start()
    while (item := buffer.get()) is not end:
        yield item


def jobs(
    limit: int | None,
    out: Path,
    only: set[str] | None = None,
    cheapest_first: bool = False,
) -> Iterator[ComputeJob]:
    import torch

    from bandprint.compute.relax import relax_slab, sane

    torch.set_num_threads(1)
    table_path = ROOT / "structures.jsonl"
    table = load_table(table_path)
    base_settings = GPAWSettings()
    order = list(enumerate(candidates()[:limit]))
    if cheapest_first:
        cost = prototype_cost(out)
        order.sort(key=lambda ic: (cost.get(ic[1].prototype, float("inf")), ic[0]))
    for i, cand in order:
        mid = cand.material_id
        if only is not None and mid not in only:
            continue
        row = table.get(mid)
        if row is None:
            t0 = time.time()
            relaxed = relax_slab(cand.atoms)
            problem = sane(relaxed.atoms) or (
                None if relaxed.converged else "CHGNet relaxation did not converge"
            )
            row = {
                "material_id": mid,
                "symbols": relaxed.atoms.get_chemical_symbols(),
                "positions": relaxed.atoms.positions.round(6).tolist(),
                "cell": relaxed.atoms.cell.array.round(6).tolist(),
                "pbc": [True, True, False],
                "metadata": {
                    "prototype": cand.prototype,
                    "elements": list(cand.elements),
                    "relaxation": "CHGNet 0.3.0, in-plane cell + positions, fmax 0.05 eV/Å",
                    "chgnet_energy_per_atom": round(relaxed.energy_per_atom, 5),
                    "relax_seconds": round(time.time() - t0, 1),
                    "relax_problem": problem,
                },
            }
            with open(table_path, "ab") as fh:
                fh.write(orjson.dumps(row) + b"\n")
            table[mid] = row
        if row["metadata"].get("relax_problem"):
            reason = "relaxation: " + row["metadata"]["relax_problem"]
            yield ComputeJob(mid, atoms_of(row), base_settings, error=reason)
            continue
        atoms, meta = atoms_of(row), dict(row["metadata"])
        meta.pop("relax_problem", None)
        yield ComputeJob(mid, atoms, base_settings, {**meta, "database": "bandprint GPAW corpus"})
        if i < TWIN_RANGE and i % 3 == 1:
            yield ComputeJob(
                f"{mid}--settings",
                atoms,
                settings_twin(base_settings),
                {
                    **meta,
                    "database": "bandprint GPAW corpus",
                    "twin_of": mid,
                    "twin_kind": "settings",
                },
            )
        if i < TWIN_RANGE and i % 3 == 2:
            pct = 1 if (i // 3) % 2 == 0 else 2
            yield ComputeJob(
                f"{mid}--strain{pct}",
                strained(atoms, pct / 100),
                base_settings,
                {
                    **meta,
                    "database": "bandprint GPAW corpus",
                    "twin_of": mid,
                    "twin_kind": "strain",
                    "strain_percent": pct,
                },
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None, help="first N prototype candidates")
    ap.add_argument("--retry-failed", action="store_true")
    ap.add_argument(
        "--only",
        default=None,
        help="comma-separated material ids to compute now (with their twins)",
    )
    ap.add_argument(
        "--cheapest-first",
        action="store_true",
        help="candidates of the prototypes cheapest to compute so far first",
    )
    ap.add_argument(
        "--commit-every",
        type=int,
        default=0,
        help="git-commit the corpus after every N new materials (0: never)",
    )
    args = ap.parse_args()
    out = ROOT / "bands"
    out.mkdir(parents=True, exist_ok=True)
    new = 0

    def on_result(mid: str, error: str | None) -> None:
        nonlocal new
        new += 1
        if args.commit_every and new % args.commit_every == 0:
            commit()

    summary = compute_band_structures(
        prefetched(
            jobs(
                args.limit,
                out,
                set(args.only.split(",")) if args.only else None,
                cheapest_first=args.cheapest_first,
            )
        ),
        out,
        workers=args.workers,
        retry_failed=args.retry_failed,
        on_result=on_result,
    )
    print(
        f"done {len(summary.done)}, skipped {len(summary.skipped)}, "
        f"failed {len(summary.failed)}, {summary.cpu_seconds / 3600:.2f} CPU-hours"
    )
    if args.commit_every:
        commit()


def commit() -> None:
    paths = [str(ROOT / "structures.jsonl"), str(ROOT / "bands")]
    subprocess.run(["git", "add", *paths], check=False)
    subprocess.run(
        ["git", "commit", "-q", "-m", "corpus: more GPAW band structures", "--", *paths],
        check=False,
    )


if __name__ == "__main__":
    sys.exit(main())
