"""``simlab quiz``: practise exam scenarios with spaced repetition.

Exit status: 0 done (also after ``q``, end of input or time up), 1 environment failure (bank not
found, progress database corrupt, locked or unwritable), 2 usage error (bad arguments, malformed
bank file, no question matches the filters), 130 interrupted with Ctrl-C (progress kept).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from simlab.cli import ExitStatus

if TYPE_CHECKING:  # pragma: no cover
    from simlab.cli import Environment
    from simlab.quiz.bank import Bank, Question
    from simlab.quiz.progress import ProgressStore
    from simlab.quiz.session import Result

# Kept in sync with simlab.quiz.curriculum.TOPICS by a test; duplicated so that building the
# parser imports nothing from the quiz package.
TOPIC_CHOICES = (
    "deployment_options", "serverless", "batch_transform", "async_inference", "multi_model",
    "serial_pipeline", "rollouts", "experiments_registry", "tensorboard", "pipelines_projects",
    "data_capture",
    "model_monitor", "inference_optimization", "autoscaling", "retraining",
    "infrastructure_as_code", "security", "cost_optimization",
)
TYPE_CHOICES = ("single", "multiple", "ordering", "matching")  # = simlab.quiz.bank.TYPES (tested)
DEFAULT_COUNT = 10


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of minutes > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of minutes > 0, got {text!r}")
    return value


def _letters(text: str) -> list[str]:
    """``B,C,A`` (one letter per question) or ``B;b,d;3142;bac`` (``;`` between answers, for
    multiple-response, ordering and matching answers or mock-exam commands)."""
    import re

    if ";" in text:
        answers = [part.strip() for part in text.split(";")]
        if answers[-1] == "":  # a trailing ';' marks a one-answer list: "b,d;"
            answers.pop()
        if not answers or not all(answers) or not all(re.fullmatch(r"[A-Za-z0-9 ,=:-]+", a) for a in answers):
            raise argparse.ArgumentTypeError(
                "must be answers separated by ';' (letters, digits, commas, spaces), e.g. "
                f"B;b,d;3142;bac, got {text!r}")
        return answers
    letters = [part.strip().upper() for part in text.split(",")]
    bad = [p for p in letters if p not in ("A", "B", "C", "D")]
    if bad or not letters:
        raise argparse.ArgumentTypeError(
            "must be a comma-separated list of A, B, C or D (e.g. B,C,A), or answers of any type "
            f"separated by ';' (e.g. B;b,d;3142;bac), got {text!r}")
    return letters


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``simlab quiz``."""
    parser.add_argument("--topic", action="append", choices=TOPIC_CHOICES, metavar="TOPIC",
                        help="only this topic (repeatable): " + ", ".join(TOPIC_CHOICES))
    parser.add_argument("--domain", action="append", type=int, choices=(1, 2, 3, 4),
                        help="only this MLA-C01 domain, 1-4 (repeatable)")
    parser.add_argument("--type", action="append", choices=TYPE_CHOICES, metavar="TYPE",
                        help="only this question type (repeatable): " + ", ".join(TYPE_CHOICES))
    parser.add_argument("--count", type=_positive_int, default=None,
                        help=f"questions to ask (default {DEFAULT_COUNT}; with --answers, "
                             "the number of answers)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed: the same seed and progress give the same questions, "
                             "with the options in the same order")
    parser.add_argument("--timed", type=_minutes, metavar="MINUTES",
                        help="stop asking when this many minutes have passed")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--review", action="store_true",
                      help="retry only the questions you last answered wrong")
    mode.add_argument("--stats", action="store_true",
                      help="show progress over time (sessions, mastery per topic) and exit")
    mode.add_argument("--exam", action="store_true",
                      help="mock exam: 65 questions drawn by the MLA-C01 domain weights, 130 "
                           "minutes, no feedback until the end, flag and go back, scaled score")
    mode.add_argument("--reset-progress", action="store_true",
                      help="delete the progress database ($SIMLAB_HOME/quiz.sqlite3) and exit")
    parser.add_argument("--answers", type=_letters, metavar="B,C,A",
                        help="answer the first questions non-interactively: letters (B,C,A), or "
                             "answers of any type separated by ';' (B;b,d;3142;bac); the labels "
                             "as displayed (options are shuffled per --seed). With --exam: the "
                             "lines typed at the exam prompt")


def _now() -> datetime:
    return datetime.now(UTC)


