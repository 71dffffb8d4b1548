"""The four Model Monitor job types, each run on its schedule by :class:`EndpointMonitoring`.

Every job reads only what exists at its execution time ``t``: captured requests that completed by
``t`` and, for model quality, labels whose arrival time is ≤ ``t``.
"""

from __future__ import annotations

import math

import numpy as np

from simlab.monitoring.attribution import analysis_json as attribution_json
from simlab.monitoring.attribution import global_importance, ndcg
from simlab.monitoring.baseline import statistics
from simlab.monitoring.bias import analysis_json as bias_json
from simlab.monitoring.bias import bias_metrics, bias_violation, facet_groups
from simlab.monitoring.config import DEFAULT_SCHEDULE
from simlab.monitoring.data_quality import check_data_quality
from simlab.monitoring.execution import Execution
from simlab.monitoring.model_quality import (
    alarm_violation,
    confusion_matrix,
    quality_metrics,
    statistics_json,
)
from simlab.monitoring.schedule import parse_schedule

__all__ = ["JOBS", "DataQualityJob", "ModelQualityJob", "BiasDriftJob", "AttributionDriftJob", "NO_DATA"]

NO_DATA = "NoData: no captured records in the window"


class Job:
    """A monitoring schedule of one type on one endpoint."""

    kind = ""

    def __init__(self, ctx, cfg: dict) -> None:
        self.ctx, self.cfg = ctx, cfg
        self.schedule = cfg.get("schedule") or parse_schedule(DEFAULT_SCHEDULE[self.kind])

    def _window(self, t: float) -> tuple[Execution, np.ndarray]:
        ex = self.ctx.execution(self.kind, t - self.schedule.period, t)
        idx = self.ctx.capture.window(ex.window_start, t, t)
        ex.records = int(idx.size)
        return ex, idx

    def run(self, t: float) -> Execution:  # pragma: no cover - interface
        raise NotImplementedError


class DataQualityJob(Job):
    """Captured inputs of the last period against the baseline statistics and constraints."""

    kind = "data_quality"

    def run(self, t: float) -> Execution:
        ex, idx = self._window(t)
        if idx.size == 0:
            return ex.fail(NO_DATA)
        table = self.ctx.table(idx)
        res = check_data_quality(table, self.ctx.reference.baseline, self.cfg)
        ex.violations, ex.metrics = res.violations, res.metrics
        ex.reports["statistics.json"] = statistics(table)
        if ex.violations:
            ex.alarm(self.kind, "violations", float(len(ex.violations)), 0.0, "GreaterThanThreshold")
        return ex.close()


