"""How far the corpus's lattice rule (CHGNet relaxation of the prototype geometry) lands from
experiment: in-plane lattice constants of well-known 2-D materials against the measured bulk
in-plane constants of their layered parents.

    python bench/bench_lattice_constants.py

Prints a Markdown table (material, relaxed a, experimental a, relative error) and the mean
absolute relative error. Experimental values (Å), bulk, room temperature:
MoS2 3.160, MoSe2 3.288, WSe2 3.282 (Böker et al., PRB 64, 235305, 2001); WS2 3.153
(Schutte et al., J. Solid State Chem. 70, 207, 1987); graphite 2.464 (Trucano & Chen,
Nature 258, 136, 1975); h-BN 2.504 (Paszkowicz et al., Appl. Phys. A 75, 431, 2002);
black phosphorus a = 3.314 (zigzag), c = 4.376 (armchair) (Brown & Rundqvist, Acta Cryst.
19, 684, 1965); SnS2 3.649 (Hazen & Finger, Am. Mineral. 63, 289, 1978); HfS2 3.630 and
ZrS2 3.662 (Greenaway & Nitsche, J. Phys. Chem. Solids 26, 1445, 1965); GaS 3.587 and
GaSe 3.755 (Kuhn et al., Phys. Status Solidi A 31, 469, 1975); CrI3 6.867 (McGuire et al.,
Chem. Mater. 27, 612, 2015); FeSe 3.765 (Hsu et al., PNAS 105, 14262, 2008); Bi2Se3 4.138
(Nakajima, J. Phys. Chem. Solids 24, 479, 1963); TiS2 3.407 (Chianelli et al., J. Solid
State Chem. 14, 238, 1975).
"""

from __future__ import annotations

import time

import numpy as np

from bandprint.compute.prototypes import candidates
from bandprint.compute.relax import relax_slab

#: material id → (experimental in-plane constant(s), Å, in the order of the cell's a, b)
EXPERIMENT = {
    "2H-MX2_MoS2": [3.160],
    "2H-MX2_WS2": [3.153],
    "2H-MX2_MoSe2": [3.288],
    "2H-MX2_WSe2": [3.282],
    "planar-honeycomb_C": [2.464],
    "planar-honeycomb_BN": [2.504],
    "puckered-elemental_P": [3.314, 4.376],
    "1T-MX2_SnS2": [3.649],
    "1T-MX2_HfS2": [3.630],
    "1T-MX2_ZrS2": [3.662],
    "1T-MX2_TiS2": [3.407],
    "III-VI-M2X2_GaS": [3.587],
    "III-VI-M2X2_GaSe": [3.755],
    "MX3-honeycomb_CrI3": [6.867],
    "FeSe-type-MX_FeSe": [3.765],
    "Bi2Se3-quintuple_Bi2Se3": [4.138],
}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    by_id = {c.material_id: c for c in candidates()}
    rows, errors = [], []
    for mid, exp in EXPERIMENT.items():
        t0 = time.time()
        start = by_id[mid].atoms
        relaxed = relax_slab(start).atoms
        got = relaxed.cell.lengths()[: len(exp)]
        rel = (got - np.array(exp)) / np.array(exp)
        errors.extend(rel)
        rows.append(
            f"| {mid} | {' × '.join(f'{g:.3f}' for g in got)} | "
            f"{' × '.join(f'{e:.3f}' for e in exp)} | "
            f"{' / '.join(f'{100 * r:+.1f} %' for r in rel)} | "
            f"{start.cell.lengths()[0]:.3f} | {time.time() - t0:.1f} |"
        )
    print("| material | CHGNet a (Å) | experiment (Å) | error | radii start a (Å) | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    err = np.abs(errors)
    print(
        f"\nmean |error| {100 * err.mean():.2f} %, largest {100 * err.max():.2f} %, "
        f"{len(EXPERIMENT)} materials"
    )


if __name__ == "__main__":
    main()
