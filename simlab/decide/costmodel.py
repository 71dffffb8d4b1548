"""Monthly cost and p99 latency of each deployment option for a workload built from the facts.

Prices come from :mod:`simlab.facts` (``instances.yaml``, ``prices.yaml``), limits likewise, and the
model's own assumptions (hours per month, start-up times) from ``simlab/data/rules.yaml``.
Assumptions, also listed in ``docs/decisions.md``:

- Requests arrive as a Poisson stream at the average rate ``requests_per_day / 86,400`` per
  second; spikes and auto scaling are not modelled. Each instance serves one request at a time,
  ``inference_seconds`` long (the whole chain for a serial pipeline).
- Real-time endpoint: the smallest count ``c`` of ``instance_type`` (at least the minimum of 1)
  with utilisation below 1 and, when ``latency_slo_ms`` is set, p99 response time ≤ SLO, where
  p99 response = inference time + the M/M/c p99 wait, P(W > t) = C(c, a)·exp(−(cμ − λ)t)
  (Erlang C, :mod:`simlab.theory`). Always on for ``hours_per_month``. With ``models`` > 1 it is
  one such endpoint per model, each taking an equal share of the traffic.
- Serverless: requests × inference_seconds × memory GB × the per-GB-second price, plus the
  payload (request side only) × the per-GB data price; cold starts are not billed. p99 =
  inference time, plus the cold start when at least 1 % of requests find no warm capacity:
  always for intermittent traffic, otherwise when exp(−λ·idle_timeout) ≥ 1 %.
- Async: scales to zero. Billed time per request = its inference time + the idle tail until the
  next request or the scale-in cooldown, whichever comes first, + an instance start-up when the
  gap exceeded the cooldown; capped at an always-on fleet. p99 adds the start-up when ≥ 1 % of
  requests arrive after such a gap.
- Batch transform: one run per day unless ``runs_per_month``; each run scores ``records`` (else a
  day's requests) on enough instances to finish before the next run; billed for start-up +
  processing; p99 latency = the run's duration.
- Multi-model endpoint: one endpoint sized for all models' traffic together (model loading time
  is not modelled). Serial pipeline: a real-time endpoint whose request time is the chain's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simlab import facts as service_facts
from simlab.decide.answers import ANSWERS
from simlab.decide.data import assumption
from simlab.theory import erlang_c, mmc_wait_quantile

__all__ = [
    "Estimate", "Workload", "P99", "hours_per_month", "estimate_all", "crossover_requests_per_day",
    "serverless_cost_per_request", "endpoint_size",
]

P99 = 0.99
SECONDS_PER_DAY = 86_400.0


def hours_per_month() -> float:
    """Billing hours in a month (an assumption of ``rules.yaml``)."""
    return float(assumption("hours_per_month"))


def _days_per_month() -> float:
    return hours_per_month() / 24.0


@dataclass(frozen=True)
class Estimate:
    """One option's monthly cost (USD) and p99 latency (ms), with how they were computed."""

    monthly_cost_usd: float
    p99_latency_ms: float
    instances: int
    basis: str

    def to_dict(self) -> dict[str, float]:
        """The JSON form: cost rounded to cents, latency to 0.1 ms."""
        return {"monthly_cost_usd": round(self.monthly_cost_usd, 2),
                "p99_latency_ms": round(self.p99_latency_ms, 1)}


