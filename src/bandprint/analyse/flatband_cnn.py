"""The image flat-band detector under its former name; it lives in
``bandprint.analyse.flatbands.cnn`` (this module re-exports its public names, so existing imports
keep working).
"""

from __future__ import annotations

from bandprint.analyse.flatbands.cnn import *  # noqa: F403
from bandprint.analyse.flatbands.cnn import __all__  # noqa: F401
