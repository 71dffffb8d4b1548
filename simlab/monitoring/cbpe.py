"""Confidence-based performance estimation (CBPE, as NannyML does): accuracy without labels.

If the model's probabilities are calibrated, a prediction made with confidence c is right with
probability c, so the expected accuracy of a window is the mean confidence of its predicted
labels: mean of max(p, 1 − p) for a binary model at threshold 0.5 (the probability of the label it
predicts, in general) and the mean of the largest class probability for a multiclass model.

**Calibration.** That premise holds only for a calibrated model. The zoo flags the models whose
held-out probabilities are calibrated (``ZooModel.calibrated``: the logistic regressions); CBPE
uses their probabilities as they are. For every other model (the tree, the forest, the SGD
classifier) CBPE first fits, as NannyML does on its reference set, an isotonic map from the
predicted label's probability to P(correct) on a labelled *reference* the model did not train
on: the first ``cbpe_calibration_rows`` captured requests (by request time) served by that model
version whose labels had arrived by the execution. No label is used before it arrives; the map is
fitted once per model version and then frozen. Until the reference is complete the estimate is
*unavailable* (NaN, with the reason in the execution record) — never the uncalibrated number.

CBPE needs no labels after that, so it reacts as soon as inputs move toward the decision
boundary. It assumes P(y | x) is unchanged: it cannot see concept drift (label flips, a relabelled
region, or a pipeline change that keeps labels but moves inputs into confident regions) — the
realised metric, once labels arrive, can. It also assumes the reference period was a normal one:
a map fitted on drifted data calibrates to the drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["expected_accuracy", "confidence", "Calibration", "CBPE", "DEFAULT_CALIBRATION_ROWS"]

#: labelled captured requests per model version an uncalibrated model's isotonic map is fitted on [simlab]
DEFAULT_CALIBRATION_ROWS = 500


def confidence(proba: np.ndarray, *, binary_threshold: float = 0.5, positive_col: int = 1) -> np.ndarray:
    """Per row, the probability of the label the model predicts (rows × classes → rows)."""
    if proba.shape[1] == 2:
        p = proba[:, positive_col]
        return np.where(p >= binary_threshold, p, 1.0 - p)
    return proba.max(axis=1)


def expected_accuracy(proba: np.ndarray, *, binary_threshold: float = 0.5, positive_col: int = 1) -> float:
    """Estimated accuracy of a window from class probabilities taken as calibrated (rows × classes);
    NaN when empty."""
    if proba.shape[0] == 0:
        return math.nan
    return float(np.mean(confidence(proba, binary_threshold=binary_threshold, positive_col=positive_col)))


@dataclass
class Calibration:
    """Isotonic map from the predicted label's probability to P(correct), fitted at ``t_fit`` on
    the labelled requests ``reference`` (request indices)."""

    t_fit: float
    reference: np.ndarray
    accuracy: float  # realised accuracy of the reference (= the mean of the fitted map on it)
    _iso: object

    @classmethod
    def fit(cls, conf: np.ndarray, correct: np.ndarray, *, t_fit: float, reference: np.ndarray) -> Calibration:
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(conf, correct.astype(float))
        return cls(float(t_fit), reference, float(np.mean(correct)), iso)

    def __call__(self, conf: np.ndarray) -> np.ndarray:
        """Calibrated P(correct) of each confidence."""
        return np.asarray(self._iso.predict(conf), dtype=float)


class CBPE:
    """Per-request estimated correctness on one monitored endpoint (classifiers only).

    ``threshold`` is the binary probability threshold; ``rows`` the reference size of an
    uncalibrated model's map. Maps are keyed by (model name, version), so a retrained version
    waits for labels of requests it served itself.
    """

    def __init__(self, ep, *, threshold: float = 0.5, rows: int = DEFAULT_CALIBRATION_ROWS) -> None:
        self.ep, self.threshold, self.rows = ep, threshold, rows
        self.maps: dict[tuple[str, int], Calibration] = {}

    @property
    def available(self) -> bool:
        """Whether the endpoint's model is a classifier (CBPE estimates accuracy only)."""
        return self.ep.scores.proba is not None

    def _keys(self, idx: np.ndarray) -> np.ndarray:
        log = self.ep.dep.log
        return np.stack([log.variant[idx].astype(np.int64), log.model_version[idx].astype(np.int64)], axis=1)

    def _model(self, v: int, version: int):
        dep = self.ep.dep
        return dep.model_of_variant(v), self.ep.sim.model(dep.model_of_variant(v), version)

    def calibration(self, name: str, version: int, t: float) -> Calibration | str:
        """The frozen map of (name, version), fitting it when its reference is complete at ``t``;
        else the reason it is not available yet."""
        key = (name, version)
        if key in self.maps:
            return self.maps[key]
        ep = self.ep
        if ep.capture is None:
            return f"{name} v{version} is not calibrated and this endpoint captures no data to calibrate it on"
        idx = ep.capture.window(0.0, t, t)
        keys = self._keys(idx)
        variants = [v for v in range(len(ep.dep.variant_names())) if ep.dep.model_of_variant(v) == name]
        mine = np.isin(keys[:, 0], variants) & (keys[:, 1] == version)
        lab = idx[mine & ep.truth.arrived(idx, t)]
        if lab.size < self.rows:
            return (f"{name} v{version} is not calibrated; {lab.size} of the {self.rows} labelled captured requests "
                    "its calibration needs have arrived")
        ref = lab[: self.rows]  # the earliest requests (indices are in request-time order)
        _, proba = ep.scores.get(ref)
        correct = ep.scores.labels(ref, self.threshold) == ep.truth.label[ref]
        cal = Calibration.fit(confidence(proba, binary_threshold=self.threshold), correct, t_fit=t, reference=ref)
        self.maps[key] = cal
        return cal

    def correctness(self, idx: np.ndarray, t: float) -> tuple[np.ndarray, list[str]]:
        """Estimated P(correct) of each request ``idx`` (NaN where its model version has no map
        at ``t``) and one note per (model, version): how it was estimated or why it was not."""
        idx = np.asarray(idx, dtype=np.int64)
        _, proba = self.ep.scores.get(idx)
        out = confidence(proba, binary_threshold=self.threshold)
        keys, notes = self._keys(idx), []
        for v, version in np.unique(keys, axis=0):
            sel = (keys[:, 0] == v) & (keys[:, 1] == version)
            name, model = self._model(int(v), int(version))
            if model.calibrated:
                notes.append(f"probabilities as they are ({name} is calibrated)")
                continue
            cal = self.calibration(name, int(version), t)
            if isinstance(cal, str):
                out[sel] = np.nan
                notes.append(f"unavailable: {cal}")
            else:
                out[sel] = cal(out[sel])
                notes.append(f"isotonic calibration of {name} v{version} on {cal.reference.size} labelled requests")
        return out, notes

    def estimate(self, idx: np.ndarray, t: float) -> tuple[float, str]:
        """(estimated accuracy of requests ``idx``, note); NaN when any request's model version
        is not calibrated yet, or when ``idx`` is empty."""
        if np.asarray(idx).size == 0:
            return math.nan, "unavailable: no captured record in the last period"
        c, notes = self.correctness(idx, t)
        note = "; ".join(dict.fromkeys(notes))
        return (math.nan if np.isnan(c).any() else float(np.mean(c))), note
