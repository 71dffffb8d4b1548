"""The monitoring side of one simulation: ground truth plus one EndpointMonitoring per deployment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from simlab.monitoring.endpoint import EndpointMonitoring
from simlab.monitoring.ground_truth import GroundTruth

__all__ = ["MonitoringRun", "ALARM_KINDS"]

#: keys of ``first_alarm_s`` in the summary (estimated_performance = the CBPE alarm)
ALARM_KINDS = ("data_quality", "model_quality", "estimated_performance", "bias_drift", "feature_attribution_drift")


def _uses(cfg: dict) -> bool:
    return any(cfg.get(k) for k in ("data_capture", "monitors", "retraining"))


class MonitoringRun:
    """Built by :func:`simlab.monitoring.attach`; ``start`` registers every process."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.truth = GroundTruth(sim, sim.scenario.ground_truth)
        self.endpoints = {d.name: EndpointMonitoring(self, d) for d in sim.deployments if _uses(d.config)}

    def start(self) -> None:
        for ep in self.endpoints.values():
            ep.start()

    @cached_property
    def results(self):
        """The :class:`~simlab.monitoring.results.MonitoringResults` DataFrames."""
        from simlab.monitoring.results import MonitoringResults

        return MonitoringResults(self)

    def summary(self, name: str) -> dict[str, Any] | None:
        """The ``"monitoring"`` entry of a deployment's summary (None without monitors)."""
        ep = self.endpoints.get(name)
        if ep is None or not ep.has_monitors:
            return None
        first = {k: None for k in ALARM_KINDS}
        for ex in ep.executions:
            for a in ex.alarms:
                if first[a.monitor] is None:
                    first[a.monitor] = float(a.t)
        jobs = ep.retrainer.jobs if ep.retrainer else []
        return {
            "executions": len(ep.executions),
            "violations": sum(len(ex.violations) for ex in ep.executions),
            "first_alarm_s": first,
            "retrainings": sum(1 for j in jobs if j.status != "Skipped"),
            "training_cost_usd": round(ep.retrainer.cost_usd(), 6) if ep.retrainer else 0.0,
        }

    def write(self, out: Path, result) -> list[Path]:
        """capture/, ground_truth/, baseline/ and monitoring/ under ``out``; returns the paths."""
        from simlab.monitoring.files import write_all

        return write_all(self, Path(out), result)
