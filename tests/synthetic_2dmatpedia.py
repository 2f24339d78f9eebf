"""Synthetic inputs in the 2DMatPedia download layout, for ingest tests and the benchmark.

``write_2dmatpedia(root, n)`` writes ``root/db.json`` (JSON lines with a pymatgen structure and
the usual database fields) and ``root/bands/2dm-<i>.json`` (``BandStructure.to_pymatgen_dict()``
of a hexagonal Γ–M–K–Γ band structure). Sizes default to those of real 2DMatPedia entries:
about 30 bands and 150 k-points. Deterministic for a seed.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import orjson

from bandprint.bandstructure import BandStructure, path_distances, segments_from_labels


def hexagonal_band_structure(
    material_id: str,
    rng: np.random.Generator,
    nbands: int = 30,
    points_per_segment: int = 50,
    nspin: int = 1,
    a: float = 3.2,
) -> BandStructure:
    """A smooth, band-structure-like set of energies on the Γ–M–K–Γ path of a hexagonal cell."""
    c = 20.0  # vacuum, as in a 2-D slab
    lattice = np.array([[a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]])
    rec = 2 * np.pi * np.linalg.inv(lattice).T
    corners = [("Γ", [0, 0, 0]), ("M", [0.5, 0, 0]), ("K", [1 / 3, 1 / 3, 0]), ("Γ", [0, 0, 0])]
    kpts, labels = [], []
    for (la, ka), (lb, kb) in itertools.pairwise(corners):
        t = np.linspace(0, 1, points_per_segment)[:, None]
        kpts.append(np.asarray(ka) + t * (np.asarray(kb) - np.asarray(ka)))
        labels += [la] + [None] * (points_per_segment - 2) + [lb]
    kpoints = np.vstack(kpts)
    cart = kpoints @ rec
    # Each band: a centre energy plus a few plane-wave terms, so bands disperse and cross.
    centres = np.sort(rng.uniform(-12, 10, nbands))
    g = rng.normal(size=(nbands, 4, 3)) * np.array([a, a, 0]) / 2
    amp = rng.uniform(0.05, 1.2, size=(nbands, 4))
    energies = np.empty((nspin, len(kpoints), nbands))
    for s in range(nspin):
        phase = np.cos(np.einsum("kx,btx->kbt", cart, g) + s * 0.3)
        energies[s] = centres + (phase * amp).sum(axis=2) + s * rng.uniform(0.1, 0.5)
    return BandStructure(
        material_id=material_id,
        energies=energies,
        efermi=float(rng.uniform(-1, 1)),
        distances=path_distances(cart, labels),
        segments=segments_from_labels(labels),
        kpoints=kpoints,
        reciprocal_lattice=rec,
        source_format="2dmatpedia",
    )


def _structure_dict(a: float, rng: np.random.Generator) -> dict:
    """A MoS2-like three-atom hexagonal slab as pymatgen ``Structure.as_dict()`` writes it."""
    c = 20.0
    matrix = [[a, 0.0, 0.0], [-a / 2, float(a * np.sqrt(3) / 2), 0.0], [0.0, 0.0, c]]
    dz = float(rng.uniform(0.07, 0.09))
    species = [
        ("Mo", [1 / 3, 2 / 3, 0.5]),
        ("S", [2 / 3, 1 / 3, 0.5 + dz]),
        ("S", [2 / 3, 1 / 3, 0.5 - dz]),
    ]
    m = np.array(matrix)
    sites = [
        {
            "species": [{"element": el, "occu": 1}],
            "abc": abc,
            "xyz": (np.asarray(abc) @ m).tolist(),
            "label": el,
            "properties": {},
        }
        for el, abc in species
    ]
    return {
        "@module": "pymatgen.core.structure",
        "@class": "Structure",
        "charge": 0,
        "lattice": {"matrix": matrix, "pbc": [True, True, True]},
        "properties": {},
        "sites": sites,
    }


def write_2dmatpedia(
    root: str | Path,
    n: int,
    seed: int = 0,
    nbands: int = 30,
    points_per_segment: int = 50,
    spin_fraction: float = 0.1,
    start: int = 1,
) -> list[str]:
    """Write ``n`` materials in the 2DMatPedia layout under ``root``. Returns their ids."""
    root = Path(root)
    (root / "bands").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids, lines = [], []
    for i in range(start, start + n):
        mid = f"2dm-{i}"
        a = float(rng.uniform(2.8, 4.0))
        nspin = 2 if rng.random() < spin_fraction else 1
        bs = hexagonal_band_structure(mid, rng, nbands, points_per_segment, nspin, a)
        (root / "bands" / f"{mid}.json").write_bytes(orjson.dumps(bs.to_pymatgen_dict()))
        gap = bs.band_gap()
        lines.append(
            orjson.dumps(
                {
                    "material_id": mid,
                    "formula_pretty": "MoS2",
                    "sg_number": 187,
                    "sg_symbol": "P-6m2",
                    "spacegroup": {"crystal_system": "hexagonal", "point_group": "-6m2"},
                    "bandgap": gap.energy,
                    "is_gap_direct": gap.direct,
                    "discovery_process": "top-down",
                    "exfoliation_energy_per_atom": float(rng.uniform(0.02, 0.2)),
                    "decomposition_energy": float(rng.uniform(0, 0.3)),
                    "energy_per_atom": float(rng.uniform(-8, -5)),
                    "total_magnetization": 0.0 if nspin == 1 else float(rng.uniform(0.5, 3)),
                    "structure": _structure_dict(a, rng),
                }
            )
        )
        ids.append(mid)
    with open(root / "db.json", "ab") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    return ids
