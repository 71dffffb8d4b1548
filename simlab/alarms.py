"""CloudWatch metric alarms on the run's live metrics (``PutMetricAlarm`` fields in snake_case).

An :class:`Alarm` evaluates when each of its periods closes on the SimPy clock, from the datapoints
in ``sim.metrics`` (:mod:`simlab.metrics`), with CloudWatch's M-of-N rule and missing-data
treatment (the rules and their source: docs/alarms.md). The scenario's top-level ``alarms:`` list
(a feature of the seam: simlab/alarm_feature.py) fills ``sim.alarms`` (name → Alarm);
target-tracking auto scaling builds its high and low alarms from the same class
(simlab/autoscaling.py).
"""

from __future__ import annotations

import math
import operator
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simlab.accounting import rnd
from simlab.errors import Problem
from simlab.metrics import METRIC_PERIOD_S, STATISTICS, MetricStore, parse_statistic
from simlab.schema import Any_, Field, Float, Int, OneOf, Schema, Str, suggest

if TYPE_CHECKING:  # pragma: no cover
    import simpy

__all__ = ["Alarm", "AlarmSpec", "ALARM_SCHEMA", "COMPARISONS", "TREAT_MISSING", "STATES", "FLEETS",
           "INSUFFICIENT_DATA", "OK", "ALARM", "register_metric", "metric_allowed", "extra_metric_patterns",
           "evaluate_window"]

INSUFFICIENT_DATA, OK, ALARM = "INSUFFICIENT_DATA", "OK", "ALARM"
STATES = (INSUFFICIENT_DATA, OK, ALARM)
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanThreshold": operator.gt, "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt, "LessThanOrEqualToThreshold": operator.le}
_SYMBOL = {"GreaterThanThreshold": ">", "GreaterThanOrEqualToThreshold": "≥", "LessThanThreshold": "<",
           "LessThanOrEqualToThreshold": "≤"}
TREAT_MISSING = ("missing", "notBreaching", "breaching", "ignore")
FLEETS = ("all", "new", "old")
NAME_PATTERN = r"[^\x00-\x1f]{1,255}"  # AlarmName: 1–255 characters

# Metric names a feature publishes itself (sim.metrics.put), as regular expressions
_EXTRA_METRICS: list[tuple[str, str]] = []


def register_metric(pattern: str, doc: str = "") -> None:
    """Allow alarms on metric names matching ``pattern`` (a regular expression, full match), for
    metrics a feature publishes with ``sim.metrics.put`` (e.g. ``feature_baseline_drift_.+``)."""
    if pattern not in [p for p, _ in _EXTRA_METRICS]:
        _EXTRA_METRICS.append((pattern, doc))


def extra_metric_patterns() -> list[str]:
    """The patterns :func:`register_metric` allowed, in registration order."""
    return [p for p, _ in _EXTRA_METRICS]


def metric_allowed(name: str, known: list[str]) -> bool:
    """Whether an alarm may watch ``name``: a metric the deployment publishes (``known``) or one
    matching a registered pattern."""
    return name in known or any(re.fullmatch(p, name) for p, _ in _EXTRA_METRICS)


def _statistic(raw: Any, path: str) -> str:
    from simlab.schema import Invalid

    if parse_statistic(raw) is None:
        hint = suggest(raw, STATISTICS) if isinstance(raw, str) else ""
        raise Invalid(f"must be one of {' | '.join(STATISTICS)} or a percentile pNN / pNN.N (0–100){hint}", raw)
    return raw


def _period(raw: Any, path: str) -> int:
    from simlab.schema import Invalid

    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0 or raw % int(METRIC_PERIOD_S):
        raise Invalid(f"must be a positive multiple of {METRIC_PERIOD_S:g} s (the period of SageMaker metrics)", raw)
    return raw


def _m_of_n(cfg: dict, path: str) -> list[Problem]:
    m = cfg.get("datapoints_to_alarm")
    if m is not None and m > cfg["evaluation_periods"]:
        return [Problem(f"{path}.datapoints_to_alarm", f"must be ≤ evaluation_periods ({cfg['evaluation_periods']})",
                        str(m))]
    return []


ALARM_SCHEMA = Schema("alarm", [
    Field("alarm_name", Str(pattern=NAME_PATTERN, describe="a name of 1–255 characters"), doc="AlarmName (unique)"),
    Field("deployment", Str(), doc="dimension EndpointName: a deployment of this scenario"),
    Field("variant", Str(), default=None, doc="dimension VariantName (default: all variants together)"),
    Field("fleet", OneOf(FLEETS), default="all",
          doc="dimension EndpointConfigName during an update: all | new | old (the fleets the endpoint's "
              "current update names new and old; all = every fleet)"),
    Field("metric_name", Str(), doc="MetricName: an endpoint metric (Invocations, ModelLatency, …) or one a "
          "feature publishes"),
    Field("statistic", Any_(describe="a statistic", convert_fn=_statistic),
          doc="Statistic (SampleCount | Average | Sum | Minimum | Maximum) or ExtendedStatistic pNN / pNN.N"),
    Field("period", Any_(describe="a positive multiple of 60", convert_fn=_period), default=60, unit="s",
          doc="Period: a positive multiple of 60 s"),
    Field("evaluation_periods", Int(min=1), default=1, unit="periods", doc="EvaluationPeriods N"),
    Field("datapoints_to_alarm", Int(min=1), default=None, unit="datapoints",
          doc="DatapointsToAlarm M (M of N; default N)"),
    Field("threshold", Float(), doc="Threshold (ModelLatency and OverheadLatency are in microseconds)"),
    Field("comparison_operator", OneOf(tuple(COMPARISONS)), doc="ComparisonOperator"),
    Field("treat_missing_data", OneOf(TREAT_MISSING), default="missing", doc="TreatMissingData"),
], checks=(_m_of_n,), doc="a CloudWatch metric alarm (PutMetricAlarm)")


