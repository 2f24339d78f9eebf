"""Structure clusters of a workspace: the structure fingerprints of its materials
(``analyse.structure.structure_fingerprints``, cached in the ``structure_fingerprints`` table
by structure hash), clustered with HDBSCAN and each cluster tested for localisation in the
electronic map of the ``clusters`` table (``analyse.structure.localisation``); written as the
``structure_clusters`` and ``structure_localisation`` tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.analyse.cluster import CLUSTERS_TABLE as ELECTRONIC
from bandprint.analyse.cluster import cluster_fingerprints
from bandprint.analyse.structure import (
    ALPHA,
    CACHE_TABLE,
    CLUSTERS_TABLE,
    LOCALISATION_TABLE,
    N_RANDOM,
    STATS,
    STRUCTURE_FINGERPRINT_LENGTH,
    localisation,
    structure_fingerprints,
    structure_hash,
)
from bandprint.errors import BandprintError
from bandprint.store import Workspace

if TYPE_CHECKING:
    from pymatgen.core import Structure


def workspace_structure_fingerprints(
    ws: Workspace,
    ids: Sequence[str] | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """Structure fingerprints of the workspace's materials that have a structure:
    ``(ids, vectors, {id: error})``. Cached in the ``structure_fingerprints`` table; only
    new or changed structures are computed."""
    ids = list(ws.ids() if ids is None else ids)
    cache: dict[str, tuple[str, list[float], str]] = {}
    if CACHE_TABLE in ws.tables():
        old = ws.read_table(CACHE_TABLE)
        for mid, h, vec, err in zip(
            old["material_id"], old["structure_hash"], old["vector"], old["error"], strict=True
        ):
            cache[str(mid)] = (str(h), list(vec) if vec is not None else [], str(err))
    have: list[str] = []
    hashes: dict[str, str] = {}
    todo_ids: list[str] = []
    todo: list[Structure] = []
    for bs in ws.iter_band_structures(ids, with_structure=True):
        if bs.structure is None:
            continue
        h = structure_hash(bs.structure)
        have.append(bs.material_id)
        hashes[bs.material_id] = h
        if bs.material_id not in cache or cache[bs.material_id][0] != h:
            todo_ids.append(bs.material_id)
            todo.append(bs.structure)
    if todo:
        vectors, errors = structure_fingerprints(todo, n_jobs, progress)
        for mid, vec, err in zip(todo_ids, vectors, errors, strict=True):
            cache[mid] = (hashes[mid], [] if err else vec.tolist(), err)
        table = pd.DataFrame(
            {
                "material_id": list(cache),
                "structure_hash": [v[0] for v in cache.values()],
                "vector": [v[1] for v in cache.values()],
                "error": [v[2] for v in cache.values()],
            }
        )
        ws.write_table(
            CACHE_TABLE,
            table,
            {"featurizer": "SiteStatsFingerprint(CrystalNNFingerprint ops)", "stats": STATS},
        )
    ok = [m for m in have if not cache[m][2]]
    errors_out = {m: cache[m][2] for m in have if cache[m][2]}
    X = np.array([cache[m][1] for m in ok], dtype=np.float64).reshape(
        len(ok), STRUCTURE_FINGERPRINT_LENGTH
    )
    return ok, X, errors_out


@dataclass
class StructureRun:
    """Structure clusters of a workspace and their localisation in the electronic map."""

    table: pd.DataFrame  # per material: material_id, structure_cluster, probability
    localisation: pd.DataFrame  # per structure cluster (``localisation``)
    errors: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        return int(self.table["structure_cluster"].max() + 1) if len(self.table) else 0

    @property
    def n_localised(self) -> int:
        return int(self.localisation["localised"].sum()) if len(self.localisation) else 0


def structure_workspace(
    ws: Workspace,
    min_cluster_size: int = 5,
    min_samples: int = 2,
    p: float = 2.0,
    n_jobs: int | None = None,
    seed: int = 0,
    write: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> StructureRun:
    """Structure fingerprints → HDBSCAN → localisation of each structure cluster in the map
    of the ``clusters`` table (run ``bandprint cluster`` first). Stores the
    ``structure_clusters`` and ``structure_localisation`` tables."""
    if ELECTRONIC not in ws.tables():
        raise BandprintError(f"no electronic map in {ws.path}: run bandprint cluster {ws.path}")
    electronic = ws.read_table(ELECTRONIC)
    ids, X, errors = workspace_structure_fingerprints(
        ws, electronic["material_id"], n_jobs, progress
    )
    if len(ids) < max(min_cluster_size, 2):
        raise BandprintError(
            f"{ws.path}: only {len(ids)} material(s) with a usable structure"
            + (f" ({len(errors)} failed)" if errors else "")
        )
    result = cluster_fingerprints(X, min_cluster_size, min_samples, p, random_state=seed)
    table = pd.DataFrame(
        {
            "material_id": ids,
            "structure_cluster": result.labels,
            "probability": result.probabilities,
        }
    )
    mapped = electronic.set_index("material_id").loc[ids]
    loc = localisation(
        mapped[["x", "y"]].to_numpy(),
        result.labels,
        mapped["cluster"].to_numpy(),
        mapped["group"].to_numpy(),
        random_state=seed,
    )
    meta = {
        "n": len(ids),
        "n_failed": len(errors),
        "n_clusters": result.n_clusters,
        "n_localised": int(loc["localised"].sum()) if len(loc) else 0,
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "metric": result.params["metric"],
        "localised_rule": (
            f"map spread smaller than {N_RANDOM} random sets of equal size give, "
            f"false-discovery rate {ALPHA:g} (Benjamini-Hochberg)"
        ),
        "map_model_id": ws.table_meta(ELECTRONIC).get("model_id"),
    }
    if write:
        ws.write_table(CLUSTERS_TABLE, table, meta)
        ws.write_table(LOCALISATION_TABLE, loc, meta)
    return StructureRun(table, loc, errors, meta)


__all__ = ["StructureRun", "structure_workspace", "workspace_structure_fingerprints"]
