"""Scores of a session (per topic, per domain, weak topics) and progress over time (``--stats``)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from simlab.quiz.bank import Bank
from simlab.quiz.curriculum import DOMAINS, SECTION_INFO, TOPICS
from simlab.quiz.progress import AnswerRow, ExamRow, SessionRow
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
            lines += [f"    - {s} (read more: {SECTION_INFO[s].read_more})" for s in sections]
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


#: The readiness bar per domain: the exam's pass mark, about 72 % (720 of 1000).
READY_AT = 0.72


def _mastery_row(label: str, ids: list[str], cards: dict[str, Card], acc: Tally | None,
                 now: datetime, width: int) -> str:
    mine = [cards[i] for i in ids if i in cards]
    boxes = [sum(1 for c in mine if c.box == b) for b in range(1, BOXES + 1)]
    mastered = sum(1 for c in mine if c.box >= MASTERED_BOX)
    due = sum(1 for c in mine if c.is_due(now))
    new = len(ids) - len(mine)
    text = f"{acc.share:.0%}" if acc is not None else "-"
    seen = f"{len(mine)}/{len(ids)}"
    return (f"  {label:<{width}} {seen:>7}  {new:>4}  {mastered:>8}  {due:>4}  {text:>8}  "
            f"{' '.join(str(b) for b in boxes)}")


def readiness(ids: list[str], cards: dict[str, Card]) -> float:
    """Share of the questions whose last answer was right; never-asked ones count as not yet
    right. A mock exam drawn from these questions would score about this share."""
    return sum(1 for i in ids if i in cards and cards[i].last_correct) / len(ids) if ids else 0.0


def _mastery_table(bank: Bank, cards: dict[str, Card], answers: Sequence[AnswerRow],
                   now: datetime) -> list[str]:
    accuracy = tally((a.topic, a.correct) for a in answers)
    lines = [f"  {'topic':<24} {'seen':>7}  {'new':>4}  {'mastered':>8}  {'due':>4}  "
             f"{'accuracy':>8}  boxes 1-5"]
    for topic in TOPICS:
        ids = [q.id for q in bank.questions if q.topic == topic]
        if ids:
            lines.append(_mastery_row(topic, ids, cards, accuracy.get(topic), now, 24))
    return lines


def _domain_table(bank: Bank, cards: dict[str, Card], answers: Sequence[AnswerRow],
                  now: datetime) -> list[str]:
    accuracy = tally((a.domain, a.correct) for a in answers)
    lines = [f"  {'domain':<24} {'seen':>7}  {'new':>4}  {'mastered':>8}  {'due':>4}  "
             f"{'accuracy':>8}  boxes 1-5   readiness"]
    for d in DOMAINS:
        ids = [q.id for q in bank.questions if q.domain == d]
        if not ids:
            continue
        r = readiness(ids, cards)
        verdict = "ready" if r >= READY_AT else "not yet"
        lines.append(_mastery_row(f"{d} {DOMAINS[d][:22]}", ids, cards, accuracy.get(d), now, 24)
                     + f"   {r:>4.0%} {verdict}")
    return lines


def _exams_table(exams: Sequence[ExamRow]) -> list[str]:
    if not exams:
        return ["  (no mock exam submitted yet: simlab quiz --exam)"]
    lines = [f"  {'#':>3}  {'date (UTC)':<16}  {'right':>6}  {'scaled':>6}  result  "
             + "  ".join(f"domain {d}" for d in DOMAINS)]
    for e in exams:
        cells = "  ".join(f"{f'{r}/{n}':>8}" if n else f"{'-':>8}"
                          for r, n in (e.per_domain.get(d, (0, 0)) for d in DOMAINS))
        lines.append(f"  {e.session_id:>3}  {e.finished_at:%Y-%m-%d %H:%M}  "
                     f"{f'{e.correct}/{e.total}':>6}  {e.scaled:>6}  "
                     f"{'PASS' if e.passed else 'FAIL':<6}  {cells}")
    return lines


def render_stats(bank: Bank, sessions: Sequence[SessionRow], answers: Sequence[AnswerRow],
                 cards: dict[str, Card], now: datetime, where: str,
                 exams: Sequence[ExamRow] = ()) -> str:
    """Progress over time: sessions, mock exams with per-domain results, mastery per topic and
    per domain (never-asked questions counted as new), and a readiness estimate per domain."""
    known = [c for qid, c in cards.items() if qid in bank.by_id()]
    mastered = sum(1 for c in known if c.box >= MASTERED_BOX)
    lines = [f"Quiz progress ({where})", "", "Sessions (oldest first):", *_sessions_table(sessions),
             "", "Mock exams (scaled score 100-1000, pass 720; right/asked per domain):",
             *_exams_table(exams),
             "", f"Mastery by topic (Leitner boxes 1-{BOXES}; new = never asked; mastered = box "
             f"{MASTERED_BOX}+; due = asked before and due again now):",
             *_mastery_table(bank, cards, answers, now),
             "", "Mastery and readiness by domain (readiness = share of the domain's questions "
             f"whose last answer was right, new ones counted as not yet; ready at "
             f"{READY_AT:.0%}, the pass mark):",
             *_domain_table(bank, cards, answers, now), "",
             f"Overall: {len(known)}/{len(bank)} questions seen, {mastered} mastered, "
             f"{len(bank) - len(known)} new (never asked)."]
    return "\n".join(lines) + "\n"
