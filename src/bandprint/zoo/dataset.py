"""Zoo samples: parameters → bands → Fermi level → ground truth, and the 2DMatPedia layout.

One module because it is one pipeline: each stage hands the next the same sample record, and
the files written (the table, the 2DMatPedia layout, the near-duplicate twins) are rows of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bandprint.bandstructure import BandGap, BandStructure
from bandprint.errors import BandprintError
from bandprint.zoo.families import FAMILIES, family_spec
from bandprint.zoo.lattices import PATH_KPOINTS

if TYPE_CHECKING:
    import pandas as pd

#: A band (or a band's piece on one segment) narrower than this (eV) is flat.
FLAT_BANDWIDTH = 0.1
#: Flat pieces count for the flat-band genome only within this distance of E_F (eV).
FLAT_WINDOW = 1.0
#: The flat-band genome's 0.5 eV strips over ±1 eV: (number, lower, upper) in eV from E_F.
STRIPS = ((1, 0.5, 1.0), (2, 0.0, 0.5), (3, -0.5, 0.0), (4, -1.0, -0.5))
#: A non-metal whose gap is below this (eV) is a semimetal (bands touching at E_F).
SEMIMETAL_GAP = 0.05
#: Bands this close to E_F (eV) touch it.
TOUCH_TOLERANCE = 1e-3
#: Gaps narrower than this (eV) are not chosen when a sample is meant to be an insulator.
MIN_INSULATING_GAP = 0.2
#: Classes drawn for samples (probabilities); unavailable ones fall back to a metal.
CLASS_WEIGHTS = {"metal": 0.4, "insulator": 0.4, "semimetal": 0.2}
#: Fraction of samples given an exchange splitting (spin-polarised, two spin channels).
SPIN_POLARISED_FRACTION = 0.1
#: Probability of a filled spectator band below and of an empty one above the lattice bands.
SPECTATOR_PROBABILITY = 0.5
DISCOVERY_PROCESS = "tight-binding zoo"


# -- ground truth ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FlatLevel:
    """An energy at which some band stays, at every k, within ``width`` (eV): a flat band,
    found through band crossings (sorted band indices would break it at every crossing)."""

    energy: float
    width: float
    degeneracy: int


def flat_levels(energies: np.ndarray, max_width: float = FLAT_BANDWIDTH) -> list[FlatLevel]:
    """Flat levels of ``energies [nk, nband]`` (one spin channel), lowest first.

    From each eigenvalue at the first k-point, follow the eigenvalue nearest to the level's
    centre at every k; the level is flat when those stay within ``max_width``. The degeneracy
    is the fewest eigenvalues inside the level at any k (dispersive bands passing through add
    only where they cross).
    """
    e = np.asarray(energies, dtype=float)
    rows = np.arange(len(e))[None, :]
    centre = np.unique(np.round(e[0], 9))
    for _ in range(3):
        idx = np.argmin(np.abs(e[None] - centre[:, None, None]), axis=2)
        nearest = e[rows, idx]
        lo, hi = nearest.min(axis=1), nearest.max(axis=1)
        centre = 0.5 * (lo + hi)
    found: list[FlatLevel] = []
    for c, a, b in zip(centre, lo, hi, strict=True):
        if b - a >= max_width:
            continue
        if any(abs(f.energy - c) < 1e-6 + 0.5 * max(f.width, b - a) for f in found):
            continue
        tol = 1e-6 + 1e-9 * abs(c)
        inside = ((e >= a - tol) & (e <= b + tol)).sum(axis=1)
        found.append(FlatLevel(float(c), float(b - a), int(inside.min())))
    return sorted(found, key=lambda f: f.energy)


def _strips(lo: float, hi: float) -> set[int]:
    """Strips that [lo, hi] touches; strips are [a, b) except the top one, [0.5, 1]."""
    top = max(b for _, _, b in STRIPS)
    return {n for n, a, b in STRIPS if (lo < b or (b == top and lo <= b)) and hi >= a}


def classify(bs: BandStructure, gap: BandGap | None = None) -> str:
    """``metal``: a band crosses E_F (``BandStructure.band_gap().is_metal``). ``semimetal``:
    none crosses, but bands touch E_F (an eigenvalue within ``TOUCH_TOLERANCE`` of it: Dirac
    points, a flat band at E_F) or the gap is below ``SEMIMETAL_GAP``. ``insulator``: the rest.

    On a discrete path a touching point's ``band_gap()`` is the energy step to the next
    k-point (pymatgen counts a level at E_F as conduction band), so touching, not the gap,
    decides.
    """
    gap = gap or bs.band_gap()
    if gap.is_metal:
        return "metal"
    touching = float(np.abs(bs.energies_relative).min()) <= TOUCH_TOLERANCE
    return "semimetal" if touching or gap.energy < SEMIMETAL_GAP else "insulator"


def band_truth(bs: BandStructure, max_width: float = FLAT_BANDWIDTH) -> dict[str, Any]:
    """Gap, class and flat bands of any band structure, from its energies.

    Flat bands over the whole path are ``flat_levels`` of each spin channel (energies relative
    to E_F). A segment counts as flat when a level narrower than ``max_width`` spans it within
    ±``FLAT_WINDOW`` of E_F; ``flat_strips`` lists the strips those pieces touch, and
    ``flat_pieces`` describes each (segment, spin, energy relative to E_F, width, and whether it
    is part of a band flat over the whole path).
    """
    gap = bs.band_gap()
    rel = bs.energies_relative
    whole_path = [flat_levels(rel[s], max_width) for s in range(bs.nspin)]
    levels = [lv for spin_levels in whole_path for lv in spin_levels]
    levels.sort(key=lambda lv: lv.energy)
    flat_segments, strips, described = 0, set(), []
    # Only bands that come within the window matter for the strips.
    window = (rel.max(axis=1) > -FLAT_WINDOW) & (rel.min(axis=1) < FLAT_WINDOW)
    for seg in bs.segments:
        pieces = [
            (s, lv)
            for s in range(bs.nspin)
            if window[s].any()
            for lv in flat_levels(rel[s, seg.start : seg.stop][:, window[s]], max_width)
            if abs(lv.energy) + lv.width / 2 <= FLAT_WINDOW
        ]
        if pieces:
            flat_segments += 1
        for s, lv in pieces:
            strips |= _strips(lv.energy - lv.width / 2, lv.energy + lv.width / 2)
            whole = any(
                abs(w.energy - lv.energy) <= 1e-6 + 0.5 * max(w.width, lv.width)
                for w in whole_path[s]
            )
            described.append(
                {
                    "segment": seg.name,
                    "spin": s,
                    "energy": round(lv.energy, 6),
                    "width": round(lv.width, 6),
                    "whole_path": whole,
                }
            )
    near = [lv for lv in levels if abs(lv.energy) <= FLAT_WINDOW]
    return {
        "electronic_class": classify(bs, gap),
        "is_metal": gap.is_metal,
        "band_gap": gap.energy,
        "gap_direct": gap.direct,
        "n_flat_bands": sum(lv.degeneracy for lv in levels),
        "flat_band_energies": [round(lv.energy, 6) for lv in levels],
        "flat_band_widths": [round(lv.width, 6) for lv in levels],
        "flat_band_degeneracies": [lv.degeneracy for lv in levels],
        "n_flat_bands_near_ef": sum(lv.degeneracy for lv in near),
        "has_flat_band_near_ef": bool(near),
        "n_segments": len(bs.segments),
        "n_flat_segments": flat_segments,
        "flat_strips": ",".join(str(n) for n in sorted(strips)),
        "flat_pieces": described,
    }


# -- Fermi level ----------------------------------------------------------------------------
def place_fermi(
    target: str, path_e: np.ndarray, mesh_e: np.ndarray, rng: np.random.Generator
) -> tuple[float, str]:
    """E_F for the wanted class from path and mesh energies ``[spin, k, band]``; returns the
    class it was placed for.

    Insulator: the middle of a gap of at least ``MIN_INSULATING_GAP`` between bands.
    Semimetal: an energy where bands touch with none passing through (Dirac points, flat
    bands touching dispersive ones). Metal, and the fallback when the wanted kind does not
    exist for these bands: fill a random number of mesh states.
    """
    both = np.concatenate([path_e, mesh_e], axis=1)
    lo = both.min(axis=1).ravel()
    hi = both.max(axis=1).ravel()
    if target == "insulator":
        order = np.argsort(lo)
        top = np.maximum.accumulate(hi[order])
        bottom = lo[order]
        gaps = [
            (top[i], bottom[i + 1])
            for i in range(len(order) - 1)
            if bottom[i + 1] - top[i] >= MIN_INSULATING_GAP
        ]
        if gaps:
            a, b = gaps[rng.integers(len(gaps))]
            return float(0.5 * (a + b)), "insulator"
    if target == "semimetal":
        tol = 1e-7 * float(hi.max() - lo.min())
        touching = [
            float(e)
            for e in hi
            if e < hi.max() - tol
            and np.any(np.abs(lo - e) < tol)
            and not np.any((lo < e - tol) & (hi > e + tol))
        ]
        if touching:
            return touching[rng.integers(len(touching))], "semimetal"
    states = np.sort(mesh_e.ravel())
    n = int(rng.integers(1, len(states)))
    return float(0.5 * (states[n - 1] + states[n])), "metal"


# -- samples --------------------------------------------------------------------------------
#: Space-group symbols of the numbers the families use.
SG_SYMBOL = {47: "Pmmm", 123: "P4/mmm", 164: "P-3m1", 187: "P-6m2", 191: "P6/mmm"}


def _sample_rng(seed: int, index: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def _spectators(rng: np.random.Generator, lo: float, hi: float) -> list[tuple[float, float]]:
    """Remote bands (centre, width) below and above the lattice bands, each with
    ``SPECTATOR_PROBABILITY``: dispersive (0.5…2.5 eV wide), 0.2…2.5 eV away."""
    bands = []
    for side in (-1.0, 1.0):
        if rng.random() < SPECTATOR_PROBABILITY:
            width = float(rng.uniform(0.5, 2.5))
            edge = lo if side < 0 else hi
            bands.append((edge + side * (float(rng.uniform(0.2, 2.5)) + width / 2), width))
    return bands


@dataclass
class _Sample:
    band_structure: BandStructure
    row: dict[str, Any]
    structure: dict[str, Any]


def _make_sample(
    family: str, index: int, seed: int, n_kpoints: int, with_structure: bool
) -> _Sample:
    spec = family_spec(family)
    rng = _sample_rng(seed, index)
    params, perturbation = spec.sample(rng)
    unit = spec.build(**params)
    kpath = unit.kpath(n_kpoints)
    kpts = kpath[0]
    k_all = np.concatenate([kpts[:, :2], unit.mesh()])
    unit_e = unit.eigenvalues(k_all)
    bandwidth = float(rng.uniform(1.5, 6.0))
    factor = bandwidth / float(np.ptp(unit_e))
    spectators = _spectators(rng, float(unit_e.min() * factor), float(unit_e.max() * factor))
    lattice = unit.scaled(factor).with_spectators(spectators)
    e = unit_e * factor
    if spectators:
        # Spectators hop only among themselves: their block of H is diagonal, so the bands
        # are the lattice's plus that diagonal (no second diagonalisation needed).
        h = lattice.hamiltonian(k_all)
        diag = np.real(np.diagonal(h, axis1=1, axis2=2))[:, unit.n_orbitals :]
        e = np.sort(np.concatenate([e, diag], axis=1), axis=1)
    path_e, mesh_e = e[None, : len(kpts)], e[None, len(kpts) :]
    exchange = 0.0
    if rng.random() < SPIN_POLARISED_FRACTION:
        exchange = float(rng.uniform(0.2, 1.5))
        path_e = np.concatenate([path_e - exchange / 2, path_e + exchange / 2])
        mesh_e = np.concatenate([mesh_e - exchange / 2, mesh_e + exchange / 2])
    names = list(CLASS_WEIGHTS)
    target = names[rng.choice(len(names), p=list(CLASS_WEIGHTS.values()))]
    efermi, placed = place_fermi(target, path_e, mesh_e, rng)
    efermi_abs = float(rng.uniform(-6.0, 1.0))
    electrons = (2.0 if exchange == 0 else 1.0) * float((mesh_e < efermi).sum()) / mesh_e.shape[1]
    material_id = f"{family}-{index:04d}"
    bs = lattice.band_structure(
        material_id,
        efermi=efermi_abs,
        n_kpoints=n_kpoints,
        energy_offset=efermi_abs - efermi,
        exchange_splitting=exchange,
        with_structure=with_structure,
        path_energies=e[: len(kpts)],
        kpath=kpath,
    )
    row: dict[str, Any] = {
        "material_id": material_id,
        "family": family,
        "formula": lattice.element,
        "sg_number": spec.sg_number,
        "crystal_system": spec.crystal_system,
        "point_group": spec.point_group,
        "n_sites": len(lattice.positions),
        "n_orbitals": unit.n_orbitals,
        "n_spectator_bands": len(spectators),
        "lattice_constant": float(params["a"]),
        "params": lattice.params,
        "spectators": [[c, w] for c, w in spectators],
        "perturbation": perturbation,
        "bandwidth": bandwidth,
        "spin_polarised": exchange != 0,
        "exchange_splitting": exchange,
        "efermi": efermi_abs,
        "energy_offset": efermi_abs - efermi,
        "electrons_per_cell": electrons,
        "target_class": placed,
        **band_truth(bs),
    }
    bs.metadata = {
        "database": "zoo",
        "is_2d": True,
        "discovery_process": DISCOVERY_PROCESS,
        **row,
    }
    return _Sample(bs, _table_row(row), lattice.structure_dict())


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in TRUTH_COLUMNS}
    for key in _JSON_COLUMNS:
        out[key] = json.dumps(out[key], sort_keys=True)
    return out


def sample_one(
    family: str, index: int, seed: int = 0, n_kpoints: int = PATH_KPOINTS
) -> BandStructure:
    """Sample ``index`` of the zoo with this seed; it depends only on (family, index, seed).

    Its ``metadata`` holds the ground truth (the ``TRUTH_COLUMNS``, lists and parameters as
    Python objects) plus ``database``, ``is_2d`` and ``discovery_process``.
    """
    return _make_sample(family, index, seed, n_kpoints, True).band_structure


def _family_cycle(n: int, families: Iterable[str] | None) -> list[str]:
    names = (
        [families]
        if isinstance(families, str)
        else (FAMILIES if families is None else list(families))
    )
    if not names:
        raise BandprintError("no lattice family chosen")
    for name in names:
        family_spec(name)
    return [names[i % len(names)] for i in range(n)]


def _iter_samples(
    n: int,
    seed: int,
    families: Iterable[str] | None,
    n_kpoints: int,
    progress: bool,
    with_structure: bool,
) -> Iterator[_Sample]:
    if n < 0:
        raise BandprintError(f"number of samples must be ≥ 0, got {n}")
    cycle = _family_cycle(n, families)
    indices: Iterable[int] = range(n)
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, total=n, unit="sample", desc="zoo")
    for i in indices:
        yield _make_sample(cycle[i], i, seed, n_kpoints, with_structure)


def sample_zoo(
    n: int,
    seed: int = 0,
    families: Iterable[str] | None = None,
    n_kpoints: int = PATH_KPOINTS,
    progress: bool = False,
    with_structure: bool = True,
) -> list[BandStructure]:
    """``n`` zoo band structures, families in turn (``families`` picks and orders them).

    Sample ``i`` is ``sample_one(families[i % len(families)], i, seed)``: the first ``m`` of
    ``n`` samples are the ``m`` samples, whatever ``n`` is. Ground truth is in ``metadata``;
    ``ground_truth_table`` makes the table.
    """
    return [
        s.band_structure
        for s in _iter_samples(n, seed, families, n_kpoints, progress, with_structure)
    ]


#: Columns of the ground-truth table (``ground_truth.csv``), in order.
TRUTH_COLUMNS = [
    "material_id",
    "family",
    "formula",
    "sg_number",
    "crystal_system",
    "point_group",
    "n_sites",
    "n_orbitals",
    "n_spectator_bands",
    "lattice_constant",
    "params",
    "spectators",
    "perturbation",
    "bandwidth",
    "spin_polarised",
    "exchange_splitting",
    "efermi",
    "energy_offset",
    "electrons_per_cell",
    "target_class",
    "electronic_class",
    "is_metal",
    "band_gap",
    "gap_direct",
    "n_flat_bands",
    "flat_band_energies",
    "flat_band_widths",
    "flat_band_degeneracies",
    "n_flat_bands_near_ef",
    "has_flat_band_near_ef",
    "n_segments",
    "n_flat_segments",
    "flat_strips",
    "flat_pieces",
]
#: Columns holding JSON text in the table (lists, the parameter dict).
_JSON_COLUMNS = (
    "params",
    "spectators",
    "flat_band_energies",
    "flat_band_widths",
    "flat_band_degeneracies",
    "flat_pieces",
)


def ground_truth_table(band_structures: Iterable[BandStructure]) -> pd.DataFrame:
    """The ground-truth table of zoo samples: one row each, ``TRUTH_COLUMNS``; list and dict
    columns as JSON text (as in ``ground_truth.csv``)."""
    import pandas as pd

    rows = []
    for bs in band_structures:
        missing = [k for k in TRUTH_COLUMNS if k not in bs.metadata]
        if missing:
            raise BandprintError(f"{bs.material_id}: not a zoo sample (no {missing[0]!r})")
        rows.append(_table_row(bs.metadata))
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


# -- writing the 2DMatPedia layout ----------------------------------------------------------
def db_row(row: dict[str, Any], structure: dict[str, Any]) -> dict[str, Any]:
    """The 2DMatPedia ``db.json`` line for one sample."""
    return {
        "material_id": row["material_id"],
        "formula_pretty": row["formula"],
        "sg_number": row["sg_number"],
        "sg_symbol": SG_SYMBOL[row["sg_number"]],
        "bandgap": row["band_gap"],
        "is_gap_direct": row["gap_direct"],
        "spacegroup": {
            "crystal_system": row["crystal_system"],
            "point_group": row["point_group"],
            "number": row["sg_number"],
            "symbol": SG_SYMBOL[row["sg_number"]],
        },
        "discovery_process": DISCOVERY_PROCESS,
        "structure": structure,
    }


def write_zoo(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    families: Iterable[str] | None = None,
    n_kpoints: int = PATH_KPOINTS,
    progress: bool = False,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write ``n`` samples in the 2DMatPedia layout and return the ground-truth table.

    ``out_dir/db.json`` (JSON lines with the structure), ``out_dir/bands/<material_id>.json``
    (pymatgen ``BandStructureSymmLine`` dictionaries), ``out_dir/ground_truth.csv`` and
    ``out_dir/ground_truth.parquet``. A folder that already holds a dataset is refused unless
    ``overwrite``, which first removes the ``.json`` files in ``bands/`` (so no band file of
    the earlier run is left without its db.json row).
    """
    import orjson
    import pandas as pd

    _family_cycle(0, families)
    out = Path(out_dir)
    bands = out / "bands"
    if (out / "db.json").exists() or (bands.is_dir() and any(bands.iterdir())):
        if not overwrite:
            raise BandprintError(
                f"{out}: already holds a dataset (db.json or bands/); choose another folder "
                "or overwrite it (--force)"
            )
        if bands.is_dir():
            for f in bands.glob("*.json"):
                f.unlink()
    try:
        bands.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BandprintError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
    if not bands.is_dir():
        raise BandprintError(f"{bands}: exists and is not a folder")
    rows = []
    with open(out / "db.json", "wb") as db:
        for s in _iter_samples(n, seed, families, n_kpoints, progress, with_structure=False):
            mid = s.row["material_id"]
            (bands / f"{mid}.json").write_bytes(orjson.dumps(s.band_structure.to_pymatgen_dict()))
            db.write(orjson.dumps(db_row(s.row, s.structure)) + b"\n")
            rows.append(s.row)
    table = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    table.to_csv(out / "ground_truth.csv", index=False)
    table.to_parquet(out / "ground_truth.parquet", index=False)
    return table


