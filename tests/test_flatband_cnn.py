"""The image flat-band detector: block cutting, a tiny training run, the shipped weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bandprint import read_band_structure, read_band_structures, zoo
from bandprint.analyse.flatband_cnn import (
    BLOCK_SHAPE,
    RENDER_VARIANTS,
    FlatBandCNN,
    TrainConfig,
    cut_blocks,
    detect_flat_bands_image,
    detect_flat_bands_in_image,
    evaluate_blocks,
    iter_detect_flat_bands_image,
    labelled_blocks,
    load_band_image,
    load_flatband_cnn,
    predict_blocks,
    render_for_blocks,
    save_flatband_cnn,
    train_flatband_cnn,
)
from bandprint.analyse.flatbands import detect_flat_bands
from bandprint.errors import BandprintError
from bandprint.render import save_band_image


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny batches: thread start-up costs more than it saves on a shared machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def kagome_sample(flat_at: float = 0.3):
    """Ideal kagome (t = 1 eV, flat band at +2 eV), E_F placed ``flat_at`` below the flat band."""
    return zoo.make_lattice("kagome", t=1.0).band_structure(
        "kagome-test", efermi=2.0 - flat_at, with_structure=False
    )


def square_sample():
    # Square lattice, bands −2t(cos kx + cos ky) from −4 to +4 eV; E_F at the band centre.
    return zoo.make_lattice("square", t=1.0).band_structure(
        "square-test", efermi=0.1, with_structure=False
    )


# -- cutting blocks ---------------------------------------------------------------------------
def test_cut_blocks_places_a_line_in_its_strip() -> None:
    # A 200-row image over −1.25…+1.25 eV (80 rows per eV); a line at +0.3 eV is row 76.
    image = np.zeros((200, 100), dtype=np.uint8)
    image[76, 10:60] = 1
    blocks = cut_blocks(image, [0, 50, 100], image_window=(-1.25, 1.25))
    assert blocks.shape == (4, 2, *BLOCK_SHAPE)
    ink = blocks.sum(axis=(2, 3))
    # Strip 2 (0…+0.5) of both segments holds it (the second only on 10 of its 50 columns);
    # strip 1's lower context band sees it too, strips 3 and 4 do not.
    assert ink[1, 0] > 0 and ink[1, 1] > 0 and ink[2:].sum() == 0
    assert ink[1, 0] > 3 * ink[1, 1]
    # In strip 2's block (strip spans rows 8…40 of 48) a line 0.3 eV down from the strip's
    # top edge at +0.5 eV sits 0.2/0.5 of the way down: row 8 + 0.4 · 32 ≈ 20.8.
    rows = blocks[1, 0].sum(axis=1)
    assert abs(float((rows * np.arange(48)).sum() / rows.sum()) - 20.8) < 1.0


def test_cut_blocks_checks_its_input() -> None:
    image = np.zeros((64, 64))
    with pytest.raises(BandprintError, match="2-D image"):
        cut_blocks(np.zeros(10), [0, 5], (-1, 1))
    with pytest.raises(BandprintError, match="boundaries"):
        cut_blocks(image, [10], (-1, 1))
    with pytest.raises(BandprintError, match="not decrease"):
        cut_blocks(image, [30, 10], (-1, 1))
    with pytest.raises(BandprintError, match="low < high"):
        cut_blocks(image, [0, 64], (1, -1))


# -- a tiny training run ----------------------------------------------------------------------
def _line_block(rng: np.random.Generator, flat: bool) -> np.ndarray:
    """A 48 × 32 block with one line across it: horizontal, or rising ≥ 12 rows."""
    block = np.zeros(BLOCK_SHAPE, dtype=np.float32)
    r0 = rng.uniform(10, 38)
    rise = 0.0 if flat else rng.choice([-1, 1]) * rng.uniform(12, 30)
    cols = np.arange(BLOCK_SHAPE[1])
    rows = np.clip(np.rint(r0 + rise * cols / (BLOCK_SHAPE[1] - 1)), 0, BLOCK_SHAPE[0] - 1)
    thick = rng.integers(1, 3)
    for d in range(thick):
        block[np.clip(rows + d, 0, BLOCK_SHAPE[0] - 1).astype(int), cols] = 1.0
    return block


def test_tiny_training_separates_horizontal_from_sloped_lines() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(360) < 0.5
    blocks = np.stack([_line_block(rng, bool(f)) for f in labels])
    x_train, y_train = blocks[:240], labels[:240]
    x_test, y_test = blocks[240:], labels[240:]
    untrained = FlatBandCNN()
    before = evaluate_blocks(untrained, x_test, y_test)["val_accuracy"]
    cfg = TrainConfig(epochs=6, batch_size=24, lr=5e-3, seed=0)
    model, history = train_flatband_cnn(x_train, y_train, x_test, y_test, cfg)
    after = evaluate_blocks(model, x_test, y_test)
    assert len(history) == 6 and history[-1]["train_loss"] < history[0]["train_loss"]
    assert after["val_accuracy"] >= 0.95 > before
    # Seeded: the same run gives the same weights.
    again, _ = train_flatband_cnn(x_train, y_train, config=cfg)
    assert torch.equal(model.head[-1].weight, again.head[-1].weight)


def test_save_and_load_round_trip(tmp_path) -> None:
    model = FlatBandCNN()
    model.eval()
    path = save_flatband_cnn(model, tmp_path / "m.pt", {"label_threshold": 0.1, "note": "x"})
    loaded = load_flatband_cnn(path)
    x = np.random.default_rng(1).random((5, *BLOCK_SHAPE)).astype(np.float32)
    assert np.allclose(predict_blocks(model, x), predict_blocks(loaded, x))
    assert loaded.info["note"] == "x"
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(BandprintError, match="not a flat-band CNN"):
        load_flatband_cnn(tmp_path / "bad.pt")
    with pytest.raises(BandprintError, match="no flat-band CNN weights"):
        load_flatband_cnn(tmp_path / "missing.pt")


# -- the shipped weights ----------------------------------------------------------------------
def test_shipped_cnn_agrees_with_eigen_detector_on_kagome_and_square() -> None:
    model = load_flatband_cnn()
    assert model.info["label_threshold"] == 0.1
    kag = kagome_sample(0.3)
    eig, img = detect_flat_bands(kag), detect_flat_bands_image(kag, model=model)
    assert eig.block_flat[1].all() and eig.block_flat.sum() == 3  # strip 2, every segment
    assert img.block_flat.tolist() == eig.block_flat.tolist()
    assert img.is_flat and img.strips == [2] and img.flat_strip == 2
    sq = square_sample()
    eig, img = detect_flat_bands(sq), detect_flat_bands_image(sq, model=model)
    assert not eig.block_flat.any()
    assert img.block_flat.tolist() == eig.block_flat.tolist()
    assert img.flatness_score < 0.2


@pytest.mark.parametrize("flat_at", [0.75, 0.3, -0.2, -0.7])
def test_shipped_cnn_finds_the_kagome_flat_band_in_each_strip(flat_at: float) -> None:
    kag = kagome_sample(flat_at)
    eig = detect_flat_bands(kag)
    img = detect_flat_bands_image(kag)
    assert img.strips == eig.strips == [int(2 - np.floor(flat_at / 0.5))]


def test_bare_image_gives_the_same_answer_as_the_band_structure(tmp_path) -> None:
    kag = kagome_sample(-0.2)
    image, window, pairs = render_for_blocks(kag)
    path = save_band_image(image, tmp_path / "kagome.png")
    loaded = load_band_image(path)
    assert np.array_equal(loaded, image)
    bare = detect_flat_bands_in_image(
        loaded, [pairs[0][0], *[p[1] for p in pairs]], window, segment_names=["a", "b", "c"]
    )
    direct = detect_flat_bands_image(kag)
    assert np.allclose(bare.block_score, direct.block_score, atol=1e-6)
    assert bare.strips == [3] and bare.segment_names == ["a", "b", "c"]
    # The published picture (224 px, ±4 eV) of the same material: a flat strip 3 again.
    published = RENDER_VARIANTS[1]
    image, window, pairs = render_for_blocks(kag, variant=published)
    assert window == (-4.0, 4.0) and image.shape == (224, 224)
    assert detect_flat_bands_in_image(image, pairs, window).strips == [3]


def test_batched_detection_equals_one_by_one() -> None:
    samples = [kagome_sample(0.3), square_sample(), kagome_sample(-0.7)]
    batched = list(iter_detect_flat_bands_image(samples, batch_materials=2))
    for bs, r in zip(samples, batched, strict=True):
        single = detect_flat_bands_image(bs)
        assert np.allclose(r.block_score, single.block_score, atol=1e-6)
        assert r.material_id == bs.material_id


def test_labelled_blocks_match_the_eigen_detector() -> None:
    kag = kagome_sample(0.3)
    x, y = labelled_blocks(kag)
    assert x.dtype == np.uint8 and x.shape == (12, *BLOCK_SHAPE)
    assert y.reshape(4, 3).tolist() == detect_flat_bands(kag).block_flat.tolist()


def test_kpoint_grid_without_a_path_is_not_analysed_by_the_cnn(real_dir) -> None:
    # NiO: 4 unlabelled grid k-points, path ?–?. The shipped CNN saw a flat strip 4 in its
    # picture (probability 0.91); with no path it is not judged, as in the eigenvalue detector.
    nio = read_band_structure(real_dir / "castep" / "NiO.bands")
    kag = kagome_sample(0.3)
    batch = list(iter_detect_flat_bands_image([nio, kag], batch_materials=2))
    for r in (detect_flat_bands_image(nio), batch[0]):
        assert r.material_id == "NiO" and r.detector == "image"
        assert (r.n_segments, r.is_flat, r.plane_flat, r.strips) == (0, False, False, [])
        assert r.block_score.shape == (4, 0) and r.flat_strip == 0
        assert r.notes == detect_flat_bands(nio).notes
        assert "no labelled high-symmetry path" in r.notes[0]
    # In a batch with it, the kagome is still flagged.
    assert batch[1].is_flat and batch[1].strips == [2] and batch[1].notes == []
    # No training blocks either (the labels would have been the artefact).
    x, y = labelled_blocks(nio)
    assert x.shape == (0, *BLOCK_SHAPE) and y.shape == (0,)
    assert render_for_blocks(nio)[2].shape == (0, 2)


@pytest.mark.parametrize(
    ("path", "segment"),
    [("pymatgen-json/CaO_2605_bandstructure.json", None), ("vasp/OsO2", "Γ–M")],
)
def test_cnn_blocks_sit_where_the_eigen_detector_puts_them(real_dir, path, segment) -> None:
    # CaO is an insulator (mid-gap far from E_F) and OsO2's path is not the canonical one: the
    # picture cut into blocks must keep E_F and the file's segment order, else flat bands land
    # in other strips (CaO: 10–11 for 8) or other segments (OsO2: Z–R for Γ–M).
    (bs,) = read_band_structures(real_dir / path)
    eig = detect_flat_bands(bs, window=(-6, 2))
    img = detect_flat_bands_image(bs, window=(-6, 2))
    assert eig.strips and img.strips == eig.strips
    assert img.block_flat.tolist() == eig.block_flat.tolist()
    if segment is not None:
        names = [eig.segment_names[j] for j in np.flatnonzero(eig.block_flat.any(axis=0))]
        assert names == [segment]
