"""The shipped monitoring scenarios through the CLI: --json contract, --out files, the timing lesson."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from simlab.cli import Environment, ExitStatus, main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
HOUR, DAY = 3600.0, 86400.0


def simulate(*args: str) -> tuple[ExitStatus, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["simulate", *args], Environment(stdout=out, stderr=err, environ={}))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def fraud(tmp_path_factory):
    out = tmp_path_factory.mktemp("fraud")
    status, stdout, stderr = simulate(str(SCENARIOS / "fraud-drift.yaml"), "--json", "--out", str(out))
    assert status == ExitStatus.SUCCESS, stderr
    return json.loads(stdout), out


def test_fraud_drift_shows_when_each_monitor_can_notice(fraud) -> None:
    summary, _ = fraud
    mon = summary["deployments"]["fraud-scorer"]["monitoring"]
    first = mon["first_alarm_s"]
    shift, concept, delay = 2 * DAY, 3 * DAY, 3 * DAY
    assert shift < first["data_quality"] <= shift + 2 * HOUR  # no labels needed
    assert first["bias_drift"] == first["feature_attribution_drift"] == shift + DAY  # daily jobs
    assert first["model_quality"] >= concept + delay  # waits for the labels
    assert first["estimated_performance"] is None  # CBPE cannot see label flips
    assert mon["retrainings"] == 0 and mon["training_cost_usd"] == 0.0


def test_fraud_drift_writes_every_output_folder(fraud) -> None:
    _, out = fraud
    for folder in ("capture/fraud-scorer/AllTraffic", "ground_truth", "baseline/fraud-scorer",
                   "monitoring/fraud-scorer/data_quality", "monitoring/fraud-scorer/model_quality",
                   "monitoring/fraud-scorer/bias_drift", "monitoring/fraud-scorer/feature_attribution_drift"):
        assert any((out / folder).rglob("*.json*")), folder
    assert (out / "monitoring" / "detections.csv").read_text(encoding="utf-8").count("\n") == 1 + 4 * 5


def test_retraining_scenario_compares_triggers() -> None:
    status, stdout, stderr = simulate(str(SCENARIOS / "retraining.yaml"), "--json")
    assert status == ExitStatus.SUCCESS, stderr
    deps = json.loads(stdout)["deployments"]
    assert set(deps) == {"static", "on-dq-alarm", "on-mq-alarm", "nightly"}
    assert deps["static"]["monitoring"]["retrainings"] == 0
    assert all(deps[n]["monitoring"]["retrainings"] >= 1 for n in ("on-dq-alarm", "on-mq-alarm", "nightly"))
    assert deps["on-dq-alarm"]["monitoring"]["first_alarm_s"]["data_quality"] == DAY + HOUR
    assert deps["on-mq-alarm"]["monitoring"]["first_alarm_s"]["model_quality"] >= DAY + 6 * HOUR


def test_serverless_docs_cite_the_capture_limit() -> None:
    from simlab import facts

    assert facts.limit("serverless_inference.supports_data_capture") is False
    text = (SCENARIOS.parent / "docs" / "monitoring.md").read_text(encoding="utf-8")
    assert "serverless_inference.supports_data_capture" in text
