"""The one-command demo: the whole pipeline on built-in data, offline.

zoo (tight-binding lattices, with a few planted near-duplicates) + the bundled real DFT samples
+ the project's GPAW corpus of 2-D materials (when the source checkout is there, or
``$BANDPRINT_CORPUS``; ``compute.corpus.corpus_dir``) → ingest → fingerprint with the shipped
model → cluster and map → flat bands → duplicates (planted zoo pairs and the corpus's settings
and strain twins as ground truth) → report. Every step is the public API a notebook would call;
the demo only strings them together and says what it found.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    import pandas as pd

#: Zoo size: large enough for every family to form clusters, small enough for minutes on 2 cores.
DEMO_ZOO_SIZE = 1000
#: Planted near-duplicates (the same tight-binding model with slightly perturbed parameters).
DEMO_DUPLICATES = 20
#: Most GPAW corpus band structures the demo takes (``compute.corpus.select_corpus`` picks
#: them, every prototype and whole twin groups); the whole corpus while it is smaller.
DEMO_CORPUS_LIMIT = 800


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
    #: The GPAW corpus folder read (``None``: the demo ran without it).
    corpus: Path | None = None
    #: Corpus band structures ingested (materials and their twins) and their prototypes.
    n_corpus: int = 0
    n_corpus_prototypes: int = 0
    #: Twins among them whose original is there too (settings or strain twins); of those, how
    #: many the duplicate finder paired with their original, and for how many the nearest
    #: other material by fingerprint (``similar``, the clustering's distance) is the original.
    n_corpus_twins: int = 0
    n_corpus_twins_found: int = 0
    n_corpus_twins_nearest: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def bundled_samples_dir() -> Path:
    """The real DFT samples shipped in the package (see ``data/samples/ORIGIN.md``)."""
    return Path(str(resources.files("bandprint") / "data" / "samples"))


def demo_corpus_files(folder: Path, limit: int | None = DEMO_CORPUS_LIMIT) -> list[Path]:
    """The corpus files of ``folder`` the demo ingests: all of them, or when there are more
    than ``limit``, the ``compute.corpus.select_corpus`` subset (deterministic, every
    prototype, whole twin groups)."""
    from bandprint.compute.corpus import corpus_files, load_corpus, select_corpus

    files = corpus_files(folder)
    if limit is None or len(files) <= limit:
        return files
    # Ids, not the files listed above: the corpus may grow between the two listings, and
    # files are only ever added (atomically), so every chosen id has its file.
    return [folder / f"{m}.json.gz" for m in select_corpus(load_corpus(folder), limit)]


def catalogue_metadata(catalog: pd.DataFrame, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Material id → its parsed ``metadata`` for the catalogue rows ``ids``."""
    rows = catalog[catalog["material_id"].isin(ids)]
    return {
        str(m): orjson.loads(t) if t else {}
        for m, t in zip(rows["material_id"], rows["metadata"], strict=True)
    }


def corpus_twins(metadata: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Twin id → the id of its original (``metadata["twin_of"]``), for the twins among
    ``metadata``'s ids whose original is among them too."""
    return {
        m: str(meta["twin_of"]) for m, meta in metadata.items() if meta.get("twin_of") in metadata
    }


def run_demo(
    out_dir: str | Path = "demo-out",
    n_zoo: int = DEMO_ZOO_SIZE,
    seed: int = 0,
    say: Callable[[str], None] = print,
    corpus_limit: int | None = DEMO_CORPUS_LIMIT,
) -> DemoResult:
    """Run the pipeline into ``out_dir`` (zoo/, ws/, report/) and return what it found.

    The GPAW corpus comes from ``compute.corpus.corpus_dir()``; at most ``corpus_limit`` of
    its band structures are ingested (``demo_corpus_files``; 0: none, ``None``: all). Without
    a corpus the demo says so in one line and runs on the zoo and the bundled samples."""
    from bandprint.compute.corpus import CORPUS_ENV, corpus_dir
    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.ingest import ingest
    from bandprint.report import build_report
    from bandprint.report.build import nearest_neighbours
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

    corpus = corpus_dir() if corpus_limit != 0 else None
    corpus_paths = demo_corpus_files(corpus, corpus_limit) if corpus is not None else []
    if corpus is None and corpus_limit != 0:
        say(
            "[corpus] no GPAW corpus here (an installed package ships none): the demo runs "
            "without it; run it from a bandprint source checkout (corpus/gpaw-2d/bands) or set "
            f"{CORPUS_ENV}=<folder of its band structures>"
        )
    corpus_note = f" + {len(corpus_paths)} GPAW corpus band structures" if corpus_paths else ""
    done = step(
        "ingest",
        f"zoo + bundled real DFT samples (VASP, CASTEP, Materials Project JSON){corpus_note}",
    )
    ws_dir = out / "ws"
    report = ingest([zoo_dir, bundled_samples_dir(), *corpus_paths], ws_dir, progress=False)
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
    catalog = ws.catalog()
    # Ingested corpus ids: file stems are material ids (a file that failed to read is absent).
    corpus_ids = {p.name.removesuffix(".json.gz") for p in corpus_paths} & set(
        catalog["material_id"]
    )
    corpus_meta = catalogue_metadata(catalog, corpus_ids)
    twins = corpus_twins(corpus_meta)
    n_twins_found = sum(frozenset(p) in found for p in twins.items())
    nearest = nearest_neighbours(ws, list(twins), k=1) if twins else {}
    n_twins_nearest = sum(bool(nearest.get(t)) and nearest[t][0][0] == o for t, o in twins.items())
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
        corpus=corpus,
        n_corpus=len(corpus_ids),
        n_corpus_prototypes=len({m["prototype"] for m in corpus_meta.values() if "prototype" in m}),
        n_corpus_twins=len(twins),
        n_corpus_twins_found=n_twins_found,
        n_corpus_twins_nearest=n_twins_nearest,
        seconds=seconds,
    )
