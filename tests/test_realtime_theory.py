"""The real-time endpoint against queueing theory, over several seeded replications.

Each check runs R independent replications (seeds 1..R) and asserts that theory lies inside the
replications' 99.9 % Student-t confidence interval, and that the interval is tight (half-width
below a stated fraction of the theoretical value) so the test has the power to fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import rt, run, scenario
from scipy import stats

from simlab import theory

R = 10  # replications
CONFIDENCE = 0.999


def replicate(raw: dict, metric) -> np.ndarray:
    return np.array([metric(run(raw, seed=s)) for s in range(1, R + 1)])


def assert_matches(samples: np.ndarray, expected: float, max_rel_halfwidth: float) -> None:
    mean = samples.mean()
    half = stats.t.ppf(1 - (1 - CONFIDENCE) / 2, len(samples) - 1) * samples.std(ddof=1) / math.sqrt(len(samples))
    assert half < max_rel_halfwidth * expected, f"interval too wide to test: ±{half:.4g} around {mean:.4g}"
    assert abs(mean - expected) <= half, f"theory {expected:.5g} outside {mean:.5g} ± {half:.4g}"


def mean_wait_s(res) -> float:
    req = res.requests
    return float(req.loc[req.measured & (req.outcome == "completed"), "wait_ms"].mean() / 1000)


def p_wait(res) -> float:
    req = res.requests
    done = req.loc[req.measured & (req.outcome == "completed")]
    return float((done.wait_ms > 1e-9).mean())


def mmc(c: int, rho: float, *, service_ms: float = 10.0, n_requests: int = 200_000) -> dict:
    lam = rho * c * 1000.0 / service_ms
    duration = n_requests / lam
    return scenario(rt(workers_per_instance=c, service_time={"dist": "exponential", "mean_ms": service_ms}),
                    rate=lam, duration=duration, warmup=duration * 0.05)


@pytest.mark.parametrize("c", [1, 4])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_mmc_mean_wait_matches_erlang_c(c: int, rho: float) -> None:
    raw = mmc(c, rho, n_requests=300_000 if rho >= 0.9 else 150_000)
    lam, mu = rho * c * 100.0, 100.0
    assert_matches(replicate(raw, mean_wait_s), theory.mmc_mean_wait(lam, mu, c), max_rel_halfwidth=0.12)


@pytest.mark.parametrize("c", [1, 4])
@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_mmc_probability_of_waiting_matches_erlang_c(c: int, rho: float) -> None:
    raw = mmc(c, rho, n_requests=100_000)
    assert_matches(replicate(raw, p_wait), theory.erlang_c(c, rho * c), max_rel_halfwidth=0.05)


@pytest.mark.parametrize("rho", [0.5, 0.8, 0.9])
def test_md1_mean_wait_matches_pollaczek_khinchine(rho: float) -> None:
    service_s = 0.010
    lam = rho / service_s
    n = 200_000
    raw = scenario(rt(service_time={"dist": "fixed", "mean_ms": 10}), rate=lam, duration=n / lam, warmup=n / lam * 0.05)
    assert_matches(replicate(raw, mean_wait_s), theory.md1_mean_wait(lam, service_s), max_rel_halfwidth=0.12)


def test_mg1_lognormal_mean_wait_matches_pollaczek_khinchine() -> None:
    rho, mean_s, cv = 0.7, 0.010, 0.5
    lam = rho / mean_s
    n = 200_000
    raw = scenario(rt(service_time={"dist": "lognormal", "mean_ms": 10, "cv": cv}), rate=lam,
                   duration=n / lam, warmup=n / lam * 0.05)
    expected = theory.mg1_mean_wait(lam, mean_s, mean_s**2 * (1 + cv**2))
    assert_matches(replicate(raw, mean_wait_s), expected, max_rel_halfwidth=0.10)


def number_in_system(res, grid: np.ndarray) -> np.ndarray:
    """N(t) on a grid, from the counting processes: arrived by t − finished by t."""
    req = res.requests
    arrived = np.searchsorted(np.sort(req.t_arrival.to_numpy()), grid, side="right")
    done = np.searchsorted(np.sort(req.t_done.dropna().to_numpy()), grid, side="right")
    return arrived - done


@pytest.mark.parametrize("c", [1, 3])
def test_time_average_number_in_system_matches_littles_law_with_erlang_c(c: int) -> None:
    """L measured from the counting processes (not from sojourn times) = λ·(Wq + 1/μ) of M/M/c."""
    rho, mu = 0.8, 100.0
    lam = rho * c * mu
    n = 150_000
    duration = n / lam
    raw = scenario(rt(workers_per_instance=c), rate=lam, duration=duration, warmup=0)
    grid = np.linspace(duration * 0.05, duration, 200_000)
    L = replicate(raw, lambda res: float(number_in_system(res, grid).mean()))
    expected = lam * (theory.mmc_mean_wait(lam, mu, c) + 1 / mu)
    assert_matches(L, expected, max_rel_halfwidth=0.12)


def test_random_routing_over_c_instances_is_c_independent_mm1_queues() -> None:
    """RANDOM routing splits Poisson traffic into c Poisson streams: each instance is M/M/1."""
    c, rho = 3, 0.7
    lam = rho * c * 100.0
    n = 150_000
    raw = scenario(rt(instance_count=c, routing="RANDOM"), rate=lam, duration=n / lam, warmup=n / lam * 0.05)
    assert_matches(replicate(raw, mean_wait_s), theory.mmc_mean_wait(rho * 100.0, 100.0, 1), max_rel_halfwidth=0.12)


def test_least_outstanding_requests_waits_less_than_random() -> None:
    """Join-the-shortest-queue sits between M/M/c (pooled) and c × M/M/1 (random split)."""
    c, rho = 3, 0.8
    lam = rho * c * 100.0
    base = dict(instance_count=c)
    w = {}
    for routing in ("RANDOM", "LEAST_OUTSTANDING_REQUESTS"):
        raw = scenario(rt(routing=routing, **base), rate=lam, duration=600, warmup=60)
        w[routing] = np.mean([mean_wait_s(run(raw, seed=s)) for s in (1, 2, 3)])
    pooled = theory.mmc_mean_wait(lam, 100.0, c)
    split = theory.mmc_mean_wait(lam / c, 100.0, 1)
    assert pooled < w["LEAST_OUTSTANDING_REQUESTS"] < w["RANDOM"]
    assert w["RANDOM"] == pytest.approx(split, rel=0.15)


def wait_quantile_s(q: float):
    def metric(res) -> float:
        req = res.requests
        done = req.loc[req.measured & (req.outcome == "completed")]
        return float(np.percentile(done.wait_ms, 100 * q) / 1000)
    return metric


@pytest.mark.parametrize(("c", "rho", "q"), [(1, 0.8, 0.99), (4, 0.85, 0.99), (4, 0.85, 0.95)])
def test_mmc_wait_quantile_matches_simulation(c: int, rho: float, q: float) -> None:
    """theory.mmc_wait_quantile (used by the decision engine to size endpoints) against the
    simulated q-quantile of the wait, over R seeds."""
    raw = mmc(c, rho, n_requests=150_000)
    lam, mu = rho * c * 100.0, 100.0
    expected = theory.mmc_wait_quantile(q, lam, mu, c)
    assert expected > 0
    assert_matches(replicate(raw, wait_quantile_s(q)), expected, max_rel_halfwidth=0.15)


def test_min_servers_for_p99_is_the_smallest_fleet_the_simulation_agrees_with() -> None:
    """λ = 330/s on 10 ms requests (offered load 3.3): choose a p99-wait target between the theory's
    p99 for 4 and 5 workers. min_servers_for_p99 answers 5; the simulation's p99 (R seeds, 99.9 %
    interval) is below the target with 5 workers and above it with 4."""
    lam, mu = 330.0, 100.0
    q4, q5 = theory.mmc_wait_quantile(0.99, lam, mu, 4), theory.mmc_wait_quantile(0.99, lam, mu, 5)
    target = math.sqrt(q4 * q5)  # q4 ≈ 0.059 s, q5 ≈ 0.020 s: well apart
    assert theory.min_servers_for_p99(lam, mu, target) == 5
    for c, below in ((5, True), (4, False)):
        raw = scenario(rt(workers_per_instance=c, service_time={"dist": "exponential", "mean_ms": 10}),
                       rate=lam, duration=400, warmup=20)
        p99 = replicate(raw, wait_quantile_s(0.99))
        half = stats.t.ppf(1 - (1 - CONFIDENCE) / 2, R - 1) * p99.std(ddof=1) / math.sqrt(R)
        if below:
            assert p99.mean() + half < target, (c, p99.mean(), half, target)
        else:
            assert p99.mean() - half > target, (c, p99.mean(), half, target)
