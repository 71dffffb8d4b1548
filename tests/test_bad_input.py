"""Malformed scenario files: exit code 2, one line per problem naming file and field, no traceback."""

from __future__ import annotations

import io
import textwrap

import pytest

from simlab.cli import Environment, ExitStatus, main

GOOD = """\
name: t
duration: 1h
workload: {arrivals: poisson, rate_per_s: 2}
deployments:
  - {name: rt, type: real_time_endpoint, instance_type: ml.m5.large, instance_count: 1}
"""

# (case id, file text, substrings that must appear in the error output)
CASES = [
    ("yaml-syntax", "name: t\nduration: [1h\n", ["line 3", "invalid YAML"]),
    ("not-a-mapping", "- just\n- a list\n", ["(top level)", "must be a mapping"]),
    ("missing-duration", GOOD.replace("duration: 1h\n", ""), ["duration: is required"]),
    ("bad-duration-unit", GOOD.replace("1h", "1 week"), ["duration: must be a duration", "'1 week'"]),
    ("negative-duration", GOOD.replace("1h", "-5"), ["duration: must be a duration"]),
    ("warmup-too-long", GOOD.replace("duration: 1h", "duration: 1h\nwarmup: 2h"), ["warmup: must be shorter"]),
    ("unknown-top-field", GOOD + "duraton: 3\n", ["duraton: unknown field (did you mean 'duration'?)"]),
    ("negative-rate", GOOD.replace("rate_per_s: 2", "rate_per_s: -3"), ["workload.rate_per_s: must be a number > 0", "got -3"]),
    ("zero-rate", GOOD.replace("rate_per_s: 2", "rate_per_s: 0"), ["workload.rate_per_s", "got 0"]),
    ("string-rate", GOOD.replace("rate_per_s: 2", "rate_per_s: fast"), ["workload.rate_per_s", "'fast'"]),
    ("quoted-exponent", GOOD.replace("rate_per_s: 2", "rate_per_s: '2e3'"), ["workload.rate_per_s", "YAML read '2e3' as text: write it as 2.0e+03"]),
    ("duplicate-top-key", GOOD + "duration: 2h\n", ["line 6: duplicate key 'duration': give each key once (first given on line 2)"]),
    ("duplicate-nested-key", GOOD.replace("rate_per_s: 2}", "rate_per_s: 2, rate_per_s: 3}"), ["line 3: duplicate key 'rate_per_s'"]),
    ("unknown-arrivals", GOOD.replace("poisson", "poison"), ["workload.arrivals: must be one of", "did you mean 'poisson'"]),
    ("field-of-other-kind", GOOD.replace("rate_per_s: 2", "rate_per_s: 2, peak_rate_per_s: 4"), ["workload.peak_rate_per_s: unknown field"]),
    ("schedule-needs-times", GOOD.replace("{arrivals: poisson, rate_per_s: 2}", "{arrivals: schedule}"), ["workload.times: give exactly one"]),
    ("trace-missing-file", GOOD.replace("{arrivals: poisson, rate_per_s: 2}", "{arrivals: trace, file: nowhere.csv}"), ["workload.file: must name a readable CSV file"]),
    ("bad-payload-dist", GOOD.replace("rate_per_s: 2}", "rate_per_s: 2, payload_kb: {dist: normal, mean_kb: 3}}"), ["workload.payload_kb.dist: must be one of"]),
    ("lognormal-needs-shape", GOOD.replace("instance_count: 1}", "instance_count: 1, service_time: {dist: lognormal, mean_ms: 30}}"), ["deployments[0].service_time: lognormal needs exactly one of p99_ms or cv"]),
    ("p99-below-mean", GOOD.replace("instance_count: 1}", "instance_count: 1, service_time: {dist: lognormal, mean_ms: 30, p99_ms: 10}}"), ["deployments[0].service_time: lognormal p99_ms must be above mean_ms"]),
    ("zero-instances", GOOD.replace("instance_count: 1", "instance_count: 0"), ["deployments[0].instance_count: must be an integer ≥ 1, got 0"]),
    ("float-instances", GOOD.replace("instance_count: 1", "instance_count: 1.5"), ["deployments[0].instance_count: must be an integer", "got 1.5"]),
    ("unknown-instance-type", GOOD.replace("ml.m5.large", "ml.m5.larg"), ["deployments[0].instance_type: must be a known instance type", "did you mean 'ml.m5.large'"]),
    ("unknown-deployment-type", GOOD.replace("real_time_endpoint", "realtime_endpoint"), ["deployments[0].type: must be one of", "did you mean 'real_time_endpoint'"]),
    ("unknown-deployment-field", GOOD.replace("instance_count: 1}", "instance_count: 1, instances: 3}"), ["deployments[0].instances: unknown field"]),
    ("bad-routing", GOOD.replace("instance_count: 1}", "instance_count: 1, routing: ROUND_ROBIN}"), ["deployments[0].routing: must be one of RANDOM | LEAST_OUTSTANDING_REQUESTS", "'ROUND_ROBIN'"]),
    ("duplicate-names", GOOD + "  - {name: rt, type: real_time_endpoint}\n", ["deployments: deployment names must be unique", "rt"]),
    ("no-deployments", GOOD.split("deployments:")[0] + "deployments: []\n", ["deployments: must be a list of 1 or more"]),
    ("bad-name", GOOD.replace("name: rt", "name: my_endpoint!"), ["deployments[0].name: must be a name of at most 63 letters, digits and hyphens"]),
    ("unknown-model", GOOD + "model: breast_cancer_logistic\n", ["model: must be a bundled model", "breast_cancer_logreg"]),
    ("autoscaling-min-max", GOOD.replace("instance_count: 1}", "instance_count: 1, autoscaling: {min_instances: 3, max_instances: 2, target_invocations_per_instance: 100}}"), ["deployments[0].autoscaling.max_instances: must be ≥ min_instances (3)"]),
    ("async-autoscaling-min-max", GOOD.replace("type: real_time_endpoint, instance_type: ml.m5.large, instance_count: 1}", "type: async_inference, autoscaling: {min_instances: 3, max_instances: 2}}"), ["deployments[0].autoscaling.max_instances: must be ≥ min_instances (3), got 2"]),
    ("async-count-outside-scaling", GOOD.replace("type: real_time_endpoint, instance_type: ml.m5.large, instance_count: 1}", "type: async_inference, instance_count: 5, autoscaling: {max_instances: 2}}"), ["deployments[0].instance_count: must lie within autoscaling min_instances…max_instances (1…2), got 5"]),
    ("autoscaling-needs-target", GOOD.replace("instance_count: 1}", "instance_count: 1, autoscaling: {max_instances: 2}}"), ["deployments[0].autoscaling.target_invocations_per_instance: is required"]),
    ("count-outside-scaling", GOOD.replace("instance_count: 1}", "instance_count: 5, autoscaling: {max_instances: 2, target_invocations_per_instance: 100}}"), ["deployments[0].instance_count: must lie within autoscaling"]),
    ("variant-weights-zero", GOOD.replace("instance_count: 1}", "instance_count: 1, variants: [{name: a, weight: 0}]}"), ["deployments[0].variants: at least one variant weight must be > 0"]),
    ("too-many-variants", GOOD.replace("instance_count: 1}", "instance_count: 1, variants: [" + ", ".join(f"{{name: v{i}}}" for i in range(11)) + "]}"), ["deployments[0].variants: must be a list of 1–10"]),
    ("variant-unknown-field", GOOD.replace("instance_count: 1}", "instance_count: 1, variants: [{name: a, wieght: 2}]}"), ["deployments[0].variants[0].wieght: unknown field (did you mean 'weight'?)"]),
    ("negative-seed", GOOD + "seed: -1\n", ["seed: must be an integer ≥ 0, got -1"]),
    ("type-is-a-list", GOOD.replace("type: real_time_endpoint", "type: [real_time_endpoint]"), ["deployments[0].type: must be one of"]),
    ("unknown-deployment-model", GOOD.replace("instance_count: 1}", "instance_count: 1, model: nope}"), ["deployments[0].model: must be a bundled model"]),
    ("model-version-without-retraining", GOOD.replace("instance_count: 1}", "instance_count: 1, model_version: 1}"), ["deployments[0].model_version: must be an integer ≥ 0 and ≤ 0, got 1"]),
    ("too-many-requests", GOOD.replace("rate_per_s: 2", "rate_per_s: 1.0e+7"), ["workload: must generate at most 50,000,000 requests"]),
    ("bursty-periods-too-short", GOOD.replace("{arrivals: poisson, rate_per_s: 2}", "{arrivals: bursty, rate_per_s: 1, mean_on: 1.0e-6, mean_off: 1.0e-6}").replace("duration: 1h", "duration: 1d"), ["workload: must generate at most"]),
    ("fixed-with-cv", GOOD.replace("instance_count: 1}", "instance_count: 1, service_time: {dist: fixed, mean_ms: 3, cv: 1}}"), ["deployments[0].service_time: fixed takes only mean_ms (not cv)"]),
    ("diurnal-trough-above-peak", GOOD.replace("{arrivals: poisson, rate_per_s: 2}", "{arrivals: diurnal, trough_rate_per_s: 3, peak_rate_per_s: 1}"), ["workload.trough_rate_per_s: must be ≤ peak_rate_per_s (1), got 3"]),
    ("name-too-long", GOOD.replace("name: rt", "name: " + "a" * 64), ["deployments[0].name: must be a name of at most 63"]),
    ("pipeline-steps-out-of-order", GOOD.replace("model: breast_cancer_logreg\n", "") + "  - {name: p, type: serial_inference_pipeline, containers: [{name: a, step: logreg}, {name: b, step: scaler}]}\n", ["deployments[1].containers: the containers' `step` entries must cover the model's pipeline steps"]),
    ("batch-at-infinite", GOOD + "  - {name: b, type: batch_transform, schedule: {every: 1d, at: .inf}}\n", ["deployments[1].schedule: must be", "finite"]),
    ("model-of-another-dataset", GOOD.replace("instance_count: 1}", "instance_count: 1, model: wine_rf}"), ["deployments[0].model: must be a model of the scenario's dataset", "wine_rf (wine)"]),
]


