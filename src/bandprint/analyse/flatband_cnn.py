"""The image flat-band detector under its former name; it lives in
``bandprint.analyse.flatbands.cnn`` and ``bandprint.analyse.flatbands.training`` (this module
re-exports their public names, so existing imports keep working).
"""

from __future__ import annotations

from bandprint.analyse.flatbands import cnn, training
from bandprint.analyse.flatbands.cnn import *  # noqa: F403
from bandprint.analyse.flatbands.training import *  # noqa: F403

__all__ = sorted(cnn.__all__ + training.__all__)
