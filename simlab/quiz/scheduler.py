"""Leitner-box spaced repetition: which question to ask next.

Each question has a card in one of five boxes. A new question counts as box 1. A right answer
moves the card up one box (at most 5); a wrong answer sends it back to box 1. A card becomes due
again a fixed interval after it was last answered:

=====  ==========  ===========================================
box    interval    meaning
=====  ==========  ===========================================
1      0 (now)     missed or shaky: asked again next session
2      1 day
3      3 days
4      7 days      "mastered" from here on (see the stats)
5      21 days
=====  ==========  ===========================================

Order of a session (:func:`order`): due cards first, lowest box first; then questions never
seen; then cards not yet due, soonest due first. Ties are broken by a seeded random draw, so the
same seed and the same progress give the same session.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

__all__ = ["BOXES", "INTERVALS", "MASTERED_BOX", "Card", "next_box", "answer", "order",
           "review_queue"]

BOXES = 5
MASTERED_BOX = 4
INTERVALS: dict[int, timedelta] = {
    1: timedelta(0),
    2: timedelta(days=1),
    3: timedelta(days=3),
    4: timedelta(days=7),
    5: timedelta(days=21),
}


class HasId(Protocol):
    @property
    def id(self) -> str: ...


Q = TypeVar("Q", bound=HasId)


@dataclass(frozen=True)
class Card:
    """The scheduling state of one question."""

    question_id: str
    box: int
    due_at: datetime
    last_correct: bool
    seen: int = 1
    correct: int = 0
    last_answered_at: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.due_at <= now


def next_box(box: int | None, correct: bool) -> int:
    """The box after an answer: right -> one up (max 5), wrong -> 1; ``None`` = new (box 1)."""
    if not correct:
        return 1
    return min((box or 1) + 1, BOXES)


def answer(card: Card | None, question_id: str, correct: bool, now: datetime) -> Card:
    """The card after answering ``question_id`` at ``now`` (``card`` is None for a new one)."""
    box = next_box(card.box if card else None, correct)
    return Card(
        question_id=question_id,
        box=box,
        due_at=now + INTERVALS[box],
        last_correct=correct,
        seen=(card.seen if card else 0) + 1,
        correct=(card.correct if card else 0) + int(correct),
        last_answered_at=now,
    )


def _draws(questions: Sequence[HasId], rng: random.Random) -> dict[str, float]:
    """One random tie-breaker per question, drawn in bank order (stable for a seed)."""
    return {q.id: rng.random() for q in questions}


def order(questions: Sequence[Q], cards: Mapping[str, Card], now: datetime,
          rng: random.Random) -> list[Q]:
    """All ``questions`` in the order to ask them (see the module docstring)."""
    draw = _draws(questions, rng)

    def key(q: Q) -> tuple:
        card = cards.get(q.id)
        if card is None:
            return (1, 0, 0.0, draw[q.id])
        if card.is_due(now):
            return (0, card.box, 0.0, draw[q.id])
        return (2, 0, card.due_at.timestamp(), draw[q.id])

    return sorted(questions, key=key)


def review_queue(questions: Sequence[Q], cards: Mapping[str, Card],
                 rng: random.Random) -> list[Q]:
    """Only the questions whose last answer was wrong, in seeded random order."""
    draw = _draws(questions, rng)
    missed = [q for q in questions if q.id in cards and not cards[q.id].last_correct]
    return sorted(missed, key=lambda q: draw[q.id])
