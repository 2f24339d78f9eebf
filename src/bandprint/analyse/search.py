"""Nearest fingerprints under the ℓp metric: the similarity index.

The metric and its kernels live in ``bandprint.analyse.lp`` (re-exported here).

The index (``SimilarityIndex``). ``exact``: brute force over every fingerprint with the true
metric (parallel, O(n·d) per query). ``ivf``: k-means inverted lists (faiss k-means, as in
faiss's IVF) whose probed cells are scanned with the exact ℓp metric, so every reported
distance is exact and only recall can be lost (recall against faiss's own indexes as candidate
generators: ``bench/bench_search.py``). An index saves to and loads from a folder with a
digest of the fingerprints it was built on, and a load fails when those changed; a
workspace's copy is kept by ``bandprint.workflows.search``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bandprint.analyse.lp import (
    P_DEFAULT,
    IVFLists,
    approximate_knn,
    as_f32,
    default_nlist,
    default_nprobe,
    edge_distances,
    exact_knn,
    metric_name,
    pairwise_distances,
    power_mode,
    rerank,
)
from bandprint.errors import BandprintError

#: Bytes of temporaries a selection over a full distance matrix may hold at once
#: (``row_blocks``): it works through the matrix in blocks of rows of this size.
ROW_BLOCK_BYTES = 64 << 20


def row_blocks(n_rows: int, row_bytes: int) -> Iterator[slice]:
    """Consecutive row slices covering ``n_rows`` rows, each of at most
    ``ROW_BLOCK_BYTES // row_bytes`` rows (at least one): ``row_bytes`` is what a selection
    allocates per row (e.g. 8·n for an argpartition of an n-wide row)."""
    step = max(1, ROW_BLOCK_BYTES // max(int(row_bytes), 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


# -- similarity index -----------------------------------------------------------------------

IndexKind = Literal["auto", "exact", "ivf"]

#: Up to this many fingerprints ``auto`` builds no inverted lists at all.
EXACT_INDEX_LIMIT = 100_000
#: Up to this many queries at once an index searches exhaustively whatever its kind (recall
#: 1; fast enough for ``bandprint similar`` at a million fingerprints); the inverted lists pay
#: off for batches, e.g. every material's neighbours for the report (latencies and recall in
#: BENCHMARKS.md).
EXACT_QUERY_LIMIT = 8
#: Cells probed per query by the ``ivf`` index (recall and latency in BENCHMARKS.md).
DEFAULT_NPROBE = 64


def fingerprints_digest(ids: list[str], vectors: np.ndarray) -> str:
    """A short hash of ids and vectors: an index built on other fingerprints is stale."""
    h = hashlib.blake2b(digest_size=16)
    h.update("\n".join(ids).encode())
    h.update(np.ascontiguousarray(vectors, dtype=np.float32).tobytes())
    return h.hexdigest()


@dataclass
class SimilarityIndex:
    """Nearest fingerprints under the ℓp metric; every distance it reports is exact.

    ``kind``: ``exact`` (brute force over all fingerprints, parallel) or ``ivf`` (k-means
    inverted lists, ``nprobe`` cells scanned exactly per query); ``auto`` picks exact up to
    ``EXACT_INDEX_LIMIT`` fingerprints, ivf above.
    """

    ids: list[str]
    vectors: np.ndarray
    p: float = P_DEFAULT
    kind: str = "exact"
    nprobe: int = DEFAULT_NPROBE
    digest: str = ""
    ivf: IVFLists | None = field(default=None, repr=False)
    _sorted: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        ids: list[str],
        vectors: np.ndarray,
        p: float = P_DEFAULT,
        kind: IndexKind = "auto",
        nlist: int | None = None,
        nprobe: int = DEFAULT_NPROBE,
        random_state: int = 0,
        digest: str | None = None,
    ) -> SimilarityIndex:
        """An index of ``vectors [n, d]`` named by ``ids``; ``random_state``: the integer seed
        of the k-means behind the inverted lists (``ivf``). Built once from its data, like
        scikit-learn's ``KDTree``, so not an estimator."""
        vectors = as_f32(vectors, "fingerprints")
        if len(ids) != vectors.shape[0]:
            raise BandprintError(f"{len(ids)} ids for {vectors.shape[0]} fingerprints")
        power_mode(p)
        if kind == "auto":
            kind = "exact" if vectors.shape[0] <= EXACT_INDEX_LIMIT else "ivf"
        if kind not in ("exact", "ivf"):
            raise BandprintError(f"unknown index kind {kind!r} (exact, ivf, auto)")
        index = cls(
            ids=list(ids),
            vectors=vectors,
            p=float(p),
            kind=kind,
            nprobe=int(nprobe),
            digest=fingerprints_digest(list(ids), vectors) if digest is None else digest,
        )
        if kind == "ivf":
            index.ivf = IVFLists.train(vectors, nlist, random_state)
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self,
        queries: np.ndarray,
        k: int = 10,
        exclude: np.ndarray | None = None,
        exact: bool | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(row indices, distances)``, each ``[n_queries, k]``, nearest first (-1: none).

        ``exclude[r]``: a row number left out of query r's answer (its own row when the
        query is a stored fingerprint; -1 for none). ``exact``: search exhaustively (True),
        through the inverted lists (False; ``ivf`` indexes only) or, by default, exhaustively
        for up to ``EXACT_QUERY_LIMIT`` queries and by the index's kind above.
        """
        Q = as_f32(np.atleast_2d(queries), "queries")
        if Q.shape[1] != self.vectors.shape[1]:
            raise BandprintError(
                f"query fingerprints have {Q.shape[1]} values, the index {self.vectors.shape[1]}"
            )
        k = int(k)
        if k < 1:
            raise BandprintError("k must be at least 1")
        kk = min(k + int(exclude is not None), len(self))
        if exact is None:
            exact = len(Q) <= EXACT_QUERY_LIMIT
        if self.kind == "exact" or exact:
            idx, dist = exact_knn(self.vectors, kk, self.p, queries=Q)
        else:
            assert self.ivf is not None
            if self._sorted is None:
                self._sorted = np.ascontiguousarray(self.vectors[self.ivf.order])
            idx, dist = self.ivf.search(self._sorted, Q, kk, self.nprobe, self.p)
        if exclude is not None:
            idx, dist = _drop_rows(idx, dist, np.asarray(exclude, dtype=np.int64), k)
        return idx[:, :k], dist[:, :k]

    # -- persistence ------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the index to ``folder`` (``meta.json`` + ``ivf.npz``). Vectors are not
        saved (they live in the workspace), only the digest of those it was built on."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.ivf is not None:
            tmp = folder / ".ivf.tmp.npz"
            np.savez(
                tmp, centroids=self.ivf.centroids, order=self.ivf.order, offsets=self.ivf.offsets
            )
            tmp.replace(folder / "ivf.npz")
        meta = {
            "kind": self.kind,
            "p": self.p,
            "nprobe": self.nprobe,
            "digest": self.digest,
            "n": len(self.ids),
            "dim": int(self.vectors.shape[1]),
        }
        tmp = folder / ".meta.json.tmp"
        tmp.write_text(json.dumps(meta, indent=2))
        tmp.replace(folder / "meta.json")
        return folder

    @classmethod
    def load(
        cls, folder: str | Path, ids: list[str], vectors: np.ndarray, digest: str | None = None
    ) -> SimilarityIndex | None:
        """The index saved in ``folder`` if it was built on exactly these fingerprints."""
        folder = Path(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        vectors = as_f32(vectors, "fingerprints")
        digest = digest or fingerprints_digest(list(ids), vectors)
        if meta.get("digest") != digest:
            return None
        index = cls(
            ids=list(ids),
            vectors=vectors,
            p=float(meta["p"]),
            kind=str(meta["kind"]),
            nprobe=int(meta["nprobe"]),
            digest=digest,
        )
        if index.kind == "ivf":
            try:
                with np.load(folder / "ivf.npz") as z:
                    index.ivf = IVFLists(z["centroids"], z["order"], z["offsets"])
            except (OSError, ValueError, KeyError):
                return None
            if len(index.ivf.order) != len(ids):
                return None
        return index


def _drop_rows(
    idx: np.ndarray, dist: np.ndarray, exclude: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    keep = idx != exclude[:, None]
    # Keep the first k survivors of each row, in order.
    rank = np.cumsum(keep, axis=1) - 1
    keep &= rank < k
    out_i = np.full((idx.shape[0], k), -1, dtype=np.int64)
    out_d = np.full((idx.shape[0], k), np.inf, dtype=np.float32)
    r, c = np.nonzero(keep)
    out_i[r, rank[r, c]] = idx[r, c]
    out_d[r, rank[r, c]] = dist[r, c]
    return out_i, out_d


__all__ = [
    "DEFAULT_NPROBE",
    "EXACT_INDEX_LIMIT",
    "P_DEFAULT",
    "ROW_BLOCK_BYTES",
    "IVFLists",
    "SimilarityIndex",
    "approximate_knn",
    "default_nlist",
    "default_nprobe",
    "edge_distances",
    "exact_knn",
    "fingerprints_digest",
    "metric_name",
    "pairwise_distances",
    "rerank",
    "row_blocks",
]
