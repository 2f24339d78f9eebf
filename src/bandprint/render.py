"""Band structures as binary images: the input the autoencoder sees (the picture of Pentz,
Warford et al., Commun. Phys. 2025, doi:10.1038/s42005-025-01936-2).

The picture is the published one: energies inside a window (±4 eV) around a reference, every
band of every spin channel, x along the k-path with its segments laid end to end, black bands on
white, binarised to 0/1. It is drawn by a vectorised rasteriser in numpy instead of a plotting
library (its speed is in BENCHMARKS.md, ``bench/bench_render.py``).

So that one material gives one picture whichever database wrote it, the band structure is first
prepared (``prepare_band_structure``): a slab's out-of-plane segments are left out, the path is
reordered onto its lattice's canonical path (``kpath.canonical_path``) and the reference is the
middle of the gap (E_F for metals) unless the settings say E_F or the valence-band maximum.

Geometry (what the tests pin down):

* Row ``r`` holds energies ``hi − (r + 1)·h < E − E_F ≤ hi − r·h`` with ``h = (hi − lo)/size``;
  a flat band at ``e`` lies on row ``floor((hi − e)/(hi − lo)·size)`` (row 0 is the top).
* The path is laid end to end: x is the cumulative k-distance inside each segment (or the
  k-point index with ``x_axis="index"``, the flat-band work's convention), and a segment starts
  where the previous one ended. The first k-point is at the centre of column 0, the last at the
  centre of column ``size − 1``.
* Lines run only between consecutive k-points of one segment: the two sides of a break such as
  ``X|U`` are never joined. A line that leaves the window is cut at the border, not clamped onto
  it; a band entirely outside the window draws nothing.
* Line width: ``line_width`` pixels, default 1, the nearer of 1 and 2 px to the published
  picture (pymatgen's ``BSPlotter`` bands, 3 pt on a 12 × 8 inch figure, shrunk to 224 × 224
  and binarised at 0.8). Wider lines are drawn across the line's minor axis (vertically for
  shallow lines, horizontally for steep ones, the thick-Bresenham rule), so a band is
  ``line_width`` pixels thick wherever it runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bandprint.bandstructure import BandStructure
from bandprint.errors import BandprintError
from bandprint.kpath import Dimensionality, canonical_path, slab_axis

XAxis = Literal["distance", "index"]
#: Pixels added to every row coordinate so values that land on a row boundary up to rounding
#: go to one row consistently (see ``_render``).
ROW_NUDGE = 1e-6
#: ``"both"``: every band of both spins in one image (the published picture); ``"up"`` /
#: ``"down"``: one spin; ``"channels"``: spin up and spin down as two channels of one image
#: (``render_spin_channels``), for models that take two (``model.PRESETS["small-spin"]``).
#: The default stays ``"both"``, chosen by measurement (``bench/bench_render_spins.py``).
Spins = Literal["both", "up", "down", "channels"]
SPINS = ("both", "up", "down", "channels")
EnergyReference = Literal["fermi", "vbm", "midgap"]
ENERGY_REFERENCES = ("fermi", "vbm", "midgap")


@dataclass(frozen=True)
class RenderSettings:
    """How a band structure becomes an image; travels with every trained model."""

    size: int = 224
    window: tuple[float, float] = (-4.0, 4.0)
    x_axis: XAxis = "distance"
    spins: Spins = "both"
    line_width: int = 1
    #: For materials flagged 2-D (``metadata["is_2d"]``) with k-point coordinates, draw only
    #: the in-plane path segments: along the vacuum direction of a slab nothing disperses and
    #: every band would look flat (a slab computed along a bulk path, as some databases do).
    drop_out_of_plane: bool = True
    #: Reorder and reverse the path's segments onto the lattice's canonical path
    #: (``kpath.canonical_path``) so the same material walked another way draws the same.
    canonical_path: bool = True
    #: The energy drawn as 0: ``"fermi"`` (E_F as the file gives it), ``"vbm"`` (the valence-
    #: band maximum) or ``"midgap"`` (the middle of the gap); metals use E_F for all three.
    energy_reference: EnergyReference = "midgap"
    #: ``"auto"``: a slab when the reader says so or the structure has a vacuum gap
    #: (``kpath.slab_axis``); ``"2d"`` / ``"bulk"`` force it.
    dimensionality: Dimensionality = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "window", (float(self.window[0]), float(self.window[1])))
        if self.size < 8:
            raise BandprintError(f"image size must be at least 8 pixels, got {self.size}")
        if not self.window[0] < self.window[1]:
            raise BandprintError(f"energy window {self.window} must be (low, high), low < high")
        if self.x_axis not in ("distance", "index"):
            raise BandprintError(f"x_axis must be 'distance' or 'index', got {self.x_axis!r}")
        if self.spins not in SPINS:
            raise BandprintError(
                f"spins must be 'both', 'up', 'down' or 'channels', got {self.spins!r}"
            )
        if not 1 <= self.line_width <= 8:
            raise BandprintError(f"line_width must be 1..8 pixels, got {self.line_width}")
        if self.energy_reference not in ENERGY_REFERENCES:
            raise BandprintError(
                f"energy_reference must be fermi, vbm or midgap, got {self.energy_reference!r}"
            )
        if self.dimensionality not in ("auto", "2d", "bulk"):
            raise BandprintError(
                f"dimensionality must be auto, 2d or bulk, got {self.dimensionality!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["window"] = list(self.window)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RenderSettings:
        return cls(**{**d, "window": tuple(d["window"])})

    @property
    def channels(self) -> int:
        """Channels per image: 2 with ``spins="channels"``, else 1."""
        return 2 if self.spins == "channels" else 1

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The shape of one image: ``(size, size)``, or ``(2, size, size)`` for two channels."""
        square = (self.size, self.size)
        return square if self.channels == 1 else (self.channels, *square)

    @property
    def key(self) -> str:
        """A short stable hash naming these settings (cache file names)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def path_x(bs: BandStructure, x_axis: XAxis = "distance") -> list[np.ndarray]:
    """x of every k-point of every segment, segments laid end to end (one array per segment)."""
    out, offset = [], 0.0
    for s in bs.segments:
        if x_axis == "distance":
            d = bs.distances[s.start : s.stop]
            local = d - d[0]
        else:
            local = np.arange(s.stop - s.start, dtype=np.float64)
        out.append(local + offset)
        offset += float(local[-1])
    return out


def render_band_image(
    bs: BandStructure,
    size: int = 224,
    window: tuple[float, float] = (-4.0, 4.0),
    x_axis: XAxis = "distance",
    spins: Spins = "both",
    line_width: int = 1,
    drop_out_of_plane: bool = True,
    canonical_path: bool = True,
    energy_reference: EnergyReference = "midgap",
    dimensionality: Dimensionality = "auto",
) -> np.ndarray:
    """The band structure as a ``size × size`` uint8 image, 1 where a band passes
    (``[2, size, size]`` with ``spins="channels"``).

    See the module docstring for the exact geometry and ``RenderSettings`` for the options.
    Raises ``BandprintError`` when the path has no length to draw along.
    """
    settings = RenderSettings(
        size,
        window,
        x_axis,
        spins,
        line_width,
        drop_out_of_plane,
        canonical_path,
        energy_reference,
        dimensionality,
    )
    return _render(bs, settings)


def render_spin_channels(bs: BandStructure, settings: RenderSettings | None = None) -> np.ndarray:
    """``[2, size, size]`` uint8: spin up in channel 0, spin down in channel 1.

    Overlaid in one image (``spins="both"``) a ferromagnet and a non-magnet with the same
    union of bands look alike; as two channels they do not. A band structure without spin
    polarisation has the same bands in both channels. ``settings.spins`` is ignored (this is
    what ``spins="channels"`` draws); the path and energy reference are shared by the channels
    (``prepare_band_structure``).
    """
    st = settings or RenderSettings()
    drawn, info = prepare_band_structure(bs, st)
    up = replace(st, spins="up", canonical_path=False, dimensionality="bulk")
    # Drawn already prepared, and with the reference as E_F, both channels get the same zero.
    flat = replace(drawn, efermi=info["reference_energy"], metadata={})
    channels = [_render(flat, replace(up, energy_reference="fermi"))]
    if bs.nspin == 2:
        channels.append(_render(flat, replace(up, spins="down", energy_reference="fermi")))
    else:
        channels.append(channels[0])
    return np.stack(channels)


def spin_orbit_of(bs: BandStructure, tolerance: float = 1e-3) -> bool | None:
    """Whether ``bs`` comes from a spin–orbit calculation: the reader's
    ``metadata["spin_orbit"]`` when it set one; else ``True`` when a band structure without
    spin channels has its bands in degenerate pairs (within ``tolerance`` eV) at 90 % of its
    k-points, as spinor bands of a crystal with inversion symmetry are (Kramers); else ``None``
    (unknown: without inversion, spin–orbit splits the pairs)."""
    flag = (bs.metadata or {}).get("spin_orbit")
    if flag is not None:
        return bool(flag)
    if bs.nspin != 1 or bs.nbands < 2:
        return None
    e = np.sort(bs.energies[0], axis=1)
    pairs = e[:, 1 : 2 * (bs.nbands // 2) : 2] - e[:, 0 : 2 * (bs.nbands // 2) : 2]
    paired = (np.abs(pairs) < tolerance).all(axis=1).mean()
    return True if paired >= 0.9 else None


def reference_energy(bs: BandStructure, reference: EnergyReference = "midgap") -> float:
    """The absolute energy (eV) drawn as 0: E_F, the VBM or mid-gap; E_F for a metal."""
    if reference == "fermi":
        return bs.efermi
    gap = bs.band_gap()
    if gap.is_metal or gap.vbm is None or gap.cbm is None:
        return bs.efermi
    return gap.vbm if reference == "vbm" else 0.5 * (gap.vbm + gap.cbm)


def prepare_band_structure(
    bs: BandStructure, settings: RenderSettings | None = None
) -> tuple[BandStructure, dict[str, Any]]:
    """``bs`` as it is drawn: out-of-plane segments of a slab left out, the path made
    canonical, and a record of it (also in the copy's ``metadata["render"]``).

    The record holds ``two_d``, ``vacuum_axis``, ``spin_orbit`` (``spin_orbit_of``), ``path``
    (``kpath.canonical_path``'s record, or ``{"applied": False, ...}`` when switched off),
    ``energy_reference`` and ``reference_energy`` (absolute, eV).
    """
    st = settings or RenderSettings()
    axis = slab_axis(bs, st.dimensionality)
    if axis is not None and st.drop_out_of_plane and bs.kpoints is not None:
        bs = bs.in_plane(axis)
    if st.canonical_path:
        bs, path = canonical_path(bs, axis)
    else:
        path = {"applied": False, "drawn": bs.path_string, "reason": "path kept as written"}
    info = {
        "two_d": axis is not None,
        "vacuum_axis": axis,
        "spin_orbit": spin_orbit_of(bs),
        "path": path,
        "energy_reference": st.energy_reference,
        "reference_energy": reference_energy(bs, st.energy_reference),
    }
    return replace(bs, metadata={**bs.metadata, "render": info}), info


def render_band_images(
    band_structures: Iterable[BandStructure],
    settings: RenderSettings | None = None,
    **kwargs: Any,
) -> np.ndarray:
    """Images of many band structures, ``[n, size, size]`` uint8, or ``[n, 2, size, size]``
    with ``spins="channels"`` (settings or keyword args)."""
    settings = settings or RenderSettings(**kwargs)
    images = [_render(bs, settings) for bs in band_structures]
    if not images:
        return np.zeros((0, *settings.image_shape), dtype=np.uint8)
    return np.stack(images)


def check_images(images: Any, settings: RenderSettings) -> np.ndarray:
    """``images`` as a stack ``[n, *settings.image_shape]``. One-channel images may come as
    one image ``[size, size]`` or with a channel axis of 1 ``[n, 1, size, size]``; two-channel
    images only as ``[n, 2, size, size]``, since ``[2, size, size]`` could as well be two
    one-channel images. Raises ``BandprintError`` when the shape does not fit, e.g.
    one-channel images for a model that takes two spin channels."""
    arr = np.asarray(images)
    shape = settings.image_shape
    if settings.channels == 1:
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim == 4 and arr.shape[1] == 1:
            arr = arr[:, 0]
    if arr.shape[1:] != shape:
        want = ", ".join(str(n) for n in ("n", *shape))
        raise BandprintError(
            f"images have shape {list(arr.shape)}, expected [{want}]"
            + (" (two spin channels)" if settings.channels == 2 else "")
        )
    return arr


def with_channel_axis(images: np.ndarray) -> np.ndarray:
    """``[n, C, s, s]`` from images ``[n, s, s]`` (C = 1) or ``[n, C, s, s]`` (unchanged)."""
    arr = np.asarray(images)
    return arr[:, None] if arr.ndim == 3 else arr


def without_single_channel(images: np.ndarray) -> np.ndarray:
    """Inverse of ``with_channel_axis``: ``[n, 1, s, s]`` → ``[n, s, s]``; more channels stay."""
    return images[:, 0] if images.ndim == 4 and images.shape[1] == 1 else images


def describe_rendering(info: dict[str, Any]) -> str:
    """Two lines for people: the path drawn (and what was done to it) and the energy zero,
    from ``prepare_band_structure``'s record."""
    path = info["path"]
    if path.get("applied"):
        how = f"canonical {path['lattice_type']} path {path['canonical']}"
        done = [f"{path['reversed']} segments reversed"] if path["reversed"] else []
        if path["dropped"]:
            done.append("left out " + ", ".join(path["dropped"]))
        if path["missing"]:
            done.append("not in the file " + ", ".join(path["missing"]))
        if path["drawn"] != path["original"]:
            done.insert(0, f"written {path['original']}")
        line = f"path drawn: {path['drawn']} ({how}{'; ' if done else ''}{'; '.join(done)})"
    else:
        line = f"path drawn: {path['drawn']} (as written: {path.get('reason') or 'not canonical'})"
    if info["two_d"]:
        line += f"; slab, vacuum along lattice vector {info['vacuum_axis'] + 1}"
    if info.get("spin_orbit"):
        line += "; spin–orbit bands"
    ref = info["energy_reference"]
    return (
        f"{line}\nenergy reference: {ref} (0 eV drawn at {info['reference_energy']:.4f} eV"
        f"{'' if ref == 'fermi' else ', E_F for a metal'})"
    )


def _render(bs: BandStructure, st: RenderSettings) -> np.ndarray:
    if st.spins == "channels":
        return render_spin_channels(bs, st)
    size = st.size
    lo, hi = st.window
    bs, info = prepare_band_structure(bs, st)
    energies = bs.energies - info["reference_energy"]
    if st.spins == "up":
        energies = energies[:1]
    elif st.spins == "down":
        if bs.nspin < 2:
            raise BandprintError(f"{bs.material_id}: not spin-polarised, no spin-down bands")
        energies = energies[1:]

    xs = path_x(bs, st.x_axis)
    length = float(xs[-1][-1])
    if length <= 0:
        raise BandprintError(f"{bs.material_id}: the k-path has zero length, nothing to draw")
    # Consecutive k-point pairs inside each segment; never across a segment boundary.
    ka = np.concatenate([np.arange(s.start, s.stop - 1) for s in bs.segments])
    xa = np.concatenate([x[:-1] for x in xs])
    xb = np.concatenate([x[1:] for x in xs])
    u_scale = (size - 1) / length
    ua = (xa * u_scale + 0.5)[None, :, None]
    ub = (xb * u_scale + 0.5)[None, :, None]
    v_scale = size / (hi - lo)
    # The 1e-6 px nudge: an energy on a row boundary (kagome's flat band at exactly +2 eV is
    # row boundary 56 at 224 px) computes as 2 ± 1e-15 and would flicker between two rows.
    va = (hi - energies[:, ka, :]) * v_scale + ROW_NUDGE
    vb = (hi - energies[:, ka + 1, :]) * v_scale + ROW_NUDGE
    ua, ub = np.broadcast_arrays(ua, ub, va)[:2]

    half = (st.line_width - 1) / 2
    vmin, vmax = -half, size + half
    # Keep lines with some part inside [vmin, vmax) (vertically; x is always inside).
    keep = (np.minimum(va, vb) < vmax) & (np.maximum(va, vb) >= vmin)
    ua, ub, va, vb = ua[keep], ub[keep], va[keep], vb[keep]
    if ua.size == 0:
        return np.zeros((size, size), dtype=np.uint8)
    dv = vb - va
    du = ub - ua
    # Parametric clip to the window so steep lines are not sampled far outside it.
    with np.errstate(divide="ignore", invalid="ignore"):
        t_vmin = np.where(dv != 0, (vmin - va) / dv, -np.inf)
        t_vmax = np.where(dv != 0, (vmax - va) / dv, np.inf)
    t0 = np.clip(np.maximum(0.0, np.minimum(t_vmin, t_vmax)), 0.0, 1.0)
    t1 = np.clip(np.minimum(1.0, np.maximum(t_vmin, t_vmax)), 0.0, 1.0)
    span = np.maximum(np.abs(du), np.abs(dv)) * (t1 - t0)
    # Samples strictly less than 1 px apart along the major axis (span / (floor(span) + 1)):
    # consecutive samples land in 8-adjacent pixels, so lines have no gaps. Exactly 1 px would
    # let rounding skip a row.
    n = np.floor(span).astype(np.int64) + 2
    line = np.repeat(np.arange(n.size), n)
    start = np.cumsum(n) - n
    step = np.arange(line.size) - start[line]
    denom = np.maximum(n - 1, 1)[line]
    t = t0[line] + (t1 - t0)[line] * (step / denom)
    u = ua[line] + du[line] * t
    v = va[line] + dv[line] * t

    img = np.zeros(size * size, dtype=np.uint8)
    steep = (np.abs(dv) > np.abs(du))[line]
    for off in np.linspace(-half, half, st.line_width):
        rows = np.floor(np.where(steep, v, v + off)).astype(np.int64)
        cols = np.floor(np.where(steep, u + off, u)).astype(np.int64)
        ok = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
        img[rows[ok] * size + cols[ok]] = 1
    return img.reshape(size, size)


def line_width_of(image: np.ndarray) -> float:
    """Mean vertical thickness (pixels) of the runs of band pixels in each column."""
    img = np.asarray(image).astype(bool)
    padded = np.pad(img, ((1, 1), (0, 0)))
    starts = (padded[1:] & ~padded[:-1]).sum()
    return float(img.sum() / max(int(starts), 1))


def pack_images(images: np.ndarray) -> np.ndarray:
    """0/1 images ``[n, s, s]`` packed 8 pixels per byte (``[n, s, ceil(s/8)]``)."""
    return np.packbits(np.asarray(images, dtype=bool), axis=-1)


def unpack_images(packed: np.ndarray, size: int) -> np.ndarray:
    """Inverse of ``pack_images``: uint8 0/1 images ``[n, size, size]``."""
    return np.unpackbits(packed, axis=-1, count=size)


def save_band_image(image: np.ndarray, path: str | Path) -> Path:
    """Write a 0/1 image as a PNG, black bands on white."""
    from PIL import Image

    path = Path(path)
    img = np.asarray(image)
    if img.ndim != 2:
        raise BandprintError(f"expected one 2-D image, got shape {img.shape}")
    Image.fromarray(np.where(img > 0, 0, 255).astype(np.uint8), mode="L").save(path)
    return path
