"""Multi-model endpoint: model cache hit rates against the independent reference model, loading
waits, per-request predictions from each request's own model, conservation and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run, scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_invariants import check_physics

from simlab import facts
from simlab.errors import ScenarioError
from simlab.scenario import scenario_from_dict

MEMORY_MB = (facts.instance("ml.m5.large").memory_gib - 1.0) * 1024  # default 1 GiB reserve


def mme(name: str = "mme", *, count: int = 50, size_mb: float = 1.0, **overrides) -> dict:
    """An MME with test-friendly defaults: fast loads, fixed short service time."""
    base = {"name": name, "type": "multi_model_endpoint", "instance_type": "ml.m5.large",
            "instance_count": 1, "workers_per_instance": 2,
            "service_time": {"dist": "fixed", "mean_ms": 5}, "overhead_ms": 0,
            "models": {"count": count, "size_mb": size_mb, "max_trained": 8},
            "download_mb_per_s": 1e6, "load_time": 0}
    base.update(overrides)
    return base


def summary(raw: dict, seed: int = 1) -> dict:
    return run(raw, seed=seed).summary()["deployments"]["mme"]


def test_when_every_model_fits_only_compulsory_misses_remain() -> None:
    for instances in (1, 3):
        s = summary(scenario(mme(count=300, instance_count=instances), rate=20, duration=900))
        routed = s["arrived"]
        assert s["model_loads"] == s["distinct_models"] == 300
        assert s["cache_hit_rate"] == pytest.approx(1 - s["distinct_models"] / routed, abs=1e-3)
        assert s["loaded_models_max"] == 300


def test_lru_with_uniform_popularity_hits_k_over_n() -> None:
    """Independent reference model: N equally popular models, memory for K, LRU → hit ratio K/N."""
    k, n = 10, 50
    size = MEMORY_MB / k - 0.5  # exactly K fit
    rates = [summary(scenario(mme(count=n, size_mb=size), rate=10, duration=1200, warmup=200), seed=s)["cache_hit_rate"]
             for s in range(1, 5)]
    assert all(abs(r - k / n) < 0.03 for r in rates), rates  # per seed: ±0.03 (≈ 5 binomial s.e.)
    assert abs(np.mean(rates) - k / n) < 0.015, rates
    assert summary(scenario(mme(count=n, size_mb=size), rate=10, duration=600))["loaded_models_max"] == k


def test_zipf_popularity_hits_more_often_than_uniform() -> None:
    size = MEMORY_MB / 10 - 0.5
    uni = summary(scenario(mme(count=100, size_mb=size), rate=10, duration=1200))
    zipf = summary(scenario(mme(count=100, size_mb=size, popularity={"zipf": 1.1}), rate=10, duration=1200))
    assert zipf["cache_hit_rate"] > uni["cache_hit_rate"] + 0.2


def test_requests_wait_for_a_loading_model_then_hit() -> None:
    raw = scenario(mme(count=1, size_mb=500, download_mb_per_s=100, load_time={"dist": "fixed", "mean_ms": 1000}),
                   rate=20, duration=120)
    res = run(raw)
    req = res.requests.sort_values("request_id")
    load_s = 500 / 100 + 1.0
    first = req.iloc[0]
    assert first.cold_start and not first.model_cache_hit and first.model_loading_wait_ms == pytest.approx(load_s * 1000)
    during = req.t_arrival < first.t_arrival + load_s
    assert not req.model_cache_hit[during].any() and req.model_cache_hit[~during].all()
    assert (req.t_start[during] >= first.t_arrival + load_s - 1e-9).all()
    s = res.summary()["deployments"]["mme"]
    assert s["model_loads"] == 1 and s["model_loading_wait_ms"]["p99"] <= load_s * 1000 + 1e-6


def test_each_request_is_scored_by_its_own_model() -> None:
    res = run(scenario(mme(count=6), rate=5, duration=300))
    d, req = res.deployments["mme"], res.requests
    assert set(req.target_model.unique()) <= set(d.model_names())
    X = res.sim.dataset.X
    for k in range(6):
        sel = req.target_model == d.model_names()[k]
        expect = d.customer_model(k).score_output(X[req.row[sel].to_numpy()])
        assert np.allclose(req.prediction[sel], expect)
    rows = X[res.sim.dataset.serve_idx]
    outs = [d.customer_model(k).score_output(rows) for k in range(3)]
    assert not np.allclose(outs[0], outs[1]) and not np.allclose(outs[1], outs[2])  # different customers


def test_predictions_are_skipped_beyond_the_training_cap() -> None:
    res = run(scenario(mme(count=20), rate=5, duration=300))
    req = res.requests
    trained = req.prediction.notna()
    assert req.loc[trained, "target_model"].nunique() == 8
    assert req.loc[~trained & (req.outcome == "completed"), "target_model"].nunique() == 12


def test_metrics_and_json_extras() -> None:
    res = run(scenario(mme(count=30, size_mb=MEMORY_MB / 10 - 0.5), rate=5, duration=600))
    m = res.metrics
    assert {"ModelCacheHit", "ModelLoadingWaitTime", "LoadedModelCount"} <= set(m.columns)
    assert m.LoadedModelCount.max() <= 10 and m.ModelCacheHit.dropna().between(0, 1).all()
    s = res.summary()["deployments"]["mme"]
    assert set(s["model_loading_wait_ms"]) == {"mean", "p50", "p99"}
    assert {"cache_hit_rate", "model_loads", "loaded_models_max"} <= set(s)


def test_disabled_cache_loads_for_every_request() -> None:
    s = summary(scenario(mme(count=5, model_cache="Disabled"), rate=5, duration=300))
    assert s["cache_hit_rate"] == 0 and s["model_loads"] == s["arrived"]


def test_model_above_memory_fails_and_slow_load_is_not_ready() -> None:
    s = summary(scenario(mme(count=3, size_mb=MEMORY_MB + 1), rate=2, duration=120))
    assert s["errors"] == {"model_error": s["arrived"]}
    s = summary(scenario(mme(count=1, size_mb=7000, download_mb_per_s=50), rate=2, duration=600))
    assert s["errors"]["not_ready"] > 0 and s["completed"] > 0  # 140 s load: first minute 429s


@pytest.mark.parametrize("seed", [1, 2])
def test_conservation_determinism_and_cost(seed: int) -> None:
    raw = scenario(mme(count=40, size_mb={"dist": "lognormal", "mean_mb": 500, "cv": 1}, instance_count=2,
                       download_mb_per_s=50, popularity={"zipf": 0.8}), rate=15, duration=900, warmup=100)
    a, b = run(raw, seed=seed), run(raw, seed=seed)
    assert a.to_json() == b.to_json()
    s = a.summary()["deployments"]["mme"]
    check_physics(a)  # records, not the identity arrived = completed + failed + throttled + in_flight
    assert s["arrived"] == int((a.sim.workload.t >= 100).sum())
    assert s["cost_usd"] == pytest.approx(2 * 800 / 3600 * facts.instance("ml.m5.large").price_per_hour, abs=1e-5)
    assert 0 <= s["utilization"] <= 1


@pytest.mark.parametrize("fields,expected", [
    ({"popularity": "zipf"}, 'popularity: must be "uniform" or {zipf: EXPONENT > 0}'),
    ({"popularity": {"zipf": -1}}, "popularity: must be"),
    ({"models": {"count": 0}}, "models.count: must be an integer ≥ 1"),
    ({"models": {"count": 5, "base": "nope"}}, "models.base: must be a bundled model"),
    ({"memory_reserve_gib": 8}, "memory_reserve_gib: must be below the instance's memory (8 GiB"),
    ({"model_cache": "Off"}, "model_cache: must be one of Enabled | Disabled"),
    ({"models": {"count": 5, "size_mb": -3}}, "models.size_mb: must have a mean > 0"),
])
def test_bad_input_is_reported(fields: dict, expected: str) -> None:
    dep = mme()
    dep.update(fields)
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(scenario(dep))
    assert expected in str(err.value)


def test_base_model_of_another_dataset_is_rejected() -> None:
    with pytest.raises(ScenarioError, match=r"deployments\[0\]\.models\.base: must be a model of the scenario's dataset"):
        scenario_from_dict(scenario(mme(models={"count": 3, "base": "wine_rf"})))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 80), st.floats(1, 4000), st.floats(1, 500),
       st.sampled_from(["uniform", {"zipf": 1.2}]), st.sampled_from(["Enabled", "Disabled"]),
       st.floats(0.5, 30), st.integers(0, 2**31))
def test_invariants_hold_for_any_endpoint(instances, workers, count, size, bandwidth, popularity, cache,
                                          rate, seed) -> None:
    dep = mme(instance_count=instances, workers_per_instance=workers, download_mb_per_s=bandwidth,
              popularity=popularity, model_cache=cache,
              models={"count": count, "size_mb": {"dist": "exponential", "mean_mb": size}, "max_trained": 2})
    raw = scenario(dep, rate=rate, duration=300, warmup=30)
    a, b = run(raw, seed=seed), run(raw, seed=seed)
    assert a.to_json() == b.to_json()
    s = a.summary()["deployments"]["mme"]
    check_physics(a)  # records, not the identity arrived = completed + failed + throttled + in_flight
    assert s["cost_usd"] >= 0 and 0 <= s["utilization"] <= 1
    assert s["cache_hit_rate"] is None or 0 <= s["cache_hit_rate"] <= 1
    assert s["loaded_models_max"] <= count
    req = a.requests
    done = req[req.outcome == "completed"]
    assert (done.latency_ms >= done.wait_ms + done.model_ms + done.overhead_ms - 1e-6).all()
    assert (done.wait_ms >= done.model_loading_wait_ms - 1e-6).all()


def test_a_model_is_never_unloaded_while_loading_or_serving() -> None:
    """Two models of which only one fits: requests of different models never overlap on the
    instance, because the next model may load only once the other is loaded and idle."""
    size = MEMORY_MB * 0.6
    raw = scenario(mme(count=2, size_mb=size, download_mb_per_s=size / 0.3,
                       service_time={"dist": "fixed", "mean_ms": 200}), rate=2, duration=120)
    res = run(raw, seed=3)
    req = res.requests
    done = req[req.outcome == "completed"].sort_values("t_start")
    model = done.target_model.astype(str).to_numpy()
    start, end = done.t_start.to_numpy(), (done.t_start + done.model_ms / 1000).to_numpy()
    for k in range(1, len(done)):
        other = model[:k] != model[k]
        if other.any():
            assert start[k] >= end[:k][other].max() - 1e-9