def read_ground_truth(path: str | Path) -> pd.DataFrame:
    """A ground-truth table written by ``write_zoo`` (the folder, the .csv or the .parquet)."""
    import pandas as pd

    p = Path(path)
    if p.is_dir():
        p = (
            p / "ground_truth.parquet"
            if (p / "ground_truth.parquet").is_file()
            else p / ("ground_truth.csv")
        )
    if not p.is_file():
        raise BandprintError(f"{p}: no ground-truth table here")
    if p.suffix == ".parquet":
        return pd.read_parquet(p)
    return pd.read_csv(p, keep_default_na=False, dtype={"flat_strips": str})


def near_duplicate(
    bs: BandStructure,
    rng: np.random.Generator,
    strain: float = 0.02,
    energy_scale: float = 0.03,
    suffix: str = "-dup",
) -> BandStructure:
    """A copy of ``bs`` as a database would hold the same material after a small distortion.

    The lattice is strained uniformly by up to ``strain`` (so k-distances shrink or grow by
    the same factor), band energies relative to E_F are stretched by up to ``energy_scale``,
    and a smooth random ripple of a few meV is added along the path. Works for any band
    structure, real or zoo. The picture the autoencoder sees does not change with a uniform
    strain (the renderer lays the path across the full width whatever its length), so what
    sets a copy apart in its fingerprint is the energy stretch and the ripple.
    """
    s = 1.0 + float(rng.uniform(-strain, strain))
    stretch = 1.0 + float(rng.uniform(-energy_scale, energy_scale))
    x = np.linspace(0.0, 2.0 * np.pi, bs.nkpoints)
    ripple = 0.005 * np.sin(x * rng.integers(1, 4) + rng.uniform(0, 2 * np.pi))
    energies = bs.efermi + (bs.energies - bs.efermi) * stretch + ripple[None, :, None]
    meta = dict(bs.metadata)
    meta["duplicate_of"] = bs.material_id
    return BandStructure(
        material_id=bs.material_id + suffix,
        energies=energies,
        efermi=bs.efermi,
        distances=bs.distances / s,
        segments=list(bs.segments),
        kpoints=bs.kpoints,
        reciprocal_lattice=None if bs.reciprocal_lattice is None else bs.reciprocal_lattice / s,
        formula=bs.formula,
        source=None,
        source_format=bs.source_format,
        structure=None if bs.structure is None else _strained(bs.structure, s),
        metadata=meta,
    )


