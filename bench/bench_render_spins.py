"""Spins overlaid in one image or as two channels: which to draw by default.

    python bench/bench_render_spins.py [--zoo 400] [--epochs 6] [--threads 1]

Base set: the real band structures of ``bench/bench_twins.py`` (the GPAW corpus and every
readable real sample). Magnetic: spin-polarised with spin-up and spin-down images that differ.

Two representations are compared, each by itself and through an autoencoder trained on it:

* ``overlay``: ``spins="both"``, one channel (the shipped ``small`` model's input);
* ``channels``: ``spins="channels"``, spin up and spin down as two channels (``small-spin``).

Measured for each:

1. twin recall@1 (``bandprint.twins``: path, labels, density, efermi, slab) over the whole base
   set and over the magnetic materials, with image distances (Jaccard) and with the
   fingerprints of a model trained on that representation (``small`` / ``small-spin``, the same
   data, epochs and seed: the base set's originals and ``--zoo`` zoo samples of seed 0);
2. for each magnetic material, its nearest other base material (Jaccard distance of the
   images; ℓ0.2 of the fingerprints), and whether it changes;
3. each magnetic material against its non-magnetic double (one spin channel holding the bands
   of both spins): the overlay draws the two identically; the distance between them relative
   to the material's distance to its nearest other material, as channels.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_twins import CORPUS, REAL, make_twins, nearest, real_band_structures

KINDS = ("path", "labels", "density", "efermi", "slab")


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Differing pixels between every image of ``a`` and of ``b`` (any channels), [na, nb]."""
    fa = a.reshape(len(a), -1).astype(np.float32)
    fb = b.reshape(len(b), -1).astype(np.float32)
    return fa.sum(1)[:, None] + fb.sum(1)[None, :] - 2 * fa @ fb.T


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 − |A ∩ B| / |A ∪ B| of the band pixels (channel by channel), [na, nb]: unlike the
    count of differing pixels it does not make the sparsest image everyone's neighbour."""
    fa = a.reshape(len(a), -1).astype(np.float32)
    fb = b.reshape(len(b), -1).astype(np.float32)
    inter = fa @ fb.T
    union = fa.sum(1)[:, None] + fb.sum(1)[None, :] - inter
    return 1.0 - inter / np.maximum(union, 1.0)


def nearest_images(orig: np.ndarray, twins: np.ndarray) -> np.ndarray:
    """As ``bench_twins.nearest``, by ``jaccard`` distance of the images."""
    d = np.concatenate([jaccard(twins, orig), jaccard(twins, twins)], axis=1)
    d[np.arange(len(twins)), len(orig) + np.arange(len(twins))] = np.inf
    return d.argmin(axis=1)


