"""Tight-binding lattice zoo: physical band structures with known answers.

A lattice is its 2-D Bravais vectors, its sites at their real positions (Å), one or more
orbitals per site, on-site energies, and a hopping list ``(i, j, R, h)``. Bonds are found from
the geometry (distance shells, ``find_bonds``), so next-nearest-neighbour hopping goes to the
bonds that truly are next-nearest. The Bloch Hamiltonian uses real positions (the physical
gauge, so ``H(k + G)_ij = exp(iG·(r_j − r_i)) H(k)_ij``)::

    H_ij(k) = ε_i δ_ij + Σ_R h_ij(R) exp(i k·(r_j + R − r_i))   (+ Hermitian conjugate)

built for all k at once and diagonalised with one stacked ``eigvalsh``.

Sign convention
    ``H = Σ_i ε_i n_i − Σ_<ij> t_ij (c†_i c_j + h.c.)``: an s-orbital hopping parameter ``t``
    enters the Hamiltonian as ``−t`` (``t > 0`` is the usual bonding sign). With ``t > 0``:
    square lattice ``−2t(cos kx a + cos ky a)`` (width 8t); triangular width 9t; honeycomb
    ``±t|f(k)|``, Dirac cones at K with velocity ``3td/2`` (``d`` the bond length); kagome flat
    band at ``+2t`` touching the top dispersive band quadratically at Γ; breathing kagome flat
    band at ``t_up + t_down``; checkerboard (``t_cross = t``) flat band at ``+2t`` touching at
    M; Lieb and dice flat bands at the centre (0, the rim/edge on-site energy, which a corner or
    hub on-site energy does not move); star and fully connected square-octagon
    (``t2 = t_intra``) flat bands at ``t_intra ± t_inter``; AA kagome bilayer flat bands at
    ``2t ± t_perp``. A negative ``t`` mirrors the spectrum (the kagome flat band goes to the
    bottom, at −2|t|). p-orbital lattices (``two_orbital_square``, ``px_py_honeycomb``) use
    Slater–Koster integrals entering as given, ``h = n_a n_b Vσ + (δ_ab − n_a n_b) Vπ`` for the
    bond direction ``n`` (Harrison's signs, ``Vppσ > 0``, ``Vppπ < 0``); σ-only px/py honeycomb
    has flat bands at ``±3/2 Vσ``.

Paths
    hexagonal Γ–M–K–Γ (cell a1 = a(1, 0), a2 = a(−½, √3/2), pymatgen's γ = 120° setting,
    M = (½, 0), K = (⅓, ⅓)), square Γ–X–M–Γ (X = (0, ½)), rectangular Γ–X–S–Y–Γ. Fractional
    k-points with third component 0; corners repeat where segments meet, as in pymatgen
    line-mode files; distances in 1/Å (2π included) from the slab cell with ``VACUUM`` Å of
    vacuum along c.

Samples
    ``sample_zoo(n, seed)`` cycles through ``FAMILIES`` (or the ``families`` given); sample ``i``
    draws from its own stream ``SeedSequence([seed, i])``, so it does not depend on ``n``.
    Each draws physical parameters (bond length 2.3–3.5 Å, main hopping sign + in 3/4 of
    samples, next-nearest hoppings, on-site energies, and in 60 % of flat-band samples a
    flatness-lifting perturbation of strength 0.01–0.3 of the main hopping, the
    ``perturbation`` column; 0 = ideal lattice), scales energies to a total bandwidth of
    1.5–6 eV, adds remote "spectator" bands (a dispersive band below and one above, each with
    probability ½), gives 10 % of samples an exchange splitting (two spin channels), and places
    E_F by filling: mid-gap for insulators (gap ≥ ``MIN_INSULATING_GAP``), at a band touching
    for semimetals, or a random number of electrons on a 12×12 mesh for metals. Energies are
    absolute: eigenvalues plus ``energy_offset``, with E_F (``efermi``) drawn in −6…1 eV.

Names and formulas
    ``material_id`` is ``<family>-<index:04d>`` (``kagome-0042``). Every site of a family
    carries one fixed element (``FAMILY_ELEMENT``, e.g. kagome ``Fe``, Lieb ``Cu``), a label
    only: each family gets its own formula, and structure tools (CrystalNN, symmetry finders)
    work on the structures. It is not chemistry. ``sg_number`` is the space group of that
    structure (a slab with mirror symmetry: 191 P6/mmm, 187 P-6m2 for breathing kagome,
    164 P-3m1 for the Bernal bilayer, 123 P4/mmm, 47 Pmmm); random on-site energies do not
    lower it.

Ground truth (``TRUTH_COLUMNS``, ``ground_truth.csv``; ``band_truth`` computes the band part
for any band structure)
    ``electronic_class``: metal (``band_gap().is_metal``), semimetal (no band crosses E_F but
    one touches it, within ``TOUCH_TOLERANCE``, or the gap is below ``SEMIMETAL_GAP``),
    insulator. ``band_gap`` is ``BandStructure.band_gap().energy`` (for a semimetal that is the
    path's k-step, pymatgen's convention). Flat bands are ``flat_levels``: energies at which,
    at every k on the path, some eigenvalue stays within ``FLAT_BANDWIDTH`` (0.1 eV), found
    through band crossings; ``flat_band_energies`` are relative to E_F. A segment is flat when
    such a level spans it within ±1 eV of E_F (``n_flat_segments``); ``flat_strips`` numbers
    the 0.5 eV strips those pieces touch as the published flat-band genome does (1 = +0.5…+1,
    2 = 0…+0.5, 3 = −0.5…0, 4 = −1…−0.5 eV; a level on a boundary belongs to the strip above).
    ``flat_pieces`` lists each such piece (segment, spin, energy relative to E_F, width, and
    ``whole_path``: part of a band flat along the whole path, or flat on this segment only).
"""

