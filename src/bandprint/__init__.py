"""bandprint: electronic fingerprints of band structures.

Pipeline (one module per stage): ``read`` → ``store`` → ``render`` → ``model`` /
``fingerprint`` → ``analyse`` → ``report`` / ``explorer``; plus ``zoo`` (tight-binding band
structures with known answers) and ``cli`` (a thin layer over all of it).
"""

from bandprint.bandstructure import BandGap, BandStructure, Segment
from bandprint.errors import BandprintError, ReadError
from bandprint.read import read_band_structure, read_band_structures

__version__ = "0.1.0"

__all__ = [
    "BandGap",
    "BandStructure",
    "BandprintError",
    "ReadError",
    "Segment",
    "__version__",
    "read_band_structure",
    "read_band_structures",
]
