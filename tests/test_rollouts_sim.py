"""The rollouts feature on the real simulator: hand-computed timelines, counts and costs.

Trace: one request at k + 0.5 s for k = 0…3599; fixed 100 ms model time, 4 instances × 3 workers,
no overhead (no request ever waits). The update is called at 600 s; the green fleet's start-up is
the documented default (facts: real_time_endpoint.default_instance_startup_s, 300 s), so it serves
from 900 s. With one variant, a request goes to the fleet whose share bucket holds its routing
uniform (fleets in id order: blue [0, 0.75), green [0.75, 1) during a 25 % canary) — the counts
below are taken from the workload's uniforms and arrival times, not from the feature.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from simlab import facts
from simlab.cli import Environment, main
from simlab.records import Err
from simlab.result import Result
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

STARTUP = float(facts.limit("real_time_endpoint.default_instance_startup_s"))
PRICE_S = facts.instance("ml.m5.large").price_per_hour / 3600.0
AT, READY = 600.0, 600.0 + STARTUP

CANARY = {
    "at": AT,
    "endpoint_config": {"model": "breast_cancer_tree"},
    "deployment_config": {
        "blue_green_update_policy": {
            "traffic_routing_configuration": {"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 25},
                                              "wait_interval_in_seconds": 600},
            "termination_wait_in_seconds": 600,
            "maximum_execution_timeout_in_seconds": 3600},
        "auto_rollback_configuration": {"alarms": [{"alarm_name": "api-5xx"}]}},
}
ALARM_5XX = {"alarm_name": "api-5xx", "deployment": "api", "metric_name": "Invocation5XXErrors", "statistic": "Sum",
             "threshold": 2, "comparison_operator": "GreaterThanThreshold", "evaluation_periods": 1}


def raw_scenario(tmp_path, update: dict) -> dict:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(3600)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 4,
           "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": 100}, "overhead_ms": 0,
           "updates": [copy.deepcopy(update)]}  # a copy: tests edit the scenario, never CANARY
    return {"name": "rollout", "duration": 3600, "model": "breast_cancer_logreg",
            "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep], "alarms": [ALARM_5XX]}


def simulate(tmp_path, update: dict) -> tuple[Simulation, dict]:
    sim = Simulation(scenario_from_dict(raw_scenario(tmp_path, update))).run()
    (u,) = Result(sim).summary()["deployments"]["api"]["updates"]
    return sim, u


def steps(u: dict) -> list[tuple]:
    return [(s["t_s"], s["event"], s["traffic_to_new"]) for s in u["steps"]]


def canary_hits(sim: Simulation, t0: float, t1: float) -> np.ndarray:
    """Requests arriving in [t0, t1) whose routing uniform falls in green's 25 % bucket."""
    t, u = sim.workload.t, sim.workload.u_route
    return (t >= t0) & (t < t1) & (u >= 0.75)


def test_canary_completes_on_the_documented_timeline_with_hand_counted_traffic_and_cost(tmp_path) -> None:
    sim, u = simulate(tmp_path, CANARY)
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.25), (READY, "Baking", 0.25),
                        (READY + 600, "ActivatingTraffic", 1.0), (READY + 600, "Baking", 1.0),
                        (READY + 1200, "InService", 1.0)]
    assert (u["outcome"], u["finished_s"], u["detected_s"]) == ("completed", READY + 1200, None)
    t = sim.workload.t
    expected = int(canary_hits(sim, READY, READY + 600).sum()) + int(((t >= READY + 600) & (t < READY + 1200)).sum())
    assert u["requests_to_new"] == expected and 600 + 100 < expected < 600 + 200
    assert u["errors_to_new"] == 0
    # green (4 instances) is billed from READY; blue is idle from READY + 600 and retired at
    # READY + 1200: the two overlap for 1200 s, and blue alone would have cost the same as blue did
    assert u["extra_cost_usd"] == pytest.approx(4 * PRICE_S * 1200, abs=1e-6)
    d = sim.deployments[0]
    assert np.all(d.log.fleet[t >= READY + 600] == 1) and np.all(d.log.fleet[t < READY] == 0)
    # res.requests names the fleet by its EndpointConfigName: green took the canary bucket during
    # the bake and everything after the full shift; blue everything else
    fleet = Result(sim).requests["fleet"].astype(str).to_numpy()
    green = canary_hits(sim, READY, READY + 600) | (t >= READY + 600)
    assert set(fleet[green]) == {"api-update-0"} and set(fleet[~green]) == {"api-config"}


