"""The README's Python example runs as written, on real files in place of its example paths."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(__file__).parent / "data" / "real"


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has no Python example"
    code = blocks[0]
    # Its two example inputs: a folder of VASP runs and a Materials Project band structure.
    assert '"vasp_runs/"' in code and '"mp-149.json"' in code
    code = code.replace('"vasp_runs/"', repr(str(REAL / "vasp" / "OsO2")))
    code = code.replace(
        '"mp-149.json"', repr(str(REAL / "matminer-json" / "si_bandstructure_line.json"))
    )
    monkeypatch.chdir(tmp_path)
    from bandprint.store import Workspace

    Workspace(tmp_path / "ws", create=True)  # the example opens an existing workspace
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    bands, X = scope["bands"], scope["X"]
    assert [b.material_id for b in bands] == ["OsO2", "si_bandstructure_line"]
    assert X.shape == (2, 98) and np.isfinite(X).all()
    assert scope["pmg"].__class__.__name__ == "BandStructureSymmLine"
    assert "material_id" in scope["ws"].catalog().columns


def test_a_named_file_that_does_not_exist_is_an_error_even_beside_good_ones():
    import pytest

    from bandprint import read_band_structures
    from bandprint.errors import ReadError

    with pytest.raises(ReadError, match=r"missing\.json: no such file or directory"):
        read_band_structures(REAL / "vasp" / "OsO2", "missing.json")
