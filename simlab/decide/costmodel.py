"""Monthly cost and p99 latency of each deployment option for a workload built from the facts.

Prices come from :mod:`simlab.facts` (``instances.yaml``, ``prices.yaml``), limits likewise, and the
model's own assumptions (start-up times) from ``simlab/data/rules.yaml``; the billing month from simlab/data/prices.yaml.
Assumptions, also listed in ``docs/decisions.md``:

- Requests arrive as a Poisson stream at the average rate ``requests_per_day / 86,400`` per
  second; spikes and auto scaling are not modelled. Each instance serves one request at a time,
  ``inference_seconds`` long (the whole chain for a serial pipeline).
- Real-time endpoint: the smallest count ``c`` of ``instance_type`` (at least the minimum of 1)
  with utilisation below 1 and, when ``latency_slo_ms`` is set, p99 response time ≤ SLO, where
  p99 response = inference time + the M/M/c p99 wait, P(W > t) = C(c, a)·exp(−(cμ − λ)t)
  (Erlang C, :mod:`simlab.theory`). Always on for ``hours_per_month``.
- ``models`` > 1: every option but the multi-model endpoint has no multi-model mode here, so it is
  one deployment per model (endpoint, serverless endpoint, async endpoint, pipeline endpoint, or
  transform job per run), each estimated as above for an equal share of the traffic
  (``requests_per_day / models``, ``records / models``); costs and instances add up over the
  models, the p99 is one deployment's (a serverless endpoint's cold-start share at its own rate).
- Serverless: requests × inference_seconds × memory GB × the per-GB-second price, plus the
  payload (request side only) × the per-GB data price; cold starts are not billed. Cold share
  f: every request for intermittent traffic, otherwise Σₙ πₙ·exp(−λ·πₙ·keep_alive) with πₙ the
  Poisson(λ·inference_seconds) probability that n requests are in progress (an arrival that finds
  n busy needs the (n+1)-th instance, which only such arrivals keep warm); at low load this is
  exp(−λ·keep_alive). p99 = inference time + the quantile q of the cold-start distribution
  (lognormal, the simulator's default mean and cv) with f·P(C > q) = 1 %; no cold start when
  f ≤ 1 %.
- Async: the simulator's auto scaling with its defaults (min 0, max = the M/M/c fleet size,
  target tracking on the backlog per instance plus the HasBacklogWithoutCapacity step policy),
  billed while in service. With one instance (λ·inference_seconds < 1) it is a renewal cycle:
  idle at zero → the first request raises the alarm (``scale_from_zero_datapoints`` one-minute
  datapoints) → start-up (not billed) → in service until a whole minute without work and
  ``LOW_DATAPOINTS`` low datapoints after the last one at or above ``LOW_RATIO`` × target. Cost =
  the in-service share of the cycle; p99 mixes the start-up wait of requests that found no
  capacity with the warm M/M/1 response time. From two instances on, always on.
- Batch transform: one run per day unless ``runs_per_month``; each run scores ``records`` (else a
  day's requests) on enough instances to finish before the next run; billed for start-up +
  processing; p99 latency = the run's duration.
- Multi-model endpoint: one endpoint sized for all models' traffic together (model loading time
  is not modelled). Serial pipeline: a real-time endpoint whose request time is the chain's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any

from simlab import facts as service_facts
from simlab.decide.answers import ANSWERS
from simlab.decide.data import assumption
from simlab.theory import erlang_c, mmc_wait_quantile, mmc_wait_tail

__all__ = [
    "Estimate", "Workload", "P99", "hours_per_month", "estimate_all", "crossover_requests_per_day",
    "serverless_cost_per_request", "endpoint_size", "serverless_cold_share", "serverless_p99_ms",
    "cold_start_quantile_s", "per_model",
    "AsyncScaling", "async_scaling", "DATAPOINT_S",
]

P99 = 0.99
SECONDS_PER_DAY = 86_400.0
#: Period of an auto-scaling datapoint: CloudWatch one-minute metrics, evaluated once a minute by
#: the simulator's async auto scaler (simlab/deployments/asynchronous.py, ``_autoscale``).
DATAPOINT_S = 60.0


def hours_per_month() -> float:
    """Billing hours in a month (simlab/data/prices.yaml, shared with batch transform)."""
    return service_facts.hours_per_month()


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


def per_model(w: Workload) -> Workload:
    """The workload of one model's own deployment: an equal share (1/models) of the requests and
    of each run's records, one model."""
    return replace(w, requests_per_day=w.requests_per_day / w.models,
                   records_per_run=w.records_per_run / w.models, models=1)


