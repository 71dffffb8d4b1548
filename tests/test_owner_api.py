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
from simlab.distributions import Dist
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
    # in service: blue alone, then green alone (the switch at 160 s is one moment, not two instances)
    assert d.summary()["max_instances"] == 1


def test_split_between_fleets_follows_the_shares_with_a_fresh_uniform(tmp_path) -> None:
    def script(env, d):
        f = d.add_fleet("AllTraffic", startup_s=0)
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {0: 0.25, f: 0.75})

    sim = build(tmp_path)
    sim.workload.u_route[[10, 11]] = [0.25, np.nextafter(0.25, 0)]  # on the edge: 0.25 is green's
    sim = drive(sim, script)
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
        # each request fails on its own draw: per-minute counts scatter as binomials (a χ² test of
        # dispersion; one draw per admitted batch would put every request of a minute in or out)
        minute = (sim.workload.t[log.fleet == 1] // 60).astype(int)
        n_m = np.bincount(minute)
        c_m = np.bincount(minute, weights=(log.error[log.fleet == 1] == Err.MODEL_ERROR).astype(float))
        chi2 = float(np.sum((c_m - n_m * rate) ** 2 / (n_m * rate * (1 - rate))))
        assert chi2 < stats.chi2.ppf(1 - 1e-6, n_m.size), chi2
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
        assert (yield d.fleet_ready(0)) is True  # the initial fleet is in service from 0 s
        yield d.fleet_ready(shadow)
        assert [f.shadow for f in d.fleets()] == [False, True]
        yield env.timeout(250)
        d.retire_fleet(shadow)  # at 300 s: no copies from then on

    sim = drive(build(tmp_path), script)
    d, t = sim.deployments[0], sim.workload.t
    for field in ("t_start", "t_done", "error", "fleet", "instance"):
        np.testing.assert_array_equal(getattr(d.log, field), getattr(plain, field), err_msg=field)
    shadow, copied = d.shadow_log(1), (t >= 50) & (t < 300)
    np.testing.assert_array_equal(np.isfinite(shadow.t_start), copied)
    np.testing.assert_allclose(shadow.t_done[copied], t[copied] + SVC)
    np.testing.assert_allclose(shadow.busy_s[copied], SVC)  # a worker held for the model time
    np.testing.assert_allclose(shadow.model_s[copied], SVC)
    assert [(le.t0, le.t1) for le in d.leases if le.fleet == 1] == [(50.0, t[copied].max() + SVC)]


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


def test_retiring_a_routed_fleet_renormalises_the_rest_cancels_its_launches_and_moves_the_primary(tmp_path) -> None:
    """Three fleets at 0.5 / 0.2 / 0.3. At 110 s fleet 0 is retired while it still has traffic and
    a scale-up of it (asked at 100 s) is pending: the other shares become 0.2/0.5 = 0.4 and
    0.3/0.5 = 0.6, no instance of fleet 0 ever comes up, and the fleet with the largest share
    (2) becomes the one ``set_instance_count`` resizes (its new instance comes up after fleet 2's
    own start-up time, 0 s; fleet 0's launches would have taken the variant's default)."""
    startup = facts.limit("real_time_endpoint.default_instance_startup_s")
    seen = {}

    def script(env, d):
        one, two = d.add_fleet("AllTraffic", startup_s=0), d.add_fleet("AllTraffic", startup_s=0)
        yield d.fleet_ready(two)
        d.set_fleet_traffic("AllTraffic", {0: 0.5, one: 0.2, two: 0.3})
        yield env.timeout(100)
        d.set_fleet_instance_count(0, 3)
        yield env.timeout(10)
        d.retire_fleet(0)
        seen["states"] = [f.state for f in d.fleets()]
        yield env.timeout(10)
        d.set_instance_count("AllTraffic", 2)

    sim = drive(build(tmp_path, duration=120 + startup + 60), script)
    d, t, u = sim.deployments[0], sim.workload.t, sim.workload.u_route
    assert seen["states"] == ["draining", "in_service", "in_service"]
    before, after = t < 110, t >= 110
    np.testing.assert_array_equal(d.log.fleet[before], np.where(u[before] < 0.5, 0, np.where(u[before] < 0.7, 1, 2)))
    np.testing.assert_array_equal(d.log.fleet[after], np.where(u[after] < 0.4, 1, 2))
    last0 = t[before & (d.log.fleet == 0)].max()
    leases = sorted((le.fleet, le.t0, le.t1) for le in d.leases)
    end = float(sim.duration)
    assert leases == [(0, 0.0, last0 + SVC), (1, 0.0, end), (2, 0.0, end), (2, 120.0, end)]
    assert ("AllTraffic", 110.0, 0) in d.instance_timeline()
    assert d.fleet_instance_count_at(0, 109.0) == 1.0 and d.fleet_instance_count_at(0, last0 + SVC) == 0.0
    assert d.fleet_per_instance_denominator(0, 110.0, 170.0) == 0.0


def test_resizing_while_launches_are_pending_cancels_them_before_retiring_instances(tmp_path) -> None:
    """UpdateEndpointWeightsAndCapacities on a variant with launches under way (start-up 300 s),
    bookkeeping by hand. Two instances at 0 s:
    100 s → 4: two launches pending (due at 400 s);  150 s → 3: one of them called off;
    160 s → 1: the other pending launch is called off and one instance (the newest, 1) retires;
    400 s: both due launches are called off, none comes up;
    500 s → 3: two launches, in service at 800 s (instances 2 and 3);  900 s → 2: instance 3 retires."""
    seen = []

    def script(env, d):
        for at, n in ((100, 4), (150, 3), (160, 1), (500, 3), (900, 2)):
            yield env.timeout(at - env.now)
            d.set_instance_count("AllTraffic", n)
            seen.append((at, d.fleets()[0].instance_count))

    sim = drive(build(tmp_path, endpoint(instance_count=2), duration=1000), script)
    d = sim.deployments[0]
    assert seen == [(100, 2), (150, 2), (160, 1), (500, 1), (900, 2)]  # in service just after each call
    # (a scale-in that only calls off a launch records the unchanged count: 150 s, 2)
    assert [(t, n) for _, t, n in d.instance_timeline()] == [(0.0, 2), (150.0, 2), (160.0, 1), (800.0, 2), (800.0, 3),
                                                             (900.0, 2)]
    log, t_done = d.log, d.log.t_done

    def drained(inst: int, at: float) -> float:  # a retired instance is billed until its last request ends
        return max([at, *t_done[(log.instance == inst) & (sim.workload.t < at)].tolist()])

    leases = sorted((le.t0, le.t1) for le in d.leases)
    assert leases == sorted([(0.0, 1000.0), (0.0, drained(1, 160.0)), (800.0, 1000.0), (800.0, drained(3, 900.0))])
    assert drained(1, 160.0) > 160.0  # instance 1 was busy when it retired: billed while it drains
    assert d.summary()["max_instances"] == 3  # 800 s … 900 s
    # InvocationsPerInstance divides the minute's 60 requests by the time-average in service:
    # minute 1: 2; minute 2 [120, 180): 2 until 160 then 1 → 100/60; minute 13 [780, 840): 1 until
    # 800 then 3 → 140/60
    per = sim.metrics.minute_values("api", "InvocationsPerInstance", "AllTraffic")
    np.testing.assert_allclose(per[[1, 2, 13]], [30.0, 60.0 / (100 / 60), 60.0 / (140 / 60)], rtol=1e-12)


def test_owner_api_edges_that_are_allowed(tmp_path) -> None:
    """The boundaries of each check, from the allowed side: a zero share for a fleet still
    provisioning, a serving slice of a provisioning fleet and of all its instances, a shadow
    sampling 0.5 %, a registered model version; and a new fleet inherits the primary fleet's model."""
    seen = {}

    def script(env, d):
        tree = d.add_fleet("AllTraffic", model="breast_cancer_tree", instance_count=2, startup_s=10)
        d.set_fleet_serving(tree, 2)  # provisioning, all of its instances
        d.set_fleet_traffic("AllTraffic", {0: 1.0, tree: 0.0})
        yield d.fleet_ready(tree)
        d.set_fleet_traffic("AllTraffic", {0: 0.25, tree: 0.75})  # the tree fleet is now the primary
        inherits = d.add_fleet("AllTraffic", startup_s=0)
        version = d.sim.register_model("breast_cancer_logreg", d.sim.model("breast_cancer_logreg"))
        v1 = d.add_fleet("AllTraffic", model="breast_cancer_logreg", model_version=version, startup_s=0)
        d.add_fleet("AllTraffic", shadow=True, sampling_percentage=0.5, startup_s=0)
        seen["fleets"] = [(f.model, f.model_version) for f in d.fleets()]
        seen["ids"] = (tree, inherits, v1)

    drive(build(tmp_path), script)
    assert seen["fleets"] == [("breast_cancer_logreg", 0), ("breast_cancer_tree", 0), ("breast_cancer_tree", 0),
                              ("breast_cancer_logreg", 1), ("breast_cancer_tree", 0)]


def test_a_fleet_retired_while_provisioning_never_serves_and_is_never_billed(tmp_path) -> None:
    seen = {}

    def script(env, d):
        green = d.add_fleet("AllTraffic", startup_s=60)
        yield env.timeout(10)
        d.retire_fleet(green)
        seen["at_once"] = d.fleets()[green].state  # no instance to drain: retired at once
        seen["ready"] = yield d.fleet_ready(green)
        seen["at"], seen["state"] = env.now, d.fleets()[green].state
        for call, message in [
            (lambda: d.set_fleet_instance_count(green, 2), "api: fleet 1 is retired, its capacity cannot change"),
            (lambda: d.set_fleet_traffic("AllTraffic", {green: 1.0}), "api: fleet 1 is retired, it cannot take traffic"),
            (lambda: d.set_fleet_serving(green, 1), "api: fleet 1 is retired, its serving slice cannot be set"),
            (lambda: d.retire_fleet(2), "api: unknown fleet 2; fleets: 0…1"),
            (lambda: d.add_fleet("AllTraffic", shadow=True, sampling_percentage=100.5),
             "api: sampling_percentage must be within (0, 100], got 100.5"),
            (lambda: d.add_fleet("AllTraffic", model_version=1),
             "api: model 'breast_cancer_logreg' has no version 1 in this run"),
        ]:
            with pytest.raises(ValueError) as raised:
                call()
            assert str(raised.value) == message

    sim = drive(build(tmp_path), script)
    d = sim.deployments[0]
    assert seen == {"at_once": "retired", "ready": False, "at": 60.0, "state": "retired"}
    assert np.all(d.log.fleet == 0) and not [le for le in d.leases if le.fleet == 1]


def test_a_new_fleets_service_time_and_a_shadows_sampling_rate_apply(tmp_path) -> None:
    """A green fleet given its own service time serves with it; a shadow sampling 50 % copies each
    request with probability 1/2 (its own stream): the count is Bin(n, 1/2)."""
    def script(env, d):
        green = d.add_fleet("AllTraffic", startup_s=0, service_time=Dist.fixed(0.7))
        d.add_fleet("AllTraffic", startup_s=0, shadow=True, sampling_percentage=50.0)
        yield d.fleet_ready(green)
        d.set_fleet_traffic("AllTraffic", {green: 1.0})

    sim = drive(build(tmp_path, duration=2000), script)
    d = sim.deployments[0]
    np.testing.assert_allclose(d.log.model_s, 0.7)
    copies = int(np.isfinite(d.shadow_log(2).t_start).sum())
    lo, hi = stats.binom.ppf([1e-6, 1 - 1e-6], d.log.n, 0.5)
    assert lo <= copies <= hi


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_fleets_cpu_is_its_own_busy_time_over_its_capacity(tmp_path, kind) -> None:
    """Blue and green share traffic 0.25 / 0.75 from 0 s; each fleet's CPUUtilization (dimension
    EndpointConfigName) is the busy time of the requests it served inside the minute over its one
    instance × 3 workers (3 concurrent invocations on async) × 60 s, overlap computed here per
    request; its InvocationsPerInstance is the requests it took in that minute (one instance)."""
    def script(env, d):
        f = d.add_fleet("AllTraffic", startup_s=0, config_name="api-green")
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {0: 0.25, f: 0.75})

    sim = drive(build(tmp_path, KINDS[kind]()), script)
    d, store = sim.deployments[0], sim.metrics
    s, b = d.log.t_start, d.log.busy_s
    for fid, cname in ((0, "api-config"), (1, "api-green")):
        assert d.fleets()[fid].config_name == cname
        mine = d.log.fleet == fid
        for minute in (2, 5, 8):
            lo, hi = minute * 60.0, minute * 60.0 + 60.0
            busy = np.clip(np.minimum(s[mine] + b[mine], hi) - np.maximum(s[mine], lo), 0, None).sum()
            got = store.query(deployment="api", metric="CPUUtilization", statistic="Average", t0=lo, t1=hi,
                              variant="AllTraffic", fleet=cname)
            assert got == pytest.approx(100.0 * busy / (3 * 60.0), rel=1e-9), (cname, minute)
            served = np.count_nonzero(mine & (sim.workload.t >= lo) & (sim.workload.t < hi))
            assert store.query(deployment="api", metric="InvocationsPerInstance", statistic="Average", t0=lo, t1=hi,
                               variant="AllTraffic", fleet=cname) == float(served)  # one instance each


