"""Structure fingerprints versus the electronic map (Pentz, Warford et al. 2025: of 45 structure
clusters, 18 formed localised groups in the electronic map).

Structure fingerprint: matminer's ``SiteStatsFingerprint(CrystalNNFingerprint.from_preset(
"ops"), stats=("mean", "std_dev", "minimum", "maximum"))``: 61 CrystalNN site features
(coordination-number weights and local-order parameters), summarised over the sites by four
statistics, = 244 values (the paper's 244; checked in ``tests/test_structure.py``). CrystalNN
is slow per structure, so it runs in worker processes and its results are cached in
the workspace table ``structure_fingerprints`` keyed by a hash of each structure; a structure
CrystalNN cannot handle gets NaNs and is reported, not fatal.

Structure clusters: HDBSCAN (``cluster.cluster_fingerprints``) on those vectors with the
Euclidean distance (the values are bounded order parameters and weights, so no fractional-p
argument applies; ``p=`` changes it), min cluster size 5, min samples 2 as for the electronic
fingerprints.

Localised. A structure cluster is *localised in the electronic map* when its members lie closer
together on the map than random sets of materials do: its spread (mean distance of the members
from their median point on the UMAP plane) is below the 5th percentile of the spreads of
``N_RANDOM`` = 1000 random sets of the same size drawn from all mapped materials (a one-sided
permutation test, seeded). One test per structure cluster means many tests, so the p-values are
adjusted for the false-discovery rate (Benjamini-Hochberg) and a cluster is localised when its
adjusted ``q_value`` is below 5 %: of those called localised, about 5 % or fewer are expected
to be chance. This is scale-free (no map units), fair to clusters of different sizes, and says
"localised" only when chance would rarely do as well. Reported beside it: the spread relative
to the map's robust diagonal, and the fraction of members in their most common electronic
cluster and map group.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from pymatgen.core import Structure

    from bandprint.store import Workspace

#: Length of the structure fingerprint (61 CrystalNN "ops" features × 4 statistics).
STRUCTURE_FINGERPRINT_LENGTH = 244
STATS = ("mean", "std_dev", "minimum", "maximum")
#: Random sets drawn per structure cluster for the localisation test.
N_RANDOM = 1000
#: One-sided significance level of the localisation test.
ALPHA = 0.05

CACHE_TABLE = "structure_fingerprints"
CLUSTERS_TABLE = "structure_clusters"
LOCALISATION_TABLE = "structure_localisation"

_featurizer: Any = None


def make_featurizer() -> Any:
    """matminer's site-statistics CrystalNN fingerprint (module doc)."""
    from matminer.featurizers.site import CrystalNNFingerprint
    from matminer.featurizers.structure import SiteStatsFingerprint

    return SiteStatsFingerprint(CrystalNNFingerprint.from_preset("ops"), stats=STATS)


def feature_labels() -> list[str]:
    return list(make_featurizer().feature_labels())


def _featurize_one(structure: dict[str, Any]) -> tuple[list[float] | None, str]:
    import warnings

    from pymatgen.core import Structure

    global _featurizer
    if _featurizer is None:
        _featurizer = make_featurizer()
    try:
        with warnings.catch_warnings():
            # CrystalNN warns about every unusual site; the values are still defined.
            warnings.simplefilter("ignore")
            values = _featurizer.featurize(Structure.from_dict(structure))
        return [float(v) for v in values], ""
    except Exception as exc:
        return None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def structure_hash(structure: Structure) -> str:
    """A digest of a structure's lattice, species and coordinates (what CrystalNN sees)."""
    d = structure.as_dict()
    key = {
        "lattice": d["lattice"]["matrix"],
        "sites": [(s["species"], s["abc"]) for s in d["sites"]],
    }
    return hashlib.blake2b(orjson.dumps(key), digest_size=12).hexdigest()


