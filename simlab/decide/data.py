"""Raw access to ``simlab/data/rules.yaml``: the rules list and the cost-model assumptions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["RULES_FILE", "Assumption", "Overhead", "assumption", "assumptions", "raw_rules",
           "overhead"]

RULES_FILE = "simlab/data/rules.yaml"


@dataclass(frozen=True)
class Assumption:
    """One cost-model assumption with its unit and provenance."""

    key: str
    value: Any
    unit: str
    source: str


@cache
def _document() -> dict[str, Any]:
    from simlab.yamlio import load_yaml

    text = resources.files("simlab").joinpath("data/rules.yaml").read_text(encoding="utf-8")
    return load_yaml(text, file="simlab/data/rules.yaml")


@cache
def assumptions() -> dict[str, Assumption]:
    """Every assumption keyed by name."""
    return {k: Assumption(key=k, **v) for k, v in _document()["assumptions"].items()}


def assumption(key: str) -> Any:
    """The value of one assumption, e.g. ``assumption("hours_per_month")``. Raises KeyError."""
    return assumptions()[key].value


def raw_rules() -> list[Any]:
    """The ``rules`` list as parsed YAML (validated by :func:`simlab.decide.rules.load_rules`)."""
    return list(_document()["rules"])


@dataclass(frozen=True)
class Overhead:
    """How much there is to operate for one answer id (lower rank = less), with the reason."""

    rank: int
    why: str


@cache
def overhead() -> dict[str, dict[str, Overhead]]:
    """``operational_overhead`` of rules.yaml: question -> answer id -> :class:`Overhead`.

    Raises:
        ValueError: when an answer id of a question has no entry, or an entry is not an integer
            rank >= 1 with a non-empty reason (a packaging bug; tests/test_decide_objective.py).
    """
    from simlab.decide.answers import ANSWERS

    raw = _document().get("operational_overhead") or {}
    out: dict[str, dict[str, Overhead]] = {}
    for question, ids in ANSWERS.items():
        given = raw.get(question) or {}
        if set(given) != set(ids):
            raise ValueError(f"{RULES_FILE}: operational_overhead.{question} must rank exactly "
                             f"{', '.join(ids)}, got {', '.join(given) or '(none)'}")
        for k, v in given.items():
            if not (isinstance(v, dict) and isinstance(v.get("rank"), int) and v["rank"] >= 1
                    and isinstance(v.get("why"), str) and v["why"].strip()):
                raise ValueError(f"{RULES_FILE}: operational_overhead.{question}.{k} must be "
                                 f"{{rank: integer >= 1, why: text}}, got {v!r}")
        out[question] = {k: Overhead(int(v["rank"]), v["why"]) for k, v in given.items()}
    return out
