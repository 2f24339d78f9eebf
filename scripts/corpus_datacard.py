"""Write the data card of the GPAW corpus, ``corpus/gpaw-2d/README.md``, from the corpus itself.

    python scripts/corpus_datacard.py

Every count, time and flat-band figure in the card comes from the files in
``corpus/gpaw-2d/`` (band structures, ``structures.jsonl``, ``bands/failures.csv``), so
rerunning this after more materials are computed brings the card up to date.
"""

from __future__ import annotations

import collections
import csv
import gzip
from pathlib import Path

import orjson

from bandprint.analyse.flatbands import detect_flat_bands
from bandprint.bandstructure import BandStructure
from bandprint.compute.prototypes import PROTOTYPES, candidates

ROOT = Path(__file__).resolve().parents[1] / "corpus" / "gpaw-2d"


def main() -> None:
    files = sorted((ROOT / "bands").glob("*.json.gz"))
    bands = [BandStructure.from_dict(orjson.loads(gzip.decompress(f.read_bytes()))) for f in files]
    failures = []
    if (ROOT / "bands" / "failures.csv").exists():
        with open(ROOT / "bands" / "failures.csv", newline="") as fh:
            failures = list(csv.DictReader(fh))
    base = [b for b in bands if "twin_of" not in b.metadata]
    twins = [b for b in bands if "twin_of" in b.metadata]
    per_proto: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for b in bands:
        kind = b.metadata.get("twin_kind", "material")
        per_proto[b.metadata["prototype"]][kind] += 1
    for f in failures:
        proto = f["material_id"].split("_")[0]
        per_proto[proto]["failed"] += 1
    wall = sum(float(b.metadata.get("wall_time_s") or 0) for b in bands)
    magnetic = sum(b.metadata.get("magnetic_state") == "ferromagnetic" for b in bands)
    spin = sum(bool(b.metadata.get("spin_polarized")) for b in bands)
    n_candidates = len(candidates())

    flat_rows = []
    for b in base:
        r = detect_flat_bands(b)
        flat_rows.append(
            (
                b.metadata["prototype"],
                b.material_id,
                r.is_flat,
                r.n_flat_segments,
                r.plane_flat,
                r.plane_flat_energy,
                r.strips,
            )
        )
    flat_by_proto = collections.defaultdict(list)
    for proto, mid, is_flat, nflat, plane, energy, strips in flat_rows:
        if nflat:
            flat_by_proto[proto].append((mid, is_flat, nflat, plane, energy, strips))

    lines = [
        "# bandprint GPAW corpus of 2-D materials: data card",
        "",
        "PBE band structures of two-dimensional monolayers, computed on this project's machines "
        "with GPAW by `bandprint compute`. Licence: **CC BY 4.0** (cite bandprint).",
        "",
        "## How it was made",
        "- **Structures**: `bandprint.compute.prototypes`: 25 monolayer prototypes × chemically "
        "sensible substitutions (start geometry from covalent radii), relaxed with CHGNet 0.3.0 "
        "(in-plane cell and positions, fmax 0.05 eV/Å, the start geometry's space group kept "
        "with ASE's `FixSymmetry`; `bandprint.compute.relax`); 15 Å of "
        "vacuum along an orthogonal c. The relaxed structures are `structures.jsonl` (a "
        "prototype table `bandprint compute` reads). Lattice rule vs experiment: "
        "`python bench/bench_lattice_constants.py` (BENCHMARKS.md).",
        "- **Reserved for independent evaluation, never computed**: buckled As/Sb/Bi/blue P; "
        "planar ZnO/BeO/MgO; 2H CrS2/CrSe2/WTe2; litharge SnO/PbO; bare Ti2C/V2C/Nb2C/Zr2C; "
        "InS, GaTe; 1T MgI2/CaI2/CdBr2/ZrTe2/HfTe2/PdSe2/NiSe2 "
        "(`bandprint.compute.prototypes.RESERVED`).",
        "- **DFT**: GPAW (Debian 22.8), PBE, LCAO `dzp` basis, grid spacing 0.25 Å, "
        "Fermi–Dirac 0.05 eV, Γ-centred Monkhorst–Pack mesh of max(3, ⌈|b|/0.4 Å⁻¹⌉) per "
        "in-plane reciprocal vector, 1 along the vacuum; then the 2-D high-symmetry path of the "
        "cell's lattice (ASE 3.29's `bandpath` in bandprint's environment, 80 points; "
        "every labelled k-point checked to be the special point it names, "
        "`tests/test_corpus.py`) non-self-consistently. Spin-polarised "
        "from a ferromagnetic start where V, Cr, Mn, Fe, Co or Ni is present; both spins kept. "
        "Every file records its settings, GPAW version, magnetic moment, SCF iterations and "
        "wall time in its metadata.",
        "- **Twins** (ground truth for duplicate and twin tests), among the first 330 "
        "materials: every third has a *settings twin* `<id>--settings` (single-zeta "
        "`szp(dzp)`, 1.5× coarser k-mesh, 0.1 eV smearing: the same material as another "
        "database would compute it) and every third a *strain twin* `<id>--strain1|2` (in-plane "
        "lattice +1 % or +2 %). Twins carry `twin_of` and `twin_kind`.",
        "- **Files**: `bands/<id>.json.gz`, bandprint's own band-structure JSON (energies in eV "
        "rounded to 0.1 meV, structure, metadata); `bandprint ingest corpus/gpaw-2d/bands "
        "--into WS` reads them like any database. `bands/failures.csv` lists every failure "
        "with its reason.",
        "",
        "## Rebuild",
        "```bash",
        "python scripts/build_corpus.py --workers 2      # resumable: skips what is done",
        "python scripts/corpus_datacard.py              # this card, from the files",
        "```",
        "",
        "## Counts",
        f"- **{len(base)} materials** computed of {n_candidates} candidates, "
        f"**{len({b.metadata['prototype'] for b in base})} prototypes** of {len(PROTOTYPES)}; "
        f"{sum(b.metadata.get('twin_kind') == 'settings' for b in twins)} settings twins, "
        f"{sum(b.metadata.get('twin_kind') == 'strain' for b in twins)} strain twins; "
        f"{len(failures)} failures.",
        f"- {spin} computed spin-polarised, {magnetic} of them ferromagnetic "
        "(|moment| ≥ 0.1 μB per cell).",
        f"- Wall time of the GPAW runs: {wall / 3600:.2f} h on one core each "
        f"(**{len(bands) / max(wall / 3600, 1e-9):.0f} band structures per CPU-hour**, "
        "on a shared 2-core machine; CHGNet relaxation not included).",
        "",
        "| prototype | materials | settings twins | strain twins | failed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for proto in PROTOTYPES:
        c = per_proto.get(proto, collections.Counter())
        lines.append(
            f"| {proto} | {c['material']} | {c['settings']} | {c['strain']} | {c['failed']} |"
        )
    if failures:
        lines += ["", "## Failures", "", "| material | reason |", "| --- | --- |"]
        lines += [f"| {f['material_id']} | {f['reason']} |" for f in failures]
    lines += [
        "",
        "## Flat bands near E_F (eigenvalue detector, ±1 eV, 0.1 eV threshold)",
        "",
        f"{sum(r[2] for r in flat_rows)} of {len(flat_rows)} materials are flagged flat (every "
        f"segment flat); {sum(r[3] > 0 for r in flat_rows)} have at least one flat block; "
        f"{sum(r[4] for r in flat_rows)} have a level flat along the whole path.",
        "",
        "| prototype | materials with flat blocks | flagged flat | flat along the whole path "
        "(energy − E_F, eV) |",
        "| --- | --- | --- | --- |",
    ]
    for proto in PROTOTYPES:
        rows = flat_by_proto.get(proto, [])
        if not rows:
            continue
        plane = ", ".join(f"{m.split('_', 1)[1]} ({e:+.2f})" for m, _, _, p, e, _ in rows if p)
        lines.append(f"| {proto} | {len(rows)} | {sum(r[1] for r in rows)} | {plane or '—'} |")
    (ROOT / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {ROOT / 'README.md'}: {len(base)} materials, {len(twins)} twins")


if __name__ == "__main__":
    main()
