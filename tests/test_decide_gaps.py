"""Audit gaps of the decision engine, each on both sides of its boundary.

B2 a chain longer than one model allows rules out every option (batch transform too);
   within the limits, offline scoring is Batch Transform running the pipeline model.
B3 many models with a container chain: the multi-model endpoint's one shared container vs the
   chain, explained and picked deterministically.
B4/B6 options without a multi-model mode are estimated as one deployment per model.
B5 a latency SLO below the model's own time: diagnosed first, options still ranked.

Expected values come from the limits file and the cost model (``estimate_all`` on the per-model
workload), never from copied run output.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import simlab.facts as service_facts
from simlab.decide import ANSWERS, estimate_all, load_facts, load_rules, recommend
from simlab.decide.costmodel import SECONDS_PER_DAY, serverless_cold_share
from simlab.decide.render import scope_table_markdown
from simlab.decide.rules import _build
from simlab.errors import Problem

REPO = Path(__file__).resolve().parents[1]
OPTIONS = ANSWERS["deployment"]
MAX = service_facts.limit("serial_inference_pipeline.max_containers")
MIN = service_facts.limit("serial_inference_pipeline.min_containers")
OFFLINE = {"realtime": False, "records": 500_000, "requests_per_day": None, "traffic": "scheduled",
           "inference_seconds": 0.02, "payload_mb": 0.002}
WAITING = {"traffic": "steady", "requests_per_day": 100_000, "inference_seconds": 0.05,
           "payload_mb": 0.01}
NOT_MME = tuple(o for o in OPTIONS if o != "multi_model_endpoint")


def deployment(**over: Any) -> dict[str, Any]:
    base = {"question": "deployment", "requests_per_day": 20, "traffic": "intermittent",
            "payload_mb": 0.5, "inference_seconds": 1.5, "latency_slo_ms": None, "realtime": True,
            "cold_start_ok": True, "records": None, "models": 1, "containers": 1}
    return {**base, **over}


def _rule_ids(verdict) -> set[str]:
    return {r.id for r in verdict.against_rules}


def _text(rule_id: str, rec) -> str | None:
    """The rendered text of a rule among the recommendation's reasons (None if absent), found by
    the longest fixed part of its template."""
    rule = next(r for r in load_rules() if r.id == rule_id)
    key = max(re.split(r"\{[^}]*\}", " ".join(rule.explain.split())), key=len).strip()
    return next((r for r in rec.reasons if key in r), None)


# --------------------------------------------------------------------------- B2: container limit

CHAIN_CASES = [
    # id, overrides, expected recommendation
    ("waiting-1", {"containers": 1, **WAITING}, "real_time_endpoint"),
    ("waiting-min", {"containers": MIN, **WAITING}, "serial_inference_pipeline"),
    ("waiting-max", {"containers": MAX, **WAITING}, "serial_inference_pipeline"),
    ("waiting-max+1", {"containers": MAX + 1, **WAITING}, None),
    ("offline-1", {"containers": 1, **OFFLINE}, "batch_transform"),
    ("offline-min", {"containers": MIN, **OFFLINE}, "batch_transform"),
    ("offline-max", {"containers": MAX, **OFFLINE}, "batch_transform"),
    ("offline-max+1", {"containers": MAX + 1, **OFFLINE}, None),
    ("near-real-time-max+1", {"containers": MAX + 1, "realtime": False, "traffic": "spiky",
                              "requests_per_day": 5000}, None),
]


@pytest.mark.parametrize("over, expected", [c[1:] for c in CHAIN_CASES], ids=[c[0] for c in CHAIN_CASES])
def test_container_limit_applies_to_every_option(over: dict, expected: str | None) -> None:
    rec = recommend(deployment(**over))
    assert rec.recommendation == expected, rec.reasons
    too_long = over["containers"] > MAX
    assert ("pipeline_max_containers" in rec.fired) is too_long
    if not too_long:
        return
    citation = f"serial_inference_pipeline.max_containers = {MAX} containers"
    for option in OPTIONS:  # every option, batch transform included, by the hard limit citing it
        verdict = rec.verdicts[option]
        assert verdict.hard and "pipeline_max_containers" in _rule_ids(verdict), option
        assert f"at most {MAX}" in rec.ruled_out[option] and citation in rec.ruled_out[option]
    assert rec.estimates == {}
    said = " ".join(rec.reasons)
    assert rec.reasons[0].startswith("No option can serve this workload")
    assert "pipeline_max_containers]: every option" in rec.reasons[0]
    for advice in ("merge steps", "move pre-processing out", "Processing job", f"{MAX} containers or fewer"):
        assert advice in said, advice
    assert "usage fit" not in said


@pytest.mark.parametrize("containers", [1, MIN, MAX], ids=["1", "min", "max"])
def test_offline_scoring_runs_the_pipeline_in_batch_transform(containers: int) -> None:
    rec = recommend(deployment(containers=containers, **OFFLINE))
    assert rec.recommendation == "batch_transform"
    note = _text("batch_runs_the_pipeline", rec)
    chain = containers >= MIN
    assert (note is not None) is chain
    if chain:
        assert f"The {containers}-container chain" in note and f"{MIN} to {MAX} containers" in note
        # the always-on pipeline endpoint is ruled out for a dataset, like any endpoint
        assert "offline_dataset_no_endpoint" in _rule_ids(rec.verdicts["serial_inference_pipeline"])
    # a caller who waits: no batch note, whatever the chain
    waiting = recommend(deployment(containers=containers, traffic="steady"))
    assert _text("batch_runs_the_pipeline", waiting) is None


# --------------------------------------------------------------------------- B3: models × chain

MME_CHAIN_CASES = [
    # id, models, containers, expected, the multi-model/chain conflict applies
    ("10-models-no-chain", 10, 1, "multi_model_endpoint", False),
    ("1-model-chain", 1, MIN, "serial_inference_pipeline", False),
    ("10-models-chain-min", 10, MIN, "serial_inference_pipeline", True),
    ("10-models-chain-3", 10, 3, "serial_inference_pipeline", True),
    ("10-models-chain-max", 10, MAX, "serial_inference_pipeline", True),
]


@pytest.mark.parametrize("models, containers, expected, conflict", [c[1:] for c in MME_CHAIN_CASES],
                         ids=[c[0] for c in MME_CHAIN_CASES])
def test_many_models_with_a_chain(models: int, containers: int, expected: str, conflict: bool) -> None:
    facts = deployment(models=models, containers=containers, traffic="steady")
    rec = recommend(facts)
    assert rec.recommendation == expected, rec.reasons
    mme = rec.verdicts["multi_model_endpoint"]
    assert ("mme_one_container_per_model" in _rule_ids(mme)) is conflict
    note = _text("chain_with_many_models", rec)
    assert (note is not None) is conflict
    if conflict:
        assert not mme.hard, "a usage conflict the engine doesn't model, not a documented limit"
        why = rec.ruled_out["multi_model_endpoint"]
        assert "one shared model-server container" in why and "UNCONFIRMED" in why
        for option in ("multi_model_endpoint", "serial_inference_pipeline"):  # both costs, from the model
            assert f"{rec.estimates[option].monthly_cost_usd:,.2f} USD/month" in note
        assert "one serial inference pipeline per model" in note
        outputs = {json.dumps(recommend(facts).to_dict()) for _ in range(3)}
        assert len(outputs) == 1


# --------------------------------------------------------------------------- B4/B6: per-model estimates

WORKLOADS = {
    "requests": deployment(requests_per_day=20_000, traffic="steady", inference_seconds=0.2,
                           payload_mb=0.1),
    "sparse": deployment(requests_per_day=500, inference_seconds=0.5, payload_mb=0.1),
    "records": deployment(**OFFLINE),
}


def _one_model_share(facts: dict[str, Any], models: int) -> dict[str, Any]:
    share = dict(facts, models=1)
    for key in ("requests_per_day", "records"):
        if facts[key] is not None:
            share[key] = facts[key] / models
    return share


@pytest.mark.parametrize("models", [2, 50])
@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("option", NOT_MME)
def test_estimates_scale_with_models(option: str, workload: str, models: int) -> None:
    """An option without a multi-model mode is one deployment per model: N times the estimate of
    one model's deployment at 1/N of the traffic (cost, instances), and that deployment's p99."""
    facts = dict(WORKLOADS[workload], models=models)
    many = estimate_all(facts)[option]
    one = estimate_all(_one_model_share(facts, models))[option]
    assert many.monthly_cost_usd == pytest.approx(models * one.monthly_cost_usd, rel=1e-12)
    assert many.p99_latency_ms == pytest.approx(one.p99_latency_ms, rel=1e-12)
    assert many.instances == models * one.instances
    assert many.basis.startswith(f"{models} ") and f"1/{models} of the traffic" in many.basis


@pytest.mark.parametrize("workload", list(WORKLOADS))
def test_one_model_is_one_deployment_and_mme_is_one_fleet(workload: str) -> None:
    facts = WORKLOADS[workload]
    single = estimate_all(facts)
    assert not any("one per model" in e.basis for e in single.values())
    # the multi-model endpoint serves all models' traffic together on one fleet
    together = estimate_all(dict(facts, models=50))["multi_model_endpoint"]
    assert together.monthly_cost_usd == single["multi_model_endpoint"].monthly_cost_usd


@pytest.mark.parametrize("models", [1, 50])
def test_reasons_mention_the_models(models: int) -> None:
    """The audit's case: 50 models, 10 MB payloads, nobody waiting."""
    facts = deployment(models=models, payload_mb=10, realtime=False)
    rec = recommend(facts)
    chosen = rec.recommendation
    assert chosen in NOT_MME  # 10 MB is over the real-time payload limit: no multi-model endpoint
    note = _text("per_model_deployments", rec)
    assert (note is not None) is (models > 1)
    if models > 1:
        est = rec.estimates[chosen]
        one = estimate_all(_one_model_share(validated(facts), models))[chosen]
        assert est.monthly_cost_usd == pytest.approx(models * one.monthly_cost_usd, rel=1e-12)
        assert f"{models} models" in note and f"{est.monthly_cost_usd:,.2f} USD/month" in note


