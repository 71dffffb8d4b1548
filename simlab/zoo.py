"""The bundled model zoo: real scikit-learn models trained on datasets shipped with scikit-learn.

Every model is trained at first use (deterministically, ``random_state=0``) on the training
split of its dataset and cached as a skops file, never a pickle::

    {cache_dir}/models/{name}-v{version}-{sha8 of train_idx}-sklearn{sklearn version}.skops

``cache_dir`` defaults to ``$SIMLAB_HOME`` when set, else ``platformdirs.user_cache_dir("simlab")``.
A cache file is only loaded when the types skops does not trust by default are all on an explicit
allow-list of types the zoo itself produces, and when the loaded object is the estimator the zoo
would have built; otherwise :class:`UntrustedArtifactError` is raised. A corrupt or unreadable
cache file is deleted and the model retrained.

Simulated requests draw rows from :attr:`Dataset.serve_idx`; baselines use :attr:`Dataset.train_idx`.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import platformdirs
import sklearn
import skops.io as sio
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from skops.io.exceptions import UntrustedTypesFoundException

from simlab.distributions import Dist
from simlab.errors import ParameterError, SimlabError

__all__ = [
    "ALLOWED_UNTRUSTED_TYPES",
    "DATASET_IDS",
    "MODEL_IDS",
    "Dataset",
    "ModelInfo",
    "UnknownModelError",
    "UnsupportedOperationError",
    "UntrustedArtifactError",
    "ZooModel",
    "dataset",
    "list_models",
    "load_model",
    "pipeline_step_names",
    "profile_service_time",
]

SEED = 0
SERVE_FRACTION = 0.3

# Types the zoo's own artifacts contain that skops does not trust by default (the exact set
# depends on the skops version; nothing else is ever loaded).
ALLOWED_UNTRUSTED_TYPES: frozenset[str] = frozenset({
    "sklearn.tree._tree.Tree",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
})


# -- errors -----------------------------------------------------------------------------------
class UnknownModelError(SimlabError, KeyError):
    """An unknown model or dataset id; the message lists close matches and every id."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0]) if self.args else ""


class UntrustedArtifactError(SimlabError):
    """A cached model file holds types the zoo does not produce; it is not loaded."""

    def __init__(self, file: str | os.PathLike, unexpected: list[str]) -> None:
        self.file = str(file)
        self.unexpected = sorted(unexpected)
        self._say(file, unexpected, message=f"refusing to load model artifact {self.file}: unexpected types "
                  f"{', '.join(self.unexpected)} (delete the file to retrain the model)")


class UnsupportedOperationError(SimlabError, NotImplementedError):
    """An operation the model does not support (``predict_proba`` of a regressor, …)."""


