"""Running a quiz session: show a question, read an answer, give feedback, repeat.

The runner is independent of the terminal and the database: answers come from an
:class:`AnswerSource` (the terminal, or a scripted ``--answers`` list), each answer goes to a
``record`` callback as soon as it is given, and time comes from an injectable ``clock``.

Question types and what the learner types (see docs/quiz.md):

=========  ===================================  =========================================
type       shown as                             answer typed
=========  ===================================  =========================================
single     options A-D                          one letter: ``b``
multiple   options A-E/F, "Choose TWO/THREE"    that many letters: ``b,d`` / ``bd`` / ``b d``
ordering   steps numbered 1-n                   the numbers first to last: ``3142``
matching   items 1-n, targets A-E               a target letter per item: ``bac`` / ``1b 2a 3c``
=========  ===================================  =========================================

Option order: the bank keeps each question's canonical labels (its ``answer``, ``explanations``
and ``option_ids`` refer to them). With a session ``seed`` the options (the targets, for
matching) are shown in an order drawn from the seed and the question id (:func:`shuffle_for`), so
the key is not always "A", and an ordering question never shows its steps in the right order by
construction. The user types displayed labels; ``record`` and :class:`Outcome` get canonical
answers in the stored format of :func:`simlab.quiz.bank.key_text` (``B`` | ``B,D`` |
``C,A,D,B`` | ``1=B,2=A,3=C``).

The topic and id of a question are shown only after it is answered (they would give it away).
"""

from __future__ import annotations

import dataclasses
import enum
import random
import re
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

from simlab.quiz.bank import COUNT_WORDS, LETTERS, NUMBERS, OPTION_LETTERS, Question, grade
from simlab.quiz.curriculum import SECTION_INFO, section_note

__all__ = ["Ended", "Outcome", "Result", "AnswerSource", "TerminalInput", "ScriptedInput",
           "Shuffle", "View", "shuffle_for", "view_for", "parse_answer", "parse_response",
           "prompt_for", "read_more", "run_session", "render_question", "render_feedback",
           "group_cases", "WIDTH"]

WIDTH = 78
PROMPT = "Your answer (A-D, q to quit): "
QUIT = "quit"


class Ended(enum.StrEnum):
    """How a session ended."""

    DONE = "done"
    QUIT = "quit"
    EOF = "eof"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Shuffle:
    """The displayed order of one question's options (of its targets, for matching).

    ``order[i]`` is the canonical (bank) key of the option shown with label ``labels[i]``.
    """

    order: tuple[str, ...] = LETTERS
    labels: tuple[str, ...] = LETTERS

    def canonical(self, shown: str) -> str:
        """The bank's key of the option displayed as ``shown``."""
        return self.order[self.labels.index(shown)]

    def shown(self, canonical: str) -> str:
        """The displayed label of the bank's option ``canonical``."""
        return self.labels[self.order.index(canonical)]

    def apply(self, q: Question) -> Question:
        """A single-answer ``q`` relabelled with displayed letters: options in display order,
        and the answer, explanations and option ids following their options."""

        def relabel(mapping: dict[str, str]) -> dict[str, str]:
            return {shown: mapping[key] for shown, key in zip(self.labels, self.order, strict=True)}

        return dataclasses.replace(
            q, options=relabel(q.options), answer=self.shown(q.answer),
            explanations=relabel(q.explanations),
            option_ids=relabel(q.option_ids) if q.option_ids is not None else None)


IDENTITY = Shuffle()


def shuffle_for(question_id: str, seed: int | None, keys: Sequence[str] = LETTERS,
                labels: Sequence[str] | None = None) -> Shuffle:
    """The display order of ``keys`` of ``question_id`` in a session with ``seed``.

    ``None``: bank order. Deterministic across runs and platforms (a string seed is hashed with
    SHA-512, not with Python's salted ``hash``), and independent of where the question falls in
    the session.
    """
    labels = tuple(labels) if labels is not None else tuple(keys)
    order = list(keys)
    if seed is not None:
        random.Random(f"simlab-quiz-options:{seed}:{question_id}").shuffle(order)
    return Shuffle(tuple(order), labels)


@dataclass(frozen=True)
class View:
    """A question as displayed: which labels the learner sees for its options or targets."""

    q: Question
    shuffle: Shuffle

    @property
    def shuffles_targets(self) -> bool:
        return self.q.type == "matching"


def view_for(q: Question, seed: int | None) -> View:
    """How ``q`` is shown in a session with ``seed``."""
    if q.type == "matching":
        assert q.targets is not None
        keys = tuple(q.targets)
        return View(q, shuffle_for(q.id, seed, keys, OPTION_LETTERS[:len(keys)]))
    keys = tuple(q.options)
    labels = NUMBERS[:len(keys)] if q.type == "ordering" else OPTION_LETTERS[:len(keys)]
    shuffle = shuffle_for(q.id, seed, keys, labels)
    if q.type == "ordering" and seed is not None and shuffle.order == tuple(q.answer):
        # never show the steps already in the right order: rotate them by one
        shuffle = Shuffle(shuffle.order[1:] + shuffle.order[:1], labels)
    return View(q, shuffle)


