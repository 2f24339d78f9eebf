"""Read band structures from the files users hold, whatever code or database wrote them.

Two steps, so that ingest can parallelise the expensive one:

* ``discover_sources(paths)`` walks files and folders and yields ``Source`` units: one band
  structure's worth of files (a single JSON, a VASP run folder, several split runs, a CASTEP
  ``.bands`` with its ``.cell``, one 2DMatPedia material with its db.json row).
* ``read_source(source)`` parses one unit into ``BandStructure`` objects.

Formats are recognised by content, not only by name. ``read_band_structures(path)`` does both
steps for notebook use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError, ReadError
from bandprint.read import (
    ase_json,
    bandprint_json,
    castep,
    espresso,
    exciting,
    fhi_aims,
    pymatgen_json,
    questaal,
    siesta,
    twodmatpedia,
    vasp,
)
from bandprint.read.files import material_id_from_path, read_head
from bandprint.read.source import FolderClaim, Source


@dataclass(frozen=True)
class FileFormat:
    """A single-file format: how to recognise it from its first bytes, and how to read it."""

    name: str
    sniff: Callable[[Path, bytes], bool]
    read: Callable[[Source], list[BandStructure]]
    #: The Source for a file of this format named on its own: the files beside it that it
    #: needs (KPOINTS, .cell, …) and its material id. ``None``: the file alone.
    source: Callable[[Path], Source] | None = None


def _sniff_pymatgen(path: Path, head: bytes) -> bool:
    h = head.lstrip()
    if h[:1] not in (b"{", b"["):
        return False
    # Older dictionaries put the long 'projections' before 'kpoints' and 'bands'.
    return (
        b'"BandStructureSymmLine"' in head
        or (b'"kpoints"' in head and (b'"bands"' in head or b'"efermi"' in head))
        or (b'"efermi"' in head and b'"lattice_rec"' in head)
    )


def _read_pymatgen(source: Source) -> list[BandStructure]:
    return pymatgen_json.read_pymatgen_file(
        source.paths[0], material_id=source.material_id, metadata=source.metadata or None
    )


def _read_bandprint(source: Source) -> list[BandStructure]:
    return [bandprint_json.read_bandprint_json(source.paths[0], source.material_id)]


def _read_c2db(source: Source) -> list[BandStructure]:
    soc = bool(source.options.get("soc", False))
    return [ase_json.read_c2db(source.paths[0], material_id=source.material_id, soc=soc)]


def _read_ase(source: Source) -> list[BandStructure]:
    efermi = source.options.get("efermi")
    return [ase_json.read_ase_json(source.paths[0], source.material_id, efermi)]


#: Formats tried in order on every file that no folder-level rule claimed.
FILE_FORMATS: list[FileFormat] = [
    # bandprint's own files first: they also hold "kpoints" and "efermi", like pymatgen's
    FileFormat(
        bandprint_json.FORMAT,
        lambda p, h: bandprint_json.looks_like_bandprint(h),
        _read_bandprint,
    ),
    FileFormat(ase_json.FORMAT_C2DB, lambda p, h: ase_json.looks_like_c2db(h), _read_c2db),
    FileFormat(ase_json.FORMAT_ASE, lambda p, h: ase_json.looks_like_ase(h), _read_ase),
    FileFormat(pymatgen_json.FORMAT, _sniff_pymatgen, _read_pymatgen),
    FileFormat(
        vasp.FORMAT_VASPRUN,
        lambda p, h: vasp.looks_like_vasprun(h),
        vasp.read_vasp_source,
        vasp.file_source,
    ),
    FileFormat(
        vasp.FORMAT_EIGENVAL,
        lambda p, h: vasp.looks_like_eigenval(h),
        vasp.read_vasp_source,
        vasp.file_source,
    ),
    FileFormat(
        vasp.FORMAT_OUTCAR,
        lambda p, h: vasp.looks_like_outcar(h) and vasp.outcar_is_band_run(p),
        vasp.read_vasp_source,
        vasp.file_source,
    ),
    FileFormat(
        castep.FORMAT,
        lambda p, h: castep.looks_like_castep_bands(h),
        castep.read_castep_source,
        castep.file_source,
    ),
    FileFormat(
        espresso.FORMAT_OUT,
        lambda p, h: espresso.looks_like_pw_output(h) and espresso.is_bands_run(p),
        espresso.read_espresso_source,
    ),
    FileFormat(
        espresso.FORMAT_XML,
        lambda p, h: espresso.looks_like_qe_xml(h),
        espresso.read_espresso_source,
    ),
    FileFormat(
        siesta.FORMAT,
        lambda p, h: siesta.looks_like_siesta_bands(h),
        siesta.read_siesta_source,
        siesta.file_source,
    ),
    FileFormat(
        questaal.FORMAT,
        questaal.looks_like_bnds,
        questaal.read_bnds_source,
        questaal.file_source,
    ),
    FileFormat(
        exciting.FORMAT,
        lambda p, h: exciting.looks_like_exciting(h),
        exciting.read_exciting_source,
        exciting.file_source,
    ),
    FileFormat(
        fhi_aims.FORMAT,
        fhi_aims.looks_like_band_file,
        fhi_aims.read_fhi_aims_source,
        fhi_aims.file_source,
    ),
]

OnSkip = Callable[[str, str], None]

#: Folder-level rules: (claims this folder?, sources it yields; problems to ``on_skip``).
#: Tried before descending.
FolderRule = Callable[[Path, "OnSkip | None"], "list[Source] | None"]
FOLDER_RULES: list[FolderRule] = []


def _twodmatpedia_sources(root: Path, on_skip: OnSkip | None) -> list[Source] | None:
    if not twodmatpedia.is_2dmatpedia_dir(root):
        return None
    db = root / "db.json" if (root / "db.json").is_file() else root / "db.json.gz"
    # A bad line, or an unreadable db.json, costs those materials their metadata, not the batch;
    # the digests make a rerun re-read a material once its row is mended.
    try:
        rows, digests = twodmatpedia.read_db_json(db, on_bad_line=on_skip)
    except ReadError as exc:
        if on_skip is None:
            raise
        on_skip(str(db), exc.reason)
        rows, digests = {}, {}
    sources = []
    for f in sorted((root / "bands").iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        mid = material_id_from_path(f)
        row = rows.get(mid)
        meta = (
            twodmatpedia.metadata_from_row(row)
            if row
            else {"database": "2DMatPedia", "is_2d": True}
        )
        meta["source_format"] = twodmatpedia.FORMAT
        digest = f"db.json:{digests.get(mid, 'none')}"
        sources.append(Source(twodmatpedia.FORMAT, (str(f),), mid, meta, extra_digest=digest))
    return sources


def _claimed(claim: FolderClaim | None) -> list[Source] | None:
    """A folder reader's sources, and those found in the rest of its folder."""
    if claim is None:
        return None
    return [*claim.sources, *discover_sources(claim.rest)]


