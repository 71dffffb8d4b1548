"""Serverless Inference: theory (M/G/∞), limits at their boundaries, billing, validation, CLI."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from helpers import assert_admission_is_exact, run_single, single

from simlab import facts
from simlab.accounting import busy_seconds
from simlab.cli import Environment, main
from simlab.errors import ScenarioError
from simlab.records import Err, Outcome
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

MB = 1024  # KiB per MiB (payload_kb is in KiB)


DEFAULTS = {"name": "sl", "type": "serverless_inference", "memory_mb": 2048, "max_concurrency": 200,
            "overhead_ms": 0}


def scenario(deployment: dict, workload: dict, **kw) -> dict:
    return single(DEFAULTS, deployment, workload, **kw)


def run(deployment: dict, workload: dict, **kw):
    """The deployment after a run (no Result: predictions are not needed here)."""
    return run_single(scenario(deployment, workload, **kw))


def burst(n: int, at: str = "10m", payload_kb: float = 4.0) -> dict:
    """``n`` requests arriving at the same instant."""
    return {"arrivals": "schedule", "times": [at], "requests_per_event": n, "payload_kb": payload_kb}


POISSON = {"arrivals": "poisson", "rate_per_s": 5.0}


# -- theory ------------------------------------------------------------------------------------
def test_mginf_mean_busy_instances_is_lambda_times_mean_service() -> None:
    """Infinite keep-alive and no effective concurrency limit: the number of requests in service
    is M/G/∞, whose mean is λ·E[S]. Per seed the time average has variance ≈ λE[S²]/T (here
    ≈ 0.7 % of the mean), so over 5 seeds a 2 % tolerance is about 6 standard errors."""
    lam, mean_s, cv = 5.0, 0.2, 1.5
    svc = {"dist": "lognormal", "mean_ms": mean_s * 1000, "cv": cv}
    means = []
    for seed in range(5):
        d = run({"service_time": svc, "idle_timeout": "1000d", "cold_start": 1},
                {"arrivals": "poisson", "rate_per_s": lam}, duration=4 * 3600, warmup=600, seed=seed)
        w0, w1 = d.window()
        means.append(busy_seconds(d.log.t_start, d.log.model_s, w0, w1) / (w1 - w0))
        assert d.summary()["throttled"] == 0
    assert np.mean(means) == pytest.approx(lam * mean_s, rel=0.02)


def test_infinite_keep_alive_makes_cold_starts_rare() -> None:
    """Keep-alive → ∞: only the growth of the pool is cold, so cold starts = instances created
    = the largest concurrency reached, a small fraction of the requests."""
    d = run({"service_time": {"dist": "exponential", "mean_ms": 200}, "idle_timeout": "1000d"}, POISSON)
    s = d.summary()
    born, _ = d.instance_lifetimes()
    assert s["cold_starts"] == born.size == s["max_instances"]
    assert s["cold_start_rate"] == pytest.approx(born.size / s["arrived"], rel=1e-3)
    assert s["cold_start_rate"] < 0.002


def test_zero_keep_alive_makes_every_request_cold() -> None:
    d = run({"service_time": {"dist": "exponential", "mean_ms": 200}, "idle_timeout": 0}, POISSON)
    s = d.summary()
    assert s["cold_starts"] == s["arrived"] > 0
    assert s["cold_start_rate"] == 1.0


def test_idle_instance_is_reclaimed_idle_timeout_after_its_last_request() -> None:
    """One request at 0 s and one at 100 s (model time 1 s, set-up 2 s): the instance is free
    at 3 s, so it is still warm at 100 s when idle_timeout ≥ 97 s, reclaimed otherwise."""
    wl = {"arrivals": "schedule", "times": [0, 100], "payload_kb": 1}
    cfg = {"service_time": 1000, "cold_start": 2000}
    assert run({**cfg, "idle_timeout": 96}, wl, duration=200).summary()["cold_starts"] == 2
    warm = run({**cfg, "idle_timeout": 98}, wl, duration=200)
    assert warm.summary()["cold_starts"] == 1
    assert warm.log.t_done[1] == pytest.approx(101.0)  # warm: no set-up
    assert warm.log.t_done[0] == pytest.approx(3.0)  # cold: set-up counted as overhead
    assert warm.log.overhead_s[0] == pytest.approx(2.0) and warm.log.model_s[0] == pytest.approx(1.0)


def test_most_recently_used_idle_instance_is_taken() -> None:
    wl = {"arrivals": "schedule", "times": [0, 0, 10], "payload_kb": 1}
    d = run({"service_time": 1000, "cold_start": {"dist": "uniform", "min_ms": 100, "max_ms": 900}}, wl, duration=60)
    first_free = int(np.argmax(d.log.t_done[:2]))  # the instance that finished last is the MRU
    assert d.log.instance[2] == d.log.instance[first_free]


# -- limits at their boundaries ------------------------------------------------------------------
@pytest.mark.parametrize(("mb", "ok"), [(3.9, True), (4.0, True), (4.1, False)])
def test_payload_limit_4_mb(mb: float, ok: bool) -> None:
    d = run({}, burst(3, payload_kb=mb * MB))
    assert facts.limit("serverless_inference.max_payload_bytes") == 4 * MB * 1024
    errors = d.log.error[:3]
    if ok:
        assert (errors == Err.NONE).all()
    else:
        assert (errors == Err.PAYLOAD_TOO_LARGE).all()
        assert np.array_equal(d.log.t_done[:3], d.sim.workload.t[:3])  # rejected at once
        assert d.cost_breakdown()["compute"] == 0.0


@pytest.mark.parametrize(("seconds", "timeout"), [(59, False), (60, False), (61, True)])
def test_processing_limit_60_s(seconds: int, timeout: bool) -> None:
    d = run({"service_time": seconds * 1000, "cold_start": 2000, "overhead_ms": 5}, burst(1), duration=7200)
    log = d.log
    assert (log.error[0] == Err.TIMEOUT) == timeout
    held = min(seconds, 60)
    assert log.model_s[0] == pytest.approx(held)
    assert log.busy_s[0] == pytest.approx(2 + held)  # cold: set-up + model time
    assert log.t_done[0] - d.sim.workload.t[0] == pytest.approx(2 + held + 0.005)


def test_burst_above_max_concurrency_is_throttled() -> None:
    d = run({"service_time": 1000}, burst(250))
    s = d.summary()
    assert s["throttled"] == 50 and s["completed"] == 200 and s["cold_starts"] == 200
    thr = d.log.error == Err.THROTTLED
    assert np.array_equal(d.log.t_done[thr], d.sim.workload.t[thr])
    assert s["errors"] == {"throttled": 50}
    assert np.all(d.log.instance[thr] == -1) and not d.log.cold[thr].any()  # no instance, not a cold start


def test_throttling_counts_requests_in_progress() -> None:
    """max_concurrency 5, model time 10 s: of 8 requests at once 3 are throttled; a request
    arriving after the first ones finished is served warm."""
    wl = {"arrivals": "schedule", "times": [0, 30], "requests_per_event": 8, "payload_kb": 1}
    d = run({"max_concurrency": 5, "service_time": 10000, "cold_start": 1000}, wl, duration=100)
    assert d.summary()["throttled"] == 6
    assert d.summary()["cold_starts"] == 5


def test_provisioned_concurrency_is_warm_and_billed_all_the_time() -> None:
    wl = {"arrivals": "schedule", "times": [10, 600, 1200], "requests_per_event": 2, "payload_kb": 1}
    d = run({"provisioned_concurrency": 2, "service_time": 100}, wl, duration=3600)
    s = d.summary()
    assert s["cold_starts"] == 0 and s["completed"] == 6
    assert s["avg_instances"] == pytest.approx(2.0)
    # by hand: 2 instances × 2 GB × 3600 s = 14,400 GB-s at $0.0000048 = $0.06912
    assert facts.price("serverless_provisioned_per_gb_s") == 0.0000048
    assert d.cost_breakdown()["provisioned"] == pytest.approx(0.06912)
    # after a 600 s warm-up only the 3000 s measured are billed: 2 × 2 GB × 3000 s × $0.0000048
    warm = run({"provisioned_concurrency": 2, "service_time": 100}, wl, duration=3600, warmup=600)
    assert warm.cost_breakdown()["provisioned"] == pytest.approx(0.0576) and warm.summary()["avg_instances"] == 2.0
    assert warm.instance_count_at(0, 0.0) == 2.0 and warm.max_instances() == 2


# -- billing and accounting ----------------------------------------------------------------------
def test_cost_is_compute_plus_data_and_zero_without_requests() -> None:
    idle = run({}, {"arrivals": "poisson", "rate_per_s": 1e-9})
    assert idle.summary()["arrived"] == 0
    assert idle.cost_usd() == 0.0 and idle.summary()["avg_instances"] == 0.0
    d = run({"service_time": 100, "response_kb": 0}, burst(10, payload_kb=1024))
    # by hand: 10 requests × 0.1 s × 2 GB = 2 GB-s at $0.00002 = $0.00004 (set-up not billed);
    # 10 × 1 MiB = 10/1024 GB at $0.016 = $0.00015625
    assert facts.price("serverless_compute_per_gb_s") == 0.00002 and facts.price("serverless_data_per_gb") == 0.016
    assert d.cost_breakdown()["compute"] == pytest.approx(0.00004)
    assert d.cost_breakdown()["data"] == pytest.approx(0.00015625)
    assert d.cost_usd() == pytest.approx(0.00019625)
    # a 512 KiB response each adds 10 × 0.5 MiB = 5/1024 GB: $0.000078125
    with_response = run({"service_time": 100, "response_kb": 512}, burst(10, payload_kb=1024))
    assert with_response.cost_breakdown()["data"] == pytest.approx(0.00015625 + 0.000078125)


def test_compute_time_scales_with_vcpu_share() -> None:
    base = {"service_time": {"dist": "exponential", "mean_ms": 100}, "service_time_at_mb": 2048}
    m2 = run(base, POISSON, duration=600).log.model_s
    m1 = run({**base, "memory_mb": 1024}, POISSON, duration=600).log.model_s
    np.testing.assert_allclose(m1, 2 * m2)  # half the memory, half the vCPU, twice the time
    # a single-threaded model already has its one vCPU at 2048 MB (1.16 vCPU): no gain at 4096 MB,
    # but at 1024 MB (0.58 vCPU) it runs 1769/1024 times slower
    single = {**base, "model_threads": 1}
    np.testing.assert_allclose(run({**single, "memory_mb": 4096}, POISSON, duration=600).log.model_s, m2)
    np.testing.assert_allclose(run({**single, "memory_mb": 1024}, POISSON, duration=600).log.model_s,
                               m2 * 1769 / 1024)


def test_live_instances_and_utilization_are_consistent() -> None:
    d = run({"service_time": {"dist": "exponential", "mean_ms": 300}, "idle_timeout": "2m"},
            {"arrivals": "bursty", "rate_per_s": 3, "mean_on": 300, "mean_off": 900}, duration=4 * 3600)
    s = d.summary()
    per_min = d.instances_per_minute(0, 240)
    assert per_min.max() <= s["max_instances"]
    assert s["avg_instances"] == pytest.approx(d.live_seconds(0, 4 * 3600) / (4 * 3600))
    assert 0 < s["utilization"] <= 1
    assert s["instance_hours"] == pytest.approx(s["avg_instances"] * 4)


def test_conservation_and_determinism() -> None:
    wl = {"arrivals": "bursty", "rate_per_s": 40, "mean_on": 120, "mean_off": 600,
          "payload_kb": {"dist": "lognormal", "mean_kb": 2048, "cv": 1.0}}
    cfg = {"max_concurrency": 20, "service_time": {"dist": "lognormal", "mean_ms": 800, "cv": 4}}
    a = run(cfg, wl, duration=7200, warmup=600, seed=3).summary()
    b = run(cfg, wl, duration=7200, warmup=600, seed=3).summary()
    assert json.dumps(a) == json.dumps(b)
    assert a["throttled"] > 0 and a["errors"]["payload_too_large"] > 0 and a["cost_usd"] >= 0
    c = run(cfg, wl, duration=7200, warmup=600, seed=4).summary()
    assert c != a


def test_result_frames_have_serverless_columns() -> None:
    from simlab.result import Result

    raw = scenario({"service_time": 200}, burst(5))
    res = Result(Simulation(scenario_from_dict(raw)).run())
    m = res.metrics
    assert {"ModelSetupTime", "ColdStarts", "InstanceCount"} <= set(m.columns)
    assert m["ColdStarts"].sum() == 5 and m["ModelSetupTime"].notna().sum() == 1
    req = res.requests
    assert req["cold_start"].sum() == 5 and (req["outcome"] == "completed").all()
    assert (res.deployments["sl"].log.outcome(3600.0) == Outcome.COMPLETED).sum() == 5


# -- validation ------------------------------------------------------------------------------------
BAD = [
    ({"memory_mb": 512}, "memory_mb", "must be one of 1024 | 2048 | 3072 | 4096 | 5120 | 6144, got 512"),
    ({"memory_mb": 7168}, "memory_mb", "got 7168"),
    ({"max_concurrency": 0}, "max_concurrency", "≥ 1 and ≤ 200"),
    ({"max_concurrency": 201}, "max_concurrency", "got 201"),
    ({"max_concurrency": 10, "provisioned_concurrency": 11}, "provisioned_concurrency", "≤ max_concurrency (10), got 11"),
    ({"provisioned_concurrency": 201}, "provisioned_concurrency", "got 201"),
    ({"data_capture": {"sampling_percentage": 100}}, "data_capture", "serverless_inference.supports_data_capture"),
    ({"variants": [{"name": "a"}]}, "variants", "serverless_inference.max_variants"),
    ({"idle_timeout": -1}, "idle_timeout", "duration"),
    ({"cold_start": {"dist": "lognormal", "mean_ms": 100}}, "cold_start", "p99_ms or cv"),
]


@pytest.mark.parametrize(("patch", "field", "text"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_input_names_the_field(patch: dict, field: str, text: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(patch, POISSON))
    msg = str(err.value)
    assert f"deployments[0].{field}" in msg and text in msg, msg


def test_data_capture_rejection_cites_the_source() -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario({"data_capture": True}, POISSON))
    assert facts.limits()["serverless_inference.supports_data_capture"].source in str(err.value)


def test_required_fields_and_edges_accepted() -> None:
    for patch in ({"max_concurrency": 200, "provisioned_concurrency": 200}, {"memory_mb": 6144},
                  {"max_concurrency": 1}, {"data_capture": None}):
        scenario_from_dict(scenario(patch, POISSON))
    raw = scenario({}, POISSON)
    del raw["deployments"][0]["memory_mb"]
    with pytest.raises(ScenarioError, match=r"memory_mb: is required"):
        scenario_from_dict(raw)


def test_cli_exit_code_2_on_bad_serverless_config(tmp_path) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"memory_mb": 512, "max_concurrency": 201}, POISSON)), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    status = main(["simulate", str(path)], Environment(stdout=out, stderr=err, environ={}))
    assert status == 2
    assert "deployments[0].memory_mb" in err.getvalue() and "deployments[0].max_concurrency" in err.getvalue()
    assert out.getvalue() == ""


def test_cli_runs_a_serverless_scenario(tmp_path) -> None:
    import yaml

    path = tmp_path / "ok.yaml"
    path.write_text(yaml.safe_dump(scenario({"service_time": 50}, burst(3))), encoding="utf-8")
    out = io.StringIO()
    assert main(["simulate", str(path), "--json"], Environment(stdout=out, stderr=io.StringIO(), environ={})) == 0
    s = json.loads(out.getvalue())["deployments"]["sl"]
    assert s["cold_starts"] == 3 and s["memory_mb"] == 2048 and not math.isnan(s["cost_usd"])


def test_result_does_not_depend_on_how_often_admit_until_is_called() -> None:
    """Routing is exact between clock events: many small admit_until calls = one pass."""
    raw = scenario({"max_concurrency": 8, "idle_timeout": 30, "service_time": {"dist": "exponential", "mean_ms": 900}},
                   {"arrivals": "bursty", "rate_per_s": 6, "mean_on": 60, "mean_off": 120}, duration=1800)
    assert_admission_is_exact(raw, ("t_start", "t_done", "instance", "cold", "error", "busy_s"))


def test_a_single_fleet_deployment_reports_its_one_fleet_from_the_configuration() -> None:
    # serverless has no owner API: its one fleet is the configuration (variant AllTraffic, the
    # scenario's model at version 0, no instance type, no instance count, "<name>-config")
    from simlab.deployments.base import FleetInfo

    d = run({"service_time": 50.0}, burst(3))
    assert d.fleets() == [FleetInfo(0, "AllTraffic", d.model_of_variant(0), 0, None, 0, "sl-config", "in_service")]
    assert d.model_of_fleet(0) == d.model_of_variant(0) == d.sim.scenario.model


def test_cold_start_rate_average_instances_and_setup_time_from_the_records() -> None:
    # two bursts of 4 at 10 and 20 min with max_concurrency 2: the first wakes 2 instances cold
    # and 2 requests are throttled; the second finds both warm and again throttles 2
    import simlab
    from simlab.result import Result

    raw = scenario({"service_time": 50.0, "max_concurrency": 2, "overhead_ms": 5},
                   {"arrivals": "schedule", "times": ["10m", "20m"], "requests_per_event": 4, "payload_kb": 4},
                   duration=3600, warmup=300)
    res: Result = simlab.run(scenario_from_dict(raw))
    s = res.summary()["deployments"]["sl"]
    r = res.requests
    reached = r[r.instance >= 0]
    assert (len(r), len(reached), int(r.cold_start.sum())) == (8, 4, 2)
    assert s["cold_start_rate"] == 2 / 4  # of the requests that reached an instance, not of all 8
    # each instance lives from its first (cold) arrival until its last request left the container
    # (answer time minus the 5 ms overhead outside it) + the idle timeout
    idle = facts.limit("serverless_inference.default_idle_timeout_s")
    live = sum((g.t_done - g.overhead_ms / 1000.0).max() + idle - g.t_arrival.min()
               for _, g in reached.groupby("instance"))
    assert s["avg_instances"] == pytest.approx(live / (3600 - 300), abs=1e-6)
    assert s["provisioned_concurrency"] == 0 and set(s["cost_breakdown_usd"]) == {"compute", "data", "provisioned"}
    assert s["cost_breakdown_usd"]["compute"] > 0 and s["cost_breakdown_usd"]["provisioned"] == 0
    # ModelSetupTime (µs): the cold requests' overhead above the configured 5 ms, in their minute
    cold = r[r.cold_start]
    met = res.metrics.set_index("minute")
    assert met.loc[10, "ColdStarts"] == 2 and met.ColdStarts.sum() == 2
    assert met.loc[10, "ModelSetupTime"] == pytest.approx(((cold.overhead_ms - 5.0) * 1000.0).mean(), rel=1e-9)
    assert met.ModelSetupTime.drop(10).isna().all()


@pytest.mark.parametrize(("key", "value", "source"), [
    ("serverless_inference.supports_data_capture", "false",
     "DG:serverless-endpoints (not supported: GPUs, multi-model, data capture, variants, Model Monitor)"),
    ("serverless_inference.max_variants", "1", "DG:serverless-endpoints (multiple production variants are not supported)"),
])
def test_an_unsupported_field_kind_rejects_any_value_citing_the_fact(key, value, source) -> None:
    """The kind behind data_capture and variants (built at import for the schema, so built again here
    where a test can see it): any value is refused with the fact's value and source."""
    from simlab.deployments.serverless import _unsupported
    from simlab.schema import Invalid

    kind = _unsupported(key, "the reason")
    assert kind.describe == f"not supported ({key})"
    for raw in ({"enabled": True}, [], None):
        with pytest.raises(Invalid) as err:
            kind.convert(raw, "deployments[0].x")
        assert err.value.args[0] == (f"is not supported: the reason (facts {key} = {value}; source: {source}); "
                                     "remove it or use a real-time endpoint")