def validated(facts: dict[str, Any]) -> dict[str, Any]:
    from simlab.decide import validate_facts

    return validate_facts(facts)


@pytest.mark.parametrize("models", [1, 500])
def test_per_customer_serverless_is_n_endpoints(models: int) -> None:
    """B6: the serverless estimate and its ruled-out reason speak of the same N endpoints, each
    with the cold-start share of its own traffic."""
    facts = dict(load_facts(REPO / "scenarios" / "facts" / "per-customer-models.yaml"), models=models)
    rec = recommend(facts)
    est = rec.estimates["serverless_inference"]
    one = estimate_all(_one_model_share(facts, models))["serverless_inference"]
    assert est.monthly_cost_usd == pytest.approx(models * one.monthly_cost_usd, rel=1e-12)
    assert est.p99_latency_ms == pytest.approx(one.p99_latency_ms, rel=1e-12)
    rate = facts["requests_per_day"] / models / SECONDS_PER_DAY
    share = serverless_cold_share(rate, facts["inference_seconds"],
                                  service_facts.limit("serverless_inference.default_idle_timeout_s"))
    assert f"cold starts {share:.1%}" in est.basis or f"cold starts {share:.2%}" in est.basis
    reason = rec.ruled_out.get("serverless_inference", "")
    if models > 1:
        assert f"{models} separate serverless endpoints" in reason
        assert f"{models} serverless endpoints (one per model" in est.basis
    else:
        assert "one per model" not in est.basis and "separate serverless endpoints" not in reason


