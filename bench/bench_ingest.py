"""Ingest benchmark: synthetic 2DMatPedia-style files into a fresh workspace, end to end.

    python bench/bench_ingest.py [--n 5000] [--runs 3] [--workers N] [--baseline 300]

Writes N materials in the 2DMatPedia layout (db.json with structures + bands/<id>.json of about
30 bands x 150 k-points, 10 % spin-polarised, i.e. real 2DMatPedia sizes), then times:

* ``ingest`` into a fresh workspace (median of ``--runs``), with all workers and with one;
* the rerun where every file is unchanged;
* the ``bandprint ingest`` command (median of ``--runs``, process start-up included);
* the store's size on disk (band shards) against the JSON's;
* reading back: catalog, ``get`` latency, iteration throughput;
* the baseline: ``json`` load + pymatgen ``BandStructureSymmLine.from_dict`` on a subset, one
  process (what reading these files through pymatgen costs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bandprint.ingest import ingest  # noqa: E402
from bandprint.store import Workspace  # noqa: E402
from synthetic_2dmatpedia import write_2dmatpedia  # noqa: E402


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (ingest workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--baseline", type=int, default=300, help="files read through pymatgen")
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the data in this folder")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    data = args.keep or tmp / "db"
    try:
        if not (data / "db.json").is_file():
            t = _timed(lambda: write_2dmatpedia(data, args.n, seed=0))
            print(f"generated {args.n} materials in {t:.1f} s")
        files = sorted((data / "bands").iterdir())
        n = len(files)
        size = sum(f.stat().st_size for f in files) + (data / "db.json").stat().st_size
        print(
            f"data: {n} files, {size / 1e6:.0f} MB (bands/*.json + db.json), cpus {os.cpu_count()}"
        )

        def fresh(workers: int | None) -> tuple[float, float]:
            ws = tmp / f"ws-{time.time_ns()}"
            c = _cpu_seconds()
            t = time.perf_counter()
            report = ingest([data], ws, workers=workers, progress=False)
            elapsed = time.perf_counter() - t
            cpu = _cpu_seconds() - c
            assert report.n_ingested == n and not report.failures, report.summary()
            shutil.rmtree(ws)
            return elapsed, cpu

        results: dict[str, float] = {}
        for label, workers in (("all workers", args.workers), ("1 worker", 1)):
            runs = [fresh(workers) for _ in range(args.runs)]
            times = [w for w, _ in runs]
            med = statistics.median(times)
            cpu = statistics.median(c for _, c in runs)
            results[label] = n / med
            print(
                f"ingest, fresh workspace, {label}: median {med:.2f} s over {args.runs} runs "
                f"({', '.join(f'{x:.2f}' for x in times)}) = {n / med:.0f} files/s; "
                f"CPU {cpu:.2f} s (all processes) = {n / cpu:.0f} files per CPU-second"
            )

        cli_times = []
        for run in range(args.runs):
            ws_path = tmp / f"ws-cli-{run}"
            cmd = [sys.executable, "-m", "bandprint", "ingest", str(data), "--into", str(ws_path)]
            cmd += ["-q"] + (["--workers", str(args.workers)] if args.workers else [])
            cli_times.append(
                _timed(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))  # noqa: B023
            )
            if run < args.runs - 1:
                shutil.rmtree(ws_path)
        t_cli = statistics.median(cli_times)
        print(
            f"bandprint ingest (CLI, start-up included): median {t_cli:.2f} s "
            f"({', '.join(f'{x:.2f}' for x in cli_times)}) = {n / t_cli:.0f} files/s"
        )

        reruns = []
        for _ in range(args.runs):
            t = time.perf_counter()
            report = ingest([data], ws_path, workers=args.workers, progress=False)
            reruns.append(time.perf_counter() - t)
            assert report.n_skipped_unchanged == n and report.n_ingested == 0
        print(f"rerun, all unchanged: median {statistics.median(reruns):.2f} s")

        ws = Workspace(ws_path)
        shards = sorted(ws.bands_dir.glob("*.parquet"))
        stored = sum(f.stat().st_size for f in shards)
        print(
            f"store: {len(shards)} band shards, {stored / 1e6:.0f} MB "
            f"({size / stored:.1f}× smaller than the JSON)"
        )
        t_cat = _timed(ws.catalog)
        ids = ws.ids()
        sample = ids[:: max(1, len(ids) // 200)]
        t_get = _timed(lambda: [Workspace(ws_path).get(i) for i in sample[:1]]) * 1e3
        warm = Workspace(ws_path)
        warm.ids()
        t_gets = _timed(lambda: [warm.get(i) for i in sample]) / len(sample) * 1e3
        t_iter = _timed(lambda: sum(1 for _ in ws.iter_band_structures(with_structure=False)))
        print(
            f"read back: catalog {t_cat:.2f} s; get {t_gets:.1f} ms each (first, cold "
            f"index: {t_get:.0f} ms); iterate all {n / t_iter:.0f} materials/s (no structures)"
        )

        from pymatgen.electronic_structure.bandstructure import BandStructureSymmLine

        subset = files[: args.baseline]

        def pymatgen_read() -> None:
            for f in subset:
                BandStructureSymmLine.from_dict(orjson.loads(f.read_bytes()))

        c = _cpu_seconds()
        t_pmg = _timed(pymatgen_read)
        pmg_cpu = _cpu_seconds() - c
        pmg_rate = len(subset) / t_pmg
        print(
            f"baseline, pymatgen BandStructureSymmLine.from_dict, 1 process, {len(subset)} files: "
            f"{pmg_rate:.1f} files/s; {len(subset) / pmg_cpu:.0f} files per CPU-second"
        )
        from bandprint.read import discover_sources, read_source

        sources = {Path(s.paths[0]).name: s for s in discover_sources([data])}
        picked = [sources[f.name] for f in subset]
        c = _cpu_seconds()
        t_own = _timed(lambda: [read_source(s) for s in picked])
        own_cpu = _cpu_seconds() - c
        print(
            f"bandprint read_source only (with db.json structure), 1 process, same files: "
            f"{len(picked) / t_own:.1f} files/s; {len(picked) / own_cpu:.0f} files per CPU-second"
        )
        print(
            f"ratio: bandprint 1 worker / pymatgen = {results['1 worker'] / pmg_rate:.0f}x; "
            f"all workers / pymatgen = {results['all workers'] / pmg_rate:.0f}x"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
