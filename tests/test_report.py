"""The report: figures, the self-contained map page, and the data behind them."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from bandprint.bandstructure import BandStructure, Segment
from bandprint.cli import main
from bandprint.errors import BandprintError
from bandprint.read import read_band_structures
from bandprint.render import prepare_band_structure, render_band_image
from bandprint.report import (
    MapData,
    band_thumbnail,
    build_report,
    cluster_colour,
    cluster_tree_figure,
    describe_group,
    flat_at_fermi,
    group_hulls,
    group_letter,
    load_map_data,
    map_payload,
    material_character,
    nearest_neighbours,
    plot_exemplars,
    plot_flatband_summary,
    plot_map,
    reconstructions_figure,
    sweep_figure,
    thumbnail_png,
)
from report_workspace import map_json_from_html, report_workspace


@pytest.fixture(scope="module")
def report_ws(tmp_path_factory):
    return report_workspace(tmp_path_factory)


# -- pure helpers ---------------------------------------------------------------------------


def test_material_character_follows_gap_edges() -> None:
    assert material_character(0.0, True) == "metal"
    assert material_character(2.5, True) == "metal"  # a metal whatever the stored gap
    assert material_character(0.02, False) == "semimetal"
    assert material_character(0.5, False) == "gap 0.1–1 eV"
    assert material_character(1.0, False) == "gap 1–2 eV"  # edges belong to the upper range
    assert material_character(2.99, False) == "gap 2–3 eV"
    assert material_character(4.2, False) == "gap > 3 eV"
    assert material_character(float("nan"), False) == "unknown"
    assert material_character(1.0, None) == "unknown"


def test_describe_group_names_dominant_character_and_flat_bands() -> None:
    nine_metals = pd.DataFrame({"character": ["metal"] * 9 + ["gap 1–2 eV"]})
    assert describe_group(nine_metals) == "metals"
    mixed = pd.DataFrame({"character": ["gap 1–2 eV"] * 6 + ["metal"] * 4})
    assert describe_group(mixed) == "gap 1–2 eV (60%)"
    flat = pd.DataFrame(
        {
            "character": ["semimetal"] * 4,
            "is_flat": [True, True, True, False],
            "flat_at_fermi": [True, True, False, False],
        }
    )
    assert describe_group(flat) == "semimetals, flat bands at E_F"
    flat_elsewhere = flat.assign(flat_at_fermi=[True, False, False, False])
    assert describe_group(flat_elsewhere) == "semimetals, flat bands"


def test_flat_at_fermi_uses_strips_touching_the_fermi_level() -> None:
    # Published strips over ±1 eV: 1 = +0.5…+1, 2 = 0…+0.5, 3 = −0.5…0, 4 = −1…−0.5 eV.
    table = pd.DataFrame(
        {
            "flat_strip": [0, 1, 2, 3, 4, 0, 0],
            "plane_flat_energy": [np.nan] * 5 + [0.3, -0.8],
        }
    )
    got = flat_at_fermi(table, {"window": [-1.0, 1.0], "strip_width": 0.5}).tolist()
    assert got == [False, False, True, True, False, True, False]
    # Wider strips: 1 eV strips over ±2 eV touch E_F at strips 2 and 3 again, a level at
    # −0.8 eV is now within one strip width.
    wide = flat_at_fermi(table, {"window": [-2.0, 2.0], "strip_width": 1.0}).tolist()
    assert wide == [False, False, True, True, False, True, True]


def test_group_letters() -> None:
    assert [group_letter(g) for g in (0, 1, 25, 26, 27, 51, 52)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
    ]


def test_cluster_colours_distinct_and_not_grey() -> None:
    colours = [cluster_colour(c) for c in range(30)]
    assert len(set(colours)) == 30
    assert cluster_colour(-1) not in colours
    for c in colours:
        r, g, b = (int(c[i : i + 2], 16) for i in (1, 3, 5))
        assert max(r, g, b) - min(r, g, b) > 40, c  # saturated: never mistaken for grey


def test_group_hulls_enclose_their_members() -> None:
    from matplotlib.path import Path as MplPath

    rng = np.random.default_rng(1)
    a = rng.normal(size=(30, 2))
    b = rng.normal(size=(20, 2)) + np.array([8.0, 3.0])
    line = np.column_stack([np.linspace(0, 4, 5), np.full(5, -6.0)])  # collinear group
    pts = pd.DataFrame(
        {
            "x": np.r_[a[:, 0], b[:, 0], line[:, 0], 20.0],
            "y": np.r_[a[:, 1], b[:, 1], line[:, 1], 20.0],
            "group": [0] * 30 + [1] * 20 + [2] * 5 + [-1],
        }
    )
    hulls = group_hulls(pts)
    assert sorted(hulls) == [0, 1, 2]
    for g, poly in hulls.items():
        assert np.allclose(poly[0], poly[-1])
        members = pts[pts["group"] == g][["x", "y"]].to_numpy()
        assert MplPath(poly).contains_points(members).all()
        others = pts[pts["group"] != g][["x", "y"]].to_numpy()
        assert not MplPath(poly).contains_points(others).any()


def _bs(energies: np.ndarray, efermi: float = 0.0, material_id: str = "t") -> BandStructure:
    nk = energies.shape[1]
    half = nk // 2
    return BandStructure(
        material_id,
        energies,
        efermi,
        np.r_[np.linspace(0, 1, half), np.linspace(1, 2, nk - half)],
        [Segment(0, half, "Γ", "X"), Segment(half, nk, "X", "M")],
        formula="Test",
    )


def test_thumbnail_draws_bands_fermi_level_and_segment_boundary() -> None:
    nk = 40
    flat = np.full((1, nk, 1), 2.0)  # a flat band 2 eV above E_F (window ±4 eV)
    img = band_thumbnail(_bs(flat), size=64)
    rows = np.flatnonzero((img == 3).any(axis=1))
    # Row r holds 4 − (r+1)·h < E ≤ 4 − r·h with h = 8/64: E = 2 lies in row 16.
    assert rows.tolist() == [16]
    assert (img[16] == 3).all()
    assert (img[32] == 2).sum() > 10  # dotted Fermi level in the middle row
    # X is halfway along the path: column round(0.5 · 63) = 32, drawn top to bottom.
    assert np.flatnonzero(img[0] == 1).tolist() == [32]
    assert (img[:16, 32] == 1).all()


def test_thumbnail_marks_spin_down_in_its_own_colour() -> None:
    nk = 30
    e = np.stack([np.full((nk, 1), 1.0), np.full((nk, 1), -1.0)])  # up at +1, down at −1 eV
    img = band_thumbnail(_bs(e), size=32)
    assert np.flatnonzero((img == 3).any(axis=1)).tolist() == [12]
    assert np.flatnonzero((img == 4).any(axis=1)).tolist() == [20]
    png = thumbnail_png(_bs(e))
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 4000


def test_thumbnail_fermi_line_is_where_the_files_fermi_level_is_drawn(real_dir) -> None:
    # CaO is an insulator: the picture's zero is mid-gap, and the file's E_F lies 0.39 eV
    # above the valence-band top, 1.43 eV below the zero: not on the middle row.
    (bs,) = read_band_structures(real_dir / "pymatgen-json" / "CaO_2605_bandstructure.json")
    size = 160
    img = band_thumbnail(bs, size=size)
    gap = bs.band_gap()
    fermi = bs.efermi - 0.5 * (gap.vbm + gap.cbm)
    assert fermi == pytest.approx(-1.43, abs=0.01)
    row = int(np.floor((4.0 - fermi) / 8.0 * size))  # render's row of an energy
    assert np.flatnonzero((img == 2).any(axis=1)).tolist() == [row]
    # In the picture it sits in the gap, just above the valence bands' top pixel.
    band_rows = np.flatnonzero((img >= 3).any(axis=1))
    below = band_rows[band_rows > row].min()
    assert band_rows[band_rows < row].max() < row - 40  # the conduction bands, far above
    assert below - row == pytest.approx((bs.efermi - gap.vbm) / 8.0 * size, abs=1)


def test_thumbnail_boundaries_are_those_of_the_drawn_path(real_dir) -> None:
    # OsO2's file walks Γ–Z–R–X–M–A–Z–Γ–M; the picture is drawn on the canonical path.
    (bs,) = read_band_structures(real_dir / "vasp" / "OsO2")
    size = 160
    drawn, info = prepare_band_structure(bs)
    assert info["path"]["drawn"] != bs.path_string

    def columns(b: BandStructure) -> list[int]:
        d = b.distances - b.distances[0]
        return [int(d[s.start] / d[-1] * (size - 1) + 0.5) for s in b.segments[1:]]

    img = band_thumbnail(bs, size=size)
    assert np.flatnonzero((img == 1).any(axis=0)).tolist() == columns(drawn)
    assert columns(drawn) != columns(bs)
    # The bands under them are the picture the fingerprints are made from.
    assert ((img >= 3) == (render_band_image(bs, size=size) > 0)).all()


def test_map_payload_names_the_path_the_thumbnail_draws(real_dir, tmp_path: Path) -> None:
    # OsO2's file walks Γ–Z–R–X–M–A–Z–Γ–M; its thumbnail is drawn on the canonical path, and
    # the map's text must name that path, with the file's beside it.
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    bss = read_band_structures(real_dir / "vasp" / "OsO2")
    bss += read_band_structures(real_dir / "pymatgen-json" / "CaO_2605_bandstructure.json")
    ws.add_band_structures([(b, f"test:{b.material_id}", "1") for b in bss])
    ids = ws.ids()
    ws.write_table(
        "clusters",
        pd.DataFrame({"material_id": ids, "cluster": [0, 0], "x": [0.0, 1.0], "y": [0.0, 1.0]}),
    )
    paths = build_report(ws, tmp_path / "r", exemplar_clusters=0, reconstructions=0)
    points = map_json_from_html(paths.map_html.read_text())["points"]
    got = dict(
        zip(points["id"], zip(points["path"], points["path_drawn"], strict=True), strict=True)
    )
    osmium = next(b for b in bss if b.formula == "OsO2")
    file_path, drawn_path = got[osmium.material_id]
    assert drawn_path == prepare_band_structure(osmium)[1]["path"]["drawn"]
    assert file_path == osmium.path_string != drawn_path
    assert {p for _, p in got.values()} == {
        prepare_band_structure(b)[1]["path"]["drawn"] for b in bss
    }


# -- on a clustered workspace ---------------------------------------------------------------


def test_map_data_joins_catalog_and_flatbands(report_ws) -> None:
    ws = report_ws
    data = load_map_data(ws)
    clusters = ws.read_table("clusters")
    assert data.ids == clusters["material_id"].tolist()
    cat = ws.catalog().set_index("material_id")
    for row in data.points.itertuples():
        assert row.band_gap == pytest.approx(cat.at[row.material_id, "band_gap"])
        assert row.character == material_character(
            cat.at[row.material_id, "band_gap"], bool(cat.at[row.material_id, "is_metal"])
        )
    flat = ws.read_table("flatbands").set_index("material_id")
    assert (data.points.set_index("material_id")["is_flat"] == flat["is_flat"]).all()
    for g, label in data.group_labels.items():
        members = data.points[data.points["group"] == g]
        assert label == describe_group(members)
    # Exemplars come from the right cluster, best first.
    c = int(data.cluster_sizes().index[0])
    ex = data.exemplars(c, 3)
    members = data.points.set_index("material_id").loc[ex]
    assert (members["cluster"] == c).all()
    assert members["exemplar_rank"].is_monotonic_increasing


def test_nearest_neighbours_are_the_closest_fingerprints(report_ws) -> None:
    from bandprint.analyse.search import pairwise_distances

    ws = report_ws
    ids, vectors = ws.read_fingerprints()
    nn = nearest_neighbours(ws, ids[:5], k=4)
    d = pairwise_distances(vectors[:5], vectors)
    for r, mid in enumerate(ids[:5]):
        got = nn[mid]
        assert len(got) == 4 and mid not in [m for m, _ in got]
        expect = [j for j in np.argsort(d[r], kind="stable") if ids[j] != mid][:4]
        assert sorted(d[r][expect]) == pytest.approx([dist for _, dist in got], rel=1e-4)


def _text_boxes(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    # Tick labels of ticks outside the view limits exist but are not drawn.
    seen: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            tol = 1e-9 * (abs(hi - lo) or 1.0)
            for loc, label in zip(
                axis.get_majorticklocs(), axis.get_majorticklabels(), strict=False
            ):
                if not lo - tol <= loc <= hi + tol:
                    seen.add(id(label))
    boxes = []
    for t in fig.findobj(Text):
        if id(t) in seen or not t.get_visible() or not str(t.get_text()).strip():
            continue
        seen.add(id(t))
        boxes.append((t.get_text(), t.get_window_extent(renderer)))
    return boxes


def assert_legible(fig) -> list[str]:
    """No two texts overlap and none is cut off by the figure's edge; returns the texts."""
    boxes = _text_boxes(fig)
    for (ta, a), (tb, b) in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), f"text {ta!r} overlaps {tb!r}"
    fig_box = fig.bbox
    for t, b in boxes:
        assert fig_box.x0 - 1 <= b.x0 and b.x1 <= fig_box.x1 + 1, f"{t!r} is cut off"
        assert fig_box.y0 - 1 <= b.y0 and b.y1 <= fig_box.y1 + 1, f"{t!r} is cut off"
    return [t for t, _ in boxes]


