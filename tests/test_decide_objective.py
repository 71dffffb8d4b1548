"""``objective: cost | latency | operational_overhead``: "which suitable option is BEST"."""

from __future__ import annotations

import math

import pytest

from simlab.decide import recommend
from simlab.decide.answers import ANSWERS
from simlab.decide.data import overhead
from simlab.errors import ScenarioError

STEADY = {"question": "deployment", "requests_per_day": 50_000, "traffic": "steady",
          "inference_seconds": 0.1, "payload_mb": 0.5, "cold_start_ok": True}


def test_without_objective_either_is_defensible_and_today_s_answer_stands() -> None:
    rec = recommend(STEADY)
    assert rec.recommendation == "real_time_endpoint"
    assert "serverless_inference" in rec.also  # suitable, not ruled out


def test_cost_objective_picks_serverless_at_about_a_fifth_of_one_instance() -> None:
    """Hand calculation from simlab/data/prices.yaml and instances.yaml (us-east-1 on-demand):

    serverless, 2048 MB default memory, per request:
        compute 0.1 s x 2 GB x 0.00002 USD/GB-s           = 0.000004    USD
        data    0.5 MB / 1024 x 0.016 USD/GB               = 0.0000078125 USD
        total                                              = 0.0000118125 USD
    per month: 50,000/day x 730/24 days x 0.0000118125     = 17.965 USD
    one always-on ml.m5.large: 0.115 USD/h x 730 h         = 83.95 USD
    ratio 17.965 / 83.95                                   = 0.214  (about a fifth)
    """
    rec = recommend({**STEADY, "objective": "cost"})
    assert rec.recommendation == "serverless_inference"
    serverless = rec.estimates["serverless_inference"].monthly_cost_usd
    endpoint = rec.estimates["real_time_endpoint"].monthly_cost_usd
    assert serverless == pytest.approx(50_000 * 730 / 24 * (0.1 * 2 * 0.00002 + 0.5 / 1024 * 0.016),
                                       rel=1e-9)
    assert serverless == pytest.approx(17.965, abs=0.001)
    assert endpoint == pytest.approx(0.115 * 730, rel=1e-9)
    assert 0.18 < serverless / endpoint < 0.25
    first = rec.reasons[0]
    assert first.startswith("Objective cost: serverless_inference")
    assert "runner-up real_time_endpoint lost on estimated monthly cost" in first
    assert "83.95 USD/month" in first and "17.96 USD/month" in first


def test_cost_objective_never_picks_a_ruled_out_option() -> None:
    """Batch Transform is the cheapest estimate here but cannot answer a waiting caller."""
    rec = recommend({**STEADY, "objective": "cost"})
    cheapest = min(rec.estimates, key=lambda k: rec.estimates[k].monthly_cost_usd)
    assert cheapest == "batch_transform" and "batch_transform" in rec.ruled_out
    assert rec.recommendation != cheapest


def test_latency_objective_ranks_by_p99() -> None:
    rec = recommend({**STEADY, "objective": "latency"})
    suitable = [rec.recommendation, *rec.also]
    p99 = [rec.estimates[k].p99_latency_ms for k in suitable]
    assert p99 == sorted(p99)
    assert rec.reasons[0].startswith(f"Objective latency: {rec.recommendation}")


def test_operational_overhead_uses_the_ranks_in_rules_yaml() -> None:
    rec = recommend({**STEADY, "objective": "operational_overhead"})
    ranks = overhead()["deployment"]
    assert rec.recommendation == "serverless_inference"
    assert ranks["serverless_inference"].rank < ranks["real_time_endpoint"].rank
    assert ranks["serverless_inference"].why in rec.reasons[0]
    assert "runner-up real_time_endpoint lost on operational overhead" in rec.reasons[0]


def test_objective_does_not_override_a_rule_out() -> None:
    """Cold starts not acceptable: serverless is ruled out, so cost cannot bring it back."""
    rec = recommend({**STEADY, "cold_start_ok": False, "traffic": "intermittent",
                     "objective": "cost"})
    assert "serverless_inference" in rec.ruled_out
    assert rec.recommendation == "real_time_endpoint"
    assert any("only suitable option" in r for r in rec.reasons)


def test_rollout_overhead_objective() -> None:
    """reduce_risk leaves canary, blue/green, linear, rolling and shadow suitable; by overhead the
    blue/green bake (rank 2) beats canary (rank 3), and the reason says canary lost on overhead."""
    plain = recommend({"question": "rollout", "goal": "reduce_risk"})
    rec = recommend({"question": "rollout", "goal": "reduce_risk",
                     "objective": "operational_overhead"})
    assert plain.recommendation == "canary"
    assert rec.recommendation == "blue_green"
    assert "lost on operational overhead" in rec.reasons[0]


def test_rollout_cost_objective_falls_back_to_rule_support() -> None:
    rec = recommend({"question": "rollout", "goal": "reduce_risk", "objective": "cost"})
    assert rec.recommendation == "canary"
    assert "no estimated monthly cost to rank by" in rec.reasons[0]


def test_every_answer_id_has_an_overhead_rank() -> None:
    table = overhead()
    for question, ids in ANSWERS.items():
        assert set(table[question]) == set(ids)
        assert all(o.rank >= 1 and o.why for o in table[question].values())
        assert not math.isnan(sum(o.rank for o in table[question].values()))


def test_unknown_objective_is_rejected() -> None:
    with pytest.raises(ScenarioError) as info:
        recommend({**STEADY, "objective": "cheapest"})
    assert "objective" in info.value.lines()[0] and "cost | latency | operational_overhead" in \
        info.value.lines()[0]
