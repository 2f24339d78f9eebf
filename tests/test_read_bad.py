"""Bad input, every format: one-line ReadError naming the file and the reason, nothing else.

Property tests mutate real files (truncate, overwrite, insert, delete bytes, replace a number
with NaN/inf/garbage) and read them with the format's reader; hand-made cases cover empty,
wrong-format and dimension-mismatched files and batches mixing good and bad files.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bandprint.errors import ReadError
from bandprint.read import (
    Source,
    discover_sources,
    read_band_structure,
    read_band_structures,
    read_source,
)
from qe_fixtures import write_qe_xml
from vasp_fixtures import slimmed, write_eigenval

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


class Case:
    """A readable input: its files, the one to mutate, the format and read options."""

    def __init__(self, files: dict[str, bytes], target: str, fmt: str, **options):
        self.files, self.target, self.format, self.options = files, target, fmt, options

    def write(self, folder: Path, target_bytes: bytes) -> list[str]:
        for name, content in self.files.items():
            (folder / name).write_bytes(target_bytes if name == self.target else content)
        main = next(iter(self.files))
        return [str(folder / main)] + [str(folder / n) for n in self.files if n != main]


@pytest.fixture(scope="module")
def cases(real_dir: Path, data_dir: Path) -> dict[str, Case]:
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp.inputs import Poscar
    from pymatgen.io.vasp.outputs import BSVasprun

    oso2 = real_dir / "vasp" / "OsO2"
    kpoints = gzip.decompress((oso2 / "KPOINTS.gz").read_bytes())
    vr = BSVasprun(str(oso2 / "vasprun.xml.gz"), parse_potcar_file=False)
    eig = vr.eigenvalues[Spin.up]
    with tempfile.TemporaryDirectory() as tmp:
        eigenval = write_eigenval(
            Path(tmp) / "EIGENVAL",
            np.asarray(vr.actual_kpoints),
            np.asarray(vr.actual_kpoints_weights),
            eig[None, :, :, 0],
            eig[None, :, :, 1],
            40,
            6,
            "OsO2",
        ).read_bytes()
    poscar = Poscar(vr.final_structure).get_str().encode()
    cao = (real_dir / "pymatgen-json" / "CaO_2605_bandstructure.json").read_bytes()
    castep = {n: (real_dir / "castep" / n).read_bytes() for n in ("Si2.bands", "Si2.cell")}
    c2db = next((data_dir / "c2db").glob("*/results-asr.bandstructure.json")).read_bytes()
    vasprun = slimmed(oso2 / "vasprun.xml.gz")
    ws2_log = (
        real_dir / "qe" / "WS2-monolayer" / "bands-bpc_100-c_18-ecut_100-k_32.log"
    ).read_bytes()
    ws2 = read_band_structure(real_dir / "qe" / "WS2-monolayer")
    with tempfile.TemporaryDirectory() as tmp:
        st = ws2.structure
        qe_xml = write_qe_xml(
            Path(tmp) / "data-file-schema.xml",
            st.lattice.matrix,
            [x.symbol for x in st.species],
            st.cart_coords,
            ws2.kpoints[::10],
            ws2.energies[:, ::10],
            40.0,
            True,
            {"fermi_energy": ws2.efermi},
        ).read_bytes()
    ge = real_dir / "fhi-aims" / "Ge"
    aims = {p.name: p.read_bytes() for p in sorted(ge.iterdir()) if p.name.startswith("band")}
    aims |= {n: (ge / n).read_bytes() for n in ("control.in", "geometry.in", "calculation.out")}
    siesta = {
        n: (real_dir / "siesta" / "Fe" / n).read_bytes() for n in ("Fe.bands", "Fe.fdf", "Fe.XV")
    }
    czts = real_dir / "vasp" / "CZTS-zero-weight"
    outcar = {
        "OUTCAR": gzip.decompress((czts / "OUTCAR.gz").read_bytes()),
        "KPOINTS": (czts / "KPOINTS").read_bytes(),
        "POSCAR": (czts / "POSCAR").read_bytes(),
    }
    docs = orjson.loads(
        gzip.decompress((real_dir / "mp-documents" / "es_bs_objs.json.gz").read_bytes())
    )
    mp_docs = orjson.dumps([docs[1]])
    row = orjson.loads(
        gzip.decompress((real_dir / "c2db" / "Be4-09dd42ad034e.json.gz").read_bytes())
    )
    keep = (
        "results-asr.bandstructure.json",
        "results-asr.database.material_fingerprint.json",
        "structure.json",
    )
    c2db_row = orjson.dumps({k: row[k] for k in keep})
    ceo = real_dir / "exciting" / "CeO"
    exciting = {n: (ceo / n).read_bytes() for n in ("bandstructure.xml", "input.xml", "info.xml")}
    zno = real_dir / "questaal" / "ZnO"
    questaal = {n: (zno / n).read_bytes() for n in ("bnds.band_calc", "syml.band_calc", "POSCAR")}
    questaal["init.zno_sym"] = (zno / "init.zno_sym").read_bytes()
    return {
        "questaal bnds": Case(questaal, "bnds.band_calc", "questaal-bnds"),
        "questaal syml": Case(questaal, "syml.band_calc", "questaal-bnds"),
        "exciting": Case(exciting, "bandstructure.xml", "exciting"),
        "exciting input.xml": Case(exciting, "input.xml", "exciting"),
        "espresso-out": Case({"WS2.out": ws2_log}, "WS2.out", "espresso-out"),
        "espresso-xml": Case({"data-file-schema.xml": qe_xml}, "data-file-schema.xml",
                             "espresso-xml"),
        "fhi-aims band file": Case(aims, "band1003.out", "fhi-aims"),
        "fhi-aims control.in": Case(aims, "control.in", "fhi-aims"),
        "fhi-aims main output": Case(aims, "calculation.out", "fhi-aims"),
        "siesta .bands": Case(siesta, "Fe.bands", "siesta-bands"),
        "siesta .fdf": Case(siesta, "Fe.fdf", "siesta-bands"),
        "siesta .XV": Case(siesta, "Fe.XV", "siesta-bands"),
        "OUTCAR": Case(outcar, "OUTCAR", "outcar"),
        "OUTCAR KPOINTS": Case(outcar, "KPOINTS", "outcar"),
        "mp-documents": Case({"docs.json": mp_docs}, "docs.json", "pymatgen-json"),
        "c2db row": Case({"Be4.json": c2db_row}, "Be4.json", "c2db"),
        "pymatgen-json": Case({"CaO.json": cao}, "CaO.json", "pymatgen-json"),
        "pymatgen-json.gz": Case({"CaO.json.gz": gzip.compress(cao)}, "CaO.json.gz",
                                 "pymatgen-json"),
        "vasprun": Case({"vasprun.xml": vasprun, "KPOINTS": kpoints}, "vasprun.xml", "vasprun"),
        "KPOINTS": Case({"vasprun.xml": vasprun, "KPOINTS": kpoints}, "KPOINTS", "vasprun"),
        "EIGENVAL": Case(
            {"EIGENVAL": eigenval, "KPOINTS": kpoints, "POSCAR": poscar},
            "EIGENVAL",
            "eigenval",
            efermi=5.0,
        ),
        "POSCAR": Case(
            {"EIGENVAL": eigenval, "KPOINTS": kpoints, "POSCAR": poscar},
            "POSCAR",
            "eigenval",
            efermi=5.0,
        ),
        "castep .bands": Case(castep, "Si2.bands", "castep-bands"),
        "castep .cell": Case(castep, "Si2.cell", "castep-bands"),
        "ase": Case(
            {"Al.json": (data_dir / "ase" / "Al_free_electrons.json").read_bytes()},
            "Al.json",
            "ase-bandstructure",
        ),
        "c2db": Case({"results-asr.bandstructure.json": c2db},
                     "results-asr.bandstructure.json", "c2db"),
    }  # fmt: skip


_NUMBER = re.compile(rb"-?\d+\.\d+(?:[eE][-+]?\d+)?")


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["truncate", "overwrite", "insert", "delete", "number"]))
    where = draw(st.floats(0, 1))
    if kind == "overwrite" or kind == "insert":
        return kind, where, draw(st.binary(min_size=1, max_size=24))
    if kind == "delete":
        return kind, where, draw(st.integers(1, 400))
    if kind == "number":
        return kind, where, draw(st.sampled_from([b"nan", b"NaN", b"inf", b"-1e999", b"", b"*"]))
    return kind, where, None


def mutate(data: bytes, mutation: tuple) -> bytes:
    kind, where, arg = mutation
    pos = int(where * len(data))
    if kind == "truncate":
        return data[:pos]
    if kind == "overwrite":
        return data[:pos] + arg + data[pos + len(arg) :]
    if kind == "insert":
        return data[:pos] + arg + data[pos:]
    if kind == "delete":
        return data[:pos] + data[pos + arg :]
    numbers = list(_NUMBER.finditer(data))
    if not numbers:  # compressed data: no number to replace, truncate instead
        return data[:pos]
    m = numbers[min(int(where * len(numbers)), len(numbers) - 1)]
    return data[: m.start()] + arg + data[m.end() :]


def assert_reads_or_fails_cleanly(paths: list[str], fmt: str, options: dict) -> None:
    src = Source(fmt, tuple(paths), "material", options=dict(options))
    try:
        result = read_source(src)
    except ReadError as exc:
        message = str(exc)
        assert "\n" not in message
        assert any(p in message for p in paths), message
        assert exc.reason, message
    else:
        for bs in result:  # a harmless mutation: the result must still be a band structure
            assert np.isfinite(bs.energies).all() and np.isfinite(bs.efermi)
            assert np.isfinite(bs.distances).all()
            for array in (bs.kpoints, bs.reciprocal_lattice):
                assert array is None or np.isfinite(array).all()
    # discovery over the folder never raises either; each source it yields reads or says why
    skipped: list[tuple[str, str]] = []
    for found in discover_sources([Path(paths[0]).parent], lambda p, r: skipped.append((p, r))):
        try:
            read_source(Source(found.format, found.paths, found.material_id, options=options))
        except ReadError as exc:
            assert "\n" not in str(exc)
    assert all("\n" not in reason for _, reason in skipped)


#: ``BANDPRINT_FUZZ=10 pytest tests/test_read_bad.py`` runs ten times as many random mutations.
FUZZ = float(os.environ.get("BANDPRINT_FUZZ", "1"))
CASE_EXAMPLES = {
    "pymatgen-json": 40,
    "pymatgen-json.gz": 30,
    "vasprun": 12,
    "KPOINTS": 10,
    "EIGENVAL": 30,
    "POSCAR": 10,
    "castep .bands": 40,
    "castep .cell": 30,
    "ase": 40,
    "c2db": 30,
    "espresso-out": 20,
    "exciting": 20,
    "questaal bnds": 20,
    "questaal syml": 15,
    "exciting input.xml": 20,
    "espresso-xml": 25,
    "fhi-aims band file": 30,
    "fhi-aims control.in": 20,
    "fhi-aims main output": 10,
    "siesta .bands": 30,
    "siesta .fdf": 20,
    "siesta .XV": 15,
    "OUTCAR": 15,
    "OUTCAR KPOINTS": 15,
    "mp-documents": 25,
    "c2db row": 15,
}


@pytest.mark.parametrize("name", sorted(CASE_EXAMPLES))
def test_mutated_real_files_fail_cleanly(cases, name):
    case = cases[name]
    original = case.files[case.target]

    @settings(
        max_examples=int(CASE_EXAMPLES[name] * FUZZ),
        deadline=None,
        derandomize=FUZZ == 1,  # CI runs the same examples every time
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutations())
    def check(mutation):
        with tempfile.TemporaryDirectory() as tmp:
            paths = case.write(Path(tmp), mutate(original, mutation))
            assert_reads_or_fails_cleanly(paths, case.format, case.options)

    check()


def test_unmutated_cases_read(cases, tmp_path):
    """The property above is not vacuous: every starting point is a readable band structure."""
    for i, (name, case) in enumerate(sorted(cases.items())):
        folder = tmp_path / str(i)
        folder.mkdir()
        paths = case.write(folder, case.files[case.target])
        src = Source(case.format, tuple(paths), "m", options=dict(case.options))
        assert read_source(src)[0].nkpoints > 2, name


# -- hand-made cases ---------------------------------------------------------------------------
EMPTY_NAMES = ["vasprun.xml", "EIGENVAL", "Si2.bands", "bs.json", "CaO.json.gz", "x.json"]


@pytest.mark.parametrize("name", EMPTY_NAMES)
def test_empty_files(tmp_path, name):
    folder = tmp_path / "material"
    folder.mkdir()
    (folder / name).write_bytes(b"")
    for target in (folder / name, folder):
        with pytest.raises(ReadError, match="empty") as err:
            read_band_structure(target)
        assert name in str(err.value) and "\n" not in str(err.value)


def test_wrong_format_for_the_reader(cases, tmp_path):
    """Each reader handed another format's file says it cannot read it."""
    written = {}
    for i, (name, case) in enumerate(sorted(cases.items())):
        folder = tmp_path / str(i)
        folder.mkdir()
        written[name] = case.write(folder, case.files[case.target])
    readers = {c.format for c in cases.values()}
    for name, paths in written.items():
        for fmt in readers - {cases[name].format}:
            with pytest.raises(ReadError) as err:
                read_source(Source(fmt, (paths[0],), "m"))
            assert paths[0] in str(err.value) and "\n" not in str(err.value), (name, fmt)


