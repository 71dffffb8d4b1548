"""The decision engine: boundaries on each side, rule data integrity, docs, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import simlab.facts as service_facts
from simlab.decide import (
    ANSWERS,
    crossover_requests_per_day,
    load_facts,
    load_rules,
    recommend,
    rules_table_markdown,
)
from simlab.decide.answers import LABELS
from simlab.decide.conditions import in_words
from simlab.decide.costmodel import (
    SECONDS_PER_DAY,
    async_scaling,
    cold_start_quantile_s,
    endpoint_size,
    estimate_all,
)
from simlab.decide.engine import derive
from simlab.decide.render import regenerate
from simlab.decide.rules import render
from simlab.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]
FACTS_DIR = REPO / "scenarios" / "facts"


def deployment(**over: Any) -> dict[str, Any]:
    """An intermittent, small-payload, fast deployment question (serverless territory)."""
    base = {"question": "deployment", "requests_per_day": 20, "traffic": "intermittent",
            "payload_mb": 0.5, "inference_seconds": 1.5, "latency_slo_ms": None, "realtime": True,
            "cold_start_ok": True, "records": None, "models": 1, "containers": 1}
    return {**base, **over}


def _crossover(**over: Any) -> float:
    facts = deployment(**over)
    return crossover_requests_per_day(facts["inference_seconds"], facts["payload_mb"])


# --------------------------------------------------------------------------- deployment boundaries

DEPLOYMENT_CASES = [
    # id, overrides, expected recommendation, {option: substring its ruled-out reason must hold}
    ("payload-3.9MB", {"payload_mb": 3.9}, "serverless_inference", {}),
    ("payload-4.1MB", {"payload_mb": 4.1}, "real_time_endpoint",
     {"serverless_inference": "above 4 MB"}),
    ("inference-59s", {"inference_seconds": 59}, "serverless_inference", {}),
    ("inference-61s", {"inference_seconds": 61}, "async_inference",
     {"serverless_inference": "after 60 s", "real_time_endpoint": "within 60 s"}),
    ("cold-start-ok", {"cold_start_ok": True}, "serverless_inference", {}),
    ("cold-start-not-ok", {"cold_start_ok": False}, "real_time_endpoint",
     {"serverless_inference": "cold start"}),
    ("models-1", {"models": 1}, "serverless_inference",
     {"multi_model_endpoint": "with 1 model"}),
    ("models-50", {"models": 50}, "multi_model_endpoint",
     {"serverless_inference": "can't be a multi-model endpoint"}),
    ("models-50-dissimilar", {"models": 50, "models_similar": False}, "real_time_endpoint",
     {"multi_model_endpoint": "similar resource needs"}),
    ("containers-1", {"containers": 1}, "serverless_inference",
     {"serial_inference_pipeline": "nothing to chain"}),
    ("containers-3", {"containers": 3, "traffic": "steady"}, "serial_inference_pipeline",
     {"real_time_endpoint": "3 containers"}),
    ("containers-16", {"containers": 16, "traffic": "steady"}, None,
     {o: "chains at most 15" for o in ANSWERS["deployment"]}),
    ("payload-7MB-realtime", {"payload_mb": 7, "traffic": "steady"}, "async_inference",
     {"real_time_endpoint": "6 MiB", "multi_model_endpoint": "6 MiB"}),
    ("payload-200MB-not-waiting", {"payload_mb": 200, "inference_seconds": 240, "realtime": False,
                                   "requests_per_day": 300, "traffic": "spiky"},
     "async_inference", {"real_time_endpoint": "within 60 s"}),
    ("payload-2GB", {"payload_mb": 2048, "realtime": False}, "batch_transform",
     {"async_inference": "at most 1 GB"}),
    ("processing-2h", {"inference_seconds": 7200, "realtime": False}, None,
     {"async_inference": "at most 3,600 s", "batch_transform": "at most 3,600 s"}),
    ("offline-dataset", {"records": 10_000_000, "requests_per_day": None, "realtime": False,
                         "traffic": "scheduled", "inference_seconds": 0.005, "payload_mb": 0.001},
     "batch_transform", {"real_time_endpoint": "always-on", "async_inference": "Batch Transform"}),
    ("near-real-time", {"realtime": False, "traffic": "spiky", "requests_per_day": 5000},
     "async_inference", {}),
    ("steady-api", {"traffic": "steady", "requests_per_day": 2_000_000, "inference_seconds": 0.02,
                    "payload_mb": 0.01, "latency_slo_ms": 100}, "real_time_endpoint", {}),
    ("slo-misses-cold-start", {"latency_slo_ms": 500, "inference_seconds": 0.1}, "real_time_endpoint",
     {"serverless_inference": "above the 500 ms SLO"}),
    ("serverless-concurrency", {"traffic": "steady", "requests_per_day": 100_000_000,
                                "inference_seconds": 0.5}, "real_time_endpoint",
     {"serverless_inference": "200 concurrent"}),
]


@pytest.mark.parametrize("over, expected, ruled", [c[1:] for c in DEPLOYMENT_CASES],
                         ids=[c[0] for c in DEPLOYMENT_CASES])
def test_deployment_boundaries(over: dict, expected: str | None, ruled: dict[str, str]) -> None:
    rec = recommend(deployment(**over))
    assert rec.recommendation == expected, rec.reasons
    for option, text in ruled.items():
        assert option in rec.ruled_out, f"{option} should be ruled out"
        assert text in rec.ruled_out[option]


def test_sparse_traffic_is_serverless_whatever_its_label() -> None:
    rec = recommend(deployment(requests_per_day=10, traffic="steady"))
    assert rec.recommendation == "serverless_inference"
    assert "sparse_traffic_serverless" in rec.fired and "steady_traffic_endpoint" in rec.fired


BRIEF_EXAMPLE = """\
question: deployment        # deployment | monitoring | rollout
# deployment
requests_per_day: 20        # average volume (≥ 0); omit for pure offline scoring
traffic: intermittent       # steady | spiky | intermittent | scheduled
payload_mb: 0.5             # typical request payload
inference_seconds: 1.5      # model time per request
latency_slo_ms: null        # required response time, null = not latency-sensitive
realtime: true              # the caller waits for the answer in the same request
cold_start_ok: true         # seconds of extra latency after idle periods are acceptable
records: null               # size of a dataset scored in one go (offline scoring)
models: 1                   # distinct models that must be served
containers: 1               # containers chained per request (pre-/post-processing)
# monitoring
concern: input_drift        # input_drift | accuracy | bias | feature_importance
labels: none                # none | delayed | immediate
label_delay_days: 3
# rollout
goal: reduce_risk           # reduce_risk | compare_models | instant_switch | no_user_impact | simplest | gradual_steps
downtime_ok: false
"""


def test_the_briefs_template_is_a_valid_facts_file(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(BRIEF_EXAMPLE, encoding="utf-8")
    assert recommend(load_facts(path)).recommendation == "serverless_inference"


@pytest.mark.parametrize("side, factor, expected", [("below", 0.99, "serverless_inference"),
                                                     ("above", 1.01, "real_time_endpoint")])
def test_cost_crossover_sides(side: str, factor: float, expected: str) -> None:
    volume = _crossover() * factor
    rec = recommend(deployment(requests_per_day=volume))
    assert rec.recommendation == expected
    rt, sl = rec.estimates["real_time_endpoint"], rec.estimates["serverless_inference"]
    assert (sl.monthly_cost_usd < rt.monthly_cost_usd) == (side == "below")
    rule = "below_crossover_serverless" if side == "below" else "above_crossover_endpoint"
    assert rule in rec.fired
    assert f"{_crossover():,.0f} requests/day" in " ".join(rec.reasons)


def test_crossover_is_where_costs_meet() -> None:
    volume = _crossover()
    est = estimate_all(deployment(requests_per_day=volume))
    assert est["serverless_inference"].monthly_cost_usd == pytest.approx(
        est["real_time_endpoint"].monthly_cost_usd, rel=1e-9)


def test_crossover_worked_example() -> None:
    """By hand, with the prices in simlab/data (us-east-1): one request of 1.5 s at 2048 MB is
    1.5 × 2 = 3 GB-s × $0.00002 = $0.00006 of compute, plus 0.5 MB / 1024 × $0.016 per GB
    = $0.0000078125 of data: $0.0000678125. One ml.m5.large for a day: 24 × $0.115 = $2.76.
    Break-even: 2.76 / 0.0000678125 ≈ 40,700 requests/day."""
    assert service_facts.price("serverless_compute_per_gb_s") == 0.00002
    assert service_facts.price("serverless_data_per_gb") == 0.016
    assert service_facts.instance("ml.m5.large").price_per_hour == 0.115
    assert crossover_requests_per_day(1.5, 0.5) == pytest.approx(2.76 / 0.0000678125, rel=1e-12)
    # twice the memory doubles the compute: 2.76 / (0.00012 + 0.0000078125)
    assert crossover_requests_per_day(1.5, 0.5, memory_mb=4096) == pytest.approx(2.76 / 0.0001278125, rel=1e-12)
    # ml.m5.xlarge at $0.23/h: 5.52 USD/day
    assert crossover_requests_per_day(1.5, 0.5, instance_type="ml.m5.xlarge") == pytest.approx(5.52 / 0.0000678125)


def _cost_sweep() -> list[tuple[str, float]]:
    """(traffic, requests/day) from a tenth of the one-instance crossover to past the volume that
    keeps three instances busy (λ × inference_seconds = 3), so the sized fleet has 1 to 4 instances."""
    seconds = deployment()["inference_seconds"]
    step = _crossover() / 40
    top = 3.2 * SECONDS_PER_DAY / seconds
    volumes = [step * i for i in range(4, int(top / step) + 1)]
    return [(t, v) for t in ("intermittent", "steady", "spiky") for v in volumes]


def test_cost_rules_compare_serverless_with_the_sized_fleet() -> None:
    """Whenever an explanation says serverless or the endpoint is cheaper, the estimates agree:
    the cost rules compare with the fleet the estimates size, not with one instance."""
    instances_where_serverless_cheaper: set[int] = set()
    for traffic, volume in _cost_sweep():
        rec = recommend(deployment(requests_per_day=volume, traffic=traffic))
        endpoint, serverless = rec.estimates["real_time_endpoint"], rec.estimates["serverless_inference"]
        cheaper = ("serverless_inference" if serverless.monthly_cost_usd <= endpoint.monthly_cost_usd
                   else "real_time_endpoint")
        says = {"below_crossover_serverless": "serverless_inference",
                "above_crossover_endpoint": "real_time_endpoint"}
        claims = [option for rule, option in says.items() if rule in rec.fired]
        assert claims == [cheaper], (traffic, volume, endpoint.instances, claims)
        support = " ".join(rec.verdicts[cheaper].support)
        for est in (endpoint, serverless):
            assert f"{est.monthly_cost_usd:,.2f} USD/month" in support, (volume, support)
        assert f"{endpoint.instances} × " in support
        for reason in rec.reasons:  # every cost claim in the explanation is the cheaper option's
            if "costs less than" in reason:
                assert reason in rec.verdicts[cheaper].support, (volume, reason)
        if traffic == "intermittent" and rec.recommendation in says.values():
            assert rec.recommendation == cheaper, (volume, rec.reasons)
        if cheaper == "serverless_inference":
            instances_where_serverless_cheaper.add(endpoint.instances)
    assert {1, 2, 3} <= instances_where_serverless_cheaper, "the sweep must reach 2- and 3-instance fleets"


SOLE_OPTION_CASES = [
    # id, overrides, the only option left
    ("payload-5MB-caller-waits", {"payload_mb": 5, "inference_seconds": 2, "requests_per_day": 30},
     "real_time_endpoint"),
    ("cold-starts-not-ok", {"cold_start_ok": False}, "real_time_endpoint"),
    ("dissimilar-models", {"models": 3, "models_similar": False}, "real_time_endpoint"),
    ("payload-2000MB-offline", {"payload_mb": 2000, "realtime": False}, "batch_transform"),
]


@pytest.mark.parametrize("over, expected", [c[1:] for c in SOLE_OPTION_CASES],
                         ids=[c[0] for c in SOLE_OPTION_CASES])
def test_sole_remaining_option_says_why(over: dict, expected: str) -> None:
    rec = recommend(deployment(**over))
    assert rec.recommendation == expected and rec.also == ()
    assert not rec.verdicts[expected].support, "a case where no rule argues for the option"
    first = rec.reasons[0]
    assert first.startswith("The only option within the hard limits")
    rules = {r.id: r for r in load_rules()}
    for option, verdict in rec.verdicts.items():
        if option == expected:
            continue
        assert option in first
        for rule in verdict.against_rules:  # each limit or fact that ruled it out, limits with values
            assert f"{in_words(rule.when)} [{rule.id}]" in first
            assert rules[rule.id].effect == "rule_out"
    hard = any(v.hard for o, v in rec.verdicts.items() if o != expected)
    assert ("by a hard service limit" in first) == hard
    assert f"{rec.estimates[expected].monthly_cost_usd:,.2f} USD/month" in first


def test_no_sole_option_reason_when_a_rule_supports_it() -> None:
    rec = recommend(deployment())
    assert rec.recommendation == "serverless_inference" and rec.verdicts["serverless_inference"].support
    assert not any(r.startswith("The only option") for r in rec.reasons)


def test_async_model_uses_the_simulators_scaling_defaults() -> None:
    """The engine reads the same facts keys and constants; this catches either side drifting."""
    from simlab.autoscaling import LOW_DATAPOINTS, LOW_RATIO
    from simlab.deployments.asynchronous import ASYNC_AUTOSCALING_SCHEMA

    sim = {f.name: f.default for f in ASYNC_AUTOSCALING_SCHEMA.fields}
    sc = async_scaling()
    assert sc.startup_s == sim["instance_startup"]
    assert sc.alarm_datapoints == sim["scale_from_zero_datapoints"]
    assert sc.scale_in_cooldown_s == sim["scale_in_cooldown"]
    assert sc.low_backlog == pytest.approx(LOW_RATIO * sim["target_backlog_per_instance"])
    assert sc.low_datapoints == LOW_DATAPOINTS


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99, 0.999])
def test_cold_start_quantile_is_the_simulators_default_distribution(q: float) -> None:
    import numpy as np

    from simlab.deployments.serverless import SCHEMA

    default = next(f.default for f in SCHEMA.fields if f.name == "cold_start")
    mean_ms = service_facts.limit("serverless_inference.default_cold_start_mean_ms")
    assert default.mean * 1000 == pytest.approx(mean_ms)
    assert cold_start_quantile_s(mean_ms, q) == pytest.approx(float(default.ppf(np.array([q]))[0]), rel=1e-9)


def test_realtime_payload_cites_api_and_notes() -> None:
    reason = recommend(deployment(payload_mb=7, traffic="steady")).ruled_out["real_time_endpoint"]
    assert "6 MiB (6,291,456 bytes)" in reason
    assert "25 MB" in reason and "exam notes" in reason


def test_fallback_says_which_fact_it_breaks() -> None:
    rec = recommend(deployment(payload_mb=7, traffic="steady"))
    assert rec.reasons[0].startswith("No option fits every fact")
    assert "async_inference" not in rec.ruled_out and rec.also == ()


def test_nothing_fits_every_hard_limit() -> None:
    rec = recommend(deployment(inference_seconds=7200, realtime=False))
    assert rec.recommendation is None
    assert set(rec.ruled_out) == set(ANSWERS["deployment"])


def test_hard_limits_are_read_from_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    real = service_facts.limits()
    key = "serverless_inference.max_payload_bytes"
    bigger = {**real, key: service_facts.Limit(key, 8 * 1024 * 1024, "bytes", "test")}
    monkeypatch.setattr(service_facts, "limits", lambda: bigger)
    rec = recommend(deployment(payload_mb=7))
    assert "serverless_max_payload" not in rec.fired


def test_mme_reason_shows_saving() -> None:
    rec = recommend(deployment(models=500, traffic="steady", requests_per_day=200_000,
                               inference_seconds=0.05, payload_mb=0.02))
    assert rec.recommendation == "multi_model_endpoint"
    mme, per_model = rec.estimates["multi_model_endpoint"], rec.estimates["real_time_endpoint"]
    assert mme.monthly_cost_usd < per_model.monthly_cost_usd
    assert f"{per_model.monthly_cost_usd:,.2f} USD/month" in " ".join(rec.reasons)


def test_estimates_only_for_deployment_and_feasible() -> None:
    assert recommend({"question": "rollout", "goal": "reduce_risk"}).estimates == {}
    rec = recommend(deployment(payload_mb=7, traffic="steady"))
    assert "real_time_endpoint" not in rec.estimates and "async_inference" in rec.estimates


# --------------------------------------------------------------------------- cost model


def test_endpoint_size_meets_slo_and_grows() -> None:
    loose, tight = endpoint_size(20.0, 0.04, 1000), endpoint_size(20.0, 0.04, 60)
    assert loose[1] <= 1000 and tight[1] <= 60
    assert tight[0] > loose[0] >= 1


def test_endpoint_size_stops_when_slo_below_service_time() -> None:
    c, p99 = endpoint_size(5.0, 0.2, 100)
    assert p99 == pytest.approx(200.0) and c >= 2


def test_batch_fits_run_in_period() -> None:
    facts = deployment(records=10_000_000, requests_per_day=None, realtime=False,
                       inference_seconds=0.05, memory_mb=2048, instance_type="ml.m5.large")
    batch = estimate_all(facts)["batch_transform"]
    assert batch.instances > 1 and batch.p99_latency_ms <= 24 * 3600 * 1000


# --------------------------------------------------------------------------- monitoring, rollout

MONITORING_CASES = [
    ("input_drift", "none", "data_quality", {"model_quality": "ground-truth labels"}),
    ("input_drift", "delayed", "data_quality", {}),
    ("accuracy", "delayed", "model_quality", {"bias_drift": "question about accuracy"}),
    ("accuracy", "immediate", "model_quality", {}),
    ("accuracy", "none", "data_quality", {"model_quality": "without labels"}),
    ("bias", "none", "bias_drift", {"feature_attribution_drift": "question about bias"}),
    ("feature_importance", "immediate", "feature_attribution_drift",
     {"bias_drift": "question about feature importance"}),
]


@pytest.mark.parametrize("concern, labels, expected, ruled", MONITORING_CASES)
def test_monitoring(concern: str, labels: str, expected: str, ruled: dict[str, str]) -> None:
    rec = recommend({"question": "monitoring", "concern": concern, "labels": labels,
                     "label_delay_days": 3})
    assert rec.recommendation == expected
    for option, text in ruled.items():
        assert text in rec.ruled_out[option]


def test_accuracy_without_labels_mentions_estimated_performance() -> None:
    rec = recommend({"question": "monitoring", "concern": "accuracy", "labels": "none"})
    assert "CBPE" in " ".join(rec.reasons)


def test_delayed_labels_suggest_offsets() -> None:
    rec = recommend({"question": "monitoring", "concern": "accuracy", "labels": "delayed",
                     "label_delay_days": 2.5})
    assert "-P4D" in " ".join(rec.reasons) and "-P3D" in " ".join(rec.reasons)
    assert rec.also == ("data_quality",)


ROLLOUT_CASES = [
    ("reduce_risk", False, "canary", ["all_at_once", "ab_test"]),
    ("compare_models", False, "ab_test", ["canary", "linear", "rolling"]),
    ("no_user_impact", False, "shadow", ["canary", "ab_test", "blue_green", "rolling"]),
    ("instant_switch", False, "blue_green", ["canary", "rolling"]),
    ("gradual_steps", False, "linear", ["all_at_once", "blue_green"]),
    ("simplest", True, "all_at_once", ["canary", "rolling"]),
    ("simplest", False, "all_at_once", ["canary", "linear"]),
    ("limit_extra_capacity", False, "rolling", ["all_at_once", "blue_green", "canary", "linear"]),
]


@pytest.mark.parametrize("goal, downtime_ok, expected, out", ROLLOUT_CASES)
def test_rollout(goal: str, downtime_ok: bool, expected: str, out: list[str]) -> None:
    rec = recommend({"question": "rollout", "goal": goal, "downtime_ok": downtime_ok})
    assert rec.recommendation == expected
    assert set(out) <= set(rec.ruled_out)


@pytest.mark.parametrize("goal", ["instant_switch", "simplest"])
def test_all_at_once_is_blue_green_without_downtime(goal: str) -> None:
    """SageMaker's all at once is blue/green with one shift: never ruled out for downtime, and
    the same answer whatever downtime_ok says (no SageMaker update has downtime)."""
    recs = [recommend({"question": "rollout", "goal": goal, "downtime_ok": d}) for d in (True, False)]
    assert all("all_at_once" not in r.ruled_out for r in recs)
    assert recs[0].recommendation == recs[1].recommendation
    chosen = recs[0] if recs[0].recommendation == "all_at_once" else None
    if chosen is not None:
        assert "no downtime" in " ".join(chosen.reasons)
    assert "downtime" not in LABELS["all_at_once"].replace("no downtime", "")


def test_every_rollout_rule_cites_the_facts() -> None:
    from simlab.decide.rules import rules_for

    missing = [r.id for r in rules_for("rollout") if "facts rollouts.md" not in r.see]
    assert missing == []


# --------------------------------------------------------------------------- coverage and data


def _grid() -> list[dict[str, Any]]:
    facts = [deployment(**c[1]) for c in DEPLOYMENT_CASES]
    facts += [{"question": "monitoring", "concern": c, "labels": lab} for c, lab, _, _ in MONITORING_CASES]
    facts += [{"question": "rollout", "goal": g, "downtime_ok": d} for g, d, _, _ in ROLLOUT_CASES]
    return facts + [load_facts(p) for p in sorted(FACTS_DIR.glob("*.yaml"))]


@pytest.mark.parametrize("facts", _grid(), ids=lambda f: f"{f['question']}")
def test_every_answer_gets_exactly_one_verdict(facts: dict[str, Any]) -> None:
    rec = recommend(facts)
    ids = ANSWERS[facts["question"]]
    chosen = [rec.recommendation] if rec.recommendation else []
    assert sorted(chosen + list(rec.also) + list(rec.ruled_out)) == sorted(ids)
    assert set(rec.verdicts) == set(ids)
    assert all(rec.ruled_out.values())


def test_answer_ids_are_the_public_contract() -> None:
    assert ANSWERS["deployment"][0] == "real_time_endpoint" and len(ANSWERS["rollout"]) == 7
    from simlab.quiz import curriculum

    assert curriculum.ANSWER_IDS == ANSWERS


def test_every_answer_id_is_some_rules_target() -> None:
    targets = {t for r in load_rules() for t in r.targets}
    assert {a for ids in ANSWERS.values() for a in ids} <= targets


def test_rule_sources_are_limits_or_note_sections() -> None:
    limit_keys = set(service_facts.limits())
    rules = load_rules()
    section_rules = [r for r in rules if r.source not in limit_keys]
    assert all(" " in r.source for r in section_rules), "a source is neither a limit key nor a section"
    # the section list the repository holds (simlab/quiz/curriculum.py: headings of the exam notes)
    from simlab.quiz.curriculum import SECTIONS

    missing = {r.id: r.source for r in section_rules if r.source not in SECTIONS}
    assert not missing, missing


def test_hard_rules_cite_a_limit_or_the_service_docs() -> None:
    limit_keys = set(service_facts.limits())
    for rule in load_rules():
        if rule.hard:
            assert rule.source in limit_keys or re.match(r"(DG:|\[SM\])", rule.see), rule.id


def _full_context() -> dict[str, Any]:
    facts = deployment(requests_per_day=1000, records=1000, latency_slo_ms=200, models=3,
                       containers=3, concern="feature_importance", labels="delayed",
                       label_delay_days=3, goal="reduce_risk", memory_mb=2048,
                       instance_type="ml.m5.large", models_similar=True, cold_start_ms=None,
                       runs_per_month=None, downtime_ok=False)
    from types import SimpleNamespace

    estimates = estimate_all(facts)
    context = derive(facts)
    context["est"] = SimpleNamespace(**{k: SimpleNamespace(**vars(v)) for k, v in estimates.items()})
    return {"context": context, "this": estimates["serverless_inference"]}


@pytest.mark.parametrize("rule", load_rules(), ids=lambda r: r.id)
def test_every_explanation_renders_and_cites(rule) -> None:
    full = _full_context()
    text = render(rule, full["context"], this=full["this"])
    assert "{" not in text and "None" not in text
    assert text.endswith("]") and "[source: " in text


def test_no_limit_figure_is_copied_into_templates() -> None:
    for rule in load_rules():
        for lim in service_facts.limits().values():
            if isinstance(lim.value, int) and not isinstance(lim.value, bool) and lim.value > 100:
                assert str(lim.value) not in rule.explain, rule.id


def test_docs_table_is_generated() -> None:
    doc = (REPO / "docs" / "decisions.md").read_text(encoding="utf-8")
    assert regenerate(doc) == doc, "run: python -m simlab.decide --write-docs"
    assert rules_table_markdown() in doc
    assert len([line for line in rules_table_markdown().splitlines() if line.startswith("| `")]) == len(load_rules())


def test_example_facts_files_cover_the_brief() -> None:
    answers = {p.stem: recommend(load_facts(p)).recommendation for p in FACTS_DIR.glob("*.yaml")}
    assert len(answers) >= 8
    assert {"serverless_inference", "real_time_endpoint", "async_inference", "batch_transform",
            "multi_model_endpoint", "serial_inference_pipeline", "data_quality", "canary"} <= set(
        answers.values())


# --------------------------------------------------------------------------- API behaviour


def test_recommend_is_deterministic() -> None:
    facts = deployment(requests_per_day=5000, latency_slo_ms=2500)
    first = json.dumps(recommend(facts).to_dict())
    assert all(json.dumps(recommend(facts).to_dict()) == first for _ in range(3))


def test_to_dict_shape() -> None:
    out = recommend(deployment()).to_dict()
    assert list(out) == ["question", "recommendation", "also", "ruled_out", "reasons", "estimates"]
    assert set(out["estimates"]["serverless_inference"]) == {"monthly_cost_usd", "p99_latency_ms"}


def test_recommend_validates_dicts() -> None:
    with pytest.raises(ScenarioError) as info:
        recommend({"question": "deployment", "payload_mb": -1, "trafic": "steady"})
    lines = info.value.lines()
    assert any("payload_mb: must be a number ≥ 0, got -1" in line for line in lines)
    assert any("did you mean 'traffic'" in line for line in lines)
    assert any("inference_seconds: is required" in line for line in lines)


def test_load_facts_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("question: rollout\ngoal: fastest\ndowntime_ok: maybe\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_facts(path)
    assert [line.split(": ")[2] for line in info.value.lines()] == ["goal", "downtime_ok"]
