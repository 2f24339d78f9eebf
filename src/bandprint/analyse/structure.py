"""Structure fingerprints versus the electronic map (Pentz, Warford et al. 2025: of 45 structure
clusters, 18 formed localised groups in the electronic map).

Structure fingerprint: matminer's ``SiteStatsFingerprint(CrystalNNFingerprint.from_preset(
"ops"), stats=("mean", "std_dev", "minimum", "maximum"))``: 61 CrystalNN site features
(coordination-number weights and local-order parameters), summarised over the sites by four
statistics, = 244 values (the paper's 244; checked in ``tests/test_structure.py``). CrystalNN
is slow per structure, so it runs in worker processes (``bandprint.workflows.structure`` caches
the results in the workspace table ``structure_fingerprints``, keyed by ``structure_hash``); a
structure CrystalNN cannot handle gets NaNs and is reported, not fatal.

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
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from pymatgen.core import Structure

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


__all__ = [
    "ALPHA",
    "CACHE_TABLE",
    "CLUSTERS_TABLE",
    "LOCALISATION_TABLE",
    "N_RANDOM",
    "STATS",
    "STRUCTURE_FINGERPRINT_LENGTH",
    "StructureFingerprinter",
    "feature_labels",
    "localisation",
    "make_featurizer",
    "structure_fingerprints",
    "structure_hash",
]
