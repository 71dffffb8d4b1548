"""CANARY, LINEAR and ROLLING updates on an async endpoint, against hand-computed timelines.

Trace: one request at k + 0.5 s for k = 0…3599, fixed model times, overhead 0, one worker per
instance (MaxConcurrentInvocationsPerInstance 1). The update is called at 600 s; a new fleet's
start-up is the documented default (300 s, no autoscaling block), so it serves from 900 s.

Model under test (docs/async.md "Updates"): while several fleets have traffic, each request joins
the backlog of the fleet whose share bucket (fleets in id order) holds its routing uniform
``u_route``, and each fleet serves its own backlog FIFO; a retired fleet's queued requests join the
routed fleet's backlog in arrival order. The expected starts below come from the FIFO recursion
of c identical workers with a fixed model time S — the k-th request of a backlog starts at
max(available_k, start_{k−c} + S) — run over the requests each fleet gets by its shares, written
out here, not taken from the simulator.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simlab import facts
from simlab.records import Err
from simlab.result import Result
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

STARTUP = float(facts.limit("real_time_endpoint.default_instance_startup_s"))
PRICE_S = facts.instance("ml.m5.large").price_per_hour / 3600.0
AT, READY = 600.0, 600.0 + STARTUP


def blue_green(kind: str, **size) -> dict:
    return {"at": AT, "endpoint_config": {"model": "breast_cancer_tree"},
            "deployment_config": {"blue_green_update_policy": {
                "traffic_routing_configuration": {"type": kind, "wait_interval_in_seconds": 600, **size},
                "termination_wait_in_seconds": 600, "maximum_execution_timeout_in_seconds": 3600}}}


CANARY = blue_green("CANARY", canary_size={"type": "CAPACITY_PERCENT", "value": 25})
LINEAR = blue_green("LINEAR", linear_step_size={"type": "CAPACITY_PERCENT", "value": 50})
ROLLING = {"at": AT, "endpoint_config": {"model": "breast_cancer_tree"},
           "deployment_config": {"rolling_update_policy": {
               "maximum_batch_size": {"type": "INSTANCE_COUNT", "value": 1}, "wait_interval_in_seconds": 300}}}
BACKLOG_ALARM = {"alarm_name": "backlog", "deployment": "api", "metric_name": "ApproximateBacklogSize",
                 "statistic": "Maximum", "threshold": 3, "comparison_operator": "GreaterThanThreshold",
                 "evaluation_periods": 1}


def simulate(tmp_path, update: dict, *, instances: int = 4, svc_ms: float = 100.0, alarms: tuple = ()):
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(3600)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "async_inference", "instance_type": "ml.m5.large", "instance_count": instances,
           "max_concurrent_invocations_per_instance": 1, "service_time": {"dist": "fixed", "mean_ms": svc_ms},
           "overhead_ms": 0, "updates": [copy.deepcopy(update)]}
    raw = {"name": "async-rollout", "duration": 3600, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep], "alarms": list(alarms)}
    sim = Simulation(scenario_from_dict(raw)).run()
    (u,) = Result(sim).summary()["deployments"]["api"]["updates"]
    return sim, sim.deployments[0], u


def steps(u: dict) -> list[tuple]:
    return [(s["t_s"], s["event"], s["traffic_to_new"]) for s in u["steps"]]


def fleet_by_phase(t: np.ndarray, u: np.ndarray, phases: list[tuple[float, list[float]]]) -> np.ndarray:
    """Expected fleet of each request: in the phase that holds its arrival, the share bucket (fleets
    0, 1, … in order, shares as listed) that holds its routing uniform."""
    out = np.zeros(t.size, dtype=int)
    for k, (t0, shares) in enumerate(phases):
        t1 = phases[k + 1][0] if k + 1 < len(phases) else np.inf
        sel = (t >= t0) & (t < t1)
        edges = np.cumsum(shares)[:-1]  # bucket j = [edge_{j-1}, edge_j)
        out[sel] = np.searchsorted(edges, u[sel], side="right")
    return out


def fifo_starts(avail: np.ndarray, svc: float, workers: int) -> np.ndarray:
    """Starts of requests taken in the given order by ``workers`` identical workers, fixed model
    time: start_k = max(avail_k, start_{k−c} + S) (with equal model times the worker freed first
    is the one that took request k − c)."""
    start = np.empty(avail.size)
    for k, a in enumerate(avail.tolist()):
        start[k] = a if k < workers else max(a, start[k - workers] + svc)
    return start


def check_records(sim, d, *, avail: np.ndarray | None = None, complete: bool = True) -> None:
    """Every arrival served exactly once by one fleet (``complete=False``: or still queued at the
    end, no record); FIFO within each fleet's backlog (a request that was waiting there when a
    later arrival was taken started first; ``avail`` = when each request joined the backlog it was
    served from, default its arrival); no instance runs more requests than its workers; each
    request runs inside its instance's billed lease."""
    log, t = d.log, sim.workload.t
    avail = t if avail is None else avail
    started = np.isfinite(log.t_start)
    assert np.all(log.error == Err.NONE)
    assert started.all() if complete else np.isnan(log.t_done[~started]).all()  # none lost
    np.testing.assert_allclose(log.t_done[started], (log.t_start + log.busy_s)[started])
    assert np.all(log.t_start[started] >= avail[started] - 1e-9)
    for f in np.unique(log.fleet[started]):
        mine = np.flatnonzero((log.fleet == f) & started)  # arrival order
        s, a = log.t_start[mine], avail[mine]
        later_first = (s[None, :] < s[:, None] - 1e-9) & np.triu(np.ones((mine.size,) * 2, dtype=bool), 1)
        waiting = a[:, None] <= s[None, :]  # i (row) was in the backlog when j (column) was taken
        assert not (later_first & waiting).any(), f"fleet {f}: backlog not FIFO"
    leases = d.leases  # one lease per instance, in instance order
    for i in np.unique(log.instance[started]):
        on = (log.instance == i) & started
        s, e = log.t_start[on], log.t_start[on] + log.busy_s[on]
        order = np.argsort(s)
        assert np.all(s[order][1:] >= e[order][:-1] - 1e-9), f"instance {i} ran two requests at once"
        le = leases[i]
        assert le.fleet == log.fleet[on][0] and s.min() >= le.t0 - 1e-9 and min(e.max(), 3600) <= le.t1 + 1e-9


