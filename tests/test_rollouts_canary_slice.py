"""A CANARY or LINEAR step's traffic goes to a slice of the green fleet, not to all of it.

SageMaker provisions (and bills) the whole green fleet, but a canary's share is served by a
CanarySize slice of it and a linear step's share by a slice of the step's size
([DG:deployment-guardrails-blue-green-canary, -linear] in shared facts). The owner API's
``set_fleet_serving(fleet, k)`` lets only k of a fleet's instances take its requests; the
controller uses it. Everything below is computed by hand from the arrival times and the routing
uniforms of the workload (never from the code under test):

Trace: one request at k + 0.5 s, fixed 100 ms model time, 3 workers per instance, no overhead
(no request ever waits). With one variant a request goes to the fleet whose share bucket holds its
routing uniform u (fleets in id order), then, with RANDOM routing, to serving instance
⌊u'·k⌋ where u' = (u − lo)/share is u rescaled within the fleet's bucket and k the fleet's serving
instances (the first k of those in service; one routed fleet: u' = u).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import simpy
from rollout_fakes import FakeAlarm, FakeEndpoint
from scipy import stats

from simlab import facts
from simlab.result import Result
from simlab.rollouts.controller import UpdateController
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

STARTUP = float(facts.limit("real_time_endpoint.default_instance_startup_s"))
AT, READY = 600.0, 600.0 + STARTUP
BAKE = 600.0


def bg(routing: dict) -> dict:
    return {"at": AT, "endpoint_config": {"model": "breast_cancer_tree"},
            "deployment_config": {"blue_green_update_policy": {
                "traffic_routing_configuration": {**routing, "wait_interval_in_seconds": BAKE},
                "termination_wait_in_seconds": 600, "maximum_execution_timeout_in_seconds": 3600}}}


CANARY = bg({"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 25}})
LINEAR = bg({"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 50}})


def simulate(tmp_path, update: dict, *, routing: str = "RANDOM", duration: int = 3600) -> tuple[Simulation, dict]:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(duration)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 4,
           "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": 100}, "overhead_ms": 0,
           "routing": routing, "updates": [copy.deepcopy(update)]}
    raw = {"name": "slice", "duration": duration, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep]}
    sim = Simulation(scenario_from_dict(raw)).run()
    (u,) = Result(sim).summary()["deployments"]["api"]["updates"]
    return sim, u


def window(sim: Simulation, t0: float, t1: float) -> np.ndarray:
    t = sim.workload.t
    return (t >= t0) & (t < t1)


# -- the owner API ----------------------------------------------------------------------------------
def owner_sim(tmp_path, *, routing: str = "RANDOM", duration: int = 600) -> Simulation:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(duration)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 2,
           "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": 2500}, "overhead_ms": 0,
           "routing": routing}
    raw = {"name": "owner", "duration": duration, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep]}
    return Simulation(scenario_from_dict(raw))


def test_serving_slice_takes_every_request_of_its_fleet_and_every_instance_stays_billed(tmp_path) -> None:
    sim = owner_sim(tmp_path)
    d = sim.deployments[0]

    def script(env):
        green = d.add_fleet("AllTraffic", instance_count=4, startup_s=100.0)  # in service at 100
        yield d.fleet_ready(green)
        d.set_fleet_serving(green, 1)  # 100–300: instance 0 only
        d.set_fleet_traffic("AllTraffic", {0: 0.5, green: 0.5})
        yield env.timeout(200.0)
        d.set_fleet_serving(green, 3)  # 300–400: instances 0–2
        yield env.timeout(100.0)
        d.set_fleet_serving(green, None)  # 400–600: all 4

    sim.env.process(script(sim.env))
    sim.run()
    t, u = sim.workload.t, sim.workload.u_route
    log = d.log
    # blue (fleet 0) holds [0, 0.5), green [0.5, 1): u' = (u − 0.5) / 0.5 within green
    to_green = (t >= 100) & (u >= 0.5)
    assert np.array_equal(log.fleet == 1, to_green)
    u_green = (u - 0.5) / 0.5
    for t0, t1, k in [(100, 300, 1), (300, 400, 3), (400, 600, 4)]:
        sel = to_green & (t >= t0) & (t < t1)
        assert sel.sum() > 20
        assert np.array_equal(log.instance[sel], np.floor(u_green[sel] * k).astype(int)), (t0, k)
    assert set(log.instance[to_green & (t < 300)].tolist()) == {0}
    # billing: the 4 green instances from 100 s to the end, serving or not (4 × 500 instance-s)
    green_leases = [(le.t0, le.t1) for le in d.leases if le.fleet == 1]
    assert green_leases == [(100.0, 600.0)] * 4
    assert sum(t1 - t0 for t0, t1 in green_leases) == 4 * 500


def test_least_outstanding_routing_picks_only_within_the_slice(tmp_path) -> None:
    sim = owner_sim(tmp_path, routing="LEAST_OUTSTANDING_REQUESTS")
    d = sim.deployments[0]

    def script(env):
        green = d.add_fleet("AllTraffic", instance_count=3, startup_s=100.0)
        yield d.fleet_ready(green)
        d.set_fleet_serving(green, 2)
        d.set_fleet_traffic("AllTraffic", {0: 0.0, green: 1.0})
        yield env.timeout(200.0)
        d.set_fleet_serving(green, None)

    sim.env.process(script(sim.env))
    sim.run()
    t, log = sim.workload.t, d.log
    # 1 request/s of 2.5 s: 2–3 outstanding at once, so least-outstanding uses every instance it may
    assert set(log.instance[(t >= 100) & (t < 300)].tolist()) == {0, 1}
    assert set(log.instance[t >= 300].tolist()) == {0, 1, 2}


@pytest.mark.parametrize("n, says", [(0, "got 0"), (5, "from 1 to its 4 instances, got 5"), (2.0, "got 2.0"),
                                     (True, "got True")])
def test_bad_serving_counts_are_value_errors_naming_the_value(tmp_path, n, says) -> None:
    sim = owner_sim(tmp_path, duration=10)
    d = sim.deployments[0]
    errors = []

    def script(env):
        green = d.add_fleet("AllTraffic", instance_count=4, startup_s=1.0)
        yield d.fleet_ready(green)
        with pytest.raises(ValueError, match=f"serving instances of fleet {green} .*{says}"):
            d.set_fleet_serving(green, n)
        shadow = d.add_fleet("AllTraffic", shadow=True, startup_s=1.0)
        with pytest.raises(ValueError, match="shadow"):
            d.set_fleet_serving(shadow, 1)
        d.set_fleet_traffic("AllTraffic", {0: 1.0})
        d.retire_fleet(green)
        with pytest.raises(ValueError, match="draining|retired"):
            d.set_fleet_serving(green, 1)
        with pytest.raises(ValueError, match="unknown fleet 99"):
            d.set_fleet_serving(99, 1)
        errors.append("checked")

    sim.env.process(script(sim.env))
    sim.run()
    assert errors == ["checked"]


# -- the controller against the seam-contract fake ----------------------------------------------------
def controller_calls(update: dict) -> list[tuple]:
    env = simpy.Environment()
    dep = FakeEndpoint(env)  # 4 instances, start-up 300 s
    ctl = UpdateController(env, dep, {**update, "at": 0.0}, alarms={"api-5xx": FakeAlarm(env)})
    env.process(ctl.run())
    env.run(until=20000)
    assert ctl.outcome["outcome"] == "completed"
    return [(c[0], c[2], c[3]) for c in dep.of("set_fleet_serving")]


def test_controller_serves_green_with_the_steps_slice() -> None:
    # CANARY 25 % of 4: 1 instance at 300 (green in service), all at the full shift 300 + 600
    assert controller_calls(CANARY) == [(300, 1, 1), (900, 1, None)]
    # CANARY of 2 instances (INSTANCE_COUNT): 2 of 4
    two = bg({"type": "CANARY", "canary_size": {"type": "INSTANCE_COUNT", "value": 2}})
    assert controller_calls(two) == [(300, 1, 2), (900, 1, None)]
    # LINEAR 20 % of 4: shares 0.2, 0.4, 0.6, 0.8, 1 → ⌈0.8⌉ = 1, ⌈1.6⌉ = 2, ⌈2.4⌉ = 3, ⌈3.2⌉ = 4, all
    linear = bg({"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 20}})
    assert controller_calls(linear) == [(300, 1, 1), (900, 1, 2), (1500, 1, 3), (2100, 1, 4), (2700, 1, None)]
    # ALL_AT_ONCE: the whole fleet at once, no slice
    assert controller_calls(bg({"type": "ALL_AT_ONCE"})) == []


def test_slice_and_fresh_baseline_have_the_canary_size_despite_float_noise() -> None:
    """CanarySize 7 % of 100 instances is 7 instances, though 0.07 · 100 = 7.000000000000001."""
    from simlab.rollouts.controller import JudgeHook
    from simlab.rollouts.judges import ArmSample, ThresholdJudge

    env = simpy.Environment()
    dep = FakeEndpoint(env, instances=100)
    update = bg({"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 7}})
    hook = JudgeHook(ThresholdJudge(max=0.05), 300.0, lambda t0, t1, w: ArmSample(requests=100, errors=0), "fresh")
    ctl = UpdateController(env, dep, {**update, "at": 0.0}, alarms={}, judges=[hook])
    env.process(ctl.run())
    env.run(until=20000)
    assert [c[4] for c in dep.of("add_fleet")] == [7, 100]  # baseline of the canary's size, then green
    assert [(c[2], c[3]) for c in dep.of("set_fleet_serving")] == [(2, 7), (2, None)]


# -- the real endpoint under the controller -------------------------------------------------------
def test_canary_bake_lands_on_the_slice_and_both_fleets_are_billed_in_full(tmp_path) -> None:
    sim, u = simulate(tmp_path, CANARY)
    d, log = sim.deployments[0], sim.deployments[0].log
    uu = sim.workload.u_route
    bake, after = window(sim, READY, READY + BAKE), window(sim, READY + BAKE, READY + 2 * BAKE)
    canary = bake & (uu >= 0.75)  # blue [0, 0.75), green [0.75, 1)
    assert np.array_equal(bake & (log.fleet == 1), canary)
    # the canary slice is CanarySize = 25 % of 4 = 1 instance: green's instance 0 takes all of it
    assert set(log.instance[canary].tolist()) == {0}
    # blue keeps its 4 instances: u' = u / 0.75 → instance ⌊4u'⌋
    blue = bake & (uu < 0.75)
    assert np.array_equal(log.instance[blue], np.floor(uu[blue] / 0.75 * 4).astype(int))
    # after the full shift every green instance serves: u' = u (one routed fleet)
    assert np.all(log.fleet[after] == 1)
    assert np.array_equal(log.instance[after], np.floor(uu[after] * 4).astype(int))
    assert set(log.instance[after].tolist()) == {0, 1, 2, 3}
    # billing unchanged by the slice: green's 4 instances from READY to the end (3600), blue's 4
    # from 0 to its retirement at READY + 1200 (idle since READY + 600, so no draining):
    # 4·2700 + 4·2100 = 19 200 instance-s, and the update's extra cost is green's 4 × 1200 s
    leases = sorted((le.fleet, le.t0, le.t1) for le in d.leases)
    assert leases == [(0, 0.0, READY + 1200)] * 4 + [(1, READY, 3600.0)] * 4
    assert sum(t1 - t0 for _, t0, t1 in leases) == 4 * (3600 - READY) + 4 * (READY + 1200) == 19_200
    price_s = facts.instance("ml.m5.large").price_per_hour / 3600.0
    assert u["extra_cost_usd"] == pytest.approx(4 * 1200 * price_s, abs=1e-6)


def test_linear_slice_gives_green_and_blue_instances_the_same_load(tmp_path) -> None:
    """LINEAR 50 % of 4: green serves on 2 instances, blue keeps 2, each fleet half the traffic —
    so each serving instance takes a quarter of the requests."""
    sim, u = simulate(tmp_path, LINEAR)
    log, uu = sim.deployments[0].log, sim.workload.u_route
    step = window(sim, READY, READY + BAKE)
    green, blue = step & (uu >= 0.5), step & (uu < 0.5)  # blue [0, 0.5), green [0.5, 1)
    assert np.array_equal(step & (log.fleet == 1), green)
    # green: u' = (u − 0.5)/0.5 on its slice of 2; blue: u' = u/0.5 on its 2 remaining (ids 0, 1: newest removed)
    assert np.array_equal(log.instance[green], np.floor((uu[green] - 0.5) / 0.5 * 2).astype(int))
    assert np.array_equal(log.instance[blue], np.floor(uu[blue] / 0.5 * 2).astype(int))
    n = int(step.sum())
    counts = {(f, i): int(np.count_nonzero(step & (log.fleet == f) & (log.instance == i)))
              for f in (0, 1) for i in range(4)}
    # every request takes 0.1 s and none waits: instance utilization = count · 0.1 s / 600 s. Each of
    # the 4 serving instances gets Bin(n, 1/4) requests: all within its central 99.9 % (the model
    # without a slice gives green's instances Bin(n, 1/8) ≈ 75 each, far below)
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, 0.25)
    for key in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        assert lo <= counts[key] <= hi, (key, counts[key], lo, hi)
    assert counts[(1, 2)] == counts[(1, 3)] == 0
    busy = {k: c * 0.1 / BAKE for k, c in counts.items()}
    assert abs(np.mean([busy[(1, 0)], busy[(1, 1)]]) - np.mean([busy[(0, 0)], busy[(0, 1)]])) < 0.01
    assert u["outcome"] == "completed"


def test_canary_slice_queues_like_a_fresh_baseline_of_its_size_by_pollaczek_khinchine(tmp_path) -> None:
    """The judges' scenario (evaluate.canary_scenario) at 40 req/s with a fresh baseline: 4 instances,
    1 worker each, lognormal model time mean 30 ms, cv 0.5, overhead 2 ms; 25 % canary. Random
    routing thins a Poisson stream into Poisson streams, so each instance is an M/G/1 queue and its
    mean latency is 30 + 2 + W ms with W = λ·E[S²] / (2(1 − λ·E[S])) (Pollaczek–Khinchine):

    - canary: 25 % of 40 = 10 req/s on its 1-instance slice: ρ = 0.3, W = 10·0.001125/1.4 s = 8.04 ms → 40.04 ms
    - fresh baseline: the same 10 req/s on 1 instance → 40.04 ms
    - old fleet: 50 % = 20 req/s on 4 instances, 5 each: ρ = 0.15, W = 3.31 ms → 35.31 ms
    (the canary on all 4 green instances, 2.5 req/s each, would show 33.52 ms). E[S²] = (0.5·0.03)² + 0.03²
    = 0.001125 s². Tolerance: 4 standard errors by 20 batch means (t with 19 d.f.: two-sided 0.08 %).
    """
    from simlab.rollouts.evaluate import canary_scenario

    guard = {"judges": [{"type": "mann_whitney", "metrics": [{"name": "latency_mean"}], "baseline": "fresh",
                         "interval": "{bake}"}], "alarms": []}
    raw = canary_scenario(guard=guard, rate_per_s=40.0, seed=7)
    sim = Simulation(scenario_from_dict(raw)).run()
    d = sim.deployments[0]
    assert [(f.id, f.config_name.endswith("-baseline")) for f in d.fleets()] == [(0, False), (1, True), (2, False)]
    t = sim.workload.t
    bake = (t >= STARTUP) & (t < STARTUP + BAKE)  # called at 0: green and baseline serve from STARTUP
    lat = (d.log.t_done - t) * 1000.0
    es, es2, over = 0.030, (0.5 * 0.030) ** 2 + 0.030 ** 2, 2.0

    def pk(rate: float) -> float:
        return 1000 * es + over + 1000 * rate * es2 / (2 * (1 - rate * es))

    for fleet, rate in [(2, 10.0), (1, 10.0), (0, 5.0)]:
        x = lat[bake & (d.log.fleet == fleet)]
        batches = np.array([b.mean() for b in np.array_split(x, 20)])
        se = batches.std(ddof=1) / np.sqrt(20)
        assert abs(x.mean() - pk(rate)) < 4 * se, (fleet, x.mean(), pk(rate), se)
    assert pk(10.0) - pk(2.5) > 6.0  # so the model without a slice (canary at 2.5 req/s per instance) fails
