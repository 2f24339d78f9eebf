"""Opening files as users have them: plain or gzip-compressed, read once, named sensibly."""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bandprint.errors import ReadError

#: Bytes of a file a format is recognised from.
SNIFF_BYTES = 65536

_EXTENSIONS = re.compile(r"(\.(json|xml|gz|bz2|bands|txt|dat))+$", re.IGNORECASE)


def read_bytes(path: str | Path) -> bytes:
    """The file's content, transparently gunzipped."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ReadError(path, "is a directory, expected a file") from None
    except OSError as exc:
        raise ReadError(path, f"cannot read: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ReadError(path, f"corrupt gzip data ({exc})") from None
    if not raw.strip():
        raise ReadError(path, "file is empty")
    return raw


def read_head(path: str | Path, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of the file, gunzipped; ``b""`` where it cannot be read (a
    format test then says no, and the file is reported as unrecognised)."""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
            fh.seek(0)
            if magic == b"\x1f\x8b":
                with gzip.open(fh) as gz:
                    return gz.read(size)
            return fh.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


def iter_lines(path: str | Path) -> Iterator[str]:
    """The file's lines, read as needed (gzip-transparent, undecodable bytes replaced): for
    recognising a format from a large file without reading all of it. Stops quietly where the
    file cannot be read further; readers report such files."""
    try:
        with open(path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        opener = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as text:
            yield from text
    except (OSError, EOFError, zlib.error):
        return


def read_text(path: str | Path) -> str:
    try:
        return read_bytes(path).decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ReadError(path, "not a text file (invalid UTF-8)") from None


def load_json(path: str | Path) -> Any:
    raw = read_bytes(path)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ReadError(path, f"invalid or truncated JSON ({exc.args[0]})") from None


def material_id_from_path(path: str | Path) -> str:
    """The file name without its extensions (``CaO_bs.json.gz`` → ``CaO_bs``)."""
    name = Path(path).name
    stem = _EXTENSIONS.sub("", name)
    return stem or name