def _load_bank(env: Environment) -> Bank:
    from simlab.quiz.bank import bank_dir, load_bank

    return load_bank(bank_dir(env.environ))


def _plan(args: argparse.Namespace, bank: Bank, store: ProgressStore, seed: int
          ) -> list[Question]:
    """The questions of this session, in order."""
    import random

    from simlab.quiz import scheduler

    pool = [q for q in bank.select(args.topic, args.domain)
            if not args.type or q.type in args.type]
    rng = random.Random(seed)
    cards = store.cards()
    if args.review:
        ordered = scheduler.review_queue(pool, cards, rng)
    else:
        ordered = scheduler.order(pool, cards, _now(), rng)
    from simlab.quiz.session import group_cases

    count = args.count or (len(args.answers) if args.answers else DEFAULT_COUNT)
    return group_cases(ordered[:count])


def _mode(args: argparse.Namespace) -> str:
    if args.exam:
        return "exam"
    if args.review:
        return "review"
    if args.answers:
        return "scripted"
    return "timed" if args.timed else "practice"


def _filters(args: argparse.Namespace) -> str:
    parts = ([f"topic={t}" for t in args.topic or []] + [f"domain={d}" for d in args.domain or []]
             + [f"type={t}" for t in args.type or []])
    return " ".join(parts)


def _closing(result: Result, saved: int, where: str) -> str:
    from simlab.quiz.session import Ended

    n, m = saved, result.planned
    return {
        Ended.DONE: f"Progress saved to {where}.",
        Ended.QUIT: f"Stopped after {n} of {m} questions; progress saved to {where}.",
        Ended.EOF: f"End of input: stopped after {n} of {m} questions; progress saved to {where}.",
        Ended.TIMEOUT: f"Time is up: {n} of {m} questions answered; progress saved to {where}.",
        Ended.INTERRUPTED: f"Interrupted: {n} of {m} answers saved to {where}.",
    }[result.ended]


def _session(args: argparse.Namespace, env: Environment, bank: Bank, store: ProgressStore
             ) -> ExitStatus:
    import random

    from simlab.quiz.bank import grade
    from simlab.quiz.report import render_report
    from simlab.quiz.session import Ended, Outcome, ScriptedInput, TerminalInput, run_session

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    questions = _plan(args, bank, store, seed)
    if not questions:
        if args.review:
            env.stdout.write("Nothing to review: no question was last answered wrong.\n")
            return ExitStatus.SUCCESS
        env.stderr.write(f"error: no question matches {_filters(args) or 'the bank'}\n")
        return ExitStatus.USAGE
    if args.answers and len(args.answers) > len(questions):
        env.stderr.write(f"error: --answers: {len(args.answers)} answers for "
                         f"{len(questions)} selected questions\n")
        return ExitStatus.USAGE
    if args.answers:
        questions = questions[:len(args.answers)]
    session_id = store.start_session(_mode(args), seed, _filters(args), len(questions), _now())
    source = (ScriptedInput(args.answers, env.stdout) if args.answers
              else TerminalInput(env.stdin, env.stdout, echo=not env.stdin_isatty))

    def record(q: Question, chosen: str) -> None:  # chosen: canonical, not the shown labels
        store.record(session_id, q.id, q.topic, q.domain, chosen, grade(q, chosen), _now())

    limit = args.timed * 60 if args.timed else None
    env.stdout.write(f"simlab quiz: {len(questions)} questions (seed {seed})"
                     + (f", {args.timed:g} min" if limit else "") + ". Type q to stop.\n")
    result = run_session(questions, source, env.stdout, record, time_limit_s=limit, seed=seed)
    store.finish_session(session_id, str(result.ended), _now())
    # Report what the database holds: a Ctrl-C can land inside record() after its COMMIT, and
    # then the answer is saved although run_session did not see record() return.
    asked = {q.id: q for q in questions}
    outcomes = [Outcome(asked[qid], chosen) for qid, chosen in store.session_answers(session_id)
                if qid in asked]
    env.stdout.write(render_report(outcomes))
    env.stdout.write(_closing(result, len(outcomes), str(store.path)) + "\n")
    env.stdout.flush()
    return ExitStatus.INTERRUPTED if result.ended == Ended.INTERRUPTED else ExitStatus.SUCCESS