def test_an_instance_free_at_the_arrival_is_reused_and_one_idle_for_exactly_the_timeout_is_gone() -> None:
    """Model time 10 s, cold start 1 s, keep-alive 60 s, overhead 5 ms. The request at 0 s is cold
    and frees its instance at 11 s; the one arriving at exactly 11 s takes it warm and frees it at
    21 s; at exactly 21 + 60 = 81 s the instance has been reclaimed, so that request is cold."""
    wl = {"arrivals": "schedule", "times": [0, 11, 81], "requests_per_event": 1, "payload_kb": 1}
    d = run({"service_time": 10_000, "cold_start": 1000, "idle_timeout": 60, "overhead_ms": 5}, wl, duration=200)
    assert d.log.cold.tolist() == [True, False, True]
    np.testing.assert_allclose(d.log.t_start, [0.0, 11.0, 81.0])
    np.testing.assert_allclose(d.log.t_done - d.log.t_start - d.log.busy_s, 0.005, rtol=1e-12)


def test_cpu_of_a_minute_divides_by_the_seconds_an_instance_was_live_in_it() -> None:
    """One request at 30 s: cold start 1 s, model 20 s, keep-alive 60 s. Its instance is live
    from 30 s to 51 + 60 = 111 s. Minute 0: 21 s busy (set-up included) of 30 live seconds = 70 %
    (counting instances at the minute's start found none and reported 0 %); minute 1: 0 %."""
    import simlab
    from simlab.result import Result

    wl = {"arrivals": "schedule", "times": [30], "requests_per_event": 1, "payload_kb": 1}
    raw = scenario({"service_time": 20_000, "cold_start": 1000, "idle_timeout": 60}, wl, duration=180)
    res: Result = simlab.run(scenario_from_dict(raw))
    cpu = res.metrics.set_index("minute").CPUUtilization
    assert cpu.tolist() == pytest.approx([70.0, 0.0, 0.0], rel=1e-12)
    # arriving at 59.5 s instead: live 0.5 s of minute 0 and busy all of it (100 %), then busy
    # 20.5 s of minute 1, live all of it
    wl["times"] = [59.5]
    res = simlab.run(scenario_from_dict(scenario({"service_time": 20_000, "cold_start": 1000, "idle_timeout": 60},
                                                 wl, duration=180)))
    cpu = res.metrics.set_index("minute").CPUUtilization
    assert cpu.tolist() == pytest.approx([100.0, 100.0 * 20.5 / 60.0, 0.0], rel=1e-12)


