"""A/B and canary statistics: fixed-horizon tests, sample sizes and the always-valid mSPRT.

Every two-arm function takes arm ``a`` as the baseline (control, blue) and arm ``b`` as the
treatment (canary, green); effects are ``b − a``. Results are flat :class:`Comparison` records.

Libraries do the work where they can: statsmodels for the two-proportion z test and its interval,
scipy.stats for Welch's t test (with its interval) and Mann–Whitney's U test. Two things are
written here because neither library has them: the Hodges–Lehmann shift estimate with its
distribution-free interval (R's ``wilcox.test(conf.int=TRUE)`` and Kayenta compute it; scipy does
not), and the mixture sequential probability ratio test of Johari et al., "Peeking at A/B Tests"
(KDD 2017), whose formula is in the facts file (shared/facts/rollouts.md, "A/B statistics").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from simlab.errors import ParameterError

__all__ = [
    "Comparison", "two_proportion_ztest", "welch_ttest", "mann_whitney", "hodges_lehmann",
    "sample_size_per_arm", "sample_size_rates", "power_two_sample", "mixing_variance",
    "msprt_lambda", "msprt_pvalues", "SequentialTest", "decision_times",
]

_OWNER = "simlab.rollouts.stats"
#: up to this many n·m differences the Hodges–Lehmann interval materialises them (8 bytes each:
#: 40 MB); above, it selects the order statistics it needs without materialising them
MAX_PAIRS = 5_000_000


@dataclass(frozen=True)
class Comparison:
    """One fixed-horizon test: effect ``b − a``, its interval, the statistic and the p-value."""

    test: str
    estimate: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    n_a: int
    n_b: int
    alpha: float

    def record(self) -> dict:
        """A flat dict ready for a DataFrame row."""
        return asdict(self)

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha


def _check_alpha(alpha: float, owner: str = _OWNER) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise ParameterError("alpha", owner, "must be a number in (0, 1)", alpha)


def _as_sample(x: object, name: str, *, min_len: int = 1) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    if arr.size < min_len or not np.all(np.isfinite(arr)):
        raise ParameterError(name, _OWNER, f"must be at least {min_len} finite numbers", f"{arr.size} values")
    return arr


# -- fixed-horizon tests ------------------------------------------------------------------------
def two_proportion_ztest(*, successes_a: int, n_a: int, successes_b: int, n_b: int,
                         alpha: float = 0.05) -> Comparison:
    """Two-sided two-proportion z test (pooled variance) and a Wald interval for ``p_b − p_a``.

    Raises :class:`~simlab.errors.ParameterError` for counts outside ``0 ≤ successes ≤ n``, ``n ≥ 1``.
    """
    _check_alpha(alpha)
    for name, k, n in (("successes_a", successes_a, n_a), ("successes_b", successes_b, n_b)):
        if not (isinstance(n, int | np.integer) and n >= 1):
            raise ParameterError("n_" + name[-1], _OWNER, "must be an integer ≥ 1", n)
        if not (isinstance(k, int | np.integer) and 0 <= k <= n):
            raise ParameterError(name, _OWNER, f"must be an integer in [0, {n}]", k)
    pooled = (successes_a + successes_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):  # no variance at all: the two arms cannot be told apart
        z, p = 0.0, 1.0
    else:
        z, p = proportions_ztest([successes_b, successes_a], [n_b, n_a], alternative="two-sided")
    lo, hi = confint_proportions_2indep(successes_b, n_b, successes_a, n_a, method="wald",
                                        compare="diff", alpha=alpha)
    return Comparison("two_proportion_z", successes_b / n_b - successes_a / n_a, float(lo), float(hi),
                      float(z), float(p), int(n_a), int(n_b), alpha)


def welch_ttest(a: object, b: object, *, alpha: float = 0.05) -> Comparison:
    """Welch's unequal-variance t test of ``mean(b) − mean(a)`` with its (1 − α) interval."""
    _check_alpha(alpha)
    xa, xb = _as_sample(a, "a", min_len=2), _as_sample(b, "b", min_len=2)
    res = sps.ttest_ind(xb, xa, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return Comparison("welch_t", float(xb.mean() - xa.mean()), float(ci.low), float(ci.high),
                      float(res.statistic), float(res.pvalue), xa.size, xb.size, alpha)


def _select_differences(a: np.ndarray, b: np.ndarray, ranks: list[int], *, enumerate_below: int = 1000) -> list[float]:
    """The order statistics ``d_(k)`` (1-based ranks) of the n·m differences ``b_i − a_j`` without
    materialising them: bisection on the value, counting ``#{d ≤ x} = Σ_i #{a_j ≥ b_i − x}`` with
    ``searchsorted`` on sorted ``a`` (O((n+m) log m) per count), until at most ``enumerate_below``
    differences lie between the bounds; those are listed and the rank picked — exact up to the
    rounding of ``b_i − a_j`` (the count compares ``a_j`` with ``b_i − x``)."""
    a = np.sort(a)
    m = a.size

    def count(x: float) -> int:
        return int(m * b.size - np.searchsorted(a, b - x, side="left").sum())

    out = []
    for k in ranks:
        lo, hi = float(b.min() - a.max()) - 1.0, float(b.max() - a.min())
        c_lo, c_hi = 0, count(hi)
        while c_hi - c_lo > enumerate_below:
            mid = lo + (hi - lo) / 2
            if mid <= lo or mid >= hi:  # adjacent floats: every difference left in (lo, hi] equals hi
                break
            c = count(mid)
            if c >= k:
                hi, c_hi = mid, c
            else:
                lo, c_lo = mid, c
        if c_hi - c_lo > enumerate_below:
            out.append(hi)
            continue
        j0, j1 = np.searchsorted(a, b - hi, side="left"), np.searchsorted(a, b - lo, side="left")
        between = np.concatenate([b[i] - a[j0[i]:j1[i]] for i in np.flatnonzero(j1 > j0)] or [np.empty(0)])
        out.append(float(np.sort(between)[k - c_lo - 1]))
    return out


def hodges_lehmann(a: object, b: object, *, confidence: float = 0.95,
                   max_pairs: int = MAX_PAIRS) -> tuple[float, float, float]:
    """Hodges–Lehmann shift estimate of ``b − a`` and its distribution-free interval.

    Returns ``(estimate, low, high)``: the median of the n·m differences ``b_i − a_j`` and the
    order statistics ``d_(k)``, ``d_(nm+1−k)`` with ``k = ⌊nm/2 − z·√(nm(n+m+1)/12)⌋`` (the
    normal approximation of the U statistic's distribution, as R's ``wilcox.test`` uses for large
    samples). Hand-written: scipy.stats has no HL estimator. When ``k < 1`` (samples too small for
    the confidence asked) the interval is unbounded. Above ``max_pairs`` differences the order
    statistics are selected by bisection (:func:`_select_differences`) instead of materialised.
    Raises :class:`ParameterError` on an empty or non-finite sample.
    """
    xa, xb = _as_sample(a, "a"), _as_sample(b, "b")
    if not 0 < confidence < 1:
        raise ParameterError("confidence", _OWNER, "must be a number in (0, 1)", confidence)
    nm = xa.size * xb.size
    z = sps.norm.ppf(0.5 + confidence / 2)
    k = math.floor(nm / 2 - z * math.sqrt(nm * (xa.size + xb.size + 1) / 12))
    if nm > max_pairs:
        mid = [nm // 2, nm // 2 + 1] if nm % 2 == 0 else [(nm + 1) // 2]
        sel = _select_differences(xa, xb, mid + ([k, nm + 1 - k] if k >= 1 else []))
        estimate = float(np.mean(sel[: len(mid)]))
        return (estimate, -math.inf, math.inf) if k < 1 else (estimate, sel[-2], sel[-1])
    d = (xb[:, None] - xa[None, :]).ravel()
    estimate = float(np.median(d))
    if k < 1:
        return estimate, -math.inf, math.inf
    lo_hi = np.partition(d, (k - 1, nm - k))
    return estimate, float(lo_hi[k - 1]), float(lo_hi[nm - k])


def mann_whitney(a: object, b: object, *, alpha: float = 0.05) -> Comparison:
    """Two-sided Mann–Whitney U test (scipy) with the Hodges–Lehmann shift and its interval.

    ``statistic`` is U of sample ``b``; the estimate is the HL shift of ``b − a``.
    """
    _check_alpha(alpha)
    xa, xb = _as_sample(a, "a"), _as_sample(b, "b")
    res = sps.mannwhitneyu(xb, xa, alternative="two-sided")
    est, lo, hi = hodges_lehmann(xa, xb, confidence=1 - alpha)
    return Comparison("mann_whitney", est, lo, hi, float(res.statistic), float(res.pvalue),
                      xa.size, xb.size, alpha)


# -- sample size and power ------------------------------------------------------------------------
def sample_size_per_arm(*, delta: float, sigma2: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Observations per arm for a two-sided fixed-horizon test: ``2 (z₁₋α/₂ + z₁₋β)² σ² / δ²``.

    ``sigma2`` is the per-observation variance (``p(1−p)`` for a rate). Rounded up.
    Raises :class:`ParameterError` for ``delta == 0`` or ``sigma2 ≤ 0``.
    """
    _check_alpha(alpha)
    if not 0 < power < 1:
        raise ParameterError("power", _OWNER, "must be a number in (0, 1)", power)
    if not delta or not math.isfinite(delta):
        raise ParameterError("delta", _OWNER, "must be a non-zero finite number", delta)
    if not sigma2 > 0:
        raise ParameterError("sigma2", _OWNER, "must be a number > 0", sigma2)
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return math.ceil(2 * z * z * sigma2 / delta**2)


def sample_size_rates(*, p_base: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Per-arm sample size to detect ``p_base → p_base + delta``; σ² is the two arms' mean p(1−p)."""
    p2 = p_base + delta
    if not (0 < p_base < 1 and 0 < p2 < 1):
        raise ParameterError("p_base", _OWNER, "and p_base + delta must lie in (0, 1)", (p_base, delta))
    sigma2 = (p_base * (1 - p_base) + p2 * (1 - p2)) / 2
    return sample_size_per_arm(delta=delta, sigma2=sigma2, alpha=alpha, power=power)


def power_two_sample(*, delta: float, var_a: float, var_b: float, n_a: float, n_b: float,
                     alpha: float = 0.05, sided: Literal[1, 2] = 2) -> float:
    """Normal-approximation power of a z test of ``b − a`` with per-observation variances.

    Two-sided power counts both rejection regions; one-sided (``sided=1``) tests ``b − a > 0``
    when ``delta > 0`` (the direction of ``delta``).
    """
    _check_alpha(alpha)
    if n_a <= 0 or n_b <= 0:
        return 0.0
    se = math.sqrt(var_a / n_a + var_b / n_b)
    if se == 0:
        return 1.0 if delta else 0.0
    shift = abs(delta) / se
    if sided == 1:
        return float(sps.norm.cdf(shift - sps.norm.ppf(1 - alpha)))
    z = sps.norm.ppf(1 - alpha / 2)
    return float(sps.norm.cdf(shift - z) + sps.norm.cdf(-shift - z))


# -- sequential: mSPRT ---------------------------------------------------------------------------
def mixing_variance(*, sigma2: float, alpha: float = 0.05, n_star: float = 5000) -> float:
    """GrowthBook's tuning of the mixing variance: ``τ² = ρ² σ²`` with
    ``ρ² = (−2 ln α + ln(−2 ln α + 1)) / N*`` (facts file; N* default 5000)."""
    _check_alpha(alpha)
    two_ln = -2 * math.log(alpha)
    return (two_ln + math.log(two_ln + 1)) / n_star * sigma2


def msprt_lambda(estimate: np.ndarray | float, variance: np.ndarray | float, tau2: float,
                 theta0: float = 0.0) -> np.ndarray:
    """Mixture likelihood ratio Λ for an estimate with sampling variance ``V``.

    ``Λ = √(V/(V+τ²)) · exp(τ² (est − θ₀)² / (2 V (V+τ²)))``. With ``V = σ²/n`` and ``est = X̄ₙ``
    this is the facts file's ``√(σ²/(σ²+nτ²)) · exp(n²τ²(X̄ₙ−θ₀)² / (2σ²(σ²+nτ²)))``; written in
    ``V`` it also covers two arms of unequal size (``V = σa²/na + σb²/nb``). ``V = 0`` (no variance
    seen yet) gives Λ = 1: no evidence. Works elementwise on arrays.
    """
    est = np.asarray(estimate, dtype=float)
    v = np.asarray(variance, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lam = np.sqrt(v / (v + tau2)) * np.exp(tau2 * (est - theta0) ** 2 / (2 * v * (v + tau2)))
    return np.where(v > 0, lam, 1.0)


def msprt_pvalues(estimate: np.ndarray, variance: np.ndarray, tau2: float, theta0: float = 0.0) -> np.ndarray:
    """Always-valid p-values along the last axis: ``p̃ₙ = min(p̃ₙ₋₁, 1/Λₙ)``, starting at 1."""
    lam = msprt_lambda(estimate, variance, tau2, theta0)
    return np.minimum.accumulate(np.minimum(1.0, 1.0 / lam), axis=-1)


class SequentialTest:
    """An mSPRT updated as data arrives; ``p_value`` stays valid however often it is read.

    ``tau2`` is the mixing variance on the scale of the estimate's per-observation variance
    (see :func:`mixing_variance`). Call :meth:`update` with the current estimate of ``b − a`` and
    its sampling variance; it returns the always-valid p-value.
    """

    def __init__(self, *, tau2: float, alpha: float = 0.05, theta0: float = 0.0) -> None:
        _check_alpha(alpha, "SequentialTest")
        if not tau2 > 0:
            raise ParameterError("tau2", "SequentialTest", "must be a number > 0", tau2)
        self.tau2, self.alpha, self.theta0 = float(tau2), float(alpha), float(theta0)
        self.p_value = 1.0
        self.looks = 0

    def update(self, estimate: float, variance: float) -> float:
        """Fold in one look; returns the running always-valid p-value."""
        lam = float(msprt_lambda(estimate, variance, self.tau2, self.theta0))
        self.p_value = min(self.p_value, 1.0 / lam)
        self.looks += 1
        return self.p_value

    @property
    def rejected(self) -> bool:
        """True once Λ ≥ 1/α (equivalently p̃ ≤ α)."""
        return self.p_value <= self.alpha


# -- when each method would declare a winner ------------------------------------------------------
def _cumulative(t: np.ndarray, arm: np.ndarray, value: np.ndarray, looks: np.ndarray):
    order = np.argsort(t, kind="stable")
    t, arm, value = t[order], arm[order], value[order]
    idx = np.searchsorted(t, looks, side="right")  # observations with time ≤ look
    out = []
    for which in (0, 1):
        m = (arm == which).astype(float)
        n = np.concatenate([[0.0], np.cumsum(m)])[idx]
        s = np.concatenate([[0.0], np.cumsum(m * value)])[idx]
        s2 = np.concatenate([[0.0], np.cumsum(m * value * value)])[idx]
        out.append((n, s, s2))
    return out


def decision_times(*, t: object, arm: object, value: object, looks: object,
                   kind: Literal["rate", "mean"] = "rate", alpha: float = 0.05,
                   planned_n_per_arm: int | None = None, n_star: float = 5000) -> list[dict]:
    """The first look at which each method declares a difference between arms 0 (a) and 1 (b).

    ``t`` are observation times (s), ``arm`` 0 or 1, ``value`` 0/1 outcomes (``kind="rate"``) or
    numbers (``kind="mean"``); ``looks`` the times the analyst looks. Methods (one record each):

    - ``fixed_horizon_peeking``: a z test at α at every look (invalid: inflates false positives);
    - ``fixed_horizon``: one z test at the first look where both arms reach ``planned_n_per_arm``;
    - ``msprt``: the always-valid p-value at every look, rejecting when p̃ ≤ α; τ² from
      :func:`mixing_variance` with the pooled variance at the first look with data in both arms.

    Each record: ``method, t_s (None: never), n_a, n_b, estimate, p_value`` (at the decision, or at
    the last look). The z statistics use the pooled variance for rates and the unpooled
    (Welch-like, normal reference) variance for means.
    """
    _check_alpha(alpha, "decision_times")
    tt, aa, vv = (np.asarray(x, dtype=float).ravel() for x in (t, arm, value))
    lk = np.sort(np.asarray(looks, dtype=float).ravel())
    if not (tt.size == aa.size == vv.size) or lk.size == 0:
        raise ParameterError("t", "decision_times", "t, arm and value must have equal length; looks non-empty",
                             (tt.size, aa.size, vv.size, lk.size))
    if not np.isin(aa, (0, 1)).all():
        raise ParameterError("arm", "decision_times", "must hold only 0 (a) and 1 (b)", np.unique(aa)[:5])
    (na, sa, s2a), (nb, sb, s2b) = _cumulative(tt, aa.astype(int), vv, lk)
    with np.errstate(divide="ignore", invalid="ignore"):
        ma, mb = sa / na, sb / nb
        est = mb - ma
        if kind == "rate":
            pool = (sa + sb) / (na + nb)
            var_obs = pool * (1 - pool)
            var = var_obs * (1 / na + 1 / nb)
        else:
            va = (s2a - na * ma * ma) / (na - 1)
            vb = (s2b - nb * mb * mb) / (nb - 1)
            var_obs = (va + vb) / 2
            var = va / na + vb / nb
        ok = (na > 1) & (nb > 1) & np.isfinite(var) & (var > 0)
        z = np.where(ok, est / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    p_fixed = np.where(ok, 2 * sps.norm.sf(np.abs(z)), 1.0)
    first_ok = int(np.argmax(ok)) if ok.any() else None
    tau2 = mixing_variance(sigma2=float(var_obs[first_ok]) if first_ok is not None else 1.0,
                           alpha=alpha, n_star=n_star)
    p_seq = msprt_pvalues(np.where(ok, est, 0.0), np.where(ok, var, 0.0), tau2)

    def record(method: str, hits: np.ndarray, p: np.ndarray) -> dict:
        i = int(np.argmax(hits)) if hits.any() else lk.size - 1
        return {"method": method, "t_s": float(lk[i]) if hits.any() else None, "n_a": int(na[i]),
                "n_b": int(nb[i]), "estimate": float(est[i]) if ok[i] else None, "p_value": float(p[i])}

    out = [record("fixed_horizon_peeking", ok & (p_fixed < alpha), p_fixed)]
    if planned_n_per_arm is not None:
        reached = (na >= planned_n_per_arm) & (nb >= planned_n_per_arm)
        only = np.zeros_like(reached)
        if reached.any():
            only[int(np.argmax(reached))] = True
        hit = only & ok & (p_fixed < alpha)
        rec = record("fixed_horizon", hit, p_fixed)
        if not hit.any() and reached.any():
            i = int(np.argmax(reached))
            rec.update(n_a=int(na[i]), n_b=int(nb[i]), p_value=float(p_fixed[i]),
                       estimate=float(est[i]) if ok[i] else None)
        out.append(rec)
    out.append(record("msprt", p_seq <= alpha, p_seq))
    return out