def test_map_figure_is_legible(report_ws) -> None:
    data = load_map_data(report_ws)
    fig = plot_map(data)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "UMAP 1" and ax.get_ylabel() == "UMAP 2"
    texts = assert_legible(fig)
    assert any(t.startswith("cluster ") for t in texts)
    assert any(t.startswith("unclassified (") for t in texts)
    for g, label in data.group_labels.items():
        assert any(t.startswith(f"{group_letter(g)}: {label.split()[0]}") for t in texts)
    # Legends sit outside the plotting area, so they hide no points.
    ax_box = ax.get_window_extent()
    for leg in [a for a in ax.get_children() if a.__class__.__name__ == "Legend"]:
        assert not leg.get_window_extent().overlaps(ax_box)


def test_map_legend_is_capped_for_many_clusters() -> None:
    rng = np.random.default_rng(0)
    n = 40 * 6
    pts = pd.DataFrame(
        {
            "material_id": [f"m{i}" for i in range(n)],
            "formula": "X",
            "cluster": np.repeat(np.arange(40), 6),
            "probability": 1.0,
            "exemplar_rank": 1,
            "x": rng.normal(size=n) + np.repeat(np.arange(40) % 8, 6) * 5,
            "y": rng.normal(size=n) + np.repeat(np.arange(40) // 8, 6) * 5,
            "group": -1,
            "character": "metal",
        }
    )
    fig = plot_map(MapData(points=pts))
    texts = assert_legible(fig)
    assert sum(t.startswith("cluster ") for t in texts) == 15
    assert "+ 25 more clusters (150)" in texts


def test_every_report_figure_is_legible(report_ws) -> None:
    data = load_map_data(report_ws)
    c = int(data.cluster_sizes().index[0])
    figures = {
        "tree": cluster_tree_figure(report_ws, data),
        "sweep": sweep_figure(report_ws),
        "exemplars": plot_exemplars(data, c, 6),
        "flatbands": plot_flatband_summary(data),
        "reconstructions": reconstructions_figure(report_ws, data, 3),
    }
    for name, fig in figures.items():
        try:
            assert_legible(fig)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None
    # The tree numbers the selected clusters as the map does.
    tree_texts = [t for t, _ in _text_boxes(figures["tree"])]
    assert {str(k) for k in data.cluster_sizes().index} <= set(tree_texts)


def _luminance(colour) -> float:
    """WCAG relative luminance, written out here independently of bandprint.plot."""
    from matplotlib.colors import to_rgb

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = to_rgb(colour)
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def _sweep_cells(fig):
    """(panel title, value, cell colour, the number's Text) for every number on a heat map."""
    out = []
    for ax in fig.axes:
        images = ax.get_images()
        if not images or not ax.texts:
            continue
        im = images[0]
        grid = np.ma.asarray(im.get_array())
        for t in ax.texts:
            x, y = t.get_position()
            r, c = round(y), round(x)  # origin="lower", cells centred on integers
            out.append((ax.get_title(), float(grid[r, c]), im.to_rgba(grid[r, c]), t))
    return out


def _synthetic_sweep_ws(tmp_path: Path):
    from bandprint.analyse.cluster import SWEEP_TABLE
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "sweep-ws", create=True)
    table = pd.DataFrame(
        {
            "min_cluster_size": [3, 4, 3, 4],
            "min_samples": [1, 1, 2, 2],
            "n_clusters": [0, 5, 10, 20],  # viridis: 0 is the darkest purple, 20 yellow
            "n_unclassified": [100, 200, 300, 1000],  # magma_r: 100 pale, 1000 black
            "unclassified_fraction": [0.1, 0.2, 0.3, 1.0],
            "dbcv": [0.1, -0.1, 0.05, np.nan],
            "s_dbw": [0.4, 0.7, 0.5, np.nan],
        }
    )
    ws.write_table(SWEEP_TABLE, table, {"recommended": [3, 2], "reason": "test"})
    return ws


