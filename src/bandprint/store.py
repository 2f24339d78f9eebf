"""The workspace: an embedded, sharded, crash-safe store of band structures and results.

One module because it is one class, ``Workspace``, whose methods share the shard layout, the
shard listing and the reads; the free functions are its conversions between rows and objects.

Layout of a workspace folder ``WS``::

    WS/workspace.json                      marks a workspace (format name and version)
    WS/bands/part-<time>-<pid>-<rand>.parquet       band structures, write-once shards
    WS/sources/part-*.parquet              sources read but not stored (dropped duplicates)
    WS/fingerprints/<model_id>/part-*.parquet       + model.json: fingerprints per model
    WS/tables/<name>.parquet               + <name>.meta.json: result tables (clusters, ...)
    WS/ingest-errors.csv                   failures of the last ingest

Why Parquet shards queried with DuckDB (and not SQLite, HDF5 or one big file):

* **Scale out without conversion.** A shard is an ordinary Parquet file with a flat schema, so
  Spark, Dask, Ray or Polars read ``WS/bands/*.parquet`` in parallel, one task per shard, with
  no bandprint code; millions of materials are thousands of independent files. DuckDB queries
  the same glob in place (``read_parquet``), with projection and filter push-down, for the
  catalog and for cross-shard de-duplication, without a server or an import step.
* **Crash safety from write-once files.** Every shard is written under a hidden temporary name
  in the same folder, fsync'd, ``os.replace``'d to its final name (atomic on POSIX) and the
  folder fsync'd. Readers glob ``*.parquet`` only, so they never see a half-written file; a
  killed process leaves at most a stray ``.*.tmp-*`` file, which readers ignore and the next
  writer deletes. Nothing is ever rewritten in place, so no crash can damage stored data.
  SQLite would also be crash-safe, but is row-oriented, single-writer, and not readable in
  parallel by distributed engines; HDF5 is neither crash-safe nor safe for concurrent readers.
* **Updates by superseding.** A material ingested again (its file changed) is appended in a
  newer shard; the newest row per ``material_id`` wins (``QUALIFY row_number() OVER
  (PARTITION BY material_id ORDER BY shard DESC)``), so an update is as atomic as a write.
  Shard names begin with a nanosecond timestamp, so their order is the write order.
* **Lossless.** Energies, distances, k-points and the reciprocal lattice are stored as
  flattened ``list<double>`` with shape columns (float64, bit-exact); segments as a list of
  structs; structure and metadata as JSON text (orjson writes floats exactly). A round trip
  gives a ``BandStructure`` equal to the original.
* **Fingerprints** are ``material_id`` + the vector as raw little-endian float32 bytes (one
  ``fixed_size_binary`` value per row, uncompressed): Parquet decodes that as one copy, where
  a list column costs a repetition level per value. Engines read it as
  ``np.frombuffer(value, "<f4")``.
* **Fast random access.** Shards are written in small row groups; the id → (shard, row
  group) map is built from the id column alone and cached per shard (shards never change),
  so ``get`` reads one small row group. Engines that filter on ``material_id`` use the
  row-group statistics Parquet keeps.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bandprint.atomic import atomic_write, atomic_write_bytes, clean_stray_temporaries
from bandprint.bandstructure import BandStructure, Segment
from bandprint.errors import BandprintError
from bandprint.kpath import cell_vacuum_axis, vacuum_axis

if TYPE_CHECKING:
    import pandas as pd

FORMAT_NAME = "bandprint-workspace"
FORMAT_VERSION = 1
MARKER = "workspace.json"

#: Rows per Parquet row group in band shards: ``get`` reads one group, so keep it small.
BANDS_ROW_GROUP = 32

_SEGMENT_TYPE = pa.struct(
    [
        ("start", pa.int32()),
        ("stop", pa.int32()),
        ("start_label", pa.string()),
        ("end_label", pa.string()),
    ]
)

#: Schema of a band-structure shard. Catalog columns (gap, path, ...) are derived at write
#: time so that listing a million materials never touches the energies.
BANDS_SCHEMA = pa.schema(
    [
        ("material_id", pa.string()),
        ("formula", pa.string()),
        ("source", pa.string()),
        ("source_format", pa.string()),
        ("source_key", pa.string()),
        ("source_fingerprint", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("nspin", pa.int32()),
        ("nkpoints", pa.int32()),
        ("nbands", pa.int32()),
        ("efermi", pa.float64()),
        ("band_gap", pa.float64()),
        ("is_metal", pa.bool_()),
        ("direct_gap", pa.bool_()),
        ("n_segments", pa.int32()),
        ("path", pa.string()),
        ("is_2d", pa.bool_()),
        ("database", pa.string()),
        ("energies", pa.list_(pa.float64())),
        ("distances", pa.list_(pa.float64())),
        ("kpoints", pa.list_(pa.float64())),
        ("reciprocal_lattice", pa.list_(pa.float64())),
        ("segments", pa.list_(_SEGMENT_TYPE)),
        ("structure", pa.string()),
        ("metadata", pa.string()),
    ]
)

CATALOG_COLUMNS = [
    "material_id",
    "formula",
    "source",
    "source_format",
    "nspin",
    "nkpoints",
    "nbands",
    "efermi",
    "band_gap",
    "is_metal",
    "direct_gap",
    "n_segments",
    "path",
    "is_2d",
    "database",
    "metadata",
]

_SOURCES_SCHEMA = pa.schema(
    [
        ("source_key", pa.string()),
        ("source_fingerprint", pa.string()),
        ("status", pa.string()),
        ("material_ids", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)

#: Which command produces a result table, by name prefix, for "run this first" messages.
TABLE_PRODUCERS: dict[str, str] = {
    "cluster": "bandprint cluster",
    "map": "bandprint cluster",
    "sweep": "bandprint sweep",
    "flat": "bandprint flatbands",
    "duplicate": "bandprint duplicates",
    "structure": "bandprint structures",
}


def _shard_name() -> str:
    # Nanosecond time first, so lexical order is write order (ties broken by pid and random).
    return f"part-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"


def read_fingerprint_part(
    path: str | Path, rows: np.ndarray | None = None
) -> tuple[list[str], np.ndarray]:
    """``(ids, vectors [n, dim] float32)`` of one fingerprint part file
    (``Workspace.fingerprint_parts``), only ``rows`` of it when given."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise BandprintError(f"{path}: cannot read the fingerprint part ({exc})") from None
    if rows is not None:
        table = table.take(pa.array(rows))
    return table.column("material_id").to_pylist(), _vectors_from_column(table.column("vector"))


