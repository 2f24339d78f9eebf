"""Do clusters follow lattice families, and does ``duplicates`` find planted near-copies?

    python bench/bench_cluster_quality.py [--n 2000] [--dups 40] [--seed 1] [--model FILE]

Data: ``bandprint.zoo.sample_zoo(n, seed)`` (all families in turn; seed 1 = parameter draws
the shipped model was not trained on) plus ``--dups`` near-duplicates made by
``zoo.near_duplicate`` (energies stretched by up to 3 % about E_F and a few-meV ripple; its
uniform strain of up to 2 % does not show in the picture) and ``--twins`` made by
``zoo.perturbed_twin`` (the same model with every parameter changed by up to ±3 % and
rediagonalised, so band shapes change), all fingerprinted with the shipped model.

Clustering (HDBSCAN, min cluster size 5, min samples 2, duplicates left out; the default
settings and variants: no cap on cluster size, λ without the root, leaf selection): adjusted Rand
index, NMI, homogeneity (is each cluster one family?) and completeness (is each family one
cluster?) between cluster labels and lattice families on the clustered points, the
unclassified fraction, and retrieval precision@5 (fraction of each sample's 5 nearest others,
all samples, of its own family; chance ≈ 1/15), for p = 0.2 (the ℓp metric, bandprint's
default), p = 0.2 with the 1/p root (λ from the Minkowski form) and Euclidean.

Duplicates (all samples + near-copies, default calibrated threshold, K = 5): precision and
recall of the planted (original, copy) pairs, overall and per kind, for p = 0.2, 1 and 2 (the
default).

``--structures``: the zoo samples (with their crystal structures) in a workspace, clustered
and mapped (``cluster_workspace``), then ``structure_workspace``: CrystalNN structure clusters
and how many are localised in the electronic map (the paper's "18 of 45"), at a false-discovery
rate of 5 % and, for comparison, uncorrected.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def fingerprints(n: int, dups: int, twins: int, seed: int, model: str | None, cache: Path | None):
    from bandprint.fingerprint import load_fingerprinter
    from bandprint.zoo import near_duplicate, perturbed_twin, sample_zoo

    fp = load_fingerprinter(model)
    if cache is not None and cache.is_file():
        z = np.load(cache, allow_pickle=False)
        # A cache of another seed or model, or without its seed, is not these samples.
        same_seed = "seed" in z.files and int(z["seed"]) == seed
        if same_seed and str(z["model"]) == fp.model_id_ and len(z["family"]) == n + dups + twins:
            print(f"fingerprints from {cache}")
            return z["X"], list(z["family"]), list(z["ids"]), list(z["formula"]), fp.model_id_
    t0 = time.perf_counter()
    bss = sample_zoo(n, seed=seed, with_structure=False)
    rng = np.random.default_rng([seed, 17])
    picks = rng.choice(n, dups, replace=False)
    copies = [near_duplicate(bss[i], rng) for i in picks]
    # Twins of other samples than the copies, so every planted pair is one original + one copy.
    rest = np.setdiff1d(np.arange(n), picks)
    copies += [perturbed_twin(bss[i], rng) for i in rng.choice(rest, twins, replace=False)]
    all_bs = bss + copies
    X = fp.transform(all_bs)
    print(f"{len(all_bs)} samples rendered and encoded in {time.perf_counter() - t0:.0f} s")
    family = [b.metadata["family"] for b in all_bs]
    ids = [b.material_id for b in all_bs]
    formula = [b.formula or "" for b in all_bs]
    if cache is not None:
        np.savez(cache, X=X, family=family, ids=ids, formula=formula, model=fp.model_id_, seed=seed)
    return X, family, ids, formula, fp.model_id_


def precision_at_k(X: np.ndarray, labels: np.ndarray, p: float, k: int = 5) -> float:
    from bandprint.analyse.search import exact_knn

    idx, _ = exact_knn(X, k + 1, p)
    nbrs = idx[:, 1:]  # the sample itself first
    return float((labels[nbrs] == labels[:, None]).mean())


def main() -> None:
    from sklearn.metrics import (
        adjusted_rand_score,
        homogeneity_completeness_v_measure,
        normalized_mutual_info_score,
    )

    from bandprint.analyse.cluster import cluster_fingerprints
    from bandprint.analyse.duplicates import find_duplicates

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--dups", type=int, default=40)
    ap.add_argument("--twins", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", default=None)
    ap.add_argument(
        "--cache", type=Path, default=Path(__file__).parent / "out" / "cluster_quality_fp.npz"
    )
    ap.add_argument("--structures", action="store_true")
    args = ap.parse_args()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    X, family, ids, formula, model = fingerprints(
        args.n, args.dups, args.twins, args.seed, args.model, args.cache
    )
    n = args.n
    fam = np.array(family)
    print(
        f"model {model}; {n} zoo samples, {len(set(family))} families, {args.dups} stretched "
        f"copies, {args.twins} perturbed-parameter twins\n"
    )

    print("| distance | clusters | unclassified | ARI | NMI | homogeneity | completeness "
          "| precision@5 | time |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, p, root, cap, method in [
        ("p = 0.2 (default: root, cap ½, eom)", 0.2, True, 0.5, "eom"),
        ("p = 0.2, no cap (plain hdbscan eom)", 0.2, True, 1.0, "eom"),
        ("p = 0.2, ℓp metric λ (no root), cap ½", 0.2, False, 0.5, "eom"),
        ("p = 0.2, leaf selection", 0.2, True, 1.0, "leaf"),
        ("Euclidean, cap ½", 2.0, False, 0.5, "eom"),
        ("Euclidean, no cap", 2.0, False, 1.0, "eom"),
    ]:
        t0 = time.perf_counter()
        r = cluster_fingerprints(
            X[:n], 5, 2, p, root=root, max_cluster_fraction=cap, cluster_selection_method=method
        )
        dt = time.perf_counter() - t0
        ok = r.labels >= 0
        ari = adjusted_rand_score(fam[:n][ok], r.labels[ok])
        nmi = normalized_mutual_info_score(fam[:n][ok], r.labels[ok])
        hom, com, _ = homogeneity_completeness_v_measure(fam[:n][ok], r.labels[ok])
        prec = precision_at_k(X[:n], fam[:n], p)
        print(
            f"| {name} | {r.n_clusters} | {r.n_unclassified / n:.1%} | {ari:.3f} | {nmi:.3f} "
            f"| {hom:.3f} | {com:.3f} | {prec:.3f} | {dt:.1f} s |"
        )

    print("\n| distance | threshold (× median NN) | pairs found | planted found | precision "
          "| recall | recall: copies / twins |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- |")
    kinds = {"copies": "-dup", "twins": "-twin"}
    planted = {
        kind: {tuple(sorted((i, i[: -len(sfx)]))) for i in ids if i.endswith(sfx)}
        for kind, sfx in kinds.items()
    }
    truth = planted["copies"] | planted["twins"]
    for name, p in [("p = 0.2", 0.2), ("p = 1", 1.0), ("Euclidean (default)", 2.0)]:
        res = find_duplicates(ids, X, formula, p=p)
        t = res.table
        found = {tuple(sorted(ab)) for ab in zip(t.material_id_1, t.material_id_2, strict=True)}
        hit = len(found & truth)
        precision = hit / len(found) if found else float("nan")
        by_kind = " / ".join(
            f"{len(found & pairs)}/{len(pairs)}" for pairs in planted.values() if pairs
        )
        print(
            f"| {name} | {res.threshold:.4g} ({res.threshold / res.median_nn_distance:.2f}) "
            f"| {len(found)} | {hit}/{len(truth)} | {precision:.3f} | {hit / len(truth):.3f} "
            f"| {by_kind} |"
        )
        # Where the planted pairs and the closest distinct pairs lie, in units of the median.
        pos = {m: i for i, m in enumerate(ids)}
        from bandprint.analyse.search import pairwise_distances

        pd_planted = [
            float(pairwise_distances(X[[pos[a]]], X[[pos[b]]], p=p)[0, 0]) for a, b in truth
        ]
        print(
            f"|  | planted pairs: {np.min(pd_planted) / res.median_nn_distance:.2f}–"
            f"{np.max(pd_planted) / res.median_nn_distance:.2f} × median NN; closest 1 % of "
            f"NN distances below {np.quantile(res.nn_distance, 0.01) / res.median_nn_distance:.2f}"
            " |  |  |  |  |  |"
        )

    if args.structures:
        structures(args.n, args.seed, X[:n], ids[:n])


def structures(n: int, seed: int, X: np.ndarray, ids: list[str]) -> None:
    import tempfile

    from bandprint.store import Workspace
    from bandprint.workflows.cluster import cluster_workspace
    from bandprint.workflows.structure import structure_workspace
    from bandprint.zoo import sample_zoo

    bss = sample_zoo(n, seed=seed)
    assert [b.material_id for b in bss] == ids
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", create=True)
        ws.add_band_structures([(b, b.material_id, "x") for b in bss])
        ws.write_fingerprints("zoo", ids, X)
        run = cluster_workspace(ws)
        t0 = time.perf_counter()
        st = structure_workspace(ws)
        dt = time.perf_counter() - t0
    loc = st.localisation
    print(
        f"\nstructures: {st.meta['n']} ({st.meta['n_failed']} failed), {st.n_clusters} structure "
        f"clusters, {st.n_localised} localised in the electronic map "
        f"({run.n_clusters} electronic clusters, {run.meta['n_groups']} map groups); "
        f"CrystalNN + clustering {dt:.0f} s"
    )
    if len(loc):
        raw = loc.p_value < 0.05
        print(
            f"uncorrected p < 0.05: {int(raw.sum())} of {len(loc)} (chance alone: "
            f"~{0.05 * len(loc):.0f}); smallest p {loc.p_value.min():.4f}, smallest q "
            f"{loc.q_value.min():.3f}; median relative spread: localised "
            f"{loc[loc.localised].relative_spread.median():.3f}, others "
            f"{loc[~loc.localised].relative_spread.median():.3f}, p < 0.05 "
            f"{loc[raw].relative_spread.median():.3f}"
        )


if __name__ == "__main__":
    main()
