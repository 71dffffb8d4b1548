"""The update controller against a fake endpoint and fake alarms that implement the seam contract.

Every timeline below is computed by hand from the policy, the fake's start-up time and the alarm
times; the fake records every owner-API call so the traffic actually routed is checked too.
"""

from __future__ import annotations

import pytest
import simpy
from rollout_fakes import FakeAlarm, FakeEndpoint

from simlab.errors import ParameterError
from simlab.rollouts.controller import JudgeHook, UpdateController
from simlab.rollouts.judges import ArmSample, ThresholdJudge


def canary(wait=600, term=600, size=None, max_exec=None, alarms=("api-5xx",), kind="CANARY") -> dict:
    routing = {"type": kind, "wait_interval_in_seconds": wait}
    if kind == "CANARY":
        routing["canary_size"] = size or {"type": "CAPACITY_PERCENT", "value": 25}
    if kind == "LINEAR":
        routing["linear_step_size"] = size
    bg = {"traffic_routing_configuration": routing, "termination_wait_in_seconds": term,
          "maximum_execution_timeout_in_seconds": max_exec}
    dc = {"blue_green_update_policy": bg}
    if alarms:
        dc["auto_rollback_configuration"] = {"alarms": [{"alarm_name": a} for a in alarms]}
    return {"at": 0.0, "endpoint_config": {"model": "new_model"}, "deployment_config": dc}


def run(update: dict, *, at: float = 100.0, alarm_changes=(), until: float = 20000.0, judges=(), **fake):
    env = simpy.Environment()
    dep = FakeEndpoint(env, **fake)
    alarm = FakeAlarm(env, list(alarm_changes))
    ctl = UpdateController(env, dep, update, alarms={"api-5xx": alarm}, judges=judges, faults="FAULTS")

    def later():
        yield env.timeout(at)
        yield ctl.start()

    env.process(later())
    env.run(until=until)
    return ctl, dep


def steps(ctl) -> list[tuple]:
    return [(s["t_s"], s["event"], s["traffic_to_new"]) for s in ctl.outcome["steps"]]


def test_canary_completes_on_the_hand_computed_clock() -> None:
    ctl, dep = run(canary(), alarm_changes=[(50, "OK")])
    # t0 = 100; green in service at 400 (start-up 300); canary bake 600; final bake 600
    assert steps(ctl) == [(100, "Updating", 0.0), (400, "ActivatingTraffic", 0.25), (400, "Baking", 0.25),
                          (1000, "ActivatingTraffic", 1.0), (1000, "Baking", 1.0), (1600, "InService", 1.0)]
    o = ctl.outcome
    assert (o["at_s"], o["policy"], o["outcome"], o["finished_s"], o["detected_s"]) == (100, "CANARY", "completed", 1600, None)
    assert dep.of("set_fleet_traffic") == [(400, "set_fleet_traffic", "AllTraffic", {1: 0.25, 0: 0.75}),
                                           (1000, "set_fleet_traffic", "AllTraffic", {1: 1.0, 0: 0.0})]
    assert dep.of("retire_fleet") == [(1600, "retire_fleet", 0)]
    assert dep.of("suspend_autoscaling") == [(100, "suspend_autoscaling", "AllTraffic", True),
                                             (1600, "suspend_autoscaling", "AllTraffic", False)]
    assert dep.of("add_fleet") == [(100, "add_fleet", "AllTraffic", "new_model", 4, "FAULTS")]


@pytest.mark.parametrize("t_alarm", [700.0, 1300.0, 999.0])
def test_alarm_during_a_bake_sends_all_traffic_back_at_that_moment(t_alarm: float) -> None:
    ctl, dep = run(canary(), alarm_changes=[(50, "OK"), (t_alarm, "ALARM")])
    o = ctl.outcome
    assert (o["outcome"], o["detected_s"], o["finished_s"]) == ("rolled_back", t_alarm, t_alarm)
    assert steps(ctl)[-2:] == [(t_alarm, "RollingBack", 0.0), (t_alarm, "InService", 0.0)]
    assert dep.of("set_fleet_traffic")[-1] == (t_alarm, "set_fleet_traffic", "AllTraffic", {1: 0.0, 0: 1.0})
    assert dep.of("retire_fleet") == [(t_alarm, "retire_fleet", 1)]  # green, not blue
    assert "api-5xx" in o["reason"]


