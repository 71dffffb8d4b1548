"""What a monitored model was trained on and the baselines derived from it (a model version's
reference: monitors compare against it; retraining appends a new one)."""

from __future__ import annotations

import numpy as np

from simlab.monitoring.attribution import Explainer, global_importance
from simlab.monitoring.baseline import Baseline, build_baseline
from simlab.monitoring.bias import bias_metrics, facet_groups
from simlab.monitoring.table import FeatureTable

__all__ = ["Reference", "predicted_labels"]


def predicted_labels(model, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Labels a model predicts for ``X`` (binary: P(1) ≥ threshold)."""
    if model.classes is not None and len(model.classes) == 2:
        return np.where(model.predict_proba(X)[:, list(model.classes).index(1)] >= threshold, 1, 0)
    return model.predict(X)


class Reference:
    """The data a monitored model was trained on, and the baselines derived from it."""

    def __init__(self, table: FeatureTable, X: np.ndarray, model, version: int, t: float = 0.0) -> None:
        self.table, self.X, self.model, self.version, self.t = table, X, model, version, t
        self.baseline: Baseline = build_baseline(table, version)
        self._bias: dict[tuple, dict] = {}
        self._explainer: Explainer | None = None
        self._importance: np.ndarray | None = None
        self._method: str | None = None

    def bias(self, mon: dict) -> dict:
        """DPPL/DI of the model's predicted labels on this data (cached per facet)."""
        key = (mon["facet"]["feature"], mon["facet"]["threshold"], mon["positive_label"], mon["probability_threshold"])
        if key not in self._bias:
            col = self.table.names.index(mon["facet"]["feature"])
            in_d, usable = facet_groups(self.table.X[:, col], mon["facet"]["threshold"])
            positive = predicted_labels(self.model, self.X, mon["probability_threshold"]) == mon["positive_label"]
            self._bias[key] = bias_metrics(positive, in_d, usable)
        return self._bias[key]

    def explainer(self) -> Explainer:
        """Attributions of this reference's model against this data."""
        if self._explainer is None:
            self._explainer = Explainer(self.model, self.X)
        return self._explainer

    def importance(self) -> np.ndarray:
        """Mean |attribution| per feature on this data."""
        if self._importance is None:
            self._importance = global_importance(self.explainer()(self.X))
        return self._importance

    @property
    def attribution_method(self) -> str:
        """How attributions are computed for this reference's model (exact linear, Saabas, …)."""
        if self._method is None:
            self._method = self.explainer().method
        return self._method

    def release(self, jobs) -> None:
        """Once superseded, a reference is only written to ``--out``: compute what the files need
        (baseline, bias, importance), then drop the data so retraining keeps memory bounded."""
        for job in jobs:
            if job.kind == "bias_drift":
                self.bias(job.cfg)
            elif job.kind == "feature_attribution_drift":
                self.importance()
                _ = self.attribution_method
        self.baseline.freeze()
        self.X, self._explainer = None, None
        self.table = FeatureTable(self.table.X[:0].copy(), self.table.names)
