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
from simlab.deployments.base import COMMON_FIELDS, NAME_PATTERN, Deployment, Lease
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem
from simlab.metrics import METRIC_PERIOD_S
from simlab.monitoring.config import MONITORING_FIELDS
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


def _instance_type(raw: Any, path: str, *, batch: bool = False) -> str:
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
                convert_fn=lambda raw, path: _instance_type(raw, path, batch=batch))


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
    auto = cfg.get("autoscaling")
    if auto and not auto["min_instances"] <= cfg["instance_count"] <= auto["max_instances"]:
        problems.append(Problem(f"{path}.instance_count", f"must lie within autoscaling min_instances…"
                                f"max_instances ({auto['min_instances']}…{auto['max_instances']})",
                                str(cfg["instance_count"])))
    return problems


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
    *MONITORING_FIELDS,  # data_capture, monitors, retraining (behaviour in simlab/monitoring)
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


class Variant:
    """A production variant's configuration and live fleet."""

    def __init__(self, idx: int, cfg: dict, endpoint_cfg: dict) -> None:
        get = lambda k: cfg[k] if cfg.get(k) is not None else endpoint_cfg.get(k)  # noqa: E731
        self.idx, self.name, self.weight = idx, cfg["name"], cfg["weight"]
        self.model, self.model_version = get("model"), cfg.get("model_version", 0)
        self.instance_type = facts.instance(get("instance_type"))
        self.count = get("instance_count")
        self.workers = get("workers_per_instance")
        self.service: Dist | str = get("service_time")
        auto = get("autoscaling")
        self.scaler = TargetTracking.from_config(auto) if auto else None
        self.startup = auto["instance_startup"] if auto else 0.0
        self.instances: list[Instance] = []
        self.accepting: list[Instance] = []
        self.desired = self.count
        self.pending = 0  # launches under way
        self.cancelled = 0  # of those, launches a scale-in called off
        self.timeline: list[tuple[float, int]] = []  # (time, instances in service)


