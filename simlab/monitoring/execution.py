"""What one monitoring execution leaves behind: status, violations, metrics, alarms, reports.

Statuses follow Model Monitor's MonitoringExecutionStatus: ``Completed`` (no violation),
``CompletedWithViolations`` and ``Failed``. simlab uses ``Failed`` with the reason ``NoData: …``
when the window holds no captured record (data jobs) or no record merged with an arrived label
(model quality); such executions raise no alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Alarm", "Execution", "COMPLETED", "WITH_VIOLATIONS", "FAILED"]

COMPLETED, WITH_VIOLATIONS, FAILED = "Completed", "CompletedWithViolations", "Failed"


@dataclass(frozen=True)
class Alarm:
    """An alarm raised at ``t`` by ``monitor`` (``estimated_performance`` for CBPE)."""

    deployment: str
    monitor: str
    t: float
    metric: str
    value: float
    threshold: float
    comparison: str  # LessThanThreshold | GreaterThanThreshold


@dataclass
class Execution:
    """One scheduled run of a monitor over the window [window_start, window_end)."""

    deployment: str
    monitor: str
    t: float
    window_start: float
    window_end: float
    status: str = COMPLETED
    records: int = 0
    labelled: int = 0
    violations: list[dict] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    alarms: list[Alarm] = field(default_factory=list)
    failure_reason: str = ""
    cbpe: str = ""  # model quality: how CBPE estimated accuracy, or why it could not ("unavailable: …")
    reports: dict[str, dict] = field(default_factory=dict)  # file name -> JSON document

    def fail(self, reason: str) -> Execution:
        """Mark as Failed (no data); returns self."""
        self.status, self.failure_reason = FAILED, reason
        return self

    def close(self) -> Execution:
        """Set the status from the violations and attach constraint_violations.json; returns self."""
        self.status = WITH_VIOLATIONS if self.violations else COMPLETED
        self.reports["constraint_violations.json"] = {"violations": self.violations}
        return self

    def alarm(self, monitor: str, metric: str, value: float, threshold: float, comparison: str) -> None:
        """Record an alarm raised by this execution."""
        self.alarms.append(Alarm(self.deployment, monitor, self.t, metric, value, threshold, comparison))
