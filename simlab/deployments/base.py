"""What every deployment type shares: the request log, limits, billing leases and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simlab.accounting import busy_seconds, latency_stats, overlap, rnd
from simlab.deployments import TYPES
from simlab.errors import Problem
from simlab.records import Err, Outcome, RequestLog
from simlab.schema import Field, OneOf, Schema, Str

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["Deployment", "Lease", "COMMON_FIELDS", "Faults", "FleetInfo", "FLEET_STATES"]

NAME_PATTERN = r"(?=.{1,63}$)[A-Za-z0-9](-*[A-Za-z0-9])*"  # SageMaker EndpointName / VariantName, ≤ 63

COMMON_FIELDS = [
    Field("name", Str(pattern=NAME_PATTERN, describe="a name of at most 63 letters, digits and hyphens"),
          doc="deployment name (SageMaker endpoint/job name pattern)"),
    Field("type", OneOf(tuple(TYPES)), doc="deployment type id (the same ids the decision engine answers with)"),
]


def count_within_scaling(cfg: dict, path: str) -> list[Problem]:
    """``instance_count`` within the ``autoscaling`` mapping's min_instances…max_instances."""
    auto, n = cfg.get("autoscaling"), cfg["instance_count"]
    if auto and not auto["min_instances"] <= n <= auto["max_instances"]:
        return [Problem(f"{path}.instance_count", f"must lie within autoscaling min_instances…max_instances "
                        f"({auto['min_instances']}…{auto['max_instances']})", str(n))]
    return []


@dataclass
class Lease:
    """An instance billed from ``t0`` to ``t1`` at ``price_per_s`` (``t1`` NaN = still running)."""

    t0: float
    t1: float
    price_per_s: float
    workers: int = 1
    variant: int = 0
    fleet: int = 0


@dataclass(frozen=True)
class Faults:
    """Injected regressions of a fleet (owner API ``add_fleet``).

    ``error_rate``: fraction of the requests it serves that fail with ModelError (Invocation5XXErrors),
    decided per request from the fleet's own random stream; ``latency_multiplier``: model time × this;
    ``startup_failure``: the fleet never enters service (``fleet_ready`` gives False).

    Raises:
        ValueError: error_rate outside [0, 1] or latency_multiplier ≤ 0 (the value is in the message).
    """

    error_rate: float = 0.0
    latency_multiplier: float = 1.0
    startup_failure: bool = False

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"Faults.error_rate must be within [0, 1], got {self.error_rate!r}")
        if not self.latency_multiplier > 0.0:
            raise ValueError(f"Faults.latency_multiplier must be > 0, got {self.latency_multiplier!r}")


FLEET_STATES = ("provisioning", "in_service", "draining", "retired", "failed")


@dataclass(frozen=True)
class FleetInfo:
    """What ``Deployment.fleets()`` reports about one fleet (a snapshot at the current clock)."""

    id: int
    variant: str
    model: str
    model_version: int
    instance_type: str | None
    instance_count: int
    config_name: str
    state: str  # one of FLEET_STATES
    shadow: bool = False


