"""Accounting, records and routing against hand calculations and brute force written out here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import rt, scenario

from simlab import facts
from simlab.accounting import busy_seconds, latency_stats, overlap, per_minute_busy, rnd
from simlab.records import STATUS_OF, Err, Outcome, RequestLog
from simlab.scenario import scenario_from_dict
from simlab.schema import Invalid
from simlab.simulation import Simulation


def test_rnd_keeps_undefined_values_undefined() -> None:
    assert rnd(None) is None
    assert rnd(float("nan")) is None
    assert rnd(float("inf")) is None
    assert rnd(1.23456789, 3) == 1.235
    assert rnd(2.0000004) == 2.0
    assert isinstance(rnd(np.float32(1.5)), float)


def test_latency_stats_of_one_to_a_hundred() -> None:
    # numpy's default (linear) percentile of 1..100: position q/100·99 from 1 → 1 + 0.99·q
    stats = latency_stats(np.arange(1, 101, dtype=float))
    assert stats == {"mean": 50.5, "p50": 50.5, "p90": 90.1, "p95": 95.05, "p99": 99.01, "max": 100.0}
    # reported to the microsecond (3 decimals of ms), every statistic
    assert set(latency_stats(np.array([0.12345, 0.12345])).values()) == {0.123}
    assert latency_stats(np.array([])) == {"mean": None, "p50": None, "p90": None, "p95": None,
                                           "p99": None, "max": None}


def test_overlap_by_hand() -> None:
    got = overlap(np.array([0.0, 5.0, 12.0, -3.0]), np.array([4.0, 15.0, 20.0, 30.0]), 2.0, 10.0)
    np.testing.assert_array_equal(got, [2.0, 5.0, 0.0, 8.0])


def test_busy_seconds_ignores_requests_no_worker_took() -> None:
    # request 1 never started (NaN start, busy 100 s): it must not count, and must not poison the sum
    t_start = np.array([0.0, np.nan, 10.0])
    busy = np.array([5.0, 100.0, 5.0])
    assert busy_seconds(t_start, busy, 0.0, 12.0) == 5.0 + 2.0
    assert busy_seconds(t_start, busy, 3.0, 100.0) == 2.0 + 5.0


def test_per_minute_busy_by_hand() -> None:
    # [30, 90): 30 s in minute 0 and 30 s in minute 1; [100, 300): 20 s in minute 1, then 60, 60, 60;
    # [130, 140): 10 s in minute 2; a request that never started counts nowhere, nor do requests
    # starting at or after the end of the 6 minutes (360 s, 400 s)
    t_start = np.array([30.0, 100.0, 130.0, np.nan, 360.0, 400.0])
    busy = np.array([60.0, 200.0, 10.0, 50.0, 5.0, 5.0])
    np.testing.assert_allclose(per_minute_busy(t_start, busy, 6), [30.0, 50.0, 70.0, 60.0, 60.0, 0.0])


def test_per_minute_busy_matches_a_loop_over_requests() -> None:
    rng = np.random.default_rng(4)
    s = rng.uniform(0, 600, 300)
    d = rng.exponential(20, 300)
    want = np.zeros(12)
    for si, di in zip(s, d, strict=True):
        for m in range(12):
            want[m] += max(0.0, min(si + di, 60.0 * (m + 1)) - max(si, 60.0 * m))
    np.testing.assert_allclose(per_minute_busy(s, d, 12), want, atol=1e-9)


def test_outcome_by_hand() -> None:
    log = RequestLog(5)
    log.t_done[:] = [1.0, 2.0, np.nan, 5.0, 3.0]
    log.error[:] = [Err.NONE, Err.TIMEOUT, Err.NONE, Err.THROTTLED, Err.NONE]
    got = log.outcome(3.0)  # request 4 finishes exactly at the end: it completed
    assert got.tolist() == [Outcome.COMPLETED, Outcome.FAILED, Outcome.IN_FLIGHT, Outcome.THROTTLED,
                            Outcome.COMPLETED]
    assert log.outcome(0.5).tolist()[:3] == [Outcome.IN_FLIGHT] * 3
    # variant int16, instance int32, t_start/t_done/model_s/overhead_s/busy_s float64, error int8,
    # cold bool, model_version int16, fleet int16
    assert log.nbytes() == 5 * (2 + 4 + 8 + 8 + 8 + 8 + 8 + 1 + 1 + 2 + 2)
    assert got.dtype == np.int8  # one byte per request (the memory budget of bench/)
    assert (RequestLog(3).instance == -1).all()  # −1 = no instance took it (the requests frame shows it)


def test_http_status_of_each_error_is_the_real_service_s() -> None:
    # InvokeEndpoint: ValidationError 400/413 payload, ModelError 424, ThrottlingException 400
    # (serverless MaxConcurrency), ModelNotReadyException 429 (MME model loading)
    assert STATUS_OF[Err.NONE] == 200
    assert STATUS_OF[Err.PAYLOAD_TOO_LARGE] == 413
    assert STATUS_OF[Err.MODEL_ERROR] == 424 and STATUS_OF[Err.TIMEOUT] == 424
    assert STATUS_OF[Err.THROTTLED] == 400
    assert STATUS_OF[Err.NOT_READY] == 429


# -- routing ---------------------------------------------------------------------------------------
def _endpoint(**overrides):
    sim = Simulation(scenario_from_dict(scenario(rt(**overrides), rate=1, duration=120)))
    return sim, sim.deployments[0]


def test_variant_choice_and_the_fresh_uniform_by_hand() -> None:
    _, d = _endpoint(variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 1}, {"name": "c", "weight": 2}])
    # cumulative shares 0.25, 0.5, 1: u = 0.1 → a with (0.1 − 0)/0.25; 0.3 → b with (0.3 − 0.25)/0.25;
    # 0.6 → c with (0.6 − 0.5)/0.5; 0.99 → c with 0.98
    var, u = d._pick_variants(np.array([0.1, 0.3, 0.6, 0.99, 0.25]))
    assert var.tolist() == [0, 1, 2, 2, 1]  # 0.25 itself starts b's share
    np.testing.assert_allclose(u, [0.4, 0.2, 0.2, 0.98, 0.0])


@pytest.mark.parametrize(("variants", "message"), [
    ([{"name": "a", "weight": 1}, {"name": "a", "weight": 2}],
     "error: <scenario>: deployments[0].variants: variant names must be unique, got a, a"),
    ([{"name": "a", "weight": 0}, {"name": "b", "weight": 0}],
     "error: <scenario>: deployments[0].variants: at least one variant weight must be > 0, got all 0"),
])
def test_variants_need_unique_names_and_some_weight(variants, message) -> None:
    from simlab.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(rt(variants=variants)))
    assert str(err.value) == message


_OTHER = ("must be a model of the scenario's dataset (breast_cancer, like breast_cancer_logreg) because every "
          "deployment receives the same requests, got wine_rf (wine)")


@pytest.mark.parametrize(("dep", "message"), [
    (rt(instance_count=5, autoscaling={"min_instances": 2, "max_instances": 4, "target_invocations_per_instance": 100}),
     "deployments[0].instance_count: must lie within autoscaling min_instances…max_instances (2…4), got 5"),
    (rt(instance_count=1, autoscaling={"min_instances": 2, "max_instances": 4, "target_invocations_per_instance": 100}),
     "deployments[0].instance_count: must lie within autoscaling min_instances…max_instances (2…4), got 1"),
    (rt(variants=[{"name": "a"}, {"name": "b", "model": "wine_rf"}]), "deployments[0].variants[1].model: " + _OTHER),
    (rt(model="wine_rf"), "deployments[0].model: " + _OTHER),
])
def test_endpoint_cross_field_problems_name_the_field(dep, message) -> None:
    from simlab.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(dep))
    assert str(err.value) == "error: <scenario>: " + message


def test_instance_counts_at_the_scaling_bounds_are_accepted() -> None:
    auto = {"min_instances": 2, "max_instances": 4, "target_invocations_per_instance": 100}
    for n in (2, 4):
        scenario_from_dict(scenario(rt(instance_count=n, autoscaling=auto)))


def test_faults_reject_a_rate_outside_0_1_and_a_non_positive_multiplier() -> None:
    from simlab.deployments.base import Faults

    for ok in (Faults(error_rate=0.0), Faults(error_rate=1.0), Faults(latency_multiplier=0.01)):
        assert ok.startup_failure is False
    for kw, message in [({"error_rate": -0.1}, "Faults.error_rate must be within [0, 1], got -0.1"),
                        ({"error_rate": 1.5}, "Faults.error_rate must be within [0, 1], got 1.5"),
                        ({"latency_multiplier": 0.0}, "Faults.latency_multiplier must be > 0, got 0.0")]:
        with pytest.raises(ValueError) as err:
            Faults(**kw)
        assert str(err.value) == message


def test_traffic_split_and_instance_choice_follow_the_weights() -> None:
    """10 000 requests over weights 1:1:2 and two instances per variant: each share is binomial,
    so 5 standard deviations (≤ 0.025 of the total) bound the error."""
    raw = scenario(rt(instance_count=2, variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 1},
                                                  {"name": "c", "weight": 2}]), rate=20, duration=500)
    d = Simulation(scenario_from_dict(raw), seed=3).run().deployments[0]
    n = d.log.n
    share = np.bincount(d.log.variant, minlength=3) / n
    np.testing.assert_allclose(share, [0.25, 0.25, 0.5], atol=5 * math.sqrt(0.25 / n))
    assert d.summary()["variants"] == dict(zip("abc", np.bincount(d.log.variant, minlength=3).tolist(), strict=True))
    two = scenario(rt(variants=[{"name": "a", "weight": 1}, {"name": "b", "weight": 3}]), rate=20, duration=100)
    d2 = Simulation(scenario_from_dict(two), seed=3).run().deployments[0]
    assert d2.summary()["variants"] == {"a": int(np.sum(d2.log.variant == 0)), "b": int(np.sum(d2.log.variant == 1))}
    for v in range(3):
        on = d.log.instance[d.log.variant == v]
        assert abs(np.mean(on == 0) - 0.5) < 5 * math.sqrt(0.25 / on.size), v


@pytest.mark.parametrize("routing", ["RANDOM", "LEAST_OUTSTANDING_REQUESTS"])
def test_an_idle_fleet_shares_requests_evenly(routing: str) -> None:
    """At 0.1 % load every instance is idle on arrival: least-outstanding ties everywhere and must
    break them uniformly, like RANDOM (each of 3 instances gets 1/3 ± 5 binomial sd)."""
    raw = scenario(rt(instance_count=3, routing=routing, service_time={"dist": "fixed", "mean_ms": 1}),
                   rate=1, duration=6000)
    d = Simulation(scenario_from_dict(raw), seed=5).run().deployments[0]
    counts = np.bincount(d.log.instance, minlength=3)
    assert np.all(np.abs(counts / counts.sum() - 1 / 3) < 5 * math.sqrt(2 / 9 / counts.sum())), counts


def test_least_outstanding_prefers_the_instance_with_fewer_requests() -> None:
    """Two instances, one worker each, fixed 10 s service, arrivals at 0, 1, 2 s: the second request
    goes to the idle instance (not behind the first), the third queues behind whichever ends first."""
    raw = scenario(rt(instance_count=2, routing="LEAST_OUTSTANDING_REQUESTS",
                      service_time={"dist": "fixed", "mean_ms": 10_000}), rate=1, duration=60)
    sim = Simulation(scenario_from_dict(raw), seed=1)
    sim.workload.t[:3] = [0.0, 1.0, 2.0]
    sim.workload.t[3:] = np.linspace(100, 200, sim.workload.n - 3)
    d = sim.run().deployments[0]
    assert d.log.instance[0] != d.log.instance[1]
    np.testing.assert_allclose(d.log.t_start[:3], [0.0, 1.0, 10.0])


def test_least_outstanding_counts_a_request_ending_at_the_arrival_as_done() -> None:
    """Requests at 0 s (uniform 0.99 → the second idle instance), 1 s (the other, idle one) and
    10 s (uniform 0.01): the first request ends at exactly 10 s, so its instance has nothing
    outstanding and takes the third at once; counting it as still outstanding would make a tie that
    the uniform 0.01 breaks towards the other instance (start 11 s)."""
    raw = scenario(rt(instance_count=2, routing="LEAST_OUTSTANDING_REQUESTS",
                      service_time={"dist": "fixed", "mean_ms": 10_000}), rate=1, duration=60)
    sim = Simulation(scenario_from_dict(raw), seed=1)
    sim.workload.t[:3] = [0.0, 1.0, 10.0]
    sim.workload.t[3:] = np.linspace(100, 200, sim.workload.n - 3)
    sim.workload.u_route[:3] = [0.99, 0.5, 0.01]
    d = sim.run().deployments[0]
    assert d.log.instance[:3].tolist() == [1, 0, 1]
    np.testing.assert_allclose(d.log.t_start[:3], [0.0, 1.0, 10.0])


def test_summary_figures_by_hand_for_a_growing_fifo_queue(tmp_path) -> None:
    """One worker, a fixed 1.5 s model time, arrivals at k + 0.5 s (k = 0…599), warm-up 100 s, run
    600 s. FIFO by hand: request k starts at 0.5 + 1.5 k and ends at 0.5 + 1.5 (k + 1), so it waits
    0.5 k s and takes 1.5 + 0.5 k s. Measured: k ≥ 100 (arrived after the warm-up), 500 requests;
    completed: those ending by 600 s, k ≤ 398 (299); the other 201 are in flight. One ml.m5.large is
    billed 500 s of the window; the worker is busy all of it."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(600)) + "\n", encoding="utf-8")
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 1500}), duration=600.0, warmup=100.0,
                   workload={"arrivals": "trace", "file": str(trace)})
    s = Simulation(scenario_from_dict(raw), seed=1).run().deployments[0].summary()
    k = np.arange(100, 399, dtype=float)
    latency, wait = (1.5 + 0.5 * k) * 1000.0, 0.5 * k * 1000.0
    cost = 500.0 * facts.instance("ml.m5.large").price_per_hour / 3600.0
    assert (s["type"], s["arrived"], s["completed"], s["failed"], s["throttled"], s["in_flight"]) == \
        ("real_time_endpoint", 500, 299, 0, 0, 201)
    assert s["latency_ms"] == {"mean": 126000.0, "max": 200500.0,
                               **{f"p{q}": round(float(np.percentile(latency, q)), 3) for q in (50, 90, 95, 99)}}
    assert s["wait_ms"] == {"mean": 124500.0, "p99": round(float(np.percentile(wait, 99)), 3)}
    assert s["cost_usd"] == pytest.approx(cost, abs=1e-6) and s["instance_hours"] == pytest.approx(500 / 3600, abs=1e-6)
    assert s["cost_per_1k_usd"] == pytest.approx(cost / 299 * 1000.0, abs=1e-6)
    assert s["utilization"] == 1.0 and s["errors"] == {} and s["cold_starts"] == 0
    assert s["max_instances"] == 1 and "variants" not in s  # one variant: no per-variant counts


