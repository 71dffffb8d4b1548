"""Scenario fields for endpoint updates, A/B weight changes, shadow variants and judges (as data).

Field names are the SageMaker API's in snake_case (shared/facts/rollouts.md, [SM] = botocore's
SageMaker model): ``UpdateEndpoint`` + ``DeploymentConfig`` for ``updates:``,
``UpdateEndpointWeightsAndCapacities`` for ``weight_changes:``, ``ShadowProductionVariants`` for
``shadow_variants:``; ``ab_test:`` (simlab's own) names the two variants of an A/B analysis. Every documented range is a field constraint or a check here, so a bad file
ends with exit code 2 and one line per problem (field path, what is allowed — naming the API
field — and what was given).

Two layers:

- the schemas (:data:`UPDATE_SCHEMA` …) check what one entry can check on its own;
- :func:`deployment_problems` checks what needs the deployment around it (instance count for
  INSTANCE_COUNT sizes, variant names, endpoint type, the top-level ``alarms:`` names).

The rollouts Feature (once the seam exists) returns :data:`DEPLOYMENT_FIELDS` from
``deployment_fields(type_id)`` for the types in :data:`UPDATE_TYPES` and calls
:func:`deployment_problems` from ``check``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from simlab import facts
from simlab.distributions import DistSpec
from simlab.errors import Problem, fmt_value
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
    "CAPACITY_SIZE_SCHEMA", "TRAFFIC_ROUTING_SCHEMA", "BLUE_GREEN_SCHEMA", "ROLLING_SCHEMA",
    "AUTO_ROLLBACK_SCHEMA", "DEPLOYMENT_CONFIG_SCHEMA", "FAULTS_SCHEMA", "ENDPOINT_CONFIG_SCHEMA",
    "JUDGE_SCHEMA", "UPDATE_SCHEMA", "WEIGHT_CHANGE_SCHEMA", "SHADOW_VARIANT_SCHEMA",
    "UPDATES_FIELD", "WEIGHT_CHANGES_FIELD", "SHADOW_VARIANTS_FIELD", "DEPLOYMENT_FIELDS",
    "UPDATE_TYPES", "SHADOW_TYPES", "deployment_problems", "policy_of", "traffic_steps",
    "batch_instances", "capacity_share", "check_scenario", "METRIC_PATTERN",
    "AB_TEST_SCHEMA", "AB_TEST_FIELD", "AB_METRICS",
]

@dataclass(frozen=True)
class ApiInt(Int):
    """An integer range that names the API field it comes from in every message."""

    api: str = ""

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"{super().describe} ({self.api})"


@dataclass(frozen=True)
class ApiFloat(Float):
    """A number range that names the API field it comes from in every message."""

    api: str = ""

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"{super().describe} ({self.api})"


#: types whose endpoints take ``updates:`` (guardrails: real-time and async [DG]; serverless
#: accepts an update but falls back to all-at-once)
UPDATE_TYPES = ("real_time_endpoint", "async_inference", "serverless_inference")
#: shadow variants exist on real-time endpoints only [SM CreateInferenceExperiment]
SHADOW_TYPES = ("real_time_endpoint",)
WAIT = ApiInt(min=0, max=3600, api="WaitIntervalInSeconds")  # [SM]
TERMINATION_WAIT = ApiInt(min=0, max=3600, api="TerminationWaitInSeconds")  # [SM]
MAX_EXECUTION = ApiInt(min=600, max=28800, api="MaximumExecutionTimeoutInSeconds")  # [SM]
NAME = Str(pattern=r"(?=.{1,63}$)[A-Za-z0-9](-*[A-Za-z0-9])*",
           describe="a name of at most 63 letters, digits and hyphens")

CAPACITY_SIZE_SCHEMA = Schema("capacity size", [
    Field("type", OneOf(("CAPACITY_PERCENT", "INSTANCE_COUNT")),
          doc="CapacitySize.Type: a share of the variant's instances, or a number of instances"),
    Field("value", ApiInt(min=1, api="CapacitySize.Value"), doc="CapacitySize.Value (≥ 1)"),
], doc="CapacitySize")


def _capacity(name: str, doc: str, *, required: bool = False) -> Field:
    return Field(name, Nested(CAPACITY_SIZE_SCHEMA), **({} if required else {"default": None}), doc=doc)


#: (field, API name, lowest %, highest %) of every CapacitySize with a documented range [SM]
PERCENT_RANGES = {
    "canary_size": ("CanarySize", 1, 50),
    "linear_step_size": ("LinearStepSize", 10, 50),
    "maximum_batch_size": ("MaximumBatchSize", 5, 50),
    "rollback_maximum_batch_size": ("RollbackMaximumBatchSize", 1, 100),
}


def _percent_check(cfg: dict, path: str, name: str) -> list[Problem]:
    size = cfg.get(name)
    api, lo, hi = PERCENT_RANGES[name]
    if size and size["type"] == "CAPACITY_PERCENT" and not lo <= size["value"] <= hi:
        return [Problem(f"{path}.{name}.value", f"must be {lo}–{hi} (% of the variant's instances; {api})",
                        str(size["value"]))]
    return []


def _routing_check(cfg: dict, path: str) -> list[Problem]:
    kind = cfg["type"]
    problems = []
    for name, needed_by in (("canary_size", "CANARY"), ("linear_step_size", "LINEAR")):
        if kind == needed_by and cfg.get(name) is None:
            problems.append(Problem(f"{path}.{name}", f"is required when type is {needed_by} "
                                    f"({PERCENT_RANGES[name][0]}: {{type, value}})"))
        elif kind != needed_by and cfg.get(name) is not None:
            problems.append(Problem(f"{path}.{name}", f"applies only to type {needed_by}", fmt_value(kind)))
        else:
            problems.extend(_percent_check(cfg, path, name))
    return problems


TRAFFIC_ROUTING_SCHEMA = Schema("traffic routing configuration", [
    Field("type", OneOf(("ALL_AT_ONCE", "CANARY", "LINEAR")),
          doc="TrafficRoutingConfig.Type: shift all traffic at once, a canary then the rest, or equal linear steps"),
    Field("wait_interval_in_seconds", WAIT, unit="s",
          doc="WaitIntervalInSeconds (0–3600, required): the bake after each shift, alarms watched"),
    _capacity("canary_size", "CanarySize (CANARY only): ≤ 50 % of the variant's instances"),
    _capacity("linear_step_size", "LinearStepSize (LINEAR only): 10–50 % of the variant's instances"),
], checks=(_routing_check,), doc="TrafficRoutingConfig")

BLUE_GREEN_SCHEMA = Schema("blue/green update policy", [
    Field("traffic_routing_configuration", Nested(TRAFFIC_ROUTING_SCHEMA), doc="TrafficRoutingConfiguration (required)"),
    Field("termination_wait_in_seconds", TERMINATION_WAIT, default=0, unit="s",
          doc="TerminationWaitInSeconds (0–3600, default 0): final bake before the old fleet is terminated"),
    Field("maximum_execution_timeout_in_seconds", MAX_EXECUTION, default=None, unit="s",
          doc="MaximumExecutionTimeoutInSeconds (600–28800; must exceed wait interval + termination wait); "
              "omitted: simlab applies no timeout"),
], doc="BlueGreenUpdatePolicy")


def _rolling_check(cfg: dict, path: str) -> list[Problem]:
    return (_percent_check(cfg, path, "maximum_batch_size")
            + _percent_check(cfg, path, "rollback_maximum_batch_size"))


ROLLING_SCHEMA = Schema("rolling update policy", [
    _capacity("maximum_batch_size", "MaximumBatchSize (required): 5–50 % of the variant's instances per batch",
              required=True),
    Field("wait_interval_in_seconds", WAIT, unit="s", doc="WaitIntervalInSeconds (0–3600, required): bake per batch"),
    Field("maximum_execution_timeout_in_seconds", MAX_EXECUTION, default=None, unit="s",
          doc="MaximumExecutionTimeoutInSeconds (600–28800; must exceed the wait interval)"),
    _capacity("rollback_maximum_batch_size",
              "RollbackMaximumBatchSize (default 100 %: the whole old fleet comes back at once)"),
], checks=(_rolling_check,), doc="RollingUpdatePolicy")

ALARM_REF_SCHEMA = Schema("alarm", [
    Field("alarm_name", Str(), doc="AlarmName of an alarm in the scenario's top-level `alarms:`"),
])

AUTO_ROLLBACK_SCHEMA = Schema("auto rollback configuration", [
    Field("alarms", ListOf(ALARM_REF_SCHEMA, min_len=1, max_len=10),  # AutoRollbackConfig.Alarms: 1–10 [SM]
          doc="Alarms (1–10): any of them in ALARM during a bake rolls the update back"),
], doc="AutoRollbackConfiguration")


def _one_policy(cfg: dict, path: str) -> list[Problem]:
    if cfg.get("blue_green_update_policy") is not None and cfg.get("rolling_update_policy") is not None:
        return [Problem(path, "give one of blue_green_update_policy or rolling_update_policy (DeploymentConfig)", "both")]
    return []


DEPLOYMENT_CONFIG_SCHEMA = Schema("deployment config", [
    Field("blue_green_update_policy", Nested(BLUE_GREEN_SCHEMA), default=None, doc="BlueGreenUpdatePolicy"),
    Field("rolling_update_policy", Nested(ROLLING_SCHEMA), default=None, doc="RollingUpdatePolicy"),
    Field("auto_rollback_configuration", Nested(AUTO_ROLLBACK_SCHEMA), default=None,
          doc="AutoRollbackConfiguration; without alarms nothing rolls back automatically"),
], checks=(_one_policy,), doc="DeploymentConfig; omitted = blue/green ALL_AT_ONCE, as SageMaker")

FAULTS_SCHEMA = Schema("faults", [
    Field("error_rate", Float(min=0, max=1), default=0.0, doc="share of requests the new fleet fails (HTTP 5xx ModelError)"),
    Field("latency_multiplier", Float(min=0, min_open=True), default=1.0, doc="the new fleet's service times × this"),
    Field("startup_failure", Bool(), default=False, doc="the new fleet never comes into service: the update fails"),
], doc="injected regressions of the new fleet [simlab]")


def _instance_type(raw: Any, path: str) -> str:
    types = facts.instance_types()
    if not isinstance(raw, str) or raw not in types:
        raise Invalid(f"must be an instance type from the catalog{suggest(raw, types) if isinstance(raw, str) else ''}", raw)
    return raw


INSTANCE_TYPE = Any_(describe="an instance type from the catalog (simlab/data/instances.yaml)", convert_fn=_instance_type)
SERVICE_TIME = DistSpec(unit="ms", scale=0.001, allow_profile=True)

ENDPOINT_CONFIG_SCHEMA = Schema("endpoint config", [
    Field("model", Str(), default=None, doc="bundled model id of the new production variant (default: unchanged)"),
    Field("variant_name", NAME, default=None,
          doc="the production variant replaced (the new config keeps its name; default: the first variant)"),
    Field("instance_type", INSTANCE_TYPE, default=None, doc="default: unchanged"),
    Field("instance_count", Int(min=1), default=None, unit="instances", doc="default: unchanged"),
    Field("service_time", SERVICE_TIME, default=None, unit="ms", doc="default: unchanged"),
    Field("faults", Nested(FAULTS_SCHEMA), default=None, doc="injected regressions {error_rate, latency_multiplier, startup_failure}"),
], doc="the new EndpointConfig's production variant")

JUDGE_TYPES = ("threshold", "mann_whitney", "sequential", "z_test")
#: metric names a judge reads (owned here so loading a scenario does not import the statistics)
METRIC_PATTERN = r"error_rate|success_rate|latency_mean|latency_p\d{1,2}(\.\d)?"
METRIC = Str(pattern=METRIC_PATTERN, describe="error_rate | success_rate | latency_mean | latency_pNN")

METRIC_SPEC_SCHEMA = Schema("judge metric", [
    Field("name", METRIC, doc="metric compared canary vs baseline"),
    Field("direction", OneOf(("increase", "decrease", "either")), default="increase", doc="which change fails"),
    Field("critical", Bool(), default=False, doc="a failure sets the score to 0 (Kayenta)"),
    Field("allowed_increase", Float(min=0), default=1.0, doc="effect-size gate: mean ratio canary/baseline for High"),
    Field("allowed_decrease", Float(min=0), default=1.0, doc="effect-size gate: mean ratio for Low"),
])

#: judge fields that only some judge types accept
JUDGE_APPLIES: dict[str, tuple[str, ...]] = {
    "max": ("threshold",), "min": ("threshold",), "failure_limit": ("threshold",), "no_data": ("threshold",),
    "min_requests": ("threshold",), "metrics": ("mann_whitney",), "confidence": ("mann_whitney",),
    "tolerance": ("mann_whitney",), "pass_threshold": ("mann_whitney",), "marginal_threshold": ("mann_whitney",),
    "baseline": ("mann_whitney",), "alpha": ("sequential", "z_test"), "n_star": ("sequential",), "theta0": ("sequential",),
}


def _judge_check(cfg: dict, path: str) -> list[Problem]:
    problems = [Problem(f"{path}.{f.name}", f"applies only to {' and '.join(JUDGE_APPLIES[f.name])} judges", fmt_value(cfg["type"]))
                for f in JUDGE_SCHEMA.fields
                if f.name in JUDGE_APPLIES and cfg["type"] not in JUDGE_APPLIES[f.name] and cfg.get(f.name) != f.default]
    kind = cfg["type"]
    if kind == "threshold" and cfg.get("max") is None and cfg.get("min") is None:
        problems.append(Problem(f"{path}.max", "a threshold judge needs max and/or min"))
    if kind in ("threshold", "sequential", "z_test") and cfg.get("metric") is None:
        problems.append(Problem(f"{path}.metric", f"is required for a {kind} judge"))
    if kind == "sequential" and cfg.get("metric") not in (None, "error_rate", "latency_mean"):
        problems.append(Problem(f"{path}.metric", "must be error_rate or latency_mean for a sequential judge", fmt_value(cfg["metric"])))
    if kind == "z_test" and cfg.get("metric") not in (None, "error_rate"):
        problems.append(Problem(f"{path}.metric", "must be error_rate for a z_test judge", fmt_value(cfg["metric"])))
    if kind == "mann_whitney" and not cfg.get("metrics"):
        problems.append(Problem(f"{path}.metrics", "a mann_whitney judge needs at least one metric"))
    if kind == "mann_whitney" and cfg["marginal_threshold"] > cfg["pass_threshold"]:
        problems.append(Problem(f"{path}.marginal_threshold", f"must be ≤ pass_threshold ({cfg['pass_threshold']:g})",
                                f"{cfg['marginal_threshold']:g}"))
    return problems


JUDGE_SCHEMA = Schema("judge", [
    Field("type", OneOf(JUDGE_TYPES), doc="threshold (Flagger/Argo), mann_whitney (Kayenta), sequential (mSPRT) "
          "or z_test (one fixed-horizon test at the first look: the power planner's)"),
    Field("metric", METRIC, default=None, doc="threshold, sequential and z_test: the metric judged"),
    Field("interval", Duration(min=60), default=60.0, unit="s", doc="analysis interval (Flagger's default 60 s)"),
    Field("max", Float(), default=None, doc="threshold: the canary metric must stay ≤ this"),
    Field("min", Float(), default=None, doc="threshold: the canary metric must stay ≥ this"),
    Field("failure_limit", Int(min=0), default=0, doc="threshold: failed checks tolerated before rollback (Argo failureLimit)"),
    Field("no_data", OneOf(("fail", "pause", "ignore")), default="fail",
          doc="threshold: an interval below min_requests counts as a failure (Flagger), pauses, or is ignored"),
    Field("min_requests", Int(min=1), default=1, unit="requests", doc="threshold: fewer canary requests = no data"),
    Field("metrics", ListOf(METRIC_SPEC_SCHEMA, min_len=1), default=None, doc="mann_whitney: metrics scored"),
    Field("confidence", Float(min=0, max=1, min_open=True), default=0.98, doc="mann_whitney: interval level (Kayenta 98 %)"),
    Field("tolerance", Float(min=0), default=0.25, doc="mann_whitney: interval must clear tolerance·|HL|"),
    Field("pass_threshold", Float(min=0, max=100), default=95.0, doc="mann_whitney: score for pass"),
    Field("marginal_threshold", Float(min=0, max=100), default=75.0, doc="mann_whitney: score for marginal"),
    Field("baseline", OneOf(("old", "fresh")), default="old",
          doc="mann_whitney: compare with the old fleet, or a fresh baseline fleet of the canary's size (Kayenta's advice)"),
    Field("alpha", Float(min=0, max=1, min_open=True), default=0.05,
          doc="sequential: level of the always-valid test; z_test: level of the one-sided test"),
    Field("n_star", Float(min=1), default=5000.0, doc="sequential: GrowthBook's N* tuning of the mixing variance"),
    Field("theta0", Float(min=0), default=0.0, doc="sequential: tolerated degradation (canary − baseline)"),
], checks=(_judge_check,), doc="a canary-vs-baseline judge run while the update bakes [simlab]")

REGRESSION_SCHEMA = Schema("regression to catch", [
    Field("error_rate_increase_pp", Float(min=0, min_open=True), default=None, unit="pp",
          doc="percentage points of errors the plan must catch"),
    Field("p99_latency_increase_percent", Float(min=0, min_open=True), default=None, unit="%",
          doc="p99 latency increase the plan must catch"),
    Field("target_power", Float(min=0, max=1, min_open=True), default=0.8, doc="warn below this chance of catching it"),
], doc="power planning before the update starts [simlab]")

UPDATE_SCHEMA = Schema("update", [
    Field("at", Duration(), unit="s", doc="when UpdateEndpoint is called"),
    Field("endpoint_config", Nested(ENDPOINT_CONFIG_SCHEMA), doc="the new production variant (same variant name)"),
    Field("deployment_config", Nested(DEPLOYMENT_CONFIG_SCHEMA), default=None,
          doc="DeploymentConfig; omitted = blue/green ALL_AT_ONCE"),
    Field("judges", ListOf(JUDGE_SCHEMA), default=None, doc="canary-vs-baseline judges besides the alarms [simlab]"),
    Field("regression_to_catch", Nested(REGRESSION_SCHEMA), default=None, doc="power planning [simlab]"),
], doc="one UpdateEndpoint call")


def _desired_check(cfg: dict, path: str) -> list[Problem]:
    if cfg.get("desired_weight") is None and cfg.get("desired_instance_count") is None:
        return [Problem(path, "give desired_weight and/or desired_instance_count (DesiredWeightAndCapacity)")]
    return []


DESIRED_SCHEMA = Schema("desired weight and capacity", [
    Field("variant_name", NAME, doc="VariantName"),
    Field("desired_weight", ApiFloat(min=0, api="DesiredWeight"), default=None, doc="DesiredWeight (≥ 0); share = weight / Σ weights"),
    Field("desired_instance_count", ApiInt(min=0, api="DesiredInstanceCount"), default=None, unit="instances", doc="DesiredInstanceCount (≥ 0)"),
], checks=(_desired_check,), doc="DesiredWeightAndCapacity")

WEIGHT_CHANGE_SCHEMA = Schema("weight change", [
    Field("at", Duration(), unit="s", doc="when UpdateEndpointWeightsAndCapacities is called"),
    Field("desired_weights_and_capacities", ListOf(DESIRED_SCHEMA, min_len=1),
          doc="DesiredWeightsAndCapacities: in place, no guardrails"),
], doc="UpdateEndpointWeightsAndCapacities at a time")

SHADOW_VARIANT_SCHEMA = Schema("shadow variant", [
    Field("variant_name", NAME, doc="ShadowModelVariantName"),
    Field("model", Str(), doc="bundled model id the shadow serves"),
    Field("instance_type", INSTANCE_TYPE, default=None, doc="default: the production variant's"),
    Field("instance_count", Int(min=1), default=None, unit="instances", doc="default: the production variant's"),
    Field("service_time", SERVICE_TIME, default=None, unit="ms", doc="default: the production variant's"),
    Field("sampling_percentage", ApiInt(min=1, max=100, api="SamplingPercentage"), default=100, unit="%",
          doc="SamplingPercentage (≤ 100): share of production requests copied to the shadow"),
    Field("start", Duration(), default=0.0, unit="s", doc="Schedule.StartTime"),
    Field("promote_at", Duration(), default=None, unit="s",
          doc="StopInferenceExperiment with Promote at this time (default: never)"),
], doc="ShadowProductionVariants / a ShadowMode inference experiment")

UPDATES_FIELD = Field("updates", ListOf(UPDATE_SCHEMA), default=None,
                      doc="UpdateEndpoint calls with deployment guardrails (see docs/rollouts.md)")
WEIGHT_CHANGES_FIELD = Field("weight_changes", ListOf(WEIGHT_CHANGE_SCHEMA), default=None,
                             doc="UpdateEndpointWeightsAndCapacities calls on the clock (A/B tests)")
SHADOW_VARIANTS_FIELD = Field("shadow_variants", ListOf(SHADOW_VARIANT_SCHEMA, min_len=1, max_len=1), default=None,
                              doc="ShadowProductionVariants: exactly one shadow variant")
#: metrics of an A/B test: (name, which direction is better)
AB_METRICS = {"error_rate": "lower", "accuracy": "higher", "latency_mean": "lower"}

AB_MDE_SCHEMA = Schema("minimum detectable effect", [
    Field("error_rate_pp", Float(min=0, max=100, min_open=True), default=None, unit="pp",
          doc="rise of the error rate, in percentage points, the test must detect"),
    Field("accuracy_pp", Float(min=0, max=100, min_open=True), default=None, unit="pp",
          doc="drop of accuracy (over labelled requests), in percentage points"),
    Field("latency_mean_percent", Float(min=0, min_open=True), default=None, unit="%",
          doc="rise of the mean latency of successful requests, in % of the control's"),
], doc="the effects the sample size per arm is planned for [simlab]")

AB_TEST_SCHEMA = Schema("A/B test", [
    Field("control", NAME, doc="production variant that is the control (arm a)"),
    Field("treatment", NAME, doc="production variant that is the treatment (arm b); effects are treatment − control"),
    Field("metric", OneOf(tuple(AB_METRICS)), default="error_rate",
          doc="primary metric: the winner (and auto_promote) follow its sequential test"),
    Field("alpha", Float(min=0, max=1, min_open=True), default=0.05, doc="level of every test (two-sided)"),
    Field("power", Float(min=0, max=1, min_open=True), default=0.8, doc="power the sample size is planned for"),
    Field("minimum_detectable_effect", Nested(AB_MDE_SCHEMA), default=None,
          doc="effects the sample size per arm is planned for (the fixed-horizon test looks once, there)"),
    Field("start", Duration(), default=0.0, unit="s", doc="requests arriving from here on are analysed"),
    Field("end", Duration(min=0, min_open=True), default=None, unit="s",
          doc="… until here (default: the end of the run)"),
    Field("looks_every", Duration(min=60), default=600.0, unit="s",
          doc="the analyst looks every this long after start (peeking z test and mSPRT)"),
    Field("n_star", Float(min=1), default=5000.0, doc="GrowthBook's N* tuning of the mSPRT mixing variance"),
    Field("auto_promote", Bool(), default=False,
          doc="when the primary metric's mSPRT declares a winner, set its weight to 1 and the loser's to 0 "
              "(UpdateEndpointWeightsAndCapacities) at that look"),
], doc="an A/B test between two production variants, analysed in the run's summary [simlab]")

AB_TEST_FIELD = Field("ab_test", Nested(AB_TEST_SCHEMA), default=None,
                      doc="analyse two production variants as an A/B test (docs/rollouts.md)")


def _ab_test_problems(dep: dict, path: str, variants: list[dict], duration: float | None) -> list[Problem]:
    """An ``ab_test`` needs two production variants it names, a non-empty window, α and power < 1."""
    ab = dep.get("ab_test")
    if not ab:
        return []
    where = f"{path}.ab_test"
    names = [v["name"] for v in variants]
    if not dep.get("variants") or len(names) < 2:
        return [Problem(where, "needs at least two production variants (`variants:`)", f"{len(names)} variant(s)")]
    problems = [Problem(f"{where}.{role}", f"must name a production variant ({', '.join(names)})"
                        f"{suggest(ab[role], names)}", repr(ab[role]))
                for role in ("control", "treatment") if ab[role] not in names]
    if not problems and ab["control"] == ab["treatment"]:
        problems.append(Problem(f"{where}.treatment", "must differ from control", repr(ab["treatment"])))
    for key in ("alpha", "power"):
        if not ab[key] < 1:
            problems.append(Problem(f"{where}.{key}", "must be a number in (0, 1)", f"{ab[key]:g}"))
    end = ab.get("end") if ab.get("end") is not None else duration
    if end is not None and not ab["start"] < end:
        problems.append(Problem(f"{where}.start", f"must be before end ({end:g} s)", f"{ab['start']:g}"))
    late = [i for i, c in enumerate(dep.get("weight_changes") or []) if c["at"] >= ab["start"]]
    if ab["auto_promote"] and late:
        problems.append(Problem(f"{where}.auto_promote", "cannot be combined with weight_changes at or after the "
                                f"test's start ({ab['start']:g} s): they would override the promotion",
                                f"weight_changes[{late[0]}]"))
    if duration is not None and ab.get("end") is not None and ab["end"] > duration:
        problems.append(Problem(f"{where}.end", f"must be ≤ the run's duration ({duration:g} s)", f"{ab['end']:g}"))
    return problems


DEPLOYMENT_FIELDS = {"real_time_endpoint": [UPDATES_FIELD, WEIGHT_CHANGES_FIELD, SHADOW_VARIANTS_FIELD, AB_TEST_FIELD],
                     "async_inference": [UPDATES_FIELD],
                     "serverless_inference": [UPDATES_FIELD]}


# -- derived quantities (shared with the controller) -------------------------------------------------
def policy_of(update: dict) -> str:
    """ALL_AT_ONCE | CANARY | LINEAR | ROLLING for a validated update (omitted config: ALL_AT_ONCE)."""
    dc = update.get("deployment_config") or {}
    if dc.get("rolling_update_policy"):
        return "ROLLING"
    bg = dc.get("blue_green_update_policy")
    return bg["traffic_routing_configuration"]["type"] if bg else "ALL_AT_ONCE"


def capacity_share(size: dict, instances: int) -> float:
    """A CapacitySize as a share of the variant's capacity: value/100, or value/instances."""
    return size["value"] / 100 if size["type"] == "CAPACITY_PERCENT" else size["value"] / instances


