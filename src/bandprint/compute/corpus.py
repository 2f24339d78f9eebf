"""A computed corpus as data: its band structures, their twin groups, and held-out splits.

The GPAW corpus (``corpus/gpaw-2d/bands`` in the repository, written by
``scripts/build_corpus.py``) holds each material once plus, for some, *twins*: the same
material computed with other settings or strained by 1–2 % (``metadata["twin_of"]`` names the
original). A material and its twins form one *twin group*.

Held-out splits are made of whole groups, never of single entries, so nothing of a held-out
material (no twin, no copy) is on the training side:

* ``by="material"``: a group is held out when the hash of its id falls in the first
  ``fraction`` of the hash range;
* ``by="prototype"``: every group of a prototype is held out when the hash of the
  prototype's name does (whole structure families the model never saw).

Membership depends only on the id (or prototype name) and ``salt``, so it is stable as the
corpus grows: a material held out today stays held out when more are computed.

``corpus_dir()`` finds the corpus (a source checkout has it; an install from a wheel does not)
and ``select_corpus`` picks a bounded, deterministic subset of it that keeps every prototype
and whole twin groups (the demo's share of it).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import orjson

from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError

SplitBy = Literal["material", "prototype"]
#: Share of twin groups (or prototypes) held out by default.
HOLDOUT_FRACTION = 0.2
#: Changing the salt draws another split; results under different salts are not comparable.
SALT = "bandprint-corpus-split-1"


#: Environment variable naming a corpus band-structure folder to use instead of the checkout's.
CORPUS_ENV = "BANDPRINT_CORPUS"
#: Where the corpus's band structures sit in a source checkout, relative to its root.
CORPUS_BANDS = Path("corpus") / "gpaw-2d" / "bands"


def corpus_dir() -> Path | None:
    """The GPAW corpus's band-structure folder: ``$BANDPRINT_CORPUS`` when set, else
    ``corpus/gpaw-2d/bands`` of the source checkout this package is imported from (an editable
    install); ``None`` when the checkout's folder is absent or holds no band structure (an
    install from a wheel ships no corpus). A ``$BANDPRINT_CORPUS`` that is not a folder of
    ``*.json.gz`` files raises ``BandprintError``: the user named it, so silence would hide a
    typo."""
    named = os.environ.get(CORPUS_ENV)
    if named:
        folder = Path(named)
        if not corpus_files(folder):
            raise BandprintError(
                f"{CORPUS_ENV}={named} holds no *.json.gz band structures "
                f"(point it at a corpus folder such as {CORPUS_BANDS})"
            )
        return folder
    # src/bandprint/compute/corpus.py: parents[3] is the checkout's root.
    folder = Path(__file__).resolve().parents[3] / CORPUS_BANDS
    return folder if corpus_files(folder) else None


def corpus_files(folder: str | Path) -> list[Path]:
    """The corpus's band-structure files in ``folder`` (``*.json.gz``), in file-name order;
    empty when there are none or no such folder. File stems are material ids."""
    folder = Path(folder)
    return sorted(folder.glob("*.json.gz")) if folder.is_dir() else []


def load_corpus(folder: str | Path) -> list[BandStructure]:
    """Every ``*.json.gz`` band structure in ``folder``, in file-name order."""
    folder = Path(folder)
    files = corpus_files(folder)
    if not files:
        raise BandprintError(f"{folder}: no *.json.gz band structures (a corpus folder?)")
    out = []
    for f in files:
        try:
            out.append(BandStructure.from_dict(orjson.loads(gzip.decompress(f.read_bytes()))))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BandprintError(f"{f}: not a bandprint band structure ({exc})") from None
    return out


def twin_group(bs: BandStructure) -> str:
    """The id of the material ``bs`` is a twin of, or its own id."""
    return str(bs.metadata.get("twin_of") or bs.material_id)


def select_corpus(bss: Sequence[BandStructure], limit: int) -> list[str]:
    """Ids of at most ``limit`` entries of ``bss``, chosen deterministically: whole twin groups
    (a material with all its twins, or none of it), taken in turn from each prototype
    (``metadata["prototype"]``, in name order) so that every prototype is represented when
    ``limit`` allows one group of each. Within a prototype, groups with twins come first (so
    the subset holds real twin pairs), then by id. A group too large for what is left of
    ``limit`` is skipped and smaller ones still fill it. Returned in ``bss``'s order."""
    if limit < 0:
        raise BandprintError(f"a corpus subset needs a limit of at least 0, got {limit}")
    groups: dict[str, list[str]] = defaultdict(list)
    for bs in bss:
        groups[twin_group(bs)].append(bs.material_id)
    by_id = {bs.material_id: bs for bs in bss}
    queues: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        # A twin whose original is absent still belongs to its original's prototype.
        lead = by_id.get(g) or by_id[groups[g][0]]
        queues[str(lead.metadata.get("prototype", ""))].append(g)
    for proto in queues:
        queues[proto].sort(key=lambda g: (len(groups[g]) == 1, g))
    chosen: set[str] = set()
    left = limit
    while left > 0 and any(queues.values()):
        for proto in sorted(queues):
            queue = queues[proto]
            while queue and len(groups[queue[0]]) > left:
                queue.pop(0)
            if queue:
                members = groups[queue.pop(0)]
                chosen.update(members)
                left -= len(members)
    return [bs.material_id for bs in bss if bs.material_id in chosen]


def hash_fraction(key: str, salt: str = SALT) -> float:
    """A number in [0, 1) fixed by ``key`` and ``salt`` (uniform over keys)."""
    digest = hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def held_out(
    bss: Sequence[BandStructure],
    by: SplitBy = "material",
    fraction: float = HOLDOUT_FRACTION,
    salt: str = SALT,
) -> np.ndarray:
    """Boolean mask over ``bss``: True for entries held out (module doc). Twins follow the
    group they belong to; with ``by="prototype"``, groups follow the prototype of their
    original (``metadata["prototype"]``)."""
    if not 0 <= fraction <= 1:
        raise BandprintError(f"holdout fraction must be in [0, 1], got {fraction}")
    if by == "material":
        keys = [twin_group(bs) for bs in bss]
    elif by == "prototype":
        proto = {bs.material_id: bs.metadata.get("prototype", "") for bs in bss}
        keys = [str(proto.get(twin_group(bs), bs.metadata.get("prototype", ""))) for bs in bss]
    else:
        raise BandprintError(f"split by 'material' or 'prototype', not {by!r}")
    return np.array([hash_fraction(k, salt) < fraction for k in keys], dtype=bool)


__all__ = [
    "CORPUS_BANDS",
    "CORPUS_ENV",
    "HOLDOUT_FRACTION",
    "SALT",
    "SplitBy",
    "corpus_dir",
    "corpus_files",
    "hash_fraction",
    "held_out",
    "load_corpus",
    "select_corpus",
    "twin_group",
]
