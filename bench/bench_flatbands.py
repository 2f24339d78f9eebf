"""Flat-band detection against the zoo's ground truth, both detectors; real samples; speed.

    python bench/bench_flatbands.py                 # the figures in BENCHMARKS.md
    python bench/bench_flatbands.py --n 60 --near 4 --repeats 1   # a quick look
    python bench/bench_flatbands.py --only real     # the bundled real samples only (seconds)

Ground truth. Zoo samples are tight-binding models with exact eigenvalues. A block (0.5 eV strip
× path segment) is truly flat when the zoo's own flat-level finder (``zoo.flat_levels``, an
implementation independent of bandprint's detector, here seeded from every k-point in turn:
``truth_levels``) finds a level narrower than 0.1 eV on that segment whose mean energy lies in
the strip; a material is truly flat (the published flag) when every segment has a truly flat
block, and truly plane-flat when one level narrower than 0.1 eV spans the whole path with its
mean inside the window.

Sets.
* held-out zoo: ``sample_zoo(--n, seed=303)`` (the CNN trained on seeds 101/202), each sample
  as drawn plus ``--copies`` copies with the Fermi level moved so flat levels land in the ±1 eV
  window (``fermi_shifted_copies``, seeded), else few blocks would be flat.
* near threshold: kagome (NNN t2), Lieb (edge–edge t2) and dice (rim–rim t_rim) with the
  perturbation set by bisection so the formerly flat band is exactly 0.5×, 0.9×, 1.1× or 2× the
  0.1 eV threshold wide over the whole path (``NEAR_FACTORS``: well and just below, just and
  well above), random energy scale, the level at a random height in the window.
* real samples: every band structure under tests/data/real (the repository's bundled real
  DFT outputs), ±1 eV and a wide −6…+2 eV window; no ground truth, each detector's verdict and
  its notes (a k-point grid without a labelled path, NiO, is not analysed).

Printed: precision and recall per block and per material for both detectors, their agreement,
results on the real samples (±1 eV and a wide −6…+2 eV window), and detection throughput
(median of ``--repeats`` runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bandprint import read_band_structures, zoo
from bandprint.analyse.flatband_cnn import (
    detect_flat_bands_image,
    fermi_shifted_copies,
    iter_detect_flat_bands_image,
    load_flatband_cnn,
)
from bandprint.analyse.flatbands import (
    DEFAULT_BANDWIDTH_THRESHOLD,
    FlatBandResult,
    analysed_band_structure,
    detect_flat_bands,
    judged_segments,
    strip_edges,
    strip_of,
)
from bandprint.bandstructure import BandStructure

THRESHOLD = DEFAULT_BANDWIDTH_THRESHOLD
WINDOW = (-1.0, 1.0)
WIDE = (-6.0, 2.0)
REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "real"
#: Perturbation parameter and ideal flat-band energy (in units of t) of the near-threshold sets.
NEAR_FAMILIES = {"kagome": ("t2", 2.0), "lieb": ("t2", 0.0), "dice": ("t_rim", 0.0)}
#: Whole-path widths of the near-threshold sets' formerly flat band, in units of the threshold.
NEAR_FACTORS = (0.5, 0.9, 1.1, 2.0)


# -- ground truth -----------------------------------------------------------------------------
@dataclass
class Truth:
    blocks: np.ndarray  # [strip, segment] bool
    plane_flat: bool

    @property
    def is_flat(self) -> bool:
        return bool(self.blocks.shape[1]) and bool(self.blocks.any(axis=0).all())


def truth_levels(e: np.ndarray, max_width: float = THRESHOLD) -> list[zoo.FlatLevel]:
    """``zoo.flat_levels`` seeded from every k-point in turn, not only the first.

    The zoo's finder follows, from each eigenvalue of the first k-point, the eigenvalue nearest
    the level's centre; seeded where the flat level touches a dispersive band (kagome at Γ, Lieb
    at M) it can settle on a wider selection and miss a level just under ``max_width`` (kagome,
    Lieb at 0.9× the threshold). The k-point order does not matter to a level, so rolling the
    rows seeds it elsewhere. Of the selections found for one level (overlapping ones) the
    narrowest is kept, as the detector keeps the narrowest: one level, one mean, one strip.
    """
    found = [lv for s in range(len(e)) for lv in zoo.flat_levels(np.roll(e, -s, axis=0), max_width)]
    kept: list[zoo.FlatLevel] = []
    for lv in sorted(found, key=lambda lv: (lv.width, lv.energy)):
        if all(abs(lv.energy - k.energy) >= 1e-6 + 0.5 * max(lv.width, k.width) for k in kept):
            kept.append(lv)
    return sorted(kept, key=lambda lv: lv.energy)


def _level_mean(e: np.ndarray, lv: zoo.FlatLevel) -> float:
    """A level's mean energy (as the detector defines it, for its strip and for "inside the
    window"): the mean of the eigenvalues nearest the zoo's level centre."""
    return float(e[np.arange(len(e)), np.argmin(np.abs(e - lv.energy), 1)].mean())


