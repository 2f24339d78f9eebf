"""Cluster validity indices: DBCV (Moulavi et al. 2014) and S_Dbw (Halkidi & Vazirgiannis
2001), on a distance matrix or points and labels (noise = -1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bandprint.analyse.cluster.mst import prim_dense

if TYPE_CHECKING:
    pass

# -- validity indices ------------------------------------------------------------------------


def dbcv(D: np.ndarray, labels: np.ndarray, dim: int) -> float:
    """Density-Based Clustering Validation (Moulavi et al. 2014) from a distance matrix.

    The same definition, MST tie-breaking and edge cases as
    ``hdbscan.validity.validity_index(D, labels, metric="precomputed", d=dim)`` (tested equal
    to it; the value depends on which of the tied mutual-reachability MSTs is taken, so the
    tie rule matters), but the all-points core distance
    ``(Σ d⁻ᵈⁱᵐ / (m−1))^(−1/dim)`` is computed in log space: with dim = 98 hdbscan's direct
    form under- or overflows unless distances are all close to 1. Unclassified points count in
    the size weights. NaN with fewer than two clusters.
    """
    labels = np.asarray(labels)
    ids = [c for c in range(int(labels.max()) + 1) if (labels == c).any()] if len(labels) else []
    if len(ids) < 2:
        return float("nan")
    members = {c: np.flatnonzero(labels == c) for c in ids}
    apcd: dict[int, np.ndarray] = {}
    internal: dict[int, np.ndarray] = {}
    sparseness: dict[int, float] = {}
    for c in ids:
        idx = members[c]
        Dc = np.asarray(D[np.ix_(idx, idx)], dtype=np.float64)
        apcd[c] = _all_points_core_distance(Dc, dim)
        mst = prim_dense(Dc, apcd[c], True)
        deg = np.bincount(mst[:, :2].astype(np.int64).ravel(), minlength=len(idx))
        nodes = np.flatnonzero(deg > 1)
        if len(nodes) == 0:
            nodes = np.array([0])
        inside = np.isin(mst[:, 0], nodes) & np.isin(mst[:, 1], nodes)
        edges = mst[inside] if inside.any() else mst
        sparseness[c] = float(edges[:, 2].max()) if len(edges) else 0.0
        internal[c] = nodes
    total = 0.0
    for c in ids:
        sep = np.inf
        for o in ids:
            if o == c:
                continue
            a, b = internal[c], internal[o]
            sub = np.asarray(D[np.ix_(members[c][a], members[o][b])], dtype=np.float64)
            mr = np.maximum(sub, np.maximum(apcd[c][a][:, None], apcd[o][b][None, :]))
            sep = min(sep, float(mr.min()))
        sp = sparseness[c]
        v = (sep - sp) / max(sep, sp) if max(sep, sp) > 0 else 0.0
        total += len(members[c]) / len(labels) * v
    return float(total)


def _all_points_core_distance(Dc: np.ndarray, dim: int) -> np.ndarray:
    m = Dc.shape[0]
    if m < 2:
        return np.zeros(m)
    with np.errstate(divide="ignore"):
        logd = np.where(Dc > 0, np.log(np.where(Dc > 0, Dc, 1.0)), np.nan)
    x = -dim * logd  # log of d^-dim; NaN marks zero distances, which hdbscan leaves out
    finite = ~np.isnan(x)
    if not finite.any():
        return np.zeros(m)
    xmax = np.nanmax(np.where(finite, x, -np.inf), axis=1, keepdims=True)
    s = np.nansum(np.exp(x - xmax), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mean = xmax[:, 0] + np.log(s) - np.log(m - 1)
        out = np.exp(-log_mean / dim)
    # A row with no nonzero distance: hdbscan gives 0**(-1/d) = inf.
    out[~finite.any(axis=1)] = np.inf
    return out


def s_dbw(X: np.ndarray, labels: np.ndarray) -> float:
    """S_Dbw validity index (Halkidi & Vazirgiannis 2001, ICDM): Scat + Dens_bw, lower is
    better; Euclidean, with cluster centres = means, as defined there.

    Scat = mean over clusters of ‖σ(cluster)‖ / ‖σ(data)‖ (σ: per-feature variance vector;
    the data are all points given, unclassified included). stdev = √(Σ‖σ(cluster)‖) / c.
    Dens_bw = mean over ordered pairs i ≠ j of density(u_ij) / max(density(v_i), density(v_j)),
    density(u) = number of points of clusters i and j within stdev of u, v = centres,
    u_ij = midpoint of the centres (a pair with both centre densities 0 contributes 0).
    Unclassified points belong to no cluster. NaN with fewer than two clusters.
    """
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    ids = [c for c in range(int(labels.max()) + 1) if (labels == c).any()] if len(labels) else []
    c = len(ids)
    if c < 2:
        return float("nan")
    sigma_all = np.linalg.norm(X.var(axis=0))
    groups = [X[labels == k] for k in ids]
    centres = np.array([g.mean(axis=0) for g in groups])
    sig = np.array([np.linalg.norm(g.var(axis=0)) for g in groups])
    scat = float(sig.mean() / sigma_all) if sigma_all > 0 else 0.0
    stdev = float(np.sqrt(sig.sum()) / c)

    def density(points: np.ndarray, u: np.ndarray) -> int:
        return int((np.linalg.norm(points - u, axis=1) <= stdev).sum())

    dens = 0.0
    for i in range(c):
        for j in range(c):
            if i == j:
                continue
            both = np.concatenate([groups[i], groups[j]])
            u = (centres[i] + centres[j]) / 2
            denom = max(density(both, centres[i]), density(both, centres[j]))
            if denom > 0:
                dens += density(both, u) / denom
    return scat + dens / (c * (c - 1))