def test_sweep_numbers_are_white_on_dark_cells_and_black_on_light(tmp_path: Path) -> None:
    fig = sweep_figure(_synthetic_sweep_ws(tmp_path))
    cells = {(title, value): (bg, t) for title, value, bg, t in _sweep_cells(fig)}
    for key in [("clusters", 0.0), ("unclassified", 1000.0)]:  # darkest purple, black
        bg, t = cells[key]
        assert _luminance(bg) < 0.05, key
        assert _luminance(t.get_color()) > 0.9, f"{key}: {t.get_color()} on {bg}"
    for key in [("clusters", 20.0), ("unclassified", 100.0)]:  # yellow, pale yellow
        bg, t = cells[key]
        assert _luminance(bg) > 0.6, key
        assert _luminance(t.get_color()) < 0.1, f"{key}: {t.get_color()} on {bg}"
    # In the drawn image, the number on the black cell shows as light pixels.
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    px = np.asarray(canvas.buffer_rgba())[..., :3] / 255.0
    ax = next(a for a in fig.axes if a.get_title() == "unclassified")
    (x0, y0), (x1, y1) = ax.transData.transform([(1 - 0.3, 1 - 0.3), (1 + 0.3, 1 + 0.3)])
    h = px.shape[0]
    cell = px[int(h - y1) : int(h - y0), int(x0) : int(x1)]
    assert cell.min() < 0.05 and cell.max() > 0.8  # black background, light text on it


