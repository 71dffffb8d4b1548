"""Data-quality checks: a window of captured inputs against the baseline, no labels needed.

Check types are Model Monitor's: ``data_type_check``, ``completeness_check``,
``baseline_drift_check``, ``missing_column_check``, ``extra_column_check``,
``categorical_values_check``. The drift distance of a numeric feature is the L-infinity distance
of the two empirical CDFs, which is exactly the two-sample Kolmogorov–Smirnov statistic; of a
String feature, the largest difference of category shares (LInfinity). With ``comparison_method:
Robust`` the distance must exceed the threshold by more than the KS critical value
c(α)·√(1/n + 1/m), so a small window cannot raise a drift violation through sampling noise alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simlab.monitoring.baseline import Baseline
from simlab.monitoring.table import FeatureTable

__all__ = ["linf_distance", "ks_critical", "DataQualityResult", "check_data_quality", "CHECK_TYPES"]

CHECK_TYPES = ("data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
               "extra_column_check", "categorical_values_check")


def linf_distance(a: np.ndarray, b: np.ndarray) -> float:
    """max |F_a(x) − F_b(x)| of the empirical CDFs of two samples (the two-sample KS statistic).

    Raises:
        ValueError: when a sample is empty.
    """
    if a.size == 0 or b.size == 0:
        raise ValueError("both samples need at least one value")
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    fa = np.searchsorted(a, points, side="right") / a.size
    fb = np.searchsorted(b, points, side="right") / b.size
    return float(np.max(np.abs(fa - fb)))


def ks_critical(n: int, m: int, alpha: float) -> float:
    """Asymptotic two-sample KS critical value c(α)·√(1/n + 1/m), c(α) = √(−ln(α/2)/2)."""
    return math.sqrt(-math.log(alpha / 2.0) / 2.0) * math.sqrt(1.0 / n + 1.0 / m)


@dataclass
class DataQualityResult:
    """Violations (constraint_violations.json entries) and the emitted metrics of one window."""

    violations: list[dict] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def _violation(name: str, check: str, text: str) -> dict:
    return {"feature_name": name, "constraint_check_type": check, "description": text}


def _completeness(res: DataQualityResult, name: str, observed: float, expected: float) -> None:
    if observed < expected - 1e-12:
        res.violations.append(_violation(name, "completeness_check",
                              f"Data completeness requirement is not met. Expected completeness: {expected:.1%}. "
                              f"Observed: Only {observed:.1%} of data is complete."))


def _data_type(res: DataQualityResult, win: FeatureTable, j: int, kind: str, threshold: float) -> None:
    present = win.present(j)
    if present == 0 or kind in ("String", "Unknown"):
        return
    nums = win.numbers(j)
    wrong = win.strings(j).size + (int(np.count_nonzero(nums != np.round(nums))) if kind == "Integral" else 0)
    if wrong / present > threshold:
        res.violations.append(_violation(win.names[j], "data_type_check",
                              f"Data type match requirement is not met. Expected data type: {kind}, Expected match: "
                              f"{1 - threshold:.1%}. Observed: Only {1 - wrong / present:.1%} of data is {kind}."))


def _categorical(res: DataQualityResult, win: FeatureTable, b: Baseline, j: int, mon: dict) -> None:
    values = win.strings(j).astype(str)
    if values.size == 0:
        return
    if b.domains[j] is not None:
        outside = float(np.mean(~np.isin(values, b.domains[j])))
        if outside > mon["domain_content_threshold"]:
            res.violations.append(_violation(win.names[j], "categorical_values_check",
                                  f"Data does not meet the categorical values requirement: {outside:.1%} of values "
                                  f"are outside the baseline domain (threshold {mon['domain_content_threshold']:.1%})."))
    shares = b.string_shares[j] or {}
    v, c = np.unique(values, return_counts=True)
    live = dict(zip(v.tolist(), (c / values.size).tolist(), strict=True))
    dist = max(abs(live.get(k, 0.0) - shares.get(k, 0.0)) for k in set(live) | set(shares))
    _drift(res, win.names[j], dist, 0.0, mon["comparison_threshold"])


def _drift(res: DataQualityResult, name: str, dist: float, margin: float, threshold: float) -> None:
    res.metrics[f"feature_baseline_drift_{name}"] = dist
    if dist - margin > threshold:
        extra = f" (robust margin {margin:.3g})" if margin else ""
        res.violations.append(_violation(name, "baseline_drift_check",
                              f"Baseline drift distance: {dist:.4g} exceeds threshold: {threshold:g}{extra}"))


def _numeric_drift(res: DataQualityResult, win: FeatureTable, b: Baseline, j: int, mon: dict) -> None:
    nums, base = win.numbers(j), b.sorted_values[j]
    if nums.size == 0 or base.size == 0:
        return
    margin = ks_critical(nums.size, base.size, mon["robust_alpha"]) if mon["comparison_method"] == "Robust" else 0.0
    _drift(res, win.names[j], linf_distance(nums, base), margin, mon["comparison_threshold"])


def _columns(res: DataQualityResult, win: FeatureTable, b: Baseline) -> None:
    if len(win.names) < len(b.names):
        res.violations.append(_violation(", ".join(b.names[len(win.names):]), "missing_column_check",
                              f"There are missing columns in current dataset. Number of columns in current "
                              f"dataset: {len(win.names)}, Number of columns in baseline constraints: {len(b.names)}"))
    if len(win.names) > len(b.names):
        res.violations.append(_violation(", ".join(win.names[len(b.names):]), "extra_column_check",
                              f"There are extra columns in current dataset. Number of columns in current "
                              f"dataset: {len(win.names)}, Number of columns in baseline constraints: {len(b.names)}"))


def check_data_quality(win: FeatureTable, b: Baseline, mon: dict) -> DataQualityResult:
    """Every check of one window against the baseline; ``mon`` is a data_quality monitor config."""
    res = DataQualityResult()
    _columns(res, win, b)
    for j in range(min(len(win.names), len(b.names))):
        _completeness(res, b.names[j], win.present(j) / max(1, win.n), float(b.completeness[j]))
        _data_type(res, win, j, b.types[j], mon["datatype_check_threshold"])
        if b.types[j] == "String":
            _categorical(res, win, b, j, mon)
        else:
            _numeric_drift(res, win, b, j, mon)
    return res
