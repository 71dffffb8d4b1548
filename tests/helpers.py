"""Shared test helpers: build scenarios in code and run them."""

from __future__ import annotations

import copy
from typing import Any

import simlab
from simlab.scenario import scenario_from_dict


def rt(name: str = "rt", **overrides: Any) -> dict[str, Any]:
    """A real-time endpoint deployment mapping with test-friendly defaults (no overhead)."""
    base = {"name": name, "type": "real_time_endpoint", "instance_type": "ml.m5.large",
            "instance_count": 1, "workers_per_instance": 1,
            "service_time": {"dist": "exponential", "mean_ms": 10}, "overhead_ms": 0}
    base.update(overrides)
    return base


def scenario(*deployments: dict, rate: float = 50.0, duration: float = 600.0, warmup: float = 0.0,
             workload: dict | None = None, **top: Any) -> dict[str, Any]:
    """A scenario mapping with a Poisson workload unless ``workload`` is given."""
    raw = {"name": "test", "duration": duration, "warmup": warmup, "model": "breast_cancer_logreg",
           "workload": workload or {"arrivals": "poisson", "rate_per_s": rate, "payload_kb": 4},
           "deployments": list(deployments) or [rt()]}
    raw.update(top)
    return copy.deepcopy(raw)


def run(raw: dict[str, Any], seed: int = 1):
    """Validate and simulate a scenario mapping."""
    return simlab.run(scenario_from_dict(raw), seed=seed)


def assert_admission_is_exact(raw: dict[str, Any], fields: tuple[str, ...], *, poke_every: float = 7.3):
    """Many small ``admit_until`` calls (from an extra process) give the same records as one pass:
    a deployment's result must not depend on how often other processes sync it. Returns the log."""
    import numpy as np

    from simlab.simulation import Simulation

    one = Simulation(scenario_from_dict(raw)).run().deployments[0]
    sim = Simulation(scenario_from_dict(raw))
    d = sim.deployments[0]

    def poke(env):
        while True:
            yield env.timeout(poke_every)
            d.admit_until(env.now)

    sim.env.process(poke(sim.env))
    sim.run()
    for field in fields:
        np.testing.assert_array_equal(getattr(d.log, field), getattr(one.log, field), err_msg=field)
    return one.log


def single(defaults: dict[str, Any], deployment: dict, workload: dict, *, duration: float = 3600.0,
           warmup: float = 0.0, seed: int = 0) -> dict[str, Any]:
    """A scenario with one deployment: ``defaults`` (name, type, …) overridden by ``deployment``."""
    return {"name": "t", "seed": seed, "duration": duration, "warmup": warmup, "workload": workload,
            "deployments": [{**defaults, **deployment}]}


def run_single(raw: dict[str, Any]):
    """The only deployment of ``raw`` after a run (no Result: predictions are not needed)."""
    from simlab.simulation import Simulation

    return Simulation(scenario_from_dict(raw), seed=raw["seed"]).run().deployments[0]
