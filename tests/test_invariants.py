"""Invariants that must hold for any scenario (hypothesis generates the scenarios)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import rt, run, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlab import facts
from simlab.accounting import per_minute_busy
from simlab.records import Err

EPS = 1e-6  # seconds: float tolerance of the checks below

# -- physical checks from the records (independent of the outcome counts) ----------------------------
ROUTED_ON_ARRIVAL = {"real_time_endpoint", "serial_inference_pipeline", "serverless_inference"}
FIFO_PER_INSTANCE = {"real_time_endpoint", "serial_inference_pipeline"}


def _pools(d):
    """(mask of the requests one instance ran, requests it may run at once), from the configuration.
    A batch transform job runs on its own instances: the instance ids of two jobs are different
    machines even when equal."""
    kind, log = d.type_id, d.log
    if kind == "batch_transform":
        for job in d.jobs:
            rows = np.zeros(log.n, dtype=bool)
            rows[job.lo:job.hi] = True
            for i in np.unique(log.instance[rows & (log.instance >= 0)]):
                yield rows & (log.instance == i), d.config["max_concurrent_transforms"]
        return
    for v, i in sorted({(int(v), int(i)) for v, i in zip(log.variant, log.instance, strict=True) if i >= 0}):
        mask = (log.variant == v) & (log.instance == i)
        if kind in ("real_time_endpoint", "serial_inference_pipeline"):
            yield mask, d.variants[v].workers
        else:
            yield mask, {"serverless_inference": 1,
                         "async_inference": d.config.get("max_concurrent_invocations_per_instance"),
                         "multi_model_endpoint": d.config.get("workers_per_instance")}[kind]


def _sweep(s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event times and the number of requests in service from each event to the next (an end at
    the same moment as a start is applied first: the freed worker takes the next request; "the
    same moment" allows 1 ns for rounding in sums of times)."""
    times = np.concatenate([e - 1e-9, s])
    step = np.concatenate([-np.ones(e.size), np.ones(s.size)])
    order = np.lexsort((step, times))
    return times[order], np.cumsum(step[order])


