"""Duplicates at scale: time, and the threshold from exact against approximate distances.

    python bench/bench_duplicates.py [--n 200000] [--planted 200]

Data: ``bench_cluster.synthetic_fingerprints(n)`` (98 values, 50 clusters + 30 % background)
plus ``--planted`` near-copies of distinct random rows (every value moved by up to ±eps, eps
log-uniform in 0.005…0.05). Distance: Euclidean, ``find_duplicates``' default. Above
``EXACT_INDEX_LIMIT`` the index is the inverted lists (candidate pairs approximate) and the
threshold is calibrated on the exact nearest-neighbour distances of ``CALIBRATION_SAMPLE``
materials; the bench also prints the threshold the same rule gives on the index's own
(approximate) nearest-neighbour distances, which is what the calibration used before, and for
each threshold the share of planted pairs whose exact distance lies below it.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from bench_cluster import synthetic_fingerprints


def planted_copies(X: np.ndarray, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``m`` near-copies of distinct random rows: (copies, the row each copies)."""
    rng = np.random.default_rng(seed)
    src = rng.choice(len(X), m, replace=False)
    eps = np.exp(rng.uniform(np.log(0.005), np.log(0.05), size=(m, 1)))
    copies = X[src] + rng.uniform(-1, 1, size=(m, X.shape[1])) * eps
    return copies.astype(np.float32), src


def main() -> None:
    from bandprint.analyse.duplicates import calibrate_threshold, find_duplicates
    from bandprint.analyse.search import SimilarityIndex, edge_distances

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--planted", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    # Compile the kernels on a small problem first: compile time is not what is measured.
    Xs, _ = synthetic_fingerprints(3000, 5, seed=99)
    small = SimilarityIndex.build([str(i) for i in range(3000)], Xs, p=2.0, kind="ivf")
    find_duplicates([str(i) for i in range(3000)], Xs, p=2.0, index=small)

    t0 = time.perf_counter()
    X, _ = synthetic_fingerprints(args.n, seed=args.seed)
    copies, src = planted_copies(X, args.planted, seed=args.seed)
    X = np.concatenate([X, copies])
    n = len(X)
    ids = [str(i) for i in range(n)]
    truth = {(int(s), args.n + t) for t, s in enumerate(src)}
    print(f"{n:,} fingerprints ({args.planted} planted copies) in {time.perf_counter() - t0:.0f} s")

    t0 = time.perf_counter()
    index = SimilarityIndex.build(ids, X, p=2.0)
    t_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    c0 = time.process_time()
    result = find_duplicates(ids, X, p=2.0, index=index)
    t_find = time.perf_counter() - t0
    cpu_find = time.process_time() - c0

    t = result.table
    found = {
        tuple(sorted((int(a), int(b))))
        for a, b in zip(t.material_id_1, t.material_id_2, strict=True)
    }
    hits = len(found & truth)
    pa = np.array([a for a, _ in sorted(truth)])
    pb = np.array([b for _, b in sorted(truth)])
    planted_d = edge_distances(X, pa, pb, p=2.0)
    approx_threshold = calibrate_threshold(result.nn_distance)
    cells = f", {len(index.ivf.centroids):,} cells" if index.ivf is not None else ""
    print(f"index: {index.kind}{cells} (build {t_build:.0f} s); "
          f"find_duplicates {t_find:.0f} s wall, {cpu_find:.0f} s CPU; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    print(f"rule: {result.rule}")
    print("| threshold from | threshold | × median NN | planted pairs below it |")
    print("| --- | --- | --- | --- |")
    med = result.median_nn_distance
    for name, thr in (
        ("exact NN distances (find_duplicates)", result.threshold),
        ("the index's NN distances (the old calibration)", approx_threshold),
    ):
        print(f"| {name} | {thr:.4f} | {thr / med:.3f} | "
              f"{int((planted_d <= thr).sum())}/{len(planted_d)} |")  # fmt: skip
    precision = hits / len(found) if found else float("nan")
    print(f"pairs reported {len(found)}, planted found {hits}/{len(truth)} "
          f"(recall {hits / len(truth):.3f}, precision {precision:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
