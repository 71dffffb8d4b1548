"""The single source of truth for limits, instance types and prices.

Code, docs, the decision engine and the quiz all read limits from here; the YAML files in
``simlab/data`` carry the value, unit and source of each fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Limit", "limit", "limits", "instance", "instance_types", "price", "InstanceType"]


@dataclass(frozen=True)
class Limit:
    """One service limit with its provenance."""

    key: str
    value: Any
    unit: str
    source: str
    notes_claim: str | None = None
    scope: str | None = None  # what the value covers when the service has exceptions


@dataclass(frozen=True)
class InstanceType:
    """One row of the instance catalog."""

    name: str
    vcpus: int
    memory_gib: float
    gpus: int
    price_per_hour: float
    price_confidence: str
    batch: bool


def _load(name: str) -> dict:
    from simlab.yamlio import load_yaml

    text = resources.files("simlab").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return load_yaml(text, file=f"simlab/data/{name}")


@cache
def limits() -> dict[str, Limit]:
    """All limits keyed ``service.limit``."""
    return {k: Limit(key=k, **v) for k, v in _load("limits.yaml").items()}


def limit(key: str) -> Any:
    """The value of one limit, e.g. ``limit("serverless_inference.max_payload_bytes")``.

    Raises:
        KeyError: when no such limit exists.
    """
    return limits()[key].value


@cache
def _catalog() -> dict:
    return _load("instances.yaml")


@cache
def instance_types() -> dict[str, InstanceType]:
    """The instance catalog keyed by type name (e.g. ``ml.m5.large``)."""
    return {k: InstanceType(name=k, **v) for k, v in _catalog()["types"].items()}


def instance(name: str) -> InstanceType:
    """One instance type. Raises KeyError for unknown types."""
    return instance_types()[name]


def catalog_meta() -> dict:
    """Price date, currency, region and the meaning of each confidence label."""
    return {k: v for k, v in _catalog().items() if k != "types"}


@cache
def _prices() -> dict:
    return _load("prices.yaml")


def hours_per_month() -> float:
    """The billing month in hours (730, the AWS pricing convention; simlab/data/prices.yaml)."""
    return float(_prices()["hours_per_month"]["value"])


def price(key: str) -> float:
    """A non-instance price, e.g. ``price("serverless_compute_per_gb_s")``. Raises KeyError."""
    return float(_prices()[key]["value"])
