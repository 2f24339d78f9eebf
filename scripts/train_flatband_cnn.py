"""Train the shipped flat-band image detector (src/bandprint/models/flatband-cnn.pt).

    python scripts/train_flatband_cnn.py            # the shipped weights (CPU, 2 threads)
    python scripts/train_flatband_cnn.py --n-zoo 200 --epochs 2 --out /tmp/cnn.pt   # quick try

Data (all seeded): tight-binding zoo samples (``sample_zoo``, seed ``--zoo-seed``) and every
real band structure under ``--real`` (default tests/data/real, the real samples bundled in this
repository; the script stops with an error when that folder is missing or holds none, rather
than train without them), each drawn several times with the Fermi level moved
(``fermi_shifted_copies``: zoo flat levels land inside the ±1 eV window, real bands sweep
through it) and in the renderings of ``RENDER_VARIANTS``. Labels come from the eigenvalue
detector (0.1 eV); a real sample the detectors do not analyse (no labelled k-path, such as the
NiO k-point grid) gives no blocks. Validation: held-out zoo samples of another seed, shifted the
same way. The training log (per-epoch loss, validation accuracy, precision and recall) is
printed and stored in the weights' ``info``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bandprint import read_band_structures, zoo
from bandprint.analyse.flatband_cnn import (
    DEFAULT_MODEL_PATH,
    RENDER_VARIANTS,
    TrainConfig,
    blocks_dataset,
    evaluate_blocks,
    fermi_shifted_copies,
    save_flatband_cnn,
    train_flatband_cnn,
)
from bandprint.analyse.flatbands import DEFAULT_BANDWIDTH_THRESHOLD

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REAL = REPO / "tests" / "data" / "real"


def augmented(band_structures, copies: int, seed: int):
    """Each band structure as given plus ``copies`` Fermi-shifted copies (seeded)."""
    rng = np.random.default_rng(seed)
    for bs in band_structures:
        yield bs
        yield from fermi_shifted_copies(bs, copies, rng)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n-zoo", type=int, default=600, help="zoo samples for training")
    p.add_argument("--n-val", type=int, default=200, help="held-out zoo samples")
    p.add_argument("--zoo-seed", type=int, default=101)
    p.add_argument("--val-seed", type=int, default=202)
    p.add_argument("--zoo-copies", type=int, default=2, help="Fermi-shifted copies per zoo sample")
    p.add_argument("--real-copies", type=int, default=20, help="shifted copies per real sample")
    p.add_argument(
        "--real",
        type=Path,
        default=DEFAULT_REAL,
        help=f"folder of real samples [default: {DEFAULT_REAL.relative_to(REPO)}]",
    )
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    if not args.real.is_dir():
        p.error(
            f"no real samples: {args.real} is not a folder (the bundled ones are in "
            f"{DEFAULT_REAL}; pass --real FOLDER)"
        )
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {msg}", flush=True)

    real = read_band_structures(args.real)
    if not real:
        print(f"error: no band structure could be read under {args.real}", file=sys.stderr)
        return 2
    log(f"real samples from {args.real}: {', '.join(b.material_id for b in real)}")
    train_zoo = zoo.sample_zoo(args.n_zoo, seed=args.zoo_seed)
    val_zoo = zoo.sample_zoo(args.n_val, seed=args.val_seed)
    log(f"zoo: {len(train_zoo)} training, {len(val_zoo)} validation samples")

    skipped: list[tuple[str, str]] = []

    def on_error(mid: str, reason: str) -> None:
        skipped.append((mid, reason))

    # Variants cycle per drawn copy; the detector's own rendering comes up most often.
    variants = [RENDER_VARIANTS[0], RENDER_VARIANTS[1], RENDER_VARIANTS[0], RENDER_VARIANTS[2],
                RENDER_VARIANTS[0], RENDER_VARIANTS[3]]  # fmt: skip
    x_zoo, y_zoo, _ = blocks_dataset(
        augmented(train_zoo, args.zoo_copies, args.seed), variants, on_error=on_error
    )
    x_real, y_real, _ = blocks_dataset(
        augmented(real, args.real_copies, args.seed + 1), variants, on_error=on_error
    )
    x_val, y_val, _ = blocks_dataset(
        augmented(val_zoo, args.zoo_copies, args.seed + 2), variants, on_error=on_error
    )
    x_train = np.concatenate([x_zoo, x_real])
    y_train = np.concatenate([y_zoo, y_real])
    log(
        f"blocks: train {len(y_train)} ({y_train.mean():.1%} flat; zoo {len(y_zoo)}, real "
        f"{len(y_real)} with {y_real.mean():.1%} flat), validation {len(y_val)} "
        f"({y_val.mean():.1%} flat); skipped {len(skipped)}"
    )
    for mid, reason in skipped[:5]:
        log(f"  skipped {mid}: {reason}")

    cfg = TrainConfig(epochs=args.epochs, seed=args.seed, threads=args.threads)
    model, history = train_flatband_cnn(x_train, y_train, x_val, y_val, cfg, log=log)
    final = evaluate_blocks(model, x_val, y_val)
    real_fit = evaluate_blocks(model, x_real, y_real) if len(y_real) else {}
    log(f"validation (held-out zoo blocks): {json.dumps(final)}")
    log(f"real-sample blocks (training data): {json.dumps(real_fit)}")
    info = {
        "label_threshold": DEFAULT_BANDWIDTH_THRESHOLD,
        "labels": "bandprint.analyse.flatbands.detect_flat_bands (eigenvalues)",
        "data": {
            "zoo_train": {"n": args.n_zoo, "seed": args.zoo_seed, "copies": args.zoo_copies},
            "zoo_val": {"n": args.n_val, "seed": args.val_seed, "copies": args.zoo_copies},
            "real": [b.material_id for b in real],
            "real_copies": args.real_copies,
            "variants": [v.name for v in variants],
            "n_train_blocks": len(y_train),
            "n_val_blocks": len(y_val),
            "train_flat_fraction": float(y_train.mean()),
        },
        "train": model.info.get("train", {}),
        "history": history,
        "validation": final,
        "real_training_fit": real_fit,
        "torch": str(torch.__version__),
        "seconds": time.perf_counter() - t0,
    }
    save_flatband_cnn(model, args.out, info)
    log(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