def union_double(bs):
    """The non-magnetic double of ``bs``: one spin channel holding the bands of both spins
    (each band kept whole, not re-sorted by energy, so the overlay draws the same lines)."""
    e = np.concatenate([bs.energies[0], bs.energies[1]], axis=1)[None]
    return replace(bs, material_id=bs.material_id + "-union", energies=e)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", type=int, default=400, help="zoo samples (seed 0) added to training")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import torch

    from bandprint.analyse.search import P_DEFAULT, pairwise_distances
    from bandprint.fingerprint import Fingerprinter
    from bandprint.render import RenderSettings, render_band_images
    from bandprint.zoo.dataset import sample_zoo

    torch.set_num_threads(args.threads)
    t0 = time.time()
    corpus = real_band_structures([CORPUS])
    ids = {b.material_id for b in corpus}
    base = corpus + [b for b in real_band_structures(REAL) if b.material_id not in ids]
    modes = {
        "overlay": ("small", RenderSettings(size=112)),
        "channels": ("small-spin", RenderSettings(size=112, spins="channels")),
    }
    images = {m: render_band_images(base, st) for m, (_, st) in modes.items()}
    ch = images["channels"]
    magnetic = [i for i, b in enumerate(base) if b.nspin == 2 and not (ch[i, 0] == ch[i, 1]).all()]
    polarised = sum(b.nspin == 2 for b in base)
    names = [
        b.material_id if i < len(corpus) else f"{b.material_id} ({b.source_format})"
        for i, b in enumerate(base)
    ]
    print(
        f"base set: {len(base)} real band structures ({len(corpus)} GPAW corpus); "
        f"{polarised} spin-polarised, {len(magnetic)} magnetic (spin channels differ): "
        + ", ".join(names[i] for i in magnetic)
    )

    zoo = sample_zoo(args.zoo, seed=0) if args.zoo else []
    models = {}
    for mode, (preset, st) in modes.items():
        t = time.perf_counter()
        fp = Fingerprinter(preset=preset, render=st, epochs=args.epochs, progress=False)
        fp.fit(base + zoo, data_note="bench_render_spins")
        models[mode] = fp
        h = fp.history_[-1]
        print(
            f"trained {preset} on {len(base) + len(zoo)} images, {args.epochs} epochs: "
            f"validation BCE {h['val_bce']:.4f} ({time.perf_counter() - t:.0f} s)"
        )
    vectors = {m: models[m].transform(images[m]) for m in modes}

    rng = np.random.default_rng(0)
    twins = {k: make_twins(base, k, rng) for k in KINDS}
    print(
        f"\n{'kind':8} {'n':>4} {'n mag':>5} | image distance: overlay / channels, all (magnetic)"
        " | fingerprints: overlay / channels, all (magnetic)"
    )
    table = []
    for kind, pairs in twins.items():
        owners = np.array([i for i, _ in pairs])
        mag = np.isin(owners, magnetic)
        cells = []
        for space in ("image", "fingerprint"):
            for mode, (_, st) in modes.items():
                timg = render_band_images([t for _, t in pairs], st)
                if space == "image":
                    hit = nearest_images(images[mode], timg)
                else:
                    hit = nearest(vectors[mode], models[mode].transform(timg))
                ok = hit == owners
                cells.append((ok.mean(), ok[mag].mean() if mag.any() else float("nan")))
        table.append((kind, len(pairs), int(mag.sum()), cells))
        text = " | ".join(
            f"{a[0]:.3f} / {b[0]:.3f} ({a[1]:.2f} / {b[1]:.2f})"
            for a, b in (cells[0:2], cells[2:4])
        )
        print(f"{kind:8} {len(pairs):4d} {int(mag.sum()):5d} | {text}")

    print("\nnearest other base material of each magnetic one (overlay → channels):")
    changed = {"image": 0, "fingerprint": 0}
    for i in magnetic:
        line = []
        for space in ("image", "fingerprint"):
            nn = []
            for mode in modes:
                if space == "image":
                    d = jaccard(images[mode][i : i + 1], images[mode])[0]
                else:
                    d = pairwise_distances(vectors[mode][i : i + 1], vectors[mode], p=P_DEFAULT)[0]
                d[i] = np.inf
                nn.append(int(d.argmin()))
            changed[space] += nn[0] != nn[1]
            line.append(f"{space}: {names[nn[0]]} → {names[nn[1]]}")
        print(f"  {names[i]}: " + "; ".join(line))
    print(
        f"changed: {changed['image']} of {len(magnetic)} by image distance, "
        f"{changed['fingerprint']} of {len(magnetic)} by fingerprint"
    )

    print("\nmagnetic material vs its non-magnetic double (both spins' bands in one channel):")
    for i in magnetic:
        dbl = union_double(base[i])
        out = []
        for mode, (_, st) in modes.items():
            img = render_band_images([dbl], st)
            v = models[mode].transform(img)
            d_pair = pairwise_distances(vectors[mode][i : i + 1], v, p=P_DEFAULT)[0, 0]
            d_all = pairwise_distances(vectors[mode][i : i + 1], vectors[mode], p=P_DEFAULT)[0]
            d_all[i] = np.inf
            px = int(hamming(images[mode][i : i + 1], img)[0, 0])
            out.append(f"{mode}: {px} px, fingerprint {d_pair / d_all.min():.2f} × nearest")
        print(f"  {names[i]}: " + "; ".join(out))
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
