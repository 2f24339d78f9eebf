"""The local explorer: its answers (Explorer) and its HTTP server on a free loopback port."""

from __future__ import annotations

import gzip
import json
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bandprint.cli import main
from bandprint.errors import BandprintError
from bandprint.explorer import (
    Explorer,
    ExplorerServer,
    _fmt,
    distance_formula,
    distance_name,
    make_server,
    parse_multipart,
)
from bandprint.render import RenderSettings, reference_energy
from bandprint.report import load_map_data, nearest_neighbours
from report_workspace import (
    CAO_FILE,
    DUPLICATE_ID,
    DUPLICATE_OF,
    REAL_DIR,
    cao_id,
    report_workspace,
)


@pytest.fixture(scope="module")
def report_ws(tmp_path_factory):
    return report_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def server(report_ws) -> Iterator[ExplorerServer]:
    srv = make_server(report_ws, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv: ExplorerServer, path: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(srv.url + path.lstrip("/"), timeout=60) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def _multipart(files: list[tuple[str, bytes]]) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, content in files:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _upload(srv: ExplorerServer, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
    ctype, body = _multipart(files)
    req = urllib.request.Request(
        srv.url + "api/project", data=body, headers={"Content-Type": ctype}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# -- without HTTP ---------------------------------------------------------------------------


def test_parse_multipart_round_trip() -> None:
    blob = bytes(range(256)) * 3 + b"\r\n--not-a-boundary\r\n"
    ctype, body = _multipart([("a.json", b'{"x": 1}'), ("b.bin", blob)])
    assert parse_multipart(ctype, body) == [("a.json", b'{"x": 1}'), ("b.bin", blob)]
    with pytest.raises(BandprintError, match="multipart"):
        parse_multipart("application/json", b"{}")


def test_distance_names() -> None:
    assert distance_name(2.0) == "L2 distance"
    assert distance_name(1.0) == "L1 distance"
    assert distance_name(0.2) == "Minkowski p = 0.2 distance"
    assert distance_name(3.0) == "Minkowski p = 3 distance"
    assert distance_formula(0.2) == "Σ|Δ|^0.2, without the 1/p root"
    assert distance_formula(3.0) == "(Σ|Δ|^3)^(1/3)"


def test_material_answer(report_ws) -> None:
    ex = Explorer(report_ws)
    data = load_map_data(report_ws)
    clustered = data.points[data.points["cluster"] >= 0]["material_id"].iloc[0]
    info = ex.material(clustered)
    nn = nearest_neighbours(report_ws, [clustered], k=10)[clustered]
    assert [s["material_id"] for s in info["similar"]] == [m for m, _ in nn]
    assert [s["distance"] for s in info["similar"]] == pytest.approx([d for _, d in nn])
    c = info["map"]["cluster"]
    assert c >= 0 and info["map"]["cluster_size"] == int((data.points["cluster"] == c).sum())
    assert [e["material_id"] for e in info["map"]["exemplars"]] == data.exemplars(c, 6)
    flat = report_ws.read_table("flatbands").set_index("material_id")
    assert info["flatness"]["is_flat"] == bool(flat.at[clustered, "is_flat"])
    assert info["facts"]["band_gap"] == pytest.approx(
        report_ws.catalog().set_index("material_id").at[clustered, "band_gap"]
    )
    assert info["similar_distance"]["p"] == report_ws.table_meta("clusters")["p"] == 0.2
    assert info["similar_distance"]["name"] == "Minkowski p = 0.2 distance"
    assert info["duplicates_distance"]["p"] == report_ws.table_meta("duplicates")["p"] == 2.0
    assert info["duplicates_distance"]["name"] == "L2 distance"
    # How it is drawn: the render settings stored with the map's fingerprints, the zoo's
    # paths already canonical, 0 eV at the reference energy of those settings.
    settings = RenderSettings.from_dict(report_ws.fingerprint_model_info(ex.model_id)["render"])
    drawn = info["rendering"]
    bs = report_ws.get(clustered, with_structure=False)
    assert drawn["energy_reference"] == settings.energy_reference
    assert drawn["reference_energy"] == pytest.approx(
        reference_energy(bs, settings.energy_reference)
    )
    assert drawn["canonical_path"] and drawn["path"] == bs.path_string
    assert drawn["two_d"] is True
    assert f"energy reference: {settings.energy_reference}" in drawn["description"]
    with pytest.raises(BandprintError, match="no material nope"):
        ex.material("nope")


def test_duplicates_listed_both_ways(report_ws) -> None:
    ex = Explorer(report_ws)
    assert DUPLICATE_ID in [d["material_id"] for d in ex.duplicates(DUPLICATE_OF)]
    assert DUPLICATE_OF in [d["material_id"] for d in ex.duplicates(DUPLICATE_ID)]


def test_only_loopback(report_ws) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.org"):
        with pytest.raises(BandprintError, match="loopback"):
            make_server(report_ws, host=host, port=0)
    res = CliRunner().invoke(main, ["serve", str(report_ws.path), "--host", "0.0.0.0"])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "loopback" in res.output


# -- over HTTP ------------------------------------------------------------------------------


def test_server_binds_loopback(server) -> None:
    assert server.server_address[0] == "127.0.0.1"


def test_map_page_and_static_files(server) -> None:
    status, ctype, body = _get(server, "/")
    assert status == 200 and ctype.startswith("text/html")
    page = body.decode()
    assert "/static/plotly.min.js" in page and 'id="search"' in page and "/api/project" in page
    status, ctype, js = _get(server, "/static/plotly.min.js")
    assert status == 200 and len(js) > 1_000_000 and b"plotly" in js[:2000].lower()
    assert _get(server, "/static/map.js")[0] == 200
    assert _get(server, "/static/../explorer.py")[0] == 404
    assert _get(server, "/static/report.py")[0] == 404


def test_map_json_holds_neighbours(server, report_ws) -> None:
    status, _, body = _get(server, "/api/map")
    assert status == 200
    payload = json.loads(body)
    data = load_map_data(report_ws)
    ids = payload["points"]["id"]
    assert ids == data.ids and payload["thumbnails"] is None
    nn = nearest_neighbours(report_ws, ids, k=10)
    for i in (0, len(ids) // 2, len(ids) - 1):
        assert [ids[j] for j in payload["neighbours"]["index"][i]] == [m for m, _ in nn[ids[i]]]


def test_material_page(server, report_ws) -> None:
    status, ctype, body = _get(server, f"/material/{DUPLICATE_OF}")
    assert status == 200 and ctype.startswith("text/html")
    page = body.decode()
    nn = nearest_neighbours(report_ws, [DUPLICATE_OF], k=10)[DUPLICATE_OF]
    similar = page.split("id='similar'")[1].split("</section>")[0]
    positions = [similar.index(f"data-id='{m}'") for m, _ in nn]
    assert positions == sorted(positions)  # listed nearest first
    dup = page.split("id='duplicates'")[1].split("</section>")[0]
    assert f"data-id='{DUPLICATE_ID}'" in dup
    # Each distance says which metric it is: the duplicates' L2, the neighbours' p = 0.2.
    assert "by Minkowski p = 0.2 distance" in similar and "Σ|Δ|^0.2" in similar
    for m, d in nn:
        item = similar.split(f"data-id='{m}'")[1].split("</li>")[0]
        assert re.search(rf"p = 0\.2 distance</span> {re.escape(_fmt(d))}</span>", item), item
        assert "L2" not in item
    assert "by L2 distance" in dup and "not comparable" in dup
    for d in Explorer(report_ws).duplicates(DUPLICATE_OF):
        item = dup.split(f"data-id='{d['material_id']}'")[1].split("</li>")[0]
        assert f">L2 distance {_fmt(d['distance'])}<" in item, item
        assert f">relative L2 distance {_fmt(d['relative_distance'])}<" in item, item
        assert "p = 0.2" not in item
    assert "id='flatness'" in page and f"/bands/{DUPLICATE_OF}.png" in page
    drawn = page.split("id='rendering'")[1].split("</div>")[0]
    assert "path drawn: " in drawn and "energy reference: " in drawn
    status, ctype, png = _get(server, f"/bands/{DUPLICATE_OF}.png")
    assert status == 200 and ctype == "image/png" and png[:4] == b"\x89PNG"
    status, ctype, png = _get(server, f"/thumb/{DUPLICATE_OF}.png")
    assert status == 200 and png[:4] == b"\x89PNG"


def test_unknown_material_is_a_one_line_404(server) -> None:
    status, ctype, body = _get(server, "/material/no-such-thing")
    assert ctype.startswith("text/html")
    assert status == 404 and b"no material no-such-thing" in body and b"Traceback" not in body
    status, _, body = _get(server, "/api/material/no-such-thing")
    assert status == 404 and json.loads(body)["ok"] is False


def test_upload_lands_next_to_itself(server, report_ws) -> None:
    status, reply = _upload(server, [(CAO_FILE.name, CAO_FILE.read_bytes())])
    assert status == 200 and reply["ok"], reply
    (res,) = reply["results"]
    me = cao_id(report_ws)
    assert res["neighbours"][0]["material_id"] == me
    # Itself, up to float32 rounding between batched and single encoding (which the ℓp metric
    # with p = 0.2 magnifies): far closer than any other material.
    assert res["neighbours"][0]["distance"] < 0.2 * res["neighbours"][1]["distance"]
    pts = load_map_data(report_ws).points
    assert pts["x"].min() <= res["x"] <= pts["x"].max()
    assert pts["y"].min() <= res["y"] <= pts["y"].max()
    assert res["placement"]


def test_upload_of_a_multi_file_vasp_run(server) -> None:
    folder = REAL_DIR / "vasp" / "OsO2"
    files = [(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]
    status, reply = _upload(server, files)
    assert status == 200 and reply["ok"], reply
    assert len(reply["results"]) == 1 and len(reply["results"][0]["neighbours"]) == 10


@pytest.mark.parametrize(
    ("name", "content", "expect"),
    [
        ("notes.txt", b"hello, these are not bands", "notes.txt"),
        ("empty.json", b"", "empty.json: file is empty"),
        ("cut.json", CAO_FILE.read_bytes()[:5000], "cut.json"),
        ("cut.json.gz", gzip.compress(b'{"kpoints": [1, 2', mtime=0), "cut.json.gz"),
    ],
    # ids by file name: pytest-xdist workers must collect identical test names
    ids=["text", "empty", "truncated-json", "truncated-gzip"],
)
def test_bad_upload_is_one_clear_line(server, name: str, content: bytes, expect: str) -> None:
    status, reply = _upload(server, [(name, content)])
    assert status == 400 and reply["ok"] is False
    err = reply["error"]
    assert expect in err and "\n" not in err and "Traceback" not in err
    assert "/tmp" not in err  # names the uploaded file, not the server's temporary copy


def test_upload_without_files(server) -> None:
    ctype, body = _multipart([])
    req = urllib.request.Request(
        server.url + "api/project", data=body, headers={"Content-Type": ctype}, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=30)
    assert "no file received" in json.loads(info.value.read())["error"]


def test_serve_command_reports_a_busy_port(server, report_ws) -> None:
    port = server.server_address[1]
    res = CliRunner().invoke(main, ["serve", str(report_ws.path), "--port", str(port)])
    assert res.exit_code == 2 and f"127.0.0.1:{port}" in res.output


def test_relative_paths_do_not_escape(server, tmp_path: Path) -> None:
    # An upload name with folders is flattened: nothing is written outside the upload folder.
    status, reply = _upload(server, [("../../evil.txt", b"not bands")])
    assert status == 400 and "evil.txt" in reply["error"]
    assert not Path("/tmp/evil.txt").exists()


def test_search_endpoint(server, report_ws) -> None:
    status, _, body = _get(server, f"/api/search?q={DUPLICATE_OF}")
    assert status == 200
    hits = json.loads(body)
    assert hits[0]["material_id"] == DUPLICATE_OF  # the exact id first
    status, _, body = _get(server, "/api/search?q=kagome")
    ids = [h["material_id"] for h in json.loads(body)]
    assert ids and all("kagome" in m for m in ids)
    assert json.loads(_get(server, "/api/search?q=zzz-nothing")[2]) == []
