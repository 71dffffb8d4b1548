"""Loader errors for malformed bank files (table-driven) and bank location."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from simlab.errors import ScenarioError
from simlab.quiz.bank import BankError, BankNotFound, bank_dir, load_bank, load_file

GOOD: dict[str, Any] = {
    "id": "serverless-001",
    "topic": "serverless",
    "domain": 3,
    "section": "Deployment Strategies > SageMaker Serverless Inference",
    "scenario": "A small app gets a few requests a day and can wait for cold starts.",
    "options": {"A": "Serverless", "B": "Real-time", "C": "Async", "D": "Batch"},
    "answer": "A",
    "explanations": {"A": "yes", "B": "idle cost", "C": "not needed", "D": "not online"},
}
FACTS = {
    "question": "deployment", "requests_per_day": 10, "traffic": "intermittent", "payload_mb": 0.1,
    "inference_seconds": 1, "latency_slo_ms": None, "realtime": True, "cold_start_ok": True,
    "records": None, "models": 1, "containers": 1,
}
IDS = {"A": "serverless_inference", "B": "real_time_endpoint", "C": "async_inference",
       "D": "batch_transform"}


def write(tmp_path: Path, questions: Any, name: str = "serverless.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(questions, sort_keys=False), encoding="utf-8")
    return path


def mutate(**changes: Any) -> dict[str, Any]:
    q = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            q.pop(key)
        else:
            q[key] = value
    return q


_DROP = object()


def test_good_question_loads(tmp_path: Path) -> None:
    (q,) = load_file(write(tmp_path, [GOOD]))
    assert q.id == "serverless-001" and q.answer == "A" and q.facts is None


def test_good_question_with_facts_loads(tmp_path: Path) -> None:
    (q,) = load_file(write(tmp_path, [mutate(facts=FACTS, option_ids=IDS)]))
    assert q.facts is not None and q.facts["latency_slo_ms"] is None
    assert q.option_ids == IDS


CASES = [
    # (description, question, expected fragment of the error line)
    ("missing answer", mutate(answer=_DROP), "[0].answer: is required"),
    ("answer not a letter", mutate(answer="E"), "[0].answer: must be one of A | B | C | D, got 'E'"),
    ("domain out of range", mutate(domain=5), "[0].domain: must be an integer ≥ 1 and ≤ 4, got 5"),
    ("domain as string", mutate(domain="3"), "[0].domain: must be an integer"),
    ("unknown topic", mutate(topic="servrless"), "(did you mean 'serverless'?)"),
    ("topic not the file's", mutate(topic="batch_transform", id="batch-transform-001"),
     "[0].topic: must be 'serverless' (the file name), got 'batch_transform'"),
    ("bad id shape", mutate(id="Serverless_1"), "[0].id: must be an id like serverless-003"),
    ("id prefix of another topic", mutate(id="batch-transform-001"),
     "[0].id: must be serverless-NNN for topic serverless"),
    ("section not in notes", mutate(section="Deployment > Serverless"),
     "[0].section: must be a section of simlab/quiz/sections.yaml"),
    ("three options", mutate(options={"A": "x", "B": "y", "C": "z"}),
     "serverless-001[0].options: must be a mapping of A, B, C, D to non-empty strings, got keys A, B, C"),
    ("empty option text", mutate(options={"A": "", "B": "y", "C": "z", "D": "w"}),
     "[0].options.A: must be a string"),
    ("explanation missing", mutate(explanations={"A": "a", "B": "b", "C": "c"}),
     "serverless-001[0].explanations: must explain every option (A, B, C, D), got A, B, C"),
    ("options not a mapping", mutate(options=["a", "b", "c", "d"]), "[0].options: must be a mapping"),
    ("empty scenario", mutate(scenario="  "), "[0].scenario: must be a non-empty string"),
    ("unknown field", mutate(answr="A"), "[0].answr: unknown field (did you mean 'answer'?)"),
    ("facts without option_ids", mutate(facts=FACTS), "[0].option_ids: is required when facts"),
    ("option_ids without facts", mutate(option_ids=IDS), "[0].facts: is required when option_ids"),
    ("bad answer id", mutate(facts=FACTS, option_ids={**IDS, "D": "batch"}),
     "[0].option_ids.D: must be a deployment answer id"),
    ("monitoring id for deployment", mutate(facts=FACTS, option_ids={**IDS, "D": "data_quality"}),
     "[0].option_ids.D: must be a deployment answer id"),
    ("repeated answer id", mutate(facts=FACTS, option_ids={**IDS, "D": "async_inference"}),
     "[0].option_ids: must give each option a different answer id"),
    ("facts question unknown", mutate(facts={**FACTS, "question": "deploy"}, option_ids=IDS),
     "[0].facts.question: must be one of deployment | monitoring | rollout (did you mean"),
    ("facts traffic unknown", mutate(facts={**FACTS, "traffic": "bursty"}, option_ids=IDS),
     "[0].facts.traffic: must be one of steady | spiky | intermittent | scheduled, got 'bursty'"),
    ("facts field missing", mutate(facts={k: v for k, v in FACTS.items() if k != "models"},
                                   option_ids=IDS), "[0].facts.models: is required"),
    ("facts payload zero", mutate(facts={**FACTS, "payload_mb": 0}, option_ids=IDS),
     "[0].facts.payload_mb: must be a number > 0, got 0"),
    ("facts realtime not bool", mutate(facts={**FACTS, "realtime": "yes"}, option_ids=IDS),
     "[0].facts.realtime: must be true or false, got 'yes'"),
    ("facts field of other type", mutate(facts={**FACTS, "goal": "simplest"}, option_ids=IDS),
     "[0].facts.goal: unknown field"),
    ("question not a mapping", "just text", "[0]: must be a mapping (quiz question)"),
]


@pytest.mark.parametrize(("question", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_question_is_reported(tmp_path: Path, question: Any, fragment: str) -> None:
    path = write(tmp_path, [question])
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    lines = err.value.lines()
    assert any(fragment in line for line in lines), lines
    assert all(line.startswith(f"error: {path}: ") for line in lines), lines


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, [mutate(answer="E", domain=0), mutate(scenario="")])
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    text = err.value.render()
    assert "[0].answer" in text and "[0].domain" in text and "[1].scenario" in text


@pytest.mark.parametrize(("content", "fragment"), [
    ("", "(top level): must be a non-empty list of questions, got None"),
    ("a: 1\n", "(top level): must be a non-empty list of questions"),
    ("- id: [unclosed\n", "must be valid YAML"),
])
def test_malformed_file_is_reported(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "serverless.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    assert fragment in err.value.render()


def test_file_name_must_be_a_topic(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as err:
        load_file(write(tmp_path, [GOOD], name="serverles.yaml"))
    assert "(file name): must be <topic>.yaml" in err.value.render()
    assert "did you mean 'serverless'" in err.value.render()


def test_duplicate_ids_and_scenarios_across_files(tmp_path: Path) -> None:
    write(tmp_path, [GOOD, mutate(id="serverless-002")])
    with pytest.raises(BankError) as err:
        load_bank(tmp_path)
    assert "serverless-002.scenario: must be unique (also used by serverless-001" in err.value.render()
    write(tmp_path, [GOOD, mutate(scenario="Something else entirely.")])
    with pytest.raises(BankError) as err:
        load_bank(tmp_path)
    assert "serverless-001.id: must be unique" in err.value.render()


def test_bank_error_lists_every_file(tmp_path: Path) -> None:
    write(tmp_path, [mutate(answer="E")])
    bad = mutate(id="batch-transform-001", topic="batch_transform", domain=9,
                 scenario="Another scenario.")
    write(tmp_path, [bad], name="batch_transform.yaml")
    with pytest.raises(BankError) as err:
        load_bank(tmp_path)
    lines = err.value.lines()
    assert any("batch_transform.yaml: batch-transform-001[0].domain" in line for line in lines)
    assert any("serverless.yaml: serverless-001[0].answer" in line for line in lines)


def test_empty_directory_is_not_a_bank(tmp_path: Path) -> None:
    with pytest.raises(BankNotFound):
        load_bank(tmp_path)


def test_bank_dir_from_environment(tmp_path: Path) -> None:
    assert bank_dir({"SIMLAB_QUIZ_BANK": str(tmp_path)}) == tmp_path
    with pytest.raises(BankNotFound, match="SIMLAB_QUIZ_BANK"):
        bank_dir({"SIMLAB_QUIZ_BANK": str(tmp_path / "missing")})


def test_bank_dir_default_is_the_source_tree() -> None:
    import simlab

    expected = Path(simlab.__file__).resolve().parents[1] / "scenarios" / "quiz"
    assert bank_dir({}) == expected