def perturbed_twin(
    bs: BandStructure, rng: np.random.Generator, change: float = 0.03, suffix: str = "-twin"
) -> BandStructure:
    """The same tight-binding model with every parameter (hoppings, on-site energies, lattice
    constant) changed independently by up to ±``change`` relative, rediagonalised: what two
    database entries of one material computed with slightly different settings look like.
    Unlike ``near_duplicate`` the bands change shape, not only scale. Zero parameters stay
    zero, so an ideal flat-band lattice keeps its flat band. Needs a zoo sample (``sample_zoo``
    metadata: family, params, spectators, energy offset, exchange splitting); E_F is kept.
    """
    meta = bs.metadata
    need = ("family", "params", "spectators", "energy_offset", "exchange_splitting")
    missing = [k for k in need if k not in meta]
    if missing:
        raise BandprintError(f"{bs.material_id}: not a zoo sample (no {missing[0]!r})")
    from bandprint.zoo.families import make_lattice

    params = {
        k: v * (1.0 + float(rng.uniform(-change, change))) if isinstance(v, float) else v
        for k, v in meta["params"].items()
    }
    lattice = make_lattice(meta["family"], **params).with_spectators(meta["spectators"])
    twin = lattice.band_structure(
        bs.material_id + suffix,
        efermi=bs.efermi,
        n_kpoints=bs.nkpoints,
        energy_offset=meta["energy_offset"],
        exchange_splitting=meta["exchange_splitting"],
        with_structure=bs.structure is not None,
        metadata={**meta, "params": params, "duplicate_of": bs.material_id},
    )
    twin.formula = bs.formula
    return twin


