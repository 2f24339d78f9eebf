"""Candidate duplicate entries: materials whose fingerprints are far closer than usual.

A database that holds the same material twice (two entries differing by a small distortion,
as the elf paper lists for 2DMatPedia) shows it as a pair of fingerprints much closer to each
other than materials usually are to their nearest neighbour. So the threshold is calibrated on the
distribution of nearest-neighbour (NN) distances, in log space (scale-free):

    threshold = exp(median(log d_NN) − K · 1.4826 · MAD(log d_NN)),   K = ``DEFAULT_K`` = 5

i.e. K robust standard deviations below the typical NN distance (the median and MAD barely
move when a few percent of the entries are duplicates, unlike a mean or a fixed quantile).
Pairs with the same formula are flagged (``same_formula``); ``same_formula_only`` keeps only
those.

The distance is Euclidean by default (``DEFAULT_P`` = 2), not the clustering's p = 0.2: a
near-copy moves every fingerprint value a little, and Σ|Δ|^0.2 counts each small move heavily
(|0.01|^0.2 = 0.4 against 1 for a full unit), so under p = 0.2 planted duplicates sit about
as close as distinct nearest neighbours, while under L2 most sit well below. K and the
Euclidean default were chosen on zoo samples with planted near-copies (``zoo.near_duplicate``)
and perturbed-parameter twins (``zoo.perturbed_twin``) of one seed and checked on another
(``bench/bench_cluster_quality.py``; the figures are in BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bandprint.analyse.lp import as_f32, metric_name
from bandprint.analyse.search import SimilarityIndex
from bandprint.errors import BandprintError

#: Robust standard deviations below the median log NN distance (see the module doc).
DEFAULT_K = 5.0
#: Minkowski p of the duplicate distance (Euclidean; see the module doc).
DEFAULT_P = 2.0
#: Neighbours examined per material (a material can have several near copies).
NEIGHBOURS = 10
#: With an approximate index (inverted lists), the threshold is calibrated on the exact
#: nearest-neighbour distances of this many materials, drawn at random (seeded).
CALIBRATION_SAMPLE = 2000
#: Result table name.
DUPLICATES_TABLE = "duplicates"

DUPLICATE_COLUMNS = [
    "material_id_1",
    "material_id_2",
    "formula_1",
    "formula_2",
    "same_formula",
    "distance",
    "relative_distance",
    "mutual_nearest",
]


def calibrate_threshold(nn_distances: np.ndarray, k: float = DEFAULT_K) -> float:
    """The duplicate threshold from nearest-neighbour distances (module doc)."""
    d = np.asarray(nn_distances, dtype=np.float64)
    d = d[np.isfinite(d) & (d > 0)]
    if len(d) < 3:
        raise BandprintError(f"need at least 3 distinct fingerprints to calibrate, got {len(d)}")
    log_d = np.log(d)
    med = float(np.median(log_d))
    mad = float(np.median(np.abs(log_d - med))) * 1.4826
    return float(np.exp(med - k * mad))


@dataclass
class DuplicateResult:
    """Candidate pairs (``table``, ``DUPLICATE_COLUMNS``, closest first), the threshold used
    and how it was set; ``nn_distance`` per material (its nearest other material)."""

    table: pd.DataFrame
    threshold: float
    rule: str
    median_nn_distance: float
    nn_distance: np.ndarray = field(repr=False)
    params: dict[str, Any] = field(default_factory=dict)


def pair_table(
    pairs: Sequence[tuple[tuple[str, str], float]],
    formulas: Mapping[str, str],
    median_nn: float,
    nearest: Mapping[str, str | None],
    same_formula_only: bool = False,
) -> pd.DataFrame:
    """The ``DUPLICATE_COLUMNS`` table of ``pairs`` (``((id_1, id_2), distance)``), closest
    first. ``formulas``: id → formula (a missing or empty one never matches);
    ``nearest``: id → its nearest other material as found (``mutual_nearest`` when each is
    the other's); ``median_nn``: the typical nearest-neighbour distance
    (``relative_distance`` = distance / median_nn)."""
    records = []
    for (a, b), d in sorted(pairs, key=lambda kv: kv[1]):
        fa, fb = formulas.get(a, ""), formulas.get(b, "")
        same = bool(fa) and fa == fb
        if same_formula_only and not same:
            continue
        records.append(
            {
                "material_id_1": a,
                "material_id_2": b,
                "formula_1": fa,
                "formula_2": fb,
                "same_formula": same,
                "distance": d,
                "relative_distance": d / median_nn if median_nn > 0 else np.nan,
                "mutual_nearest": nearest.get(a) == b and nearest.get(b) == a,
            }
        )
    return pd.DataFrame(records, columns=DUPLICATE_COLUMNS)


def find_duplicates(
    ids: list[str],
    X: np.ndarray,
    formulas: list[str] | None = None,
    threshold: float | None = None,
    k_mad: float = DEFAULT_K,
    same_formula_only: bool = False,
    p: float = DEFAULT_P,
    neighbours: int = NEIGHBOURS,
    index: SimilarityIndex | None = None,
    calibration_sample: int = CALIBRATION_SAMPLE,
    seed: int = 0,
) -> DuplicateResult:
    """Pairs of materials closer than ``threshold`` (calibrated when ``None``).

    ``index``: a ``SimilarityIndex`` of exactly these fingerprints built for this ``p``
    (another p is refused). With an exact index the threshold is calibrated on every
    material's nearest-neighbour distance; with inverted lists, whose neighbours are
    approximate (a missed nearest neighbour reads as a larger distance and would bias the
    threshold upwards), on the exact nearest-neighbour distances of ``calibration_sample``
    materials drawn with ``seed``. Candidate pairs are searched through the index either way.

    ``relative_distance`` is the pair's distance over the median NN distance of the materials
    calibrated on (1 = as close as a typical nearest neighbour). ``mutual_nearest``: each is
    the other's nearest material (as the index found them). ``nn_distance``: each material's
    nearest other material as the index found it (exact only for an exact index).
    """
    X = as_f32(X, "fingerprints")
    n = len(ids)
    if n != X.shape[0]:
        raise BandprintError(f"{n} ids for {X.shape[0]} fingerprints")
    if n < 2:
        raise BandprintError(f"need at least 2 fingerprints, got {n}")
    formulas = formulas or [""] * n
    if index is None:
        index = SimilarityIndex.build(ids, X, p=p)
    elif float(index.p) != float(p):
        raise BandprintError(
            f"the similarity index was built for Minkowski p={index.p:g}, duplicates are asked "
            f"for p={p:g}: build the index with p={p:g}"
        )
    elif len(index) != n or index.vectors.shape != X.shape:
        raise BandprintError(f"the similarity index holds {len(index)} fingerprints, not {n}")
    kk = int(min(neighbours, n - 1))
    idx, dist = index.search(X, kk, exclude=np.arange(n))
    nn = dist[:, 0].astype(np.float64)
    calibrated_on = np.arange(n)
    nn_exact = nn
    if index.kind != "exact":
        if n > calibration_sample:
            rng = np.random.default_rng(seed)
            calibrated_on = np.sort(rng.choice(n, int(calibration_sample), replace=False))
        _, d = index.search(X[calibrated_on], 1, exclude=calibrated_on, exact=True)
        nn_exact = d[:, 0].astype(np.float64)
    median_nn = float(np.median(nn_exact[np.isfinite(nn_exact)]))
    threshold, rule = threshold_and_rule(nn_exact, threshold, k_mad, n, seed)
    pairs: dict[tuple[str, str], float] = {}
    rows, cols = np.nonzero((dist <= threshold) & (idx >= 0))
    for r, c in zip(rows, cols, strict=True):
        a, b = sorted((int(r), int(idx[r, c])))
        pairs[(ids[a], ids[b])] = float(dist[r, c])
    nearest = {ids[r]: ids[idx[r, 0]] if idx[r, 0] >= 0 else None for r in np.unique(rows)}
    return duplicate_result(
        pairs,
        dict(zip(ids, formulas, strict=True)),
        nearest,
        DuplicateRule(float(threshold), rule, float(p), float(k_mad), same_formula_only),
        median_nn,
        nn,
        {"calibrated_on": len(calibrated_on), "index": index.kind, "n": n},
    )


@dataclass(frozen=True)
class DuplicateRule:
    """How pairs were called duplicates: the threshold, the rule that set it (in words), the
    Minkowski p, the calibration's K and whether only same-formula pairs are kept."""

    threshold: float
    rule: str
    p: float
    k_mad: float
    same_formula_only: bool


def duplicate_result(
    pairs: dict[tuple[str, str], float],
    formulas: Mapping[str, str],
    nearest: Mapping[str, str | None],
    rule: DuplicateRule,
    median_nn: float,
    nn_distance: np.ndarray,
    extra: dict[str, Any],
) -> DuplicateResult:
    """The ``DuplicateResult`` of ``pairs`` (``pair_table``) with its parameters: the rule's,
    the median NN distance, the number of pairs and ``extra`` (what was searched)."""
    table = pair_table(list(pairs.items()), formulas, median_nn, nearest, rule.same_formula_only)
    params = {
        "p": rule.p,
        "metric": metric_name(rule.p),
        "threshold": rule.threshold,
        "rule": rule.rule,
        "k_mad": rule.k_mad,
        "same_formula_only": bool(rule.same_formula_only),
        "median_nn_distance": median_nn,
        **extra,
        "n_pairs": len(table),
    }
    return DuplicateResult(table, rule.threshold, rule.rule, median_nn, nn_distance, params)


def threshold_and_rule(
    nn_exact: np.ndarray, threshold: float | None, k_mad: float, n: int, seed: int
) -> tuple[float, str]:
    """The threshold (``calibrate_threshold`` of the exact NN distances of the materials
    calibrated on, when ``threshold`` is None) and the rule that set it, in words; ``n``:
    materials in all (a sample of them was drawn with ``seed`` when fewer were calibrated on)."""
    if threshold is not None:
        return float(threshold), "given"
    m = len(nn_exact)
    over = (
        f"{n} materials" if m == n else f"exact NN distances of {m} of {n} materials (seed {seed})"
    )
    rule = f"exp(median(log NN distance) - {k_mad:g} x 1.4826 x MAD(log NN distance)) over {over}"
    return calibrate_threshold(nn_exact, k_mad), rule


__all__ = [
    "CALIBRATION_SAMPLE",
    "DEFAULT_K",
    "DEFAULT_P",
    "DUPLICATES_TABLE",
    "DUPLICATE_COLUMNS",
    "DuplicateResult",
    "DuplicateRule",
    "calibrate_threshold",
    "duplicate_result",
    "find_duplicates",
    "pair_table",
    "threshold_and_rule",
]