def test_injected_errors_trip_the_5xx_alarm_and_roll_back_at_the_first_minute_close(tmp_path) -> None:
    update = copy.deepcopy(CANARY)
    update["endpoint_config"]["faults"] = {"error_rate": 1.0}
    sim, u = simulate(tmp_path, update)
    hits = canary_hits(sim, READY, READY + 60)
    assert hits.sum() > 2  # so the minute [READY, READY + 60) breaches Sum > 2 when it closes
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.25), (READY, "Baking", 0.25),
                        (READY + 60, "RollingBack", 0.0), (READY + 60, "InService", 0.0)]
    assert (u["outcome"], u["detected_s"], u["finished_s"]) == ("rolled_back", READY + 60, READY + 60)
    assert u["requests_to_new"] == u["errors_to_new"] == int(hits.sum())
    assert u["wrong_predictions_to_new"] == 0  # every request to new failed: none was answered
    assert u["extra_cost_usd"] == pytest.approx(4 * PRICE_S * 60, abs=1e-6)  # green billed 60 s, drained at once
    d = sim.deployments[0]
    assert np.all(d.log.error[hits] == Err.MODEL_ERROR) and np.all(d.log.fleet[sim.workload.t >= READY + 60] == 0)


def test_startup_failure_fails_the_update_and_blue_serves_everything(tmp_path) -> None:
    update = copy.deepcopy(CANARY)
    update["endpoint_config"]["faults"] = {"startup_failure": True}
    sim, u = simulate(tmp_path, update)
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "InService", 0.0)]
    assert (u["outcome"], u["finished_s"], u["requests_to_new"], u["extra_cost_usd"]) == ("failed", READY, 0, 0.0)
    d = sim.deployments[0]
    assert np.all(d.log.fleet == 0) and np.all(d.log.error == Err.NONE)


def test_wrong_predictions_to_new_count_the_new_models_mistakes(tmp_path) -> None:
    sim, u = simulate(tmp_path, CANARY)
    from simlab.zoo import load_model

    t, wl = sim.workload.t, sim.workload
    to_new = canary_hits(sim, READY, READY + 600) | ((t >= READY + 600) & (t < READY + 1200))
    tree = load_model("breast_cancer_tree", version=0)
    X = sim.dataset.X[wl.row[to_new]]
    wrong = np.count_nonzero((tree.predict_proba(X)[:, 1] >= 0.5).astype(int) != sim.dataset.y[wl.row[to_new]])
    assert u["wrong_predictions_to_new"] == wrong


def test_cli_writes_updates_csv_and_prints_one_line_per_update(tmp_path) -> None:
    import io

    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw_scenario(tmp_path, CANARY)), encoding="utf-8")
    out = io.StringIO()
    assert main(["simulate", str(path), "--out", str(tmp_path / "run")],
                Environment(stdout=out, stderr=io.StringIO())) == 0
    lines = (tmp_path / "run" / "updates.csv").read_text().splitlines()
    assert lines[0] == "deployment,update,t_s,event,traffic_to_new" and len(lines) == 1 + 6
    assert lines[-1] == f"api,0,{READY + 1200},InService,1.0"
    table = [ln for ln in out.getvalue().splitlines() if ln.startswith("  api update")]
    assert len(table) == 1 and "CANARY" in table[0] and "completed" in table[0]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    # the syntax: per deployment, "updates": [{...the keys..., "steps": [{t_s, event, traffic_to_new}]}]
    (u,) = summary["deployments"]["api"]["updates"]
    assert {"at_s", "policy", "outcome", "finished_s", "detected_s", "requests_to_new", "errors_to_new",
            "wrong_predictions_to_new", "extra_cost_usd", "steps"} <= set(u)
    assert u["outcome"] == "completed" and u["policy"] == "CANARY" and u["detected_s"] is None
    assert all(set(s) == {"t_s", "event", "traffic_to_new"} for s in u["steps"]) and len(u["steps"]) == 6