def test_sweep_numbers_contrast_with_their_cells(report_ws) -> None:
    cells = _sweep_cells(sweep_figure(report_ws))
    assert cells
    for title, value, bg, t in cells:
        # 4.5:1 is WCAG AA for text; black or white always reaches it on some colour.
        assert _contrast(bg, t.get_color()) >= 4.5, f"{title} {value}: {t.get_color()} on {bg}"


def test_build_report_writes_everything(report_ws, tmp_path: Path) -> None:
    out = tmp_path / "report"
    paths = build_report(report_ws, out, exemplars_per_cluster=4, exemplar_clusters=2)
    for name in ("map", "cluster_tree", "flatbands", "sweep"):
        assert name in paths.figures, paths.skipped
    for files in paths.figures.values():
        assert [f.suffix for f in files] == [".png", ".svg"]
        for f in files:
            assert f.stat().st_size > 1000
    assert sum(n.startswith("exemplars_cluster_") for n in paths.figures) == 2
    index = paths.index.read_text()
    for href in re.findall(r"(?:href|src)='([^']+)'", index):
        assert (out / href).is_file(), href
    assert "map.html" in index


def test_map_html_is_self_contained_and_holds_neighbours(report_ws, tmp_path: Path) -> None:
    paths = build_report(report_ws, tmp_path / "r", exemplar_clusters=0)
    page = paths.map_html.read_text()
    # Opens from disk offline: no external script, style or image.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
    assert "Plotly" in page
    payload = map_json_from_html(page)
    data = load_map_data(report_ws)
    assert payload["points"]["id"] == data.ids
    nn = nearest_neighbours(report_ws, data.ids, k=10)
    ids = payload["points"]["id"]
    for i, mid in enumerate(ids):
        got = [ids[j] for j in payload["neighbours"]["index"][i]]
        assert got == [m for m, _ in nn[mid]]
    thumbs = payload["thumbnails"]
    assert set(thumbs) == set(ids)
    assert all(v.startswith("data:image/png;base64,") for v in thumbs.values())


