"""``Result.monitoring``: every execution, violation, alarm, metric, detection and retraining as
pandas DataFrames (times in simulated seconds from the start)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from simlab.monitoring.detection import detection_rows
from simlab.records import Err

__all__ = ["MonitoringResults"]


def _frame(rows: list[dict], columns: list[str]):
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


class MonitoringResults:
    """DataFrames ``executions``, ``violations``, ``alarms``, ``metrics``, ``detections``,
    ``retrainings``, and :meth:`accuracy_over_time`."""

    #: the DataFrames, by attribute name (also the CSV names under monitoring/)
    FRAMES = ("executions", "violations", "alarms", "metrics", "detections", "retrainings")

    def __init__(self, run) -> None:
        self.run = run

    def _executions(self):
        return [ex for ep in self.run.endpoints.values() for ex in ep.executions]

    @cached_property
    def executions(self):
        """One row per execution: window, status, records read, labels merged, violations, and for
        model quality ``cbpe``: how CBPE estimated accuracy, or why it could not (``unavailable: …``)."""
        rows = [{"deployment": e.deployment, "monitor": e.monitor, "t_s": e.t, "window_start_s": e.window_start,
                 "window_end_s": e.window_end, "status": e.status, "records": e.records, "labelled": e.labelled,
                 "violations": len(e.violations), "failure_reason": e.failure_reason, "cbpe": e.cbpe}
                for e in self._executions()]
        return _frame(rows, ["deployment", "monitor", "t_s", "window_start_s", "window_end_s", "status",
                             "records", "labelled", "violations", "failure_reason", "cbpe"])

    @cached_property
    def violations(self):
        """One row per constraint_violations.json entry."""
        rows = [{"deployment": e.deployment, "monitor": e.monitor, "t_s": e.t, "feature_name": v.get("feature_name"),
                 "metric_name": v.get("metric_name"), "constraint_check_type": v["constraint_check_type"],
                 "description": v["description"]} for e in self._executions() for v in e.violations]
        return _frame(rows, ["deployment", "monitor", "t_s", "feature_name", "metric_name",
                             "constraint_check_type", "description"])

    @cached_property
    def alarms(self):
        """One row per alarm (monitor ``estimated_performance`` = CBPE)."""
        rows = [vars(a) | {"t_s": a.t} for e in self._executions() for a in e.alarms]
        for r in rows:
            r.pop("t")
        return _frame(rows, ["deployment", "monitor", "t_s", "metric", "value", "threshold", "comparison"])

    @cached_property
    def metrics(self):
        """Long time series: one row per (execution, metric) — e.g. feature_baseline_drift_<f>,
        accuracy, estimated_accuracy, DPPL, ndcg."""
        rows = [{"deployment": e.deployment, "monitor": e.monitor, "t_s": e.t, "metric": k, "value": v}
                for e in self._executions() for k, v in e.metrics.items()]
        return _frame(rows, ["deployment", "monitor", "t_s", "metric", "value"])

    @cached_property
    def detections(self):
        """Time to detect each drift event per monitor, and requests served meanwhile."""
        return _frame(detection_rows(self.run), ["deployment", "event", "description", "kind", "feature", "at_s",
                                                 "monitor", "alarming_at_start", "first_alarm_s", "time_to_detect_s", "requests_served"])

    @cached_property
    def retrainings(self):
        """One row per retraining job."""
        rows = [{"deployment": j.deployment, "trigger": j.trigger, "t_start_s": j.t_start, "t_live_s": j.t_live,
                 "approach": j.approach, "rows": j.rows, "labelled_rows": j.labelled_rows,
                 "versions": ", ".join(f"{k}: v{a}→v{b}" for k, (a, b) in j.versions.items()),
                 "cost_usd": j.cost_usd, "status": j.status}
                for ep in self.run.endpoints.values() if ep.retrainer for j in ep.retrainer.jobs]
        return _frame(rows, ["deployment", "trigger", "t_start_s", "t_live_s", "approach", "rows",
                             "labelled_rows", "versions", "cost_usd", "status"])

    def accuracy_over_time(self, bin_s: float | str = 3600.0):
        """Per deployment and time bin (by request time), the *realised* quality of every served
        request against its true label — an oracle view no monitor has — beside CBPE's estimate.

        Columns: deployment, t_s (bin start), requests, accuracy (mae for regression),
        estimated_accuracy (CBPE with the maps of simlab.monitoring.cbpe as they stand at the end of
        the run; NaN for regression and for bins holding requests of an uncalibrated model version
        that never got its calibration reference), model_version (newest served in the bin).
        ``bin_s`` is seconds or a duration string (``"6h"``).

        Raises:
            ValueError: when ``bin_s`` is not a positive duration.
        """
        import pandas as pd

        from simlab.units import parse_duration

        bin_s = parse_duration(bin_s)
        if not bin_s > 0:
            raise ValueError(f"bin_s must be a positive duration, got {bin_s}")

        frames = [self._accuracy(ep, bin_s) for ep in self.run.endpoints.values()]
        return pd.concat(frames, ignore_index=True) if frames else _frame([], ["deployment", "t_s"])

    def _accuracy(self, ep, bin_s: float):
        import pandas as pd

        sim = self.run.sim
        idx = np.flatnonzero((ep.dep.log.error == Err.NONE) & (ep.dep.log.t_done <= sim.duration))
        pred, (_, proba) = ep.scores.labels(idx, ep.cbpe.threshold), ep.scores.get(idx)
        est = ep.cbpe.correctness(idx, sim.duration)[0] if proba is not None else None
        y = self.run.truth.label[idx]
        regression = proba is None
        if idx.size == 0:
            return pd.DataFrame([])
        est = np.full(idx.size, np.nan) if regression else np.asarray(est, dtype=float)
        per = pd.DataFrame({"bin": (sim.workload.t[idx] // bin_s).astype(np.int64),
                            "quality": np.abs(pred - y) if regression else (pred == y).astype(float),
                            "est": est, "est_nan": np.isnan(est),
                            "model_version": ep.dep.log.model_version[idx].astype(np.int64)})
        g = per.groupby("bin", sort=True).agg(requests=("quality", "size"), quality=("quality", "mean"),
                                              est=("est", "mean"), est_nan=("est_nan", "any"),
                                              model_version=("model_version", "max"))
        return pd.DataFrame({"deployment": ep.name, "t_s": g.index.to_numpy() * float(bin_s),
                             "requests": g.requests.to_numpy(dtype=int),
                             "mae" if regression else "accuracy": g.quality.to_numpy(),
                             # one uncalibrated request makes the bin's estimate NaN (as np.mean did)
                             "estimated_accuracy": np.where(g.est_nan, np.nan, g.est).astype(float),
                             "model_version": g.model_version.to_numpy(dtype=int)})