def test_each_fleets_series_has_its_counts_and_latency_and_zeros_in_a_quiet_minute(tmp_path) -> None:
    """Blue and green at 0.5 / 0.5 from 0 s; arrivals at k + 0.5 s except in minute 3, which is
    quiet. Each fleet's series (variant AllTraffic, EndpointConfigName) holds its own Invocations
    and ModelLatency (µs, 2.5 s each) in a busy minute and zero counts, no latency in the quiet one."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(600) if not 180 <= k < 240) + "\n", encoding="utf-8")
    raw = {"name": "owner", "duration": 600.0, "seed": 0, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [endpoint()]}

    def script(env, d):
        f = d.add_fleet("AllTraffic", startup_s=0, config_name="api-green")
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {0: 0.5, f: 0.5})

    sim = drive(Simulation(scenario_from_dict(raw)), script)
    d, store, t = sim.deployments[0], sim.metrics, sim.workload.t

    def point(metric: str, cname: str, minute: int, statistic: str = "Sum") -> float | None:
        return store.query(deployment="api", metric=metric, statistic=statistic, t0=60.0 * minute,
                           t1=60.0 * minute + 60.0, variant="AllTraffic", fleet=cname)

    for fid, cname in ((0, "api-config"), (1, "api-green")):
        served = int(np.count_nonzero((d.log.fleet == fid) & (t >= 120) & (t < 180)))
        assert 0 < served < 60 and point("Invocations", cname, 2) == float(served)
        assert point("ModelLatency", cname, 2, "Average") == pytest.approx(SVC * 1e6)
        assert [point(m, cname, 3) for m in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")] == [0.0] * 3
        assert point("ModelLatency", cname, 3) is None


def _p1(model, X: np.ndarray) -> np.ndarray:
    """P(class 1) straight from the fitted sklearn estimator."""
    est = model.estimator
    return est.predict_proba(X)[:, list(est.classes_).index(1)]


def test_predictions_are_each_fleets_model_at_the_version_it_served(tmp_path) -> None:
    """Blue (logistic regression) and a green tree fleet with 20 % injected errors split 0.5 / 0.5
    from 100 s; at 300 s blue switches to version 1, registered as a tree too. Every answered
    request's prediction is the estimator that served it, applied to its row; errors get none."""
    def script(env, d):
        yield env.timeout(100)
        f = d.add_fleet("AllTraffic", model="breast_cancer_tree", startup_s=0, faults=Faults(error_rate=0.2))
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {0: 0.5, f: 0.5})
        yield env.timeout(200)
        d.set_model_version(0, d.sim.register_model("breast_cancer_logreg", d.sim.model("breast_cancer_tree")))

    sim = drive(build(tmp_path), script)
    d, log, X = sim.deployments[0], sim.deployments[0].log, sim.dataset.X[sim.workload.row]
    logreg, tree = sim.model("breast_cancer_logreg", 0), sim.model("breast_cancer_tree", 0)
    expected = np.where(log.model_version == 1, _p1(tree, X), np.where(log.fleet == 1, _p1(tree, X), _p1(logreg, X)))
    expected[log.error != Err.NONE] = np.nan
    assert np.count_nonzero(log.error != Err.NONE) > 0 and np.count_nonzero(log.model_version == 1) > 0
    np.testing.assert_array_equal(d.predictions(), expected)


