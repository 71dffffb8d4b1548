"""Feature attributions of the zoo's models and their drift, ranked by NDCG as Clarify does.

Attributions are exact, not sampled:

- linear models (logistic regression, SGD, ridge, also behind PCA): in the model's standardised
  space z, attribution_j = w_j · (z_j − z̄_j), with z̄ the mean of the baseline data and w the
  coefficients of the predicted class (binary: of the log-odds of class 1; PCA folded into w).
  For a linear model with independent features these are exactly the SHAP values;
- trees and forests: Saabas per-sample path attribution: along the decision path every split
  credits its feature with the change of the predicted-class probability from parent to child;
  a forest averages its trees. The attributions of a row sum to its prediction minus the root's.

Global importance is the mean |attribution| per feature. Drift compares the live ranking with the
baseline's by NDCG = DCG / iDCG, DCG = Σ_i a(x_i) / log2(i + 1) where x_i is the i-th feature by
live importance and a its *baseline* importance; iDCG orders by baseline importance. Clarify
alarms below 0.90.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Explainer", "global_importance", "ndcg", "analysis_json"]


def _steps(estimator) -> list:
    from sklearn.pipeline import Pipeline

    return [s for _, s in estimator.steps] if isinstance(estimator, Pipeline) else [estimator]


class Explainer:
    """Exact attributions of one fitted zoo model against a baseline feature matrix."""

    def __init__(self, model, baseline_X: np.ndarray) -> None:
        self.model = model
        steps = _steps(model.estimator)
        self.final = steps[-1]
        self.method = "saabas" if hasattr(self.final, "tree_") or hasattr(self.final, "estimators_") else "linear"
        if self.method == "linear":
            self._prepare_linear(steps, baseline_X)

    def _prepare_linear(self, steps: list, baseline_X: np.ndarray) -> None:
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        self.scalers = [s for s in steps[:-1] if isinstance(s, StandardScaler)]
        W = np.atleast_2d(self.final.coef_)
        for s in reversed(steps[:-1]):
            if isinstance(s, PCA):
                W = W @ s.components_
        self.W = W
        self.z_mean = self._z(baseline_X).mean(axis=0)

    def _z(self, X: np.ndarray) -> np.ndarray:
        for s in self.scalers:
            X = s.transform(X)
        return X

    def _rows_class(self, X: np.ndarray) -> np.ndarray:
        """Index into the class axis of the output explained for each row."""
        classes = self.model.classes
        if classes is None:
            return np.zeros(len(X), dtype=int)
        if len(classes) == 2:
            return np.full(len(X), list(classes).index(1))
        return self.model.predict_proba(X).argmax(axis=1)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Attributions (rows × features) of model inputs ``X`` (imputed, no NaN)."""
        if self.method == "linear":
            rows = self._rows_class(X) if self.W.shape[0] > 1 else np.zeros(len(X), dtype=int)
            return (self._z(X) - self.z_mean) * self.W[rows]
        trees = getattr(self.final, "estimators_", [self.final])
        total = sum(_saabas(t, X) for t in trees) / len(trees)
        cls = self._rows_class(X)
        return total[np.arange(len(X)), :, cls]


def _saabas(tree, X: np.ndarray) -> np.ndarray:
    """Per-row, per-feature, per-class contributions (rows × features × classes) of one tree."""
    import scipy.sparse as sp

    t = tree.tree_
    value = t.value[:, 0, :]
    value = value / value.sum(axis=1, keepdims=True)
    parent = np.full(t.node_count, -1)
    internal = np.flatnonzero(t.children_left >= 0)
    parent[t.children_left[internal]] = internal
    parent[t.children_right[internal]] = internal
    child = np.flatnonzero(parent >= 0)
    path = tree.decision_path(X)
    out = np.zeros((len(X), X.shape[1], value.shape[1]))
    for k in range(value.shape[1]):
        delta = value[child, k] - value[parent[child], k]
        C = sp.csr_matrix((delta, (child, t.feature[parent[child]])), shape=(t.node_count, X.shape[1]))
        out[:, :, k] = (path @ C).toarray()
    return out


def global_importance(attributions: np.ndarray) -> np.ndarray:
    """Mean |attribution| per feature."""
    return np.abs(attributions).mean(axis=0)


def ndcg(baseline: np.ndarray, live: np.ndarray) -> float:
    """NDCG of the live ranking scored with the baseline importances (1 = same ranking)."""
    discount = 1.0 / np.log2(np.arange(2, baseline.size + 2))
    ideal = float(np.sort(baseline)[::-1] @ discount)
    if ideal <= 0:
        return 1.0
    order = np.argsort(-live, kind="stable")
    return float(baseline[order] @ discount) / ideal


def analysis_json(names: tuple[str, ...], importance: np.ndarray, method: str, score: float | None = None) -> dict:
    """A Clarify-style analysis.json with global attributions (method: linear or saabas).

    The field keeps Clarify's name ``global_shap_values`` so readers of the real file read this
    one, but the method key says what the numbers are: exact SHAP values for a linear model with
    independent features; for trees **Saabas** path attributions, which are not SHAP values
    (TreeSHAP averages over feature orderings; Saabas follows the one path of each row).
    """
    out: dict = {"version": "1.0", "explanations": {method: {"label0": {
        "global_shap_values": {n: float(v) for n, v in zip(names, importance, strict=True)}}}}}
    if score is not None:
        out["ndcg"] = score
    return out
