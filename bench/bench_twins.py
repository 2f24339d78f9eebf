"""One material, one picture: twin recall@1 before and after canonical paths, energy reference
and slab detection.

    python bench/bench_twins.py [--corpus DIR] [--zoo 0] [--references] [--extra DIR ...]

Originals (the base set): every band structure of the GPAW corpus (``corpus/gpaw-2d/bands``,
read with bandprint's readers as it grows) and every real band structure that reads from the
shared real-format folders, ``tests/data/real`` and ``tests/data/c2db`` (one copy of each;
``--extra`` adds folders), and ``--zoo`` held-out zoo samples (seed 1; the shipped model saw
seed 0; none by default, the figure asked for is on real materials). Band structures without
a labelled path (a k-point grid) are left out. For each original, twins from
``bandprint.twins``: ``path`` (segments shuffled and reversed), ``labels`` (respelt, 30 % of
segment ends blank), ``density`` (every second k-point), ``efermi`` (E_F moved to a random
place inside the gap, 10–90 %; insulators only) and ``slab`` (2-D flag dropped, cell axes
permuted so the vacuum is along a1; slabs with a structure only).

Each twin kind is scored under

* ``before``: the rendering of the previous release (path as written, energies from E_F,
  2-D only where the reader flags it: the twins' structure is withheld),
* ``after-midgap``: canonical path, slab detection, the default energy reference (mid-gap);
  with ``--references`` also ``after-fermi`` and ``after-vbm``.

Figures per kind and setting: pixel agreement of twin and original (mean, minimum, share at
≥ 99 %) and recall@1: the twin's nearest fingerprint (shipped model, ℓ0.2 as ``similar``)
among all originals and all twins of that kind is its original. The corpus holds other
calculations of some materials (``<name>--settings``, ``<name>--strain1``), and the real
samples several of Si, Fe and ZnO; a twin whose nearest is such a sibling (or a sibling's
twin) counts as a miss, and the misses that went to a sibling are counted apart
(``material_of``). The run ends with the table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus/gpaw-2d/bands"
REAL = [
    ROOT.parent / "shared/data/real-formats",
    ROOT / "tests/data/real",
    ROOT / "tests/data/c2db",
]
KIND_NAMES = {
    "path": "path order and direction",
    "labels": "label spelling, missing labels",
    "density": "half the k-points",
    "efermi": "E_F inside the gap",
    "slab": "slab without 2-D flag",
}


def material_of(bs) -> str:
    """The material a calculation is of: its reduced formula when the reader gives one (Si
    from Materials Project, matminer and a VASP run are one material), else its id without a
    corpus variant suffix (``2H-MX2_WS2--settings`` → ``2H-MX2_WS2``)."""
    formula = bs.formula or (bs.structure.composition.reduced_formula if bs.structure else None)
    return formula or bs.material_id.split("--")[0]


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


def nearest(x_orig: np.ndarray, x_twin: np.ndarray) -> np.ndarray:
    """For each twin, the index of its nearest other fingerprint (ℓ0.2, as ``similar``) among
    all originals (``0..n-1``) and twins (``n..``); a tie goes to the original (listed first)."""
    from bandprint.analyse.search import P_DEFAULT, pairwise_distances

    gallery = np.concatenate([x_orig, x_twin])
    d = pairwise_distances(x_twin, gallery, p=P_DEFAULT)
    n = len(x_orig)
    d[np.arange(len(x_twin)), n + np.arange(len(x_twin))] = np.inf  # not itself
    return d.argmin(axis=1)


def recall_at_1(x_orig: np.ndarray, x_twin: np.ndarray, owners: list[int]) -> float:
    """Share of twins whose nearest other fingerprint is their original (``nearest``)."""
    return float((nearest(x_orig, x_twin) == np.asarray(owners)).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default=str(CORPUS), help="the GPAW corpus's bands folder")
    ap.add_argument("--zoo", type=int, default=0, help="held-out zoo samples to add")
    ap.add_argument("--seed", type=int, default=1, help="the zoo samples' seed")
    ap.add_argument("--extra", nargs="*", default=[], help="more folders of real files")
    ap.add_argument(
        "--references", action="store_true", help="also score the fermi and vbm references"
    )
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.zoo.dataset import sample_zoo

    t0 = time.time()
    corpus = real_band_structures([Path(args.corpus)])
    corpus_ids = {b.material_id for b in corpus}
    others = [
        b
        for b in real_band_structures(REAL + [Path(e) for e in args.extra])
        if b.material_id not in corpus_ids
    ]
    zoo = sample_zoo(args.zoo, seed=args.seed) if args.zoo else []
    originals = corpus + others + zoo
    n_real = len(corpus) + len(others)
    n_corpus_materials = len({b.material_id.split("--")[0] for b in corpus})
    magnetic = sum(b.nspin == 2 for b in corpus + others)
    print(
        f"base set: {n_real} real band structures ({len(corpus)} GPAW corpus files of "
        f"{n_corpus_materials} materials, {len(others)} real samples of other codes; "
        f"{magnetic} spin-polarised) + {len(zoo)} zoo = {len(originals)} originals "
        f"({time.time() - t0:.0f} s to read)"
    )
    fp = load_default_fingerprinter()
    rng = np.random.default_rng(0)
    base = fp.render_settings  # the model's image size and window
    references = ("fermi", "vbm", "midgap") if args.references else ("midgap",)
    settings = {
        "before": replace(base, canonical_path=False, energy_reference="fermi"),
        **{
            f"after-{r}": replace(base, canonical_path=True, energy_reference=r) for r in references
        },
    }
    # The previous release drew a slab as 2-D only when the reader flagged it.
    no_structure = [replace(b, structure=None) for b in originals]
    # Render times in CPU seconds of this process: the machine is shared.
    images, seconds, twin_seconds, n_twins = {}, {}, dict.fromkeys(settings, 0.0), 0
    for name, st in settings.items():
        t = time.process_time()
        images[name] = render_all(no_structure if name == "before" else originals, st)
        seconds[name] = time.process_time() - t
    vectors = {name: fp.transform(img) for name, img in images.items()}
    siblings = [material_of(b) for b in originals]
    print(
        f"{'kind':8} {'setting':13} {'n':>4} {'agree mean':>10} {'min':>7} {'≥99 %':>6} "
        f"{'recall@1':>8} {'misses to a sibling':>20}"
    )
    rows: dict[str, dict[str, tuple]] = {}
    for kind in KIND_NAMES:
        pairs = make_twins(originals, kind, rng)
        if not pairs:
            continue
        owners = [i for i, _ in pairs]
        tw = [t for _, t in pairs]
        n_twins += len(tw)
        rows[kind] = {}
        for name, st in settings.items():
            drawn = [replace(t, structure=None) for t in tw] if name == "before" else tw
            t = time.process_time()
            twin_img = render_all(drawn, st)
            twin_seconds[name] += time.process_time() - t
            agree = (images[name][owners] == twin_img).mean(axis=(1, 2))
            hit = nearest(vectors[name], fp.transform(twin_img))
            r1 = float((hit == np.asarray(owners)).mean())
            # A hit beyond the originals is a twin: of the original owners[h - n].
            of = [int(h) if h < len(originals) else owners[int(h) - len(originals)] for h in hit]
            to_sibling = sum(
                int(h) != o and siblings[w] == siblings[o]
                for h, w, o in zip(hit, of, owners, strict=True)
            )
            rows[kind][name] = (len(tw), agree.mean(), agree.min(), r1)
            print(
                f"{kind:8} {name:13} {len(tw):4d} {agree.mean():10.4f} {agree.min():7.4f} "
                f"{(agree >= 0.99).mean():6.2f} {r1:8.3f} {to_sibling:20d}"
            )
    for name in settings:
        if name == "before":
            continue
        same = (images[name] == images["before"]).mean(axis=(1, 2))
        print(
            f"originals, {name} vs before: pixel agreement mean {same.mean():.4f}, "
            f"identical images {(same == 1).mean():.2f}"
        )
    for name, sec in seconds.items():
        print(
            f"rendering, {name}: the {len(originals)} originals {sec:.2f} CPU s "
            f"({len(originals) / sec:.0f} images/s, first sight of every cell), their "
            f"{n_twins} twins {twin_seconds[name]:.2f} CPU s "
            f"({n_twins / twin_seconds[name]:.0f} images/s)"
        )
    print(f"total {time.time() - t0:.0f} s\n")
    print(
        f"Base set: {n_real} real band structures ({len(corpus)} GPAW corpus, "
        f"{len(others)} other codes){f' + {len(zoo)} zoo' if zoo else ''}.\n"
    )
    after = [name for name in settings if name != "before"]
    print(
        "| twin kind | n | before: agreement mean / min, recall@1 | "
        + " | ".join(f"{name.replace('-', ', ')}" for name in after)
        + " |"
    )
    print("| --- | ---: | --- |" + " --- |" * len(after))
    for kind, by_setting in rows.items():
        cells = [
            f"{m:.3f} / {lo:.3f}, **{r:.3f}**"
            if i in (0, len(settings) - 1)
            else f"{m:.3f} / {lo:.3f}, {r:.3f}"
            for i, (_, m, lo, r) in enumerate(by_setting.values())
        ]
        n = next(iter(by_setting.values()))[0]
        print(f"| {KIND_NAMES[kind]} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
