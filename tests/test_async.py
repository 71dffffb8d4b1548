"""Asynchronous Inference: M/M/c theory, scale to zero and back, TTL, limits, validation, CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from helpers import assert_admission_is_exact, run_single, single

from simlab import facts, theory
from simlab.cli import Environment, main
from simlab.errors import ScenarioError
from simlab.records import Err
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

GIB_KB = 1024 * 1024  # KiB in 1 GiB


DEFAULTS = {"name": "as", "type": "async_inference", "overhead_ms": 0}


def scenario(deployment: dict, workload: dict, **kw) -> dict:
    return single(DEFAULTS, deployment, workload, **kw)


def run(deployment: dict, workload: dict, **kw):
    """The deployment after a run (no Result: predictions are not needed here)."""
    return run_single(scenario(deployment, workload, **kw))


def at(times: list, n: int = 1, payload_kb: float = 4.0) -> dict:
    return {"arrivals": "schedule", "times": times, "requests_per_event": n, "payload_kb": payload_kb}


SCALE_TO_ZERO = {"min_instances": 0, "max_instances": 2, "target_backlog_per_instance": 5,
                 "scale_in_cooldown": 300, "instance_startup": 300}


# -- theory ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_fixed_fleet_is_an_mmc_queue(rho: float) -> None:
    """c = 3 single-worker instances, exponential 1 s model time, Poisson arrivals, TTL far above
    any wait: mean wait and P(wait > 0) match Erlang C. Eight seeded replications; the check is
    |mean − theory| < 4 standard errors of the replication means and < 5 % of the theory."""
    c, lam = 3, rho * 3
    waits, p_wait = [], []
    for seed in range(8):
        d = run({"instance_count": c, "service_time": {"dist": "exponential", "mean_ms": 1000}},
                {"arrivals": "poisson", "rate_per_s": lam}, duration=40_000, warmup=1000, seed=seed)
        sel = d.measured() & np.isfinite(d.log.t_start)
        w = (d.log.t_start - d.sim.workload.t)[sel]
        waits.append(w.mean())
        p_wait.append((w > 0).mean())
        assert d.summary()["expired"] == 0
    for got, want in ((waits, theory.mmc_mean_wait(lam, 1.0, c)), (p_wait, theory.erlang_c(c, lam))):
        se = np.std(got, ddof=1) / np.sqrt(len(got))
        assert abs(np.mean(got) - want) < min(4 * se, 0.05 * want), (np.mean(got), want, se)


# -- scale to zero and back --------------------------------------------------------------------------
def test_scales_to_zero_when_quiet_and_back_from_zero() -> None:
    """3 requests at 10 min on 1 instance, then silence: 15 low datapoints later the fleet is at
    zero and billing stops. 3 requests at 3 h find no capacity: HasBacklogWithoutCapacity is 1
    at 3h01 and 3h02 (2 datapoints) → +1 instance, in service 300 s later (3h07)."""
    d = run({"instance_count": 1, "service_time": 30_000, "autoscaling": SCALE_TO_ZERO},
            at(["10m", "3h"], n=3), duration=6 * 3600)
    log, t = d.log, d.sim.workload.t
    assert (log.error == Err.NONE).all()
    late = t == 3 * 3600
    assert np.allclose(log.t_start[late], 3 * 3600 + 120 + 300 + np.array([0, 30, 60]))
    assert (log.t_done[late] - t[late]).min() >= 420 + 30  # first response includes the start-up
    quiet = np.arange(40, 170) * 60.0
    assert (d.in_service_at(quiet) == 0).all() and (d.instances_per_minute(0, 360)[40:170] == 0).all()
    up = [(le.t0, le.t1) for le in d.leases]
    assert up[0][0] == 0 and up[0][1] < 40 * 60 and up[1][0] == pytest.approx(3 * 3600 + 420)
    billed = sum(t1 - t0 for t0, t1 in up) * facts.instance("ml.m5.large").price_per_hour / 3600
    assert d.cost_usd() == pytest.approx(billed)
    assert d.summary()["max_instances"] == 1


def test_without_the_step_policy_zero_capacity_waits_for_the_target_tracking_alarm() -> None:
    """Scale-from-zero off: the initial instance scales in to zero after 15 quiet minutes (+ the
    scale-in cooldown); then 3 requests at 1 h never exceed target 5 → nothing is launched again."""
    cfg = {**SCALE_TO_ZERO, "scale_from_zero": False}
    d = run({"instance_count": 1, "service_time": 1000, "autoscaling": cfg}, at(["1h"], n=3), duration=3 * 3600)
    assert d.summary()["in_flight"] == 3 and len(d.leases) == 1 and d.leases[0].t1 < 3600
    many = run({"instance_count": 1, "service_time": 1000, "autoscaling": cfg}, at(["1h"], n=12), duration=3 * 3600)
    assert many.summary()["completed"] == 12  # backlog 12 > 5 for 3 datapoints → scale out


def test_instances_serve_only_while_in_service() -> None:
    """Under bursty load with scaling both ways, no request starts before its instance is up or
    runs past the time its (retired) instance stopped being billed."""
    wl = {"arrivals": "bursty", "rate_per_s": 2, "mean_on": 900, "mean_off": 1800}
    auto = {"min_instances": 0, "max_instances": 6, "target_backlog_per_instance": 2, "instance_startup": 120,
            "scale_in_cooldown": 120, "scale_out_cooldown": 60}
    d = run({"instance_count": 1, "max_concurrent_invocations_per_instance": 2, "service_time":
             {"dist": "exponential", "mean_ms": 2000}, "autoscaling": auto}, wl, duration=8 * 3600, seed=2)
    log = d.log
    ok = np.isfinite(log.t_start)
    inst = log.instance[ok]
    t_up, t_end = np.asarray(d.t_up), np.asarray(d.t_end)
    assert (log.t_start[ok] >= t_up[inst]).all()
    retired = np.isfinite(t_end[inst])
    assert (log.t_start[ok][retired] + log.busy_s[ok][retired] <= t_end[inst][retired] + 1e-9).all()
    assert d.summary()["max_instances"] > 1 and len(t_up) > 2


# -- TTL and limits ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("service_s", "expired"), [(59, 1), (60, 1), (61, 2)])
def test_request_ttl_boundary(service_s: int, expired: int) -> None:
    """Three requests at once, one worker, TTL 60 s: the second waits exactly the model time, so
    it is taken at ≤ 60 s (not expired) unless the model time is 61 s; the third always waits
    more than 60 s and expires at arrival + 60 s."""
    d = run({"instance_count": 1, "service_time": service_s * 1000, "request_ttl": 60},
            at(["10m"], n=3), duration=3600)
    log, t = d.log, d.sim.workload.t
    gone = log.error == Err.EXPIRED
    assert gone.sum() == expired == d.summary()["expired"]
    assert np.allclose(log.t_done[gone], t[gone] + 60)
    assert d.summary()["failed"] == expired  # expired requests count as failed


@pytest.mark.parametrize(("kb", "ok"), [(GIB_KB, True), (GIB_KB + 1, False)])
def test_payload_limit_1_gb(kb: int, ok: bool) -> None:
    assert facts.limit("async_inference.max_payload_bytes") == GIB_KB * 1024
    d = run({"instance_count": 1, "service_time": 100}, at(["10m"], n=2, payload_kb=kb))
    err = d.log.error[:2]
    assert ((err == Err.NONE) if ok else (err == Err.PAYLOAD_TOO_LARGE)).all()
    if not ok:
        assert np.array_equal(d.log.t_done[:2], d.sim.workload.t[:2])


def test_invocation_timeout_default_900_s() -> None:
    d = run({"instance_count": 1, "service_time": 901_000}, at(["10m"], n=2), duration=7200)
    assert (d.log.error[:2] == Err.TIMEOUT).all()
    assert d.log.busy_s[0] == 900.0 and d.log.t_start[1] == pytest.approx(600 + 900)


def test_more_workers_per_instance_serve_in_parallel() -> None:
    d = run({"instance_count": 1, "max_concurrent_invocations_per_instance": 4, "service_time": 10_000},
            at(["10m"], n=6), duration=3600)
    assert np.allclose(np.sort(d.log.t_start[:6]) - 600, [0, 0, 0, 0, 10, 10])


# -- accounting and metrics ----------------------------------------------------------------------------
def test_conservation_determinism_and_extras() -> None:
    wl = {"arrivals": "bursty", "rate_per_s": 3, "mean_on": 600, "mean_off": 1200,
          "payload_kb": {"dist": "lognormal", "mean_kb": 200 * 1024, "cv": 3}}
    cfg = {"instance_count": 1, "request_ttl": 120, "service_time": {"dist": "exponential", "mean_ms": 1500},
           "autoscaling": {"min_instances": 0, "max_instances": 3, "target_backlog_per_instance": 3}}
    d = run(cfg, wl, duration=6 * 3600, warmup=600, seed=5)
    a = d.summary()
    assert json.dumps(a) == json.dumps(run(cfg, wl, duration=6 * 3600, warmup=600, seed=5).summary())
    expired = d.log.error == Err.EXPIRED  # left the backlog unserved exactly request_ttl after arrival
    assert np.allclose((d.log.t_done - d.sim.workload.t)[expired], 120) and np.isnan(d.log.t_start[expired]).all()
    assert a["expired"] > 0 and a["errors"]["payload_too_large"] > 0 and a["cost_usd"] >= 0
    assert a["max_backlog"] > 0 and a["time_in_backlog_ms"]["p99"] >= a["time_in_backlog_ms"]["p50"]
    taken = d.measured() & np.isfinite(d.log.t_start)  # every request a worker took, done or not
    in_backlog = (d.log.t_start - d.sim.workload.t)[taken] * 1000
    assert a["time_in_backlog_ms"]["mean"] == pytest.approx(in_backlog.mean(), abs=1e-3)


def test_metrics_frame_has_async_columns() -> None:
    from simlab.result import Result

    raw = scenario({"instance_count": 1, "service_time": 30_000, "autoscaling": SCALE_TO_ZERO},
                   at(["1h"], n=4), duration=2 * 3600)
    res = Result(Simulation(scenario_from_dict(raw)).run())
    m = res.metrics.set_index("minute")
    cols = {"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance", "ApproximateAgeOfOldestRequest",
            "HasBacklogWithoutCapacity", "ExpiredRequests"}
    assert cols <= set(m.columns)
    assert m.loc[:59, "HasBacklogWithoutCapacity"].sum() == 0  # the initial instance, then nothing queued
    assert m.loc[60, "HasBacklogWithoutCapacity"] == 1 and m.loc[60, "ApproximateBacklogSize"] == 4
    assert m.loc[60, "ApproximateAgeOfOldestRequest"] == pytest.approx(60)
    assert m.loc[100, "ApproximateBacklogSize"] == 0 and m["HasBacklogWithoutCapacity"].sum() == 6
    assert res.summary()["deployments"]["as"]["max_backlog"] == 4


# -- validation ----------------------------------------------------------------------------------------
BAD = [
    ({"max_concurrent_invocations_per_instance": 0}, "max_concurrent_invocations_per_instance", "≥ 1"),
    ({"max_concurrent_invocations_per_instance": 1001}, "max_concurrent_invocations_per_instance", "≤ 1000"),
    ({"instance_count": 0}, "instance_count", "InitialInstanceCount ≥ 1"),
    ({"instance_count": 0, "autoscaling": {"min_instances": 0, "max_instances": 2}}, "instance_count",
     "min_instances 0"),
    ({"request_ttl": 59}, "request_ttl", "≥ 60"),
    ({"request_ttl": "6h1s"}, "request_ttl", "≤ 21600"),
    ({"invocation_timeout": 3601}, "invocation_timeout", "≤ 3600"),
    ({"autoscaling": {"min_instances": 3, "max_instances": 2}}, "autoscaling.max_instances", "≥ min_instances"),
    ({"instance_count": 5, "autoscaling": {"min_instances": 0, "max_instances": 2}}, "instance_count", "0…2"),
    ({"autoscaling": {"min_instances": -1, "max_instances": 2}}, "autoscaling.min_instances", "≥ 0"),
    ({"instance_type": "ml.m5.larg"}, "instance_type", "did you mean"),
]


@pytest.mark.parametrize(("patch", "field", "text"), BAD, ids=[b[1] + str(i) for i, b in enumerate(BAD)])
def test_bad_input_names_the_field(patch: dict, field: str, text: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(patch, at(["10m"])))
    msg = str(err.value)
    assert f"deployments[0].{field}" in msg and text in msg, msg


def test_edges_accepted() -> None:
    for patch in ({"request_ttl": 60}, {"request_ttl": "6h"}, {"invocation_timeout": 3600},
                  {"max_concurrent_invocations_per_instance": 1000},
                  {"instance_count": 1, "autoscaling": {"min_instances": 0, "max_instances": 1}}):
        scenario_from_dict(scenario(patch, at(["10m"])))


def test_cli_exit_code_2_on_bad_async_config(tmp_path) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario({"request_ttl": 30}, at(["10m"]))), encoding="utf-8")
    err = io.StringIO()
    assert main(["simulate", str(path)], Environment(stdout=io.StringIO(), stderr=err, environ={})) == 2
    assert "deployments[0].request_ttl" in err.getvalue()


def test_result_does_not_depend_on_how_often_admit_until_is_called() -> None:
    """The backlog event loop is exact: many small admit_until calls = one pass (fixed fleet)."""
    raw = scenario({"instance_count": 2, "max_concurrent_invocations_per_instance": 2, "request_ttl": 60,
                    "service_time": {"dist": "exponential", "mean_ms": 3000}},
                   {"arrivals": "bursty", "rate_per_s": 3, "mean_on": 120, "mean_off": 120}, duration=3600)
    log = assert_admission_is_exact(raw, ("t_start", "t_done", "instance", "error", "busy_s"))
    assert (log.error == Err.EXPIRED).sum() > 0


def test_target_tracking_uses_the_minute_average_backlog() -> None:
    """A trickle that leaves the backlog empty at most minute boundaries must not scale to zero:
    the one-minute average is > 0 whenever a request was in the system during the minute."""
    import simlab
    from simlab.scenario import scenario_from_dict

    raw = {"name": "trickle", "duration": 6 * 3600, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "schedule", "per_day": 24 * 60 * 2, "payload_kb": 4},  # every 30 s
           "deployments": [{"name": "a", "type": "async_inference", "instance_count": 1,
                            "service_time": {"dist": "fixed", "mean_ms": 2000},
                            "autoscaling": {"min_instances": 0, "max_instances": 2}}]}
    res = simlab.run(scenario_from_dict(raw), seed=1)
    dep = res.deployments["a"]
    assert [n for _, n in dep.timeline] == [1]  # never scaled to zero nor out
    assert res.summary()["deployments"]["a"]["latency_ms"]["max"] < 2100


def test_metrics_published_live_wait_for_the_backlog_and_state_starts_at_minute_0() -> None:
    """A watched async endpoint (as under an alarm) publishes a minute's request metrics only once
    its arrivals have left the backlog, so each minute's Invocations and ModelLatency equal what
    the records say; the backlog is sampled for every minute, the first included. One instance,
    one at a time, 50 s per request, a request every 40 s: the backlog grows all run."""
    import simlab.result

    raw = scenario({"instance_count": 1, "max_concurrent_invocations_per_instance": 1, "service_time": 50_000},
                   {"arrivals": "schedule", "times": [f"{40 * k}s" for k in range(45)], "payload_kb": 1},
                   duration=1800)
    sim = Simulation(scenario_from_dict(raw))
    sim.metrics.watch()
    res = simlab.result.Result(sim.run())
    m = res.metrics.set_index("minute")
    r = res.requests.assign(minute=lambda f: (f.t_arrival // 60).astype(int))
    assert not m.ApproximateBacklogSize.isna().any() and m.ApproximateBacklogSize.iloc[-1] > 5
    np.testing.assert_array_equal(m.Invocations, r.groupby("minute").size().reindex(m.index, fill_value=0))
    done = r[r.outcome == "completed"]
    lat = (done.model_ms * 1000.0).groupby(done.minute).mean()  # async: the model time, in µs
    np.testing.assert_allclose(m.ModelLatency.reindex(lat.index), lat, rtol=1e-9)
    assert m.ModelLatency.drop(lat.index).isna().all()  # minutes whose requests never finished
