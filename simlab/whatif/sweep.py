"""What a what-if varies: ``--vary PATH=VALUES`` parsed, applied to the raw scenario, validated.

A PATH is dotted into the scenario mapping. Inside a list (``deployments``, ``variants``,
``containers``) the next segment names an element by its ``name`` (or gives its index), so
``deployments.rt.instance_count`` reaches the deployment called ``rt``. VALUES is a comma list
(each item read as YAML: ``1024``, ``10m``, ``true``) or ``lin:START:STOP:N`` / ``log:START:STOP:N``.
Every point of the grid is validated by the scenario schema before anything runs.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlab.errors import SimlabError
from simlab.scenario import Scenario, scenario_from_dict

__all__ = ["Vary", "VaryError", "parse_vary", "apply_values", "grid", "validate_grid", "numeric"]

MAX_POINTS = 10_000


class VaryError(SimlabError):
    """A bad ``--vary`` (path, values, or a point the scenario schema rejects); one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self._say(self.lines, message="\n".join(self.lines))


@dataclass(frozen=True)
class Vary:
    """One varied path and its values, in the order given."""

    path: str
    values: tuple[Any, ...]
    spec: str = ""

    @property
    def text(self) -> str:
        return f"--vary {self.path}={self.spec}" if self.spec else f"--vary {self.path}"


def _item(text: str) -> Any:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if isinstance(value, dict | list) or value is None else value


def _range(kind: str, rest: list[str], arg: str) -> tuple[float, ...]:
    import numpy as np

    if len(rest) != 3:
        raise VaryError([f"error: {arg}: {kind}: must be {kind}:START:STOP:N, got {kind}:{':'.join(rest)}"])
    try:
        start, stop = float(rest[0]), float(rest[1])
        n = int(rest[2])
    except ValueError:
        raise VaryError([f"error: {arg}: {kind}:START:STOP:N must be two numbers and an integer, "
                         f"got {kind}:{':'.join(rest)}"]) from None
    if n < 1 or n > MAX_POINTS or not (math.isfinite(start) and math.isfinite(stop)):
        raise VaryError([f"error: {arg}: N must be an integer 1–{MAX_POINTS} and START, STOP finite, "
                         f"got {kind}:{':'.join(rest)}"])
    if kind == "log":
        if start <= 0 or stop <= 0:
            raise VaryError([f"error: {arg}: log: START and STOP must be > 0, got {rest[0]}, {rest[1]}"])
        values = np.geomspace(start, stop, n)
    else:
        values = np.linspace(start, stop, n)
    return tuple(int(v) if float(v).is_integer() else float(v) for v in np.round(values, 12))


def parse_vary(arg: str) -> Vary:
    """``PATH=VALUES`` → :class:`Vary`. Raises :class:`VaryError` naming the argument."""
    where = f"--vary {arg}"
    path, sep, spec = arg.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise VaryError([f"error: {where}: must be PATH=VALUES (VALUES a comma list or "
                         f"lin:START:STOP:N / log:START:STOP:N), got {arg!r}"])
    if any(not seg for seg in path.split(".")):
        raise VaryError([f"error: {where}: PATH must be dotted names like workload.rate_per_s, got {path!r}"])
    head, _, rest = spec.partition(":")
    if head in ("lin", "log") and rest:
        values: tuple[Any, ...] = _range(head, rest.split(":"), where)
    else:
        items = [s.strip() for s in spec.split(",")]
        if any(not s for s in items):
            raise VaryError([f"error: {where}: VALUES must be a comma list without empty items, got {spec!r}"])
        values = tuple(_item(s) for s in items)
    if len(set(map(repr, values))) != len(values):
        raise VaryError([f"error: {where}: VALUES must not repeat a value, got {spec!r}"])
    return Vary(path=path, values=values, spec=spec)


