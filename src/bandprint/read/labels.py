"""Labels for paths given only by coordinates (Quantum ESPRESSO, VASP zero-weight lists).

``infer_labels`` names each k-point that is a special point of the crystal (any image under its
point group, time reversal and reciprocal-lattice translations) with ``bandprint.kpath``: the
Setyawan–Curtarolo points for bulk cells, the 2-D lattice's points for slabs. ``turning_points``
finds where a path starts, ends, turns or jumps: the only places a reader puts labels, so that a
straight line through a special point is not split there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bandprint.kpath import kpath_spec

if TYPE_CHECKING:
    from pymatgen.core import Structure


def infer_labels(kpoints: np.ndarray, structure: Structure) -> list[str | None]:
    """The special-point label of each fractional k-point of ``structure``'s cell, or None."""
    spec = kpath_spec(structure=structure)
    return spec.labels_of(np.asarray(kpoints, dtype=np.float64))


def turning_points(kpoints: np.ndarray, tol: float = 1e-6) -> list[int]:
    """Indices where a k-path starts, ends, changes direction or jumps: where labels belong.

    A jump (two consecutive k-points much further apart than their neighbours) yields both
    of its ends.
    """
    k = np.asarray(kpoints, dtype=np.float64)
    n = len(k)
    if n < 2:
        return list(range(n))
    steps = np.diff(k, axis=0)
    lengths = np.linalg.norm(steps, axis=1)
    out = {0, n - 1}
    typical = float(np.median(lengths[lengths > tol])) if (lengths > tol).any() else 0.0
    for i in range(1, n - 1):
        a, b = steps[i - 1], steps[i]
        la, lb = lengths[i - 1], lengths[i]
        if la < tol or lb < tol:  # a repeated point: the end of one line and the start of the next
            out.add(i)
            continue
        if np.linalg.norm(np.cross(a / la, b / lb)) > 1e-3 or np.dot(a, b) < 0:
            out.add(i)
        if typical and lb > 3 * typical:
            out.update((i, i + 1))
    return sorted(out)