def test_canary_completes_each_request_on_its_share_bucket_with_hand_counted_traffic_and_cost(tmp_path) -> None:
    sim, d, u = simulate(tmp_path, CANARY)
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.25), (READY, "Baking", 0.25),
                        (READY + 600, "ActivatingTraffic", 1.0), (READY + 600, "Baking", 1.0),
                        (READY + 1200, "InService", 1.0)]
    assert (u["outcome"], u["finished_s"], u["detected_s"]) == ("completed", READY + 1200, None)
    t, ur = sim.workload.t, sim.workload.u_route
    # blue [0, 0.75), green [0.75, 1) during the canary; all green from READY + 600
    want = fleet_by_phase(t, ur, [(0.0, [1.0]), (READY, [0.75, 0.25]), (READY + 600, [0.0, 1.0])])
    np.testing.assert_array_equal(d.log.fleet, want)
    canary = (t >= READY) & (t < READY + 600) & (ur >= 0.75)
    expected = int(canary.sum()) + 600  # + every request of [READY + 600, READY + 1200)
    assert u["requests_to_new"] == expected and 600 + 100 < expected < 600 + 200
    # 4 instances × 1 worker, 0.1 s per request, one arrival a second: nobody waits on either fleet
    np.testing.assert_array_equal(d.log.t_start, t)
    # green billed from READY; blue idle (billed) from READY + 600 until retired at READY + 1200
    assert sorted((le.t0, le.t1) for le in d.leases if le.fleet == 0) == [(0.0, READY + 1200)] * 4
    assert sorted((le.t0, le.t1) for le in d.leases if le.fleet == 1) == [(READY, 3600.0)] * 4
    assert u["extra_cost_usd"] == pytest.approx(4 * PRICE_S * 1200, abs=1e-6)
    check_records(sim, d)