@dataclass(frozen=True)
class Workload:
    """The facts a cost estimate needs, with every default resolved."""

    requests_per_day: float
    service_s: float
    payload_mb: float
    slo_ms: float | None
    models: int
    traffic: str
    memory_mb: int
    instance_type: str
    cold_start_ms: float
    records_per_run: float
    runs_per_month: float

    @property
    def rate(self) -> float:
        """Average arrivals per second."""
        return self.requests_per_day / SECONDS_PER_DAY

    @property
    def requests_per_month(self) -> float:
        return self.requests_per_day * _days_per_month()

    @property
    def hourly(self) -> float:
        return service_facts.instance(self.instance_type).price_per_hour

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> Workload:
        """Build from validated facts (deployment question).

        Raises:
            ValueError: when neither requests_per_day nor records is set.
        """
        runs = facts.get("runs_per_month") or _days_per_month()
        rpd = facts.get("requests_per_day")
        records = facts.get("records")
        if rpd is None and records is None:
            raise ValueError("a workload needs requests_per_day or records")
        if rpd is None:
            rpd = records * runs / _days_per_month()
        cold = facts.get("cold_start_ms")
        return cls(
            requests_per_day=float(rpd), service_s=float(facts["inference_seconds"]),
            payload_mb=float(facts["payload_mb"]), slo_ms=facts.get("latency_slo_ms"),
            models=int(facts.get("models") or 1), traffic=facts.get("traffic") or "steady",
            memory_mb=int(facts.get("memory_mb") or assumption("default_memory_mb")),
            instance_type=facts.get("instance_type") or assumption("default_instance_type"),
            cold_start_ms=float(cold if cold is not None else
                                service_facts.limit("serverless_inference.default_cold_start_mean_ms")),
            records_per_run=float(records if records is not None else rpd), runs_per_month=float(runs))


# --------------------------------------------------------------------------- queueing


def _p99_ms(rate: float, service_s: float, c: int) -> float:
    wait = mmc_wait_quantile(P99, rate, 1.0 / service_s, c) if rate > 0 else 0.0
    return (service_s + wait) * 1000.0


def endpoint_size(rate: float, service_s: float, slo_ms: float | None) -> tuple[int, float]:
    """``(instances, p99 ms)``: the smallest stable M/M/c fleet meeting the SLO if it can.

    Adding instances stops once the p99 wait is zero (P(wait) ≤ 1 %); if the SLO is below the
    inference time itself, that fleet is returned with its p99 above the SLO.
    """
    min_c = int(service_facts.limit("real_time_endpoint.min_instances"))
    offered = rate * service_s
    c = max(min_c, math.floor(offered) + 1)
    while True:
        p99 = _p99_ms(rate, service_s, c)
        if slo_ms is None or p99 <= slo_ms or erlang_c(c, offered) <= 1 - P99:
            return c, p99
        c += 1


# --------------------------------------------------------------------------- per option


def _real_time(w: Workload) -> Estimate:
    c, p99 = endpoint_size(w.rate / w.models, w.service_s, w.slo_ms)
    total = c * w.models
    cost = total * w.hourly * hours_per_month()
    where = f"{w.models} endpoints × " if w.models > 1 else ""
    return Estimate(cost, p99, total, f"{where}{c} × {w.instance_type} always on, "
                    f"{hours_per_month():g} h/month; M/M/c p99 wait")


def serverless_cost_per_request(inference_seconds: float, payload_mb: float, memory_mb: int) -> float:
    """USD per serverless request: compute (duration × memory GB) + data processed."""
    compute = inference_seconds * memory_mb / 1024.0 * service_facts.price("serverless_compute_per_gb_s")
    data = payload_mb / 1024.0 * service_facts.price("serverless_data_per_gb")
    return compute + data


def _cold_share(w: Workload) -> float:
    if w.traffic == "intermittent":
        return 1.0
    idle = service_facts.limit("serverless_inference.default_idle_timeout_s")
    return math.exp(-w.rate * idle)


def _serverless(w: Workload) -> Estimate:
    cost = w.requests_per_month * serverless_cost_per_request(w.service_s, w.payload_mb, w.memory_mb)
    cold = _cold_share(w) >= 1 - P99
    p99 = w.service_s * 1000.0 + (w.cold_start_ms if cold else 0.0)
    note = f"cold start {w.cold_start_ms:,.0f} ms in p99" if cold else "p99 without cold start"
    return Estimate(cost, p99, 0, f"{w.requests_per_month:,.0f} requests/month × {w.service_s:g} s × "
                    f"{w.memory_mb / 1024:g} GB + {w.payload_mb:g} MB each; {note}")