def test_with_drift_the_model_scores_the_features_as_served() -> None:
    from helpers import rt, scenario

    raw = scenario(rt(), rate=2.0, duration=300.0,
                   workload={"arrivals": "poisson", "rate_per_s": 2.0, "payload_kb": 4,
                             "drift": [{"at": 0, "feature": "mean radius", "shift_sd": 3},
                                       {"at": 0, "feature": "mean texture", "missing_rate": 0.5}]})
    sim = Simulation(scenario_from_dict(raw), seed=2).run()
    d, wl = sim.deployments[0], sim.workload
    idx = np.flatnonzero(np.isfinite(d.log.t_start))
    shifted = wl.features(idx, impute=True)
    assert not np.allclose(shifted, sim.dataset.X[wl.row[idx]])  # the drift moved the inputs
    assert np.isnan(wl.features(idx, impute=False)).any() and not np.isnan(shifted).any()  # imputed as served
    np.testing.assert_allclose(d.predictions()[idx], _p1(sim.model("breast_cancer_logreg", 0), shifted))


def test_fleets_before_the_run_and_a_fleets_own_profiled_model() -> None:
    """Before a run binds the endpoint, its one fleet is the configuration, provisioning, with the
    configured model ("" when the scenario's default applies). A fleet added with another model and
    ``service_time="profile"`` asks for that model's profile, not the variant's."""
    from helpers import rt, scenario

    from simlab.deployments.base import FleetInfo
    from simlab.deployments.realtime import RealTimeEndpoint

    sc = scenario_from_dict(scenario(rt(), rt("tree", model="breast_cancer_tree")))
    plain, tree = (RealTimeEndpoint(cfg) for cfg in sc.deployments)
    assert plain.fleets() == [FleetInfo(0, "AllTraffic", "", 0, "ml.m5.large", 0, "rt-config", "provisioning")]
    assert tree.fleets()[0].model == "breast_cancer_tree"

    # which model's profile a fleet asks for (the profile itself is timed on this machine, so a
    # spy answers with a fixed time per model)
    sim = Simulation(scenario_from_dict(scenario(rt(), rate=5.0, duration=300.0)), seed=1)
    d = sim.deployments[0]
    asked = []

    def spy(service, model):
        asked.append((service, model))
        return Dist.fixed(0.002 if model == "breast_cancer_tree" else 0.001) if service == "profile" else service

    d.resolve_service_time = spy

    def script(env, d):
        f = d.add_fleet("AllTraffic", model="breast_cancer_tree", service_time="profile", startup_s=0)
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {f: 1.0})

    drive(sim, script)
    assert asked[-1] == ("profile", "breast_cancer_tree")
    np.testing.assert_array_equal(d.log.model_s, 0.002)


