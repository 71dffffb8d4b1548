"""The Feature pieces: scenario checks, the run that starts controllers on time, the power plan."""

from __future__ import annotations

import pytest
import simpy
from rollout_fakes import CANARY, ROLLING, FakeAlarm, FakeEndpoint
from scipy import stats as sps

from simlab.rollouts import power
from simlab.rollouts.config import JUDGE_SCHEMA
from simlab.rollouts.judges import ArmSample, MannWhitneyJudge, SequentialJudge, ThresholdJudge
from simlab.rollouts.run import (
    RolloutsRun,
    ShadowRun,
    apply_weight_changes,
    build_judge,
    check_scenario,
    update_power_plan,
)


def test_check_scenario_reads_the_top_level_alarms() -> None:
    dep = {"name": "ep", "type": "real_time_endpoint", "instance_count": 4, "variants": None, "updates": [CANARY]}
    assert check_scenario({"deployments": [dep], "alarms": [{"alarm_name": "api-5xx"}]}) == []
    got = check_scenario({"deployments": [dep]})
    assert [p.path for p in got] == ["deployments[0].updates[0].deployment_config.auto_rollback_configuration."
                                     "alarms[0].alarm_name"]


def test_run_starts_each_update_at_its_time_and_writes_the_timeline(tmp_path) -> None:
    env = simpy.Environment()
    dep = FakeEndpoint(env)
    second = {**CANARY, "at": 5000.0}
    run = RolloutsRun(env, {"ep": (dep, {"updates": [{**CANARY, "at": 100.0}, second]})},
                      alarms={"api-5xx": FakeAlarm(env)}, make_faults=lambda f: ("Faults", f["error_rate"]))
    run.start()
    env.run(until=10000)
    ups = run.summary("ep")["updates"]
    assert [(u["at_s"], u["outcome"], u["finished_s"]) for u in ups] == [(100, "completed", 1600),
                                                                        (5000, "completed", 6500)]
    assert dep.of("add_fleet")[0][5] == ("Faults", 0.02)
    assert run.summary("other") is None
    (path,) = run.write(tmp_path)
    text = path.read_text().splitlines()
    assert text[0] == "deployment,update,t_s,event,traffic_to_new" and len(text) == 1 + 12
    assert text[1] == "ep,0,100.0,Updating,0.0"


def test_power_plan_of_the_first_bake() -> None:
    u = {**CANARY, "regression_to_catch": {"error_rate_increase_pp": 2, "p99_latency_increase_percent": 20}}
    lat = sps.lognorm(s=0.5, scale=0.05)
    err, p99 = update_power_plan(u, instances=4, rate_rps=1.0, p_base=0.01, latency=lat)
    ref = power.plan_error_rate(p_base=0.01, delta=0.02, canary_share=0.25, rate_rps=1.0, bake_s=600)
    assert err["power"] == ref["power"] and err["canary_share"] == 0.25 and err["bake_s"] == 600
    assert p99["metric"] == "latency_p99"
    (roll,) = update_power_plan({**ROLLING, "regression_to_catch": {"error_rate_increase_pp": 2}}, instances=4,
                                rate_rps=1.0, p_base=0.01)
    assert roll["canary_share"] == 1 / 5 and roll["bake_s"] == 300  # 1 new instance of 5 in the first bake
    (aao,) = update_power_plan({"at": 0, "endpoint_config": {}, "regression_to_catch": {"error_rate_increase_pp": 2}},
                               instances=4, rate_rps=1.0, p_base=0.01)
    assert aao["power"] is None and aao["underpowered"]


def _judge(raw: dict):
    found: list = []
    cfg = JUDGE_SCHEMA.validate(raw, "j", found)
    assert found == []
    return build_judge(cfg)


def test_build_judge_from_config() -> None:
    j = _judge({"type": "threshold", "metric": "error_rate", "max": 0.05, "no_data": "pause", "min_requests": 20})
    assert isinstance(j, ThresholdJudge) and (j.max, j.no_data, j.min_requests, j.failure_limit) == (0.05, "pause", 20, 0)
    j = _judge({"type": "mann_whitney", "metrics": [{"name": "latency_p99", "critical": True}]})
    assert isinstance(j, MannWhitneyJudge) and j.confidence == 0.98 and j.metrics[0].critical
    j = _judge({"type": "sequential", "metric": "latency_mean", "alpha": 0.01})
    assert isinstance(j, SequentialJudge) and (j.metric, j.alpha, j.n_star) == ("latency_mean", 0.01, 5000.0)


def test_weight_changes_on_the_clock() -> None:
    env = simpy.Environment()
    dep = FakeEndpoint(env)
    log: list = []
    changes = [{"at": 3600.0, "desired_weights_and_capacities": [{"variant_name": "B", "desired_weight": 0.0},
                                                                  {"variant_name": "A", "desired_instance_count": 3}]},
               {"at": 600.0, "desired_weights_and_capacities": [{"variant_name": "B", "desired_weight": 3.0}]}]
    env.process(apply_weight_changes(env, dep, changes, log))
    env.run()
    assert [c for c in dep.calls if c[1] in ("set_variant_weights", "set_instance_count")] == [
        (600, "set_variant_weights", {"B": 3.0}), (3600, "set_variant_weights", {"B": 0.0}),
        (3600, "set_instance_count", "A", 3)]
    assert [(r["t_s"], r["variant_name"]) for r in log] == [(600, "B"), (3600, "B"), (3600, "A")]