@dataclass(frozen=True)
class Outcome:
    """One answered question; ``chosen`` is the canonical answer (stored format)."""

    question: Question
    chosen: str

    @property
    def correct(self) -> bool:
        return grade(self.question, self.chosen)


@dataclass
class Result:
    """What happened in a session."""

    planned: int
    outcomes: list[Outcome] = field(default_factory=list)
    ended: Ended = Ended.DONE


class AnswerSource(Protocol):
    def read(self, prompt: str) -> str | None:
        """One line of input without its newline; None at end of input."""
        ...


class TerminalInput:
    """Reads answers from a text stream, writing the prompt first.

    With ``echo`` (for piped input, where the terminal does not show what was typed) each line
    read is written after the prompt, so the transcript reads like an interactive session.
    """

    def __init__(self, stdin: IO[str], stdout: IO[str], echo: bool = False) -> None:
        self.stdin, self.stdout, self.echo = stdin, stdout, echo

    def read(self, prompt: str) -> str | None:
        self.stdout.write(prompt)
        self.stdout.flush()
        line = self.stdin.readline()
        if line == "":
            if self.echo:
                self.stdout.write("\n")
            return None
        text = line.rstrip("\r\n")
        if self.echo:
            self.stdout.write(text + "\n")
        return text


class ScriptedInput:
    """Answers from a list (``--answers B,C,A``); echoes each after the prompt."""

    def __init__(self, answers: Iterable[str], stdout: IO[str]) -> None:
        self._answers = iter(answers)
        self.stdout = stdout

    def read(self, prompt: str) -> str | None:
        value = next(self._answers, None)
        self.stdout.write(f"{prompt}{value if value is not None else ''}\n")
        return value


def parse_answer(text: str) -> str | None:
    """``"A"``-``"D"`` for a-d/A-D, :data:`QUIT` for q/quit, None for anything else
    (single-answer questions in bank order; :func:`parse_response` handles every type)."""
    word = text.strip().upper()
    if word in LETTERS:
        return word
    if word in ("Q", "QUIT"):
        return QUIT
    return None


_SEPARATORS = re.compile(r"[\s,;]+")


def parse_response(view: View, text: str) -> str | None:
    """The canonical answer (stored format) for what the learner typed, :data:`QUIT`, or None
    when the text is not a complete answer of this question's type."""
    q, sh = view.q, view.shuffle
    word = text.strip().upper()
    if word in ("Q", "QUIT"):
        return QUIT
    compact = _SEPARATORS.sub("", word)
    if not compact:
        return None
    if q.type == "single":
        return sh.canonical(compact) if compact in sh.labels else None
    if q.type == "multiple":
        picked = list(compact)
        if (len(picked) != q.choose or len(set(picked)) != len(picked)
                or not set(picked) <= set(sh.labels)):
            return None
        return ",".join(sorted(sh.canonical(p) for p in picked))
    if q.type == "ordering":
        order = list(compact)
        if sorted(order) != sorted(sh.labels):
            return None
        return ",".join(sh.canonical(p) for p in order)
    items = list(q.options)
    pairs = re.findall(r"(\d)[-=:>]*([A-Z])", compact)
    if pairs and "".join(a + b for a, b in pairs) == compact.replace("-", "").replace(
            "=", "").replace(":", "").replace(">", ""):
        chosen = dict(pairs)
        if sorted(chosen) != sorted(items) or len(pairs) != len(items):
            return None
    elif compact.isalpha() and len(compact) == len(items):
        chosen = dict(zip(items, compact, strict=True))
    else:
        return None
    if not set(chosen.values()) <= set(sh.labels):
        return None
    return ",".join(f"{k}={sh.canonical(chosen[k])}" for k in items)


def shown_text(view: View, chosen: str) -> str:
    """A canonical answer in the learner's displayed labels: ``B, D`` | ``3 1 4 2`` | ``1-B 2-A``."""
    q, sh = view.q, view.shuffle
    if q.type == "matching":
        pairs = [p.split("=") for p in chosen.split(",")]
        return " ".join(f"{k}-{sh.shown(v)}" for k, v in pairs)
    parts = [sh.shown(k) for k in chosen.split(",")]
    if q.type == "multiple":
        return ", ".join(sorted(parts))
    return " ".join(parts) if q.type == "ordering" else parts[0]


