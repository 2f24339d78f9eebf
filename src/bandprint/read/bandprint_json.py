"""bandprint's own band-structure file: ``BandStructure.to_dict()`` as JSON (optionally
gzipped), written by ``bandprint compute`` and lossless for everything bandprint holds."""

from __future__ import annotations

from pathlib import Path

from bandprint.bandstructure import BandStructure
from bandprint.errors import ReadError
from bandprint.read.files import load_json

FORMAT = "bandprint"
MARKER = b'"@class":"bandprint.BandStructure"'


def looks_like_bandprint(head: bytes) -> bool:
    return MARKER in head.replace(b" ", b"")


def read_bandprint_json(path: str | Path, material_id: str | None = None) -> BandStructure:
    path = Path(path)
    d = load_json(path)
    if not isinstance(d, dict) or d.get("@class") != "bandprint.BandStructure":
        raise ReadError(path, "not a bandprint band structure")
    try:
        bs = BandStructure.from_dict(d)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReadError(path, f"broken bandprint band structure ({exc})") from None
    if material_id:
        bs.material_id = material_id
    bs.source = str(path)
    return bs
