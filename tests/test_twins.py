"""One material, one picture: twins of real samples draw the same image and find each other.

A twin differs from its original only in a choice a database or code makes (``bandprint.twins``):
path order and direction, label spelling (or no label), sampling density, where E_F sits in the
gap, the 2-D flag. Pixel agreement is the share of the image's pixels that are equal.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bandprint import twins
from bandprint.cli import main
from bandprint.errors import BandprintError
from bandprint.read import read_band_structures
from bandprint.render import (
    RenderSettings,
    prepare_band_structure,
    render_band_images,
    render_spin_channels,
    spin_orbit_of,
)
from bandprint.zoo.dataset import sample_one

REAL = {
    "CaO": "pymatgen-json/CaO_2605_bandstructure.json",
    "Cu": "pymatgen-json/Cu_30_bandstructure.json",
    "InN": "pymatgen-json/InN_22205_bandstructure.json",
    "VBr2": "matminer-json/VBr2_971787_bandstructure.json",
    "Si": "matminer-json/si_bandstructure_line.json",
    "OsO2": "vasp/OsO2/vasprun.xml.gz",
    "Si2": "castep/Si2.bands",
    "Fe": "castep/Fe.bands",
}
#: The real C2DB slab (GPAW, rectangular Be4 monolayer, C2DB's Γ–X–S–Y–Γ–S path).
BE4 = Path(__file__).parent / "data/real-2d/c2db/Be4-09dd42ad034e.json.gz"
SETTINGS = RenderSettings()
BEFORE = RenderSettings(canonical_path=False, energy_reference="fermi")


def agreement(a, b, settings: RenderSettings = SETTINGS) -> float:
    img = render_band_images([a, b], settings)
    return float((img[0] == img[1]).mean())


@pytest.fixture(scope="module")
def originals(real_dir) -> dict:
    out = {name: read_band_structures(real_dir / path)[0] for name, path in REAL.items()}
    out["Be4"] = read_band_structures(BE4)[0]
    out["kagome"] = sample_one("kagome", 4, seed=1)
    out["lieb"] = sample_one("lieb", 6, seed=1)
    out["honeycomb"] = sample_one("honeycomb", 3, seed=1)  # an insulator, gap 1.9 eV
    return out


@pytest.mark.parametrize("name", [*REAL, "Be4", "kagome", "lieb", "honeycomb"])
def test_path_order_and_direction_twins_draw_the_same(originals, name):
    rng = np.random.default_rng(7)
    bs = originals[name]
    for _ in range(3):
        twin = twins.path_twin(bs, rng)
        assert agreement(bs, twin) == 1.0
    # Without the canonical path the shuffled twin draws another picture.
    assert agreement(bs, twin, BEFORE) < 0.99


@pytest.mark.parametrize("name", [*REAL, "Be4", "kagome"])
def test_label_spelling_and_missing_labels(originals, name):
    """Labels respelt (\\Gamma, G, GAMMA, X_1) and 30 % of segment ends blank: the labels come
    back from the k-point coordinates, the picture is the same, shuffled or not."""
    rng = np.random.default_rng(3)
    bs = originals[name]
    twin = twins.label_twin(bs, rng)
    assert any(
        a.start_label != b.start_label for a, b in zip(bs.segments, twin.segments, strict=True)
    )
    assert agreement(bs, twin) == 1.0
    assert agreement(bs, twins.path_twin(twin, rng)) == 1.0


@pytest.mark.parametrize("name", ["CaO", "Cu", "InN", "Si", "OsO2", "Be4", "kagome"])
def test_half_the_k_points_draw_nearly_the_same(originals, name):
    """Every second k-point: lines between the remaining points differ from the dense ones
    by less than 1 % of the pixels on these paths (150–460 k-points). Sparser paths differ
    more (sumo's CASTEP Fe, 118 k-points: 97 %), before as after this change."""
    bs = originals[name]
    twin = twins.density_twin(bs)
    assert twin.nkpoints < 0.6 * bs.nkpoints
    assert agreement(bs, twin) >= 0.99


@pytest.mark.parametrize("name", ["CaO", "Si", "VBr2", "honeycomb"])
def test_fermi_level_anywhere_in_the_gap(originals, name):
    """E_F at 10 %, 50 % and 90 % of the gap: the same picture from mid-gap (the default) and
    from the VBM; from E_F the picture moves with it."""
    bs = originals[name]
    gap = bs.band_gap()
    assert not gap.is_metal and gap.energy > 0.1
    for fraction in (0.1, 0.5, 0.9):
        twin = twins.efermi_twin(bs, fraction)
        assert twin.efermi == pytest.approx(gap.vbm + fraction * gap.energy)
        assert agreement(bs, twin) == 1.0
        assert agreement(bs, twin, replace(SETTINGS, energy_reference="vbm")) == 1.0
    assert agreement(bs, twins.efermi_twin(bs, 0.9), BEFORE) < 1.0


def test_metal_has_no_fermi_twin(originals):
    with pytest.raises(BandprintError, match="metal"):
        twins.efermi_twin(originals["Cu"], 0.5)


@pytest.mark.parametrize("name", ["Be4", "kagome"])
def test_slab_without_its_2d_flag_is_found_from_the_structure(originals, name):
    """The slab twin has no 2-D flag, its vacuum along a1 instead of a3 and a flat segment
    out of the plane: the vacuum axis is found from the structure and the segment left out."""
    bs = originals[name]
    twin = twins.slab_twin(bs)
    assert "is_2d" not in twin.metadata and twin.path_string.endswith("–A")
    drawn, info = prepare_band_structure(twin)
    assert info["two_d"] and info["vacuum_axis"] == 0
    assert "A" not in drawn.path_string
    assert agreement(bs, twin) == 1.0
    # --bulk keeps the out-of-plane segment; the previous release (flag only) did too.
    assert agreement(bs, twin, replace(SETTINGS, dimensionality="bulk")) < 0.99
    assert agreement(bs, replace(twin, structure=None), BEFORE) < 0.99


def test_canonical_path_record(originals):
    """C2DB's rectangular path Γ–X–S–Y–Γ–S: the extra Γ–S is left out and recorded;
    the FCC path of CaO (Materials Project, Setyawan–Curtarolo) is kept whole."""
    _, info = prepare_band_structure(originals["Be4"])
    path = info["path"]
    assert path["applied"] and path["lattice_type"] == "rectangular"
    assert path["drawn"] == path["canonical"] == "Γ–X–S–Y–Γ"
    assert path["dropped"] == ["Γ–S"] and path["missing"] == []
    _, info = prepare_band_structure(originals["CaO"])
    assert info["path"]["drawn"] == info["path"]["original"] == "Γ–X–W–K–Γ–L–U–W–L–K|U–X"
    assert info["path"]["dropped"] == [] and info["path"]["reversed"] == 0
    _, info = prepare_band_structure(originals["CaO"], replace(SETTINGS, canonical_path=False))
    assert info["path"]["applied"] is False


def test_similar_returns_the_twin_first(originals, tmp_path):
    """A workspace of the originals and one twin of each kind, fingerprinted with the shipped
    model: every twin's nearest material by ``bandprint similar`` is its original."""
    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.store import Workspace
    from bandprint.workflows.fingerprint import fingerprint_workspace
    from bandprint.workflows.search import similar_materials

    rng = np.random.default_rng(11)
    made = []
    for name, bs in originals.items():
        made.append((twins.path_twin(bs, rng), name))
        made.append((twins.label_twin(bs, rng), name))
        if name in ("Be4", "kagome"):
            made.append((twins.slab_twin(bs), name))
        if name in ("CaO", "Si", "VBr2", "honeycomb"):
            made.append((twins.efermi_twin(bs, 0.8), name))
    ws = Workspace(tmp_path / "ws", create=True)
    records = [(bs, f"orig/{name}", name) for name, bs in originals.items()]
    records += [(t, f"twin/{t.material_id}", t.material_id) for t, _ in made]
    ws.add_band_structures(records)
    fingerprint_workspace(ws, load_default_fingerprinter(), progress=False)
    for twin, name in made:
        nearest = similar_materials(ws, twin.material_id, k=1)
        assert nearest["material_id"].iloc[0] == originals[name].material_id, twin.material_id


def test_show_and_render_state_path_and_reference(originals, tmp_path):
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    slab = twins.slab_twin(originals["kagome"])
    ws.add_band_structures([(originals["Be4"], "be4", "be4"), (slab, "slab", "slab")])
    mid = originals["Be4"].material_id
    # The vacuum axis is found when the structure is stored, so rendering without structures
    # still knows the slab; the catalogue calls the unflagged slab 2-D.
    stored = ws.get(slab.material_id, with_structure=False)
    assert stored.structure is None and stored.metadata["vacuum_axis"] == 0
    assert ws.get(mid, with_structure=False).metadata["vacuum_axis"] == 2
    assert ws.catalog().set_index("material_id").at[slab.material_id, "is_2d"]
    img = render_band_images([stored, originals["kagome"]], SETTINGS)
    np.testing.assert_array_equal(img[0], img[1])
    runner = CliRunner()
    out = runner.invoke(main, ["show", str(ws.path), mid, "--out", str(tmp_path / "b.png")])
    assert out.exit_code == 0, out.output
    assert "path drawn: Γ–X–S–Y–Γ (canonical rectangular path Γ–X–S–Y–Γ; written " in out.output
    assert "left out Γ–S" in out.output and "slab, vacuum along lattice vector 3" in out.output
    assert "energy reference: midgap" in out.output
    args = ["render", str(ws.path), mid, "--out", str(tmp_path / "r.png")]
    out = runner.invoke(main, [*args, "--keep-path", "--energy-reference", "fermi"])
    assert out.exit_code == 0, out.output
    assert "path drawn: Γ–X–S–Y–Γ–S (as written" in out.output
    assert "energy reference: fermi" in out.output


def test_spins_as_two_channels(originals):
    """Channel 0 is the spin-up image, channel 1 spin down; together they are the overlaid
    image. VBr2 (ferromagnetic) has most band pixels in one channel only; CaO has one spin,
    the same in both channels."""
    vbr2 = originals["VBr2"]
    ch = render_spin_channels(vbr2)
    assert ch.shape == (2, SETTINGS.size, SETTINGS.size)
    np.testing.assert_array_equal(
        ch[0], render_band_images([vbr2], replace(SETTINGS, spins="up"))[0]
    )
    np.testing.assert_array_equal(
        ch[1], render_band_images([vbr2], replace(SETTINGS, spins="down"))[0]
    )
    np.testing.assert_array_equal(ch.max(axis=0), render_band_images([vbr2], SETTINGS)[0])
    assert (ch[0] != ch[1]).sum() > 0.5 * ch.max(axis=0).sum()
    cao = render_spin_channels(originals["CaO"])
    np.testing.assert_array_equal(cao[0], cao[1])


def test_spin_orbit_is_recognised(originals):
    """C2DB says which of its band structures has spin–orbit coupling (``bs_nosoc`` read
    here); spinor bands in Kramers pairs (CaO's bands, each written twice) are recognised;
    ordinary bands are not called either way."""
    assert spin_orbit_of(originals["Be4"]) is False
    cao = originals["CaO"]
    assert spin_orbit_of(cao) is None
    doubled = replace(cao, energies=np.repeat(cao.energies, 2, axis=2), metadata={})
    assert spin_orbit_of(doubled) is True
    assert prepare_band_structure(doubled)[1]["spin_orbit"] is True
    # Two copies of one band draw the pixels of one.
    assert agreement(cao, doubled) == 1.0


def test_fingerprints_drawn_another_way_are_stored_apart(originals, tmp_path):
    from bandprint.fingerprint import load_default_fingerprinter
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(originals[n], n, n) for n in ("CaO", "Be4")])
    runner = CliRunner()
    for extra in ([], ["--keep-path", "--energy-reference", "fermi"]):
        out = runner.invoke(main, ["fingerprint", str(ws.path), "-q", *extra])
        assert out.exit_code == 0, out.output
    own = load_default_fingerprinter().model_id_
    models = ws.fingerprint_models()
    assert set(models) == {own, models[-1]} and models[-1].startswith(own + "-r")
    stored = ws.fingerprint_model_info(models[-1])["render"]
    assert stored["canonical_path"] is False and stored["energy_reference"] == "fermi"
    assert ws.fingerprint_model_info(own)["render"]["energy_reference"] == "midgap"


def test_flat_band_analysis_leaves_out_the_unflagged_slabs_vacuum_segment(originals):
    """Across the vacuum every band is flat: the slab twin's Γ–A segment (vacuum along a1)
    is left out by the flat-band detectors although no reader flagged the slab."""
    from bandprint.analyse.flatbands import analysed_band_structure

    twin = twins.slab_twin(originals["kagome"])
    kept, dropped, notes = analysed_band_structure(twin)
    assert dropped == ["Γ–A"] and notes == []
    assert kept.path_string == originals["kagome"].path_string
    assert analysed_band_structure(twin, in_plane=False)[1] == []
