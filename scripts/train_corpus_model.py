"""Train a fingerprint model on the GPAW corpus (plus zoo pictures) and score it on held-out
corpus materials it never saw in any form.

    python scripts/train_corpus_model.py [--split material|prototype] [--epochs 20]
        [--n-zoo 1200] [--n-stacks 600] [--jitter 4] [--shifts -0.5,0.5] [--threads 1]
        [--loss bce|weighted-bce|focal|bce+dice] [--line-width 1] [--pull 0]
        [--out bench/out/corpus-small.pt] [--dry-run]

Data (everything on the training side of ``--split``, see ``bandprint.compute.corpus``: whole
twin groups or whole prototypes, chosen by a hash of the id):

* every training-side corpus entry (materials and their twins), drawn as the model draws them
  (canonical path, mid-gap energy zero), and again with the energy window moved by each of
  ``--shifts`` eV and by ``--jitter`` random offsets within ±0.05 eV (E_F placement a
  fingerprint should not care about);
* ``--n-zoo`` tight-binding zoo samples (``bandprint.zoo.sample_zoo``, seed 0) and ``--n-stacks``
  decoupled stacks of them, as the shipped model's training uses (``train_default_model.py``):
  dense many-band pictures from physical spectra.

``--pull W`` adds the twin pull (``Fingerprinter(pull_weight=W)``, ``bandprint.fingerprint.
pull_loss``) over the same groups the validation split keeps whole: a corpus image's group is its
entry's twin group (so every window shift and every twin of one material pull together), a zoo
image's its material id (a zoo sample's only view), and each stack is its own group.

Validation during training: 10 % of the training-side groups (zoo samples and corpus twin
groups, each with every copy), never the held-out side. After training, the held-out side is
scored as ``bench/bench_real_eval.py --split`` scores it (median BCE ratio; twin recall,
prototype precision, ARI against the shipped model, raw pixels and the eigenvalue vector):
run that bench with ``--model OUT --split SPLIT`` for the full table.

The shipped model ``src/bandprint/models/default-small.pt`` (and its log ``default-small.json``)
is this script's output with the ablation's winning recipe (``bench/bench_ablation.py``)::

    python scripts/train_corpus_model.py --split material --epochs 20 --line-width 3 \
        --threads 2 --out bench/out/corpus-small-lw3.pt --figures bench/out
    cp bench/out/corpus-small-lw3.pt src/bandprint/models/default-small.pt   # and the .json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))

from bandprint import read_band_structures, zoo  # noqa: E402
from bandprint.compute.corpus import held_out, load_corpus, twin_group  # noqa: E402
from bandprint.fingerprint import (  # noqa: E402
    Fingerprinter,
    group_validation_mask,
    reconstruction_figure,
)
from bandprint.model import preset_config  # noqa: E402
from bandprint.render import RenderSettings, render_band_images  # noqa: E402
from train_default_model import HELD_OUT_REAL, REAL, stacked_images  # noqa: E402

CORPUS = ROOT / "corpus" / "gpaw-2d" / "bands"
SEED = 0
JITTER_EV = 0.05


def corpus_images(bss: list, settings: RenderSettings, shifts: list[float], jitter: int):
    """Images of ``bss`` at window offsets 0, ``shifts`` and ``jitter`` random ones; the
    index of the entry each image comes from."""
    rng = np.random.default_rng([SEED, 11])
    images, source = [], []
    lo, hi = settings.window
    for i, bs in enumerate(bss):
        offsets = [0.0, *shifts, *rng.uniform(-JITTER_EV, JITTER_EV, jitter)]
        for off in offsets:
            st = replace(settings, window=(lo + off, hi + off))
            images.append(render_band_images([bs], st)[0])
            source.append(i)
    return np.stack(images), np.array(source)


def training_set(
    train_bss: list,
    settings: RenderSettings,
    shifts: list[float],
    jitter: int,
    n_zoo: int,
    n_stacks: int,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The training images (the corpus entries ``train_bss`` with their window shifts and
    jitters, ``n_zoo`` zoo samples and ``n_stacks`` stacks of them), the validation mask
    (10 % of the groups, every copy of one on the same side) and each image's group label
    (``corpus:<twin group>``, ``zoo:<id>``, ``stack:<n>``) for the twin pull."""
    c_images, c_src = corpus_images(train_bss, settings, shifts, jitter)
    zoo_bs = zoo.sample_zoo(n_zoo, seed=seed) if n_zoo else []
    zoo_images = (
        render_band_images(zoo_bs, settings)
        if zoo_bs
        else np.zeros((0, *c_images.shape[1:]), np.uint8)
    )
    groups = [f"zoo:{b.material_id}" for b in zoo_bs]
    groups += [f"corpus:{twin_group(train_bss[i])}" for i in c_src]
    val = group_validation_mask(groups, 0.1, seed)
    val_zoo = val[: len(zoo_bs)]
    parts, val_parts = [zoo_images, c_images], [val_zoo, val[len(zoo_bs) :]]
    if n_stacks and len(zoo_bs):
        n_val = round(0.1 * n_stacks)
        for side, n in ((~val_zoo, n_stacks - n_val), (val_zoo, n_val)):
            rows = np.flatnonzero(side)
            parts.append(stacked_images([zoo_bs[i] for i in rows], zoo_images[rows], n, seed))
            val_parts.append(np.full(n, side is val_zoo))
            # Each stack is a material of its own for the twin pull.
            groups += [f"stack:{len(groups) + k}" for k in range(n)]
    return np.concatenate(parts), np.concatenate(val_parts), groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--split", choices=["material", "prototype"], default="material")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--n-zoo", type=int, default=1200)
    ap.add_argument("--n-stacks", type=int, default=600)
    ap.add_argument("--jitter", type=int, default=4)
    ap.add_argument("--shifts", default="-0.5,0.5")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--loss", default="bce", help="bce, weighted-bce, focal or bce+dice")
    ap.add_argument("--line-width", type=int, default=1, help="band lines, pixels")
    ap.add_argument("--window", default="-4,4", help="energy window, eV: low,high")
    ap.add_argument("--x-axis", choices=["distance", "index"], default="distance")
    ap.add_argument(
        "--figures",
        type=Path,
        default=None,
        help="write reconstructions of held-out materials (metal, semiconductor, flat band) here",
    )
    ap.add_argument("--pull", type=float, default=0.0, help="twin-pull weight (0: none)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "corpus-small.pt")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    shifts = [float(s) for s in args.shifts.split(",") if s.strip()]

    t0 = time.perf_counter()
    config = preset_config(args.preset)
    settings = RenderSettings(
        size=config.input_size,
        line_width=args.line_width,
        window=tuple(float(v) for v in args.window.split(",")),
        x_axis=args.x_axis,
        spins="channels" if config.channels == 2 else "both",
    )
    fp = Fingerprinter(
        preset=args.preset,
        epochs=args.epochs,
        random_state=SEED,
        loss=args.loss,
        render=settings,
        pull_weight=args.pull,
    )
    bss = load_corpus(CORPUS)
    test = held_out(bss, args.split)
    train_bss = [b for b, t in zip(bss, test, strict=True) if not t]
    images, val, groups = training_set(
        train_bss, settings, shifts, args.jitter, args.n_zoo, args.n_stacks
    )
    n_corpus = sum(g.startswith("corpus:") for g in groups)
    n_zoo = sum(g.startswith("zoo:") for g in groups)
    n_test_groups = len({twin_group(b) for b, t in zip(bss, test, strict=True) if t})
    print(
        f"corpus: {len(train_bss)} training-side entries → {n_corpus} images; held out "
        f"({args.split} split): {int(test.sum())} entries in {n_test_groups} twin groups; "
        f"zoo {n_zoo} + stacks {len(images) - n_zoo - n_corpus}; "
        f"{len(images)} images, {int(val.sum())} validate "
        f"({time.perf_counter() - t0:.0f} s to render)",
        flush=True,
    )
    if args.dry_run:
        return
    note = (
        f"GPAW corpus, training side of the {args.split} split ({len(train_bss)} entries, "
        f"window shifts {shifts} eV and {args.jitter} jitters within ±{JITTER_EV} eV) + "
        f"sample_zoo({args.n_zoo}, seed={SEED}) + {args.n_stacks} stacks"
        + (f"; twin pull weight {args.pull}" if args.pull else "")
    )
    # The checkpoint (optimiser state, 10 MB) stays out of the package when --out points there.
    fp.set_params(checkpoint=ROOT / "bench" / "out" / f"{args.out.stem}.ckpt")
    fp.fit(images, groups=groups, data_note=note, val_indices=np.flatnonzero(val))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fp.save(args.out, half=True)

    from bench_real_eval import bce_ratios

    held = [b for b, t in zip(bss, test, strict=True) if t]
    shipped = Fingerprinter.load(args.out, device="cpu")
    ratios = bce_ratios(shipped, held)
    log = {
        **shipped.info(),
        "split": args.split,
        "held_out_entries": len(held),
        "held_out_median_bce_ratio": float(np.median(ratios)),
        "val_bce": shipped.info().get("val_bce"),
        "baseline_bce": shipped.info().get("baseline_bce"),
        "train_seconds": fp.train_seconds_,
        "threads": args.threads,
        "pull_weight": args.pull,
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    args.out.with_suffix(".json").write_text(json.dumps(log, indent=2) + "\n")
    print(json.dumps(log, indent=2))
    if args.figures:
        write_figures(shipped, held, args.figures)


def write_figures(fp: Fingerprinter, held: list, out: Path) -> None:
    """Reconstructions by ``fp`` of held-out corpus materials (``held_out_examples``), of the
    real samples from other codes and of a zoo lattice of another seed, as PNGs in ``out``."""
    for kind, bs in held_out_examples(held).items():
        fig = reconstruction_figure(
            fp, bs, title=f"{bs.formula} ({bs.material_id}, {kind}, held out)"
        )
        path = out / f"reconstruct-corpus-{kind}.png"
        fig.savefig(path, dpi=80)
        print(f"wrote {path}")
    # Real samples from other codes (none trained on) and a zoo lattice of another seed.
    examples = [(read_band_structures(REAL / rel)[0], "real") for rel in HELD_OUT_REAL]
    examples.append((zoo.sample_zoo(7, seed=1)[6], "zoo seed 1"))
    for bs, kind in examples:
        fig = reconstruction_figure(fp, bs, title=f"{bs.material_id} ({kind}, held out)")
        path = out / f"reconstruct-{bs.material_id}.png"
        fig.savefig(path, dpi=80)
        print(f"wrote {path}")


def held_out_examples(held: list) -> dict:
    """One held-out material (no twin) of each kind: the metal, the semiconductor (gap
    0.5–3 eV) and the material with a flat band near E_F (``detect_flat_bands``) whose
    prototype comes first in the corpus's order, so reruns pick the same ones."""
    from bandprint.analyse.flatbands import detect_flat_bands

    materials = sorted(
        (b for b in held if "twin_of" not in b.metadata), key=lambda b: b.material_id
    )
    picks = {}
    for b in materials:
        gap = b.band_gap()
        if "metal" not in picks and gap.is_metal:
            picks["metal"] = b
        elif "semiconductor" not in picks and 0.5 <= gap.energy <= 3.0:
            picks["semiconductor"] = b
        if "flat-band" not in picks and detect_flat_bands(b).plane_flat:
            picks["flat-band"] = b
    return picks


if __name__ == "__main__":
    main()
