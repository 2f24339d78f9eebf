"""Fingerprint-like test data: tight Gaussian clusters in 98 dimensions with known labels."""

from __future__ import annotations

import numpy as np


def clustered(
    n_clusters: int = 8, size: int = 40, dim: int = 98, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n_clusters`` × ``size`` float32 points around standard-normal centres (spread 0.3),
    and each point's cluster label."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    X = np.vstack([c + 0.3 * rng.normal(size=(size, dim)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(n_clusters), size)