def test_utilization_of_a_capacity_under_one_worker_second(tmp_path) -> None:
    """A 1 s run, one request at 0.25 s busy 0.5 s: 0.5 of the one worker-second leased."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("0.25\n", encoding="utf-8")
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 500}), duration=1.0,
                   workload={"arrivals": "trace", "file": str(trace)})
    assert Simulation(scenario_from_dict(raw), seed=1).run().deployments[0].summary()["utilization"] == 0.5


def test_an_endpoint_accepts_a_type_batch_transform_rejects() -> None:
    from simlab.deployments.realtime import _instance_type

    assert _instance_type("ml.c5.large") == "ml.c5.large"  # hosting yes, batch transform no
    with pytest.raises(Invalid, match="not valid for batch transform"):
        _instance_type("ml.c5.large", batch=True)
    assert _instance_type("ml.m5.large", batch=True) == "ml.m5.large"
    with pytest.raises(Invalid, match="known instance type"):
        _instance_type("ml.nope")


def test_the_instance_type_kind_checks_the_catalog_for_endpoints_and_batch() -> None:
    """The schema kind built per field (run at import for the bundled schemas, so checked here by
    building it again): the endpoint kind takes a hosting-only type, the batch kind refuses it."""
    from simlab.deployments.realtime import InstanceTypeKind

    endpoint, batch = InstanceTypeKind(), InstanceTypeKind(batch=True)
    assert endpoint.describe == batch.describe == "an instance type from the catalog (simlab/data/instances.yaml)"
    assert endpoint.convert("ml.c5.large", "p") == "ml.c5.large" and batch.convert("ml.m5.large", "p") == "ml.m5.large"
    with pytest.raises(Invalid, match=r"^must be a known batch instance type \(not valid for batch transform\)"):
        batch.convert("ml.c5.large", "p")
    with pytest.raises(Invalid, match="^must be a known instance type"):
        endpoint.convert("ml.nope", "p")


def test_instance_type_messages_list_the_catalog_and_suggest_a_near_name() -> None:
    from simlab.deployments.realtime import _instance_type

    catalog = facts.instance_types()
    hosting = ", ".join(catalog)
    batch = ", ".join(k for k, v in catalog.items() if v.batch)
    for raw, is_batch, message in [
        ("ml.m5.larg", False, f"must be a known instance type (did you mean 'ml.m5.large'?); known: {hosting}"),
        ("ml.c5.large", True, "must be a known batch instance type (not valid for batch transform) "
                              f"(did you mean 'ml.c5.xlarge'?); known: {batch}"),
        (5, False, f"must be a known instance type; known: {hosting}"),
    ]:
        with pytest.raises(Invalid) as err:
            _instance_type(raw, batch=is_batch)
        assert (err.value.allowed, err.value.given) == (message, raw)  # what is allowed, what was given
    assert "ml.c5.large" in hosting and "ml.c5.large" not in batch.split(", ")


def test_per_minute_busy_keeps_its_precision_late_in_a_long_run() -> None:
    # 20 000 requests around t = 10⁶ s (11.6 days into a run), busy in a few minutes with quiet
    # minutes between: each minute is compared with the overlap computed in that minute's own
    # origin. A cumulative-sum formula errs by ~1e-5 s here (its sums reach 2·10¹⁰) and can report
    # a quiet minute as slightly negative; quiet minutes must be exactly 0.
    rng = np.random.default_rng(11)
    base = 1_000_000.0 // 60 * 60
    n_min = 40
    s = base + rng.choice([0, 1, 2, 10, 11, 30], 20_000) * 60.0 + rng.uniform(0, 60, 20_000)
    d = rng.exponential(5.0, 20_000)
    got = per_minute_busy(s, d, int(base // 60) + n_min)[int(base // 60):]
    want = np.zeros(n_min)
    for si, di in zip(s - base, d, strict=True):  # local origin: small numbers, no cancellation
        m = int(si // 60)
        while m < n_min and 60.0 * m < si + di:
            want[m] += min(si + di, 60.0 * (m + 1)) - max(si, 60.0 * m)
            m += 1
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-7)
    assert (got[want == 0] == 0).all() and (got >= 0).all()


@pytest.mark.parametrize(("t0", "t1"), [(10.0, 5.0), (0.0, math.nan), (math.nan, 1.0)])
def test_a_lease_that_ends_before_it_starts_or_never_is_refused(t0, t1) -> None:
    from simlab.deployments.base import Lease

    with pytest.raises(ValueError) as err:
        Lease(t0, t1, 1.0)
    assert str(err.value) == f"a lease must end at or after its start, got t0={t0}, t1={t1}"
    assert Lease(5.0, 5.0, 1.0).t1 == 5.0  # a zero-length lease is allowed


def test_a_one_fleet_type_has_no_per_fleet_series() -> None:
    """Only types whose fleets change during a run publish per-fleet series; asking any other
    type for a fleet's instances is a programming error, said as such."""
    from helpers import run

    raw = scenario({"name": "sl", "type": "serverless_inference", "memory_mb": 2048, "max_concurrency": 5},
                   duration=120.0)
    d = run(raw).sim.deployments[0]
    for call in (lambda: d.fleet_instance_count_at(0, 0.0), lambda: d.fleet_instance_seconds(0, 0.0, 60.0)):
        with pytest.raises(NotImplementedError) as err:
            call()
        assert str(err.value) == "serverless_inference has one fleet and no per-fleet series"