def test_alarm_already_in_alarm_stops_at_the_first_bake() -> None:
    ctl, _ = run(canary(), alarm_changes=[(50, "ALARM")])
    assert (ctl.outcome["outcome"], ctl.outcome["detected_s"]) == ("rolled_back", 400)


def test_alarm_after_completion_or_before_any_bake_that_recovers_does_nothing() -> None:
    ctl, _ = run(canary(), alarm_changes=[(50, "OK"), (1700, "ALARM")])
    assert ctl.outcome["outcome"] == "completed"
    ctl, _ = run(canary(), alarm_changes=[(150, "ALARM"), (350, "OK")])  # only while provisioning
    assert ctl.outcome["outcome"] == "completed"


def test_unlisted_alarm_is_not_watched() -> None:
    ctl, _ = run(canary(alarms=()), alarm_changes=[(700, "ALARM")])
    assert ctl.outcome["outcome"] == "completed"  # no AutoRollbackConfiguration: no automatic rollback


def test_linear_steps_turn_off_an_equal_slice_of_blue() -> None:
    u = canary(wait=300, term=300, kind="LINEAR", size={"type": "CAPACITY_PERCENT", "value": 20})
    ctl, dep = run(u, at=0.0)
    shifts = [(s[0], s[2]) for s in steps(ctl) if s[1] == "ActivatingTraffic"]
    assert shifts == [(300, 0.2), (600, 0.4), (900, 0.6), (1200, 0.8), (1500, 1.0)]
    blue = [c[3][0] for c in dep.of("set_fleet_traffic")]
    assert blue == pytest.approx([0.8, 0.6, 0.4, 0.2, 0.0])
    assert ctl.outcome["finished_s"] == 1800  # last shift + termination wait 300


def test_all_at_once_default_and_with_bakes() -> None:
    ctl, dep = run({"at": 0, "endpoint_config": {}}, at=0.0)
    assert steps(ctl) == [(0, "Updating", 0.0), (300, "ActivatingTraffic", 1.0), (300, "InService", 1.0)]
    assert ctl.outcome["policy"] == "ALL_AT_ONCE"
    assert dep.of("add_fleet")[0][3] == "old_model"  # model unchanged
    ctl, _ = run(canary(wait=600, term=300, kind="ALL_AT_ONCE"), at=0.0)
    assert steps(ctl) == [(0, "Updating", 0.0), (300, "ActivatingTraffic", 1.0), (300, "Baking", 1.0),
                          (900, "Baking", 1.0), (1200, "InService", 1.0)]


@pytest.mark.parametrize("how", ["value", "event"])
def test_startup_failure_fails_the_update_and_blue_keeps_serving(how: str) -> None:
    ctl, dep = run(canary(), fail_startup=how)
    assert steps(ctl) == [(100, "Updating", 0.0), (400, "InService", 0.0)]
    assert (ctl.outcome["outcome"], ctl.outcome["detected_s"]) == ("failed", None)
    assert dep.of("set_fleet_traffic") == [] and dep.traffic[0] == 1.0
    assert dep.of("retire_fleet") == [(400, "retire_fleet", 1)]