def _vectors_from_column(column: pa.ChunkedArray) -> np.ndarray:
    """``[n, dim]`` float32 from a fingerprint column: raw float32 bytes per row, or the
    fixed-size list of floats that earlier workspaces hold."""
    col = column.combine_chunks()
    if pa.types.is_fixed_size_binary(col.type):
        dim = col.type.byte_width // 4
        start = col.offset * col.type.byte_width
        raw = np.frombuffer(col.buffers()[1], dtype="<f4", count=len(col) * dim, offset=start)
        return raw.reshape(-1, dim).astype(np.float32)  # a copy, writable and native-endian
    dim = col.type.list_size
    values = col.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values.reshape(-1, dim), dtype=np.float32)


def _list_shards(folder: Path) -> list[str]:
    """Final shard names in write order; temporaries (hidden) are never listed."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.endswith(".parquet") and not n.startswith("."))


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _now() -> datetime:
    return datetime.now(UTC)


def _write_bands_parquet(table: pa.Table, path: Path) -> None:
    # zstd level 1 over byte-stream-split floats wrote faster and smaller than default zstd
    # with dictionary pages on realistic materials; the dictionary is kept only for strings
    # that repeat. zstd is readable by every engine.
    pq.write_table(
        table,
        path,
        row_group_size=BANDS_ROW_GROUP,
        compression="zstd",
        compression_level=1,
        use_dictionary=["formula", "source_format", "path", "database", "source_fingerprint"],
        use_byte_stream_split=list(_ARRAY_COLUMNS),
    )


# -- rows <-> band structures ---------------------------------------------------------------
def band_structure_row(
    bs: BandStructure, source_key: str, source_fingerprint: str, ingested_at: datetime
) -> dict[str, Any]:
    """One shard row for ``bs`` (plain Python values, ready for ``pa.Table.from_pylist``).

    The catalogue's ``is_2d`` is the reader's flag, else whether the structure has a vacuum
    gap (``kpath.vacuum_axis``), else unknown.

    Module-level so ingest workers can build rows (and Arrow batches) in parallel.
    """
    gap = bs.band_gap()
    meta = bs.metadata or {}
    is_2d = meta.get("is_2d")
    if is_2d is None and bs.structure is not None:
        is_2d = vacuum_axis(bs.structure) is not None
    return {
        "material_id": bs.material_id,
        "formula": bs.formula,
        "source": bs.source,
        "source_format": bs.source_format,
        "source_key": source_key,
        "source_fingerprint": source_fingerprint,
        "ingested_at": ingested_at,
        "nspin": bs.nspin,
        "nkpoints": bs.nkpoints,
        "nbands": bs.nbands,
        "efermi": bs.efermi,
        "band_gap": gap.energy,
        "is_metal": gap.is_metal,
        "direct_gap": gap.direct,
        "n_segments": len(bs.segments),
        "path": bs.path_string,
        "is_2d": None if is_2d is None else bool(is_2d),
        "database": meta.get("database"),
        "energies": bs.energies,
        "distances": bs.distances,
        "kpoints": bs.kpoints,
        "reciprocal_lattice": bs.reciprocal_lattice,
        "segments": [s.to_dict() for s in bs.segments],
        # verbosity 0: the lattice matrix without derived parameters, which from_dict
        # recomputes; the structure read back is equal.
        "structure": None if bs.structure is None else _dumps(bs.structure.as_dict(verbosity=0)),
        "metadata": _dumps(meta),
    }


def _flat_list_array(arrays: list[np.ndarray | None]) -> pa.Array:
    """``list<double>`` from arrays, built from one flat buffer (no per-float Python objects)."""
    lengths = np.array([0 if a is None else a.size for a in arrays], dtype=np.int32)
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    present = [a.ravel() for a in arrays if a is not None]
    values = np.concatenate(present) if present else np.zeros(0, dtype=np.float64)
    mask = np.array([a is None for a in arrays])
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(values, type=pa.float64()), mask=pa.array(mask)
    )


_ARRAY_COLUMNS = ("energies", "distances", "kpoints", "reciprocal_lattice")


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """An Arrow table in ``BANDS_SCHEMA`` from rows made by ``band_structure_row``."""
    columns: dict[str, pa.Array] = {}
    for field in BANDS_SCHEMA:
        if field.name in _ARRAY_COLUMNS:
            arrays = [
                None if r[field.name] is None else np.asarray(r[field.name], np.float64)
                for r in rows
            ]
            columns[field.name] = _flat_list_array(arrays)
        else:
            columns[field.name] = pa.array([r[field.name] for r in rows], type=field.type)
    return pa.table(columns, schema=BANDS_SCHEMA)


def _structure_from_json(text: str | None) -> Any:
    if not text:
        return None
    from pymatgen.core import Structure

    return Structure.from_dict(orjson.loads(text))


def _band_structures_from_table(
    table: pa.Table, with_structure: bool = True
) -> Iterator[BandStructure]:
    cols = {name: table.column(name) for name in table.column_names}
    n = table.num_rows
    ids = cols["material_id"].to_pylist()
    shapes = zip(
        cols["nspin"].to_pylist(),
        cols["nkpoints"].to_pylist(),
        cols["nbands"].to_pylist(),
        strict=True,
    )
    scalars = {
        k: cols[k].to_pylist()
        for k in ("formula", "source", "source_format", "efermi", "metadata", "segments")
    }
    texts = cols["structure"].to_pylist()
    structures = texts if with_structure else [None] * n
    arrays = {k: _list_column_arrays(cols[k]) for k in _ARRAY_COLUMNS}
    for i, (nspin, nk, nb) in enumerate(shapes):
        kp = arrays["kpoints"][i]
        rl = arrays["reciprocal_lattice"][i]
        yield BandStructure(
            material_id=ids[i],
            energies=arrays["energies"][i].reshape(nspin, nk, nb),
            efermi=scalars["efermi"][i],
            distances=arrays["distances"][i],
            segments=[Segment.from_dict(s) for s in scalars["segments"][i]],
            kpoints=None if kp is None else kp.reshape(-1, 3),
            reciprocal_lattice=None if rl is None else rl.reshape(3, 3),
            formula=scalars["formula"][i],
            source=scalars["source"][i],
            source_format=scalars["source_format"][i],
            structure=_structure_from_json(structures[i]),
            metadata=_metadata(scalars["metadata"][i], None if with_structure else texts[i]),
        )


def _metadata(text: str | None, structure_text: str | None) -> dict[str, Any]:
    """A row's metadata; read without its structure, it gains the structure's
    ``vacuum_axis`` (``kpath.cell_vacuum_axis``) so that slabs are still found
    (``kpath.slab_axis``) without building pymatgen structures."""
    meta = orjson.loads(text) if text else {}
    if structure_text and "vacuum_axis" not in meta:
        d = orjson.loads(structure_text)
        frac = [site["abc"] for site in d["sites"]]
        meta["vacuum_axis"] = cell_vacuum_axis(d["lattice"]["matrix"], frac)
    return meta


def _list_column_arrays(column: pa.ChunkedArray) -> list[np.ndarray | None]:
    """Per-row float64 arrays of a ``list<double>`` column, as views into one buffer."""
    out: list[np.ndarray | None] = []
    for chunk in column.chunks:
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        offsets = chunk.offsets.to_numpy()
        values = chunk.values.to_numpy(zero_copy_only=False)
        for j in range(len(chunk)):
            # .copy(): a caller may keep one material; it must not pin the whole batch.
            out.append(values[offsets[j] : offsets[j + 1]].copy() if valid[j] else None)
    return out


# -- the workspace --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Location:
    shard: str
    row_group: int
    row: int


class Workspace:
    """A folder holding ingested band structures, fingerprints and result tables.

    Safe to read while another process writes (readers only see complete shards). Several
    ``Workspace`` objects may point at the same folder; each caches what it has read per
    shard, and shards never change, so caches only ever grow.
    """

    def __init__(self, path: str | Path, create: bool = False):
        self.path = Path(path)
        marker = self.path / MARKER
        if not marker.is_file():
            if not create:
                if self.path.is_dir() and any(self.path.iterdir()):
                    raise BandprintError(f"{self.path} is not a bandprint workspace (no {MARKER})")
                raise BandprintError(
                    f"no workspace at {self.path} (create one with bandprint ingest ... --into "
                    f"{self.path})"
                )
            if self.path.exists() and not self.path.is_dir():
                raise BandprintError(f"{self.path} exists and is not a folder")
            if self.path.is_dir() and any(self.path.iterdir()):
                # Never scatter a store into someone's data folder by a typo in --into.
                raise BandprintError(
                    f"{self.path} is not empty and not a bandprint workspace; choose a new folder"
                )
            self.path.mkdir(parents=True, exist_ok=True)
            info = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "created": _now().isoformat()}
            atomic_write_bytes(marker, orjson.dumps(info, option=orjson.OPT_INDENT_2))
        else:
            try:
                info = orjson.loads(marker.read_bytes())
            except (orjson.JSONDecodeError, OSError) as exc:
                raise BandprintError(f"{marker}: unreadable workspace marker ({exc})") from None
            if not isinstance(info, dict) or info.get("format") != FORMAT_NAME:
                raise BandprintError(f"{marker}: not a bandprint workspace marker")
            if int(info.get("version", 0)) > FORMAT_VERSION:
                raise BandprintError(
                    f"{self.path} was written by a newer bandprint (format "
                    f"{info.get('version')}, this one reads {FORMAT_VERSION}); upgrade bandprint"
                )
        self.info: dict[str, Any] = info
        self._lock = threading.Lock()
        # shard name -> (ids, row group of each row, row within the group); shards are
        # write-once, so an entry never goes stale.
        self._shard_ids: dict[str, tuple[list[str], np.ndarray, np.ndarray]] = {}
        self._index_key: tuple[str, ...] | None = None
        self._index: dict[str, _Location] = {}
        self._order: list[str] = []

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # -- folders ------------------------------------------------------------------------
    @property
    def bands_dir(self) -> Path:
        return self.path / "bands"

    @property
    def sources_dir(self) -> Path:
        return self.path / "sources"

    @property
    def fingerprints_dir(self) -> Path:
        return self.path / "fingerprints"

    @property
    def tables_dir(self) -> Path:
        return self.path / "tables"

    @property
    def errors_csv(self) -> Path:
        return self.path / "ingest-errors.csv"

    def _glob(self, folder: Path) -> str:
        return str(folder / "*.parquet").replace("'", "''")

    # -- band structures: writing -------------------------------------------------------
    def add_band_structures(self, records: Sequence[tuple[BandStructure, str, str]]) -> int:
        """Store ``(band_structure, source_key, source_fingerprint)`` records as one new shard.

        Records with an id already stored supersede the stored row. Within ``records`` the last
        one of an id wins. Returns the number of materials written.
        """
        if not records:
            return 0
        now = _now()
        rows = [band_structure_row(bs, key, fp, now) for bs, key, fp in records]
        return self.write_band_rows(rows_to_table(rows))

    def write_band_rows(self, table: pa.Table) -> int:
        """Write a table in ``BANDS_SCHEMA`` as one new shard (atomic). Returns rows written."""
        if table.num_rows == 0:
            return 0
        table = table.select(BANDS_SCHEMA.names).cast(BANDS_SCHEMA)
        ids = table.column("material_id").to_pylist()
        last = {mid: i for i, mid in enumerate(ids)}
        if len(last) != len(ids):  # keep the last row of each id
            table = table.take(pa.array(sorted(last.values()), type=pa.int64()))
        folder = self.bands_dir
        folder.mkdir(parents=True, exist_ok=True)
        clean_stray_temporaries(folder)
        atomic_write(folder / _shard_name(), lambda tmp: _write_bands_parquet(table, tmp))
        return table.num_rows

    def _record_sources(self, rows: list[dict[str, Any]]) -> None:
        """Remember sources read but not stored (dropped duplicates) so reruns skip them."""
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=_SOURCES_SCHEMA)
        folder = self.sources_dir
        folder.mkdir(parents=True, exist_ok=True)
        clean_stray_temporaries(folder)
        atomic_write(folder / _shard_name(), lambda tmp: pq.write_table(table, tmp))

    # -- band structures: index ---------------------------------------------------------
    def _refresh_index(self) -> dict[str, _Location]:
        shards = tuple(_list_shards(self.bands_dir))
        with self._lock:
            if shards == self._index_key:
                return self._index
            for name in shards:
                if name not in self._shard_ids:
                    self._shard_ids[name] = self._read_shard_ids(name)
            index: dict[str, _Location] = {}
            for name in shards:  # write order: a later shard overwrites earlier entries
                ids, groups, rows = self._shard_ids[name]
                for mid, g, r in zip(ids, groups.tolist(), rows.tolist(), strict=True):
                    index[mid] = _Location(name, g, r)
            # Storage order: shard by shard, ids sorted within a shard, winners only.
            order = [
                mid
                for name in shards
                for mid in self._shard_ids[name][0]
                if index[mid].shard == name
            ]
            self._index, self._order, self._index_key = index, order, shards
            return index

    def _read_shard_ids(self, name: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        pf = pq.ParquetFile(self.bands_dir / name)
        ids = pf.read(columns=["material_id"]).column(0).to_pylist()
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.metadata.num_row_groups)]
        groups = np.repeat(np.arange(len(sizes)), sizes)
        starts = np.repeat(np.cumsum([0, *sizes[:-1]]), sizes)
        return ids, groups, np.arange(len(ids)) - starts

    def ids(self) -> list[str]:
        """Every stored material id, in storage order (the order ``iter_band_structures``)."""
        self._refresh_index()
        return list(self._order)

    def __len__(self) -> int:
        return len(self._refresh_index())

    def __contains__(self, material_id: object) -> bool:
        return material_id in self._refresh_index()

    def __iter__(self) -> Iterator[BandStructure]:
        return self.iter_band_structures()

    # -- band structures: reading -------------------------------------------------------
    def get(self, material_id: str, with_structure: bool = True) -> BandStructure:
        """One stored band structure (the newest version of it)."""
        loc = self._refresh_index().get(material_id)
        if loc is None:
            raise BandprintError(
                f"no material {material_id} in {self.path} (try bandprint list {self.path})"
            )
        pf = pq.ParquetFile(self.bands_dir / loc.shard)
        group = pf.read_row_group(loc.row_group).slice(loc.row, 1)
        return next(_band_structures_from_table(group, with_structure))

    def iter_band_structures(
        self,
        ids: Sequence[str] | None = None,
        batch_size: int = 512,
        with_structure: bool = True,
    ) -> Iterator[BandStructure]:
        """Band structures in batches read per shard, memory bounded by ``batch_size``.

        With ``ids=None`` every material once, in storage order (the order of ``ids()``);
        otherwise the given ids in the given order (an unknown id raises ``BandprintError``).
        ``with_structure=False`` skips building pymatgen structures (faster when only the
        bands are needed).
        """
        index = self._refresh_index()
        if ids is None:
            yield from self._iter_all(index, batch_size, with_structure)
            return
        ids = list(ids)
        missing = [m for m in ids if m not in index]
        if missing:
            raise BandprintError(
                f"no material {missing[0]} in {self.path}"
                + (f" (and {len(missing) - 1} more ids)" if len(missing) > 1 else "")
                + f" (try bandprint list {self.path})"
            )
        for start in range(0, len(ids), max(1, batch_size)):
            chunk = ids[start : start + batch_size]
            by_group: dict[tuple[str, int], list[str]] = {}
            for mid in chunk:
                loc = index[mid]
                by_group.setdefault((loc.shard, loc.row_group), []).append(mid)
            found: dict[str, BandStructure] = {}
            for (shard, group), wanted in by_group.items():
                pf = pq.ParquetFile(self.bands_dir / shard)
                table = pf.read_row_group(group)
                rows = sorted({index[m].row for m in wanted})
                table = table.take(pa.array(rows, type=pa.int64()))
                for bs in _band_structures_from_table(table, with_structure):
                    found[bs.material_id] = bs
            for mid in chunk:
                yield found[mid]

    def _iter_all(
        self, index: dict[str, _Location], batch_size: int, with_structure: bool
    ) -> Iterator[BandStructure]:
        for shard in self._index_key or ():
            pf = pq.ParquetFile(self.bands_dir / shard)
            for batch in pf.iter_batches(batch_size=max(1, batch_size)):
                table = pa.Table.from_batches([batch])
                mids = table.column("material_id").to_pylist()
                keep = [i for i, m in enumerate(mids) if index[m].shard == shard]
                if len(keep) != len(mids):
                    table = table.take(pa.array(keep, type=pa.int64()))
                yield from _band_structures_from_table(table, with_structure)

    def _query(self, sql: str) -> pd.DataFrame:
        import duckdb

        con = duckdb.connect()
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def catalog(self) -> pd.DataFrame:
        """One row per material (newest version), in storage order; no energies are read.

        Columns: ``CATALOG_COLUMNS`` (``path`` is the k-path string, ``metadata`` JSON text).
        """
        shards = _list_shards(self.bands_dir)
        if not shards:
            import pandas as pd

            return pd.DataFrame({c: pd.Series(dtype=object) for c in CATALOG_COLUMNS})
        cols = ", ".join(CATALOG_COLUMNS)
        # The glob matches final shards only: temporaries are named ``.part-*.tmp-*``.
        files = f"'{self._escape(self.bands_dir)}/*.parquet'"
        df = self._query(
            f"""
            SELECT {cols} FROM (
                SELECT {cols}, filename AS _shard, file_row_number AS _row
                FROM read_parquet(
                    {files}, filename = true, file_row_number = true, union_by_name = true)
                QUALIFY row_number() OVER (
                    PARTITION BY material_id ORDER BY filename DESC) = 1
            ) ORDER BY _shard, _row
            """
        )
        return df.reset_index(drop=True)

    @staticmethod
    def _escape(path: Path) -> str:
        return str(path).replace("'", "''")

    def ingested_sources(self) -> dict[str, str]:
        """``source_key`` → ``source_fingerprint`` of every source already read (latest)."""
        latest: dict[str, tuple[Any, str]] = {}
        for folder in (self.bands_dir, self.sources_dir):
            for shard in _list_shards(folder):
                t = pq.read_table(
                    folder / shard, columns=["source_key", "source_fingerprint", "ingested_at"]
                )
                for key, fp, when in zip(
                    t.column(0).to_pylist(),
                    t.column(1).to_pylist(),
                    t.column(2).cast(pa.int64()).to_pylist(),
                    strict=True,
                ):
                    if key not in latest or when >= latest[key][0]:
                        latest[key] = (when, fp)
        return {key: fp for key, (_, fp) in latest.items()}

    def source_records(self) -> pd.DataFrame:
        """Latest row per source: key, fingerprint, ingested_at (for incremental ingest)."""
        frames = []
        for folder in (self.bands_dir, self.sources_dir):
            for shard in _list_shards(folder):
                t = pq.read_table(
                    folder / shard, columns=["source_key", "source_fingerprint", "ingested_at"]
                )
                frames.append(t.to_pandas())
        import pandas as pd

        if not frames:
            return pd.DataFrame(columns=["source_key", "source_fingerprint", "ingested_at"])
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values("ingested_at", kind="stable").drop_duplicates(
            "source_key", keep="last"
        )

    def material_sources(self) -> dict[str, str]:
        """``material_id`` → ``source_key`` of the stored (newest) version of each material."""
        out: dict[str, str] = {}
        for shard in _list_shards(self.bands_dir):  # write order: newer rows overwrite
            t = pq.read_table(self.bands_dir / shard, columns=["material_id", "source_key"])
            out.update(zip(t.column(0).to_pylist(), t.column(1).to_pylist(), strict=True))
        return out

    # -- fingerprints -------------------------------------------------------------------
    def _model_dir(self, model_id: str) -> Path:
        if not model_id or "/" in model_id or model_id.startswith(".") or "\\" in model_id:
            raise BandprintError(f"invalid model id {model_id!r}")
        return self.fingerprints_dir / model_id

    def write_fingerprints(
        self,
        model_id: str,
        ids: Sequence[str],
        vectors: np.ndarray,
        model_info: dict[str, Any] | None = None,
    ) -> None:
        """Append fingerprints of ``model_id`` as one new shard; a later write of an id wins."""
        vectors = np.asarray(vectors, dtype=np.float32)
        ids = [str(i) for i in ids]
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise BandprintError(
                f"fingerprints have shape {vectors.shape}, expected ({len(ids)}, dim)"
            )
        folder = self._model_dir(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        dim = vectors.shape[1]
        info_path = folder / "model.json"
        if info_path.is_file():
            old = orjson.loads(info_path.read_bytes())
            if int(old.get("dim", dim)) != dim:
                raise BandprintError(
                    f"model {model_id} wrote {old.get('dim')}-value fingerprints before, now "
                    f"{dim}: use another model id"
                )
        if model_info is not None or not info_path.is_file():
            info = {"model_id": model_id, "dim": dim, **(model_info or {})}
            atomic_write_bytes(
                info_path,
                orjson.dumps(info, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY),
            )
        if not ids:
            return
        # Each vector as one fixed-size binary value of raw float32: Parquet decodes that as a
        # copy, where a list column costs a level per value; float noise does not compress, so
        # nothing is lost.
        raw = np.ascontiguousarray(vectors, dtype="<f4")
        table = pa.table(
            {
                "material_id": pa.array(ids, type=pa.string()),
                "vector": pa.FixedSizeBinaryArray.from_buffers(
                    pa.binary(4 * dim), len(ids), [None, pa.py_buffer(raw.tobytes())]
                ),
            }
        )
        clean_stray_temporaries(folder)
        atomic_write(
            folder / _shard_name(),
            lambda tmp: pq.write_table(
                table,
                tmp,
                compression={"material_id": "zstd", "vector": "none"},
                use_dictionary=False,
            ),
        )

    def fingerprint_models(self) -> list[str]:
        """Model ids with stored fingerprints, oldest first (by their latest write)."""
        if not self.fingerprints_dir.is_dir():
            return []
        latest = {}
        for d in self.fingerprints_dir.iterdir():
            shards = _list_shards(d) if d.is_dir() else []
            if shards:
                latest[d.name] = shards[-1]
        return sorted(latest, key=lambda m: latest[m])

    def read_fingerprints(self, model_id: str | None = None) -> tuple[list[str], np.ndarray]:
        """``(ids, vectors[n, dim] float32)`` of one model; the latest write of an id wins.

        ``model_id=None`` picks the model written most recently. Ids come in the order they
        were first written.
        """
        models = self.fingerprint_models()
        if model_id is None:
            if not models:
                raise BandprintError(
                    f"no fingerprints in {self.path} (run bandprint fingerprint {self.path})"
                )
            model_id = models[-1]
        elif model_id not in models:
            known = f" (have: {', '.join(models)})" if models else ""
            raise BandprintError(
                f"no fingerprints of model {model_id} in {self.path}{known} "
                f"(run bandprint fingerprint {self.path} --model {model_id})"
            )
        folder = self._model_dir(model_id)
        tables = [pq.read_table(folder / s) for s in _list_shards(folder)]
        table = pa.concat_tables(tables)
        id_column = table.column("material_id")
        ids = id_column.to_pylist()
        vectors = _vectors_from_column(table.column("vector"))
        if pc.count_distinct(id_column).as_py() == len(ids):
            return ids, vectors
        position: dict[str, int] = {}
        for i, mid in enumerate(ids):
            position[mid] = i  # later rows win, first-seen order kept by dict insertion
        rows = np.fromiter(position.values(), dtype=np.int64, count=len(position))
        return list(position), np.ascontiguousarray(vectors[rows])

    def fingerprint_parts(self, model_id: str) -> list[tuple[Path, np.ndarray | None]]:
        """The write-once parts of one model's fingerprints, oldest first, each with the rows
        that are the latest write of their id (``None``: all of them), so that together they
        hold every id once, as ``read_fingerprints`` does; read one with
        ``read_fingerprint_part``. Only the id columns are read here."""
        if model_id not in self.fingerprint_models():
            raise BandprintError(f"no fingerprints of model {model_id} in {self.path}")
        folder = self._model_dir(model_id)
        paths = [folder / s for s in _list_shards(folder)]
        ids = [pq.read_table(p, columns=["material_id"]).column(0).to_pylist() for p in paths]
        last: dict[str, tuple[int, int]] = {}
        for part, part_ids in enumerate(ids):
            for row, mid in enumerate(part_ids):
                last[mid] = (part, row)
        keep: list[list[int]] = [[] for _ in paths]
        for part, row in last.values():
            keep[part].append(row)
        out = []
        for path, part_ids, rows in zip(paths, ids, keep, strict=True):
            if len(rows) == len(part_ids):
                out.append((path, None))
            elif rows:
                out.append((path, np.sort(np.array(rows, dtype=np.int64))))
        return out

    def fingerprint_model_info(self, model_id: str) -> dict[str, Any]:
        path = self._model_dir(model_id) / "model.json"
        if not path.is_file():
            raise BandprintError(
                f"no fingerprints of model {model_id} in {self.path} "
                f"(run bandprint fingerprint {self.path})"
            )
        return orjson.loads(path.read_bytes())

    # -- result tables ------------------------------------------------------------------
    def _table_path(self, name: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", name):
            raise BandprintError(f"invalid table name {name!r}")
        return self.tables_dir / f"{name}.parquet"

    def write_table(self, name: str, df: pd.DataFrame, meta: dict[str, Any] | None = None) -> Path:
        """Store a result table under ``name``, replacing any previous one atomically."""
        path = self._table_path(name)
        table = pa.Table.from_pandas(df, preserve_index=False)
        meta_path = path.with_name(f"{name}.meta.json")
        # The meta is written first: a crash between the two leaves the old table with the
        # new meta at worst, never a table without meta.
        atomic_write_bytes(
            meta_path,
            orjson.dumps(
                {"name": name, "written_at": _now().isoformat(), **(meta or {})},
                option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
            ),
        )
        clean_stray_temporaries(self.tables_dir)
        return atomic_write(path, lambda tmp: pq.write_table(table, tmp))

    def read_table(self, name: str) -> pd.DataFrame:
        path = self._table_path(name)
        if not path.is_file():
            raise BandprintError(f"no {name} table in {self.path} ({self._producer_hint(name)})")
        return pq.read_table(path).to_pandas()

    def table_meta(self, name: str) -> dict[str, Any]:
        path = self._table_path(name).with_name(f"{name}.meta.json")
        if not path.is_file():
            raise BandprintError(f"no {name} table in {self.path} ({self._producer_hint(name)})")
        return orjson.loads(path.read_bytes())

    def tables(self) -> list[str]:
        return sorted(n[: -len(".parquet")] for n in _list_shards(self.tables_dir))

    def _producer_hint(self, name: str) -> str:
        for prefix, command in TABLE_PRODUCERS.items():
            if name.startswith(prefix):
                return f"run {command} {self.path} first"
        return "run the bandprint command that makes it first"


def open_workspace(path: str | Path) -> Workspace:
    """An existing workspace (``BandprintError`` naming the problem otherwise)."""
    return Workspace(path)


__all__ = [
    "BANDS_SCHEMA",
    "CATALOG_COLUMNS",
    "TABLE_PRODUCERS",
    "Workspace",
    "atomic_write",
    "atomic_write_bytes",
    "band_structure_row",
    "clean_stray_temporaries",
    "open_workspace",
    "read_fingerprint_part",
    "rows_to_table",
]
