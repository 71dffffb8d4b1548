"""Bias drift (Clarify post-training metrics on predicted labels) between two facet groups.

The facet ``{feature, threshold}`` splits requests: group d (the facet) has the feature above the
threshold, group a the rest; rows where the feature is missing are left out. With q = the share of
predicted labels equal to the positive label:

- DPPL = q_a − q_d (difference in positive proportions in predicted labels), 0 = parity;
- DI = q_d / q_a (disparate impact), 1 = parity.

A window alarms when the chosen metric moves more than ``bias_threshold`` from its value on the
baseline (the model's training data).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bias_metrics", "facet_groups", "analysis_json", "bias_violation"]

DESCRIPTIONS = {"DPPL": "Difference in Positive Proportions in Predicted Labels (DPPL)", "DI": "Disparate Impact (DI)"}


def facet_groups(values: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(in facet d, usable) masks for the facet feature's values."""
    usable = ~np.isnan(values)
    return usable & (values > threshold), usable


def bias_metrics(positive: np.ndarray, in_d: np.ndarray, usable: np.ndarray) -> dict[str, float]:
    """DPPL and DI of predicted-positive flags; NaN when a group is empty."""
    a, d = usable & ~in_d, usable & in_d
    q_a = float(positive[a].mean()) if a.any() else math.nan
    q_d = float(positive[d].mean()) if d.any() else math.nan
    return {"DPPL": q_a - q_d, "DI": q_d / q_a if q_a else math.nan, "q_a": q_a, "q_d": q_d,
            "n_a": float(a.sum()), "n_d": float(d.sum())}


def analysis_json(metrics: dict[str, float], facet: dict, positive_label: int) -> dict:
    """A Clarify-style analysis.json with the post-training bias metrics."""
    entries = [{"name": k, "description": DESCRIPTIONS[k], "value": None if math.isnan(metrics[k]) else metrics[k]}
               for k in ("DPPL", "DI")]
    return {"version": "1.0", "post_training_bias_metrics": {
        "label_value_or_threshold": str(positive_label),
        "facets": {facet["feature"]: [{"value_or_threshold": f"({facet['threshold']:g}, inf)", "metrics": entries}]}}}


def bias_violation(live: dict[str, float], base: dict[str, float], metric: str, threshold: float,
                   facet: str) -> dict | None:
    """A constraint_violations.json entry when ``metric`` moved more than ``threshold``."""
    value, ref = live[metric], base[metric]
    if math.isnan(value) or math.isnan(ref) or abs(value - ref) <= threshold:
        return None
    return {"feature_name": facet, "metric_name": metric, "constraint_check_type": "bias_drift_check",
            "description": f"Value {value:.4g} of {metric} differs from the baseline {ref:.4g} by more than {threshold:g}"}