def structure_fingerprints(
    structures: Sequence[Structure],
    n_jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """``(vectors [n, 244] (NaN rows for failures), error message per structure ("" = ok))``,
    computed in ``n_jobs`` worker processes (default: all cores)."""
    n = len(structures)
    out = np.full((n, STRUCTURE_FINGERPRINT_LENGTH), np.nan)
    errors = [""] * n
    if n == 0:
        return out, errors
    dicts = [s.as_dict() for s in structures]
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1 or n < 4:
        results = map(_featurize_one, dicts)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=n_jobs)
        results = pool.map(_featurize_one, dicts, chunksize=max(1, min(16, n // (4 * n_jobs))))
    try:
        for i, (values, error) in enumerate(results):
            if values is not None and len(values) == STRUCTURE_FINGERPRINT_LENGTH:
                out[i] = values
            else:
                errors[i] = error or f"got {len(values or [])} values"
            if progress is not None:
                progress(i + 1, n)
    finally:
        if pool is not None:
            pool.shutdown()
    return out, errors


class StructureFingerprinter(TransformerMixin, BaseEstimator):
    """``structure_fingerprints`` as a scikit-learn transformer: ``transform(structures)`` gives
    the ``[n, 244]`` vectors (a NaN row where CrystalNN fails; ``structure_fingerprints`` also
    says why). It learns nothing: ``fit`` only checks its input and returns it. ``n_jobs``:
    worker processes (default: all cores). ``get_feature_names_out`` names the 244 values."""

    def __init__(self, n_jobs: int | None = None) -> None:
        self.n_jobs = n_jobs

    def fit(self, X: Sequence[Structure], y: object = None) -> StructureFingerprinter:
        """Nothing to learn; ``X`` (pymatgen structures) is only checked; ``y`` is ignored."""
        self._check_structures(X)
        return self

    def transform(self, X: Sequence[Structure]) -> np.ndarray:
        """Structure fingerprints ``[n, 244]`` float64 of pymatgen structures ``X``."""
        return structure_fingerprints(self._check_structures(X), self.n_jobs)[0]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The matminer feature labels of the 244 values, in order."""
        return np.asarray(feature_labels(), dtype=object)

    @staticmethod
    def _check_structures(X: Sequence[Structure]) -> list[Structure]:
        from pymatgen.core import Structure

        items = list(X)
        if not all(isinstance(s, Structure) for s in items):
            raise BandprintError("StructureFingerprinter takes pymatgen Structure objects")
        return items


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


# -- localisation ----------------------------------------------------------------------------


def _spread(xy: np.ndarray) -> float:
    centre = np.median(xy, axis=0)
    return float(np.linalg.norm(xy - centre, axis=1).mean())


def localisation(
    xy: np.ndarray,
    structure_labels: np.ndarray,
    electronic_labels: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    n_random: int = N_RANDOM,
    alpha: float = ALPHA,
    random_state: int = 0,
) -> pd.DataFrame:
    """Per structure cluster: size, spread on the map, the random-set baseline, p-value, its
    false-discovery-rate adjustment ``q_value``, ``localised`` (module doc), spread relative to
    the map diagonal, and the most common electronic cluster / map group with the fraction of
    members in it. ``random_state``: the integer seed of the random sets."""
    from bandprint.analyse.embed import map_scale

    xy = np.asarray(xy, dtype=np.float64)
    labels = np.asarray(structure_labels)
    n = len(xy)
    rng = np.random.default_rng(random_state)
    scale = map_scale(xy)
    rows = []
    for c in range(int(labels.max()) + 1 if n else 0):
        members = np.flatnonzero(labels == c)
        m = len(members)
        if m < 2:
            continue
        spread = _spread(xy[members])
        baseline = np.array([_spread(xy[rng.choice(n, m, replace=False)]) for _ in range(n_random)])
        p_value = float((1 + (baseline <= spread).sum()) / (n_random + 1))
        row: dict[str, Any] = {
            "structure_cluster": c,
            "size": m,
            "spread": spread,
            "random_spread_median": float(np.median(baseline)),
            "p_value": p_value,
            "relative_spread": spread / scale if scale > 0 else np.nan,
        }
        for name, lab in (("electronic_cluster", electronic_labels), ("group", groups)):
            if lab is None:
                continue
            vals = np.asarray(lab)[members]
            vals = vals[vals >= 0]
            if len(vals):
                ids, counts = np.unique(vals, return_counts=True)
                row[name] = int(ids[np.argmax(counts)])
                row[f"{name}_fraction"] = float(counts.max() / m)
            else:
                row[name] = -1
                row[f"{name}_fraction"] = 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        after = table.columns.get_loc("p_value") + 1
        table.insert(after, "q_value", benjamini_hochberg(table["p_value"].to_numpy()))
        table.insert(after + 1, "localised", table["q_value"] < alpha)
    return table


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of independent or positively dependent
    tests: ``q_i = min over j with p_j ≥ p_i of p_j · m / rank_j``, capped at 1."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


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
    from bandprint.analyse.cluster import CLUSTERS_TABLE as ELECTRONIC
    from bandprint.analyse.cluster import cluster_fingerprints

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


__all__ = [
    "CACHE_TABLE",
    "LOCALISATION_TABLE",
    "N_RANDOM",
    "STRUCTURE_FINGERPRINT_LENGTH",
    "StructureFingerprinter",
    "StructureRun",
    "feature_labels",
    "localisation",
    "make_featurizer",
    "structure_fingerprints",
    "structure_hash",
    "structure_workspace",
    "workspace_structure_fingerprints",
]
