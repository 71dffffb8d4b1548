"""Canary judges on hand-computed intervals, plus their false-rollback behaviour over replications."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.errors import ParameterError
from simlab.rng import Streams
from simlab.rollouts import stats
from simlab.rollouts.judges import (
    ArmSample,
    MannWhitneyJudge,
    MetricSpec,
    SequentialJudge,
    ThresholdJudge,
    classify_metric,
    metric_value,
)


def test_metric_values() -> None:
    s = ArmSample(requests=4, errors=1, latencies=[0.1, 0.2, 0.3, 0.4])
    assert metric_value(s, "error_rate") == 0.25 and metric_value(s, "success_rate") == 0.75
    assert metric_value(s, "latency_mean") == pytest.approx(0.25)
    assert metric_value(s, "latency_p50") == pytest.approx(0.25)
    assert metric_value(ArmSample(requests=0), "error_rate") is None
    with pytest.raises(ParameterError, match="metric"):
        metric_value(s, "p99")
    with pytest.raises(ParameterError, match="errors"):
        ArmSample(requests=3, errors=4)


def test_threshold_judge_counts_failures_up_to_the_limit() -> None:
    j = ThresholdJudge(metric="error_rate", max=0.05, failure_limit=1)
    seq = [(100, 3), (100, 6), (100, 2), (100, 10)]
    out = [j.observe(ArmSample(requests=n, errors=e)) for n, e in seq]
    assert [(v.verdict, v.action, v.failures) for v in out] == [
        ("pass", "continue", 0), ("fail", "continue", 1), ("pass", "continue", 1), ("fail", "rollback", 2)]
    assert out[1].value == 0.06 and "breaks ≤ 0.05" in out[1].reason
    assert j.observe(ArmSample(requests=100)).action == "rollback"  # stays rolled back


def test_threshold_bound_is_strict() -> None:
    # exactly at the bound is within it (Flagger: success rate ≥ 99 %; here error rate ≤ 0.05)
    assert ThresholdJudge(max=0.05).observe(ArmSample(requests=100, errors=5)).verdict == "pass"
    assert ThresholdJudge(metric="success_rate", min=0.99).observe(ArmSample(requests=100, errors=2)).verdict == "fail"


@pytest.mark.parametrize("policy, verdict, action, failures", [
    ("fail", "no_data", "rollback", 1), ("pause", "no_data", "pause", 0), ("ignore", "no_data", "continue", 0)])
def test_no_data_policies(policy: str, verdict: str, action: str, failures: int) -> None:
    j = ThresholdJudge(max=0.05, no_data=policy, min_requests=10)
    v = j.observe(ArmSample(requests=5, errors=0))
    assert (v.verdict, v.action, v.failures) == (verdict, action, failures)
    assert "5 canary requests < min_requests 10" in v.reason


def test_low_traffic_canary_rolls_back_falsely_under_no_data_fail() -> None:
    """An identical canary at 0.02 req/s in 60 s intervals: P(no request) = e^(−1.2) ≈ 0.30."""
    gen = Streams(8).generator("low")
    reps, intervals = 400, 10
    counts = gen.poisson(0.02 * 60, (reps, intervals))
    errs = gen.binomial(counts, 0.001)
    rolled = {}
    for policy in ("fail", "ignore"):
        n = 0
        for r in range(reps):
            j = ThresholdJudge(max=0.05, no_data=policy)
            n += any(j.observe(ArmSample(requests=int(c), errors=int(e))).action == "rollback"
                     for c, e in zip(counts[r], errs[r], strict=True))
        rolled[policy] = n / reps
    p_empty = math.exp(-1.2)
    assert rolled["fail"] >= 1 - (1 - p_empty) ** intervals - 0.05  # ≥ 97 % false rollbacks
    assert rolled["ignore"] < 0.2  # only real (rare) error intervals of tiny size remain


def test_threshold_judge_rejects_bad_parameters() -> None:
    with pytest.raises(ParameterError, match="no_data"):
        ThresholdJudge(max=1, no_data="skip")
    with pytest.raises(ParameterError, match="max"):
        ThresholdJudge()
    with pytest.raises(ParameterError, match="failure_limit"):
        ThresholdJudge(max=1, failure_limit=-1)


# -- Kayenta --------------------------------------------------------------------------------
BASE = [1.0, 2, 3, 4, 5]
SLOW = [6.0, 7, 8, 9, 10]  # by hand (see test_rollouts_stats): HL 5, 80 % interval [3, 7]


def test_classify_high_by_hand() -> None:
    r = classify_metric(SLOW, BASE, MetricSpec("latency"), confidence=0.8, tolerance=0.25)
    assert (r["label"], r["hl"], r["ci_low"], r["ci_high"]) == ("High", 5.0, 3.0, 7.0)
    assert r["mean_ratio"] == pytest.approx(8 / 3)
    # tolerance 0.7: the bound 0.7·5 = 3.5 exceeds the lower end 3 → Pass
    assert classify_metric(SLOW, BASE, MetricSpec("latency"), confidence=0.8, tolerance=0.7)["label"] == "Pass"
    # effect-size gate: ratio 2.67 < allowed_increase 3 → Pass
    assert classify_metric(SLOW, BASE, MetricSpec("latency", allowed_increase=3.0), confidence=0.8)["label"] == "Pass"
    # direction: only decreases fail → Pass; either → High
    assert classify_metric(SLOW, BASE, MetricSpec("latency", direction="decrease"), confidence=0.8)["label"] == "Pass"
    assert classify_metric(BASE, SLOW, MetricSpec("x", direction="either"), confidence=0.8)["label"] == "Low"


def test_classify_identical_and_missing() -> None:
    assert classify_metric(BASE, BASE[::-1], MetricSpec("m"))["label"] == "Pass"
    assert classify_metric([2.0, 2.0], [2.0], MetricSpec("m"))["label"] == "Pass"
    r = classify_metric([], BASE, MetricSpec("m", critical=True))
    assert r["label"] == "Nodata" and r["critical"]


def _judge(**kw) -> MannWhitneyJudge:
    specs = [MetricSpec(n, critical=(n == "d" and kw.pop("critical_d", False))) for n in "abcd"]
    return MannWhitneyJudge(metrics=specs, confidence=0.8, **kw)


def test_kayenta_score_and_thresholds() -> None:
    fine = {"a": BASE, "b": BASE, "c": BASE}
    v = _judge().observe({**fine, "d": SLOW}, {**fine, "d": BASE})
    assert (v.score, v.verdict, v.action) == (75.0, "marginal", "continue")
    v = _judge().observe({"a": BASE, "b": BASE, "d": SLOW}, {"a": BASE, "b": BASE, "d": BASE})
    assert v.score == pytest.approx(200 / 3) and (v.verdict, v.action) == ("fail", "rollback")  # c: Nodata
    v = _judge(critical_d=True).observe({**fine, "d": SLOW}, {**fine, "d": BASE})
    assert (v.score, v.verdict) == (0.0, "fail") and "critical" in v.reason
    v = _judge().observe({**fine, "d": BASE}, {**fine, "d": BASE})
    assert (v.score, v.verdict) == (100.0, "pass")
    assert _judge().observe({}, {}).verdict == "no_data"
    assert len(v.details) == 4 and "details" not in v.record()


def test_mann_whitney_is_blind_to_sparse_errors() -> None:
    """kayenta#780: per-request 0/1 errors, 1 % vs 3 %: HL = 0, so the tolerance is 0 and the
    interval's lower end is 0 — never above it. The z test on the same counts sees the tripling."""
    base = np.zeros(2000)
    base[:20] = 1
    canary = np.zeros(2000)
    canary[:60] = 1
    assert classify_metric(canary, base, MetricSpec("errors"))["label"] == "Pass"
    z = stats.two_proportion_ztest(successes_a=20, n_a=2000, successes_b=60, n_b=2000)
    assert z.p_value < 1e-4