def test_canary_on_a_slow_green_rolls_back_on_the_backlog_alarm_and_green_queue_returns_to_blue_in_order(
        tmp_path) -> None:
    """Blue: 2 instances, 1 s per request (never waits). Green: the same ×20 = 20 s, so its
    backlog grows; the endpoint-wide ApproximateBacklogSize (queued + in process, sampled at each
    minute's close) > 3 trips the alarm; requests still queued on green then join blue's backlog.
    The canary is a slice of ⌈0.25·2⌉ = 1 green instance (``set_fleet_serving``): green's backlog
    has one worker (c = 1 in the recursion), its second instance is billed and idle."""
    update = copy.deepcopy(CANARY)
    update["endpoint_config"]["faults"] = {"latency_multiplier": 20}
    update["deployment_config"]["auto_rollback_configuration"] = {"alarms": [{"alarm_name": "backlog"}]}
    sim, d, u = simulate(tmp_path, update, instances=2, svc_ms=1000, alarms=(BACKLOG_ALARM,))
    t, ur = sim.workload.t, sim.workload.u_route
    green = np.flatnonzero((t >= READY) & (ur >= 0.75))  # green's arrivals if the canary never ended
    g_start = fifo_starts(t[green], 20.0, 1)  # the slice: 1 instance × 1 worker
    blue_run = lambda T: ((t < T) & (t + 1.0 > T) & ~np.isin(np.arange(t.size), green)).sum()  # noqa: E731

    def backlog(T: float) -> int:  # green's arrivals before T not yet finished + blue's running
        g = green[t[green] < T]
        return int((g_start[: g.size] + 20.0 > T).sum() + blue_run(T))

    T = next(m * 60.0 for m in range(16, 60) if backlog(m * 60.0) > 3)
    assert T == READY + 60  # by hand from the recursion: green's 1 worker falls behind at once
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.25), (READY, "Baking", 0.25),
                        (T, "RollingBack", 0.0), (T, "InService", 0.0)]
    assert (u["outcome"], u["detected_s"], u["finished_s"]) == ("rolled_back", T, T)
    g = green[t[green] < T]
    gs = g_start[: g.size]
    served_green, moved = g[gs < T], g[gs > T]
    assert served_green.size + moved.size == g.size and moved.size >= 3
    # blue's backlog from the start: its own arrivals, then at T green's queue (arrival order), then everyone
    own = np.flatnonzero(~np.isin(np.arange(t.size), green) & (t < T))
    later = np.flatnonzero(t >= T)
    order = np.concatenate([own, moved, later])
    avail = t.copy()
    avail[moved] = T
    b_start = fifo_starts(avail[order], 1.0, 2)
    want_fleet = np.zeros(t.size, dtype=int)
    want_fleet[served_green] = 1
    np.testing.assert_array_equal(d.log.fleet, want_fleet)
    np.testing.assert_allclose(d.log.t_start[served_green], gs[gs < T])
    np.testing.assert_allclose(d.log.t_start[order], b_start)
    np.testing.assert_allclose(d.log.model_s[moved], 1.0)  # blue's model time, not green's 20 s
    assert u["requests_to_new"] == served_green.size  # the moved ones were answered by blue
    # green: 2 instances billed from READY; the slice's (the oldest) until it finished its last
    # request (busy at T), the other idle all along, so it stops at T
    assert set(d.log.instance[served_green]) == {min(i for i, le in enumerate(d.leases) if le.fleet == 1)}
    ends = np.array([T, d.log.t_start[served_green].max() + 20.0])
    assert sorted(le.t1 for le in d.leases if le.fleet == 1) == pytest.approx(list(ends))
    assert [le.t0 for le in d.leases if le.fleet == 1] == [READY, READY]
    assert u["extra_cost_usd"] == pytest.approx(PRICE_S * float((ends - READY).sum()), abs=1e-6)
    check_records(sim, d, avail=avail)


