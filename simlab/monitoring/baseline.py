"""Baselines: statistics.json and constraints.json of a model's training data (Model Monitor schema).

Types are inferred as Model Monitor does from the values: Integral when every number is a whole
number, Fractional otherwise, String when most present values are strings. Numeric distributions
are exact: 10 equal-width buckets between the minimum and the maximum (the real files hold a KLL
sketch; simlab writes the buckets under ``distribution.kll.buckets`` and no sketch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlab.monitoring.table import FeatureTable

__all__ = ["Baseline", "build_baseline", "statistics", "constraints", "monitoring_config", "BUCKETS",
           "MAX_DOMAIN"]

BUCKETS = 10  # [MM] statistics.json distributions have 10 buckets
MAX_DOMAIN = 20  # [simlab] string domains are listed when a feature has at most this many values


def _inferred_type(table: FeatureTable, j: int) -> str:
    nums, n_str = table.numbers(j), table.strings(j).size
    if n_str > nums.size:
        return "String"
    if nums.size == 0:
        return "Unknown"
    return "Integral" if np.all(nums == np.round(nums)) else "Fractional"


def _buckets(nums: np.ndarray) -> list[dict]:
    lo, hi = float(nums.min()), float(nums.max())
    edges = np.linspace(lo, hi, BUCKETS + 1) if hi > lo else np.full(BUCKETS + 1, lo)
    counts = np.histogram(nums, bins=BUCKETS, range=(lo, hi if hi > lo else lo + 1.0))[0]
    return [{"lower_bound": float(edges[k]), "upper_bound": float(edges[k + 1]), "count": float(counts[k])}
            for k in range(BUCKETS)]


def _numeric(table: FeatureTable, j: int) -> dict:
    nums = table.numbers(j)
    common = {"num_present": table.present(j), "num_missing": table.n - table.present(j)}
    if nums.size == 0:
        return {"common": common}
    return {"common": common, "mean": float(nums.mean()), "sum": float(nums.sum()),
            "std_dev": float(nums.std()), "min": float(nums.min()), "max": float(nums.max()),
            "distribution": {"kll": {"buckets": _buckets(nums)}}}


def _string(table: FeatureTable, j: int) -> dict:
    values, counts = np.unique(table.strings(j).astype(str), return_counts=True)
    common = {"num_present": table.present(j), "num_missing": table.n - table.present(j)}
    buckets = [{"value": str(v), "count": float(c)} for v, c in zip(values, counts, strict=True)]
    return {"common": common, "distinct_count": float(values.size),
            "distribution": {"categorical": {"buckets": buckets}}}


def statistics(table: FeatureTable, types: list[str] | None = None) -> dict:
    """statistics.json of ``table`` (``types``: inferred per feature unless given)."""
    types = types or [_inferred_type(table, j) for j in range(len(table.names))]
    feats = []
    for j, name in enumerate(table.names):
        entry = {"name": name, "inferred_type": types[j]}
        key = "string_statistics" if types[j] == "String" else "numerical_statistics"
        entry[key] = _string(table, j) if types[j] == "String" else _numeric(table, j)
        feats.append(entry)
    return {"version": 0.0, "dataset": {"item_count": table.n}, "features": feats}


def monitoring_config(mon: dict | None = None) -> dict:
    """constraints.json ``monitoring_config`` with a data_quality monitor's overrides ([MM] defaults)."""
    mon = mon or {}
    get = lambda k, d: mon.get(k, d)  # noqa: E731
    return {
        "evaluate_constraints": "Enabled", "emit_metrics": "Enabled",
        "datatype_check_threshold": get("datatype_check_threshold", 0.1),
        "domain_content_threshold": get("domain_content_threshold", 0.1),
        "distribution_constraints": {
            "perform_comparison": "Enabled",
            "comparison_threshold": get("comparison_threshold", 0.1),
            "comparison_method": get("comparison_method", "Robust"),
            "categorical_comparison_threshold": get("comparison_threshold", 0.1),
            "categorical_drift_method": "LInfinity",
        },
    }


@dataclass
class Baseline:
    """What a data-quality job compares against: types, completeness, sorted values, domains."""

    names: tuple[str, ...]
    types: list[str]
    completeness: np.ndarray
    sorted_values: list[np.ndarray]
    domains: list[tuple[str, ...] | None]
    string_shares: list[dict[str, float] | None]
    non_negative: list[bool]
    table: FeatureTable | None
    model_version: int = 0
    frozen_statistics: dict | None = None

    def statistics(self) -> dict:
        """statistics.json of the baseline data."""
        return self.frozen_statistics if self.frozen_statistics is not None else statistics(self.table, self.types)

    def freeze(self) -> None:
        """Keep statistics.json and constraints.json, drop the data (a superseded baseline)."""
        self.frozen_statistics = self.statistics()
        self.table, self.sorted_values = None, []

    def constraints(self, mon: dict | None = None) -> dict:
        """constraints.json with the monitor's thresholds in ``monitoring_config``."""
        return constraints(self, mon)


def _shares(values: np.ndarray) -> dict[str, float]:
    v, c = np.unique(values.astype(str), return_counts=True)
    return {str(a): float(b) / max(1, values.size) for a, b in zip(v, c, strict=True)}


def build_baseline(table: FeatureTable, model_version: int = 0) -> Baseline:
    """The baseline of a training table (e.g. ``dataset.X[train_idx]``)."""
    p = len(table.names)
    types = [_inferred_type(table, j) for j in range(p)]
    strings = [table.strings(j) for j in range(p)]
    domains = [tuple(sorted(set(s.astype(str).tolist()))) if types[j] == "String" and len(set(s.tolist())) <= MAX_DOMAIN
               else None for j, s in enumerate(strings)]
    return Baseline(
        names=table.names, types=types,
        completeness=np.array([table.present(j) / max(1, table.n) for j in range(p)]),
        sorted_values=[np.sort(table.numbers(j)) for j in range(p)],
        domains=domains,
        string_shares=[_shares(strings[j]) if types[j] == "String" else None for j in range(p)],
        non_negative=[bool(table.numbers(j).size and table.numbers(j).min() >= 0) for j in range(p)],
        table=table, model_version=model_version)


def constraints(b: Baseline, mon: dict | None = None) -> dict:
    """constraints.json of a baseline."""
    feats = []
    for j, name in enumerate(b.names):
        entry: dict = {"name": name, "inferred_type": b.types[j], "completeness": float(b.completeness[j])}
        if b.types[j] in ("Integral", "Fractional"):
            entry["num_constraints"] = {"is_non_negative": b.non_negative[j]}
        elif b.domains[j] is not None:
            entry["string_constraints"] = {"domains": list(b.domains[j])}
        feats.append(entry)
    return {"version": 0.0, "features": feats, "monitoring_config": monitoring_config(mon)}