def test_the_60_s_limit_lets_a_60_s_model_time_finish_and_cuts_a_longer_one_at_60_s(tmp_path) -> None:
    """One worker. A fixed 60 s model time is within the limit (answered after 60 s); a fixed 90 s
    one is cut at 60 s (ModelError after 60 s, the worker freed then: the next request starts at 60 s
    after the first began)."""
    logs = {}
    for ms in (60_000, 90_000):
        dep = endpoint(workers_per_instance=1, service_time={"dist": "fixed", "mean_ms": ms})
        logs[ms] = build(tmp_path, dep, duration=300).run().deployments[0].log
    ok, cut = logs[60_000], logs[90_000]
    assert np.all(ok.error[np.isfinite(ok.t_done)] == Err.NONE) and ok.t_done[0] == 0.5 + 60.0
    assert cut.error[0] == Err.TIMEOUT and cut.busy_s[0] == 60.0 and cut.t_done[0] == 0.5 + 60.0
    assert cut.t_start[1] == 0.5 + 60.0 and cut.t_start[2] == 0.5 + 120.0


def test_each_variant_serves_its_own_model(tmp_path) -> None:
    dep = endpoint(variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 1, "model": "breast_cancer_tree"}])
    sim = build(tmp_path, dep, duration=120).run()
    d = sim.deployments[0]
    assert [(f.variant, f.model) for f in d.fleets()] == [("a", "breast_cancer_logreg"), ("b", "breast_cancer_tree")]
    X, var = sim.dataset.X[sim.workload.row], d.log.variant
    tree = _p1(sim.model("breast_cancer_tree", 0), X)
    np.testing.assert_array_equal(d.predictions()[var == 1], tree[var == 1])


