"""The power planner against Monte Carlo detection rates (seeded streams, several sizes) and theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from simlab.errors import ParameterError
from simlab.rng import Streams
from simlab.rollouts import power

Z95 = sps.norm.ppf(0.95)


def _within(hits: int, reps: int, p: float, slack: float) -> bool:
    lo, hi = sps.binom.interval(0.99, reps, p)
    return lo - slack * reps <= hits <= hi + slack * reps


@pytest.mark.parametrize("w, lam, bake, p, delta", [
    (0.05, 10, 600, 0.01, 0.02), (0.25, 10, 300, 0.01, 0.01), (0.1, 5, 300, 0.02, 0.02), (0.5, 2, 600, 0.05, 0.03)])
def test_error_rate_planner_matches_simulated_detection(w, lam, bake, p, delta) -> None:
    plan = power.plan_error_rate(p_base=p, delta=delta, canary_share=w, rate_rps=lam, bake_s=bake)
    gen = Streams(21).generator(f"err-{w}-{lam}-{bake}")
    nc, nb, reps = round(w * lam * bake), round((1 - w) * lam * bake), 4000
    xc, xb = gen.binomial(nc, p + delta, reps), gen.binomial(nb, p, reps)
    pool = (xc + xb) / (nc + nb)
    se = np.sqrt(pool * (1 - pool) * (1 / nc + 1 / nb))
    z = np.where(se > 0, (xc / nc - xb / nb) / np.where(se > 0, se, 1), 0)
    assert 0.3 < plan["power"] < 0.95  # the cases sit where power is informative
    assert _within(int((z > Z95).sum()), reps, plan["power"], slack=0.02)


@pytest.mark.parametrize("w, lam, mult", [(0.1, 20, 1.2), (0.25, 10, 1.1), (0.5, 5, 1.15)])
def test_p99_planner_matches_simulated_detection(w, lam, mult) -> None:
    dist = sps.lognorm(s=0.5, scale=0.05)
    bake = 600
    plan = power.plan_latency_quantile(latency=dist, multiplier=mult, canary_share=w, rate_rps=lam, bake_s=bake)
    gen = Streams(22).generator(f"lat-{w}-{lam}")
    nc, nb, reps = round(w * lam * bake), round((1 - w) * lam * bake), 300
    qc = np.quantile(mult * gen.lognormal(math.log(0.05), 0.5, (reps, nc)), 0.99, axis=1)
    qb = np.quantile(gen.lognormal(math.log(0.05), 0.5, (reps, nb)), 0.99, axis=1)
    x99 = dist.ppf(0.99)
    se0 = math.sqrt(0.99 * 0.01 / dist.pdf(x99) ** 2 * (1 / nc + 1 / nb))  # the planner's H0 test
    assert 0.4 < plan["power"] < 0.97
    assert _within(int((qc - qb > Z95 * se0).sum()), reps, plan["power"], slack=0.03)


def test_quantile_standard_error_matches_simulation() -> None:
    """A doubling of latency: the canary's p99 has m² = 4 times the variance (density f/m at m·x)."""
    dist = sps.lognorm(s=0.5, scale=0.05)
    plan = power.plan_latency_quantile(latency=dist, multiplier=2.0, canary_share=0.25, rate_rps=10, bake_s=600)
    gen = Streams(24).generator("se")
    reps = 400
    qc = np.quantile(2.0 * gen.lognormal(math.log(0.05), 0.5, (reps, 1500)), 0.99, axis=1)
    qb = np.quantile(gen.lognormal(math.log(0.05), 0.5, (reps, 4500)), 0.99, axis=1)
    sd = float(np.std(qc - qb, ddof=1))
    assert sd == pytest.approx(plan["se_h1"], rel=0.12)  # sd of an sd estimate over 400 reps ≈ 3.5 %
    assert sd > 1.2 * plan["se_h0"]


def test_bake_for_target_gives_the_target_power() -> None:
    plan = power.plan_error_rate(p_base=0.01, delta=0.02, canary_share=0.05, rate_rps=2, bake_s=300)
    assert plan["underpowered"] and plan["power"] < 0.5 and "under-powered" in plan["warning"]
    again = power.plan_error_rate(p_base=0.01, delta=0.02, canary_share=0.05, rate_rps=2,
                                  bake_s=plan["bake_for_target_s"])
    assert again["power"] == pytest.approx(0.8, abs=1e-9) and again["warning"] is None


def test_small_canary_needs_about_5_3_times_the_bake_of_a_half_split() -> None:
    """Facts file: detectable δ ∝ 1/√(w(1−w)λT) — 0.25/0.0475 ≈ 5.26 (equal variances: tiny δ)."""
    kw = {"p_base": 0.2, "delta": 1e-4, "rate_rps": 10, "bake_s": 600}
    small = power.plan_error_rate(canary_share=0.05, **kw)["bake_for_target_s"]
    half = power.plan_error_rate(canary_share=0.5, **kw)["bake_for_target_s"]
    assert small / half == pytest.approx(0.25 / 0.0475, rel=2e-3)


def test_alarm_probability_single_datapoint_by_hand() -> None:
    b = sps.binom.sf(5, 100, 0.04)  # a period breaches when > 5 of 100 requests fail
    got = power.alarm_detection_probability(error_rate=0.04, requests_per_period=100, threshold=0.05, periods=6)
    assert got == pytest.approx(1 - (1 - b) ** 6, rel=1e-12)


@pytest.mark.parametrize("n_eval, m", [(3, 2), (2, 2), (5, 3)])
def test_alarm_probability_m_of_n_matches_simulation(n_eval, m) -> None:
    reps, periods, n, p, thr = 20000, 10, 60, 0.05, 0.05
    got = power.alarm_detection_probability(error_rate=p, requests_per_period=n, threshold=thr, periods=periods,
                                            evaluation_periods=n_eval, datapoints_to_alarm=m)
    gen = Streams(23).generator(f"alarm-{n_eval}-{m}")
    breach = gen.binomial(n, p, (reps, periods)) / n > thr
    c = np.concatenate([np.zeros((reps, 1), int), np.cumsum(breach, axis=1)], axis=1)
    windows = c[:, 1:] - c[:, np.maximum(np.arange(1, periods + 1) - n_eval, 0)]
    fired = int((windows >= m).any(axis=1).sum())
    assert 0.2 < got < 0.95
    assert _within(fired, reps, got, slack=0.0)


def test_planner_rejects_bad_values() -> None:
    with pytest.raises(ParameterError, match="canary_share"):
        power.plan_error_rate(p_base=0.01, delta=0.01, canary_share=1.0, rate_rps=1, bake_s=60)
    with pytest.raises(ParameterError, match="multiplier"):
        power.plan_latency_quantile(latency=sps.expon(), multiplier=0.9, canary_share=0.1, rate_rps=1, bake_s=60)
    with pytest.raises(ParameterError, match="datapoints_to_alarm"):
        power.alarm_detection_probability(error_rate=0.1, requests_per_period=10, threshold=0.1, periods=3,
                                          evaluation_periods=2, datapoints_to_alarm=3)
