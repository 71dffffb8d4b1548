"""Model-quality metrics per problem type, as a Model Monitor model-quality job computes them.

Binary: accuracy, precision, recall, f1 (of label 1) and auc (of P(1)); multiclass: accuracy and
support-weighted precision/recall/f1; regression: mae, rmse, r2. A metric that is undefined on
the window (e.g. precision with no predicted positives) is NaN and never alarms. Standard
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


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    pos = y == 1
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _binary(y: np.ndarray, pred: np.ndarray, score: np.ndarray) -> dict[str, float]:
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y != 1)))
    fn = float(np.sum((pred != 1) & (y == 1)))
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * p * r, p + r) if not (math.isnan(p) or math.isnan(r)) else math.nan
    return {"accuracy": float(np.mean(pred == y)), "precision": p, "recall": r, "f1": f1, "auc": _auc(y, score)}


def _multiclass(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    classes, support = np.unique(y, return_counts=True)
    prec, rec, f1 = [], [], []
    for c in classes:
        tp = float(np.sum((pred == c) & (y == c)))
        pc, rc = _ratio(tp, float(np.sum(pred == c))), _ratio(tp, float(np.sum(y == c)))
        pc = 0.0 if math.isnan(pc) else pc  # scikit-learn's zero_division=0
        prec.append(pc)
        rec.append(rc)
        f1.append(_ratio(2 * pc * rc, pc + rc) if pc + rc else 0.0)
    w = support / support.sum()
    return {"accuracy": float(np.mean(pred == y)), "weighted_precision": float(np.dot(w, prec)),
            "weighted_recall": float(np.dot(w, rec)), "weighted_f1": float(np.dot(w, f1))}


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    err = pred - y
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err ** 2))),
            "r2": 1.0 - float(np.sum(err ** 2)) / ss_tot if ss_tot > 0 else math.nan}


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
    labels = sorted(set(np.unique(y).tolist()) | set(np.unique(pred).tolist()))
    return {str(a): {str(p): float(np.sum((y == a) & (pred == p))) for p in labels} for a in labels}


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
