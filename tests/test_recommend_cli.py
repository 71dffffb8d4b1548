"""``simlab recommend`` through ``simlab.cli.main``: JSON shape, errors (exit 2), determinism."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.cli import Environment, ExitStatus, main
from simlab.decide import ANSWERS

FACTS_DIR = Path(__file__).resolve().parents[1] / "scenarios" / "facts"


def run(argv: list[str], stdin: str = "") -> tuple[ExitStatus, str, str]:
    env = Environment(stdin=io.StringIO(stdin), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={})
    status = main(argv, env)
    return status, env.stdout.getvalue(), env.stderr.getvalue()


def write(tmp_path: Path, text: str, name: str = "facts.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("path", sorted(FACTS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_json_shape(path: Path) -> None:
    status, out, err = run(["recommend", str(path), "--json"])
    assert status == ExitStatus.SUCCESS and err == ""
    data = json.loads(out)
    keys = ["question", "recommendation", "also", "ruled_out", "reasons", "estimates"]
    # rollout answers add one key after the existing ones: the simulated blast radius per strategy
    assert list(data) == keys + (["blast_radius"] if data["question"] == "rollout" else [])
    assert set(data.get("blast_radius", {})) <= set(ANSWERS["rollout"])
    ids = set(ANSWERS[data["question"]])
    assert data["recommendation"] in ids
    assert set(data["also"]) <= ids and set(data["ruled_out"]) <= ids
    assert all(isinstance(r, str) and r for r in data["reasons"])
    for option, est in data["estimates"].items():
        assert option in ids and set(est) == {"monthly_cost_usd", "p99_latency_ms"}
        assert all(isinstance(v, int | float) for v in est.values())
    assert bool(data["estimates"]) == (data["question"] == "deployment")


def test_json_is_one_object_on_stdout() -> None:
    _, out, _ = run(["recommend", str(FACTS_DIR / "steady-api-slo.yaml"), "--json"])
    assert out.endswith("}\n") and out.count("\n}\n") == 1


def test_text_output_explains() -> None:
    status, out, _ = run(["recommend", str(FACTS_DIR / "large-payload-realtime.yaml")])
    assert status == ExitStatus.SUCCESS
    for heading in ("Recommendation: async_inference", "Why:", "Ruled out:", "Estimates ("):
        assert heading in out
    assert "6 MiB" in out and "25 MB" in out


@pytest.mark.parametrize("name", ["intermittent-small-payload", "rollout-reduce-risk"])
@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_deterministic(name: str, flags: list[str]) -> None:
    argv = ["recommend", str(FACTS_DIR / f"{name}.yaml"), *flags]
    outputs = {run(argv)[1] for _ in range(3)}
    assert len(outputs) == 1


def test_reads_stdin() -> None:
    status, out, _ = run(["recommend", "-", "--json"], stdin="question: rollout\ngoal: compare_models\n")
    assert status == ExitStatus.SUCCESS and json.loads(out)["recommendation"] == "ab_test"


BAD_FILES = [
    # id, file text, substrings that must appear in the stderr lines (each names the field)
    ("bad-yaml", "question: deployment\npayload_mb: [1, 2\n", ["invalid YAML syntax"]),
    ("unknown-field", "question: deployment\nrequests_per_day: 5\npayload_mb: 1\n"
     "inference_seconds: 1\ntrafic: steady\n", ["trafic: unknown field (did you mean 'traffic'?)"]),
    ("negative-rate", "question: deployment\nrequests_per_day: -5\npayload_mb: 1\n"
     "inference_seconds: 1\n", ["requests_per_day: must be a number ≥ 0, got -5"]),
    ("wrong-enum", "question: deployment\nrequests_per_day: 5\npayload_mb: 1\n"
     "inference_seconds: 1\ntraffic: burst\n", ["traffic: must be one of steady | spiky | intermittent"]),
    ("wrong-type", "question: deployment\nrequests_per_day: 5\npayload_mb: big\n"
     "inference_seconds: 1\n", ["payload_mb: must be a number ≥ 0, got 'big'"]),
    ("unknown-question", "question: deploy\n", ["question: must be one of deployment | monitoring | "
                                                  "rollout (did you mean 'deployment'?)"]),
    ("missing-concern", "question: monitoring\nlabels: none\n",
     ["concern: is required when question is monitoring"]),
    ("missing-volume", "question: deployment\npayload_mb: 1\ninference_seconds: 1\n",
     ["requests_per_day: is required when question is deployment and records is null"]),
    ("duplicate-key", "question: rollout\ngoal: simplest\ngoal: reduce_risk\n",
     ["line 3: duplicate key 'goal': give each key once (first given on line 2)"]),
    ("not-a-mapping", "- question: rollout\n", ["(top level): must be a mapping (facts)"]),
    # simlab's reader takes 1e12 as a number (YAML 1.2); quoted, it is text: the message says so
    ("quoted-exponent", "question: deployment\nrequests_per_day: '1e12'\npayload_mb: 1\n"
     "inference_seconds: 1\n", ["requests_per_day: must be a number ≥ 0 (YAML read '1e12' as text: "
                                 "write it as 1.0e+12), got '1e12'"]),
    ("quoted-exponent-integer", "question: deployment\nrecords: '5e6'\npayload_mb: 1\n"
     "inference_seconds: 1\n", ["records: must be an integer ≥ 1 (YAML read '5e6' as text: "
                                 "write it as 5.0e+06), got '5e6'"]),
    ("several-problems", "question: deployment\nrequests_per_day: -1\npayload_mb: 1\n"
     "inference_seconds: 0\nmodels: 0\nlabels: maybe\n",
     ["requests_per_day: must be", "inference_seconds: must be a number > 0", "models: must be an "
      "integer ≥ 1", "labels: must be one of none | delayed | immediate"]),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_facts_exit_2_with_one_line_per_problem(tmp_path: Path, text: str,
                                                    expected: list[str]) -> None:
    path = write(tmp_path, text)
    status, out, err = run(["recommend", path, "--json"])
    assert status == ExitStatus.USAGE and out == ""
    lines = err.splitlines()
    assert lines and all(line.startswith(f"error: {path}: ") for line in lines)
    assert len(lines) == len(expected)
    for fragment in expected:
        assert any(fragment in line for line in lines), (fragment, lines)
    assert "Traceback" not in err


NUMBER_TEXTS = [
    # id, how requests_per_day is written, read as a number, a hint expected in the error
    ("exponent-without-dot", "1e12", True, False),
    ("quoted-exponent", "'1e12'", False, True),
    ("with-dot-and-sign", "1.0e+12", True, False),
    ("plain-float", "1000000000000.0", True, False),
    ("plain-int", "1000000000000", True, False),
    ("not-a-number", "lots", False, False),
]


@pytest.mark.parametrize("written, number, hint", [c[1:] for c in NUMBER_TEXTS],
                         ids=[c[0] for c in NUMBER_TEXTS])
def test_numbers_yaml_reads_as_text_get_a_hint(tmp_path: Path, written: str, number: bool,
                                              hint: bool) -> None:
    """Both sides: the forms YAML 1.1 reads as a number pass; text that parses as a number gets
    the hint; other text gets the plain message."""
    path = write(tmp_path, f"question: deployment\nrequests_per_day: {written}\npayload_mb: 0.01\n"
                           "inference_seconds: 0.001\n")
    status, out, err = run(["recommend", path, "--json"])
    assert (status == ExitStatus.SUCCESS) is number, err
    if number:
        assert json.loads(out)["recommendation"] is not None
        return
    assert status == ExitStatus.USAGE and len(err.splitlines()) == 1
    assert ("YAML read" in err) is hint
    if hint:
        assert f"write it as {float(written.strip(chr(39))):.1e}" in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    status, _, err = run(["recommend", str(tmp_path / "nope.yaml")])
    assert status == ExitStatus.USAGE and "cannot read the file" in err


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import io, sys\nfrom simlab.cli import Environment, main\n"
            "env = Environment(stdout=io.StringIO(), stderr=io.StringIO())\n"
            "main(['recommend', '--help'], env)\n"
            f"main(['recommend', {str(FACTS_DIR / 'per-customer-models.yaml')!r}], env)\n"
            "print(sorted(m for m in ('pandas', 'sklearn', 'matplotlib', 'scipy', 'numpy', 'simpy')"
            " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
