"""Shared fixtures: where the test data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_DIR = Path(__file__).parent / "data"
REAL_DIR = DATA_DIR / "real"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``: copies of real files and small generated fixtures (see its README)."""
    return DATA_DIR


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """``tests/data/real``: real DFT outputs from public projects' test data."""
    return REAL_DIR