def _strained(structure: Any, s: float) -> Any:
    strained = structure.copy()
    strained.scale_lattice(structure.volume * s**3)
    return strained


def write_near_duplicates(out_dir: str | Path, n: int, seed: int = 0) -> pd.DataFrame:
    """Plant ``n`` near-duplicates of random materials of a zoo folder written by ``write_zoo``.

    Each ``<id>-dup`` goes into ``bands/`` and ``db.json`` beside its original (same formula);
    ``duplicates.csv`` lists ``material_id, duplicate_of`` so duplicate detection can be scored.
    """
    import orjson
    import pandas as pd

    from bandprint.read import read_band_structure

    out = Path(out_dir)
    db_path = out / "db.json"
    if not db_path.is_file():
        raise BandprintError(f"{out}: no db.json, write a zoo there first")
    rows = [orjson.loads(line) for line in db_path.read_bytes().splitlines() if line.strip()]
    originals = [r for r in rows if not str(r["material_id"]).endswith("-dup")]
    rng = np.random.default_rng([seed, 7919])
    picks = rng.choice(len(originals), size=min(n, len(originals)), replace=False)
    pairs = []
    with open(db_path, "ab") as db:
        for i in sorted(picks):
            row = originals[int(i)]
            mid = str(row["material_id"])
            original = read_band_structure(out / "bands" / f"{mid}.json")
            dup = near_duplicate(original, rng)
            (out / "bands" / f"{dup.material_id}.json").write_bytes(
                orjson.dumps(dup.to_pymatgen_dict())
            )
            db.write(orjson.dumps({**row, "material_id": dup.material_id}) + b"\n")
            pairs.append({"material_id": dup.material_id, "duplicate_of": mid})
    table = pd.DataFrame(pairs, columns=["material_id", "duplicate_of"])
    table.to_csv(out / "duplicates.csv", index=False)
    return table
