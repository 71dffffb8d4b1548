"""The simulate/models commands through main(argv, env) and as a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.cli import Environment, ExitStatus, main

ROOT = Path(__file__).resolve().parents[1]
STEADY = ROOT / "scenarios" / "steady-api.yaml"
CONTRACT_KEYS = {"type", "arrived", "completed", "failed", "throttled", "in_flight", "latency_ms", "wait_ms",
                 "cold_starts", "cost_usd", "cost_per_1k_usd", "instance_hours", "utilization"}


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ={}))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    text = STEADY.read_text().replace("duration: 2h", "duration: 20m").replace("warmup: 10m", "warmup: 2m")
    path = tmp_path_factory.mktemp("sc") / "small.yaml"
    path.write_text(text)
    return path


def test_json_is_one_object_with_the_contract(small) -> None:
    code, out, err = call("simulate", str(small), "--json")
    assert code == ExitStatus.SUCCESS, err
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert {"scenario", "seed", "duration_s", "deployments"} <= doc.keys()
    assert doc["seed"] == 7 and doc["duration_s"] == 1200.0
    for dep in doc["deployments"].values():
        assert CONTRACT_KEYS <= dep.keys()
        assert set(dep["latency_ms"]) == {"mean", "p50", "p90", "p95", "p99", "max"}
        assert set(dep["wait_ms"]) == {"mean", "p99"}
    assert err == ""  # no progress bar when stderr is not a terminal


def test_json_is_byte_identical_per_seed_and_seed_overrides(small) -> None:
    a, b = call("simulate", str(small), "--json")[1], call("simulate", str(small), "--json")[1]
    c = call("simulate", str(small), "--json", "--seed", "8")[1]
    assert a == b
    assert json.loads(c)["seed"] == 8 and c != a


def test_table_lists_every_deployment(small) -> None:
    code, out, _ = call("simulate", str(small))
    assert code == 0
    for name in ("rt", "rt-lor", "rt-autoscaled", "latency p99", " ms", "cost per 1k USD"):
        assert name in out


def test_out_writes_requests_and_metrics(small, tmp_path) -> None:
    import pandas as pd

    code, _, _ = call("simulate", str(small), "--out", str(tmp_path / "run"))
    assert code == 0
    req = pd.read_csv(tmp_path / "run" / "requests.csv")
    met = pd.read_csv(tmp_path / "run" / "metrics.csv")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    per_dep = req.groupby("deployment").size()
    assert set(per_dep.index) == set(summary["deployments"]) and per_dep.nunique() == 1
    rt = req[req.deployment == "rt"]
    assert int(rt.measured.sum()) == summary["deployments"]["rt"]["arrived"]
    assert {"Invocations", "ModelLatency", "OverheadLatency", "InstanceCount", "CPUUtilization"} <= set(met.columns)
    assert (met.groupby("deployment").Invocations.sum() == per_dep).all()


def test_predictions_are_the_real_model_output(small) -> None:
    import numpy as np

    import simlab
    from simlab.zoo import dataset, load_model

    res = simlab.run(simlab.load_scenario(small), seed=3)
    req = res.requests[res.requests.outcome == "completed"]
    X = dataset("breast_cancer_logreg").X[req.row.to_numpy()]
    expected = load_model("breast_cancer_logreg").score_output(X)
    assert np.allclose(req.prediction.to_numpy(), expected, rtol=0, atol=1e-12)


def test_negative_seed_and_bad_arguments_are_usage_errors(small) -> None:
    assert call("simulate", str(small), "--seed", "-4")[0] == ExitStatus.USAGE
    assert call("simulate")[0] == ExitStatus.USAGE
    assert call("frobnicate")[0] == ExitStatus.USAGE


def test_models_lists_the_zoo() -> None:
    code, out, _ = call("models")
    assert code == 0 and "breast_cancer_logreg" in out
    code, out, _ = call("models", "--json")
    assert any(m["name"] == "diabetes_ridge" for m in json.loads(out))


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import sys; from simlab.cli import main; import io, contextlib\n"
            "with contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
            "heavy = [m for m in ('numpy', 'pandas', 'sklearn', 'matplotlib', 'scipy', 'simpy') if m in sys.modules]\n"
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_console_script_runs_as_a_process(small) -> None:
    proc = subprocess.run([sys.executable, "-c", "from simlab.cli import run_main; run_main()", "simulate",
                           str(small), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["scenario"] == "steady-api"


def test_every_type_reports_the_json_contract(tmp_path) -> None:
    text = (ROOT / "scenarios" / "all-services.yaml").read_text().replace("duration: 1d", "duration: 2h")
    path = tmp_path / "all.yaml"
    path.write_text(text)
    code, out, err = call("simulate", str(path), "--json")
    assert code == 0, err
    deps = json.loads(out)["deployments"]
    assert {d["type"] for d in deps.values()} == {"real_time_endpoint", "serverless_inference", "async_inference",
                                                  "batch_transform", "multi_model_endpoint", "serial_inference_pipeline"}
    for name, dep in deps.items():
        assert CONTRACT_KEYS <= dep.keys(), name
        assert set(dep["latency_ms"]) == {"mean", "p50", "p90", "p95", "p99", "max"}, name
