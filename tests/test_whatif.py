"""simlab whatif: --vary parsing and validation, crossovers vs the closed-form break-even, the
summary.json contract, the report files and HTML escaping."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import simlab.whatif as wi
from simlab import facts
from simlab.cli import Environment, main
from simlab.whatif.aggregate import _cross
from simlab.whatif.sweep import VaryError, apply_values, parse_vary


def run_cli(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    class Err(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = io.StringIO(), Err()
    status = main(list(argv), Environment(stdout=out, stderr=err, environ={}))
    return int(status), out.getvalue(), err.getvalue()


def small(tmp_path: Path, **over) -> Path:
    """A quick scenario: Poisson traffic to a fixed real-time endpoint and a serverless endpoint."""
    raw = {
        "name": "small", "seed": 5, "duration": "20m", "warmup": "1m",
        "workload": {"arrivals": "poisson", "rate_per_s": 5, "payload_kb": 1},
        "deployments": [
            {"name": "rt", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 1,
             "workers_per_instance": 4, "service_time": {"dist": "fixed", "mean_ms": 100}},
            {"name": "sls", "type": "serverless_inference", "memory_mb": 1024, "max_concurrency": 50,
             "service_time": {"dist": "fixed", "mean_ms": 100}},
        ],
    }
    raw.update(over)
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ --vary
def test_parse_vary_lists_and_ranges() -> None:
    assert parse_vary("workload.rate_per_s=1,2.5,4").values == (1, 2.5, 4)
    assert parse_vary("duration=10m,1h").values == ("10m", "1h")
    assert parse_vary("x=lin:0:10:3").values == (0, 5, 10)
    assert parse_vary("x=log:1:100:3").values == (1, 10, 100)
    assert parse_vary("x=lin:1:2:3").values == (1, 1.5, 2)


@pytest.mark.parametrize("arg, words", [
    ("workload.rate_per_s", "must be PATH=VALUES"),
    ("workload.rate_per_s=", "must be PATH=VALUES"),
    ("workload..rate=1", "dotted names"),
    ("x=lin:1:2", "lin:START:STOP:N"),
    ("x=lin:a:2:3", "two numbers and an integer"),
    ("x=log:0:10:3", "START and STOP must be > 0"),
    ("x=lin:1:2:0", "N must be an integer"),
    ("x=1,,2", "without empty items"),
    ("x=1,1", "must not repeat"),
])
def test_bad_vary_syntax_is_named(arg: str, words: str) -> None:
    with pytest.raises(VaryError) as e:
        parse_vary(arg)
    assert f"--vary {arg}" in str(e.value) and words in str(e.value)


def test_apply_values_reaches_deployments_by_name_and_creates_missing_mappings() -> None:
    raw = {"deployments": [{"name": "a", "instance_count": 1}, {"name": "b", "instance_count": 2}]}
    out = apply_values(raw, {"deployments.b.instance_count": 5, "slo.p99_ms": 300})
    assert out["deployments"][1]["instance_count"] == 5 and out["deployments"][0]["instance_count"] == 1
    assert out["slo"] == {"p99_ms": 300}
    assert raw["deployments"][1]["instance_count"] == 2  # the base is untouched
    with pytest.raises(KeyError, match="no element named 'c'"):
        apply_values(raw, {"deployments.c.instance_count": 1})


@pytest.mark.parametrize("vary, words", [
    ("workload.rate_per_sec=1,2", ["--vary workload.rate_per_sec=1,2", "unknown field", "rate_per_s"]),
    ("deployments.nope.instance_count=1", ["no element named 'nope'", "rt, sls"]),
    ("deployments.rt.instance_count=0,2", ["value 0", "deployments[0].instance_count",
                                            "must be an integer ≥ 1, got 0"]),
    ("deployments.sls.memory_mb=1000", ["value 1000", "memory_mb", "1024"]),
    ("duration=lin:-10:10:3", ["value -10", "duration"]),
    ("workload.rate_per_s=fast", ["value 'fast'", "rate_per_s", "must be a number"]),
])
def test_bad_vary_paths_and_values_exit_2_before_running(tmp_path: Path, vary: str, words: list[str]) -> None:
    out_dir = tmp_path / "out"
    status, out, err = run_cli("whatif", str(small(tmp_path)), "--vary", vary, "--out", str(out_dir))
    assert status == 2 and out == ""
    for w in words:
        assert w in err, err
    assert all(line.startswith("error: ") for line in err.strip().splitlines())
    assert not out_dir.exists()  # nothing ran


def test_a_point_only_bad_in_combination_is_named(tmp_path: Path) -> None:
    status, _, err = run_cli("whatif", str(small(tmp_path)), "--vary", "deployments.sls.max_concurrency=1,5",
                             "--vary", "deployments.sls.provisioned_concurrency=0,3")
    assert status == 2
    assert "--vary point deployments.sls.max_concurrency=1, deployments.sls.provisioned_concurrency=3" in err
    assert "must be ≤ max_concurrency" in err


@pytest.mark.parametrize("args, words", [
    (["--replications", "0"], "--replications: must be an integer ≥ 1, got 0"),
    (["--seed", "-1"], "--seed: must be an integer ≥ 0, got -1"),
    (["--workers", "0"], "--workers: must be an integer ≥ 1, got 0"),
])
def test_bad_options(tmp_path: Path, args: list[str], words: str) -> None:
    status, _, err = run_cli("whatif", str(small(tmp_path)), *args)
    assert status == 2 and words in err


def test_dask_missing_is_one_line_naming_the_extra(tmp_path: Path, monkeypatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    status, out, err = run_cli("whatif", str(small(tmp_path)), "--dask", "local")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "pip install 'simlab[dask]'" in err


# ------------------------------------------------------------------------------ crossovers
def test_cross_interpolates_sign_changes() -> None:
    assert _cross([0, 10], [-1, 3]) == [2.5]
    assert _cross([0, 10, 20], [1, 2, 3]) == []
    assert _cross([0, 10, 20], [-1, 1, -1]) == [5.0, 15.0]


def test_cost_crossover_matches_break_even_from_price_data(tmp_path: Path) -> None:
    """Serverless bills per request (GB-s + data), one instance per hour: they cost the same at
    rate* = hourly price / 3600 / cost per request. Fixed 100 ms model time, 1 KiB in and out."""
    gb_s = facts.price("serverless_compute_per_gb_s")
    per_gb = facts.price("serverless_data_per_gb")
    per_request = 0.100 * 1.0 * gb_s + (1024 + 1024) / 2**30 * per_gb
    rate_star = facts.instance("ml.m5.large").price_per_hour / 3600.0 / per_request
    assert 12 < rate_star < 18  # the sweep below brackets it
    path = small(tmp_path, duration="1h", warmup=0)
    w = wi.whatif(path, ["workload.rate_per_s=10,14,18,22"], replications=2)
    cost = [c for c in w.crossovers if c["metric"] == "cost_usd"]
    assert len(cost) == 1 and {cost[0]["a"], cost[0]["b"]} == {"rt", "sls"}
    assert cost[0]["path"] == "workload.rate_per_s"
    assert cost[0]["at"] == pytest.approx(rate_star, rel=0.02)
    # serverless is cheaper below the break-even, the instance above it
    lo, hi = w.points[0]["deployments"], w.points[-1]["deployments"]
    assert lo["sls"]["cost_usd"]["mean"] < lo["rt"]["cost_usd"]["mean"]
    assert hi["sls"]["cost_usd"]["mean"] > hi["rt"]["cost_usd"]["mean"]


def test_slo_crossing_is_reported(tmp_path: Path) -> None:
    """One instance, one worker, exponential 100 ms: M/M/1, whose response time is exponential with
    rate μ − λ, so p99 = ln(100)/(10 − λ) s crosses a 1 s SLO at λ* = 10 − ln 100 ≈ 5.39/s."""
    import math

    raw = yaml.safe_load(small(tmp_path, duration="1h").read_text())
    raw["deployments"] = [raw["deployments"][0] | {"workers_per_instance": 1, "overhead_ms": 0,
                                                  "service_time": {"dist": "exponential", "mean_ms": 100}}]
    raw["slo"] = {"p99_ms": 1000}
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    w = wi.whatif(path, ["workload.rate_per_s=2,5,6,8"], replications=2)
    lam_star = 10 - math.log(100)
    slo = [c for c in w.crossovers if c["b"] == "SLO"]
    assert len(slo) == 1 and slo[0]["a"] == "rt"
    assert 5 < slo[0]["at"] < 6 and 5 < lam_star < 6
    att = [p["deployments"]["rt"]["slo_attainment"]["mean"] for p in w.points]
    assert all(a > b for a, b in zip(att, att[1:], strict=False))  # fewer requests within 1 s as load grows
    # attainment = P(response ≤ 1 s) = 1 − exp(−(μ − λ)·1 s) for M/M/1
    assert att[0] == pytest.approx(1 - math.exp(-8.0), abs=0.002)


# ------------------------------------------------------------------------------ the contract
def test_json_shape_and_tidy_csv(tmp_path: Path) -> None:
    out_dir = tmp_path / "rep"
    status, out, err = run_cli("whatif", str(small(tmp_path)), "--vary", "workload.rate_per_s=2,4",
                               "--replications", "2", "--workers", "1", "--json", "--out", str(out_dir))
    assert status == 0, err
    s = json.loads(out)
    assert s == json.loads((out_dir / "summary.json").read_text())
    assert s["vary"] == ["workload.rate_per_s"]
    assert [p["values"] for p in s["points"]] == [{"workload.rate_per_s": 2}, {"workload.rate_per_s": 4}]
    cell = s["points"][0]["deployments"]["rt"]["latency_ms.p99"]
    assert set(cell) == {"mean", "ci95"} and cell["ci95"][0] <= cell["mean"] <= cell["ci95"][1]
    for metric in ("cost_usd", "cost_per_1k_usd", "latency_ms.p50", "cold_starts", "failed"):
        assert metric in s["points"][0]["deployments"]["sls"]
    assert set(s["recommendation"]) >= {"deployment", "simlab_recommend"}
    assert all(set(c) >= {"metric", "a", "b", "path", "at"} for c in s["crossovers"])
    frame = pd.read_csv(out_dir / "results.csv")
    assert len(frame) == 2 * 2 * 2  # points × replications × deployments
    assert {"point", "replication", "seed", "workload.rate_per_s", "deployment", "cost_usd",
            "latency_ms.p99", "errors.payload_too_large" if "errors.payload_too_large" in frame else "arrived"} <= set(frame)
    # the mean in summary.json is the mean of the CSV's replications (independent recomputation)
    rows = frame[(frame["point"] == 1) & (frame["deployment"] == "sls")]
    assert s["points"][1]["deployments"]["sls"]["cost_usd"]["mean"] == pytest.approx(rows["cost_usd"].mean())
    # two replications use two different spawned seeds, the same for every point
    assert frame.groupby("point")["seed"].apply(lambda x: tuple(sorted(set(x)))).nunique() == 1
    assert frame["seed"].nunique() == 2
    files = {p.name for p in out_dir.iterdir()} | {p.name for p in (out_dir / "plots").iterdir()}
    assert {"report.html", "report.md", "results.csv", "summary.json", "latency_cdf.png",
            "cost_vs_p99.png", "cost_usd_vs_workload_rate_per_s.png"} <= files
    md = (out_dir / "report.md").read_text()
    for link in [line[line.index("(") + 1:-1] for line in md.splitlines() if line.startswith("![")]:
        assert (out_dir / link).is_file()


def test_default_replications_and_terminal_output(tmp_path: Path) -> None:
    status, out, err = run_cli("whatif", str(small(tmp_path)), "--workers", "1")
    assert status == 0 and err == ""  # no progress bar off a terminal
    assert "1 replication(s)" in out and "rt" in out and "sls" in out
    status, out, err = run_cli("whatif", str(small(tmp_path)), "--vary", "workload.rate_per_s=2,3",
                               "--workers", "1", "--quiet")
    assert status == 0 and "3 replication(s)" in out and "crossovers" in out


def test_progress_bar_on_a_terminal_only_without_quiet(tmp_path: Path) -> None:
    _, _, err = run_cli("whatif", str(small(tmp_path, duration="5m")), "--vary", "workload.rate_per_s=2,3",
                        "--replications", "1", "--workers", "1", tty=True)
    assert "what-if" in err and "/2 [" in err  # a tqdm bar counting 2 runs (redraws depend on timing)
    _, _, err = run_cli("whatif", str(small(tmp_path, duration="5m")), "--vary", "workload.rate_per_s=2,3",
                        "--replications", "1", "--workers", "1", "--quiet", tty=True)
    assert err == ""


# ------------------------------------------------------------------------------ escaping
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_every_user_string_is_escaped(tmp_path: Path) -> None:
    path = small(tmp_path, name=EVIL, description=EVIL + " & more")
    w = wi.whatif(path, ["workload.rate_per_s=2,3"], replications=1)
    out_dir = tmp_path / "rep"
    w.write(out_dir)
    for text in ((out_dir / "report.html").read_text(), w._repr_html_(), (out_dir / "report.md").read_text()):
        assert "<script" not in text and "<img src=x" not in text
        assert "&lt;script&gt;" in text
    page = (out_dir / "report.html").read_text()
    assert "http://" not in page and "https://" not in page and "<link" not in page  # no network
    assert page.count('<img src="data:image/png;base64,') == len(list((out_dir / "plots").iterdir()))


def test_repr_html_and_frame_in_python(tmp_path: Path) -> None:
    w = wi.whatif(small(tmp_path, duration="5m"), replications=2)
    assert list(w.frame["deployment"].unique()) == ["rt", "sls"] and len(w.frame) == 4
    html = w._repr_html_()
    assert html.startswith('<div class="simlab-whatif">') and "data:image/png;base64," in html
    import re

    style = html[html.index("<style>") + 7:html.index("</style>")]
    selectors = [x.strip() for rule in re.findall(r"([^{}]+)\{", style) for x in rule.split(",")]
    assert len(selectors) > 5 and all(x.startswith(".simlab-whatif") for x in selectors)  # no leak into Jupyter
    assert set(w.figures()) >= {"latency_cdf", "latency_over_time", "instances_over_time", "cumulative_cost",
                                "cold_starts_errors"}


def test_cumulative_cost_ends_at_the_exact_total(tmp_path: Path) -> None:
    """The cost-over-time series (per-minute instances × price) ends at the run's billed total."""
    w = wi.whatif(small(tmp_path, warmup=0), replications=1)
    series = w.results[0]["series"]
    for name in ("rt", "sls"):
        exact = w.results[0]["summary"]["deployments"][name]["cost_usd"]
        assert series[name]["cost"][-1] == pytest.approx(exact, abs=1e-6)  # summary rounds to 6 places
    assert series["rt"]["instances"] == pytest.approx([1.0] * len(series["rt"]["instances"]))


def test_pareto_front_keeps_options_no_other_beats_on_both() -> None:
    from simlab.plots import pareto_front

    cost = [1.0, 2.0, 3.0, 2.5, 1.0]
    p99 = [300.0, 100.0, 50.0, 200.0, 400.0]
    # option 3 is beaten by option 1 (cheaper and faster); option 4 by option 0 (same cost, faster)
    assert pareto_front(cost, p99) == [0, 1, 2]
