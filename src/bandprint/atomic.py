"""Crash-safe files: ``atomic_write`` writes a file under a hidden temporary name in the same
folder, fsyncs it, ``os.replace``s it to its final name (atomic on POSIX) and fsyncs the
folder, so a reader sees the old file or the new one, never a partial one. A writer killed
half-way leaves a stray ``.<name>.tmp-<pid>-<rand>`` file, which ``clean_stray_temporaries``
deletes once its process is gone. Used by the workspace (``bandprint.store``) and by anything
else that writes files readers may open at the same time (model files, computed band
structures)."""

from __future__ import annotations

import contextlib
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

#: Temporary files older than this are stray whatever their pid says (pids are reused).
STALE_TMP_SECONDS = 24 * 3600


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` via a temporary file in the same folder, fsync, and ``os.replace``.

    ``write(tmp_path)`` writes the content. Readers see the old file or the new one, never a
    partial one; a crash leaves at most a hidden ``.<name>.tmp-<pid>-<rand>`` file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """``atomic_write`` of the bytes ``data``; returns ``path``."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


_TMP_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+$")


def clean_stray_temporaries(folder: Path) -> int:
    """Delete temporary files left by killed writers (their process is gone). Returns count."""
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    for entry in os.scandir(folder):
        m = _TMP_RE.match(entry.name)
        if not m:
            continue
        pid = int(m.group(1))
        try:
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if _pid_alive(pid) and age < STALE_TMP_SECONDS:
            continue  # another process is writing it right now
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


__all__ = ["STALE_TMP_SECONDS", "atomic_write", "atomic_write_bytes", "clean_stray_temporaries"]
