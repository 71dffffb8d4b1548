"""Decision rules as data: load ``simlab/data/rules.yaml``, validate it, render explanations.

Each rule carries an id, the question it answers, a condition (:mod:`simlab.decide.conditions`),
an effect on target answer ids, an explanation template and its source (a limit key of
``simlab/data/limits.yaml`` or a section path of the exam notes).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

from simlab import facts as service_facts
from simlab.decide import conditions as cond
from simlab.decide.answers import ANSWERS, EFFECTS, QUESTIONS
from simlab.decide.data import RULES_FILE, raw_rules
from simlab.decide.facts_file import DERIVED_FACTS, facts_schema
from simlab.errors import Problem, ScenarioError, fmt_value
from simlab.schema import Any_, Bool, Field, ListOf, OneOf, Schema, Str

__all__ = [
    "Rule", "ESTIMATE_FIELDS", "TEMPLATE_NAMES", "load_rules", "rules_for", "condition_names",
    "limit_namespaces", "render", "cite", "reads_this",
]

#: Fields of a cost-model estimate a condition or template may read.
ESTIMATE_FIELDS: tuple[str, ...] = ("monthly_cost_usd", "p99_latency_ms", "instances", "basis")

#: Template names besides the facts: the rule's limit and the namespaces of all limits/estimates.
TEMPLATE_NAMES: tuple[str, ...] = (
    "limit", "limit_value", "limit_unit", "limit_source", "notes_claim",
    "L", "MiB", "GiB", "claim", "est", "this",
)


@dataclass(frozen=True)
class Rule:
    """One decision rule (see the header of ``simlab/data/rules.yaml``)."""

    id: str
    question: str
    when: Any
    effect: str
    targets: tuple[str, ...]
    explain: str
    source: str
    hard: bool = False
    see: str = ""

    @property
    def per_target(self) -> bool:
        """True when the condition or the explanation reads the target's estimate (``this``), so
        the rule is evaluated and rendered once per target."""
        return cond.uses_estimate(self.when) or reads_this(self.explain)

    @property
    def primary_limit(self) -> tuple[str, str | None] | None:
        """The limit behind ``{limit}``: the first one in the condition, else the source's."""
        used = cond.limits_used(self.when)
        if used:
            return used[0]
        return (self.source, None) if self.source in service_facts.limits() else None


_RULE_SCHEMA = Schema("rule", [
    Field("id", Str(pattern=r"[a-z][a-z0-9_]*", describe="a snake_case id")),
    Field("question", OneOf(QUESTIONS)),
    Field("when", Any_(describe="a condition")),
    Field("effect", OneOf(EFFECTS)),
    Field("hard", Bool(), False),
    Field("targets", ListOf(Str()), []),
    Field("explain", Str()),
    Field("source", Str()),
    Field("see", Str(), ""),
])


