"""Target tracking: when scaling happens after a load step, per the documented alarm rule."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import rt, run, scenario

from simlab.autoscaling import HIGH_DATAPOINTS, LOW_DATAPOINTS, LOW_RATIO, TargetTracking

STEP_UP, STEP_DOWN, END = 1200.0, 3000.0, 6000.0
LOW_RATE, HIGH_RATE = 5.0, 50.0  # requests/s: 300/min and 3000/min


def step_trace(tmp_path) -> str:
    """Evenly spaced arrivals: 5/s, 50/s between the steps, then 5/s again."""
    parts = [np.arange(0, STEP_UP, 1 / LOW_RATE), np.arange(STEP_UP, STEP_DOWN, 1 / HIGH_RATE),
             np.arange(STEP_DOWN, END, 1 / LOW_RATE)]
    path = tmp_path / "step.csv"
    np.savetxt(path, np.concatenate(parts), header="timestamp", comments="", fmt="%.6f")
    return str(path)


def autoscaled(tmp_path, **auto) -> dict:
    policy = {"min_instances": 1, "max_instances": 8, "target_invocations_per_instance": 600,
              "scale_out_cooldown": 300, "scale_in_cooldown": 300, "instance_startup": 300}
    policy.update(auto)
    return scenario(rt(service_time={"dist": "fixed", "mean_ms": 20}, workers_per_instance=2,
                       autoscaling=policy), duration=END,
                    workload={"arrivals": "trace", "file": step_trace(tmp_path)})


def timeline(res) -> list[tuple[float, int]]:
    return [(t, n) for _, t, n in res.deployments["rt"].instance_timeline()]


def test_scale_out_waits_for_three_datapoints_and_startup(tmp_path) -> None:
    res = run(autoscaled(tmp_path))
    first_up = next(t for t, n in timeline(res) if n > 1)
    alarm_at = STEP_UP + HIGH_DATAPOINTS * 60.0  # third full minute above target has ended
    assert first_up == pytest.approx(alarm_at + 300.0)
    # desired = ceil(3000 / 600) = 5 instances, all launched by that one decision
    assert max(n for _, n in timeline(res)) == 5


def test_startup_time_delays_capacity(tmp_path) -> None:
    fast, slow = run(autoscaled(tmp_path, instance_startup=60)), run(autoscaled(tmp_path, instance_startup=600))
    up = lambda r: next(t for t, n in timeline(r) if n > 1)  # noqa: E731
    assert up(slow) - up(fast) == pytest.approx(540.0)


def test_scale_in_after_fifteen_low_datapoints_and_cooldown(tmp_path) -> None:
    res = run(autoscaled(tmp_path))
    downs = [(t, n) for t, n in timeline(res) if t > STEP_DOWN]
    first_down = downs[0]
    assert first_down[0] == pytest.approx(STEP_DOWN + LOW_DATAPOINTS * 60.0)
    assert first_down[1] == 1  # ceil(300 / 600) = 1


def test_scale_in_cooldown_delays_scale_in(tmp_path) -> None:
    res = run(autoscaled(tmp_path, scale_in_cooldown=3000))
    # last activity: the scale-out decision at STEP_UP + 180 s; scale-in waits 3000 s after it
    down = next(t for t, n in timeline(res) if t > STEP_DOWN and n == 1)
    assert down == pytest.approx(STEP_UP + HIGH_DATAPOINTS * 60.0 + 3000.0)


def test_disable_scale_in_keeps_the_fleet(tmp_path) -> None:
    res = run(autoscaled(tmp_path, disable_scale_in=True))
    assert timeline(res)[-1][1] == 5


def test_instance_count_metric_follows_the_timeline(tmp_path) -> None:
    res = run(autoscaled(tmp_path))
    m = res.metrics.set_index("minute")
    assert m.loc[int(STEP_UP // 60), "InstanceCount"] == 1
    assert m.loc[int((STEP_UP + 480) // 60) + 1, "InstanceCount"] == 5


def test_scale_out_cooldown_blocks_a_second_scale_out() -> None:
    tt = TargetTracking(target=100, min_instances=1, max_instances=10, scale_out_cooldown=300, scale_in_cooldown=300)
    for minute in range(1, 4):
        decision = tt.decide(minute * 60.0, 300, 300, desired=1)
    assert decision == 3
    assert [tt.decide(m * 60.0, 500, 1000, desired=3) for m in (4, 5, 6, 7)] == [None, None, None, None]
    assert tt.decide(8 * 60.0, 500, 1000, desired=3) == 10  # 300 s after the first scale-out


def test_low_alarm_threshold_is_ninety_percent_of_target() -> None:
    tt = TargetTracking(target=100, min_instances=1, max_instances=10, scale_out_cooldown=0, scale_in_cooldown=0)
    at_threshold = [tt.decide(m * 60.0, LOW_RATIO * 100, 2 * LOW_RATIO * 100, desired=4) for m in range(1, 30)]
    assert at_threshold == [None] * 29  # exactly 90 % is not below the threshold
    below = [tt.decide(m * 60.0, 50, 100, desired=4) for m in range(30, 30 + LOW_DATAPOINTS)]
    assert below[:-1] == [None] * (LOW_DATAPOINTS - 1) and below[-1] == 1


def test_datapoint_divides_by_the_time_average_fleet() -> None:
    from simlab.autoscaling import time_average as _time_average

    timeline = [(0.0, 1), (90.0, 3), (120.0, 2)]
    assert _time_average(timeline, 60.0, 120.0) == pytest.approx((30 * 1 + 30 * 3) / 60)
    assert _time_average(timeline, 120.0, 180.0) == pytest.approx(2.0)
    assert _time_average([(0.0, 1), (60.0, 5)], 0.0, 60.0) == pytest.approx(1.0)  # joins at the boundary


def test_max_instances_is_the_peak_at_one_moment_over_variants() -> None:
    from simlab.deployments.realtime import RealTimeEndpoint

    ep = RealTimeEndpoint.__new__(RealTimeEndpoint)

    class Fleet:  # the fleets of two variants (one each)
        def __init__(self, idx, timeline):
            self.id, self.timeline = idx, timeline

    # a peaks at 4 early, b peaks at 4 late: never 8 at once; at t=100 a drops while b rises
    ep.all_fleets = [Fleet(0, [(0.0, 4), (100.0, 1)]), Fleet(1, [(0.0, 1), (100.0, 4)])]
    assert ep._peak_instances() == 5
