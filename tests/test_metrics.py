"""Live metrics: datapoints queryable when the minute closes, equal to res.metrics and metrics.csv,
and equal to counts recomputed from the per-request records; percentile error bound."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers import rt, scenario

import simlab
from simlab.metrics import ALPHA, METRIC_PERIOD_S, MetricStore, Stat
from simlab.records import Err
from simlab.result import Result
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation


def nearest_rank(x: np.ndarray, q: float) -> float:
    """The exact order statistic x_(ceil(q n / 100)) (1-based), computed by sorting."""
    s = np.sort(x)
    return float(s[max(1, math.ceil(q / 100.0 * s.size)) - 1])


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_percentiles_are_within_the_documented_relative_error(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.lognormal(mean=10.0, sigma=1.5, size=5000)  # µs, spanning several decades
    stat = Stat.of_samples(x)
    errors = []
    for q in (0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 100):
        exact = nearest_rank(x, q)
        errors.append(abs(stat.value(q) - exact) / exact)
    assert max(errors) <= ALPHA
    assert max(errors) > ALPHA / 20  # the sketch is approximate: the test measures a real error
    assert stat.value("Minimum") == x.min() and stat.value("Maximum") == x.max()
    assert stat.value("SampleCount") == x.size and stat.value("Sum") == pytest.approx(x.sum())


def test_memory_per_datapoint_does_not_grow_with_the_samples() -> None:
    rng = np.random.default_rng(7)
    small = Stat.of_samples(rng.uniform(1e3, 1e5, 1_000))
    big = Stat.of_samples(rng.uniform(1e3, 1e5, 200_000))
    # buckets are fixed by the value range: log(1e5/1e3)/log(gamma) + 1 at most, whatever n is
    bound = math.log(100.0) / math.log((1 + ALPHA) / (1 - ALPHA)) + 2
    assert big.keys.size <= bound and small.keys.size <= bound
    assert big.n == 200_000


def test_merged_datapoints_equal_the_datapoint_of_the_union() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.exponential(100.0, 700), rng.exponential(300.0, 300)
    merged, whole = Stat.merge([Stat.of_samples(a), Stat.of_samples(b)]), Stat.of_samples(np.concatenate([a, b]))
    for q in ("SampleCount", "Minimum", "Maximum", 50.0, 99.0):
        assert merged.value(q) == whole.value(q)
    assert merged.value("Average") == pytest.approx(whole.value("Average"))


def _endpoint_with_errors() -> dict:
    """Two variants; some payloads over 6 MiB (4XX) and some model times over 60 s (5XX)."""
    ep = rt(variants=[{"name": "A", "weight": 2.0}, {"name": "B", "weight": 1.0}], instance_count=2,
            workers_per_instance=2, overhead_ms=3,
            service_time={"dist": "lognormal", "mean_ms": 6000, "p99_ms": 60000})
    return scenario(ep, duration=3600.0,
                    workload={"arrivals": "poisson", "rate_per_s": 0.3,
                              "payload_kb": {"dist": "lognormal", "mean_kb": 1500, "p99_kb": 9000}})


def test_metrics_equal_counts_recomputed_from_the_requests(tmp_path) -> None:
    res = simlab.run(scenario_from_dict(_endpoint_with_errors()), seed=4)
    req = res.requests
    req = req.assign(minute=(req.t_arrival // 60).astype(int))
    met = res.metrics.set_index(["variant", "minute"])
    err_all = req.error.astype(str)
    assert err_all.eq("ValidationError").sum() > 0 and err_all.eq("ModelError (timeout)").sum() > 0  # both classes
    for v in ("A", "B"):
        r = req[req.variant == v]
        g = r.groupby("minute")
        inv = g.size()
        err = r.error.astype(str)
        e4 = r[err.isin(["ValidationError", "ThrottlingException", "ModelNotReadyException"])].groupby("minute").size()
        e5 = r[err.isin(["ModelError", "ModelError (timeout)"])].groupby("minute").size()
        done = r[r.outcome == "completed"]
        lat = ((done.wait_ms + done.model_ms) * 1000.0).groupby(done.minute).mean()
        over = (done.overhead_ms * 1000.0).groupby(done.minute).mean()
        m = met.loc[v]
        assert (m.Invocations.reindex(inv.index) == inv).all() and m.Invocations.sum() == len(r)
        np.testing.assert_allclose(m.InvocationsPerInstance, m.Invocations / 2)  # two instances each
        assert (m.Invocation4XXErrors.reindex(e4.index) == e4).all() and m.Invocation4XXErrors.sum() == e4.sum()
        assert (m.Invocation5XXErrors.reindex(e5.index) == e5).all() and m.Invocation5XXErrors.sum() == e5.sum()
        np.testing.assert_allclose(m.ModelLatency.reindex(lat.index), lat, rtol=1e-9)
        np.testing.assert_allclose(m.OverheadLatency.reindex(over.index), over, rtol=1e-9)
        np.testing.assert_allclose(over, 3000.0, rtol=1e-12)  # overhead_ms: 3 → 3000 µs on every response
        assert m.ModelLatency.drop(lat.index).isna().all()  # no completed request: no datapoint
    res.write(tmp_path)
    csv = pd.read_csv(tmp_path / "metrics.csv")
    pd.testing.assert_frame_equal(csv, res.metrics.reset_index(drop=True), check_dtype=False, check_categorical=False)
    counts = ["Invocations", "Invocation4XXErrors", "Invocation5XXErrors"]
    assert (res.metrics[counts].dtypes == np.int64).all() and (csv[counts].dtypes == np.int64).all()  # 3, not 3.0
    assert res.metrics.index.equals(pd.RangeIndex(len(res.metrics)))  # one row number per row, all deployments


def test_cpu_utilization_is_busy_time_over_capacity() -> None:
    res = simlab.run(scenario_from_dict(_endpoint_with_errors()), seed=4)
    d = res.deployments["rt"]
    met = res.metrics.set_index(["variant", "minute"])
    s, b = d.log.t_start, d.log.busy_s
    for v in (0, 1):
        for minute in (3, 11, 25):
            ok = np.isfinite(s) & (d.log.variant == v)
            lo, hi = minute * 60.0, minute * 60.0 + 60.0
            busy = np.clip(np.minimum(s[ok] + b[ok], hi) - np.maximum(s[ok], lo), 0, None).sum()
            expected = 100.0 * busy / (2 * 2 * 60.0)  # 2 instances × 2 workers
            assert met.loc[("AB"[v], minute), "CPUUtilization"] == pytest.approx(expected, rel=1e-9)


def test_datapoints_are_queryable_when_the_minute_closes() -> None:
    sim = Simulation(scenario_from_dict(_endpoint_with_errors()), seed=4)
    # no watch(): the first read on the clock switches the store to minute-by-minute publishing
    live: list[tuple[int, float | None, float | None]] = []

    def reader(env):
        yield env.timeout(METRIC_PERIOD_S + 1e-6)  # just after the first minute closes
        while True:
            t = (env.now // 60) * 60.0
            live.append((int(t // 60) - 1,
                         sim.metrics.query(deployment="rt", metric="Invocations", statistic="Sum", t0=t - 60, t1=t,
                                           variant="A"),
                         sim.metrics.query(deployment="rt", metric="ModelLatency", statistic="p90", t0=t - 60,
                                           t1=t, variant="B")))
            yield env.timeout(METRIC_PERIOD_S)

    def first(env):
        yield env.timeout(0)
        # nothing is published before the first minute closes
        assert sim.metrics.query(deployment="rt", metric="Invocations", statistic="Sum", t0=0, t1=60) is None

    sim.env.process(first(sim.env))
    sim.env.process(reader(sim.env))
    res = Result(sim.run())
    met = res.metrics.set_index(["variant", "minute"])
    assert len(live) == 59  # every minute that closed before the end
    req = res.requests
    for minute, inv, p90 in live:
        assert inv == met.loc[("A", minute), "Invocations"]
        done = req[(req.variant == "B") & (req.outcome == "completed") & (req.t_arrival // 60 == minute)]
        lat = ((done.wait_ms + done.model_ms) * 1000.0).to_numpy()
        if lat.size == 0:
            assert p90 is None
        else:
            exact = nearest_rank(lat, 90)
            assert abs(p90 - exact) <= ALPHA * exact


@pytest.mark.parametrize("scenario_file", ["intermittent-serverless", "preprocessing-chain", "ab-test"])
def test_unwatched_runs_publish_request_metrics_once_with_the_same_datapoints(scenario_file, monkeypatch) -> None:
    # Nobody reacts during these runs (no alarm, no scaling policy): request metrics are bucketed
    # in one pass when first read, not once per simulated minute. The datapoints are those of a
    # run published minute by minute (counts exactly; CPU up to float summation order).
    from pathlib import Path

    from simlab.deployments.base import Deployment
    from simlab.scenario import load_scenario

    calls: list[tuple[str, int, int]] = []
    original = Deployment._publish_requests

    def counting(self, store, m0, m1):
        calls.append((self.name, m0, m1))
        return original(self, store, m0, m1)

    monkeypatch.setattr(Deployment, "_publish_requests", counting)
    sc = load_scenario(Path(__file__).parents[1] / "scenarios" / f"{scenario_file}.yaml")
    lazy_sim = Simulation(sc, seed=3).run()
    assert not lazy_sim.metrics.live and calls == []  # nothing bucketed during the run
    lazy = Result(lazy_sim).metrics
    names = [d.name for d in lazy_sim.deployments]
    assert sorted(c[0] for c in calls) == sorted(names)  # one pass per deployment, all minutes
    assert all(c[1:] == (0, lazy_sim.metrics.n_minutes) for c in calls)
    calls.clear()
    watched = Simulation(sc, seed=3)
    watched.metrics.watch()
    live_res = Result(watched.run())
    live = live_res.metrics
    # the unwatched run took in arrivals once an hour, the watched one once a minute: FIFO queues
    # advanced as arrays are exact whatever the chunk, so every summary figure is identical
    assert Result(lazy_sim).summary() == live_res.summary()
    assert len(calls) > 10 * len(names)  # minute by minute
    pd.testing.assert_frame_equal(lazy.drop(columns="CPUUtilization"), live.drop(columns="CPUUtilization"))
    np.testing.assert_allclose(lazy.CPUUtilization, live.CPUUtilization, rtol=1e-9, atol=1e-9)


def test_query_rejects_an_unknown_statistic_and_put_a_bad_time() -> None:
    store = MetricStore(600.0)
    store.put(deployment="d", metric="m", t=30.0, value=2.0)
    store.put(deployment="d", metric="m", t=45.0, value=4.0)
    assert store.query(deployment="d", metric="m", statistic="Average", t0=0, t1=60) == 3.0
    assert store.query(deployment="d", metric="m", statistic="SampleCount", t0=0, t1=60) == 2.0
    assert store.query(deployment="d", metric="m", statistic="Sum", t0=60, t1=120) is None
    with pytest.raises(ValueError, match="statistic"):
        store.query(deployment="d", metric="m", statistic="Median", t0=0, t1=60)
    with pytest.raises(ValueError, match="t must lie"):
        store.put(deployment="d", metric="m", t=601.0, value=1.0)


def test_overloaded_endpoint_whose_requests_start_after_the_end() -> None:
    # ρ ≈ 4: most requests start after the run ends; their busy time lies outside every minute
    raw = scenario(rt(service_time={"dist": "exponential", "mean_ms": 106}), rate=40.0, duration=134.0)
    res = simlab.run(scenario_from_dict(raw), seed=256)
    m = res.metrics
    assert m.Invocations.sum() == res.deployments["rt"].log.n
    assert m.CPUUtilization.iloc[0] > 99.0  # saturated from the start
    # every worker busy to the end; the last minute is the 14 s of [120 s, 134 s]: its busy time and
    # its capacity both stop at the run's end, so it reads 100 % (not 14/60 of it, nor above 100)
    np.testing.assert_allclose(m.CPUUtilization.iloc[1:], 100.0, rtol=1e-12)


@pytest.mark.parametrize("watched", [True, False])
def test_a_quiet_minute_has_zero_counts_and_the_fleet_state_as_datapoints(tmp_path, watched) -> None:
    """A watched run publishes minute by minute, minutes without arrivals through a path without
    request arrays; an unwatched one buckets all minutes in one pass. Either way a quiet minute
    carries datapoints, as a busy minute does: Invocations and both error counts are 0 (a datapoint, not missing data, so
    an alarm on them reads 0), InstanceCount is the one instance, CPUUtilization 0 and
    InvocationsPerInstance 0. Arrivals at 0.5 s … 119.5 s and at 7200.5 s, each served in 10 ms."""
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in [*range(120), 7200]) + "\n", encoding="utf-8")
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 10}), duration=7260.0,
                   workload={"arrivals": "trace", "file": str(trace)})
    sim = Simulation(scenario_from_dict(raw), seed=1)
    if watched:
        sim.metrics.watch()  # as an alarm or a scaling policy would
    res = Result(sim.run())
    store = res.sim.metrics

    def point(metric: str, minute: int, statistic: str = "Sum") -> float | None:
        return store.query(deployment="rt", metric=metric, statistic=statistic, t0=minute * 60.0,
                           t1=minute * 60.0 + 60.0, variant="AllTraffic")

    for minute in (2, 59, 60, 119):  # quiet, on both sides of the hourly admission tick
        assert [point(m, minute) for m in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")] == [0.0] * 3
        assert point("InstanceCount", minute) == 1.0 and point("CPUUtilization", minute) == 0.0
        assert point("InvocationsPerInstance", minute) == 0.0
        assert point("ModelLatency", minute) is None  # no completed request: no latency datapoint
    assert point("Invocations", 1) == 60.0 and point("Invocations", 120) == 1.0  # the busy minutes
    assert point("CPUUtilization", 0) == pytest.approx(100.0 * 60 * 0.010 / 60.0)  # 60 requests × 10 ms
    frame = res.metrics.set_index("minute")
    assert frame.loc[[0, 2, 120], "t_s"].tolist() == [0.0, 120.0, 7200.0]


def test_summary_errors_count_only_requests_after_the_warm_up() -> None:
    raw = _endpoint_with_errors()
    raw["warmup"] = 1200.0
    res = simlab.run(scenario_from_dict(raw), seed=4)
    log, t = res.deployments["rt"].log, res.sim.workload.t
    names = {int(e): e.name.lower() for e in Err if e != Err.NONE}
    after = [names[int(c)] for c in log.error[(t >= 1200.0) & (log.error != Err.NONE)]]
    assert np.count_nonzero((t < 1200.0) & (log.error != Err.NONE)) > 0  # the warm-up had errors too
    expected = {name: after.count(name) for name in sorted(set(after))}
    assert res.summary()["deployments"]["rt"]["errors"] == expected and sum(expected.values()) > 0


def test_a_request_that_starts_exactly_at_the_end_adds_no_busy_time() -> None:
    """One worker, 60 s per request, two requests at 0 s and a 60 s run: the second waits and
    starts exactly at the end. Minute 0 is busy all through (100 %), and the second request adds
    nothing (it used to be counted in a minute after the run)."""
    raw = scenario(rt(workers_per_instance=1, service_time={"dist": "fixed", "mean_ms": 60_000}), duration=60.0,
                   workload={"arrivals": "schedule", "times": [0], "requests_per_event": 2})
    res = simlab.run(scenario_from_dict(raw))
    assert res.deployments["rt"].log.t_start.tolist() == [0.0, 60.0]
    assert res.metrics.CPUUtilization.tolist() == [100.0]