def _one_per_model(estimator: Callable[[Workload], Estimate], unit: str) -> Callable[[Workload], Estimate]:
    """An estimator for an option without a multi-model mode: with ``models`` > 1 it is one
    deployment (``unit``) per model, each estimated for its share of the traffic; cost and
    instances add up over the models, the p99 is one deployment's."""

    def estimate(w: Workload) -> Estimate:
        if w.models == 1:
            return estimator(w)
        one = estimator(per_model(w))
        return Estimate(one.monthly_cost_usd * w.models, one.p99_latency_ms, one.instances * w.models,
                        f"{w.models} {unit} (one per model, each with 1/{w.models} of the traffic) × "
                        f"[{one.basis}]")

    estimate.__doc__ = estimator.__doc__
    return estimate


def _real_time_one(w: Workload) -> Estimate:
    c, p99 = endpoint_size(w.rate, w.service_s, w.slo_ms)
    cost = c * w.hourly * hours_per_month()
    return Estimate(cost, p99, c, f"{c} × {w.instance_type} always on, "
                    f"{hours_per_month():g} h/month; M/M/c p99 wait")


def serverless_cost_per_request(inference_seconds: float, payload_mb: float, memory_mb: int) -> float:
    """USD per serverless request: compute (duration × memory GB) + data processed."""
    compute = inference_seconds * memory_mb / 1024.0 * service_facts.price("serverless_compute_per_gb_s")
    data = payload_mb / 1024.0 * service_facts.price("serverless_data_per_gb")
    return compute + data


def _poisson_pmf(mean: float) -> list[tuple[int, float]]:
    """``(n, P(N = n))`` of a Poisson(mean) over all but a negligible tail (log space: no underflow)."""
    if mean <= 0:
        return [(0, 1.0)]
    spread = 10.0 * math.sqrt(mean) + 10.0
    lo, hi = max(0, math.floor(mean - spread)), math.ceil(mean + spread)
    return [(n, math.exp(n * math.log(mean) - mean - math.lgamma(n + 1))) for n in range(lo, hi + 1)]


def serverless_cold_share(rate: float, service_s: float, idle_timeout_s: float) -> float:
    """Share of requests that meet a cold start on a serverless endpoint (Poisson arrivals).

    An arrival finds n requests in progress with probability πₙ (Poisson with mean λ·S, as in
    M/G/∞) and needs an (n+1)-th warm instance; only arrivals that find exactly n busy use it,
    at rate λ·πₙ, so it has been reclaimed with probability exp(−λ·πₙ·keep_alive). Summed:
    Σₙ πₙ·exp(−λ·πₙ·keep_alive), which is exp(−λ·keep_alive) at low load. Set-up time is not
    counted in S (it matters only when cold starts are rare anyway).
    """
    if rate <= 0:
        return 1.0
    return min(1.0, sum(p * math.exp(-rate * p * idle_timeout_s)
                        for _, p in _poisson_pmf(rate * service_s)))


def _cold_share(w: Workload) -> float:
    if w.traffic == "intermittent":
        return 1.0
    idle = service_facts.limit("serverless_inference.default_idle_timeout_s")
    return serverless_cold_share(w.rate, w.service_s, idle)


def cold_start_quantile_s(cold_start_ms: float, q: float) -> float:
    """The q-quantile (s) of the cold-start set-up time: the simulator's default distribution,
    lognormal with this mean and cv ``serverless_inference.default_cold_start_cv``, parametrised
    as :meth:`simlab.distributions.Dist.ppf` does (stdlib only: ``simlab recommend`` loads no numpy)."""
    cv = float(service_facts.limit("serverless_inference.default_cold_start_cv"))
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(cold_start_ms / 1000.0) - sigma * sigma / 2
    return math.exp(mu + sigma * NormalDist().inv_cdf(q))


