"""``simlab quiz`` through ``simlab.cli.main`` with injected streams and environment."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.cli import Environment, ExitStatus, main
from simlab.quiz.bank import bank_dir, load_bank
from simlab.quiz.progress import ProgressStore
from simlab.quiz.session import shuffle_for


def run(tmp_path: Path, *argv: str, stdin: str = "", environ: dict[str, str] | None = None
        ) -> tuple[int, str, str]:
    env = Environment(stdin=io.StringIO(stdin), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={"SIMLAB_HOME": str(tmp_path), **(environ or {})})
    status = main(["quiz", *argv], env)
    return int(status), env.stdout.getvalue(), env.stderr.getvalue()


def asked_ids(text: str) -> list[str]:
    """Question ids in the order asked: each is shown after its answer, never before."""
    return re.findall(r"^  \[\w+, domain \d\] ([a-z-]+-\d{3})$", text, re.M)


def db(tmp_path: Path) -> Path:
    return tmp_path / "quiz.sqlite3"


# ----------------------------------------------------------------- --answers


def test_answers_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = run(tmp_path / "a", "--type", "single", "--answers", "B,C,A", "--seed", "1")
    b = run(tmp_path / "b", "--type", "single", "--answers", "B,C,A", "--seed", "1")
    assert a[0] == b[0] == ExitStatus.SUCCESS
    strip = lambda text, home: text.replace(str(home), "HOME")  # noqa: E731
    assert strip(a[1], tmp_path / "a") == strip(b[1], tmp_path / "b")
    assert len(asked_ids(a[1])) == 3
    c = run(tmp_path / "c", "--type", "single", "--answers", "B,C,A", "--seed", "2")
    assert asked_ids(c[1]) != asked_ids(a[1])


def test_answers_prints_the_report(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "--type", "single", "--answers", "a,b,c,d", "--seed", "5")
    assert status == ExitStatus.SUCCESS
    assert re.search(r"Score: \d/4 \(\d+%\)", out)
    assert "By topic:" in out and "By domain:" in out
    assert out.count("Your answer (A-D, q to quit): ") == 4
    with sqlite3.connect(db(tmp_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 4
        assert conn.execute("SELECT mode, ended FROM sessions").fetchone() == ("scripted", "done")
    conn.close()


@pytest.mark.parametrize("answers", ["B,X", "", "B,,C", "1"])
def test_bad_answers_is_a_usage_error(tmp_path: Path, answers: str) -> None:
    status, _, err = run(tmp_path, "--type", "single", "--answers", answers)
    assert status == ExitStatus.USAGE and "--answers" in err


def test_more_answers_than_questions(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "--type", "single", "--answers", "A,B,C", "--count", "2")
    assert status == ExitStatus.USAGE and "3 answers for 2 selected questions" in err


# ----------------------------------------------------------------- filters and modes


def test_topic_and_domain_filters(tmp_path: Path) -> None:
    _, out, _ = run(tmp_path, "--type", "single", "--topic", "security", "--answers", "A,A,A",
                    "--seed", "3")
    assert asked_ids(out) and all(i.startswith("security-") for i in asked_ids(out))
    _, out, _ = run(tmp_path / "d", "--type", "single", "--domain", "2", "--answers", "A,A,A,A",
                    "--seed", "3")
    assert re.findall(r"domain (\d)\]", out) == ["2"] * 4


def test_no_matching_question_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "--topic", "serverless", "--domain", "1")
    assert status == ExitStatus.USAGE and "no question matches topic=serverless domain=1" in err


def test_unknown_topic_is_rejected_by_argparse(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "--topic", "servrless")
    assert status == ExitStatus.USAGE and "invalid choice" in err


def test_interactive_session_from_a_pipe(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "--count", "2", "--seed", "4", stdin="zz\nb\nc\n")
    assert status == ExitStatus.SUCCESS
    assert "Please answer A, B, C or D" in out and "Score:" in out
    assert "Progress saved to" in out


def test_quit_and_eof_exit_zero_with_a_message(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "--count", "3", "--seed", "4", stdin="b\nq\n")
    assert status == ExitStatus.SUCCESS and "Stopped after 1 of 3 questions" in out
    status, out, _ = run(tmp_path, "--count", "3", "--seed", "4", stdin="b\n")
    assert status == ExitStatus.SUCCESS and "End of input: stopped after 1 of 3" in out
    with sqlite3.connect(db(tmp_path)) as conn:
        ended = [r[0] for r in conn.execute("SELECT ended FROM sessions ORDER BY id")]
    conn.close()
    assert ended == ["quit", "eof"]


class CtrlCAfter(io.StringIO):
    """stdin that yields its text, then raises KeyboardInterrupt like a terminal's Ctrl-C."""

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        line = super().readline(size)
        if line == "":
            raise KeyboardInterrupt
        return line


