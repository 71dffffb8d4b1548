"""Model-quality metrics per problem type, as a Model Monitor model-quality job computes them.

Binary: accuracy, precision, recall, f1 (of label 1) and auc (of P(1)); multiclass: accuracy and
support-weighted precision/recall/f1; regression: mae, rmse, r2 — all from ``sklearn.metrics``.
A metric that is undefined on the window (e.g. precision with no predicted positives:
``zero_division=nan``) is NaN and never alarms. Standard
deviations are reported, as Model Monitor does, only with at least 200 samples: for proportions
(accuracy, precision, recall) the binomial standard error; other metrics get none.
"""

from __future__ import annotations

import math

import numpy as np

from simlab.monitoring.timestamps import iso

__all__ = ["PROBLEM_TYPES", "quality_metrics", "statistics_json", "alarm_violation", "MIN_SAMPLES_FOR_STD"]

PROBLEM_TYPES = {"binary": "BinaryClassification", "multiclass": "MulticlassClassification", "regression": "Regression"}
MIN_SAMPLES_FOR_STD = 200  # [MM] standard deviation only with ≥ 200 samples
_SECTION = {"binary": "binary_classification_metrics", "multiclass": "multiclass_classification_metrics",
            "regression": "regression_metrics"}


def _binary(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    undefined = {"zero_division": np.nan}  # NaN, not 0: an undefined metric never alarms
    kw = {"pos_label": 1, "labels": [0, 1], **undefined}
    return {"accuracy": float(skm.accuracy_score(y, pred)),
            "precision": float(skm.precision_score(y, pred, **kw)),
            "recall": float(skm.recall_score(y, pred, **kw)),
            "f1": float(skm.f1_score(y, pred, **kw)),
            "auc": float(skm.roc_auc_score(y, score)) if np.unique(y).size == 2 else math.nan}


def _multiclass(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    p, r, f, _ = skm.precision_recall_fscore_support(y, pred, average="weighted", zero_division=0)
    return {"accuracy": float(skm.accuracy_score(y, pred)), "weighted_precision": float(p),
            "weighted_recall": float(r), "weighted_f1": float(f)}


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn import metrics as skm

    return {"mae": float(skm.mean_absolute_error(y, pred)), "rmse": float(skm.root_mean_squared_error(y, pred)),
            "r2": float(skm.r2_score(y, pred)) if np.ptp(y) > 0 else math.nan}  # R² of a constant: undefined


def quality_metrics(task: str, y: np.ndarray, pred: np.ndarray, score: np.ndarray | None = None) -> dict[str, float]:
    """The metrics of ``task`` ("binary", "multiclass", "regression") on a non-empty window.

    ``pred`` are predicted labels (values for regression); ``score`` is P(1) for binary.

    Raises:
        ValueError: for an empty window or an unknown task.
    """
    if len(y) == 0:
        raise ValueError("no labelled records")
    if task == "binary":
        return _binary(y, pred, pred if score is None else score)
    if task == "multiclass":
        return _multiclass(y, pred)
    if task == "regression":
        return _regression(np.asarray(y, dtype=float), np.asarray(pred, dtype=float))
    raise ValueError(f"unknown task {task!r}")


def _entry(name: str, value: float, n: int) -> dict:
    out: dict = {"value": None if math.isnan(value) else value}
    if n >= MIN_SAMPLES_FOR_STD and name in ("accuracy", "precision", "recall") and not math.isnan(value):
        out["standard_deviation"] = math.sqrt(value * (1 - value) / n)
    return out


def statistics_json(task: str, metrics: dict[str, float], n: int, t: float, confusion: dict | None = None) -> dict:
    """The model-quality statistics.json of one execution."""
    section = {k: _entry(k, v, n) for k, v in metrics.items()}
    if confusion is not None:
        section["confusion_matrix"] = confusion
    return {"version": 0.0, "dataset": {"item_count": n, "evaluation_time": iso(t)}, _SECTION[task]: section}


def confusion_matrix(y: np.ndarray, pred: np.ndarray) -> dict:
    """``{"actual": {"predicted": count}}`` as the real statistics.json holds it."""
    from sklearn.metrics import confusion_matrix as sk_confusion

    labels = sorted(set(np.unique(y).tolist()) | set(np.unique(pred).tolist()))
    counts = sk_confusion(y, pred, labels=labels)
    return {str(a): {str(p): float(counts[i, j]) for j, p in enumerate(labels)} for i, a in enumerate(labels)}


def alarm_violation(metrics: dict[str, float], alarm: dict | None) -> dict | None:
    """A constraint_violations.json entry when the alarm's condition holds, else None."""
    if not alarm:
        return None
    value = metrics.get(alarm["metric"], math.nan)
    if math.isnan(value):
        return None
    below = alarm.get("below")
    hit = value < below if below is not None else value > alarm["above"]
    if not hit:
        return None
    op, limit = ("LessThanThreshold", below) if below is not None else ("GreaterThanThreshold", alarm["above"])
    return {"metric_name": alarm["metric"], "constraint_check_type": op,
            "description": f"Metric {alarm['metric']} with {value:.4g} was {op} '{limit:g}'"}
