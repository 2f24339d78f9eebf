"""Report benchmark: ``build_report`` on a clustered zoo workspace, the size of map.html, and
how fast Chromium opens it.

    python bench/bench_report.py [--n 3000] [--runs 3] [--model FILE] [--baseline 100]

Builds (once, cached in ``bench/out/bench-report-ws-<n>``) a workspace of ``n`` zoo samples,
fingerprinted with the shipped model (or ``--model``), clustered and flat-band analysed (its
clusters are printed); then
times ``build_report`` (median of ``--runs``; wall and CPU seconds of this process, and the
seconds of each stage from the progress messages), reports map.html's size and thumbnails'
mean size, and, when ``/usr/bin/chromium`` and Playwright are there, the time until the map in
map.html is drawn (from navigation to the plot being ready; median of ``--runs``).

Baseline for the hover thumbnails: ``--baseline`` materials drawn with matplotlib
(``plot.plot_band_structure`` on a 1.6 × 1.2 inch figure saved as PNG) against the
rasteriser-based ``report.thumbnail_png`` used in the report.
"""

from __future__ import annotations

import argparse
import io
import itertools
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def build_workspace(n: int, model: str | None) -> Path:
    from bandprint.fingerprint import load_fingerprinter
    from bandprint.store import Workspace
    from bandprint.workflows import cluster
    from bandprint.workflows.fingerprint import fingerprint_workspace
    from bandprint.workflows.flatbands import flatband_workspace
    from bandprint.zoo import sample_zoo

    folder = ROOT / "bench" / "out" / f"bench-report-ws-{n}"
    if (folder / "tables" / "clusters.parquet").is_file():
        return folder
    ws = Workspace(folder, create=True)
    t = time.perf_counter()
    bss = sample_zoo(n, seed=11, with_structure=False)
    ws.add_band_structures([(b, f"zoo:{b.material_id}", "1") for b in bss])
    fingerprint_workspace(ws, load_fingerprinter(model, device="cpu"), progress=False)
    cluster.cluster_workspace(ws)
    flatband_workspace(ws)
    print(f"built the {n}-material workspace in {time.perf_counter() - t:.0f} s: {folder}")
    return folder


def time_report(ws: Path, runs: int, model: str | None) -> None:
    from bandprint.report import build_report

    walls, cpus, stage_runs = [], [], []
    size = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            marks: list[tuple[str, float]] = []

            def mark(msg: str, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((msg, time.perf_counter()))

            w, c = time.perf_counter(), time.process_time()
            paths = build_report(ws, tmp, model=model, progress=mark)
            end = time.perf_counter()
            walls.append(end - w)
            cpus.append(time.process_time() - c)
            size = paths.map_html.stat().st_size
            marks.append(("end", end))
            stages: dict[str, float] = {}
            for (name, t0), (_, t1) in itertools.pairwise(marks):
                key = "figures" if name.startswith("figure") else name
                stages[key] = stages.get(key, 0.0) + t1 - t0
            stage_runs.append(stages)
    print(
        f"build_report: median wall {statistics.median(walls):.1f} s of "
        f"{[round(x, 1) for x in walls]}, median CPU {statistics.median(cpus):.1f} s"
    )
    for key in stage_runs[0]:
        print(f"  {key}: median {statistics.median(s[key] for s in stage_runs):.1f} s")
    print(f"map.html: {size / 2**20:.1f} MiB")


def time_thumbnails(ws_path: Path, n: int) -> None:
    from bandprint.plot import plot_band_structure
    from bandprint.report import thumbnail_png
    from bandprint.store import Workspace

    ws = Workspace(ws_path)
    bss = list(ws.iter_band_structures(ws.ids()[:n], with_structure=False))

    def ours() -> list[bytes]:
        return [thumbnail_png(b) for b in bss]

    def mpl() -> list[bytes]:
        out = []
        for b in bss:
            fig = plot_band_structure(b, figsize=(1.6, 1.2), legend=False, title="")
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100)
            out.append(buf.getvalue())
        return out

    results = {}
    for name, fn in (("rasteriser thumbnail_png", ours), ("matplotlib 160×120 PNG", mpl)):
        times = []
        for _ in range(3):
            t = time.perf_counter()
            pngs = fn()
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        results[name] = med
        mean_kb = sum(map(len, pngs)) / len(pngs) / 1024
        print(f"{name}: {med / n * 1000:.1f} ms per material (median of 3), {mean_kb:.1f} kB")
    ratio = results["matplotlib 160×120 PNG"] / results["rasteriser thumbnail_png"]
    print(f"  thumbnails {ratio:.1f}× faster than matplotlib")


def time_browser(ws: Path, runs: int, model: str | None) -> None:
    if not CHROMIUM.is_file():
        print("no Chromium: browser timing skipped")
        return
    from playwright.sync_api import sync_playwright

    from bandprint.report import build_report

    with tempfile.TemporaryDirectory() as tmp:
        paths = build_report(ws, tmp, model=model, exemplar_clusters=0)
        times = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1400, "height": 860})
                t = time.perf_counter()
                page.goto(paths.map_html.as_uri())
                page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
                times.append(time.perf_counter() - t)
                page.close()
            browser.close()
    print(
        f"map.html in Chromium, navigation to drawn map: median {statistics.median(times):.2f} s"
        f" of {[round(x, 2) for x in times]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None, help="fingerprint model file [shipped]")
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()
    ws = build_workspace(args.n, args.model)
    from bandprint.store import Workspace

    labels = Workspace(ws).read_table("clusters")["cluster"]
    print(
        f"workspace: {len(labels)} materials, {labels[labels >= 0].nunique()} clusters, "
        f"{int((labels < 0).sum())} unclassified"
    )
    time_report(ws, args.runs, args.model)
    time_thumbnails(ws, args.baseline)
    time_browser(ws, args.runs, args.model)


if __name__ == "__main__":
    main()
