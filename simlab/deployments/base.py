"""What every deployment type shares: the request log, limits, billing leases and the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from simlab.accounting import busy_seconds, latency_stats, overlap, per_minute_busy, rnd
from simlab.deployments import TYPES
from simlab.errors import Problem
from simlab.metrics import COUNT, METRIC_PERIOD_S, SAMPLES, ZERO, RequestMetric, RequestSlice, Stat
from simlab.records import Err, Outcome, RequestLog
from simlab.schema import Field, OneOf, Schema, Str

if TYPE_CHECKING:  # pragma: no cover
    from simlab.metrics import MetricStore
    from simlab.simulation import Simulation

__all__ = ["Deployment", "Lease", "COMMON_FIELDS", "Faults", "FleetInfo", "FLEET_STATES", "pick_by_shares"]

ERRORS_4XX = (Err.PAYLOAD_TOO_LARGE, Err.THROTTLED, Err.NOT_READY)  # Invocation4XXErrors
ERRORS_5XX = (Err.TIMEOUT, Err.MODEL_ERROR)  # Invocation5XXErrors
_IS_4XX = np.isin(np.arange(len(Err)), ERRORS_4XX)  # lookup tables indexed by error code
_IS_5XX = np.isin(np.arange(len(Err)), ERRORS_5XX)
COMMON_METRICS = ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency", "OverheadLatency",
                  "InstanceCount", "InvocationsPerInstance", "CPUUtilization")

NAME_PATTERN = r"(?=.{1,63}$)[A-Za-z0-9](-*[A-Za-z0-9])*"  # SageMaker EndpointName / VariantName, ≤ 63

COMMON_FIELDS = [
    Field("name", Str(pattern=NAME_PATTERN, describe="a name of at most 63 letters, digits and hyphens"),
          doc="deployment name (SageMaker endpoint/job name pattern)"),
    Field("type", OneOf(tuple(TYPES)), doc="deployment type id (the same ids the decision engine answers with)"),
]


def pick_by_shares(weights: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of the shares ``weights`` (in order, normalised here) each uniform ``u`` falls in,
    and ``u`` rescaled within that share (a fresh uniform for the next choice). The one traffic
    split of variants (by weight), fleets of a variant and async fleets (by share)."""
    w = np.asarray(weights, dtype=float)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0  # every u < 1 falls in a share; side="right" skips shares of width 0
    k = np.searchsorted(cum, u, side="right")
    lo = np.concatenate([[0.0], cum[:-1]])[k]  # lo <= u < cum[k]: the width is > 0
    return k, np.minimum((u - lo) / (cum[k] - lo), np.nextafter(1.0, 0))  # the division can round up to 1


def count_within_scaling(cfg: dict, path: str) -> list[Problem]:
    """``instance_count`` within the ``autoscaling`` mapping's min_instances…max_instances."""
    auto, n = cfg.get("autoscaling"), cfg["instance_count"]
    if auto and not auto["min_instances"] <= n <= auto["max_instances"]:
        return [Problem(f"{path}.instance_count", f"must lie within autoscaling min_instances…max_instances "
                        f"({auto['min_instances']}…{auto['max_instances']})", str(n))]
    return []