# -- datasets ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Dataset:
    """A bundled dataset with its deterministic 70/30 train/serve split (arrays are read-only)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    task: str  # "binary" | "multiclass" | "regression"
    train_idx: np.ndarray
    serve_idx: np.ndarray
    target_names: tuple | None


_LOADERS: dict[str, tuple[Callable[[], Any], str]] = {
    "breast_cancer": (load_breast_cancer, "binary"),
    "wine": (load_wine, "multiclass"),
    "digits": (load_digits, "multiclass"),
    "diabetes": (lambda: load_diabetes(scaled=False), "regression"),
}
DATASET_IDS: tuple[str, ...] = tuple(_LOADERS)


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@cache
def _build_dataset(ds_id: str) -> Dataset:
    loader, task = _LOADERS[ds_id]
    bunch = loader()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    classify = task != "regression"
    y = np.asarray(bunch.target, dtype=np.int64 if classify else np.float64)
    train, serve = train_test_split(np.arange(len(y)), test_size=SERVE_FRACTION,
                                    random_state=SEED, stratify=y if classify else None)
    target_names = tuple(str(t) for t in bunch.target_names) if classify else None
    return Dataset(name=ds_id, X=_readonly(X), y=_readonly(y),
                   feature_names=tuple(str(f) for f in bunch.feature_names), task=task,
                   train_idx=_readonly(np.sort(train).astype(np.int64)),
                   serve_idx=_readonly(np.sort(serve).astype(np.int64)),
                   target_names=target_names)


@cache
def dataset(name: str) -> Dataset:
    """The dataset with id ``name``, or the dataset a model with id ``name`` is trained on.

    Raises:
        UnknownModelError: when ``name`` is neither a model id nor a dataset id.
    """
    if name in _SPECS:
        return _build_dataset(_SPECS[name].dataset)
    if name in _LOADERS:
        return _build_dataset(name)
    raise _unknown(name, "model or dataset", (*MODEL_IDS, *DATASET_IDS))


# -- model specs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    dataset: str
    build: Callable[[], BaseEstimator]
    description: str
    supports_partial_fit: bool = False
    calibrated: bool = False  # probabilities calibrated on held-out data (CBPE may use them as they are)


def _scaled(*steps: tuple[str, BaseEstimator]) -> Callable[[], Pipeline]:
    return lambda: Pipeline([("scaler", StandardScaler()), *[(n, clone(e)) for n, e in steps]])


_SPECS: dict[str, _Spec] = {
    "breast_cancer_logreg": _Spec(
        "breast_cancer", _scaled(("logreg", LogisticRegression(max_iter=1000))),
        "Standardised logistic regression; well-calibrated probability of class 1 (benign).",
        calibrated=True),
    "breast_cancer_pca_logreg": _Spec(
        "breast_cancer", _scaled(("pca", PCA(n_components=10, random_state=SEED)),
                                 ("logreg", LogisticRegression(max_iter=1000))),
        "Scaler, PCA to 10 components, logistic regression: three stages for serial pipelines.",
        calibrated=True),
    "breast_cancer_sgd": _Spec(
        "breast_cancer", _scaled(("sgd", SGDClassifier(loss="log_loss", random_state=SEED))),
        "Logistic loss trained by SGD; partial_fit updates the classifier, the scaler stays fixed.",
        supports_partial_fit=True),
    "breast_cancer_tree": _Spec(
        "breast_cancer", lambda: DecisionTreeClassifier(max_depth=4, random_state=SEED),
        "Depth-4 decision tree on raw features (exact attributions)."),
    "wine_rf": _Spec(
        "wine", lambda: RandomForestClassifier(n_estimators=50, max_depth=6,
                                               random_state=SEED, n_jobs=1),
        "Random forest of 50 depth-6 trees; three wine cultivars."),
    "digits_logreg": _Spec(
        "digits", _scaled(("logreg", LogisticRegression(max_iter=2000))),
        "Standardised multinomial logistic regression on 8x8 digit images; ten classes.",
        calibrated=True),
    "diabetes_ridge": _Spec(
        "diabetes", _scaled(("ridge", Ridge(alpha=1.0))),
        "Standardised ridge regression of one-year diabetes progression."),
}
MODEL_IDS: tuple[str, ...] = tuple(_SPECS)


@dataclass(frozen=True)
class ModelInfo:
    """What a bundled model is, without training it."""

    name: str
    task: str
    dataset: str
    n_features: int
    n_train: int
    n_serve: int
    classes: tuple | None
    estimator: str
    description: str
    supports_partial_fit: bool
    #: the predicted label's probability matches its held-out accuracy (|mean confidence − accuracy|
    #: ≤ 0.025 on the serve split, tested in tests/test_monitoring.py); CBPE uses the probabilities
    #: of such a model as they are and calibrates the others first (docs/monitoring.md)
    calibrated: bool = False


def _describe(est: BaseEstimator) -> str:
    """``Pipeline(StandardScaler, LogisticRegression)`` or ``DecisionTreeClassifier``."""
    if isinstance(est, Pipeline):
        return f"Pipeline({', '.join(type(step).__name__ for _, step in est.steps)})"
    return type(est).__name__


def _info(name: str) -> ModelInfo:
    spec, ds = _SPECS[name], dataset(name)
    classes = None if ds.task == "regression" else tuple(np.unique(ds.y).tolist())
    return ModelInfo(name=name, task=ds.task, dataset=ds.name, n_features=ds.X.shape[1],
                     n_train=len(ds.train_idx), n_serve=len(ds.serve_idx), classes=classes,
                     estimator=_describe(spec.build()), description=spec.description,
                     supports_partial_fit=spec.supports_partial_fit, calibrated=spec.calibrated)


def list_models() -> list[ModelInfo]:
    """One :class:`ModelInfo` per bundled model, in :data:`MODEL_IDS` order (nothing is trained)."""
    return [_info(name) for name in MODEL_IDS]


def pipeline_step_names(name: str) -> tuple[str, ...]:
    """The step names :meth:`ZooModel.pipeline_steps` gives for model ``name``, without training.

    Raises:
        UnknownModelError: when ``name`` is not a bundled model id.
    """
    est = _spec(name).build()
    return tuple(step for step, _ in est.steps) if isinstance(est, Pipeline) else (name,)


def _unknown(name: object, what: str, known: tuple[str, ...]) -> UnknownModelError:
    close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    return UnknownModelError(f"unknown {what} {name!r}{hint}; known: {', '.join(known)}")


def _spec(name: str) -> _Spec:
    if not isinstance(name, str) or name not in _SPECS:
        raise _unknown(name, "model", MODEL_IDS)
    return _SPECS[name]


# -- the model --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ZooModel:
    """A fitted zoo model. Updates (:meth:`partial_fit`, :meth:`refit`) return new objects."""

    name: str
    version: int
    task: str
    estimator: BaseEstimator
    feature_names: tuple[str, ...]
    classes: tuple | None
    n_features: int
    supports_partial_fit: bool
    calibrated: bool = False  # see ModelInfo.calibrated

    def _rows(self, X: Any, param: str = "X") -> np.ndarray:
        arr = np.asarray(X, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.n_features:
            raise ParameterError(param, f"{self.name}.predict",
                                 f"must be a 2-D array with {self.n_features} columns",
                                 f"shape {arr.shape}")
        return arr

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for the rows of ``X``: class labels, or float64 values for regression.

        Raises:
            ParameterError: when ``X`` is not 2-D with :attr:`n_features` columns.
        """
        out = self.estimator.predict(self._rows(X))
        return out.astype(np.float64) if self.task == "regression" else out

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per entry of :attr:`classes`.

        Raises:
            UnsupportedOperationError: for regressors.
            ParameterError: when ``X`` has the wrong shape.
        """
        if self.classes is None:
            raise UnsupportedOperationError(f"{self.name} is a regressor: it has no predict_proba")
        return self.estimator.predict_proba(self._rows(X))

    def score_output(self, X: Any) -> np.ndarray:
        """What an endpoint returns per row: P(class 1) for binary, the label for multiclass,
        the prediction for regression.

        Raises:
            ParameterError: when ``X`` has the wrong shape.
        """
        if self.task == "binary":
            return self.predict_proba(X)[:, list(self.classes).index(1)]
        return self.predict(X)

    def pipeline_steps(self) -> list[tuple[str, BaseEstimator]]:
        """The fitted steps in order (``[(name, estimator)]`` for a non-pipeline).

        Chaining ``transform`` of every step but the last, then the last step's ``predict``,
        reproduces :meth:`predict`. The steps are the model's own objects: do not mutate them.
        """
        if isinstance(self.estimator, Pipeline):
            return list(self.estimator.steps)
        return [(self.name, self.estimator)]

    def _labelled(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(X)
        target = np.asarray(y)
        if target.ndim != 1 or len(target) != len(rows) or len(rows) == 0:
            raise ParameterError("y", f"{self.name}.partial_fit/refit",
                                 f"must be 1-D with one label per row of X ({len(rows)})",
                                 f"shape {target.shape}")
        if self.classes is not None and not np.isin(target, self.classes).all():
            raise ParameterError("y", f"{self.name}.partial_fit/refit",
                                 f"must hold only the classes {self.classes}",
                                 sorted(set(np.unique(target).tolist()) - set(self.classes)))
        return rows, target

    def partial_fit(self, X: Any, y: Any) -> ZooModel:
        """A new model (version + 1) updated incrementally on ``X, y``; this one is unchanged.

        For pipelines the preprocessing steps stay fixed: ``X`` is transformed by them and only
        the final step is updated.

        Raises:
            UnsupportedOperationError: when the model does not support incremental updates.
            ParameterError: when ``X`` or ``y`` are malformed or ``y`` holds unknown classes.
        """
        if not self.supports_partial_fit:
            raise UnsupportedOperationError(f"{self.name} does not support partial_fit; use refit")
        rows, target = self._labelled(X, y)
        est = copy.deepcopy(self.estimator)
        final = est.steps[-1][1] if isinstance(est, Pipeline) else est
        features = est[:-1].transform(rows) if isinstance(est, Pipeline) else rows
        final.partial_fit(features, target, classes=np.asarray(self.classes))
        return self._next(est)

    def refit(self, X: Any, y: Any) -> ZooModel:
        """A new model (version + 1) retrained from scratch on ``X, y``; this one is unchanged.

        Raises:
            ParameterError: when ``X`` or ``y`` are malformed, ``y`` holds unknown classes,
                or a classifier is given fewer than two classes.
        """
        rows, target = self._labelled(X, y)
        if self.classes is not None and len(np.unique(target)) < 2:
            raise ParameterError("y", f"{self.name}.refit", "must hold at least two classes",
                                 np.unique(target).tolist())
        return self._next(clone(self.estimator).fit(rows, target))

    def _next(self, est: BaseEstimator) -> ZooModel:
        return _wrap(self.name, self.version + 1, est)


def _wrap(name: str, version: int, est: BaseEstimator) -> ZooModel:
    spec, ds = _SPECS[name], dataset(name)
    classes = None if ds.task == "regression" else tuple(est.classes_.tolist())
    return ZooModel(name=name, version=version, task=ds.task, estimator=est,
                    feature_names=ds.feature_names, classes=classes, n_features=ds.X.shape[1],
                    supports_partial_fit=spec.supports_partial_fit, calibrated=spec.calibrated)


# -- training and the cache -------------------------------------------------------------------
def _fit_estimator(name: str, X: np.ndarray, y: np.ndarray) -> BaseEstimator:
    """Train a fresh estimator for model ``name`` (deterministic)."""
    return _SPECS[name].build().fit(X, y)


def _cache_root(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("SIMLAB_HOME")
    return Path(env) if env else Path(platformdirs.user_cache_dir("simlab"))


def _index(train_idx: np.ndarray | None, ds: Dataset) -> np.ndarray:
    if train_idx is None:
        return np.asarray(ds.train_idx, dtype=np.int64)
    idx = np.asarray(train_idx)
    n = len(ds.y)
    if (idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer)
            or idx.min() < 0 or idx.max() >= n):
        raise ParameterError("train_idx", "load_model",
                             f"must be a non-empty 1-D integer array of row indices in [0, {n})",
                             idx)
    return idx.astype(np.int64)


def _artifact_path(root: Path, name: str, version: int, idx: np.ndarray) -> Path:
    sha8 = hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64).tobytes()).hexdigest()[:8]
    return root / "models" / f"{name}-v{version}-{sha8}-sklearn{sklearn.__version__}.skops"


def _check_shape(name: str, obj: Any, path: Path) -> None:
    """Raise UntrustedArtifactError unless ``obj`` has the structure the zoo builds for ``name``."""
    expected = _SPECS[name].build()

    def types(est: Any) -> list[type]:
        steps = est.steps if isinstance(est, Pipeline) else [(None, est)]
        return [type(step) for _, step in steps]

    if type(obj) is not type(expected) or types(obj) != types(expected):
        got = types(obj) if isinstance(obj, Pipeline) else [type(obj)]
        raise UntrustedArtifactError(path, [f"{t.__module__}.{t.__qualname__}" for t in got])


def _read_artifact(name: str, path: Path) -> BaseEstimator | None:
    """The cached estimator, or None when the file is missing or corrupt (a corrupt file is removed).

    Raises:
        UntrustedArtifactError: when the file holds types outside the allow-list or an object
            that is not the estimator the zoo builds for ``name``.
    """
    if not path.is_file():
        return None
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception:  # corrupt or unreadable: never crash, retrain instead
        path.unlink(missing_ok=True)
        return None
    unexpected = set(untrusted) - ALLOWED_UNTRUSTED_TYPES
    if unexpected:
        raise UntrustedArtifactError(path, list(unexpected))
    try:
        obj = sio.load(path, trusted=sorted(untrusted))
    except UntrustedTypesFoundException as exc:  # the file changed since it was checked
        raise UntrustedArtifactError(path, [str(exc)]) from None
    except Exception:
        path.unlink(missing_ok=True)
        return None
    _check_shape(name, obj, path)
    return obj


def _write_artifact(est: BaseEstimator, path: Path) -> None:
    """Write atomically (temporary file + ``os.replace``); a failure only warns."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            sio.dump(est, fh)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        warnings.warn(f"could not cache model at {path}: {exc}", RuntimeWarning, stacklevel=3)
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def load_model(name: str, *, version: int = 0, train_idx: np.ndarray | None = None,
               cache_dir: str | os.PathLike | None = None) -> ZooModel:
    """The bundled model ``name`` trained on ``dataset(name).X[train_idx]`` (default: the
    training split), read from the skops cache or trained and cached on first use.

    ``version`` labels the model and its cache file; training is the same for every version.

    Raises:
        UnknownModelError: when ``name`` is not a bundled model id.
        ParameterError: when ``version`` is not an integer ≥ 0 or ``train_idx`` is not a
            non-empty 1-D array of valid row indices.
        UntrustedArtifactError: when the cache file holds unexpected types.
    """
    _spec(name)
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 0:
        raise ParameterError("version", "load_model", "must be an integer ≥ 0", version)
    ds = dataset(name)
    idx = _index(train_idx, ds)
    path = _artifact_path(_cache_root(cache_dir), name, int(version), idx)
    est = _read_artifact(name, path)
    if est is None:
        est = _fit_estimator(name, ds.X[idx], ds.y[idx])
        _write_artifact(est, path)
    return _wrap(name, int(version), est)