def truth_of(bs: BandStructure, window: tuple[float, float] = WINDOW) -> Truth:
    """Exact flat blocks from the zoo's flat-level finder (strip by the level's mean energy)."""
    work, _, _ = analysed_band_structure(bs)
    segments = [work.segments[i] for i in judged_segments(work)[0]]  # as the detectors do
    n_strips = len(strip_edges(window)) - 1
    blocks = np.zeros((n_strips, len(segments)), dtype=bool)
    plane = False
    for spin in range(work.nspin):
        rel = work.energies_relative[spin]
        for j, seg in enumerate(segments):
            e = rel[seg.start : seg.stop]
            for lv in truth_levels(e):
                s = int(strip_of(_level_mean(e, lv), window))
                if s:
                    blocks[s - 1, j] = True
        if not segments:
            continue
        path = np.concatenate([rel[s.start : s.stop] for s in segments])
        plane |= any(strip_of(_level_mean(path, lv), window) > 0 for lv in truth_levels(path))
    return Truth(blocks, plane)


# -- samples ----------------------------------------------------------------------------------
def held_out_zoo(n: int, copies: int, seed: int = 303) -> list[BandStructure]:
    rng = np.random.default_rng(seed)
    out = []
    for bs in zoo.sample_zoo(n, seed=seed):
        out.append(bs)
        out += fermi_shifted_copies(bs, copies, rng, p_flat=0.8)
    return out


def _flat_level_width(lattice: zoo.Lattice, kpts: np.ndarray, energy: float) -> float:
    """Whole-path width of the level nearest ``energy`` (nearest eigenvalue at every k)."""
    e = lattice.eigenvalues(kpts)
    centre = energy
    for _ in range(3):
        picked = e[np.arange(len(e)), np.argmin(np.abs(e - centre), axis=1)]
        centre = 0.5 * (picked.min() + picked.max())
    return float(np.ptp(picked))


def near_threshold_sample(
    family: str, factor: float, index: int, rng: np.random.Generator
) -> BandStructure:
    """A kagome/Lieb/dice sample whose formerly flat band is ``factor`` × threshold wide."""
    param, ideal = NEAR_FAMILIES[family]
    t = float(rng.uniform(0.4, 1.5)) * (1 if rng.random() < 0.75 else -1)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    target = factor * THRESHOLD
    kpts, _ = zoo.make_lattice(family).kpath()

    def lattice(p: float) -> zoo.Lattice:
        return zoo.make_lattice(family, t=t, **{param: sign * p})

    lo, hi = 0.0, 0.5 * abs(t)
    while _flat_level_width(lattice(hi), kpts, ideal * t) < target:
        hi *= 2
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if _flat_level_width(lattice(mid), kpts, ideal * t) < target:
            lo = mid
        else:
            hi = mid
    lat = lattice(hi)
    e = lat.eigenvalues(kpts)
    picked = e[np.arange(len(e)), np.argmin(np.abs(e - ideal * t), axis=1)]
    level = 0.5 * (picked.min() + picked.max())
    height = float(rng.uniform(WINDOW[0] + 0.05, WINDOW[1] - 0.05))
    return lat.band_structure(
        f"{family}-{factor:g}x-{index:02d}",
        efermi=level - height,
        with_structure=False,
        metadata={"family": family, "is_2d": True},
    )


