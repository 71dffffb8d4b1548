"""Confidence-based performance estimation (CBPE, as NannyML does): accuracy without labels.

If the model's probabilities are calibrated, a prediction made with confidence c is right with
probability c, so the expected accuracy of a window is the mean confidence of its predicted
labels: mean of max(p, 1 − p) for a binary model at threshold 0.5 (the probability of the label it
predicts, in general) and the mean of the largest class probability for a multiclass model.

CBPE needs no labels, so it reacts as soon as inputs move toward the decision boundary. It assumes
P(y | x) is unchanged: it cannot see concept drift (label flips, or a pipeline change that keeps
labels but moves inputs into confident regions) — the realised metric, once labels arrive, can.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["expected_accuracy"]


def expected_accuracy(proba: np.ndarray, *, binary_threshold: float = 0.5, positive_col: int = 1) -> float:
    """Estimated accuracy of a window from class probabilities (rows × classes); NaN when empty."""
    if proba.shape[0] == 0:
        return math.nan
    if proba.shape[1] == 2:
        p = proba[:, positive_col]
        return float(np.mean(np.where(p >= binary_threshold, p, 1.0 - p)))
    return float(np.mean(proba.max(axis=1)))
