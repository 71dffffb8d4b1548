"""Queueing theory used to check the simulator (tests) and to size fleets (labs, decision engine).

All rates are per second; times in seconds.
"""

from __future__ import annotations

import math

__all__ = ["erlang_c", "mmc_mean_wait", "mmc_wait_tail", "mmc_wait_quantile", "mg1_mean_wait",
           "md1_mean_wait", "min_servers_for_p99"]


def _check(lam: float, mu: float, c: int) -> float:
    if lam < 0 or mu <= 0 or c < 1:
        raise ValueError(f"need λ ≥ 0, μ > 0, c ≥ 1; got λ={lam}, μ={mu}, c={c}")
    rho = lam / (c * mu)
    if rho >= 1:
        raise ValueError(f"unstable queue: ρ = λ/(cμ) = {rho:.3f} ≥ 1")
    return rho


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in an M/M/c queue with offered load ``a = λ/μ`` (Erlang C formula).

    Raises:
        ValueError: when ``a ≥ c`` (no steady state).
    """
    if a >= c:
        raise ValueError(f"unstable queue: offered load {a} ≥ servers {c}")
    if a == 0:
        return 0.0
    # numerically stable: Erlang B by recursion, then C from B
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho + rho * b)


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue Wq of M/M/c. Raises ValueError if unstable."""
    _check(lam, mu, c)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_wait_tail(t: float, lam: float, mu: float, c: int) -> float:
    """P(Wq > t) = C(c, a)·exp(−(cμ − λ)t) for M/M/c (FIFO)."""
    _check(lam, mu, c)
    return erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def mmc_wait_quantile(q: float, lam: float, mu: float, c: int) -> float:
    """The q-quantile of the waiting time in M/M/c (0 when P(wait) ≤ 1 − q)."""
    _check(lam, mu, c)
    pw = erlang_c(c, lam / mu)
    if pw <= 1 - q:
        return 0.0
    return math.log(pw / (1 - q)) / (c * mu - lam)


def mg1_mean_wait(lam: float, mean_s: float, second_moment_s: float) -> float:
    """Pollaczek–Khinchine mean wait of M/G/1: Wq = λE[S²] / (2(1 − ρ))."""
    rho = lam * mean_s
    if rho >= 1:
        raise ValueError(f"unstable queue: ρ = {rho:.3f} ≥ 1")
    return lam * second_moment_s / (2 * (1 - rho))


def md1_mean_wait(lam: float, service_s: float) -> float:
    """M/D/1 mean wait (P–K with E[S²] = s²): ρ·s / (2(1 − ρ))."""
    return mg1_mean_wait(lam, service_s, service_s * service_s)


def min_servers_for_p99(lam: float, mu: float, wait_p99_s: float, *, c_max: int = 10_000) -> int:
    """Smallest c whose M/M/c 99th-percentile wait is ≤ ``wait_p99_s``."""
    c = max(1, math.floor(lam / mu) + 1)
    while c <= c_max:
        if mmc_wait_quantile(0.99, lam, mu, c) <= wait_p99_s:
            return c
        c += 1
    raise ValueError(f"no c ≤ {c_max} meets the target")