@pytest.mark.parametrize(("warmup", "gb_s", "max_inst", "live_s"), [
    (0, 3 * 10 * 2, 3, 180 + 71 + 71),   # all three requests; the peak at 15 s
    (12, 10 * 2, 3, 168 + 69 + 71),      # only the request of 15 s is measured; the peak at a cold start in the window
    (20, 0, 3, 160 + 61 + 66),           # none measured; the peak is already there when the window opens
    (100, 0, 1, 80),                     # both on-demand instances were reclaimed before the window
])
def test_provisioned_and_on_demand_instances_and_billing_by_hand(warmup, gb_s, max_inst, live_s) -> None:
    """One provisioned instance; requests at 10 s, 10 s and 15 s, model 10 s, cold start 1 s,
    keep-alive 60 s, 2 GB. The first takes the provisioned instance (warm); the second and third
    start on-demand instances cold (10 → 21 s and 15 → 26 s), which live until 81 s and 86 s.
    Billed compute is model time only (facts: bills_cold_start false) of the measured requests,
    rounded up to the millisecond × 2 GB; live instance-seconds in the window give avg_instances."""
    assert facts.limit("serverless_inference.bills_cold_start") is False
    wl = {"arrivals": "schedule", "times": [10, 10, 15], "requests_per_event": 1, "payload_kb": 1}
    d = run({"provisioned_concurrency": 1, "max_concurrency": 5, "service_time": 10_000, "cold_start": 1000,
             "idle_timeout": 60, "response_kb": 0}, wl, duration=180, warmup=warmup)
    assert d.log.instance.tolist() == [0, 1, 2] and d.log.cold.tolist() == [False, True, True]
    born, died = d.instance_lifetimes()  # on-demand only
    assert born.tolist() == [10.0, 15.0] and died.tolist() == [81.0, 86.0]
    times = [0.0, 10.0, 15.0, 60.0, 81.0, 86.0, 120.0]  # a birth counts at its moment, a reclaim too
    assert [d.instance_count_at(0, t) for t in times] == [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0]
    assert d.instances_at(np.array(times)).tolist() == [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0]
    assert d.compute_gb_seconds(d.measured()) == gb_s
    measured = {0: 3, 12: 1, 20: 0, 100: 0}[warmup]  # requests that arrived after the warm-up
    assert d.data_gb(d.measured()) == measured * 1024 / 2**30  # 1 KiB each, no response
    assert d.max_instances() == max_inst
    assert d.summary()["avg_instances"] == pytest.approx(live_s / (180 - warmup), abs=1e-6)