def run_cli(tmp_path, text: str) -> tuple[int, str, str]:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(["simulate", str(path)], Environment(stdin=io.StringIO(), stdout=out, stderr=err, environ={}))
    return code, out.getvalue(), err.getvalue()


def test_good_file_runs(tmp_path) -> None:
    code, out, err = run_cli(tmp_path, GOOD)
    assert code == ExitStatus.SUCCESS, err
    assert "rt" in out


@pytest.mark.parametrize(("case", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file_exits_2_naming_the_field(tmp_path, case: str, text: str, expected: list[str]) -> None:
    code, out, err = run_cli(tmp_path, text)
    assert code == ExitStatus.USAGE
    assert out == ""
    assert "Traceback" not in err
    for line in err.strip().splitlines():
        assert line.startswith(f"error: {tmp_path / 'scenario.yaml'}: "), line
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in {err!r}"


def test_every_duplicate_key_is_one_line_naming_both_lines(tmp_path) -> None:
    text = GOOD.replace("name: t\n", "name: t\nname: u\n") + "duration: 2h\n"
    code, out, err = run_cli(tmp_path, text)
    file = tmp_path / "scenario.yaml"
    assert code == ExitStatus.USAGE and out == ""
    assert err.strip().splitlines() == [
        f"error: {file}: line 2: duplicate key 'name': give each key once (first given on line 1)",
        f"error: {file}: line 7: duplicate key 'duration': give each key once (first given on line 3)"]


def test_exponents_without_a_dot_are_numbers(tmp_path) -> None:
    import json

    from simlab.cli import Environment as Env

    text = GOOD.replace("rate_per_s: 2", "rate_per_s: 2e0, payload_kb: 1e-3").replace("duration: 1h", "duration: 3.6e3")
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert main(["simulate", str(tmp_path / "s.yaml"), "--json"], Env(stdout=out, stderr=err, environ={})) == 0, err.getvalue()
    assert json.loads(out.getvalue())["duration_s"] == 3600.0
    from simlab.yamlio import parse_yaml

    assert parse_yaml("[2e3, 1e-3, -1E+2, 1.5, '2e3', e3, 1_0, .5e1]") == [2000.0, 0.001, -100.0, 1.5, "2e3", "e3", 10, 5.0]


def test_data_files_and_facts_use_the_same_reader(tmp_path) -> None:
    from simlab.decide.facts_file import load_facts
    from simlab.errors import ScenarioError

    path = tmp_path / "facts.yaml"
    path.write_text("question: rollout\ngoal: simplest\ngoal: reduce_risk\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 3: duplicate key 'goal'"):
        load_facts(path)


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    text = textwrap.dedent("""\
        name: t
        duration: -1
        workload: {arrivals: poisson, rate_per_s: -2}
        deployments:
          - {name: rt, type: real_time_endpoint, instance_count: 0, workers_per_instance: 0}
    """)
    code, _, err = run_cli(tmp_path, text)
    assert code == ExitStatus.USAGE
    assert len(err.strip().splitlines()) == 4


def test_empty_trace_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "empty.csv").write_text("timestamp\n")
    code, _, err = run_cli(tmp_path, GOOD.replace("{arrivals: poisson, rate_per_s: 2}", "{arrivals: trace, file: empty.csv}"))
    assert code == ExitStatus.USAGE and "workload.file: must be a CSV" in err and "Warning" not in err


def test_out_that_cannot_be_a_directory_is_a_usage_error(tmp_path) -> None:
    (tmp_path / "scenario.yaml").write_text(GOOD)
    (tmp_path / "taken").write_text("a file")
    out, err = io.StringIO(), io.StringIO()
    code = main(["simulate", str(tmp_path / "scenario.yaml"), "--out", str(tmp_path / "taken")],
                Environment(stdout=out, stderr=err, environ={}))
    assert code == ExitStatus.USAGE and "error: --out:" in err.getvalue() and "Traceback" not in err.getvalue()


def test_missing_file_is_a_usage_error(tmp_path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["simulate", str(tmp_path / "nope.yaml")], Environment(stdout=out, stderr=err, environ={}))
    assert code == ExitStatus.USAGE and "cannot read the file" in err.getvalue()


@pytest.mark.parametrize("argv", [["simulate"], ["simulate", "--replications", "2"], ["whatif", "--quiet"]])
def test_an_out_folder_that_cannot_be_written_is_a_usage_error(tmp_path, argv) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nduration: 10m\nworkload: {arrivals: poisson, rate_per_s: 1}\n"
                        "deployments: [{name: rt, type: real_time_endpoint, instance_type: ml.m5.large,"
                        " instance_count: 1, service_time: 20}]\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out, err = io.StringIO(), io.StringIO()
    code = main([argv[0], str(scenario), *argv[1:], "--out", str(blocker / "run")],
                Environment(stdout=out, stderr=err, environ={}))
    assert code == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --out: must be a directory simlab can create and write, "
                                                    f"got {blocker / 'run'} (")
    assert "Traceback" not in err.getvalue()
