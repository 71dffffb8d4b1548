"""Model monitoring on the simulated clock: data capture, baselines, Model Monitor jobs (data
quality, model quality, bias drift, feature attribution drift), CBPE, ground truth that arrives
late, time to detect, and retraining of the real model. See docs/monitoring.md.

The simulation calls :func:`attach` once it has bound its deployments; nothing here is imported
unless a scenario uses drift, ground truth or a monitoring field.
"""

from __future__ import annotations

from typing import Any

__all__ = ["attach"]


def attach(sim) -> Any:
    """The :class:`~simlab.monitoring.run.MonitoringRun` of a simulation, or None when the
    scenario uses no monitoring feature."""
    from simlab.monitoring.config import needs_monitoring

    sc = sim.scenario
    cfg = {"ground_truth": sc.ground_truth, "workload": sc.workload, "deployments": sc.deployments}
    if not needs_monitoring(cfg):
        return None
    from simlab.monitoring.run import MonitoringRun

    return MonitoringRun(sim)
