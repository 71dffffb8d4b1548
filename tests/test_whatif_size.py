"""simlab size against queueing theory: the smallest fleet whose p99 response time meets a target.

Fixed fleets behind RANDOM routing split Poisson traffic into ``c`` Poisson streams of λ/c, so each
single-worker instance is an M/M/1 queue whose response time is exponential with rate μ − λ/c:
p99 = ln(100) / (μ − λ/c). With least-outstanding-requests routing the fleet pools its queue, so
its smallest count lies between the pooled M/M/c count (Erlang C) and the split count.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
import yaml
from scipy import optimize

from simlab import theory
from simlab.cli import Environment, main
from simlab.whatif.sizing import size

LAM, MU = 30.0, 10.0  # requests/s; exponential service with mean 100 ms


def mm1_split_p99_ms(c: int) -> float:
    return math.log(100) / (MU - LAM / c) * 1000.0 if LAM / c < MU else math.inf


def mmc_response_p99_ms(c: int) -> float:
    """p99 of the M/M/c response time W + S: W is 0 w.p. 1 − C, else Exp(cμ − λ); S is Exp(μ)."""
    pw, theta = theory.erlang_c(c, LAM / MU), c * MU - LAM

    def tail(t: float) -> float:
        if math.isclose(theta, MU):  # W + S is Erlang(2, μ)
            hypo = math.exp(-MU * t) * (1 + MU * t)
        else:  # hypoexponential
            hypo = (theta * math.exp(-MU * t) - MU * math.exp(-theta * t)) / (theta - MU)
        return (1 - pw) * math.exp(-MU * t) + pw * hypo - 0.01

    return optimize.brentq(tail, 1e-6, 100.0) * 1000.0


def scenario(tmp_path: Path, routing: str = "RANDOM") -> Path:
    raw = {"name": "mmc", "seed": 3, "duration": "1h", "warmup": "5m",
           "workload": {"arrivals": "poisson", "rate_per_s": LAM, "payload_kb": 1},
           "deployments": [{"name": "rt", "type": "real_time_endpoint", "instance_type": "ml.m5.large",
                            "instance_count": 1, "workers_per_instance": 1, "overhead_ms": 0, "routing": routing,
                            "service_time": {"dist": "exponential", "mean_ms": 1000.0 / MU},
                            "autoscaling": {"min_instances": 1, "max_instances": 2,
                                            "target_invocations_per_instance": 100}}]}
    path = tmp_path / "mmc.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


TARGET_MS = 1030.0


def test_theory_brackets_the_target() -> None:
    split = [mm1_split_p99_ms(c) for c in range(1, 9)]
    assert split[4] > TARGET_MS * 1.1 and split[5] < TARGET_MS * 0.9  # c = 6 with margins both sides
    assert min(c for c in range(4, 9) if mmc_response_p99_ms(c) <= TARGET_MS) == 4  # pooled needs fewer


def test_random_routing_sizes_to_the_mm1_split_count(tmp_path: Path) -> None:
    expected = min(c for c in range(1, 20) if mm1_split_p99_ms(c) <= TARGET_MS)
    res = size(scenario(tmp_path), "rt", TARGET_MS, max_instances=8, replications=3)
    rec = res.recommendation
    assert rec is not None and rec["InitialInstanceCount"] == expected == 6
    assert rec["InstanceType"] == "ml.m5.large" and rec["CostPerHour"] == pytest.approx(6 * 0.115)
    assert rec["p99_ms"] == pytest.approx(mm1_split_p99_ms(6), rel=0.08)
    tried = sorted(c["InitialInstanceCount"] for c in res.candidates)
    assert tried == [1, 2, 3, 4, 5, 6]  # stops at the first count that meets the target
    assert all(not c["meets"] for c in res.candidates if c["InitialInstanceCount"] < 6)


def test_least_outstanding_routing_lies_between_erlang_c_and_split(tmp_path: Path) -> None:
    pooled = min(c for c in range(4, 20) if mmc_response_p99_ms(c) <= TARGET_MS)
    split = min(c for c in range(1, 20) if mm1_split_p99_ms(c) <= TARGET_MS)
    res = size(scenario(tmp_path, "LEAST_OUTSTANDING_REQUESTS"), "rt", TARGET_MS, max_instances=8, replications=2)
    assert pooled <= res.recommendation["InitialInstanceCount"] < split


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, environ={}))
    return int(status), out.getvalue(), err.getvalue()


def test_json_shape_and_serverless_grid(tmp_path: Path) -> None:
    raw = {"name": "sls", "seed": 1, "duration": "2h",
           "workload": {"arrivals": "bursty", "rate_per_s": 2, "off_rate_per_s": 0, "mean_on": "1m",
                        "mean_off": "5m", "payload_kb": 1},
           "deployments": [{"name": "sls", "type": "serverless_inference", "memory_mb": 1024,
                            "max_concurrency": 4, "idle_timeout": "1m",
                            "service_time": {"dist": "fixed", "mean_ms": 50}}]}
    path = tmp_path / "sls.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    status, out, err = run_cli("size", str(path), "--deployment", "sls", "--p99-ms", "400",
                               "--max-instances", "2", "--replications", "1", "--workers", "1", "--json")
    assert status == 0, err
    s = json.loads(out)
    assert set(s) >= {"recommendation", "candidates"}
    rec = s["recommendation"]
    for key in ("InstanceType", "InitialInstanceCount", "CostPerHour", "CostPerInference", "MaxInvocations",
                "ModelLatency", "p99_ms"):
        assert key in rec
    # cold starts (≈2 s) after every quiet spell break a 400 ms p99: on-demand alone cannot meet it;
    # model time does not depend on memory here (no service_time_at_mb), so more memory only costs more
    assert rec["ProvisionedConcurrency"] >= 1 and rec["MemorySizeInMB"] == 1024
    assert not any(c["meets"] for c in s["candidates"] if c["ProvisionedConcurrency"] == 0)
    assert {c["MemorySizeInMB"] for c in s["candidates"]} == {1024, 2048, 3072, 4096, 5120, 6144}
    assert rec["CostPerHour"] == min(c["CostPerHour"] for c in s["candidates"] if c["meets"])


@pytest.mark.parametrize("args, words", [
    (["--deployment", "nope", "--p99-ms", "100"], "must name a deployment of the scenario (rt)"),
    (["--deployment", "rt", "--p99-ms", "0"], "--p99-ms: must be a number > 0"),
    (["--deployment", "rt", "--p99-ms", "100", "--instance-types", "ml.m5.huge"], "'ml.m5.huge'"),
    (["--deployment", "rt", "--p99-ms", "100", "--max-instances", "0"], "--max-instances: must be an integer ≥ 1"),
])
def test_bad_size_arguments(tmp_path: Path, args: list[str], words: str) -> None:
    status, out, err = run_cli("size", str(scenario(tmp_path)), *args)
    assert status == 2 and out == "" and words in err


def test_errors_disqualify_whatever_the_latency(tmp_path: Path) -> None:
    """Payloads above the real-time 6 MiB limit fail (413) at any fleet size: nothing meets the target."""
    raw = {"name": "big", "seed": 2, "duration": "30m",
           "workload": {"arrivals": "poisson", "rate_per_s": 2,
                        "payload_kb": {"dist": "lognormal", "mean_kb": 1500, "cv": 1.5}},
           "deployments": [{"name": "rt", "type": "real_time_endpoint", "instance_count": 1,
                            "service_time": {"dist": "fixed", "mean_ms": 20}}]}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    res = size(path, "rt", 10_000, max_instances=2, replications=1)
    assert res.recommendation is None
    assert all(c["errors"] > 0 and c["p99_ms"] < 10_000 for c in res.candidates)
    assert [c["InitialInstanceCount"] for c in res.candidates] == [1, 2]
