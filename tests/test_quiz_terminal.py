"""End to end through a real pseudo-terminal with pexpect: typing, Ctrl-C and Ctrl-D."""

from __future__ import annotations

import io
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 30  # generous: the tests must not depend on machine speed
PROMPT = r"Your answer \(A-D, q to quit\): "
LAUNCH = "import sys; from simlab.cli import run_main; sys.argv = ['simlab'] + sys.argv[1:]; run_main()"


def spawn(home: Path, *args: str) -> tuple[pexpect.spawn, io.StringIO]:
    env = {**os.environ, "SIMLAB_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("SIMLAB_QUIZ_BANK", None)
    child = pexpect.spawn(sys.executable, ["-c", LAUNCH, "quiz", *args], env=env,
                          encoding="utf-8", timeout=TIMEOUT, dimensions=(40, 100))
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
