"""The (min cluster size, min samples) sweep: clusters, validity and noise for each setting,
the recommended setting, and its plot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bandprint.analyse.cluster.hdbscan import (
    MAX_CLUSTER_FRACTION,
    check_params,
    labels_from_mst,
    max_cluster_size_for,
)
from bandprint.analyse.cluster.mst import (
    KNN_GRAPH_K,
    MATRIX_LIMIT,
    Strategy,
    choose_strategy,
    knn_graph,
    mutual_reachability_mst,
)
from bandprint.analyse.cluster.validity import dbcv, s_dbw
from bandprint.analyse.lp import (
    P_DEFAULT,
    as_f32,
    metric_name,
    pairwise_distances,
)
from bandprint.errors import BandprintError

if TYPE_CHECKING:
    from matplotlib.figure import Figure


# -- parameter sweep -------------------------------------------------------------------------

#: The paper's grid: min cluster size and min samples each 2..11.
SWEEP_RANGE = tuple(range(2, 12))
#: DBCV values this close to the best count as tied (then S_Dbw decides).
DBCV_TIE = 0.01
#: The recommendation rule, as stored with the sweep table.
RECOMMEND_RULE = (
    "highest DBCV among settings with at least two clusters; settings within 0.01 of it are "
    "tied, and among those the lowest S_Dbw wins, then the fewest unclassified, then the "
    "smallest (min_cluster_size, min_samples)"
)
#: Above this many points the validity indices are computed on a seeded sample of this size.
VALIDITY_SAMPLE = 5000


@dataclass
class SweepResult:
    """Grid of HDBSCAN settings: ``table`` has one row per (min_cluster_size, min_samples)
    with n_clusters, n_unclassified, unclassified_fraction, dbcv and s_dbw;
    ``recommended`` = (min_cluster_size, min_samples) and ``reason`` says why."""

    table: pd.DataFrame
    recommended: tuple[int, int] | None
    reason: str
    params: dict[str, Any] = field(default_factory=dict)


def recommend_setting(table: pd.DataFrame) -> tuple[tuple[int, int] | None, str]:
    """The rule: the highest DBCV among settings with at least two clusters; settings within
    ``DBCV_TIE`` of it are tied, and among those the lowest S_Dbw wins, then the fewest
    unclassified, then the smallest (min_cluster_size, min_samples)."""
    ok = table[(table["n_clusters"] >= 2) & np.isfinite(table["dbcv"])]
    if ok.empty:
        return None, "no setting gave two or more clusters, so DBCV is undefined everywhere"
    best = float(ok["dbcv"].max())
    tied = ok[ok["dbcv"] >= best - DBCV_TIE].copy()
    tied["_s"] = tied["s_dbw"].fillna(np.inf)
    pick = tied.sort_values(
        ["_s", "n_unclassified", "min_cluster_size", "min_samples"], kind="stable"
    ).iloc[0]
    setting = (int(pick["min_cluster_size"]), int(pick["min_samples"]))
    reason = (
        f"highest DBCV ({best:.3f}); {len(tied)} setting(s) within {DBCV_TIE} of it, of which "
        f"min cluster size {setting[0]}, min samples {setting[1]} has the lowest S_Dbw "
        f"({float(pick['s_dbw']):.3f}); DBCV {float(pick['dbcv']):.3f}, "
        f"{int(pick['n_clusters'])} clusters, {int(pick['n_unclassified'])} unclassified"
    )
    return setting, reason


def sweep_parameters(
    X: np.ndarray,
    min_cluster_sizes: Iterable[int] = SWEEP_RANGE,
    min_samples_values: Iterable[int] = SWEEP_RANGE,
    p: float = P_DEFAULT,
    *,
    root: bool = True,
    strategy: Strategy = "auto",
    max_cluster_fraction: float = MAX_CLUSTER_FRACTION,
    validity: bool = True,
    validity_sample: int = VALIDITY_SAMPLE,
    matrix_limit: int = MATRIX_LIMIT,
    random_state: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Cluster with every (min_cluster_size, min_samples) pair of the grid, score each with
    DBCV (same ℓp metric) and S_Dbw, and recommend one (``recommend_setting``).

    The distances are computed once: the matrix (or k-NN graph) is shared by all settings;
    one MST per min_samples value, one condensation per min_cluster_size. Above
    ``validity_sample`` points the indices are computed on a seeded random sample of that
    many points (their labels from the full clustering). ``random_state``: the integer seed
    of that sample and of the approximate k-NN graph (``strategy="knn"``).
    """
    X = as_f32(X, "fingerprints")
    n = X.shape[0]
    sizes = sorted({int(m) for m in min_cluster_sizes})
    samples = sorted({int(m) for m in min_samples_values})
    if not sizes or not samples:
        raise BandprintError("the sweep grid is empty")
    for m in sizes:
        check_params(n, m, min(samples))
    strategy = choose_strategy(n, strategy, matrix_limit)
    D = pairwise_distances(X, p=p) if strategy == "matrix" else None
    knn = None
    if strategy == "knn":
        knn = knn_graph(X, max(KNN_GRAPH_K, max(samples) + 1), p, seed=random_state)
    rows_v = np.arange(n)
    D_v = D
    if validity and n > validity_sample:
        rows_v = np.sort(
            np.random.default_rng(random_state).choice(n, validity_sample, replace=False)
        )
        D_v = pairwise_distances(X[rows_v], p=p)
    elif validity and D_v is None:
        # The knn and exact strategies build no matrix; DBCV needs one over its points.
        D_v = pairwise_distances(X, p=p)
    if validity and D_v is not None and root and p < 1:
        D_v = D_v ** np.float32(1.0 / p)
    records = []
    total, done = len(sizes) * len(samples), 0
    for ms in samples:
        mst, _core, _info = mutual_reachability_mst(
            X, ms, p, strategy, distances=D, knn=knn, matrix_limit=matrix_limit, seed=random_state
        )
        mst = np.asarray(mst, dtype=np.float64)
        if root and p < 1:
            mst[:, 2] = mst[:, 2] ** (1.0 / p)
        for mcs in sizes:
            labels, _, _, _ = labels_from_mst(
                mst, n, mcs, max_cluster_size=max_cluster_size_for(n, max_cluster_fraction)
            )
            rec: dict[str, Any] = {
                "min_cluster_size": mcs,
                "min_samples": ms,
                "n_clusters": int(labels.max() + 1),
                "n_unclassified": int((labels < 0).sum()),
                "unclassified_fraction": float((labels < 0).mean()),
                "dbcv": float("nan"),
                "s_dbw": float("nan"),
            }
            if validity:
                lv = labels[rows_v]
                rec["dbcv"] = dbcv(D_v, lv, X.shape[1])
                rec["s_dbw"] = s_dbw(X[rows_v], lv)
            records.append(rec)
            done += 1
            if progress is not None:
                progress(done, total)
    table = pd.DataFrame(records)
    setting, reason = (
        recommend_setting(table) if validity else (None, "validity indices not computed")
    )
    params = {
        "p": float(p),
        "root": bool(root),
        "metric": metric_name(p, root),
        "strategy": strategy,
        "n": int(n),
        "validity_points": len(rows_v) if validity else 0,
        "max_cluster_fraction": float(max_cluster_fraction),
        "rule": RECOMMEND_RULE,
    }
    return SweepResult(table, setting, reason, params)


