"""``similar`` at a million fingerprints: query latency and recall@10 against exact search.

    python bench/bench_search.py [--n 1000000] [--queries 200] [--nprobe 16,32,64,128]

Data: ``bench_cluster.synthetic_fingerprints(n + queries)`` (98 values, 50 clusters + 30 %
background); the last ``queries`` rows are held out as new materials to look up. Distance:
the ℓp metric, p = 0.2. Latency: one query at a time (as ``bandprint similar`` does), median
over the queries, after a warm-up; both cores available to the kernels. Recall@10: the share of
the exact 10 nearest (brute force, true metric) that the index returns.

Indexes:

* ``exact``: brute force over all n with the true metric (bandprint's kernel);
* ``ivf``: bandprint's k-means inverted lists, probed cells scanned with the true metric;
* baseline: faiss ``IndexIVFFlat`` (L2) proposing C candidates, re-ranked with the true metric
  (what "faiss for candidates, exact re-ranking" gives).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np

from bench_cluster import synthetic_fingerprints


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def recall(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.array([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])


def latencies(search, Q: np.ndarray) -> tuple[float, np.ndarray]:
    search(Q[:1])
    times, out = [], []
    for q in Q:
        t0 = time.perf_counter()
        idx, _ = search(q[None])
        times.append(time.perf_counter() - t0)
        out.append(idx[0])
    return statistics.median(times), np.array(out)


def main() -> None:
    import faiss

    from bandprint.analyse.search import (
        SimilarityIndex,
        default_nlist,
        exact_knn,
        rerank,
    )

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--nprobe", default="16,32,64,128")
    ap.add_argument("--candidates", default="256,1024")
    args = ap.parse_args()
    k = 10
    t0 = time.perf_counter()
    X_all, y_all = synthetic_fingerprints(args.n + args.queries, seed=1)
    X, Q, yq = X_all[: args.n], X_all[args.n :], y_all[args.n :]
    ids = [str(i) for i in range(args.n)]
    print(f"{args.n:,} fingerprints generated in {time.perf_counter() - t0:.0f} s; "
          f"{args.queries} held-out queries ({(yq >= 0).mean():.0%} from clusters)")  # fmt: skip

    exact = SimilarityIndex.build(ids, X, kind="exact")
    t_exact, truth = latencies(lambda q: exact.search(q, k), Q)
    print("\n| index | build | query latency (median) | recall@10 | clustered / background "
          "queries |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    print(f"| exact brute force, p = 0.2 | – | {t_exact * 1e3:.1f} ms | 1.000 | – |")

    t0 = time.perf_counter()
    ivf = SimilarityIndex.build(ids, X, kind="ivf")
    ivf.search(Q[:1], k, exact=False)  # sorts the vectors by cell once
    t_build = time.perf_counter() - t0
    assert ivf.ivf is not None
    for nprobe in [int(v) for v in args.nprobe.split(",")]:
        ivf.nprobe = nprobe
        t, found = latencies(lambda q: ivf.search(q, k, exact=False), Q)
        r = recall(found, truth)
        print(
            f"| ivf, nlist {ivf.ivf.nlist}, nprobe {nprobe} | {t_build:.0f} s | {t * 1e3:.2f} ms "
            f"| {r.mean():.3f} | {r[yq >= 0].mean():.3f} / {r[yq < 0].mean():.3f} |"
        )

    t0 = time.perf_counter()
    nlist = default_nlist(args.n)
    quant = faiss.IndexFlatL2(X.shape[1])
    fidx = faiss.IndexIVFFlat(quant, X.shape[1], nlist)
    rng = np.random.default_rng(0)
    fidx.train(X[rng.choice(args.n, min(args.n, 64 * nlist), replace=False)])
    fidx.add(X)
    fidx.nprobe = 64
    t_fbuild = time.perf_counter() - t0
    for c in [int(v) for v in args.candidates.split(",")]:

        def search(q, c=c):
            _, cand = fidx.search(q, c)
            return rerank(X, q, cand, k)

        t, found = latencies(search, Q)
        r = recall(found, truth)
        print(
            f"| faiss IVFFlat L2 (nprobe 64) → {c} candidates → exact re-rank | {t_fbuild:.0f} s "
            f"| {t * 1e3:.2f} ms | {r.mean():.3f} | {r[yq >= 0].mean():.3f} / "
            f"{r[yq < 0].mean():.3f} |"
        )
    print(f"\npeak RSS {peak_mb():.0f} MB")

    # The same on real fingerprints: the zoo set of bench_cluster_quality.py, if cached.
    cache = Path(__file__).parent / "out" / "cluster_quality_fp.npz"
    if cache.is_file():
        Z = np.load(cache)["X"].astype(np.float32)
        rng = np.random.default_rng(2)
        rows = rng.choice(len(Z), 200, replace=False)
        zi = [str(i) for i in range(len(Z))]
        ref, _ = exact_knn(Z, k + 1, queries=Z[rows])
        for nprobe in (4, 8, 16):
            zivf = SimilarityIndex.build(zi, Z, kind="ivf", nprobe=nprobe)
            got, _ = zivf.search(Z[rows], k, exclude=rows, exact=False)
            r = recall(got, np.array([[j for j in t if j != q][:k] for t, q in
                                      zip(ref, rows, strict=True)]))  # fmt: skip
            print(f"zoo fingerprints (n={len(Z)}), ivf nlist {zivf.ivf.nlist} nprobe {nprobe}: "
                  f"recall@10 {r.mean():.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
