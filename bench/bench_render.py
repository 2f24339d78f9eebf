"""Render throughput: band structures -> 224×224 0/1 images, one thread, median of runs.

    python bench/bench_render.py [--runs 5] [--size 224]

Inputs: the five real DFT samples (pymatgen / matminer JSON, 16–36 bands, 143–350 k-points,
one spin-polarised) and 300 tight-binding zoo samples. The baseline is pymatgen's
``BSPlotter`` drawing the same band structure with matplotlib (Agg), resized to the same size
and binarised, the way the published pipeline made its images.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

# One thread everywhere: the figure is per core.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

from bandprint import read_band_structure  # noqa: E402
from bandprint.render import RenderSettings, render_band_images  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL = sorted((ROOT / "tests" / "data" / "real").glob("*-json/*.json"))


def per_second(fn, n_items: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n_items / statistics.median(times)


def pymatgen_image(bs, size: int) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image
    from pymatgen.electronic_structure.plotter import BSPlotter

    ax = BSPlotter(bs.to_pymatgen()).get_plot(zero_to_efermi=True, ylim=(-4, 4))
    ax.axis("off")
    fig = ax.get_figure()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    img = Image.open(buf).convert("L").resize((size, size), Image.LANCZOS)
    return (np.asarray(img) / 255.0 < 0.8).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    from bandprint import zoo

    real = [read_band_structure(p) for p in REAL]
    zoo_bs = zoo.sample_zoo(300, seed=0)
    settings = RenderSettings(size=args.size)
    reps = 40
    real_rate = per_second(
        lambda: [render_band_images(real, settings) for _ in range(reps)],
        reps * len(real),
        args.runs,
    )
    zoo_rate = per_second(lambda: render_band_images(zoo_bs, settings), len(zoo_bs), args.runs)
    mpl_rate = per_second(lambda: [pymatgen_image(b, args.size) for b in real], len(real), 3)
    print(f"render {args.size}×{args.size}, 1 thread, median of {args.runs} runs")
    print(f"  real DFT samples (5 files, 16-36 bands): {real_rate:8.0f} images/s")
    print(f"  tight-binding zoo (300 samples):         {zoo_rate:8.0f} images/s")
    print(f"  pymatgen BSPlotter + resize (baseline):  {mpl_rate:8.1f} images/s (median of 3)")
    print(f"  speed-up over the plotting baseline:     {real_rate / mpl_rate:8.0f}×")


if __name__ == "__main__":
    main()
