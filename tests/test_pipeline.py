"""Serial inference pipeline: the latency decomposition, the split model equals the unsplit
model, the 2–15 container limit, and the M/G/1 mean wait of the whole chain."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import run, scenario
from scipy import stats
from test_invariants import check_physics

from simlab import facts, theory
from simlab.deployments.pipeline import chain_outputs, resolve_groups
from simlab.errors import ScenarioError
from simlab.scenario import scenario_from_dict
from simlab.zoo import dataset, load_model

MODEL = "breast_cancer_pca_logreg"
CHAIN = [{"name": "scaler", "service_time": {"dist": "exponential", "mean_ms": 4}},
         {"name": "pca", "service_time": {"dist": "gamma", "mean_ms": 6, "cv": 0.5}},
         {"name": "logreg", "service_time": {"dist": "fixed", "mean_ms": 10}}]


def sip(name: str = "sip", **overrides) -> dict:
    base = {"name": name, "type": "serial_inference_pipeline", "instance_type": "ml.m5.large",
            "instance_count": 1, "workers_per_instance": 1, "containers": CHAIN, "hop_overhead_ms": 1.5,
            "overhead_ms": 2}
    base.update(overrides)
    return base


def pipe_scenario(*deps, **kw) -> dict:
    return scenario(*(deps or [sip()]), model=MODEL, **kw)


def test_latency_is_wait_plus_container_times_plus_hops_plus_overhead() -> None:
    res = run(pipe_scenario(rate=20, duration=600))
    req = res.requests
    done = req[req.outcome == "completed"]
    containers = done[[f"container_{c['name']}_ms" for c in CHAIN]].sum(axis=1)
    assert np.allclose(done.model_ms, containers + 2 * 1.5)
    assert np.allclose(done.latency_ms, done.wait_ms + containers + 2 * 1.5 + 2.0)
    s = res.summary()["deployments"]["sip"]
    assert s["hops"] == 2 and s["containers"] == ["scaler", "pca", "logreg"]
    assert s["container_latency_ms"]["logreg"] == 10.0
    assert {"ContainerLatency:scaler", "ContainerLatency:pca", "ContainerLatency:logreg"} <= set(res.metrics.columns)


def test_split_pipeline_predicts_exactly_what_the_unsplit_model_does() -> None:
    res = run(pipe_scenario(rate=5, duration=300))
    req = res.requests
    unsplit = load_model(MODEL).score_output(dataset(MODEL).X[req.row.to_numpy()])
    assert np.allclose(req.prediction.to_numpy(), unsplit, rtol=0, atol=1e-12)


@pytest.mark.parametrize("containers,groups", [
    (["a", "b"], [("scaler",), ("pca", "logreg")]),
    (["a", "b", "c"], [("scaler",), ("pca",), ("logreg",)]),
    (["a", "b", "c", "d", "e"], [("scaler",), ("pca",), ("logreg",), (), ()]),
])
def test_every_split_of_the_steps_reproduces_the_model(containers: list[str], groups: list) -> None:
    model = load_model(MODEL)
    steps = [n for n, _ in model.pipeline_steps()]
    got = resolve_groups(steps, [{"name": n} for n in containers], "d")
    assert got == groups
    X = dataset(MODEL).X
    assert np.allclose(chain_outputs(model, got, X), model.score_output(X), rtol=0, atol=1e-12)


def test_explicit_steps_must_cover_the_pipeline_in_order() -> None:
    steps = ["scaler", "pca", "logreg"]
    ok = resolve_groups(steps, [{"name": "pre", "step": ("scaler", "pca")}, {"name": "log"},
                                {"name": "clf", "step": ("logreg",)}], "d")
    assert ok == [("scaler", "pca"), (), ("logreg",)]
    with pytest.raises(ScenarioError, match="once each, in order"):
        resolve_groups(steps, [{"name": "a", "step": ("pca",)}, {"name": "b", "step": ("scaler", "logreg")}], "d")


def test_fifteen_containers_are_accepted_and_sixteen_are_not() -> None:
    assert facts.limit("serial_inference_pipeline.max_containers") == 15
    many = lambda n: [{"name": f"c{i}", "service_time": 1} for i in range(n)]  # noqa: E731
    s = run(pipe_scenario(sip(containers=many(15), hop_overhead_ms=0), rate=2, duration=120)).summary()
    assert s["deployments"]["sip"]["hops"] == 14
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(pipe_scenario(sip(containers=many(16))))
    assert "containers: must be a list of 2–15" in str(err.value) and "16 entries" in str(err.value)
    with pytest.raises(ScenarioError, match="2–15"):
        scenario_from_dict(pipe_scenario(sip(containers=many(1))))


@pytest.mark.parametrize("dep,expected", [
    (sip(containers=[{"name": "a"}, {"name": "a"}]), "container names must be unique"),
    (sip(containers=[{"name": "a", "step": 3}, {"name": "b"}]), "must be a pipeline step name"),
    (sip(service_time=10), "service_time: unknown field"),
    (sip(containers=[{"name": "a", "service_time": "profile"}, {"name": "b"}]), "containers[0].service_time"),
])
def test_bad_pipeline_fields(dep: dict, expected: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(pipe_scenario(dep))
    assert expected in str(err.value)


def test_step_names_are_checked_on_load_and_against_the_model() -> None:
    typo = sip(containers=[{"name": "a", "step": "scaler"}, {"name": "b", "step": "pcaa"}])
    with pytest.raises(ScenarioError, match="must name pipeline steps of a bundled model .did you mean 'pca'"):
        scenario_from_dict(pipe_scenario(typo))
    order = [{"name": "a", "step": "pca"}, {"name": "b", "step": ["scaler", "logreg"]}]
    with pytest.raises(ScenarioError, match="scaler, pca, logreg"):  # deployment model: on load
        scenario_from_dict(pipe_scenario(sip(containers=order, model=MODEL)))
    with pytest.raises(ScenarioError, match="scaler, pca, logreg"):  # scenario model: at the start
        run(pipe_scenario(sip(containers=order)))


def test_conservation_and_determinism() -> None:
    raw = pipe_scenario(sip(instance_count=2, workers_per_instance=2), rate=60, duration=600, warmup=60)
    a, b = run(raw, seed=5), run(raw, seed=5)
    assert a.to_json() == b.to_json()
    s = a.summary()["deployments"]["sip"]
    check_physics(a)  # records, not the identity arrived = completed + failed + throttled + in_flight
    assert s["cost_usd"] >= 0


def test_chain_on_one_worker_matches_pollaczek_khinchine() -> None:
    """M/G/1 with S = Σ container times + hops (independent containers): mean wait by P-K."""
    lam, hop = 25.0, 0.0015
    means = [0.004, 0.006, 0.010]
    var = [0.004**2, (0.5 * 0.006) ** 2, 0.0]  # exponential, gamma cv 0.5, fixed
    es = sum(means) + 2 * hop
    expected = theory.mg1_mean_wait(lam, es, sum(var) + es**2)
    raw = pipe_scenario(rate=lam, duration=4 * 3600, warmup=600)
    waits = []
    for seed in range(1, 7):
        req = run(raw, seed=seed).requests
        waits.append(req.loc[req.measured & (req.outcome == "completed"), "wait_ms"].mean() / 1000)
    waits = np.array(waits)
    half = stats.t.ppf(0.9995, len(waits) - 1) * waits.std(ddof=1) / math.sqrt(len(waits))
    assert half < 0.1 * expected, f"interval too wide: ±{half:.4g}"
    assert abs(waits.mean() - expected) <= half, (waits.mean(), expected, half)