def plot_sweep(result: SweepResult, figsize: tuple[float, float] = (11.0, 9.0)) -> Figure:
    """Heat maps over (min cluster size × min samples): clusters, unclassified, DBCV, S_Dbw;
    the recommended setting boxed."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from bandprint.plot import contrast_text_colour

    t = result.table
    sizes = sorted(t["min_cluster_size"].unique())
    samples = sorted(t["min_samples"].unique())
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(2, 2)
    panels = [
        ("n_clusters", "clusters", "viridis", "d"),
        ("n_unclassified", "unclassified", "magma_r", "d"),
        ("dbcv", "DBCV (higher is better)", "RdYlGn", ".2f"),
        ("s_dbw", "S_Dbw (lower is better)", "RdYlGn_r", ".2f"),
    ]
    for ax, (col, title, cmap, fmt) in zip(axes.ravel(), panels, strict=True):
        grid = (
            t.pivot(index="min_samples", columns="min_cluster_size", values=col)
            .reindex(index=samples, columns=sizes)
            .to_numpy(dtype=float)
        )
        im = ax.imshow(grid, origin="lower", cmap=cmap, aspect="auto")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_xticks(range(len(sizes)), [str(s) for s in sizes])
        ax.set_yticks(range(len(samples)), [str(s) for s in samples])
        ax.set_xlabel("min cluster size")
        ax.set_ylabel("min samples")
        ax.set_title(title)
        if len(sizes) * len(samples) <= 144:
            for (r, c), v in np.ndenumerate(grid):
                if np.isfinite(v):
                    text = format(int(v), fmt) if fmt == "d" else format(v, fmt)
                    colour = contrast_text_colour(im.to_rgba(v))
                    ax.text(c, r, text, ha="center", va="center", size=6.5, color=colour)
        if result.recommended is not None:
            c = sizes.index(result.recommended[0])
            r = samples.index(result.recommended[1])
            edge = contrast_text_colour(im.to_rgba(grid[r, c]))
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=edge, lw=2))
    return fig
