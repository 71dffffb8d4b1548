"""Running a quiz session: show a question, read an answer, give feedback, repeat.

The runner is independent of the terminal and the database: answers come from an
:class:`AnswerSource` (the terminal, or a scripted ``--answers`` list), each answer goes to a
``record`` callback as soon as it is given, and time comes from an injectable ``clock``.

Option order: the bank keeps each question's canonical letters (its ``answer``, ``explanations``
and ``option_ids`` refer to them). With a session ``seed`` the options are shown in an order drawn
from the seed and the question id (:func:`shuffle_for`), so the right answer is not always "A" or
"B". The user types displayed letters; ``record`` and :class:`Outcome` get canonical ones.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

from simlab.quiz.bank import LETTERS, Question

__all__ = ["Ended", "Outcome", "Result", "AnswerSource", "TerminalInput", "ScriptedInput",
           "Shuffle", "shuffle_for", "parse_answer", "run_session", "render_question", "WIDTH"]

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
    """The displayed order of one question's options.

    ``order[i]`` is the canonical (bank) key of the option shown as ``LETTERS[i]``.
    """

    order: tuple[str, ...] = LETTERS

    def canonical(self, shown: str) -> str:
        """The bank's letter of the option displayed as ``shown``."""
        return self.order[LETTERS.index(shown)]

    def shown(self, canonical: str) -> str:
        """The displayed letter of the bank's option ``canonical``."""
        return LETTERS[self.order.index(canonical)]

    def apply(self, q: Question) -> Question:
        """``q`` relabelled with displayed letters: options in display order, and the answer,
        explanations and option ids following their options."""

        def relabel(mapping: dict[str, str]) -> dict[str, str]:
            return {shown: mapping[key] for shown, key in zip(LETTERS, self.order, strict=True)}

        return dataclasses.replace(
            q, options=relabel(q.options), answer=self.shown(q.answer),
            explanations=relabel(q.explanations),
            option_ids=relabel(q.option_ids) if q.option_ids is not None else None)


IDENTITY = Shuffle()


def shuffle_for(question_id: str, seed: int | None) -> Shuffle:
    """The option order of ``question_id`` in a session with ``seed`` (``None``: bank order).

    Deterministic across runs and platforms (a string seed is hashed with SHA-512, not with
    Python's salted ``hash``), and independent of where the question falls in the session.
    """
    if seed is None:
        return IDENTITY
    order = list(LETTERS)
    random.Random(f"simlab-quiz-options:{seed}:{question_id}").shuffle(order)
    return Shuffle(tuple(order))


@dataclass(frozen=True)
class Outcome:
    """One answered question; ``chosen`` is the bank's (canonical) letter of the chosen option."""

    question: Question
    chosen: str

    @property
    def correct(self) -> bool:
        return self.chosen == self.question.answer


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
    """``"A"``-``"D"`` for a-d/A-D, :data:`QUIT` for q/quit, None for anything else."""
    word = text.strip().upper()
    if word in LETTERS:
        return word
    if word in ("Q", "QUIT"):
        return QUIT
    return None


def _fill(text: str, indent: str = "", first: str | None = None) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, break_on_hyphens=False,
                         initial_indent=indent if first is None else first,
                         subsequent_indent=indent)


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d} left"


def render_question(q: Question, number: int, total: int, remaining: float | None) -> str:
    """The question block: header, wrapped scenario, and the lettered options."""
    head = f"Question {number} of {total}  [{q.topic}, domain {q.domain}]  {q.id}"
    if remaining is not None:
        head += f"  ({_clock_text(remaining)})"
    lines = ["", head, "-" * min(len(head), WIDTH), _fill(q.scenario), ""]
    lines += [_fill(q.options[k], "     ", f"  {k}) ") for k in q.options]
    return "\n".join(lines) + "\n\n"


def render_feedback(q: Question, chosen: str) -> str:
    """Right or wrong, with the explanation of the chosen and (if different) the correct option.

    ``q`` and ``chosen`` use the same letters (the displayed ones: pass ``Shuffle.apply(q)``).
    """
    if chosen == q.answer:
        lines = [_fill(f"Correct: {chosen}. {q.explanations[chosen]}", "  ")]
    else:
        lines = [_fill(f"Wrong: you chose {chosen}. {q.explanations[chosen]}", "  "),
                 _fill(f"The answer is {q.answer}. {q.explanations[q.answer]}", "  "),
                 _fill(f"Re-read: {q.section}", "  ")]
    return "\n".join(lines) + "\n"


def _ask(source: AnswerSource, out: IO[str]) -> str | Ended:
    """Read until a valid letter; returns the letter, ``Ended.QUIT`` or ``Ended.EOF``."""
    while True:
        text = source.read(PROMPT)
        if text is None:
            return Ended.EOF
        choice = parse_answer(text)
        if choice == QUIT:
            return Ended.QUIT
        if choice is not None:
            return choice
        out.write(f"  Please answer {', '.join(LETTERS[:-1])} or {LETTERS[-1]} "
                  "(or q to quit).\n")


def run_session(questions: Sequence[Question], source: AnswerSource, out: IO[str],
                record: Callable[[Question, str], None],
                clock: Callable[[], float] = time.monotonic,
                time_limit_s: float | None = None, seed: int | None = None) -> Result:
    """Ask ``questions`` in order; ``record(question, letter)`` is called for each answer.

    With a ``seed`` each question's options are shown in the order :func:`shuffle_for` gives;
    without one, in bank order. Typed letters are displayed ones; ``record`` and the outcomes get
    the bank's letter of the chosen option.

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
            shuffle = shuffle_for(q.id, seed)
            shown = shuffle.apply(q)
            out.write(render_question(shown, number, len(questions), remaining))
            choice = _ask(source, out)
            if isinstance(choice, Ended):
                result.ended = choice
                return result
            if deadline is not None and clock() > deadline:
                out.write("  Time is up: that answer came after the limit and is not scored.\n")
                result.ended = Ended.TIMEOUT
                return result
            chosen = shuffle.canonical(choice)
            record(q, chosen)
            result.outcomes.append(Outcome(q, chosen))
            out.write(render_feedback(shown, choice))
    except KeyboardInterrupt:
        out.write("\n")
        result.ended = Ended.INTERRUPTED
    return result
