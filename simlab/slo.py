"""The scenario's optional service-level objective (``slo: {p99_ms: …}``), read by what-if reports.

A feature of the seam (simlab.features) that only owns the field: it starts nothing in a run
(``attach`` returns None) and the what-if report reads ``scenario.slo``.
"""

from __future__ import annotations

from simlab.errors import Problem
from simlab.schema import Field, Float, Nested, Schema

__all__ = ["SLO_SCHEMA", "SLO_FIELD", "SloFeature", "FEATURE"]

SLO_SCHEMA = Schema("slo", [
    Field("p99_ms", Float(min=0, min_open=True), unit="ms",
          doc="p99 response time every deployment should meet"),
], doc="service-level objective")

SLO_FIELD = Field("slo", Nested(SLO_SCHEMA), default=None,
                  doc="service-level objective the what-if report checks (optional): p99_ms")


class SloFeature:
    """Owns the top-level ``slo`` field; what-if reports read it, a run does not."""

    name = "slo"

    def top_fields(self) -> list[Field]:
        return [SLO_FIELD]

    def deployment_fields(self, type_id: str) -> list[Field]:
        return []

    def check(self, scenario: dict, file_path: str) -> list[Problem]:
        return []

    def attach(self, sim: object) -> None:
        return None


FEATURE = SloFeature()