def _example(view: View) -> str:
    q, labels = view.q, view.shuffle.labels
    if q.type == "multiple":
        return ",".join(labels[1:1 + q.choose]).lower()
    if q.type == "ordering":
        return "".join(reversed(labels))
    return "".join(reversed(labels))[:len(q.options)].lower().ljust(len(q.options), "a")


def prompt_for(view: View) -> str:
    """The prompt of one question: what to type, with an example."""
    q = view.q
    if q.type == "single":
        return PROMPT if view.shuffle.labels == LETTERS else (
            f"Your answer ({view.shuffle.labels[0]}-{view.shuffle.labels[-1]}, q to quit): ")
    if q.type == "multiple":
        return (f"Your answers ({COUNT_WORDS[q.choose]} letters, e.g. {_example(view)}; "
                "q to quit): ")
    if q.type == "ordering":
        return f"Your order (step numbers first to last, e.g. {_example(view)}; q to quit): "
    return (f"Your matches (a target letter for each item 1-{len(q.options)}, e.g. "
            f"{_example(view)}; q to quit): ")


def _retry(view: View) -> str:
    q, labels = view.q, view.shuffle.labels
    if q.type == "single":
        return f"  Please answer {', '.join(labels[:-1])} or {labels[-1]} (or q to quit).\n"
    if q.type == "multiple":
        return (f"  Please choose exactly {COUNT_WORDS[q.choose].lower()} different letters of "
                f"{', '.join(labels)}, e.g. {_example(view)} (or q to quit).\n")
    if q.type == "ordering":
        return (f"  Please give every step number {', '.join(labels)} once, first step first, "
                f"e.g. {_example(view)} (or q to quit).\n")
    return (f"  Please give one target letter ({', '.join(labels)}) for each of the "
            f"{len(q.options)} items in order, e.g. {_example(view)} or 1b 2a 3c (or q to quit).\n")


def _fill(text: str, indent: str = "", first: str | None = None) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, break_on_hyphens=False,
                         initial_indent=indent if first is None else first,
                         subsequent_indent=indent)


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d} left"


_INSTRUCTIONS = {
    "ordering": "Put these steps in order, first to last.",
    "matching": "Match each item (numbers) to one target (letters); a target may fit more than "
                "one item, or none.",
}


def render_question(q: Question | View, number: int, total: int, remaining: float | None,
                    extra: str = "") -> str:
    """The question block: header (no topic, no id), case text, scenario and labelled options.

    ``q`` is a :class:`View` (or a question, shown in bank order); ``extra`` is appended to the
    header (the mock exam's "[flagged]").
    """
    view = q if isinstance(q, View) else view_for(q, None)
    q = view.q
    head = f"Question {number} of {total}"
    if remaining is not None:
        head += f"  ({_clock_text(remaining)})"
    head += extra
    lines = ["", head, "-" * min(len(head), WIDTH)]
    if q.case is not None:
        part = q.case.question_ids.index(q.id) + 1 if q.id in q.case.question_ids else 1
        lines += [_fill(f"Case study: {q.case.title} (question {part} of "
                        f"{len(q.case.question_ids)} on this case)"), _fill(q.case.scenario), ""]
    lines += [_fill(q.scenario)]
    if q.type == "multiple":
        lines.append(f"(Choose {COUNT_WORDS[q.choose]}.)")
    elif q.type in _INSTRUCTIONS:
        lines.append(_fill(_INSTRUCTIONS[q.type]))
    lines.append("")
    sh = view.shuffle
    if q.type == "matching":
        assert q.targets is not None
        lines += ["Items:"] + [_fill(q.options[k], "     ", f"  {k}) ") for k in q.options]
        lines += ["Targets:"] + [_fill(q.targets[sh.canonical(lab)], "     ", f"  {lab}) ")
                                 for lab in sh.labels]
    else:
        lines += [_fill(q.options[sh.canonical(lab)], "     ", f"  {lab}) ") for lab in sh.labels]
    return "\n".join(lines) + "\n\n"