FOLDER_RULES.append(_twodmatpedia_sources)
FOLDER_RULES.append(lambda root, on_skip: _claimed(vasp.vasp_folder_sources(root)))
FOLDER_RULES.append(lambda root, on_skip: _claimed(fhi_aims.folder_sources(root)))
FOLDER_RULES.append(lambda root, on_skip: _claimed(exciting.folder_sources(root)))


def _read_twodmatpedia(source: Source) -> list[BandStructure]:
    meta = dict(source.metadata)
    structure_dict = meta.pop("structure", None)
    bs = pymatgen_json.read_pymatgen_json(source.paths[0], source.material_id, meta)
    if bs.structure is None and structure_dict:
        from pymatgen.core import Structure

        bs.structure = Structure.from_dict(structure_dict)
    return [bs]


READERS: dict[str, Callable[[Source], list[BandStructure]]] = {
    twodmatpedia.FORMAT: _read_twodmatpedia,
}


def detect_file_format(path: str | Path) -> FileFormat | None:
    """The format of a single file, judged from its content (and name only as a hint)."""
    p = Path(path)
    head = read_head(p)
    if not head.strip():
        return None
    for fmt in FILE_FORMATS:
        if fmt.sniff(p, head):
            return fmt
    return None


def discover_sources(
    paths: Iterable[str | Path], on_skip: OnSkip | None = None
) -> Iterator[Source]:
    """Walk files and folders and yield every band-structure source found.

    Files that are no band structure at all (READMEs, images, …) inside folders are passed over
    quietly; a file the user named directly that cannot be recognised is reported to
    ``on_skip(path, reason)`` so a batch can list it.
    """
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            if on_skip:
                on_skip(str(p), "no such file or directory")
            continue
        if p.is_dir():
            yield from _walk_dir(p, on_skip)
        else:
            src = _file_source(p)
            if src is not None:
                yield src
            elif on_skip:
                on_skip(str(p), _unrecognised_reason(p))


