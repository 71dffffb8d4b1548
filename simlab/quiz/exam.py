"""The mock exam (``simlab quiz --exam``): 65 questions drawn by the MLA-C01 domain weights,
130 minutes, no feedback until the end, flag for review and go back, then a scaled score.

The draw (:func:`draw`): each domain's quota is its weight's share of 65 (largest remainder:
18 / 17 / 14 / 16 for 28 / 26 / 22 / 24 %). This bank is written for the deployment and
monitoring part of the exam (mostly domains 3 and 4); a domain with fewer questions than its
quota gives all it has and the shortfall goes to the other domains in proportion to their
weights. :func:`draw_plan` says exactly what was asked and what was drawn, and the exam prints it.

The scaled score is an approximation: AWS reports 100-1000 with 720 to pass and does not publish
its scaling (it equates exam forms). Here: ``scaled = round(100 + 900 x right / 65)``, blank
answers count as wrong (as on the exam), pass at 720 (about 69 % right).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from simlab.quiz.bank import Question, grade
from simlab.quiz.curriculum import DOMAIN_WEIGHTS, DOMAINS
from simlab.quiz.session import (
    QUIT,
    AnswerSource,
    Ended,
    View,
    _fill,
    group_cases,
    parse_response,
    prompt_for,
    render_feedback,
    render_question,
    shown_text,
    view_for,
)

__all__ = ["EXAM_QUESTIONS", "EXAM_MINUTES", "PASS_SCALED", "DrawPlan", "ExamState",
           "quotas", "draw", "draw_plan", "scaled_score", "run_exam", "render_results",
           "EXAM_PROMPT"]

EXAM_QUESTIONS = 65
EXAM_MINUTES = 130
PASS_SCALED = 720
EXAM_PROMPT = "Exam> answer, or n next, p previous, g N go to, f flag, r review, s submit, q quit: "


def quotas(total: int = EXAM_QUESTIONS, weights: dict[int, int] = DOMAIN_WEIGHTS) -> dict[int, int]:
    """Questions per domain for ``total`` by ``weights`` (largest remainder, ties to domain 1)."""
    exact = {d: total * w / sum(weights.values()) for d, w in weights.items()}
    out = {d: int(x) for d, x in exact.items()}
    for d in sorted(exact, key=lambda d: (-(exact[d] - out[d]), d))[:total - sum(out.values())]:
        out[d] += 1
    return out


@dataclass(frozen=True)
class DrawPlan:
    """What the draw asked of each domain (``wanted``), what the bank has, what was drawn."""

    wanted: dict[int, int]
    available: dict[int, int]
    drawn: dict[int, int]

    def text(self) -> str:
        """One line per domain: weight, quota, bank size, drawn."""
        lines = ["Domains (MLA-C01 weight -> quota of 65; bank questions; drawn):"]
        for d in sorted(self.wanted):
            lines.append(f"  {d} {DOMAINS[d]:<52} {DOMAIN_WEIGHTS[d]:>2} % -> {self.wanted[d]:>2};"
                         f" bank {self.available[d]:>3}; drawn {self.drawn[d]:>2}")
        short = [d for d in self.wanted if self.drawn[d] < self.wanted[d]]
        if short:
            which = ", ".join(map(str, short))
            lines.append(_fill(
                "This bank is written for the deployment and monitoring part of the exam (domains "
                "2-4: experiment tracking, deployment and orchestration, monitoring and security); "
                f"domain {which} has fewer questions than its quota, so the rest of the "
                f"{sum(self.drawn.values())} is drawn from the other domains in proportion to "
                "their weights.", "  "))
        return "\n".join(lines)


def draw_plan(available: dict[int, int], total: int = EXAM_QUESTIONS) -> DrawPlan:
    """How many questions to draw per domain from ``available`` (see the module docstring).

    Raises:
        ValueError: when the bank has fewer than ``total`` questions.
    """
    if sum(available.values()) < total:
        raise ValueError(f"the bank has {sum(available.values())} questions; a mock exam needs "
                         f"{total}")
    wanted = quotas(total)
    drawn = {d: min(wanted[d], available.get(d, 0)) for d in wanted}
    while sum(drawn.values()) < total:
        open_ = {d: DOMAIN_WEIGHTS[d] for d in drawn if drawn[d] < available.get(d, 0)}
        extra = quotas(total - sum(drawn.values()), open_)
        for d, n in extra.items():
            drawn[d] += min(n, available[d] - drawn[d])
    return DrawPlan(wanted, {d: available.get(d, 0) for d in wanted}, drawn)


def draw(questions: Sequence[Question], rng: random.Random,
         total: int = EXAM_QUESTIONS) -> tuple[list[Question], DrawPlan]:
    """The exam's questions (case studies kept together) and the plan they were drawn by.

    Raises:
        ValueError: when there are fewer than ``total`` questions.
    """
    by_domain: dict[int, list[Question]] = {d: [] for d in DOMAIN_WEIGHTS}
    for q in questions:
        by_domain[q.domain].append(q)
    plan = draw_plan({d: len(qs) for d, qs in by_domain.items()}, total)
    picked = [q for d in sorted(by_domain) for q in rng.sample(by_domain[d], plan.drawn[d])]
    rng.shuffle(picked)
    return group_cases(picked), plan


def scaled_score(correct: int, total: int) -> int:
    """``round(100 + 900 x correct / total)``: an approximation of AWS's 100-1000 scale."""
    return round(100 + 900 * correct / total) if total else 100


