"""Leitner boxes: box moves, due dates, and the order questions are asked in."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from simlab.quiz.scheduler import BOXES, INTERVALS, Card, answer, next_box, order, review_queue

NOW = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Q:
    id: str


@pytest.mark.parametrize(("box", "correct", "expected"), [
    (None, True, 2), (None, False, 1), (1, True, 2), (2, True, 3), (4, True, 5), (5, True, 5),
    (5, False, 1), (3, False, 1), (1, False, 1),
])
def test_next_box(box: int | None, correct: bool, expected: int) -> None:
    assert next_box(box, correct) == expected


def test_intervals_grow_and_box_one_is_due_immediately() -> None:
    assert INTERVALS[1] == timedelta(0)
    gaps = [INTERVALS[b] for b in range(1, BOXES + 1)]
    assert gaps == sorted(gaps) and len(set(gaps)) == BOXES


def test_answer_moves_card_and_sets_due_date() -> None:
    first = answer(None, "q1", True, NOW)
    assert (first.box, first.seen, first.correct, first.last_correct) == (2, 1, 1, True)
    assert first.due_at == NOW + INTERVALS[2]
    later = NOW + timedelta(days=2)
    second = answer(first, "q1", True, later)
    assert (second.box, second.seen, second.correct) == (3, 2, 2)
    assert second.due_at == later + INTERVALS[3]
    wrong = answer(second, "q1", False, later)
    assert (wrong.box, wrong.last_correct, wrong.due_at) == (1, False, later)


def card(qid: str, box: int, due: datetime, last_correct: bool = True) -> Card:
    return Card(qid, box, due, last_correct)


def test_order_due_first_by_box_then_new_then_not_due() -> None:
    qs = [Q(i) for i in ("new1", "due_box3", "later", "due_box1", "new2", "sooner")]
    cards = {
        "due_box3": card("due_box3", 3, NOW - timedelta(days=1)),
        "due_box1": card("due_box1", 1, NOW, last_correct=False),
        "later": card("later", 5, NOW + timedelta(days=20)),
        "sooner": card("sooner", 4, NOW + timedelta(days=2)),
    }
    got = [q.id for q in order(qs, cards, NOW, random.Random(0))]
    assert got[:2] == ["due_box1", "due_box3"]
    assert set(got[2:4]) == {"new1", "new2"}
    assert got[4:] == ["sooner", "later"]


def test_order_is_seeded_among_equals() -> None:
    qs = [Q(f"q{i}") for i in range(30)]
    a = [q.id for q in order(qs, {}, NOW, random.Random(7))]
    b = [q.id for q in order(qs, {}, NOW, random.Random(7))]
    c = [q.id for q in order(qs, {}, NOW, random.Random(8))]
    assert a == b and a != c and sorted(a) == sorted(q.id for q in qs)


def test_review_queue_only_last_answered_wrong() -> None:
    qs = [Q(i) for i in ("right", "wrong1", "never", "wrong2")]
    cards = {
        "right": card("right", 3, NOW + timedelta(days=3)),
        "wrong1": card("wrong1", 1, NOW, last_correct=False),
        "wrong2": card("wrong2", 1, NOW, last_correct=False),
    }
    got = {q.id for q in review_queue(qs, cards, random.Random(1))}
    assert got == {"wrong1", "wrong2"}


def test_a_missed_question_comes_back_before_a_mastered_one() -> None:
    qs = [Q("a"), Q("b")]
    a = answer(answer(answer(None, "a", True, NOW), "a", True, NOW), "a", True, NOW)  # box 4
    b = answer(None, "b", False, NOW)
    tomorrow = NOW + timedelta(days=1)
    assert [q.id for q in order(qs, {"a": a, "b": b}, tomorrow, random.Random(0))] == ["b", "a"]
