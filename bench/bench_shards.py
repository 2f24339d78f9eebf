"""Similar and duplicates over shards on disk: time and peak memory against one in-memory index.

    python bench/bench_shards.py [--n 1000000] [--shard-size 100000] [--planted 200]
                                 [--nprobe 16] [--runs 3] [--skip-duplicates]
    python bench/bench_shards.py --cluster 200000 [--shard-size 100000]

Data: ``bench_cluster.synthetic_fingerprints(n)`` (98 values, 50 clusters + 30 % background)
plus ``--planted`` near-copies (``bench_duplicates.planted_copies``), written as ``.npy`` shards
of ``--shard-size`` rows (``bandprint.analyse.shards.NpyShard``) in a temporary folder.

Each measurement runs in a fresh process (so its peak RSS is its own, not the generator's):

* ``similar``, sharded: 8 queries, exact, shards memory-mapped one at a time
  (``ShardedIndex(kind="exact")``); median wall of ``--runs`` searches after one warm-up;
* ``similar``, one index: every fingerprint loaded, ``SimilarityIndex`` exact (the single-
  machine path), same queries; the two answers are checked identical;
* ``duplicates``, sharded: ``find_duplicates_sharded`` (Euclidean, inverted lists per shard
  trained once and kept beside the shard, ``--nprobe`` cells per query, threshold calibrated on
  the exact NN distances of 2,000 materials): wall, CPU, peak RSS, planted pairs found among
  those whose exact distance is below the threshold (the others are not duplicates by the
  rule, whatever the index).

``--cluster N``: HDBSCAN (min cluster size 5, min samples 2, p = 0.2) of N synthetic
fingerprints (no planted copies) two ways, each in its own process: the single-machine ``knn``
strategy (one set of inverted lists over everything), and the scale-out plan: the k-NN graph
built shard by shard (``ShardedIndex.knn_graph``: inverted lists per shard with the same
share of cells probed, the same sparsest points re-searched exhaustively; the part a cluster
would run in parallel), then MST, condensed tree and labels on one machine from that graph.
Reported: time of each part, peak RSS, ARI against the planted clusters and between the two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_cluster import peak_mb


def shards_in(folder: Path) -> list:
    from bandprint.analyse.shards import NpyShard

    return [NpyShard(str(p.with_suffix(""))) for p in sorted(folder.glob("s*.npy"))]


def queries(folder: Path) -> np.ndarray:
    return np.load(folder / "queries.npy")


def phase_similar_sharded(folder: Path, runs: int) -> dict:
    from bandprint.analyse.shards import ShardedIndex

    index = ShardedIndex(shards_in(folder), p=0.2, kind="exact")
    Q = queries(folder)
    index.search(Q[:1], 10)  # compile the kernels
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        names, _ = index.search(Q, 10)
        times.append(time.perf_counter() - t0)
    return {"wall": statistics.median(times), "peak_mb": peak_mb(), "ids": names.tolist()}


def phase_similar_one(folder: Path, runs: int) -> dict:
    from bandprint.analyse.search import SimilarityIndex

    t0 = time.perf_counter()
    ids, parts = [], []
    for shard in shards_in(folder):
        i, v = shard()
        ids += i
        parts.append(np.asarray(v))
    index = SimilarityIndex.build(ids, np.concatenate(parts), p=0.2, kind="exact")
    del parts
    load = time.perf_counter() - t0
    Q = queries(folder)
    index.search(Q[:1], 10)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        rows, _ = index.search(Q, 10, exact=True)
        times.append(time.perf_counter() - t0)
    names = np.asarray(ids, dtype=object)[rows].tolist()
    return {"wall": statistics.median(times), "load": load, "peak_mb": peak_mb(), "ids": names}


def phase_duplicates(folder: Path, nprobe: int) -> dict:
    from bandprint.analyse.shards import find_duplicates_sharded

    planted = json.loads((folder / "planted.json").read_text())
    truth = {(a, b) for a, b, _ in planted}
    shards = shards_in(folder)
    t0, c0 = time.perf_counter(), time.process_time()
    result = find_duplicates_sharded(
        shards,
        kind="ivf",
        nprobe=nprobe,
        progress=lambda d, t: print(
            f"  query shard {d}/{t} {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True
        ),
    )
    t = result.table
    found = {tuple(sorted(p)) for p in zip(t.material_id_1, t.material_id_2, strict=True)}
    return {
        "wall": time.perf_counter() - t0,
        "cpu": time.process_time() - c0,
        "peak_mb": peak_mb(),
        "pairs": len(found),
        "planted_found": len(found & truth),
        "planted": len(truth),
        "planted_below": sum(d <= result.threshold for _, _, d in planted),
        "threshold": result.threshold,
        "rule": result.rule,
    }


def phase_cluster(folder: Path, how: str) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from bandprint.analyse.cluster import cluster_fingerprints
    from bandprint.analyse.cluster.mst import KNN_GRAPH_K, refine_fraction
    from bandprint.analyse.lp import default_nlist, default_nprobe
    from bandprint.analyse.shards import ShardedIndex

    truth = np.load(folder / "truth.npy")
    shards = shards_in(folder)
    X = np.concatenate([np.asarray(shard()[1]) for shard in shards])
    t0 = time.perf_counter()
    if how == "one":
        r = cluster_fingerprints(X, 5, 2, strategy="knn")
        t_graph = float("nan")
    else:
        size = int(np.asarray(shards[0]()[1]).shape[0])
        nprobe = default_nprobe(default_nlist(size))
        index = ShardedIndex(shards, p=0.2, kind="ivf", nprobe=nprobe)
        graph = index.knn_graph(KNN_GRAPH_K, refine=refine_fraction(len(X)))
        t_graph = time.perf_counter() - t0
        r = cluster_fingerprints(X, 5, 2, strategy="knn", knn=graph)
    total = time.perf_counter() - t0
    np.save(folder / f"labels-{how}.npy", r.labels)
    return {
        "graph_s": t_graph,
        "total_s": total,
        "peak_mb": peak_mb(),
        "n_clusters": r.n_clusters,
        "unclassified": r.n_unclassified / len(X),
        "ari_truth": adjusted_rand_score(truth, r.labels),
    }


def cluster_bench(args: argparse.Namespace) -> None:
    from sklearn.metrics import adjusted_rand_score

    from bandprint.analyse.shards import NpyShard
    from bench_cluster import synthetic_fingerprints

    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        folder = Path(tmp)
        X, truth = synthetic_fingerprints(args.cluster, seed=args.seed)
        np.save(folder / "truth.npy", truth)
        for s, a in enumerate(range(0, len(X), args.shard_size)):
            rows = range(a, min(a + args.shard_size, len(X)))
            NpyShard.write(folder / f"s{s:04d}", [str(r) for r in rows], X[a : a + len(rows)])
        del X
        print(f"{args.cluster:,} fingerprints in shards of {args.shard_size:,}")
        print("| HDBSCAN of N points | k-NN graph | total | peak RSS | clusters | unclassified "
              "| ARI vs planted |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for how, label in (("one", "one machine, knn strategy"), ("sharded", "graph by shards")):
            r = run_phase(f"cluster-{how}", folder, args)
            graph = "–" if how == "one" else f"{r['graph_s']:.0f} s"
            print(f"| {label} | {graph} | {r['total_s']:.0f} s | {r['peak_mb']:.0f} MB | "
                  f"{r['n_clusters']} | {100 * r['unclassified']:.1f} % | "
                  f"{r['ari_truth']:.3f} |")  # fmt: skip
        a, b = (np.load(folder / f"labels-{h}.npy") for h in ("one", "sharded"))
        print(f"ARI between the two: {adjusted_rand_score(a, b):.3f}")


def run_phase(name: str, folder: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--phase", name, "--folder", str(folder)]
    cmd += ["--runs", str(args.runs), "--nprobe", str(args.nprobe)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--shard-size", type=int, default=100_000)
    ap.add_argument("--planted", type=int, default=200)
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-duplicates", action="store_true")
    ap.add_argument("--cluster", type=int, default=0, help="HDBSCAN of N points (see doc)")
    ap.add_argument("--phase", default=None)
    ap.add_argument("--folder", type=Path, default=None)
    args = ap.parse_args()
    if args.phase:
        phases = {
            "similar-sharded": lambda: phase_similar_sharded(args.folder, args.runs),
            "similar-one": lambda: phase_similar_one(args.folder, args.runs),
            "duplicates": lambda: phase_duplicates(args.folder, args.nprobe),
            "cluster-one": lambda: phase_cluster(args.folder, "one"),
            "cluster-sharded": lambda: phase_cluster(args.folder, "sharded"),
        }
        print(json.dumps(phases[args.phase]()))
        return
    if args.cluster:
        cluster_bench(args)
        return

    from bandprint.analyse.shards import NpyShard
    from bench_cluster import synthetic_fingerprints
    from bench_duplicates import planted_copies

    with tempfile.TemporaryDirectory(prefix="bench-shards-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        X, _ = synthetic_fingerprints(args.n, seed=args.seed)
        copies, src = planted_copies(X, args.planted, seed=args.seed)
        X = np.concatenate([X, copies])
        ids = [f"m{i:08d}" for i in range(len(X))]
        # Shuffle, so a copy and its original usually sit in different shards.
        order = np.random.default_rng(args.seed).permutation(len(X))
        for s, a in enumerate(range(0, len(X), args.shard_size)):
            rows = order[a : a + args.shard_size]
            NpyShard.write(folder / f"s{s:04d}", [ids[r] for r in rows], X[rows])
        planted = [
            [
                *sorted((ids[int(s)], ids[args.n + t])),
                float(np.linalg.norm(X[int(s)] - X[args.n + t])),
            ]
            for t, s in enumerate(src)
        ]
        (folder / "planted.json").write_text(json.dumps(planted))
        rng = np.random.default_rng(args.seed + 1)
        np.save(folder / "queries.npy", X[rng.choice(len(X), 8, replace=False)] + 0.01)
        n_shards = -(-len(X) // args.shard_size)
        size_mb = X.nbytes / 2**20
        del X, copies
        print(f"{len(ids):,} fingerprints ({args.planted} planted copies) in {n_shards} shards "
              f"of {args.shard_size:,} ({size_mb:.0f} MB of float32) written in "
              f"{time.perf_counter() - t0:.0f} s")  # fmt: skip

        sharded = run_phase("similar-sharded", folder, args)
        one = run_phase("similar-one", folder, args)
        same = sharded["ids"] == one["ids"]
        print("| similar (8 queries, k = 10, exact, p = 0.2) | median wall | peak RSS |")
        print("| --- | --- | --- |")
        print(f"| sharded ({n_shards} shards, memory-mapped one at a time) | "
              f"{sharded['wall']:.2f} s | {sharded['peak_mb']:.0f} MB |")  # fmt: skip
        print(f"| one in-memory index (loading it: {one['load']:.1f} s) | "
              f"{one['wall']:.2f} s | {one['peak_mb']:.0f} MB |")  # fmt: skip
        print(f"answers identical: {same}")
        if not same:
            raise SystemExit("sharded and one-index answers differ")
        if args.skip_duplicates:
            return
        dup = run_phase("duplicates", folder, args)
        found = (
            f"{dup['planted_found']} of the {dup['planted_below']} closer than the threshold "
            f"(of {dup['planted']} planted)"
        )
        print(f"duplicates, sharded (inverted lists per shard, nprobe {args.nprobe}): "
              f"{dup['wall']:.0f} s wall, {dup['cpu']:.0f} s CPU, peak RSS "
              f"{dup['peak_mb']:.0f} MB; threshold {dup['threshold']:.4f} ({dup['rule']}); "
              f"pairs {dup['pairs']}, planted found {found}")  # fmt: skip


if __name__ == "__main__":
    main()
