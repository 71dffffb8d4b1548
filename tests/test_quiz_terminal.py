"""End to end through a real pseudo-terminal with pexpect: typing, Ctrl-C and Ctrl-D."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 30  # generous: the tests must not depend on machine speed
PROMPT = r"Your answer \(A-D, q to quit\): "
def _default_sigint() -> None:
    """In the child: Ctrl-C must raise KeyboardInterrupt as in an interactive shell, even when
    pytest itself was started with SIGINT ignored (a background job of a non-interactive shell
    ignores SIGINT and SIGQUIT, and exec keeps ignored signals ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


LAUNCH = "import sys; from simlab.cli import run_main; sys.argv = ['simlab'] + sys.argv[1:]; run_main()"


def spawn(home: Path, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    env = {**os.environ, "SIMLAB_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("SIMLAB_QUIZ_BANK", None)
    child = pexpect.spawn(sys.executable, ["-c", LAUNCH, "quiz", *args], env=env,
                          encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 100),
                          preexec_fn=_default_sigint)
    transcript = io.StringIO()
    child.logfile_read = transcript
    return child, transcript


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus is None, "the process was killed by a signal"
    return int(child.exitstatus)


def answers_saved(home: Path) -> int:
    with sqlite3.connect(home / "quiz.sqlite3") as conn:
        count = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
    conn.close()
    return int(count)


def test_full_session(tmp_path: Path) -> None:
    child, transcript = spawn(tmp_path, "--type", "single", "--count", "3", "--seed", "1")
    for _ in range(3):
        child.expect(PROMPT)
        child.sendline("b")
        child.expect(["Correct: B", "Wrong: you chose B"])
    child.expect(r"Score: \d/3")
    child.expect("By topic:")
    child.expect("By domain:")
    child.expect("Progress saved to")
    assert finish(child) == 0
    assert "Traceback" not in transcript.getvalue()
    assert answers_saved(tmp_path) == 3


def test_invalid_input_then_valid(tmp_path: Path) -> None:
    child, transcript = spawn(tmp_path, "--type", "single", "--count", "1", "--seed", "2")
    child.expect(PROMPT)
    child.sendline("x")
    child.expect(r"Please answer A, B, C or D \(or q to quit\)\.")
    child.expect(PROMPT)
    child.sendline("")
    child.expect("Please answer")
    child.expect(PROMPT)
    child.sendline("C")
    child.expect(["Correct: C", "Wrong: you chose C"])
    child.expect(r"Score: \d/1")
    assert finish(child) == 0
    assert answers_saved(tmp_path) == 1


def test_ctrl_c_mid_quiz_saves_progress(tmp_path: Path) -> None:
    child, transcript = spawn(tmp_path, "--type", "single", "--count", "3", "--seed", "3")
    child.expect(PROMPT)
    child.sendline("a")
    child.expect(["Correct: A", "Wrong: you chose A"])
    child.expect(PROMPT)
    child.sendintr()
    child.expect(r"Interrupted: 1 of 3 answers saved to")
    assert finish(child) == 130
    assert "Traceback" not in transcript.getvalue()
    assert answers_saved(tmp_path) == 1


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.005, 0.02])
def test_ctrl_c_immediately_after_an_answer(tmp_path: Path, delay: float) -> None:
    """Ctrl-C while the answer is being read, saved or acknowledged: never a traceback.

    Where the interrupt lands depends on timing (before the line was read: nothing saved; during
    or after the write: the answer saved); every case must exit 130 and report exactly what the
    database holds, with the session marked interrupted.
    """
    child, transcript = spawn(tmp_path, "--type", "single", "--count", "3", "--seed", "1")
    child.expect(PROMPT)
    child.send("b\r")
    if delay:
        time.sleep(delay)
    child.sendintr()
    child.expect(r"Interrupted: (\d) of 3 answers saved to")
    saved = int(child.match.group(1))
    assert finish(child) == 130
    assert "Traceback" not in transcript.getvalue()
    assert saved == answers_saved(tmp_path) and saved in (0, 1)
    with sqlite3.connect(tmp_path / "quiz.sqlite3") as conn:
        assert conn.execute("SELECT ended FROM sessions").fetchone()[0] == "interrupted"
    conn.close()


def test_eof_saves_and_exits_zero(tmp_path: Path) -> None:
    child, transcript = spawn(tmp_path, "--type", "single", "--count", "3", "--seed", "4")
    child.expect(PROMPT)
    child.sendline("d")
    child.expect(["Correct: D", "Wrong: you chose D"])
    child.expect(PROMPT)
    child.sendeof()
    child.expect(r"End of input: stopped after 1 of 3 questions; progress saved to")
    assert finish(child) == 0
    assert "Traceback" not in transcript.getvalue()
    assert answers_saved(tmp_path) == 1


def test_quit_with_q(tmp_path: Path) -> None:
    child, _ = spawn(tmp_path, "--type", "single", "--count", "2", "--seed", "5")
    child.expect(PROMPT)
    child.sendline("q")
    child.expect("No question answered")
    child.expect("Stopped after 0 of 2 questions")
    assert finish(child) == 0


# ----------------------------------------------------------------- every question type


def _spawn_tiny(home: Path, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    from quiz_helpers import TINY

    env = {**os.environ, "SIMLAB_HOME": str(home), "PYTHONUNBUFFERED": "1",
           "SIMLAB_QUIZ_BANK": str(TINY)}
    child = pexpect.spawn(sys.executable, ["-c", LAUNCH, "quiz", *args], env=env,
                          encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 100),
                          preexec_fn=_default_sigint)
    transcript = io.StringIO()
    child.logfile_read = transcript
    return child, transcript


