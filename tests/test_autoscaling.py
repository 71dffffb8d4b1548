"""Target tracking: when scaling happens after a load step, per the documented alarm rule."""

from __future__ import annotations

import math

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


def test_scale_out_does_not_start_the_scale_in_cooldown(tmp_path) -> None:
    # AAS: the scale-in cooldown counts from the last scale-in activity; the scale-out at
    # STEP_UP + 180 s does not delay the first scale-in (15 low datapoints after STEP_DOWN)
    res = run(autoscaled(tmp_path, scale_in_cooldown=3000))
    down = next(t for t, n in timeline(res) if t > STEP_DOWN and n == 1)
    assert down == pytest.approx(STEP_DOWN + LOW_DATAPOINTS * 60.0)


def stairs_trace(tmp_path, steps: list[tuple[float, float]], end: float) -> str:
    """Evenly spaced arrivals: rate r from each step's start to the next (the last until ``end``)."""
    bounds = [t for t, _ in steps[1:]] + [end]
    parts = [np.arange(t0, t1, 1 / r) for (t0, r), t1 in zip(steps, bounds, strict=True)]
    path = tmp_path / "stairs.csv"
    np.savetxt(path, np.concatenate(parts), header="timestamp", comments="", fmt="%.6f")
    return str(path)


def stairs(tmp_path, steps, end, **auto) -> dict:
    policy = {"min_instances": 1, "max_instances": 12, "target_invocations_per_instance": 600,
              "scale_out_cooldown": 300, "scale_in_cooldown": 300, "instance_startup": 300}
    policy.update(auto)
    return scenario(rt(service_time={"dist": "fixed", "mean_ms": 5}, workers_per_instance=4, autoscaling=policy),
                    duration=end, workload={"arrivals": "trace", "file": stairs_trace(tmp_path, steps, end)})


def test_scale_in_cooldown_counts_from_the_last_scale_in(tmp_path) -> None:
    # 50/s → 5 instances; at 3000 s 15/s (want ceil(900/600) = 2); at 4500 s 5/s (want 1).
    # First scale-in after 15 low datapoints: 3000 + 900 = 3900 s. The second waits the
    # scale-in cooldown (3000 s) from that scale-in: 6900 s, although the low alarm stays in ALARM.
    res = run(stairs(tmp_path, [(0, 5), (1200, 50), (3000, 15), (4500, 5)], 8000.0, scale_in_cooldown=3000))
    downs = {t: n for t, n in timeline(res) if t > 3000}
    assert downs == {3900.0: 2, 6900.0: 1}


def test_scale_out_cooldown_does_not_block_a_larger_scale_out(tmp_path) -> None:
    # 50/s from 1200 s: high alarm at 1380 s, scale out to 5 (up at 1680 s). 100/s from 1500 s:
    # the first full minute at 6000/min closes at 1560 s, inside the scale-out cooldown, and
    # wants 10 > 5 (the capacity the previous scale-out set): scale out at once (up at 1860 s).
    res = run(stairs(tmp_path, [(0, 5), (1200, 50), (1500, 100)], 2400.0))
    ups = {t: n for t, n in timeline(res) if t > 0}  # one entry per instance: keep the last at each time
    assert ups == {1680.0: 5, 1860.0: 10}


def test_disable_scale_in_keeps_the_fleet(tmp_path) -> None:
    res = run(autoscaled(tmp_path, disable_scale_in=True))
    assert timeline(res)[-1][1] == 5


