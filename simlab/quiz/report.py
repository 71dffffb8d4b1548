"""Scores of a session (per topic, per domain, weak topics) and progress over time (``--stats``)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from simlab.quiz.bank import Bank
from simlab.quiz.curriculum import DOMAINS, TOPICS
from simlab.quiz.progress import AnswerRow, SessionRow
from simlab.quiz.scheduler import BOXES, MASTERED_BOX, Card
from simlab.quiz.session import Outcome

__all__ = ["WEAK_BELOW", "Tally", "tally", "weak_topics", "render_report", "render_stats"]

#: A topic scored below this share of right answers is "weak" (the exam pass mark is ~72 %).
WEAK_BELOW = 0.7

K = TypeVar("K", bound=Hashable)


@dataclass
class Tally:
    """Right answers out of asked."""

    asked: int = 0
    correct: int = 0

    @property
    def share(self) -> float:
        return self.correct / self.asked if self.asked else 0.0

    def text(self) -> str:
        """``  7/10    70%``: right/asked and the share, aligned for tables."""
        return f"{f'{self.correct}/{self.asked}':>7} {self.share:>5.0%}"


def tally(items: Iterable[tuple[K, bool]]) -> dict[K, Tally]:
    """Counts per key from ``(key, correct)`` pairs, keys in first-seen order."""
    out: dict[K, Tally] = {}
    for key, correct in items:
        t = out.setdefault(key, Tally())
        t.asked += 1
        t.correct += int(correct)
    return out


def by_topic(outcomes: Sequence[Outcome]) -> dict[str, Tally]:
    """Per-topic tallies in curriculum order."""
    t = tally((o.question.topic, o.correct) for o in outcomes)
    return {k: t[k] for k in TOPICS if k in t}


def by_domain(outcomes: Sequence[Outcome]) -> dict[int, Tally]:
    """Per-domain tallies, domain 1 first."""
    t = tally((o.question.domain, o.correct) for o in outcomes)
    return dict(sorted(t.items()))


def weak_topics(outcomes: Sequence[Outcome]) -> list[tuple[str, Tally, list[str]]]:
    """Topics below :data:`WEAK_BELOW`, weakest first, with the sections of the missed questions."""
    topics = by_topic(outcomes)
    weak = [(k, t) for k, t in topics.items() if t.share < WEAK_BELOW]
    weak.sort(key=lambda kt: (kt[1].share, TOPICS.index(kt[0])))
    out = []
    for topic, t in weak:
        sections = list(dict.fromkeys(o.question.section for o in outcomes
                                      if o.question.topic == topic and not o.correct))
        out.append((topic, t, sections))
    return out


def render_report(outcomes: Sequence[Outcome]) -> str:
    """The end-of-session report: total, per topic, per domain, what to study next."""
    if not outcomes:
        return "\nNo question answered in this session.\n"
    total = tally(("all", o.correct) for o in outcomes)["all"]
    lines = ["", "=" * 60, f"Score: {total.correct}/{total.asked} ({total.share:.0%})", "",
             "By topic:"]
    lines += [f"  {k:<24} {t.text()}" for k, t in by_topic(outcomes).items()]
    lines += ["", "By domain:"]
    lines += [f"  {d}  {DOMAINS[d]:<52} {t.text()}" for d, t in by_domain(outcomes).items()]
    weak = weak_topics(outcomes)
    lines.append("")
    if not weak:
        lines.append(f"No weak topic in this session (every topic at {WEAK_BELOW:.0%} or better).")
    else:
        lines.append(f"Study next (topics below {WEAK_BELOW:.0%}, weakest first):")
        for topic, t, sections in weak:
            lines.append(f"  {topic} ({t.correct}/{t.asked}, {t.share:.0%}):")
            lines += [f"    - {s}" for s in sections]
    return "\n".join(lines) + "\n"


def _sessions_table(sessions: Sequence[SessionRow]) -> list[str]:
    if not sessions:
        return ["  (no session yet)"]
    lines = [f"  {'#':>3}  {'date (UTC)':<16}  {'mode':<9} {'score':>13}  ended"]
    for s in sessions:
        t = Tally(s.answered, s.correct)
        score = t.text() if s.answered else "-"
        lines.append(f"  {s.id:>3}  {s.started_at:%Y-%m-%d %H:%M}  {s.mode:<9} {score:>13}  "
                     f"{s.ended or 'unfinished'}")
    return lines


def _mastery_table(bank: Bank, cards: dict[str, Card], answers: Sequence[AnswerRow],
                   now: datetime) -> list[str]:
    accuracy = tally((a.topic, a.correct) for a in answers)
    lines = [f"  {'topic':<24} {'seen':>7}  {'mastered':>8}  {'due':>4}  {'accuracy':>8}"
             "  boxes 1-5"]
    for topic in TOPICS:
        ids = [q.id for q in bank.questions if q.topic == topic]
        if not ids:
            continue
        mine = [cards[i] for i in ids if i in cards]
        boxes = [sum(1 for c in mine if c.box == b) for b in range(1, BOXES + 1)]
        mastered = sum(1 for c in mine if c.box >= MASTERED_BOX)
        due = sum(1 for c in mine if c.is_due(now))
        acc = f"{accuracy[topic].share:.0%}" if topic in accuracy else "-"
        seen = f"{len(mine)}/{len(ids)}"
        lines.append(f"  {topic:<24} {seen:>7}  {mastered:>8}  {due:>4}  {acc:>8}  "
                     f"{' '.join(str(b) for b in boxes)}")
    return lines


def render_stats(bank: Bank, sessions: Sequence[SessionRow], answers: Sequence[AnswerRow],
                 cards: dict[str, Card], now: datetime, where: str) -> str:
    """Progress over time: every session with its score, then mastery per topic."""
    known = [c for qid, c in cards.items() if qid in bank.by_id()]
    mastered = sum(1 for c in known if c.box >= MASTERED_BOX)
    lines = [f"Quiz progress ({where})", "", "Sessions (oldest first):", *_sessions_table(sessions),
             "", f"Mastery by topic (Leitner boxes 1-{BOXES}; mastered = box {MASTERED_BOX}+; "
             "due = to ask again now):", *_mastery_table(bank, cards, answers, now), "",
             f"Overall: {len(known)}/{len(bank)} questions seen, {mastered} mastered, "
             f"{len(bank) - len(known)} never asked."]
    return "\n".join(lines) + "\n"