ANY_PROMPT = r"(Your answer \(A-D|Your answers \(|Your order \(|Your matches \().*q to quit\): "
SEED = 5


def _tiny_plan() -> list:
    from quiz_helpers import TINY, planned

    from simlab.quiz.bank import load_bank

    return planned(load_bank(TINY), SEED, 6)


def test_every_question_type_typed_at_the_terminal(tmp_path: Path) -> None:
    from quiz_helpers import typed_key

    questions = _tiny_plan()
    child, transcript = _spawn_tiny(tmp_path, "--count", "6", "--seed", str(SEED))
    for q in questions:
        child.expect(ANY_PROMPT)
        child.sendline(typed_key(q, SEED))
        child.expect("Correct")
        child.expect(rf"\[serverless, domain \d\] {q.id}")  # shown after the answer
        child.expect("Read more: (docs|labs)/")
    child.expect(r"Score: 6/6")
    assert finish(child) == 0
    text = transcript.getvalue()
    assert "Traceback" not in text
    assert "(Choose TWO.)" in text and "Put these steps in order" in text and "Targets:" in text
    assert answers_saved(tmp_path) == 6


def _until_multiple(child: pexpect.spawn, questions: list) -> int:
    """Answer right until the first multiple-response question; returns how many answered."""
    from quiz_helpers import typed_key

    for n, q in enumerate(questions):
        child.expect(ANY_PROMPT)
        if q.type == "multiple":
            return n
        child.sendline(typed_key(q, SEED))
        child.expect("Correct")
    raise AssertionError("no multiple-response question planned")


def test_ctrl_c_in_the_middle_of_a_multiple_response_answer(tmp_path: Path) -> None:
    questions = _tiny_plan()
    child, transcript = _spawn_tiny(tmp_path, "--count", "6", "--seed", str(SEED))
    done = _until_multiple(child, questions)
    child.send("a,")  # half an answer, no Enter
    child.sendintr()
    child.expect(rf"Interrupted: {done} of 6 answers saved to")
    assert finish(child) == 130
    assert "Traceback" not in transcript.getvalue()
    assert answers_saved(tmp_path) == done


def test_eof_in_the_middle_of_a_multiple_response_answer(tmp_path: Path) -> None:
    questions = _tiny_plan()
    child, transcript = _spawn_tiny(tmp_path, "--count", "6", "--seed", str(SEED))
    done = _until_multiple(child, questions)
    child.sendline("a")  # one letter where two or three are asked for: asked again
    child.expect("Please choose exactly (two|three) different letters")
    child.expect(ANY_PROMPT)
    child.sendeof()
    child.expect(rf"End of input: stopped after {done} of 6 questions; progress saved to")
    assert finish(child) == 0
    assert "Traceback" not in transcript.getvalue()
    assert answers_saved(tmp_path) == done


# ----------------------------------------------------------------- mock exam

EXAM_PROMPT = r"Exam> answer, or n next, p previous, g N go to, f flag, r review, s submit, q quit: "


def _exam_questions(seed: int) -> list:
    import random

    from simlab.quiz.bank import bank_dir, load_bank
    from simlab.quiz.exam import draw

    return draw(load_bank(bank_dir({})).questions, random.Random(seed))[0]


def _exam_saved(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "quiz.sqlite3") as conn:
        rows = conn.execute("SELECT position, chosen IS NOT NULL, flagged FROM exam_answers"
                            " WHERE chosen IS NOT NULL OR flagged = 1 ORDER BY position").fetchall()
    conn.close()
    return rows


@pytest.mark.parametrize("how", ["ctrl-c", "eof"])
def test_mock_exam_interrupted_keeps_the_answers_given(tmp_path: Path, how: str) -> None:
    from quiz_helpers import typed_key

    seed = 3
    questions = _exam_questions(seed)
    child, transcript = spawn(tmp_path, "--exam", "--seed", str(seed))
    child.expect("No feedback until you submit")
    for q in questions[:2]:
        child.expect(EXAM_PROMPT)
        child.sendline(typed_key(q, seed))
    child.expect(EXAM_PROMPT)
    child.sendline("f")  # flag the third
    child.expect("Question 3 flagged")
    child.expect(EXAM_PROMPT)
    if how == "ctrl-c":
        child.send("a")  # in the middle of typing an answer
        child.sendintr()
        child.expect(r"Interrupted: exam not submitted; 2 of 65 answers saved")
        assert finish(child) == 130
    else:
        child.sendeof()
        child.expect(r"End of input: exam not submitted; 2 of 65 answers saved")
        assert finish(child) == 0
    text = transcript.getvalue()
    assert "Traceback" not in text and "Correct" not in text
    assert _exam_saved(tmp_path) == [(0, 1, 0), (1, 1, 0), (2, 0, 1)]


def test_mock_exam_go_back_change_and_submit(tmp_path: Path) -> None:
    from quiz_helpers import typed_key

    seed = 4
    questions = _exam_questions(seed)
    child, transcript = spawn(tmp_path, "--exam", "--seed", str(seed))
    child.expect(EXAM_PROMPT)
    child.sendline(typed_key(questions[0], seed))
    child.expect(EXAM_PROMPT)
    child.sendline("p")
    child.expect(r"Question 1 of 65.*\[your answer: ")
    child.expect(EXAM_PROMPT)
    child.sendline("s")
    child.expect(r"Mock exam result: 1/65 right -> scaled 114 \(pass 720\): FAIL")
    child.expect("By domain:")
    child.expect("Exam saved to")
    assert finish(child) == 0
    assert "Traceback" not in transcript.getvalue()
