"""Encode throughput (images -> fingerprints) of both presets on the CPU, median of runs.

    python bench/bench_encode.py [--threads 2] [--runs 5]

Measures ``Fingerprinter.transform`` on pre-rendered 0/1 images (float32, inference mode,
channels-last, eval-mode batch norm) for several batch sizes, and the whole path from band
structures (render + encode) with the shipped model. ``paper`` uses a freshly initialised
network: throughput does not depend on the weights. The bfloat16 rows are for reference
(``torch.autocast``): bandprint encodes in float32 so fingerprints do not depend on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def rate(fn, n: int, runs: int) -> float:
    fn()  # warm-up (allocations, oneDNN kernel choice)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from bandprint import zoo
    from bandprint.fingerprint import Fingerprinter, load_default_fingerprinter
    from bandprint.model import PRESETS, Autoencoder
    from bandprint.render import RenderSettings, render_band_images

    print(f"encode throughput, {args.threads} threads, median of {args.runs} runs")
    for name, n, batches in (("small", 1024, (64, 256, 1024)), ("paper", 128, (16, 32, 64))):
        cfg = PRESETS[name]
        if name == "small":
            fp = load_default_fingerprinter()
        else:
            fp = Fingerprinter(preset="paper")
            torch.manual_seed(0)
            fp.model_ = Autoencoder(cfg).eval().to(memory_format=torch.channels_last)
            fp.config_, fp.render_ = cfg, RenderSettings(size=cfg.input_size)
        rng = np.random.default_rng(0)
        images = (rng.random((n, cfg.input_size, cfg.input_size)) < 0.04).astype(np.uint8)
        for bs in batches:
            r = rate(lambda fp=fp, bs=bs, im=images: fp.transform(im, batch_size=bs), n, args.runs)
            print(f"  {name:<6} float32  batch {bs:>5}: {r:8.0f} images/s")
        x = torch.from_numpy(images[: batches[1]].astype(np.float32))[:, None]
        x = x.contiguous(memory_format=torch.channels_last)

        def bf16(fp=fp, x=x):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
                fp.model_.encode(x)

        r = rate(bf16, len(x), args.runs)
        print(f"  {name:<6} bfloat16 batch {len(x):>5}: {r:8.0f} images/s (reference)")

    fp = load_default_fingerprinter()
    bss = zoo.sample_zoo(600, seed=1)
    r = rate(lambda: fp.transform(bss, batch_size=256), len(bss), args.runs)
    print(f"  small  render + encode from band structures (zoo): {r:8.0f} per s")
    r = rate(lambda: render_band_images(bss, fp.render_), len(bss), args.runs)
    print(f"  (render alone at 112 px: {r:8.0f} per s)")


if __name__ == "__main__":
    main()