def reads_this(template: str) -> bool:
    """True when an explanation template reads the target's estimate (``{this.…}``)."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f]
    except ValueError:
        return False
    return any(f.partition(".")[0] == "this" for f in fields)


def condition_names() -> cond.Names:
    """Names a rule condition may use: facts-file fields, derived facts, estimate fields."""
    return cond.Names(facts=(*facts_schema().field_names(), *DERIVED_FACTS),
                      estimates=ESTIMATE_FIELDS)


def _target_problems(rule: dict, path: str) -> list[Problem]:
    allowed = ANSWERS[rule["question"]]
    problems = [Problem(f"{path}.targets", f"must list {rule['question']} answer ids "
                        f"({' | '.join(allowed)})", fmt_value(t))
                for t in rule["targets"] if t not in allowed]
    if rule["effect"] not in ("note", "diagnose") and not rule["targets"]:
        problems.append(Problem(f"{path}.targets", f"is required for effect {rule['effect']}"))
    if rule["effect"] == "diagnose" and rule["targets"]:
        problems.append(Problem(f"{path}.targets", "must be empty for effect diagnose (a finding "
                                "about the facts, not about an option)", fmt_value(rule["targets"])))
    if rule["hard"] and rule["effect"] != "rule_out":
        problems.append(Problem(f"{path}.hard", "is only allowed with effect rule_out", "true"))
    return problems


def _template_problems(template: str, path: str) -> list[Problem]:
    names = {*facts_schema().field_names(), *DERIVED_FACTS, *TEMPLATE_NAMES}
    problems = []
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        return [Problem(f"{path}.explain", "must be a valid str.format template", str(e))]
    for field in fields:
        root, _, rest = field.partition(".")
        if root not in names:
            problems.append(Problem(f"{path}.explain", "uses an unknown name", fmt_value(field)))
        elif root in ("L", "MiB", "GiB", "claim") and rest not in service_facts.limits():
            problems.append(Problem(f"{path}.explain", "uses an unknown limit", fmt_value(field)))
    return problems


def _build(raw: Any, index: int, problems: list[Problem]) -> Rule | None:
    path = f"rules[{index}]"
    before = len(problems)
    data = _RULE_SCHEMA.validate(raw, path, problems)
    if len(problems) > before:
        return None
    when = cond.parse(data["when"], f"{path}.when", condition_names(), problems)
    problems.extend(_target_problems(data, path) + _template_problems(data["explain"], path))
    if len(problems) > before:
        return None
    return Rule(**{**data, "when": when, "targets": tuple(data["targets"])})


@cache
def load_rules() -> tuple[Rule, ...]:
    """Every rule in file order.

    Raises:
        ScenarioError: listing every problem in ``simlab/data/rules.yaml`` (a packaging bug).
    """
    problems: list[Problem] = []
    rules = [_build(raw, i, problems) for i, raw in enumerate(raw_rules())]
    ids = [r.id for r in rules if r is not None]
    problems += [Problem("rules", "ids must be unique", i) for i in sorted(set(ids)) if ids.count(i) > 1]
    if problems:
        raise ScenarioError(problems, file=RULES_FILE)
    return tuple(r for r in rules if r is not None)


def rules_for(question: str) -> tuple[Rule, ...]:
    """The rules of one question type, in file order."""
    return tuple(r for r in load_rules() if r.question == question)


# --------------------------------------------------------------------------- rendering


def _nest(flat: dict[str, Any]) -> SimpleNamespace:
    groups: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        service, _, name = key.partition(".")
        groups.setdefault(service, {})[name] = value
    return SimpleNamespace(**{k: SimpleNamespace(**v) for k, v in groups.items()})


@cache
def limit_namespaces() -> dict[str, SimpleNamespace]:
    """``L`` (raw values), ``MiB``/``GiB`` (bytes scaled) and ``claim`` (notes claims) of all limits."""
    lims = service_facts.limits()
    scaled = {k: v.value for k, v in lims.items() if isinstance(v.value, int) and k.endswith("_bytes")}
    return {
        "L": _nest({k: v.value for k, v in lims.items()}),
        "MiB": _nest({k: v / cond.SCALES["MiB"] for k, v in scaled.items()}),
        "GiB": _nest({k: v / cond.SCALES["GiB"] for k, v in scaled.items()}),
        "claim": _nest({k: v.notes_claim or "" for k, v in lims.items()}),
    }


def _limit_context(rule: Rule) -> dict[str, Any]:
    primary = rule.primary_limit
    if primary is None:
        return {}
    key, scale = primary
    lim = service_facts.limits()[key]
    return {"limit": cond.scaled_limit(key, scale), "limit_value": lim.value,
            "limit_unit": scale or lim.unit, "limit_source": lim.source,
            "notes_claim": lim.notes_claim or ""}


def _figure(lim: service_facts.Limit) -> str:
    value = lim.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return f"{text} {lim.unit}"


def cite(rule: Rule) -> str:
    """``[source: limit KEY = figure, from …]`` or ``[source: exam notes, Section > Path]``."""
    lims = service_facts.limits()
    if rule.source in lims:
        lim = lims[rule.source]
        text = f"limit {rule.source} = {_figure(lim)}, from {lim.source}"
    else:
        text = f"exam notes, {rule.source}"
    return f"[source: {text}{'; see ' + rule.see if rule.see else ''}]"


def render(rule: Rule, context: dict[str, Any], *, this: Any = None) -> str:
    """The rule's explanation for these facts, followed by its citation.

    Raises:
        KeyError, AttributeError, ValueError: when the template doesn't fit the context (a bug in
            ``rules.yaml``; ``tests/test_decide.py`` renders every rule to catch it).
    """
    values = {**context, **limit_namespaces(), **_limit_context(rule), "this": this}
    text = " ".join(rule.explain.split()).format_map(values)
    return f"{text} {cite(rule)}"