def test_ctrl_c_saves_and_exits_130(tmp_path: Path) -> None:
    env = Environment(stdin=CtrlCAfter("b\n"), stdout=io.StringIO(), stderr=io.StringIO(),
                      environ={"SIMLAB_HOME": str(tmp_path)})
    status = main(["quiz", "--count", "3", "--seed", "9"], env)
    out = env.stdout.getvalue()
    assert status == ExitStatus.INTERRUPTED
    assert "Interrupted: 1 of 3 answers saved to" in out and "Traceback" not in out
    with sqlite3.connect(db(tmp_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1
        assert conn.execute("SELECT ended FROM sessions").fetchone()[0] == "interrupted"
    conn.close()


def test_ctrl_c_right_after_an_answer_is_committed(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C landing just after the answer's COMMIT: exit 130, the answer saved and reported.

    Deterministic stand-in for pressing Ctrl-C a few milliseconds after answering (the old code
    then ran ROLLBACK with no transaction open, printed a traceback and exited 1).
    """
    original, fired = ProgressStore._commit, []

    def commit_then_interrupt(self: ProgressStore) -> None:
        original(self)
        if not fired and self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]:
            fired.append(True)  # once: the first answer's write
            raise KeyboardInterrupt

    monkeypatch.setattr(ProgressStore, "_commit", commit_then_interrupt)
    status, out, err = run(tmp_path, "--count", "3", "--seed", "9", stdin="b\nc\nd\n")
    assert status == ExitStatus.INTERRUPTED, err
    assert "Interrupted: 1 of 3 answers saved to" in out and re.search(r"Score: \d/1 ", out)
    assert "Traceback" not in out + err and err == ""
    with sqlite3.connect(db(tmp_path)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 1
        assert conn.execute("SELECT ended FROM sessions").fetchone()[0] == "interrupted"
    conn.close()


def _keys_as_displayed(tmp_path: Path, seed: int, count: int) -> tuple[list[str], list[str]]:
    """The ids a fresh session with ``seed`` asks, and the displayed letter of each one's key."""
    _, out, _ = run(tmp_path / "probe", "--type", "single", "--answers", ",".join("A" * count), "--seed", str(seed))
    ids = asked_ids(out)
    bank = load_bank(bank_dir({})).by_id()
    return ids, [shuffle_for(i, seed).shown(bank[i].answer) for i in ids]


def test_answers_are_displayed_letters_of_the_shuffled_options(tmp_path: Path) -> None:
    seed, count = 21, 6
    ids, letters = _keys_as_displayed(tmp_path, seed, count)
    status, out, _ = run(tmp_path / "run", "--type", "single", "--answers", ",".join(letters), "--seed", str(seed))
    assert status == ExitStatus.SUCCESS and asked_ids(out) == ids
    assert f"Score: {count}/{count} (100%)" in out
    assert [f"Correct: {x}." for x in letters] == re.findall(r"Correct: [A-D]\.", out)
    bank = load_bank(bank_dir({})).by_id()
    with sqlite3.connect(db(tmp_path / "run")) as conn:
        rows = conn.execute("SELECT question_id, chosen, correct FROM answers ORDER BY id").fetchall()
    conn.close()
    assert rows == [(i, bank[i].answer, 1) for i in ids]  # stored with the bank's letters


def test_the_same_seed_shows_the_same_option_order(tmp_path: Path) -> None:
    def options(text: str) -> list[str]:
        return re.findall(r"^  [A-D]\) .*$", text, re.M)

    a = run(tmp_path / "a", "--type", "single", "--answers", "A,A,A,A", "--seed", "8")[1]
    b = run(tmp_path / "b", "--type", "single", "--answers", "A,A,A,A", "--seed", "8")[1]
    assert options(a) == options(b) and len(options(a)) == 16
    bank = load_bank(bank_dir({})).by_id()
    canonical = [f"  {k}) {bank[i].options[k]}"[:40] for i in asked_ids(a) for k in "ABCD"]
    assert [line[:40] for line in options(a)] != canonical  # shown shuffled, not in bank order


def test_review_asks_only_last_wrong(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "--review")
    assert status == ExitStatus.SUCCESS and "Nothing to review" in out
    run(tmp_path, "--type", "single", "--answers", "A,A,A,A,A,A", "--seed", "11")
    with sqlite3.connect(db(tmp_path)) as conn:
        wrong = {r[0] for r in conn.execute("SELECT question_id FROM cards WHERE last_correct = 0")}
    conn.close()
    assert wrong, "seed 11 should produce at least one wrong answer with all A"
    _, out, _ = run(tmp_path, "--review", "--answers", ",".join("A" * len(wrong)), "--seed", "1")
    assert set(asked_ids(out)) == wrong


def test_stats_shows_sessions_and_mastery(tmp_path: Path) -> None:
    run(tmp_path, "--type", "single", "--answers", "B,C", "--seed", "1")
    run(tmp_path, "--type", "single", "--answers", "A", "--seed", "2", "--timed", "5")
    status, out, _ = run(tmp_path, "--stats")
    assert status == ExitStatus.SUCCESS
    assert re.search(r"^\s+1  \d{4}-\d\d-\d\d \d\d:\d\d  scripted .*done$", out, re.M)
    assert re.search(r"^\s+2  .* scripted .*done$", out, re.M)
    assert "Mastery by topic" in out and "serverless" in out
    assert re.search(r"Overall: [23]/\d+ questions seen", out)  # a missed one may come back


def test_timed_flag_is_announced(tmp_path: Path) -> None:
    _, out, _ = run(tmp_path, "--type", "single", "--answers", "A", "--seed", "2", "--timed", "1.5")
    assert "1.5 min" in out


# ----------------------------------------------------------------- failures


def test_corrupt_progress_db(tmp_path: Path) -> None:
    db(tmp_path).write_bytes(b"garbage" * 500)
    status, out, err = run(tmp_path, "--type", "single", "--answers", "A", "--seed", "1")
    assert status == ExitStatus.ERROR and out == ""
    assert err.count("\n") == 1 and err.startswith("error: progress database ")
    assert str(db(tmp_path)) in err and "--reset-progress" in err
    assert db(tmp_path).read_bytes() == b"garbage" * 500
    status, out, _ = run(tmp_path, "--reset-progress")
    assert status == ExitStatus.SUCCESS and "Deleted" in out and not db(tmp_path).exists()
    assert run(tmp_path, "--type", "single", "--answers", "A", "--seed", "1")[0] == ExitStatus.SUCCESS


def test_locked_progress_db(tmp_path: Path) -> None:
    run(tmp_path, "--stats")
    holder = sqlite3.connect(db(tmp_path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        status, _, err = run(tmp_path, "--type", "single", "--answers", "A", "--seed", "1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == ExitStatus.ERROR and "locked" in err and err.count("\n") == 1


def test_malformed_bank_is_a_usage_error(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "serverless.yaml").write_text("- id: serverless-001\n  topic: serverless\n")
    status, _, err = run(tmp_path, "--type", "single", "--answers", "A", environ={"SIMLAB_QUIZ_BANK": str(bank)})
    assert status == ExitStatus.USAGE
    assert all(line.startswith("error: ") and "serverless.yaml: serverless-001[0]." in line
               for line in err.splitlines())
    assert "[0].answer: is required" in err


def test_missing_bank_is_an_environment_error(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "--type", "single", "--answers", "A",
                         environ={"SIMLAB_QUIZ_BANK": str(tmp_path / "nowhere")})
    assert status == ExitStatus.ERROR and "no quiz bank" in err


def test_reset_without_progress(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "--reset-progress")
    assert status == ExitStatus.SUCCESS and "No quiz progress" in out


def test_quiz_path_imports_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys; from simlab.cli import main, Environment; import io;"
        "env = Environment(stdout=io.StringIO(), environ={'SIMLAB_HOME': sys.argv[1]});"
        "assert main(['quiz', '--answers', 'A', '--seed', '1'], env) == 0;"
        "heavy = {'numpy', 'pandas', 'sklearn', 'matplotlib', 'scipy', 'simpy'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