def serverless_p99_ms(service_s: float, cold_share: float, cold_start_ms: float) -> float:
    """p99 response time (ms) of the mixture: a share ``cold_share`` of requests adds a set-up
    time C to ``service_s``. p99 = service + q with cold_share·P(C > q) = 1 % (no cold start in
    it when cold_share ≤ 1 %)."""
    if cold_share <= 1 - P99:
        return service_s * 1000.0
    return (service_s + cold_start_quantile_s(cold_start_ms, 1 - (1 - P99) / cold_share)) * 1000.0


def _serverless_one(w: Workload) -> Estimate:
    cost = w.requests_per_month * serverless_cost_per_request(w.service_s, w.payload_mb, w.memory_mb)
    share = _cold_share(w)
    p99 = serverless_p99_ms(w.service_s, share, w.cold_start_ms)
    cv = service_facts.limit("serverless_inference.default_cold_start_cv")
    how = ("every request, intermittent traffic" if w.traffic == "intermittent" else
           f"Poisson arrivals, {service_facts.limit('serverless_inference.default_idle_timeout_s'):g} s "
           f"keep-alive")
    if share > 1 - P99:
        note = (f"cold starts {share:.1%} of requests ({how}); p99 = model time + the cold-start "
                f"quantile q with share × P(set-up > q) = 1 % (lognormal, mean "
                f"{w.cold_start_ms:,.0f} ms, cv {cv:g})")
    else:
        note = f"cold starts {share:.2%} of requests ({how}): none in the p99"
    return Estimate(cost, p99, 0, f"{w.requests_per_month:,.0f} requests/month × {w.service_s:g} s × "
                    f"{w.memory_mb / 1024:g} GB + {w.payload_mb:g} MB each; {note}")


# --------------------------------------------------------------------------- async


@dataclass(frozen=True)
class AsyncScaling:
    """The default async auto scaling of the simulator (simlab/deployments/asynchronous.py,
    ``ASYNC_AUTOSCALING_SCHEMA``), which the async estimate models. Read from the same facts keys
    and :mod:`simlab.autoscaling` constants; the start-up is the assumption
    limit ``real_time_endpoint.default_instance_startup_s`` (tests check every field against the simulator's defaults)."""

    datapoint_s: float         # one datapoint per minute
    alarm_datapoints: int      # HasBacklogWithoutCapacity minutes before the +1 step
    startup_s: float           # decision → in service (not billed)
    low_datapoints: int        # target tracking's low alarm
    low_backlog: float         # a datapoint is low below this backlog per instance
    scale_in_cooldown_s: float


def async_scaling() -> AsyncScaling:
    """The async auto-scaling defaults the simulator uses (numpy-free: no simulator import)."""
    from simlab.autoscaling import LOW_DATAPOINTS, LOW_RATIO

    lim = service_facts.limit
    return AsyncScaling(
        datapoint_s=DATAPOINT_S, alarm_datapoints=int(lim("async_inference.scale_from_zero_datapoints")),
        startup_s=float(lim("real_time_endpoint.default_instance_startup_s")), low_datapoints=LOW_DATAPOINTS,
        low_backlog=LOW_RATIO * float(lim("async_inference.default_target_backlog_per_instance")),
        scale_in_cooldown_s=float(lim("real_time_endpoint.default_scale_in_cooldown_s")))


@dataclass(frozen=True)
class _Episode:
    """One scale-from-zero episode of a one-instance async endpoint (means)."""

    wait_s: float       # first request → instance in service (the alarm + start-up)
    waiting: float      # requests that arrive to no capacity (the first + those during the wait)
    hold_s: float       # in service (billed) per episode
    cycle_s: float      # idle at zero + wait + in service

    @property
    def billed_share(self) -> float:
        return self.hold_s / self.cycle_s if math.isfinite(self.hold_s) else 1.0