def _exam(args: argparse.Namespace, env: Environment, bank: Bank, store: ProgressStore
          ) -> ExitStatus:
    """The mock exam: draw, run, save every answer at once, score at the end."""
    import random

    from simlab.quiz.bank import grade
    from simlab.quiz.exam import (
        EXAM_MINUTES,
        EXAM_QUESTIONS,
        ExamState,
        draw,
        exam_row_values,
        render_results,
    )
    from simlab.quiz.progress import ExamRow
    from simlab.quiz.session import Ended, ScriptedInput, TerminalInput

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    try:
        questions, plan = draw(bank.questions, random.Random(seed))
    except ValueError as e:
        env.stderr.write(f"error: --exam: {e}\n")
        return ExitStatus.USAGE
    session_id = store.start_session("exam", seed, "", len(questions), _now())
    store.start_exam(session_id, [(q.id, q.topic, q.domain) for q in questions], _now())
    state = ExamState(questions)

    def save(position: int, q: Question, chosen: str | None, flagged: bool) -> None:
        store.save_exam_answer(session_id, position, chosen,
                               None if chosen is None else grade(q, chosen), flagged, _now())

    source = (ScriptedInput(args.answers, env.stdout) if args.answers
              else TerminalInput(env.stdin, env.stdout, echo=not env.stdin_isatty))
    env.stdout.write(f"simlab quiz --exam: {EXAM_QUESTIONS} questions, {EXAM_MINUTES} minutes "
                     f"(seed {seed}). No feedback until you submit.\n{plan.text()}\n")
    from simlab.quiz.exam import run_exam

    ended = run_exam(state, source, env.stdout, save, seed=seed,
                     time_limit_s=(args.timed * 60 if args.timed else EXAM_MINUTES * 60))
    # what the database holds is the authority (a Ctrl-C can land inside save after its COMMIT)
    saved = store.exam_answers(session_id)
    state.answers = [a.chosen for a in saved]
    state.flagged = [a.flagged for a in saved]
    answered = sum(a is not None for a in state.answers)
    where = str(store.path)
    if ended in (Ended.DONE, Ended.TIMEOUT):
        total, right, scaled, passed, per_domain = exam_row_values(state)
        store.finish_exam(ExamRow(session_id, _now(), total, right, scaled, passed, per_domain))
        for q, a in zip(state.questions, state.answers, strict=True):
            if a is not None:
                store.record(session_id, q.id, q.topic, q.domain, a, grade(q, a), _now())
        store.finish_session(session_id, str(ended), _now())
        env.stdout.write(render_results(state, seed, finished=True))
        env.stdout.write(f"Exam saved to {where}.\n")
        return ExitStatus.SUCCESS
    store.finish_session(session_id, str(ended), _now())
    how = {Ended.QUIT: "Stopped", Ended.EOF: "End of input",
           Ended.INTERRUPTED: "Interrupted"}[ended]
    env.stdout.write(f"{how}: exam not submitted; {answered} of {len(questions)} answers saved "
                     f"to {where} (not scored).\n")
    env.stdout.flush()
    return ExitStatus.INTERRUPTED if ended == Ended.INTERRUPTED else ExitStatus.SUCCESS


def _stats(env: Environment, bank: Bank, store: ProgressStore) -> ExitStatus:
    from simlab.quiz.report import render_stats

    env.stdout.write(render_stats(bank, store.sessions(), store.answers(), store.cards(), _now(),
                                  str(store.path), exams=store.exams()))
    return ExitStatus.SUCCESS


def _reset(env: Environment) -> ExitStatus:
    from simlab.quiz.progress import progress_path, reset

    path = progress_path(env.environ)
    if reset(path):
        env.stdout.write(f"Deleted quiz progress {path}.\n")
    else:
        env.stdout.write(f"No quiz progress to delete at {path}.\n")
    return ExitStatus.SUCCESS


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Run ``simlab quiz``; never raises for user mistakes or a bad progress database."""
    from simlab.quiz.bank import BankError, BankNotFound
    from simlab.quiz.progress import ProgressError, ProgressStore, progress_path

    try:
        if args.reset_progress:
            return _reset(env)
        bank = _load_bank(env)
        with ProgressStore.open(progress_path(env.environ)) as store:
            if args.stats:
                return _stats(env, bank, store)
            if args.exam:
                return _exam(args, env, bank, store)
            return _session(args, env, bank, store)
    except BankError as e:
        env.stderr.write(e.render() + "\n")
        return ExitStatus.USAGE
    except (BankNotFound, ProgressError) as e:
        env.stderr.write(f"error: {e}\n")
        return ExitStatus.ERROR
