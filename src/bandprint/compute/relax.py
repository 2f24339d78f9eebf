"""Relax a 2-D slab's in-plane lattice and atomic positions with CHGNet.

CHGNet (Deng et al., *Nat. Mach. Intell.* 5, 1031, 2023) is a universal machine-learned
potential trained on Materials Project PBE(+U) relaxations; its weights ship inside its pip
package (``pip install 'bandprint[compute]'``), so nothing is downloaded. Only the in-plane
cell vectors relax (the vacuum axis is held), then the vacuum is reset to
:data:`~bandprint.compute.prototypes.VACUUM`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ase import Atoms

from bandprint.compute.prototypes import VACUUM
from bandprint.errors import BandprintError

#: Force threshold of the relaxation (eV/Å) and its step limit.
FMAX = 0.05
MAX_STEPS = 300
#: Tolerance (Å) of the start geometry's symmetry that the relaxation keeps.
SYMPREC = 1e-3


@dataclass(frozen=True)
class Relaxed:
    atoms: Atoms
    energy_per_atom: float  # eV/atom, CHGNet's
    steps: int
    converged: bool


@lru_cache(maxsize=1)
def _calculator():
    try:
        from chgnet.model import CHGNet, CHGNetCalculator
    except ImportError:
        raise BandprintError(
            "CHGNet is not installed: pip install 'bandprint[compute]' (or chgnet==0.4.2)"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CHGNet.load(verbose=False)
    return CHGNetCalculator(model=model, use_device="cpu", on_isolated_atoms="ignore")


def reset_vacuum(atoms: Atoms, vacuum: float = VACUUM) -> Atoms:
    """The slab recentred along the third (orthogonal) axis with ``vacuum`` Å between images."""
    atoms = atoms.copy()
    z = atoms.positions[:, 2]
    thickness = z.max() - z.min()
    cell = atoms.cell.array.copy()
    cell[2] = [0.0, 0.0, thickness + vacuum]
    atoms.set_cell(cell, scale_atoms=False)
    atoms.positions[:, 2] += vacuum / 2 - z.min()
    atoms.pbc = [True, True, False]
    return atoms


def relax_slab(atoms: Atoms, fmax: float = FMAX, steps: int = MAX_STEPS) -> Relaxed:
    """Relax positions and the in-plane lattice of a slab whose third axis is out of plane,
    keeping the start geometry's space group (ASE's ``FixSymmetry``, tolerance
    ``SYMPREC`` Å): a prototype is relaxed within its symmetry, as databases such as C2DB do;
    without it, numerical noise in the stress can shear a square cell into a rhombic one."""
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    work = atoms.copy()
    work.pbc = True  # CHGNet needs a periodic cell; the vacuum keeps the layers apart
    work.set_constraint(FixSymmetry(work, symprec=SYMPREC))
    work.calc = _calculator()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filt = FrechetCellFilter(work, mask=[1, 1, 0, 0, 0, 1])
        opt = FIRE(filt, logfile=None)
        converged = bool(opt.run(fmax=fmax, steps=steps))
        energy = float(work.get_potential_energy()) / len(work)
    out = reset_vacuum(work)
    return Relaxed(out, energy, int(opt.nsteps), converged)


def sane(atoms: Atoms, min_ratio: float = 0.6) -> str | None:
    """Why a relaxed slab is unphysical (atoms too close, layer torn apart), or None."""
    from ase.data import covalent_radii
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, 6.0)
    r = covalent_radii[atoms.numbers]
    if len(d) and (d / (r[i] + r[j])).min() < min_ratio:
        return "atoms closer than 0.6 × the sum of their covalent radii after relaxation"
    # every atom keeps at least one bonded neighbour (1.3 × radii): no atom left floating
    bonded = np.zeros(len(atoms), bool)
    bonded[i[d < 1.3 * (r[i] + r[j])]] = True
    if not bonded.all():
        return "an atom lost all its bonds during relaxation"
    return None
