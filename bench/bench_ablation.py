"""Ablation of the fingerprint recipe on a fixed snapshot of the GPAW corpus, scored on
held-out materials the model never saw in any form.

    python bench/bench_ablation.py [--only base,line-width-2,...] [--epochs 10] [--threads 1]
        [--combine line-width-2+weighted-bce] [--freeze] [--table] [--rescore]

Snapshot: ``bench/ablation-snapshot.txt`` lists the corpus entries (materials and their
twins) every run uses, so the table stays comparable while the corpus grows; ``--freeze``
writes it from the corpus as it is now. Split: ``bandprint.compute.corpus.held_out(…,
"material")`` on the snapshot (whole twin groups, by a hash of the id); every configuration
trains on the same training side and is scored on the same held-out side.

Each configuration changes one thing of ``base`` (the shipped recipe: small preset, 112 px,
1 px lines, ±4 eV window, spins overlaid, x by k-distance, plain BCE, the window moved by
±0.5 eV and by ``--jitter`` random offsets within ±0.05 eV as augmentation, plus
``--n-zoo`` tight-binding pictures and ``--n-stacks`` stacks of them); ``--combine A+B``
trains the union of named changes. ``base-seed1`` is ``base`` with another seed: the spread
between the two is the noise floor of one run. Models and per-configuration results go to
``bench/out/ablation/`` (a configuration already there with the same snapshot and arguments
is not retrained); ``--table`` prints the markdown table of everything there; ``--rescore``
scores every model there again (after a change to the scores) without training.

Scores on the held-out side (as ``bench_real_eval.py`` defines them): median BCE ratio (model
BCE ÷ best constant guess, per image; 1.0 = nothing learned), settings- and strain-twin
recall@1, prototype precision@1 of the nearest non-twin material, ARI of HDBSCAN clusters
against prototypes (p = 0.2 distances throughout), and the raw-pixel and eigenvalue-vector
baselines on the same entries. The held-out side is small (a fifth of the materials), so two
scores also place it among the whole snapshot, as a new material meets a database: prototype
precision@1 of each held-out material against every other snapshot material (the training
side included), twin recall@1 of the held-out twins searched among every snapshot entry, and
the ARI over the held-out materials of HDBSCAN run on all of them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_real_eval import (  # noqa: E402
    CORPUS,
    bce_ratios,
    cluster_scores,
    distances,
    eigen_vector,
    prototype_precision,
    twin_recall,
)

SNAPSHOT = ROOT / "bench" / "ablation-snapshot.txt"
OUT = ROOT / "bench" / "out" / "ablation"

#: One change each from ``base``: render settings, preset, loss, augmentation, data, pull.
CONFIGS: dict[str, dict] = {
    "base": {},
    "base-seed1": {"seed": 1},
    "line-width-2": {"line_width": 2},
    "line-width-3": {"line_width": 3},
    "window-2eV": {"window": (-2.0, 2.0)},
    "x-by-index": {"x_axis": "index"},
    "spin-channels": {"preset": "small-spin"},
    "weighted-bce": {"loss": "weighted-bce"},
    "focal": {"loss": "focal"},
    "bce+dice": {"loss": "bce+dice"},
    "no-augmentation": {"shifts": [], "jitter": 0},
    "no-zoo": {"n_zoo": 0, "n_stacks": 0},
    "twin-pull": {"pull": 0.1},
}


def snapshot_entries(snapshot: Path) -> list:
    from bandprint.compute.corpus import load_corpus

    wanted = set(snapshot.read_text().split())
    bss = [b for b in load_corpus(CORPUS) if b.material_id in wanted]
    missing = wanted - {b.material_id for b in bss}
    if missing:
        raise SystemExit(f"{snapshot}: {len(missing)} entries missing from {CORPUS}")
    return bss


def recipe(name: str, args: argparse.Namespace) -> dict:
    """The full recipe of configuration ``name`` (``A+B`` merges named changes)."""
    r = {
        "preset": "small",
        "line_width": 1,
        "window": (-4.0, 4.0),
        "x_axis": "distance",
        "loss": "bce",
        "shifts": [-0.5, 0.5],
        "jitter": args.jitter,
        "n_zoo": args.n_zoo,
        "n_stacks": args.n_stacks,
        "pull": 0.0,
        "seed": 0,
        "epochs": args.epochs,
    }
    for part in [name] if name in CONFIGS else name.split("+"):
        if part not in CONFIGS:
            raise SystemExit(f"unknown configuration {part!r}; choose from {', '.join(CONFIGS)}")
        r.update(CONFIGS[part])
    return r


def train(name: str, r: dict, train_bss: list, threads: int, out: Path) -> Path:
    import torch

    from bandprint.fingerprint import Fingerprinter
    from bandprint.model import preset_config
    from bandprint.render import RenderSettings
    from train_corpus_model import training_set

    torch.set_num_threads(threads)
    config = preset_config(r["preset"])
    settings = RenderSettings(
        size=config.input_size,
        line_width=r["line_width"],
        window=r["window"],
        x_axis=r["x_axis"],
        spins="channels" if config.channels == 2 else "both",
    )
    images, val, groups = training_set(
        train_bss, settings, r["shifts"], r["jitter"], r["n_zoo"], r["n_stacks"], r["seed"]
    )
    fp = Fingerprinter(
        preset=r["preset"],
        epochs=r["epochs"],
        random_state=r["seed"],
        loss=r["loss"],
        render=settings,
        pull_weight=r["pull"],
        progress=False,
    )
    print(f"[{name}] {len(images)} images ({int(val.sum())} validate)", flush=True)
    fp.fit(
        images,
        val_indices=np.flatnonzero(val),
        groups=groups if r["pull"] else None,
        data_note=f"bench_ablation {name}",
    )
    path = out / f"{name}.pt"
    fp.save(path, half=True)
    return path


def evaluate(x: np.ndarray, bss: list, held: np.ndarray, fp=None) -> dict:
    """Scores of the representation ``x`` of every snapshot entry ``bss`` (rows), where
    ``held`` marks the held-out side; ``fp``, a model, adds its median BCE ratio there.

    Held-out only: twin recall, prototype precision and ARI among the held-out entries alone.
    Against the corpus: each held-out material queried against every other snapshot material
    (training side included: a new material looked up in a database), and HDBSCAN run on all
    snapshot materials with the ARI taken over the held-out ones."""
    from sklearn.metrics import adjusted_rand_score

    from bandprint.analyse.cluster import cluster_fingerprints

    groups = np.array([b.metadata.get("twin_of", b.material_id) for b in bss])
    protos = np.array([b.metadata["prototype"] for b in bss])
    base = np.array(["twin_of" not in b.metadata for b in bss])
    h = np.flatnonzero(held)
    hb = held & base
    xh = x[h]
    d = distances(xh, 0.2)
    held_bss = [bss[i] for i in h]
    ids = [b.material_id for b in held_bss]
    ari, _, k = cluster_scores(xh[base[h]], protos[h][base[h]])
    d_all = distances(x[base], 0.2)
    in_held = held[base]
    # Held-out twins looked up among every snapshot entry (training side included).
    d_every = distances(x, 0.2)
    twins = [i for i in h if "twin_of" in bss[i].metadata]
    index = {b.material_id: i for i, b in enumerate(bss)}
    twin_hits = [int(d_every[i].argmin()) == index[bss[i].metadata["twin_of"]] for i in twins]
    nearest = prototype_precision_rows(d_all, groups[base], protos[base], in_held)
    labels = cluster_fingerprints(np.asarray(x[base], np.float32), 5, 2).labels
    out = {
        "settings_twin_recall": twin_recall(d, ids, held_bss, "settings")[0],
        "strain_twin_recall": twin_recall(d, ids, held_bss, "strain")[0],
        "prototype_precision": prototype_precision(
            d[np.ix_(base[h], base[h])], groups[h][base[h]], protos[h][base[h]]
        ),
        "ari": ari,
        "clusters": k,
        "prototype_precision_vs_corpus": nearest,
        "twin_recall_vs_corpus": float(np.mean(twin_hits)) if twin_hits else None,
        "ari_with_corpus": adjusted_rand_score(protos[base][in_held], labels[in_held]),
        "clusters_with_corpus": int(labels.max() + 1),
        "n_held_materials": int(hb.sum()),
    }
    if fp is not None:
        out["median_bce_ratio"] = float(np.median(bce_ratios(fp, held_bss)))
    return out


def prototype_precision_rows(
    d: np.ndarray, groups: np.ndarray, protos: np.ndarray, rows: np.ndarray
) -> float:
    """Share of the ``rows`` whose nearest entry outside their own twin group (distance
    matrix ``d`` over all entries) has their prototype."""
    d = d[rows].copy()
    d[groups[rows][:, None] == groups[None, :]] = np.inf
    return float((protos[d.argmin(1)] == protos[rows]).mean())


def baselines(shipped, bss: list) -> dict[str, np.ndarray]:
    """Raw pixels (the shipped model's image pooled to 16 × 16) and the eigenvalue vector."""
    imgs = shipped.images(bss).astype(np.float32)
    s = imgs.shape[1]
    pixels = imgs.reshape(len(bss), 16, s // 16, 16, s // 16).mean((2, 4))
    return {
        "raw pixels 16×16": pixels.reshape(len(bss), -1),
        "eigenvalue vector": np.array([eigen_vector(b) for b in bss]),
    }


def key_of(r: dict, snapshot: str) -> str:
    return hashlib.sha256(json.dumps([r, snapshot], sort_keys=True).encode()).hexdigest()[:12]


def table(out: Path) -> None:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    if not rows:
        print(f"nothing in {out} yet")
        return
    order = {n: i for i, n in enumerate(["raw pixels 16×16", "eigenvalue vector", *CONFIGS])}
    rows.sort(key=lambda r: (order.get(r["name"], len(order)), r["name"]))
    first = rows[0]
    print(
        f"snapshot {first['snapshot']}: {first['n_train']} training-side entries, held out "
        f"{first['n_held']} entries ({first['n_held_materials']} materials, "
        f"{first['n_settings']} settings twins, {first['n_strain']} strain twins)\n"
    )
    print(
        "| configuration | median BCE ratio | settings-twin recall@1 | strain-twin recall@1 | "
        "twin recall@1 (vs corpus) | prototype precision@1 (held out) | "
        "prototype precision@1 (vs corpus) | ARI (held out) "
        "| ARI (clustered with corpus) | clusters with corpus | train s |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def f(v: float | None) -> str:
        return "—" if v is None else f"{v:.3f}"

    for r in rows:
        s = r["scores"]
        secs = f"{r['train_seconds']:.0f}" if r.get("train_seconds") else "—"
        print(
            f"| {r['name']} | {f(s.get('median_bce_ratio'))} | "
            f"{f(s['settings_twin_recall'])} | {f(s['strain_twin_recall'])} | "
            f"{f(s.get('twin_recall_vs_corpus'))} | "
            f"{f(s['prototype_precision'])} | {f(s.get('prototype_precision_vs_corpus'))} | "
            f"{f(s['ari'])} | {f(s.get('ari_with_corpus'))} | "
            f"{s.get('clusters_with_corpus', '—')} | {secs} |"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="comma-separated configurations")
    ap.add_argument("--combine", action="append", default=[], help="A+B: a merged config")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--jitter", type=int, default=2)
    ap.add_argument("--n-zoo", type=int, default=400)
    ap.add_argument("--n-stacks", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--freeze", action="store_true", help="write the snapshot from the corpus")
    ap.add_argument("--table", action="store_true", help="print the table and stop")
    ap.add_argument(
        "--rescore", action="store_true", help="score every trained model again and stop"
    )
    ap.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    out = args.out
    if args.table:
        table(out)
        return
    from bandprint.compute.corpus import held_out, load_corpus
    from bandprint.fingerprint import Fingerprinter, load_default_fingerprinter

    if args.freeze:
        ids = sorted(b.material_id for b in load_corpus(CORPUS))
        args.snapshot.write_text("\n".join(ids) + "\n")
        print(f"{args.snapshot}: {len(ids)} entries")
    bss = snapshot_entries(args.snapshot)
    snapshot = hashlib.sha256(args.snapshot.read_bytes()).hexdigest()[:10]
    test = held_out(bss, "material")
    held = [b for b, t in zip(bss, test, strict=True) if t]
    train_bss = [b for b, t in zip(bss, test, strict=True) if not t]
    meta = {
        "snapshot": snapshot,
        "n_train": len(train_bss),
        "n_held": len(held),
        "n_held_materials": sum("twin_of" not in b.metadata for b in held),
        "n_settings": sum(b.metadata.get("twin_kind") == "settings" for b in held),
        "n_strain": sum(b.metadata.get("twin_kind") == "strain" for b in held),
    }
    out.mkdir(parents=True, exist_ok=True)

    def write(name: str, scores: dict, **extra) -> None:
        row = {"name": name, **meta, "scores": scores, **extra}
        (out / f"{name}.json").write_text(json.dumps(row, indent=1) + "\n")
        print(f"[{name}] {json.dumps(scores)}", flush=True)

    shipped = load_default_fingerprinter()
    if args.rescore or not (out / "raw pixels 16×16.json").exists():
        for name, x in baselines(shipped, bss).items():
            write(name, evaluate(x, bss, test))
        write("shipped model (zoo-trained)", evaluate(shipped.transform(bss), bss, test, shipped))
    if args.rescore:
        for path in sorted(out.glob("*.pt")):
            row = json.loads(path.with_suffix(".json").read_text())
            fp = Fingerprinter.load(path, device="cpu")
            extra = {k: row[k] for k in ("key", "recipe", "train_seconds")}
            write(path.stem, evaluate(fp.transform(bss), bss, test, fp), **extra)
        table(out)
        return

    names = args.only.split(",") if args.only else list(CONFIGS)
    for name in [*names, *args.combine]:
        r = recipe(name, args)
        key = key_of(r, snapshot)
        done = out / f"{name}.json"
        if done.exists() and json.loads(done.read_text()).get("key") == key:
            print(f"[{name}] already done")
            continue
        t0 = time.perf_counter()
        path = train(name, r, train_bss, args.threads, out)
        seconds = time.perf_counter() - t0
        fp = Fingerprinter.load(path, device="cpu")
        write(
            name,
            evaluate(fp.transform(bss), bss, test, fp),
            key=key,
            recipe=r,
            train_seconds=seconds,
        )
    table(out)


if __name__ == "__main__":
    main()
