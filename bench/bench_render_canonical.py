"""What drawing on the canonical path costs: images/s with the path as written and E_F as
zero (``canonical_path=False, energy_reference="fermi"``) against the default preparation
(canonical path, slab detection, mid-gap), on the GPAW corpus and on the real samples.

    python bench/bench_render_canonical.py [--runs 5] [--size 112]

CPU time of this process (the machine is shared): ``first sight`` is the first rendering of
each band structure in the process (symmetry analysis of every cell, caches empty), ``again``
the best of ``--runs`` later renderings (a material drawn under another setting, or its twins).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_twins import CORPUS, REAL, real_band_structures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=112)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from bandprint.render import RenderSettings, render_band_images

    corpus = real_band_structures([CORPUS])
    ids = {b.material_id for b in corpus}
    real = [b for b in real_band_structures(REAL) if b.material_id not in ids]
    settings = {
        "as written": RenderSettings(args.size, canonical_path=False, energy_reference="fermi"),
        "default": RenderSettings(args.size),
    }
    print(f"{'input':28} {'setting':11} {'first sight':>12} {'again':>10}  (images/s, CPU time)")
    for label, bss in (
        (f"GPAW corpus ({len(corpus)})", corpus),
        (f"real samples ({len(real)})", real),
    ):
        for name, st in settings.items():
            t = time.process_time()
            render_band_images(bss, st)
            first = time.process_time() - t
            best = float("inf")
            for _ in range(args.runs):
                t = time.process_time()
                render_band_images(bss, st)
                best = min(best, time.process_time() - t)
            print(f"{label:28} {name:11} {len(bss) / first:12.0f} {len(bss) / best:10.0f}")


if __name__ == "__main__":
    main()
