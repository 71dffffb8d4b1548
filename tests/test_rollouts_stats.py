"""A/B statistics against hand calculations, library references and seeded simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.power import NormalIndPower

from simlab.errors import ParameterError
from simlab.rng import Streams
from simlab.rollouts import stats

Z975 = 1.959963984540054
Z80 = 0.8416212335729143


def test_two_proportion_z_matches_hand_calculation() -> None:
    r = stats.two_proportion_ztest(successes_a=30, n_a=1000, successes_b=50, n_b=1000)
    # pooled p = 0.04; se0 = sqrt(0.04·0.96·(2/1000)); z = 0.02/se0
    z = 0.02 / math.sqrt(0.04 * 0.96 * 2 / 1000)
    assert r.statistic == pytest.approx(z, rel=1e-12)
    assert r.p_value == pytest.approx(2 * sps.norm.sf(z), rel=1e-12)
    half = Z975 * math.sqrt(0.03 * 0.97 / 1000 + 0.05 * 0.95 / 1000)  # Wald interval, unpooled
    assert (r.ci_low, r.ci_high) == pytest.approx((0.02 - half, 0.02 + half), rel=1e-9)
    assert r.estimate == pytest.approx(0.02) and r.significant


def test_two_proportion_z_without_any_event_is_not_significant() -> None:
    r = stats.two_proportion_ztest(successes_a=0, n_a=50, successes_b=0, n_b=50)
    assert r.p_value == 1.0 and not r.significant


def test_welch_matches_hand_calculation() -> None:
    a, b = [1.0, 2, 3, 4], [2.0, 3, 4, 9]
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    se2 = va / 4 + vb / 4
    df = se2**2 / ((va / 4) ** 2 / 3 + (vb / 4) ** 2 / 3)  # Welch–Satterthwaite
    half = sps.t.ppf(0.975, df) * math.sqrt(se2)
    r = stats.welch_ttest(a, b)
    assert r.statistic == pytest.approx(2 / math.sqrt(se2), rel=1e-12)
    assert r.p_value == pytest.approx(2 * sps.t.sf(2 / math.sqrt(se2), df), rel=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((2 - half, 2 + half), rel=1e-9)


def test_hodges_lehmann_small_case_by_hand() -> None:
    # b_i − a_j = 5 + (i − j): value d appears 5 − |d − 5| times for d = 1..9 (25 differences)
    est, lo, hi = stats.hodges_lehmann([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], confidence=0.8)
    # k = ⌊25/2 − 1.2816·√(25·11/12)⌋ = ⌊6.365⌋ = 6 → d_(6) = 3 and d_(20) = 7
    assert (est, lo, hi) == (5.0, 3.0, 7.0)


def test_hodges_lehmann_of_a_pure_shift_is_the_shift() -> None:
    x = Streams(1).generator("hl").lognormal(0, 1, 40)
    est, lo, hi = stats.hodges_lehmann(x, x + 3.0, confidence=0.98)
    assert est == pytest.approx(3.0) and lo < 3.0 < hi


@pytest.mark.parametrize(("n", "m", "rounded"), [(5, 5, True), (40, 37, False), (300, 211, True), (400, 399, False)])
def test_hodges_lehmann_above_max_pairs_selects_the_same_order_statistics(n, m, rounded) -> None:
    # max_pairs=0 forces the bisection path; the reference is the median and the order statistics
    # of all n·m differences, sorted here (ties included when rounded)
    gen = Streams(3).generator(f"hl-{n}")
    a, b = gen.lognormal(0, 1, n), gen.lognormal(0.1, 1, m)
    if rounded:
        a, b = np.round(a, 1), np.round(b, 1)
    d = np.sort((b[:, None] - a[None, :]).ravel())
    k = math.floor(n * m / 2 - sps.norm.ppf(0.95) * math.sqrt(n * m * (n + m + 1) / 12))
    # equal up to the rounding of b_i − a_j (the bisection counts with a_j ≥ b_i − x, one ulp apart)
    assert stats.hodges_lehmann(a, b, confidence=0.9, max_pairs=0) == pytest.approx(
        (float(np.median(d)), d[k - 1], d[n * m - k]), rel=0, abs=1e-12)


def test_mann_whitney_uses_scipy_p_value_and_hl_interval_agrees_with_it() -> None:
    gen = Streams(2).generator("mw")
    rejections = agree = 0
    for _ in range(60):
        a, b = gen.normal(0, 1, 25), gen.normal(0.5, 1, 30)
        r = stats.mann_whitney(a, b, alpha=0.05)
        assert r.p_value == pytest.approx(sps.mannwhitneyu(b, a).pvalue)
        excludes_zero = r.ci_low > 0 or r.ci_high < 0
        rejections += r.p_value < 0.05
        agree += excludes_zero == (r.p_value < 0.05)
    assert rejections > 10 and agree >= 57  # interval and test are the same inversion, up to ties/rounding


def test_hodges_lehmann_interval_covers_at_its_level() -> None:
    gen = Streams(3).generator("cover")
    reps, shift = 400, 0.7
    a = gen.normal(0, 1, (reps, 30))
    b = gen.normal(shift, 1, (reps, 30))
    covered = sum(lo <= shift <= hi for lo, hi in (stats.hodges_lehmann(a[i], b[i], confidence=0.9)[1:]
                                                   for i in range(reps)))
    lo, hi = sps.binom.interval(0.99, reps, 0.9)
    assert lo <= covered <= hi + 6  # discrete order statistics can only over-cover slightly


def test_sample_size_matches_formula_and_statsmodels() -> None:
    n = stats.sample_size_per_arm(delta=0.01, sigma2=0.05 * 0.95)
    assert n == math.ceil(2 * (Z975 + Z80) ** 2 * 0.0475 / 0.01**2)  # = 7457
    ref = NormalIndPower().solve_power(effect_size=0.01 / math.sqrt(0.0475), alpha=0.05, power=0.8)
    assert abs(n - ref) <= 1.0
    with pytest.raises(ParameterError, match="delta"):
        stats.sample_size_per_arm(delta=0, sigma2=1)


def test_sample_size_gives_its_power_in_simulation() -> None:
    p, delta = 0.05, 0.02
    n = stats.sample_size_rates(p_base=p, delta=delta)
    gen = Streams(4).generator("power")
    reps = 4000
    xa, xb = gen.binomial(n, p, reps), gen.binomial(n, p + delta, reps)
    pool = (xa + xb) / (2 * n)
    z = (xb - xa) / n / np.sqrt(pool * (1 - pool) * 2 / n)
    hits = int((np.abs(z) > Z975).sum())
    lo, hi = sps.binom.interval(0.99, reps, 0.8)
    assert lo - 0.01 * reps <= hits <= hi + 0.01 * reps  # ±1 pp for the normal approximation


def test_msprt_lambda_is_the_facts_formula() -> None:
    n, s2, tau2, xbar = 100, 4.0, 0.5, 0.3
    facts = math.sqrt(s2 / (s2 + n * tau2)) * math.exp(n**2 * tau2 * xbar**2 / (2 * s2 * (s2 + n * tau2)))
    assert facts == pytest.approx(0.771297, rel=1e-5)  # by hand: 0.272166 · e^(450/432)
    assert float(stats.msprt_lambda(xbar, s2 / n, tau2)) == pytest.approx(facts, rel=1e-12)
    assert float(stats.msprt_lambda(0.1, 0.0, tau2)) == 1.0


def test_always_valid_p_never_rises() -> None:
    p = stats.msprt_pvalues(np.array([0.0, 0.5, 0.1, 0.9]), np.full(4, 0.04), 0.1)
    assert np.all(np.diff(p) <= 0) and p[0] == 1.0
    t = stats.SequentialTest(tau2=0.1)
    seq = [t.update(e, 0.04) for e in (0.0, 0.5, 0.1, 0.9)]
    assert seq == pytest.approx(list(p))


def _aa_streams(reps: int, n: int, looks: int, p: float, seed: int):
    gen = Streams(seed).generator("aa")
    a = gen.random((reps, n), dtype=np.float32) < p
    b = gen.random((reps, n), dtype=np.float32) < p
    idx = np.linspace(n // looks, n, looks).astype(int) - 1
    ca = np.cumsum(a, axis=1, dtype=np.int32)[:, idx]
    cb = np.cumsum(b, axis=1, dtype=np.int32)[:, idx]
    m = (idx + 1).astype(float)
    pool = (ca + cb) / (2 * m)
    var = pool * (1 - pool) * 2 / m
    est = (cb - ca) / m
    return est, var


def test_aa_peeking_inflates_false_positives_and_msprt_does_not() -> None:
    reps, n, looks, p, alpha = 2000, 4000, 40, 0.05, 0.05
    est, var = _aa_streams(reps, n, looks, p, seed=11)
    z = np.where(var > 0, est / np.sqrt(np.where(var > 0, var, 1)), 0)
    peek_fp = int((np.abs(z) > Z975).any(axis=1).sum())
    final_fp = int((np.abs(z[:, -1]) > Z975).sum())
    tau2 = stats.mixing_variance(sigma2=p * (1 - p) * 2, alpha=alpha, n_star=n)
    seq_fp = int((stats.msprt_pvalues(est, var, tau2) <= alpha).any(axis=1).sum())
    lo, hi = sps.binom.interval(0.99, reps, alpha)
    assert lo <= final_fp <= hi                 # one look: the z test holds its level
    assert peek_fp > 2 * hi                     # forty looks: far beyond α
    assert seq_fp <= hi                         # the always-valid test stays ≤ α however often it looks


def test_msprt_detects_a_real_difference() -> None:
    est, var = _aa_streams(500, 4000, 40, 0.05, seed=12)
    est = est + 0.02  # arm b's rate 2 pp higher: shift the estimate (variance barely changes)
    tau2 = stats.mixing_variance(sigma2=0.0475 * 2, alpha=0.05, n_star=4000)
    assert (stats.msprt_pvalues(est, var, tau2) <= 0.05).any(axis=1).mean() > 0.8


def test_decision_times_bookkeeping() -> None:
    gen = Streams(5).generator("stream")
    t = np.sort(gen.uniform(0, 1000, 4000))
    arm = gen.integers(0, 2, 4000)
    y = (gen.random(4000) < np.where(arm == 1, 0.12, 0.05)).astype(float)
    looks = np.arange(100, 1001, 100)
    recs = {r["method"]: r for r in stats.decision_times(t=t, arm=arm, value=y, looks=looks,
                                                         planned_n_per_arm=1000)}
    assert set(recs) == {"fixed_horizon_peeking", "fixed_horizon", "msprt"}
    fh = recs["fixed_horizon"]
    first = next(L for L in looks if ((t <= L) & (arm == 0)).sum() >= 1000 and ((t <= L) & (arm == 1)).sum() >= 1000)
    assert fh["t_s"] == first
    ka, kb = (int(((t <= first) & (arm == g) & (y == 1)).sum()) for g in (0, 1))
    na, nb = (int(((t <= first) & (arm == g)).sum()) for g in (0, 1))
    ref = stats.two_proportion_ztest(successes_a=ka, n_a=na, successes_b=kb, n_b=nb)
    assert (fh["n_a"], fh["n_b"]) == (na, nb) and fh["p_value"] == pytest.approx(ref.p_value, rel=1e-9)
    assert recs["msprt"]["t_s"] is not None and recs["fixed_horizon_peeking"]["t_s"] <= recs["msprt"]["t_s"]


def test_decision_times_rejects_bad_arms() -> None:
    with pytest.raises(ParameterError, match="arm"):
        stats.decision_times(t=[0, 1], arm=[0, 2], value=[0, 1], looks=[1])


def test_power_two_sample_matches_statsmodels() -> None:
    # equal arms, σ = 1: statsmodels' NormalIndPower (both tails counted) is the reference
    for d, n in ((0.2, 200), (0.1, 500), (0.5, 30)):
        ref = NormalIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=1.0)
        assert stats.power_two_sample(delta=d, var_a=1, var_b=1, n_a=n, n_b=n) == pytest.approx(ref, rel=1e-9)
        one = NormalIndPower().power(effect_size=d, nobs1=n, alpha=0.05, ratio=1.0, alternative="larger")
        assert stats.power_two_sample(delta=d, var_a=1, var_b=1, n_a=n, n_b=n, sided=1) == pytest.approx(one, rel=1e-9)
