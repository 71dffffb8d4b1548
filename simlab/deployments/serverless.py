"""Serverless Inference: a pool of single-request instances that grows on demand and scales to zero.

Each instance serves one request at a time. A request goes to an idle provisioned instance if
there is one, else to the most recently used idle on-demand instance (MRU), else a new instance is
started: a cold start, whose set-up time (ModelSetupTime) delays the response and is reported as
OverheadLatency, as CloudWatch does. When the requests in progress would exceed
``max_concurrency`` the request is throttled (ThrottlingException, HTTP 400). An idle on-demand instance is reclaimed
``idle_timeout`` after its last request finished; provisioned instances are always warm.

Because routing depends only on arrivals and earlier completions, requests are processed in one
sequential pass per ``admit_until`` chunk: a heap of (busy-until, instance) and a deque of idle
instances ordered by the time they became free (MRU at the right end, the next to expire at the
left end). No SimPy process runs per request. See docs/serverless.md.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from typing import Any

import numpy as np

from simlab import facts
from simlab.accounting import overlap, rnd
from simlab.deployments.base import COMMON_FIELDS, Deployment
from simlab.deployments.realtime import SERVICE_TIME
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem
from simlab.metrics import COUNT, SAMPLES, RequestMetric
from simlab.records import Err
from simlab.schema import Any_, Duration, Field, Float, Int, Invalid, OneOf, Schema, Str

__all__ = ["ServerlessEndpoint", "SCHEMA", "GIB"]

GIB = float(1 << 30)  # bytes per GB of data processed (AWS "GB" read as GiB, as for payload "MB")
_L = "serverless_inference."
_CHUNK = 1 << 16  # requests routed per pass (bounds the per-pass Python lists)


def _unsupported(limit_key: str, what: str) -> Any_:
    """A field a user may not give: converting any value raises :class:`Invalid` citing the fact."""
    fact = facts.limits()[limit_key]
    value = str(fact.value).lower() if isinstance(fact.value, bool) else fact.value

    def reject(raw: Any, path: str) -> Any:
        raise Invalid(f"is not supported: {what} (facts {limit_key} = {value}; source: "
                      f"{fact.source}); remove it or use a real-time endpoint", raw)

    return Any_(describe=f"not supported ({limit_key})", convert_fn=reject)


def _provisioned_check(cfg: dict, path: str) -> list[Problem]:
    if cfg["provisioned_concurrency"] > cfg["max_concurrency"]:
        return [Problem(f"{path}.provisioned_concurrency",
                        f"must be ≤ max_concurrency ({cfg['max_concurrency']})",
                        str(cfg["provisioned_concurrency"]))]
    return []


_MEMORY = tuple(facts.limit(_L + "memory_mb_choices"))
_COLD_MEAN_S = facts.limit(_L + "default_cold_start_mean_ms") / 1000.0
_COLD_CV = facts.limit(_L + "default_cold_start_cv")
_MB_PER_VCPU = facts.limit(_L + "lambda_mb_per_vcpu")

SCHEMA = Schema("serverless_inference", [
    *COMMON_FIELDS,
    Field("model", Str(), default=None, doc="bundled model id (default: the scenario's model)"),
    Field("model_version", Int(min=0, max=0), default=0, doc="model version served (only version 0 exists when a run starts; retraining registers later ones)"),
    Field("memory_mb", OneOf(_MEMORY), unit="MB",
          doc="ServerlessConfig.MemorySizeInMB (required by the API; facts "
              "serverless_inference.memory_mb_choices). Sets the price per second and, with "
              "`service_time_at_mb`, the compute speed"),
    Field("max_concurrency", Int(min=1, max=facts.limit(_L + "max_concurrency")), unit="requests",
          doc="ServerlessConfig.MaxConcurrency (required by the API; 1–200, facts "
              "serverless_inference.max_concurrency): requests in progress beyond it are throttled (ThrottlingException, HTTP 400)"),
    Field("provisioned_concurrency", Int(min=0, max=facts.limit(_L + "max_provisioned_concurrency")),
          default=0, unit="instances",
          doc="ServerlessConfig.ProvisionedConcurrency (0 = none; ≤ max_concurrency): instances kept "
              "warm and billed all the time at the provisioned price"),
    Field("idle_timeout", Duration(), default=float(facts.limit(_L + "default_idle_timeout_s")), unit="s",
          doc="how long an idle on-demand instance stays warm after its last request finished. "
              "UNCONFIRMED: AWS publishes no value; the default is AWS Lambda's measured 10 min "
              "(facts serverless_inference.default_idle_timeout_s)"),
    Field("cold_start", DistSpec(unit="ms", scale=0.001), default=Dist("lognormal", _COLD_MEAN_S, cv=_COLD_CV),
          unit="ms",
          doc="set-up time of a new instance (ModelSetupTime), added before the first request it serves. "
              "UNCONFIRMED default: lognormal, mean from facts serverless_inference.default_cold_start_mean_ms "
              "('in the order of seconds'), cv from serverless_inference.default_cold_start_cv; it does "
              "not depend on memory or model size (give your own measurement)"),
    Field("service_time", SERVICE_TIME, default=Dist.exponential(0.040), unit="ms",
          doc='model time per request at `memory_mb` (or at `service_time_at_mb` when given): a '
              'distribution spec, or "profile" to measure the real model (default as for real-time)'),
    Field("service_time_at_mb", Int(min=1), default=None, unit="MB",
          doc="memory size `service_time` was measured at; when given, model time is scaled by the "
              "vCPU share: time ∝ 1/vCPU, vCPU = memory / 1769 MB (AWS Lambda docs, facts "
              "serverless_inference.lambda_mb_per_vcpu), capped at `model_threads`"),
    Field("model_threads", Int(min=1), default=None, unit="vCPUs",
          doc="vCPUs the model can keep busy at once (caps the speed-up of `service_time_at_mb`); "
              "default: no cap. 1 = a single-threaded model gains nothing above 1769 MB"),
    Field("overhead_ms", Float(min=0), default=2.0, unit="ms",
          doc="fixed overhead added to every response, besides cold-start set-up (assumption, as for "
              "real-time: single-digit ms)"),
    Field("response_kb", Float(min=0), default=1.0, unit="KiB",
          doc="response size, billed as data processed with the request payload (assumption: a "
              "prediction is a few numbers)"),
    Field("data_capture", _unsupported(_L + "supports_data_capture", "serverless endpoints cannot "
                                       "capture data"), default=None,
          doc="rejected: serverless endpoints do not support data capture (facts "
              "serverless_inference.supports_data_capture)"),
    Field("variants", _unsupported(_L + "max_variants", "a serverless endpoint has exactly one variant"),
          default=None, doc="rejected: serverless endpoints serve one variant (facts "
                            "serverless_inference.max_variants)"),
], checks=(_provisioned_check,))


def vcpu_share(memory_mb: float, threads: int | None = None) -> float:
    """vCPUs the model can use at ``memory_mb``: memory / 1769 MB (Lambda), capped at ``threads``."""
    return min(memory_mb / _MB_PER_VCPU, math.inf if threads is None else float(threads))


class ServerlessEndpoint(Deployment):
    """A SageMaker serverless endpoint (one variant, on-demand and provisioned concurrency)."""

    type_id = "serverless_inference"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.memory_mb: int = config["memory_mb"]
        self.max_concurrency: int = config["max_concurrency"]
        self.provisioned: int = config["provisioned_concurrency"]
        self.idle_timeout: float = config["idle_timeout"]
        self.cold_start: Dist = config["cold_start"]
        self.service: Dist | str = config["service_time"]
        self.overhead_s = config["overhead_ms"] / 1000.0
        self.response_bytes = config["response_kb"] * 1024.0
        self.max_payload = facts.limit(_L + "max_payload_bytes")
        self.max_processing = float(facts.limit(_L + "max_processing_s"))
        self._busy: list[tuple[float, int]] = []  # heap of (busy until, instance)
        self._idle: deque[tuple[float, int]] = deque()  # on-demand idle, by free time; MRU right
        self._prov_idle = list(range(self.provisioned))  # ids 0..P-1 are the provisioned instances
        self._born: list[float] = [0.0] * self.provisioned
        self._last_end: list[float] = [0.0] * self.provisioned

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Resolve the service time and draw one cold-start uniform per request (own stream)."""
        self.service = self.resolve_service_time(self.service, self.model_of_variant(0))
        at_mb = self.config.get("service_time_at_mb")
        if at_mb is not None:
            threads = self.config.get("model_threads")
            self.service = self.service.scaled(vcpu_share(at_mb, threads) / vcpu_share(self.memory_mb, threads))
        n = self.sim.workload.n
        self._u_cold = self.sim.streams.generator(f"{self.name}.cold_start").random(n)

    def admit_until(self, t: float) -> None:
        """Route every request that arrived before ``t`` (idempotent; nothing else changes the pool)."""
        i0, i1 = self.take_arrivals(t)
        for c0 in range(i0, i1, _CHUNK):  # bounded temporaries however long the interval
            idx = np.arange(c0, min(i1, c0 + _CHUNK))
            too_big = self.oversize(idx)
            self.reject_oversize(idx[too_big])
            self._serve(idx[~too_big])

    def _reject(self, idx: np.ndarray, err: Err) -> None:
        self.log.error[idx] = err
        self.log.t_done[idx] = self.sim.workload.t[idx]

    def _serve(self, idx: np.ndarray) -> None:
        """Route ``idx`` (arrival order) and write their records."""
        wl, log = self.sim.workload, self.log
        svc = self.service.ppf(wl.u_service[idx])
        model = np.minimum(svc, self.max_processing)
        setup = self.cold_start.ppf(self._u_cold[idx])
        inst, cold = self._route(wl.t[idx], model, setup)
        self._reject(idx[inst < 0], Err.THROTTLED)
        ok = inst >= 0
        self._record(idx[ok], inst[ok], cold[ok], model[ok], np.where(cold[ok], setup[ok], 0.0))
        log.error[idx[ok & (svc > self.max_processing)]] = Err.TIMEOUT

    def _record(self, idx: np.ndarray, inst: np.ndarray, cold: np.ndarray, model: np.ndarray,
                setup: np.ndarray) -> None:
        """Records of served requests (``setup`` is 0 for warm ones)."""
        log, t = self.log, self.sim.workload.t[idx]
        log.model_version[idx] = self.config["model_version"]
        log.instance[idx] = inst
        log.cold[idx] = cold
        log.t_start[idx] = t
        log.model_s[idx] = model
        log.busy_s[idx] = setup + model
        log.overhead_s[idx] = setup + self.overhead_s
        log.t_done[idx] = t + setup + model + self.overhead_s

    def _route(self, t: np.ndarray, model: np.ndarray, setup: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sequential pass: instance per request (-1 = throttled) and whether it was cold."""
        busy, idle, prov = self._busy, self._idle, self._prov_idle
        born, last_end = self._born, self._last_end
        keep, cap, n_prov = self.idle_timeout, self.max_concurrency, self.provisioned
        pop, push, free = heapq.heappop, heapq.heappush, idle.append
        out: list[int] = []
        cold: list[bool] = []
        for ti, mi, si in zip(t.tolist(), model.tolist(), setup.tolist(), strict=True):
            while busy and busy[0][0] <= ti:  # completions up to now: the instance turns idle
                f, j = pop(busy)
                if j < n_prov:
                    prov.append(j)
                else:
                    free((f, j))
            while idle and idle[0][0] + keep <= ti:  # reclaimed idle_timeout after its last request
                idle.popleft()
            if len(busy) >= cap:
                out.append(-1)
                cold.append(False)
                continue
            if prov or idle:
                j, end, c = prov.pop() if prov else idle.pop()[1], ti + mi, False
                last_end[j] = end
            else:  # cold start: a new instance, set-up before the model runs
                j, end, c = len(born), ti + si + mi, True
                born.append(ti)
                last_end.append(end)
            push(busy, (end, j))
            out.append(j)
            cold.append(c)
        return np.asarray(out, dtype=np.int32), np.asarray(cold, dtype=bool)

    # -- pool accounting -----------------------------------------------------------------------
    def instance_lifetimes(self) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of every on-demand instance: it lives from its cold start until
        ``idle_timeout`` after its last request finished (end may lie beyond the run).
        Provisioned instances are not included: they live for the whole run."""
        born = np.asarray(self._born[self.provisioned:], dtype=float)
        died = np.asarray(self._last_end[self.provisioned:], dtype=float) + self.idle_timeout
        return born, died

    def live_seconds(self, w0: float, w1: float) -> float:
        """Instance-seconds of live instances (idle or busy, provisioned included) in [w0, w1]."""
        born, died = self.instance_lifetimes()
        return float(overlap(born, died, w0, w1).sum()) + self.provisioned * max(0.0, w1 - w0)

    def instances_at(self, times: np.ndarray) -> np.ndarray:
        """Live instances (idle or busy, provisioned included) at each of ``times``."""
        born, died = self.instance_lifetimes()
        started = np.searchsorted(np.sort(born), times, side="right")
        ended = np.searchsorted(np.sort(died), times, side="right")
        return (started - ended + self.provisioned).astype(float)

    def max_instances(self) -> int:
        """Most instances live at once in the measured window (they only grow at cold starts)."""
        w0, w1 = self.window()
        born, _ = self.instance_lifetimes()  # all born before the run's end (= w1)
        return int(self.instances_at(np.append(np.maximum(born, w0), w0)).max())

    def instance_hours(self) -> float:
        """Instance-hours of live instances (idle or busy) in the measured window; not billed as such."""
        return self.live_seconds(*self.window()) / 3600.0

    def capacity_seconds(self) -> float:
        """Live instance time in the window: utilization is busy time (set-up included) / this."""
        return self.live_seconds(*self.window())

    def instance_count_at(self, variant: int, t: float) -> float:
        """Live instances at ``t`` (the InstanceCount datapoint of the minute starting at ``t``)."""
        born, died = self.instance_lifetimes()  # as instances_at, without sorting (once per minute)
        return float(np.count_nonzero(born <= t) - np.count_nonzero(died <= t) + self.provisioned)

    def instance_seconds(self, variant: int, t0: float, t1: float) -> float:
        return self.live_seconds(t0, t1)

    # -- billing -------------------------------------------------------------------------------
    def compute_gb_seconds(self, sel: np.ndarray) -> float:
        """Billed GB-seconds of the requests ``sel`` that reached an instance: each invocation's
        duration rounded up to the millisecond × memory GB (set-up only if facts
        serverless_inference.bills_cold_start)."""
        log = self.log
        served = sel & (log.instance >= 0)
        secs = (log.busy_s if facts.limit(_L + "bills_cold_start") else log.model_s)[served]
        return float(np.ceil(np.round(secs * 1000.0, 6)).sum()) / 1000.0 * self.memory_mb / 1024.0

    def data_gb(self, sel: np.ndarray) -> float:
        """GB processed (request payload + response) by the requests ``sel`` that reached an instance."""
        served = sel & (self.log.instance >= 0)
        return float(self.sim.workload.payload_bytes[served].sum() + served.sum() * self.response_bytes) / GIB

    def cost_breakdown(self) -> dict[str, float]:
        """USD of the measured window: compute, data processed and provisioned concurrency."""
        sel = self.measured()
        w0, w1 = self.window()
        return {
            "compute": self.compute_gb_seconds(sel) * facts.price("serverless_compute_per_gb_s"),
            "data": self.data_gb(sel) * facts.price("serverless_data_per_gb"),
            "provisioned": (self.provisioned * self.memory_mb / 1024.0 * max(0.0, w1 - w0)
                            * facts.price("serverless_provisioned_per_gb_s")),
        }

    def cost_usd(self) -> float:
        """Compute + data + provisioned concurrency; zero when idle without provisioned concurrency."""
        return sum(self.cost_breakdown().values())

    # -- results -------------------------------------------------------------------------------
    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        reached = int(np.count_nonzero(sel & (self.log.instance >= 0)))
        w0, w1 = self.window()
        return {
            "cold_start_rate": rnd(self.log.cold[sel].sum() / reached) if reached else None,
            "avg_instances": rnd(self.live_seconds(w0, w1) / (w1 - w0)),  # warm-up < duration (validated)
            "max_instances": self.max_instances(),
            "memory_mb": self.memory_mb,
            "provisioned_concurrency": self.provisioned,
            "cost_breakdown_usd": {k: rnd(v) for k, v in self.cost_breakdown().items()},
        }

    def request_metrics(self) -> list[RequestMetric]:
        """The common metrics plus ModelSetupTime (µs, over the minute's cold starts) and ColdStarts."""
        return [*super().request_metrics(),
                RequestMetric("ModelSetupTime", SAMPLES,
                              lambda s: (s.col(self.log.cold), (s.overhead_s - self.overhead_s) * 1e6), per_variant=False),
                RequestMetric("ColdStarts", COUNT, lambda s: (s.col(self.log.cold), None), per_variant=False)]
