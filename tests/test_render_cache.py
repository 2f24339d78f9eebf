"""The caches behind drawing a material on its canonical path (``kpath``): a bulk structure's
symmetry analysis is done once per structure, and never reused for another structure."""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from bandprint import kpath


def test_bulk_spec_cached_by_structure_content() -> None:
    cubic = Lattice.cubic(4.0)
    # One lattice, two crystals: four atoms at the FCC positions make it face-centred cubic,
    # one atom simple cubic. A cache keyed by the lattice alone would mix them up.
    fcc = Structure(cubic, ["Cu"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    sc = Structure(cubic, ["Cu"], [[0, 0, 0]])
    a = kpath.kpath_spec(structure=fcc, two_d=False)
    b = kpath.kpath_spec(structure=sc, two_d=False)
    assert (a.lattice_type, b.lattice_type) == ("FCC", "CUB")
    # Read back from a file (positions written to 1e-9 and wrapped): the same entry.
    again = Structure(cubic, ["Cu"] * 4, np.array(fcc.frac_coords) + 1.0 - 1e-9)
    assert kpath.kpath_spec(structure=again, two_d=False) is a
    # The same cell with another species is another crystal to the analysis.
    assert kpath.kpath_spec(structure=Structure(cubic, ["Ag"], [[0, 0, 0]]), two_d=False) is not b


def test_labels_at_many_matches_one_at_a_time() -> None:
    spec = kpath.kpath_spec(structure=Structure(Lattice.cubic(4.0), ["Cu"], [[0, 0, 0]]))
    ks = np.array([[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0.5, 0.5, 0.5], [0.1, 0.2, 0.3]])
    many = spec.labels_at_many(ks)
    assert many == [spec.labels_at(k) for k in ks]
    assert many == [["Γ"], ["X"], ["X"], ["R"], []]
