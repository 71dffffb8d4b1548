"""What every deployment type shares: the request log, limits, billing leases and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simlab.accounting import busy_seconds, latency_stats, overlap, rnd
from simlab.records import Err, Outcome, RequestLog
from simlab.schema import Field, OneOf, Schema, Str

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["Deployment", "Lease", "COMMON_FIELDS"]

NAME_PATTERN = r"(?=.{1,63}$)[A-Za-z0-9](-*[A-Za-z0-9])*"  # SageMaker EndpointName / VariantName, ≤ 63

COMMON_FIELDS = [
    Field("name", Str(pattern=NAME_PATTERN, describe="a name of at most 63 letters, digits and hyphens"),
          doc="deployment name (SageMaker endpoint/job name pattern)"),
    Field("type", OneOf(("real_time_endpoint", "serverless_inference", "async_inference",
                         "batch_transform", "multi_model_endpoint", "serial_inference_pipeline")),
          doc="deployment type id (the same ids the decision engine answers with)"),
]


@dataclass
class Lease:
    """An instance billed from ``t0`` to ``t1`` at ``price_per_s`` (``t1`` NaN = still running)."""

    t0: float
    t1: float
    price_per_s: float
    workers: int = 1
    variant: int = 0


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

    def _leased(self) -> list[tuple[Lease, float]]:
        """Each lease with its billed seconds inside the measured window."""
        w0, w1 = self.window()
        return [(le, float(overlap(le.t0, w1 if np.isnan(le.t1) else le.t1, w0, w1))) for le in self.leases]

    def lease_seconds(self) -> float:
        return sum(secs for _, secs in self._leased())

    def cost_usd(self) -> float:
        return sum(secs * le.price_per_s for le, secs in self._leased())

    def capacity_seconds(self) -> float:
        """Worker-seconds available in the window (denominator of utilization)."""
        return sum(secs * le.workers for le, secs in self._leased())

    def utilization(self) -> float:
        cap = self.capacity_seconds()
        if cap <= 0:
            return 0.0
        w0, w1 = self.window()
        return busy_seconds(self.log.t_start, self.log.busy_s, w0, w1) / cap  # raw, never clipped

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

    def predictions(self) -> np.ndarray:
        """The real model output for each entry of ``self.log`` it served (NaN elsewhere);
        override when requests are not scored by the variant's model (e.g. per-request models)."""
        from simlab.simulation import predictions

        return predictions(self.sim, self)

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