@pytest.mark.parametrize("models, per_endpoint_factor", [(1, 1.1), (1, 0.9), (2, 1.1), (2, 0.9)])
def test_serverless_concurrency_is_per_endpoint(models: int, per_endpoint_factor: float) -> None:
    """With one serverless endpoint per model, MaxConcurrency applies to each endpoint's share."""
    cap = service_facts.limit("serverless_inference.max_concurrency")
    seconds = 0.5
    volume = per_endpoint_factor * cap * models * SECONDS_PER_DAY / seconds
    rec = recommend(deployment(requests_per_day=volume, inference_seconds=seconds, models=models,
                               traffic="steady"))
    over = per_endpoint_factor > 1
    assert ("serverless_max_concurrency" in _rule_ids(rec.verdicts["serverless_inference"])) is over
    assert rec.verdicts["serverless_inference"].hard is over
    assert ("serverless_inference" in rec.estimates) is not over


# --------------------------------------------------------------------------- B5: SLO below model time

MODEL_S = 1.0


@pytest.mark.parametrize("slo_factor", [0.1, 0.999, 1.0, 1.5])
def test_slo_below_the_models_own_time(slo_factor: float) -> None:
    model_ms = MODEL_S * 1000
    slo = model_ms * slo_factor
    rec = recommend(deployment(latency_slo_ms=slo, inference_seconds=MODEL_S))
    below = slo < model_ms
    assert ("slo_below_model_time" in rec.fired) is below
    assert rec.recommendation is not None, "options are still ranked"
    if below:
        first = rec.reasons[0]
        assert first.startswith("No option can meet the latency SLO")
        assert f"{slo:,g} ms" in first and f"{model_ms:,g} ms" in first
        assert f"inference_seconds {MODEL_S:g}" in first
    else:
        assert not any(r.startswith("No option can meet the latency SLO") for r in rec.reasons)
    # every option is held to max(SLO, model time): ruled out by latency exactly when its p99 is above
    bound = max(slo, model_ms)
    estimates = estimate_all(deployment(latency_slo_ms=slo, inference_seconds=MODEL_S))
    for option, est in estimates.items():
        latency = {"latency_slo_missed", "latency_floor_missed"} & _rule_ids(rec.verdicts[option])
        assert bool(latency) is (est.p99_latency_ms > bound), (option, est.p99_latency_ms)
        if latency:
            assert latency == {"latency_floor_missed" if below else "latency_slo_missed"}
    # ranked as if the SLO were the model time itself
    at_floor = recommend(deployment(latency_slo_ms=model_ms, inference_seconds=MODEL_S))
    if below:
        assert rec.recommendation == at_floor.recommendation