def _hold_given(a: int, rate: float, service_s: float, sc: AsyncScaling, u: float) -> float:
    """In-service time before the last scale-in condition is met, for ``a`` arrivals during the
    wait ``u`` (fluid backlog: those arrive evenly, then the instance drains at 1/S − λ).

    Target tracking scales in at a boundary whose minute had no work at all (the average backlog
    rounds the desired capacity to 0) once ``low_datapoints`` datapoints in a row were low; a
    datapoint at or above ``low_backlog`` per instance restarts that count.
    """
    dt, n0 = sc.datapoint_s, 1 + a
    drain = 1.0 / service_s - rate
    busy = n0 / drain

    def work(t: float) -> float:  # ∫₀ᵗ backlog
        tw = min(max(t, 0.0), u)
        area = tw + a * tw * tw / (2 * u)
        if t > u:
            s = min(t - u, busy)
            area += n0 * s - drain * s * s / 2
        return area

    def boundary(i: int) -> float:  # datapoint i ≥ 1; the first comes on average half a minute in
        return dt / 2 + (i - 1) * dt

    def high(i: int) -> bool:  # the datapoint restarts the low streak
        b = boundary(i)
        mean = (work(b) - work(b - dt)) / dt
        fleet = min(max(b - u, 0.0), dt) / dt  # time-average instances in service in the minute
        return (mean / fleet if fleet > 0 else mean) >= sc.low_backlog

    first_after = math.ceil((u - dt / 2) / dt) + 2  # first datapoint whose minute is all in service
    last = max((i for i in range(1, first_after) if high(i)), default=None)
    lo, hi = first_after, first_after + math.ceil(busy / dt) + 1  # draining: datapoints only fall
    if high(lo):
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if high(mid) else (lo, mid - 1)
        last = lo
    idle_minute = boundary(math.ceil((u + busy + dt / 2) / dt - 1e-9) + 1)  # its minute starts idle
    streak = boundary(last) + sc.low_datapoints * dt if last is not None else -math.inf
    # the previous scale-in was at the latest one datapoint before the first request, i.e. at least
    # alarm + start-up before u: the cooldown since it binds only if longer than that
    cooldown = u - (sc.alarm_datapoints * dt + sc.startup_s) + sc.scale_in_cooldown_s
    return max(idle_minute, streak, cooldown) - u


def _async_episode(rate: float, service_s: float, sc: AsyncScaling) -> _Episode:
    """Mean episode of a one-instance async endpoint scaling from zero (λ > 0, λ·S < 1)."""
    dt = sc.datapoint_s
    wait = dt / 2 + (sc.alarm_datapoints - 1) * dt + sc.startup_s
    quiet = math.exp(-rate * (dt + service_s))  # a given minute has no work at all
    if quiet < 1e-12:
        return _Episode(wait, 1 + rate * wait, math.inf, math.inf)
    hold = sum(p * _hold_given(a, rate, service_s, sc, wait) for a, p in _poisson_pmf(rate * wait))
    hold += dt * (1 / quiet - 1)  # later minutes until one without work
    return _Episode(wait, 1 + rate * wait, hold, 1 / rate + wait + hold)


def _async_p99_ms(rate: float, service_s: float, ep: _Episode, sc: AsyncScaling) -> float:
    """p99 of the mixture: requests that found no capacity wait for the rest of the alarm and
    start-up (the first of an episode: (k − 1) minutes + start-up + up to a minute until the first
    datapoint; later ones arrive evenly during it), the others see a warm M/M/1. Queueing among
    the requests that waited is not modelled."""
    dt = sc.datapoint_s
    w0 = (sc.alarm_datapoints - 1) * dt + sc.startup_s
    per_cycle = rate * ep.cycle_s if rate > 0 else ep.waiting

    def waiting_above(y: float) -> float:  # expected requests per episode waiting longer than y
        z = w0 - y
        first = min(1.0, max(0.0, (z + dt) / dt))
        excess = z + dt / 2 if z >= 0 else ((dt + z) ** 2 / (2 * dt) if z > -dt else 0.0)
        return first + rate * excess

    def tail(x: float) -> float:  # P(response > x)
        if x < service_s:
            return 1.0
        warm = mmc_wait_tail(x - service_s, rate, 1.0 / service_s, 1) if rate > 0 else 0.0
        return (waiting_above(x - service_s) + (per_cycle - ep.waiting) * warm) / per_cycle

    lo, hi = service_s, service_s + w0 + dt
    if rate > 0:
        hi += mmc_wait_quantile(1 - (1 - P99) / 10, rate, 1.0 / service_s, 1)
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if tail(mid) <= 1 - P99 else (mid, hi)
    return hi * 1000.0


