"""The question loop, scoring per topic and domain, and the SQLite progress store."""

from __future__ import annotations

import dataclasses
import io
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simlab.quiz.bank import LETTERS, Question
from simlab.quiz.progress import ProgressError, ProgressStore, progress_path, reset
from simlab.quiz.report import WEAK_BELOW, by_domain, by_topic, render_report, weak_topics
from simlab.quiz.session import (
    PROMPT,
    Ended,
    Outcome,
    ScriptedInput,
    Shuffle,
    TerminalInput,
    parse_answer,
    render_question,
    run_session,
    shuffle_for,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def make_q(n: int, topic: str = "serverless", domain: int = 3, answer: str = "B",
           section: str = "Deployment Strategies > SageMaker Serverless Inference") -> Question:
    prefix = topic.replace("_", "-")
    return Question(
        id=f"{prefix}-{n:03d}", topic=topic, domain=domain, section=section,
        scenario=f"Scenario number {n} about {topic}.",
        options={k: f"option {k} of {n}" for k in "ABCD"}, answer=answer,
        explanations={k: f"because {k} ({n})" for k in "ABCD"},
    )


QS = [make_q(1), make_q(2, answer="C"), make_q(3, topic="security", domain=4, answer="A",
                                              section="Security & Compliance > Quick Security Checklist")]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, q: Question, chosen: str) -> None:
        self.calls.append((q.id, chosen))


# ----------------------------------------------------------------- answers and the loop


@pytest.mark.parametrize(("text", "expected"), [
    ("a", "A"), ("B", "B"), (" c ", "C"), ("d\n", "D"), ("q", "quit"), ("QUIT", "quit"),
    ("e", None), ("", None), ("ab", None), ("1", None),
])
def test_parse_answer(text: str, expected: str | None) -> None:
    assert parse_answer(text) == expected


def test_full_session_records_every_answer() -> None:
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, ScriptedInput(["B", "A", "A"], out), out, rec)
    assert result.ended == Ended.DONE
    assert rec.calls == [("serverless-001", "B"), ("serverless-002", "A"), ("security-003", "A")]
    assert [o.correct for o in result.outcomes] == [True, False, True]
    text = out.getvalue()
    assert "Correct: B. because B (1)" in text
    assert "Wrong: you chose A. because A (2)" in text and "The answer is C. because C (2)" in text
    assert "Read more: docs/serverless.md" in text  # the section's pointer into this repo
    # after a wrong answer: the chosen option, the key, and why each remaining option is wrong
    second = text.split("Question 2 of 3")[1].split("Question 3 of 3")[0]
    assert "Why not the others:" in second
    assert "B) because B (2)" in second and "D) because D (2)" in second
    assert "[serverless, domain 3] serverless-002" in second


def test_invalid_input_reprompts_and_lowercase_is_accepted() -> None:
    out, rec = io.StringIO(), Recorder()
    source = TerminalInput(io.StringIO("x\n\nE\nb\n"), out)
    result = run_session(QS[:1], source, out, rec)
    assert rec.calls == [("serverless-001", "B")] and result.ended == Ended.DONE
    assert out.getvalue().count("Please answer A, B, C or D (or q to quit).") == 3
    assert out.getvalue().count(PROMPT) == 4


def test_quit_stops_without_recording() -> None:
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, TerminalInput(io.StringIO("b\nq\n"), out), out, rec)
    assert result.ended == Ended.QUIT and len(result.outcomes) == 1 and len(rec.calls) == 1


def test_end_of_input_stops_cleanly() -> None:
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, TerminalInput(io.StringIO("b\n"), out), out, rec)
    assert result.ended == Ended.EOF and rec.calls == [("serverless-001", "B")]


class InterruptAfter:
    """An answer source that gives some answers, then behaves like Ctrl-C."""

    def __init__(self, answers: list[str]) -> None:
        self._answers: Iterator[str] = iter(answers)

    def read(self, prompt: str) -> str | None:
        try:
            return next(self._answers)
        except StopIteration:
            raise KeyboardInterrupt from None


