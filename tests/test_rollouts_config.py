"""Every documented range and rule of the update fields, one at a time (field path, range, API name)."""

from __future__ import annotations

import copy

import pytest
from rollout_fakes import CANARY, ROLLING

from simlab.errors import ScenarioError
from simlab.rollouts import config as rc
from simlab.schema import Schema

DEPLOYMENT = Schema("test deployment", [*rc.DEPLOYMENT_FIELDS["real_time_endpoint"]])


def problems(updates=None, *, instance_count=4, variants=None, dtype="real_time_endpoint", alarms=("api-5xx",),
             **extra) -> list[str]:
    """Validate like the loader will: the fields' schemas, then the deployment-level checks."""
    raw = {k: v for k, v in {"updates": updates, **extra}.items() if v is not None}
    found: list = []
    out = DEPLOYMENT.validate(raw, "deployments[0]", found)
    if not found:
        dep = {"type": dtype, "instance_count": instance_count, "variants": variants, **out}
        found = rc.deployment_problems(dep, "deployments[0]", alarm_names=set(alarms))
    return [p.message() for p in found]


def with_(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the dotted ``path`` set (None deletes it)."""
    out = copy.deepcopy(base)
    *head, last = path.split(".")
    node = out
    for key in head:
        node = node[key]
    if value is None:
        node.pop(last)
    else:
        node[last] = value
    return out


BG = "deployment_config.blue_green_update_policy"
TR = f"{BG}.traffic_routing_configuration"
RP = "deployment_config.rolling_update_policy"
PREFIX = "deployments[0].updates[0]."


def test_the_issue_example_is_valid() -> None:
    assert problems([CANARY]) == []
    assert problems([ROLLING]) == []
    assert problems([{"at": 0, "endpoint_config": {}}]) == []  # omitted config = ALL_AT_ONCE


@pytest.mark.parametrize("value, ok", [(50, True), (51, False), (1, True)])
def test_canary_percent_at_most_50(value: int, ok: bool) -> None:
    got = problems([with_(CANARY, f"{TR}.canary_size.value", value)])
    assert got == [] if ok else got == [f"{PREFIX}{TR}.canary_size.value: must be 1–50 (% of the variant's "
                                        f"instances; CanarySize), got {value}"]


@pytest.mark.parametrize("count, instances, ok", [(2, 4, True), (3, 4, False), (1, 1, False)])
def test_canary_instance_count_at_most_half(count: int, instances: int, ok: bool) -> None:
    got = problems([with_(CANARY, f"{TR}.canary_size", {"type": "INSTANCE_COUNT", "value": count})],
                   instance_count=instances)
    assert (got == []) == ok
    if not ok:
        assert got[0].startswith(f"{PREFIX}{TR}.canary_size.value: must be 1–50 % of the variant's {instances} instances")
        assert "CanarySize" in got[0]


def _linear(size: dict) -> dict:
    u = with_(CANARY, f"{TR}.type", "LINEAR")
    u = with_(u, f"{TR}.canary_size", None)
    return with_(u, f"{TR}.linear_step_size", size)


@pytest.mark.parametrize("value, ok", [(9, False), (10, True), (50, True), (51, False)])
def test_linear_step_10_to_50_percent(value: int, ok: bool) -> None:
    got = problems([_linear({"type": "CAPACITY_PERCENT", "value": value})])
    assert (got == []) == ok
    if not ok:
        assert got == [f"{PREFIX}{TR}.linear_step_size.value: must be 10–50 (% of the variant's instances; "
                       f"LinearStepSize), got {value}"]


def test_linear_step_in_instances_against_the_fleet() -> None:
    assert problems([_linear({"type": "INSTANCE_COUNT", "value": 1})], instance_count=10) == []
    assert "LinearStepSize" in problems([_linear({"type": "INSTANCE_COUNT", "value": 1})], instance_count=20)[0]


def test_size_required_by_and_only_for_its_type() -> None:
    got = problems([with_(CANARY, f"{TR}.canary_size", None)])
    assert got == [f"{PREFIX}{TR}.canary_size: is required when type is CANARY (CanarySize: {{type, value}})"]
    got = problems([with_(CANARY, f"{TR}.linear_step_size", {"type": "CAPACITY_PERCENT", "value": 20})])
    assert got == [f"{PREFIX}{TR}.linear_step_size: applies only to type LINEAR, got 'CANARY'"]


@pytest.mark.parametrize("value, ok", [(4, False), (5, True), (50, True), (51, False)])
def test_rolling_batch_5_to_50_percent(value: int, ok: bool) -> None:
    got = problems([with_(ROLLING, f"{RP}.maximum_batch_size.value", value)])
    assert (got == []) == ok
    if not ok:
        assert got == [f"{PREFIX}{RP}.maximum_batch_size.value: must be 5–50 (% of the variant's instances; "
                       f"MaximumBatchSize), got {value}"]


@pytest.mark.parametrize("field, api", [(f"{TR}.wait_interval_in_seconds", "WaitIntervalInSeconds"),
                                        (f"{BG}.termination_wait_in_seconds", "TerminationWaitInSeconds"),
                                        (f"{RP}.wait_interval_in_seconds", "WaitIntervalInSeconds")])
@pytest.mark.parametrize("value, ok", [(-1, False), (0, True), (3600, True), (3601, False)])
def test_waits_0_to_3600(field: str, api: str, value: int, ok: bool) -> None:
    base = ROLLING if field.startswith(RP) else with_(CANARY, f"{BG}.maximum_execution_timeout_in_seconds", 28800)
    got = problems([with_(base, field, value)])
    assert (got == []) == ok
    if not ok:
        assert got == [f"{PREFIX}{field}: must be an integer ≥ 0 and ≤ 3600 ({api}), got {value}"]


@pytest.mark.parametrize("value, ok", [(599, False), (600, True), (28800, True), (28801, False)])
def test_max_execution_600_to_28800(value: int, ok: bool) -> None:
    u = with_(CANARY, f"{TR}.wait_interval_in_seconds", 0)
    u = with_(u, f"{BG}.termination_wait_in_seconds", 0)
    got = problems([with_(u, f"{BG}.maximum_execution_timeout_in_seconds", value)])
    assert (got == []) == ok
    if not ok:
        assert "(MaximumExecutionTimeoutInSeconds)" in got[0] and got[0].endswith(f"got {value}")


def test_max_execution_exceeds_the_sum_of_waits() -> None:
    u = with_(CANARY, f"{BG}.maximum_execution_timeout_in_seconds", 1200)  # = 600 + 600: not larger
    assert problems([u]) == [f"{PREFIX}{BG}.maximum_execution_timeout_in_seconds: must exceed wait_interval_in_seconds "
                             "+ termination_wait_in_seconds (1200 s; MaximumExecutionTimeoutInSeconds), got 1200"]
    assert problems([with_(u, f"{BG}.maximum_execution_timeout_in_seconds", 1201)]) == []
    r = with_(ROLLING, f"{RP}.wait_interval_in_seconds", 900)
    r = with_(r, f"{RP}.maximum_execution_timeout_in_seconds", 900)
    assert "must exceed wait_interval_in_seconds (900 s" in problems([r])[0]


def test_rolling_not_on_serverless_or_multi_variant() -> None:
    got = problems([ROLLING], dtype="serverless_inference")
    assert got == [f"{PREFIX}deployment_config.rolling_update_policy: is not supported on serverless endpoints "
                   "(RollingUpdatePolicy), got 'serverless_inference'"]
    two = [{"name": "A", "weight": 1.0, "instance_count": 4}, {"name": "B", "weight": 1.0, "instance_count": 4}]
    got = problems([ROLLING], variants=two)
    assert got == [f"{PREFIX}deployment_config.rolling_update_policy: is not supported on multi-variant endpoints "
                   "(RollingUpdatePolicy), got 2 variants"]
    assert problems([CANARY], variants=two) == []  # blue/green is fine on several variants


def test_alarm_names_must_exist() -> None:
    got = problems([CANARY], alarms=("api-5xx-errors", "latency"))
    assert got == [f"{PREFIX}deployment_config.auto_rollback_configuration.alarms[0].alarm_name: must name an alarm "
                   "of the top-level `alarms:` (api-5xx-errors, latency) (did you mean 'api-5xx-errors'?), got 'api-5xx'"]
    assert "none defined" in problems([CANARY], alarms=())[0]
    many = with_(CANARY, "deployment_config.auto_rollback_configuration.alarms", [{"alarm_name": "api-5xx"}] * 11)
    assert "a list of 1–10" in problems([many])[0]


def test_one_policy_only_and_updates_only_on_endpoints() -> None:
    both = copy.deepcopy(CANARY)
    both["deployment_config"]["rolling_update_policy"] = ROLLING["deployment_config"]["rolling_update_policy"]
    assert problems([both]) == [f"{PREFIX}deployment_config: give one of blue_green_update_policy or "
                                "rolling_update_policy (DeploymentConfig), got both"]
    assert "applies only to real_time_endpoint | async_inference" in problems([CANARY], dtype="batch_transform")[0]


def test_fault_ranges_and_unknown_fields() -> None:
    got = problems([with_(CANARY, "endpoint_config.faults.error_rate", 1.5)])
    assert got == [f"{PREFIX}endpoint_config.faults.error_rate: must be a number ≥ 0 and ≤ 1, got 1.5"]
    got = problems([with_(CANARY, "endpoint_config.instance_typ", "ml.m5.large")])
    assert "unknown field (did you mean 'instance_type'?)" in got[0]
    assert "instance type from the catalog" in problems([with_(CANARY, "endpoint_config.instance_type", "ml.m9.huge")])[0]


def test_variant_name_must_exist() -> None:
    got = problems([with_(CANARY, "endpoint_config.variant_name", "AllTrafic")])
    assert got == [f"{PREFIX}endpoint_config.variant_name: must name a production variant (AllTraffic) "
                   "(did you mean 'AllTraffic'?), got 'AllTrafic'"]


def test_judges() -> None:
    ok = {"type": "threshold", "metric": "error_rate", "max": 0.05, "no_data": "pause", "min_requests": 20}
    assert problems([with_(CANARY, "judges", [ok])]) == []
    bad = {"type": "threshold", "metric": "error_rate", "confidence": 0.9}
    got = problems([with_(CANARY, "judges", [bad])])
    assert got == [f"{PREFIX}judges[0].confidence: applies only to mann_whitney judges, got 'threshold'",
                   f"{PREFIX}judges[0].max: a threshold judge needs max and/or min"]
    mw = {"type": "mann_whitney", "metrics": [{"name": "latency_p99"}], "pass_threshold": 70}
    assert problems([with_(CANARY, "judges", [mw])]) == [
        f"{PREFIX}judges[0].marginal_threshold: must be ≤ pass_threshold (70), got 75"]
    seq = {"type": "sequential", "metric": "latency_p99"}
    assert "must be error_rate or latency_mean" in problems([with_(CANARY, "judges", [seq])])[0]


W = "deployments[0].weight_changes[0].desired_weights_and_capacities[0]"


def test_weight_changes() -> None:
    two = [{"name": "A", "weight": 1.0, "instance_count": 1}, {"name": "B", "weight": 1.0, "instance_count": 1}]
    change = {"at": "1h", "desired_weights_and_capacities": [{"variant_name": "B", "desired_weight": 3}]}
    assert problems(variants=two, weight_changes=[change]) == []
    bad = with_(change, "desired_weights_and_capacities", [{"variant_name": "C", "desired_weight": 1}])
    assert problems(variants=two, weight_changes=[bad])[0].startswith(f"{W}.variant_name: must name a production variant (A, B)")
    neg = with_(change, "desired_weights_and_capacities", [{"variant_name": "B", "desired_weight": -1}])
    assert problems(variants=two, weight_changes=[neg]) == [f"{W}.desired_weight: must be a number ≥ 0 (DesiredWeight), got -1"]
    empty = with_(change, "desired_weights_and_capacities", [{"variant_name": "B"}])
    assert problems(variants=two, weight_changes=[empty]) == [
        f"{W}: give desired_weight and/or desired_instance_count (DesiredWeightAndCapacity)"]
    zero = with_(change, "desired_weights_and_capacities", [{"variant_name": "A", "desired_weight": 0},
                                                            {"variant_name": "B", "desired_weight": 0}])
    assert "at least one variant weight > 0" in problems(variants=two, weight_changes=[zero])[0]


def test_shadow_variants() -> None:
    shadow = {"variant_name": "shadow", "model": "m", "sampling_percentage": 50}
    assert problems(shadow_variants=[shadow]) == []
    got = problems(shadow_variants=[with_(shadow, "sampling_percentage", 101)])
    assert got == ["deployments[0].shadow_variants[0].sampling_percentage: must be an integer ≥ 1 and ≤ 100 "
                   "(SamplingPercentage), got 101"]
    assert "a list of 1–1" in problems(shadow_variants=[shadow, shadow])[0]
    two = [{"name": "A", "weight": 1.0}, {"name": "B", "weight": 1.0}]
    assert "exactly one production variant" in problems(shadow_variants=[shadow], variants=two)[0]
    assert "applies only to real_time_endpoint" in problems(shadow_variants=[shadow], dtype="async_inference")[0]


def test_every_problem_is_one_error_line_naming_the_file() -> None:
    u = with_(CANARY, f"{TR}.canary_size.value", 75)
    u = with_(u, "endpoint_config.faults.error_rate", -1)
    found: list = []
    rc.UPDATE_SCHEMA.validate(u, "deployments[0].updates[0]", found)
    rc.UPDATE_SCHEMA.validate(with_(CANARY, f"{TR}.canary_size.value", 75), "deployments[0].updates[1]", found)
    lines = ScenarioError(found, "canary.yaml").lines()
    canary = f"{TR}.canary_size.value: must be 1–50 (% of the variant's instances; CanarySize), got 75"
    assert lines == [  # every problem at once, in file order
        "error: canary.yaml: deployments[0].updates[0].endpoint_config.faults.error_rate: must be a number ≥ 0 and ≤ 1, got -1",
        f"error: canary.yaml: deployments[0].updates[0].{canary}",
        f"error: canary.yaml: deployments[0].updates[1].{canary}"]


def test_derived_steps() -> None:
    routing = {"type": "LINEAR", "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 30}}
    assert rc.traffic_steps(routing, 10) == pytest.approx([0.3, 0.6, 0.9, 1.0])
    routing = {"type": "LINEAR", "linear_step_size": {"type": "INSTANCE_COUNT", "value": 2}}
    assert rc.traffic_steps(routing, 5) == pytest.approx([0.4, 0.8, 1.0])
    assert rc.traffic_steps({"type": "CANARY", "canary_size": {"type": "INSTANCE_COUNT", "value": 1}}, 4) == [0.25, 1.0]
    assert rc.batch_instances({"type": "CAPACITY_PERCENT", "value": 25}, 10) == 2
    assert rc.batch_instances({"type": "CAPACITY_PERCENT", "value": 5}, 10) == 1
    assert rc.batch_instances(None, 7) == 7
    assert rc.policy_of(CANARY) == "CANARY" and rc.policy_of(ROLLING) == "ROLLING"
    assert rc.policy_of({"endpoint_config": {}}) == "ALL_AT_ONCE"


def test_z_test_judge_fields() -> None:
    ok = {"type": "z_test", "metric": "error_rate", "alpha": 0.01, "interval": 600}
    assert problems([with_(CANARY, "judges", [ok])]) == []
    got = problems([with_(CANARY, "judges", [{"type": "z_test", "metric": "latency_mean", "n_star": 50}])])
    assert got == [f"{PREFIX}judges[0].n_star: applies only to sequential judges, got 'z_test'",
                   f"{PREFIX}judges[0].metric: must be error_rate for a z_test judge, got 'latency_mean'"]
