"""Nearest fingerprints under the ℓp metric: the similarity index and its workspace copy.

The metric and its kernels live in ``bandprint.analyse.lp`` (re-exported here).

The index (``SimilarityIndex``). ``exact``: brute force over every fingerprint with the true
metric (parallel, O(n·d) per query). ``ivf``: k-means inverted lists (faiss k-means, as in
faiss's IVF) whose probed cells are scanned with the exact ℓp metric, so every reported
distance is exact and only recall can be lost (recall against faiss's own indexes as candidate
generators: ``bench/bench_search.py``). Indexes are saved in ``WS/index/<model>-p<p>/`` with a
digest of the fingerprints they were built on, and rebuilt when those change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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

if TYPE_CHECKING:
    import pandas as pd

    from bandprint.store import Workspace

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
        seed: int = 0,
        digest: str | None = None,
    ) -> SimilarityIndex:
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
            index.ivf = IVFLists.train(vectors, nlist, seed)
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


# -- workspaces ------------------------------------------------------------------------------

#: Folder of a workspace holding similarity indexes, one subfolder per model and p.
INDEX_DIR = "index"


def index_folder(ws: Workspace, model_id: str, p: float) -> Path:
    return Path(ws.path) / INDEX_DIR / f"{model_id}-p{p:g}"


def workspace_index(
    ws: Workspace,
    model_id: str | None = None,
    p: float = P_DEFAULT,
    kind: IndexKind = "auto",
    rebuild: bool = False,
    few_queries: bool = False,
) -> tuple[SimilarityIndex, str]:
    """The similarity index of a workspace's fingerprints (``(index, model id)``), loaded
    from ``WS/index/<model>-p<p>/`` when it was built on exactly the current fingerprints,
    else built and saved there.

    ``few_queries``: the caller will search at most a handful of queries, which ``search``
    answers exhaustively whatever the index; so with ``kind="auto"`` an exact index is used in
    memory, and the inverted lists (minutes to train at a million) are left to the first caller
    that searches in bulk.
    """
    models = ws.fingerprint_models()
    ids, X = ws.read_fingerprints(model_id)
    model = model_id or models[-1]
    if not ids:
        raise BandprintError(f"{ws.path}: no fingerprints of model {model}")
    if few_queries and kind == "auto":
        # Exhaustive search answers these whatever is saved, so neither a saved index nor the
        # digest that finds one (seconds to hash a million fingerprints) is needed.
        return SimilarityIndex.build(ids, X, p=p, kind="exact", digest=""), model
    folder = index_folder(ws, model, p)
    digest = fingerprints_digest(ids, X)
    index = None if rebuild else SimilarityIndex.load(folder, ids, X, digest)
    if index is not None and kind not in ("auto", index.kind):
        index = None
    if index is None:
        index = SimilarityIndex.build(ids, X, p=p, kind=kind, digest=digest)
        index.save(folder)
    return index, model


def _query_fingerprints(
    ws: Workspace, index: SimilarityIndex, model: str, query: str, model_file: str | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(query names, fingerprints, own row or -1) for an id in the workspace or a file."""
    with contextlib.suppress(ValueError):  # a list scan: no million-entry dict for one id
        row = index.ids.index(query)
        return [query], index.vectors[row : row + 1], np.array([row])
    path = Path(query)
    if not path.exists():
        raise BandprintError(f"{query}: neither a material id in {ws.path} nor a file")
    from bandprint.fingerprint import load_fingerprinter
    from bandprint.read import read_band_structures

    fingerprinter = load_fingerprinter(model_file)
    if fingerprinter.model_id_ != model:
        raise BandprintError(
            f"the model {'file ' + str(model_file) if model_file else '(shipped default)'} is "
            f"{fingerprinter.model_id_}, but the fingerprints searched are of model {model}; "
            f"pass the matching --model-file (or --model {fingerprinter.model_id_} after "
            f"bandprint fingerprint {ws.path})"
        )
    band_structures = read_band_structures(path)
    if not band_structures:
        raise BandprintError(f"{path}: no band structure found")
    vectors = fingerprinter.transform(band_structures)
    names = [bs.material_id for bs in band_structures]
    return names, vectors, np.full(len(names), -1)


def similar_materials(
    ws: Workspace,
    query: str,
    k: int = 10,
    p: float = P_DEFAULT,
    model_id: str | None = None,
    model_file: str | None = None,
    kind: IndexKind = "auto",
) -> pd.DataFrame:
    """The k materials nearest to ``query`` (a material id of the workspace, or a band
    structure file, which is read, rendered and encoded with the workspace's model).

    Columns: query, rank, material_id, formula, distance, and cluster / same_cluster when
    ``bandprint cluster`` has been run on these fingerprints.
    """
    import pandas as pd

    index, model = workspace_index(ws, model_id, p, kind, few_queries=True)
    names, Q, own = _query_fingerprints(ws, index, model, query, model_file)
    idx, dist = index.search(Q, k, exclude=own, exact=None if kind == "auto" else kind == "exact")
    cat = ws.catalog()
    formula = dict(zip(cat["material_id"], cat["formula"], strict=True)) if len(cat) else {}
    cluster: dict[str, int] = {}
    if "clusters" in ws.tables():
        ct = ws.read_table("clusters")
        if ws.table_meta("clusters").get("model_id") == model:
            cluster = dict(zip(ct["material_id"], ct["cluster"].astype(int), strict=True))
    rows = []
    for q, name in enumerate(names):
        qc = cluster.get(name, -1)
        for r in range(idx.shape[1]):
            j = int(idx[q, r])
            if j < 0:
                continue
            mid = index.ids[j]
            row: dict[str, Any] = {
                "query": name,
                "rank": r + 1,
                "material_id": mid,
                "formula": str(formula.get(mid) or ""),
                "distance": float(dist[q, r]),
            }
            if cluster:
                c = cluster.get(mid, -1)
                row["cluster"] = c
                row["same_cluster"] = bool(c >= 0 and c == qc)
            rows.append(row)
    return pd.DataFrame(rows)


__all__ = [
    "DEFAULT_NPROBE",
    "EXACT_INDEX_LIMIT",
    "INDEX_DIR",
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
    "index_folder",
    "metric_name",
    "pairwise_distances",
    "rerank",
    "row_blocks",
    "similar_materials",
    "workspace_index",
]
