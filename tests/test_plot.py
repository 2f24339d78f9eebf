"""Band-structure plots: what is drawn where, both spins, breaks, and the ``show`` command."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from click.testing import CliRunner
from matplotlib.collections import LineCollection

from bandprint.cli import main
from bandprint.ingest import ingest
from bandprint.plot import plot_band_structure, plot_band_structures_side_by_side, tick_label
from bandprint.read import read_band_structure

DATA = Path(__file__).parent / "data" / "real"


@pytest.fixture(scope="module")
def vbr2():
    return read_band_structure(DATA / "matminer-json" / "VBr2_971787_bandstructure.json")


@pytest.fixture(scope="module")
def cu():
    return read_band_structure(DATA / "pymatgen-json" / "Cu_30_bandstructure.json")


def _band_collections(ax):
    return [c for c in ax.collections if isinstance(c, LineCollection)]


def test_spin_polarised_plot_draws_both_spins_per_segment_relative_to_fermi(vbr2):
    fig = plot_band_structure(vbr2)
    ax = fig.axes[0]
    up, down = _band_collections(ax)
    assert len(up.get_paths()) == len(vbr2.segments) * vbr2.nbands
    assert len(down.get_paths()) == len(vbr2.segments) * vbr2.nbands
    assert up.get_linestyle()[0][1] is None and down.get_linestyle()[0][1] is not None  # dashed
    assert not np.allclose(up.get_colors()[0], down.get_colors()[0])
    # First path: segment 0, band 0 of spin up, energies shifted by E_F, x = path distance.
    seg = vbr2.segments[0]
    xy = up.get_paths()[0].vertices
    np.testing.assert_allclose(xy[:, 0], vbr2.distances[seg.start : seg.stop])
    np.testing.assert_allclose(xy[:, 1], vbr2.energies[0, seg.start : seg.stop, 0] - vbr2.efermi)
    # No line crosses a break: each path covers exactly one segment's k-points.
    lengths = {len(p.vertices) for p in up.get_paths()}
    assert lengths == {s.stop - s.start for s in vbr2.segments}
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [lab for _, lab in vbr2.labels]
    assert labels[0] == "Γ" and "A|L" in labels and "M|K" in labels
    assert ax.get_ylim() == (-4.0, 4.0)
    assert ax.get_xlabel() == "Wave vector" and ax.get_ylabel() == "E − E$_F$ (eV)"
    assert vbr2.material_id in ax.get_title()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["spin ↑", "spin ↓"]
    fermi = [ln for ln in ax.get_lines() if np.allclose(ln.get_ydata(), 0.0)]
    assert fermi and fermi[0].get_linestyle() == "--"


def test_non_spin_polarised_plot_has_one_spin_and_no_legend(cu):
    fig = plot_band_structure(cu, window=None, title="Cu")
    ax = fig.axes[0]
    (only,) = _band_collections(ax)
    assert len(only.get_paths()) == len(cu.segments) * cu.nbands
    assert ax.get_legend() is None
    lo, hi = ax.get_ylim()
    rel = cu.energies_relative
    assert lo < rel.min() and hi > rel.max()
    assert ax.get_title() == "Cu"
    assert "K|U" in [t.get_text() for t in ax.get_xticklabels()]


def test_tick_label_subscripts():
    assert tick_label("Γ") == "Γ"
    assert tick_label("K_1") == "K$_{1}$"
    assert tick_label("X|S_0") == "X|S$_{0}$"


def test_side_by_side_shares_the_energy_axis(vbr2, cu):
    fig = plot_band_structures_side_by_side([vbr2, cu], titles=["a", "b"], window=(-2, 2))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert fig.axes[1].get_ylim() == (-2.0, 2.0)
    assert fig.axes[0].get_shared_y_axes().joined(fig.axes[0], fig.axes[1])
    with pytest.raises(ValueError, match="titles"):
        plot_band_structures_side_by_side([vbr2], titles=["a", "b"])


def test_show_writes_a_png(tmp_path):
    ingest([DATA / "matminer-json"], tmp_path / "ws", workers=1, progress=False)
    out = tmp_path / "vbr2.png"
    result = CliRunner().invoke(
        main, ["show", str(tmp_path / "ws"), "VBr2_971787_bandstructure", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "gap 1.131 eV" in result.output and "2 spin" in result.output
    img = mpimg.imread(out)
    assert img.shape[0] > 400 and img.shape[1] > 600
    assert img[..., :3].std() > 0.05  # something was drawn
    missing = CliRunner().invoke(main, ["show", str(tmp_path / "ws"), "nope", "--out", str(out)])
    assert missing.exit_code == 2 and "bandprint list" in missing.output