@dataclass
class Lease:
    """An instance billed from ``t0`` to ``t1`` at ``price_per_s``. Every type writes a lease once
    both ends are known (at a batch job's start, at the end of the run for endpoints).

    Raises:
        ValueError: ``t1`` is before ``t0`` or not a number.
    """

    t0: float
    t1: float
    price_per_s: float
    workers: int = 1
    variant: int = 0
    fleet: int = 0

    def __post_init__(self) -> None:
        if not self.t0 <= self.t1:  # NaN fails this too
            raise ValueError(f"a lease must end at or after its start, got t0={self.t0}, t1={self.t1}")


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
        self._minutes_published = 0  # request metrics published for minutes [0, this)
        self._minutes_sampled = 0  # state metrics sampled for minutes [0, this)
        self._busy_acc: dict[Any, np.ndarray] = {}  # busy worker-seconds per minute, per variant / fleet

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
        i0 = self._next
        self._next = i1 = max(i0, self.sim.workload.upto(min(t, self.sim.duration)))
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
        return [(le, float(overlap(le.t0, le.t1, w0, w1))) for le in self.leases
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
        return busy_seconds(self.log.t_start, self.log.busy_s, w0, w1) / cap  # raw, never clipped

    def instance_hours(self) -> float:
        return self.lease_seconds() / 3600.0

    def instances_per_minute(self, variant: int, n_minutes: int) -> np.ndarray:
        """Instances billed at the start of each minute (the InstanceCount metric)."""
        return np.array([self.instance_count_at(variant, m * METRIC_PERIOD_S) for m in range(n_minutes)])

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

    # -- live metrics (simlab/metrics.py) -----------------------------------------------------
    def request_metrics(self) -> list[RequestMetric]:
        """Metrics bucketed by arrival minute (override to add or redefine; keep the names)."""
        return [
            RequestMetric("Invocations", COUNT, lambda s: (np.ones(s.t.size, dtype=bool), None)),
            RequestMetric("Invocation4XXErrors", COUNT, lambda s: (_IS_4XX[s.error], None)),
            RequestMetric("Invocation5XXErrors", COUNT, lambda s: (_IS_5XX[s.error], None)),
            # ModelLatency: queue wait + model time on the instance (µs); OverheadLatency the rest
            RequestMetric("ModelLatency", SAMPLES, lambda s: (s.done, (s.t_start - s.t + s.model_s) * 1e6)),
            RequestMetric("OverheadLatency", SAMPLES, lambda s: (s.done, s.overhead_s * 1e6)),
        ]

    def metric_columns(self) -> list[str]:
        """Columns of this deployment's rows of ``Result.metrics``, in order."""
        return [*COMMON_METRICS, *(m.name for m in self.request_metrics() if m.name not in COMMON_METRICS)]

    def published_metrics(self) -> list[str]:
        """Every metric name this deployment publishes (what an alarm may watch)."""
        return self.metric_columns()

    def settled_before(self, t: float) -> float:
        """Every request that arrived before the returned time has its outcome recorded (after
        ``admit_until(t)``); override when requests wait unrecorded (e.g. an async backlog)."""
        return t

    def instance_count_at(self, variant: int, t: float) -> float:
        """Instances billed at ``t`` (the InstanceCount datapoint of the minute starting at ``t``)."""
        n = 0
        for le in self.leases:
            if le.variant == variant and le.t0 <= t < le.t1:
                n += 1
        return float(n)

    def per_instance_denominator(self, variant: int, t0: float, t1: float) -> float:
        """Instances that InvocationsPerInstance divides by for the minute [t0, t1)."""
        return self.instance_count_at(variant, t0)

    def metric_fleets(self) -> list[tuple[int, int, str]]:
        """(fleet id, variant index, EndpointConfigName) of each production fleet that publishes
        its own series (dimension EndpointConfigName): every one once the owner API added a second
        fleet, none before (then the variant's series are the one fleet's)."""
        fleets = [f for f in self.fleets() if not f.shadow]
        if len(fleets) < 2:
            return []
        names = self.variant_names()
        return [(f.id, names.index(f.variant), f.config_name) for f in fleets]

    def fleet_instance_count_at(self, fleet: int, t: float) -> float:
        """Instances of fleet ``fleet`` billed at ``t``: only types whose fleets change during a run
        (the owner API) publish per-fleet series, and they define it.

        Raises:
            NotImplementedError: this type has one fleet.
        """
        raise NotImplementedError(f"{self.type_id} has one fleet and no per-fleet series")

    def fleet_per_instance_denominator(self, fleet: int, t0: float, t1: float) -> float:
        """Instances of fleet ``fleet`` that its InvocationsPerInstance divides by for [t0, t1)."""
        return self.fleet_instance_count_at(fleet, t0)

    def instance_seconds(self, variant: int, t0: float, t1: float) -> float:
        """Instance-seconds of ``variant`` billed in [t0, t1]: the capacity its CPUUtilization
        divides by, so an instance that starts inside the minute counts for the part it was there
        (from the leases here; types that write leases at the end of the run define it)."""
        return sum(float(overlap(le.t0, le.t1, t0, t1)) for le in self.leases if le.variant == variant)

    def fleet_instance_seconds(self, fleet: int, t0: float, t1: float) -> float:
        """Instance-seconds of fleet ``fleet`` billed in [t0, t1] (defined by the types with
        per-fleet series, as ``fleet_instance_count_at``).

        Raises:
            NotImplementedError: this type has one fleet.
        """
        raise NotImplementedError(f"{self.type_id} has one fleet and no per-fleet series")

    def cpu_utilization(self, busy: float, variant: int, capacity_s: float) -> float:
        """CPUUtilization (%) of a minute: busy worker-seconds over ``capacity_s`` instance-seconds
        × the variant's workers; 0 without capacity. Not clipped: busy time lies on instances
        that were there, so a value above 100 would show a booking or accounting error."""
        return 100.0 * busy / (capacity_s * self.workers_of_variant(variant)) if capacity_s > 0 else 0.0

    def minute_gauges(self, variant: int, t0: float, t1: float) -> dict[str, float]:
        """Type-specific values of the minute [t0, t1) read from records (e.g. LoadedModelCount)."""
        return {}

    samples_state = False  # True where state_datapoints must be sampled as each minute closes

    def state_datapoints(self, t: float) -> dict[str, float]:
        """Type-specific state sampled when the minute ending at ``t`` closes (e.g. the async backlog)."""
        return {}

    def publish_minutes(self, store: MetricStore, t: float, *, final: bool, requests: bool = True) -> None:
        """Publish what became known by ``t``: state of the minute just closed, and (``requests``)
        the request metrics of every minute whose arrivals are all settled (all when ``final``).
        State is sampled as each minute closes; request metrics can wait (they are read from
        the records), which the store uses when nobody reacts to them during the run."""
        names = self.variant_names()
        closed = store.n_minutes if final else min(store.n_minutes, int(t // METRIC_PERIOD_S))
        for m in range(self._minutes_sampled, closed):
            for metric, value in self.state_datapoints(min((m + 1) * METRIC_PERIOD_S, store.duration)).items():
                store.publish(self.name, metric, m, Stat.of_value(value), variant=names[0])
        self._minutes_sampled = max(self._minutes_sampled, closed)
        if not requests:
            return
        settled = closed if final else min(closed, int(self.settled_before(t) // METRIC_PERIOD_S))
        if settled > self._minutes_published:
            self._publish_requests(store, self._minutes_published, settled)
            self._minutes_published = settled

    def before_fleets_change(self) -> None:
        """Owner API: call before adding a production fleet. Each fleet publishes its own series
        from the minute after it appears, which only minute-by-minute publishing knows: publish
        the minutes settled so far as they are, and publish live from now on."""
        self.sim.metrics.watch()

    def _publish_requests(self, store: MetricStore, m0: int, m1: int) -> None:
        """The one bucketing code path: request metrics of minutes [m0, m1) by arrival minute."""
        t_arr = self.arrival_times()
        edges = np.searchsorted(t_arr, np.arange(m0, m1 + 1) * METRIC_PERIOD_S, side="left")
        if m1 == store.n_minutes:
            edges[-1] = t_arr.size
        if edges[0] == edges[-1] and not self.metric_fleets():
            self._publish_quiet(store, m0, m1)
            return
        sl = RequestSlice(self, int(edges[0]), int(edges[-1]))
        empty = sl.i0 == sl.i1  # no arrivals in these minutes: zero counts, no samples
        metrics = [(rm, *((None, None) if empty else rm.fn(sl))) for rm in self.request_metrics()]
        names = self.variant_names()
        single = len(names) == 1
        busy = {v: self._add_busy(store, sl, v, slice(None) if single else sl.variant == v)
                for v in range(len(names))}
        fleets = self.metric_fleets()
        fleet_col = sl.col(self.log.fleet) if fleets else None
        for fid, _, _ in fleets:
            if ("fleet", fid) not in self._busy_acc:  # its series start: busy time spilling over
                prior = RequestSlice(self, 0, sl.i0)  # from earlier minutes counts too
                self._add_busy(store, prior, ("fleet", fid), prior.col(self.log.fleet) == fid)
        fbusy = {fid: self._add_busy(store, sl, ("fleet", fid), fleet_col == fid) for fid, _, _ in fleets}
        rel = edges - edges[0]
        for j, m in enumerate(range(m0, m1)):
            a, b = int(rel[j]), int(rel[j + 1])
            t0, t1 = m * METRIC_PERIOD_S, min((m + 1) * METRIC_PERIOD_S, store.duration)
            for v, vname in enumerate(names):
                vm = None if single else sl.variant[a:b] == v
                for rm, mask, values in metrics:
                    if a == b:
                        store.publish(self.name, rm.name, m, ZERO if rm.kind == COUNT else None, variant=vname)
                        continue
                    sel = mask[a:b] if vm is None or not rm.per_variant else mask[a:b] & vm
                    stat = (Stat.of_value(np.count_nonzero(sel)) if rm.kind == COUNT
                            else Stat.of_samples(values[a:b][sel]))
                    store.publish(self.name, rm.name, m, stat, variant=vname)
                inv = float(b - a if vm is None else np.count_nonzero(vm))
                inst = self.instance_count_at(v, t0)
                per = self.per_instance_denominator(v, t0, t1)
                cpu = self.cpu_utilization(busy[v][m], v, self.instance_seconds(v, t0, t1))
                values_of = {"InstanceCount": inst, "CPUUtilization": cpu,
                             **({"InvocationsPerInstance": inv / per} if per > 0 else {}),
                             **self.minute_gauges(v, t0, t1)}
                for metric, value in values_of.items():
                    store.publish(self.name, metric, m, Stat.of_value(value), variant=vname)
            for fid, v, cname in fleets:  # dimension EndpointConfigName: each fleet of an update
                fm = fleet_col[a:b] == fid
                for rm, mask, values in metrics:
                    if a == b:
                        store.publish(self.name, rm.name, m, ZERO if rm.kind == COUNT else None, variant=names[v],
                                      fleet=cname)
                        continue
                    sel = mask[a:b] & fm
                    stat = (Stat.of_value(np.count_nonzero(sel)) if rm.kind == COUNT
                            else Stat.of_samples(values[a:b][sel]))
                    store.publish(self.name, rm.name, m, stat, variant=names[v], fleet=cname)
                inst = self.fleet_instance_count_at(fid, t0)
                per = self.fleet_per_instance_denominator(fid, t0, t1)
                cpu = self.cpu_utilization(fbusy[fid][m], v, self.fleet_instance_seconds(fid, t0, t1))
                values_of = {"InstanceCount": inst, "CPUUtilization": cpu,
                             **({"InvocationsPerInstance": np.count_nonzero(fm) / per} if per > 0 else {})}
                for metric, value in values_of.items():
                    store.publish(self.name, metric, m, Stat.of_value(float(value)), variant=names[v], fleet=cname)

    def _publish_quiet(self, store: MetricStore, m0: int, m1: int) -> None:
        """Minutes [m0, m1) without arrivals (long quiet runs): the same datapoints the bucketing
        path publishes for them — zero counts, no latency samples, the state of the fleet — without
        building request arrays."""
        names = self.variant_names()
        counts = [rm.name for rm in self.request_metrics() if rm.kind == COUNT]
        for m in range(m0, m1):
            t0, t1 = m * METRIC_PERIOD_S, min((m + 1) * METRIC_PERIOD_S, store.duration)
            for v, vname in enumerate(names):
                for name in counts:
                    store.publish(self.name, name, m, ZERO, variant=vname)
                acc = self._busy_acc.get(v)
                busy = 0.0 if acc is None else acc[m]
                inst = self.instance_count_at(v, t0)
                per = self.per_instance_denominator(v, t0, t1)
                cpu = self.cpu_utilization(busy, v, self.instance_seconds(v, t0, t1))
                values_of = {"InstanceCount": inst, "CPUUtilization": cpu,
                             **({"InvocationsPerInstance": 0.0} if per > 0 else {}),
                             **self.minute_gauges(v, t0, t1)}
                for metric, value in values_of.items():
                    store.publish(self.name, metric, m, Stat.of_value(value), variant=vname)

    def _add_busy(self, store: MetricStore, sl: RequestSlice, key: Any, sel: Any) -> np.ndarray:
        """Add the busy time of the slice's requests ``sel`` (of the variant or fleet ``key``) to
        its per-minute total; complete for a minute once every request that arrived before its
        end was added (a fleet's total is created when its series start, in the minute an update
        added a second fleet, from the requests it served before). Only busy time inside the run
        counts: a request that starts after the end (queued past it) adds nothing, one still
        running at the end adds its part."""
        acc = self._busy_acc.setdefault(key, np.zeros(store.n_minutes))
        start, busy = sl.t_start[sel], sl.col(self.log.busy_s)[sel]
        ok = start < store.duration  # False for NaN (never started)
        if not ok.any():
            return acc
        start = start[ok]
        busy = np.minimum(busy[ok], store.duration - start)
        m_lo = int(start.min() // METRIC_PERIOD_S)
        m_start = (start // METRIC_PERIOD_S).astype(np.int64)
        inside = (start + busy) <= (m_start + 1) * METRIC_PERIOD_S  # ends in the minute it started
        if inside.any():
            per = np.bincount(m_start[inside] - m_lo, weights=busy[inside])
            acc[m_lo:m_lo + per.size] += per
        start, busy = start[~inside], busy[~inside]
        if start.size:  # spanning minutes: the exact formula, origin shifted to the slice's first minute
            m_hi = min(store.n_minutes, int((start + busy).max() // METRIC_PERIOD_S) + 1)  # > m_lo: starts < end
            acc[m_lo:m_hi] += per_minute_busy(start - m_lo * METRIC_PERIOD_S, busy, m_hi - m_lo)
        return acc

    def metrics_frame(self, result):
        """This deployment's rows of ``Result.metrics``, read from the run's metric store."""
        import pandas as pd

        store = self.sim.metrics
        counts = {m.name for m in self.request_metrics() if m.kind == COUNT}
        n = store.n_minutes
        frames = []
        for vname in self.variant_names():
            cols: dict[str, Any] = {"deployment": self.name, "variant": vname, "minute": np.arange(n),
                                    "t_s": np.arange(n) * METRIC_PERIOD_S}
            for metric in self.metric_columns():
                values = store.minute_values(self.name, metric, vname, "Average")  # a count's one value is its Sum
                cols[metric] = np.nan_to_num(values).astype(np.int64) if metric in counts else values
            frames.append(pd.DataFrame(cols))
        return pd.concat(frames)  # Result.metrics renumbers the rows of all deployments

    def write_outputs(self, out_dir, result) -> list:
        """Type-specific files for ``--out`` (e.g. batch output); returns the paths written."""
        return []

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        """Type-specific additions to the JSON summary."""
        return {}

    def summary(self) -> dict[str, Any]:
        """The ``--json`` contract for this deployment (statistics after warm-up)."""
        sel = self.measured()
        outcome = self.log.outcome(self.sim.duration)
        counts = np.bincount(outcome[sel], minlength=len(Outcome))
        done = sel & (outcome == Outcome.COMPLETED)
        del outcome
        completed = int(counts[Outcome.COMPLETED])
        cost = self.cost_usd()
        result = {
            "type": self.type_id,
            "arrived": int(sel.sum()),
            "completed": completed,
            "failed": int(counts[Outcome.FAILED]),
            "throttled": int(counts[Outcome.THROTTLED]),
            "in_flight": int(counts[Outcome.IN_FLIGHT]),
            "latency_ms": latency_stats(self._since_arrival_ms(self.log.t_done, done), overwrite=True),
            "wait_ms": {k: v for k, v in latency_stats(self._since_arrival_ms(self.log.t_start, done),
                                                       overwrite=True).items() if k in ("mean", "p99")},
            "cold_starts": int(self.log.cold[sel].sum()),
            "cost_usd": rnd(cost),
            "cost_per_1k_usd": rnd(cost / completed * 1000.0) if completed else None,
            "instance_hours": rnd(self.instance_hours()),
            "utilization": rnd(self.utilization()),
        }
        result["errors"] = self.error_counts(sel)
        result.update(self.extra_summary(sel))
        return result

    def _since_arrival_ms(self, times: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """(times − arrival) × 1000 of the requests ``mask``, built in place (one temporary)."""
        out = times[mask]
        out -= self.arrival_times()[mask]
        out *= 1000.0
        return out

    def error_counts(self, sel: np.ndarray) -> dict[str, int]:
        """Count of each error kind among measured requests (only kinds that occurred)."""
        codes, counts = np.unique(self.log.error[sel], return_counts=True)
        return {Err(int(c)).name.lower(): int(n) for c, n in zip(codes, counts, strict=True) if c != Err.NONE}


def _scores(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.score_output(X), dtype=float)