def test_instance_count_metric_follows_the_timeline(tmp_path) -> None:
    res = run(autoscaled(tmp_path))
    m = res.metrics.set_index("minute")
    assert m.loc[int(STEP_UP // 60), "InstanceCount"] == 1
    assert m.loc[int((STEP_UP + 480) // 60) + 1, "InstanceCount"] == 5


def test_scale_out_cooldown_allows_only_a_larger_scale_out() -> None:
    tt = TargetTracking(target=100, min_instances=1, max_instances=10, scale_out_cooldown=300, scale_in_cooldown=300)
    for minute in range(1, 4):
        decision = tt.decide(minute * 60.0, 300, 300, desired=1)
    assert decision == 3  # the high alarm fires at the third datapoint above target
    # in the cooldown: the same load asks for no more than the 3 the scale-out set
    assert tt.decide(4 * 60.0, 300, 300, desired=3) is None
    # desired lowered to 2 by hand (UpdateEndpointWeightsAndCapacities) inside the cooldown: a
    # scale-out to 3 is not larger than the capacity the previous scale-out set
    assert tt.decide(5 * 60.0, 150, 300, desired=2) is None
    assert tt.decide(6 * 60.0, 500, 1000, desired=2) == 10  # larger: allowed inside the cooldown
    # after the cooldown (300 s from 360 s) the comparison is with the current desired capacity
    assert tt.decide(7 * 60.0, 450, 900, desired=8) is None  # in cooldown: 9 ≤ 10
    assert tt.decide(11 * 60.0, 450, 900, desired=8) == 9  # 660 s ≥ 360 + 300


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


def test_the_alarm_state_autoscaling_compares_with_is_the_alarms_constant() -> None:
    # autoscaling keeps the state name as a string so the decision engine can read its constants
    # without importing numpy; it must stay the alarms module's own value
    from simlab import alarms, autoscaling

    assert autoscaling.ALARM == alarms.ALARM


def test_time_average_by_hand_wherever_the_window_starts() -> None:
    from simlab.autoscaling import time_average as _time_average

    # the fleet: 2 from t=0, 5 from 100, 1 from 130, 4 from 250 (values unsorted, unlike the times)
    timeline = [(0.0, 2), (100.0, 5), (130.0, 1), (250.0, 4)]
    assert _time_average(timeline, 120.0, 180.0) == pytest.approx((10 * 5 + 50 * 1) / 60)  # starts mid-step
    assert _time_average(timeline, 100.0, 160.0) == pytest.approx((30 * 5 + 30 * 1) / 60)  # starts on a change
    assert _time_average(timeline, 240.0, 300.0) == pytest.approx((10 * 1 + 50 * 4) / 60)  # last change inside
    assert _time_average(timeline, 400.0, 460.0) == pytest.approx(4.0)  # after every change
    assert _time_average([(30.0, 3)], 0.0, 60.0) == pytest.approx(30 * 3 / 60)  # none before the first change
    assert _time_average([], 0.0, 60.0) == 0.0


def test_a_low_alarm_at_the_minimum_capacity_asks_for_nothing() -> None:
    # already at min_instances: the low alarm goes to ALARM but there is nothing to scale in, so
    # decide returns None every minute (and no scale-in activity starts a cooldown)
    tt = TargetTracking(target=100, min_instances=1, max_instances=10, scale_out_cooldown=0, scale_in_cooldown=0)
    decisions = [tt.decide(60.0 * (m + 1), per_instance=1.0, load=1.0, desired=1) for m in range(LOW_DATAPOINTS + 3)]
    assert tt.low.state == "ALARM" and decisions == [None] * (LOW_DATAPOINTS + 3)
    assert tt.last_in == -math.inf


def test_each_variant_scales_on_its_own_datapoints(tmp_path) -> None:
    """Two variants at weight 1:1 on the step trace; only B (listed second) has a policy, target
    1000. At the high step each gets about half of 3000 requests a minute (1500 ± 5 binomial sd ≈
    1400–1600). B's own InvocationsPerInstance (1500 on one instance) is above target, and its own
    load asks for ⌈1500 / 1000⌉ = 2 instances; A, without a policy, keeps its five. Reading both
    variants would go wrong either way: their datapoints average (300 + 1500) / 2 = 900, below the
    target, and their load asks for ⌈3000 / 1000⌉ = 3."""
    raw = autoscaled(tmp_path, target_invocations_per_instance=1000)
    policy = raw["deployments"][0].pop("autoscaling")
    raw["deployments"][0]["variants"] = [{"name": "A", "weight": 1, "instance_count": 5},
                                         {"name": "B", "weight": 1, "autoscaling": policy}]
    res = run(raw)
    counts = {}
    for v, _, n in res.deployments["rt"].instance_timeline():
        counts[v] = max(counts.get(v, 0), n)
    assert counts == {"A": 5, "B": 2}