def test_ctrl_c_ends_session_keeping_answers() -> None:
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, InterruptAfter(["B"]), out, rec)
    assert result.ended == Ended.INTERRUPTED and rec.calls == [("serverless-001", "B")]


class FakeClock:
    def __init__(self, times: list[float]) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0) if len(self.times) > 1 else self.times[0]


def test_timed_session_stops_before_next_question() -> None:
    # start, check q1, remaining q1, after answer q1, check q2 (time up)
    clock = FakeClock([0, 10, 10, 30, 61])
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, ScriptedInput(["B", "C", "A"], out), out, rec, clock=clock,
                         time_limit_s=60)
    assert result.ended == Ended.TIMEOUT and rec.calls == [("serverless-001", "B")]
    assert "0:50 left" in out.getvalue()


def test_timed_answer_after_the_limit_is_not_scored() -> None:
    clock = FakeClock([0, 10, 10, 75])
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, ScriptedInput(["B"], out), out, rec, clock=clock, time_limit_s=60)
    assert result.ended == Ended.TIMEOUT and rec.calls == [] and result.outcomes == []
    assert "not scored" in out.getvalue()


def test_render_question_shows_everything() -> None:
    text = render_question(QS[0], 2, 5, remaining=125)
    assert "Question 2 of 5" in text and "2:05 left" in text
    assert all(f"  {k}) option {k} of 1" in text for k in "ABCD")
    # no giveaway before the answer: neither the topic nor the id
    assert "serverless-001" not in text and "serverless," not in text and "domain" not in text


# ----------------------------------------------------------------- scoring


def outcomes(pairs: list[tuple[Question, str]]) -> list[Outcome]:
    return [Outcome(q, c) for q, c in pairs]


def test_scores_per_topic_and_domain() -> None:
    res = outcomes([(QS[0], "B"), (QS[1], "A"), (QS[2], "A")])
    topics = by_topic(res)
    assert (topics["serverless"].correct, topics["serverless"].asked) == (1, 2)
    assert (topics["security"].correct, topics["security"].asked) == (1, 1)
    domains = by_domain(res)
    assert list(domains) == [3, 4]
    assert (domains[3].correct, domains[3].asked, domains[4].share) == (1, 2, 1.0)


def test_weak_topics_sorted_with_missed_sections() -> None:
    sec = make_q(4, topic="security", domain=4, answer="D", section="Security & Compliance")
    res = outcomes([(QS[0], "A"), (QS[1], "C"), (QS[2], "B"), (sec, "A")])
    weak = weak_topics(res)
    assert [w[0] for w in weak] == ["security", "serverless"]  # 0 % before 50 %
    assert weak[0][2] == ["Security & Compliance > Quick Security Checklist", "Security & Compliance"]
    assert weak[1][2] == ["Deployment Strategies > SageMaker Serverless Inference"]
    assert all(t.share < WEAK_BELOW for _, t, _ in weak)


def test_report_text() -> None:
    text = render_report(outcomes([(QS[0], "B"), (QS[1], "A"), (QS[2], "A")]))
    assert "Score: 2/3 (67%)" in text
    assert "serverless" in text and "1/2" in text
    assert "3  Deployment and Orchestration of ML Workflows" in text
    assert "Study next" in text and "- Deployment Strategies > SageMaker Serverless Inference" in text
    assert "No question answered" in render_report([])
    assert "No weak topic" in render_report(outcomes([(QS[0], "B")]))


# ----------------------------------------------------------------- progress store


def test_store_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "quiz.sqlite3"
    with ProgressStore.open(path) as store:
        sid = store.start_session("practice", 1, "", 2, NOW)
        store.record(sid, "serverless-001", "serverless", 3, "B", True, NOW)
        store.record(sid, "serverless-002", "serverless", 3, "A", False, NOW)
        store.finish_session(sid, "done", NOW + timedelta(minutes=3))
    with ProgressStore.open(path) as store:
        cards = store.cards()
        assert (cards["serverless-001"].box, cards["serverless-002"].box) == (2, 1)
        (s,) = store.sessions()
        assert (s.mode, s.planned, s.answered, s.correct, s.ended) == ("practice", 2, 2, 1, "done")
        assert [a.correct for a in store.answers()] == [True, False]
        store.record(sid, "serverless-001", "serverless", 3, "B", True, NOW + timedelta(days=1))
        assert store.cards()["serverless-001"].box == 3


