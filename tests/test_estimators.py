"""The scikit-learn conventions of bandprint's estimators: parameters are the constructor's
arguments stored unchanged, ``clone`` gives an equal, unfitted estimator, ``fit`` changes no
parameter, ``random_state`` makes fits repeatable, ``score`` is higher-is-better, and the
estimators work inside scikit-learn's own machinery (``clone``, ``Pipeline``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from bandprint.analyse.cluster import FingerprintClusterer, cluster_fingerprints
from bandprint.analyse.embed import FingerprintMap, embed_fingerprints
from bandprint.analyse.structure import STRUCTURE_FINGERPRINT_LENGTH, StructureFingerprinter
from bandprint.fingerprint import Fingerprinter
from bandprint.model import AutoencoderConfig
from bandprint.render import RenderSettings
from synthetic_fingerprints import clustered

TINY = AutoencoderConfig("tiny", 32, (4, 8, 8, 8), 2, False)


def tiny(**kwargs) -> Fingerprinter:
    kw = dict(config=TINY, epochs=3, batch_size=8, max_lr=3e-3, progress=False, device="cpu")
    return Fingerprinter(**{**kw, **kwargs})


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    from bandprint import zoo
    from bandprint.render import render_band_images

    return render_band_images(zoo.sample_zoo(32, seed=3), RenderSettings(size=32))


@pytest.fixture(scope="module")
def trained(images) -> Fingerprinter:
    return tiny().fit(images)


# Each estimator with every parameter set away from its default, so that a parameter dropped
# or rewritten by the constructor, get_params or clone shows.
ESTIMATORS = {
    "Fingerprinter": lambda: Fingerprinter(
        preset="paper",
        epochs=7,
        batch_size=16,
        max_lr=2e-3,
        weight_decay=0.02,
        noise_prob=0.25,
        val_fraction=0.2,
        random_state=5,
        loss="focal",
        device="cpu",
        precision="float32",
        config=TINY,
        render=RenderSettings(size=32),
        checkpoint="run.ckpt",
        progress=False,
        encode_batch_size=8,
        pull_weight=0.5,
    ),
    "FingerprintClusterer": lambda: FingerprintClusterer(
        min_cluster_size=7,
        min_samples=3,
        p=0.5,
        root=False,
        strategy="exact",
        cluster_selection_method="leaf",
        allow_single_cluster=True,
        cluster_selection_epsilon=0.1,
        max_cluster_fraction=0.8,
        random_state=4,
    ),
    "FingerprintMap": lambda: FingerprintMap(
        method="tsne",
        n_neighbors=12,
        min_dist=0.2,
        random_state=3,
        p=1.0,
        root=False,
        perplexity=10.0,
        init="random",
    ),
    "StructureFingerprinter": lambda: StructureFingerprinter(n_jobs=1),
}
MIXIN = {
    "Fingerprinter": TransformerMixin,
    "FingerprintClusterer": ClusterMixin,
    "FingerprintMap": TransformerMixin,
    "StructureFingerprinter": TransformerMixin,
}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_parameters_are_the_constructor_arguments_stored_unchanged(name):
    est = ESTIMATORS[name]()
    assert isinstance(est, BaseEstimator) and isinstance(est, MIXIN[name])
    signature = inspect.signature(type(est).__init__).parameters
    params = est.get_params()
    assert set(params) == set(signature) - {"self"}
    assert "seed" not in params
    defaults = {k: p.default for k, p in signature.items() if k != "self"}
    changed = [k for k in params if params[k] != defaults[k]]
    assert sorted(changed) == sorted(params)  # the factory set every parameter
    # set_params / get_params round trip, also back to the defaults.
    fresh = type(est)()
    assert fresh.set_params(**params).get_params() == params
    assert type(est)().get_params() == defaults
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(seed=1)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_clone_gives_equal_parameters_and_an_unfitted_estimator(name):
    est = ESTIMATORS[name]()
    copy = clone(est)
    assert copy is not est and type(copy) is type(est)
    assert copy.get_params() == est.get_params()
    assert not [k for k in vars(copy) if k.endswith("_") and not k.startswith("_")]


def test_clone_of_a_trained_fingerprinter_is_untrained(trained, images):
    check_is_fitted(trained)
    copy = clone(trained)
    assert copy.get_params() == trained.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert not hasattr(copy, "model_")
    # Trained again from its parameters, it is the same model.
    assert copy.fit(images).model_id_ == trained.model_id_


def test_fit_changes_no_parameter_and_resuming_is_a_classmethod(images, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    fp = tiny(checkpoint=ckpt, precision="float32")
    before = fp.get_params()
    fp.fit(images, stop_after=1)
    assert fp.get_params() == before
    resuming = Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False)
    params = resuming.get_params()
    resuming.fit(images)
    assert resuming.get_params() == params and len(resuming.history_) == 3
    # clone keeps the parameters, not the run in progress: it trains all epochs afresh.
    again = clone(Fingerprinter.from_checkpoint(ckpt, device="cpu", progress=False))
    assert not hasattr(again, "_resume_from")


def test_same_random_state_gives_identical_fingerprints(trained, images):
    again = tiny().fit(images)
    assert np.array_equal(again.transform(images), trained.transform(images))
    other = tiny(random_state=1).fit(images)
    assert not np.allclose(other.transform(images), trained.transform(images))


def test_score_is_higher_for_the_trained_model(trained, images):
    untrained = tiny().fit(images, stop_after=0)  # the initial weights, no epoch trained
    assert untrained.history_ == []
    assert trained.score(images) > untrained.score(images)
    assert trained.score(images) == -trained.reconstruction_bce(images) < 0


def test_fingerprinter_and_clusterer_in_a_pipeline(trained, images):
    pipe = make_pipeline(clone(trained), FingerprintClusterer(min_cluster_size=3))
    labels = pipe.fit_predict(images)
    fingerprints = pipe[0].transform(images)
    assert np.array_equal(labels, cluster_fingerprints(fingerprints, min_cluster_size=3).labels)
    assert np.array_equal(fingerprints, trained.transform(images))


def test_clusterer_is_repeatable_and_matches_the_function():
    X, _ = clustered(n_clusters=4, size=30, seed=2)
    est = FingerprintClusterer(min_cluster_size=6, strategy="knn", random_state=3)
    labels = est.fit_predict(X)
    assert np.array_equal(labels, clone(est).fit_predict(X))
    ref = cluster_fingerprints(X, 6, strategy="knn", random_state=3)
    assert np.array_equal(labels, ref.labels) and est.n_clusters_ == ref.n_clusters == 4


def test_map_is_repeatable_and_matches_the_function():
    X, _ = clustered(n_clusters=3, size=20, seed=1)
    est = FingerprintMap(random_state=2)
    xy = est.fit_transform(X)
    assert xy.shape == (60, 2) and est.n_features_in_ == 98
    assert np.array_equal(xy, clone(est).fit_transform(X))
    assert np.array_equal(xy, embed_fingerprints(X, random_state=2))


def test_structure_fingerprinter_transforms_structures():
    from pymatgen.core import Lattice, Structure

    rocksalt = Structure.from_spacegroup(
        "Fm-3m", Lattice.cubic(4.2), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]]
    )
    est = StructureFingerprinter(n_jobs=1)
    X = est.fit_transform([rocksalt])
    assert X.shape == (1, STRUCTURE_FINGERPRINT_LENGTH) and np.isfinite(X).all()
    names = list(est.get_feature_names_out())
    assert len(names) == STRUCTURE_FINGERPRINT_LENGTH
    assert X[0, names.index("mean octahedral CN_6")] == pytest.approx(1.0, abs=1e-6)
