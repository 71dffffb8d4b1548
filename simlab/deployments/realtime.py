"""Real-time endpoint: production variants × instances × workers, FIFO queue per instance.

Requests are routed on arrival: first to a variant (share = weight / Σ weights), then to one of
the variant's in-service instances (RoutingStrategy RANDOM, SageMaker's default, or
LEAST_OUTSTANDING_REQUESTS). Each instance serves ``workers_per_instance`` requests at once from
its own FIFO queue. Because an instance's queue is FIFO with a fixed number of workers, the start
time of a request is known the moment it is routed (the earliest-free worker), so requests are
processed as arrays between clock events instead of one SimPy process per request. Auto scaling,
instance start-ups and later rollouts are SimPy processes on the same clock; each calls
``admit_until(now)`` before it changes the fleet, which keeps the result exact.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from simlab import facts
from simlab.autoscaling import AUTOSCALING_SCHEMA, TargetTracking, time_average
from simlab.deployments.base import (
    COMMON_FIELDS,
    NAME_PATTERN,
    Deployment,
    Faults,
    FleetInfo,
    Lease,
    count_within_scaling,
    pick_by_shares,
)
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem
from simlab.metrics import METRIC_PERIOD_S
from simlab.records import Err
from simlab.schema import (
    Any_,
    Field,
    Float,
    Int,
    Invalid,
    ListOf,
    Nested,
    OneOf,
    Schema,
    Str,
    suggest,
)

__all__ = ["RealTimeEndpoint", "InstanceTypeKind", "ROUTING", "Instance"]

ROUTING = ("RANDOM", "LEAST_OUTSTANDING_REQUESTS")


def _instance_type(raw: Any, *, batch: bool = False) -> str:
    types = facts.instance_types()
    valid = [k for k, v in types.items() if v.batch or not batch]
    if not isinstance(raw, str) or raw not in valid:
        why = " (not valid for batch transform)" if isinstance(raw, str) and raw in types else ""
        hint = suggest(raw, valid) if isinstance(raw, str) else ""
        raise Invalid(f"must be a known {'batch ' if batch else ''}instance type{why}{hint}; known: "
                      f"{', '.join(valid)}", raw)
    return raw


def InstanceTypeKind(*, batch: bool = False) -> Any_:  # noqa: N802 - reads like a kind
    """Schema kind: an instance type from the catalog (batch=True: batch-transform-valid only)."""
    return Any_(describe="an instance type from the catalog (simlab/data/instances.yaml)",
                convert_fn=lambda raw, _path: _instance_type(raw, batch=batch))


SERVICE_TIME = DistSpec(unit="ms", scale=0.001, allow_profile=True)

VARIANT_FIELDS = [
    Field("name", Str(pattern=NAME_PATTERN, describe="a name of at most 63 letters, digits and hyphens"), doc="VariantName"),
    Field("weight", Float(min=0), default=1.0, doc="InitialVariantWeight; traffic share = weight / Σ weights"),
    Field("model", Str(), default=None, doc="bundled model id (default: the scenario's model)"),
    Field("model_version", Int(min=0, max=0), default=0, doc="version of that model this variant serves (only version 0 exists when a run starts; retraining registers later ones)"),
    Field("instance_type", InstanceTypeKind(), default=None, doc="default: the endpoint's"),
    Field("instance_count", Int(min=1), default=None, unit="instances", doc="default: the endpoint's"),
    Field("workers_per_instance", Int(min=1), default=None, unit="requests", doc="default: the endpoint's"),
    Field("service_time", SERVICE_TIME, default=None, unit="ms", doc="default: the endpoint's"),
    Field("autoscaling", Nested(AUTOSCALING_SCHEMA), default=None, doc="default: the endpoint's"),
]


def _weights_check(cfg: dict, path: str) -> list[Problem]:
    variants = cfg.get("variants") or []
    names = [v["name"] for v in variants]
    problems = [Problem(f"{path}.variants", "variant names must be unique", ", ".join(names))
                for _ in [0] if len(set(names)) != len(names)]
    if variants and sum(v["weight"] for v in variants) <= 0:
        problems.append(Problem(f"{path}.variants", "at least one variant weight must be > 0", "all 0"))
    return problems + count_within_scaling(cfg, path)


SCHEMA = Schema("real_time_endpoint", [
    *COMMON_FIELDS,
    Field("model", Str(), default=None, doc="bundled model id (default: the scenario's model)"),
    Field("model_version", Int(min=0, max=0), default=0, doc="model version served (only version 0 exists when a run starts; retraining registers later ones)"),
    Field("instance_type", InstanceTypeKind(), default="ml.m5.large", doc="instance type from the catalog"),
    Field("instance_count", Int(min=1), default=1, unit="instances", doc="InitialInstanceCount"),
    Field("workers_per_instance", Int(min=1), default=1, unit="requests",
          doc="requests one instance serves at once (model-server workers)"),
    Field("service_time", SERVICE_TIME, default=Dist.exponential(0.040), unit="ms",
          doc='model time per request: a distribution spec, or "profile" to measure the real model'),
    Field("overhead_ms", Float(min=0), default=2.0, unit="ms",
          doc="fixed overhead latency added to every response (assumption: single-digit ms as "
              "CloudWatch OverheadLatency typically shows)"),
    Field("routing", OneOf(ROUTING), default="RANDOM",
          doc="RoutingConfig.RoutingStrategy (SageMaker's default is RANDOM)"),
    Field("autoscaling", Nested(AUTOSCALING_SCHEMA), default=None, doc="target tracking (optional)"),
    Field("variants", ListOf(Schema("variant", VARIANT_FIELDS), min_len=1,
                             max_len=facts.limit("real_time_endpoint.max_variants")),
          default=None, doc="production variants (1–10); omitted = one variant `AllTraffic`"),
], checks=(_weights_check,))


class Instance:
    """One ML instance: a heap of worker free-times and a heap of outstanding end times."""

    __slots__ = ("id", "t_up", "t_retired", "free", "ends")

    def __init__(self, iid: int, t_up: float, workers: int) -> None:
        self.id = iid
        self.t_up = t_up
        self.t_retired = math.nan
        self.free = [t_up] * workers
        self.ends: list[float] = []

    def drained_at(self) -> float:
        """When its last request finishes (billing stops then, for a retired instance)."""
        return max(self.free)


class Fleet:
    """Instances of one variant serving one model version with one configuration: the variant's
    initial fleet, or one added through the owner API (``add_fleet``, e.g. a green fleet)."""

    def __init__(self, fid: int, variant: Variant, *, model: str | None, model_version: int, instance_type: str,
                 count: int, workers: int, service: Dist | str, startup: float, faults: Faults,
                 config_name: str, shadow: bool = False, sampling: float = 100.0) -> None:
        self.id, self.variant = fid, variant
        self.model, self.model_version = model, model_version
        self.instance_type = facts.instance(instance_type)
        self.count, self.workers, self.service, self.startup = count, workers, service, startup
        self.faults, self.config_name, self.shadow, self.sampling = faults, config_name, shadow, sampling
        self.instances: list[Instance] = []
        self.accepting: list[Instance] = []
        self.desired = count
        self.serving: int | None = None  # set_fleet_serving: only the oldest k accepting instances take requests
        self.pending = 0  # launches under way
        self.cancelled = 0  # of those, launches a scale-in called off
        self.timeline: list[tuple[float, int]] = []  # (time, instances in service)
        self.t_ready = math.nan  # when it entered service
        self.t_retired = math.nan  # retire_fleet called
        self.t_drained = math.nan  # its last request finished after retirement
        self.failed = False
        self.ready: Any = None  # simpy.Event: value True when in service, False on a start-up failure
        self.rng: np.random.Generator | None = None  # fault draws (stream ``{endpoint}.fleet.{id}.faults``)
        self.log: Any = None  # a shadow fleet's own RequestLog (its responses never reach callers)

    def state(self, now: float) -> str:
        if self.failed:
            return "failed"
        if not math.isnan(self.t_retired):
            return "draining" if now < self.t_drained else "retired"
        return "provisioning" if math.isnan(self.t_ready) else "in_service"


class Variant:
    """A production variant: its weight, auto scaling and fleets (one until the owner API adds
    more). The fleet attributes read here are those of its ``primary`` fleet, the one auto scaling
    and ``set_instance_count`` act on (the routed fleet with the largest share)."""

    def __init__(self, idx: int, cfg: dict, endpoint_cfg: dict) -> None:
        get = lambda k: cfg[k] if cfg.get(k) is not None else endpoint_cfg.get(k)  # noqa: E731
        self.idx, self.name, self.weight = idx, cfg["name"], cfg["weight"]
        self.model = get("model")
        auto = get("autoscaling")
        self.scaler = TargetTracking.from_config(auto) if auto else None
        self.startup = auto["instance_startup"] if auto else float(facts.limit("real_time_endpoint.default_instance_startup_s"))
        self.suspended = False  # suspend_autoscaling
        self.fleets: list[Fleet] = []
        self.shares: dict[int, float] = {}  # fleet id -> share of this variant's traffic
        self.primary: Fleet | None = None
        self._cfg = (get("instance_type"), get("instance_count"), get("workers_per_instance"), get("service_time"),
                     cfg.get("model_version", 0))

    def routed(self) -> list[tuple[Fleet, float]]:
        """Fleets that receive traffic, in id order, with their shares."""
        return [(f, self.shares[f.id]) for f in self.fleets if self.shares.get(f.id, 0.0) > 0.0]

    # the primary fleet's state, under the names auto scaling uses
    instances = property(lambda self: self.primary.instances)
    accepting = property(lambda self: self.primary.accepting)
    timeline = property(lambda self: self.primary.timeline)
    count = property(lambda self: self.primary.count)
    workers = property(lambda self: self.primary.workers)
    instance_type = property(lambda self: self.primary.instance_type)
    model_version = property(lambda self: self.primary.model_version)
    service = property(lambda self: self.primary.service)
    desired = property(lambda self: self.primary.desired, lambda self, n: setattr(self.primary, "desired", n))
    pending = property(lambda self: self.primary.pending, lambda self, n: setattr(self.primary, "pending", n))
    cancelled = property(lambda self: self.primary.cancelled, lambda self, n: setattr(self.primary, "cancelled", n))


class RealTimeEndpoint(Deployment):
    """A SageMaker real-time endpoint with production variants and target-tracking auto scaling."""

    type_id = "real_time_endpoint"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        raw_variants = config.get("variants") or [{"name": "AllTraffic", "weight": 1.0,
                                                    "model_version": config.get("model_version", 0)}]
        self.variants = [Variant(i, v, config) for i, v in enumerate(raw_variants)]
        self.all_fleets: list[Fleet] = []  # index = fleet id (log.fleet, Lease.fleet)
        for v in self.variants:  # initial fleets: ids 0…V-1 in variant order
            itype, count, workers, service, version = v._cfg
            f = self._new_fleet(v, model=v.model, model_version=version, instance_type=itype, count=count,
                                workers=workers, service=service, startup=v.startup, faults=Faults(),
                                config_name=f"{self.name}-config")
            v.shares[f.id], v.primary = 1.0, f
        self.routing = config["routing"]
        self.overhead_s = config["overhead_ms"] / 1000.0
        self.max_payload = facts.limit("real_time_endpoint.max_payload_bytes")
        self.max_processing = facts.limit("real_time_endpoint.max_processing_s")

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def model_of_variant(self, v: int) -> str:
        return self.variants[v].model or self.sim.scenario.model

    def model_of_fleet(self, fleet: int) -> str:
        f = self.all_fleets[fleet]
        return f.model or self.model_of_variant(f.variant.idx)

    def bind(self, sim) -> None:
        """Attach; a real-time worker is busy exactly for the model time, so ``model_s`` and
        ``busy_s`` share one array (8 bytes per request less)."""
        super().bind(sim)
        self.log.model_s = self.log.busy_s

    # -- fleet ---------------------------------------------------------------------------------
    def _new_fleet(self, v: Variant, **kw: Any) -> Fleet:
        f = Fleet(len(self.all_fleets), v, **kw)
        self.all_fleets.append(f)
        v.fleets.append(f)
        return f

    def start(self) -> None:
        for f in self.all_fleets:
            self._bind_fleet(f)
            for _ in range(f.count):
                self._launch(f, 0.0)
            f.t_ready = 0.0
            f.timeline.append((0.0, len(f.accepting)))
            f.ready.succeed(True)
        if any(v.scaler is not None for v in self.variants):
            self.sim.metrics.on_close(self._autoscale)

    def _bind_fleet(self, f: Fleet) -> None:
        """Resolve ``"profile"``, create its ready event and its fault stream."""
        f.service = self.resolve_service_time(f.service, f.model or self.model_of_variant(f.variant.idx))
        f.ready = self.sim.env.event()
        if f.faults.error_rate > 0.0:
            f.rng = self.sim.streams.generator(f"{self.name}.fleet.{f.id}.faults")

    def _launch(self, f: Fleet, t_up: float) -> None:
        inst = Instance(len(f.instances), t_up, f.workers)
        f.instances.append(inst)
        f.accepting.append(inst)

    def _retire(self, v: Variant, now: float) -> None:
        inst = v.accepting.pop()  # newest first
        inst.t_retired = now

    def _autoscale(self, now: float, final: bool) -> None:
        """When a minute closes: each scaled variant's policy reads the datapoints just published
        (SageMakerVariantInvocationsPerInstance, and Invocations for the load) and may resize."""
        if final:
            return
        store, t0 = self.sim.metrics, now - METRIC_PERIOD_S
        for v in self.variants:
            if v.scaler is None or v.suspended:  # owner API suspend_autoscaling
                continue
            per_instance = store.query(deployment=self.name, metric="InvocationsPerInstance", statistic="Average",
                                       t0=t0, t1=now, variant=v.name)
            load = store.query(deployment=self.name, metric="Invocations", statistic="Sum", t0=t0, t1=now,
                               variant=v.name)
            new = v.scaler.decide(now, per_instance, load, v.desired)
            if new is not None:
                self._resize(v, new)

    def _resize(self, v: Variant | Fleet, new: int) -> None:
        """Move the fleet (a variant's primary, or the one given) toward ``new`` instances: launch,
        cancel pending launches, or retire."""
        env = self.sim.env
        for _ in range(new - v.desired):
            v.pending += 1
            env.process(self._bring_up(v.primary if isinstance(v, Variant) else v))
        excess = v.desired - new
        cancel = min(excess, v.pending - v.cancelled)
        v.cancelled += max(0, cancel)
        for _ in range(max(0, excess - max(0, cancel))):
            if len(v.accepting) > 1:
                self._retire(v, env.now)
        if excess > 0:
            v.timeline.append((env.now, len(v.accepting)))
        v.desired = new

    def _bring_up(self, v: Fleet):
        yield self.sim.env.timeout(v.startup)
        v.pending -= 1
        if v.cancelled > 0:
            v.cancelled -= 1
            return
        self.admit_until(self.sim.env.now)
        self._launch(v, self.sim.env.now)
        v.timeline.append((self.sim.env.now, len(v.accepting)))

    # -- owner API: every change to the live endpoint goes through these ------------------------
    def _variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ValueError(f"{self.name}: unknown variant {name!r}; variants: {', '.join(self.variant_names())}")

    def _fleet(self, fleet_id: int) -> Fleet:
        if not isinstance(fleet_id, int | np.integer) or not 0 <= fleet_id < len(self.all_fleets):
            raise ValueError(f"{self.name}: unknown fleet {fleet_id!r}; fleets: 0…{len(self.all_fleets) - 1}")
        return self.all_fleets[int(fleet_id)]

    def fleets(self) -> list[FleetInfo]:
        """Every fleet the endpoint has had, with its state now."""
        now = self.sim.env.now if self.sim is not None else 0.0
        return [FleetInfo(f.id, f.variant.name, self.model_of_fleet(f.id) if self.sim is not None else (f.model or ""),
                          int(f.model_version), f.instance_type.name, len(f.accepting), f.config_name, f.state(now),
                          f.shadow) for f in self.all_fleets]

    def set_variant_weights(self, weights: dict[str, float]) -> None:
        """UpdateEndpointWeightsAndCapacities (DesiredWeight): requests arriving from now on are
        split by the new weights; variants not named keep theirs.

        Raises:
            ValueError: an unknown variant, a negative weight, or all weights 0.
        """
        self.admit_until(self.sim.env.now)
        for name, w in weights.items():
            self._variant(name)
            if not w >= 0:
                raise ValueError(f"{self.name}: weight of {name!r} must be ≥ 0, got {w!r}")
        new = {v.name: float(weights.get(v.name, v.weight)) for v in self.variants}
        if sum(new.values()) <= 0:
            raise ValueError(f"{self.name}: at least one variant weight must be > 0, got {weights!r}")
        for v in self.variants:
            v.weight = new[v.name]

    def set_instance_count(self, variant: str, n: int) -> None:
        """UpdateEndpointWeightsAndCapacities (DesiredInstanceCount) on the variant's primary fleet:
        new instances serve after its start-up time; removed ones drain (newest first).

        Raises:
            ValueError: an unknown variant or n < 1.
        """
        v = self._variant(variant)
        if not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"{self.name}: instance count of {variant!r} must be an integer ≥ 1, got {n!r}")
        self.admit_until(self.sim.env.now)
        if int(n) != v.desired:
            self._resize(v, int(n))

    def set_fleet_instance_count(self, fleet_id: int, n: int) -> None:
        """Desired instance count of one fleet (deployment guardrails turning blue off in slices,
        or bringing it back on rollback): new instances serve after the variant's start-up time;
        removed ones (newest first) stop taking requests and drain, then stop billing.

        Raises:
            ValueError: an unknown fleet, a fleet not in service, or n < 1.
        """
        f = self._fleet(fleet_id)
        if not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"{self.name}: instance count of fleet {fleet_id} must be an integer ≥ 1, got {n!r}")
        now = self.sim.env.now
        if f.state(now) != "in_service":
            raise ValueError(f"{self.name}: fleet {fleet_id} is {f.state(now)}, its capacity cannot change")
        self.admit_until(now)
        if int(n) != f.desired:
            self._resize(f, int(n))

    def set_fleet_serving(self, fleet_id: int, n: int | None) -> None:
        """Only ``n`` of the fleet's in-service instances take its requests from now on (the oldest
        ``n``: a canary slice of a green fleet); the others stay provisioned, idle and billed.
        ``None`` (the default state): all of them serve. If the fleet later has fewer instances in
        service than ``n``, all of them serve.

        Raises:
            ValueError: an unknown fleet, a shadow fleet, one retired or failed, or ``n`` not an
                integer from 1 to the fleet's desired instance count.
        """
        f = self._fleet(fleet_id)
        now = self.sim.env.now
        if f.shadow:
            raise ValueError(f"{self.name}: fleet {fleet_id} is a shadow fleet; its serving slice cannot be set")
        if f.state(now) not in ("provisioning", "in_service"):
            raise ValueError(f"{self.name}: fleet {fleet_id} is {f.state(now)}, its serving slice cannot be set")
        if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= f.desired):
            raise ValueError(f"{self.name}: serving instances of fleet {fleet_id} must be None or an integer from 1 "
                             f"to its {f.desired} instances, got {n!r}")
        self.admit_until(now)
        f.serving = None if n is None else int(n)

    def add_fleet(self, variant: str, *, model: str | None = None, model_version: int = 0,
                  instance_type: str | None = None, instance_count: int | None = None,
                  service_time: Dist | str | None = None, faults: Faults | None = None,
                  config_name: str | None = None, shadow: bool = False, sampling_percentage: float = 100.0,
                  startup_s: float | None = None) -> int:
        """Provision a fleet for ``variant`` (defaults: the primary fleet's settings; start-up: the
        variant's ``instance_startup``, else the documented default). It takes no traffic until
        ``set_fleet_traffic`` routes some to it; a shadow fleet gets copies of
        ``sampling_percentage`` % of the variant's requests once in service, into its own log
        (``shadow_log``). Returns the fleet id; ``fleet_ready(id)`` tells when it serves.

        Raises:
            ValueError: an unknown variant, model version, instance type, or a bad count/percentage.
        """
        v = self._variant(variant)
        p = v.primary
        faults = faults or Faults()
        model = model or p.model or self.model_of_variant(v.idx)
        self._check_version(model, model_version)
        if instance_type is not None and instance_type not in facts.instance_types():
            raise ValueError(f"{self.name}: unknown instance type {instance_type!r}")
        count = p.count if instance_count is None else instance_count
        if not isinstance(count, int | np.integer) or count < 1:
            raise ValueError(f"{self.name}: instance_count must be an integer ≥ 1, got {count!r}")
        if not 0.0 < sampling_percentage <= 100.0:
            raise ValueError(f"{self.name}: sampling_percentage must be within (0, 100], got {sampling_percentage!r}")
        startup = v.startup if startup_s is None else float(startup_s)
        self.admit_until(self.sim.env.now)
        if not shadow:
            self.before_fleets_change()
        f = self._new_fleet(v, model=model, model_version=int(model_version),
                            instance_type=instance_type or p.instance_type.name, count=int(count), workers=p.workers,
                            service=p.service if service_time is None else service_time, startup=startup,
                            faults=faults, config_name=config_name or f"{self.name}-config-{len(self.all_fleets)}",
                            shadow=shadow, sampling=float(sampling_percentage))
        self._bind_fleet(f)
        if shadow:
            from simlab.records import RequestLog

            f.log = RequestLog(self.sim.workload.n)
            f.log.model_s = f.log.busy_s  # as the production log (see bind)
            f.rng = f.rng or self.sim.streams.generator(f"{self.name}.fleet.{f.id}.faults")
        self.sim.env.process(self._provision(f))
        return f.id

    def _provision(self, f: Fleet):
        yield self.sim.env.timeout(f.startup)
        if f.faults.startup_failure:
            f.failed = True
            f.ready.succeed(False)
            return
        if not math.isnan(f.t_retired):  # retired before it came up
            f.ready.succeed(False)
            return
        now = self.sim.env.now
        self.admit_until(now)
        for _ in range(f.count):
            self._launch(f, now)
        f.t_ready = now
        f.timeline.append((now, len(f.accepting)))
        f.ready.succeed(True)

    def fleet_ready(self, fleet_id: int):
        """A simpy.Event whose value is True once the fleet is in service, False when its start-up failed."""
        return self._fleet(fleet_id).ready

    def shadow_log(self, fleet_id: int):
        """The RequestLog of a shadow fleet's copies (index = request; NaN times where not copied)."""
        return self._fleet(fleet_id).log

    def set_fleet_traffic(self, variant: str, shares: dict[int, float]) -> None:
        """Split ``variant``'s traffic over its fleets (shares sum to 1; fleets not named get none).

        Raises:
            ValueError: a fleet of another variant, a shadow, not in service, or shares not summing to 1.
        """
        v = self._variant(variant)
        now = self.sim.env.now
        for fid, share in shares.items():
            f = self._fleet(fid)
            if f.variant is not v or f.shadow:
                raise ValueError(f"{self.name}: fleet {fid} is not a production fleet of variant {variant!r}")
            if not share >= 0:
                raise ValueError(f"{self.name}: share of fleet {fid} must be ≥ 0, got {share!r}")
            if share > 0 and f.state(now) != "in_service":
                raise ValueError(f"{self.name}: fleet {fid} is {f.state(now)}, it cannot take traffic")
        if not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"{self.name}: fleet shares must sum to 1, got {sum(shares.values())!r}")
        self.admit_until(now)
        v.shares = {int(k): float(x) for k, x in shares.items() if x > 0}
        v.primary = max(v.routed(), key=lambda fs: (fs[1], fs[0].id))[0]

    def retire_fleet(self, fleet_id: int) -> None:
        """Stop routing to the fleet; its instances finish what they hold, then billing stops.

        Raises:
            ValueError: the fleet still has traffic and no other fleet of its variant does.
        """
        f = self._fleet(fleet_id)
        if not math.isnan(f.t_retired):
            return
        now = self.sim.env.now
        self.admit_until(now)
        v = f.variant
        if v.shares.get(f.id, 0.0) > 0:
            rest = {k: x for k, x in v.shares.items() if k != f.id}
            if not rest:
                raise ValueError(f"{self.name}: fleet {fleet_id} serves all of {v.name!r}; route its traffic "
                                 f"to another fleet first (set_fleet_traffic)")
            total = sum(rest.values())
            v.shares = {k: x / total for k, x in rest.items()}
            v.primary = max(v.routed(), key=lambda fs: (fs[1], fs[0].id))[0]
        f.cancelled = f.pending
        for inst in f.accepting:
            inst.t_retired = now
        f.t_retired = now
        f.t_drained = max([now, *(inst.drained_at() for inst in f.instances)])
        f.accepting = []
        f.timeline.append((now, 0))

    def _check_version(self, model: str, version: int) -> None:
        if not isinstance(version, int | np.integer) or version < 0:
            raise ValueError(f"{self.name}: model_version must be an integer ≥ 0, got {version!r}")
        if version > 0:
            try:
                self.sim.model(model, int(version))
            except KeyError:
                raise ValueError(f"{self.name}: model {model!r} has no version {version} in this run") from None

    def set_model_version(self, fleet_id: int, version: int) -> None:
        """Requests the fleet takes from now on are served by ``version`` of its model.

        Raises:
            ValueError: an unknown fleet, or a version nobody registered (``sim.register_model``).
        """
        f = self._fleet(fleet_id)
        self._check_version(self.model_of_fleet(f.id), version)
        self.admit_until(self.sim.env.now)
        f.model_version = int(version)

    def suspend_autoscaling(self, variant: str, suspended: bool) -> None:
        """Suspend (or resume) the variant's scaling policy, as during a blue/green update."""
        v = self._variant(variant)
        self.admit_until(self.sim.env.now)
        v.suspended = bool(suspended)

    # -- requests ------------------------------------------------------------------------------
    def admit_until(self, t: float) -> None:
        wl, log = self.sim.workload, self.log
        i0, i1 = self.take_arrivals(t)
        if i1 <= i0:
            return
        idx = np.arange(i0, i1)
        u = wl.u_route[i0:i1]
        if len(self.variants) == 1:
            var, u_inst = np.zeros(i1 - i0, dtype=np.int16), u
        else:
            var, u_inst = self._pick_variants(u)
        log.variant[i0:i1] = var
        for v in self.variants:
            mask = var == v.idx
            if mask.any():
                self._serve(v, idx[mask], u_inst[mask])

    def _pick_variants(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        var, fresh = pick_by_shares(np.array([v.weight for v in self.variants]), u)
        return var.astype(np.int16), fresh

    def _serve(self, v: Variant, idx: np.ndarray, u_inst: np.ndarray) -> None:
        """Split a variant's requests over its routed fleets by share (one fleet: all of them,
        with the same uniform), then send copies to its shadow fleets."""
        routed = v.routed()
        if len(routed) == 1:
            self._serve_fleet(routed[0][0], idx, u_inst, self.log)
        else:
            k, u = pick_by_shares(np.array([share for _, share in routed]), u_inst)
            for j, (f, _) in enumerate(routed):
                sel = k == j
                if sel.any():
                    self._serve_fleet(f, idx[sel], u[sel], self.log)
        now = self.sim.env.now
        for f in v.fleets:
            if f.shadow and f.state(now) == "in_service":
                copy = f.rng.random(idx.size) * 100.0 < f.sampling
                if copy.any():
                    self._serve_fleet(f, idx[copy], u_inst[copy], f.log)

    def _serve_fleet(self, f: Fleet, idx: np.ndarray, u_inst: np.ndarray, log) -> None:
        wl = self.sim.workload
        t = wl.t[idx]
        svc = self._service_times(f, idx)
        if f.faults.latency_multiplier != 1.0:
            svc = svc * f.faults.latency_multiplier
        too_big = self.oversize(idx)
        timeout = svc > self.max_processing
        busy = np.where(timeout, self.max_processing, svc)
        ok = ~too_big
        starts, inst_ids = self._assign(f, t[ok], busy[ok], u_inst[ok])
        log.model_version[idx] = f.model_version
        log.fleet[idx] = f.id
        self.reject_oversize(idx[too_big], log)
        ok_idx = idx[ok]
        log.t_start[ok_idx] = starts
        log.instance[ok_idx] = inst_ids
        log.busy_s[ok_idx] = busy[ok]  # = model_s: one array (bind)
        log.overhead_s[ok_idx] = self.overhead_s
        log.t_done[ok_idx] = starts + busy[ok] + self.overhead_s
        log.error[ok_idx[timeout[ok]]] = Err.TIMEOUT
        if f.faults.error_rate > 0.0 and ok_idx.size:  # the container answers with a 5xx ModelError
            fail = (f.rng.random(ok_idx.size) < f.faults.error_rate) & ~timeout[ok]
            log.error[ok_idx[fail]] = Err.MODEL_ERROR

    def _service_times(self, f: Fleet, idx: np.ndarray) -> np.ndarray:
        """Seconds a worker of fleet ``f`` spends on each request ``idx`` (common random numbers:
        ``u_service``), before injected faults."""
        return f.service.ppf(self.sim.workload.u_service[idx])

    def _assign(self, f: Fleet, t: np.ndarray, busy: np.ndarray, u: np.ndarray):
        """Route each request to an instance of fleet ``f`` and take its earliest-free worker (FIFO)."""
        n = t.size
        starts = np.empty(n)
        ids = np.empty(n, dtype=np.int32)
        acc = f.accepting if f.serving is None else f.accepting[:f.serving]  # set_fleet_serving
        lor = self.routing == "LEAST_OUTSTANDING_REQUESTS"
        k_acc = len(acc)
        push, replace, pop = heapq.heappush, heapq.heapreplace, heapq.heappop
        for k, (ti, bi, ui) in enumerate(zip(t.tolist(), busy.tolist(), u.tolist(), strict=True)):
            if lor:
                inst = _least_outstanding(acc, ti, ui, pop)
            else:
                inst = acc[int(ui * k_acc)]
            heap = inst.free
            f = heap[0]
            s = f if f > ti else ti
            replace(heap, s + bi)
            if lor:
                push(inst.ends, s + bi)
            starts[k] = s
            ids[k] = inst.id
        return starts, ids

    # -- metrics -------------------------------------------------------------------------------
    def _production_fleets(self, variant: int) -> list[Fleet]:
        return [f for f in self.variants[variant].fleets if not f.shadow]

    def instance_count_at(self, variant: int, t: float) -> float:
        """Instances billed at ``t`` in the variant's production fleets: in service, or retired but
        still draining (as the leases)."""
        return float(sum(self.fleet_instance_count_at(f.id, t) for f in self._production_fleets(variant)))

    def _billed(self, inst: Instance) -> tuple[float, float]:
        """When ``inst`` is billed: from entering service until it retired and drained (the run's
        end at most)."""
        end = self.sim.duration
        stop = end if math.isnan(inst.t_retired) else min(end, max(inst.t_retired, inst.drained_at()))
        return inst.t_up, stop

    def fleet_instance_count_at(self, fleet: int, t: float) -> float:
        """Instances of one fleet billed at ``t`` (the InstanceCount datapoint of its config name)."""
        n = 0
        for inst in self.all_fleets[fleet].instances:
            up, stop = self._billed(inst)
            n += up <= t < stop
        return float(n)

    def fleet_instance_seconds(self, fleet: int, t0: float, t1: float) -> float:
        total = 0.0
        for inst in self.all_fleets[fleet].instances:  # once per fleet and minute: plain floats,
            up, stop = self._billed(inst)  # as accounting.overlap costs ~4 µs a call on scalars
            total += max(0.0, min(stop, t1) - max(up, t0))
        return total

    def instance_seconds(self, variant: int, t0: float, t1: float) -> float:
        return sum(self.fleet_instance_seconds(f.id, t0, t1) for f in self._production_fleets(variant))

    def per_instance_denominator(self, variant: int, t0: float, t1: float) -> float:
        """Time-average instances in service over the minute (what target tracking divides by)."""
        return sum(time_average(f.timeline, t0, t1) for f in self._production_fleets(variant))

    def fleet_per_instance_denominator(self, fleet: int, t0: float, t1: float) -> float:
        return time_average(self.all_fleets[fleet].timeline, t0, t1)

    def workers_of_variant(self, variant: int) -> int:
        return self.variants[variant].workers

    # -- results -------------------------------------------------------------------------------
    def finish(self) -> None:
        super().finish()
        for f in self.all_fleets:
            for inst in f.instances:
                self.leases.append(Lease(*self._billed(inst), f.instance_type.price_per_hour / 3600.0, f.workers,
                                         f.variant.idx, f.id))

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"max_instances": self._peak_instances()}
        if len(self.variants) > 1:
            out["variants"] = {v.name: int(np.count_nonzero(self.log.variant[sel] == v.idx)) for v in self.variants}
        return out

    def _peak_instances(self) -> int:
        """Most instances in service at one moment, over all variants."""
        events = sorted((t, k, f.id, n) for f in self.all_fleets for k, (t, n) in enumerate(f.timeline))
        now, peak = [0] * len(self.all_fleets), 0
        for i, (t, _, v, n) in enumerate(events):
            now[v] = n
            if i + 1 == len(events) or events[i + 1][0] > t:  # all changes at time t applied
                peak = max(peak, sum(now))
        return peak

    def instance_timeline(self) -> list[tuple[str, float, int]]:
        """(variant, time, instances in service) at every change."""
        return [(f.variant.name, t, n) for f in self.all_fleets for t, n in f.timeline]


def _least_outstanding(acc: list[Instance], t: float, u: float, pop) -> Instance:
    best, best_n, ties = None, 1 << 60, 0
    for inst in acc:
        ends = inst.ends
        while ends and ends[0] <= t:
            pop(ends)
        n = len(ends)
        if n < best_n:
            best, best_n, ties = inst, n, 1
        elif n == best_n:
            ties += 1
    if ties > 1:  # break ties uniformly at random with the request's own uniform
        pick = int(u * ties)
        for inst in acc:
            if len(inst.ends) == best_n:
                if pick == 0:
                    return inst
                pick -= 1
    return best
