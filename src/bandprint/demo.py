"""The one-command demo: the whole pipeline on built-in data, offline.

zoo (tight-binding lattices, with a few planted near-duplicates) + the bundled real DFT samples
→ ingest → fingerprint with the shipped model → cluster and map → flat bands → duplicates →
report. Every step is the public API a notebook would call; the demo only strings them together
and says what it found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: Zoo size: large enough for every family to form clusters, small enough for minutes on 2 cores.
DEMO_ZOO_SIZE = 1300
#: Planted near-duplicates (the same tight-binding model with slightly perturbed parameters).
DEMO_DUPLICATES = 20


@dataclass
class DemoResult:
    """Where the demo wrote things and what it found."""

    out_dir: Path
    workspace: Path
    report_index: Path
    n_materials: int
    n_clusters: int
    n_unclassified: int
    n_flat: int
    n_duplicate_pairs: int
    n_planted_duplicates: int
    n_planted_found: int
    seconds: dict[str, float] = field(default_factory=dict)


def bundled_samples_dir() -> Path:
    """The real DFT samples shipped in the package (see ``data/samples/ORIGIN.md``)."""
    return Path(str(resources.files("bandprint") / "data" / "samples"))


def run_demo(
    out_dir: str | Path = "demo-out",
    n_zoo: int = DEMO_ZOO_SIZE,
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run the pipeline into ``out_dir`` (zoo/, ws/, report/) and return what it found."""
    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.ingest import ingest
    from bandprint.report import build_report
    from bandprint.store import Workspace
    from bandprint.workflows.cluster import cluster_workspace, sweep_workspace
    from bandprint.workflows.duplicates import duplicates_workspace
    from bandprint.workflows.fingerprint import fingerprint_workspace
    from bandprint.workflows.flatbands import flatband_workspace
    from bandprint.zoo import write_near_duplicates, write_zoo

    out = Path(out_dir)
    seconds: dict[str, float] = {}

    def step(name: str, message: str) -> Callable[[], None]:
        say(f"[{name}] {message}")
        t0 = time.perf_counter()

        def done() -> None:
            seconds[name] = time.perf_counter() - t0

        return done

    done = step("zoo", f"{n_zoo} tight-binding band structures + {DEMO_DUPLICATES} near-duplicates")
    zoo_dir = out / "zoo"
    write_zoo(zoo_dir, n_zoo, seed=seed)
    planted = write_near_duplicates(zoo_dir, DEMO_DUPLICATES, seed=seed)
    done()

    done = step("ingest", "zoo + bundled real DFT samples (VASP, CASTEP, Materials Project JSON)")
    ws_dir = out / "ws"
    report = ingest([zoo_dir, bundled_samples_dir()], ws_dir, progress=False)
    for path, reason in report.failures:
        say(f"  skipped {path}: {reason}")
    ws = Workspace(ws_dir)
    done()

    done = step("fingerprint", "encoding with the shipped autoencoder")
    fingerprinter = load_default_fingerprinter()
    fingerprint_workspace(ws, fingerprinter, progress=False)
    done()

    done = step("cluster", "HDBSCAN (Minkowski p = 0.2), UMAP map, DBSCAN groups")
    clusters = cluster_workspace(ws, model_id=fingerprinter.model_id_)
    done()

    done = step("sweep", "min cluster size × min samples over 2..11 (DBCV, S_Dbw)")
    sweep_workspace(ws, model_id=fingerprinter.model_id_)
    done()

    done = step("flatbands", "flat-band detection in 0.5 eV strips over ±1 eV")
    flat, _ = flatband_workspace(ws)
    done()

    done = step("duplicates", "near-identical band structures")
    pairs = duplicates_workspace(ws, model_id=fingerprinter.model_id_).table
    found = {frozenset(p) for p in zip(pairs["material_id_1"], pairs["material_id_2"], strict=True)}
    n_found = sum(
        frozenset(p) in found
        for p in zip(planted["material_id"], planted["duplicate_of"], strict=True)
    )
    done()

    done = step("report", "figures and the interactive map")
    paths = build_report(ws, out / "report")
    done()

    return DemoResult(
        out_dir=out,
        workspace=ws_dir,
        report_index=paths.index,
        n_materials=len(ws),
        n_clusters=int(clusters.n_clusters),
        n_unclassified=int(clusters.n_unclassified),
        n_flat=int(flat["is_flat"].sum()) if len(flat) else 0,
        n_duplicate_pairs=len(pairs),
        n_planted_duplicates=len(planted),
        n_planted_found=n_found,
        seconds=seconds,
    )
