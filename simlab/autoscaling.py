"""Target-tracking auto scaling as Application Auto Scaling does it for SageMaker variants.

Evaluation rule (documented in docs/model.md): once a minute, at the minute boundary, the metric
datapoint of the minute just ended is computed (e.g. SageMakerVariantInvocationsPerInstance =
invocations in that minute / the time-average number of instances in service during it). Target tracking creates two CloudWatch alarms:
a high alarm (metric > target for 3 consecutive 1-minute datapoints) that scales out, and a low
alarm (metric < 90 % of target for 15 consecutive datapoints) that scales in. Desired capacity is
``ceil(load / target)`` clamped to [min, max]. A scale-out waits for the scale-out cooldown since
the previous scale-out; a scale-in waits for the scale-in cooldown since the previous scaling
activity of either kind. New instances serve after ``instance_startup``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simlab import facts
from simlab.schema import Bool, Duration, Field, Float, Int, Schema, ordered

__all__ = ["METRIC_PERIOD_S", "time_average", "TargetTracking", "AUTOSCALING_SCHEMA", "HIGH_DATAPOINTS", "LOW_DATAPOINTS", "LOW_RATIO"]

METRIC_PERIOD_S = 60.0  # CloudWatch period of the endpoint metrics and of every scaling alarm
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


@dataclass
class TargetTracking:
    """The alarm state machine; ``decide`` returns the new desired capacity or None."""

    target: float
    min_instances: int
    max_instances: int
    scale_out_cooldown: float
    scale_in_cooldown: float
    disable_scale_in: bool = False
    high_streak: int = 0
    low_streak: int = 0
    last_out: float = -math.inf
    last_activity: float = -math.inf

    @classmethod
    def from_config(cls, cfg: dict, *, target_key: str = "target_invocations_per_instance") -> TargetTracking:
        return cls(target=cfg[target_key], min_instances=cfg["min_instances"], max_instances=cfg["max_instances"],
                   scale_out_cooldown=cfg["scale_out_cooldown"], scale_in_cooldown=cfg["scale_in_cooldown"],
                   disable_scale_in=cfg["disable_scale_in"])

    def wanted(self, load: float) -> int:
        """Desired capacity for a total load (metric × instances): ceil(load / target), clamped."""
        return max(self.min_instances, min(self.max_instances, math.ceil(load / self.target - 1e-9)))

    def decide(self, now: float, per_instance: float, load: float, desired: int) -> int | None:
        """Feed one datapoint; return a new desired capacity when an alarm fires a scaling action."""
        self.high_streak = self.high_streak + 1 if per_instance > self.target else 0
        self.low_streak = self.low_streak + 1 if per_instance < LOW_RATIO * self.target else 0
        want = self.wanted(load)
        if self.high_streak >= HIGH_DATAPOINTS and want > desired and now - self.last_out >= self.scale_out_cooldown:
            self.last_out = self.last_activity = now
            return want
        if (self.low_streak >= LOW_DATAPOINTS and want < desired and not self.disable_scale_in
                and now - self.last_activity >= self.scale_in_cooldown):
            self.last_activity = now
            return want
        return None


def time_average(timeline: list[tuple[float, int]], t0: float, t1: float) -> float:
    """Time-average over [t0, t1] of a step function given as (time, value) changes, e.g. the
    number of instances in service: the denominator of a per-instance one-minute datapoint."""
    area, prev_t, prev_n = 0.0, t0, 0
    for t, n in timeline:
        if t > t0:
            area += prev_n * (min(t, t1) - prev_t)
            prev_t = min(t, t1)
        prev_n = n
        if t >= t1:
            break
    area += prev_n * (t1 - prev_t)
    return area / (t1 - t0)
