"""The scenario's optional service-level objective (``slo: {p99_ms: …}``), read by what-if reports."""

from __future__ import annotations

from simlab.schema import Field, Float, Nested, Schema

__all__ = ["SLO_SCHEMA", "SLO_FIELD"]

SLO_SCHEMA = Schema("slo", [
    Field("p99_ms", Float(min=0, min_open=True), unit="ms",
          doc="p99 response time every deployment should meet"),
], doc="service-level objective")

SLO_FIELD = Field("slo", Nested(SLO_SCHEMA), default=None,
                  doc="service-level objective the what-if report checks (optional): p99_ms")
