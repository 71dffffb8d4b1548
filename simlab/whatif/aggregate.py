"""From task results to the tidy table, means with 95 % intervals, crossovers and a recommendation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

from simlab.whatif.sweep import numeric

__all__ = ["flatten", "tidy", "point_stats", "crossovers", "choose", "engine_facts", "MAX_FAILED_SHARE", "CROSSOVER_METRICS"]

#: Metrics whose crossovers between deployments the report marks.
CROSSOVER_METRICS = ("cost_usd", "latency_ms.p99")
#: A deployment failing more than this share of requests is not recommended.
MAX_FAILED_SHARE = 0.01


def flatten(d: dict, prefix: str = "") -> dict[str, float | None]:
    """Numeric leaves of a summary as ``a.b`` keys (strings and monitoring details left out)."""
    out: dict[str, float | None] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            if k != "monitoring":
                out.update(flatten(v, key + "."))
        elif v is None:
            out[key] = None
        elif isinstance(v, bool):
            out[key] = float(v)
        elif isinstance(v, int | float):
            out[key] = v
    return out


def tidy(results: Sequence[dict], varies: Sequence[str]):
    """One row per point × replication × deployment with every numeric summary field."""
    import pandas as pd

    rows = []
    for r in results:
        values = r["values"]
        for name, dep in r["summary"]["deployments"].items():
            row = {"point": r["point"], "replication": r["rep"], "seed": r["seed"]}
            row.update({p: values.get(p) for p in varies})
            row.update({"deployment": name, "type": dep["type"]})
            row.update(flatten(dep))
            row["slo_attainment"] = r["series"][name]["slo_attainment"]
            rows.append(row)
    frame = pd.DataFrame(rows)
    lead = ["point", "replication", "seed", *varies, "deployment", "type"]
    rest = sorted(c for c in frame.columns if c not in lead)
    return frame[lead + rest]


def _mean_ci(x: np.ndarray) -> dict[str, Any]:
    """Mean and Student-t 95 % interval over replications (interval null with one replication)."""
    from scipy import stats

    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"mean": None, "ci95": [None, None]}
    m = float(np.mean(x))
    if x.size < 2:
        return {"mean": _r(m), "ci95": [None, None]}
    half = float(stats.t.ppf(0.975, x.size - 1) * np.std(x, ddof=1) / math.sqrt(x.size))
    return {"mean": _r(m), "ci95": [_r(m - half), _r(m + half)]}


def _r(x: float) -> float:
    return float(f"{x:.10g}")


def point_stats(frame, n_points: int, values: Sequence[dict]) -> list[dict[str, Any]]:
    """``[{"values": {...}, "deployments": {NAME: {METRIC: {"mean", "ci95"}}}}]`` in point order."""
    skip = {"point", "replication", "seed", "deployment", "type", *(k for v in values for k in v)}
    metrics = [c for c in frame.columns if c not in skip]
    out = []
    for i in range(n_points):
        sub = frame[frame["point"] == i]
        deps = {}
        for name, rows in sub.groupby("deployment", sort=False):
            deps[str(name)] = {m: _mean_ci(rows[m].to_numpy(dtype=float, na_value=np.nan)) for m in metrics
                               if rows[m].notna().any()}
            deps[str(name)]["type"] = rows["type"].iloc[0]
        out.append({"values": dict(values[i]), "deployments": deps})
    return out


def _mean(point: dict, name: str, metric: str) -> float | None:
    cell = point["deployments"].get(name, {}).get(metric)
    return None if not isinstance(cell, dict) else cell["mean"]


def _lines(points: list[dict], path: str) -> list[list[int]]:
    """Groups of point indices that differ only in ``path`` (one line through the grid each)."""
    groups: dict[tuple, list[int]] = {}
    for i, p in enumerate(points):
        key = tuple((k, repr(v)) for k, v in p["values"].items() if k != path)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def _cross(xs: list[float], ds: list[float]) -> list[float]:
    """Where the piecewise-linear difference changes sign (strictly), by linear interpolation."""
    found = []
    pts = list(zip(xs, ds, strict=True))
    for (x0, d0), (x1, d1) in zip(pts, pts[1:]):  # noqa: B905 - pairs of neighbours
        if d0 == 0 and d1 == 0:
            continue
        if d0 * d1 < 0 or (d1 == 0 and d0 != 0):
            found.append(x0 + (x1 - x0) * d0 / (d0 - d1))
    return found


def crossovers(points: list[dict], varies: Sequence[str], slo_p99_ms: float | None) -> list[dict[str, Any]]:
    """Where one deployment's mean cost (or p99) overtakes another's along a varied path, and
    where a deployment's p99 crosses the SLO. ``at`` is in the path's unit (durations in s)."""
    out = []
    names = list(points[0]["deployments"]) if points else []
    for path in varies:
        for idx in _lines(points, path):
            xs_all = [numeric(points[i]["values"][path]) for i in idx]
            if any(x is None for x in xs_all) or len(idx) < 2:
                continue
            order = sorted(range(len(idx)), key=lambda k: xs_all[k])
            idx = [idx[k] for k in order]
            xs = [xs_all[k] for k in order]
            fixed = {k: v for k, v in points[idx[0]]["values"].items() if k != path}
            pairs = [(m, a, b) for m in CROSSOVER_METRICS for a, b in combinations(names, 2)]
            for metric, a, b in pairs:
                ya = [_mean(points[i], a, metric) for i in idx]
                yb = [_mean(points[i], b, metric) for i in idx]
                if any(v is None for v in ya + yb):
                    continue
                for at in _cross(xs, [p - q for p, q in zip(ya, yb, strict=True)]):
                    out.append(_entry(metric, a, b, path, at, fixed))
            if slo_p99_ms is not None:
                for a in names:
                    ya = [_mean(points[i], a, "latency_ms.p99") for i in idx]
                    if any(v is None for v in ya):
                        continue
                    for at in _cross(xs, [v - slo_p99_ms for v in ya]):
                        out.append(_entry("latency_ms.p99", a, "SLO", path, at, fixed))
    return out


def _entry(metric: str, a: str, b: str, path: str, at: float, fixed: dict) -> dict[str, Any]:
    e = {"metric": metric, "a": a, "b": b, "path": path, "at": _r(at)}
    if fixed:
        e["fixed"] = fixed
    return e


def _interactive_limit_ms() -> float:
    from simlab import facts

    return float(facts.limit("real_time_endpoint.max_processing_s")) * 1000.0


def choose(point: dict, slo_p99_ms: float | None) -> dict[str, Any]:
    """The simulation's pick at one point: the cheapest deployment failing at most 1 % of
    requests whose mean p99 meets the SLO (without an SLO: within the real-time 60 s limit)."""
    limit = slo_p99_ms if slo_p99_ms is not None else _interactive_limit_ms()
    feasible, rejected = [], {}
    for name in point["deployments"]:
        cost = _mean(point, name, "cost_usd")
        p99 = _mean(point, name, "latency_ms.p99")
        arrived = _mean(point, name, "arrived") or 0.0
        failed = (_mean(point, name, "failed") or 0.0) + (_mean(point, name, "throttled") or 0.0)
        if p99 is None or p99 > limit:
            rejected[name] = f"p99 {_fmt(p99)} ms above {'the SLO' if slo_p99_ms is not None else 'the 60 s real-time limit'} ({limit:g} ms)"
        elif arrived and failed / arrived > MAX_FAILED_SHARE:
            rejected[name] = f"{failed / arrived:.1%} of requests failed or throttled (> {MAX_FAILED_SHARE:.0%})"
        else:
            feasible.append((cost if cost is not None else math.inf, name))
    best = min(feasible)[1] if feasible else None
    return {"deployment": best, "type": point["deployments"][best]["type"] if best else None,
            "cost_usd": _mean(point, best, "cost_usd") if best else None,
            "p99_ms": _mean(point, best, "latency_ms.p99") if best else None,
            "rejected": rejected}


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def engine_facts(scenario, workload_stats: dict[str, float], slo_p99_ms: float | None) -> dict[str, Any]:
    """The facts ``simlab recommend`` needs, read off the scenario and the simulated stream."""
    wl = scenario.workload
    kind = wl["arrivals"]
    traffic = {"poisson": "steady", "trace": "steady", "schedule": "scheduled"}.get(kind)
    if kind == "diurnal":
        lo, hi = wl["trough_rate_per_s"], wl["peak_rate_per_s"]
        traffic = "spiky" if hi > 4 * max(lo, 1e-12) else "steady"
    elif kind == "bursty":
        traffic = "intermittent" if wl["off_rate_per_s"] == 0 else "spiky"
    facts: dict[str, Any] = {
        "question": "deployment",
        "requests_per_day": round(workload_stats["requests_per_day"], 3),
        "traffic": traffic or "steady",
        "payload_mb": round(workload_stats["payload_mb"], 6),
        "inference_seconds": max(round(workload_stats["inference_seconds"], 6), 1e-6),
        "latency_slo_ms": slo_p99_ms,
    }
    for d in scenario.deployments:
        if d["type"] == "serverless_inference":
            facts.setdefault("memory_mb", d["memory_mb"])
        elif d.get("instance_type"):
            facts.setdefault("instance_type", d["instance_type"])
    return facts


def compare_with_engine(choice: dict, facts: dict, present_types: set[str]) -> dict[str, Any]:
    """What ``simlab recommend`` says for ``facts`` and whether the simulation's pick agrees."""
    from simlab.decide import recommend

    rec = recommend(facts)
    answer = rec.recommendation
    if answer is None or choice["type"] is None:
        agrees = None
        note = "nothing to compare: " + ("the engine recommends nothing" if answer is None
                                         else "no simulated deployment qualifies")
    elif answer not in present_types:
        agrees = None
        note = f"the engine recommends {answer}, which this scenario does not simulate"
    else:
        agrees = answer == choice["type"]
        note = (f"the simulation agrees: {answer} is the cheapest that qualifies" if agrees else
                f"the simulation disagrees: it picks {choice['type']} ({choice['deployment']})")
    return {"facts": facts, "recommendation": answer, "reasons": list(rec.reasons[:3]),
            "agrees": agrees, "note": note}
