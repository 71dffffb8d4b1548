"""Time to detect: for each drift event, when each monitor first alarmed after it started."""

from __future__ import annotations

import numpy as np

from simlab.drift import describe
from simlab.records import Err

__all__ = ["detection_rows", "monitor_kinds"]


def monitor_kinds(ep) -> list[str]:
    """The alarm kinds an endpoint can raise (CBPE rides on the model-quality job)."""
    kinds = [job.kind for job in ep.jobs]
    if "model_quality" in kinds and ep.scores.proba is not None:
        kinds.insert(kinds.index("model_quality") + 1, "estimated_performance")
    return kinds


def _episodes(ep, kind: str) -> list[tuple[float, float, bool]]:
    """(time, window end, raised a ``kind`` alarm) of each execution of the job behind ``kind``."""
    job = "model_quality" if kind == "estimated_performance" else kind
    return [(ex.t, ex.window_end, any(a.monitor == kind for a in ex.alarms))
            for ex in ep.executions if ex.monitor == job]


def _first_alarm(ep, kind: str, at: float) -> tuple[float, bool]:
    """(time of the first alarm that starts an alarm episode on data from after ``at``, whether
    the monitor was already alarming on data from before). An execution counts only when its
    window ends after ``at`` (it read post-event data); an episode starts when the previous
    execution did not alarm, so a monitor already alarming has not detected a new event."""
    runs = _episodes(ep, kind)
    before = [alarmed for _, end, alarmed in runs if end <= at]
    for k, (t, end, alarmed) in enumerate(runs):
        if end > at and alarmed and (k == 0 or not runs[k - 1][2]):
            return t, bool(before and before[-1])
    return np.nan, bool(before and before[-1])


def _served(ep, t0: float, t1: float) -> int:
    wl, log = ep.sim.workload, ep.dep.log
    sel = slice(wl.upto(t0), wl.upto(t1))
    return int(np.count_nonzero(log.error[sel] == Err.NONE))


def detection_rows(run) -> list[dict]:
    """One row per (deployment, drift event, monitor): the first alarm episode that starts at or
    after the event, the delay, and the requests served meanwhile (until the end if none)."""
    drift = run.sim.workload.drift
    if drift is None:
        return []
    rows = []
    for ep in run.endpoints.values():
        for k, e in enumerate(drift.events):
            for kind in monitor_kinds(ep):
                first, already = _first_alarm(ep, kind, e["at"])
                end = first if np.isfinite(first) else run.sim.duration
                rows.append({"deployment": ep.name, "event": k, "description": describe(e),
                             "kind": "concept" if e["concept"] is not None else "feature",
                             "feature": e["feature"], "at_s": float(e["at"]), "monitor": kind,
                             "alarming_at_start": already,
                             "first_alarm_s": first, "time_to_detect_s": first - e["at"],
                             "requests_served": _served(ep, e["at"], end)})
    return rows
