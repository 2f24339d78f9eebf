r"""Twins: one band structure written the ways different databases and codes write it.

Each function returns a copy of a band structure that differs from it only in a choice a
database or code makes, not in the physics: the order and direction of the path's segments,
the spelling of labels (or none), how densely a segment is sampled, where E_F sits inside the
gap, and whether a slab is flagged 2-D (with its vacuum along another lattice vector). The
tests and ``bench/bench_twins.py`` check that such twins draw the same picture and find each
other. Randomness comes only from the ``numpy`` generator passed in.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bandprint.bandstructure import BandStructure, Segment
from bandprint.errors import BandprintError

TWIN_KINDS = ("path", "labels", "density", "efermi", "slab")

_SPELLINGS = {"Γ": ("\\Gamma", "G", "GAMMA", "$\\Gamma$", "Gamma")}


def path_twin(bs: BandStructure, rng: np.random.Generator) -> BandStructure:
    """The segments in another order, each reversed with probability ½ (at least one
    segment moves or turns round)."""
    n = len(bs.segments)
    while True:
        order = rng.permutation(n).tolist()
        flips = (rng.random(n) < 0.5).tolist()
        if order != list(range(n)) or any(flips):
            break
    twin = bs.reordered([(i, bool(f)) for i, f in zip(order, flips, strict=True)])
    twin.material_id = bs.material_id + "-path"
    return twin


def _respell(label: str, rng: np.random.Generator) -> str:
    if label in _SPELLINGS:
        options = _SPELLINGS[label]
        return options[int(rng.integers(len(options)))]
    if label[-1:].isdigit():
        return f"{label[:-1]}_{label[-1]}" if rng.random() < 0.5 else f"{label[:-1]}$_{label[-1]}$"
    return f"${label}$" if rng.random() < 0.5 else label


def label_twin(bs: BandStructure, rng: np.random.Generator, blank: float = 0.3) -> BandStructure:
    """Every label spelt another way (``\\Gamma``, ``G``, ``GAMMA``; ``X_1``); with k-point
    coordinates, a fraction ``blank`` of segment ends loses its label altogether."""
    segs = []
    for s in bs.segments:
        labels = []
        for lab in (s.start_label, s.end_label):
            if (
                bs.kpoints is not None
                and bs.reciprocal_lattice is not None
                and rng.random() < blank
            ):
                labels.append("")
            else:
                labels.append(_respell(lab, rng) if lab else lab)
        segs.append(replace(s, start_label=labels[0], end_label=labels[1]))
    return replace(bs, material_id=bs.material_id + "-labels", segments=segs)


def density_twin(bs: BandStructure) -> BandStructure:
    """Every segment of five or more k-points sampled at every second k-point (its ends
    kept): the same path computed on a coarser grid."""
    keep: list[np.ndarray] = []
    segs, n = [], 0
    for s in bs.segments:
        idx = np.arange(s.start, s.stop)
        if idx.size >= 5:
            idx = np.unique(np.concatenate([idx[::2], idx[-1:]]))
        keep.append(idx)
        segs.append(Segment(n, n + idx.size, s.start_label, s.end_label))
        n += idx.size
    idx = np.concatenate(keep)
    return replace(
        bs,
        material_id=bs.material_id + "-density",
        energies=bs.energies[:, idx, :],
        distances=bs.distances[idx],
        kpoints=None if bs.kpoints is None else bs.kpoints[idx],
        segments=segs,
        metadata=dict(bs.metadata),
    )


def efermi_twin(bs: BandStructure, fraction: float) -> BandStructure:
    """E_F placed at ``fraction`` of the way from the VBM to the CBM (0 < fraction < 1).

    Raises ``BandprintError`` for a metal (its E_F is physics, not a choice)."""
    gap = bs.band_gap()
    if gap.is_metal or gap.vbm is None or gap.cbm is None:
        raise BandprintError(f"{bs.material_id}: a metal has no gap to move E_F in")
    if not 0.0 < fraction < 1.0:
        raise BandprintError(f"fraction must be inside (0, 1), got {fraction}")
    ef = gap.vbm + fraction * (gap.cbm - gap.vbm)
    twin = replace(bs, material_id=bs.material_id + "-efermi", efermi=ef)
    moved = twin.band_gap()
    if moved.is_metal or (moved.vbm, moved.cbm) != (gap.vbm, gap.cbm):
        # Bands that touch or cross inside the "gap" (sorted band indices swap): E_F there
        # is no placement choice.
        raise BandprintError(f"{bs.material_id}: E_F cannot move inside this gap")
    return twin


def slab_twin(bs: BandStructure, n_out: int = 10) -> BandStructure:
    """A slab written as a bulk code writes it: no 2-D flag, its cell vectors cyclically
    permuted so the vacuum lies along another lattice vector (structure, reciprocal lattice
    and k-point coordinates permuted alike), and the path continued by ``n_out`` k-points
    from its last point out of the plane to the zone face (k_vacuum = ½). Across the vacuum
    nothing disperses, so those k-points repeat the last one's energies. Needs the structure
    of a slab (``kpath.vacuum_axis``)."""
    from pymatgen.core import Structure

    from bandprint.kpath import vacuum_axis

    if bs.structure is None or bs.reciprocal_lattice is None or bs.kpoints is None:
        raise BandprintError(f"{bs.material_id}: a slab twin needs structure and k-points")
    old_axis = vacuum_axis(bs.structure)
    if old_axis is None:
        raise BandprintError(f"{bs.material_id}: the structure is no slab")
    perm = [2, 0, 1]
    axis = perm.index(old_axis)
    st = bs.structure
    structure = Structure(st.lattice.matrix[perm], st.species, st.frac_coords[:, perm])
    rec = bs.reciprocal_lattice[perm]
    kpts = bs.kpoints[:, perm]
    out = np.repeat(kpts[-1:], n_out, axis=0)
    out[:, axis] = np.linspace(0.0, 0.5, n_out)
    step = np.linalg.norm(np.diff(out @ rec, axis=0), axis=1)
    nk = bs.nkpoints
    meta = {k: v for k, v in bs.metadata.items() if k not in ("is_2d", "vacuum_axis")}
    last = bs.segments[-1]
    return replace(
        bs,
        material_id=bs.material_id + "-slab",
        structure=structure,
        reciprocal_lattice=rec,
        kpoints=np.concatenate([kpts, out]),
        energies=np.concatenate([bs.energies, np.repeat(bs.energies[:, -1:], n_out, 1)], 1),
        distances=np.concatenate([bs.distances, bs.distances[-1] + np.cumsum([0.0, *step])]),
        segments=[*bs.segments, Segment(nk, nk + n_out, last.end_label, "A")],
        metadata=meta,
    )
