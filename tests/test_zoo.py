"""The bundled model zoo: real models, safe skops cache, immutable updates."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import skops.io as sio
from sklearn.metrics import accuracy_score, r2_score

from simlab import zoo
from simlab.errors import SimlabError
from simlab.zoo import (
    MODEL_IDS,
    Dataset,
    ModelInfo,
    UnknownModelError,
    UnsupportedOperationError,
    UntrustedArtifactError,
    ZooModel,
    dataset,
    list_models,
    load_model,
    profile_service_time,
)

REQUIRED = {"breast_cancer_logreg", "breast_cancer_pca_logreg", "breast_cancer_sgd",
            "breast_cancer_tree", "wine_rf", "digits_logreg", "diabetes_ridge"}


class Intruder:
    """A type the zoo never produces."""

    def __init__(self) -> None:
        self.payload = 1


@pytest.fixture(scope="module")
def zoo_cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("zoo-cache")


@pytest.fixture(scope="module")
def models(zoo_cache) -> dict[str, ZooModel]:
    return {name: load_model(name, cache_dir=zoo_cache) for name in MODEL_IDS}


def _no_training(*args, **kwargs):
    raise AssertionError("the model was retrained instead of read from the cache")


def _serve(name: str) -> tuple[np.ndarray, np.ndarray]:
    ds = dataset(name)
    return ds.X[ds.serve_idx], ds.y[ds.serve_idx]


# -- catalogue and datasets -------------------------------------------------------------------
def test_catalogue_lists_every_required_model_without_training(monkeypatch):
    monkeypatch.setattr(zoo, "_fit_estimator", _no_training)
    infos = list_models()
    assert REQUIRED <= set(MODEL_IDS)
    assert [i.name for i in infos] == list(MODEL_IDS)
    for info in infos:
        assert isinstance(info, ModelInfo)
        ds = dataset(info.name)
        assert info.dataset == ds.name and info.task == ds.task
        assert info.n_features == ds.X.shape[1]
        assert info.n_train + info.n_serve == len(ds.y)
        assert (info.classes is None) == (info.task == "regression")
    by_name = {i.name: i for i in infos}
    assert by_name["breast_cancer_sgd"].supports_partial_fit
    assert not by_name["wine_rf"].supports_partial_fit
    assert by_name["breast_cancer_pca_logreg"].estimator == (
        "Pipeline(StandardScaler, PCA, LogisticRegression)")
    assert by_name["digits_logreg"].classes == tuple(range(10))


@pytest.mark.parametrize("name", ["breast_cancer", "wine", "digits", "diabetes"])
def test_datasets_are_float64_with_a_deterministic_disjoint_split(name):
    ds = dataset(name)
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float64 and ds.X.ndim == 2
    assert len(ds.feature_names) == ds.X.shape[1]
    both = np.concatenate([ds.train_idx, ds.serve_idx])
    assert np.array_equal(np.sort(both), np.arange(len(ds.y)))
    assert len(ds.serve_idx) == pytest.approx(0.3 * len(ds.y), abs=1)
    if ds.task != "regression":  # stratified: class shares agree between the splits
        share = [np.bincount(ds.y[i]) / len(i) for i in (ds.train_idx, ds.serve_idx)]
        assert np.allclose(share[0], share[1], atol=0.02)
    with pytest.raises(ValueError):
        ds.X[0, 0] = 1.0  # cached arrays are read-only


def test_dataset_by_model_id_is_the_same_cached_object():
    assert dataset("breast_cancer_tree") is dataset("breast_cancer")
    assert dataset("digits").feature_names[:2] == ("pixel_0_0", "pixel_0_1")


# -- every model ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_model_is_accurate_on_its_serve_split(models, name):
    model = models[name]
    X, y = _serve(name)
    pred = model.predict(X)
    if model.task == "regression":
        assert pred.dtype == np.float64
        assert r2_score(y, pred) > 0.3
    else:
        assert accuracy_score(y, pred) > 0.8
        assert set(np.unique(pred)) <= set(model.classes)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_predict_and_score_output_are_vectorised(models, name):
    model = models[name]
    X = _serve(name)[0][:5]
    batch, scores = model.predict(X), model.score_output(X)
    rows = np.concatenate([model.predict(X[i:i + 1]) for i in range(len(X))])
    row_scores = np.concatenate([model.score_output(X[i:i + 1]) for i in range(len(X))])
    assert len(batch) == len(scores) == len(X)
    if model.task == "regression":  # BLAS may round a batch and a single row differently
        np.testing.assert_allclose(rows, batch, rtol=1e-12)
    else:
        assert np.array_equal(rows, batch)
    np.testing.assert_allclose(row_scores, scores, rtol=1e-12, atol=1e-15)


def test_score_output_matches_the_task(models):
    X = _serve("breast_cancer_logreg")[0]
    binary = models["breast_cancer_logreg"]
    p1 = binary.score_output(X)
    assert np.array_equal(p1, binary.predict_proba(X)[:, binary.classes.index(1)])
    assert ((p1 >= 0) & (p1 <= 1)).all()
    wine = models["wine_rf"]
    Xw = _serve("wine_rf")[0]
    assert np.array_equal(wine.score_output(Xw), wine.predict(Xw))
    ridge = models["diabetes_ridge"]
    Xd = _serve("diabetes_ridge")[0]
    assert np.array_equal(ridge.score_output(Xd), ridge.predict(Xd))


def test_regressor_has_no_predict_proba_and_bad_shapes_are_rejected(models):
    ridge = models["diabetes_ridge"]
    with pytest.raises(UnsupportedOperationError):
        ridge.predict_proba(_serve("diabetes_ridge")[0])
    with pytest.raises(SimlabError, match="columns"):
        ridge.predict(np.zeros((2, 3)))
    with pytest.raises(UnsupportedOperationError):
        models["wine_rf"].partial_fit(*_serve("wine_rf"))


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_pipeline_steps_chained_reproduce_predict(models, name):
    model = models[name]
    X = _serve(name)[0]
    steps = model.pipeline_steps()
    data = X
    for _, step in steps[:-1]:
        data = step.transform(data)
    assert np.array_equal(steps[-1][1].predict(data), model.predict(X))


def test_pipeline_steps_of_the_pca_pipeline_are_three_stages(models):
    names = [n for n, _ in models["breast_cancer_pca_logreg"].pipeline_steps()]
    assert len(names) == 3
    assert models["wine_rf"].pipeline_steps() == [("wine_rf", models["wine_rf"].estimator)]


# -- the cache --------------------------------------------------------------------------------
def test_second_load_reads_the_skops_file(tmp_path, monkeypatch):
    first = load_model("breast_cancer_logreg", cache_dir=tmp_path)
    files = list((tmp_path / "models").glob("*.skops"))
    assert len(files) == 1
    assert files[0].name.startswith("breast_cancer_logreg-v0-")
    monkeypatch.setattr(zoo, "_fit_estimator", _no_training)
    second = load_model("breast_cancer_logreg", cache_dir=tmp_path)
    X = _serve("breast_cancer_logreg")[0]
    assert second.estimator is not first.estimator
    assert np.array_equal(second.predict_proba(X), first.predict_proba(X))


def test_cache_dir_defaults_to_simlab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLAB_HOME", str(tmp_path))
    load_model("breast_cancer_tree")
    assert len(list((tmp_path / "models").glob("breast_cancer_tree-v0-*.skops"))) == 1


def test_version_and_train_idx_select_different_cache_files(tmp_path):
    ds = dataset("breast_cancer_tree")
    load_model("breast_cancer_tree", cache_dir=tmp_path)
    load_model("breast_cancer_tree", version=1, cache_dir=tmp_path)
    sub = load_model("breast_cancer_tree", train_idx=ds.train_idx[:200], cache_dir=tmp_path)
    assert sub.version == 0
    assert len(list((tmp_path / "models").glob("*.skops"))) == 3
    with pytest.raises(SimlabError, match="train_idx"):
        load_model("breast_cancer_tree", train_idx=np.array([0, len(ds.y)]), cache_dir=tmp_path)
    with pytest.raises(SimlabError, match="version"):
        load_model("breast_cancer_tree", version=-1, cache_dir=tmp_path)


def test_corrupt_cache_file_is_replaced_by_retraining(tmp_path):
    reference = load_model("breast_cancer_tree", cache_dir=tmp_path)
    (path,) = (tmp_path / "models").glob("*.skops")
    path.write_bytes(b"not a zip file")
    model = load_model("breast_cancer_tree", cache_dir=tmp_path)
    X = _serve("breast_cancer_tree")[0]
    assert np.array_equal(model.predict(X), reference.predict(X))
    assert set(sio.get_untrusted_types(file=path)) <= zoo.ALLOWED_UNTRUSTED_TYPES  # valid again


@pytest.mark.parametrize("intruder", [Intruder, collections.OrderedDict])
def test_artifact_with_unexpected_type_is_refused(tmp_path, monkeypatch, intruder):
    load_model("breast_cancer_tree", cache_dir=tmp_path)
    (path,) = (tmp_path / "models").glob("*.skops")
    sio.dump(intruder(), path)
    monkeypatch.setattr(zoo, "_fit_estimator", _no_training)
    with pytest.raises(UntrustedArtifactError) as err:
        load_model("breast_cancer_tree", cache_dir=tmp_path)
    assert str(path) in str(err.value) and intruder.__name__ in str(err.value)
    assert path.exists()  # left for the user to inspect


def test_no_temporary_files_are_left_behind(tmp_path):
    load_model("breast_cancer_tree", cache_dir=tmp_path)
    assert [p.suffix for p in (tmp_path / "models").iterdir()] == [".skops"]


# -- updates ----------------------------------------------------------------------------------
def test_partial_fit_returns_a_new_version_and_leaves_the_original(models):
    model = models["breast_cancer_sgd"]
    ds = dataset("breast_cancer_sgd")
    X = ds.X[ds.serve_idx]
    before = model.predict_proba(X).copy()
    batch = ds.train_idx[:100]
    updated = model.partial_fit(ds.X[batch], 1 - ds.y[batch])  # flipped labels: must move
    assert updated.version == model.version + 1 and updated.name == model.name
    assert updated.estimator is not model.estimator
    assert np.array_equal(model.predict_proba(X), before)
    assert not np.allclose(updated.predict_proba(X), before)
    scaler, new_scaler = model.pipeline_steps()[0][1], updated.pipeline_steps()[0][1]
    assert np.array_equal(scaler.mean_, new_scaler.mean_)  # the scaler stays fixed
    with pytest.raises(SimlabError, match="classes"):
        model.partial_fit(ds.X[:2], np.array([0, 7]))


def test_refit_returns_a_new_version_and_leaves_the_original(models):
    model = models["wine_rf"]
    ds = dataset("wine_rf")
    X = ds.X[ds.serve_idx]
    before = model.predict_proba(X).copy()
    half = ds.train_idx[::2]
    refitted = model.refit(ds.X[half], ds.y[half])
    assert refitted.version == model.version + 1
    assert refitted.estimator is not model.estimator
    assert np.array_equal(model.predict_proba(X), before)
    assert not np.array_equal(refitted.predict_proba(X), before)


def test_zoo_model_is_frozen(models):
    with pytest.raises(AttributeError):
        models["wine_rf"].version = 5


# -- names, determinism, profiling ------------------------------------------------------------
def test_unknown_model_suggests_close_matches():
    with pytest.raises(UnknownModelError) as err:
        load_model("breast_cancer_logrge")
    assert isinstance(err.value, KeyError) and isinstance(err.value, SimlabError)
    message = str(err.value)
    assert "did you mean 'breast_cancer_logreg'" in message
    assert all(name in message for name in MODEL_IDS)
    with pytest.raises(UnknownModelError, match="wine"):
        dataset("wines")


@pytest.mark.parametrize("name", ["breast_cancer_sgd", "wine_rf", "breast_cancer_pca_logreg"])
def test_two_fresh_trainings_are_identical(tmp_path, name):
    a = load_model(name, cache_dir=tmp_path / "a")
    b = load_model(name, cache_dir=tmp_path / "b")
    X = _serve(name)[0]
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def test_profile_service_time_is_structurally_sound(tmp_path):
    dist = profile_service_time("breast_cancer_tree", n=15, warmup=2, cache_dir=tmp_path)
    assert dist.kind == "empirical"
    assert len(dist.samples) == 15
    assert all(s > 0 for s in dist.samples) and dist.mean > 0
    with pytest.raises(SimlabError, match="'n'"):
        profile_service_time("breast_cancer_tree", n=0, cache_dir=tmp_path)
