"""Metrics per fleet (dimension EndpointConfigName) once an update adds a fleet, and alarms with
``fleet: new | old`` resolved through the endpoint's fleets.

Trace: one request at k + 0.5 s; fixed 2.5 s model time, 3 workers per instance (no queueing).
Script: at 90 s a green fleet ``api-green`` (start-up 30 s, every request fails with a 5xx) is
added; at 120 s it is in service and takes half of the traffic. By hand: minute [0, 60) closed
with one fleet (no per-fleet series); minute [60, 120) closed with two, green serving nothing;
from minute [120, 180) green's requests all fail.
"""

from __future__ import annotations

import numpy as np

from simlab.deployments.base import Faults
from simlab.records import Err
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation


def build(tmp_path, alarms: list[dict]) -> Simulation:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(600)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 1,
           "workers_per_instance": 3, "service_time": {"dist": "fixed", "mean_ms": 2500}, "overhead_ms": 0}
    raw = {"name": "fleets", "duration": 600, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep], "alarms": alarms}
    sim = Simulation(scenario_from_dict(raw))

    def script(env, d):
        yield env.timeout(90)
        green = d.add_fleet("AllTraffic", faults=Faults(error_rate=1.0), config_name="api-green", startup_s=30)
        yield d.fleet_ready(green)
        d.set_fleet_traffic("AllTraffic", {0: 0.5, green: 0.5})

    sim.env.process(script(sim.env, sim.deployments[0]))
    return sim


def five_xx(name: str, fleet: str) -> dict:
    return {"alarm_name": name, "deployment": "api", "fleet": fleet, "metric_name": "Invocation5XXErrors",
            "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 0,
            "comparison_operator": "GreaterThanThreshold"}


def test_each_fleet_publishes_its_own_series_and_they_add_up_to_the_endpoint(tmp_path) -> None:
    sim = build(tmp_path, []).run()
    d, store = sim.deployments[0], sim.metrics
    minute = (sim.workload.t // 60).astype(int)
    for m in range(10):
        q = lambda metric, fleet=None, m=m: store.query(deployment="api", metric=metric, statistic="Sum",  # noqa: E731
                                                   t0=60 * m, t1=60 * (m + 1), fleet=fleet)
        assert q("Invocations") == 60  # one arrival per second, whichever fleet took it
        if m == 0:  # one fleet: no EndpointConfigName series yet
            assert q("Invocations", "api-config") is None and q("Invocations", "api-green") is None
            continue
        blue = np.count_nonzero((minute == m) & (d.log.fleet == 0))
        green = np.count_nonzero((minute == m) & (d.log.fleet == 1))
        assert (q("Invocations", "api-config"), q("Invocations", "api-green")) == (blue, green)
        assert q("Invocation5XXErrors", "api-green") == green and q("Invocation5XXErrors", "api-config") == 0
        # green is billed from 120 s (its start-up ends then); blue all along
        assert q("InstanceCount", "api-green") == (0 if m == 1 else 1) and q("InstanceCount", "api-config") == 1
    assert np.count_nonzero(minute[d.log.fleet == 1] == 1) == 0 and np.count_nonzero(d.log.fleet == 1) > 200
    assert np.all(d.log.error[d.log.fleet == 1] == Err.MODEL_ERROR)


def test_fleet_new_alarms_at_the_first_green_minute_and_old_stays_ok(tmp_path) -> None:
    sim = build(tmp_path, [five_xx("new", "new"), five_xx("old", "old"), five_xx("all", "all")]).run()
    first = {name: [(c["t_s"], c["to"]) for c in a.transitions] for name, a in sim.alarms.items()}
    # 60: minute 0 has data, no error → OK; 180: minute [120, 180) has green's 5xx → ALARM
    assert first["new"] == [(60.0, "OK"), (180.0, "ALARM")]
    assert first["all"] == [(60.0, "OK"), (180.0, "ALARM")]
    assert first["old"] == [(60.0, "OK")]