def test_execution_timeout() -> None:
    # deadline 100 + 600 = 700; shift at 400, canary bake to 600, full shift, final bake would end at 800
    ctl, dep = run(canary(wait=200, term=200, max_exec=600))
    o = ctl.outcome
    assert (o["outcome"], o["finished_s"], o["detected_s"]) == ("timed_out", 700, None)
    assert steps(ctl)[-2:] == [(700, "RollingBack", 0.0), (700, "InService", 0.0)]
    ctl, _ = run(canary(wait=200, term=200, max_exec=600), startup_s=700)  # still provisioning at 700
    assert (ctl.outcome["outcome"], ctl.outcome["finished_s"]) == ("timed_out", 700)
    # the abandoned fleet fails to start later (at 800): the run goes on
    ctl, _ = run(canary(wait=200, term=200, max_exec=600), startup_s=700, fail_startup="event")
    assert (ctl.outcome["outcome"], ctl.outcome["finished_s"]) == ("timed_out", 700)


def rolling(batch=50, rollback=None, wait=300) -> dict:
    pol = {"maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": batch}, "wait_interval_in_seconds": wait,
           "maximum_execution_timeout_in_seconds": None, "rollback_maximum_batch_size": rollback}
    return {"at": 0, "endpoint_config": {"model": "new_model"},
            "deployment_config": {"rolling_update_policy": pol,
                                  "auto_rollback_configuration": {"alarms": [{"alarm_name": "api-5xx"}]}}}


def test_rolling_batches() -> None:
    ctl, dep = run(rolling(), at=0.0, startup_s=120)
    # 4 instances, batches of 2: new 2 vs old 4 → 1/3; old −2 → 1/2; new 4 vs old 2 → 2/3; old −2 → 1
    expected = [
        (0, "Updating", 0.0), (120, "ActivatingTraffic", 1 / 3), (120, "Baking", 1 / 3),
        (420, "ActivatingTraffic", 0.5), (420, "Updating", 0.5), (540, "ActivatingTraffic", 2 / 3),
        (540, "Baking", 2 / 3), (840, "ActivatingTraffic", 1.0), (840, "InService", 1.0)]
    # pytest ≥ 9 approx takes no nested tuples: the times and events exactly, the shares approximately
    assert [s[:2] for s in steps(ctl)] == [e[:2] for e in expected]
    assert [s[2] for s in steps(ctl)] == pytest.approx([e[2] for e in expected])
    assert [c[4] for c in dep.of("add_fleet")] == [2, 2]
    # the old fleet loses a batch after each bake (down to one kept until the end)
    assert dep.of("set_fleet_instance_count") == [(420, "set_fleet_instance_count", 0, 2),
                                                  (840, "set_fleet_instance_count", 0, 1)]
    assert ctl.outcome["policy"] == "ROLLING" and ctl.outcome["outcome"] == "completed"
    assert dep.of("retire_fleet") == [(840, "retire_fleet", 0)]


def test_rolling_rollback_all_at_once_by_default() -> None:
    ctl, dep = run(rolling(), at=0.0, startup_s=120, alarm_changes=[(600, "ALARM")])
    # alarm at 600 in batch 2's bake: 2 old instances were removed → they start again (120 s)
    assert steps(ctl)[-2:] == [(720, "RollingBack", 0.0), (720, "InService", 0.0)]
    assert (ctl.outcome["outcome"], ctl.outcome["detected_s"], ctl.outcome["finished_s"]) == ("rolled_back", 600, 720)
    assert sorted(c[2] for c in dep.of("retire_fleet")) == [1, 2]
    # down to 2 at 420; on the rollback all 4 are asked for at the alarm, serving a start-up later
    assert dep.of("set_fleet_instance_count") == [(420, "set_fleet_instance_count", 0, 2),
                                                  (600, "set_fleet_instance_count", 0, 4)]


def test_rolling_rollback_in_batches() -> None:
    ctl, _ = run(rolling(rollback={"type": "INSTANCE_COUNT", "value": 1}), at=0.0, startup_s=120,
                 alarm_changes=[(600, "ALARM")])
    back = [(s[0], s[2]) for s in steps(ctl) if s[1] == "RollingBack"]
    # new 4, old 2: +1 old at 720 (new 3 vs old 3), +1 at 840 (2 vs 4), then old is whole: 1 vs 4, 0
    assert [b[0] for b in back] == [720, 840, 840, 840]
    assert [b[1] for b in back] == pytest.approx([0.5, 1 / 3, 0.2, 0.0])


