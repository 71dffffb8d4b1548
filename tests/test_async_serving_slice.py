"""Owner API ``set_fleet_serving`` on an async endpoint: only n of a fleet's in-service instances
take requests from its backlog; the others stay in service, idle and billed.

Trace: one request at k + 0.5 s, fixed model time S = 2.5 s, overhead 0, 3 instances with one
worker each (fleet 0, no update). Expected starts come from the FIFO recursion of c identical
workers, start_k = max(available_k, start_{k−c} + S), written out here (``fifo``), not taken
from the simulator.
"""

from __future__ import annotations

import numpy as np
import pytest

from simlab.deployments.base import Faults
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

S = 2.5


def owner_sim(tmp_path, *, duration: int = 300) -> Simulation:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(duration)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "async_inference", "instance_type": "ml.m5.large", "instance_count": 3,
           "max_concurrent_invocations_per_instance": 1, "service_time": {"dist": "fixed", "mean_ms": S * 1000},
           "overhead_ms": 0}
    raw = {"name": "owner", "duration": duration, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep]}
    return Simulation(scenario_from_dict(raw))


def fifo(avail: list[float], prior: list[float], c: int) -> np.ndarray:
    """start_k = max(avail_k, start_{k−c} + S), the recursion seeded with ``prior`` (c earlier
    starts, oldest first: a worker free at F is one that started at F − S)."""
    start = list(prior)
    for a in avail:
        start.append(max(a, start[-c] + S))
    return np.array(start[len(prior):])


def run(tmp_path, plan: list[tuple[float, int | None]]):
    sim = owner_sim(tmp_path)
    d = sim.deployments[0]

    def script(env):
        for at, n in plan:
            yield env.timeout(at - env.now)
            d.set_fleet_serving(0, n)

    sim.env.process(script(sim.env))
    sim.run()
    return sim, d


@pytest.mark.parametrize("n", [3, None])
def test_all_instances_serving_is_the_unsliced_fifo(tmp_path, n) -> None:
    """n = all (3) or None: 3 workers, S = 2.5 < 3 s between a request and the one 3 later, so
    by the recursion start_k = max(t_k, t_{k−3} + 2.5) = t_k: nobody waits; all 3 instances serve."""
    sim, d = run(tmp_path, [(0.0, n)])
    t = sim.workload.t
    np.testing.assert_allclose(d.log.t_start, fifo(t.tolist(), [-np.inf] * 3, 3))
    np.testing.assert_allclose(d.log.t_start, t)
    assert set(d.log.instance.tolist()) == {0, 1, 2}
    assert [(le.t0, le.t1) for le in d.leases] == [(0.0, 300.0)] * 3


def test_one_serving_instance_queues_then_all_serve_and_a_shrink_lets_running_requests_finish(tmp_path) -> None:
    """[0, 20): n = 1 → one worker: start_k = start_{k−1} + 2.5 = 0.5 + 2.5k for k = 0…19, so
    k ≤ 7 start before 20 (k = 7 at 18.0, its worker free at 20.5). At 20 all serve: instances 1
    and 2 free from 20 (idle so far, so not earlier), instance 0 at 20.5 — the recursion goes on
    with c = 3 seeded by starts 17.5, 17.5, 18.0. At 200 back to n = 1: requests already running
    on instances 1, 2 finish; every later start is on instance 0, one at a time."""
    sim, d = run(tmp_path, [(0.0, 1), (20.0, None), (200.0, 1)])
    t, log = sim.workload.t, d.log
    first = 0.5 + S * np.arange(8)
    np.testing.assert_allclose(log.t_start[:8], first)
    assert first[-1] == 18.0
    rest = fifo(t[8:200].tolist(), [17.5, 17.5, 18.0], 3)
    np.testing.assert_allclose(log.t_start[8:200], rest)
    # hand check of the first few: k = 8, 9 at 20 (instances 1, 2), k = 10 at 20.5, k = 11 at 22.5
    np.testing.assert_allclose(rest[:4], [20.0, 20.0, 20.5, 22.5])
    assert set(log.instance[log.t_start < 20].tolist()) == {0}  # the oldest instance, not the newest
    assert set(log.instance[(log.t_start >= 20) & (log.t_start < 200)].tolist()) == {0, 1, 2}
    # the shrink at 200: everything started before 200 ran to completion where it started
    np.testing.assert_allclose(log.t_done, log.t_start + S)
    late = np.flatnonzero(log.t_start >= 200)
    assert set(log.instance[late].tolist()) == {0}
    k0 = late[0]
    assert t[k0] <= log.t_start[k0] <= 200.0 + S  # instance 0 free within S of the shrink
    np.testing.assert_allclose(log.t_start[late[1:]], fifo(t[late[1:]].tolist(), [log.t_start[k0]], 1))
    assert [(le.t0, le.t1) for le in d.leases] == [(0.0, 300.0)] * 3  # all billed throughout


@pytest.mark.parametrize(("n", "says"), [(0, "got 0"), (4, "from 1 to its 3 instances, got 4"), (2.0, "got 2.0"),
                                         (True, "got True"), ("1", "got '1'")])
def test_bad_serving_counts_and_fleets_are_value_errors_naming_the_value(tmp_path, n, says) -> None:
    sim = owner_sim(tmp_path, duration=30)
    d = sim.deployments[0]
    checked = []

    def script(env):
        with pytest.raises(ValueError, match=f"serving instances of fleet 0 .*{says}"):
            d.set_fleet_serving(0, n)
        green = d.add_fleet("AllTraffic", instance_count=2, startup_s=1.0)
        d.set_fleet_serving(green, 2)  # provisioning: allowed
        yield d.fleet_ready(green)
        d.retire_fleet(green)
        with pytest.raises(ValueError, match=f"fleet {green} is (draining|retired)"):
            d.set_fleet_serving(green, 1)
        with pytest.raises(ValueError, match="unknown fleet 99"):
            d.set_fleet_serving(99, 1)
        bad = d.add_fleet("AllTraffic", startup_s=1.0, faults=Faults(startup_failure=True))
        yield d.fleet_ready(bad)
        with pytest.raises(ValueError, match=f"fleet {bad} is failed"):
            d.set_fleet_serving(bad, None)
        checked.append(True)

    sim.env.process(script(sim.env))
    sim.run()
    assert checked == [True]