def test_map_payload_limits_thumbnails_to_the_most_typical(report_ws, tmp_path: Path) -> None:
    paths = build_report(report_ws, tmp_path / "r", exemplar_clusters=0, max_thumbnails=5)
    payload = map_json_from_html(paths.map_html.read_text())
    data = load_map_data(report_ws)
    best = data.points[data.points["exemplar_rank"] == 1]["material_id"]
    assert len(payload["thumbnails"]) == 5
    assert set(best.head(5)) <= set(payload["thumbnails"])


def test_map_payload_is_strict_json() -> None:
    pts = pd.DataFrame(
        {
            "material_id": ["a", "b"],
            "formula": ["X", "Y"],
            "cluster": [0, -1],
            "probability": [np.nan, 0.5],
            "exemplar_rank": [1, np.nan],
            "x": [0.0, 1.0],
            "y": [0.0, 1.0],
            "group": [-1, -1],
            "character": ["metal", "unknown"],
            "band_gap": [np.nan, 1.0],
        }
    )
    payload = map_payload(MapData(points=pts), {"a": [("b", 0.5)], "b": [("a", 0.5)]})
    text = json.dumps(payload, allow_nan=False)
    assert json.loads(text)["neighbours"]["index"] == [[1], [0]]


def test_report_needs_clusters(tmp_path: Path) -> None:
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    with pytest.raises(BandprintError, match="bandprint cluster"):
        build_report(ws, tmp_path / "out")


