"""The similarity index of a workspace (``analyse.search.SimilarityIndex`` kept in
``WS/index/<model>-p<p>/`` with the digest of the fingerprints it was built on, rebuilt when
they change) and the nearest materials to a stored material or a new file."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bandprint.analyse.lp import P_DEFAULT
from bandprint.analyse.search import IndexKind, SimilarityIndex, fingerprints_digest
from bandprint.analyse.shards import ShardedIndex
from bandprint.errors import BandprintError
from bandprint.store import Workspace
from bandprint.workflows.inputs import formula_lookup
from bandprint.workflows.shards import (
    Engine,
    FingerprintPartShard,
    map_function,
    stored_fingerprint,
    workspace_shards,
)

#: Folder of a workspace holding similarity indexes, one subfolder per model and p.
INDEX_DIR = "index"


def index_folder(ws: Workspace, model_id: str, p: float) -> Path:
    """Where the index of ``model_id``'s fingerprints under Minkowski ``p`` is kept."""
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


def query_fingerprints(
    ws: Workspace, index: SimilarityIndex, model: str, query: str, model_file: str | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(query names, fingerprints, own row or -1)`` for ``query``: a material id in the
    index, or a band structure file, read and encoded with ``model_file`` (default: the
    shipped model), which must be the index's ``model``."""
    with contextlib.suppress(ValueError):  # a list scan: no million-entry dict for one id
        row = index.ids.index(query)
        return [query], index.vectors[row : row + 1], np.array([row])
    names, vectors = encode_query_file(ws, model, query, model_file)
    return names, vectors, np.full(len(names), -1)


def encode_query_file(
    ws: Workspace, model: str, query: str, model_file: str | None
) -> tuple[list[str], np.ndarray]:
    """``(names, fingerprints)`` of the band structures in file ``query``, encoded with
    ``model_file`` (default: the shipped model), which must be the stored ``model``, on the
    kind of device the stored fingerprints were encoded on."""
    path = Path(query)
    if not path.exists():
        raise BandprintError(f"{query}: neither a material id in {ws.path} nor a file")
    from bandprint.fingerprint import check_encoding, load_fingerprinter, set_encode_device
    from bandprint.read import read_band_structures

    # Encoded on the kind of device the stored set was (fingerprint.check_encoding says why).
    stored = ws.fingerprint_model_info(model)
    where = f"{ws.path}: model {model}"
    fingerprinter = load_fingerprinter(model_file, device=set_encode_device(stored, where))
    info = fingerprinter.info()
    check_encoding(stored, info["encode_device"], info["encode_precision"], where)
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
    return [bs.material_id for bs in band_structures], vectors


def part_shards(
    ws: Workspace, model_id: str | None = None, p: float = P_DEFAULT
) -> tuple[list[FingerprintPartShard], str]:
    """The fingerprint parts of ``model_id`` (default: the newest model) as shards, their
    inverted lists kept in ``WS/index/<model>-p<p>-parts/``; and the model id."""
    models = ws.fingerprint_models()
    if not models:
        raise BandprintError(f"no fingerprints in {ws.path} (run bandprint fingerprint {ws.path})")
    model = model_id or models[-1]
    return workspace_shards(ws, model, Path(f"{index_folder(ws, model, p)}-parts")), model


def similar_materials(
    ws: Workspace,
    query: str,
    k: int = 10,
    p: float = P_DEFAULT,
    model_id: str | None = None,
    model_file: str | None = None,
    kind: IndexKind = "auto",
    sharded: bool = False,
    engine: Engine = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """The k materials nearest to ``query`` (a material id of the workspace, or a band
    structure file, which is read, rendered and encoded with the workspace's model).

    ``sharded``: search the fingerprint parts one at a time (``workflows.shards``; memory for
    one part), on a Ray cluster with ``engine="ray"`` (``address`` as in
    ``distributed.ray_session``); ``kind`` then applies to each part. Columns: query, rank,
    material_id, formula, distance, and cluster / same_cluster when ``bandprint cluster`` has
    been run on these fingerprints.
    """
    exact = None if kind == "auto" else kind == "exact"
    if sharded:
        shards, model = part_shards(ws, model_id, p)
        own = stored_fingerprint(shards, query)
        if own is not None:
            names, Q, exclude = [query], own, [query]
        else:
            names, Q = encode_query_file(ws, model, query, model_file)
            exclude = None
        sharded_index = ShardedIndex(shards, p=p, kind=kind, map_fn=map_function(engine, address))
        found, dist = sharded_index.search(Q, k, exclude_ids=exclude, exact=exact)
        return neighbour_table(ws, model, names, found, dist)
    index, model = workspace_index(ws, model_id, p, kind, few_queries=True)
    names, Q, own = query_fingerprints(ws, index, model, query, model_file)
    idx, dist = index.search(Q, k, exclude=own, exact=exact)
    ids = np.asarray(index.ids, dtype=object)
    found = np.where(idx >= 0, ids[np.maximum(idx, 0)], None)
    return neighbour_table(ws, model, names, found, dist)


def neighbour_table(
    ws: Workspace, model: str, names: list[str], found: np.ndarray, dist: np.ndarray
) -> pd.DataFrame:
    """The table ``similar_materials`` returns, from each query's neighbours (``found``:
    ids, ``None`` for none; ``dist``: their distances) among ``model``'s fingerprints."""
    formula = formula_lookup(ws)
    cluster: dict[str, int] = {}
    if "clusters" in ws.tables():
        ct = ws.read_table("clusters")
        if ws.table_meta("clusters").get("model_id") == model:
            cluster = dict(zip(ct["material_id"], ct["cluster"].astype(int), strict=True))
    rows = []
    for q, name in enumerate(names):
        qc = cluster.get(name, -1)
        for r in range(found.shape[1]):
            mid = found[q, r]
            if mid is None:
                continue
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
    "INDEX_DIR",
    "encode_query_file",
    "index_folder",
    "neighbour_table",
    "part_shards",
    "query_fingerprints",
    "similar_materials",
    "workspace_index",
]
