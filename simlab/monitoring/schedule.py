"""Monitoring schedules: ``hourly``, ``daily``, a SageMaker cron expression, or every N hours.

A schedule is a period and an offset; executions run at ``offset + k × period`` (k ≥ 1 when the
offset is 0) and each reads the data of the period before it. SageMaker Model Monitor accepts
hourly to daily schedules (``cron(0 * ? * * *)``, ``cron(0 H ? * * *)``, ``cron(0 */N ? * * *)``),
so the period must lie between 1 h and 1 d.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from simlab.schema import Any_, Invalid
from simlab.units import parse_duration

__all__ = ["Schedule", "ScheduleKind", "parse_schedule", "HOUR", "DAY"]

HOUR, DAY = 3600.0, 86400.0
MIN_PERIOD, MAX_PERIOD = HOUR, DAY  # facts: Model Monitor schedules run hourly to daily
_CRON_HOURLY = re.compile(r"^cron\(0 \* \? \* \* \*\)$")
_CRON_DAILY = re.compile(r"^cron\(0 ([01]?\d|2[0-3]) \? \* \* \*\)$")
_CRON_EVERY = re.compile(r"^cron\(0 (?:([01]?\d|2[0-3])|\*)/(\d{1,2}) \? \* \* \*\)$")


@dataclass(frozen=True)
class Schedule:
    """Executions at ``offset + k × period`` seconds; ``text`` is what the user wrote."""

    period: float
    offset: float = 0.0
    text: str = ""

    def times(self, until: float) -> list[float]:
        """Execution times in (0, until)."""
        first = self.offset if self.offset > 0 else self.period
        n = 0 if first >= until else int((until - first - 1e-9) // self.period) + 1
        return [first + k * self.period for k in range(n)]


def _cron(text: str) -> Schedule | None:
    if _CRON_HOURLY.match(text):
        return Schedule(HOUR, 0.0, text)
    m = _CRON_DAILY.match(text)
    if m:
        return Schedule(DAY, int(m.group(1)) * HOUR, text)
    m = _CRON_EVERY.match(text)
    if m and 1 <= int(m.group(2)) <= 24:
        return Schedule(int(m.group(2)) * HOUR, int(m.group(1) or 0) * HOUR, text)
    return None


def parse_schedule(raw: Any) -> Schedule:
    """A :class:`Schedule` from ``hourly``, ``daily``, ``cron(…)`` or a duration (``6h``).

    Raises:
        ValueError: when ``raw`` is none of these or the period is outside 1 h … 1 d.
    """
    if raw == "hourly":
        return Schedule(HOUR, 0.0, raw)
    if raw == "daily":
        return Schedule(DAY, 0.0, raw)
    if isinstance(raw, str) and raw.startswith("cron("):
        found = _cron(raw.strip())
        if found is None:
            raise ValueError(raw)
        return found
    period = parse_duration(raw)
    if not MIN_PERIOD <= period <= MAX_PERIOD:
        raise ValueError(raw)
    return Schedule(period, 0.0, str(raw))


def _convert(raw: Any, path: str) -> Schedule:
    try:
        return parse_schedule(raw)
    except ValueError:
        raise Invalid(f"must be {SCHEDULE_TEXT}", raw) from None


SCHEDULE_TEXT = ("hourly, daily, cron(0 * ? * * *), cron(0 H ? * * *), cron(0 */N ? * * *) "
                 "or a duration from 1h to 1d (every N)")


def ScheduleKind() -> Any_:  # noqa: N802 - reads like a kind
    """Schema kind: a monitoring schedule."""
    return Any_(describe=SCHEDULE_TEXT, convert_fn=_convert)