def test_report_command(report_ws, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        main, ["report", str(report_ws.path), "--out", str(tmp_path / "o"), "--clusters", "1", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert "index.html" in res.output and (tmp_path / "o" / "map.html").is_file()
    bad = runner.invoke(main, ["report", str(tmp_path / "nope"), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert bad.output.startswith("error: ") and "Traceback" not in bad.output


def test_report_without_optional_tables(report_ws, tmp_path: Path) -> None:
    from bandprint.store import Workspace

    # Only band structures, fingerprints and the clusters table: every other figure is
    # listed as not made, with the command that would make it.
    ws = Workspace(tmp_path / "bare", create=True)
    ids = report_ws.ids()[:20]
    ws.add_band_structures(
        [(b, f"copy:{b.material_id}", "1") for b in report_ws.iter_band_structures(ids)]
    )
    model = report_ws.table_meta("clusters")["model_id"]
    all_ids, vectors = report_ws.read_fingerprints(model)
    rows = [all_ids.index(m) for m in ids]
    ws.write_fingerprints(model, ids, vectors[rows], report_ws.fingerprint_model_info(model))
    clusters = report_ws.read_table("clusters").set_index("material_id").loc[ids].reset_index()
    ws.write_table("clusters", clusters, report_ws.table_meta("clusters"))
    paths = build_report(ws, tmp_path / "out", exemplar_clusters=0, reconstructions=0)
    assert "map" in paths.figures
    for name, command in (
        ("cluster_tree", "bandprint cluster"),
        ("sweep", "bandprint sweep"),
        ("flatbands", "bandprint flatbands"),
    ):
        assert command in paths.skipped[name]
    index = paths.index.read_text()
    assert "Not made" in index and "bandprint sweep" in index
    payload = map_json_from_html(paths.map_html.read_text())
    assert payload["points"]["id"] == ids
    assert all(v is None for v in payload["points"]["is_flat"])


def test_fingerprinter_must_match_the_workspace_model(tmp_path: Path) -> None:
    from bandprint.report import load_workspace_fingerprinter
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "w", create=True)
    ws.write_fingerprints("other-model", ["a", "b"], np.zeros((2, 98), dtype=np.float32))
    with pytest.raises(BandprintError, match="come from model other-model"):
        load_workspace_fingerprinter(ws)


def test_metadata_values_and_titles_name_a_materials_prototype() -> None:
    from bandprint.report.data import material_title, metadata_value

    meta = pd.Series(['{"prototype":"2H-MX2","sg_symbol":"P-6m2"}', "{}", None, '{"a":1}'])
    assert metadata_value(meta, "prototype").tolist() == ["2H-MX2", "", "", ""]
    assert metadata_value(meta, "sg_symbol").tolist() == ["P-6m2", "", "", ""]
    # A prototype the id already spells out is not repeated.
    assert material_title("MoS2", "2H-MX2_MoS2", "2H-MX2") == "MoS2 (2H-MX2_MoS2)"
    assert material_title("MoS2", "c2db-17", "2H-MX2") == "MoS2 (c2db-17), 2H-MX2"
    assert material_title(None, "x-1", "") == "x-1 (x-1)"
