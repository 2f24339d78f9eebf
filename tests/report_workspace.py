"""A small clustered workspace for the report, explorer and browser tests, built once per session
through the real pipeline: zoo band structures plus real DFT files, fingerprints from the shipped
model, clusters, a parameter sweep, flat bands and duplicates."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

REAL_DIR = Path(__file__).parent / "data" / "real"
#: A real Materials Project file the workspace holds; uploading it must find itself.
CAO_FILE = REAL_DIR / "pymatgen-json" / "CaO_2605_bandstructure.json"
#: Families with clearly different bands, several samples each, so clusters form.
FAMILIES = ["kagome", "honeycomb", "square", "lieb", "triangular", "checkerboard"]
N_ZOO = 48
#: The zoo sample copied with a tiny distortion under another id: a known duplicate pair.
DUPLICATE_OF = "kagome-0000"
DUPLICATE_ID = "kagome-0000-copy"

_BUILT: dict[str, Any] = {}


def _add_duplicate(bss: list[Any]) -> None:
    from dataclasses import replace

    original = next(b for b in bss if b.material_id == DUPLICATE_OF)
    rng = np.random.default_rng(7)
    bss.append(
        replace(
            original,
            material_id=DUPLICATE_ID,
            energies=original.energies + rng.normal(scale=2e-3, size=original.energies.shape),
            metadata=dict(original.metadata),
        )
    )


def build_workspace(folder: Path) -> Any:
    """Ingest, fingerprint, cluster, sweep, flat bands, duplicates: the whole analysis."""
    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.read import read_band_structures
    from bandprint.store import Workspace
    from bandprint.workflows import cluster, duplicates
    from bandprint.workflows.fingerprint import fingerprint_workspace
    from bandprint.workflows.flatbands import flatband_workspace
    from bandprint.zoo import sample_zoo

    if folder.exists():
        shutil.rmtree(folder)
    ws = Workspace(folder, create=True)
    bss = sample_zoo(N_ZOO, seed=0, families=FAMILIES)
    _add_duplicate(bss)
    bss += read_band_structures(REAL_DIR / "pymatgen-json")
    ws.add_band_structures([(b, f"test:{b.material_id}", "1") for b in bss])
    fingerprint_workspace(ws, load_default_fingerprinter(), progress=False)
    # A small map: a wider DBSCAN ε than the default so that shaded groups form.
    cluster.cluster_workspace(ws, min_cluster_size=3, min_samples=2, group_eps_fraction=0.1)
    cluster.sweep_workspace(ws, min_cluster_sizes=[3, 4], min_samples_values=[1, 2])
    flatband_workspace(ws)
    duplicates.duplicates_workspace(ws)
    return ws


def report_workspace(tmp_path_factory: Any) -> Any:
    """The session's test workspace (built on first use)."""
    if "ws" not in _BUILT:
        _BUILT["ws"] = build_workspace(tmp_path_factory.mktemp("report-ws") / "ws")
    return _BUILT["ws"]


def cao_id(ws: Any) -> str:
    """The id the workspace gave the real CaO file."""
    ids = [m for m in ws.ids() if m.startswith("CaO")]
    assert len(ids) == 1, ids
    return ids[0]


def map_json_from_html(page: str) -> dict[str, Any]:
    """The data inlined in a map page (``window.BANDPRINT_DATA``)."""
    m = re.search(r"window\.BANDPRINT_DATA = (.*?);\nwindow\.BANDPRINT_CONFIG", page, re.S)
    assert m, "no inlined map data"
    return json.loads(m.group(1))
