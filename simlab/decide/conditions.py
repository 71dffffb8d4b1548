"""The condition language of decision rules: parse (collecting problems), evaluate, put in words.

A condition is a small tree written in YAML::

    {all: [C, ...]}   {any: [C, ...]}   {not: C}
    {fact: F, op: OP, value: V}                  OP is one of > >= < <= == !=
    {fact: F, op: OP, limit: KEY, scale: MiB}    KEY from simlab/data/limits.yaml; scale MiB | GiB
    {fact: F, op: OP, than: G}                   compare two facts
    {fact: F, in: [V, ...]}   {fact: F, not_in: [V, ...]}   {fact: F, set: true | false}
    {limit: KEY, is: V}                          a flag of the limits file
    {estimate: FIELD, op: OP, than: F}           the target option's cost-model estimate

A comparison with a null fact is false (test nulls with ``set``). Limits are read from
:mod:`simlab.facts` when the condition is evaluated, never copied.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab import facts as service_facts
from simlab.errors import Problem, fmt_value
from simlab.units import MIB

__all__ = [
    "OPS", "SCALES", "Compare", "Member", "IsSet", "LimitIs", "AllOf", "AnyOf", "Not", "Condition",
    "Names", "parse", "holds", "uses_estimate", "facts_used", "limits_used", "in_words",
    "scaled_limit",
]

OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
    "==": operator.eq, "!=": operator.ne,
}
SCALES: dict[str, int] = {"MiB": MIB, "GiB": 1024 * MIB}
_WORD_OPS = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}


@dataclass(frozen=True)
class Compare:
    """``fact op rhs`` where rhs is a value, a limit (optionally scaled) or another fact."""

    fact: str
    op: str
    value: Any = None
    limit: str | None = None
    scale: str | None = None
    than: str | None = None
    estimate: bool = False


@dataclass(frozen=True)
class Member:
    fact: str
    values: tuple
    negate: bool = False


@dataclass(frozen=True)
class IsSet:
    fact: str
    expected: bool


@dataclass(frozen=True)
class LimitIs:
    key: str
    expected: Any


@dataclass(frozen=True)
class AllOf:
    items: tuple


@dataclass(frozen=True)
class AnyOf:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Condition = Compare | Member | IsSet | LimitIs | AllOf | AnyOf | Not


@dataclass(frozen=True)
class Names:
    """What a condition may refer to: fact names and estimate fields."""

    facts: Collection[str]
    estimates: Collection[str]


# --------------------------------------------------------------------------- parsing

_LEAF_KEYS = {"fact", "estimate", "op", "value", "limit", "scale", "than", "in", "not_in", "set"}
_SHAPES = "all | any | not | {fact, op, value|limit|than} | {fact, in|not_in|set} | {limit, is}"


def parse(raw: Any, path: str, names: Names, problems: list[Problem]) -> Condition | None:
    """Build a condition from YAML data; append a problem for every mistake found."""
    if not isinstance(raw, Mapping) or not raw:
        problems.append(Problem(path, f"must be a condition mapping ({_SHAPES})", fmt_value(raw)))
        return None
    for key, build in (("all", _group), ("any", _group), ("not", _negation)):
        if key in raw:
            return build(key, raw, path, names, problems)
    if "limit" in raw and "fact" not in raw and "estimate" not in raw:
        return _limit_flag(raw, path, problems)
    return _leaf(raw, path, names, problems)


def _only(raw: Mapping, allowed: set[str], path: str, problems: list[Problem]) -> bool:
    extra = sorted(str(k) for k in raw if k not in allowed)
    if extra:
        problems.append(Problem(path, f"unexpected keys {', '.join(extra)} (allowed: "
                                f"{', '.join(sorted(allowed))})"))
    return not extra


def _group(key: str, raw: Mapping, path: str, names: Names, problems: list[Problem]) -> Any:
    items = raw[key]
    if not _only(raw, {key}, path, problems):
        return None
    if not isinstance(items, list) or not items:
        problems.append(Problem(f"{path}.{key}", "must be a non-empty list of conditions",
                                fmt_value(items)))
        return None
    parsed = tuple(parse(c, f"{path}.{key}[{i}]", names, problems) for i, c in enumerate(items))
    return (AllOf if key == "all" else AnyOf)(parsed)


def _negation(key: str, raw: Mapping, path: str, names: Names, problems: list[Problem]) -> Any:
    if not _only(raw, {"not"}, path, problems):
        return None
    return Not(parse(raw["not"], f"{path}.not", names, problems))


def _limit_flag(raw: Mapping, path: str, problems: list[Problem]) -> LimitIs | None:
    if not _only(raw, {"limit", "is"}, path, problems):
        return None
    if "is" not in raw:
        problems.append(Problem(path, "a limit test needs `is`: {limit: KEY, is: VALUE}"))
        return None
    if not _known_limit(raw["limit"], f"{path}.limit", problems):
        return None
    return LimitIs(raw["limit"], raw["is"])


def _known_limit(key: Any, path: str, problems: list[Problem]) -> bool:
    if key in service_facts.limits():
        return True
    problems.append(Problem(path, "must be a key of simlab/data/limits.yaml", fmt_value(key)))
    return False


def _leaf(raw: Mapping, path: str, names: Names, problems: list[Problem]) -> Condition | None:
    if not _only(raw, _LEAF_KEYS, path, problems):
        return None
    is_estimate = "estimate" in raw
    subject = raw.get("estimate") if is_estimate else raw.get("fact")
    allowed = names.estimates if is_estimate else names.facts
    if subject not in allowed:
        field = "estimate" if is_estimate else "fact"
        problems.append(Problem(f"{path}.{field}", f"must be one of {', '.join(sorted(allowed))}",
                                fmt_value(subject)))
        return None
    if "in" in raw or "not_in" in raw:
        key = "in" if "in" in raw else "not_in"
        if not isinstance(raw[key], list) or not raw[key]:
            problems.append(Problem(f"{path}.{key}", "must be a non-empty list", fmt_value(raw[key])))
            return None
        return Member(subject, tuple(raw[key]), negate=key == "not_in")
    if "set" in raw:
        return IsSet(subject, bool(raw["set"]))
    return _compare(raw, subject, is_estimate, path, names, problems)


def _compare(raw: Mapping, subject: str, is_estimate: bool, path: str, names: Names,
             problems: list[Problem]) -> Compare | None:
    op = raw.get("op")
    if op not in OPS:
        problems.append(Problem(f"{path}.op", f"must be one of {' '.join(OPS)}", fmt_value(op)))
        return None
    rhs = [k for k in ("value", "limit", "than") if k in raw]
    if len(rhs) != 1:
        problems.append(Problem(path, "needs exactly one of value, limit, than"))
        return None
    if "limit" in raw and not _known_limit(raw["limit"], f"{path}.limit", problems):
        return None
    if raw.get("scale") is not None and raw["scale"] not in SCALES:
        problems.append(Problem(f"{path}.scale", f"must be one of {', '.join(SCALES)}",
                                fmt_value(raw["scale"])))
        return None
    if "than" in raw and raw["than"] not in names.facts:
        problems.append(Problem(f"{path}.than", "must be a fact name", fmt_value(raw["than"])))
        return None
    return Compare(subject, op, raw.get("value"), raw.get("limit"), raw.get("scale"),
                   raw.get("than"), is_estimate)


# --------------------------------------------------------------------------- evaluation


def scaled_limit(key: str, scale: str | None) -> Any:
    """A limit's value expressed in the fact's unit (bytes ÷ 1 MiB for ``scale: MiB``)."""
    value = service_facts.limit(key)
    return value / SCALES[scale] if scale else value


def holds(cond: Condition, facts: Mapping[str, Any], estimate: Mapping[str, Any] | None = None) -> bool:
    """Whether ``cond`` is true for these facts (and the target's estimate, if it uses one)."""
    if isinstance(cond, AllOf):
        return all(holds(c, facts, estimate) for c in cond.items)
    if isinstance(cond, AnyOf):
        return any(holds(c, facts, estimate) for c in cond.items)
    if isinstance(cond, Not):
        return not holds(cond.item, facts, estimate)
    if isinstance(cond, LimitIs):
        return service_facts.limit(cond.key) == cond.expected
    if isinstance(cond, IsSet):
        return (facts.get(cond.fact) is not None) == cond.expected
    if isinstance(cond, Member):
        value = facts.get(cond.fact)
        return value is not None and (value in cond.values) != cond.negate
    return _compare_holds(cond, facts, estimate)


def _compare_holds(cond: Compare, facts: Mapping[str, Any], estimate: Mapping[str, Any] | None) -> bool:
    source = estimate if cond.estimate else facts
    left = None if source is None else source.get(cond.fact)
    if cond.limit is not None:
        right = scaled_limit(cond.limit, cond.scale)
    elif cond.than is not None:
        right = facts.get(cond.than)
    else:
        right = cond.value
    if left is None or right is None:
        return False
    return bool(OPS[cond.op](left, right))


def _walk(cond: Condition | None) -> list[Condition]:
    if isinstance(cond, AllOf | AnyOf):
        return [n for c in cond.items for n in _walk(c)]
    if isinstance(cond, Not):
        return _walk(cond.item)
    return [] if cond is None else [cond]


def uses_estimate(cond: Condition) -> bool:
    """True when the condition reads the target option's estimate (evaluated per target)."""
    return any(isinstance(n, Compare) and n.estimate for n in _walk(cond))


def facts_used(cond: Condition) -> list[str]:
    """Every fact the condition reads (either side of a comparison), in order, without repeats."""
    names: list[str] = []
    for node in _walk(cond):
        if isinstance(node, Compare):
            names += [] if node.estimate else [node.fact]
            names += [node.than] if node.than is not None else []
        elif isinstance(node, Member | IsSet):
            names.append(node.fact)
    return list(dict.fromkeys(names))


def limits_used(cond: Condition) -> list[tuple[str, str | None]]:
    """``(key, scale)`` of every limit the condition reads, in order of appearance."""
    out = []
    for node in _walk(cond):
        if isinstance(node, Compare) and node.limit is not None:
            out.append((node.limit, node.scale))
        elif isinstance(node, LimitIs):
            out.append((node.key, None))
    return out


# --------------------------------------------------------------------------- words


def _limit_words(key: str, scale: str | None) -> str:
    lim = service_facts.limits()[key]
    if scale:
        return f"{key} ({scaled_limit(key, scale):g} {scale})"
    value = lim.value
    text = f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    return f"{key} ({text} {lim.unit})"


def _value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _set_words(values: Sequence) -> str:
    return "{" + ", ".join(_value_words(v) for v in values) + "}"


def in_words(cond: Condition, *, nested: bool = False) -> str:
    """A one-line English rendering of a condition, with each limit's current value."""
    if isinstance(cond, AllOf | AnyOf):
        joiner = " and " if isinstance(cond, AllOf) else " or "
        text = joiner.join(in_words(c, nested=True) for c in cond.items)
        return f"({text})" if nested and len(cond.items) > 1 else text
    if isinstance(cond, Not):
        return f"not {in_words(cond.item, nested=True)}"
    if isinstance(cond, LimitIs):
        current = _value_words(service_facts.limit(cond.key))
        return f"{cond.key} is {_value_words(cond.expected)} (currently {current})"
    if isinstance(cond, IsSet):
        return f"{cond.fact} is {'set' if cond.expected else 'null'}"
    if isinstance(cond, Member):
        if len(cond.values) == 1:
            return f"{cond.fact} {'≠' if cond.negate else '='} {_value_words(cond.values[0])}"
        return f"{cond.fact} {'not in' if cond.negate else 'in'} {_set_words(cond.values)}"
    return _compare_words(cond)


def _compare_words(cond: Compare) -> str:
    left = f"the option's estimated {cond.fact}" if cond.estimate else cond.fact
    if cond.limit is not None:
        right = _limit_words(cond.limit, cond.scale)
    elif cond.than is not None:
        right = cond.than
    else:
        right = _value_words(cond.value)
    return f"{left} {_WORD_OPS.get(cond.op, cond.op)} {right}"