@pytest.mark.parametrize(("change", "path", "says"), [
    ({"deployment_config": {"blue_green_update_policy": {"traffic_routing_configuration": {
        "type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 60}, "wait_interval_in_seconds": 600}}}},
     "deployments[0].updates[0].deployment_config.blue_green_update_policy.traffic_routing_configuration"
     ".canary_size.value", "CanarySize"),
    ({"deployment_config": {"auto_rollback_configuration": {"alarms": [{"alarm_name": "nope"}]}}},
     "deployments[0].updates[0].deployment_config.auto_rollback_configuration.alarms[0].alarm_name", "api-5xx"),
])
def test_bad_updates_are_scenario_errors_with_the_field_path(tmp_path, change, path, says) -> None:
    from simlab.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw_scenario(tmp_path, {**CANARY, **change}))
    text = str(err.value)
    assert path in text and says in text


@pytest.mark.parametrize("policy", ["CANARY", "LINEAR", "ROLLING"])
def test_async_endpoints_take_every_policy(tmp_path, policy) -> None:
    """(Rolling's exclusions, serverless and multi-variant endpoints: tests/test_rollouts_config.py.)"""
    update = copy.deepcopy(CANARY)
    if policy == "LINEAR":
        update["deployment_config"]["blue_green_update_policy"]["traffic_routing_configuration"] = {
            "type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 50}, "wait_interval_in_seconds": 600}
    if policy == "ROLLING":
        update["deployment_config"] = {"rolling_update_policy": {
            "maximum_batch_size": {"type": "INSTANCE_COUNT", "value": 1}, "wait_interval_in_seconds": 300}}
    raw = raw_scenario(tmp_path, update)
    raw["deployments"][0] = {"name": "api", "type": "async_inference", "instance_count": 4, "updates": [update]}
    assert scenario_from_dict(raw)  # accepted (docs/async.md: one backlog per fleet during an update)


def test_linear_turns_blue_off_in_slices_and_the_extra_cost_is_what_is_billed_above_blue_alone(tmp_path) -> None:
    update = copy.deepcopy(CANARY)
    update["deployment_config"]["blue_green_update_policy"]["traffic_routing_configuration"] = {
        "type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 50}, "wait_interval_in_seconds": 600}
    sim, u = simulate(tmp_path, update)
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.5), (READY, "Baking", 0.5),
                        (READY + 600, "ActivatingTraffic", 1.0), (READY + 600, "Baking", 1.0),
                        (READY + 1200, "InService", 1.0)]
    d = sim.deployments[0]
    blue = sorted((le.t0, le.t1) for le in d.leases if le.fleet == 0)
    # 4 instances; 2 off at READY (50 % of traffic moved), 1 more at READY + 600 (one kept for a
    # rollback), the last at READY + 1200; every request takes 0.1 s and arrives at k + 0.5 s, so
    # each retired instance is idle when it is turned off
    assert sorted(t1 for _, t1 in blue) == [READY, READY, READY + 600, READY + 1200]
    # in [AT, READY + 1200]: blue 4·300 + 2·600 + 1·600 = 3000 instance-s, green 4·1200 = 4800,
    # blue alone 4·1500 = 6000 → 1800 instance-s above
    assert u["extra_cost_usd"] == pytest.approx(1800 * PRICE_S, abs=1e-6)


def test_shadow_gets_every_copy_while_in_service_and_reports_agreement_with_production(tmp_path) -> None:
    from simlab.zoo import load_model

    raw = raw_scenario(tmp_path, CANARY)
    dep = raw["deployments"][0]
    del dep["updates"]
    dep["shadow_variants"] = [{"variant_name": "shadow", "model": "breast_cancer_tree", "sampling_percentage": 100,
                               "start": 0, "promote_at": 1000}]
    raw["alarms"] = []
    sim = Simulation(scenario_from_dict(raw)).run()
    sh = Result(sim).summary()["deployments"]["api"]["shadow"]
    t, wl = sim.workload.t, sim.workload
    # in service from the start-up (300 s) until the promoted fleet takes over (1000 + 300 s)
    copied = (t >= STARTUP) & (t < 1000 + STARTUP)
    assert sh["copies"] == int(copied.sum()) == 1000 and sh["errors"] == 0 and sh["promoted_s"] == 1000 + STARTUP
    X = sim.dataset.X[wl.row[copied]]
    prod = load_model("breast_cancer_logreg", version=0).predict_proba(X)[:, 1] >= 0.5
    shadow = load_model("breast_cancer_tree", version=0).predict_proba(X)[:, 1] >= 0.5
    assert sh["agreement"]["agreement"] == pytest.approx(float(np.mean(prod == shadow)), abs=1e-6)
    assert sh["agreement"]["agreement"] < 1.0  # the two models do disagree on some rows
    assert sh["cost_usd"] == pytest.approx(4 * PRICE_S * 1000, abs=1e-6)  # 4 instances (the variant's) × 1000 s


def test_replications_use_seeds_spawned_from_the_root_and_each_run_is_the_single_run_of_its_seed(tmp_path) -> None:
    import io

    import yaml

    raw = raw_scenario(tmp_path, CANARY)
    raw["workload"] = {"arrivals": "poisson", "rate_per_s": 2}
    raw["duration"] = 1200
    raw["deployments"][0]["updates"][0]["at"] = 60
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")

    def cli(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["simulate", str(path), *argv], Environment(stdout=out, stderr=err))
        return code, out.getvalue(), err.getvalue()

    code, text, _ = cli("--json", "--seed", "9", "--replications", "3")
    got = json.loads(text)
    children = np.random.SeedSequence(9).spawn(3)
    assert got["seeds"] == [int(c.generate_state(1, np.uint64)[0]) for c in children] and code == 0
    for seed, summary in zip(got["seeds"], got["runs"], strict=True):
        assert json.loads(cli("--json", "--seed", str(seed))[1]) == summary
    assert len({json.dumps(s["deployments"]) for s in got["runs"]}) == 3  # different streams
    code, _, err = cli("--replications", "0")
    assert code == 2 and "--replications" in err and "Traceback" not in err


def test_power_plan_is_made_at_the_update_start_from_the_hour_before_by_hand(tmp_path) -> None:
    import io

    import yaml

    from simlab.rollouts.feature import FEATURE

    update = {**CANARY, "regression_to_catch": {"error_rate_increase_pp": 2, "p99_latency_increase_percent": 20}}
    sim, u = simulate(tmp_path, update)
    err, p99 = u["power_plan"]
    # before the call at 600 s the old fleet saw the 600 requests of [0, 600): 1 req/s, no error
    # (p_base 0). First bake: a 25 % canary for 600 s → n_c = 150, n_b = 450, δ = 0.02.
    # H0 pooled rate 0.25·0.02 = 0.005: se0 = √(0.005·0.995·(1/150 + 1/450)) = 0.0066500
    # H1: se1 = √(0.02·0.98/150 + 0) = 0.0114310
    # power = Φ((0.02 − 1.644854·0.0066500)/0.0114310) = Φ(0.7928) = 0.7860 < 0.8: under-powered
    assert (err["observed_requests"], err["rate_rps"], err["p_base"]) == (600, 1.0, 0.0)
    assert (err["n_canary"], err["n_baseline"]) == pytest.approx((150, 450))
    assert (err["se_h0"], err["se_h1"]) == pytest.approx((0.0066500, 0.0114310), abs=5e-7)
    assert err["power"] == pytest.approx(0.7860, abs=5e-4) and err["underpowered"]
    from scipy import stats as sps
    assert err["power"] == pytest.approx(sps.norm.cdf((0.02 - sps.norm.ppf(0.95) * 0.0066500) / 0.0114310), abs=1e-5)
    # every latency is the fixed 100 ms: no spread, no density at the p99 → the plan says so
    assert p99["power"] is None and p99["warning"] == "latency distribution unknown"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw_scenario(tmp_path, update)), encoding="utf-8")
    out = io.StringIO()
    assert main(["simulate", str(path)], Environment(stdout=out, stderr=io.StringIO())) == 0
    warnings = [ln for ln in out.getvalue().splitlines() if ln.startswith("    warning")]
    assert len(warnings) == 2 and "under-powered: 79% chance to catch +2 pp errors" in warnings[0]
    summary = Result(sim).summary()
    assert FEATURE.table_lines(summary)[2:5] == [ln for ln in out.getvalue().splitlines()
                                                 if ln.startswith(("  api update", "    warning"))]
