"""``simlab quiz`` end to end for every question type (``--answers``) and for the mock exam
(``--exam``): results, saved answers on early ends, and ``--stats`` after an exam."""

from __future__ import annotations

import io
import random
import re
import sqlite3
from pathlib import Path

from quiz_helpers import TINY, planned, typed_key

from simlab.cli import Environment, ExitStatus, main
from simlab.quiz.bank import Bank, bank_dir, load_bank
from simlab.quiz.exam import draw
from simlab.quiz.session import view_for


def run(home: Path, *argv: str, bank: Path | None = None) -> tuple[int, str, str]:
    environ = {"SIMLAB_HOME": str(home)}
    if bank is not None:
        environ["SIMLAB_QUIZ_BANK"] = str(bank)
    env = Environment(stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ=environ)
    status = main(["quiz", *argv], env)
    return int(status), env.stdout.getvalue(), env.stderr.getvalue()


def real_bank() -> Bank:
    return load_bank(bank_dir({}))


def test_answers_work_for_every_type(tmp_path: Path) -> None:
    bank = load_bank(TINY)
    seed = 5
    questions = planned(bank, seed, 6)
    assert {q.type for q in questions} == {"single", "multiple", "ordering", "matching"}
    answers = ";".join(typed_key(q, seed) for q in questions)
    status, out, err = run(tmp_path, "--answers", answers, "--seed", str(seed), bank=TINY)
    assert status == ExitStatus.SUCCESS, err
    assert "Score: 6/6 (100%)" in out
    assert out.count("Correct") == 6
    with sqlite3.connect(tmp_path / "quiz.sqlite3") as conn:
        rows = conn.execute("SELECT question_id, chosen, correct FROM answers ORDER BY id").fetchall()
    conn.close()
    from simlab.quiz.bank import key_text
    assert rows == [(q.id, key_text(q), 1) for q in questions]  # canonical, not displayed


def test_a_wrong_multiple_response_answer_scores_nothing(tmp_path: Path) -> None:
    bank = load_bank(TINY)
    seed = 3
    multis = Bank(tuple(q for q in bank.questions if q.type == "multiple"), TINY)
    (multi,) = planned(multis, seed, 1)
    sh = view_for(multi, seed).shuffle
    wrong = next(k for k in multi.options if k not in multi.answer)
    half = ",".join(sh.shown(k) for k in (*multi.answer[:-1], wrong))  # all but one right
    status, out, _ = run(tmp_path, "--type", "multiple", "--count", "1", "--answers", half + ";",
                         "--seed", str(seed), bank=TINY)
    assert status == ExitStatus.SUCCESS
    assert "Score: 0/1 (0%)" in out and "Wrong: you chose" in out


def test_malformed_answers_option(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "--answers", "b;;c")
    assert status == ExitStatus.USAGE and "separated by ';'" in err


def test_mock_exam_submitted_is_scored_saved_and_shown_in_stats(tmp_path: Path) -> None:
    bank = real_bank()
    seed = 7
    questions, _ = draw(bank.questions, random.Random(seed))
    assert len(questions) == 65
    # answer the first ten right, flag the second, skip the rest, then submit
    script = [typed_key(questions[0], seed), "p", "f", "n"]  # back to 1, flag it, forward
    script += [typed_key(q, seed) for q in questions[1:10]] + ["s"]
    status, out, err = run(tmp_path, "--exam", "--seed", str(seed), "--answers", ";".join(script))
    assert status == ExitStatus.SUCCESS, err
    assert "Domains (MLA-C01 weight -> quota of 65" in out
    assert "Correct" not in out.split("Mock exam result")[0]  # no feedback before the end
    m = re.search(r"Mock exam result: (\d+)/65 right -> scaled (\d+) \(pass 720\): FAIL", out)
    assert m and int(m.group(1)) == 10 and int(m.group(2)) == round(100 + 900 * 10 / 65)
    assert "approximation" in out and "By domain:" in out
    with sqlite3.connect(tmp_path / "quiz.sqlite3") as conn:
        exam = conn.execute("SELECT total, correct, scaled, passed FROM exams").fetchone()
        flagged = conn.execute("SELECT COUNT(*) FROM exam_answers WHERE flagged = 1").fetchone()[0]
        recorded = conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
        mode = conn.execute("SELECT mode, ended FROM sessions").fetchone()
    conn.close()
    assert exam == (65, 10, round(100 + 900 * 10 / 65), 0)
    assert flagged == 1 and recorded == 10 and mode == ("exam", "done")
    status, stats, _ = run(tmp_path, "--stats")
    assert status == ExitStatus.SUCCESS
    per_domain = {}
    for q, answered in zip(questions, [True] * 10 + [False] * 55, strict=True):
        r, n = per_domain.get(q.domain, (0, 0))
        per_domain[q.domain] = (r + answered, n + 1)
    row = re.search(r"^\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+10/65\s+\d+\s+FAIL\s+(.*)$", stats, re.M)
    assert row, stats
    cells = row.group(1).split()
    assert cells == [f"{per_domain[d][0]}/{per_domain[d][1]}" if d in per_domain else "-"
                     for d in (1, 2, 3, 4)]
    assert "readiness" in stats and "new (never asked)" in stats


def test_mock_exam_end_of_input_keeps_the_answers_given(tmp_path: Path) -> None:
    bank = real_bank()
    seed = 11
    questions, _ = draw(bank.questions, random.Random(seed))
    script = [typed_key(q, seed) for q in questions[:3]] + ["f"]
    status, out, _ = run(tmp_path, "--exam", "--seed", str(seed), "--answers", ";".join(script))
    assert status == ExitStatus.SUCCESS
    assert "End of input: exam not submitted; 3 of 65 answers saved" in out
    with sqlite3.connect(tmp_path / "quiz.sqlite3") as conn:
        saved = conn.execute("SELECT position, question_id, correct, flagged FROM exam_answers"
                             " WHERE chosen IS NOT NULL OR flagged = 1 ORDER BY position").fetchall()
        assert conn.execute("SELECT COUNT(*) FROM exams").fetchone()[0] == 0
    conn.close()
    assert saved == [(0, questions[0].id, 1, 0), (1, questions[1].id, 1, 0),
                     (2, questions[2].id, 1, 0), (3, questions[3].id, None, 1)]
    _, stats, _ = run(tmp_path, "--stats")
    assert re.search(r"^\s+1\s+.*exam\s+.*eof$", stats, re.M)


def test_exam_draw_states_the_weighting(tmp_path: Path) -> None:
    _, out, _ = run(tmp_path, "--exam", "--seed", "1", "--answers", "q;")
    assert out, "a trailing ';' makes a one-answer list"
    for d, w in ((1, 28), (2, 26), (3, 22), (4, 24)):
        assert re.search(rf"^  {d} .* {w} % -> ", out, re.M)
    assert "Stopped: exam not submitted" in out
