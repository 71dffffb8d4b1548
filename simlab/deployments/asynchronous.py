"""Asynchronous Inference: an internal FIFO backlog in front of a fleet that may scale to zero.

Requests (payload up to 1 GB, in S3) enter one FIFO backlog. Each in-service instance runs
``max_concurrent_invocations_per_instance`` invocations at once; a free worker takes the oldest
request. A request that waited longer than ``request_ttl`` before a worker took it expires
(ExpiredRequests). Auto scaling is target tracking on ApproximateBacklogSizePerInstance plus the
optional step policy on HasBacklogWithoutCapacity that scales up from zero.

Workers are not assigned at arrival, because capacity can change while a request waits. Instead
``admit_until(t)`` runs an exact event loop up to ``t``: the backlog is the range
``[head, tail)`` of the arrival-ordered array of accepted requests, and a heap of worker
free-times decides when its head is dispatched. Fleet changes happen only in SimPy processes,
each of which first calls ``admit_until(env.now)``. See docs/async.md.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

import numpy as np

from simlab import facts
from simlab.accounting import latency_stats, rnd
from simlab.autoscaling import METRIC_PERIOD_S, TargetTracking, time_average
from simlab.deployments.base import COMMON_FIELDS, Deployment, Lease
from simlab.deployments.realtime import SERVICE_TIME, InstanceTypeKind
from simlab.distributions import Dist
from simlab.errors import Problem
from simlab.records import Err
from simlab.schema import Bool, Duration, Field, Float, Int, Invalid, Nested, Schema, Str

__all__ = ["AsyncEndpoint", "SCHEMA", "ASYNC_AUTOSCALING_SCHEMA"]

_L = "async_inference."
_BLOCK = 8192  # backlog entries converted to Python floats at a time by the dispatch loop


def _autoscaling_checks(cfg: dict, path: str) -> list[Problem]:
    if cfg["max_instances"] < cfg["min_instances"]:
        return [Problem(f"{path}.max_instances", f"must be ≥ min_instances ({cfg['min_instances']})",
                        str(cfg["max_instances"]))]
    return []


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
], checks=(_autoscaling_checks,))


class _InitialCount(Int):
    """InitialInstanceCount: ≥ 1 for every endpoint, async included (CreateEndpointConfig)."""

    def convert(self, raw: Any, path: str) -> int:
        if raw == 0 and not isinstance(raw, bool):
            raise Invalid("must be an integer ≥ 1: an asynchronous endpoint is created with "
                          "InitialInstanceCount ≥ 1; to reach zero instances, add autoscaling with "
                          "min_instances 0 (it scales in to zero when the queue is empty)", raw)
        return super().convert(raw, path)


def _fleet_check(cfg: dict, path: str) -> list[Problem]:
    auto, n = cfg.get("autoscaling"), cfg["instance_count"]
    if auto is not None and not auto["min_instances"] <= n <= auto["max_instances"]:
        return [Problem(f"{path}.instance_count", f"must lie within autoscaling min_instances…max_instances "
                        f"({auto['min_instances']}…{auto['max_instances']})", str(n))]
    return []


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
        self._heap: list[tuple[float, int]] = []  # (worker free at, instance) of in-service instances
        self._draining: list[float] = []  # end times of requests still running on retired instances
        self.t_up: list[float] = []  # per instance: in service from
        self.t_end: list[float] = []  # per instance: billing stops (NaN = still in service)
        self.accepting: list[int] = []
        self.desired = config["instance_count"]
        self.pending = self.cancelled = 0
        self.timeline: list[tuple[float, int]] = []  # (time, instances in service)
        self._no_capacity: list[bool] = []  # HasBacklogWithoutCapacity at each minute boundary
        self._last_step = -math.inf

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Precompute the accepted requests and their model times; launch the initial fleet."""
        wl = self.sim.workload
        if self.service == "profile":
            self.service = self.sim.profiled_service_time(self.model_of_variant(0))
        self._q = np.flatnonzero(wl.payload_bytes <= self.max_payload)  # backlog order = arrival order
        self._qt = wl.t[self._q]
        self._svc = self.service.ppf(wl.u_service[self._q])
        self._busy = np.minimum(self._svc, self.timeout)
        self._head = self._tail = self._avg_lo = 0
        for _ in range(self.config["instance_count"]):
            self._launch(0.0)
        self.timeline.append((0.0, len(self.accepting)))
        if self.scaler is not None:
            self.sim.env.process(self._autoscale())

    def admit_until(self, t: float) -> None:
        """Advance the backlog to ``t``: take arrivals before ``t``, dispatch to workers free by
        ``t``, expire requests older than the TTL. Idempotent; call before changing the fleet."""
        t = min(t, self.sim.duration)
        wl = self.sim.workload
        i0, i1 = self._next, wl.upto(t)
        if i1 > i0:
            self._next = i1
            big = np.arange(i0, i1)[wl.payload_bytes[i0:i1] > self.max_payload]
            self.log.error[big] = Err.PAYLOAD_TOO_LARGE
            self.log.t_done[big] = wl.t[big]
            self._tail = int(np.searchsorted(self._qt, t, side="left"))
        self._dispatch(t)
        self._expire(t)

    # -- the backlog ---------------------------------------------------------------------------
    def _dispatch(self, t: float) -> None:
        """Give backlog heads to workers that are free by ``t`` (FIFO), block by block."""
        while self._head < self._tail and self._heap and self._heap[0][0] <= t:
            h0 = self._head
            h1 = min(self._tail, h0 + _BLOCK)
            taken = self._dispatch_block(t, self._qt[h0:h1].tolist(), self._busy[h0:h1].tolist())
            self._head = h0 + taken
            if taken < h1 - h0:
                return

    def _dispatch_block(self, t: float, arrivals: list[float], busy: list[float]) -> int:
        """The sequential core; returns how many heads left the backlog (dispatched or expired)."""
        heap, ttl, replace = self._heap, self.ttl, heapq.heapreplace
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
        self._write(self._head, np.asarray(starts, dtype=float), np.asarray(insts, dtype=np.int32))
        return len(starts)

    def _write(self, h0: int, starts: np.ndarray, insts: np.ndarray) -> None:
        """Records of backlog positions h0… (NaN start = expired)."""
        pos = h0 + np.arange(starts.size)
        ok = np.isfinite(starts)
        self._expire_positions(pos[~ok])
        idx, p, s = self._q[pos[ok]], pos[ok], starts[ok]
        log = self.log
        log.model_version[idx] = self.config["model_version"]
        log.t_start[idx], log.instance[idx] = s, insts[ok]
        log.model_s[idx] = log.busy_s[idx] = self._busy[p]
        log.overhead_s[idx] = self.overhead_s
        log.t_done[idx] = s + self._busy[p] + self.overhead_s
        log.error[idx[self._svc[p] > self.timeout]] = Err.TIMEOUT

    def _expire(self, t: float) -> None:
        """Heads still waiting that arrived more than the TTL before ``t`` expire (they form a prefix)."""
        h1 = int(np.searchsorted(self._qt, t - self.ttl, side="left"))
        if h1 > self._head:
            h1 = min(h1, self._tail)
            self._expire_positions(np.arange(self._head, h1))
            self._head = h1

    def _expire_positions(self, pos: np.ndarray) -> None:
        idx = self._q[pos]
        self.log.error[idx] = Err.EXPIRED
        self.log.t_done[idx] = self._qt[pos] + self.ttl

    def backlog_size(self, now: float) -> int:
        """ApproximateBacklogSize at ``now``: requests queued or being processed (DG definition)."""
        running = sum(1 for f, _ in self._heap if f > now) + sum(1 for f in self._draining if f > now)
        return (self._tail - self._head) + running

    # -- fleet ---------------------------------------------------------------------------------
    def _launch(self, now: float) -> None:
        """A new instance enters service at ``now`` with all its workers free."""
        iid = len(self.t_up)
        self.t_up.append(now)
        self.t_end.append(math.nan)
        self.accepting.append(iid)
        for _ in range(self.workers):
            heapq.heappush(self._heap, (now, iid))

    def _retire(self, now: float, k: int) -> None:
        """Take ``k`` instances out of service: idle ones first, newest first; a busy one drains
        (takes no new request, is billed until its running requests finish)."""
        free_at: dict[int, float] = {}
        for f, j in self._heap:
            free_at[j] = max(free_at.get(j, -math.inf), f)
        newest_first = self.accepting[::-1]
        order = [j for j in newest_first if free_at[j] <= now] + [j for j in newest_first if free_at[j] > now]
        gone = set(order[:k])
        self._draining = [f for f in self._draining if f > now]
        self._draining += [f for f, j in self._heap if j in gone and f > now]
        self._heap = [e for e in self._heap if e[1] not in gone]
        heapq.heapify(self._heap)
        for j in gone:
            self.t_end[j] = max(now, free_at[j])
        self.accepting = [j for j in self.accepting if j not in gone]

    def _resize(self, new: int) -> None:
        """Move toward ``new`` instances: launch, call off pending launches, or retire."""
        env = self.sim.env
        for _ in range(new - self.desired):
            self.pending += 1
            env.process(self._bring_up())
        excess = self.desired - new
        cancel = max(0, min(excess, self.pending - self.cancelled))
        self.cancelled += cancel
        if excess - cancel > 0:
            self._retire(env.now, min(excess - cancel, len(self.accepting)))
            self.timeline.append((env.now, len(self.accepting)))
        self.desired = new

    def _bring_up(self):
        env = self.sim.env
        yield env.timeout(self.auto["instance_startup"])
        self.pending -= 1
        if self.cancelled > 0:
            self.cancelled -= 1
            return
        self.admit_until(env.now)
        self._launch(env.now)
        self.timeline.append((env.now, len(self.accepting)))
        self._dispatch(env.now)

    # -- auto scaling --------------------------------------------------------------------------
    def _autoscale(self):
        """Once a minute, at the boundary: sample the metrics, run both policies, keep the larger."""
        env = self.sim.env
        while True:
            yield env.timeout(METRIC_PERIOD_S)
            self.admit_until(env.now)
            backlog, n = self.backlog_size(env.now), len(self.accepting)
            self._no_capacity.append(backlog > 0 and n == 0)
            mean_backlog = self._mean_backlog(env.now - METRIC_PERIOD_S, env.now)
            fleet = time_average(self.timeline, env.now - METRIC_PERIOD_S, env.now)
            per_instance = mean_backlog / fleet if fleet > 0 else mean_backlog
            wanted = [self.scaler.decide(env.now, per_instance, mean_backlog, self.desired),
                      self._step_from_zero(env.now)]
            wanted = [w for w in wanted if w is not None]
            if wanted and max(wanted) != self.desired:
                self._resize(max(wanted))

    def _mean_backlog(self, t0: float, t1: float) -> float:
        """Time-average ApproximateBacklogSize (queued or in process) over [t0, t1]: the value
        of a one-minute CloudWatch average, which target tracking evaluates."""
        pos = np.arange(self._avg_lo, self._tail)
        idx = self._q[pos]
        started = np.isfinite(self.log.t_start[idx])
        leave = np.where(started, self.log.t_start[idx] + self.log.busy_s[idx], self.log.t_done[idx])
        leave = np.where(pos < self._head, leave, np.inf)  # still queued: has not left
        gone = (leave <= t0) & (pos < self._head)
        self._avg_lo += int(np.argmin(gone)) if not gone.all() else gone.size
        overlap = np.clip(np.minimum(leave, t1) - np.maximum(self._qt[pos], t0), 0.0, None)
        return float(overlap.sum() / (t1 - t0))

    def _step_from_zero(self, now: float) -> int | None:
        """The HasBacklogWithoutCapacity step policy: +1 instance once the alarm has seen
        ``scale_from_zero_datapoints`` breaching minutes, at most once per its cooldown."""
        a = self.auto
        need = a["scale_from_zero_datapoints"]
        recent = self._no_capacity[-need:]
        if not a["scale_from_zero"] or len(recent) < need or not all(recent):
            return None
        if now - self._last_step < a["scale_from_zero_cooldown"]:
            return None
        self._last_step = now
        return min(a["max_instances"], self.desired + 1)

    # -- results -------------------------------------------------------------------------------
    def finish(self) -> None:
        super().finish()
        end, price = self.sim.duration, self.itype.price_per_hour / 3600.0
        for t0, t1 in zip(self.t_up, self.t_end, strict=True):
            stop = end if math.isnan(t1) else min(end, t1)
            self.leases.append(Lease(t0, stop, price, self.workers))

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
            "max_instances": int(max(n for _, n in self.timeline)),
            "avg_instances": rnd(self.lease_seconds() / max(1e-9, self.window()[1] - self.window()[0])),
        }

    def metrics_frame(self, result):
        """The common metrics with async semantics, plus the async metrics. ModelLatency is the
        model time only and TimeInBacklog the wait (µs, means over the minute's completed
        requests); backlog metrics are sampled at the end of each minute, the value the auto
        scaler evaluates at that boundary."""
        frame = result.metrics_of(self)
        self._latency_columns(frame)
        ends = np.minimum((np.arange(len(frame)) + 1) * 60.0, self.sim.duration)
        backlog, in_service = self.backlog_at(ends), self.in_service_at(ends)
        frame["ApproximateBacklogSize"] = backlog
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["ApproximateBacklogSizePerInstance"] = np.where(in_service > 0, backlog / in_service, np.nan)
        frame["ApproximateAgeOfOldestRequest"] = self.oldest_age_at(ends)
        frame["HasBacklogWithoutCapacity"] = ((backlog > 0) & (in_service == 0)).astype(int)
        return frame

    def _latency_columns(self, frame) -> None:
        log, t, n_min = self.log, self.sim.workload.t, len(frame)
        minute = np.minimum((t // 60).astype(np.int64), n_min - 1)
        done = (log.t_done <= self.sim.duration) & (log.error == Err.NONE)
        n = np.bincount(minute[done], minlength=n_min)
        mean_us = lambda x: np.bincount(minute[done], weights=x[done] * 1e6, minlength=n_min) / n  # noqa: E731
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["ModelLatency"] = mean_us(log.model_s)
            frame["TimeInBacklog"] = mean_us(log.t_start - t)
        frame["ExpiredRequests"] = np.bincount(minute[log.error == Err.EXPIRED], minlength=n_min)
