"""The monitoring side of one simulation: ground truth plus one EndpointMonitoring per deployment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

from simlab.monitoring.config import ALARM_KINDS
from simlab.monitoring.endpoint import EndpointMonitoring
from simlab.monitoring.ground_truth import GroundTruth

__all__ = ["MonitoringRun"]


def _uses(cfg: dict) -> bool:
    return any(cfg.get(k) for k in ("data_capture", "monitors", "retraining"))


class MonitoringRun:
    """The monitoring feature's run (simlab.monitoring.feature); ``start`` registers every process."""

    def __init__(self, sim) -> None:
        self.sim = sim
        self.truth = GroundTruth(sim, sim.scenario.extra.get("ground_truth"))
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

    def top_summary(self) -> None:
        """Monitoring adds nothing at the top level of the summary."""
        return None

    def frames(self) -> dict[str, Any]:
        """Every monitoring DataFrame by name (``Result.features["monitoring"]``)."""
        r = self.results
        return {name: getattr(r, name) for name in r.FRAMES}

    def view(self):
        """What ``res.monitoring`` returns: the frames as attributes plus ``accuracy_over_time``."""
        return self.results

    def write(self, out: Path, result) -> list[Path]:
        """capture/, ground_truth/, baseline/ and monitoring/ under ``out``; returns the paths."""
        from simlab.monitoring.files import write_all

        return write_all(self, Path(out), result)
