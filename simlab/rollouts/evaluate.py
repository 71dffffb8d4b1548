"""Canary guards measured on the endpoint simulator: false rollbacks and detection over replications.

Unlike :mod:`simlab.rollouts.experiments` (synthetic interval data), every replication here is a
real simulator run: a real-time endpoint serves a Poisson stream, a CANARY update is called, the
update controller runs the guard (the scenario's alarms, or one or more judges reading the request
log) during the canary bake, and the outcome record says whether and when it rolled back.
Seeds come from one root through :func:`simlab.whatif.execute.replication_seeds` (the seeds of
``simlab simulate --replications``), so replication *k* of a row is the run ``simlab simulate
--seed <seeds[k]>`` of the scenario :func:`canary_scenario` builds.

A **guard** is what watches the canary: :data:`GUARDS` maps a name to the judge configs
(``updates[].judges``) and the alarms (top-level ``alarms:``) it uses. A **case** is the new
version: the old version's error rate ``base_error_rate`` (set up by a first ALL_AT_ONCE update,
since a deployment's first fleet has no faults), the new version's ``error_rate`` and
``latency_multiplier`` (its ``faults``). A case with the new version equal to the old is an A/A
update: its rollback rate is the guard's false rollback rate.

``python bench/judges_sim.py --replications 200 --seed 1`` prints the table of docs/rollouts.md
(:func:`markdown_table` of :func:`evaluate`; ``--help`` for the options).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from simlab import facts

__all__ = ["Case", "CASES", "GUARDS", "ALARMS", "canary_scenario", "run_replications", "evaluate",
           "binomial_interval", "markdown_table"]

STARTUP_S = float(facts.limit("real_time_endpoint.default_instance_startup_s"))

#: alarms of the alarm-only guard, on the new fleet (``fleet: new``): the bundled
#: canary-rollback scenario's 5xx alarm, and the guide's new-fleet ModelLatency alarm (µs)
ALARMS: dict[str, dict] = {
    "new-5xx": {"metric_name": "Invocation5XXErrors", "statistic": "Sum", "period": 60, "evaluation_periods": 2,
                "datapoints_to_alarm": 1, "threshold": 5, "comparison_operator": "GreaterThanThreshold",
                "treat_missing_data": "notBreaching"},
    "new-latency": {"metric_name": "ModelLatency", "statistic": "Average", "period": 60, "evaluation_periods": 2,
                    "datapoints_to_alarm": 2, "threshold": 40_000, "comparison_operator": "GreaterThanThreshold",
                    "treat_missing_data": "notBreaching"},
}

_MW_METRICS = [{"name": "error_rate"}, {"name": "latency_mean"}]

#: guard name → {"judges": [judge configs], "alarms": [names of ALARMS]}; ``{bake}`` in an interval
#: is replaced by the canary bake (one look at its end)
GUARDS: dict[str, dict[str, list]] = {
    "alarms only (5xx Sum > 5/min; ModelLatency avg > 40 ms, 2 of 2 min)": {
        "judges": [], "alarms": ["new-5xx", "new-latency"]},
    "threshold (Flagger): error_rate ≤ 1 %, p99 ≤ 100 ms, no data = fail": {
        "judges": [{"type": "threshold", "metric": "error_rate", "max": 0.01},
                   {"type": "threshold", "metric": "latency_p99", "max": 0.1}], "alarms": []},
    "mann_whitney (Kayenta) error_rate + latency vs old fleet": {
        "judges": [{"type": "mann_whitney", "metrics": _MW_METRICS}], "alarms": []},
    "mann_whitney (Kayenta) error_rate + latency vs fresh baseline": {
        "judges": [{"type": "mann_whitney", "metrics": _MW_METRICS, "baseline": "fresh"}], "alarms": []},
    "sequential mSPRT error_rate + latency_mean, α 5 % each": {
        "judges": [{"type": "sequential", "metric": "error_rate", "alpha": 0.05},
                   {"type": "sequential", "metric": "latency_mean", "alpha": 0.05}], "alarms": []},
    "z_test error_rate, α 5 %, one look at the end of the bake": {
        "judges": [{"type": "z_test", "metric": "error_rate", "alpha": 0.05, "interval": "{bake}"}], "alarms": []},
}


@dataclass(frozen=True)
class Case:
    """The old version's error rate and the new version's faults."""

    base_error_rate: float = 0.0
    error_rate: float = 0.0
    latency_multiplier: float = 1.0

    @property
    def aa(self) -> bool:
        """True when the new version is the old one (A/A)."""
        return self.error_rate == self.base_error_rate and self.latency_multiplier == 1.0

    @property
    def label(self) -> str:
        base = f"old {self.base_error_rate:.0%} errors"
        if self.aa:
            return f"A/A ({base})"
        parts = []
        if self.error_rate != self.base_error_rate:
            parts.append(f"errors {self.base_error_rate:.0%} → {self.error_rate:.0%}")
        if self.latency_multiplier != 1.0:
            parts.append(f"latency × {self.latency_multiplier:g}")
        return ", ".join(parts)


#: the cases of docs/rollouts.md
CASES: tuple[Case, ...] = (
    Case(), Case(0.01, 0.01),
    Case(0.0, 0.01), Case(0.0, 0.02), Case(0.0, 0.05),
    Case(0.01, 0.02), Case(0.01, 0.03), Case(0.01, 0.06),
    Case(latency_multiplier=1.2), Case(latency_multiplier=1.5),
)


def _judges(guard: Mapping, bake_s: float, interval_s: float) -> list[dict]:
    out = []
    for j in guard["judges"]:
        cfg = {"interval": interval_s, **j}
        if cfg["interval"] == "{bake}":
            cfg["interval"] = bake_s
        out.append(cfg)
    return out


def canary_scenario(*, guard: str | Mapping, case: Case = Case(), rate_per_s: float = 5.0, instances: int = 4,
                    canary_percent: int = 25, bake_s: float = 600.0, interval_s: float = 60.0,
                    service_mean_ms: float = 30.0, service_cv: float = 0.5, workers_per_instance: int = 1,
                    seed: int = 0) -> dict:
    """The raw scenario of one guard and one case (validate it with ``scenario_from_dict``).

    One real-time endpoint of ``instances`` ml.m5.large, lognormal model time, Poisson arrivals.
    The CANARY update (``canary_percent`` of the capacity, wait ``bake_s``, no termination wait) is
    called at ``at``: 0 s, or — when the old version has errors — 60 s after a first ALL_AT_ONCE
    update to the old model with ``faults.error_rate = base_error_rate`` has put it in service.
    The run ends 1 s after the canary bake (``at`` + start-up + ``bake_s``), so that the looks at
    the bake's end happen: a guard that has not rolled back by then has passed the canary. ``guard``: a name of :data:`GUARDS` or such a
    mapping. Raises KeyError for an unknown guard name.
    """
    g = GUARDS[guard] if isinstance(guard, str) else guard
    updates: list[dict] = []
    at = 0.0
    if case.base_error_rate > 0:
        updates.append({"at": 0, "endpoint_config": {"faults": {"error_rate": case.base_error_rate}},
                        "deployment_config": {"blue_green_update_policy": {
                            "traffic_routing_configuration": {"type": "ALL_AT_ONCE", "wait_interval_in_seconds": 0},
                            "termination_wait_in_seconds": 0}}})
        at = STARTUP_S + 60.0
    faults = {"error_rate": case.error_rate, "latency_multiplier": case.latency_multiplier}
    canary: dict[str, Any] = {
        "at": at, "endpoint_config": {"faults": faults},
        "deployment_config": {"blue_green_update_policy": {
            "traffic_routing_configuration": {"type": "CANARY", "wait_interval_in_seconds": bake_s,
                                              "canary_size": {"type": "CAPACITY_PERCENT", "value": canary_percent}},
            "termination_wait_in_seconds": 0}}}
    if g["alarms"]:
        canary["deployment_config"]["auto_rollback_configuration"] = {"alarms": [{"alarm_name": a} for a in g["alarms"]]}
    judges = _judges(g, bake_s, interval_s)
    if judges:
        canary["judges"] = judges
    updates.append(canary)
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": instances,
           "workers_per_instance": workers_per_instance,
           "service_time": {"dist": "lognormal", "mean_ms": service_mean_ms, "cv": service_cv}, "updates": updates}
    alarms = [{"alarm_name": a, "deployment": "api", "fleet": "new", **ALARMS[a]} for a in g["alarms"]]
    raw = {"name": "judge-evaluation", "seed": seed, "duration": at + STARTUP_S + bake_s + 1.0,
           "model": "breast_cancer_logreg", "workload": {"arrivals": "poisson", "rate_per_s": rate_per_s},
           "deployments": [dep]}
    if alarms:
        raw["alarms"] = alarms
    return raw


def run_replications(raw: Mapping, *, replications: int, seed: int) -> pd.DataFrame:
    """Run ``raw`` once per seed spawned from ``seed``; one row per replication: ``seed``,
    ``rolled_back``, ``delay_s`` (rollback − the canary's first traffic), ``requests_to_new``,
    ``errors_to_new``, ``outcome``, and ``latency_{new,old,baseline}_ms``: the mean latency of the
    requests each arm answered without error among those arriving during the canary bake (NaN for
    an arm without any) — the difference new − old in an A/A update is the comparison's bias.

    Raises :class:`~simlab.errors.ScenarioError` for an invalid scenario.
    """
    from simlab.scenario import scenario_from_dict
    from simlab.simulation import Simulation
    from simlab.whatif.execute import replication_seeds

    scenario = scenario_from_dict(dict(raw))
    rows = []
    for s in replication_seeds(seed, replications):
        sim = Simulation(scenario, seed=s).run()
        u = sim.features["rollouts"].summary("api")["updates"][-1]
        start = next((st["t_s"] for st in u["steps"] if st["event"] == "ActivatingTraffic"), math.nan)
        rolled = u["outcome"] == "rolled_back"
        end = u["finished_s"] if u["finished_s"] is not None else sim.duration
        rows.append({"seed": s, "outcome": u["outcome"], "rolled_back": rolled,
                     "delay_s": (u["detected_s"] - start) if rolled and u["detected_s"] is not None else math.nan,
                     "requests_to_new": u["requests_to_new"], "errors_to_new": u["errors_to_new"],
                     **_arm_latencies(sim, start, end)})
    return pd.DataFrame(rows)


def _arm_latencies(sim: Any, t0: float, t1: float) -> dict[str, float]:
    """Mean latency (ms) per arm of the requests arriving in [t0, t1) and answered without error;
    arms by fleet config name: the canary update's fleet, its ``-baseline`` fleet, the rest old."""
    import numpy as np

    from simlab.records import Err

    dep = sim.deployments[0]
    ctl = sim.features["rollouts"].run.controllers["api"][-1]
    new = [f.id for f in dep.fleets() if f.config_name == ctl.config_name]
    base = [f.id for f in dep.fleets() if f.config_name == f"{ctl.config_name}-baseline"]
    log, t = dep.log, sim.workload.t
    ok = (t >= t0) & (t < t1) & (log.error == Err.NONE) & np.isfinite(log.t_done)
    lat = (log.t_done - t) * 1000.0
    is_new, is_base = np.isin(log.fleet, new), np.isin(log.fleet, base)
    masks = {"new": ok & is_new, "baseline": ok & is_base, "old": ok & ~is_new & ~is_base}
    return {f"latency_{a}_ms": float(lat[m].mean()) if m.any() else math.nan for a, m in masks.items()}


def binomial_interval(successes: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Clopper–Pearson (exact) interval of a binomial proportion (statsmodels ``proportion_confint``)."""
    lo, hi = proportion_confint(successes, n, alpha=1 - level, method="beta")
    return float(lo), float(hi)


def evaluate(*, replications: int = 200, seed: int = 1, guards: Sequence[str] | None = None,
             cases: Sequence[Case] = CASES, **scenario: Any) -> pd.DataFrame:
    """One row per (guard, case): rollback rate with its 95 % Clopper–Pearson interval, mean and
    median delay of the rollbacks, mean requests served by the new version.

    Every (guard, case) uses the same seeds (common random numbers: the same arrivals across rows).
    ``scenario`` keywords go to :func:`canary_scenario`. Raises KeyError for an unknown guard name.
    """
    rows = []
    for name in guards or list(GUARDS):
        for case in cases:
            df = run_replications(canary_scenario(guard=name, case=case, **scenario), replications=replications,
                                  seed=seed)
            k = int(df["rolled_back"].sum())
            lo, hi = binomial_interval(k, replications)
            rows.append({"guard": name, "case": case.label, "aa": case.aa, "replications": replications,
                         "rollbacks": k, "rate": k / replications, "ci_low": lo, "ci_high": hi,
                         "mean_delay_s": float(df["delay_s"].mean()) if k else math.nan,
                         "median_delay_s": float(df["delay_s"].median()) if k else math.nan,
                         "mean_requests_to_new": float(df["requests_to_new"].mean()),
                         **{f"mean_{c}": float(df[c].mean()) for c in df.columns if c.startswith("latency_")}})
    return pd.DataFrame(rows)


def markdown_table(df: pd.DataFrame) -> str:
    """The rows of :func:`evaluate` as the Markdown table of docs/rollouts.md."""
    lines = ["| guard | case | rolled back (95 % CI) | mean delay |", "| --- | --- | --- | --- |"]
    last = None
    for r in df.itertuples():
        delay = "—" if math.isnan(r.mean_delay_s) else f"{r.mean_delay_s:.0f} s"
        cell = f"{r.rate:.1%} [{r.ci_low:.1%}, {r.ci_high:.1%}]"
        lines.append(f"| {'' if r.guard == last else r.guard} | {r.case} | {cell} | {delay} |")
        last = r.guard
    return "\n".join(lines) + "\n"