def test_a_profiled_service_time_is_measured_on_the_scenarios_model(monkeypatch) -> None:
    """``service_time: profile`` asks the simulation to time the scenario's model (replaced here by
    a fixed 250 ms: real profiles are timed on the machine); a configured time is used as given."""
    from simlab.distributions import Dist

    asked = []

    def fake(self, name):
        asked.append(name)
        return Dist.fixed(0.25)

    monkeypatch.setattr(Simulation, "profiled_service_time", fake)
    d = run({"service_time": "profile"}, burst(2))
    assert asked == ["breast_cancer_logreg"]
    np.testing.assert_allclose(d.log.model_s, 0.25)
    given = run({"service_time": 100}, burst(2))
    assert asked == ["breast_cancer_logreg"]  # not profiled again
    np.testing.assert_allclose(given.log.model_s, 0.1)


def test_compute_is_billed_per_started_millisecond() -> None:
    """A model time of 2,000.4 ms is billed as 2,001 ms: 2.001 s × 2 GB = 4.002 GB-s."""
    d = run({"service_time": 2000.4, "cold_start": 1000}, burst(1), duration=3600)
    assert d.compute_gb_seconds(d.measured()) == pytest.approx(4.002, rel=1e-12)


def test_provisioned_concurrency_over_a_half_second_window() -> None:
    """Warm-up 59.5 s of a 60 s run: one provisioned 2 GB instance is live for the 0.5 s left, so
    on average 1 instance, and its charge is 0.5 s × 2 GB × the per GB-s price."""
    d = run({"provisioned_concurrency": 1}, {"arrivals": "poisson", "rate_per_s": 1e-9}, duration=60, warmup=59.5)
    assert d.summary()["avg_instances"] == 1.0 and d.live_seconds(59.5, 60.0) == 0.5
    assert d.cost_breakdown()["provisioned"] == pytest.approx(0.5 * 2 * facts.price("serverless_provisioned_per_gb_s"),
                                                              rel=1e-12)


def test_if_the_cold_start_were_billed_the_set_up_would_be_charged_too(monkeypatch) -> None:
    """The fact ``serverless_inference.bills_cold_start`` is unconfirmed (false today). Flipped,
    a cold request's 1 s set-up is billed with its 2 s of model time: 3 s × 2 GB = 6 GB-s (4 when
    false); a warm request bills its model time either way."""
    real = facts.limit

    def flipped(key: str):
        return True if key == "serverless_inference.bills_cold_start" else real(key)

    d = run({"service_time": 2000, "cold_start": 1000}, burst(1), duration=3600)
    assert d.compute_gb_seconds(d.measured()) == 4.0
    monkeypatch.setattr(facts, "limit", flipped)
    assert d.compute_gb_seconds(d.measured()) == 6.0
    warm = run({"service_time": 2000, "provisioned_concurrency": 1}, burst(1), duration=3600)
    assert warm.compute_gb_seconds(warm.measured()) == 4.0
