"""Cluster + map at scale: time, peak memory, and how the scalable strategy compares.

    python bench/bench_cluster.py [--n 100000] [--runs 1] [--compare 20000] [--exact N]

Data: synthetic 98-value fingerprints with cluster structure (``synthetic_fingerprints``):
50 Gaussian clusters of Zipf-like sizes, per-cluster and per-feature spreads 0.07-0.7 around
unit-normal centres, and 30 % background points (normal, scale 1.3), like fingerprints that
HDBSCAN leaves largely unclassified.

Each measurement runs in a fresh process (``--one``) so the peak resident memory
(``VmHWM``, ``peak_mb``) is its own; it includes ~0.5 GB of imported libraries (numba, torch-free).

* ``--n``: ``cluster_fingerprints`` with ``strategy="auto"`` (past 20,000 points the k-NN graph,
  ``knn_graph``: inverted lists + the sparsest 30 % searched exhaustively) then
  ``embed_fingerprints`` (UMAP, n_neighbors 10, on the same graph) and ``map_groups``.
* ``--compare``: at this n, the exact ``matrix`` strategy against the ``knn`` one (ARI between
  them and against the planted clusters).
* ``--exact N``: also the exact streaming strategy (Prim's with distances on the fly) at N
  points, and its agreement with ``knn`` (slow: O(N²·98) distance terms).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def synthetic_fingerprints(
    n: int, n_clusters: int = 50, dim: int = 98, noise_fraction: float = 0.3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(X [n, dim] float32, planted cluster of each row, -1 = background)``."""
    rng = np.random.default_rng(seed)
    n_noise = round(n * noise_fraction)
    w = 1.0 / np.arange(1, n_clusters + 1) ** 0.7
    sizes = rng.multinomial(n - n_noise, w / w.sum())
    centres = rng.normal(size=(n_clusters, dim))
    parts, labels = [], []
    for c, size in enumerate(sizes):
        scale = rng.uniform(0.15, 0.45) * rng.uniform(0.5, 1.5, size=dim)
        parts.append(centres[c] + rng.normal(size=(size, dim)) * scale)
        labels.append(np.full(size, c))
    parts.append(1.3 * rng.normal(size=(n_noise, dim)))
    labels.append(np.full(n_noise, -1))
    X = np.concatenate(parts).astype(np.float32)
    y = np.concatenate(labels)
    perm = rng.permutation(n)
    return X[perm], y[perm]


def peak_mb() -> float:
    """This process's peak resident memory in MB (``VmHWM``). Not ``ru_maxrss``: Linux carries
    that over fork and exec, so a measuring child started by a bigger parent would report the
    parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(n: int, strategy: str, with_map: bool, seed: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from bandprint.analyse.cluster import (
        KNN_GRAPH_K,
        choose_strategy,
        cluster_fingerprints,
        knn_graph,
    )
    from bandprint.analyse.embed import embed_fingerprints, map_groups
    from bandprint.analyse.search import pairwise_distances

    # Compile the kernels on a small problem first: compile time is not what is measured.
    Xs, _ = synthetic_fingerprints(600, 5, seed=99)
    cluster_fingerprints(Xs, strategy=strategy if strategy != "auto" else "matrix")
    if with_map:
        embed_fingerprints(Xs)
    X, y = synthetic_fingerprints(n, seed=seed)
    base = peak_mb()
    out: dict = {"n": n, "strategy": choose_strategy(n, strategy)}  # type: ignore[arg-type]
    t0 = time.perf_counter()
    knn = D = None
    if out["strategy"] == "knn":
        knn = knn_graph(X, KNN_GRAPH_K)
    elif out["strategy"] == "matrix":
        D = pairwise_distances(X)
    t_graph = time.perf_counter() - t0
    r = cluster_fingerprints(X, strategy=out["strategy"], knn=knn, distances=D)
    t_cluster = time.perf_counter() - t0
    del D
    if with_map:
        xy = embed_fingerprints(X, knn=knn)
        groups, _ = map_groups(xy, r.labels)
        out["n_groups"] = int(groups.max() + 1)
    t_total = time.perf_counter() - t0
    out.update(
        graph_s=t_graph,
        cluster_s=t_cluster,
        total_s=t_total,
        peak_mb=peak_mb(),
        peak_before_mb=base,
        n_clusters=r.n_clusters,
        unclassified=r.n_unclassified / n,
        ari_truth=adjusted_rand_score(y, r.labels),
        labels=r.labels.tolist(),
    )
    return out


def run(n: int, strategy: str, with_map: bool, seed: int = 0) -> dict:
    cmd = [sys.executable, __file__, "--one", str(n), strategy, str(int(with_map)), str(seed)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    from sklearn.metrics import adjusted_rand_score

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--compare", type=int, default=20_000)
    ap.add_argument("--exact", type=int, default=0)
    ap.add_argument("--one", nargs=4, default=None)
    args = ap.parse_args()
    if args.one:
        n, strategy, with_map, seed = args.one
        out = one(int(n), strategy, bool(int(with_map)), int(seed))
        print(json.dumps(out))
        return

    def row(label: str, rs: list[dict]) -> dict:
        t = statistics.median(r["total_s"] for r in rs)
        c = statistics.median(r["cluster_s"] for r in rs)
        r0 = rs[0]
        each = ", ".join(f"{r['total_s']:.0f}" for r in rs)
        print(
            f"| {label} | {r0['strategy']} | {c:.0f} s | {t:.0f} s "
            f"({each}) | {r0['peak_mb']:.0f} MB "
            f"| {r0['n_clusters']} | {r0['unclassified']:.1%} | {r0['ari_truth']:.3f} |"
        )
        return r0

    print("| run | strategy | cluster | cluster + map (runs) | peak RSS | clusters "
          "| unclassified | ARI vs planted |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    big = row(f"{args.n:,} points", [run(args.n, "auto", True) for _ in range(args.runs)])
    if args.compare:
        m = row(f"{args.compare:,}, exact matrix", [run(args.compare, "matrix", False)])
        k = row(f"{args.compare:,}, k-NN graph", [run(args.compare, "knn", False)])
        print(f"\nARI(matrix, knn) at {args.compare:,}: "
              f"{adjusted_rand_score(m['labels'], k['labels']):.3f}")  # fmt: skip
    if args.exact:
        e = row(f"{args.exact:,}, exact streaming", [run(args.exact, "exact", False)])
        other = big if args.exact == args.n else run(args.exact, "knn", False)
        print(f"\nARI(exact, knn) at {args.exact:,}: "
              f"{adjusted_rand_score(e['labels'], other['labels']):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