def batch_instances(size: dict | None, instances: int) -> int:
    """Instances in one rolling batch: INSTANCE_COUNT as given, CAPACITY_PERCENT ⌊p·N/100⌋ but ≥ 1
    (a *maximum* batch size: simlab rounds down [simlab]); None = the whole fleet (100 %)."""
    if size is None:
        return instances
    n = size["value"] if size["type"] == "INSTANCE_COUNT" else math.floor(size["value"] * instances / 100)
    return max(1, min(instances, n))


def traffic_steps(routing: dict, instances: int) -> list[float]:
    """Shares of the variant's traffic on the new fleet after each shift (last is 1.0)."""
    kind = routing["type"]
    if kind == "ALL_AT_ONCE":
        return [1.0]
    if kind == "CANARY":
        return [capacity_share(routing["canary_size"], instances), 1.0]
    size = routing["linear_step_size"]
    num, den = (size["value"], 100) if size["type"] == "CAPACITY_PERCENT" else (size["value"], instances)
    steps = math.ceil(den / num)
    return [min(1.0, k * num / den) for k in range(1, steps + 1)]


# -- checks that need the deployment ---------------------------------------------------------------
def _count_range(problems: list[Problem], size: dict | None, where: str, name: str, instances: int) -> None:
    if not size or size["type"] != "INSTANCE_COUNT":
        return
    api, lo, hi = PERCENT_RANGES[name]
    share = size["value"] / instances
    if not lo / 100 <= share <= hi / 100:
        problems.append(Problem(f"{where}.{name}.value", f"must be {lo}–{hi} % of the variant's {instances} instances "
                                f"({math.ceil(lo * instances / 100)}–{math.floor(hi * instances / 100)}; {api})",
                                str(size["value"])))


