"""Arrival processes, distribution specs and random streams."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from helpers import rt, run, scenario
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from simlab.distributions import Dist, DistSpec
from simlab.rng import Streams
from simlab.scenario import scenario_from_dict
from simlab.schema import Invalid
from simlab.simulation import Simulation

DAY = 86400.0


def arrivals(workload: dict, duration: float, seed: int = 1) -> np.ndarray:
    return Simulation(scenario_from_dict(scenario(rt(), duration=duration, workload=workload)), seed=seed).workload.t


def rate_ci(count: int, expected_mean: float, k: float = 4.0) -> bool:
    """Count within k standard deviations of a Poisson mean."""
    return abs(count - expected_mean) <= k * np.sqrt(expected_mean)


def test_poisson_count_and_gaps() -> None:
    t = arrivals({"arrivals": "poisson", "rate_per_s": 5}, 20_000)
    assert rate_ci(t.size, 100_000)
    gaps = np.diff(t)
    assert np.all(gaps >= 0)
    assert gaps.mean() == pytest.approx(0.2, rel=0.02)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.03)  # exponential gaps


def test_diurnal_mean_rate_and_peak_position() -> None:
    t = arrivals({"arrivals": "diurnal", "trough_rate_per_s": 0.5, "peak_rate_per_s": 2.5, "peak_at": "14h"}, 4 * DAY)
    assert rate_ci(t.size, 1.5 * 4 * DAY)
    hours = np.bincount(((t % DAY) // 3600).astype(int), minlength=24)
    assert hours.argmax() in (13, 14) and hours.argmin() in (1, 2)


def test_bursty_mean_rate_is_the_on_fraction_times_rate() -> None:
    wl = {"arrivals": "bursty", "rate_per_s": 10, "off_rate_per_s": 0.5, "mean_on": "2m", "mean_off": "8m"}
    counts = [arrivals(wl, 20 * DAY, seed=s).size for s in (1, 2, 3)]
    expected = (0.2 * 10 + 0.8 * 0.5) * 20 * DAY
    assert np.mean(counts) == pytest.approx(expected, rel=0.05)
    # over-dispersed compared with Poisson: per-minute counts have variance ≫ mean
    per_min = np.bincount((arrivals(wl, DAY) // 60).astype(int))
    assert per_min.var() > 3 * per_min.mean()


def test_schedule_is_exact() -> None:
    t = arrivals({"arrivals": "schedule", "times": ["2h", "14h30m"], "requests_per_event": 3}, 2 * DAY)
    assert t.tolist() == [7200.0] * 3 + [52200.0] * 3 + [DAY + 7200.0] * 3 + [DAY + 52200.0] * 3
    t = arrivals({"arrivals": "schedule", "per_day": 4}, DAY)
    assert t.tolist() == [0.0, 21600.0, 43200.0, 64800.0]


def test_trace_is_replayed_exactly(tmp_path) -> None:
    (tmp_path / "t.csv").write_text("timestamp,extra\n3.5,a\n1.25,b\n99,c\n4000,d\n")
    raw = scenario(rt(), duration=3600, workload={"arrivals": "trace", "file": "t.csv"})
    sc = scenario_from_dict(raw, file="s.yaml", base_dir=tmp_path)
    assert Simulation(sc, seed=1).workload.t.tolist() == [1.25, 3.5, 99.0]  # sorted, beyond duration dropped


def test_rows_come_from_the_serve_split() -> None:
    from simlab.zoo import dataset

    sim = Simulation(scenario_from_dict(scenario(rt(), duration=600)), seed=2)
    assert np.isin(sim.workload.row, dataset("breast_cancer_logreg").serve_idx).all()


@pytest.mark.parametrize(("raw", "mean", "cv"), [
    ({"dist": "exponential", "mean_ms": 40}, 0.040, 1.0),
    ({"dist": "lognormal", "mean_ms": 40, "cv": 0.5}, 0.040, 0.5),
    ({"dist": "gamma", "mean_ms": 40, "cv": 2.0}, 0.040, 2.0),
    ({"dist": "uniform", "min_ms": 10, "max_ms": 30}, 0.020, 10 / np.sqrt(3) / 20),
    (25, 0.025, 0.0),
])
def test_distribution_moments(raw, mean: float, cv: float) -> None:
    d = DistSpec().convert(raw, "x")
    x = d.sample(np.random.default_rng(5), 400_000)
    assert x.mean() == pytest.approx(mean, rel=0.01)
    assert x.std() / x.mean() == pytest.approx(cv, rel=0.03, abs=1e-9)
    assert (x**2).mean() == pytest.approx(d.second_moment, rel=0.05)


# Highest p99/mean each fit can reach, worked out here from scipy.stats rather than the fit's code:
# a lognormal with mean m and log-sd s has p99/m = exp(z99·s − s²/2), largest at s = z99;
# the gamma fit searches shapes k ≥ 0.3 (its p99/mean falls as k grows), so its cap is k = 0.3.
LOGNORMAL_MAX_RATIO = math.exp(stats.norm.ppf(0.99) ** 2 / 2)  # ≈ 14.97
GAMMA_MAX_RATIO = stats.gamma(0.3).ppf(0.99) / 0.3  # ≈ 8.6; a gamma itself goes higher (k → 0)


@settings(max_examples=40, deadline=None)
@given(st.floats(1, 1000), st.floats(1.05, 20.0), st.sampled_from(["lognormal", "gamma"]))
def test_p99_spec_is_honoured(mean: float, ratio: float, kind: str) -> None:
    cap = LOGNORMAL_MAX_RATIO if kind == "lognormal" else GAMMA_MAX_RATIO
    assume(abs(ratio / cap - 1) > 1e-6)  # not on the edge itself
    spec = {"dist": kind, "mean_ms": mean, "p99_ms": mean * ratio}
    if ratio > cap:
        with pytest.raises(Invalid, match="reachable"):
            DistSpec().convert(spec, "x")
        return
    d = DistSpec().convert(spec, "x")
    u = np.array([0.99])
    assert d.ppf(u)[0] == pytest.approx(mean * ratio / 1000, rel=1e-4)


def test_streams_are_independent_and_stable() -> None:
    a, b = Streams(7), Streams(7)
    assert np.array_equal(a.generator("x").random(5), b.generator("x").random(5))
    assert not np.array_equal(a.generator("x").random(5), a.generator("y").random(5))
    assert not np.array_equal(Streams(7).generator("x").random(5), Streams(8).generator("x").random(5))
    with pytest.raises(ValueError, match="seed must be an integer"):
        Streams(-1)


def test_common_random_numbers_across_deployments() -> None:
    """Two deployments with the same service time see exactly the same model time per request."""
    res = run(scenario(rt("a", instance_count=1), rt("b", instance_count=3), duration=300, rate=20))
    req = res.requests
    a, b = req[req.deployment == "a"], req[req.deployment == "b"]
    assert np.array_equal(a.model_ms.to_numpy(), b.model_ms.to_numpy())
    assert np.array_equal(a.t_arrival.to_numpy(), b.t_arrival.to_numpy())


def test_empirical_dist_from_profile_runs(monkeypatch) -> None:
    """`service_time: profile` is wired to the measured distribution (structure only, no timings)."""
    import simlab.simulation as simulation

    monkeypatch.setattr(simulation.Simulation, "profiled_service_time",
                        lambda self, name: Dist.empirical(np.array([0.001, 0.002, 0.004])))
    res = run(scenario(rt(service_time="profile"), duration=120, rate=5))
    ms = res.requests.model_ms.dropna().unique()
    assert set(np.round(ms, 6)) <= {1.0, 2.0, 4.0}


def test_progress_bar_only_on_a_terminal(monkeypatch, tmp_path) -> None:
    import simlab.commands.simulate as simulate
    from simlab.cli import Environment, main

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(simulate, "PROGRESS_AFTER_S", 0.0)
    path = tmp_path / "s.yaml"
    path.write_text("name: p\nduration: 1h\nworkload: {arrivals: poisson, rate_per_s: 1}\n"
                    "deployments: [{name: rt, type: real_time_endpoint}]\n")
    err, out = Tty(), io.StringIO()
    assert main(["simulate", str(path), "--json"], Environment(stdout=out, stderr=err, environ={})) == 0
    assert "simulating [" in err.getvalue() and "simulating" not in out.getvalue()
