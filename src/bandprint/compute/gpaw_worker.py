"""Compute one band structure with GPAW: run as ``python gpaw_worker.py IN.json OUT.json``.

This file runs inside the Python that has GPAW (often Debian's ``/usr/bin/python3``, not
bandprint's environment), so it imports only the standard library, NumPy, ASE and GPAW.

IN: ``{"symbols", "positions" (Å), "cell" (Å), "pbc", "magmoms" (μB or null), "settings",
"path"}`` with settings ``basis, xc, h (Å), kpts [n1, n2, n3], smearing (eV), path_npoints,
maxiter, convergence`` and path ``kpts`` (fractional, this cell), ``special_points``,
``labelseq`` (``batch.band_path``). OUT: an ASE ``BandStructure.todict()``-style dictionary
(energies ``[spin, k, band]`` in eV, the path's fractional k-points, cell and special
points) plus the self-consistent Fermi level, magnetic moment, iteration count, GPAW version
and wall time. OUT is written to a temporary name and renamed, so it exists only when
complete. A failure writes ``{"error": "<one line>"}`` instead and exits 0; only a crash of
GPAW itself exits non-zero.
"""

import json
import os
import sys
import time


def main(inp: str, out: str) -> None:
    t0 = time.time()
    with open(inp) as fh:
        job = json.load(fh)
    try:
        result = compute(job)
    except Exception as exc:  # every GPAW failure becomes one line for the batch report
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if "KohnShamConvergence" in msg or "did not converge" in msg.lower():
            msg = "SCF did not converge: " + msg
        result = {"error": msg}
    result["wall_time_s"] = round(time.time() - t0, 2)
    tmp = out + ".part"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def compute(job: dict) -> dict:
    import numpy as np
    from ase import Atoms
    from gpaw import GPAW, FermiDirac, __version__

    s = job["settings"]
    atoms = Atoms(job["symbols"], positions=job["positions"], cell=job["cell"], pbc=job["pbc"])
    spin = job.get("magmoms") is not None
    if spin:
        atoms.set_initial_magnetic_moments(job["magmoms"])
    txt = job.get("log") or None
    calc = GPAW(
        mode="lcao",
        basis=s["basis"],
        xc=s["xc"],
        h=s["h"],
        kpts={"size": s["kpts"], "gamma": True},
        occupations=FermiDirac(s["smearing"]),
        spinpol=spin,
        maxiter=s["maxiter"],
        convergence=s["convergence"],
        txt=txt,
    )
    atoms.calc = calc
    atoms.get_potential_energy()
    efermi = float(calc.get_fermi_level())
    iterations = int(calc.get_number_of_iterations())
    magmom = float(calc.get_magnetic_moment()) if spin else 0.0

    # The path comes with the job, in this cell's fractional coordinates: ASE releases before
    # 3.23 (Debian's GPAW Python has 3.22) place the special points of a 2-D cell whose first
    # vector is not along x at the wrong k-points.
    path = job["path"]
    kpts = np.asarray(path["kpts"], dtype=float)
    bs_calc = calc.fixed_density(kpts=kpts, symmetry="off", txt=None)
    nspin = 2 if spin else 1
    energies = np.array(
        [[bs_calc.get_eigenvalues(kpt=k, spin=sp) for k in range(len(kpts))] for sp in range(nspin)]
    )  # [spin, k, band], eV
    return {
        "energies": np.round(energies, 4).tolist(),
        "efermi": efermi,
        "path": {
            "kpts": kpts.round(8).tolist(),
            "cell": np.asarray(atoms.cell).tolist(),
            "special_points": path["special_points"],
            "labelseq": path["labelseq"],
        },
        "magnetic_moment": magmom,
        "magmoms": (calc.get_magnetic_moments().round(3).tolist() if spin else None),
        "scf_iterations": iterations,
        "gpaw_version": __version__,
        "spin_polarized": spin,
    }


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
