"""Question types (single, multiple, ordering, matching, case studies): loading, validation,
typed answers, all-or-nothing scoring, feedback, and the mock exam's draw, runner and score."""

from __future__ import annotations

import copy
import io
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from simlab.errors import ScenarioError
from simlab.quiz.bank import Bank, grade, key_text, load_bank, load_file
from simlab.quiz.exam import (
    ExamState,
    draw,
    draw_plan,
    quotas,
    render_results,
    run_exam,
    scaled_score,
)
from simlab.quiz.session import (
    Ended,
    ScriptedInput,
    parse_response,
    render_feedback,
    render_question,
    run_session,
    view_for,
)

TINY = Path(__file__).with_name("quizbank")


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank(TINY)


def q_(bank: Bank, n: int):
    return bank.by_id()[f"serverless-{n:03d}"]


# ----------------------------------------------------------------- loading


def test_every_type_loads_with_its_key(bank: Bank) -> None:
    kinds = {q.id: (q.type, key_text(q)) for q in bank.questions}
    assert kinds == {
        "serverless-001": ("single", "B"), "serverless-002": ("multiple", "A,C"),
        "serverless-003": ("ordering", "B,C,A"), "serverless-004": ("matching", "1=A,2=B,3=C"),
        "serverless-005": ("single", "A"), "serverless-006": ("multiple", "A,B,C"),
    }
    case = bank.by_id()["serverless-005"].case
    assert case is not None and case.question_ids == ("serverless-005", "serverless-006")
    assert bank.by_id()["serverless-006"].case == case and bank.cases() == [case]


