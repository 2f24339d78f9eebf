"""End to end in headless Chromium: the report's map.html from disk, and the explorer.

Uses Debian's ``chromium`` package driven by Playwright's Python package; no browser is
downloaded. The browser is ``$BANDPRINT_CHROMIUM``, else ``chromium`` on ``PATH`` (as the
Makefile looks for it), else ``/usr/bin/chromium``; without one, or without Playwright, the
tests are skipped, except under CI (``CI=true``, which ``.ci/run`` sets), where they fail.
Screenshots go to ``$BANDPRINT_SCREENSHOTS`` when set (to look at them), else to the test's
temporary folder.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bandprint.read import read_band_structures
from bandprint.render import prepare_band_structure
from bandprint.report import (
    MapData,
    build_report,
    load_map_data,
    nearest_neighbours,
    write_map_html,
)
from report_workspace import CAO_FILE, cao_id, report_workspace


def find_chromium() -> Path:
    """The browser, found as the Makefile finds it (``command -v chromium``):
    ``$BANDPRINT_CHROMIUM``, else ``chromium`` on ``PATH``, else ``/usr/bin/chromium``."""
    return Path(
        os.environ.get("BANDPRINT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    )


CHROMIUM = find_chromium()
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Under CI (``CI`` = true, 1 or yes: set by CI services and by ``.ci/run``) the browser tests
#: must run: there a skip would report them green without running them, so a missing Chromium
#: or Playwright fails them instead.
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def ci_problems() -> list[str]:
    """What keeps the browser tests from running: no Chromium, no importable Playwright."""
    problems = [] if CHROMIUM.is_file() else [f"no Chromium at {CHROMIUM}"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        problems.append(f"playwright is not importable ({exc})")
    return problems


if IN_CI and (missing := ci_problems()):
    pytest.fail(f"CI=true but {'; '.join(missing)}: the browser tests must run in CI",
                pytrace=False)  # fmt: skip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(),
        reason=f"no Chromium at {CHROMIUM} ($BANDPRINT_CHROMIUM, else chromium on PATH, else "
        "/usr/bin/chromium; install Debian's chromium package: apt-get install chromium)",
    ),
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def report_ws(tmp_path_factory):
    return report_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("BANDPRINT_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "requestfailed",
        lambda req: (
            errors.append(f"request failed: {req.url}") if not req.url.startswith("data:") else None
        ),
    )
    yield pg
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def report_dir(report_ws, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser-report")
    build_report(report_ws, out, exemplar_clusters=1)
    return out


@pytest.fixture(scope="module")
def server(report_ws) -> Iterator[Any]:
    from bandprint.explorer import make_server

    srv = make_server(report_ws, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_find_chromium_as_the_makefile_does(tmp_path, monkeypatch) -> None:
    on_path = tmp_path / "bin" / "chromium"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("BANDPRINT_CHROMIUM", raising=False)
    assert find_chromium() == on_path  # what `command -v chromium` finds
    monkeypatch.setenv("BANDPRINT_CHROMIUM", "/opt/elsewhere/chrome")
    assert find_chromium() == Path("/opt/elsewhere/chrome")  # the variable wins
    monkeypatch.delenv("BANDPRINT_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_chromium() == Path("/usr/bin/chromium")  # the Debian package's place


def _wait_for_map(pg: Any) -> None:
    pg.wait_for_selector("#map[data-ready='1']", timeout=30_000)


def _search(pg: Any, text: str) -> str:
    pg.fill("#search", text)
    pg.press("#search", "Enter")
    pg.wait_for_function(
        "document.getElementById('search-status').textContent.length > 0", timeout=10_000
    )
    return pg.inner_text("#search-status")


def _neighbour_ids(pg: Any, selector: str = "#neighbours li") -> list[str]:
    return pg.eval_on_selector_all(selector, "els => els.map(e => e.dataset.id)")


def _a_clustered_material(ws: Any) -> str:
    pts = load_map_data(ws).points
    return str(pts[pts["cluster"] >= 0]["material_id"].iloc[0])


def test_report_map_search_from_disk(page, report_dir, report_ws, shots) -> None:
    page.goto((report_dir / "map.html").as_uri())
    _wait_for_map(page)
    page.screenshot(path=str(shots / "report-map.png"))
    target = _a_clustered_material(report_ws)
    status = _search(page, target)
    assert status.startswith(f"Found {target}")
    assert page.get_attribute("#map", "data-selected") == target
    # A formula finds a material with that formula; nonsense finds nothing and says so.
    formula = load_map_data(report_ws).points.set_index("material_id").at[target, "formula"]
    status = _search(page, formula)
    found = page.get_attribute("#map", "data-selected")
    assert status.startswith(f"Found {found} · {formula} ·")
    # A fragment of an id lists its matches (all samples of the zoo family).
    assert "matches" in _search(page, target.split("-")[0])
    assert _search(page, "no-such-material-xyz").startswith("No material matches")
    page.screenshot(path=str(shots / "report-search.png"))


def test_report_map_hover_and_click(page, report_dir, report_ws, shots) -> None:
    page.goto((report_dir / "map.html").as_uri())
    _wait_for_map(page)
    target = _a_clustered_material(report_ws)
    _search(page, target)  # zooms in, so the point is well apart from the others
    page.wait_for_timeout(300)
    pos = page.evaluate(f"bandprintMap.pointPosition(bandprintMap.indexOf('{target}'))")
    page.mouse.move(pos["x"], pos["y"])
    page.wait_for_selector("#tooltip:not([hidden])", timeout=5_000)
    hovered = page.get_attribute("#tooltip", "data-id")
    assert page.eval_on_selector("#tooltip img", "img => img.naturalWidth") > 0
    # The path named is the one the thumbnail is drawn along (here the file's order too).
    drawn = page.evaluate(
        f"bandprintMap.data().points.path_drawn[bandprintMap.indexOf('{hovered}')]"
    )
    assert drawn and page.inner_text("#tooltip .path") == f"path drawn: {drawn}"
    page.screenshot(path=str(shots / "report-hover.png"))
    page.mouse.click(pos["x"], pos["y"])
    page.wait_for_selector("#neighbours li", timeout=5_000)
    clicked = page.get_attribute("#map", "data-selected")
    assert clicked == hovered
    expect = [m for m, _ in nearest_neighbours(report_ws, [clicked], k=10)[clicked]]
    assert _neighbour_ids(page) == expect
    page.screenshot(path=str(shots / "report-click.png"))
    # Clicking a listed neighbour selects it in turn.
    page.click(f"#neighbours li[data-id='{expect[0]}']")
    assert page.get_attribute("#map", "data-selected") == expect[0]


def test_map_names_the_drawn_path_and_the_file_path(page, real_dir, tmp_path) -> None:
    # OsO2's thumbnail is drawn on the canonical path, not in the file's order: the tooltip
    # and the selected card name the drawn path and the file's beside it; a material without
    # a drawn path shows the file's, labelled as such.
    (bs,) = read_band_structures(real_dir / "vasp" / "OsO2")
    drawn = prepare_band_structure(bs)[1]["path"]["drawn"]
    assert drawn != bs.path_string
    pts = pd.DataFrame(
        {
            "material_id": ["OsO2", "other"],
            "formula": ["OsO2", "X"],
            "cluster": [0, 0],
            "group": [-1, -1],
            "x": [0.0, 1.0],
            "y": [0.0, 1.0],
            "character": ["metal", "metal"],
            "path": [bs.path_string, "Γ–X"],
        }
    )
    out = write_map_html(MapData(points=pts), tmp_path / "map.html", drawn_paths={"OsO2": drawn})
    page.goto(out.as_uri())
    _wait_for_map(page)
    want = f"path drawn: {drawn} (file: {bs.path_string})"
    page.evaluate("bandprintMap.select(bandprintMap.indexOf('OsO2'), false)")
    assert page.inner_text(".card tr.path").replace("\t", ": ") == want
    pos = page.evaluate("bandprintMap.pointPosition(bandprintMap.indexOf('OsO2'))")
    page.mouse.move(pos["x"], pos["y"])
    page.wait_for_selector("#tooltip:not([hidden])", timeout=5_000)
    assert page.inner_text("#tooltip .path") == want
    page.evaluate("bandprintMap.select(bandprintMap.indexOf('other'), false)")
    assert page.inner_text(".card tr.path").replace("\t", ": ") == "path in file: Γ–X"


def test_explorer_material_page(page, server, report_ws, shots) -> None:
    target = _a_clustered_material(report_ws)
    page.goto(f"{server.url}material/{target}")
    page.wait_for_function(
        "document.getElementById('band-plot').complete && "
        "document.getElementById('band-plot').naturalWidth > 0",
        timeout=30_000,
    )
    expect = [m for m, _ in nearest_neighbours(report_ws, [target], k=10)[target]]
    assert _neighbour_ids(page, "#similar li") == expect
    # Each shown distance names its metric (the duplicates list uses a different one, L2).
    items = page.eval_on_selector_all("#similar li .d", "els => els.map(e => e.innerText)")
    assert len(items) == len(expect)
    assert all(t.startswith("p = 0.2 distance ") for t in items), items
    assert "Minkowski p = 0.2 distance" in page.inner_text("#similar .hint")
    assert page.inner_text("#cluster h2").startswith("Cluster ")
    page.screenshot(path=str(shots / "explorer-material.png"), full_page=True)


def test_explorer_upload_lands_next_to_itself(page, server, report_ws, shots) -> None:
    page.goto(server.url)
    _wait_for_map(page)
    page.screenshot(path=str(shots / "explorer-map.png"))
    page.set_input_files("#upload-input", str(CAO_FILE))
    page.wait_for_selector("#upload-result li", timeout=120_000)
    assert _neighbour_ids(page, "#upload-result li")[0] == cao_id(report_ws)
    assert "placed on the map" in page.inner_text("#upload-status")
    page.screenshot(path=str(shots / "explorer-upload.png"))


def test_explorer_bad_upload_shows_one_line(page, server, tmp_path, shots) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("these are not bands")
    page.goto(server.url)
    _wait_for_map(page)
    page.set_input_files("#upload-input", str(bad))
    page.wait_for_selector("#upload-status.error", timeout=30_000)
    text = page.inner_text("#upload-status")
    assert text.startswith("Error: notes.txt") and "\n" not in text and "Traceback" not in text
    page.screenshot(path=str(shots / "explorer-bad-upload.png"))


def test_explorer_map_links_to_material_pages(page, server, report_ws) -> None:
    target = _a_clustered_material(report_ws)
    page.goto(f"{server.url}?q={target}")
    _wait_for_map(page)
    page.wait_for_selector("#neighbours li a", timeout=10_000)
    first = _neighbour_ids(page)[0]
    page.click(f"#neighbours li[data-id='{first}'] a")
    page.wait_for_url(f"**/material/{first}", timeout=10_000)
    assert first in page.title()
