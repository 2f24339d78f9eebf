"""Helpers for the reader tests: compare a bandprint band structure with pymatgen's view."""

from __future__ import annotations

from typing import Any

import numpy as np

from bandprint.bandstructure import BandStructure, normalize_label


def kpoint_labels(bs: BandStructure) -> dict[int, str]:
    """k-point index → label, as the segments record them."""
    out: dict[int, str] = {}
    for s in bs.segments:
        for idx, lab in ((s.start, s.start_label), (s.stop - 1, s.end_label)):
            if lab:
                out[idx] = lab
    return out


def pymatgen_kpoint_labels(pmg: Any) -> dict[int, str]:
    """k-point index → label of a pymatgen ``BandStructureSymmLine``."""
    return {i: normalize_label(k.label) for i, k in enumerate(pmg.kpoints) if k.label}


def assert_matches_pymatgen(bs: BandStructure, pmg: Any) -> None:
    """Band count, k-points, Fermi level, spin, labels, energies, distances and gap agree."""
    from pymatgen.electronic_structure.core import Spin

    assert bs.nbands == pmg.nb_bands
    assert bs.nkpoints == len(pmg.kpoints)
    assert bs.efermi == pmg.efermi
    assert bs.is_spin_polarized == pmg.is_spin_polarized
    assert kpoint_labels(bs) == pymatgen_kpoint_labels(pmg)
    np.testing.assert_allclose(bs.kpoints, [k.frac_coords for k in pmg.kpoints], atol=1e-12)
    np.testing.assert_allclose(bs.energies[0], pmg.bands[Spin.up].T, atol=1e-12)
    if bs.is_spin_polarized:
        np.testing.assert_allclose(bs.energies[1], pmg.bands[Spin.down].T, atol=1e-12)
    np.testing.assert_allclose(bs.distances, pmg.distance, atol=1e-9)
    np.testing.assert_allclose(bs.reciprocal_lattice, pmg.lattice_rec.matrix, atol=1e-9)
    gap = pmg.get_band_gap()
    assert bs.band_gap().is_metal == pmg.is_metal()
    assert abs(bs.band_gap().energy - gap["energy"]) < 1e-9
    if not pmg.is_metal():
        assert bs.band_gap().direct == gap["direct"]