# --------------------------------------------------------------------------- rules data, docs


def test_diagnose_rules_have_no_targets() -> None:
    raw = {"id": "x", "question": "deployment", "when": {"fact": "models", "op": ">", "value": 1},
           "effect": "diagnose", "targets": ["batch_transform"], "explain": "x", "source": "x"}
    problems: list[Problem] = []
    assert _build(raw, 0, problems) is None
    assert any("must be empty for effect diagnose" in p.allowed for p in problems)
    diagnoses = [r for r in load_rules() if r.effect == "diagnose"]
    assert diagnoses and all(not r.targets for r in diagnoses)


def test_docs_say_which_options_the_container_and_model_rules_apply_to() -> None:
    doc = (REPO / "docs" / "decisions.md").read_text(encoding="utf-8")
    table = scope_table_markdown()
    assert table in doc
    rows = {line.split(" | ")[0].strip("|` "): line for line in table.splitlines()[2:]}
    for rule in load_rules():
        reads = {"containers", "models"} & set(_facts_read(rule))
        assert (rule.id in rows) is (rule.question == "deployment" and bool(reads)), rule.id
    assert rows["pipeline_max_containers"].count("rules out (hard limit)") == len(OPTIONS)


def _facts_read(rule) -> list[str]:
    from simlab.decide.conditions import facts_used

    return facts_used(rule.when)