def test_a_fresh_uniform_stays_below_one_where_the_division_rounds_up() -> None:
    """With these weights and u just below 1, (u - lo) / width rounds to exactly 1.0 in floats; the
    fresh uniform must stay below 1 (a 1.0 would fall past the last share of the next choice)."""
    from simlab.deployments.base import pick_by_shares

    w = np.array([0.11549527957022952, 0.6391081515397092, 0.9371545530678674])
    cum = np.cumsum(w / w.sum())
    u = np.nextafter(1.0, 0)
    assert (u - cum[1]) / (1.0 - cum[1]) == 1.0  # the rounding this test is about
    k, fresh = pick_by_shares(w, np.array([u]))
    assert k.tolist() == [2] and fresh.tolist() == [np.nextafter(1.0, 0)]


def test_latency_stats_leaves_its_input_alone_unless_told() -> None:
    """By default the sample is copied; ``overwrite=True`` (the summary's own temporaries) lets the
    percentiles reorder it in place to save the copy."""
    x = np.array([5.0, 1.0, 9.0, 3.0, 2.0, 8.0, 4.0])
    assert latency_stats(x)["p50"] == 4.0 and x.tolist() == [5.0, 1.0, 9.0, 3.0, 2.0, 8.0, 4.0]
    assert latency_stats(x, overwrite=True)["p50"] == 4.0  # x may now be reordered
