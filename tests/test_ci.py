"""The CI contract: under CI a missing Chromium or Playwright fails the browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def collect_browser_tests(tmp_path: Path, ci: str | None, **env: str) -> tuple[int, str]:
    """``pytest --collect-only tests/test_browser.py`` in a fresh process: (exit code, output)."""
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        environ["CI"] = ci
    environ.update(env)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         str(ROOT / "tests" / "test_browser.py")],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def no_playwright(tmp_path: Path) -> str:
    """A PYTHONPATH on which ``import playwright.sync_api`` fails."""
    shadow = tmp_path / "shadow" / "playwright"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(
        'raise ModuleNotFoundError("hidden by the test", name="playwright")\n'
    )
    return os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")])


@pytest.mark.slow
def test_ci_fails_without_playwright(tmp_path, no_playwright):
    # A file stands in for Chromium, so that Playwright alone is missing.
    code, out = collect_browser_tests(
        tmp_path, "true", PYTHONPATH=no_playwright, BANDPRINT_CHROMIUM=sys.executable
    )
    assert code == 2, out  # a collection error, not a skip (exit code 5: nothing collected)
    assert "CI=true but playwright is not importable (hidden by the test)" in out


@pytest.mark.slow
def test_ci_fails_without_chromium(tmp_path):
    code, out = collect_browser_tests(tmp_path, "true", BANDPRINT_CHROMIUM="/nonexistent")
    assert code == 2, out
    assert "CI=true but no Chromium at /nonexistent" in out


@pytest.mark.slow
@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_they_skip(tmp_path, no_playwright, ci):
    code, out = collect_browser_tests(tmp_path, ci, PYTHONPATH=no_playwright)
    assert code == 5, out  # skipped: nothing collected, no error
    assert "CI=true but" not in out


def test_ci_script_sets_ci():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("make test")
