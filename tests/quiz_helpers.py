"""Shared by the quiz tests: the tiny bank, and what a learner types to answer right."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from simlab.quiz import scheduler
from simlab.quiz.bank import Bank, Question
from simlab.quiz.session import group_cases, view_for

#: One question of every type and a case study (tests/quizbank/serverless.yaml).
TINY = Path(__file__).with_name("quizbank")


def typed_key(q: Question, seed: int | None) -> str:
    """What a learner types to answer ``q`` right in a session with ``seed``."""
    sh = view_for(q, seed).shuffle
    if q.type == "single":
        return sh.shown(q.answer)
    if q.type == "multiple":
        return ",".join(sh.shown(k) for k in q.answer)
    if q.type == "ordering":
        return "".join(sh.shown(k) for k in q.answer)
    return "".join(sh.shown(q.answer[k]) for k in q.options)


def planned(bank: Bank, seed: int, count: int) -> list[Question]:
    """The order ``simlab quiz`` asks a fresh learner (no progress) with ``seed``."""
    now = datetime.now(UTC)
    return group_cases(scheduler.order(list(bank.questions), {}, now, random.Random(seed))[:count])