def test_linear_splits_half_and_half_then_turns_blue_off_in_slices(tmp_path) -> None:
    sim, d, u = simulate(tmp_path, LINEAR)
    assert steps(u) == [(AT, "Updating", 0.0), (READY, "ActivatingTraffic", 0.5), (READY, "Baking", 0.5),
                        (READY + 600, "ActivatingTraffic", 1.0), (READY + 600, "Baking", 1.0),
                        (READY + 1200, "InService", 1.0)]
    t, ur = sim.workload.t, sim.workload.u_route
    want = fleet_by_phase(t, ur, [(0.0, [1.0]), (READY, [0.5, 0.5]), (READY + 600, [0.0, 1.0])])
    np.testing.assert_array_equal(d.log.fleet, want)
    np.testing.assert_array_equal(d.log.t_start, t)
    # blue: 2 of 4 off at READY, 1 more at READY + 600 (one kept for a rollback), the last retired
    # at READY + 1200 (all idle then: 0.1 s requests at k + 0.5 s)
    assert sorted(le.t1 for le in d.leases if le.fleet == 0) == [READY, READY, READY + 600, READY + 1200]
    # in [AT, READY + 1200]: blue 4·300 + 2·600 + 1·600 = 3000 instance-s, green 4·1200 = 4800,
    # blue alone 4·1500 = 6000 → 1800 instance-s above
    assert u["extra_cost_usd"] == pytest.approx(1800 * PRICE_S, abs=1e-6)
    assert u["requests_to_new"] == int(((t >= READY) & (t < READY + 600) & (ur >= 0.5)).sum()) + 600
    check_records(sim, d)


def test_rolling_moves_one_instance_a_batch_with_shares_in_proportion_to_instances(tmp_path) -> None:
    sim, d, u = simulate(tmp_path, ROLLING)
    # batch k (k = 1…4) is provisioned from 600·k, serves at 600·k + 300 with share k/(k + 5 − k)
    # = k/5, bakes 300 s, then one blue instance stops: share k/4
    want_steps = []
    for k in range(1, 5):
        t0 = 600.0 * k
        want_steps += [(t0, "Updating", (k - 1) / 4), (t0 + 300, "ActivatingTraffic", k / 5),
                       (t0 + 300, "Baking", k / 5), (t0 + 600, "ActivatingTraffic", k / 4)]
    want_steps[0] = (AT, "Updating", 0.0)
    assert steps(u) == [*want_steps, (3000.0, "InService", 1.0)]
    assert (u["outcome"], u["finished_s"]) == ("completed", 3000.0)
    t, ur = sim.workload.t, sim.workload.u_route
    phases = [(0.0, [1.0])]
    for k in range(1, 5):  # blue's share, then one equal share per new batch (fleet ids 1…k)
        phases += [(600.0 * k + 300, [(5 - k) / 5] + [1 / 5] * k),
                   (600.0 * k + 600, [(4 - k) / 4] + [1 / 4] * k)]
    np.testing.assert_array_equal(d.log.fleet, fleet_by_phase(t, ur, phases))
    np.testing.assert_array_equal(d.log.t_start, t)
    # blue: one instance stops after each bake (1200, 1800, 2400), the last is retired at 3000
    assert sorted(le.t1 for le in d.leases if le.fleet == 0) == [1200.0, 1800.0, 2400.0, 3000.0]
    assert sorted((le.fleet, le.t0) for le in d.leases if le.fleet > 0) == [(k, 600.0 * k + 300) for k in range(1, 5)]
    # in [600, 3000]: blue 4·600 + 3·600 + 2·600 + 1·600 = 6000, new 2100 + 1500 + 900 + 300 = 4800,
    # blue alone 4·2400 = 9600 → 1200 instance-s above
    assert u["extra_cost_usd"] == pytest.approx(1200 * PRICE_S, abs=1e-6)
    check_records(sim, d)