def evaluate_window(flags: list[bool | None], m: int, treat: str, state: str) -> tuple[str, str]:
    """The new state from the last N datapoint flags (True breaching, False not, None missing);
    returns (state, reason). The rules are CloudWatch's, as docs/alarms.md states them."""
    n = len(flags)
    present = [f for f in flags if f is not None]
    missing = n - len(present)
    breaching = sum(present)
    if missing == 0 or len(present) >= m:
        note = f" ({missing} missing not counted)" if missing else ""
        return (ALARM if breaching >= m else OK), f"{breaching} of the last {n} datapoints breaching{note}"
    if treat == "breaching":
        return (ALARM if breaching + missing >= m else OK), (
            f"{breaching} of the last {n} datapoints breaching, {missing} missing treated as breaching")
    if treat == "notBreaching":
        return OK, f"{breaching} of the last {n} datapoints breaching, {missing} missing treated as not breaching"
    if not present:
        if treat == "missing":
            return INSUFFICIENT_DATA, f"all {n} datapoints missing"
        return state, f"all {n} datapoints missing (ignored: state kept)"
    if treat == "ignore":
        return state, f"{len(present)} of the last {n} datapoints present, fewer than {m} (ignored: state kept)"
    return OK, f"{breaching} of the {len(present)} datapoints present breaching ({missing} missing)"


@dataclass
class AlarmSpec:
    """The definition of one alarm (PutMetricAlarm)."""

    alarm_name: str
    deployment: str
    metric_name: str
    statistic: str
    threshold: float
    comparison_operator: str
    period: int = 60
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    treat_missing_data: str = "missing"
    variant: str | None = None
    fleet: str = "all"

    @property
    def m(self) -> int:
        return self.evaluation_periods if self.datapoints_to_alarm is None else self.datapoints_to_alarm


class Alarm:
    """One alarm's state machine. ``state``; ``state_changed`` (a fresh SimPy event per transition,
    succeeded with the transition); ``transitions`` (``t_s``, ``from``, ``to``, ``reason``)."""

    def __init__(self, spec: AlarmSpec, store: MetricStore, env: simpy.Environment | None = None, *,
                 resolve_fleet: Callable[[str], str | None] | None = None) -> None:
        self.spec = spec
        self.name = spec.alarm_name
        self.store, self.env = store, env
        self.state = INSUFFICIENT_DATA
        self.transitions: list[dict[str, Any]] = []
        self.values: list[tuple[float, float | None]] = []  # (period end, datapoint) per evaluation
        self._flags: deque[bool | None] = deque([None] * spec.evaluation_periods, maxlen=spec.evaluation_periods)
        self._compare = COMPARISONS[spec.comparison_operator]
        self._stat = parse_statistic(spec.statistic)
        self._resolve_fleet = resolve_fleet
        self.state_changed = env.event() if env is not None else None

    def due(self, t: float) -> bool:
        """Whether one of this alarm's periods ends at ``t``."""
        return t > 0 and math.isclose(t / self.spec.period, round(t / self.spec.period), abs_tol=1e-9)

    def datapoint(self, t: float) -> float | None:
        """The statistic over the period ending at ``t`` (None = no data)."""
        s = self.spec
        fleet = None if s.fleet == "all" or self._resolve_fleet is None else self._resolve_fleet(s.fleet)
        stat = self.store.stat(deployment=s.deployment, metric=s.metric_name, t0=t - s.period, t1=t,
                               variant=s.variant, fleet=fleet)
        return None if stat is None else stat.value(self._stat)

    def evaluate(self, t: float, value: float | None = None, *, given: bool = False) -> str:
        """Take the datapoint of the period ending at ``t`` (read from the store unless ``given``)
        and move to the state the last N datapoints call for; returns the state."""
        if not given:
            value = self.datapoint(t)
        self.values.append((t, value))
        self._flags.append(None if value is None else bool(self._compare(value, self.spec.threshold)))
        new, why = evaluate_window(list(self._flags), self.spec.m, self.spec.treat_missing_data, self.state)
        if new != self.state:
            rule = f"{self.spec.statistic} {_SYMBOL[self.spec.comparison_operator]} {self.spec.threshold:g}"
            change = {"t_s": float(t), "from": self.state, "to": new, "reason": f"{why}; threshold {rule}"}
            self.state = new
            self.transitions.append(change)
            if self.state_changed is not None:
                event, self.state_changed = self.state_changed, self.env.event()
                event.succeed(change)
        return self.state

    def summary(self, end: float) -> dict[str, Any]:
        """The JSON summary entry: state, first_alarm_s, time_in_alarm_s, transitions."""
        first = next((c["t_s"] for c in self.transitions if c["to"] == ALARM), None)
        in_alarm, since = 0.0, None
        for c in self.transitions:
            if c["to"] == ALARM:
                since = c["t_s"]
            elif since is not None:
                in_alarm += c["t_s"] - since
                since = None
        if since is not None:
            in_alarm += end - since
        return {"state": self.state, "first_alarm_s": first, "time_in_alarm_s": rnd(in_alarm),
                "transitions": [dict(c) for c in self.transitions]}