def test_a_fleet_still_provisioning_has_no_per_instance_datapoint(tmp_path) -> None:
    """Green is added at 100 s and serves from 220 s: its series start the minute after it was
    added, but while no instance of it is in service there is nothing to divide by."""
    def script(env, d):
        yield env.timeout(100)
        d.add_fleet("AllTraffic", startup_s=120, config_name="api-green")

    sim = drive(build(tmp_path), script)

    def per(minute: int) -> float | None:
        return sim.metrics.query(deployment="api", metric="InvocationsPerInstance", statistic="Average",
                                 t0=60.0 * minute, t1=60.0 * minute + 60.0, variant="AllTraffic", fleet="api-green")

    assert per(2) is None and per(3) == 0.0  # in service from 220 s, no traffic routed to it


def test_cpu_of_a_minute_counts_an_instance_for_the_part_of_it_that_it_was_there(tmp_path) -> None:
    """Arrivals at k + 0.5 s, 2.5 s each, 3 workers per instance. At 90 s a green fleet (one
    instance, no start-up) enters service and takes all traffic from 90.5 s on. Minute 1 ([60, 120] s)
    by hand:
    - blue: the tails of the requests of 58.5 s (1 s) and 59.5 s (2 s) plus 30 requests of 60.5 …
      89.5 s (75 s) = 78 s of 1 instance × 3 workers × 60 s = 43.3 %;
    - green: 28 whole requests of 90.5 … 117.5 s (70 s) and the heads of 118.5 s (1.5 s) and 119.5 s
      (0.5 s) = 72 s of 3 workers × the 30 s it was in service = 80 %;
    - the variant: 150 s of 3 × (60 + 30) s = 55.6 %.
    Counting green's capacity at the minute's start (0 instances) reported 0 %, and the variant's
    at one instance 83 %; creating blue's own series without the spill-over of minute 0 reported 41.7 %."""
    def script(env, d):
        yield env.timeout(90)
        f = d.add_fleet("AllTraffic", startup_s=0, config_name="api-green")
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {f: 1.0})

    store = drive(build(tmp_path, duration=240), script).metrics

    def cpu(minute: int, fleet: str | None) -> float | None:
        return store.query(deployment="api", metric="CPUUtilization", statistic="Average", t0=minute * 60.0,
                           t1=minute * 60.0 + 60.0, variant="AllTraffic", fleet=fleet)

    assert cpu(1, "api-config") == pytest.approx(100.0 * 78.0 / 180.0, rel=1e-12)
    # green served 30 requests in minute 1 with half a minute in service on average
    assert store.query(deployment="api", metric="InvocationsPerInstance", statistic="Average", t0=60.0, t1=120.0,
                       variant="AllTraffic", fleet="api-green") == 30 / 0.5
    assert cpu(1, "api-green") == pytest.approx(100.0 * 72.0 / 90.0, rel=1e-12)
    assert cpu(1, None) == pytest.approx(100.0 * 150.0 / 270.0, rel=1e-12)
    # minute 2: blue drains its last request (89.5 s, done at 92 s) by minute 1's end, so 0 %; green
    # spills in 1 s and 2 s of 118.5 s and 119.5 s, runs 58 whole requests (120.5 … 177.5 s) and
    # the heads of 178.5 s (1.5 s) and 179.5 s (0.5 s)
    assert cpu(2, "api-config") == 0.0
    assert cpu(2, "api-green") == pytest.approx(100.0 * (1.0 + 2.0 + 58 * 2.5 + 1.5 + 0.5) / 180.0, rel=1e-12)