def test_auto_scaling_is_suspended_while_an_async_update_runs(tmp_path) -> None:
    """A target of 0.01 requests per instance scales out at the first high alarm (3 datapoints)
    without an update; with the update called at 0 s nothing scales until it finishes."""
    update = {**copy.deepcopy(CANARY), "at": 0}
    auto = {"min_instances": 1, "max_instances": 8, "target_backlog_per_instance": 0.01, "instance_startup": 60}

    def run(with_update: bool):
        trace = tmp_path / "arrivals.csv"
        trace.write_text("\n".join(f"{k + 0.5}" for k in range(3600)) + "\n", encoding="utf-8")
        dep = {"name": "api", "type": "async_inference", "instance_type": "ml.m5.large", "instance_count": 1,
               "max_concurrent_invocations_per_instance": 1, "service_time": {"dist": "fixed", "mean_ms": 100},
               "overhead_ms": 0, "autoscaling": auto, **({"updates": [update]} if with_update else {})}
        raw = {"name": "s", "duration": 3600, "model": "breast_cancer_logreg",
               "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep]}
        return Simulation(scenario_from_dict(raw)).run().deployments[0]

    free = run(False)
    assert min(le.t0 for le in free.leases if le.t0 > 0) < 600  # it does scale out early
    held = run(True)
    fin = 60.0 + 600 + 600  # green ready at 60 (instance_startup), two bakes of 600 s
    assert all(le.t0 in (0.0, 60.0) or le.t0 > fin for le in held.leases)
    assert any(le.t0 > fin for le in held.leases)  # and scales once the update is over


@pytest.mark.parametrize(("seed", "slow"), [(1, 1.0), (2, 1.0), (3, 12.0), (4, 12.0)])
def test_poisson_canary_records_keep_the_invariants_and_moves_happen_only_at_a_retire(tmp_path, seed, slow) -> None:
    """Poisson arrivals (1/s), exponential model times (mean 1 s) on 4 single-worker instances,
    green × ``slow``: whether the backlog alarm rolls back or the update completes, each request
    is answered by the fleet its share bucket picked at arrival, unless it was still queued when
    that fleet was retired — then by the other fleet, from that moment (FIFO counted from there)."""
    update = copy.deepcopy(CANARY)
    update["endpoint_config"]["faults"] = {"latency_multiplier": slow}
    update["deployment_config"]["auto_rollback_configuration"] = {"alarms": [{"alarm_name": "backlog"}]}
    dep = {"name": "api", "type": "async_inference", "instance_type": "ml.m5.large", "instance_count": 4,
           "max_concurrent_invocations_per_instance": 1, "service_time": {"dist": "exponential", "mean_ms": 1000},
           "overhead_ms": 0, "updates": [update]}
    raw = {"name": "p", "duration": 3600, "seed": seed, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "poisson", "rate_per_s": 1.0}, "deployments": [dep],
           "alarms": [{**BACKLOG_ALARM, "threshold": 12}]}
    sim = Simulation(scenario_from_dict(raw)).run()
    (u,) = Result(sim).summary()["deployments"]["api"]["updates"]
    d, t, ur = sim.deployments[0], sim.workload.t, sim.workload.u_route
    end = u["finished_s"]
    assert u["outcome"] in ("completed", "rolled_back")
    # the shares as the update's steps set them (their times are checked by hand above)
    phases = [(0.0, [1.0])] + [(s["t_s"], [1 - s["traffic_to_new"], s["traffic_to_new"]]) for s in u["steps"]
                               if s["event"] in ("ActivatingTraffic", "RollingBack")]
    bucket = fleet_by_phase(t, ur, phases)
    retired = 1 if u["outcome"] == "rolled_back" else 0  # the fleet retired at `end`
    moved = d.log.fleet != bucket
    assert np.all(bucket[moved] == retired) and np.all(d.log.t_start[moved] >= end)
    avail = np.where(moved, end, t)
    check_records(sim, d, avail=avail, complete=False)
    if slow > 1 and u["outcome"] == "rolled_back":
        assert moved.any()  # the slow green had a queue to hand back


@pytest.mark.parametrize(("update", "slice_size"), [(CANARY, 1), (LINEAR, 2)])
def test_canary_and_linear_bakes_run_green_requests_on_the_slice_only_with_every_green_instance_billed(
        tmp_path, update, slice_size) -> None:
    """CanarySize 25 % of 4 → ⌈0.25·4⌉ = 1 green instance serves the bake; a 50 % linear step →
    2. At 100 % (from READY + 600) all 4 serve. All 4 are billed from READY either way."""
    sim, d, u = simulate(tmp_path, update)
    t, log = sim.workload.t, d.log
    green_ids = [i for i, le in enumerate(d.leases) if le.fleet == 1]  # leases are in instance order
    assert len(green_ids) == 4
    bake = (log.fleet == 1) & (t >= READY) & (t < READY + 600)
    assert bake.sum() > 100
    assert set(log.instance[bake].tolist()) == set(green_ids[:slice_size])  # the oldest ones
    after = (log.fleet == 1) & (t >= READY + 600)
    # 0.1 s requests one a second: the worker freed first (all idle: the longest idle) takes the next
    assert set(log.instance[after].tolist()) == set(green_ids)
    assert [(le.t0, le.t1) for le in d.leases if le.fleet == 1] == [(READY, 3600.0)] * 4
    check_records(sim, d)