def _unrecognised_reason(p: Path) -> str:
    try:
        if p.stat().st_size == 0:
            return "file is empty"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return "not a recognised band-structure format"


def _walk_dir(root: Path, on_skip: OnSkip | None) -> Iterator[Source]:
    for rule in FOLDER_RULES:
        try:
            claimed = rule(root, on_skip)
        except BandprintError as exc:
            if on_skip:
                on_skip(str(root), str(exc))
            return
        if claimed is not None:
            yield from claimed
            return
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk_dir(child, on_skip)
        else:
            src = _file_source(child)
            if src is not None:
                yield src
            elif on_skip and child.suffix.lower() in {".json", ".gz", ".xml", ".bands"}:
                on_skip(str(child), _unrecognised_reason(child))


def _file_source(p: Path) -> Source | None:
    fmt = detect_file_format(p)
    if fmt is None:
        return None
    if fmt.source is not None:
        return fmt.source(p)
    return Source(fmt.name, (str(p),), None)


def read_source(source: Source) -> list[BandStructure]:
    """Parse one source. Raises ``ReadError`` naming the file and the reason."""
    reader = READERS.get(source.format)
    if reader is None:
        for fmt in FILE_FORMATS:
            if fmt.name == source.format:
                reader = fmt.read
                break
    if reader is None:
        raise ReadError(source.key, f"no reader for format {source.format!r}")
    try:
        structures = reader(source)
    except ReadError:
        raise
    except BandprintError as exc:
        raise ReadError(source.key, str(exc)) from None
    except MemoryError:
        raise ReadError(source.key, "too large to read into memory") from None
    except (ValueError, KeyError, IndexError, TypeError, OSError, EOFError) as exc:
        raise ReadError(source.key, f"unreadable: {exc!r}") from None
    for bs in structures:
        bs.source = bs.source or source.key
    return structures


def read_band_structures(*paths: str | Path, **options: Any) -> list[BandStructure]:
    """Every band structure in the given files and folders (notebook entry point).

    Raises ``ReadError`` on the first file that cannot be read; ``ingest`` is the batch
    alternative that skips and reports.
    """
    for path in paths:
        if not Path(path).exists():  # named by the caller, not found while walking a folder
            raise ReadError(path, "no such file or directory")
    out: list[BandStructure] = []
    skipped: list[tuple[str, str]] = []
    for src in discover_sources(paths, on_skip=lambda p, r: skipped.append((p, r))):
        if options:
            src = Source(src.format, src.paths, src.material_id, src.metadata, options)
        out.extend(read_source(src))
    if skipped and not out:
        raise ReadError(*skipped[0])
    return out


def read_band_structure(path: str | Path, **options: Any) -> BandStructure:
    """The single band structure in ``path``."""
    found = read_band_structures(path, **options)
    if len(found) != 1:
        raise ReadError(path, f"holds {len(found)} band structures, expected one")
    return found[0]


__all__ = [
    "FILE_FORMATS",
    "FOLDER_RULES",
    "READERS",
    "FileFormat",
    "FolderClaim",
    "Source",
    "detect_file_format",
    "discover_sources",
    "read_band_structure",
    "read_band_structures",
    "read_source",
]