def _update_problems(u: dict, path: str, dep: dict, variants: list[dict], alarm_names: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    ec = u["endpoint_config"]
    name = ec.get("variant_name") or variants[0]["name"]
    by_name = {v["name"]: v for v in variants}
    if name not in by_name:
        problems.append(Problem(f"{path}.endpoint_config.variant_name",
                                f"must name a production variant ({', '.join(by_name)}){suggest(name, by_name)}", repr(name)))
        return problems
    instances = ec.get("instance_count") or by_name[name].get("instance_count") or dep.get("instance_count") or 1
    dc = u.get("deployment_config") or {}
    dtype = dep.get("type")
    rolling, bg = dc.get("rolling_update_policy"), dc.get("blue_green_update_policy")
    where = f"{path}.deployment_config"
    if rolling:
        if dtype == "serverless_inference":
            problems.append(Problem(f"{where}.rolling_update_policy",
                                    "is not supported on serverless endpoints (RollingUpdatePolicy)", fmt_value(dtype)))
        if len(variants) > 1:
            problems.append(Problem(f"{where}.rolling_update_policy",
                                    "is not supported on multi-variant endpoints (RollingUpdatePolicy)",
                                    f"{len(variants)} variants"))
        rw = f"{where}.rolling_update_policy"
        _count_range(problems, rolling["maximum_batch_size"], rw, "maximum_batch_size", instances)
        _count_range(problems, rolling.get("rollback_maximum_batch_size"), rw, "rollback_maximum_batch_size", instances)
        total = rolling["wait_interval_in_seconds"]
        mx = rolling.get("maximum_execution_timeout_in_seconds")
        if mx is not None and not mx > total:
            problems.append(Problem(f"{rw}.maximum_execution_timeout_in_seconds",
                                    f"must exceed wait_interval_in_seconds ({total} s; MaximumExecutionTimeoutInSeconds)",
                                    str(mx)))
    if bg:
        bw = f"{where}.blue_green_update_policy"
        routing = bg["traffic_routing_configuration"]
        rw = f"{bw}.traffic_routing_configuration"
        _count_range(problems, routing.get("canary_size"), rw, "canary_size", instances)
        _count_range(problems, routing.get("linear_step_size"), rw, "linear_step_size", instances)
        total = routing["wait_interval_in_seconds"] + bg["termination_wait_in_seconds"]
        mx = bg.get("maximum_execution_timeout_in_seconds")
        if mx is not None and not mx > total:
            problems.append(Problem(f"{bw}.maximum_execution_timeout_in_seconds",
                                    f"must exceed wait_interval_in_seconds + termination_wait_in_seconds ({total} s; "
                                    "MaximumExecutionTimeoutInSeconds)", str(mx)))
    auto = dc.get("auto_rollback_configuration")
    if auto and alarm_names is not None:
        for i, a in enumerate(auto["alarms"]):
            if a["alarm_name"] not in alarm_names:
                known = ", ".join(sorted(alarm_names)) or "none defined"
                problems.append(Problem(f"{where}.auto_rollback_configuration.alarms[{i}].alarm_name",
                                        f"must name an alarm of the top-level `alarms:` ({known})"
                                        f"{suggest(a['alarm_name'], alarm_names)}", repr(a["alarm_name"])))
    return problems


def deployment_problems(dep: dict, path: str, *, alarm_names: set[str] | None = None,
                        duration: float | None = None) -> list[Problem]:
    """Checks of ``updates``, ``weight_changes`` and ``shadow_variants`` against their deployment.

    ``dep`` is the validated deployment mapping (``type``, ``instance_count``, ``variants`` …);
    ``alarm_names`` the names of the scenario's top-level ``alarms:`` (None: not checked);
    ``duration`` the run's (s; None: an ``ab_test`` window is not checked against it).
    Returns one :class:`Problem` per rule broken.
    """
    problems: list[Problem] = []
    dtype = dep.get("type")
    variants = dep.get("variants") or [{"name": "AllTraffic", "weight": 1.0, "instance_count": dep.get("instance_count")}]
    if dep.get("updates"):
        if dtype not in UPDATE_TYPES:
            problems.append(Problem(f"{path}.updates", f"applies only to {' | '.join(UPDATE_TYPES)} (UpdateEndpoint "
                                    "with a DeploymentConfig)", fmt_value(dtype)))
        else:
            for i, u in enumerate(dep["updates"]):
                problems.extend(_update_problems(u, f"{path}.updates[{i}]", dep, variants, alarm_names))
    weights = {v["name"]: v.get("weight", 1.0) for v in variants}
    for i, change in enumerate(dep.get("weight_changes") or []):
        for j, d in enumerate(change["desired_weights_and_capacities"]):
            if d["variant_name"] not in weights:
                problems.append(Problem(f"{path}.weight_changes[{i}].desired_weights_and_capacities[{j}].variant_name",
                                        f"must name a production variant ({', '.join(weights)})"
                                        f"{suggest(d['variant_name'], weights)}", repr(d["variant_name"])))
            elif d.get("desired_weight") is not None:
                weights[d["variant_name"]] = d["desired_weight"]
        if sum(weights.values()) <= 0:
            problems.append(Problem(f"{path}.weight_changes[{i}]", "must leave at least one variant weight > 0 "
                                    "(DesiredWeight)", "all 0"))
    shadows = dep.get("shadow_variants")
    if shadows:
        if dtype not in SHADOW_TYPES:
            problems.append(Problem(f"{path}.shadow_variants", "applies only to real_time_endpoint "
                                    "(ShadowProductionVariants)", fmt_value(dtype)))
        if len(variants) != 1:
            problems.append(Problem(f"{path}.shadow_variants", "needs exactly one production variant "
                                    "(ShadowProductionVariants: one production and one shadow)", f"{len(variants)} variants"))
        if shadows[0]["variant_name"] in weights:
            problems.append(Problem(f"{path}.shadow_variants[0].variant_name", "must differ from the production "
                                    "variant names", repr(shadows[0]["variant_name"])))
    problems.extend(_ab_test_problems(dep, path, variants, duration))
    return problems


def check_scenario(scenario: dict) -> list[Problem]:
    """Deployment-level checks of every deployment (the Feature's ``check``); alarm names come from
    the top-level ``alarms:`` list (``alarm_name`` of each entry)."""
    names = {a.get("alarm_name") for a in scenario.get("alarms") or [] if isinstance(a, dict)}
    out: list[Problem] = []
    for i, dep in enumerate(scenario.get("deployments") or []):
        out.extend(deployment_problems(dep, f"deployments[{i}]", alarm_names=names, duration=scenario.get("duration")))
    return out