class Deployment:
    """Base class. Subclasses set ``type_id`` and ``SCHEMA`` and implement ``start`` and
    ``admit_until``; they fill ``self.log`` for every request and ``self.leases`` for billing.
    """

    type_id: ClassVar[str] = ""
    SCHEMA: ClassVar[Schema]

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.name: str = config["name"]
        self.leases: list[Lease] = []
        self.sim: Simulation | None = None
        self.log: RequestLog | None = None

    # -- what the scenario loader asks of a type ----------------------------------------------------
    @classmethod
    def models_named(cls, config: dict) -> list[tuple[str, str]]:
        """(field path, model id) of every bundled model a validated config names (each must read
        the scenario's dataset). Override when a type keeps models elsewhere."""
        out = [("model", config["model"])] if isinstance(config.get("model"), str) else []
        return out + [(f"variants[{k}].model", v["model"]) for k, v in enumerate(config.get("variants") or [])
                      if isinstance(v, dict) and isinstance(v.get("model"), str)]

    @classmethod
    def scenario_problems(cls, config: dict, scenario: dict, path: str) -> list[Problem]:
        """Problems of a validated deployment config that need the whole scenario (e.g. its model)."""
        return []

    # -- life cycle ----------------------------------------------------------------------------
    def bind(self, sim: Simulation) -> None:
        """Attach to a simulation (clock, workload, streams) before ``start``."""
        self.sim = sim
        self.log = RequestLog(sim.workload.n)
        self._next = 0  # first request not yet admitted

    def start(self) -> None:
        """Register SimPy processes on ``self.sim.env``."""
        raise NotImplementedError

    def admit_until(self, t: float) -> None:
        """Take in every request that arrived before ``t``. Idempotent; call before any state change."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once when the clock reaches the end of the run."""
        self.admit_until(self.sim.duration)

    # -- what the types share --------------------------------------------------------------------
    def resolve_service_time(self, service: Any, model: str) -> Any:
        """A service-time distribution as configured, or for ``"profile"`` the measured predict
        latency of the real model ``model`` on this machine."""
        return self.sim.profiled_service_time(model) if isinstance(service, str) and service == "profile" else service

    def take_arrivals(self, t: float) -> tuple[int, int]:
        """The requests ``[i0, i1)`` that arrived since the last call and before ``t`` (at most the
        run's end), now counted as admitted: the shared first step of every ``admit_until``."""
        i0, i1 = self._next, self.sim.workload.upto(min(t, self.sim.duration))
        if i1 > i0:
            self._next = i1
        return i0, i1

    def oversize(self, idx: np.ndarray) -> np.ndarray:
        """Mask of requests ``idx`` whose payload exceeds this type's limit (``self.max_payload``)."""
        return self.sim.workload.payload_bytes[idx] > self.max_payload

    def reject_oversize(self, idx: np.ndarray, log: RequestLog | None = None) -> None:
        """Requests ``idx`` exceed the payload limit: ValidationError (HTTP 413) on arrival."""
        log = self.log if log is None else log
        log.error[idx] = Err.PAYLOAD_TOO_LARGE
        log.t_done[idx] = self.sim.workload.t[idx]

    def variant_names(self) -> list[str]:
        return ["AllTraffic"]

    def model_of_variant(self, v: int) -> str:
        return self.config.get("model") or self.sim.scenario.model

    # -- accounting ----------------------------------------------------------------------------
    def window(self) -> tuple[float, float]:
        return self.sim.warmup, self.sim.duration

    def arrival_times(self) -> np.ndarray:
        """Arrival time of each entry of ``self.log`` (the shared request stream by default;
        a type whose log holds other records, e.g. a batch job's dataset, overrides it)."""
        return self.sim.workload.t

    def measured(self) -> np.ndarray:
        """Mask of requests that arrived in the measured window (after warm-up)."""
        return self.arrival_times() >= self.sim.warmup

    def _leased(self, fleet: int | None = None) -> list[tuple[Lease, float]]:
        """Each lease (of ``fleet``, or all) with its billed seconds inside the measured window."""
        w0, w1 = self.window()
        return [(le, float(overlap(le.t0, w1 if np.isnan(le.t1) else le.t1, w0, w1))) for le in self.leases
                if fleet is None or le.fleet == fleet]

    def lease_seconds(self) -> float:
        return sum(secs for _, secs in self._leased())

    def cost_usd(self, fleet: int | None = None) -> float:
        """Billed cost in the measured window, of one fleet or of all."""
        return sum(secs * le.price_per_s for le, secs in self._leased(fleet))

    def capacity_seconds(self) -> float:
        """Worker-seconds available in the window (denominator of utilization)."""
        return sum(secs * le.workers for le, secs in self._leased())

    def utilization(self) -> float:
        cap = self.capacity_seconds()
        if cap <= 0:
            return 0.0
        w0, w1 = self.window()
        return min(1.0, busy_seconds(self.log.t_start, self.log.busy_s, w0, w1) / cap)

    def instance_hours(self) -> float:
        return self.lease_seconds() / 3600.0

    def instances_per_minute(self, variant: int, n_minutes: int) -> np.ndarray:
        """Instances billed at the start of each minute (the InstanceCount metric)."""
        starts = np.arange(n_minutes) * 60.0
        out = np.zeros(n_minutes)
        for le in self.leases:
            if le.variant == variant:
                t1 = np.inf if np.isnan(le.t1) else le.t1
                out += (le.t0 <= starts) & (starts < t1)
        return out

    def workers_of_variant(self, variant: int) -> int:
        """Requests one instance of ``variant`` serves at once."""
        return next((le.workers for le in self.leases if le.variant == variant), 1)

    def fleets(self) -> list[FleetInfo]:
        """The fleets serving this deployment (one, from the configuration, unless a type has more)."""
        itype = self.config.get("instance_type")
        return [FleetInfo(0, self.variant_names()[0], self.model_of_variant(0), int(self.config.get("model_version") or 0),
                          itype if isinstance(itype, str) else None, int(self.config.get("instance_count") or 0),
                          f"{self.name}-config", "in_service")]

    def model_of_fleet(self, fleet: int) -> str:
        """The model id fleet ``fleet`` serves."""
        return self.model_of_variant(0)

    def predictions(self) -> np.ndarray:
        """The real model output for each entry of ``self.log`` it served (NaN elsewhere).

        Predictions do not change timing, so they are computed after the run, vectorised per
        (fleet, model version): the model scores the dataset rows once and requests index the
        result; with drift, the features as served (imputed as the container does) are scored.
        Override when requests are not scored by the fleet's model (e.g. per-request models).
        """
        sim, log = self.sim, self.log
        wl = sim.workload
        out = np.full(log.n, np.nan)
        served = np.isfinite(log.t_start) & (log.error == Err.NONE)
        for fleet in np.unique(log.fleet[served]).tolist():
            mask = served & (log.fleet == fleet)
            for version in np.unique(log.model_version[mask]).tolist():
                sel = mask & (log.model_version == version)
                model = sim.model(self.model_of_fleet(int(fleet)), int(version))
                if wl.drift is None:
                    out[sel] = _scores(model, sim.dataset.X)[wl.row[sel]]
                else:
                    out[sel] = _scores(model, wl.features(np.flatnonzero(sel), impute=True))
        return out

    def requests_frame(self, result):
        """This deployment's rows of ``Result.requests`` (override to add type-specific columns)."""
        return result.requests_of(self)

    def metrics_frame(self, result):
        """This deployment's rows of ``Result.metrics`` (override to add type-specific metrics)."""
        return result.metrics_of(self)

    def write_outputs(self, out_dir, result) -> list:
        """Type-specific files for ``--out`` (e.g. batch output); returns the paths written."""
        return []

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        """Type-specific additions to the JSON summary."""
        return {}

    def summary(self) -> dict[str, Any]:
        """The ``--json`` contract for this deployment (statistics after warm-up)."""
        sel = self.measured()
        t = self.arrival_times()[sel]
        out = self.log.outcome(self.sim.duration)[sel]
        done = out == Outcome.COMPLETED
        lat = (self.log.t_done[sel][done] - t[done]) * 1000.0
        wait = (self.log.t_start[sel][done] - t[done]) * 1000.0
        completed = int(done.sum())
        cost = self.cost_usd()
        result = {
            "type": self.type_id,
            "arrived": int(sel.sum()),
            "completed": completed,
            "failed": int((out == Outcome.FAILED).sum()),
            "throttled": int((out == Outcome.THROTTLED).sum()),
            "in_flight": int((out == Outcome.IN_FLIGHT).sum()),
            "latency_ms": latency_stats(lat),
            "wait_ms": {k: v for k, v in latency_stats(wait).items() if k in ("mean", "p99")},
            "cold_starts": int(self.log.cold[sel].sum()),
            "cost_usd": rnd(cost),
            "cost_per_1k_usd": rnd(cost / completed * 1000.0) if completed else None,
            "instance_hours": rnd(self.instance_hours()),
            "utilization": rnd(self.utilization()),
        }
        result["errors"] = self.error_counts(sel)
        result.update(self.extra_summary(sel))
        return result

    def error_counts(self, sel: np.ndarray) -> dict[str, int]:
        """Count of each error kind among measured requests (only kinds that occurred)."""
        codes, counts = np.unique(self.log.error[sel], return_counts=True)
        return {Err(int(c)).name.lower(): int(n) for c, n in zip(codes, counts, strict=True) if c != Err.NONE}


def _scores(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.score_output(X), dtype=float)
