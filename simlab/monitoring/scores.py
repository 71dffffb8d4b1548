"""Model outputs per request, computed once per request with the model version that served it.

Monitors run during the simulation, so they cannot wait for :meth:`Deployment.predictions`
(computed after the run); they ask this cache for the requests of their window. The numbers are
the same: the model of the request's variant at the request's ``model_version``, applied to the
features as served (drifted, missing values imputed by the container).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Scores"]


class Scores:
    """Lazy per-request ``output`` (what the endpoint returns) and class probabilities."""

    def __init__(self, sim, dep) -> None:
        self.sim, self.dep = sim, dep
        n = sim.workload.n
        self.output = np.full(n, np.nan)
        self.known = np.zeros(n, dtype=bool)
        classes = np.unique(sim.dataset.y) if sim.dataset.task != "regression" else None
        self.classes = classes
        self.proba = np.full((n, len(classes)), np.nan) if classes is not None else None

    def get(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(output, probabilities or None) of requests ``idx`` (they must have been admitted)."""
        idx = np.asarray(idx, dtype=np.int64)
        todo = idx[~self.known[idx]]
        if todo.size:
            self._compute(todo)
        return self.output[idx], (self.proba[idx] if self.proba is not None else None)

    def _compute(self, idx: np.ndarray) -> None:
        log = self.dep.log
        X = self.sim.workload.features(idx, impute=True)
        keys = np.stack([log.variant[idx].astype(np.int64), log.model_version[idx].astype(np.int64)], axis=1)
        for v, version in np.unique(keys, axis=0):
            sel = (keys[:, 0] == v) & (keys[:, 1] == version)
            model = self.sim.model(self.dep.model_of_variant(int(v)), int(version))
            self.output[idx[sel]] = np.asarray(model.score_output(X[sel]), dtype=float)
            if self.proba is not None:
                self.proba[idx[sel]] = model.predict_proba(X[sel])
        self.known[idx] = True

    def labels(self, idx: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """Predicted labels (binary: P(1) ≥ threshold; multiclass: the output; regression: value)."""
        out, proba = self.get(idx)
        if self.classes is not None and len(self.classes) == 2:
            return np.where(proba[:, list(self.classes).index(1)] >= threshold, 1, 0)
        return out
