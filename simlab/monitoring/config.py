"""Scenario fields for data capture, monitors, retraining and ground truth (constraints as data).

The monitoring feature (simlab.monitoring.feature) adds :data:`MONITORING_FIELDS` to real-time
endpoints and serial inference pipelines and :data:`GROUND_TRUTH_FIELD` to the scenario's top level. Checks that need the model (feature names, problem type, partial_fit
support) run once for the whole scenario in :func:`scenario_problems`. Defaults cite their source:
``[MM]`` = SageMaker Model Monitor docs (constraints.json monitoring_config, shared/facts/sagemaker.md),
``[Clarify]`` = SageMaker Clarify docs, ``[simlab]`` = a choice of this simulator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from simlab import facts
from simlab.alarms import register_metric
from simlab.distributions import DistSpec
from simlab.errors import Problem
from simlab.monitoring.cbpe import DEFAULT_CALIBRATION_ROWS
from simlab.monitoring.schedule import ScheduleKind
from simlab.schema import (
    Any_,
    Bool,
    Duration,
    Field,
    Float,
    Int,
    Invalid,
    ListOf,
    Nested,
    OneOf,
    Schema,
    Str,
    suggest,
)

__all__ = [
    "MONITOR_TYPES", "ALARM_KINDS", "CAPTURE_MODES", "METRICS", "DATA_CAPTURE_SCHEMA", "MONITOR_SCHEMA",
    "RETRAINING_SCHEMA", "GROUND_TRUTH_SCHEMA", "MONITORING_FIELDS", "GROUND_TRUTH_FIELD",
    "DEFAULT_SCHEDULE", "scenario_problems", "needs_monitoring",
]

# Metrics each monitoring execution publishes to the run's metric store (sim.metrics) at its time,
# as Model Monitor publishes them to CloudWatch: alarms may watch them.
for _pattern in (r"feature_baseline_drift_.+", r"feature_attribution_.+", r"ndcg", r"DPPL", r"DI",
                 r"estimated_accuracy", r"accuracy|precision|recall|f1|auc|mae|rmse|r2"):
    register_metric(_pattern, "Model Monitor (simlab/monitoring)")

MONITOR_TYPES = ("data_quality", "model_quality", "bias_drift", "feature_attribution_drift")
#: the alarms a monitored endpoint can raise, in summary order (keys of ``first_alarm_s``;
#: estimated_performance = the CBPE alarm riding on the model-quality job): the one list
ALARM_KINDS = ("data_quality", "model_quality", "estimated_performance", "bias_drift", "feature_attribution_drift")
CAPTURE_MODES = ("input", "output")
#: metrics a model-quality job computes per problem type [MM]
METRICS = {
    "binary": ("accuracy", "precision", "recall", "f1", "auc"),
    "multiclass": ("accuracy", "weighted_precision", "weighted_recall", "weighted_f1"),
    "regression": ("mae", "rmse", "r2"),
}
#: schedule when a monitor gives none [simlab]: data every hour, Clarify jobs once a day
DEFAULT_SCHEDULE = {"data_quality": "hourly", "model_quality": "hourly",
                    "bias_drift": "daily", "feature_attribution_drift": "daily"}
#: capture modes each monitor type reads [MM]: inputs for features, outputs for predictions
NEEDS_MODES = {"data_quality": ("input",), "model_quality": ("output",),
               "bias_drift": ("input", "output"), "feature_attribution_drift": ("input",)}

DATA_CAPTURE_SCHEMA = Schema("data capture", [
    Field("sampling_percentage", Int(min=0, max=100), default=100, unit="%",
          doc="DataCaptureConfig.InitialSamplingPercentage: each completed request is captured with this "
              "probability (decided per request from stream `monitoring.capture.<deployment>`)"),
    Field("modes", ListOf(OneOf(CAPTURE_MODES), min_len=1, max_len=2), default=["input", "output"],
          doc="CaptureOptions CaptureMode: `input` (request CSV) and/or `output` (response CSV)"),
], doc="DataCaptureConfig: which requests are written to capture/ as JSON Lines")


def _alarm_check(cfg: dict, path: str) -> list[Problem]:
    if (cfg.get("below") is None) == (cfg.get("above") is None):
        return [Problem(path, "give exactly one of `below` or `above`", "both" if cfg.get("below") is not None else "neither")]
    return []


ALL_METRICS = tuple(dict.fromkeys(m for ms in METRICS.values() for m in ms))

ALARM_SCHEMA = Schema("model-quality alarm", [
    Field("metric", OneOf(ALL_METRICS), doc="metric of the problem type (binary: accuracy, precision, recall, f1, auc; "
          "multiclass: accuracy, weighted_*; regression: mae, rmse, r2)"),
    Field("below", Float(), default=None, doc="alarm when the metric is below this (LessThanThreshold)"),
    Field("above", Float(), default=None, doc="alarm when the metric is above this (GreaterThanThreshold)"),
], checks=(_alarm_check,))

FACET_SCHEMA = Schema("facet", [
    Field("feature", Str(), doc="numeric feature that defines the facet (Clarify facet_name)"),
    Field("threshold", Float(), doc="requests with the feature above this form the facet group d, the rest group a "
          "(Clarify facet_values_or_threshold for a continuous facet)"),
])

#: fields of MONITOR_SCHEMA that only some monitor types accept
APPLIES: dict[str, tuple[str, ...]] = {
    "datatype_check_threshold": ("data_quality",), "domain_content_threshold": ("data_quality",),
    "comparison_threshold": ("data_quality",), "comparison_method": ("data_quality",),
    "robust_alpha": ("data_quality",),
    "start_offset": ("model_quality",), "end_offset": ("model_quality",), "alarm": ("model_quality",),
    "cbpe_below": ("model_quality",), "cbpe_calibration_rows": ("model_quality",),
    "probability_threshold": ("model_quality", "bias_drift"),
    "facet": ("bias_drift",), "positive_label": ("bias_drift",), "bias_metric": ("bias_drift",),
    "bias_threshold": ("bias_drift",), "ndcg_threshold": ("feature_attribution_drift",),
}


def _monitor_check(cfg: dict, path: str) -> list[Problem]:
    problems = []
    for f in MONITOR_SCHEMA.fields:
        kinds = APPLIES.get(f.name)
        if kinds and cfg["type"] not in kinds and cfg.get(f.name) != f.default:
            problems.append(Problem(f"{path}.{f.name}", f"applies only to {' and '.join(kinds)} monitors", cfg["type"]))
    if cfg["type"] == "bias_drift" and cfg.get("facet") is None:
        problems.append(Problem(f"{path}.facet", "is required for bias_drift: {feature, threshold}"))
    start, end = cfg.get("start_offset"), cfg.get("end_offset")
    if start is not None and end is not None and not start < end:
        problems.append(Problem(f"{path}.end_offset", f"must be after start_offset ({start:g} s)", f"{end:g} s"))
    for name in ("start_offset", "end_offset"):
        if cfg.get(name) is not None and cfg[name] > 0:
            problems.append(Problem(f"{path}.{name}", "must be ≤ 0 (a job cannot read the future)", f"{cfg[name]:g} s"))
    return problems


OFFSET = Duration(min=None)

MONITOR_SCHEMA = Schema("monitor", [
    Field("type", OneOf(MONITOR_TYPES), doc="Model Monitor type: DataQuality, ModelQuality, ModelBias (bias drift) "
          "or ModelExplainability (feature attribution drift)"),
    Field("schedule", ScheduleKind(), default=None,
          doc="when executions run; each reads the period before it (default [simlab]: hourly for data_quality and "
              "model_quality, daily for bias_drift and feature_attribution_drift)"),
    Field("datatype_check_threshold", Float(min=0, max=1), default=0.1,
          doc="data_quality: data_type_check flags a feature when more than this share of its present values "
              "do not have the baseline type [MM default 0.1]"),
    Field("domain_content_threshold", Float(min=0, max=1), default=0.1,
          doc="data_quality: categorical_values_check flags a String feature when more than this share of values "
              "lie outside the baseline domain [MM default 0.1]"),
    Field("comparison_threshold", Float(min=0, max=1), default=0.1,
          doc="data_quality: baseline_drift_check flags a feature when the L-infinity distance of its CDFs "
              "(= two-sample KS statistic) exceeds this [MM distribution_constraints default 0.1]"),
    Field("comparison_method", OneOf(("Robust", "Simple")), default="Robust",
          doc="data_quality: Simple compares the distance with the threshold; Robust first subtracts the "
              "two-sample KS critical value at `robust_alpha` (sampling noise) [MM default Robust; the "
              "subtraction is simlab's reading of linf_robust, UNCONFIRMED]"),
    Field("robust_alpha", Float(min=0, max=1, min_open=True), default=0.05,
          doc="data_quality: significance level of that KS critical value c(α)·√(1/n + 1/m) [simlab]"),
    Field("start_offset", OFFSET, default=None, unit="s",
          doc="model_quality: StartTimeOffset, window start relative to the execution (ISO `-P8D` or seconds ≤ 0; "
              "default: minus the schedule period)"),
    Field("end_offset", OFFSET, default=None, unit="s",
          doc="model_quality: EndTimeOffset, window end relative to the execution (e.g. `-P1D`; default 0)"),
    Field("alarm", Nested(ALARM_SCHEMA), default=None,
          doc="model_quality: CloudWatch-style alarm on a metric (none: metrics only)"),
    Field("cbpe_below", Float(min=0, max=1), default=None,
          doc="model_quality (classifiers): alarm when the CBPE-estimated accuracy of the last schedule period "
              "is below this (default: the `alarm` threshold when alarm.metric is accuracy with `below`)"),
    Field("cbpe_calibration_rows", Int(min=50), default=DEFAULT_CALIBRATION_ROWS, unit="requests",
          doc="model_quality, classifiers the zoo does not flag `calibrated`: CBPE first fits an isotonic map "
              "(predicted label's probability → P(correct)) on the earliest this many captured requests of each "
              "model version whose labels have arrived; until then the estimate is unavailable [simlab]"),
    Field("probability_threshold", Float(min=0, max=1), default=0.5,
          doc="model_quality and bias_drift, binary models: predicted label is 1 when P(1) ≥ this "
              "(ProbabilityThresholdAttribute) [MM]"),
    Field("facet", Nested(FACET_SCHEMA), default=None, doc="bias_drift: the facet {feature, threshold} (required)"),
    Field("positive_label", Int(), default=1,
          doc="bias_drift: the predicted label counted as the positive outcome (Clarify label_values_or_threshold)"),
    Field("bias_metric", OneOf(("DPPL", "DI")), default="DPPL",
          doc="bias_drift: alarm metric, DPPL = q_a − q_d (difference in positive proportions in predicted labels) "
              "or DI = q_d / q_a (disparate impact) [Clarify]"),
    Field("bias_threshold", Float(min=0), default=0.1,
          doc="bias_drift: alarm when |metric − baseline value| exceeds this [simlab]"),
    Field("ndcg_threshold", Float(min=0, max=1), default=0.9,
          doc="feature_attribution_drift: alarm when the NDCG of the live attribution ranking against the "
              "baseline's is below this [Clarify default 0.90]"),
], checks=(_monitor_check,), doc="one monitoring schedule")


def _training_instance(raw: Any, path: str) -> str:
    types = facts.instance_types()
    if not isinstance(raw, str) or raw not in types:
        hint = suggest(raw, types) if isinstance(raw, str) else ""
        raise Invalid(f"must be an instance type from the catalog{hint}", raw)
    return raw


RETRAINING_SCHEMA = Schema("retraining", [
    Field("trigger", OneOf(("schedule", "data_quality_alarm", "model_quality_alarm")), default="schedule",
          doc="retrain every `every`, or when that monitor alarms (at most once per `every`)"),
    Field("every", Duration(min=0, min_open=True), default=7 * 86400.0, unit="s",
          doc="schedule: the period; alarm triggers: the least time between two retrainings"),
    Field("approach", OneOf(("full", "incremental")), default="full",
          doc="full: refit on the baseline training rows + every labelled request; incremental: partial_fit "
              "on requests labelled since the last retraining (models with partial_fit only)"),
    Field("training_time", Duration(), default=7200.0, unit="s",
          doc="training job duration: the new version serves this long after the retraining starts"),
    Field("instance_type", Any_(describe="an instance type from the catalog (simlab/data/instances.yaml)",
                                convert_fn=_training_instance), default="ml.m5.xlarge",
          doc="training instance; cost = its hourly price × instance_count × training_time"),
    Field("instance_count", Int(min=1), default=1, unit="instances", doc="training instances"),
    Field("data_window", Duration(min=0, min_open=True), default=None, unit="s",
          doc="use only requests made within this long before the retraining (default: all labelled requests)"),
    Field("update_baseline", Bool(), default=True,
          doc="after the switch, monitors compare against the new model's training data (as a pipeline's "
              "QualityCheck step registering a new baseline would)"),
], doc="retrain the real model on the labels that have arrived")

GROUND_TRUTH_SCHEMA = Schema("ground truth", [
    Field("delay", DistSpec(unit="", scale=1.0, allow_zero=True), unit="s",
          doc="time from a request to its label: a duration (`3d`) or a distribution spec of durations "
              "(`{dist: lognormal, mean: 3d, cv: 0.5}`)"),
    Field("coverage", Float(min=0, max=1), default=1.0,
          doc="share of requests whose label ever arrives (decided per request from stream `ground_truth.coverage`)"),
], doc="when the true labels of requests arrive")

MONITORING_FIELDS = [
    Field("data_capture", Nested(DATA_CAPTURE_SCHEMA), default=None,
          doc="DataCaptureConfig (docs/monitoring.md); needed by every monitor"),
    Field("monitors", ListOf(MONITOR_SCHEMA, min_len=1, max_len=len(MONITOR_TYPES)), default=None,
          doc="Model Monitor schedules, at most one per type (docs/monitoring.md)"),
    Field("retraining", Nested(RETRAINING_SCHEMA), default=None,
          doc="retrain and redeploy the model during the run (docs/monitoring.md)"),
]

GROUND_TRUTH_FIELD = Field("ground_truth", Nested(GROUND_TRUTH_SCHEMA), default=None,
                           doc="when request labels arrive (model_quality monitors and retraining need it)")


# -- whole-scenario checks ----------------------------------------------------------------------
def needs_monitoring(cfg: dict) -> bool:
    """Whether a validated scenario config uses drift, ground truth or any monitoring field."""
    return bool(cfg.get("ground_truth") or (cfg.get("workload") or {}).get("drift")
                or any(_uses(d) for d in cfg.get("deployments") or []))


def _uses(d: dict) -> bool:
    return any(d.get(k) for k in ("data_capture", "monitors", "retraining"))


@cache
def _models() -> dict[str, Any]:
    from simlab.zoo import list_models

    return {m.name: m for m in list_models()}


def _features(model: str) -> tuple[str, ...]:
    from simlab.zoo import dataset

    return dataset(model).feature_names


def _feature_problem(where: str, name: str, model: str) -> list[Problem]:
    names = _features(model)
    if name in names:
        return []
    return [Problem(where, f"must be a feature of {model}'s dataset{suggest(name, names)}", repr(name))]


def _drift_problems(events: list[dict], model: str) -> list[Problem]:
    problems = []
    for k, e in enumerate(events):
        where = f"workload.drift[{k}]"
        if e.get("feature") is not None:
            problems += _feature_problem(f"{where}.feature", e["feature"], model)
        concept = e.get("concept")
        if concept is None:
            continue
        info = _models()[model]
        if info.task == "regression":
            problems.append(Problem(f"{where}.concept", "needs a classifier", f"{model} is a regressor"))
            continue
        r = concept.get("relabel")
        if r is not None:
            problems += _feature_problem(f"{where}.concept.relabel.feature", r["feature"], model)
            if r["label"] not in info.classes:
                problems.append(Problem(f"{where}.concept.relabel.label", f"must be a class of {model}: "
                                        f"{', '.join(map(str, info.classes))}", str(r["label"])))
    return problems


def _variant_models(d: dict, model: str) -> list[str]:
    own = d.get("model") or model
    return [v.get("model") or own for v in d.get("variants") or []] or [own]


def _monitor_problems(where: str, m: dict, d: dict, task: str, model: str) -> list[Problem]:
    modes = (d.get("data_capture") or {}).get("modes") or []
    problems = [Problem(f"{where}.type", f"{m['type']} reads captured {mode}: add `{mode}` to data_capture.modes",
                        ", ".join(modes)) for mode in NEEDS_MODES[m["type"]] if d.get("data_capture") and mode not in modes]
    if m["type"] == "bias_drift":
        if task == "regression":
            problems.append(Problem(f"{where}.type", "bias_drift needs a classifier", f"{model} is a regressor"))
        if m.get("facet"):
            problems += _feature_problem(f"{where}.facet.feature", m["facet"]["feature"], model)
    if m.get("alarm") and m["alarm"]["metric"] not in METRICS[task]:
        problems.append(Problem(f"{where}.alarm.metric", f"must be a {task} metric: {', '.join(METRICS[task])}",
                                m["alarm"]["metric"]))
    return problems


def _deployment_problems(i: int, d: dict, cfg: dict) -> list[Problem]:
    where, monitors = f"deployments[{i}]", d.get("monitors") or []
    info = _models()[cfg["model"]]
    problems = []
    if monitors and not d.get("data_capture"):
        problems.append(Problem(f"{where}.monitors", "need data_capture (Model Monitor reads captured data)", "none"))
    types = [m["type"] for m in monitors]
    if len(set(types)) != len(types):
        problems.append(Problem(f"{where}.monitors", "at most one monitor per type", ", ".join(types)))
    for k, m in enumerate(monitors):
        problems += _monitor_problems(f"{where}.monitors[{k}]", m, d, info.task, cfg["model"])
    needs_labels = "model_quality" in types or d.get("retraining")
    if needs_labels and not cfg.get("ground_truth"):
        problems.append(Problem("ground_truth", "is required by model_quality monitors and retraining "
                                f"({d['name']})", "none"))
    return problems + _retraining_problems(where, d, cfg["model"])


def _retraining_problems(where: str, d: dict, model: str) -> list[Problem]:
    r = d.get("retraining")
    if not r:
        return []
    problems = []
    if r["approach"] == "incremental":
        for name in _variant_models(d, model):
            if not _models()[name].supports_partial_fit:
                problems.append(Problem(f"{where}.retraining.approach", "incremental needs a model with partial_fit "
                                        "(breast_cancer_sgd); use full", f"{name} has no partial_fit"))
    if r["trigger"] != "schedule":
        kind = r["trigger"].removesuffix("_alarm")
        if kind not in [m["type"] for m in d.get("monitors") or []]:
            problems.append(Problem(f"{where}.retraining.trigger", f"needs a {kind} monitor on this deployment",
                                    r["trigger"]))
    return problems


def scenario_problems(cfg: dict) -> list[Problem]:
    """Cross-field problems of a validated scenario config that need the model (feature names,
    problem type, partial_fit support). Empty when no monitoring feature is used."""
    if not needs_monitoring(cfg):
        return []
    problems = _drift_problems((cfg.get("workload") or {}).get("drift") or [], cfg["model"])
    for i, d in enumerate(cfg.get("deployments") or []):
        if _uses(d):
            problems += _deployment_problems(i, d, cfg)
    return list(dict.fromkeys(problems))  # one "ground_truth is required" is enough
