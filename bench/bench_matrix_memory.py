"""Peak memory of the matrix strategy: the selections over an n×n distance matrix.

    python bench/bench_matrix_memory.py [--n 20000] [--steps 0,1,2,3,4,5]

Each row runs in a fresh process: ``bench_cluster.synthetic_fingerprints(n)``, the full float32
p = 0.2 matrix (``pairwise_distances``), then one step. Peak RSS is the process's ``VmHWM``
(``bench_cluster.peak_mb``); "over the matrix" is that peak minus the resident size just after
the matrix was built (what the step itself adds). Steps: ``knn_from_matrix`` (k = 16, the
clustering's graph), ``core_distances_from_matrix`` (min samples 2), both as
``cluster_workspace`` runs them before the map (knn graph, then HDBSCAN on the same matrix), and
as baselines the whole-matrix selections these replaced (an ``argpartition`` / ``partition`` of
all rows at once).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench_cluster import peak_mb, synthetic_fingerprints

STEPS = ("matrix only", "knn_from_matrix", "core_distances_from_matrix", "cluster (matrix)",
         "baseline: whole-matrix argpartition", "baseline: whole-matrix partition")  # fmt: skip


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def whole_matrix_knn(D: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The selection ``knn_from_matrix`` made before row blocks (the baseline)."""
    idx = np.argpartition(D, k - 1, axis=1)[:, :k]
    dist = np.take_along_axis(D, idx, 1)
    key = np.where(idx == np.arange(D.shape[0])[:, None], -1.0, dist)
    order = np.argsort(key, axis=1, kind="stable")
    return np.take_along_axis(idx, order, 1), np.take_along_axis(dist, order, 1)


def one(n: int, step: str) -> dict:
    from bandprint.analyse.cluster import cluster_fingerprints, core_distances_from_matrix
    from bandprint.analyse.embed import knn_from_matrix
    from bandprint.analyse.search import pairwise_distances

    X, _ = synthetic_fingerprints(n, seed=1)
    pairwise_distances(X[:50])  # compile (or load) the kernel before timing
    D = pairwise_distances(X)
    after_matrix = rss_mb()
    t0 = time.perf_counter()
    if step == "knn_from_matrix":
        knn_from_matrix(D, 16)
    elif step == "core_distances_from_matrix":
        core_distances_from_matrix(D, 2)
    elif step == "cluster (matrix)":
        knn_from_matrix(D, 16)
        cluster_fingerprints(X, 5, 2, strategy="matrix", distances=D)
    elif step.startswith("baseline: whole-matrix argpartition"):
        whole_matrix_knn(D, 16)
    elif step.startswith("baseline: whole-matrix partition"):
        np.ascontiguousarray(np.partition(D, 2, axis=1)[:, 2])
    seconds = time.perf_counter() - t0
    peak = peak_mb()
    return {"peak": peak, "after_matrix": after_matrix, "seconds": seconds}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--steps", default=",".join(map(str, range(len(STEPS)))), help="rows to run")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.n, args.one)))
        return
    print(f"n = {args.n:,}: the float32 matrix is {args.n**2 * 4 / 1e6:,.0f} MB\n")
    print(
        "| step (fresh process) | peak RSS | RSS after the matrix | over the matrix | step time |"
    )
    print("| --- | --- | --- | --- | --- |")
    for step in [STEPS[int(i)] for i in args.steps.split(",")]:
        out = subprocess.run(
            [sys.executable, __file__, "--n", str(args.n), "--one", step],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        over = r["peak"] - r["after_matrix"]
        print(f"| {step} | {r['peak']:,.0f} MB | {r['after_matrix']:,.0f} MB | {over:,.0f} MB | "
              f"{r['seconds']:.1f} s |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