def check_physics(res) -> None:
    """Evidence from the per-request records that can disagree with the simulator's counts."""
    sim = res.sim
    end = sim.duration
    frame = res.requests
    for d in sim.deployments:
        log, kind, name = d.log, d.type_id, d.name
        a = d.arrival_times()
        # every generated arrival appears exactly once in this deployment's records
        rows = frame[frame.deployment == name]
        assert np.array_equal(np.sort(rows.request_id.to_numpy()), np.arange(log.n)), name
        if kind != "batch_transform" or d.input is None:
            assert log.n == sim.workload.n and np.array_equal(a, sim.workload.t), name
        started = np.isfinite(log.t_start)
        s, busy = log.t_start[started], log.busy_s[started]
        # ordered timeline: arrival ≤ start ≤ start + busy ≤ done
        assert (a[started] <= s + EPS).all(), name
        assert (busy >= 0).all() and (s + busy <= log.t_done[started] + EPS).all(), name
        assert (log.instance[started] >= 0).all(), name
        finished = np.isfinite(log.t_done)
        assert (log.t_done[finished] >= a[finished] - EPS).all(), name
        # a request nobody started either failed at once (rejected, expired, not ready) or still waits
        idle = ~started & (log.error == Err.NONE)
        if kind in ROUTED_ON_ARRIVAL:
            assert not idle[a < end].any(), (name, np.flatnonzero(idle)[:5])
        elif kind == "multi_model_endpoint":  # only while its model loads, ≤ the 60 s limit, at the end
            assert (a[idle] > end - facts.limit("real_time_endpoint.max_processing_s") - EPS).all(), name
        assert not finished[idle].any(), name
        # capacity, FIFO and work conservation per instance (sweep line over start/finish)
        for pool, c in _pools(d):
            on = pool & started
            s_i, e_i = log.t_start[on], log.t_start[on] + log.busy_s[on]
            times, running = _sweep(s_i, e_i)
            assert running.max(initial=0) <= c, (name, "over capacity", running.max(), c)
            if kind in FIFO_PER_INSTANCE:
                assert (np.diff(s_i) >= -EPS).all(), (name, "not FIFO")
                # idle worker time before t: ∫ (running < c) dt; a waiting request sees none
                dt = np.diff(times)
                gaps = np.where(dt > 2e-9, dt, 0.0) * (running[:-1] < c)  # not the 1 ns of _sweep
                idle_before = np.concatenate([[0.0], np.cumsum(gaps)])
                waiting = s_i > a[on] + EPS
                lost = np.interp(s_i[waiting], times, idle_before) - np.interp(a[on][waiting], times, idle_before)
                assert (lost <= EPS).all(), (name, "waited while a worker was idle", lost.max())
        if kind == "async_inference":  # one FIFO backlog for the whole fleet
            order = np.argsort(a[started], kind="stable")
            assert (np.diff(s[order]) >= -EPS).all(), (name, "backlog not FIFO")
        # per-minute Invocations equal the requests counted from the records
        mets = res.metrics[res.metrics.deployment == name]
        if kind != "batch_transform" and "Invocations" in mets:
            n_min = int(np.ceil(end / 60.0))
            minute = np.minimum(rows.t_arrival.to_numpy() // 60, n_min - 1).astype(int)
            for vname, m in mets.groupby("variant", observed=True):
                mine = (rows.variant == vname).to_numpy()
                want = np.bincount(minute[mine], minlength=n_min)
                assert np.array_equal(m.sort_values("minute").Invocations.to_numpy(), want), (name, vname)
        # billed seconds cover every busy second (per minute, and utilization ≤ 1 unclipped)
        util = res.summary()["deployments"][name]["utilization"]
        assert util is not None and util <= 1.0 + 1e-6, (name, util)  # None would hide a NaN
        if d.leases and kind != "serverless_inference":  # utilization is what the records say
            w0, w1 = d.window()
            busy_w = np.clip(np.minimum(s + busy, w1) - np.maximum(s, w0), 0, None).sum()
            cap_w = sum(max(0.0, min(le.t1, w1) - max(le.t0, w0)) * le.workers
                        for le in d.leases)
            assert util == pytest.approx(busy_w / cap_w if cap_w > 0 else 0.0, abs=2e-6), (name, util)
        if d.leases:
            n_min = int(np.ceil(end / 60.0))
            edges = np.arange(n_min + 1) * 60.0
            cap = np.zeros(n_min)
            for le in d.leases:
                t1 = le.t1
                cap += np.clip(np.minimum(t1, edges[1:]) - np.maximum(le.t0, edges[:-1]), 0, None) * le.workers
            used = per_minute_busy(s, np.minimum(busy, end - s), n_min)  # billing stops at the end
            assert (used <= cap + EPS).all(), (name, np.flatnonzero(used > cap + EPS)[:5])
        if d.leases and "CPUUtilization" in mets:
            # each variant's CPUUtilization is its records' busy time inside the minute over the
            # worker-seconds its leases were there (an instance starting mid-minute counts in part)
            for vname, m in mets.groupby("variant", observed=True):
                v = d.variant_names().index(vname)
                mine = (log.variant[started] == v) & (s < end)
                used = per_minute_busy(s[mine], np.minimum(busy[mine], end - s[mine]), n_min)
                cap = np.zeros(n_min)
                for le in (le for le in d.leases if le.variant == v):  # inside the run only
                    t1 = min(le.t1, end)
                    cap += np.clip(np.minimum(t1, edges[1:]) - np.maximum(le.t0, edges[:-1]), 0, None) * le.workers
                want = np.divide(100.0 * used, cap, out=np.zeros(n_min), where=cap > 0)
                cpu = m.sort_values("minute").CPUUtilization.to_numpy()
                np.testing.assert_allclose(cpu, want, rtol=1e-9, atol=1e-7, err_msg=f"{name} {vname}")
                assert (cpu <= 100.0 + 1e-7).all(), (name, vname, cpu.max())
        if kind == "serverless_inference":
            # capacity from the records: an on-demand container lives from its first (cold)
            # arrival until its last request left it + the keep-alive; provisioned ones all run
            n_min = int(np.ceil(end / 60.0))
            lo, hi = np.arange(n_min) * 60.0, np.minimum(np.arange(1, n_min + 1) * 60.0, end)
            cap = d.provisioned * (hi - lo)
            ran = log.instance[started]
            for i in np.unique(ran[ran >= d.provisioned]):
                mine = ran == i
                born, died = s[mine].min(), (s[mine] + busy[mine]).max() + d.idle_timeout
                cap = cap + np.clip(np.minimum(died, hi) - np.maximum(born, lo), 0, None)
            used = per_minute_busy(s[s < end], np.minimum(busy, end - s)[s < end], n_min)
            want = np.divide(100.0 * used, cap, out=np.zeros(n_min), where=cap > 0)
            cpu = res.metrics[res.metrics.deployment == name].sort_values("minute").CPUUtilization.to_numpy()
            np.testing.assert_allclose(cpu, want, rtol=1e-9, atol=1e-7, err_msg=name)
        if kind in ("real_time_endpoint", "serial_inference_pipeline", "async_inference"):
            # one lease per instance, in instance order per variant: each request runs inside its
            # own instance's lease (until the run ends, where billing stops)
            for v in np.unique(log.variant[started]):
                mine = [le for le in d.leases if le.variant == v]
                on = started & (log.variant == v)
                t0 = np.array([le.t0 for le in mine])[log.instance[on]]
                t1 = np.array([end if np.isnan(le.t1) else le.t1 for le in mine])[log.instance[on]]
                s_v = log.t_start[on]
                assert (s_v >= t0 - EPS).all(), (name, "started before its instance was billed")
                assert (np.minimum(s_v + log.busy_s[on], end) <= t1 + EPS).all(), (name, "ran unbilled")
        if kind == "serverless_inference":  # billed per request: every served second, rounded up
            sel = d.measured() & started
            secs = log.busy_s[sel] if facts.limit("serverless_inference.bills_cold_start") else log.model_s[sel]
            assert d.compute_gb_seconds(d.measured()) >= secs.sum() * d.memory_mb / 1024 - EPS, name


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

service_times = st.one_of(
    st.builds(lambda m: {"dist": "exponential", "mean_ms": m}, st.floats(1, 400)),
    st.builds(lambda m: {"dist": "fixed", "mean_ms": m}, st.floats(1, 400)),
    st.builds(lambda m, cv: {"dist": "lognormal", "mean_ms": m, "cv": cv}, st.floats(1, 400), st.floats(0.1, 3)),
    st.builds(lambda m, cv: {"dist": "gamma", "mean_ms": m, "cv": cv}, st.floats(1, 400), st.floats(0.2, 3)),
    st.builds(lambda lo, w: {"dist": "uniform", "min_ms": lo, "max_ms": lo + w}, st.floats(0, 200), st.floats(0.1, 200)),
    # occasionally slower than the 60 s limit: recorded as timeouts
    st.just({"dist": "uniform", "min_ms": 50_000, "max_ms": 70_000}),
)
payloads = st.one_of(st.floats(0.1, 100), st.just({"dist": "lognormal", "mean_kb": 3000, "cv": 1.5}))


@st.composite
def endpoints(draw, name: str = "rt") -> dict:
    dep = rt(name, instance_count=draw(st.integers(1, 4)), workers_per_instance=draw(st.integers(1, 3)),
             service_time=draw(service_times), overhead_ms=draw(st.floats(0, 20)),
             routing=draw(st.sampled_from(["RANDOM", "LEAST_OUTSTANDING_REQUESTS"])))
    if draw(st.booleans()):
        dep["variants"] = [{"name": f"v{i}", "weight": draw(st.floats(0.1, 3))} for i in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        hi = draw(st.integers(dep["instance_count"], 6))
        dep["autoscaling"] = {"min_instances": 1, "max_instances": hi, "instance_startup": draw(st.floats(0, 300)),
                              "target_invocations_per_instance": draw(st.floats(10, 2000)),
                              "scale_in_cooldown": 60, "scale_out_cooldown": 60}
    return dep


@st.composite
def scenarios(draw) -> dict:
    deps = [draw(endpoints(f"d{i}")) for i in range(draw(st.integers(1, 2)))]
    duration = draw(st.floats(120, 1800))
    return scenario(*deps, rate=draw(st.floats(0.05, 40)), duration=duration,
                    warmup=draw(st.floats(0, duration / 2)),
                    workload={"arrivals": "poisson", "rate_per_s": draw(st.floats(0.05, 40)),
                              "payload_kb": draw(payloads)})


@SETTINGS
@given(scenarios(), st.integers(0, 2**31))
def test_endpoint_records_pass_the_physical_checks(raw: dict, seed: int) -> None:
    res = run(raw, seed=seed)
    check_physics(res)
    req = res.requests
    done = req[req.outcome == "completed"]
    assert (done.latency_ms >= done.wait_ms + done.model_ms + done.overhead_ms - 1e-6).all()


@SETTINGS
@given(scenarios(), st.integers(0, 2**31))
def test_limits_are_recorded_as_the_service_errors(raw: dict, seed: int) -> None:
    res = run(raw, seed=seed)
    req = res.requests
    big = req.payload_kb * 1024 > facts.limit("real_time_endpoint.max_payload_bytes")
    assert (req.loc[big, "error"] == "ValidationError").all()
    assert (req.loc[big, "outcome"] == "failed").all()
    slow = req.model_ms >= facts.limit("real_time_endpoint.max_processing_s") * 1000
    assert (req.loc[slow & (req.outcome != "in_flight"), "outcome"] == "failed").all()


@SETTINGS
@given(scenarios())
def test_same_seed_is_bit_identical_and_other_seeds_differ(raw: dict) -> None:
    a, b, c = run(raw, seed=11), run(raw, seed=11), run(raw, seed=12)
    assert a.to_json() == b.to_json()
    assert np.array_equal(a.requests.latency_ms.to_numpy(), b.requests.latency_ms.to_numpy(), equal_nan=True)
    if a.sim.workload.n > 5:
        assert not np.array_equal(a.sim.workload.t, c.sim.workload.t)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.sampled_from(sorted(facts.instance_types())))
def test_cost_is_instance_seconds_times_price_and_monotone(n1: int, n2: int, itype: str) -> None:
    raw = scenario(rt("a", instance_count=n1, instance_type=itype), rt("b", instance_count=n2, instance_type=itype),
                   rate=1.0, duration=900, warmup=300)
    s = run(raw).summary()["deployments"]
    price = facts.instance(itype).price_per_hour
    for d, n in ((s["a"], n1), (s["b"], n2)):
        assert d["instance_hours"] == np.float64(round(n * 600 / 3600, 6))
        assert abs(d["cost_usd"] - d["instance_hours"] * price) < 1e-5
    assert (s["a"]["cost_usd"] <= s["b"]["cost_usd"]) == (n1 <= n2)


def test_realtime_admission_is_exact_with_autoscaling() -> None:
    """Auto scaling, instance start-ups and extra syncs interleave without changing the result."""
    from helpers import assert_admission_is_exact

    dep = rt(instance_count=1, routing="LEAST_OUTSTANDING_REQUESTS", service_time={"dist": "gamma", "mean_ms": 80, "cv": 1.2},
             autoscaling={"min_instances": 1, "max_instances": 5, "target_invocations_per_instance": 300,
                          "instance_startup": 90, "scale_in_cooldown": 60, "scale_out_cooldown": 60})
    raw = scenario(dep, duration=3600, workload={"arrivals": "bursty", "rate_per_s": 20, "off_rate_per_s": 1,
                                                 "mean_on": 600, "mean_off": 600})
    log = assert_admission_is_exact(raw, ("t_start", "t_done", "instance", "error", "busy_s"))
    assert log.instance.max() >= 1  # the fleet did scale out


def test_multi_model_admission_is_exact() -> None:
    from helpers import assert_admission_is_exact

    dep = {"name": "mme", "type": "multi_model_endpoint", "instance_count": 2, "workers_per_instance": 2,
           "models": {"count": 40, "size_mb": 700, "max_trained": 4}, "popularity": {"zipf": 1.0},
           "service_time": {"dist": "exponential", "mean_ms": 50}}
    assert_admission_is_exact(scenario(dep, rate=5, duration=1800), ("t_start", "t_done", "instance", "error", "cold"))


# -- every deployment type -------------------------------------------------------------------------
@st.composite
def any_deployment(draw, name: str) -> dict:
    """A small random deployment of any of the six types."""
    kind = draw(st.sampled_from(["real_time_endpoint", "serverless_inference", "async_inference",
                                 "batch_transform", "multi_model_endpoint", "serial_inference_pipeline"]))
    svc = draw(service_times)
    if kind == "real_time_endpoint":
        return draw(endpoints(name))
    if kind == "serverless_inference":
        return {"name": name, "type": kind, "memory_mb": draw(st.sampled_from([1024, 2048, 6144])),
                "max_concurrency": draw(st.integers(1, 20)), "provisioned_concurrency": draw(st.integers(0, 1)),
                "idle_timeout": draw(st.floats(0, 900)), "service_time": svc}
    if kind == "async_inference":
        count = draw(st.integers(1, 2))
        return {"name": name, "type": kind, "instance_count": count,
                "max_concurrent_invocations_per_instance": draw(st.integers(1, 3)), "service_time": svc,
                "request_ttl": draw(st.floats(60, 3600)),
                "autoscaling": {"min_instances": 0, "max_instances": draw(st.integers(max(1, count), 3))}}
    if kind == "batch_transform":
        return {"name": name, "type": kind, "instance_type": "ml.m5.xlarge", "service_time": svc,
                "schedule": {"every": draw(st.sampled_from([600, 1800])), "at": draw(st.floats(0, 300))}}
    if kind == "multi_model_endpoint":
        return {"name": name, "type": kind, "instance_count": draw(st.integers(1, 2)), "service_time": svc,
                "models": {"count": draw(st.integers(1, 30)), "size_mb": draw(st.floats(50, 3000)), "max_trained": 3}}
    return {"name": name, "type": kind, "instance_count": draw(st.integers(1, 2)),
            "containers": [{"name": f"c{i}", "service_time": draw(st.floats(0.5, 50))} for i in range(draw(st.integers(2, 4)))]}


@st.composite
def mixed_scenarios(draw) -> dict:
    deps = [draw(any_deployment(f"d{i}")) for i in range(draw(st.integers(1, 3)))]
    kind = draw(st.sampled_from(["poisson", "bursty", "schedule"]))
    workload = {"poisson": {"arrivals": "poisson", "rate_per_s": draw(st.floats(0.01, 20))},
                "bursty": {"arrivals": "bursty", "rate_per_s": draw(st.floats(0.1, 20)), "mean_on": 60, "mean_off": 120},
                "schedule": {"arrivals": "schedule", "per_day": draw(st.integers(24, 2000)), "requests_per_event": 2}}[kind]
    workload["payload_kb"] = draw(payloads)
    duration = draw(st.floats(120, 3600))
    return scenario(*deps, duration=duration, warmup=draw(st.floats(0, duration / 2)), workload=workload)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_scenarios(), st.integers(0, 2**31))
def test_invariants_hold_for_every_deployment_type(raw: dict, seed: int) -> None:
    res = run(raw, seed=seed)
    assert run(raw, seed=seed).to_json() == res.to_json()
    check_physics(res)
    for name, d in res.summary()["deployments"].items():
        assert d["cost_usd"] >= 0 and d["instance_hours"] >= 0, name


def test_every_type_is_drawn() -> None:
    """The strategy reaches all six types (else 'every type' would be a claim, not a check)."""
    from hypothesis import find

    for kind in ("real_time_endpoint", "serverless_inference", "async_inference", "batch_transform",
                 "multi_model_endpoint", "serial_inference_pipeline"):
        find(any_deployment("d"), lambda d, k=kind: d["type"] == k)