def test_binary_garbage_named_like_dft_output(tmp_path, cases):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    run = tmp_path / "run"
    run.mkdir()
    (run / "vasprun.xml").write_bytes(png)
    (run / "KPOINTS").write_bytes(cases["vasprun"].files["KPOINTS"])
    with pytest.raises(ReadError, match=r"not a readable vasprun\.xml") as err:
        read_band_structure(run)
    assert "vasprun.xml" in str(err.value)
    (tmp_path / "x.bands").write_bytes(png)
    with pytest.raises(ReadError, match="not a recognised band-structure format"):
        read_band_structure(tmp_path / "x.bands")


def test_nan_filled_inputs(tmp_path, cases):
    """NaN energies pass the parsers but never make a band structure."""
    for i, name in enumerate(["pymatgen-json", "EIGENVAL", "castep .bands", "vasprun"]):
        case = cases[name]
        data = _NUMBER.sub(b"NaN", case.files[case.target])
        if name == "vasprun":  # keep the XML header numbers, fill the eigenvalues
            head, _, body = case.files[case.target].partition(b"<eigenvalues>")
            data = head + b"<eigenvalues>" + _NUMBER.sub(b"NaN", body)
        folder = tmp_path / str(i)
        folder.mkdir()
        paths = case.write(folder, data)
        with pytest.raises(ReadError) as err:
            read_source(Source(case.format, tuple(paths), "m", options=dict(case.options)))
        assert "\n" not in str(err.value) and paths[0] in str(err.value), name


def test_batch_with_good_and_bad_files(tmp_path, cases):
    cao = cases["pymatgen-json"].files["CaO.json"]
    (tmp_path / "CaO.json").write_bytes(cao)
    (tmp_path / "broken.json").write_bytes(cao[: int(len(cao) * 0.9)])
    (tmp_path / "Si2.bands").write_bytes(cases["castep .bands"].files["Si2.bands"][:3000])
    # the library call stops at the first bad file in walk order (sorted names), naming it …
    with pytest.raises(ReadError) as err:
        read_band_structures(tmp_path)
    assert "Si2.bands: truncated" in str(err.value)
    # … a batch reads source by source and lists the failures
    good, failed = [], []
    for src in discover_sources([tmp_path]):
        try:
            good.extend(read_source(src))
        except ReadError as exc:
            failed.append(exc.path)
    assert [bs.material_id for bs in good] == ["CaO"]
    assert sorted(Path(p.split("|")[0]).name for p in failed) == ["Si2.bands", "broken.json"]