class ModelQualityJob(Job):
    """Predictions merged with the labels that have arrived, over [t + start_offset, t + end_offset);
    also the label-free CBPE estimate of the last period (monitor ``estimated_performance``)."""

    kind = "model_quality"

    def _cbpe_threshold(self) -> float | None:
        alarm = self.cfg.get("alarm") or {}
        if self.cfg.get("cbpe_below") is not None:
            return self.cfg["cbpe_below"]
        return alarm.get("below") if alarm.get("metric") == "accuracy" else None

    def _estimate(self, ex: Execution, t: float) -> None:
        cbpe = self.ctx.cbpe
        if not cbpe.available:
            return
        recent = self.ctx.capture.window(t - self.schedule.period, t, t)
        est, ex.cbpe = cbpe.estimate(recent, t)
        if math.isnan(est):  # not calibrated yet, or nothing captured: no estimate, no alarm
            return
        ex.metrics["estimated_accuracy"] = est
        limit = self._cbpe_threshold()
        if limit is not None and est < limit:
            ex.alarm("estimated_performance", "estimated_accuracy", est, limit, "LessThanThreshold")

    def run(self, t: float) -> Execution:
        period, c = self.schedule.period, self.cfg
        start = t + (c["start_offset"] if c["start_offset"] is not None else -period)
        ex = self.ctx.execution(self.kind, start, t + (c["end_offset"] or 0.0))
        self._estimate(ex, t)
        idx = self.ctx.capture.window(ex.window_start, ex.window_end, t)
        lab = idx[self.ctx.truth.arrived(idx, t)]
        ex.records, ex.labelled = int(idx.size), int(lab.size)
        if lab.size == 0:
            return ex.fail("NoData: no captured record in the window has an arrived label")
        self._evaluate(ex, lab, t)
        return ex.close()

    def _evaluate(self, ex: Execution, lab: np.ndarray, t: float) -> None:
        task, scores, thr = self.ctx.task, self.ctx.scores, self.cfg["probability_threshold"]
        y, pred = self.ctx.truth.label[lab], scores.labels(lab, thr)
        out, proba = scores.get(lab)
        m = quality_metrics(task, y, pred, out if task == "binary" else None)
        ex.reports["statistics.json"] = statistics_json(
            task, m, int(lab.size), t, confusion_matrix(y, pred) if task != "regression" else None)
        if proba is not None:
            est, _ = self.ctx.cbpe.estimate(lab, t)
            if not math.isnan(est):
                m["estimated_accuracy_labelled"] = est
        ex.metrics.update(m)
        c = self.cfg.get("alarm")
        v = alarm_violation(m, c)
        if v:
            ex.violations.append(v)
            limit = c["below"] if c.get("below") is not None else c["above"]
            ex.alarm(self.kind, c["metric"], m[c["metric"]], limit, v["constraint_check_type"])


class BiasDriftJob(Job):
    """DPPL and DI of the last period's predicted labels between the facet groups."""

    kind = "bias_drift"

    def run(self, t: float) -> Execution:
        ex, idx = self._window(t)
        if idx.size == 0:
            return ex.fail(NO_DATA)
        c = self.cfg
        col = self.ctx.column(c["facet"]["feature"])
        in_d, usable = facet_groups(self.ctx.table(idx).X[:, col], c["facet"]["threshold"])
        positive = self.ctx.scores.labels(idx, c["probability_threshold"]) == c["positive_label"]
        live, base = bias_metrics(positive, in_d, usable), self.ctx.reference.bias(c)
        ex.metrics = {"DPPL": live["DPPL"], "DI": live["DI"],
                      "baseline_DPPL": base["DPPL"], "baseline_DI": base["DI"]}
        ex.reports["analysis.json"] = bias_json(live, c["facet"], c["positive_label"])
        v = bias_violation(live, base, c["bias_metric"], c["bias_threshold"], c["facet"]["feature"])
        if v:
            ex.violations.append(v)
            ex.alarm(self.kind, c["bias_metric"], live[c["bias_metric"]], c["bias_threshold"], "GreaterThanThreshold")
        return ex.close()


class AttributionDriftJob(Job):
    """Ranking of the last period's mean |attribution| against the baseline's (NDCG)."""

    kind = "feature_attribution_drift"

    def run(self, t: float) -> Execution:
        ex, idx = self._window(t)
        if idx.size == 0:
            return ex.fail(NO_DATA)
        live = global_importance(self.ctx.attributions(idx))
        ref = self.ctx.reference
        score = ndcg(ref.importance(), live)
        ex.metrics = {"ndcg": score, **{f"feature_attribution_{n}": float(v) for n, v in zip(ref.table.names, live, strict=True)}}
        ex.reports["analysis.json"] = attribution_json(ref.table.names, live, ref.attribution_method, score)
        if not math.isnan(score) and score < self.cfg["ndcg_threshold"]:
            ex.violations.append({"feature_name": "", "constraint_check_type": "feature_attribution_drift_check",
                                  "description": f"NDCG {score:.4g} of the attribution ranking is below "
                                                 f"{self.cfg['ndcg_threshold']:g}"})
            ex.alarm(self.kind, "ndcg", score, self.cfg["ndcg_threshold"], "LessThanThreshold")
        return ex.close()


JOBS = {j.kind: j for j in (DataQualityJob, ModelQualityJob, BiasDriftJob, AttributionDriftJob)}