def read_more(q: Question) -> str:
    """Where to read more in this repository: the question's own pointer, else its section's."""
    return q.read_more or SECTION_INFO[q.section].read_more


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def render_feedback(q: Question | View, chosen: str) -> str:
    """Right or wrong, why the key is right and, briefly, why each other option is wrong; then
    the topic, domain and id, and where to read more.

    With a :class:`View`, ``chosen`` is canonical; with a single-answer question already
    relabelled by :meth:`Shuffle.apply` (the older form), ``chosen`` is its displayed letter.
    """
    view = q if isinstance(q, View) else View(q, Shuffle(tuple(q.options), tuple(q.options)))
    q, sh = view.q, view.shuffle
    key = _key_text(q)
    right = grade(q, chosen)
    mine, answer = shown_text(view, chosen), shown_text(view, key)
    lines: list[str] = []
    if q.type in ("single", "multiple"):
        keys = set(key.split(","))
        picked = set(chosen.split(","))
        why = " ".join(q.explanations[k] for k in sorted(keys, key=sh.shown))
        if right:
            lines.append(_fill(f"Correct: {mine}. {why}", "  "))
        else:
            own = " ".join(q.explanations[k] for k in sorted(picked - keys, key=sh.shown))
            lines.append(_fill(f"Wrong: you chose {mine}. {own}", "  "))
            lines.append(_fill(f"The answer is {answer}. {why}", "  "))
        others = [k for k in sorted(q.options, key=sh.shown) if k not in keys | picked]
        if others:
            lines.append("  Why not the others:")
            lines += [_fill(q.explanations[k], "       ", f"    {sh.shown(k)}) ") for k in others]
    elif q.type == "ordering":
        lines.append(f"  {'Correct' if right else 'Wrong'}: you gave {mine}."
                     + ("" if right else f" The right order is {answer}."))
        lines += [_fill(q.explanations[k], "       ", f"    {_ordinal(i)} ({sh.shown(k)}) ")
                  for i, k in enumerate(q.answer, 1)]
    else:
        lines.append(f"  {'Correct' if right else 'Wrong'}: you gave {mine}."
                     + ("" if right else f" The right matches are {answer}."))
        lines += [_fill(q.explanations[k], "       ", f"    {k} -> {sh.shown(q.answer[k])}: ")
                  for k in q.options]
    lines.append(f"  [{q.topic}, domain {q.domain}] {q.id}")
    note = section_note(q.section)
    if note:
        lines.append(_fill(f"Note: {note}", "    ", "  "))
    lines.append(f"  Read more: {read_more(q)}")
    return "\n".join(lines) + "\n"


def _key_text(q: Question) -> str:
    from simlab.quiz.bank import key_text

    return key_text(q)


def group_cases(questions: Sequence[Question]) -> list[Question]:
    """``questions`` with the questions of one case study next to each other, in case order,
    where the first of them was; everything else keeps its place."""
    out: list[Question] = []
    placed: set[str] = set()
    for q in questions:
        if q.id in placed:
            continue
        if q.case is None:
            out.append(q)
            placed.add(q.id)
            continue
        mates = sorted((m for m in questions if m.case == q.case and m.id not in placed),
                       key=lambda m: q.case.question_ids.index(m.id)
                       if q.case and m.id in q.case.question_ids else 0)
        out += mates
        placed.update(m.id for m in mates)
    return out


def ask(view: View, source: AnswerSource, out: IO[str]) -> str | Ended:
    """Read until a valid answer; returns the canonical answer, ``Ended.QUIT`` or ``Ended.EOF``."""
    prompt = prompt_for(view)
    while True:
        text = source.read(prompt)
        if text is None:
            return Ended.EOF
        choice = parse_response(view, text)
        if choice == QUIT:
            return Ended.QUIT
        if choice is not None:
            return choice
        out.write(_retry(view))


def run_session(questions: Sequence[Question], source: AnswerSource, out: IO[str],
                record: Callable[[Question, str], None],
                clock: Callable[[], float] = time.monotonic,
                time_limit_s: float | None = None, seed: int | None = None) -> Result:
    """Ask ``questions`` in order; ``record(question, answer)`` is called for each answer.

    With a ``seed`` each question's options are shown in the order :func:`shuffle_for` gives;
    without one, in bank order. Typed labels are displayed ones; ``record`` and the outcomes get
    the canonical answer (stored format).

    Stops early on quit, end of input, time up, or Ctrl-C (KeyboardInterrupt is caught and
    reported as ``Ended.INTERRUPTED``; what was recorded stays recorded, and an interrupt inside
    ``record`` may come after ``record`` saved the answer: the store is the authority on that).

    Raises:
        whatever ``record`` raises (e.g. ProgressError), after the answers before it were kept.
    """
    result = Result(planned=len(questions))
    deadline = None if time_limit_s is None else clock() + time_limit_s
    try:
        for number, q in enumerate(questions, 1):
            if deadline is not None and clock() >= deadline:
                result.ended = Ended.TIMEOUT
                return result
            remaining = None if deadline is None else deadline - clock()
            view = view_for(q, seed)
            out.write(render_question(view, number, len(questions), remaining))
            choice = ask(view, source, out)
            if isinstance(choice, Ended):
                result.ended = choice
                return result
            if deadline is not None and clock() > deadline:
                out.write("  Time is up: that answer came after the limit and is not scored.\n")
                result.ended = Ended.TIMEOUT
                return result
            record(q, choice)
            result.outcomes.append(Outcome(q, choice))
            out.write(render_feedback(view, choice))
    except KeyboardInterrupt:
        out.write("\n")
        result.ended = Ended.INTERRUPTED
    return result