# -- metrics ----------------------------------------------------------------------------------
def pr(pred: np.ndarray, truth: np.ndarray) -> str:
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    return f"precision {p:6.3f}  recall {r:6.3f}  (tp {tp}, fp {fp}, fn {fn}, n {pred.size})"


def agreement(a: np.ndarray, b: np.ndarray) -> str:
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    po = float((a == b).mean())
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    kappa = (po - pe) / (1 - pe) if pe < 1 else float("nan")
    return f"agree {po:6.3f}  Cohen's kappa {kappa:6.3f}  (n {a.size})"


def evaluate(name: str, samples: list[BandStructure], cnn) -> dict[str, list]:
    """Both detectors on ``samples`` against the truth; prints the summary lines."""
    rows: dict[str, list] = {k: [] for k in ("tb", "eb", "ib", "tm", "em", "im", "tp", "ep", "ip")}
    images = iter_detect_flat_bands_image(samples, model=cnn)
    for bs, img in zip(samples, images, strict=True):
        truth = truth_of(bs)
        eig = detect_flat_bands(bs)
        rows["tb"].append(truth.blocks.ravel())
        rows["eb"].append(eig.block_flat.ravel())
        rows["ib"].append(img.block_flat.ravel())
        rows["tm"].append(truth.is_flat)
        rows["em"].append(eig.is_flat)
        rows["im"].append(img.is_flat)
        rows["tp"].append(truth.plane_flat)
        rows["ep"].append(eig.plane_flat)
        rows["ip"].append(img.plane_flat)
    tb, eb, ib = (np.concatenate(rows[k]) for k in ("tb", "eb", "ib"))
    print(f"\n== {name}: {len(samples)} materials, {tb.size} blocks ({tb.mean():.1%} truly flat)")
    print(f"  per block     eigen: {pr(eb, tb)}")
    print(f"  per block     image: {pr(ib, tb)}")
    print(f"  material flag eigen: {pr(rows['em'], rows['tm'])}")
    print(f"  material flag image: {pr(rows['im'], rows['tm'])}")
    print(f"  plane-flat    eigen: {pr(rows['ep'], rows['tp'])}")
    print(f"  plane-flat    image: {pr(rows['ip'], rows['tp'])}  (a strip flat in every segment)")
    print(f"  eigen vs image, blocks:    {agreement(eb, ib)}")
    print(f"  eigen vs image, materials: {agreement(rows['em'], rows['im'])}")
    return rows


def near_threshold(n: int, cnn, seed: int = 404) -> None:
    rng = np.random.default_rng(seed)
    samples = {
        (fam, f): [near_threshold_sample(fam, f, i, rng) for i in range(n)]
        for fam in NEAR_FAMILIES
        for f in NEAR_FACTORS
    }
    all_samples = [bs for group in samples.values() for bs in group]
    widths = ", ".join(f"{f:g}×" for f in NEAR_FACTORS)
    evaluate(f"near threshold (kagome, Lieb, dice at {widths} the threshold)", all_samples, cnn)
    print("  per family and width (fraction of materials; blocks P/R for each detector):")
    for (fam, f), group in samples.items():
        truths = [truth_of(bs) for bs in group]
        eig = [detect_flat_bands(bs) for bs in group]
        img = list(iter_detect_flat_bands_image(group, model=cnn))
        assert all(t.plane_flat == (f < 1) for t in truths), "construction check failed"
        tb = np.concatenate([t.blocks.ravel() for t in truths])
        eb = np.concatenate([r.block_flat.ravel() for r in eig])
        ib = np.concatenate([r.block_flat.ravel() for r in img])

        def frac(results, attr: str) -> str:
            return f"{np.mean([getattr(r, attr) for r in results]):.2f}"

        print(
            f"    {fam:7s} {f:3.1f}×: plane-flat truth {frac(truths, 'plane_flat')}"
            f" eigen {frac(eig, 'plane_flat')} image {frac(img, 'plane_flat')}"
            f" | flag truth {frac(truths, 'is_flat')} eigen {frac(eig, 'is_flat')}"
            f" image {frac(img, 'is_flat')}"
            f" | blocks eigen {_short(eb, tb)} image {_short(ib, tb)}"
        )


