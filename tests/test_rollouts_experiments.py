"""The judges' replication table: deterministic per seed, and the threshold judge's noise at low counts."""

from __future__ import annotations

from scipy import stats as sps

from simlab.rollouts.experiments import JUDGES, judge_table


def test_same_seed_same_table_and_a_different_seed_differs() -> None:
    kw = {"replications": 40, "intervals": 3, "rate_rps": 2.0}
    a, b, c = judge_table(seed=5, **kw), judge_table(seed=5, **kw), judge_table(seed=6, **kw)
    assert a == b and a != c
    assert {r["regression"] for r in a} >= {"none (A/A)", "+2 pp errors", "latency × 1.5"}


def test_a_fixed_5_percent_bound_on_12_requests_rolls_back_an_identical_canary() -> None:
    """One error in 12 requests is 8 % > 5 %: P(≥ 1 error) = 1 − 0.99^n per interval, so over 10
    intervals of Poisson(12) requests an A/A canary at 1 % errors is rolled back ≈ 1 − e^(−10·12·0.01)."""
    names = [n for n in JUDGES if n.startswith(("threshold", "sequential"))]
    rows = judge_table(replications=300, seed=2, error_deltas=(0.0,), judges=names)
    aa = next(r for r in rows if r["judge"].startswith("threshold") and "fail" in r["judge"])
    expected = 1 - 2.718281828459045 ** (-10 * 12 * 0.01)  # errors per interval ~ Poisson(0.12)
    lo, hi = sps.binom.interval(0.99, 300, expected)
    assert lo <= aa["rollback_rate"] * 300 <= hi
    seq = next(r for r in rows if r["judge"].startswith("sequential") and "5000" in r["judge"])
    assert seq["rollback_rate"] <= 0.05 + 0.04
