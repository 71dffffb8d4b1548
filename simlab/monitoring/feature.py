"""Monitoring as a feature of the run (simlab.features): its scenario fields, checks and run.

Fields: ``ground_truth`` at the top level; ``data_capture``, ``monitors`` and ``retraining`` on
real-time endpoints (simlab.monitoring.config). The run attaches when a scenario uses drift,
ground truth or one of those fields (:func:`simlab.monitoring.config.needs_monitoring`).
"""

from __future__ import annotations

from typing import Any

from simlab.errors import Problem
from simlab.monitoring.config import ALARM_KINDS
from simlab.schema import Field

__all__ = ["MonitoringFeature", "FEATURE"]

#: deployment types whose fields include capture, monitors and retraining
MONITORED_TYPES = ("real_time_endpoint", "serial_inference_pipeline")


def _ms(x: float | None) -> str:
    from simlab.report import fmt_ms

    return fmt_ms(x)


class MonitoringFeature:
    """Data capture, Model Monitor jobs, ground truth and retraining (docs/monitoring.md)."""

    name = "monitoring"

    def top_fields(self) -> list[Field]:
        from simlab.monitoring.config import GROUND_TRUTH_FIELD

        return [GROUND_TRUTH_FIELD]

    def deployment_fields(self, type_id: str) -> list[Field]:
        from simlab.monitoring.config import MONITORING_FIELDS

        return list(MONITORING_FIELDS) if type_id in MONITORED_TYPES else []

    def check(self, scenario: dict, file_path: str) -> list[Problem]:
        from simlab.monitoring.config import scenario_problems

        return scenario_problems(scenario)

    def attach(self, sim) -> Any:
        from simlab.monitoring.config import needs_monitoring

        sc = sim.scenario
        cfg = {"ground_truth": sc.extra.get("ground_truth"), "workload": sc.workload, "deployments": sc.deployments}
        if not needs_monitoring(cfg):
            return None
        from simlab.monitoring.run import MonitoringRun

        return MonitoringRun(sim)

    def table_rows(self) -> list[tuple[str, Any]]:
        """Rows of the ``simulate`` table, fed with a deployment's ``"monitoring"`` summary."""
        return [
            ("monitor executions", lambda m: f"{m['executions']:,}"),
            ("violations", lambda m: f"{m['violations']:,}"),
            *[(f"first {kind.replace('_', ' ')} alarm",
               lambda m, k=kind: _ms(None if m["first_alarm_s"][k] is None else m["first_alarm_s"][k] * 1000))
              for kind in ALARM_KINDS],
            ("retrainings", lambda m: f"{m['retrainings']:,}"),
            ("training cost USD", lambda m: f"{m['training_cost_usd']:.4f}"),
        ]


FEATURE = MonitoringFeature()
