"""The Feature pieces: scenario checks, the run that starts controllers on time, the power plan."""

from __future__ import annotations

import simpy
from rollout_fakes import CANARY, ROLLING, FakeAlarm, FakeEndpoint
from scipy import stats as sps

from simlab.rollouts import power
from simlab.rollouts.run import RolloutsRun, check_scenario, update_power_plan


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