def test_shadow_added_then_promoted() -> None:
    env = simpy.Environment()
    dep = FakeEndpoint(env, startup_s=300)
    shadow = {"variant_name": "shadow", "model": "new_model", "sampling_percentage": 50, "start": 60.0,
              "promote_at": 7200.0, "instance_type": None, "instance_count": 2, "service_time": None}
    sr = ShadowRun(env, dep, shadow, variant="AllTraffic")
    sr.start()
    env.run()
    adds = dep.of("add_fleet")
    assert adds[0] == (60, "add_fleet", "AllTraffic", "new_model", 2, None, True, 50.0)
    assert adds[1] == (7200, "add_fleet", "AllTraffic", "new_model", 2, None)  # the promoted production fleet
    assert sr.promotion.outcome["outcome"] == "completed" and sr.promotion.outcome["finished_s"] == 7500
    assert dep.of("set_fleet_traffic") == [(7500, "set_fleet_traffic", "AllTraffic", {2: 1.0, 0: 0.0})]
    assert dep.of("retire_fleet") == [(7500, "retire_fleet", 0), (7500, "retire_fleet", 1)]


def test_run_builds_judges_from_the_update_with_the_sampler() -> None:
    env = simpy.Environment()
    dep = FakeEndpoint(env)
    found: list = []
    judge = JUDGE_SCHEMA.validate({"type": "threshold", "metric": "error_rate", "max": 0.05, "interval": 120}, "j", found)
    asked = []

    def sampler(deployment, cfg):
        asked.append((deployment, cfg["type"]))
        return lambda t0, t1, which: ArmSample(requests=100, errors=10 if which == "new" else 0)

    update = {**CANARY, "at": 0.0, "judges": [judge]}
    run = RolloutsRun(env, {"ep": (dep, {"updates": [update]})}, alarms={"api-5xx": FakeAlarm(env)}, sampler=sampler)
    run.start()
    env.run(until=5000)
    (u,) = run.summary("ep")["updates"]
    assert asked == [("ep", "threshold")]
    assert (u["outcome"], u["detected_s"]) == ("rolled_back", 300 + 120)  # first look 120 s into the canary bake
    assert list(run.frames()["verdicts"]["verdict"]) == ["fail"]


def test_observed_latencies_plan_the_p99_as_their_true_distribution_would() -> None:
    import numpy as np

    from simlab.rollouts.run import EmpiricalLatency

    true = sps.lognorm(s=0.5, scale=0.03)
    samples = true.ppf(np.random.default_rng(np.random.SeedSequence(4)).random(20000))
    emp = EmpiricalLatency(samples)
    # the sample p99 of 20000 draws is within 3 % of the true one; the KDE density there within 15 %
    assert emp.ppf(0.99) == pytest.approx(true.ppf(0.99), rel=0.03)
    assert emp.pdf(true.ppf(0.99)) == pytest.approx(true.pdf(true.ppf(0.99)), rel=0.15)
    kw = {"multiplier": 1.2, "canary_share": 0.25, "rate_rps": 2.0, "bake_s": 600}
    # power moves with x_q (δ = 0.2·x_q) and 1/f: the 2 % and 3 % estimation errors move it by ~0.06
    assert power.plan_latency_quantile(latency=emp, **kw)["power"] == pytest.approx(
        power.plan_latency_quantile(latency=true, **kw)["power"], abs=0.1)


def test_observed_baseline_counts_the_old_fleets_requests_of_the_last_hour() -> None:
    import numpy as np

    from simlab.rollouts.run import observed_baseline

    # one request per second over [0, 5000); every 4th goes to fleet 1 (not old); every 10th of
    # fleet 0 fails; latencies 0.8–2.8 s, so the last seconds's requests are not answered at 5000
    t = np.arange(5000) + 0.25
    fleet = np.where(np.arange(5000) % 4 == 3, 1, 0)
    error = np.where((np.arange(5000) % 10 == 0), 3, 0)
    t_done = t + 0.8 + 0.5 * (np.arange(5000) % 5)
    got = observed_baseline(t=t, t_done=t_done, error=error, fleet=fleet, old_fleets={0}, now=5000.0)
    window = (t >= 1400) & (fleet == 0)  # [5000 − 3600, 5000)
    answered = window & (t_done <= 5000)
    assert got["requests"] == int(window.sum()) == 2700 and got["rate_rps"] == 2700 / 3600
    assert got["p_base"] == (answered & (error != 0)).sum() / answered.sum()
    assert answered.sum() < window.sum()
    assert got["latency"].ppf(0.5) == np.median((t_done - t)[answered & (error == 0)])
    assert got["latency"].samples.size == int((answered & (error == 0)).sum())