def test_judge_rolls_back_when_its_interval_fails() -> None:
    def sample(t0: float, t1: float, which: str) -> ArmSample:
        bad = which == "new" and t1 > 700
        return ArmSample(requests=100, errors=10 if bad else 1)

    hook = JudgeHook(ThresholdJudge(metric="error_rate", max=0.05), 60.0, sample)
    ctl, _ = run(canary(alarms=()), judges=[hook])
    # looks every 60 s from the canary bake start (400): 460 … 700 pass, 760 fails
    assert (ctl.outcome["outcome"], ctl.outcome["detected_s"]) == ("rolled_back", 760)
    assert [v["t_s"] for v in ctl.verdicts] == [460, 520, 580, 640, 700, 760]
    assert ctl.verdicts[-1]["verdict"] == "fail" and "judge threshold" in ctl.outcome["reason"]


def test_judge_pause_holds_the_step_until_the_timeout() -> None:
    hook = JudgeHook(ThresholdJudge(max=0.05, no_data="pause", min_requests=10), 60.0,
                     lambda t0, t1, which: ArmSample(requests=0))
    ctl, _ = run(canary(alarms=(), max_exec=3600), judges=[hook])
    o = ctl.outcome
    assert (o["outcome"], o["finished_s"]) == ("timed_out", 3700)
    assert [s[1] for s in steps(ctl)].count("ActivatingTraffic") == 1  # never went past the canary


def test_missing_alarm_is_a_parameter_error() -> None:
    env = simpy.Environment()
    with pytest.raises(ParameterError, match="alarms"):
        UpdateController(env, FakeEndpoint(env), canary(), alarms={})


def test_fresh_baseline_fleet_started_with_the_canary() -> None:
    seen: list[str] = []

    def sample(t0: float, t1: float, which: str) -> ArmSample:
        seen.append(which)
        return ArmSample(requests=100, errors=1)

    hook = JudgeHook(ThresholdJudge(max=0.05), 300.0, sample, baseline="fresh")
    ctl, dep = run(canary(alarms=()), judges=[hook])
    adds = [(c[0], c[3], c[4]) for c in dep.of("add_fleet")]
    # 25 % of 4 instances, the old version, added before green so green is the newest fleet
    assert adds == [(100, "old_model", 1), (100, "new_model", 4)]
    assert dep.of("set_fleet_traffic") == [(400, "set_fleet_traffic", "AllTraffic", {1: 0.25, 2: 0.25, 0: 0.5}),
                                           (1000, "set_fleet_traffic", "AllTraffic", {1: 0.0, 2: 1.0, 0: 0.0})]
    assert dep.of("retire_fleet") == [(1000, "retire_fleet", 1), (1600, "retire_fleet", 0)]
    assert set(seen) == {"new", "baseline"} and ctl.outcome["outcome"] == "completed"


def test_fresh_baseline_is_retired_on_rollback_and_needs_a_canary() -> None:
    hook = JudgeHook(ThresholdJudge(max=0.05), 60.0, lambda t0, t1, w: ArmSample(requests=10, errors=0), "fresh")
    ctl, dep = run(canary(), judges=[hook], alarm_changes=[(700, "ALARM")])
    assert dep.of("set_fleet_traffic")[-1] == (700, "set_fleet_traffic", "AllTraffic", {2: 0.0, 1: 0.0, 0: 1.0})
    assert sorted(c[2] for c in dep.of("retire_fleet")) == [1, 2]
    env = simpy.Environment()
    with pytest.raises(ParameterError, match="fresh baseline"):
        UpdateController(env, FakeEndpoint(env), canary(kind="ALL_AT_ONCE", alarms=()), judges=[hook])
