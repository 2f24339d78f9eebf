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
"""

from __future__ import annotations

import gzip
import hashlib
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


def load_corpus(folder: str | Path) -> list[BandStructure]:
    """Every ``*.json.gz`` band structure in ``folder``, in file-name order."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json.gz"))
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
    "HOLDOUT_FRACTION",
    "SALT",
    "SplitBy",
    "hash_fraction",
    "held_out",
    "load_corpus",
    "twin_group",
]
