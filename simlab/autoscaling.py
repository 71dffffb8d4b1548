"""Target-tracking auto scaling as Application Auto Scaling does it for SageMaker variants.

Evaluation rule (documented in docs/model.md and docs/alarms.md): once a minute, when the minute
closes, the deployment publishes the datapoint of the minute just ended (e.g.
SageMakerVariantInvocationsPerInstance = invocations in that minute / the time-average number of
instances in service during it). Target tracking owns two CloudWatch alarms of
:class:`simlab.alarms.Alarm`: a high alarm (3 of 3 datapoints > target) that scales out and a low
alarm (15 of 15 datapoints < 90 % of target) that scales in. Desired capacity is
``ceil(load / target)`` clamped to [min, max]. Cooldowns follow Application Auto Scaling's
definitions: during the scale-out cooldown a scale-out still happens if it raises capacity above
the desired capacity the previous scale-out set (a scale-out cooldown does not block a larger
scale-out); a scale-in waits for the scale-in cooldown counted from the last scale-in activity.
New instances serve after ``instance_startup``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING

from simlab import facts
from simlab.schema import Bool, Duration, Field, Float, Int, Schema, ordered

if TYPE_CHECKING:  # pragma: no cover
    from simlab.alarms import Alarm

# simlab.alarms (and numpy with it) is imported where an alarm is built, not here: the decision
# engine reads this module's constants and must not load numpy (tests/test_recommend_cli.py)
ALARM = "ALARM"  # simlab.alarms.ALARM

__all__ = ["time_average", "TargetTracking", "AUTOSCALING_SCHEMA", "HIGH_DATAPOINTS", "LOW_DATAPOINTS", "LOW_RATIO"]

HIGH_DATAPOINTS = 3
LOW_DATAPOINTS = 15
LOW_RATIO = 0.9


AUTOSCALING_SCHEMA = Schema("autoscaling", [
    Field("min_instances", Int(min=1), default=1, unit="instances", doc="MinCapacity (≥ 1 for real-time)"),
    Field("max_instances", Int(min=1), unit="instances", doc="MaxCapacity"),
    Field("target_invocations_per_instance", Float(min=0, min_open=True), unit="invocations/min",
          doc="TargetValue for SageMakerVariantInvocationsPerInstance (per minute per instance)"),
    Field("scale_out_cooldown", Duration(), default=float(facts.limit("real_time_endpoint.default_scale_out_cooldown_s")),
          unit="s", doc="ScaleOutCooldown (AAS default 300 s)"),
    Field("scale_in_cooldown", Duration(), default=float(facts.limit("real_time_endpoint.default_scale_in_cooldown_s")),
          unit="s", doc="ScaleInCooldown (AAS default 300 s)"),
    Field("instance_startup", Duration(), default=float(facts.limit("real_time_endpoint.default_instance_startup_s")), unit="s",
          doc="time from the scale-out decision until a new instance serves (assumption: 5 min; "
              "VariantInstanceProvisionTimeoutInSeconds allows 300–3600)"),
    Field("disable_scale_in", Bool(), default=False, doc="DisableScaleIn"),
], checks=(ordered("min_instances", "max_instances"),))


def _alarm(name: str, op: str, threshold: float, n: int) -> Alarm:
    from simlab.alarms import Alarm, AlarmSpec
    from simlab.metrics import METRIC_PERIOD_S

    spec = AlarmSpec(alarm_name=name, deployment="", metric_name="", statistic="Average", threshold=threshold,
                     comparison_operator=op, period=int(METRIC_PERIOD_S), evaluation_periods=n)
    return Alarm(spec, store=None)


@dataclass
class TargetTracking:
    """A target-tracking policy: its two alarms and the cooldowns; ``decide`` returns the new
    desired capacity or None."""

    target: float
    min_instances: int
    max_instances: int
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool = False
    last_out: float = -math.inf  # time of the last scale-out activity
    out_capacity: int = 0  # desired capacity the last scale-out set
    last_in: float = -math.inf  # time of the last scale-in activity

    def __post_init__(self) -> None:
        self.high = _alarm("TargetTracking-AlarmHigh", "GreaterThanThreshold", self.target, HIGH_DATAPOINTS)
        self.low = _alarm("TargetTracking-AlarmLow", "LessThanThreshold", LOW_RATIO * self.target, LOW_DATAPOINTS)

    @classmethod
    def from_config(cls, cfg: dict, *, target_key: str = "target_invocations_per_instance") -> TargetTracking:
        return cls(target=cfg[target_key], min_instances=cfg["min_instances"], max_instances=cfg["max_instances"],
                   scale_out_cooldown=cfg["scale_out_cooldown"], scale_in_cooldown=cfg["scale_in_cooldown"],
                   disable_scale_in=cfg["disable_scale_in"])

    def wanted(self, load: float) -> int:
        """Desired capacity for a total load (metric × instances): ceil(load / target), clamped."""
        return max(self.min_instances, min(self.max_instances, math.ceil(load / self.target - 1e-9)))

    def decide(self, now: float, per_instance: float, load: float, desired: int) -> int | None:
        """Feed the datapoint of the minute ending at ``now`` to both alarms; return a new desired
        capacity when an alarm in ALARM calls for a scaling activity the cooldowns allow."""
        self.high.evaluate(now, per_instance, given=True)
        self.low.evaluate(now, per_instance, given=True)
        want = self.wanted(load)
        if self.high.state == ALARM:
            in_cooldown = now - self.last_out < self.scale_out_cooldown
            floor = max(desired, self.out_capacity) if in_cooldown else desired
            if want > floor:
                self.last_out, self.out_capacity = now, want
                return want
            return None
        if (self.low.state == ALARM and want < desired and not self.disable_scale_in
                and now - self.last_in >= self.scale_in_cooldown):
            self.last_in = now
            return want
        return None


def time_average(timeline: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Time-average over [t0, t1] of a step function given as (time, value) changes, e.g. the
    number of instances in service: the denominator of a per-instance one-minute datapoint.
    ``timeline`` is in time order (it is appended to as the clock runs): the changes up to ``t0``
    are found by bisection, so a long run's minutes do not re-read its whole history."""
    i = bisect.bisect_right(timeline, t0, key=itemgetter(0))
    area, prev_t, prev_n = 0.0, t0, timeline[i - 1][1] if i else 0
    for j in range(i, len(timeline)):
        t, n = timeline[j]
        area += prev_n * (min(t, t1) - prev_t)
        prev_t = min(t, t1)
        prev_n = n
        if t >= t1:
            break
    area += prev_n * (t1 - prev_t)
    return area / (t1 - t0)
