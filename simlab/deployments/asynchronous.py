"""Asynchronous Inference: an internal FIFO backlog in front of a fleet that may scale to zero.

Requests (payload up to 1 GB, in S3) enter a FIFO backlog. Each in-service instance runs
``max_concurrent_invocations_per_instance`` invocations at once; a free worker takes the oldest
request. A request that waited longer than ``request_ttl`` before a worker took it expires
(ExpiredRequests). Auto scaling is target tracking on ApproximateBacklogSizePerInstance plus the
optional step policy on HasBacklogWithoutCapacity that scales up from zero.

Workers are not assigned at arrival, because capacity can change while a request waits. Instead
``admit_until(t)`` runs an exact event loop up to ``t``: accepted requests are kept in one
arrival-ordered array; each fleet in service (a *lane*) holds the positions routed to it, its
backlog is the range ``[head, n)`` of those, and a heap of its workers' free-times decides when
its head is dispatched. With one fleet every accepted request is in its lane. While an update
routes traffic to several fleets, each request is assigned to a fleet at arrival by the traffic
shares (its routing uniform ``u_route``) and each fleet serves its own FIFO backlog. Fleet
changes happen only in SimPy processes, each of which first calls ``admit_until(env.now)``.
See docs/async.md.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from simlab import facts
from simlab.accounting import latency_stats, overlap, rnd
from simlab.alarms import ALARM, Alarm, AlarmSpec
from simlab.autoscaling import TargetTracking, time_average
from simlab.deployments.base import (
    COMMON_FIELDS,
    Deployment,
    Faults,
    FleetInfo,
    Lease,
    count_within_scaling,
    pick_by_shares,
)
from simlab.deployments.realtime import SERVICE_TIME, InstanceTypeKind
from simlab.distributions import Dist
from simlab.errors import Problem
from simlab.metrics import COUNT, METRIC_PERIOD_S, SAMPLES, RequestMetric
from simlab.records import Err
from simlab.schema import Bool, Duration, Field, Float, Int, Invalid, Nested, Schema, Str, ordered

__all__ = ["AsyncEndpoint", "SCHEMA", "ASYNC_AUTOSCALING_SCHEMA"]

_L = "async_inference."
_BLOCK = 8192  # backlog entries converted to Python floats at a time by the dispatch loop


ASYNC_AUTOSCALING_SCHEMA = Schema("async autoscaling", [
    Field("min_instances", Int(min=facts.limit(_L + "min_instances")), default=1, unit="instances",
          doc="MinCapacity; 0 lets the endpoint scale to zero (facts async_inference.min_instances; "
              "the DG example uses 0). Default 1, as for real-time"),
    Field("max_instances", Int(min=1), unit="instances", doc="MaxCapacity"),
    Field("target_backlog_per_instance", Float(min=0, min_open=True),
          default=float(facts.limit(_L + "default_target_backlog_per_instance")), unit="requests",
          doc="TargetValue for ApproximateBacklogSizePerInstance (queued + in-process requests per "
              "in-service instance; facts async_inference.default_target_backlog_per_instance, the DG example)"),
    Field("scale_out_cooldown", Duration(), default=float(facts.limit("real_time_endpoint.default_scale_out_cooldown_s")),
          unit="s", doc="ScaleOutCooldown (AAS default 300 s)"),
    Field("scale_in_cooldown", Duration(), default=float(facts.limit("real_time_endpoint.default_scale_in_cooldown_s")),
          unit="s", doc="ScaleInCooldown (AAS default 300 s)"),
    Field("instance_startup", Duration(), default=float(facts.limit("real_time_endpoint.default_instance_startup_s")), unit="s",
          doc="time from a scale-out decision until the new instance serves (assumption: 5 min, as "
              "for real-time)"),
    Field("disable_scale_in", Bool(), default=False, doc="DisableScaleIn"),
    Field("scale_from_zero", Bool(), default=True,
          doc="add the step policy on HasBacklogWithoutCapacity (ChangeInCapacity +1) that scales "
              "up from zero; without it the fleet leaves zero only when the target-tracking high alarm "
              "fires (backlog > target for 3 datapoints)"),
    Field("scale_from_zero_datapoints", Int(min=1), default=facts.limit(_L + "scale_from_zero_datapoints"),
          unit="1-min datapoints",
          doc="consecutive minutes with HasBacklogWithoutCapacity = 1 before the step policy fires "
              "(facts async_inference.scale_from_zero_datapoints: the DG example alarm)"),
    Field("scale_from_zero_cooldown", Duration(), default=float(facts.limit(_L + "scale_from_zero_cooldown_s")),
          unit="s", doc="Cooldown of the step policy (facts async_inference.scale_from_zero_cooldown_s)"),
], checks=(ordered("min_instances", "max_instances"),))


class _InitialCount(Int):
    """InitialInstanceCount: ≥ 1 for every endpoint, async included (CreateEndpointConfig)."""

    def convert(self, raw: Any, path: str) -> int:
        if raw == 0 and not isinstance(raw, bool):
            raise Invalid("must be an integer ≥ 1: an asynchronous endpoint is created with "
                          "InitialInstanceCount ≥ 1; to reach zero instances, add autoscaling with "
                          "min_instances 0 (it scales in to zero when the queue is empty)", raw)
        return super().convert(raw, path)


def _fleet_check(cfg: dict, path: str) -> list[Problem]:
    return count_within_scaling(cfg, path)


SCHEMA = Schema("async_inference", [
    *COMMON_FIELDS,
    Field("model", Str(), default=None, doc="bundled model id (default: the scenario's model)"),
    Field("model_version", Int(min=0, max=0), default=0, doc="model version served (only version 0 exists when a run starts; retraining registers later ones)"),
    Field("instance_type", InstanceTypeKind(), default="ml.m5.large", doc="instance type from the catalog "
          "(billed per instance-second at the hosting rate, UNCONFIRMED for async)"),
    Field("instance_count", _InitialCount(min=1), default=1, unit="instances",
          doc="InitialInstanceCount (≥ 1; autoscaling with min_instances 0 scales in to zero later)"),
    Field("max_concurrent_invocations_per_instance",
          Int(min=1, max=facts.limit(_L + "max_concurrent_invocations_per_instance")), default=1,
          unit="requests",
          doc="AsyncInferenceConfig.ClientConfig.MaxConcurrentInvocationsPerInstance (1–1000); AWS picks "
              "a value when omitted, simlab assumes 1"),
    Field("service_time", SERVICE_TIME, default=Dist.exponential(0.040), unit="ms",
          doc='model time per request: a distribution spec, or "profile" (default as for real-time)'),
    Field("overhead_ms", Float(min=0), default=2.0, unit="ms",
          doc="fixed overhead added after processing (assumption, as for real-time; S3 download/upload "
              "and notifications are not modelled)"),
    Field("invocation_timeout", Duration(min=1, max=facts.limit(_L + "max_processing_s")),
          default=float(facts.limit(_L + "default_invocation_timeout_s")), unit="s",
          doc="InvocationTimeoutSeconds (1–3600, default 900): longer model times fail (timeout) then"),
    Field("request_ttl", Duration(min=facts.limit(_L + "min_request_ttl_s"), max=facts.limit(_L + "max_request_ttl_s")),
          default=float(facts.limit(_L + "max_request_ttl_s")), unit="s",
          doc="RequestTTLSeconds (60–21600, default 21600 = 6 h): a request that waited longer in the "
              "backlog expires"),
    Field("autoscaling", Nested(ASYNC_AUTOSCALING_SCHEMA), default=None,
          doc="target tracking on ApproximateBacklogSizePerInstance + scale from zero (optional)"),
], checks=(_fleet_check,))


class AsyncFleet:
    """Instances of one configuration (owner API ``add_fleet``); once in service it has a
    :class:`_Lane` (its backlog and workers) until it is retired."""

    def __init__(self, fid: int, *, model: str | None, model_version: int, instance_type: str, count: int,
                 service: Dist | str, startup: float, faults: Faults, config_name: str) -> None:
        self.id, self.model, self.model_version = fid, model, model_version
        self.itype = facts.instance(instance_type)
        self.count, self.service, self.startup, self.faults = count, service, startup, faults
        self.config_name = config_name
        self.t_ready = self.t_retired = math.nan
        self.failed = False
        self.serving: int | None = None  # set_fleet_serving: only the oldest n in-service instances take work
        self.ready: Any = None
        self.rng: np.random.Generator | None = None

    def state(self, now: float, busy_until: float) -> str:
        if self.failed:
            return "failed"
        if not math.isnan(self.t_retired):
            return "draining" if now < busy_until else "retired"
        return "provisioning" if math.isnan(self.t_ready) else "in_service"


class _Lane:
    """A fleet in service: the backlog positions routed to it (``pos[:n]``, arrival order; the
    backlog is ``pos[head:n]``), its instances taking work and the heap of their workers'
    free-times, its traffic share and its capacity bookkeeping (desired / pending launches).
    Workers of instances outside the fleet's serving slice (``set_fleet_serving``) wait in
    ``parked`` instead of the heap: in service and billed, they take no request."""

    def __init__(self, fleet: AsyncFleet, *, share: float, desired: int) -> None:
        self.fleet, self.share, self.desired = fleet, share, desired
        self.pos = np.empty(1024, dtype=np.int64)
        self.n = self.head = 0
        self.heap: list[tuple[float, int]] = []  # (worker free at, instance)
        self.parked: list[tuple[float, int]] = []  # workers of instances outside the serving slice
        self.accepting: list[int] = []  # instance ids
        self.pending = self.cancelled = 0

    def waiting(self) -> np.ndarray:
        """Backlog positions not yet taken by a worker nor expired, oldest first."""
        return self.pos[self.head:self.n]

    def append(self, pos: np.ndarray) -> None:
        """Add positions later than every position it holds (arrivals)."""
        self._fit(self.n + pos.size)
        self.pos[self.n:self.n + pos.size] = pos
        self.n += pos.size

    def merge(self, pos: np.ndarray, now: float) -> None:
        """Add positions anywhere in arrival order (requests moved from a retired fleet at ``now``,
        after ``admit_until(now)``). They are here from ``now`` on: a worker idle since earlier
        counts as free at ``now`` (with requests waiting, every worker is busy past ``now``)."""
        self.heap = [(f if f > now else now, j) for f, j in self.heap]
        heapq.heapify(self.heap)
        waiting = np.sort(np.concatenate([self.waiting(), pos]))
        self._fit(self.head + waiting.size)
        self.pos[self.head:self.head + waiting.size] = waiting
        self.n = self.head + waiting.size

    def _fit(self, size: int) -> None:
        if size > self.pos.size:
            grown = np.empty(max(size, 2 * self.pos.size), dtype=np.int64)
            grown[:self.n] = self.pos[:self.n]
            self.pos = grown


class AsyncEndpoint(Deployment):
    """A SageMaker asynchronous endpoint: FIFO backlog, TTL expiry, scale to zero and back."""

    type_id = "async_inference"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.itype = facts.instance(config["instance_type"])
        self.workers: int = config["max_concurrent_invocations_per_instance"]
        self.service: Dist | str = config["service_time"]
        self.overhead_s = config["overhead_ms"] / 1000.0
        self.timeout: float = config["invocation_timeout"]
        self.ttl: float = config["request_ttl"]
        self.max_payload = facts.limit(_L + "max_payload_bytes")
        auto = config.get("autoscaling")
        self.auto = auto
        self.scaler = TargetTracking.from_config(auto, target_key="target_backlog_per_instance") if auto else None
        self._draining: list[float] = []  # end times of requests still running on retired instances
        self.t_up: list[float] = []  # per instance: in service from
        self.t_end: list[float] = []  # per instance: billing stops (NaN = still in service)
        self.timeline: list[tuple[float, int]] = []  # (time, instances in service, all fleets)
        self._last_step = -math.inf
        self.suspended = False  # suspend_autoscaling
        self.startup = auto["instance_startup"] if auto else float(facts.limit("real_time_endpoint.default_instance_startup_s"))
        self.all_fleets = [AsyncFleet(0, model=config.get("model"), model_version=config["model_version"],
                                      instance_type=config["instance_type"], count=config["instance_count"],
                                      service=self.service, startup=self.startup, faults=Faults(),
                                      config_name=f"{self.name}-config")]
        #: fleet id -> lane, for every fleet in service and not retired (id order)
        self.lanes: dict[int, _Lane] = {0: _Lane(self.all_fleets[0], share=1.0, desired=config["instance_count"])}
        self._inst_fleet: list[int] = []  # per instance: its fleet id
        self._inst_arrays: tuple[np.ndarray, ...] | None = None  # cache, see _instances
        self._mean_backlog_last = 0.0  # time-average backlog of the minute that closed last
        self.no_capacity_alarm = None if not auto else Alarm(AlarmSpec(
            alarm_name="HasBacklogWithoutCapacity", deployment=self.name, metric_name="HasBacklogWithoutCapacity",
            statistic="Average", threshold=1.0, comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=auto["scale_from_zero_datapoints"]), store=None)

    @property
    def primary(self) -> _Lane:
        """The lane auto scaling and ``set_instance_count`` act on: the largest share (ties: the
        newest fleet), as a real-time variant's primary fleet."""
        return max(self.lanes.values(), key=lambda ln: (ln.share, ln.fleet.id))

    @property
    def desired(self) -> int:
        """Desired instance count of the primary lane (what auto scaling starts from)."""
        return self.primary.desired

    def _n_in_service(self) -> int:
        return sum(len(lane.accepting) for lane in self.lanes.values())

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Precompute the accepted requests and their model times; launch the initial fleet."""
        wl = self.sim.workload
        self.service = self.resolve_service_time(self.service, self.model_of_variant(0))
        f0 = self.all_fleets[0]
        f0.service, f0.ready, f0.t_ready = self.service, self.sim.env.event(), 0.0
        f0.ready.succeed(True)
        self._q = np.flatnonzero(wl.payload_bytes <= self.max_payload)  # backlog order = arrival order
        self._qt = wl.t[self._q]
        self._svc = self.service.ppf(wl.u_service[self._q])  # fleet 0's; other fleets' set when routed
        self._busy = np.minimum(self._svc, self.timeout)
        self._tail = self._avg_lo = 0
        lane = self.lanes[0]
        for _ in range(self.config["instance_count"]):
            self._launch(lane, 0.0)
        self.timeline.append((0.0, self._n_in_service()))
        if self.scaler is not None:
            self.sim.metrics.on_close(self._autoscale)

    def admit_until(self, t: float) -> None:
        """Advance the backlogs to ``t``: take arrivals before ``t`` (each to a fleet by the
        traffic shares), dispatch to workers free by ``t``, expire requests older than the TTL.
        Idempotent; call before changing the fleet."""
        t = min(t, self.sim.duration)
        i0, i1 = self.take_arrivals(t)
        if i1 > i0:
            idx = np.arange(i0, i1)
            self.reject_oversize(idx[self.oversize(idx)])
            tail = int(np.searchsorted(self._qt, t, side="left"))
            if tail > self._tail:
                self._route(np.arange(self._tail, tail), moved=False)
            self._tail = tail
        self._dispatch(t)
        self._expire(t)

    # -- the backlogs --------------------------------------------------------------------------
    def _route(self, pos: np.ndarray, *, moved: bool) -> None:
        """Give backlog positions ``pos`` (ascending) to the lanes with traffic: all to the one
        routed lane, else by the shares in fleet-id order, each request by its routing uniform.
        ``moved``: they leave a retired fleet and join in arrival order."""
        routed = [lane for lane in self.lanes.values() if lane.share > 0]
        if len(routed) == 1:
            parts = [(routed[0], pos)]
        else:
            k, _ = pick_by_shares(np.array([lane.share for lane in routed]), self.sim.workload.u_route[self._q[pos]])
            parts = [(lane, pos[k == j]) for j, lane in enumerate(routed)]
        for lane, p in parts:
            if p.size == 0:
                continue
            f = lane.fleet
            if moved or f.id != 0:  # model times of this fleet (fleet 0's were set at start)
                svc = f.service.ppf(self.sim.workload.u_service[self._q[p]]) * f.faults.latency_multiplier
                self._svc[p], self._busy[p] = svc, np.minimum(svc, self.timeout)
            self.log.fleet[self._q[p]] = f.id
            if moved:
                lane.merge(p, self.sim.env.now)
            else:
                lane.append(p)

    def _dispatch(self, t: float) -> None:
        for lane in self.lanes.values():
            self._dispatch_lane(lane, t)

    def _dispatch_lane(self, lane: _Lane, t: float) -> None:
        """Give a lane's backlog heads to its workers that are free by ``t`` (FIFO), block by block."""
        while lane.head < lane.n and lane.heap and lane.heap[0][0] <= t:
            h0 = lane.head
            h1 = min(lane.n, h0 + _BLOCK)
            p = lane.pos[h0:h1]
            taken = self._dispatch_block(lane, t, self._qt[p].tolist(), self._busy[p].tolist())
            lane.head = h0 + taken
            if taken < h1 - h0:
                return

    def _dispatch_block(self, lane: _Lane, t: float, arrivals: list[float], busy: list[float]) -> int:
        """The sequential core; returns how many heads left the backlog (dispatched or expired)."""
        heap, ttl, replace = lane.heap, self.ttl, heapq.heapreplace
        starts: list[float] = []  # NaN = expired
        insts: list[int] = []
        for ta, b in zip(arrivals, busy, strict=True):
            f, j = heap[0]
            s = f if f > ta else ta
            if s > t:  # no worker free by t: the head (and all behind it) keeps waiting
                break
            if s - ta > ttl:  # waited longer than the TTL before a worker took it
                starts.append(math.nan)
                insts.append(-1)
                continue
            replace(heap, (s + b, j))
            starts.append(s)
            insts.append(j)
        self._write(lane, lane.head, np.asarray(starts, dtype=float), np.asarray(insts, dtype=np.int32))
        return len(starts)

    def _write(self, lane: _Lane, h0: int, starts: np.ndarray, insts: np.ndarray) -> None:
        """Records of the lane's backlog entries h0… (NaN start = expired)."""
        pos = lane.pos[h0:h0 + starts.size]
        ok = np.isfinite(starts)
        self._expire_positions(pos[~ok])
        idx, p, s = self._q[pos[ok]], pos[ok], starts[ok]
        log, f = self.log, lane.fleet
        log.model_version[idx] = f.model_version
        log.fleet[idx] = f.id
        log.t_start[idx], log.instance[idx] = s, insts[ok]
        log.model_s[idx] = log.busy_s[idx] = self._busy[p]
        log.overhead_s[idx] = self.overhead_s
        log.t_done[idx] = s + self._busy[p] + self.overhead_s
        timeout = self._svc[p] > self.timeout
        log.error[idx[timeout]] = Err.TIMEOUT
        if f.faults.error_rate > 0.0 and idx.size:  # the container answers with a 5xx ModelError
            log.error[idx[(f.rng.random(idx.size) < f.faults.error_rate) & ~timeout]] = Err.MODEL_ERROR

    def _expire(self, t: float) -> None:
        """Heads still waiting that arrived more than the TTL before ``t`` expire (in each lane
        they form a prefix of its backlog)."""
        p_cut = int(np.searchsorted(self._qt, t - self.ttl, side="left"))  # positions before it are too old
        for lane in self.lanes.values():
            h1 = lane.head + int(np.searchsorted(lane.waiting(), p_cut, side="left"))
            if h1 > lane.head:
                self._expire_positions(lane.pos[lane.head:h1])
                lane.head = h1

    def _expire_positions(self, pos: np.ndarray) -> None:
        idx = self._q[pos]
        self.log.error[idx] = Err.EXPIRED
        self.log.t_done[idx] = self._qt[pos] + self.ttl

    def backlog_size(self, now: float) -> int:
        """ApproximateBacklogSize at ``now``: requests queued or being processed (DG definition),
        over all fleets."""
        lanes = self.lanes.values()
        running = (sum(1 for lane in lanes for f, _ in (*lane.heap, *lane.parked) if f > now)
                   + sum(1 for f in self._draining if f > now))
        return sum(lane.n - lane.head for lane in lanes) + running

    # -- fleet ---------------------------------------------------------------------------------
    def _launch(self, lane: _Lane, now: float) -> None:
        """A new instance of the lane's fleet enters service at ``now`` with all its workers free."""
        iid = self._new_instance(now, lane.fleet.id)
        lane.accepting.append(iid)
        for _ in range(self.workers):
            heapq.heappush(lane.heap, (now, iid))
        self._apply_slice(lane, now)

    def _apply_slice(self, lane: _Lane, now: float) -> None:
        """Workers of the fleet's oldest ``serving`` instances (all when ``None`` or when fewer
        are in service) in the heap, the others parked. A worker unparked at ``now`` counts as free
        from ``now`` at the earliest (its instance took no request before)."""
        n = lane.fleet.serving
        if n is None and not lane.parked:
            return
        serve = set(lane.accepting if n is None else lane.accepting[:n])
        if all(j in serve for _, j in lane.heap) and all(j not in serve for _, j in lane.parked):
            return
        heap = [e for e in lane.heap if e[1] in serve] + [(f if f > now else now, j) for f, j in lane.parked if j in serve]
        lane.parked = [e for e in lane.heap if e[1] not in serve] + [e for e in lane.parked if e[1] not in serve]
        heapq.heapify(heap)
        lane.heap = heap

    def _retire(self, lane: _Lane, now: float, k: int) -> None:
        """Take ``k`` of the lane's instances out of service: idle ones first, newest first; a busy
        one drains (takes no new request, is billed until its running requests finish)."""
        free_at: dict[int, float] = {}
        workers = lane.heap + lane.parked
        for f, j in workers:
            free_at[j] = max(free_at.get(j, -math.inf), f)
        newest_first = lane.accepting[::-1]
        order = [j for j in newest_first if free_at[j] <= now] + [j for j in newest_first if free_at[j] > now]
        gone = set(order[:k])
        self._draining = [f for f in self._draining if f > now]
        self._draining += [f for f, j in workers if j in gone and f > now]
        lane.heap = [e for e in lane.heap if e[1] not in gone]
        lane.parked = [e for e in lane.parked if e[1] not in gone]
        heapq.heapify(lane.heap)
        for j in gone:
            self._end_instance(j, max(now, free_at[j]))
        lane.accepting = [j for j in lane.accepting if j not in gone]
        self._apply_slice(lane, now)

    def _new_instance(self, now: float, fleet: int) -> int:
        """Record an instance of fleet ``fleet`` in service from ``now``; returns its id."""
        self.t_up.append(now)
        self.t_end.append(math.nan)
        self._inst_fleet.append(fleet)
        self._inst_arrays = None
        return len(self.t_up) - 1

    def _end_instance(self, iid: int, t: float) -> None:
        """Billing of instance ``iid`` stops at ``t``."""
        self.t_end[iid] = t
        self._inst_arrays = None

    def _instances(self) -> tuple[np.ndarray, ...]:
        """(in service from, billed until — the run's end at most, fleet, t_end as recorded: NaN
        while in service) per instance as arrays, rebuilt only after an instance started or
        stopped (metrics read them every minute)."""
        if self._inst_arrays is None:
            stopped = np.array(self.t_end, dtype=float)
            end = np.where(np.isnan(stopped), self.sim.duration, np.minimum(stopped, self.sim.duration))
            self._inst_arrays = (np.array(self.t_up, dtype=float), end, np.array(self._inst_fleet, dtype=np.int64),
                                 stopped)
        return self._inst_arrays

    def _resize(self, lane: _Lane, new: int) -> None:
        """Move the lane toward ``new`` instances: launch, call off pending launches, or retire."""
        env = self.sim.env
        for _ in range(new - lane.desired):
            lane.pending += 1
            env.process(self._bring_up(lane))
        excess = lane.desired - new
        cancel = max(0, min(excess, lane.pending - lane.cancelled))
        lane.cancelled += cancel
        if excess - cancel > 0:
            self._retire(lane, env.now, min(excess - cancel, len(lane.accepting)))
            self.timeline.append((env.now, self._n_in_service()))
        lane.desired = new

    def _bring_up(self, lane: _Lane):
        env = self.sim.env
        yield env.timeout(self.startup)
        lane.pending -= 1
        if lane.cancelled > 0:  # called off (a scale-in, or the fleet was retired)
            lane.cancelled -= 1
            return
        self.admit_until(env.now)
        self._launch(lane, env.now)
        self.timeline.append((env.now, self._n_in_service()))
        self._dispatch(env.now)

    # -- owner API: every change to the live endpoint goes through these ------------------------
    def _fleet(self, fleet_id: int) -> AsyncFleet:
        if not isinstance(fleet_id, int | np.integer) or not 0 <= fleet_id < len(self.all_fleets):
            raise ValueError(f"{self.name}: unknown fleet {fleet_id!r}; fleets: 0…{len(self.all_fleets) - 1}")
        return self.all_fleets[int(fleet_id)]

    def _check_variant(self, variant: str) -> None:
        if variant != "AllTraffic":
            raise ValueError(f"{self.name}: an async endpoint has one variant, 'AllTraffic'; got {variant!r}")

    def _busy_until(self, f: AsyncFleet) -> float:
        _, _, fid, stopped = self._instances()
        ended = stopped[(fid == f.id) & ~np.isnan(stopped)]
        return float(ended.max()) if ended.size else f.t_retired

    def fleets(self) -> list[FleetInfo]:
        """Every fleet the endpoint has had, with its state now."""
        now = self.sim.env.now
        out = []
        for f in self.all_fleets:
            lane = self.lanes.get(f.id)
            n = len(lane.accepting) if lane is not None else 0
            out.append(FleetInfo(f.id, "AllTraffic", f.model or self.model_of_variant(0), int(f.model_version),
                                 f.itype.name, n, f.config_name, f.state(now, self._busy_until(f))))
        return out

    def model_of_fleet(self, fleet: int) -> str:
        return self.all_fleets[fleet].model or self.model_of_variant(0)

    def set_variant_weights(self, weights: dict[str, float]) -> None:
        """The one variant keeps all traffic (checked for the API's sake).

        Raises:
            ValueError: another variant name or a weight ≤ 0.
        """
        for name, w in weights.items():
            self._check_variant(name)
            if not w > 0:
                raise ValueError(f"{self.name}: the only variant's weight must be > 0, got {w!r}")
        self.admit_until(self.sim.env.now)

    def set_instance_count(self, variant: str, n: int) -> None:
        """DesiredInstanceCount of the primary fleet (the one with the largest share; 0 allowed:
        requests wait in the backlog).

        Raises:
            ValueError: another variant or n < 0.
        """
        self._check_variant(variant)
        self.set_fleet_instance_count(self.primary.fleet.id, n)

    def set_fleet_instance_count(self, fleet_id: int, n: int) -> None:
        """Desired instance count of a fleet in service (routed or not): new instances serve after
        the endpoint's instance start-up; removed ones (idle first, newest first) drain.

        Raises:
            ValueError: a fleet not in service (provisioning, failed, retired), or n < 0.
        """
        f = self._fleet(fleet_id)
        if not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"{self.name}: instance count must be an integer ≥ 0, got {n!r}")
        lane = self.lanes.get(f.id)
        if lane is None:
            raise ValueError(f"{self.name}: fleet {fleet_id} is {f.state(self.sim.env.now, self._busy_until(f))}, "
                             "its capacity cannot change")
        self.admit_until(self.sim.env.now)
        if int(n) != lane.desired:
            self._resize(lane, int(n))
        self._dispatch(self.sim.env.now)

    def set_fleet_serving(self, fleet_id: int, n: int | None) -> None:
        """Only ``n`` of the fleet's in-service instances take requests from its backlog from now
        on (the oldest ``n``: a canary slice of a green fleet); the others stay in service, idle
        and billed, and finish the requests they already run. ``None`` (the default state): all of
        them serve. If the fleet later has fewer instances in service than ``n``, all of them serve.

        Raises:
            ValueError: an unknown fleet, one retired, draining or failed, or ``n`` not ``None`` and
                not an integer (bools refused) from 1 to the fleet's desired instance count.
        """
        f = self._fleet(fleet_id)
        now = self.sim.env.now
        state = f.state(now, self._busy_until(f))
        if state not in ("provisioning", "in_service"):
            raise ValueError(f"{self.name}: fleet {fleet_id} is {state}, its serving slice cannot be set")
        lane = self.lanes.get(f.id)
        count = lane.desired if lane is not None else f.count
        if n is not None and (isinstance(n, bool) or not isinstance(n, int | np.integer) or not 1 <= n <= count):
            raise ValueError(f"{self.name}: serving instances of fleet {fleet_id} must be None or an integer from 1 "
                             f"to its {count} instances, got {n!r}")
        self.admit_until(now)
        f.serving = None if n is None else int(n)
        if lane is not None:
            self._apply_slice(lane, now)
            self._dispatch_lane(lane, now)

    def add_fleet(self, variant: str, *, model: str | None = None, model_version: int = 0,
                  instance_type: str | None = None, instance_count: int | None = None,
                  service_time: Dist | str | None = None, faults: Faults | None = None,
                  config_name: str | None = None, shadow: bool = False, sampling_percentage: float = 100.0,
                  startup_s: float | None = None) -> int:
        """Provision a fleet (start-up: ``startup_s``, else the endpoint's instance start-up); once in
        service it has its own backlog and takes the arrivals ``set_fleet_traffic`` gives it. Returns its id.

        Raises:
            ValueError: another variant, a shadow fleet (async endpoints have none), or a bad value.
        """
        self._check_variant(variant)
        if shadow:
            raise ValueError(f"{self.name}: shadow variants exist on real-time endpoints only")
        if instance_type is not None and instance_type not in facts.instance_types():
            raise ValueError(f"{self.name}: unknown instance type {instance_type!r}")
        count = self.config["instance_count"] if instance_count is None else instance_count
        if not isinstance(count, int | np.integer) or count < 1:
            raise ValueError(f"{self.name}: instance_count must be an integer ≥ 1, got {count!r}")
        model = model or self.model_of_variant(0)
        if model_version > 0:
            try:
                self.sim.model(model, int(model_version))
            except KeyError:
                raise ValueError(f"{self.name}: model {model!r} has no version {model_version} in this run") from None
        self.admit_until(self.sim.env.now)
        self.before_fleets_change()
        f = AsyncFleet(len(self.all_fleets), model=model, model_version=int(model_version),
                       instance_type=instance_type or self.itype.name, count=int(count),
                       service=self.resolve_service_time(self.service if service_time is None else service_time, model),
                       startup=self.startup if startup_s is None else float(startup_s), faults=faults or Faults(),
                       config_name=config_name or f"{self.name}-config-{len(self.all_fleets)}")
        f.ready = self.sim.env.event()
        if f.faults.error_rate > 0.0:
            f.rng = self.sim.streams.generator(f"{self.name}.fleet.{f.id}.faults")
        self.all_fleets.append(f)
        self.sim.env.process(self._provision(f))
        return f.id

    def _provision(self, f: AsyncFleet):
        env = self.sim.env
        yield env.timeout(f.startup)
        if f.faults.startup_failure or not math.isnan(f.t_retired):
            f.failed = f.faults.startup_failure
            f.ready.succeed(False)
            return
        self.admit_until(env.now)
        lane = self.lanes[f.id] = _Lane(f, share=0.0, desired=f.count)  # in service, idle until routed
        self.lanes = dict(sorted(self.lanes.items()))
        for _ in range(f.count):
            self._launch(lane, env.now)
        self.timeline.append((env.now, self._n_in_service()))
        f.t_ready = env.now
        f.ready.succeed(True)

    def fleet_ready(self, fleet_id: int):
        """A simpy.Event whose value is True once the fleet is in service, False when its start-up failed."""
        return self._fleet(fleet_id).ready

    def set_fleet_traffic(self, variant: str, shares: dict[int, float]) -> None:
        """Split the endpoint's arrivals over its fleets (shares sum to 1; fleets not named get
        none): from now on each request joins the backlog of the fleet its routing uniform picks
        (fleets in id order), which serves it with its model time, faults and model version.
        Requests already queued stay with their fleet; a fleet at share 0 keeps its instances
        (idle, billed) and serves its backlog until it is retired.

        Raises:
            ValueError: an unknown fleet, a share < 0, shares not summing to 1, or a share > 0 for
            a fleet not in service.
        """
        self._check_variant(variant)
        now = self.sim.env.now
        for fid, share in shares.items():
            f = self._fleet(fid)
            if not share >= 0:
                raise ValueError(f"{self.name}: share of fleet {fid} must be ≥ 0, got {share!r}")
            if share > 0 and f.id not in self.lanes:
                raise ValueError(f"{self.name}: fleet {fid} is {f.state(now, self._busy_until(f))}, "
                                 "it cannot take traffic")
        if not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-9):
            raise ValueError(f"{self.name}: fleet shares must sum to 1, got {sum(shares.values())!r}")
        self.admit_until(now)
        for fid, lane in self.lanes.items():
            lane.share = float(shares.get(fid, 0.0))

    def retire_fleet(self, fleet_id: int) -> None:
        """The fleet stops: pending launches are called off, idle instances stop billing now, busy
        ones finish what they run (draining); requests still queued in its backlog join the
        backlogs of the fleets with traffic (by their routing uniform), in arrival order. Its share
        goes to the other fleets in proportion to theirs.

        Raises:
            ValueError: the fleet takes all of the endpoint's traffic (route it elsewhere first).
        """
        f = self._fleet(fleet_id)
        lane = self.lanes.get(f.id)
        if lane is not None and lane.share > 0:
            rest = {k: ln.share for k, ln in self.lanes.items() if k != f.id and ln.share > 0}
            if not rest:
                raise ValueError(f"{self.name}: fleet {fleet_id} takes all of the backlog's arrivals; route "
                                 "them to another fleet first (set_fleet_traffic)")
        now = self.sim.env.now
        self.admit_until(now)
        if math.isnan(f.t_retired):
            f.t_retired = now
        if lane is None:
            return
        if lane.share > 0:
            total = sum(rest.values())
            for k, x in rest.items():
                self.lanes[k].share = x / total
        lane.cancelled = lane.pending
        queued = lane.waiting().copy()
        self._retire(lane, now, len(lane.accepting))
        del self.lanes[f.id]
        self.timeline.append((now, self._n_in_service()))
        if queued.size:
            self._route(queued, moved=True)
        self._dispatch(now)

    def set_model_version(self, fleet_id: int, version: int) -> None:
        """Requests the fleet takes from now on are served by ``version`` of its model.

        Raises:
            ValueError: an unknown fleet or a version nobody registered.
        """
        f = self._fleet(fleet_id)
        if version > 0:
            try:
                self.sim.model(self.model_of_fleet(f.id), int(version))
            except KeyError:
                raise ValueError(f"{self.name}: model has no version {version} in this run") from None
        self.admit_until(self.sim.env.now)
        f.model_version = int(version)

    def suspend_autoscaling(self, variant: str, suspended: bool) -> None:
        """Suspend (or resume) both scaling policies, as during a blue/green update."""
        self._check_variant(variant)
        self.admit_until(self.sim.env.now)
        self.suspended = bool(suspended)

    # -- auto scaling --------------------------------------------------------------------------
    def _autoscale(self, now: float, final: bool) -> None:
        """When a minute closes: both policies read the datapoints just published; keep the larger."""
        if final:
            return
        store, t0 = self.sim.metrics, now - METRIC_PERIOD_S
        read = lambda metric: store.query(deployment=self.name, metric=metric, statistic="Average",  # noqa: E731
                                          t0=t0, t1=now)
        self.no_capacity_alarm.evaluate(now, read("HasBacklogWithoutCapacity"), given=True)
        if self.suspended:  # owner API suspend_autoscaling: the alarms still evaluate, no action
            return
        wanted = [self.scaler.decide(now, read("ApproximateBacklogSizePerInstance"), self._mean_backlog_last,
                                     self.desired),
                  self._step_from_zero(now)]
        wanted = [w for w in wanted if w is not None]
        if wanted and max(wanted) != self.desired:
            self._resize(self.primary, max(wanted))

    def _mean_backlog(self, t0: float, t1: float) -> float:
        """Time-average ApproximateBacklogSize (queued or in process) over [t0, t1]: the value
        of a one-minute CloudWatch average, which target tracking evaluates."""
        pos = np.arange(self._avg_lo, self._tail)
        idx = self._q[pos]
        started = np.isfinite(self.log.t_start[idx])
        leave = np.where(started, self.log.t_start[idx] + self.log.busy_s[idx], self.log.t_done[idx])
        leave = np.where(np.isnan(leave), np.inf, leave)  # still queued (no record yet): has not left
        gone = leave <= t0
        self._avg_lo += int(np.argmin(gone)) if not gone.all() else gone.size
        overlap = np.clip(np.minimum(leave, t1) - np.maximum(self._qt[pos], t0), 0.0, None)
        return float(overlap.sum() / (t1 - t0))

    def _step_from_zero(self, now: float) -> int | None:
        """The HasBacklogWithoutCapacity step policy: +1 instance once the alarm has seen
        ``scale_from_zero_datapoints`` breaching minutes, at most once per its cooldown."""
        a = self.auto
        if not a["scale_from_zero"] or self.no_capacity_alarm.state != ALARM:
            return None
        if now - self._last_step < a["scale_from_zero_cooldown"]:
            return None
        self._last_step = now
        return min(a["max_instances"], self.desired + 1)

    # -- results -------------------------------------------------------------------------------
    def finish(self) -> None:
        super().finish()
        end = self.sim.duration
        for t0, t1, fid in zip(self.t_up, self.t_end, self._inst_fleet, strict=True):
            stop = end if math.isnan(t1) else min(end, t1)
            price = self.all_fleets[fid].itype.price_per_hour / 3600.0
            self.leases.append(Lease(t0, stop, price, self.workers, 0, fid))

    def _leave_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(arrival, time it left the backlog) of each accepted request, in backlog order: when
        its processing ended, when it expired, or +inf if neither happened by the end."""
        log, idx = self.log, self._q
        leave = np.where(np.isfinite(log.t_start[idx]), log.t_start[idx] + log.busy_s[idx], log.t_done[idx])
        return self._qt, np.where(np.isnan(leave), np.inf, leave)

    def backlog_at(self, times: np.ndarray, *, side: str = "left") -> np.ndarray:
        """ApproximateBacklogSize (queued or in process) at each of ``times``, from the records.
        ``side="left"`` counts arrivals before T (what the auto scaler sees at T); ``"right"``
        also those at T."""
        arr, leave = self._leave_times()
        return (np.searchsorted(arr, times, side=side)
                - np.searchsorted(np.sort(leave), times, side="right")).astype(float)

    def oldest_age_at(self, times: np.ndarray) -> np.ndarray:
        """ApproximateAgeOfOldestRequest (s) at each of ``times``: age of the oldest request queued
        or in process (0 when none). The first request still present at T is the first whose
        running maximum of leave times exceeds T."""
        arr, leave = self._leave_times()
        if arr.size == 0:
            return np.zeros(len(times))
        first = np.searchsorted(np.maximum.accumulate(leave), times, side="right")
        present = first < arr.size
        first = np.minimum(first, arr.size - 1)
        return np.where(present & (arr[first] < times), times - arr[first], 0.0)

    def in_service_at(self, times: np.ndarray) -> np.ndarray:
        """Instances in service (accepting work) at each of ``times``."""
        t, n = np.array(self.timeline).T
        return n[np.searchsorted(t, times, side="right") - 1]

    def max_backlog(self) -> int:
        """Largest ApproximateBacklogSize in the measured window (it peaks just after arrivals)."""
        w0, w1 = self.window()
        arr = self._qt
        times = np.concatenate([[w0], arr[(arr >= w0) & (arr <= w1)]])
        return int(self.backlog_at(times, side="right").max())

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        log = self.log
        t = self.sim.workload.t
        taken = sel & np.isfinite(log.t_start)
        wait = latency_stats((log.t_start[taken] - t[taken]) * 1000.0)
        return {
            "expired": int(np.count_nonzero(log.error[sel] == Err.EXPIRED)),
            "max_backlog": self.max_backlog(),
            "time_in_backlog_ms": {k: wait[k] for k in ("mean", "p50", "p99")},
            # the count after every change at one moment (a green fleet entering service as blue
            # retires is one moment, not both fleets at once): the last entry at each time
            "max_instances": int(max(dict(self.timeline).values())),
            "avg_instances": rnd(self.lease_seconds() / max(1e-9, self.window()[1] - self.window()[0])),
        }

    # -- metrics -------------------------------------------------------------------------------
    STATE_METRICS = ("ApproximateBacklogSize", "ApproximateBacklogSizePerInstance", "ApproximateAgeOfOldestRequest",
                     "HasBacklogWithoutCapacity")

    def request_metrics(self) -> list[RequestMetric]:
        """The common metrics with async semantics: ModelLatency is the model time only and
        TimeInBacklog the wait (µs, over the minute's completed requests); plus ExpiredRequests."""
        common = [m for m in super().request_metrics() if m.name != "ModelLatency"]
        return [*common[:3], RequestMetric("ModelLatency", SAMPLES, lambda s: (s.done, s.model_s * 1e6)), *common[3:],
                RequestMetric("TimeInBacklog", SAMPLES, lambda s: (s.done, (s.t_start - s.t) * 1e6)),
                RequestMetric("ExpiredRequests", COUNT, lambda s: (s.error == Err.EXPIRED, None))]

    def metric_columns(self) -> list[str]:
        return [*super().metric_columns(), *self.STATE_METRICS]

    samples_state = True  # the backlog and the fleet are read as each minute closes

    def state_datapoints(self, t: float) -> dict[str, float]:
        """Sampled when the minute ending at ``t`` closes: ApproximateBacklogSize and the age of the
        oldest request at ``t``; ApproximateBacklogSizePerInstance as target tracking evaluates it
        (time-average backlog / time-average instances in service over the minute; the backlog
        itself while no instance served); HasBacklogWithoutCapacity (1 = backlog, no instance)."""
        t0 = max(0.0, math.floor((t - 1e-9) / METRIC_PERIOD_S) * METRIC_PERIOD_S)
        backlog, n = self.backlog_size(t), self._n_in_service()
        mean_backlog = self._mean_backlog(t0, t)
        fleet = time_average(self.timeline, t0, t)
        self._mean_backlog_last = mean_backlog
        return {"ApproximateBacklogSize": float(backlog),
                "ApproximateBacklogSizePerInstance": mean_backlog / fleet if fleet > 0 else mean_backlog,
                "ApproximateAgeOfOldestRequest": self._oldest_age(t),
                "HasBacklogWithoutCapacity": float(backlog > 0 and n == 0)}

    def _oldest_age(self, t: float) -> float:
        """Age of the oldest request queued or in process at ``t`` (0 when none); call after
        ``_mean_backlog`` of the minute ending at ``t`` (every position before ``_avg_lo`` has left)."""
        pos = np.arange(self._avg_lo, self._tail)
        idx = self._q[pos]
        log = self.log
        leave = np.where(np.isfinite(log.t_start[idx]), log.t_start[idx] + log.busy_s[idx], log.t_done[idx])
        leave = np.where(np.isnan(leave), np.inf, leave)  # still queued: no record yet
        present = np.flatnonzero(leave > t)
        if present.size == 0:
            return 0.0
        arrived = float(self._qt[pos[present[0]]])
        return t - arrived if arrived < t else 0.0

    def settled_before(self, t: float) -> float:
        """Requests still in the backlog have no outcome yet: the oldest one's arrival."""
        heads = [int(lane.pos[lane.head]) for lane in self.lanes.values() if lane.head < lane.n]
        return min(t, float(self._qt[min(heads)])) if heads else t

    def instance_count_at(self, variant: int, t: float) -> float:
        up, end, _, _ = self._instances()
        return float(np.count_nonzero((up <= t) & (t < end)))

    def fleet_instance_count_at(self, fleet: int, t: float) -> float:
        up, end, fid, _ = self._instances()
        return float(np.count_nonzero((up <= t) & (t < end) & (fid == fleet)))

    def instance_seconds(self, variant: int, t0: float, t1: float) -> float:
        up, end, _, _ = self._instances()
        return float(overlap(up, end, t0, t1).sum())

    def fleet_instance_seconds(self, fleet: int, t0: float, t1: float) -> float:
        up, end, fid, _ = self._instances()
        mine = fid == fleet
        return float(overlap(up[mine], end[mine], t0, t1).sum())

    def workers_of_variant(self, variant: int) -> int:
        return self.workers