def _async_one(w: Workload) -> Estimate:
    c, warm_p99 = endpoint_size(w.rate, w.service_s, None)
    sc = async_scaling()
    month_s = hours_per_month() * 3600.0
    model = (f"simlab's default async auto scaling, 0 to {c} instance(s), start-up "
             f"{sc.startup_s:g} s not billed")
    if w.rate <= 0:
        idle = _Episode(0.0, 1.0, 0.0, math.inf)
        return Estimate(0.0, _async_p99_ms(0.0, w.service_s, idle, sc), c,
                        f"no requests, no instance in service; {model}")
    ep = _async_episode(w.rate, w.service_s, sc) if c == 1 else None
    if ep is None or not math.isfinite(ep.cycle_s):
        cost = c * w.hourly * hours_per_month()
        return Estimate(cost, warm_p99, c, f"{c} × {w.instance_type} always in service: the backlog "
                        f"never empties for a whole {sc.datapoint_s:g} s datapoint; M/M/c p99 wait; {model}")
    billed_h = ep.billed_share * month_s / 3600.0
    return Estimate(billed_h * w.hourly, _async_p99_ms(w.rate, w.service_s, ep, sc), c,
                    f"{billed_h:,.1f} instance-h/month of {w.instance_type}, billed in service only: "
                    f"{month_s / ep.cycle_s:,.0f} scale-from-zero episodes/month, each ≈ "
                    f"{ep.wait_s:,.0f} s to start ({sc.alarm_datapoints} datapoints of "
                    f"HasBacklogWithoutCapacity + start-up) then ≈ {ep.hold_s:,.0f} s in service: "
                    f"until a whole {sc.datapoint_s:g} s datapoint without work, after "
                    f"{sc.low_datapoints} low datapoints (< {sc.low_backlog:g} per instance) in a row; "
                    f"p99 mixes the start-up wait with a warm M/M/1; {model}")


def _batch_one(w: Workload) -> Estimate:
    startup = float(service_facts.limit("batch_transform.default_job_startup_s"))
    period_s = hours_per_month() * 3600.0 / w.runs_per_month
    work_s = w.records_per_run * w.service_s
    instances = max(1, math.ceil(work_s / max(period_s - startup, w.service_s)))
    duration_s = startup + work_s / instances
    cost = instances * duration_s / 3600.0 * w.hourly * w.runs_per_month
    return Estimate(cost, duration_s * 1000.0, instances,
                    f"{w.runs_per_month:,.1f} runs/month × {instances} × {w.instance_type} × "
                    f"{duration_s / 3600:,.2f} h: {_count(w.records_per_run)} records + {startup:g} s start-up")


def _count(x: float) -> str:
    """A count for a basis text: whole above 10, else two significant digits (a per-model share
    of a small volume, 0.4 records on average, is not 0)."""
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def _multi_model(w: Workload) -> Estimate:
    c, p99 = endpoint_size(w.rate, w.service_s, w.slo_ms)
    cost = c * w.hourly * hours_per_month()
    return Estimate(cost, p99, c, f"one endpoint for {w.models} model(s): {c} × {w.instance_type} "
                    f"always on; model loading not modelled")


def _serial_one(w: Workload) -> Estimate:
    est = _real_time_one(w)
    return Estimate(est.monthly_cost_usd, est.p99_latency_ms, est.instances,
                    est.basis + "; inference_seconds covers the whole container chain")


_real_time = _one_per_model(_real_time_one, "endpoints")
_serverless = _one_per_model(_serverless_one, "serverless endpoints")
_async = _one_per_model(_async_one, "async endpoints")
_batch = _one_per_model(_batch_one, "transform jobs per run")
_serial = _one_per_model(_serial_one, "pipeline endpoints")

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