@dataclass
class ExamState:
    """Answers (canonical, None = blank) and flags of every exam question."""

    questions: list[Question]
    answers: list[str | None] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.answers = self.answers or [None] * len(self.questions)
        self.flagged = self.flagged or [False] * len(self.questions)

    def correct(self) -> int:
        return sum(1 for q, a in zip(self.questions, self.answers, strict=True)
                   if a is not None and grade(q, a))

    def per_domain(self) -> dict[int, tuple[int, int]]:
        """Domain -> (right, asked)."""
        out: dict[int, list[int]] = {}
        for q, a in zip(self.questions, self.answers, strict=True):
            t = out.setdefault(q.domain, [0, 0])
            t[0] += int(a is not None and grade(q, a))
            t[1] += 1
        return {d: (v[0], v[1]) for d, v in sorted(out.items())}


Save = Callable[[int, Question, "str | None", bool], None]


def _review(state: ExamState) -> str:
    lines = ["", "Review (* = flagged, - = blank):"]
    row = []
    for i, (a, f) in enumerate(zip(state.answers, state.flagged, strict=True), 1):
        row.append(f"{i:>3}{'*' if f else ' '}{'-' if a is None else ' '}")
        if len(row) == 10:
            lines.append(" ".join(row))
            row = []
    if row:
        lines.append(" ".join(row))
    blank = sum(a is None for a in state.answers)
    flagged = [str(i) for i, f in enumerate(state.flagged, 1) if f]
    lines.append(f"{len(state.answers) - blank} answered, {blank} blank, flagged: "
                 f"{', '.join(flagged) or 'none'}. Type s to submit, g N to go to a question.")
    return "\n".join(lines) + "\n"


