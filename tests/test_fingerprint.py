"""Training, noise, checkpoints, encoding, model files, workspaces and the shipped model.

A tiny architecture (32 px, 2×2×2 latent) keeps training to seconds; the shipped model is
the real ``small`` one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from bandprint import BandprintError, read_band_structure
from bandprint.cli import main
from bandprint.fingerprint import (
    ENCODE_PRECISION,
    Fingerprinter,
    check_encoding,
    default_model_path,
    group_validation_mask,
    load_default_fingerprinter,
    random_erase,
    reconstruction_figure,
    traversal_figure,
)
from bandprint.model import AutoencoderConfig
from bandprint.render import RenderSettings, render_band_images
from bandprint.workflows.fingerprint import fingerprint_workspace, workspace_images

REAL = Path(__file__).parent / "data" / "real"
TINY = AutoencoderConfig("tiny", 32, (4, 8, 8, 8), 2, False)


@pytest.fixture(scope="module")
def zoo_samples():
    from bandprint import zoo

    return zoo.sample_zoo(48, seed=3)


@pytest.fixture(scope="module")
def tiny_images(zoo_samples):
    return render_band_images(zoo_samples, RenderSettings(size=32))


def tiny(**kwargs) -> Fingerprinter:
    kw = dict(config=TINY, epochs=3, batch_size=8, max_lr=3e-3, progress=False, device="cpu")
    return Fingerprinter(**{**kw, **kwargs})


@pytest.fixture(scope="module")
def trained(tiny_images):
    return tiny(epochs=3).fit(tiny_images)


# -- noise ----------------------------------------------------------------------------------
def test_noise_hits_about_half_and_leaves_target_untouched():
    images = (torch.rand(600, 1, 32, 32) < 0.1).float()
    before = images.clone()
    noised, hit = random_erase(images, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(images, before)  # the target is not modified
    changed = (noised != images).flatten(1).any(1)
    assert 0.42 < hit.float().mean() < 0.58
    assert torch.equal(changed, hit)
    # One rectangle per hit image, at most ~0.3 of its area (rounding of the sides aside).
    for i in torch.nonzero(hit).flatten()[:50].tolist():
        rows = torch.nonzero((noised[i, 0] != images[i, 0]).any(1)).flatten()
        cols = torch.nonzero((noised[i, 0] != images[i, 0]).any(0)).flatten()
        h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        assert h * w <= 0.36 * 32 * 32
    assert not (noised[~hit] != images[~hit]).any()


def test_noise_probability_zero_and_one():
    images = torch.zeros(20, 1, 16, 16)
    gen = torch.Generator().manual_seed(0)
    assert not random_erase(images, 0.0, gen)[1].any()
    assert random_erase(images, 1.0, gen)[1].all()


# -- training -------------------------------------------------------------------------------
def test_training_learns_more_than_the_ink_fraction():
    # Images with one band pixel row at a random height: learnable by a tiny model, which must
    # beat the constant guess (the mean ink fraction, what an untrained decoder outputs) on
    # held-out images.
    rng = np.random.default_rng(0)
    images = np.zeros((64, 32, 32), np.uint8)
    images[np.arange(64), rng.integers(2, 30, 64)] = 1
    fp = tiny(epochs=10, batch_size=4, max_lr=1e-2, noise_prob=0.0).fit(images)
    h = fp.history_
    assert len(h) == 10 and fp.n_val_ == 6 and fp.n_train_ == 58
    assert h[-1]["train_bce"] < 0.85 * h[0]["train_bce"]
    assert h[-1]["val_bce"] < 0.85 * fp.baseline_bce_


def test_training_losses_have_their_closed_forms_at_an_undecided_output():
    from bandprint.fingerprint import training_loss

    # Logits 0 predict 0.5 everywhere: BCE = ln 2 per pixel; focal weighs each by
    # (1 - 0.5)^2; weighted BCE weighs the ink pixels by w; Dice of p = 0.5 against k ink
    # pixels of N is (2 · 0.5 k + 1) / (0.5 N + k + 1).
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, 1, :] = 1  # 4 ink pixels of 16
    target[1, 0, :2, :] = 1  # 8 of 16
    logits = torch.zeros_like(target)
    ln2 = float(np.log(2))
    assert float(training_loss(logits, target, "bce")) == pytest.approx(ln2)
    assert float(training_loss(logits, target, "focal")) == pytest.approx(0.25 * ln2)
    ink = 12 / 32
    w = 3.0
    expected = (w * ink + (1 - ink)) * ln2
    assert float(training_loss(logits, target, "weighted-bce", w)) == pytest.approx(expected)
    dice = np.mean([(2 * 0.5 * k + 1) / (0.5 * 16 + k + 1) for k in (4, 8)])
    assert float(training_loss(logits, target, "bce+dice")) == pytest.approx(ln2 + 1 - dice)
    # A confident, right prediction costs less under every loss.
    sure = (target * 2 - 1) * 8
    for loss in ("bce", "weighted-bce", "focal", "bce+dice"):
        assert float(training_loss(sure, target, loss)) < float(training_loss(logits, target, loss))


def test_a_model_trained_with_another_loss_records_it(tiny_images, tmp_path):
    fp = tiny(epochs=2, loss="focal").fit(tiny_images[:24])
    assert fp.train_settings_.loss == "focal"
    # Reported training figures stay plain BCE, comparable across losses.
    plain = tiny(epochs=2).fit(tiny_images[:24])
    assert fp.history_[0]["train_bce"] == pytest.approx(plain.history_[0]["train_bce"], rel=0.5)
    fp.save(tmp_path / "focal.pt")
    assert Fingerprinter.load(tmp_path / "focal.pt").train_settings_.loss == "focal"
    with pytest.raises(BandprintError, match="unknown loss 'l1'; choose one of bce"):
        tiny(loss="l1").fit(tiny_images[:24])


# -- the twin pull --------------------------------------------------------------------------
def test_pull_loss_is_zero_for_twins_scale_free_and_grows_with_distance():
    from bandprint.fingerprint import pull_loss

    gen = torch.Generator().manual_seed(0)
    batch = torch.randn(16, 2, 2, 2, generator=gen)
    anchors = batch[:4]
    assert float(pull_loss(anchors, anchors.clone(), batch)) == 0.0
    near = anchors + 0.1 * torch.randn(anchors.shape, generator=gen)
    far = anchors + 1.0 * torch.randn(anchors.shape, generator=gen)
    base = float(pull_loss(anchors, near, batch))
    assert 0 < base < float(pull_loss(anchors, far, batch))
    # Scaling every fingerprint by one factor changes nothing: the encoder cannot win by
    # shrinking all fingerprints.
    assert float(pull_loss(10 * anchors, 10 * near, 10 * batch)) == pytest.approx(base, rel=1e-5)
    # Closed form: mean squared pair distance over the mean squared distance to the mean.
    flat = batch.flatten(1)
    spread = float(((flat - flat.mean(0)) ** 2).sum(1).mean())
    pairs = float(((anchors - near).flatten(1) ** 2).sum(1).mean())
    assert base == pytest.approx(pairs / spread, rel=1e-5)
    with pytest.raises(BandprintError, match="4 anchors but 3 partners"):
        pull_loss(anchors, near[:3], batch)


def test_partners_come_from_the_anchor_group_on_the_training_side():
    from bandprint.fingerprint import _group_codes, _Partners

    groups = ["a", "a", "a", "b", "b", "c", "d", "d"]
    codes = _group_codes(groups, 8)
    train = np.array([0, 1, 2, 3, 5, 6])  # 4 (b) and 7 (d) validate
    partners = _Partners(codes, train)
    assert partners.n_pairable == 3  # the three a's; b, c and d have one training image each
    rng = np.random.default_rng(0)
    seen: dict[int, set[int]] = {0: set(), 1: set(), 2: set()}
    for _ in range(50):
        rows, mates = partners.draw(train, rng)
        assert rows.tolist() == [0, 1, 2]
        for anchor, mate in zip(train[rows], mates, strict=True):
            seen[int(anchor)].add(int(mate))
    assert seen == {0: {1, 2}, 1: {0, 2}, 2: {0, 1}}  # never itself, never a validation item
    a = partners.draw(train, np.random.default_rng(3))[1]
    assert np.array_equal(a, partners.draw(train, np.random.default_rng(3))[1])


@pytest.fixture
def one_thread():
    # Tiny batches: thread start-up costs more than it saves on a shared machine.
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def shifted_twins(zoo_samples, n: int, shift_ev: float = 0.3):
    """``n`` zoo materials drawn twice, the second time with the energy window moved by
    ``shift_ev``: two views of each material, and their group labels."""
    from dataclasses import replace

    settings = RenderSettings(size=32)
    lo, hi = settings.window
    moved = replace(settings, window=(lo + shift_ev, hi + shift_ev))
    images = np.concatenate(
        [render_band_images(zoo_samples[:n], settings), render_band_images(zoo_samples[:n], moved)]
    )
    return images, [b.material_id for b in zoo_samples[:n]] * 2


def test_twin_pull_brings_views_of_one_material_together(zoo_samples, one_thread):
    """Relative to the distances between different materials, the two views of one material
    end closer together with the pull than without it, from the same seed."""
    images, groups = shifted_twins(zoo_samples, 32)
    mates = np.equal.outer(groups, groups) & ~np.eye(len(groups), dtype=bool)
    strangers = ~np.equal.outer(groups, groups)

    def mate_ratio(pull_weight: float) -> float:
        fp = tiny(epochs=6, val_fraction=0.0, pull_weight=pull_weight).fit(images, groups=groups)
        z = fp.transform(images)
        d = ((z[:, None] - z[None]) ** 2).sum(-1)
        return float(d[mates].mean() / d[strangers].mean())

    plain, pulled = mate_ratio(0.0), mate_ratio(3.0)
    assert pulled < 0.5 * plain


def test_twin_pull_is_recorded_and_resumes_exactly(zoo_samples, tmp_path, one_thread):
    from sklearn.base import clone

    images, groups = shifted_twins(zoo_samples, 12)
    straight = tiny(epochs=3, pull_weight=2.0).fit(images, groups=groups)
    assert all(e["train_pull"] > 0 for e in straight.history_)
    assert straight.train_settings_.pull_weight == 2.0 and straight.info()["pull_weight"] == 2.0
    assert clone(straight).get_params()["pull_weight"] == 2.0
    straight.save(tmp_path / "m.pt")
    assert Fingerprinter.load(tmp_path / "m.pt").info()["pull_weight"] == 2.0
    ckpt = tmp_path / "run.ckpt"
    tiny(epochs=3, pull_weight=2.0, checkpoint=ckpt).fit(images, groups=groups, stop_after=1)
    resuming = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False)
    assert resuming.pull_weight == 2.0
    resumed = resuming.fit(images, groups=[f"other {g}" for g in groups])  # relabelled: same
    strip = lambda h: [(e["train_bce"], e["val_bce"], e["train_pull"]) for e in h]  # noqa: E731
    assert strip(resumed.history_) == strip(straight.history_)
    assert resumed.model_id_ == straight.model_id_
    tiny(epochs=3, pull_weight=2.0, checkpoint=ckpt).fit(images, groups=groups, stop_after=1)
    with pytest.raises(BandprintError, match="other groups; resume needs the same groups"):
        Fingerprinter.from_checkpoint(ckpt, progress=False).fit(
            images, groups=[i // 2 for i in range(24)]
        )
    # Without the pull, groups change nothing.
    a = tiny(epochs=1).fit(images[:16])
    b = tiny(epochs=1).fit(images[:16], groups=groups[:16])
    assert a.model_id_ == b.model_id_


def test_twin_pull_refuses_bad_groups(tiny_images):

    data = tiny_images[:8]
    with pytest.raises(BandprintError, match="pull_weight > 0 needs groups"):
        tiny(pull_weight=1.0).fit(data)
    with pytest.raises(BandprintError, match="groups has 7 labels for 8 images"):
        tiny(pull_weight=1.0).fit(data, groups=[0, 0, 1, 1, 2, 2, 3])
    with pytest.raises(BandprintError, match="groups has 9 labels for 8 images"):
        tiny().fit(data, groups=list(range(9)))  # checked even without the pull
    with pytest.raises(BandprintError, match="one label per image"):
        tiny(pull_weight=1.0).fit(data, groups="aabbccdd")
    with pytest.raises(BandprintError, match="hashable"):
        tiny(pull_weight=1.0).fit(data, groups=[[0]] * 8)
    with pytest.raises(BandprintError, match="no group holds two training-side images"):
        tiny(pull_weight=1.0).fit(data, groups=list(range(8)))
    with pytest.raises(BandprintError, match="pull weight must be a finite number >= 0"):
        tiny(pull_weight=-0.5).fit(data, groups=[0] * 8)


def test_settings_stored_before_the_twin_pull_load():
    from dataclasses import asdict

    from bandprint.fingerprint import TrainSettings

    old = {k: v for k, v in asdict(TrainSettings(epochs=4)).items() if k != "pull_weight"}
    assert TrainSettings.from_dict(old) == TrainSettings(epochs=4, pull_weight=0.0)
    old_v1 = {**old, "seed": old.pop("random_state")}
    assert TrainSettings.from_dict(old_v1).pull_weight == 0.0


def test_fitted_attributes(trained):
    assert len(trained.history_) == 3 and trained.n_val_ == 5 and trained.n_train_ == 43
    assert trained.model_id_.startswith("tiny-") and len(trained.model_id_) == 15
    info = trained.info()
    assert info["fingerprint_length"] == 8 and info["render"]["size"] == 32


def test_seeded_training_is_repeatable(tiny_images):
    a = tiny(epochs=2).fit(tiny_images[:24])
    b = tiny(epochs=2).fit(tiny_images[:24])
    c = tiny(epochs=2, random_state=1).fit(tiny_images[:24])
    strip = lambda h: [(e["train_bce"], e["val_bce"]) for e in h]  # noqa: E731
    assert strip(a.history_) == strip(b.history_)
    assert a.model_id_ == b.model_id_
    assert a.model_id_ != c.model_id_


def test_resume_continues_exactly(tiny_images, tmp_path):
    data = tiny_images[:24]
    straight = tiny(epochs=3).fit(data)
    ckpt = tmp_path / "run.ckpt"
    first = tiny(epochs=3, checkpoint=ckpt).fit(data, stop_after=1)
    assert len(first.history_) == 1 and ckpt.is_file()
    # A fresh object: everything (settings, optimiser, schedule, epoch) comes from the file.
    resuming = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False)
    assert resuming.get_params() == {
        **first.get_params(),
        "preset": "tiny",
        "precision": first.precision_,
        "render": first.render_,
    }
    resumed = resuming.fit(data)
    strip = lambda h: [(e["epoch"], e["train_bce"], e["val_bce"]) for e in h]  # noqa: E731
    assert strip(resumed.history_) == strip(straight.history_)
    assert resumed.model_id_ == straight.model_id_
    with pytest.raises(BandprintError, match="already trained"):
        Fingerprinter.from_checkpoint(ckpt, progress=False).fit(data)
    with pytest.raises(BandprintError, match="other images"):
        Fingerprinter.from_checkpoint(ckpt, progress=False).fit(tiny_images[24:])


def test_resume_refuses_changed_parameters(tiny_images, tmp_path):
    """fit never rewrites parameters: a resumed run whose parameters were changed since is
    refused, naming what differs."""
    ckpt = tmp_path / "run.ckpt"
    tiny(epochs=3, checkpoint=ckpt).fit(tiny_images[:16], stop_after=1)
    resuming = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False)
    resuming.set_params(epochs=5, random_state=7)
    with pytest.raises(BandprintError, match="other epochs, random_state than"):
        resuming.fit(tiny_images[:16])
    assert resuming.get_params()["epochs"] == 5  # left as set
    model_file = tmp_path / "model.pt"
    tiny(epochs=1).fit(tiny_images[:16]).save(model_file)
    with pytest.raises(BandprintError, match="not a training checkpoint"):
        Fingerprinter.from_checkpoint(model_file)


def test_checkpoint_records_the_precision_used(tiny_images, tmp_path):
    """The precision "auto" is a request; the checkpoint stores what it resolved to on this
    machine, and a resumed run continues in that precision."""
    from bandprint.fingerprint import autocast_dtype

    used = str(autocast_dtype(torch.device("cpu"), "auto") or torch.float32)
    used = used.removeprefix("torch.")
    ckpt = tmp_path / "run.ckpt"
    first = tiny(epochs=2, checkpoint=ckpt, precision="auto").fit(tiny_images[:16], stop_after=1)
    assert first.precision_ == used
    assert torch.load(ckpt, weights_only=True)["precision"] == used
    resumed = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False)
    assert resumed.precision == used
    assert resumed.fit(tiny_images[:16]).precision_ == used


def test_group_validation_mask_keeps_every_material_on_one_side():
    # 40 materials with 9 copies each (e.g. Fermi-level offsets) and 100 single images.
    groups = [f"m{i // 9}" for i in range(9 * 40)] + [f"z{i}" for i in range(100)]
    mask = group_validation_mask(groups, 0.1, seed=0)
    sides: dict[str, set[bool]] = {}
    for g, v in zip(groups, mask, strict=True):
        sides.setdefault(g, set()).add(bool(v))
    assert all(len(s) == 1 for s in sides.values())  # no material on both sides
    assert sum(True in s for s in sides.values()) == 14  # round(0.1 × 140 groups)
    np.testing.assert_array_equal(mask, group_validation_mask(groups, 0.1, seed=0))
    assert not np.array_equal(mask, group_validation_mask(groups, 0.1, seed=1))
    assert not group_validation_mask(groups, 0.0).any()
    never_all = group_validation_mask(["a", "b", "b"], 0.9).tolist()
    assert never_all in ([True, False, False], [False, True, True])


def test_fit_validates_on_the_given_items(tiny_images, tmp_path):
    data, val = tiny_images[:16], [0, 1, 2, 3]
    ckpt = tmp_path / "run.ckpt"
    fp = tiny(epochs=2, checkpoint=ckpt).fit(data, stop_after=1, val_indices=val)
    assert (fp.n_train_, fp.n_val_) == (12, 4)
    assert fp.history_[-1]["val_bce"] == pytest.approx(fp.reconstruction_bce(data[val]), rel=1e-6)
    assert fp.score(data[val]) == -fp.reconstruction_bce(data[val])
    assert torch.load(ckpt, weights_only=True)["val_indices"] == val
    resumed = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False).fit(data)
    assert resumed.n_val_ == 4
    assert resumed.history_[-1]["val_bce"] == pytest.approx(
        resumed.reconstruction_bce(data[val]), rel=1e-6
    )
    with pytest.raises(BandprintError, match="validated on other items"):
        Fingerprinter.from_checkpoint(ckpt, progress=False).fit(data, val_indices=[5])
    with pytest.raises(BandprintError, match="nothing to train on"):
        tiny().fit(data, val_indices=range(16))


def test_band_structures_are_rendered_with_the_model_settings(trained, zoo_samples):
    from_bs = trained.transform(zoo_samples[:5])
    from_images = trained.transform(render_band_images(zoo_samples[:5], RenderSettings(size=32)))
    assert np.array_equal(from_bs, from_images)
    with pytest.raises(BandprintError, match="expected"):
        trained.transform(np.zeros((2, 64, 64)))


# -- encoding -------------------------------------------------------------------------------
def test_transform_is_deterministic_and_batch_independent(trained, tiny_images):
    a = trained.transform(tiny_images)
    assert a.shape == (48, 8) and a.dtype == np.float32
    assert np.array_equal(a, trained.transform(tiny_images))
    np.testing.assert_allclose(a, trained.transform(tiny_images, batch_size=5), atol=1e-5)


def test_encoding_runs_in_full_float32_and_says_so(trained, tiny_images, monkeypatch):
    """TF32 (PyTorch's default for CUDA convolutions) and oneDNN's reduced-precision float32
    are off while encoding, cuDNN picks deterministic algorithms, and the settings are put
    back after; the fingerprints' metadata records the device and the precision."""
    from bandprint.fingerprint import ENCODE_PRECISION

    b = torch.backends
    switches = {
        "cudnn.conv": (b.cudnn.conv, "fp32_precision"),
        "cuda.matmul": (b.cuda.matmul, "fp32_precision"),
        "mkldnn.conv": (b.mkldnn.conv, "fp32_precision"),
        "mkldnn.matmul": (b.mkldnn.matmul, "fp32_precision"),
        "cudnn.deterministic": (b.cudnn, "deterministic"),
        "cudnn.benchmark": (b.cudnn, "benchmark"),
    }
    state = lambda: {k: getattr(o, a) for k, (o, a) in switches.items()}  # noqa: E731
    outside = state()
    seen = []
    encode = trained.model_.encode

    def spy(x):
        seen.append(state())
        return encode(x)

    monkeypatch.setattr(trained.model_, "encode", spy)
    try:
        # A GPU user's settings: TF32 convolutions, benchmark mode.
        b.cudnn.conv.fp32_precision = "tf32"
        b.cudnn.benchmark = True
        before = state()
        trained.transform(tiny_images[:3])
        after = state()
    finally:
        for k, (o, a) in switches.items():
            setattr(o, a, outside[k])
    assert seen == [
        {
            "cudnn.conv": "ieee",
            "cuda.matmul": "ieee",
            "mkldnn.conv": "ieee",
            "mkldnn.matmul": "ieee",
            "cudnn.deterministic": True,
            "cudnn.benchmark": False,
        }
    ]
    assert after == before
    info = trained.info()
    assert info["encode_device"] == "cpu" and info["encode_precision"] == ENCODE_PRECISION
    assert info["torch_version"] == torch.__version__


def test_fingerprint_does_not_depend_on_its_batch(trained, tiny_images):
    # An uploaded file is encoded alone; the stored copy was encoded in a batch. Under p = 0.2
    # even 1e-6 differences add up to a clearly non-zero distance, so they must be bitwise equal.
    batch = trained.transform(tiny_images)
    for i in (0, 7, 47):
        alone = trained.transform(tiny_images[i : i + 1])
        shifted = trained.transform(tiny_images[i:])
        assert np.array_equal(alone[0], batch[i])
        assert np.array_equal(shifted[0], batch[i])


def test_decode_and_reconstruct(trained, tiny_images):
    latent = trained.transform(tiny_images[:4])
    decoded = trained.decode(latent)
    recon = trained.reconstruct(tiny_images[:4])
    assert decoded.shape == recon.shape == (4, 32, 32)
    np.testing.assert_allclose(decoded, recon, atol=1e-5)
    assert ((recon >= 0) & (recon <= 1)).all()
    assert np.isclose(trained.decode(latent.reshape(4, 2, 2, 2)), decoded, atol=1e-6).all()


def test_save_load_round_trip(trained, tiny_images, tmp_path):
    trained.save(tmp_path / "m.pt")
    back = Fingerprinter.load(tmp_path / "m.pt", device="cpu")
    assert back.model_id_ == trained.model_id_
    assert back.render_ == trained.render_ and back.config_ == trained.config_
    assert back.history_ == trained.history_
    assert np.array_equal(back.transform(tiny_images), trained.transform(tiny_images))
    # Half precision: a different (rounded) model, close fingerprints, its own identity.
    trained.save(tmp_path / "h.pt", half=True)
    half = Fingerprinter.load(tmp_path / "h.pt")
    assert half.model_id_ != trained.model_id_
    np.testing.assert_allclose(
        half.transform(tiny_images), trained.transform(tiny_images), atol=0.05
    )


def test_bad_model_files(tmp_path):
    with pytest.raises(BandprintError, match="no such model file"):
        Fingerprinter.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(BandprintError, match="not a bandprint model file"):
        Fingerprinter.load(tmp_path / "junk.pt")
    with pytest.raises(BandprintError, match="not trained"):
        Fingerprinter().transform(np.zeros((1, 112, 112)))


# -- the shipped model ----------------------------------------------------------------------
def test_shipped_model_encodes_a_real_sample():
    assert default_model_path().is_file()
    assert default_model_path().stat().st_size < 5_000_000
    fp = load_default_fingerprinter()
    assert fp.config_.name == "small" and fp.render_.size == 112
    assert fp.model_id_.startswith("small-")
    bs = read_band_structure(REAL / "pymatgen-json" / "Cu_30_bandstructure.json")
    vec = fp.transform(bs)
    assert vec.shape == (1, 98) and np.isfinite(vec).all()
    # Trained: it reconstructs held-out images better than the constant guess.
    last = fp.history_[-1]
    assert last["val_bce"] < 0.5 * fp.baseline_bce_


# -- workspaces and commands ----------------------------------------------------------------
@pytest.fixture
def workspace(tmp_path, zoo_samples):
    from bandprint.store import Workspace

    ws = Workspace(tmp_path / "ws", create=True)
    ws.add_band_structures([(bs, bs.material_id, "x") for bs in zoo_samples[:20]])
    return ws


def test_fingerprint_workspace_encodes_only_new_materials(workspace, trained, zoo_samples):
    report = fingerprint_workspace(workspace, trained, progress=False)
    assert report.encoded == 20 and report.already == 0
    ids, vectors = workspace.read_fingerprints(trained.model_id_)
    by_id = dict(zip(ids, vectors, strict=True))
    expected = trained.transform(zoo_samples[:20])
    for bs, vec in zip(zoo_samples[:20], expected, strict=True):
        np.testing.assert_allclose(by_id[bs.material_id], vec, atol=1e-6)
    stored = workspace.fingerprint_model_info(trained.model_id_)
    assert stored["fingerprint_length"] == 8
    assert stored["encode_device"] == "cpu" and stored["encode_devices"] == ["cpu"]
    assert stored["encode_precision"].startswith("float32, IEEE")
    workspace.add_band_structures([(bs, bs.material_id, "x") for bs in zoo_samples[20:23]])
    again = fingerprint_workspace(workspace, trained, progress=False)
    assert again.encoded == 3 and again.already == 20


def test_fingerprints_of_another_device_are_not_added_to_a_set(workspace, trained, zoo_samples):
    """A set encoded on a GPU gets no CPU-encoded fingerprints (and the reverse): their float32
    rounding differs, which the p = 0.2 distance magnifies. --redo re-encodes the whole set."""
    fingerprint_workspace(workspace, trained, progress=False)
    mid = trained.model_id_
    info = workspace.fingerprint_model_info(mid)
    as_if_gpu = {**info, "encode_device": "cuda:0", "encode_devices": ["cuda:0"]}
    workspace.write_fingerprints(mid, [], np.zeros((0, 8)), as_if_gpu)
    workspace.add_band_structures([(bs, bs.material_id, "x") for bs in zoo_samples[20:22]])
    with pytest.raises(BandprintError) as err:
        fingerprint_workspace(workspace, trained, progress=False)
    message = str(err.value)
    assert "\n" not in message and f"model {mid}" in message
    assert f"encoded on cuda in {ENCODE_PRECISION}, these on cpu in {ENCODE_PRECISION}" in message
    assert len(workspace.read_fingerprints(mid)[0]) == 20  # nothing was added
    redone = fingerprint_workspace(workspace, trained, redo=True, progress=False)
    assert redone.encoded == 22
    assert workspace.fingerprint_model_info(mid)["encode_devices"] == ["cpu"]


def test_check_encoding_names_both_sides():
    from bandprint.fingerprint import set_encode_device

    cpu = {"encode_device": "cpu", "encode_devices": ["cpu"], "encode_precision": ENCODE_PRECISION}
    check_encoding(cpu, "cpu", ENCODE_PRECISION)  # same device kind and precision: fine
    check_encoding({}, "cuda:0", ENCODE_PRECISION)  # nothing recorded (older sets): no check
    with pytest.raises(BandprintError, match=r"ws: the stored .* on cpu in float32.* on cuda in"):
        check_encoding(cpu, "cuda:1", ENCODE_PRECISION, "ws")
    with pytest.raises(BandprintError, match=r"in float32, IEEE.*, these on cpu in tf32"):
        check_encoding(cpu, "cpu", "tf32")
    mixed = {**cpu, "encode_devices": ["cpu", "cuda"]}
    with pytest.raises(BandprintError, match="encoded on cpu and cuda and are not comparable"):
        check_encoding(mixed, "cpu", ENCODE_PRECISION)
    assert set_encode_device(cpu) == set_encode_device({}) == "cpu"
    with pytest.raises(BandprintError, match="cpu and cuda"):
        set_encode_device(mixed)
    gpu = {**cpu, "encode_device": "cuda:0", "encode_devices": ["cuda:0"]}
    if torch.cuda.is_available():
        assert set_encode_device(gpu) == "cuda"
    else:
        with pytest.raises(BandprintError, match="encoded on cuda, and this machine has no CUDA"):
            set_encode_device(gpu, "ws")


def test_workspace_images_cache(workspace, zoo_samples):
    settings = RenderSettings(size=32)
    ids, images, skipped = workspace_images(workspace, settings, progress=False)
    assert len(ids) == 20 and not skipped
    assert (workspace.path / "cache" / f"images-{settings.key}.npz").is_file()
    # A re-ingested material (changed) and a new one are rendered; the rest come from cache.
    changed = zoo_samples[0]
    changed.energies = changed.energies + 1.0
    workspace.add_band_structures([(changed, "k", "y"), (zoo_samples[30], "k2", "z")])
    ids2, images2, _ = workspace_images(workspace, settings, progress=False)
    assert len(ids2) == 21
    pos = {m: i for i, m in enumerate(ids2)}
    expected = render_band_images([changed, zoo_samples[30]], settings)
    assert np.array_equal(images2[pos[changed.material_id]], expected[0])
    assert np.array_equal(images2[pos[zoo_samples[30].material_id]], expected[1])
    assert np.array_equal(images2[pos[ids[5]]], images[5])


def test_cli_commands(workspace, trained, tmp_path):
    model = tmp_path / "tiny.pt"
    trained.save(model)
    ws = str(workspace.path)
    mid = workspace.ids()[0]
    runner = CliRunner()
    r = runner.invoke(main, ["render", ws, mid, "--out", str(tmp_path / "a.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.png").is_file()
    r = runner.invoke(main, ["fingerprint", ws, "--model", str(model), "-q"])
    assert r.exit_code == 0, r.output
    assert "encoded 20 materials" in r.output
    r = runner.invoke(main, ["fingerprint", ws, "--model", str(model), "-q"])
    assert "encoded 0 materials, 20 already" in r.output
    out = tmp_path / "r.png"
    r = runner.invoke(main, ["reconstruct", ws, mid, "--out", str(out), "--model", str(model)])
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 1000
    out = tmp_path / "t.png"
    args = ["traverse", ws, mid, "--channel", "1", "--pos", "1,0", "--out", str(out)]
    r = runner.invoke(main, [*args, "--model", str(model), "--deltas", "-1,0,1"])
    assert r.exit_code == 0, r.output
    assert out.is_file()
    r = runner.invoke(main, [*args, "--model", str(model), "--pos", "5,5"])
    assert r.exit_code == 2 and "outside the 2×2 latent grid" in r.output
    r = runner.invoke(main, ["fingerprint", ws, "--model", str(tmp_path / "none.pt")])
    assert r.exit_code == 2 and "no such model file" in r.output


def test_cli_train_small_preset(workspace, tmp_path):
    out = tmp_path / "m.pt"
    args = ["train", str(workspace.path), "--epochs", "1", "--out", str(out), "-q"]
    r = CliRunner().invoke(main, [*args, "--batch-size", "8"])
    assert r.exit_code == 0, r.output
    fp = Fingerprinter.load(out)
    assert fp.config_.name == "small" and len(fp.history_) == 1 and fp.n_train_ == 18
    assert Path(f"{out}.ckpt").is_file()
    assert fp.model_id_ in r.output
    # The spin preset and another loss: two-channel pictures, the loss recorded.
    out2 = tmp_path / "spin.pt"
    args2 = ["train", str(workspace.path), "--epochs", "1", "--out", str(out2), "-q"]
    r = CliRunner().invoke(main, [*args2, "--preset", "small-spin", "--loss", "focal", "--2d"])
    assert r.exit_code == 0, r.output
    fp = Fingerprinter.load(out2)
    assert fp.config_.channels == 2 and fp.render_settings.spins == "channels"
    assert fp.train_settings_.loss == "focal"
    r = CliRunner().invoke(main, [*args2, "--loss", "l1"])
    assert r.exit_code == 2 and r.output.startswith("error: unknown loss 'l1'")


def test_figures(trained, zoo_samples):
    fig = reconstruction_figure(trained, zoo_samples[0])
    assert len(fig.axes) == 4
    fig = traversal_figure(trained, zoo_samples[0], channel=0, pos=(1, 1), deltas=[0, 0.5, 0.9])
    assert len(fig.axes) == 4
    with pytest.raises(BandprintError, match="channel 2"):
        traversal_figure(trained, zoo_samples[0], channel=2, pos=(0, 0))