def test_corrupt_database_is_reported_not_deleted(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(ProgressError) as err:
        ProgressStore.open(path)
    message = str(err.value)
    assert str(path) in message and "--reset-progress" in message and "\n" not in message
    assert path.read_bytes() == garbage


def test_foreign_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something (x)")
    conn.close()
    with pytest.raises(ProgressError, match="not a simlab quiz progress database"):
        ProgressStore.open(path)


def test_locked_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    ProgressStore.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ProgressError, match="locked"):
            ProgressStore.open(path, timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unwritable_home_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProgressError, match="cannot create its directory"):
        ProgressStore.open(blocker / "home" / "quiz.sqlite3")


def test_reset(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    assert reset(path) is False
    ProgressStore.open(path).close()
    assert reset(path) is True and not path.exists()


def test_progress_path(tmp_path: Path) -> None:
    import platformdirs

    assert progress_path({"SIMLAB_HOME": str(tmp_path)}) == tmp_path / "quiz.sqlite3"
    assert progress_path({}) == Path(platformdirs.user_data_dir("simlab")) / "quiz.sqlite3"


def test_damaged_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    with ProgressStore.open(path) as store:
        sid = store.start_session("practice", 1, "", 1, NOW)
        store.record(sid, "serverless-001", "serverless", 3, "B", True, NOW)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE cards SET due_at = 'tomorrow-ish'")
    conn.close()
    with ProgressStore.open(path) as store, pytest.raises(ProgressError, match="unreadable data"):
        store.cards()


# ----------------------------------------------------------------- shuffled options


def test_shuffle_is_a_deterministic_permutation_per_seed_and_question() -> None:
    a = shuffle_for("serverless-001", 7)
    assert a == shuffle_for("serverless-001", 7)
    assert sorted(a.order) == list(LETTERS)
    assert len({shuffle_for("serverless-001", s).order for s in range(60)}) > 12
    assert len({shuffle_for(f"serverless-{n:03d}", 7).order for n in range(60)}) > 12
    assert shuffle_for("serverless-001", None).order == LETTERS  # no seed: bank order
    for shown in LETTERS:
        assert a.shown(a.canonical(shown)) == shown


def test_shuffle_does_not_depend_on_python_hash_randomisation() -> None:
    code = ("from simlab.quiz.session import shuffle_for;"
            "print([shuffle_for(f'security-{n:03d}', 3).order for n in range(20)])")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ, "PYTHONHASHSEED": h}).stdout
            for h in ("0", "1", "12345")}
    assert len(outs) == 1


def test_applied_shuffle_relabels_options_answer_explanations_and_ids() -> None:
    q = dataclasses.replace(make_q(1, answer="C"), option_ids={k: f"id{k}" for k in LETTERS})
    sh = Shuffle(("D", "C", "A", "B"))
    shown = sh.apply(q)
    assert shown.options == {"A": "option D of 1", "B": "option C of 1", "C": "option A of 1",
                             "D": "option B of 1"}
    assert shown.answer == "B"
    assert shown.explanations["B"] == q.explanations["C"]
    assert shown.option_ids == {"A": "idD", "B": "idC", "C": "idA", "D": "idB"}
    assert (shown.id, shown.scenario, shown.section) == (q.id, q.scenario, q.section)


