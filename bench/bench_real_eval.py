"""Honest evaluation on real DFT: fingerprints of the GPAW corpus that no model trained on.

    python bench/bench_real_eval.py [--model M ...] [--holdout FILE] [--split material|prototype]

Data: every band structure in ``corpus/gpaw-2d/bands`` (real PBE calculations) and the real
samples in ``tests/data/real``. A model is evaluated only on corpus materials it never saw in
any form: ``--holdout FILE`` (one material id per line, twins follow their material) limits
the corpus to those ids; ``--split material|prototype`` to the held-out side of that split
(``bandprint.compute.corpus``: whole twin groups, or whole prototypes, chosen by a hash of the
id, so the split stays put as the corpus grows); without either the whole corpus is used, which
is held out for the shipped models (trained on the zoo and five real samples, never on the
corpus).

Representations, each compared with Minkowski p = 0.2 (Σ|Δ|^0.2) and Euclidean distance:

* learned fingerprints of each ``--model`` (default: the shipped model),
* raw pixels: the model's 0/1 input image average-pooled to 16 × 16,
* eigenvalue vector: the 8 bands nearest the energy zero the images use (mid-gap for
  insulators, E_F for metals; 4 below, 4 above), each resampled at 32 evenly spaced points
  along the canonical path, relative to that zero (256 values),
* matminer's ``BandFeaturizer`` (insulators only; matminer raises on metals).

Metrics:

* **BCE ratio** (models): per image, the model's reconstruction BCE ÷ the BCE of the best
  constant guess for that image; the median. 1.0 means nothing learned.
* **twin recall@1**: a settings or strain twin's nearest neighbour (among all other corpus
  entries) is its original material.
* **prototype precision@1**: the nearest neighbour outside the material's own twin group has
  the same prototype (chance: the share of same-prototype pairs).
* **ARI / NMI**: bandprint's HDBSCAN (min cluster size 5, min samples 2, p = 0.2) on the
  materials (twins left out) against their prototypes; unclassified points count as one label.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "gpaw-2d" / "bands"
REAL = ROOT / "tests" / "data" / "real"


def load_eval_corpus(holdout: set[str] | None, split: str | None) -> list:
    """The corpus entries to evaluate on: all, the twin groups listed in ``holdout``, or the
    held-out side of ``split`` (``bandprint.compute.corpus.held_out``)."""
    from bandprint.compute.corpus import held_out, load_corpus, twin_group

    bss = load_corpus(CORPUS)
    if split is not None:
        bss = [b for b, m in zip(bss, held_out(bss, split), strict=True) if m]
    if holdout is not None:
        bss = [b for b in bss if twin_group(b) in holdout]
    return bss


def distances(x: np.ndarray, p: float) -> np.ndarray:
    x = np.asarray(x, np.float64)
    diff = np.abs(x[:, None, :] - x[None, :, :])
    d = np.sqrt((diff**2).sum(-1)) if p == 2 else (diff**p).sum(-1)
    np.fill_diagonal(d, np.inf)
    return d


def eigen_vector(bs, n_bands: int = 8, n_points: int = 32) -> np.ndarray:
    """Sorted band energies nearest the energy zero on a fixed grid of path positions."""
    from bandprint.render import prepare_band_structure, reference_energy

    bs, _ = prepare_band_structure(bs)  # canonical path, as the images are drawn
    e = np.concatenate(list(bs.energies), axis=1)  # spins side by side: [k, 2·bands]
    e = np.sort(e, axis=1) - reference_energy(bs)
    x = bs.distances / max(bs.distances[-1], 1e-12)
    grid = np.linspace(0, 1, n_points)
    below = (e <= 1e-6).sum(axis=1).min()
    lo = max(0, below - n_bands // 2)
    cols = []
    for b in range(lo, lo + n_bands):
        band = e[:, b] if b < e.shape[1] else np.full(len(x), 10.0)
        cols.append(np.interp(grid, x, band))
    return np.clip(np.concatenate(cols), -10, 10)


def matminer_vectors(bss: list) -> tuple[np.ndarray, np.ndarray]:
    from matminer.featurizers.bandstructure import BandFeaturizer

    feat = BandFeaturizer(kpoints=[np.array([0, 0, 0]), np.array([0.5, 0, 0])], nbands=2)
    rows, vecs = [], []
    for i, bs in enumerate(bss):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = np.asarray(feat.featurize(bs.to_pymatgen()), dtype=np.float64)
        except Exception:  # metals and pymatgen's get_cbm failures
            continue
        if np.all(np.isfinite(v)):
            rows.append(i)
            vecs.append(v)
    v = np.array(vecs)
    return np.array(rows, dtype=np.int64), (v - v.mean(0)) / (v.std(0) + 1e-12)


def twin_recall(d: np.ndarray, ids: list[str], bss: list, kind: str) -> tuple[float, int]:
    index = {m: i for i, m in enumerate(ids)}
    hits, n = 0, 0
    for i, bs in enumerate(bss):
        if bs.metadata.get("twin_kind") != kind or bs.metadata["twin_of"] not in index:
            continue
        n += 1
        hits += int(np.argmin(d[i]) == index[bs.metadata["twin_of"]])
    return (hits / n if n else float("nan")), n


def prototype_precision(d: np.ndarray, groups: np.ndarray, protos: np.ndarray) -> float:
    d = d.copy()
    d[groups[:, None] == groups[None, :]] = np.inf
    best = d.argmin(1)
    return float((protos[best] == protos).mean())


def chance(protos: np.ndarray) -> float:
    _, c = np.unique(protos, return_counts=True)
    n = len(protos)
    return float((c * (c - 1)).sum() / (n * (n - 1)))


def cluster_scores(x: np.ndarray, protos: np.ndarray) -> tuple[float, float, int]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from bandprint.analyse.cluster import cluster_fingerprints

    res = cluster_fingerprints(np.asarray(x, np.float32), 5, 2)
    labels = res.labels
    return (
        adjusted_rand_score(protos, labels),
        normalized_mutual_info_score(protos, labels),
        int(labels.max() + 1),
    )


def bce_ratios(fp, bss: list) -> np.ndarray:
    images = fp.images(bss).astype(np.float64)
    rec = np.clip(fp.reconstruct(bss).astype(np.float64), 1e-7, 1 - 1e-7)
    bce = -(images * np.log(rec) + (1 - images) * np.log(1 - rec)).mean(axis=(1, 2))
    p = np.clip(images.mean(axis=(1, 2)), 1e-7, 1 - 1e-7)
    const = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return bce / const


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=None, help="model file(s)")
    ap.add_argument("--holdout", default=None, help="file of held-out material ids")
    ap.add_argument(
        "--split",
        choices=["material", "prototype"],
        default=None,
        help="evaluate on the held-out side of this corpus split only",
    )
    args = ap.parse_args()
    from bandprint.errors import BandprintError
    from bandprint.fingerprint import default_model_path, load_fingerprinter
    from bandprint.read import discover_sources, read_source

    holdout = set(Path(args.holdout).read_text().split()) if args.holdout else None
    t0 = time.time()
    bss = load_eval_corpus(holdout, args.split)
    ids = [b.material_id for b in bss]
    groups = np.array([b.metadata.get("twin_of", b.material_id) for b in bss])
    protos = np.array([b.metadata["prototype"] for b in bss])
    base = np.array(["twin_of" not in b.metadata for b in bss])
    n_set = sum(b.metadata.get("twin_kind") == "settings" for b in bss)
    n_strain = sum(b.metadata.get("twin_kind") == "strain" for b in bss)
    print(
        f"corpus: {base.sum()} materials, {len(set(protos))} prototypes, {n_set} settings "
        f"twins, {n_strain} strain twins; prototype chance {chance(protos[base]):.3f}\n"
    )

    reps: dict[str, np.ndarray] = {}
    models = args.model or [str(default_model_path())]
    fps = {}
    for m in models:
        fp = load_fingerprinter(m, device="cpu")
        name = f"model {Path(m).stem}"
        fps[name] = fp
        reps[name] = fp.transform(bss)
    first = next(iter(fps.values()))
    imgs = first.images(bss).astype(np.float32)
    s = imgs.shape[1]
    reps["raw pixels 16×16"] = (
        imgs.reshape(len(bss), 16, s // 16, 16, s // 16).mean((2, 4)).reshape(len(bss), -1)
    )
    reps["eigenvalue vector"] = np.array([eigen_vector(b) for b in bss])

    print(
        "| representation | distance | settings-twin recall@1 | strain-twin recall@1 | "
        "prototype precision@1 | ARI | NMI | clusters |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, x in reps.items():
        for p, pname in ((0.2, "p = 0.2"), (2, "Euclidean")):
            d = distances(x, p)
            r_set, _ = twin_recall(d, ids, bss, "settings")
            r_strain, _ = twin_recall(d, ids, bss, "strain")
            prec = prototype_precision(d[np.ix_(base, base)], groups[base], protos[base])
            ari, nmi, k = cluster_scores(x[base], protos[base]) if p == 0.2 else (np.nan,) * 3
            print(
                f"| {name} | {pname} | {r_set:.3f} | {r_strain:.3f} | {prec:.3f} | "
                f"{ari:.3f} | {nmi:.3f} | {k if p == 0.2 else ''} |"
            )
    rows, mm = matminer_vectors(bss)
    sub = np.zeros(len(bss), bool)
    sub[rows] = True
    if sub[base].sum() > 2:
        for name, x in [("matminer BandFeaturizer", None), *reps.items()]:
            xx = mm if x is None else x[rows]
            d = distances(xx, 2)
            b = base[rows]
            prec = prototype_precision(d[np.ix_(b, b)], groups[rows][b], protos[rows][b])
            print(
                f"| {name} (insulators matminer featurises, n = {b.sum()}) | Euclidean | | | "
                f"{prec:.3f} | | | |"
            )

    print(
        "\n| model | median BCE ratio, corpus | real samples (the zoo-trained small-b01e50ea57 "
        "trained on Cu, CaO, InN, Si, VBr2; the corpus-trained models on none) |"
    )
    print("| --- | --- | --- |")
    real = []
    for src in discover_sources([REAL]):
        try:
            real.extend(read_source(src))
        except BandprintError:  # the deliberately partial samples (e.g. one spin of Fe)
            continue
    for name, fp in fps.items():
        ratios = bce_ratios(fp, bss)
        rr = bce_ratios(fp, real)
        per = ", ".join(f"{b.material_id} {r:.2f}" for b, r in zip(real, rr, strict=True))
        print(f"| {name} | {np.median(ratios):.3f} | {per} |")
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
