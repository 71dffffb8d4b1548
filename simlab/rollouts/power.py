"""Power planning: will this canary catch the regression I care about, and how long must it bake?

For a regression (``+2`` percentage points of errors, ``+20 %`` p99 latency), a canary share ``w``
of a traffic rate ``λ`` baking for ``T`` seconds, the canary sees ``n_c = wλT`` requests and the
baseline ``n_b = (1−w)λT``. The planner gives the probability that a one-sided test at level α at
the end of the bake flags the canary, the bake that would give the target power (80 % by
default), and a warning when the configured bake is under-powered.

Models (normal approximations; each is checked against Monte Carlo in tests/test_rollouts_power.py):

- error rate: one-sided two-proportion z test with pooled variance; power
  ``Φ((δ − z₁₋α·se₀)/se₁)`` with ``se₀`` under H0 (pooled p) and ``se₁`` under the regression;
- latency quantile q: sample quantiles have variance ``q(1−q)/(n f(x_q)²)`` (f = the latency
  density at its q-quantile; a canary whose latencies are multiplied by m has density f/m at
  m·x_q), test of ``x̂_q,c − x̂_q,b`` against ``z₁₋α·se₀`` as above;
- a CloudWatch alarm on the error rate (threshold per period, M of N datapoints): each period's
  error count is binomial; the chance that some N consecutive periods inside the bake hold M
  breaching ones is computed exactly over the 2^(N−1) histories of the last periods.

Since every se is ∝ 1/√T, the bake for a target power solves in closed form:
``√T = (z₁₋α·a + z_power·b)/δ`` with ``a = se₀√T`` and ``b = se₁√T``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import stats as sps

from simlab.errors import ParameterError

__all__ = ["plan_error_rate", "plan_latency_quantile", "alarm_detection_probability"]

_OWNER = "simlab.rollouts.power"


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise ParameterError(name, _OWNER, "must be a finite number > 0", value)


def _share(canary_share: float) -> None:
    if not 0 < canary_share < 1:
        raise ParameterError("canary_share", _OWNER, "must be a number in (0, 1)", canary_share)


def _record(metric: str, regression: str, canary_share: float, rate_rps: float, bake_s: float,
            alpha: float, target: float, delta: float, a: float, b: float) -> dict:
    """Power and bake-for-target from ``se₀ = a/√T``, ``se₁ = b/√T`` (see module docstring)."""
    z_a, z_t = sps.norm.ppf(1 - alpha), sps.norm.ppf(target)
    root_t = math.sqrt(bake_s)
    power = float(sps.norm.cdf((delta * root_t - z_a * a) / b))
    bake_target = float(((z_a * a + z_t * b) / delta) ** 2)
    under = power < target
    warning = (f"under-powered: {power:.0%} chance to catch {regression} with a {canary_share:.0%} canary "
               f"baking {bake_s:g} s at {rate_rps:g} req/s; bake {bake_target:.0f} s for {target:.0%}") if under else None
    return {"metric": metric, "regression": regression, "canary_share": canary_share, "rate_rps": rate_rps,
            "bake_s": bake_s, "alpha": alpha, "n_canary": canary_share * rate_rps * bake_s,
            "n_baseline": (1 - canary_share) * rate_rps * bake_s, "se_h0": a / root_t, "se_h1": b / root_t,
            "power": power,
            "target_power": target, "bake_for_target_s": bake_target, "underpowered": under, "warning": warning}


def plan_error_rate(*, p_base: float, delta: float, canary_share: float, rate_rps: float, bake_s: float,
                    alpha: float = 0.05, target_power: float = 0.8) -> dict:
    """Chance a one-sided two-proportion z test at the end of the bake catches ``p_base → p_base+delta``.

    Returns a flat record (``power``, ``bake_for_target_s``, ``underpowered``, ``warning``, the standard
    errors of the difference without (``se_h0``) and with (``se_h1``) the regression …).
    Raises :class:`ParameterError` on values out of range.
    """
    for name, v in (("rate_rps", rate_rps), ("bake_s", bake_s), ("delta", delta)):
        _positive(name, v)
    _share(canary_share)
    p_c = p_base + delta
    if not (0 <= p_base < 1 and p_c < 1):  # p_base 0 (no error seen on the old fleet): se₁ is the canary's alone
        raise ParameterError("p_base", _OWNER, "must lie in [0, 1) and p_base + delta in (0, 1)", (p_base, delta))
    w, lam = canary_share, rate_rps
    pool = w * p_c + (1 - w) * p_base  # the pooled rate the test would see under the regression
    a = math.sqrt(pool * (1 - pool) * (1 / (w * lam) + 1 / ((1 - w) * lam)))
    b = math.sqrt(p_c * (1 - p_c) / (w * lam) + p_base * (1 - p_base) / ((1 - w) * lam))
    return _record("error_rate", f"+{delta * 100:g} pp errors", w, lam, bake_s, alpha, target_power, delta, a, b)


def plan_latency_quantile(*, latency: sps.rv_continuous, multiplier: float, canary_share: float,
                          rate_rps: float, bake_s: float, q: float = 0.99, alpha: float = 0.05,
                          target_power: float = 0.8) -> dict:
    """Chance that comparing the canary's q-quantile with the baseline's catches latency × ``multiplier``.

    ``latency`` is a frozen scipy distribution of the baseline's latencies. Returns a flat record.
    Raises :class:`ParameterError` on values out of range.
    """
    for name, v in (("rate_rps", rate_rps), ("bake_s", bake_s)):
        _positive(name, v)
    _share(canary_share)
    if not multiplier > 1:
        raise ParameterError("multiplier", _OWNER, "must be a number > 1 (a slowdown)", multiplier)
    if not 0 < q < 1:
        raise ParameterError("q", _OWNER, "must be a number in (0, 1)", q)
    x_q = float(latency.ppf(q))
    f = float(latency.pdf(x_q))
    w, lam, m = canary_share, rate_rps, multiplier
    unit = q * (1 - q) / f**2
    a = math.sqrt(unit * (1 / (w * lam) + 1 / ((1 - w) * lam)))
    b = math.sqrt(unit * (m * m / (w * lam) + 1 / ((1 - w) * lam)))
    return _record(f"latency_p{q * 100:g}", f"+{(m - 1) * 100:g} % p{q * 100:g} latency", w, lam, bake_s, alpha,
                   target_power, (m - 1) * x_q, a, b)


def alarm_detection_probability(*, error_rate: float, requests_per_period: int, threshold: float,
                                periods: int, evaluation_periods: int = 1, datapoints_to_alarm: int | None = None,
                                ) -> float:
    """Chance an alarm ``Average(errors) > threshold`` goes to ALARM within ``periods`` periods.

    Each period holds ``requests_per_period`` requests, each failing with ``error_rate``; a period
    breaches when its error share exceeds ``threshold``. The alarm fires at the first period that
    ends a window of ``evaluation_periods`` periods holding ≥ ``datapoints_to_alarm`` breaches
    (CloudWatch M of N; default M = N). Exact over the histories of the last N−1 periods.
    """
    n_eval = evaluation_periods
    m = n_eval if datapoints_to_alarm is None else datapoints_to_alarm
    if not (1 <= m <= n_eval <= 12):
        raise ParameterError("datapoints_to_alarm", _OWNER, "must satisfy 1 ≤ M ≤ N ≤ 12", (m, n_eval))
    if not (isinstance(requests_per_period, int) and requests_per_period >= 1):
        raise ParameterError("requests_per_period", _OWNER, "must be an integer ≥ 1", requests_per_period)
    if not 0 <= error_rate <= 1:
        raise ParameterError("error_rate", _OWNER, "must be a number in [0, 1]", error_rate)
    # P(errors / n > threshold) = P(errors > ⌊threshold·n⌋)
    breach = float(sps.binom.sf(math.floor(threshold * requests_per_period + 1e-12), requests_per_period, error_rate))
    return _survive(breach, m, n_eval, periods)


def _survive(breach: float, m: int, n_eval: int, periods: int) -> float:
    """1 − P(no window of n_eval periods with ≥ m breaches in ``periods`` Bernoulli(breach) periods)."""
    keep = n_eval - 1  # bits of history that matter for the next window
    mask = (1 << keep) - 1 if keep else 0
    states = {0: 1.0}  # history bitmask (last `keep` periods) → probability, alarm not yet fired
    for _ in range(periods):
        nxt: dict[int, float] = {}
        for hist, pr in states.items():
            for bit, pb in ((1, breach), (0, 1 - breach)):
                if pb == 0:
                    continue
                window = ((hist << 1) | bit) & ((1 << n_eval) - 1)
                if _popcount(window) >= m:
                    continue  # fired: leaves the not-yet-fired mass
                key = window & mask
                nxt[key] = nxt.get(key, 0.0) + pr * pb
        states = nxt
    return 1.0 - sum(states.values())


@lru_cache(maxsize=4096)
def _popcount(x: int) -> int:
    return bin(x).count("1")