from bandprint.zoo.dataset import (
    CLASS_WEIGHTS,
    DISCOVERY_PROCESS,
    FLAT_BANDWIDTH,
    FLAT_WINDOW,
    MIN_INSULATING_GAP,
    SEMIMETAL_GAP,
    STRIPS,
    TOUCH_TOLERANCE,
    TRUTH_COLUMNS,
    FlatLevel,
    band_truth,
    classify,
    db_row,
    flat_levels,
    ground_truth_table,
    near_duplicate,
    perturbed_twin,
    place_fermi,
    read_ground_truth,
    sample_one,
    sample_zoo,
    write_near_duplicates,
    write_zoo,
)
from bandprint.zoo.families import FAMILIES, FAMILY_SPECS, Family, family_spec, make_lattice
from bandprint.zoo.lattices import (
    FAMILY_ELEMENT,
    MESH,
    PATH_KPOINTS,
    PATHS,
    VACUUM,
    Bonds,
    KPath,
    Lattice,
    find_bonds,
    reciprocal_lattice,
    slab_cell,
)

__all__ = [
    "CLASS_WEIGHTS",
    "DISCOVERY_PROCESS",
    "FAMILIES",
    "FAMILY_ELEMENT",
    "FAMILY_SPECS",
    "FLAT_BANDWIDTH",
    "FLAT_WINDOW",
    "MESH",
    "MIN_INSULATING_GAP",
    "PATHS",
    "PATH_KPOINTS",
    "SEMIMETAL_GAP",
    "STRIPS",
    "TOUCH_TOLERANCE",
    "TRUTH_COLUMNS",
    "VACUUM",
    "Bonds",
    "Family",
    "FlatLevel",
    "KPath",
    "Lattice",
    "band_truth",
    "classify",
    "db_row",
    "family_spec",
    "find_bonds",
    "flat_levels",
    "ground_truth_table",
    "make_lattice",
    "near_duplicate",
    "perturbed_twin",
    "place_fermi",
    "read_ground_truth",
    "reciprocal_lattice",
    "sample_one",
    "sample_zoo",
    "slab_cell",
    "write_near_duplicates",
    "write_zoo",
]