def test_kayenta_rejects_bad_thresholds() -> None:
    with pytest.raises(ParameterError, match="marginal_threshold"):
        MannWhitneyJudge(metrics=[MetricSpec("a")], pass_threshold=50, marginal_threshold=75)
    with pytest.raises(ParameterError, match="direction"):
        MetricSpec("a", direction="up")


# -- sequential -------------------------------------------------------------------------------
def test_sequential_judge_by_hand() -> None:
    j = SequentialJudge(metric="error_rate", tau2=1e-4)
    v = j.observe(ArmSample(requests=1000, errors=40), ArmSample(requests=1000, errors=20))
    pool = 60 / 2000
    var = pool * (1 - pool) * (2 / 1000)
    lam = math.sqrt(var / (var + 1e-4)) * math.exp(1e-4 * 0.02**2 / (2 * var * (var + 1e-4)))
    assert v.p_value == pytest.approx(min(1.0, 1 / lam), rel=1e-12)
    v2 = j.observe(ArmSample(requests=1000, errors=45), ArmSample(requests=1000, errors=20))
    pool = 125 / 4000
    var = pool * (1 - pool) * (2 / 2000)
    lam2 = math.sqrt(var / (var + 1e-4)) * math.exp(1e-4 * (85 / 2000 - 40 / 2000) ** 2 / (2 * var * (var + 1e-4)))
    assert v2.p_value == pytest.approx(min(v.p_value, 1 / lam2), rel=1e-12)
    assert (v2.verdict, v2.action) == (("fail", "rollback") if v2.p_value <= 0.05 else ("pass", "continue"))
    assert v2.action == "rollback"  # 4.25 % vs 1 % over 2000 requests each: overwhelming


