"""CloudWatch alarms: transition times hand-computed from traces with known arrival times, every
missing-data treatment, M of N, the JSON/CSV/table outputs, bad definitions, and alarms on a
metric a feature publishes itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import rt, scenario

import simlab
from simlab.alarms import register_metric
from simlab.cli import main
from simlab.errors import ScenarioError
from simlab.result import Result
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

INS, OK, AL = "INSUFFICIENT_DATA", "OK", "ALARM"


def trace(tmp_path, per_minute: dict[int, int]) -> dict:
    """Arrivals at 60k + 5, 60k + 10, … (c ≤ 11 of them in minute k): counts known per minute."""
    times = [60.0 * k + 5.0 * (j + 1) for k, c in sorted(per_minute.items()) for j in range(c)]
    path = tmp_path / "trace.csv"
    np.savetxt(path, np.array(times), header="t", comments="", fmt="%.3f")
    return {"arrivals": "trace", "file": str(path)}


def alarm(**fields) -> dict:
    base = {"alarm_name": "a", "deployment": "rt", "metric_name": "Invocations", "statistic": "Sum",
            "period": 60, "evaluation_periods": 3, "datapoints_to_alarm": 2, "threshold": 5,
            "comparison_operator": "GreaterThanThreshold"}
    base.update(fields)
    return base


def run_alarms(tmp_path, per_minute: dict[int, int], *alarms: dict, duration: float = 600.0):
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 100}), duration=duration,
                   workload=trace(tmp_path, per_minute), alarms=list(alarms))
    return simlab.run(scenario_from_dict(raw))


def changes(res, name: str = "a") -> list[tuple[float, str, str]]:
    return [(c["t_s"], c["from"], c["to"]) for c in res.summary()["alarms"][name]["transitions"]]


def test_m_of_n_on_invocations(tmp_path) -> None:
    # Invocations per minute 1, 10, 1, 10, 10, 1, 1, …; Sum > 5 is breaching: F T F T T F F …
    # 2 of 3: windows [-,-,F] OK at 60 (present data, none breaching), [F,T,F] OK,
    # [T,F,T] ALARM at 240, [F,T,T] and [T,T,F] ALARM, [T,F,F] OK at 420.
    res = run_alarms(tmp_path, {0: 1, 1: 10, 2: 1, 3: 10, 4: 10, **{k: 1 for k in range(5, 10)}}, alarm())
    assert changes(res) == [(60.0, INS, OK), (240.0, OK, AL), (420.0, AL, OK)]
    a = res.summary()["alarms"]["a"]
    assert a["state"] == OK and a["first_alarm_s"] == 240.0 and a["time_in_alarm_s"] == 180.0


def test_three_of_three_needs_three_breaching_periods(tmp_path) -> None:
    res = run_alarms(tmp_path, {0: 1, 1: 10, 2: 1, 3: 10, 4: 10, 5: 10, **{k: 1 for k in range(6, 10)}},
                     alarm(datapoints_to_alarm=None))
    assert changes(res) == [(60.0, INS, OK), (360.0, OK, AL), (420.0, AL, OK)]


def test_period_aggregates_minutes(tmp_path) -> None:
    # period 120 s: Sums 1+4 = 5 (not > 5), 4+4 = 8 (breaching), then 2 per period
    res = run_alarms(tmp_path, {0: 1, 1: 4, 2: 4, 3: 4, **{k: 1 for k in range(4, 10)}},
                     alarm(period=120, evaluation_periods=1, datapoints_to_alarm=1))
    assert changes(res) == [(120.0, INS, OK), (240.0, OK, AL), (360.0, AL, OK)]


# ModelLatency exists only for minutes with completed requests: arrivals in minutes 0, 1 and 5 only
# (100 ms each, no queueing: every present datapoint is 100,000 µs > 50,000 µs, breaching).
# Windows of 3 (2 to alarm) at the closes 60, 120, …, 600 s:
#   60 [-,-,T]  120 [-,T,T]  180 [T,T,-]  240 [T,-,-]  300 [-,-,-]  360 [-,-,T]  420 [-,T,-]
#   480 [T,-,-]  540 [-,-,-]  600 [-,-,-]
EXPECTED = {
    "missing": [(60.0, INS, OK), (120.0, OK, AL), (240.0, AL, OK), (300.0, OK, INS), (360.0, INS, OK), (540.0, OK, INS)],
    "notBreaching": [(60.0, INS, OK), (120.0, OK, AL), (240.0, AL, OK)],
    "breaching": [(60.0, INS, AL)],
    "ignore": [(120.0, INS, AL)],
}


@pytest.mark.parametrize("treat", list(EXPECTED))
def test_missing_data_treatment(tmp_path, treat: str) -> None:
    res = run_alarms(tmp_path, {0: 2, 1: 2, 5: 2},
                     alarm(metric_name="ModelLatency", statistic="Maximum", threshold=50_000,
                           treat_missing_data=treat))
    assert changes(res) == EXPECTED[treat]


def test_percentile_statistic_and_variant_dimension(tmp_path) -> None:
    # every request takes 100 ms: p99 ModelLatency is 100,000 µs (within 1 %) whenever present
    res = run_alarms(tmp_path, {0: 3, 1: 3, 2: 3},
                     alarm(metric_name="ModelLatency", statistic="p99", threshold=99_500, variant="AllTraffic",
                           comparison_operator="GreaterThanOrEqualToThreshold", evaluation_periods=1,
                           datapoints_to_alarm=1),
                     alarm(alarm_name="b", metric_name="ModelLatency", statistic="p99", threshold=101_500,
                           evaluation_periods=1, datapoints_to_alarm=1))
    assert changes(res, "a") == [(60.0, INS, AL), (240.0, AL, INS)]
    assert changes(res, "b") == [(60.0, INS, OK), (240.0, OK, INS)]


def test_state_changed_is_a_fresh_event_per_transition(tmp_path) -> None:
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 100}), duration=600.0,
                   workload=trace(tmp_path, {0: 1, 1: 10, 2: 1, 3: 10, 4: 10, **{k: 1 for k in range(5, 10)}}),
                   alarms=[alarm()])
    sim = Simulation(scenario_from_dict(raw))
    seen = []

    def watch(env):
        a = sim.alarms["a"]
        while True:
            change = yield a.state_changed
            seen.append((env.now, change["to"], a.state))

    sim.env.process(watch(sim.env))
    sim.run()
    assert seen == [(60.0, OK, OK), (240.0, AL, AL), (420.0, OK, OK)]


def test_outputs_json_csv_and_table(tmp_path, capsys) -> None:
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 100}), duration=600.0,
                   workload=trace(tmp_path, {0: 1, 1: 10, 2: 1, 3: 10, 4: 10, **{k: 1 for k in range(5, 10)}}),
                   alarms=[alarm(alarm_name="api-invocations")])
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["simulate", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["alarms"]["api-invocations"]) == {"state", "first_alarm_s", "time_in_alarm_s", "transitions"}
    assert main(["simulate", str(path), "--out", str(tmp_path / "run")]) == 0
    table = capsys.readouterr().out
    line = next(x for x in table.splitlines() if "api-invocations" in x)
    assert "OK" in line and "first ALARM at 4 min" in line and "3 transitions" in line
    import pandas as pd

    csv = pd.read_csv(tmp_path / "run" / "alarms.csv")
    assert csv[["t_s", "from", "to"]].values.tolist() == [[60.0, INS, OK], [240.0, OK, AL], [420.0, AL, OK]]


def test_no_alarms_no_key() -> None:
    res = simlab.run(scenario_from_dict(scenario(rt(), duration=120.0)))
    assert "alarms" not in res.summary() and res.alarms is None


@pytest.mark.parametrize(("change", "path", "words"), [
    ({"deployment": "nope"}, "alarms[0].deployment", "must name a deployment"),
    ({"variant": "Blue"}, "alarms[0].variant", "must be a variant of rt"),
    ({"metric_name": "Latency"}, "alarms[0].metric_name", "must be a metric rt publishes"),
    ({"period": 90}, "alarms[0].period", "positive multiple of 60"),
    ({"period": 0}, "alarms[0].period", "positive multiple of 60"),
    ({"datapoints_to_alarm": 4}, "alarms[0].datapoints_to_alarm", "≤ evaluation_periods (3)"),
    ({"statistic": "Median"}, "alarms[0].statistic", "pNN"),
    ({"statistic": "p101"}, "alarms[0].statistic", "pNN"),
    ({"comparison_operator": "GreaterThan"}, "alarms[0].comparison_operator", "GreaterThanThreshold"),
    ({"treat_missing_data": "zero"}, "alarms[0].treat_missing_data", "notBreaching"),
    ({"fleet": "blue"}, "alarms[0].fleet", "all | new | old"),
])
def test_bad_alarm_definitions_are_scenario_errors(change: dict, path: str, words: str) -> None:
    raw = scenario(rt(), duration=120.0, alarms=[alarm(**change)])
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(raw)
    problems = e.value.problems
    assert len(problems) == 1 and problems[0].path == path and words in problems[0].allowed


def test_bad_alarm_exits_2_with_the_field_path(tmp_path, capsys) -> None:
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(scenario(rt(), duration=120.0, alarms=[alarm(period=90)])), encoding="utf-8")
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert "alarms[0].period" in err and "Traceback" not in err


def test_alarm_on_a_metric_a_feature_publishes(tmp_path) -> None:
    """A synthetic publisher (as Model Monitor would) puts hourly drift values with sim.metrics.put."""
    register_metric(r"feature_baseline_drift_.+", "test publisher")
    raw = scenario(rt(), duration=4 * 3600.0, rate=0.01,
                   alarms=[alarm(metric_name="feature_baseline_drift_age", statistic="Maximum", period=3600,
                                 evaluation_periods=1, datapoints_to_alarm=1, threshold=0.1)])
    sim = Simulation(scenario_from_dict(raw))

    def publisher(env):
        for value in (0.05, 0.2, 0.3, 0.01):  # at 1800, 5400, 9000, 12600 s: one per hour
            yield env.timeout(1800.0 if env.now == 0 else 3600.0)
            sim.metrics.put(deployment="rt", metric="feature_baseline_drift_age", t=env.now, value=value)

    sim.env.process(publisher(sim.env))
    res = Result(sim.run())
    assert changes(res) == [(3600.0, INS, OK), (7200.0, OK, AL), (14400.0, AL, OK)]


def test_model_monitor_drift_metrics_drive_an_alarm() -> None:
    """Data Quality executions publish feature_baseline_drift_<feature> at their time; an hourly
    alarm (1 of 1, ignore missing) follows each execution's value one period later."""
    feature = "mean radius"
    ep = rt(data_capture={"sampling_percentage": 100, "modes": ["input", "output"]},
            monitors=[{"type": "data_quality", "schedule": "hourly"}])
    raw = scenario(ep, duration=10 * 3600.0,
                   workload={"arrivals": "poisson", "rate_per_s": 0.2, "payload_kb": 4,
                             "drift": [{"at": "5h", "feature": feature, "shift_sd": 2.0}]},
                   alarms=[alarm(metric_name=f"feature_baseline_drift_{feature}", statistic="Maximum", period=3600,
                                 evaluation_periods=1, datapoints_to_alarm=1, threshold=0.2,
                                 treat_missing_data="ignore")])
    res = simlab.run(scenario_from_dict(raw))
    mon = res.monitoring.metrics
    drift = mon[mon.metric == f"feature_baseline_drift_{feature}"].sort_values("t_s")
    # an execution at t lands in the period [t, t + 3600) (t is on the hour): evaluated at t + 3600
    expected, state = [], INS
    for t, value in zip(drift.t_s, drift.value, strict=True):
        new = AL if value > 0.2 else OK
        if new != state and t + 3600.0 <= raw["duration"]:
            expected.append((t + 3600.0, state, new))
            state = new
    assert any(to == AL for _, _, to in expected) and len(expected) >= 2  # the drift is seen, before it is not
    assert changes(res) == expected
