"""Serial inference pipeline: 2–15 containers in sequence on every instance.

Each container runs one or more steps of a real scikit-learn ``Pipeline`` (the deployment's model
split apart with :meth:`ZooModel.pipeline_steps`): the output of one container is the real input
of the next, so the final output equals the unsplit model's. A request occupies one worker of
one instance for the whole chain: its model time is the sum of the container times plus one
``hop_overhead_ms`` for each of the C − 1 hand-offs between containers. Everything else (routing,
FIFO queues, variants' auto scaling, limits, billing) is the real-time endpoint's.

The chain pieces (:data:`CONTAINERS_FIELD`, :func:`resolve_groups`, :func:`chain_outputs`,
:func:`container_times`) are shared with batch transform, which accepts the same ``containers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from simlab import facts
from simlab.deployments.base import NAME_PATTERN
from simlab.deployments.realtime import SCHEMA as RT_SCHEMA
from simlab.deployments.realtime import RealTimeEndpoint, Variant, _weights_check
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem, ScenarioError
from simlab.metrics import SAMPLES, RequestMetric
from simlab.records import Outcome
from simlab.schema import Any_, Field, Float, Invalid, ListOf, Schema, Str, suggest

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation
    from simlab.zoo import ZooModel

__all__ = ["SerialInferencePipeline", "CONTAINERS_FIELD", "HOP_FIELD", "resolve_groups",
           "chain_outputs", "container_times", "unique_container_names", "step_problems"]

MIN_CONTAINERS = facts.limit("serial_inference_pipeline.min_containers")
MAX_CONTAINERS = facts.limit("serial_inference_pipeline.max_containers")
DEFAULT_CONTAINER_TIME = Dist.exponential(0.010)


def _step_names(raw: Any, path: str) -> tuple[str, ...]:
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise Invalid("must be a pipeline step name or a list of step names", raw)
    return tuple(names)


CONTAINER_SCHEMA = Schema("container", [
    Field("name", Str(pattern=NAME_PATTERN, describe="a name of at most 63 letters, digits and hyphens"),
          doc="ContainerHostname (the ContainerLatency metric's ContainerName)"),
    Field("service_time", DistSpec(unit="ms", scale=0.001), default=DEFAULT_CONTAINER_TIME, unit="ms",
          doc="time this container spends on one request (one record in batch transform); "
              "default exponential 10 ms (assumption: a light preprocessing step)"),
    Field("step", Any_(describe="a step name or a list of step names", convert_fn=_step_names),
          default=None, doc="steps of the model's scikit-learn Pipeline this container runs, in order. "
          "Omitted everywhere: container i runs step i, the last container the remaining steps, "
          "containers past the last step pass their input through. Given on some: those must cover "
          "every step once, in order; the others pass through"),
])

CONTAINERS_FIELD = Field(
    "containers", ListOf(CONTAINER_SCHEMA, min_len=MIN_CONTAINERS, max_len=MAX_CONTAINERS),
    doc=f"the chain, {MIN_CONTAINERS}–{MAX_CONTAINERS} containers run in sequence "
        "(facts: serial_inference_pipeline.min/max_containers; [SM] CreateModel Containers max 15)")
HOP_FIELD = Field(
    "hop_overhead_ms", Float(min=0), default=1.0, unit="ms",
    doc="time to hand a request from one container to the next on the same instance, added C − 1 "
        "times (assumption: a local HTTP round trip, about 1 ms; AWS publishes no figure)")


def unique_container_names(cfg: dict, path: str) -> list[Problem]:
    """A problem when two containers share a name (ContainerHostname must be unique)."""
    names = [c["name"] for c in cfg.get("containers") or []]
    if len(set(names)) == len(names):
        return []
    return [Problem(f"{path}.containers", "container names must be unique", ", ".join(names))]


def step_problems(cfg: dict, path: str) -> list[Problem]:
    """Explicit ``step`` names: each must be a step of a bundled model; with the deployment's
    ``model`` given, they must also cover its steps in order (else checked when the run starts)."""
    from simlab.zoo import MODEL_IDS, pipeline_step_names

    containers = cfg.get("containers") or []
    known = sorted({step for m in MODEL_IDS for step in pipeline_step_names(m)})
    problems = [Problem(f"{path}.containers[{i}].step", f"must name pipeline steps of a bundled model"
                        f"{suggest(step, known)}: {', '.join(known)}", step)
                for i, c in enumerate(containers) for step in c.get("step") or () if step not in known]
    if problems or not cfg.get("model") or cfg["model"] not in MODEL_IDS:
        return problems
    try:
        resolve_groups(list(pipeline_step_names(cfg["model"])), containers, path)
    except ScenarioError as e:
        return e.problems
    return []


SCHEMA = Schema("serial_inference_pipeline", [
    *(f for f in RT_SCHEMA.fields if f.name not in ("service_time", "variants")),
    CONTAINERS_FIELD,
    HOP_FIELD,
], checks=(_weights_check, unique_container_names, step_problems),
    doc="a real-time endpoint whose model is a chain of containers")


# -- the chain --------------------------------------------------------------------------------
def resolve_groups(steps: list[str], containers: list[dict], where: str) -> list[tuple[str, ...]]:
    """The pipeline steps each container runs (an empty tuple passes its input through).

    Raises:
        ScenarioError: when explicit ``step`` entries do not cover every step once, in order.
    """
    given = [c.get("step") for c in containers]
    if all(g is None for g in given):
        n = len(containers)
        return [tuple(steps[i:i + 1]) if i < n - 1 else tuple(steps[i:]) for i in range(n)]
    groups = [tuple(g or ()) for g in given]
    if [s for g in groups for s in g] != list(steps):
        got = ", ".join("+".join(g) or "-" for g in groups)
        raise ScenarioError([Problem(f"{where}.containers", "the containers' `step` entries must cover the "
                                     f"model's pipeline steps ({', '.join(steps)}) once each, in order", got)])
    return groups


def _final_output(model: ZooModel, est: Any, Z: np.ndarray) -> np.ndarray:
    """What the last step returns, as :meth:`ZooModel.score_output` defines it."""
    if model.task == "binary":
        return est.predict_proba(Z)[:, list(est.classes_).index(1)]
    return np.asarray(est.predict(Z), dtype=float)


def chain_outputs(model: ZooModel, groups: list[tuple[str, ...]], X: np.ndarray) -> np.ndarray:
    """Run ``X`` through the containers: each step's real output is the next step's input."""
    steps = dict(model.pipeline_steps())
    final = model.pipeline_steps()[-1][0]
    Z = np.asarray(X, dtype=float)
    for group in groups:
        for name in group:
            Z = _final_output(model, steps[name], Z) if name == final else steps[name].transform(Z)
    return np.asarray(Z, dtype=float)


def container_times(sim: Simulation, owner: str, containers: list[dict], u0: np.ndarray) -> np.ndarray:
    """Seconds per (record, container): the first container maps ``u0`` (common random numbers),
    every other container draws from its own stream ``{owner}.container.{name}``."""
    n = u0.size
    cols = [containers[0]["service_time"].ppf(u0)]
    for c in containers[1:]:
        u = sim.streams.generator(f"{owner}.container.{c['name']}").random(n)
        cols.append(c["service_time"].ppf(u))
    return np.column_stack(cols)


# -- the deployment ---------------------------------------------------------------------------
class SerialInferencePipeline(RealTimeEndpoint):
    """A real-time endpoint serving a serial inference pipeline of 2–15 containers."""

    type_id = "serial_inference_pipeline"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.containers: list[dict] = config["containers"]
        self.hop_s = config["hop_overhead_ms"] / 1000.0
        self.groups: list[tuple[str, ...]] = []
        self.times = np.empty((0, len(self.containers)))
        self.chain_s = np.empty(0)

    @classmethod
    def scenario_problems(cls, config: dict, scenario: dict, path: str) -> list[Problem]:
        """Container steps checked against the scenario's model when the deployment names none."""
        if config.get("containers") and not config.get("model"):
            return step_problems({**config, "model": scenario["model"]}, path)
        return []

    def bind(self, sim: Simulation) -> None:
        """Attach, and split the model's steps over the containers.

        Raises:
            ScenarioError: when explicit container steps do not match the model's pipeline.
        """
        super().bind(sim)
        model = self.model()
        steps = [name for name, _ in model.pipeline_steps()]
        self.groups = resolve_groups(steps, self.containers, f"deployments.{self.name}")

    def model(self) -> ZooModel:
        """The unsplit model whose steps the containers run."""
        return self.sim.model(self.model_of_variant(0), self.config["model_version"])

    def start(self) -> None:
        wl = self.sim.workload
        self.times = container_times(self.sim, self.name, self.containers, wl.u_service)
        self.chain_s = self.times.sum(axis=1) + self.hop_s * (len(self.containers) - 1)
        super().start()

    def _service_times(self, v: Variant, idx: np.ndarray) -> np.ndarray:
        return self.chain_s[idx]

    # -- results -------------------------------------------------------------------------------
    def predictions(self) -> np.ndarray:
        """The chain's output (container by container) for every request served, per model
        version (a retrained version keeps the pipeline's steps)."""
        from simlab.records import Err

        log, out = self.log, np.full(self.log.n, np.nan)
        served = np.isfinite(log.t_start) & (log.error == Err.NONE)
        for version in np.unique(log.model_version[served]).tolist():
            sel = served & (log.model_version == version)
            model = self.sim.model(self.model_of_variant(0), int(version))
            out[sel] = chain_outputs(model, self.groups, self.sim.dataset.X)[self.sim.workload.row[sel]]
        return out

    def _completed(self) -> np.ndarray:
        return self.log.outcome(self.sim.duration) == Outcome.COMPLETED

    def requests_frame(self, result):
        """The real-time columns plus ``container_<name>_ms`` per container."""
        frame = super().requests_frame(result)
        for k, c in enumerate(self.containers):
            frame[f"container_{c['name']}_ms"] = np.where(np.isfinite(self.log.t_start),
                                                          self.times[:, k] * 1000.0, np.nan)
        return frame

    def request_metrics(self) -> list[RequestMetric]:
        """The real-time metrics plus ``ContainerLatency:<name>`` (µs, per completed request)."""
        return [*super().request_metrics(),
                *(RequestMetric(f"ContainerLatency:{c['name']}", SAMPLES,
                                lambda s, k=k: (s.done, s.col(self.times[:, k]) * 1e6))
                  for k, c in enumerate(self.containers))]

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        out = super().extra_summary(sel)
        done = sel & self._completed()
        out["containers"] = [c["name"] for c in self.containers]
        out["container_latency_ms"] = {
            c["name"]: (round(float(self.times[done, k].mean() * 1000.0), 3) if done.any() else None)
            for k, c in enumerate(self.containers)}
        out["hops"] = len(self.containers) - 1
        return out
