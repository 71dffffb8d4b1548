"""Run a scenario: one SimPy clock, one shared request stream, every deployment side by side."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import simpy

from simlab.deployments import deployment_class
from simlab.deployments.base import Deployment
from simlab.features import FeatureRun, registered
from simlab.metrics import MetricStore
from simlab.rng import Streams
from simlab.scenario import Scenario
from simlab.workload import Workload, build_workload

if TYPE_CHECKING:  # pragma: no cover
    from simlab.alarms import Alarm

__all__ = ["Simulation", "run"]

Progress = Callable[[float], None]


class Simulation:
    """The shared context of one run: clock (``env``), workload, random streams, models.

    Other processes (auto scaling, monitors, rollouts) schedule themselves on ``env``; a process
    that changes a deployment calls ``deployment.admit_until(env.now)`` first.
    """

    def __init__(self, scenario: Scenario, *, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.streams = Streams(self.seed)
        self.duration, self.warmup = scenario.duration, scenario.warmup
        self.env = simpy.Environment()
        self.models: dict[tuple[str, int], object] = {}  # (name, version) -> ZooModel
        self.dataset = _dataset(scenario.model)
        self.workload: Workload = build_workload(
            scenario.workload, streams=self.streams, duration=self.duration, warmup=self.warmup,
            serve_rows=self.dataset.serve_idx, base_dir=scenario.base_dir, dataset=self.dataset)
        self.deployments: list[Deployment] = [deployment_class(d["type"])(d) for d in scenario.deployments]
        self.metrics = MetricStore(self.duration)  # live 1-minute datapoints (simlab/metrics.py)
        for d in self.deployments:
            d.bind(self)
        self.alarms: dict[str, Alarm] = {}  # alarm name -> Alarm; the alarms feature fills it
        self.features: dict[str, FeatureRun] = {}  # feature name -> its run (simlab.features)
        for feature in registered():
            run = feature.attach(self)
            if run is not None:
                self.features[feature.name] = run

    def model(self, name: str, version: int = 0):
        """The model ``name`` at ``version``: a registered one (e.g. retrained during the run),
        else the bundled model trained on its default split (version 0).

        Raises:
            KeyError: for a version above 0 that nobody registered.
        """
        key = (name, version)
        if key not in self.models:
            if version != 0:
                raise KeyError(f"model {name!r} has no version {version} in this run")
            from simlab.zoo import load_model

            self.models[key] = load_model(name, version=0)
        return self.models[key]

    def register_model(self, name: str, model) -> int:
        """Add a new version of ``name`` (e.g. after retraining); returns its version number."""
        version = 1 + max((v for (n, v) in self.models if n == name), default=0)
        self.models[(name, version)] = model
        return version

    def profiled_service_time(self, name: str):
        """Measured predict latency of the real model on this machine (opt-in ``profile``)."""
        from simlab.zoo import profile_service_time

        return profile_service_time(name, seed=self.seed)

    def _progress(self, callback: Progress, step: float):
        while True:
            yield self.env.timeout(step)
            callback(min(1.0, self.env.now / self.duration))

    def run(self, progress: Progress | None = None) -> Simulation:
        """Advance the clock to the end and let every deployment settle its books."""
        for d in self.deployments:
            d.start()
        for run in self.features.values():
            run.start()
        self.env.process(self.metrics.publisher(self.env, self.deployments))
        if progress is not None:
            self.env.process(self._progress(progress, max(60.0, self.duration / 100)))
        self.env.run(until=self.duration)
        for d in self.deployments:
            d.finish()
        self.metrics.finish(self.deployments)
        return self


@cache
def _dataset(name: str):
    from simlab.zoo import dataset

    return dataset(name)


def run(scenario: Scenario | str, *, seed: int | None = None, progress: Progress | None = None) -> Any:
    """Simulate ``scenario`` (a Scenario or a path) and return a :class:`~simlab.result.Result`.

    Raises:
        ScenarioError: when a path is given and the file is invalid.
    """
    from simlab.result import Result
    from simlab.scenario import load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    sim = Simulation(scenario, seed=seed).run(progress)
    return Result(sim)