# -- latency ----------------------------------------------------------------------------------
def profile_service_time(name: str, *, n: int = 200, warmup: int = 20, seed: int = 0,
                         cache_dir: str | os.PathLike | None = None) -> Dist:
    """Measured latency of one endpoint call (:meth:`ZooModel.score_output` on one row) on this
    machine, as an empirical distribution of ``n`` samples in seconds.

    Rows are drawn with ``np.random.default_rng(seed)`` from the serve split; the first
    ``warmup`` calls are discarded. Timings vary by machine and load: use it opt-in only.

    Raises:
        UnknownModelError: when ``name`` is not a bundled model id.
        ParameterError: when ``n`` < 1 or ``warmup`` < 0.
    """
    _spec(name)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParameterError("n", "profile_service_time", "must be an integer ≥ 1", n)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ParameterError("warmup", "profile_service_time", "must be an integer ≥ 0", warmup)
    model = load_model(name, cache_dir=cache_dir)
    ds = dataset(name)
    rows = np.random.default_rng(seed).choice(ds.serve_idx, size=warmup + n)
    times = np.empty(warmup + n)
    for k, i in enumerate(rows):
        x = ds.X[i:i + 1]
        start = time.perf_counter()
        model.score_output(x)
        times[k] = time.perf_counter() - start
    return Dist.empirical(np.maximum(times[warmup:], 1e-9))
