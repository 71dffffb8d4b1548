"""Batch transform: job timing against theory, real predictions, output files, failures, limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invariants import check_physics

from simlab import facts
from simlab.errors import ScenarioError
from simlab.scenario import scenario_from_dict
from simlab.units import MIB
from simlab.zoo import dataset, load_model

MODEL = "breast_cancer_logreg"


def bt(name: str = "bt", **overrides) -> dict:
    """A batch transform deployment with test-friendly defaults (fixed times, no overhead)."""
    base = {"name": name, "type": "batch_transform", "instance_type": "ml.m5.large", "instance_count": 1,
            "service_time": {"dist": "fixed", "mean_ms": 2}, "startup": 60, "minibatch_overhead_ms": 0}
    base.update(overrides)
    return base


def stream(*deployments, rate: float = 5.0, payload_kb: float = 100.0, duration: float = 7200.0, **top):
    return scenario(*deployments, duration=duration,
                    workload={"arrivals": "poisson", "rate_per_s": rate, "payload_kb": payload_kb}, **top)


def problems(raw: dict) -> str:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw)
    return str(err.value)


def write_csv(path, rows: np.ndarray) -> list[str]:
    lines = [",".join(repr(float(v)) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


# -- timing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["MultiRecord", "SingleRecord"])
@pytest.mark.parametrize("count,concurrency", [(1, 1), (2, 4), (3, 2)])
def test_job_duration_is_startup_plus_work_over_workers(strategy: str, count: int, concurrency: int) -> None:
    """Deterministic times: duration = start-up + n·t / (instances × concurrency), exact up to the
    rounding of the last mini-batch (at most one mini-batch's work)."""
    dep = bt(instance_count=count, max_concurrent_transforms=concurrency, max_payload_mb=1,
             batch_strategy=strategy, schedule={"every": "1h", "at": "1h"})
    res = run(stream(dep))
    job = res.deployments["bt"].jobs[0]
    n, t, workers = job.hi - job.lo, 0.002, count * concurrency
    per_batch = 10 if strategy == "MultiRecord" else 1  # 100 KiB records in 1 MiB mini-batches
    assert n > 10_000
    assert abs(job.duration_s - (60 + n * t / workers)) <= per_batch * t + 1e-6
    assert res.summary()["deployments"]["bt"]["job_duration_s"] == pytest.approx(job.duration_s, abs=1e-3)


def test_mini_batches_respect_max_payload_and_keep_input_order() -> None:
    res = run(stream(bt(max_payload_mb=1, schedule={"every": "1h", "at": "1h"})))
    req = res.requests
    done = req[req.outcome == "completed"].sort_values("request_id")
    assert (np.diff(done.t_start.to_numpy()) >= -1e-12).all()  # one worker: input order
    d = res.deployments["bt"]
    starts = d._split(np.full(100, 100 * 1024.0))
    assert np.diff(np.append(starts, 100)).max() * 100 * 1024 <= 1 * MIB


def test_stream_latency_is_output_time_minus_arrival_and_later_requests_wait() -> None:
    res = run(stream(bt(schedule={"every": "1h", "at": "30m"}), rate=1.0, duration=7200))
    req = res.requests
    jobs = res.deployments["bt"].jobs
    assert [j.t_submit for j in jobs] == [1800.0, 5400.0]
    done = req[req.outcome == "completed"]
    assert np.allclose(done.latency_ms, (done.t_done - done.t_arrival) * 1000)
    first = done.t_arrival < 1800.0
    assert np.allclose(done.t_done[first], jobs[0].t_end) and np.allclose(done.t_done[~first], jobs[1].t_end)
    assert ((req.t_arrival >= 5400.0) == (req.outcome == "in_flight")).all()
    s = res.summary()["deployments"]["bt"]
    assert s["jobs"] == 2


def test_side_by_side_with_an_endpoint_on_the_identical_stream() -> None:
    rt = {"name": "rt", "type": "real_time_endpoint", "service_time": {"dist": "fixed", "mean_ms": 2}}
    s = run(stream(bt(schedule="hourly"), rt, rate=2.0, payload_kb=4, duration=3 * 3600)).summary()["deployments"]
    assert s["bt"]["arrived"] == s["rt"]["arrived"]
    assert s["bt"]["latency_ms"]["p50"] > 60_000 > s["rt"]["latency_ms"]["p99"]
    assert s["bt"]["cost_usd"] < s["rt"]["cost_usd"]


# -- dataset jobs, predictions, output -----------------------------------------------------------
def test_count_records_every_job_scores_the_dataset_with_real_predictions(tmp_path) -> None:
    raw = scenario(bt(records=500, schedule={"every": "20m"}, join_source="Input"), duration=3600)
    res = run(raw)
    s = res.summary()["deployments"]["bt"]
    assert s["jobs"] == 3 and s["arrived"] == 1500 == s["records"]
    req = res.requests
    ds, model = dataset(MODEL), load_model(MODEL)
    expect = model.score_output(ds.X[req.row.to_numpy()])
    assert np.allclose(req.prediction.to_numpy(), expect)
    paths = res.write(tmp_path)
    out = tmp_path / "batch" / "bt" / "job-0.csv.out"
    assert out in paths
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 500
    first = np.array(lines[0].split(","), dtype=float)
    assert np.allclose(first[:-1], ds.X[req.row.iloc[0]]) and first[-1] == pytest.approx(expect[0])


def test_csv_records_are_scored_exactly_and_written_in_input_order(tmp_path) -> None:
    ds = dataset(MODEL)
    rows = ds.X[ds.serve_idx[:40]]
    lines = write_csv(tmp_path / "in.csv", rows)
    raw = scenario(bt(records="in.csv", join_source="Input"), duration=3600)
    res = simlab_run_file(tmp_path, raw)
    s = res.summary()["deployments"]["bt"]
    assert s["completed"] == 40 and s["jobs"] == 1 and s["job_failures"] == []
    res.write(tmp_path / "out")
    out = (tmp_path / "out" / "batch" / "bt" / "job-0.csv.out").read_text(encoding="utf-8").splitlines()
    preds = load_model(MODEL).score_output(rows)
    assert [line.rsplit(",", 1)[0] for line in out] == lines
    assert np.allclose([float(line.rsplit(",", 1)[1]) for line in out], preds)


def simlab_run_file(tmp_path, raw: dict, seed: int = 1):
    import simlab

    return simlab.run(scenario_from_dict(raw, file="s.yaml", base_dir=tmp_path), seed=seed)


@pytest.mark.parametrize("mangle,reason", [
    (lambda line: line.rsplit(",", 1)[0], "has 29 columns, expected 30"),
    (lambda line: "abc," + line.split(",", 1)[1], "'abc' is not a number"),
])
def test_a_malformed_record_fails_the_job_like_the_service(tmp_path, mangle, reason) -> None:
    ds = dataset(MODEL)
    lines = write_csv(tmp_path / "in.csv", ds.X[ds.serve_idx[:30]])
    lines[17] = mangle(lines[17])
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = simlab_run_file(tmp_path, scenario(bt(records="in.csv", schedule="daily"), duration=3600))
    s = res.summary()["deployments"]["bt"]
    assert s["failed"] == 30 and s["completed"] == 0
    assert s["errors"] == {"model_error": 30}
    assert len(s["job_failures"]) == 1 and "record 18" in s["job_failures"][0]["reason"]
    assert reason in s["job_failures"][0]["reason"]
    assert res.deployments["bt"].jobs[0].status == "Failed"
    assert res.write(tmp_path / "out") and not (tmp_path / "out" / "batch").exists()


def test_an_unreadable_records_file_fails_the_job_without_a_crash(tmp_path) -> None:
    res = simlab_run_file(tmp_path, scenario(bt(records="missing.csv"), duration=3600))
    s = res.summary()["deployments"]["bt"]
    assert s["arrived"] == 0 and "cannot read records file" in s["job_failures"][0]["reason"]


def test_a_record_above_max_payload_and_a_slow_mini_batch_fail_the_job() -> None:
    big = run(stream(bt(schedule="hourly"), payload_kb=7 * 1024, rate=0.01, duration=7200))
    s = big.summary()["deployments"]["bt"]
    assert set(s["errors"]) <= {"payload_too_large"} and s["failed"] > 0
    assert "MaxPayloadInMB 6" in s["job_failures"][0]["reason"]
    slow = run(stream(bt(schedule="hourly", invocation_timeout=1), payload_kb=4, duration=7200))
    s = slow.summary()["deployments"]["bt"]
    assert s["errors"] == {"timeout": s["failed"]} and "InvocationsTimeoutInSeconds 1" in s["job_failures"][0]["reason"]
    whole = run(stream(bt(schedule="hourly", split_type="None"), payload_kb=4, duration=7200))
    assert "payload_too_large" in whole.summary()["deployments"]["bt"]["errors"]


# -- cost, determinism, containers ---------------------------------------------------------------
def test_cost_is_instance_seconds_of_whole_jobs_and_a_month_of_the_schedule() -> None:
    res = run(stream(bt(instance_count=3, instance_type="ml.m5.xlarge", schedule={"every": "30m", "at": "10m"}),
                     duration=7200))
    d = res.deployments["bt"]
    s = res.summary()["deployments"]["bt"]
    price = facts.instance("ml.m5.xlarge").price_per_hour / 3600
    per_job = [3 * j.duration_s * price for j in d.jobs]
    assert s["cost_usd"] == pytest.approx(sum(per_job), abs=1e-5)
    # the first job (at 00:10) scores only 10 minutes of requests: the month uses full periods
    assert d.jobs[0].t_submit == 600 and d.jobs[0].hi - d.jobs[0].lo < d.jobs[1].hi - d.jobs[1].lo
    # the billing month is 730 h (AWS pricing convention, shared with the cost model): 1460 half hours
    assert s["cost_per_month_usd"] == pytest.approx(np.mean(per_job[1:]) * 1460, rel=1e-6)
    assert all(j.duration_s >= 60 for j in d.jobs) and s["cost_usd"] >= 0


def test_instance_count_fleet_and_workers_follow_the_job_leases() -> None:
    """The InstanceCount a batch deployment publishes is the instances billed at each minute's start:
    its ``instance_count`` from the job's submission (inclusive) to its end (exclusive), none
    between jobs; each instance serves ``max_concurrent_transforms`` at once; its one fleet is the
    configuration (own model, type, count)."""
    from simlab.deployments.base import FleetInfo

    res = run(stream(bt(instance_count=2, max_concurrent_transforms=3, model="breast_cancer_tree",
                        schedule={"every": "30m", "at": "30m"}), duration=3600 + 1200))
    d = res.deployments["bt"]
    j0, j1 = d.jobs  # every 30 min from 30 min: at 1800 s and 3600 s (the run ends at 4800 s)
    assert (j0.t_submit, j1.t_submit) == (1800.0, 3600.0)
    for j in (j0, j1):
        assert d.instance_count_at(0, j.t_submit) == 2.0 and d.instance_count_at(0, j.t_submit - 1e-6) == 0.0
        assert d.instance_count_at(0, j.t_end) == 0.0 and d.instance_count_at(0, j.t_end - 1e-6) == 2.0
        assert d.instance_count_at(1, j.t_submit) == 0.0  # no second variant
    minutes = np.arange(80) * 60.0
    busy = ((minutes >= j0.t_submit) & (minutes < j0.t_end)) | ((minutes >= j1.t_submit) & (minutes < j1.t_end))
    np.testing.assert_array_equal(d.instances_per_minute(0, 80), np.where(busy, 2.0, 0.0))
    assert d.per_instance_denominator(0, 1800.0, 1860.0) == 2.0
    assert d.workers_of_variant(0) == 3 and d.workers_of_variant(1) == 1  # no leases: one at a time
    assert d.fleets() == [FleetInfo(0, "AllTraffic", "breast_cancer_tree", 0, "ml.m5.large", 2, "bt-config", "in_service")]
    assert d.model_of_fleet(0) == d.model_of_variant(0) == "breast_cancer_tree" != res.sim.scenario.model


def test_a_run_without_a_job_bills_nothing_and_reports_zero_utilization() -> None:
    s = run(stream(bt(schedule={"every": "2h", "at": "2h"}), duration=3600)).summary()["deployments"]["bt"]
    assert (s["cost_usd"], s["instance_hours"], s["utilization"]) == (0.0, 0.0, 0.0)


def test_same_seed_same_result_and_different_seed_differs() -> None:
    raw = stream(bt(schedule="hourly", startup={"dist": "lognormal", "mean": "5m", "cv": 0.3}), duration=7200)
    a, b, c = run(raw, seed=3), run(raw, seed=3), run(raw, seed=4)
    assert a.to_json() == b.to_json() != c.to_json()
    ds = scenario(bt(records=100, startup={"dist": "exponential", "mean": "2m"}), duration=3600)
    assert run(ds, seed=3).to_json() == run(ds, seed=3).to_json()


def test_containers_inside_batch_transform_chain_the_real_steps() -> None:
    containers = [{"name": "scaler", "service_time": 1}, {"name": "pca", "service_time": 2},
                  {"name": "logreg", "service_time": 3}]
    raw = scenario(bt(records=200, containers=containers, hop_overhead_ms=0, service_time=None),
                   duration=3600, model="breast_cancer_pca_logreg")
    res = run(raw)
    req = res.requests
    model = load_model("breast_cancer_pca_logreg")
    assert np.allclose(req.prediction, model.score_output(dataset(MODEL).X[req.row.to_numpy()]))
    assert np.allclose(req.model_ms, 6.0)
    assert res.summary()["deployments"]["bt"]["container_latency_ms"] == {"scaler": 1.0, "pca": 2.0, "logreg": 3.0}


# -- validation --------------------------------------------------------------------------------------
def test_only_batch_valid_instance_types_are_accepted_and_the_valid_ones_are_listed() -> None:
    text = problems(stream(bt(schedule="daily", instance_type="ml.t2.medium")))
    assert "not valid for batch transform" in text and "ml.m5.large" in text and "ml.c5.large," not in text


@pytest.mark.parametrize("fields,expected", [
    ({"max_concurrent_transforms": 20, "max_payload_mb": 6}, "max_concurrent_transforms × max_payload_mb must be ≤ 100"),
    ({"max_payload_mb": 101}, "max_payload_mb: must be an integer ≥ 1 and ≤ 100"),
    ({"schedule": None}, "give a `schedule`"),
    ({"schedule": "fortnightly"}, "schedule: must be `hourly` | `daily` | `weekly`"),
    ({"records": 0}, "records: must be a record count"),
    ({"batch_strategy": "Multi"}, "batch_strategy: must be one of MultiRecord | SingleRecord"),
    ({"containers": [{"name": "a"}, {"name": "b"}]}, "give either `service_time` or `containers`"),
    ({"invocation_timeout": "2h"}, "invocation_timeout: must be a duration"),
])
def test_bad_batch_fields_are_reported_with_the_limit(fields: dict, expected: str) -> None:
    dep = bt(schedule="daily")
    dep.update(fields)
    if fields.get("schedule", 1) is None:
        del dep["schedule"]
    assert expected in problems(stream(dep))


def test_the_cross_field_limit_cites_its_source() -> None:
    text = problems(stream(bt(schedule="daily", max_concurrent_transforms=17, max_payload_mb=6)))
    assert "17 × 6 = 102" in text and "CreateTransformJob" in text
    assert math.isclose(facts.limit("batch_transform.max_concurrency_x_payload_mb"), 100)


# -- invariants over generated configurations ----------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 4), st.sampled_from(["MultiRecord", "SingleRecord"]),
       st.sampled_from(["Line", "None"]), st.sampled_from([None, 300]), st.floats(0.05, 5),
       st.floats(1, 2000), st.floats(0, 1800), st.integers(0, 2**31))
def test_conservation_cost_and_determinism_hold_for_any_job(count, conc, strategy, split, records, rate,
                                                            payload_kb, warmup, seed) -> None:
    dep = bt(instance_count=count, max_concurrent_transforms=conc, batch_strategy=strategy, split_type=split,
             schedule={"every": "20m", "at": "5m"}, startup={"dist": "exponential", "mean": "3m"},
             service_time={"dist": "lognormal", "mean_ms": 20, "cv": 1})
    if records:
        dep["records"] = records
    raw = stream(dep, rate=rate, payload_kb=payload_kb, duration=3600, warmup=warmup)
    a, b = run(raw, seed=seed), run(raw, seed=seed)
    assert a.to_json() == b.to_json()
    s = a.summary()["deployments"]["bt"]
    assert s["cost_usd"] >= 0
    check_physics(a)  # records: capacity per job instance, timelines, billed ≥ busy, utilization
    expected = records * s["jobs"] if records else int((a.sim.workload.t >= warmup).sum())
    assert s["arrived"] == expected
    req = a.requests
    done = req[req.outcome == "completed"]
    assert (done.latency_ms >= done.wait_ms + done.model_ms + done.overhead_ms - 1e-6).all()