def test_sequential_judge_needs_data_in_both_arms() -> None:
    j = SequentialJudge()
    assert j.observe(ArmSample(requests=0), ArmSample(requests=100)).verdict == "no_data"


def test_sequential_judge_false_rollbacks_stay_below_alpha_while_threshold_judge_does_not() -> None:
    gen = Streams(9).generator("aa-judges")
    reps, intervals, n = 300, 30, 200
    ec = gen.binomial(n, 0.02, (reps, intervals))
    eb = gen.binomial(4 * n, 0.02, (reps, intervals))
    seq = thr = 0
    for r in range(reps):
        sj, tj = SequentialJudge(alpha=0.05, n_star=6000), ThresholdJudge(max=0.04)
        s_hit = t_hit = False
        for i in range(intervals):
            c, b = ArmSample(requests=n, errors=int(ec[r, i])), ArmSample(requests=4 * n, errors=int(eb[r, i]))
            s_hit |= sj.observe(c, b).action == "rollback"
            t_hit |= tj.observe(c, b).action == "rollback"
        seq += s_hit
        thr += t_hit
    # binomial 99 % upper limit of α = 0.05 over 300 replications is 25
    assert seq <= 25
    assert thr > 100  # a 4 % bound on a 2 % canary in 200-request intervals: P(>8 errors) ≈ 2 % per look


def test_sequential_judge_does_not_roll_back_a_better_canary() -> None:
    j = SequentialJudge(metric="error_rate", tau2=1e-4)
    v = j.observe(ArmSample(requests=2000, errors=5), ArmSample(requests=2000, errors=80))
    assert v.p_value <= 0.05 and (v.verdict, v.action) == ("pass", "continue") and "better" in v.reason


def test_sequential_judge_never_rolls_back_on_old_evidence_of_a_better_canary() -> None:
    j = SequentialJudge(metric="error_rate", tau2=1e-4)
    v = j.observe(ArmSample(requests=2000, errors=5), ArmSample(requests=2000, errors=80))
    assert v.p_value <= 0.05 and v.action == "continue"  # better: significant, no rollback
    # then the canary turns slightly worse in total: 225/4000 vs 210/4000 (z ≈ 0.7)
    v = j.observe(ArmSample(requests=2000, errors=220), ArmSample(requests=2000, errors=130))
    assert v.value > v.baseline and v.action == "continue" and j.p_worse > 0.05


def test_z_test_judge_by_hand_tests_once_at_its_first_look() -> None:
    from simlab.rollouts.judges import ZTestJudge

    # canary 12/200 errors, baseline 10/600: pooled p = 22/800 = 0.0275,
    # se = √(0.0275·0.9725·(1/200 + 1/600)) = √0.00017829 = 0.013353, z = 0.043333/se = 3.2453
    pool = 22 / 800
    z = (12 / 200 - 10 / 600) / math.sqrt(pool * (1 - pool) * (1 / 200 + 1 / 600))
    assert z == pytest.approx(3.2453, abs=1e-3)
    judge = ZTestJudge(alpha=0.01)
    v = judge.observe(ArmSample(requests=200, errors=12), ArmSample(requests=600, errors=10))
    assert (v.verdict, v.action) == ("fail", "rollback") and v.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    # the same data just above α passes; and a later look never tests again (no peeking)
    late = ZTestJudge(alpha=0.0005)
    assert late.observe(ArmSample(requests=200, errors=12), ArmSample(requests=600, errors=10)).action == "continue"
    assert late.observe(ArmSample(requests=200, errors=150), ArmSample(requests=600, errors=0)).action == "continue"
    # a better canary is never rolled back (one-sided); no variance passes; no data continues
    assert ZTestJudge().observe(ArmSample(requests=600, errors=0), ArmSample(requests=200, errors=12)).action == "continue"
    assert ZTestJudge().observe(ArmSample(requests=60, errors=0), ArmSample(requests=20, errors=0)).verdict == "pass"
    assert ZTestJudge().observe(ArmSample(requests=0), ArmSample(requests=20, errors=1)).verdict == "no_data"
    with pytest.raises(ParameterError, match="metric"):
        ZTestJudge(metric="latency_mean")  # type: ignore[arg-type]