def test_a_shadow_fleets_oversize_copies_are_rejected_in_its_own_log(tmp_path) -> None:
    """Payloads drawn exponential with mean 3,000 KiB: those above the real-time limit are refused
    on arrival (HTTP 413) by production and, for the copies sent to a shadow fleet at 100 %, in the
    shadow fleet's own log; the others are served by both."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(300)) + "\n", encoding="utf-8")
    raw = {"name": "owner", "duration": 300.0, "seed": 0, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace), "payload_kb": {"dist": "exponential", "mean_kb": 3000}},
           "deployments": [endpoint()]}

    def script(env, d):
        yield d.fleet_ready(d.add_fleet("AllTraffic", startup_s=0, shadow=True, sampling_percentage=100.0))

    sim = drive(Simulation(scenario_from_dict(raw)), script)
    d, t = sim.deployments[0], sim.workload.t
    big = sim.workload.payload_bytes > facts.limit("real_time_endpoint.max_payload_bytes")
    assert 10 < big.sum() < 290  # both kinds present
    for log in (d.log, d.shadow_log(1)):
        assert (log.error[big] == Err.PAYLOAD_TOO_LARGE).all() and (log.t_done[big] == t[big]).all()
        assert np.isnan(log.t_start[big]).all() and (log.error[~big] != Err.PAYLOAD_TOO_LARGE).all()
        assert np.isfinite(log.t_start[~big]).all()


def test_a_fleets_first_series_minute_counts_the_very_first_requests_spill_over(tmp_path) -> None:
    """The run's first request arrives at 59.5 s and runs 2.5 s on blue; green enters service at
    90 s and takes the traffic. Blue's series begin in minute 1 and hold the 2 s that request ran
    past 60 s: 2 s of 3 workers × 60 s."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("59.5\n" + "\n".join(f"{k + 0.5}" for k in range(100, 240)) + "\n", encoding="utf-8")
    raw = {"name": "owner", "duration": 240.0, "seed": 0, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [endpoint()]}

    def script(env, d):
        yield env.timeout(90)
        f = d.add_fleet("AllTraffic", startup_s=0, config_name="api-green")
        yield d.fleet_ready(f)
        d.set_fleet_traffic("AllTraffic", {f: 1.0})

    store = drive(Simulation(scenario_from_dict(raw)), script).metrics
    got = store.query(deployment="api", metric="CPUUtilization", statistic="Average", t0=60.0, t1=120.0,
                      variant="AllTraffic", fleet="api-config")
    assert got == pytest.approx(100.0 * 2.0 / 180.0, rel=1e-12)


def test_a_scale_in_calls_off_the_launch_still_pending_after_an_earlier_one_came_up(tmp_path) -> None:
    """One instance, start-up 300 s. 100 s → 2 (launch due 400 s); 200 s → 3 (launch due 500 s);
    at 400 s the first comes up; 450 s → 2: the one launch still pending is called off, no
    instance in service retires, and nothing comes up at 500 s."""
    def script(env, d):
        for at, n in ((100, 2), (200, 3), (450, 2)):
            yield env.timeout(at - env.now)
            d.set_instance_count("AllTraffic", n)

    d = drive(build(tmp_path, endpoint(instance_count=1), duration=600), script).deployments[0]
    assert [(t, n) for _, t, n in d.instance_timeline()] == [(0.0, 1), (400.0, 2), (450.0, 2)]
    assert sorted((le.t0, le.t1) for le in d.leases) == [(0.0, 600.0), (400.0, 600.0)]
