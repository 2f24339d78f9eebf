"""One material, one picture: twin recall@1 before and after canonical paths, energy reference
and slab detection.

    python bench/bench_twins.py [--zoo 300] [--seed 1] [--extra DIR ...]

Originals: every real band structure that reads from ``tests/data/real``, ``tests/data/c2db``
and the shared real-format folders (``--extra`` adds folders, e.g. a DFT corpus), and
``--zoo`` held-out zoo samples (seed 1; the shipped model saw seed 0). Band structures without
a labelled path (a k-point grid) are left out. For each original, twins from
``bandprint.twins``: ``path`` (segments shuffled and reversed), ``labels`` (respelt, 30 % of
segment ends blank), ``density`` (every second k-point), ``efermi`` (E_F moved to a random
place inside the gap, 10–90 %; insulators only) and ``slab`` (2-D flag dropped, cell axes
permuted so the vacuum is along a1; slabs with a structure only).

Each twin kind is scored under

* ``before``: the rendering of the previous release (path as written, energies from E_F,
  2-D only where the reader flags it: the twins' structure is withheld),
* ``after-<ref>``: canonical path, slab detection, energy reference ``fermi``/``vbm``/``midgap``.

Figures per kind and setting: pixel agreement of twin and original (mean, minimum, share at
≥ 99 %) and recall@1: the twin's nearest fingerprint (shipped model, ℓ0.2 as ``similar``)
among all originals and all twins of that kind is its original.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = [
    ROOT / "tests/data/real",
    ROOT / "tests/data/c2db",
    ROOT.parent / "shared/data/real-formats",
]


def real_band_structures(folders: list[Path]) -> list:
    from bandprint.read import discover_sources, read_source

    out, seen = [], set()
    for src in discover_sources([f for f in folders if f.exists()], on_skip=lambda p, r: None):
        try:
            bss = read_source(src)
        except Exception as exc:
            print(f"  not read: {exc}")
            continue
        for bs in bss:
            key = (bs.material_id, bs.nkpoints, bs.nbands)
            if key not in seen and any(s.start_label for s in bs.segments):
                seen.add(key)
                out.append(bs)
    return out


def make_twins(bss: list, kind: str, rng: np.random.Generator) -> list[tuple[int, object]]:
    from bandprint import twins
    from bandprint.errors import BandprintError

    out = []
    for i, bs in enumerate(bss):
        try:
            if kind == "path":
                t = twins.path_twin(bs, rng)
            elif kind == "labels":
                t = twins.label_twin(bs, rng)
            elif kind == "density":
                t = twins.density_twin(bs)
            elif kind == "efermi":
                t = twins.efermi_twin(bs, float(rng.uniform(0.1, 0.9)))
            else:
                t = twins.slab_twin(bs)
        except BandprintError:
            continue
        out.append((i, t))
    return out


def render_all(bss: list, settings) -> np.ndarray:
    from bandprint.render import render_band_images

    return render_band_images(bss, settings)


def recall_at_1(x_orig: np.ndarray, x_twin: np.ndarray, owners: list[int]) -> float:
    """Share of twins whose nearest other fingerprint (ℓ0.2, as ``similar``) among all
    originals and twins is their original; a tie goes to the original (listed first)."""
    from bandprint.analyse.search import P_DEFAULT, pairwise_distances

    gallery = np.concatenate([x_orig, x_twin])
    d = pairwise_distances(x_twin, gallery, p=P_DEFAULT)
    n = len(x_orig)
    d[np.arange(len(x_twin)), n + np.arange(len(x_twin))] = np.inf  # not itself
    return float((d.argmin(axis=1) == np.asarray(owners)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--extra", nargs="*", default=[])
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.zoo.dataset import sample_zoo

    t0 = time.time()
    real = real_band_structures(REAL + [Path(e) for e in args.extra])
    zoo = sample_zoo(args.zoo, seed=args.seed)
    originals = real + zoo
    print(f"{len(real)} real + {len(zoo)} zoo originals ({time.time() - t0:.0f} s to read)")
    fp = load_default_fingerprinter()
    rng = np.random.default_rng(0)
    base = fp.render_settings  # the model's image size and window
    settings = {
        "before": replace(base, canonical_path=False, energy_reference="fermi"),
        **{
            f"after-{r}": replace(base, canonical_path=True, energy_reference=r)
            for r in ("fermi", "vbm", "midgap")
        },
    }
    # The previous release drew a slab as 2-D only when the reader flagged it.
    no_structure = [replace(b, structure=None) for b in originals]
    images, seconds = {}, {}
    for name, st in settings.items():
        t = time.perf_counter()
        images[name] = render_all(no_structure if name == "before" else originals, st)
        seconds[name] = time.perf_counter() - t
    vectors = {name: fp.transform(img) for name, img in images.items()}
    print(
        f"{'kind':8} {'setting':13} {'n':>4} {'agree mean':>10} {'min':>7} {'≥99 %':>6} "
        f"{'recall@1':>8}"
    )
    for kind in ("path", "labels", "density", "efermi", "slab"):
        pairs = make_twins(originals, kind, rng)
        if not pairs:
            continue
        owners = [i for i, _ in pairs]
        tw = [t for _, t in pairs]
        for name, st in settings.items():
            drawn = [replace(t, structure=None) for t in tw] if name == "before" else tw
            twin_img = render_all(drawn, st)
            agree = (images[name][owners] == twin_img).mean(axis=(1, 2))
            r1 = recall_at_1(vectors[name], fp.transform(twin_img), owners)
            print(
                f"{kind:8} {name:13} {len(tw):4d} {agree.mean():10.4f} {agree.min():7.4f} "
                f"{(agree >= 0.99).mean():6.2f} {r1:8.3f}"
            )
    for name in ("after-fermi", "after-vbm", "after-midgap"):
        same = (images[name] == images["before"]).mean(axis=(1, 2))
        print(
            f"originals, {name} vs before: pixel agreement mean {same.mean():.4f}, "
            f"identical images {(same == 1).mean():.2f}"
        )
    for name, sec in seconds.items():
        print(
            f"rendering the {len(originals)} originals, {name}: {sec:.1f} s "
            f"({len(originals) / sec:.0f} images/s; first sight of every cell)"
        )
    print(f"total {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
