"""The owner API of live endpoints against hand-computed timelines.

Arrivals come from a trace (one request at k + 0.5 s) and service times are fixed, so every
start, end, fleet and lease below follows from the arrival times by hand: with 3 workers per
instance and a fixed 2.5 s model time, a request starts the moment it arrives (at most three
overlap) and ends 2.5 s later (overhead 0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simlab import facts
from simlab.deployments.base import Faults
from simlab.records import Err
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

SVC = 2.5
PRICE = {name: facts.instance(name).price_per_hour / 3600.0 for name in ("ml.m5.large", "ml.c5.xlarge")}


def endpoint(**over) -> dict:
    base = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 1,
            "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": SVC * 1000}, "overhead_ms": 0}
    return {**base, **over}


def async_endpoint(**over) -> dict:
    base = {"name": "api", "type": "async_inference", "instance_type": "ml.m5.large", "instance_count": 1,
            "max_concurrent_invocations_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": SVC * 1000},
            "overhead_ms": 0}
    return {**base, **over}


KINDS = {"real_time_endpoint": endpoint, "async_inference": async_endpoint}


def build(tmp_path, dep: dict | None = None, *, duration: float = 600.0, kind: str = "real_time_endpoint",
          seed: int = 0) -> Simulation:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(int(duration))) + "\n", encoding="utf-8")
    raw = {"name": "owner", "duration": duration, "seed": seed, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep or endpoint()]}
    return Simulation(scenario_from_dict(raw))


def drive(sim: Simulation, script) -> Simulation:
    """Run ``script(env, dep)`` (a SimPy generator) alongside the deployment."""
    sim.env.process(script(sim.env, sim.deployments[0]))
    return sim.run()


def test_weights_change_at_100_splits_later_requests_by_the_new_weights(tmp_path) -> None:
    dep = endpoint(variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 0}])

    def script(env, d):
        yield env.timeout(100)
        d.set_variant_weights({"a": 1, "b": 1})
        yield env.timeout(200)
        d.set_variant_weights({"a": 0})

    sim = drive(build(tmp_path, dep), script)
    d, t, u = sim.deployments[0], sim.workload.t, sim.workload.u_route
    assert np.all(d.log.variant[t < 100] == 0)
    mid = (t >= 100) & (t < 300)  # 1:1 → variant b exactly where the request's routing uniform ≥ 0.5
    np.testing.assert_array_equal(d.log.variant[mid], (u[mid] >= 0.5).astype(int))
    assert np.all(d.log.variant[t >= 300] == 1)
    with pytest.raises(ValueError, match="unknown variant 'c'"):
        d.set_variant_weights({"c": 1})
    with pytest.raises(ValueError, match="at least one variant weight"):
        d.set_variant_weights({"a": 0, "b": 0})


@pytest.mark.parametrize("kind", list(KINDS))
def test_green_fleet_serves_from_exactly_ready_and_blue_lease_ends_when_it_drains(tmp_path, kind) -> None:
    seen = {}

    def script(env, d):
        yield env.timeout(100)
        green = d.add_fleet("AllTraffic", model="breast_cancer_logreg", instance_type="ml.c5.xlarge",
                            config_name="api-green", startup_s=60)
        assert d.fleets()[green].state == "provisioning"
        with pytest.raises(ValueError, match="provisioning"):
            d.set_fleet_traffic("AllTraffic", {green: 1.0})
        ok = yield d.fleet_ready(green)
        seen["ready"] = (env.now, ok)
        d.set_fleet_traffic("AllTraffic", {0: 0.0, green: 1.0})
        d.retire_fleet(0)
        seen["after_retire"] = d.fleets()[0].state

    sim = drive(build(tmp_path, KINDS[kind]()), script)
    d, t = sim.deployments[0], sim.workload.t
    assert seen == {"ready": (160.0, True), "after_retire": "draining"}
    np.testing.assert_array_equal(d.log.fleet, (t >= 160).astype(int))
    np.testing.assert_array_equal(d.log.t_start, t)  # nobody waits: 3 workers, 2.5 s, 1 arrival/s
    np.testing.assert_allclose(d.log.t_done, t + SVC)
    blue = [le for le in d.leases if le.fleet == 0]
    green = [le for le in d.leases if le.fleet == 1]
    assert [(le.t0, le.t1) for le in blue] == [(0.0, 159.5 + SVC)]  # last blue request: 159.5 → 162.0
    assert [(le.t0, le.t1) for le in green] == [(160.0, 600.0)]
    hand_blue, hand_green = 162.0 * PRICE["ml.m5.large"], 440.0 * PRICE["ml.c5.xlarge"]
    assert math.isclose(d.cost_usd(fleet=0), hand_blue) and math.isclose(d.cost_usd(fleet=1), hand_green)
    assert math.isclose(d.cost_usd(), hand_blue + hand_green)
    info = {f.id: f for f in d.fleets()}
    assert info[0].state == "retired" and info[1].state == "in_service" and info[1].config_name == "api-green"
    assert info[1].instance_type == "ml.c5.xlarge" and info[1].instance_count == 1


def test_split_between_fleets_follows_the_shares_with_a_fresh_uniform(tmp_path) -> None:
    def script(env, d):
        f = d.add_fleet("AllTraffic", startup_s=0)
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {0: 0.25, f: 0.75})

    sim = drive(build(tmp_path), script)
    d, u = sim.deployments[0], sim.workload.u_route
    np.testing.assert_array_equal(d.log.fleet, (u >= 0.25).astype(int))  # one variant: u picks the fleet


def test_set_instance_count_adds_instances_after_their_startup(tmp_path) -> None:
    dep = endpoint(workers_per_instance=1, service_time={"dist": "fixed", "mean_ms": 500})

    def script(env, d):
        yield env.timeout(100)
        d.set_instance_count("AllTraffic", 2)
        yield env.timeout(350)
        d.set_instance_count("AllTraffic", 1)

    sim = drive(build(tmp_path, dep), script)
    d = sim.deployments[0]
    startup = facts.limit("real_time_endpoint.default_instance_startup_s")
    assert sorted((le.t0, le.t1) for le in d.leases) == [(0.0, 600.0), (100.0 + startup, 450.0)]
    t = sim.workload.t
    assert np.all(d.log.instance[(t < 100 + startup) | (t >= 450)] == 0)
    assert set(np.unique(d.log.instance[(t >= 100 + startup) & (t < 450)]).tolist()) == {0, 1}


@pytest.mark.parametrize("kind", list(KINDS))
def test_set_model_version_switches_what_later_requests_record(tmp_path, kind) -> None:
    def script(env, d):
        yield env.timeout(100)
        version = d.sim.register_model("breast_cancer_logreg", d.sim.model("breast_cancer_logreg"))
        d.set_model_version(0, version)
        with pytest.raises(ValueError, match="no version 7"):
            d.set_model_version(0, 7)

    sim = drive(build(tmp_path, KINDS[kind]()), script)
    d, t = sim.deployments[0], sim.workload.t
    np.testing.assert_array_equal(d.log.model_version, (t >= 100).astype(int))


@pytest.mark.parametrize("kind", list(KINDS))
def test_error_rate_fault_gives_the_binomial_count_of_5xx(tmp_path, kind) -> None:
    rate, n_total, errors = 0.1, 0, 0
    for seed in range(5):
        def script(env, d):
            f = d.add_fleet("AllTraffic", startup_s=0, faults=Faults(error_rate=rate))
            yield d.fleet_ready(f)
            d.set_fleet_traffic("AllTraffic", {f: 1.0})

        sim = drive(build(tmp_path, KINDS[kind](), seed=seed), script)
        log = sim.deployments[0].log
        assert np.all(log.fleet == 1)
        n_total += log.n
        errors += int(np.sum(log.error == Err.MODEL_ERROR))
        assert np.all(np.isin(log.error, [Err.NONE, Err.MODEL_ERROR]))
    lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], n_total, rate)
    assert lo <= errors <= hi and errors > 0


@pytest.mark.parametrize("kind", list(KINDS))
def test_latency_multiplier_and_startup_failure(tmp_path, kind) -> None:
    seen = {}

    def script(env, d):
        slow = d.add_fleet("AllTraffic", startup_s=0, faults=Faults(latency_multiplier=2.0))
        broken = d.add_fleet("AllTraffic", startup_s=30, faults=Faults(startup_failure=True))
        yield d.fleet_ready(slow)
        d.set_fleet_traffic("AllTraffic", {slow: 1.0})
        seen["broken"] = yield d.fleet_ready(broken)
        seen["state"] = d.fleets()[broken].state
        with pytest.raises(ValueError, match="failed"):
            d.set_fleet_traffic("AllTraffic", {broken: 1.0})

    workers = {"workers_per_instance": 6} if kind == "real_time_endpoint" else {"max_concurrent_invocations_per_instance": 6}
    sim = drive(build(tmp_path, KINDS[kind](**workers)), script)
    d = sim.deployments[0]
    assert seen == {"broken": False, "state": "failed"}
    np.testing.assert_allclose(d.log.model_s, 2 * SVC)
    assert not [le for le in d.leases if le.fleet == 2]  # never in service, never billed


def test_shadow_fleet_gets_copies_and_leaves_production_untouched(tmp_path) -> None:
    plain = build(tmp_path).run().deployments[0].log

    def script(env, d):
        shadow = d.add_fleet("AllTraffic", startup_s=50, shadow=True, sampling_percentage=100.0)
        yield d.fleet_ready(shadow)

    sim = drive(build(tmp_path), script)
    d, t = sim.deployments[0], sim.workload.t
    for field in ("t_start", "t_done", "error", "fleet", "instance"):
        np.testing.assert_array_equal(getattr(d.log, field), getattr(plain, field), err_msg=field)
    shadow = d.shadow_log(1)
    np.testing.assert_array_equal(np.isfinite(shadow.t_start), t >= 50)
    np.testing.assert_allclose(shadow.t_done[t >= 50], t[t >= 50] + SVC)
    assert [(le.t0, le.t1) for le in d.leases if le.fleet == 1] == [(50.0, 600.0)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_suspended_autoscaling_does_not_scale(tmp_path, kind) -> None:
    target = {"real_time_endpoint": {"target_invocations_per_instance": 10},
              "async_inference": {"target_backlog_per_instance": 0.5}}[kind]
    auto = {"min_instances": 1, "max_instances": 4, "instance_startup": 60, "scale_out_cooldown": 60, **target}
    dep = KINDS[kind](autoscaling=auto)

    def suspended(env, d):
        d.suspend_autoscaling("AllTraffic", True)
        yield env.timeout(0)

    free = build(tmp_path, dep, duration=1200).run().deployments[0]
    held = drive(build(tmp_path, dep, duration=1200), suspended).deployments[0]
    assert len(free.leases) > 1  # 60 requests a minute against a target of 10: it scales out
    assert [(le.t0, le.t1) for le in held.leases] == [(0.0, 1200.0)]


def test_every_change_admits_first(tmp_path) -> None:
    """A change at t must not affect requests that arrived before t, even those not yet admitted."""
    def script(env, d):
        yield env.timeout(99.9)
        assert d._next == 0 or d.sim.workload.t[d._next - 1] < 99.9
        d.set_model_version(0, 0)
        assert d._next == d.sim.workload.upto(99.9)

    drive(build(tmp_path), script)


def test_every_bad_owner_api_call_names_the_value_and_what_is_allowed(tmp_path) -> None:
    # the messages are the contract (one shape: deployment, parameter, allowed, given), so they
    # are asserted word for word
    import re

    dep = endpoint(variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 0}])
    seen: list[str] = []

    def script(env, d):
        yield env.timeout(100)
        green = d.add_fleet("a", config_name="api-green", startup_s=60)
        calls = [
            (lambda: d.set_variant_weights({"a": -1}), "api: weight of 'a' must be ≥ 0, got -1"),
            (lambda: d.set_instance_count("a", 0), "api: instance count of 'a' must be an integer ≥ 1, got 0"),
            (lambda: d.set_fleet_instance_count(0, 1.5), "api: instance count of fleet 0 must be an integer ≥ 1, got 1.5"),
            (lambda: d.set_fleet_instance_count(green, 2), f"api: fleet {green} is provisioning, its capacity cannot change"),
            (lambda: d.set_fleet_serving(0, 2), "api: serving instances of fleet 0 must be None or an integer from 1 "
                                                "to its 1 instances, got 2"),
            (lambda: d.add_fleet("a", instance_type="ml.nope"), "api: unknown instance type 'ml.nope'"),
            (lambda: d.add_fleet("a", instance_count=0), "api: instance_count must be an integer ≥ 1, got 0"),
            (lambda: d.add_fleet("a", shadow=True, sampling_percentage=0),
             "api: sampling_percentage must be within (0, 100], got 0"),
            (lambda: d.add_fleet("a", model_version=-1), "api: model_version must be an integer ≥ 0, got -1"),
            (lambda: d.set_fleet_traffic("b", {0: 1.0}), "api: fleet 0 is not a production fleet of variant 'b'"),
            (lambda: d.set_fleet_traffic("a", {0: -0.5, green: 1.5}), "api: share of fleet 0 must be ≥ 0, got -0.5"),
            (lambda: d.set_fleet_traffic("a", {0: 0.5}), "api: fleet shares must sum to 1, got 0.5"),
            (lambda: d.retire_fleet(0), "api: fleet 0 serves all of 'a'; route its traffic to another fleet first "
                                        "(set_fleet_traffic)"),
            (lambda: d.retire_fleet(9), "api: unknown fleet 9; fleets: 0…2"),
            (lambda: d.set_variant_weights({"c": 1}), "api: unknown variant 'c'; variants: a, b"),
        ]
        for call, message in calls:
            with pytest.raises(ValueError, match="^" + re.escape(message) + "$") as raised:
                call()
            seen.append(str(raised.value))

    drive(build(tmp_path, dep), script)
    assert len(seen) == 15, seen