class RealTimeEndpoint(Deployment):
    """A SageMaker real-time endpoint with production variants and target-tracking auto scaling."""

    type_id = "real_time_endpoint"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        raw_variants = config.get("variants") or [{"name": "AllTraffic", "weight": 1.0,
                                                    "model_version": config.get("model_version", 0)}]
        self.variants = [Variant(i, v, config) for i, v in enumerate(raw_variants)]
        self.routing = config["routing"]
        self.overhead_s = config["overhead_ms"] / 1000.0
        self.max_payload = facts.limit("real_time_endpoint.max_payload_bytes")
        self.max_processing = facts.limit("real_time_endpoint.max_processing_s")

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def model_of_variant(self, v: int) -> str:
        return self.variants[v].model or self.sim.scenario.model

    def bind(self, sim) -> None:
        """Attach; a real-time worker is busy exactly for the model time, so ``model_s`` and
        ``busy_s`` share one array (8 bytes per request less)."""
        super().bind(sim)
        self.log.model_s = self.log.busy_s

    # -- fleet ---------------------------------------------------------------------------------
    def start(self) -> None:
        for v in self.variants:
            if v.service == "profile":
                v.service = self.sim.profiled_service_time(self.model_of_variant(v.idx))
            for _ in range(v.count):
                self._launch(v, 0.0)
            v.timeline.append((0.0, len(v.accepting)))
        if any(v.scaler is not None for v in self.variants):
            self.sim.metrics.on_close(self._autoscale)

    def _launch(self, v: Variant, t_up: float) -> None:
        inst = Instance(len(v.instances), t_up, v.workers)
        v.instances.append(inst)
        v.accepting.append(inst)

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
            if v.scaler is None:
                continue
            per_instance = store.query(deployment=self.name, metric="InvocationsPerInstance", statistic="Average",
                                       t0=t0, t1=now, variant=v.name)
            load = store.query(deployment=self.name, metric="Invocations", statistic="Sum", t0=t0, t1=now,
                               variant=v.name)
            new = v.scaler.decide(now, per_instance, load, v.desired)
            if new is not None:
                self._resize(v, new)

    def _resize(self, v: Variant, new: int) -> None:
        """Move the fleet toward ``new`` instances: launch, cancel pending launches, or retire."""
        env = self.sim.env
        for _ in range(new - v.desired):
            v.pending += 1
            env.process(self._bring_up(v))
        excess = v.desired - new
        cancel = min(excess, v.pending - v.cancelled)
        v.cancelled += max(0, cancel)
        for _ in range(max(0, excess - max(0, cancel))):
            if len(v.accepting) > 1:
                self._retire(v, env.now)
        if excess > 0:
            v.timeline.append((env.now, len(v.accepting)))
        v.desired = new

    def _bring_up(self, v: Variant):
        yield self.sim.env.timeout(v.startup)
        v.pending -= 1
        if v.cancelled > 0:
            v.cancelled -= 1
            return
        self.admit_until(self.sim.env.now)
        self._launch(v, self.sim.env.now)
        v.timeline.append((self.sim.env.now, len(v.accepting)))

    # -- requests ------------------------------------------------------------------------------
    def admit_until(self, t: float) -> None:
        wl, log = self.sim.workload, self.log
        i0, i1 = self._next, wl.upto(min(t, self.sim.duration))
        if i1 <= i0:
            return
        self._next = i1
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
        w = np.array([v.weight for v in self.variants], dtype=float)
        cum = np.cumsum(w / w.sum())
        cum[-1] = 1.0
        var = np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.int16)
        lo = np.concatenate([[0.0], cum[:-1]])[var]
        share = np.where(cum[var] - lo > 0, cum[var] - lo, 1.0)
        return var, np.clip((u - lo) / share, 0.0, np.nextafter(1.0, 0))  # a fresh uniform

    def _serve(self, v: Variant, idx: np.ndarray, u_inst: np.ndarray) -> None:
        wl, log = self.sim.workload, self.log
        t = wl.t[idx]
        svc = self._service_times(v, idx)
        too_big = wl.payload_bytes[idx] > self.max_payload
        timeout = svc > self.max_processing
        busy = np.where(timeout, self.max_processing, svc)
        ok = ~too_big
        starts, inst_ids = self._assign(v, t[ok], busy[ok], u_inst[ok])
        log.model_version[idx] = v.model_version
        log.error[idx[too_big]] = Err.PAYLOAD_TOO_LARGE
        log.t_done[idx[too_big]] = t[too_big]
        ok_idx = idx[ok]
        log.t_start[ok_idx] = starts
        log.instance[ok_idx] = inst_ids
        log.busy_s[ok_idx] = busy[ok]
        log.model_s[ok_idx] = busy[ok]
        log.overhead_s[ok_idx] = self.overhead_s
        log.t_done[ok_idx] = starts + busy[ok] + self.overhead_s
        log.error[ok_idx[timeout[ok]]] = Err.TIMEOUT

    def _service_times(self, v: Variant, idx: np.ndarray) -> np.ndarray:
        """Seconds a worker spends on each request ``idx`` (common random numbers: ``u_service``)."""
        return v.service.ppf(self.sim.workload.u_service[idx])

    def _assign(self, v: Variant, t: np.ndarray, busy: np.ndarray, u: np.ndarray):
        """Route each request to an instance and take its earliest-free worker (FIFO)."""
        n = t.size
        starts = np.empty(n)
        ids = np.empty(n, dtype=np.int32)
        acc = v.accepting
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
    def instance_count_at(self, variant: int, t: float) -> float:
        """Instances billed at ``t``: in service, or retired but still draining (as the leases)."""
        end, n = self.sim.duration, 0
        for inst in self.variants[variant].instances:
            stop = end if math.isnan(inst.t_retired) else min(end, max(inst.t_retired, inst.drained_at()))
            n += inst.t_up <= t < stop
        return float(n)

    def per_instance_denominator(self, variant: int, t0: float, t1: float) -> float:
        """Time-average instances in service over the minute (what target tracking divides by)."""
        return time_average(self.variants[variant].timeline, t0, t1)

    def workers_of_variant(self, variant: int) -> int:
        return self.variants[variant].workers

    # -- results -------------------------------------------------------------------------------
    def finish(self) -> None:
        super().finish()
        end = self.sim.duration
        for v in self.variants:
            for inst in v.instances:
                stop = end if math.isnan(inst.t_retired) else min(end, max(inst.t_retired, inst.drained_at()))
                self.leases.append(Lease(inst.t_up, stop, v.instance_type.price_per_hour / 3600.0, v.workers, v.idx))

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {"max_instances": self._peak_instances()}
        if len(self.variants) > 1:
            out["variants"] = {v.name: int(np.count_nonzero(self.log.variant[sel] == v.idx)) for v in self.variants}
        return out

    def _peak_instances(self) -> int:
        """Most instances in service at one moment, over all variants."""
        events = sorted((t, k, v.idx, n) for v in self.variants for k, (t, n) in enumerate(v.timeline))
        now, peak = [0] * len(self.variants), 0
        for i, (t, _, v, n) in enumerate(events):
            now[v] = n
            if i + 1 == len(events) or events[i + 1][0] > t:  # all changes at time t applied
                peak = max(peak, sum(now))
        return peak

    def instance_timeline(self) -> list[tuple[str, float, int]]:
        """(variant, time, instances in service) at every change."""
        return [(v.name, t, n) for v in self.variants for t, n in v.timeline]


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
