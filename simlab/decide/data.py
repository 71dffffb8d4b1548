"""Raw access to ``simlab/data/rules.yaml``: the rules list and the cost-model assumptions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["RULES_FILE", "Assumption", "assumption", "assumptions", "raw_rules"]

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
