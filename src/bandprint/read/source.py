"""What a reader is handed: a ``Source`` (one band structure's worth of files), and what a
folder-level reader claims in a folder (``FolderClaim``).

Readers build these; ``bandprint.read`` walks files and folders and dispatches them, so the
readers import this module and never the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Source:
    """One band structure's worth of input files, and how to read them."""

    format: str
    paths: tuple[str, ...]
    material_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: What else the band structure is read from besides ``paths`` (a 2DMatPedia db.json row),
    #: so that a rerun notices when only that changed.
    extra_digest: str = ""

    @property
    def key(self) -> str:
        """Identity for incremental ingest: the files it was read from."""
        return "|".join(self.paths)

    def fingerprint(self) -> str:
        """Size and modification time of every file, so a rerun can skip unchanged input."""
        parts = []
        for p in self.paths:
            st = os.stat(p)
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
        if self.extra_digest:
            parts.append(self.extra_digest)
        return ";".join(parts)


@dataclass(frozen=True)
class FolderClaim:
    """A run folder as a folder-level reader sees it: the ``sources`` of its run, and the
    ``rest`` of the folder's entries (other files, sub-folders), which the walk reads as if
    they were named on their own."""

    sources: list[Source]
    rest: list[Path]