def _step(node: Any, seg: str, done: str) -> tuple[Any, Any]:
    """The container and key one segment down (``KeyError`` text on a miss)."""
    if isinstance(node, list):
        names = [e.get("name") for e in node if isinstance(e, dict)]
        if seg in names:
            return node, names.index(seg)
        if seg.isdigit() and int(seg) < len(node):
            return node, int(seg)
        raise KeyError(f"{done or '(top level)'} has no element named {seg!r} "
                       f"(names: {', '.join(str(n) for n in names) or 'none'})")
    if isinstance(node, dict):
        return node, seg
    raise KeyError(f"{done} is {type(node).__name__}, not a mapping or list, so it has no {seg!r}")


def apply_values(raw: dict, values: dict[str, Any]) -> dict:
    """A deep copy of ``raw`` with each dotted path set. Raises KeyError naming a path it cannot reach."""
    out = copy.deepcopy(raw)
    for path, value in values.items():
        node: Any = out
        segs = path.split(".")
        done = ""
        for k, seg in enumerate(segs):
            parent, key = _step(node, seg, done)
            done = f"{done}.{seg}" if done else seg
            if k == len(segs) - 1:
                parent[key] = value
            else:
                if isinstance(parent, dict) and not isinstance(parent.get(key), dict | list):
                    parent[key] = {}  # e.g. slo.p99_ms when the scenario states no slo
                node = parent[key]
    return out


def grid(varies: list[Vary]) -> list[dict[str, Any]]:
    """Every combination of the values (first --vary outermost); one empty point without --vary."""
    if not varies:
        return [{}]
    return [dict(zip([v.path for v in varies], combo, strict=True))
            for combo in itertools.product(*(v.values for v in varies))]


def _check(raw: dict, values: dict, *, file: str, base_dir: Path | None) -> Scenario:
    return scenario_from_dict(apply_values(raw, values), file=file, base_dir=base_dir)


def validate_grid(raw: dict, varies: list[Vary], *, file: str, base_dir: Path | None) -> list[Scenario]:
    """Validate each value of each --vary alone, then every grid point; returns the scenarios.

    Raises:
        VaryError: one line per problem: the --vary argument, the value, the schema's message.
    """
    paths = [v.path for v in varies]
    dup = sorted({p for p in paths if paths.count(p) > 1})
    if dup:
        raise VaryError([f"error: --vary {p}: a path may be varied once, got it {paths.count(p)} times" for p in dup])
    points = grid(varies)
    if len(points) > MAX_POINTS:
        raise VaryError([f"error: --vary: the grid must have at most {MAX_POINTS:,} points, got {len(points):,}"])
    lines: list[str] = []
    for v in varies:
        for value in v.values:
            lines.extend(_problems(raw, {v.path: value}, v.text, file=file, base_dir=base_dir))
    if lines:
        raise VaryError(lines)
    out = []
    for point in points:
        where = "--vary point " + ", ".join(f"{k}={val!r}" for k, val in point.items())
        found = _problems(raw, point, where, file=file, base_dir=base_dir)
        lines.extend(found)
        if not found:
            out.append(_check(raw, point, file=file, base_dir=base_dir))
    if lines:
        raise VaryError(lines)
    return out


def _problems(raw: dict, values: dict, where: str, *, file: str, base_dir: Path | None) -> list[str]:
    from simlab.errors import ScenarioError

    (value,) = values.values() if len(values) == 1 else (None,)
    label = f"{where}: value {value!r}" if len(values) == 1 else where
    try:
        _check(raw, values, file=file, base_dir=base_dir)
    except KeyError as e:
        return [f"error: {where}: {e.args[0]}"]
    except ScenarioError as e:
        return [f"error: {label}: {file}: {p.message()}" for p in e.problems]
    return []


def numeric(value: Any) -> float | None:
    """A varied value as a number for axes and crossovers (durations like ``10m`` in seconds)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        from simlab.units import parse_duration

        try:
            return float(parse_duration(value))
        except ValueError:
            return None
    return None
