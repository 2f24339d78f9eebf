"""Zoo benchmark: tight-binding samples generated, and generated + written in the 2DMatPedia layout.

    python bench/bench_zoo.py [--n 5000] [--runs 3] [--seed 0] [--baseline 200]

Times (median of ``--runs``, one process, single-threaded numpy work):

* generation only: ``sample_zoo(n, with_structure=False)`` (parameters, bands on the path and
  the filling mesh, Fermi level, ground truth);
* generation + writing: ``write_zoo(out, n)`` (db.json, bands/<id>.json, ground_truth.csv and
  .parquet), into a fresh folder each run;
* baseline: the same band energies for ``--baseline`` samples with ``H(k)`` built and
  diagonalised one k-point at a time (what the vectorised Hamiltonian replaces).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bandprint.zoo import FAMILIES, FAMILY_SPECS, make_lattice, sample_zoo, write_zoo


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _timed_both(fn) -> tuple[float, float]:
    """Wall-clock and CPU seconds of this process (CPU time is what the machine's other work
    cannot inflate)."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def _report(what: str, n: int, runs: list[tuple[float, float]]) -> float:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    print(
        f"{what} {n}: median wall {wall:.1f} s of {[round(w, 1) for w, _ in runs]} "
        f"→ {n / wall:.0f} samples/s; median CPU {cpu:.1f} s → {n / cpu:.0f} samples/s"
    )
    return wall


def _baseline_seconds_per_sample(n: int, seed: int) -> tuple[float, float]:
    """Per-k loop vs one stacked call, same lattices and k-points: seconds per sample."""
    rng = np.random.default_rng(seed)
    lattices = []
    for i in range(n):
        family = FAMILIES[i % len(FAMILIES)]
        params, _ = FAMILY_SPECS[family].sample(rng)
        lat = make_lattice(family, **params)
        lattices.append((lat, np.concatenate([lat.kpath()[0][:, :2], lat.mesh()])))

    def per_k() -> None:
        for lat, k in lattices:
            np.stack([np.linalg.eigvalsh(lat.hamiltonian(kk[None]))[0] for kk in k])

    def stacked() -> None:
        for lat, k in lattices:
            lat.eigenvalues(k)

    return _timed(per_k) / n, _timed(stacked) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", type=int, default=200, help="samples for the per-k baseline")
    args = ap.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    sample_zoo(len(FAMILIES), seed=args.seed)  # imports and first-call set-up, not timed

    gen = [
        _timed_both(lambda: sample_zoo(args.n, seed=args.seed, with_structure=False))
        for _ in range(args.runs)
    ]
    _report("generate", args.n, gen)

    tmp = Path(tempfile.mkdtemp(prefix="bench-zoo-"))
    try:
        full = []
        for r in range(args.runs):
            out = tmp / f"run{r}"
            full.append(_timed_both(lambda out=out: write_zoo(out, args.n, seed=args.seed)))
        _report("generate + write", args.n, full)
        size = sum(f.stat().st_size for f in (tmp / "run0").rglob("*") if f.is_file())
        print(f"written: {size / 1e6:.0f} MB for {args.n} samples")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if args.baseline:
        loop, stacked = _baseline_seconds_per_sample(args.baseline, args.seed)
        print(
            f"eigenvalues per sample (path + mesh): per-k loop {1e3 * loop:.2f} ms, "
            f"stacked {1e3 * stacked:.2f} ms → {loop / stacked:.1f}× faster"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
