"""``bandprint similar WS ID`` end to end at a million stored fingerprints.

    python bench/bench_similar_command.py [--n 1000000] [--runs 5] [--workspace DIR]

``bench_search.py`` times the search alone, on vectors already in memory. A user's query also
reads every fingerprint from the workspace's Parquet shards and hashes them (to find a saved
index built on exactly those). This benchmark stores ``n`` synthetic 98-value fingerprints
(``bench_cluster.synthetic_fingerprints``) in a workspace and times, median of ``--runs``:

* ``read_fingerprints`` alone;
* ``similar_materials(ws, id, k=10)``, the Python call (read, digest, exact p = 0.2 search);
* the ``bandprint similar WS ID -k 10`` command in a fresh process (imports included).

The workspace is kept (default ``bench/out/similar-1m``) so reruns skip the write.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_cluster import synthetic_fingerprints

MODEL = "synthetic-98"


def timed(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def main() -> None:
    from bandprint.store import Workspace
    from bandprint.workflows.search import similar_materials

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workspace", type=Path, default=None)
    args = ap.parse_args()
    path = args.workspace or Path(__file__).parent / "out" / f"similar-{args.n}"
    ws = Workspace(path, create=True)
    if MODEL not in ws.fingerprint_models():
        X, _ = synthetic_fingerprints(args.n, seed=1)
        ids = [f"m-{i:07d}" for i in range(args.n)]
        t0 = time.perf_counter()
        ws.write_fingerprints(MODEL, ids, X)
        print(f"wrote {args.n:,} fingerprints in {time.perf_counter() - t0:.1f} s")
        del X
    query = "m-0000123"
    print(f"{args.n:,} fingerprints in {path}; {args.runs} runs each, median (all runs)")

    def fmt(t: float, ts: list[float]) -> str:
        return f"{t * 1e3:,.0f} ms ({', '.join(f'{v * 1e3:,.0f}' for v in ts)})"

    t, ts = timed(lambda: ws.read_fingerprints(MODEL), args.runs)
    print(f"| read_fingerprints | {fmt(t, ts)} |")
    similar_materials(ws, query, k=10)  # warm-up: numba kernels compiled
    t, ts = timed(lambda: similar_materials(ws, query, k=10), args.runs)
    print(f"| similar_materials(ws, id, k=10) | {fmt(t, ts)} |")
    cmd = [sys.executable, "-m", "bandprint", "similar", str(path), query, "-k", "10"]
    t, ts = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), args.runs)
    print(f"| `bandprint similar WS ID -k 10` (new process) | {fmt(t, ts)} |")
    t, ts = timed(
        lambda: subprocess.run(
            [sys.executable, "-m", "bandprint", "--help"], check=True, capture_output=True
        ),
        args.runs,
    )
    print(f"| `bandprint --help` (start-up alone) | {fmt(t, ts)} |")


if __name__ == "__main__":
    main()
