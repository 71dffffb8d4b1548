"""Constraints declared as data: the field types of scenario files and how they are checked.

A :class:`Schema` is a list of :class:`Field` objects. ``Schema.validate`` converts a raw mapping
(from YAML) into a plain dict with defaults filled in, collecting every problem found as a
:class:`~simlab.errors.Problem` instead of stopping at the first one. Unknown keys are problems
with a "did you mean" suggestion. The same field list generates the reference tables in
``docs/scenarios.md``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simlab.errors import Problem, fmt_value
from simlab.units import parse_duration

__all__ = [
    "REQUIRED", "Invalid", "Kind", "Int", "Float", "Duration", "OneOf", "Bool", "Str", "Any_",
    "ListOf", "Nested", "Field", "Schema", "Check", "suggest",
]


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


class Invalid(Exception):
    """Raised by a kind: ``allowed`` says what would have been accepted."""

    def __init__(self, allowed: str, given: object = None, *, problems: list[Problem] | None = None):
        super().__init__(allowed)
        self.allowed = allowed
        self.given = given
        self.problems = problems or []


class Kind:
    """A value type: ``convert`` returns the checked value or raises :class:`Invalid`."""

    describe: str = "a value"

    def convert(self, raw: Any, path: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError


def _is_number(raw: Any) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool)


def _yaml_hint(raw: Any) -> str:
    """A hint when YAML read a number as text (PyYAML follows YAML 1.1: ``1e12`` is a string)."""
    if isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            return ""
        return f" (YAML read {raw!r} as text: write it as {value:.1e})" if math.isfinite(value) else ""
    return ""


def _range_text(lo: float | None, hi: float | None, lo_open: bool = False) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '≥'} {lo:g}")
    if hi is not None:
        parts.append(f"≤ {hi:g}")
    return " and ".join(parts)


@dataclass(frozen=True)
class Int(Kind):
    min: int | None = None
    max: int | None = None

    @property
    def describe(self) -> str:  # type: ignore[override]
        rng = _range_text(self.min, self.max)
        return f"an integer {rng}".strip()

    def convert(self, raw: Any, path: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            else:
                raise Invalid(f"must be {self.describe}{_yaml_hint(raw)}", raw)
        if (self.min is not None and raw < self.min) or (self.max is not None and raw > self.max):
            raise Invalid(f"must be {self.describe}", raw)
        return raw


@dataclass(frozen=True)
class Float(Kind):
    min: float | None = None
    max: float | None = None
    min_open: bool = False

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"a number {_range_text(self.min, self.max, self.min_open)}".strip()

    def convert(self, raw: Any, path: str) -> float:
        if not _is_number(raw) or not math.isfinite(raw):
            raise Invalid(f"must be {self.describe}{_yaml_hint(raw)}", raw)
        lo_bad = self.min is not None and (raw <= self.min if self.min_open else raw < self.min)
        if lo_bad or (self.max is not None and raw > self.max):
            raise Invalid(f"must be {self.describe}", raw)
        return float(raw)


@dataclass(frozen=True)
class Duration(Kind):
    """Seconds as a number, or a string with unit s|m|h|d (``"10m"``)."""

    min: float | None = 0.0
    max: float | None = None
    min_open: bool = False

    @property
    def describe(self) -> str:  # type: ignore[override]
        rng = _range_text(self.min, self.max, self.min_open)
        return f"a duration (seconds, or a string with unit s|m|h|d){' ' + rng + ' s' if rng else ''}"

    def convert(self, raw: Any, path: str) -> float:
        try:
            value = parse_duration(raw)
        except ValueError:
            raise Invalid(f"must be {self.describe}", raw) from None
        lo_bad = self.min is not None and (value <= self.min if self.min_open else value < self.min)
        if not math.isfinite(value) or lo_bad or (self.max is not None and value > self.max):
            raise Invalid(f"must be {self.describe}", raw)
        return value


@dataclass(frozen=True)
class OneOf(Kind):
    choices: tuple
    def_text: str = ""

    @property
    def describe(self) -> str:  # type: ignore[override]
        if self.def_text:
            return self.def_text
        return "one of " + " | ".join(str(c) for c in self.choices)

    def convert(self, raw: Any, path: str) -> Any:
        if isinstance(raw, bool) or raw not in self.choices:
            hint = suggest(raw, [str(c) for c in self.choices]) if isinstance(raw, str) else ""
            raise Invalid(f"must be {self.describe}{hint}", raw)
        return raw


@dataclass(frozen=True)
class Bool(Kind):
    describe: str = "true or false"

    def convert(self, raw: Any, path: str) -> bool:
        if not isinstance(raw, bool):
            raise Invalid("must be true or false", raw)
        return raw


@dataclass(frozen=True)
class Str(Kind):
    pattern: str | None = None
    describe: str = "a string"

    def convert(self, raw: Any, path: str) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise Invalid(f"must be {self.describe}", raw)
        if self.pattern is not None:
            import re

            if not re.fullmatch(self.pattern, raw):
                raise Invalid(f"must be {self.describe}", raw)
        return raw


@dataclass(frozen=True)
class Any_(Kind):
    """Accepts any value; ``convert_fn`` may check it further and raise :class:`Invalid`."""

    describe: str = "a value"
    convert_fn: Callable[[Any, str], Any] | None = None

    def convert(self, raw: Any, path: str) -> Any:
        return self.convert_fn(raw, path) if self.convert_fn else raw


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind | Schema
    min_len: int = 0
    max_len: int | None = None

    @property
    def describe(self) -> str:  # type: ignore[override]
        inner = self.item.describe if isinstance(self.item, Kind) else f"{self.item.name} entries"
        rng = f"{self.min_len}" + (f"–{self.max_len}" if self.max_len is not None else " or more")
        return f"a list of {rng} {inner}"

    def convert(self, raw: Any, path: str) -> list:
        if not isinstance(raw, list):
            raise Invalid(f"must be {self.describe}", raw)
        if len(raw) < self.min_len or (self.max_len is not None and len(raw) > self.max_len):
            raise Invalid(f"must be {self.describe}", f"{len(raw)} entries")
        out, problems = [], []
        for i, item in enumerate(raw):
            sub = f"{path}[{i}]"
            if isinstance(self.item, Schema):
                out.append(self.item.validate(item, sub, problems))
            else:
                try:
                    out.append(self.item.convert(item, sub))
                except Invalid as e:
                    problems.extend(e.problems or [Problem(sub, e.allowed, fmt_value(e.given))])
        if problems:
            raise Invalid("", problems=problems)
        return out


@dataclass(frozen=True)
class Nested(Kind):
    schema: Schema

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"a mapping ({self.schema.name})"

    def convert(self, raw: Any, path: str) -> dict:
        problems: list[Problem] = []
        out = self.schema.validate(raw, path, problems)
        if problems:
            raise Invalid("", problems=problems)
        return out


@dataclass(frozen=True)
class Field:
    """One accepted key: its kind, default (``REQUIRED`` if none), unit and documentation."""

    name: str
    kind: Kind
    default: Any = REQUIRED
    doc: str = ""
    unit: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


Check = Callable[[dict, str], Iterable[Problem]]


def ordered(low: str, high: str) -> Check:
    """A cross-field check: ``cfg[high] ≥ cfg[low]`` (e.g. max_instances ≥ min_instances), the
    problem reported at ``high``. The one min ≤ max check every schema uses."""

    def check(cfg: dict, path: str) -> list[Problem]:
        if cfg[high] < cfg[low]:
            return [Problem(_join(path, high), f"must be ≥ {low} ({cfg[low]})", str(cfg[high]))]
        return []

    return check


@dataclass
class Schema:
    """A named set of fields plus cross-field checks run after every field converted cleanly."""

    name: str
    fields: Sequence[Field]
    checks: Sequence[Check] = field(default_factory=tuple)
    doc: str = ""

    def __post_init__(self) -> None:
        self._by_name = {f.name: f for f in self.fields}

    @property
    def describe(self) -> str:
        return f"a mapping ({self.name})"

    def field_names(self) -> list[str]:
        return list(self._by_name)

    def validate(self, raw: Any, path: str, problems: list[Problem]) -> dict:
        """Convert ``raw``; append every problem to ``problems``; return what converted."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            problems.append(Problem(path or "(top level)", f"must be {self.describe}", fmt_value(raw)))
            return {}
        out: dict[str, Any] = {}
        before = len(problems)
        for key in raw:
            if key not in self._by_name:
                where = _join(path, str(key))
                problems.append(Problem(where, f"unknown field{suggest(str(key), self.field_names())}"
                                        f" (allowed: {', '.join(self.field_names())})"))
        for f in self.fields:
            where = _join(path, f.name)
            if f.name not in raw or raw[f.name] is None and not f.required:
                if f.required:
                    problems.append(Problem(where, f"is required: {f.kind.describe}"))
                else:
                    out[f.name] = f.default
                continue
            try:
                out[f.name] = f.kind.convert(raw[f.name], where)
            except Invalid as e:
                problems.extend(e.problems or [Problem(where, e.allowed, fmt_value(e.given))])
        if len(problems) == before:
            for check in self.checks:
                problems.extend(check(out, path))
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def suggest(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