def run_exam(state: ExamState, source: AnswerSource, out: IO[str], save: Save, *,
             clock: Callable[[], float] = time.monotonic,
             time_limit_s: float = EXAM_MINUTES * 60, seed: int | None = None) -> Ended:
    """Run the exam until submitted (``DONE``), time up, quit, end of input or Ctrl-C.

    Every answer and flag change is passed to ``save(position, question, answer, flagged)`` at
    once, so whatever ends the exam, the answers given so far are kept. No feedback is shown;
    :func:`render_results` gives it at the end.

    Raises:
        whatever ``save`` raises (e.g. ProgressError).
    """
    deadline = clock() + time_limit_s
    views = [view_for(q, seed) for q in state.questions]
    n = len(state.questions)
    i = 0
    shown = -1
    try:
        while True:
            if clock() >= deadline:
                out.write("\nTime is up: the exam is submitted with the answers given.\n")
                return Ended.TIMEOUT
            if shown != i:
                extra = ("  [flagged]" if state.flagged[i] else "") + (
                    f"  [your answer: {shown_text(views[i], state.answers[i])}]"
                    if state.answers[i] is not None else "")
                out.write(render_question(views[i], i + 1, n, deadline - clock(), extra))
                out.write(f"({prompt_for(views[i]).rstrip(': ').replace('q to quit', 'then Enter')})\n")
                shown = i
            text = source.read(EXAM_PROMPT)
            if text is None:
                return Ended.EOF
            if clock() > deadline:
                out.write("  Time is up: that input came after the limit and is ignored.\n")
                return Ended.TIMEOUT
            word = text.strip().lower()
            if word in ("s", "submit"):
                return Ended.DONE
            if word in ("q", "quit"):
                return Ended.QUIT
            if word in ("n", "next", ""):
                i, shown = (i + 1) % n, -1
            elif word in ("p", "prev", "previous"):
                i, shown = (i - 1) % n, -1
            elif word in ("f", "flag"):
                state.flagged[i] = not state.flagged[i]
                save(i, state.questions[i], state.answers[i], state.flagged[i])
                out.write(f"  Question {i + 1} {'flagged' if state.flagged[i] else 'unflagged'}.\n")
            elif word in ("r", "review"):
                out.write(_review(state))
            elif word.startswith("g"):
                target = word[1:].strip()
                if target.isdigit() and 1 <= int(target) <= n:
                    i, shown = int(target) - 1, -1
                else:
                    out.write(f"  Go to which question? Type g and a number 1-{n}, e.g. g 12.\n")
            else:
                choice = _answer(views[i], text)
                if choice is None:
                    out.write("  Not an answer to this question; the prompt above says what to "
                              "type (or n, p, g N, f, r, s, q).\n")
                    continue
                state.answers[i] = choice
                save(i, state.questions[i], choice, state.flagged[i])
                if i == n - 1:
                    out.write(_review(state))
                    shown = i
                else:
                    i, shown = i + 1, -1
    except KeyboardInterrupt:
        out.write("\n")
        return Ended.INTERRUPTED


def _answer(view: View, text: str) -> str | None:
    choice = parse_response(view, text)
    return None if choice == QUIT else choice


def render_results(state: ExamState, seed: int | None, finished: bool) -> str:
    """The scaled score, pass or fail, per-domain results, then every question with feedback."""
    total, right = len(state.questions), state.correct()
    scaled = scaled_score(right, total)
    lines = ["", "=" * 60,
             f"Mock exam {'result' if finished else '(not submitted: score of the answers so far)'}:"
             f" {right}/{total} right -> scaled {scaled} (pass {PASS_SCALED}): "
             f"{'PASS' if scaled >= PASS_SCALED else 'FAIL'}",
             _fill("The scaled score is an approximation (100 + 900 x share right); AWS does not "
                   "publish its scaling. Blank answers count as wrong.", "  "),
             "", "By domain:"]
    for d, (r, n) in state.per_domain().items():
        lines.append(f"  {d}  {DOMAINS[d]:<52} {f'{r}/{n}':>7} {r / n:>5.0%}")
    lines += ["", "Answers and explanations:"]
    for k, (q, a) in enumerate(zip(state.questions, state.answers, strict=True), 1):
        view = view_for(q, seed)
        lines.append(f"\nQuestion {k}: " + ("blank" if a is None else
                                             ("right" if grade(q, a) else "wrong")))
        lines.append(_fill(q.scenario, "  "))
        if a is None:
            from simlab.quiz.bank import key_text
            lines.append(f"  Blank. The answer is {shown_text(view, key_text(q))}.")
            lines.append(render_feedback(view, key_text(q)).split("\n", 1)[1].rstrip("\n"))
        else:
            lines.append(render_feedback(view, a).rstrip("\n"))
    return "\n".join(lines) + "\n"


def exam_row_values(state: ExamState) -> tuple[int, int, int, bool, dict[int, tuple[int, int]]]:
    """``(total, correct, scaled, passed, per_domain)`` of a finished exam."""
    total, right = len(state.questions), state.correct()
    scaled = scaled_score(right, total)
    return total, right, scaled, scaled >= PASS_SCALED, state.per_domain()


def now_utc() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
