"""Do fingerprints group what they should? Nearest-neighbour lattice-family agreement.

    python bench/bench_fingerprint_quality.py [--n 600] [--model M] [--paper-model P]

Held-out data: ``bandprint.zoo.sample_zoo(n, seed=1)`` (the shipped model was trained on
seed 0 samples; these are new parameter draws, families in turn). For each sample, its
nearest other sample under each representation; the score is the fraction whose nearest
neighbour is of the same lattice family (leave-one-out 1-NN accuracy). Chance is
Σ_f n_f (n_f − 1) / (N (N − 1)), about 1/15.

Representations:

* the learned fingerprint (98 values) of the shipped ``small`` model (and ``--paper-model``),
* raw pixels: the 224 × 224 image average-pooled to 16 × 16 (256 values),
* matminer's ``BandFeaturizer`` on ``bs.to_pymatgen()`` with extra energies at k = (0,0,0)
  and (½,0,0), two bands each side (15 values, z-scored; matminer raises on metals, so it is
  compared on the rows it featurises ("mm-ok": pymatgen's non-metals, less a few where
  pymatgen's ``get_cbm`` fails), where the other representations are scored too).

Distances: Euclidean, and Minkowski p = 0.2 as Σ|xᵢ − yᵢ|^0.2 (same order as the p-root).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def nn_same_label_rate(x: np.ndarray, labels: np.ndarray, p: float) -> float:
    """Leave-one-out 1-NN: fraction whose nearest other row has the same label."""
    x = np.asarray(x, np.float64)
    n = len(x)
    best = np.empty(n, dtype=np.int64)
    for start in range(0, n, 128):
        block = x[start : start + 128]
        diff = np.abs(block[:, None, :] - x[None, :, :])
        d = np.sqrt((diff**2).sum(-1)) if p == 2 else (diff**p).sum(-1)
        d[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf
        best[start : start + len(block)] = d.argmin(1)
    return float((labels[best] == labels).mean())


def chance_rate(labels: np.ndarray) -> float:
    _, counts = np.unique(labels, return_counts=True)
    n = len(labels)
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


def pixels_16(bss: list) -> np.ndarray:
    from bandprint.render import RenderSettings, render_band_images

    images = render_band_images(bss, RenderSettings(size=224)).astype(np.float32)
    return images.reshape(len(bss), 16, 14, 16, 14).mean(axis=(2, 4)).reshape(len(bss), -1)


def matminer_vectors(bss: list) -> tuple[np.ndarray, np.ndarray]:
    """(rows featurised, z-scored features); metals raise in matminer and are left out."""
    from matminer.featurizers.bandstructure import BandFeaturizer

    featurizer = BandFeaturizer(kpoints=[[0.0, 0.0, 0.0], [0.5, 0.0, 0.0]], nbands=2)
    rows, feats = [], []
    failures: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, bs in enumerate(bss):
            try:
                feats.append(np.asarray(featurizer.featurize(bs.to_pymatgen()), dtype=float))
                rows.append(i)
            except ValueError:  # "Cannot featurize a metallic band structure!"
                continue
            except (TypeError, IndexError) as exc:  # pymatgen get_cbm fails on a few
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
    if failures:
        print(f"matminer failed on non-metals: {failures}")
    x = np.array(feats)
    x = np.where(np.isfinite(x), x, np.nan)
    mean = np.nanmean(x, axis=0)
    x = np.where(np.isnan(x), mean, x)
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return np.array(rows), x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--model", default=None, help="model file [default: shipped]")
    parser.add_argument("--paper-model", default=None, help="also score this model")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from bandprint import zoo
    from bandprint.fingerprint import Fingerprinter, load_fingerprinter

    torch.set_num_threads(args.threads)
    bss = zoo.sample_zoo(args.n, seed=1)
    labels = np.array([bs.metadata["family"] for bs in bss])
    metal = np.array([bool(bs.metadata["is_metal"]) for bs in bss])

    reps: dict[str, np.ndarray] = {}
    t = time.perf_counter()
    fp = load_fingerprinter(args.model, device="cpu")
    reps[f"fingerprint {fp.model_id_} (98)"] = fp.transform(bss)
    if args.paper_model:
        paper = Fingerprinter.load(args.paper_model, device="cpu")
        reps[f"fingerprint {paper.model_id_} (98)"] = paper.transform(bss)
    reps["pixels 224→16×16 (256)"] = pixels_16(bss)
    mm_rows, mm = matminer_vectors(bss)
    print(f"encoded in {time.perf_counter() - t:.0f} s; {len(bss)} held-out zoo samples, ")
    print(
        f"{len(set(labels))} families, {int((~metal).sum())} non-metals by the zoo's truth, "
        f"matminer featurised {len(mm_rows)} (mm-ok)"
    )

    header = (
        f"{'representation':<40} {'subset':<12} {'n':>5} {'chance':>7} {'eucl':>7} {'p=0.2':>7}"
    )
    print(header)
    print("-" * len(header))
    subsets = {"all": np.arange(len(bss)), "mm-ok": mm_rows}
    for name, x in reps.items():
        for subset, rows in subsets.items():
            lab = labels[rows]
            print(
                f"{name:<40} {subset:<12} {len(rows):>5} {chance_rate(lab):>7.3f} "
                f"{nn_same_label_rate(x[rows], lab, 2):>7.3f} "
                f"{nn_same_label_rate(x[rows], lab, 0.2):>7.3f}"
            )
    lab = labels[mm_rows]
    name = "matminer BandFeaturizer (15, z-scored)"  # its rows only
    print(
        f"{name:<40} {'mm-ok':<12} {len(mm_rows):>5} {chance_rate(lab):>7.3f} "
        f"{nn_same_label_rate(mm, lab, 2):>7.3f} {nn_same_label_rate(mm, lab, 0.2):>7.3f}"
    )


if __name__ == "__main__":
    main()