def test_right_and_wrong_are_judged_after_shuffling() -> None:
    seed = 4
    shuffles = [shuffle_for(q.id, seed) for q in QS]
    assert any(sh.order != LETTERS for sh in shuffles)
    right = [sh.shown(q.answer) for sh, q in zip(shuffles, QS, strict=True)]
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, ScriptedInput(right, out), out, rec, seed=seed)
    assert [o.correct for o in result.outcomes] == [True, True, True]
    assert rec.calls == [(q.id, q.answer) for q in QS]  # the store gets bank letters
    text = out.getvalue()
    for q, sh, letter in zip(QS, shuffles, right, strict=True):
        assert f"Correct: {letter}. {q.explanations[q.answer]}" in text
        assert all(f"  {sh.shown(k)}) option {k} of {int(q.id[-3:])}" in text for k in LETTERS)

    wrong = [next(s for s in LETTERS if s != r) for r in right]
    out, rec = io.StringIO(), Recorder()
    result = run_session(QS, ScriptedInput(wrong, out), out, rec, seed=seed)
    assert [o.correct for o in result.outcomes] == [False, False, False]
    assert rec.calls == [(q.id, sh.canonical(w)) for q, sh, w in zip(QS, shuffles, wrong,
                                                                        strict=True)]
    text = out.getvalue()
    for q, sh, w in zip(QS, shuffles, wrong, strict=True):
        assert f"Wrong: you chose {w}. {q.explanations[sh.canonical(w)]}" in text
        assert f"The answer is {sh.shown(q.answer)}. {q.explanations[q.answer]}" in text


# ----------------------------------------------------------------- interrupts inside a write


def interrupt_after_commit(monkeypatch: pytest.MonkeyPatch, *, before: bool = False) -> list:
    """Make the next commit of an answer raise KeyboardInterrupt just after (or instead of) it."""
    original = ProgressStore._commit
    fired: list[bool] = []

    def commit(self: ProgressStore) -> None:
        pending = self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        if fired or not pending:
            return original(self)
        if not before:
            original(self)
        fired.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(ProgressStore, "_commit", commit)
    return fired


def test_interrupt_right_after_commit_keeps_the_answer(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The old code ran ROLLBACK here and raised 'cannot rollback - no transaction is active'."""
    path = tmp_path / "quiz.sqlite3"
    with ProgressStore.open(path) as store:
        sid = store.start_session("practice", 1, "", 2, NOW)
        fired = interrupt_after_commit(monkeypatch)
        with pytest.raises(KeyboardInterrupt):
            store.record(sid, "serverless-001", "serverless", 3, "B", True, NOW)
        assert fired and not store._conn.in_transaction
        store.finish_session(sid, "interrupted", NOW)
        assert store.session_answers(sid) == [("serverless-001", "B")]
        assert store.cards()["serverless-001"].box == 2
        assert store.sessions()[0].ended == "interrupted"


def test_interrupt_before_commit_rolls_the_answer_back(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "quiz.sqlite3"
    with ProgressStore.open(path) as store:
        sid = store.start_session("practice", 1, "", 2, NOW)
        interrupt_after_commit(monkeypatch, before=True)
        with pytest.raises(KeyboardInterrupt):
            store.record(sid, "serverless-001", "serverless", 3, "B", True, NOW)
        assert not store._conn.in_transaction
        store.finish_session(sid, "interrupted", NOW)
        assert store.session_answers(sid) == [] and store.cards() == {}
    with ProgressStore.open(path) as store:  # the file is still a healthy database
        assert [s.ended for s in store.sessions()] == ["interrupted"]


def test_a_transaction_left_open_is_rolled_back_by_the_next_write(tmp_path: Path) -> None:
    path = tmp_path / "quiz.sqlite3"
    with ProgressStore.open(path) as store:
        sid = store.start_session("practice", 1, "", 1, NOW)
        store._conn.execute("BEGIN IMMEDIATE")  # as if an interrupt hit between BEGIN and ROLLBACK
        store._conn.execute("INSERT INTO answers (session_id, question_id, topic, domain, chosen,"
                            " correct, answered_at) VALUES (?, 'x-001', 'x', 1, 'A', 1, 'now')",
                            (sid,))
        store.finish_session(sid, "interrupted", NOW)
        assert store.session_answers(sid) == []
        assert store.sessions()[0].ended == "interrupted"
