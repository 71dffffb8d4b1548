"""Errors raised for user mistakes. One shape for every problem: where, what is allowed, what was given."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "SimlabError"]


class SimlabError(Exception):
    """Base class for errors that are the user's to fix (the CLI exits 2 on them).

    A subclass with its own ``__init__`` keeps its constructor arguments in ``self.args`` and
    sets its text with :meth:`_say`: SimPy re-raises a failed process's exception as
    ``type(e)(*e.args)``, so the arguments must rebuild the same error.
    """

    _message: str | None = None

    def _say(self, *args: object, message: str) -> None:
        self.args = args
        self._message = message

    def __str__(self) -> str:
        return self._message if self._message is not None else super().__str__()


@dataclass(frozen=True)
class Problem:
    """One problem in an input: the field path, what is allowed and what was given."""

    path: str
    allowed: str
    given: str = ""

    def message(self) -> str:
        """``deployments[0].instance_count: must be an integer ≥ 1, got 0``."""
        tail = f", got {self.given}" if self.given != "" else ""
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.allowed}{tail}"


def fmt_value(value: object) -> str:
    """A short, readable rendering of a user's value for messages."""
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ScenarioError(SimlabError):
    """One or more problems in an input file, all reported at once.

    ``str(err)`` is one line per problem: ``error: FILE: path: must be …, got …``.
    """

    def __init__(self, problems: list[Problem], file: str = "<scenario>") -> None:
        self.problems = list(problems)
        self.file = file
        self._say(self.problems, file, message=self.render())

    def lines(self) -> list[str]:
        return [f"error: {self.file}: {p.message()}" for p in self.problems]

    def render(self) -> str:
        return "\n".join(self.lines())


class ParameterError(SimlabError, ValueError):
    """A bad keyword argument in the Python API (scikit-learn's error shape)."""

    def __init__(self, param: str, owner: str, allowed: str, given: object) -> None:
        self._say(param, owner, allowed, given,
                  message=f"The {param!r} parameter of {owner} {allowed}. Got {fmt_value(given)} instead.")
