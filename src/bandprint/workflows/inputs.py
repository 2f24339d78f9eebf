"""What several workflows read from a workspace: a model's fingerprints and the catalogue's
formulas."""

from __future__ import annotations

import numpy as np

from bandprint.errors import BandprintError
from bandprint.store import Workspace


def read_fingerprints(
    ws: Workspace, model_id: str | None = None, at_least: int = 1
) -> tuple[str, list[str], np.ndarray]:
    """``(model id, material ids, fingerprints [n, d] float32)`` of one model (default: the
    newest); raises ``BandprintError`` when there are fewer than ``at_least``."""
    models = ws.fingerprint_models()
    ids, X = ws.read_fingerprints(model_id)
    model = model_id or (models[-1] if models else "")
    if len(ids) < at_least:
        raise BandprintError(f"{ws.path}: only {len(ids)} fingerprint(s) of model {model}")
    return model, ids, X


def formula_lookup(ws: Workspace) -> dict[str, str | None]:
    """Material id → the catalogue's formula (None or "" where it has none)."""
    cat = ws.catalog()
    return dict(zip(cat["material_id"], cat["formula"], strict=True)) if len(cat) else {}


def catalogue_formulas(ws: Workspace, ids: list[str]) -> list[str]:
    """The catalogue's formula of each material id, in order ("" where it has none)."""
    formula = formula_lookup(ws)
    return [str(formula.get(m) or "") for m in ids]


__all__ = ["catalogue_formulas", "formula_lookup", "read_fingerprints"]
