"""Fingerprints of a workspace: encode every stored material with a fitted ``Fingerprinter``
and store the vectors under its model id (``fingerprint_workspace``), or render every material
(cached in ``WS/cache/``) and train a ``Fingerprinter`` on the images (``train_on_workspace``).
The estimator, its model files and the array-level helpers (``render_batch``, ``check_encoding``)
are ``bandprint.fingerprint``; the same encoding on a Ray cluster is
``bandprint.distributed.fingerprint_workspace_ray``, which shares ``encoding_plan``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bandprint.atomic import atomic_write
from bandprint.errors import BandprintError
from bandprint.fingerprint import Fingerprinter, check_encoding, render_batch
from bandprint.render import RenderSettings, pack_images, unpack_images
from bandprint.store import Workspace


@dataclass
class FingerprintReport:
    """Outcome of encoding a workspace."""

    model_id: str
    encoded: int = 0
    already: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"model {self.model_id}: encoded {self.encoded} materials, "
            f"{self.already} already had fingerprints"
        )
        if self.skipped:
            text += f", skipped {len(self.skipped)}:"
            text += "".join(f"\n  {mid}: {why}" for mid, why in self.skipped[:20])
            if len(self.skipped) > 20:
                text += f"\n  ... and {len(self.skipped) - 20} more"
        return text


def encoding_plan(
    ws: Workspace, fingerprinter: Fingerprinter, redo: bool, device: str | None = None
) -> tuple[list[str], set[str], FingerprintReport, dict[str, Any]]:
    """What an encoding run of ``ws`` has to do: ``(todo, done, report, info)``: the ids to
    encode in storage order, the ids already encoded by this model (none with ``redo``), the
    report to fill and the model info to store with the fingerprints. ``device`` is where the
    encoding runs, when not on the fingerprinter's own device (another machine's)."""
    info = fingerprinter.info()  # refuses an unfitted fingerprinter
    model_id = info["model_id"]
    done: set[str] = set()
    if not redo and model_id in ws.fingerprint_models():
        done = set(ws.read_fingerprints(model_id)[0])
    todo = [m for m in ws.ids() if m not in done]
    if device is not None:
        info["encode_device"] = device
    # model.json is rewritten by each run: keep the devices of the earlier ones (older
    # workspaces may hold more than one kind; check_encoding refuses adding to those).
    earlier = ws.fingerprint_model_info(model_id) if done else {}
    if done and todo:
        check_encoding(
            earlier,
            info["encode_device"],
            info["encode_precision"],
            f"{ws.path}: model {model_id}",
        )
    devices = {*earlier.get("encode_devices", []), info["encode_device"]}
    info["encode_devices"] = sorted(devices)
    return todo, done, FingerprintReport(model_id, already=len(done)), info


def fingerprint_workspace(
    ws: Workspace,
    fingerprinter: Fingerprinter,
    redo: bool = False,
    batch_size: int = 512,
    progress: bool = True,
) -> FingerprintReport:
    """Encode every material of ``ws`` without fingerprints of this model (all with
    ``redo``) and store them with ``ws.write_fingerprints`` under the model's id."""
    from tqdm.auto import tqdm

    todo, done, report, info = encoding_plan(ws, fingerprinter, redo)
    model_id = report.model_id
    first = True
    bar = tqdm(total=len(todo), desc="fingerprints", unit="material", disable=not progress)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        bss = list(ws.iter_band_structures(chunk, batch_size=batch_size, with_structure=False))
        ids, images, skipped = render_batch(bss, fingerprinter.render_)
        report.skipped += skipped
        if ids:
            vectors = fingerprinter.transform(np.stack(images))
            ws.write_fingerprints(model_id, ids, vectors, info if first else None)
            first = False
            report.encoded += len(ids)
        bar.update(len(chunk))
    bar.close()
    if first and not done:
        # Record the model even when nothing was encoded, so it is listed with its settings.
        ws.write_fingerprints(model_id, [], np.zeros((0, info["fingerprint_length"])), info)
    return report


def workspace_images(
    ws: Workspace,
    settings: RenderSettings,
    progress: bool = True,
    use_cache: bool = True,
) -> tuple[list[str], np.ndarray, list[tuple[str, str]]]:
    """Images of every material in ``ws`` (ids, ``[n, s, s]`` uint8, skipped (id, reason)).

    Rendered images are cached bit-packed in ``WS/cache/images-<settings key>.npz`` with the
    list of band shards they came from; a later call renders only materials in shards added
    since (new or re-ingested materials).
    """
    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    cache = ws.path / "cache" / f"images-{settings.key}.npz"
    shards = sorted(p.name for p in ws.bands_dir.glob("*.parquet") if not p.name.startswith("."))
    cached: dict[str, np.ndarray] = {}
    if use_cache and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            old_shards = [str(s) for s in z["shards"]]
            if set(old_shards) <= set(shards):
                stale: set[str] = set()
                for shard in set(shards) - set(old_shards):
                    table = pq.read_table(ws.bands_dir / shard, columns=["material_id"])
                    stale.update(table.column(0).to_pylist())
                packed = z["packed"]
                for i, mid in enumerate(str(m) for m in z["ids"]):
                    if mid not in stale:
                        cached[mid] = packed[i]
    all_ids = ws.ids()
    todo = [m for m in all_ids if m not in cached]
    skipped: list[tuple[str, str]] = []
    bar = tqdm(total=len(todo), desc="rendering", unit="material", disable=not progress)
    for start in range(0, len(todo), 256):
        chunk = todo[start : start + 256]
        bss = list(ws.iter_band_structures(chunk, batch_size=256, with_structure=False))
        ids, images, bad = render_batch(bss, settings)
        skipped += bad
        if ids:
            packed = pack_images(np.stack(images))
            for mid, p in zip(ids, packed, strict=True):
                cached[mid] = p
        bar.update(len(chunk))
    bar.close()
    ids = [m for m in all_ids if m in cached]
    packed = (
        np.stack([cached[m] for m in ids])
        if ids
        else np.zeros((0, settings.size, (settings.size + 7) // 8), np.uint8)
    )
    if todo and use_cache:

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.savez(fh, ids=np.array(ids, dtype=str), packed=packed, shards=np.array(shards))

        atomic_write(cache, write)
    return ids, unpack_images(packed, settings.size), skipped


def train_on_workspace(
    ws: Workspace,
    fingerprinter: Fingerprinter,
    progress: bool = True,
) -> tuple[Fingerprinter, list[tuple[str, str]]]:
    """Render every material of ``ws`` (cached) and train ``fingerprinter`` on them (continuing
    its checkpoint's run when made by ``Fingerprinter.from_checkpoint``)."""
    ids, images, skipped = workspace_images(ws, fingerprinter.render_settings, progress=progress)
    if len(ids) < 2:
        raise BandprintError(f"{ws.path}: need at least 2 renderable materials, got {len(ids)}")
    fingerprinter.fit(images, data_note=f"workspace {ws.path} ({len(ids)} materials)")
    return fingerprinter, skipped


__all__ = [
    "FingerprintReport",
    "encoding_plan",
    "fingerprint_workspace",
    "train_on_workspace",
    "workspace_images",
]