def _short(pred: np.ndarray, truth: np.ndarray) -> str:
    tp = int((pred & truth).sum())
    p = tp / max(int(pred.sum()), 1)
    r = tp / max(int(truth.sum()), 1)
    return f"P {p:.2f} R {r:.2f}"


def describe(r: FlatBandResult) -> str:
    plane = f", plane-flat at {r.plane_flat_energy:+.2f} eV" if r.plane_flat else ""
    return (
        f"{r.n_flat_segments}/{r.n_segments} flat segments, score {r.flatness_score:.2f}, "
        f"flat={'yes' if r.is_flat else 'no'}, strips {r.strips or '-'}{plane}"
        + (f"; blocks {r.flat_blocks}" if r.flat_blocks else "")
        + "".join(f" [{note}]" for note in r.notes)
    )


def real_samples(cnn) -> None:
    if not REAL.is_dir():
        raise SystemExit(f"no real samples at {REAL}: they are part of the repository")
    print(f"\n== real samples ({REAL})")
    for bs in read_band_structures(REAL):
        print(f"  {bs.material_id} ({bs.nspin} spin, path {bs.path_string})")
        for window in (WINDOW, WIDE):
            eig = detect_flat_bands(bs, window=window)
            img = detect_flat_bands_image(bs, model=cnn, window=window)
            label = f"{window[0]:+g}…{window[1]:+g} eV"
            print(f"    {label:14s} eigen: {describe(eig)}")
            print(f"    {'':14s} image: {describe(img)}")


def speed(samples: list[BandStructure], cnn, repeats: int) -> None:
    print(f"\n== speed ({len(samples)} zoo materials, median of {repeats} runs)")
    for name, run in (
        ("eigen", lambda: [detect_flat_bands(bs) for bs in samples]),
        ("image", lambda: list(iter_detect_flat_bands_image(samples, model=cnn))),
    ):
        times, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        med, med_cpu = statistics.median(times), statistics.median(cpu)
        n = len(samples)
        print(
            f"  {name}: {n / med:8.1f} materials/s wall ({1e3 * med / n:.2f} ms each; runs "
            f"{', '.join(f'{t:.2f}' for t in times)} s), {n / med_cpu:8.1f} per CPU-second"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=300, help="held-out zoo samples")
    p.add_argument("--copies", type=int, default=2, help="Fermi-shifted copies per sample")
    p.add_argument("--near", type=int, default=20, help="samples per family and width")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default=None, help="CNN weights [default: the shipped ones]")
    p.add_argument(
        "--only",
        choices=("zoo", "near", "real", "speed"),
        action="append",
        help="run only these parts (repeatable) [default: all]",
    )
    args = p.parse_args(argv)
    parts = set(args.only or ("zoo", "near", "real", "speed"))
    import torch

    torch.set_num_threads(args.threads)
    cnn = load_flatband_cnn(args.model)
    print(f"threshold {THRESHOLD} eV, window {WINDOW}, CNN: {cnn.info.get('validation')}")
    samples = held_out_zoo(args.n, args.copies) if parts & {"zoo", "speed"} else []
    if "zoo" in parts:
        evaluate("held-out zoo (as drawn + Fermi-shifted copies)", samples, cnn)
    if "near" in parts:
        near_threshold(args.near, cnn)
    if "real" in parts:
        real_samples(cnn)
    if "speed" in parts:
        speed(samples[: min(len(samples), 300)], cnn, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
