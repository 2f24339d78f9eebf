"""Lattice families: how each draws random but physical parameters, and its symmetry."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bandprint.errors import BandprintError
from bandprint.zoo.lattices import (
    Lattice,
    bilayer_honeycomb,
    bilayer_kagome,
    breathing_kagome,
    checkerboard,
    dice,
    honeycomb,
    kagome,
    lieb,
    px_py_honeycomb,
    rectangular,
    square,
    square_octagon,
    star,
    triangular,
    two_orbital_square,
)


# -- families -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Family:
    """A lattice family: its builder, how its samples draw parameters, its symmetry.

    ``sample(rng)`` returns builder parameters with the main hopping of magnitude about 1
    (energies are scaled afterwards) and the strength of the flatness-lifting perturbation
    (relative to the main hopping; 0 for an ideal lattice).
    """

    name: str
    build: Callable[..., Lattice]
    sample: Callable[[np.random.Generator], tuple[dict[str, Any], float]]
    sg_number: int
    crystal_system: str
    point_group: str


def _sign(rng: np.random.Generator) -> float:
    # Most s-orbital hoppings are "bonding" (t > 0); a quarter flip the spectrum.
    return 1.0 if rng.random() < 0.75 else -1.0


def _pm(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0


def _perturbation(rng: np.random.Generator) -> float:
    """Strength of the flatness-lifting perturbation (relative to the main hopping): 0 for an
    ideal lattice in 40 % of samples, else log-uniform over 0.01…0.3."""
    if rng.random() < 0.4:
        return 0.0
    return float(np.exp(rng.uniform(math.log(0.01), math.log(0.3))))


def _bond_length(rng: np.random.Generator) -> float:
    return float(rng.uniform(2.3, 3.5))


def _maybe(rng: np.random.Generator, p: float, value: float) -> float:
    return value if rng.random() < p else 0.0


def _sample_square(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    t = _sign(rng)
    return {"a": _bond_length(rng), "t": t, "t2": _pm(rng) * rng.uniform(0, 0.3)}, 0.0


def _sample_rectangular(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    a = _bond_length(rng)
    b = a * rng.uniform(1.15, 1.6)
    tx = _sign(rng)
    # Hopping falls off with distance as a power law of random exponent.
    ty = tx * (a / b) ** rng.uniform(2, 5)
    return {"a": a, "b": b, "tx": tx, "ty": ty, "t2": _pm(rng) * rng.uniform(0, 0.15)}, 0.0


def _sample_triangular(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    t = _sign(rng)
    return {"a": _bond_length(rng), "t": t, "t2": _pm(rng) * rng.uniform(0, 0.3)}, 0.0


def _sample_honeycomb(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    t = _sign(rng)
    return {
        "a": _bond_length(rng) * math.sqrt(3),
        "t": t,
        "t2": _pm(rng) * _maybe(rng, 0.6, rng.uniform(0, 0.25)),
        "delta": _maybe(rng, 0.5, rng.uniform(0.1, 1.5)),
    }, 0.0


def _disorder(rng: np.random.Generator, p: float, n: int, always: bool = False) -> list[float]:
    """On-site energies of spread ``p`` (relative); in half the perturbed samples unless
    ``always``."""
    if p == 0 or (not always and rng.random() < 0.5):
        return [0.0] * n
    return [float(x) for x in p * rng.normal(0, 1, n)]


def _sample_kagome(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    t = _sign(rng)
    return {
        "a": 2 * _bond_length(rng),
        "t": t,
        "t2": _pm(rng) * p,
        "eps": _disorder(rng, p, 3),
    }, p


def _sample_breathing_kagome(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    beta = rng.uniform(0.05, 0.3)
    t_up = _sign(rng)
    return {
        "a": 2 * _bond_length(rng) / (1 - beta),
        "breathing": beta,
        "t_up": t_up,
        "t_down": t_up * ((1 - beta) / (1 + beta)) ** rng.uniform(1.5, 4),
        "t2": _pm(rng) * p,
        "eps": _disorder(rng, p, 3),
    }, p


def _sample_lieb(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    # A corner on-site energy keeps the flat band flat but opens a gap beside it.
    eps = _hub_and_split(rng, p)
    return {
        "a": 2 * _bond_length(rng),
        "t": _sign(rng),
        "t2": _pm(rng) * p,
        "eps": eps,
    }, p


def _hub_and_split(rng: np.random.Generator, p: float) -> list[float]:
    """On-site energies (eV) ``[hub, +s/2, −s/2]`` of a three-site cell (Lieb, dice): the hub
    site's energy is N(0, 1) half the time, else 0; the two rim sites are split by
    ``s = p·N(0, 1)`` half the time, else 0."""
    hub = _maybe(rng, 0.5, rng.normal(0, 1.0))
    split = p * rng.normal(0, 1) if rng.random() < 0.5 else 0.0
    return [hub, split / 2, -split / 2]


def _sample_dice(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    eps = _hub_and_split(rng, p)
    return {
        "a": _bond_length(rng) * math.sqrt(3),
        "t": _sign(rng),
        "t_rim": _pm(rng) * p,
        "eps": eps,
    }, p


def _sample_checkerboard(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    t = _sign(rng)
    split = rng.random() < 0.5
    return {
        "a": _bond_length(rng) * math.sqrt(2),
        "t": t,
        "t_cross": t * (1 + _pm(rng) * p * (not split)),
        "t2": _pm(rng) * p * split,
        "eps": _disorder(rng, p, 2),
    }, p


def _sample_square_octagon(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    s = rng.uniform(0.85, 1.15) / (2 + math.sqrt(2))
    t_intra = _sign(rng)
    # Fully connected plaquettes (t2 = t_intra) give flat bands at t_intra ± t_inter.
    crossed = rng.random() < 0.7
    ratio = 1 + _pm(rng) * p if crossed else rng.uniform(-0.2, 0.2)
    return {
        "a": _bond_length(rng) / (s * math.sqrt(2)),
        "s": s,
        "t_intra": t_intra,
        "t_inter": t_intra * rng.uniform(0.5, 1.5),
        "t2": t_intra * ratio,
        "eps": _disorder(rng, p, 4),
    }, abs(ratio - 1)


def _sample_star(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    lam = rng.uniform(0.85, 1.15) / (2 + math.sqrt(3))
    t_intra = _sign(rng)
    return {
        "a": _bond_length(rng) / lam,
        "lam": lam,
        "t_intra": t_intra,
        "t_inter": t_intra * rng.uniform(0.5, 1.5),
        # The star's flat bands survive its next-nearest hopping; on-site disorder lifts them.
        "t2": _pm(rng) * p,
        "eps": _disorder(rng, p, 6, always=True),
    }, p


def _sample_bilayer_kagome(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    t = _sign(rng)
    return {
        "a": 2 * _bond_length(rng),
        "d": rng.uniform(3.0, 4.0),
        "t": t,
        "t_perp": _pm(rng) * rng.uniform(0.05, 0.5),
        "t2": _pm(rng) * p,
        "eps": _disorder(rng, p, 6),
    }, p


def _sample_bilayer_honeycomb(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    return {
        "a": _bond_length(rng) * math.sqrt(3),
        "d": rng.uniform(3.0, 4.0),
        "t": _sign(rng),
        "t_perp": rng.uniform(0.05, 0.4),
        "delta": _maybe(rng, 0.5, rng.uniform(0.05, 0.8)),
    }, 0.0


def _sample_two_orbital_square(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    vsigma = rng.uniform(0.8, 1.2)
    # vπ = 0 leaves px dispersing only along x and py only along y: flat along the other axis.
    return {
        "a": _bond_length(rng),
        "vsigma": vsigma,
        "vpi": -p * vsigma,
        "vsigma2": _maybe(rng, 0.3, _pm(rng) * rng.uniform(0, 0.2)),
        "vpi2": 0.0,
        "delta": _maybe(rng, 0.5, rng.normal(0, 1.0)),
    }, p


def _sample_px_py_honeycomb(rng: np.random.Generator) -> tuple[dict[str, Any], float]:
    p = _perturbation(rng)
    vsigma = rng.uniform(0.8, 1.2)
    return {
        "a": _bond_length(rng) * math.sqrt(3),
        "vsigma": vsigma,
        "vpi": -p * vsigma,
        "delta": _maybe(rng, 0.5, rng.uniform(0.1, 1.5)),
    }, p


_FAMILY_TABLE = [
    # name, builder, sampler, space group of the structure, crystal system, point group
    ("square", square, _sample_square, 123, "tetragonal", "4/mmm"),
    ("rectangular", rectangular, _sample_rectangular, 47, "orthorhombic", "mmm"),
    ("triangular", triangular, _sample_triangular, 191, "hexagonal", "6/mmm"),
    ("honeycomb", honeycomb, _sample_honeycomb, 191, "hexagonal", "6/mmm"),
    ("kagome", kagome, _sample_kagome, 191, "hexagonal", "6/mmm"),
    ("breathing_kagome", breathing_kagome, _sample_breathing_kagome, 187, "hexagonal", "-6m2"),
    ("lieb", lieb, _sample_lieb, 123, "tetragonal", "4/mmm"),
    ("dice", dice, _sample_dice, 191, "hexagonal", "6/mmm"),
    ("checkerboard", checkerboard, _sample_checkerboard, 123, "tetragonal", "4/mmm"),
    ("square_octagon", square_octagon, _sample_square_octagon, 123, "tetragonal", "4/mmm"),
    ("star", star, _sample_star, 191, "hexagonal", "6/mmm"),
    ("bilayer_kagome", bilayer_kagome, _sample_bilayer_kagome, 191, "hexagonal", "6/mmm"),
    ("bilayer_honeycomb", bilayer_honeycomb, _sample_bilayer_honeycomb, 164, "trigonal", "-3m"),
    (
        "two_orbital_square",
        two_orbital_square,
        _sample_two_orbital_square,
        123,
        "tetragonal",
        "4/mmm",
    ),
    ("px_py_honeycomb", px_py_honeycomb, _sample_px_py_honeycomb, 191, "hexagonal", "6/mmm"),
]

FAMILY_SPECS: dict[str, Family] = {row[0]: Family(*row) for row in _FAMILY_TABLE}
#: Every lattice family, in a fixed order (samples cycle through them).
FAMILIES: list[str] = list(FAMILY_SPECS)


def make_lattice(name: str, **params: Any) -> Lattice:
    """A lattice of the named family; parameters not given take the ideal defaults."""
    spec = family_spec(name)
    try:
        return spec.build(**params)
    except TypeError as exc:
        raise BandprintError(f"{name}: {exc}") from None


def family_spec(name: str) -> Family:
    """The family of that name; a one-line error listing the known ones otherwise."""
    try:
        return FAMILY_SPECS[name]
    except KeyError:
        raise BandprintError(
            f"unknown lattice family {name!r}; known: {', '.join(FAMILIES)}"
        ) from None