def _raw() -> list[Any]:
    return yaml.safe_load((TINY / "serverless.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, items: list[Any]) -> Path:
    path = tmp_path / "serverless.yaml"
    path.write_text(yaml.safe_dump(items, sort_keys=False), encoding="utf-8")
    return path


BROKEN = [
    # (index, change, expected fragment of the one error line)
    (1, {"answer": ["A"]}, "serverless-002[1].answer: must list 2 or 3 different option letters"),
    (1, {"answer": ["A", "A"]}, "serverless-002[1].answer: must list 2 or 3 different"),
    (1, {"answer": ["A", "B", "C", "D"]}, "serverless-002[1].answer: must list 2 or 3"),
    (1, {"options": {"A": "a", "B": "b", "C": "c", "D": "d"}},
     "serverless-002[1].options: must be a mapping of A, B, C, D, E ... up to F"),
    (2, {"answer": ["B", "C"]}, "serverless-003[2].answer: must list every option letter (A, B, C)"),
    (2, {"answer": ["B", "C", "C"]}, "serverless-003[2].answer: must list every option letter"),
    (2, {"options": {"A": "a", "B": "b"}}, "serverless-003[2].options: must be a mapping of A, B, C"),
    (3, {"targets": None}, "serverless-004[3].targets: is required for type matching"),
    (3, {"answer": {1: "A", 2: "Z", 3: "C"}}, "serverless-004[3].answer: must map every item"),
    (3, {"answer": {1: "A", 2: "B"}}, "serverless-004[3].answer: must map every item (1, 2, 3)"),
    (3, {"explanations": {1: "x", 2: "y"}}, "serverless-004[3].explanations: must explain every item"),
    (0, {"targets": {"A": "x", "B": "y", "C": "z"}}, "serverless-001[0].targets: is only allowed for type matching"),
    (0, {"type": "essay"}, "serverless-001[0].type: must be one of single | multiple | ordering | matching"),
    (1, {"explanations": {"A": "a", "B": "b", "C": "c", "D": "d"}},
     "serverless-002[1].explanations: must explain every option (A, B, C, D, E)"),
    (2, {"read_more": "/etc/passwd"}, "serverless-003[2].read_more: must be a path under docs/ or labs/"),
]


@pytest.mark.parametrize(("index", "change", "fragment"), BROKEN,
                         ids=[b[2].split(": ")[0] + "/" + str(i) for i, b in enumerate(BROKEN)])
def test_malformed_question_of_each_type_is_one_line_naming_file_and_id(
        tmp_path: Path, index: int, change: dict, fragment: str) -> None:
    items = _raw()
    items[index] = {**copy.deepcopy(items[index]), **change}
    path = _write(tmp_path, items)
    with pytest.raises(ScenarioError) as err:
        load_file(path)
    lines = err.value.lines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: ") and fragment in lines[0], lines


@pytest.mark.parametrize(("change", "fragment"), [
    ({"questions": []}, "serverless-case-1[4].questions: must be a list of 2-4 questions"),
    ({"title": ""}, "serverless-case-1[4].title: must be a non-empty string"),
    ({"case": "Case 1"}, "[4].case: must be an id like rollouts-case-1"),
])
def test_malformed_case_study(tmp_path: Path, change: dict, fragment: str) -> None:
    items = _raw()
    items[4] = {**items[4], **change}
    with pytest.raises(ScenarioError) as err:
        load_file(_write(tmp_path, items))
    assert any(fragment in line for line in err.value.lines()), err.value.lines()


def test_a_broken_question_inside_a_case_names_its_id(tmp_path: Path) -> None:
    items = _raw()
    items[4]["questions"][1]["answer"] = ["A"]
    with pytest.raises(ScenarioError) as err:
        load_file(_write(tmp_path, items))
    assert "serverless-006[4].questions[1].answer: must list 2 or 3" in err.value.lines()[0]


# ----------------------------------------------------------------- typed answers


def test_single_and_multiple_answers_in_every_spelling(bank: Bank) -> None:
    single, multiple = view_for(q_(bank, 1), None), view_for(q_(bank, 2), None)
    assert parse_response(single, " b ") == "B"
    for text in ("a,c", "c,a", "AC", "a c", "c;a"):
        assert parse_response(multiple, text) == "A,C", text
    for text in ("a", "a,c,d", "a,a", "a,g", "", "1,2"):
        assert parse_response(multiple, text) is None, text
    assert parse_response(multiple, "q") == "quit"


def test_ordering_answers_are_step_numbers_first_to_last(bank: Bank) -> None:
    view = view_for(q_(bank, 3), None)  # bank order: 1 = A, 2 = B, 3 = C
    assert parse_response(view, "231") == "B,C,A"
    assert parse_response(view, "2, 3, 1") == "B,C,A"
    for text in ("23", "2311", "234", "abc"):
        assert parse_response(view, text) is None, text


def test_matching_answers_as_letters_or_pairs(bank: Bank) -> None:
    view = view_for(q_(bank, 4), None)
    assert parse_response(view, "abc") == "1=A,2=B,3=C"
    assert parse_response(view, "1b 2a 3c") == "1=B,2=A,3=C"
    assert parse_response(view, "3-c,1-a,2-b") == "1=A,2=B,3=C"
    assert parse_response(view, "aad") == "1=A,2=A,3=D"  # a target may fit several items
    for text in ("ab", "abcd", "abz", "1a 2b", "1a 1b 3c"):
        assert parse_response(view, text) is None, text


def test_shuffled_labels_map_back_to_the_bank(bank: Bank) -> None:
    for seed in range(20):
        for q in bank.questions:
            view = view_for(q, seed)
            sh = view.shuffle
            if q.type == "single":
                typed = sh.shown(q.answer)
            elif q.type == "multiple":
                typed = ",".join(sh.shown(k) for k in q.answer)
            elif q.type == "ordering":
                typed = "".join(sh.shown(k) for k in q.answer)
            else:
                typed = "".join(sh.shown(q.answer[k]) for k in q.options)
            assert parse_response(view, typed) == key_text(q), (seed, q.id)
    # the ordering question is never displayed in its right order (with a seed)
    orders = {view_for(q_(bank, 3), s).shuffle.order for s in range(40)}
    assert len(orders) > 1 and tuple(q_(bank, 3).answer) not in orders


def test_all_or_nothing(bank: Bank) -> None:
    multi = q_(bank, 2)
    assert grade(multi, "A,C") and not grade(multi, "A,B") and not grade(multi, "C,E")
    order = q_(bank, 3)
    assert grade(order, "B,C,A") and not grade(order, "B,A,C")
    match = q_(bank, 4)
    assert grade(match, "1=A,2=B,3=C") and not grade(match, "1=A,2=B,3=D")


def test_questions_show_no_topic_or_id_and_say_how_many_to_choose(bank: Bank) -> None:
    for q in bank.questions:
        text = render_question(view_for(q, 3), 1, 6, None)
        assert q.id not in text and f"[{q.topic}" not in text and "domain" not in text
    assert "(Choose TWO.)" in render_question(view_for(q_(bank, 2), 1), 1, 6, None)
    assert "(Choose THREE.)" in render_question(view_for(q_(bank, 6), 1), 1, 6, None)
    case_text = render_question(view_for(q_(bank, 6), 1), 1, 6, None)
    assert "Case study: A small clinic app (question 2 of 2 on this case)" in case_text
    assert "Case: a clinic app" in case_text


def test_feedback_explains_every_option_and_points_into_the_repo(bank: Bank) -> None:
    view = view_for(q_(bank, 2), None)
    text = render_feedback(view, "A,B")
    assert "Wrong: you chose A, B." in text and "The answer is A, C." in text
    assert "Why not the others:" in text and "1024-6144 MB" in text and "billed per use" in text
    assert "[serverless, domain 4] serverless-002" in text
    assert "Read more: docs/serverless.md" in text
    order = render_feedback(view_for(q_(bank, 3), None), "A,B,C")
    assert "Wrong: you gave 1 2 3. The right order is 2 3 1." in order
    assert "1st (2) first: the model" in order
    match = render_feedback(view_for(q_(bank, 4), None), "1=A,2=B,3=C")
    assert "Correct: you gave 1-A 2-B 3-C." in match and "3 -> C: payloads up to 1 GB" in match
    assert "Read more: labs/05_choosing_a_deployment.ipynb" in match


def test_session_with_every_type_records_canonical_answers(bank: Bank) -> None:
    out, calls = io.StringIO(), []
    answers = ["b", "x", "a,c", "231", "abc", "a", "abd"]  # "x" is rejected and asked again
    result = run_session(list(bank.questions), ScriptedInput(answers, out), out,
                         lambda q, c: calls.append((q.id, c)))
    assert result.ended == Ended.DONE
    assert calls == [("serverless-001", "B"), ("serverless-002", "A,C"),
                     ("serverless-003", "B,C,A"), ("serverless-004", "1=A,2=B,3=C"),
                     ("serverless-005", "A"), ("serverless-006", "A,B,D")]
    assert [o.correct for o in result.outcomes] == [True, True, True, True, True, False]
    text = out.getvalue()
    assert "Please choose exactly two different letters of A, B, C, D, E" in text
    assert "Your answers (TWO letters, e.g. b,c; q to quit): " in text
    assert "Your order (step numbers first to last, e.g. 321; q to quit): " in text
    assert "Your matches (a target letter for each item 1-3, e.g. dcb; q to quit): " in text


# ----------------------------------------------------------------- mock exam


def test_quotas_follow_the_domain_weights() -> None:
    assert quotas() == {1: 18, 2: 17, 3: 14, 4: 16}  # 65 x 28/26/22/24 %, largest remainder
    assert sum(quotas()) == 10


def test_draw_plan_moves_a_shortfall_to_the_other_domains_by_weight() -> None:
    plan = draw_plan({1: 3, 2: 30, 3: 60, 4: 60})
    assert plan.drawn[1] == 3 and sum(plan.drawn.values()) == 65
    # 15 missing from domain 1 spread over 2/3/4 by 26/22/24: +5/+5/+5 (largest remainder)
    assert plan.drawn == {1: 3, 2: 22, 3: 19, 4: 21}
    assert "domain 1 has fewer questions than its quota" in plan.text()
    full = draw_plan({1: 30, 2: 30, 3: 30, 4: 30})
    assert full.drawn == quotas() and "fewer" not in full.text()
    with pytest.raises(ValueError, match="needs 65"):
        draw_plan({1: 10, 2: 10, 3: 10, 4: 10})


def test_draw_is_seeded_and_keeps_case_studies_together(bank: Bank) -> None:
    a, _ = draw(bank.questions, random.Random(1), total=6)
    b, _ = draw(bank.questions, random.Random(1), total=6)
    assert [q.id for q in a] == [q.id for q in b]
    ids = [q.id for q in a]
    i = ids.index("serverless-005")
    assert ids[i + 1] == "serverless-006"


@pytest.mark.parametrize(("right", "total", "scaled"), [(0, 65, 100), (65, 65, 1000),
                                                         (45, 65, 723), (44, 65, 709)])
def test_scaled_score(right: int, total: int, scaled: int) -> None:
    assert scaled_score(right, total) == scaled


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_exam_flag_go_back_change_answer_and_submit(bank: Bank) -> None:
    state = ExamState(list(bank.questions))
    saved: list[tuple[int, str | None, bool]] = []
    out = io.StringIO()
    script = ["a", "f", "a,c", "p", "p", "b", "g 3", "231", "abc", "a", "a,b,c", "r", "s"]
    ended = run_exam(state, ScriptedInput(script, out), out,
                     lambda i, q, c, f: saved.append((i, c, f)), clock=Clock())
    assert ended == Ended.DONE
    assert state.answers == ["B", "A,C", "B,C,A", "1=A,2=B,3=C", "A", "A,B,C"]
    assert state.flagged == [False, True, False, False, False, False]
    assert saved[0] == (0, "A", False) and (0, "B", False) in saved  # changed after going back
    assert (1, None, True) in saved  # the flag is saved at once, before any answer
    text = out.getvalue()
    assert "Correct" not in text and "Wrong" not in text  # no feedback during the exam
    assert "[flagged]" in text and "[your answer: A]" in text
    assert "6 answered, 0 blank, flagged: 2." in text
    results = render_results(state, None, finished=True)
    assert "6/6 right -> scaled 1000 (pass 720): PASS" in results
    assert "approximation" in results


def test_exam_time_up_ends_with_the_answers_given(bank: Bank) -> None:
    clock = Clock()
    state = ExamState(list(bank.questions))

    class Slow(ScriptedInput):
        def read(self, prompt: str) -> str | None:
            clock.t += 60
            return super().read(prompt)

    out = io.StringIO()
    ended = run_exam(state, Slow(["b", "a,c", "321"], out), out, lambda *a: None, clock=clock,
                     time_limit_s=150)
    assert ended == Ended.TIMEOUT
    assert state.answers[:3] == ["B", "A,C", None]  # the third came after the limit
    assert "Time is up" in out.getvalue()
    assert render_results(state, None, finished=True).count("Question ") >= 6


def test_exam_per_domain_results(bank: Bank) -> None:
    state = ExamState(list(bank.questions), answers=["B", "A,B", None, "1=A,2=B,3=C", "A", None])
    assert state.per_domain() == {2: (1, 1), 3: (2, 3), 4: (0, 2)}
    assert state.correct() == 3
