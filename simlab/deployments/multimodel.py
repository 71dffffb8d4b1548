"""Multi-model endpoint: many models behind one endpoint, loaded on demand into a memory cache.

Every request names its target model (``TargetModel``), drawn from the deployment's own stream by
``popularity``. Routing prefers the instance that holds the model (loaded, or being loaded); a
request for a model no instance holds goes to the least loaded instance (fewest outstanding
requests), which downloads it from S3 (size / ``download_mb_per_s``) and loads it (``load_time``).
Requests wait for that (ModelLoadingWaitTime) and then take the instance's earliest-free worker.
When the models on an instance would exceed its memory (``memory_gib`` of the instance type minus
``memory_reserve_gib``), the least recently used models are unloaded first. AWS documents only
that "unused" models are unloaded; LRU order is an assumption (facts:
``multi_model_endpoint.eviction_policy``). Disk space is not modelled.

Predictions are real: model ``k`` is the zoo's ``models.base`` trained on its own random subset
of the training rows (``zoo.load_model(base, version=k, train_idx=…)``), trained only when a
request for it completed, at most ``models.max_trained`` distinct models per run.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from simlab import facts
from simlab.accounting import latency_stats, rnd
from simlab.deployments.base import COMMON_FIELDS, Deployment, Lease
from simlab.deployments.realtime import SERVICE_TIME, InstanceTypeKind, _least_outstanding
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem
from simlab.metrics import SAMPLES, RequestMetric
from simlab.records import Err
from simlab.schema import Any_, Field, Float, Int, Invalid, Nested, OneOf, Schema

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["MultiModelEndpoint", "SCHEMA", "popularity_weights"]


# -- schema -----------------------------------------------------------------------------------
def _zoo_model(raw: Any, path: str) -> str:
    from simlab.zoo import MODEL_IDS

    if raw not in MODEL_IDS:
        raise Invalid(f"must be a bundled model (simlab models): {', '.join(MODEL_IDS)}", raw)
    return raw


def _popularity(raw: Any, path: str) -> str | dict[str, float]:
    if raw == "uniform":
        return raw
    s = raw.get("zipf") if isinstance(raw, dict) and set(raw) == {"zipf"} else None
    if isinstance(s, int | float) and not isinstance(s, bool) and math.isfinite(s) and s > 0:
        return {"zipf": float(s)}
    raise Invalid('must be "uniform" or {zipf: EXPONENT > 0} (model k has weight 1 / (k + 1)^EXPONENT)', raw)


MODELS_SCHEMA = Schema("models", [
    Field("count", Int(min=1), unit="models", doc="number of models behind the endpoint (TargetModel values)"),
    Field("base", Any_(describe="a bundled model id", convert_fn=_zoo_model), default=None,
          doc="zoo model each per-customer model is trained from (default: the scenario's model); "
              "it must use the scenario model's dataset"),
    Field("size_mb", DistSpec(unit="mb", scale=1.0), default=Dist.fixed(100.0), unit="MB (MiB)",
          doc="model artifact size, drawn once per model from the deployment's stream; a number or "
              "{dist: …, mean_mb: …} (assumption: 100 MB)"),
    Field("train_fraction", Float(min=0, max=1, min_open=True), default=0.5,
          doc="share of the zoo training rows each model is trained on (a different random subset "
              "per model, stratified by class)"),
    Field("max_trained", Int(min=1), default=1000, unit="models",
          doc="at most this many distinct models are trained per run for predictions (those with "
              "completed requests, lowest ids first); later ones get no prediction (NaN)"),
])


def _memory_check(cfg: dict, path: str) -> list[Problem]:
    mem = facts.instance(cfg["instance_type"]).memory_gib
    if cfg["memory_reserve_gib"] >= mem:
        return [Problem(f"{path}.memory_reserve_gib", f"must be below the instance's memory ({mem:g} GiB "
                        f"for {cfg['instance_type']})", f"{cfg['memory_reserve_gib']:g}")]
    return []


SCHEMA = Schema("multi_model_endpoint", [
    *COMMON_FIELDS,
    Field("instance_type", InstanceTypeKind(), default="ml.m5.large",
          doc="instance type from the catalog; its memory_gib is the model cache"),
    Field("instance_count", Int(min=1), default=1, unit="instances", doc="InitialInstanceCount"),
    Field("workers_per_instance", Int(min=1), default=1, unit="requests",
          doc="requests one instance serves at once (model-server workers)"),
    Field("service_time", SERVICE_TIME, default=Dist.exponential(0.040), unit="ms",
          doc='model time per request once the model is loaded (same default as real_time_endpoint); '
              'or "profile"'),
    Field("overhead_ms", Float(min=0), default=2.0, unit="ms",
          doc="fixed overhead latency added to every response (as real_time_endpoint)"),
    Field("models", Nested(MODELS_SCHEMA), doc="the models behind the endpoint"),
    Field("popularity", Any_(describe='"uniform" or {zipf: s}', convert_fn=_popularity),
          default="uniform", doc="how requests spread over the models: uniform, or Zipf with exponent s "
          "(model 0 most popular); each request's model is drawn from the deployment's own stream"),
    Field("memory_reserve_gib", Float(min=0), default=1.0, unit="GiB",
          doc="instance memory not available to models: OS, container, model server (assumption: 1 GiB)"),
    Field("download_mb_per_s", Float(min=0, min_open=True), default=100.0, unit="MB/s",
          doc="S3 → instance download throughput for a model artifact (assumption: 100 MB/s)"),
    Field("load_time", DistSpec(unit="ms", scale=0.001, allow_zero=True), default=Dist.fixed(0.2), unit="ms",
          doc="time to load a downloaded model into memory, per load (assumption: 200 ms)"),
    Field("model_cache", OneOf(("Enabled", "Disabled")), default="Enabled",
          doc="MultiModelConfig.ModelCacheSetting: Disabled loads the model for every request"),
], checks=(_memory_check,), doc="SageMaker multi-model endpoint")


def _hold(host: _Host, m: int, until: float) -> None:
    """Model ``m`` is in use on ``host`` until at least ``until`` (it cannot be unloaded before)."""
    if until > host.busy_until.get(m, 0.0):
        host.busy_until[m] = until


def popularity_weights(popularity: str | dict, n: int) -> np.ndarray:
    """Probability of each of ``n`` models (sums to 1) for ``uniform`` or ``{zipf: s}``."""
    w = np.ones(n) if popularity == "uniform" else np.arange(1, n + 1, dtype=float) ** -popularity["zipf"]
    return w / w.sum()


class _Host:
    """One instance: worker free-times, outstanding end times, loaded models (LRU order)."""

    __slots__ = ("id", "free", "ends", "cache", "used", "busy_until")

    def __init__(self, iid: int, workers: int) -> None:
        self.id = iid
        self.free = [0.0] * workers
        self.ends: list[float] = []
        self.cache: OrderedDict[int, float] = OrderedDict()  # model -> ready time
        self.used = 0.0  # MB
        self.busy_until: dict[int, float] = {}  # model -> when its last queued request ends


# -- the deployment ---------------------------------------------------------------------------
class MultiModelEndpoint(Deployment):
    """A SageMaker multi-model endpoint with an LRU model cache per instance."""

    type_id = "multi_model_endpoint"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.n_models = config["models"]["count"]
        self.instance_type = facts.instance(config["instance_type"])
        self.capacity_mb = (self.instance_type.memory_gib - config["memory_reserve_gib"]) * 1024.0
        self.overhead_s = config["overhead_ms"] / 1000.0
        self.caching = config["model_cache"] == "Enabled"
        self.max_payload = facts.limit("real_time_endpoint.max_payload_bytes")
        self.max_processing = facts.limit("real_time_endpoint.max_processing_s")
        self.service: Dist | str = config["service_time"]
        self.load_events: list[float] = []  # when a loaded model became ready
        self.unload_events: list[float] = []
        self._trained: dict[int, Any] = {}

    def bind(self, sim: Simulation) -> None:
        """Attach; check the base model fits the request stream's dataset.

        Raises:
            ScenarioError: when ``models.base`` is trained on another dataset than the scenario model.
        """
        super().bind(sim)

        n = sim.workload.n
        self.target = np.zeros(n, dtype=np.int32)
        self.hit = np.zeros(n, dtype=bool)
        self.load_wait = np.zeros(n)

    def base(self) -> str:
        return self.config["models"]["base"] or self.sim.scenario.model

    def model_of_variant(self, v: int) -> str:
        return self.base()

    @classmethod
    def models_named(cls, config: dict) -> list[tuple[str, str]]:
        base = (config.get("models") or {}).get("base") if isinstance(config.get("models"), dict) else None
        return super().models_named(config) + ([("models.base", base)] if isinstance(base, str) else [])

    def start(self) -> None:
        sim, cfg = self.sim, self.config
        self.service = self.resolve_service_time(self.service, self.base())
        u = sim.streams.generator(f"{self.name}.target_model").random(sim.workload.n)
        cdf = np.cumsum(popularity_weights(cfg["popularity"], self.n_models))
        self.target[:] = np.minimum(np.searchsorted(cdf, u, side="right"), self.n_models - 1)
        u_size = sim.streams.generator(f"{self.name}.model_size").random(self.n_models)
        self.sizes = cfg["models"]["size_mb"].ppf(u_size).tolist()
        u_load = sim.streams.generator(f"{self.name}.load_time").random(sim.workload.n)
        self.load_s = cfg["load_time"].ppf(u_load)
        self.hosts = [_Host(i, cfg["workers_per_instance"]) for i in range(cfg["instance_count"])]
        self.holder = [-1] * self.n_models  # instance holding each model, −1 for none
        self._pending: list[tuple[float, int, int]] = []  # (model ready, request, instance)

    # -- requests ------------------------------------------------------------------------------
    def admit_until(self, t: float) -> None:
        wl, log = self.sim.workload, self.log
        i0, i1 = self.take_arrivals(t)
        if i1 > i0:
            idx = np.arange(i0, i1)
            svc = self.service.ppf(wl.u_service[idx])
            too_big = self.oversize(idx)
            self.reject_oversize(idx[too_big])
            log.error[idx[~too_big & (svc > self.max_processing)]] = Err.TIMEOUT
            busy = np.minimum(svc, self.max_processing)
            log.busy_s[idx], log.model_s[idx] = busy, busy
            self._route(idx[~too_big])
        self._flush(t)

    def _route(self, idx: np.ndarray) -> None:
        """In arrival order: pick the instance, load the model if needed, queue the request."""
        wl = self.sim.workload
        t, models = wl.t[idx].tolist(), self.target[idx].tolist()
        u, load_s = wl.u_route[idx].tolist(), self.load_s[idx].tolist()
        hosts, holder, pop = self.hosts, self.holder, heapq.heappop
        ready, cold, inst = np.empty(idx.size), np.zeros(idx.size, dtype=bool), np.empty(idx.size, np.int32)
        for k, i in enumerate(idx.tolist()):
            ti, m = t[k], models[k]
            self._flush(ti)
            h = holder[m] if self.caching else -1
            if h >= 0:
                host = hosts[h]
                r = host.cache[m]
                host.cache.move_to_end(m)
            else:
                host = _least_outstanding(hosts, ti, u[k], pop) if len(hosts) > 1 else hosts[0]
                r = self._load(host, m, ti, load_s[k])
                cold[k] = r < math.inf  # a model above the instance's memory never loads
            ready[k], inst[k] = r, host.id
            if r <= ti:
                self._take_worker(i, host, ti)
            elif r - ti <= self.max_processing:
                heapq.heappush(self._pending, (r, i, host.id))
                _hold(host, m, r + float(self.log.busy_s[i]))  # in use until at least then
        self._settle(idx, ready, cold, inst)

    def _flush(self, t: float) -> None:
        """Queue the requests whose model became ready by ``t``, in ready-time order."""
        pending = self._pending
        while pending and pending[0][0] <= t:
            r, i, h = heapq.heappop(pending)
            self._take_worker(i, self.hosts[h], r)

    def _take_worker(self, i: int, host: _Host, join: float) -> None:
        """Request ``i`` joins ``host``'s FIFO queue at ``join``: earliest-free worker."""
        log = self.log
        s = max(host.free[0], join)
        end = s + float(log.busy_s[i])
        heapq.heapreplace(host.free, end)
        heapq.heappush(host.ends, end)
        _hold(host, int(self.target[i]), end)
        log.t_start[i] = s
        log.t_done[i] = end + self.overhead_s

    def _load(self, host: _Host, m: int, t: float, load_s: float) -> float:
        """Start loading model ``m`` on ``host`` at ``t``; returns when it is ready (inf: too big)."""
        size = self.sizes[m]
        if size > self.capacity_mb:
            return math.inf
        fetch = size / self.config["download_mb_per_s"] + load_s
        if not self.caching:
            return t + fetch
        start = t
        while host.used + size > self.capacity_mb:  # unload least recently used models first ...
            old, old_ready = host.cache.popitem(last=False)
            free_at = max(old_ready, host.busy_until.pop(old, 0.0))  # ... once loaded and idle
            start = max(start, free_at)  # the new model waits for that memory
            host.used -= self.sizes[old]
            self.holder[old] = -1
            self.unload_events.append(max(t, free_at))
        ready = start + fetch
        host.cache[m] = ready
        host.used += size
        self.holder[m] = host.id
        self.load_events.append(ready)
        return ready

    def _settle(self, idx: np.ndarray, ready: np.ndarray, cold: np.ndarray, inst: np.ndarray) -> None:
        """Vectorised bookkeeping of a routed batch: hits, waits, and requests that never run."""
        log, t = self.log, self.sim.workload.t[idx]
        wait = np.maximum(ready - t, 0.0)
        never = wait > self.max_processing  # ModelNotReadyException, or a model above the memory
        too_large = np.isinf(ready)
        self.hit[idx] = ready <= t
        self.load_wait[idx] = np.where(never, np.nan, wait)
        log.cold[idx], log.instance[idx] = cold, inst
        log.overhead_s[idx] = self.overhead_s
        log.busy_s[idx[never]], log.model_s[idx[never]] = 0.0, 0.0
        log.error[idx[never]] = np.where(too_large[never], Err.MODEL_ERROR, Err.NOT_READY)
        log.t_done[idx[never]] = t[never] + np.where(too_large[never], 0.0, self.max_processing)

    def finish(self) -> None:
        super().finish()
        self._flush(math.inf)  # requests still waiting for a model: they start after the end
        price = self.instance_type.price_per_hour / 3600.0
        for _ in self.hosts:
            self.leases.append(Lease(0.0, self.sim.duration, price, self.config["workers_per_instance"]))

    # -- results -------------------------------------------------------------------------------
    def _routed(self) -> np.ndarray:
        """Requests that reached the model server (not rejected for their payload)."""
        return self.log.error != Err.PAYLOAD_TOO_LARGE

    def customer_model(self, k: int):
        """Model ``k``: the base model trained on its own subset of the training rows (cached)."""
        if k not in self._trained:
            from simlab.zoo import load_model

            self._trained[k] = load_model(self.base(), version=k, train_idx=self._train_rows(k))
        return self._trained[k]

    def _train_rows(self, k: int) -> np.ndarray:
        ds, frac = self.sim.dataset, self.config["models"]["train_fraction"]
        # keyed by base model, not deployment: customer k has the same model in every MME of a run
        gen = self.sim.streams.generator(f"multi_model.{self.base()}.customer.{k}.train_rows")
        rows = ds.train_idx
        groups = [rows] if ds.task == "regression" else [rows[ds.y[rows] == c] for c in np.unique(ds.y[rows])]
        picked = [gen.choice(g, size=max(1, round(frac * g.size)), replace=False) for g in groups]
        return np.sort(np.concatenate(picked))

    def predictions(self) -> np.ndarray:
        """Each served request scored by ITS model (one vectorised pass per distinct model)."""
        out = np.full(self.log.n, np.nan)
        served = np.isfinite(self.log.t_start) & (self.log.error == Err.NONE)
        wanted = np.unique(self.target[served])[: self.config["models"]["max_trained"]]
        X, rows = self.sim.dataset.X, self.sim.workload.row
        for k in wanted.tolist():
            sel = served & (self.target == k)
            out[sel] = np.asarray(self.customer_model(k).score_output(X), dtype=float)[rows[sel]]
        return out

    def model_names(self) -> list[str]:
        """TargetModel value of each model id."""
        return [f"model-{k:0{len(str(self.n_models - 1))}d}.tar.gz" for k in range(self.n_models)]

    def requests_frame(self, result):
        """The per-request frame plus ``target_model``, ``model_cache_hit``, ``model_loading_wait_ms``."""
        import pandas as pd

        frame = result.requests_of(self)
        frame["target_model"] = pd.Categorical.from_codes(self.target, self.model_names())
        frame["model_cache_hit"] = self.hit & self._routed()
        frame["model_loading_wait_ms"] = np.where(self._routed(), self.load_wait * 1000.0, np.nan)
        return frame

    def request_metrics(self) -> list[RequestMetric]:
        """Default metrics plus ModelCacheHit (ratio) and ModelLoadingWaitTime (µs, mean over
        requests that waited); LoadedModelCount (at the start of each minute) is a gauge."""
        routed = lambda s: s.error != Err.PAYLOAD_TOO_LARGE  # noqa: E731
        return [*super().request_metrics(),
                RequestMetric("ModelCacheHit", SAMPLES, lambda s: (routed(s), s.col(self.hit).astype(float)),
                              per_variant=False),
                RequestMetric("ModelLoadingWaitTime", SAMPLES,
                              lambda s: (routed(s) & (np.nan_to_num(s.col(self.load_wait)) > 0), s.col(self.load_wait) * 1e6),
                              per_variant=False)]

    def metric_columns(self) -> list[str]:
        return [*super().metric_columns(), "LoadedModelCount"]

    def minute_gauges(self, variant: int, t0: float, t1: float) -> dict[str, float]:
        return {"LoadedModelCount": float(self.loaded_at(np.array([t0]))[0])}

    def instance_count_at(self, variant: int, t: float) -> float:
        return float(len(self.hosts)) if 0.0 <= t < self.sim.duration else 0.0

    def instance_seconds(self, variant: int, t0: float, t1: float) -> float:
        return len(self.hosts) * max(0.0, min(t1, self.sim.duration) - max(t0, 0.0))

    def workers_of_variant(self, variant: int) -> int:
        return self.config["workers_per_instance"]

    def settled_before(self, t: float) -> float:
        """Requests waiting for their model to load have no start time yet."""
        t_arr = self.sim.workload.t
        return min([t, *(float(t_arr[i]) for _, i, _ in self._pending)])

    def loaded_at(self, times: np.ndarray) -> np.ndarray:
        """Models loaded (ready and not yet unloaded) at each of ``times``, over all instances."""
        up = np.searchsorted(np.sort(self.load_events), times, side="right")
        down = np.searchsorted(np.sort(self.unload_events), times, side="right")
        return (up - down).astype(np.int64)

    def _loaded_max(self) -> int:
        w0, w1 = self.window()
        events = np.concatenate([[w0], self.load_events, self.unload_events])
        events = events[(events >= w0) & (events <= w1)]
        return int(self.loaded_at(events).max(initial=0))

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        routed = sel & self._routed()
        n = int(routed.sum())
        waits = self.load_wait[routed & (np.nan_to_num(self.load_wait) > 0)] * 1000.0
        stats = latency_stats(waits)
        return {
            "cache_hit_rate": rnd(self.hit[routed].mean()) if n else None,
            "model_loads": int(self.log.cold[sel].sum()),
            "model_loading_wait_ms": {k: stats[k] for k in ("mean", "p50", "p99")},
            "loaded_models_max": self._loaded_max(),
            "distinct_models": int(np.unique(self.target[routed]).size),
        }
