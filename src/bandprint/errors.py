"""Errors a user can cause. The CLI prints them as one line, never as a traceback."""

from __future__ import annotations

from pathlib import Path


class BandprintError(Exception):
    """A problem with the user's input or request, explained in one line."""


class ReadError(BandprintError):
    """A file that cannot be read as a band structure, and why."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = " ".join(str(reason).split())  # one line, always
        super().__init__(f"{self.path}: {self.reason}")