def _async(w: Workload) -> Estimate:
    c, warm_p99 = endpoint_size(w.rate, w.service_s, None)
    cooldown = service_facts.limit("real_time_endpoint.default_scale_in_cooldown_s")
    startup = float(assumption("endpoint_instance_startup_s"))
    always_on_s = c * hours_per_month() * 3600.0
    if w.rate > 0:
        gap = math.exp(-w.rate * cooldown)
        per_request = w.service_s + (1 - gap) / w.rate + gap * startup
        billed_s = min(w.requests_per_month * per_request, always_on_s)
    else:
        gap, billed_s = 1.0, 0.0
    p99 = warm_p99 + (startup * 1000.0 if gap >= 1 - P99 else 0.0)
    cost = billed_s / 3600.0 * w.hourly
    return Estimate(cost, p99, c, f"{billed_s / 3600:,.1f} instance-h/month of {w.instance_type}: "
                    f"busy time, idle tails up to the {cooldown:g} s scale-in cooldown, "
                    f"{startup:g} s start-ups from zero")


def _batch(w: Workload) -> Estimate:
    startup = float(assumption("batch_job_startup_s"))
    period_s = hours_per_month() * 3600.0 / w.runs_per_month
    work_s = w.records_per_run * w.service_s
    instances = max(1, math.ceil(work_s / max(period_s - startup, w.service_s)))
    duration_s = startup + work_s / instances
    cost = instances * duration_s / 3600.0 * w.hourly * w.runs_per_month
    return Estimate(cost, duration_s * 1000.0, instances,
                    f"{w.runs_per_month:,.1f} runs/month × {instances} × {w.instance_type} × "
                    f"{duration_s / 3600:,.2f} h: {w.records_per_run:,.0f} records + {startup:g} s start-up")


def _multi_model(w: Workload) -> Estimate:
    c, p99 = endpoint_size(w.rate, w.service_s, w.slo_ms)
    cost = c * w.hourly * hours_per_month()
    return Estimate(cost, p99, c, f"one endpoint for {w.models} model(s): {c} × {w.instance_type} "
                    f"always on; model loading not modelled")


def _serial(w: Workload) -> Estimate:
    est = _real_time(w)
    return Estimate(est.monthly_cost_usd, est.p99_latency_ms, est.instances,
                    est.basis + "; inference_seconds covers the whole container chain")


_ESTIMATORS: dict[str, Callable[[Workload], Estimate]] = {
    "real_time_endpoint": _real_time,
    "serverless_inference": _serverless,
    "async_inference": _async,
    "batch_transform": _batch,
    "multi_model_endpoint": _multi_model,
    "serial_inference_pipeline": _serial,
}


def estimate_all(facts: Mapping[str, Any]) -> dict[str, Estimate]:
    """An estimate for every deployment answer id, in answer order.

    Raises:
        ValueError: when the facts hold neither requests_per_day nor records.
    """
    w = Workload.from_facts(facts)
    return {option: _ESTIMATORS[option](w) for option in ANSWERS["deployment"]}


def crossover_requests_per_day(inference_seconds: float, payload_mb: float,
                               memory_mb: int | None = None,
                               instance_type: str | None = None) -> float:
    """Requests/day above which serverless costs more than one always-on instance.

    ``memory_mb`` defaults to 2048 MB and ``instance_type`` to ml.m5.large (both from the
    assumptions in ``rules.yaml``). The month length cancels out: the break-even is the
    instance's daily price divided by the serverless price of one request.

    Raises:
        KeyError: for an unknown instance type.
        ValueError: when a request costs nothing (inference_seconds and payload_mb both 0).
    """
    memory = memory_mb if memory_mb is not None else int(assumption("default_memory_mb"))
    itype = instance_type or assumption("default_instance_type")
    per_request = serverless_cost_per_request(inference_seconds, payload_mb, memory)
    if per_request <= 0:
        raise ValueError("a serverless request must cost something: inference_seconds or payload_mb > 0")
    return service_facts.instance(itype).price_per_hour * 24.0 / per_request
