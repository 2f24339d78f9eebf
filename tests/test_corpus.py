"""The committed GPAW corpus (corpus/gpaw-2d): it ingests like any database, and its PBE gaps
agree with published PBE values for the well-known monolayers it holds."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import orjson
import pytest

from bandprint.bandstructure import BandStructure
from bandprint.ingest import ingest
from bandprint.store import Workspace

BANDS = Path(__file__).resolve().parents[1] / "corpus" / "gpaw-2d" / "bands"

#: Published PBE band gaps (eV) of freestanding monolayers, without spin–orbit coupling.
PUBLISHED_PBE_GAP = {
    # Rasmussen & Thygesen, J. Phys. Chem. C 119, 13169 (2015), PBE at PBE lattice constants
    "2H-MX2_MoS2": 1.58,
    "2H-MX2_WS2": 1.54,
    "2H-MX2_MoSe2": 1.32,
    "2H-MX2_WSe2": 1.25,
    "1T-MX2_HfS2": 1.27,
    "1T-MX2_ZrS2": 1.10,
    # Gonzalez & Oleynik, Phys. Rev. B 94, 125443 (2016): SnS2 monolayer, PBE
    "1T-MX2_SnS2": 1.59,
    # Haastrup et al., 2D Mater. 5, 042002 (2018), C2DB: h-BN, PBE
    "planar-honeycomb_BN": 4.64,
    # Zhuang & Hennig, Chem. Mater. 25, 3232 (2013): group-III monochalcogenides, PBE
    "III-VI-M2X2_GaS": 2.35,
    "III-VI-M2X2_GaSe": 1.79,
    "III-VI-M2X2_InSe": 1.38,
    # Qiao et al., Nat. Commun. 5, 4475 (2014): phosphorene, PBE
    "puckered-elemental_P": 0.91,
    # Dirac points at K without spin–orbit coupling: graphene (Castro Neto et al., Rev. Mod.
    # Phys. 81, 109, 2009), silicene and germanene (Cahangirov et al., PRL 102, 236804, 2009)
    "planar-honeycomb_C": 0.0,
    "buckled-honeycomb_Si": 0.0,
    "buckled-honeycomb_Ge": 0.0,
}
TOLERANCE = 0.3  # eV


def _load(path: Path) -> BandStructure:
    return BandStructure.from_dict(orjson.loads(gzip.decompress(path.read_bytes())))


@pytest.mark.slow
def test_the_corpus_ingests_with_no_error_and_keeps_its_metadata(tmp_path):
    files = sorted(BANDS.glob("*.json.gz"))
    report = ingest([BANDS], tmp_path / "ws", workers=2, progress=False)
    assert report.failures == []
    assert report.n_ingested == len(files)
    cat = Workspace(tmp_path / "ws").catalog()
    assert len(cat) == len(files)
    bs = Workspace(tmp_path / "ws").get(files[0].name.removesuffix(".json.gz"))
    for key in ("prototype", "settings", "magnetic_state", "sg_number", "gpaw_version"):
        assert key in bs.metadata
    assert bs.structure is not None and bs.metadata["is_2d"] is True


def test_at_least_eight_reference_monolayers_are_in_the_corpus():
    present = [mid for mid in PUBLISHED_PBE_GAP if (BANDS / f"{mid}.json.gz").exists()]
    assert len(present) >= 8, present


#: Known disagreements, with their cause; strict, so a fix shows up as a failure to update.
KNOWN_OFF = {
    # CHGNet's lattice is 2.7 % short along the zigzag direction (bench_lattice_constants.py):
    # phosphorene's gap is very strain-sensitive; the published value is at the PBE lattice.
    "puckered-elemental_P": "CHGNet lattice 2.7 % compressed along zigzag",
}


@pytest.mark.parametrize(
    "material_id",
    [
        pytest.param(m, marks=pytest.mark.xfail(reason=KNOWN_OFF[m], strict=True))
        if m in KNOWN_OFF
        else m
        for m in PUBLISHED_PBE_GAP
    ],
)
def test_pbe_gap_agrees_with_the_published_value(material_id):
    path = BANDS / f"{material_id}.json.gz"
    if not path.exists():
        pytest.skip(f"{material_id} is not computed yet")
    gap = _load(path).band_gap().energy
    assert abs(gap - PUBLISHED_PBE_GAP[material_id]) <= TOLERANCE, (
        f"{material_id}: computed {gap:.3f} eV, published {PUBLISHED_PBE_GAP[material_id]} eV"
    )


def test_held_out_splits_keep_twin_groups_and_prototypes_whole() -> None:
    from bandprint.compute.corpus import held_out, load_corpus, twin_group

    bss = load_corpus(BANDS)
    groups = [twin_group(b) for b in bss]
    assert any(b.metadata.get("twin_of") for b in bss)
    for by in ("material", "prototype"):
        mask = held_out(bss, by)
        side: dict[str, bool] = {}
        for g, m in zip(groups, mask, strict=True):
            assert side.setdefault(g, bool(m)) == bool(m), f"{g} split across sides ({by})"
        assert 0 < mask.sum() < len(bss)
    protos = [b.metadata["prototype"] for b in bss]
    mask = held_out(bss, "prototype")
    for proto in set(protos):
        assert len({bool(m) for p, m in zip(protos, mask, strict=True) if p == proto}) == 1
    # Membership depends on the id alone: the split of a subset is the subset of the split.
    half = bss[::2]
    assert (held_out(half) == held_out(bss)[::2]).all()
    # About the asked fraction of groups, for a fraction the hash spreads evenly.
    ids = [f"material-{i}" for i in range(4000)]
    from bandprint.compute.corpus import hash_fraction

    assert abs(np.mean([hash_fraction(i) < 0.2 for i in ids]) - 0.2) < 0.02


def test_every_corpus_material_is_still_a_prototype_candidate() -> None:
    # The corpus builder resumes by material id: an edit of the prototype table that renamed
    # or dropped a computed candidate would orphan its files (or compute it twice).
    from bandprint.compute.prototypes import candidates

    ids = {c.material_id for c in candidates()}
    table = BANDS.parent / "structures.jsonl"
    rows = [orjson.loads(line) for line in table.read_bytes().splitlines() if line.strip()]
    assert rows and {r["material_id"] for r in rows} <= ids
    computed = {p.name.removesuffix(".json.gz").split("--")[0] for p in BANDS.glob("*.json.gz")}
    assert computed <= ids
    # And the geometry a candidate starts from is the one the table was relaxed from: same
    # species in the same order.
    by_id = {c.material_id: c for c in candidates()}
    for r in rows:
        assert r["symbols"] == by_id[r["material_id"]].atoms.get_chemical_symbols()


def test_every_labelled_k_point_of_the_corpus_is_the_special_point_it_names() -> None:
    # bandprint's own k-path analysis of each slab's cell names the special points; a file
    # whose path went elsewhere (as Debian's ASE 3.22 did for cells not aligned with x) fails.
    from bandprint.compute.corpus import load_corpus
    from bandprint.kpath import kpath_spec, normalize_label

    wrong = []
    for bs in load_corpus(BANDS):
        spec = kpath_spec(bs.reciprocal_lattice, two_d=True, axis=2)
        for seg in bs.segments:
            for i, name in ((seg.start, seg.start_label), (seg.stop - 1, seg.end_label)):
                if normalize_label(name) not in spec.labels_at(bs.kpoints[i]):
                    wrong.append(f"{bs.material_id}: {name} at {np.round(bs.kpoints[i], 3)}")
    assert not wrong, wrong[:5]


def test_select_corpus_keeps_prototypes_and_twin_groups_whole() -> None:
    from bandprint.compute.corpus import load_corpus, select_corpus, twin_group

    bss = load_corpus(BANDS)
    by_id = {b.material_id: b for b in bss}
    groups: dict[str, set[str]] = {}
    for b in bss:
        groups.setdefault(twin_group(b), set()).add(b.material_id)
    protos = {b.metadata["prototype"] for b in bss}
    limit = 3 * len(protos)
    chosen = select_corpus(bss, limit)
    assert chosen == select_corpus(list(reversed(bss)), limit)[::-1]  # order-free choice
    assert 0 < len(chosen) <= limit
    assert len(set(chosen)) == len(chosen)
    # Every prototype, and only whole twin groups, with real twins among them.
    assert {by_id[m].metadata["prototype"] for m in chosen} == protos
    for m in chosen:
        assert groups[twin_group(by_id[m])] <= set(chosen), m
    assert any(by_id[m].metadata.get("twin_of") in chosen for m in chosen)
    assert select_corpus(bss, len(bss)) == [b.material_id for b in bss]
    assert select_corpus(bss, 0) == []


def test_corpus_dir_finds_the_checkout_the_environment_or_nothing(tmp_path, monkeypatch):
    import bandprint.compute.corpus as corpus
    from bandprint.errors import BandprintError

    monkeypatch.delenv(corpus.CORPUS_ENV, raising=False)
    assert corpus.corpus_dir() == BANDS
    # Installed from a wheel: the module sits in site-packages, with no corpus beside it.
    fake = tmp_path / "site-packages" / "bandprint" / "compute" / "corpus.py"
    monkeypatch.setattr(corpus, "__file__", str(fake))
    assert corpus.corpus_dir() is None
    # An explicit folder wins, and must hold band structures.
    monkeypatch.setenv(corpus.CORPUS_ENV, str(tmp_path))
    with pytest.raises(BandprintError, match=corpus.CORPUS_ENV):
        corpus.corpus_dir()
    one = sorted(BANDS.glob("*.json.gz"))[0]
    (tmp_path / one.name).write_bytes(one.read_bytes())
    assert corpus.corpus_dir() == tmp_path
