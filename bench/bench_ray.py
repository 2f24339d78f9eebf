"""Ray engine benchmark: ingest and fingerprint throughput against workers, next to one machine.

    python bench/bench_ray.py [--n 160] [--workers 1 2]

Writes N synthetic 2DMatPedia-style materials (about 30 bands x 150 k-points, as real entries;
``tests/synthetic_2dmatpedia.py``), then, each into a fresh workspace:

* the single-machine path: ``ingest(workers=W)`` and ``fingerprint_workspace`` (the shipped
  small model, on the CPU, torch's default threads);
* ``--engine ray`` on a local Ray cluster of W nodes of one CPU each (``ray.cluster_utils``,
  head + W-1 worker nodes on 127.0.0.1): ``ingest(engine="ray")`` and
  ``fingerprint_workspace_ray`` (W encoder actors). The cluster's start is timed apart; the
  stage times include starting Ray's worker processes and actors (each imports bandprint and
  torch), as a real run's do.

Every Ray workspace is checked against the single-machine one: same catalogue, fingerprints
byte for byte. Prints one table row per configuration (seconds and materials per second of
each stage; one run each).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bandprint.distributed import fingerprint_workspace_ray  # noqa: E402
from bandprint.fingerprint import load_default_fingerprinter  # noqa: E402
from bandprint.ingest import ingest  # noqa: E402
from bandprint.store import Workspace  # noqa: E402
from bandprint.workflows.fingerprint import fingerprint_workspace  # noqa: E402
from synthetic_2dmatpedia import write_2dmatpedia  # noqa: E402


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _fingerprints(ws: Workspace) -> dict[str, bytes]:
    ids, vectors = ws.read_fingerprints()
    return {m: v.tobytes() for m, v in zip(ids, vectors, strict=True)}


def _catalog(ws: Workspace):
    return ws.catalog().sort_values("material_id").reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=160)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    model = load_default_fingerprinter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_2dmatpedia(tmp / "db", args.n, seed=7)
        reference: Workspace | None = None

        def run(engine: str, w: int) -> tuple[float, float]:
            """Seconds to ingest, then to fingerprint, into a fresh workspace."""
            nonlocal reference
            ws_path = tmp / f"{engine}-{w}"
            options = {"engine": "ray"} if engine == "ray" else {"workers": w}
            rep, t = _timed(lambda: ingest([tmp / "db"], ws_path, progress=False, **options))
            assert rep.n_ingested == args.n
            ws = Workspace(ws_path)
            encode = fingerprint_workspace_ray if engine == "ray" else fingerprint_workspace
            _, t_fp = _timed(lambda: encode(ws, model, progress=False))
            if reference is None:
                reference = ws
            else:
                assert _catalog(ws).equals(_catalog(reference)), "catalogue differs"
                assert _fingerprints(ws) == _fingerprints(reference), "fingerprints differ"
            return t, t_fp

        for w in args.workers:
            rows.append(("one machine", w, None, run("local", w)))
        for w in args.workers:
            start = time.perf_counter()
            cluster = Cluster(
                initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
            )
            for _ in range(w - 1):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            ray.init(address=cluster.address, log_to_driver=False)
            t_start = time.perf_counter() - start
            try:
                rows.append(("Ray, local cluster", w, t_start, run("ray", w)))
            finally:
                ray.shutdown()
                cluster.shutdown()

    print(f"{args.n} materials (30 bands x 150 k-points); Ray results identical")
    print("| engine | workers | cluster start s | ingest s | mat/s | fingerprint s | mat/s |")
    print("|---|---|---|---|---|---|---|")
    for engine, w, t_start, (ti, tf) in rows:
        start = "" if t_start is None else f"{t_start:.1f}"
        print(
            f"| {engine} | {w} | {start} | {ti:.1f} | {args.n / ti:.1f} "
            f"| {tf:.1f} | {args.n / tf:.1f} |"
        )


if __name__ == "__main__":
    main()
