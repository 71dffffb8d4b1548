"""Live CloudWatch-style metrics: 1-minute datapoints published on the clock.

One :class:`MetricStore` per run (``sim.metrics``). A publisher process closes every minute on the
SimPy clock: each deployment first takes in its arrivals (``admit_until(now)``), then publishes

* **state metrics** sampled when the minute closes (InstanceCount, InvocationsPerInstance, the async
  backlog, …: :meth:`Deployment.state_datapoints`), and
* **request metrics** (Invocations, errors, ModelLatency, OverheadLatency in µs, CPUUtilization and
  the type-specific ones) bucketed by the minute each request *arrived*, published as soon as every
  request that arrived in that minute has a known outcome (at once for real-time, serverless,
  multi-model and pipeline endpoints; for an async endpoint when the backlog has moved past them).

Then the alarms whose period closed are evaluated (:mod:`simlab.alarms`) and the listeners (auto
scaling policies) act. ``Result.metrics`` and ``metrics.csv`` are read from the same store.

Memory per minute does not grow with the requests in it: a datapoint keeps count, sum, minimum,
maximum and a log-bucket histogram (:class:`Stat`). Percentiles read from the histogram are within
a relative error of :data:`ALPHA` (1 %) of the exact nearest-rank order statistic, as CloudWatch
itself approximates percentiles; values whose magnitude is at most :data:`ZERO_BAND` count as 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

if TYPE_CHECKING:  # pragma: no cover
    from simlab.deployments.base import Deployment

__all__ = ["METRIC_PERIOD_S", "ALPHA", "ZERO_BAND", "ZERO", "Stat", "MetricStore", "STATISTICS", "parse_statistic",
           "RequestMetric", "COUNT", "SAMPLES"]

METRIC_PERIOD_S = 60.0  # CloudWatch period of SageMaker endpoint metrics, and of every scaling alarm
ALPHA = 0.01  # relative accuracy of a percentile read from a datapoint's histogram
QUIET_TICK_S = 3600.0  # how often an unwatched run takes in arrivals (memory bound, not results)
ZERO_BAND = 1e-6  # |x| at or below this falls in the zero bucket (reported as 0)
_GAMMA = (1.0 + ALPHA) / (1.0 - ALPHA)  # bucket k holds |x| in (γ^(k-1), γ^k]
_LOG_GAMMA = math.log(_GAMMA)
_OFFSET = 1 << 20  # keeps signed bucket keys away from 0 (the zero bucket)
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PCT = re.compile(r"p(\d{1,3}(\.\d+)?)")

COUNT, SAMPLES = "count", "samples"
_ONE = np.ones(1, dtype=np.int64)


def parse_statistic(text: Any) -> str | float | None:
    """A statistic name, or the percentile (0–100) of ``pNN`` / ``pNN.N``; None when invalid."""
    if not isinstance(text, str):
        return None
    if text in STATISTICS:
        return text
    m = _PCT.fullmatch(text)
    if m and 0.0 <= float(m.group(1)) <= 100.0:
        return float(m.group(1))
    return None


def _keys(x: np.ndarray) -> np.ndarray:
    """Signed log-bucket key of each value (0 for the zero band)."""
    if x.min() > ZERO_BAND:  # the common case (latencies): positive values only
        k = np.log(x)
        k /= _LOG_GAMMA
        return np.ceil(k, out=k).astype(np.int64) + _OFFSET
    a = np.abs(x)
    big = a > ZERO_BAND
    k = np.zeros(x.shape, dtype=np.int64)
    k[big] = (np.ceil(np.log(a[big]) / _LOG_GAMMA).astype(np.int64) + _OFFSET) * np.sign(x[big]).astype(np.int64)
    return k


def _representative(key: int) -> float:
    """The value reported for bucket ``key``: 2γ^k/(γ+1), relative error ≤ ALPHA for the bucket."""
    if key == 0:
        return 0.0
    k = abs(key) - _OFFSET
    return math.copysign(2.0 * _GAMMA ** k / (_GAMMA + 1.0), key)


class Stat:
    """One datapoint: SampleCount, Sum, Minimum, Maximum and a histogram (sorted keys, counts)."""

    __slots__ = ("n", "total", "lo", "hi", "keys", "counts")

    def __init__(self, n: int, total: float, lo: float, hi: float, keys: np.ndarray, counts: np.ndarray) -> None:
        self.n, self.total, self.lo, self.hi, self.keys, self.counts = n, total, lo, hi, keys, counts

    @classmethod
    def of_samples(cls, x: np.ndarray) -> Stat | None:
        """The datapoint of a sample (None when empty: no datapoint)."""
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return None
        lo, hi = float(x.min()), float(x.max())
        if lo == hi:  # one value repeated (e.g. a fixed overhead)
            return cls(int(x.size), float(x.sum()), lo, hi, _keys(x[:1]).astype(np.int32),
                       np.array([x.size], dtype=np.int64))
        k = _keys(x)
        lo_k = int(k.min())
        counts = np.bincount(k - lo_k)
        nz = np.flatnonzero(counts)
        return cls(int(x.size), float(x.sum()), lo, hi, (nz + lo_k).astype(np.int32), counts[nz].astype(np.int64))

    @classmethod
    def of_value(cls, value: float) -> Stat:
        """A datapoint holding one value (a count or a sampled state). Its bucket key is computed
        with ``math`` (a run publishes several such datapoints per deployment and minute; numpy on
        one element costs ~10 µs each); any percentile of it is the value itself."""
        value = float(value)
        a = abs(value)
        key = 0 if a <= ZERO_BAND else (math.ceil(math.log(a) / _LOG_GAMMA) + _OFFSET) * (1 if value > 0 else -1)
        return cls(1, value, value, value, np.array([key], dtype=np.int32), _ONE.copy())

    @staticmethod
    def merge(stats: Iterable[Stat]) -> Stat | None:
        """The datapoint of the union of the samples (None when there is none)."""
        stats = [s for s in stats if s is not None]
        if not stats:
            return None
        if len(stats) == 1:
            return stats[0]
        keys = np.concatenate([s.keys for s in stats])
        counts = np.concatenate([s.counts for s in stats])
        uk, inv = np.unique(keys, return_inverse=True)
        return Stat(sum(s.n for s in stats), float(sum(s.total for s in stats)), min(s.lo for s in stats),
                    max(s.hi for s in stats), uk.astype(np.int32), np.bincount(inv, weights=counts).astype(np.int64))

    def value(self, statistic: str | float) -> float:
        """The statistic (a name of :data:`STATISTICS` or a percentile 0–100)."""
        if statistic == "SampleCount":
            return float(self.n)
        if statistic == "Sum":
            return self.total
        if statistic == "Average":
            return self.total / self.n
        if statistic == "Minimum":
            return self.lo
        if statistic == "Maximum":
            return self.hi
        q = float(statistic)
        rank = max(1, math.ceil(q / 100.0 * self.n))  # nearest rank
        k = int(np.searchsorted(np.cumsum(self.counts), rank, side="left"))
        return min(self.hi, max(self.lo, _representative(int(self.keys[k]))))


#: the datapoint of a zero count (shared: a Stat is never changed after it is built)
ZERO = Stat.of_value(0.0)


class RequestMetric:
    """A request metric: per request a mask (who counts) and, for SAMPLES, a value.

    ``fn(ctx)`` receives the :class:`RequestSlice` of the arrivals being bucketed and returns
    ``(mask, values)`` for the slice (``values`` None for COUNT).
    """

    __slots__ = ("name", "kind", "fn", "per_variant")

    def __init__(self, name: str, kind: str, fn: Callable, *, per_variant: bool = True) -> None:
        self.name, self.kind, self.fn, self.per_variant = name, kind, fn, per_variant


class RequestSlice:
    """Arrays of the arrivals ``[i0, i1)`` of one deployment (the one bucketing code path)."""

    def __init__(self, d: Deployment, i0: int, i1: int) -> None:
        self.d, self.i0, self.i1 = d, i0, i1
        self.t = d.arrival_times()[i0:i1]
        log = d.log
        self.variant = log.variant[i0:i1]
        self.error = log.error[i0:i1]
        self.t_start = log.t_start[i0:i1]
        self.t_done = log.t_done[i0:i1]
        self.model_s = log.model_s[i0:i1]
        self.overhead_s = log.overhead_s[i0:i1]
        self.done = (self.t_done <= d.sim.duration) & (self.error == 0)  # Outcome.COMPLETED

    def col(self, array: np.ndarray) -> np.ndarray:
        """Any per-request array of the deployment, restricted to this slice."""
        return array[self.i0:self.i1]


SeriesKey = tuple[str | None, str | None]  # (variant, fleet)


class MetricStore:
    """All datapoints of one run: ``{(deployment, metric): {(variant, fleet): {minute: Stat}}}``."""

    def __init__(self, duration: float) -> None:
        self.duration = duration
        self.n_minutes = max(1, math.ceil(duration / METRIC_PERIOD_S))
        self._data: dict[tuple[str, str], dict[SeriesKey, dict[int, Stat]]] = {}
        self._on_close: list[Callable[[float, bool], None]] = []
        self.closed_until = 0.0  # every minute ending at or before this has closed
        self._deferred: list[Deployment] = []  # request metrics still to publish (no live listener)
        self._watched = False
        self._running: tuple[Any, list[Deployment], Any] | None = None  # (env, deployments, publisher) while the clock runs

    # -- writing -------------------------------------------------------------------------------
    def publish(self, deployment: str, metric: str, minute: int, stat: Stat | None, *,
                variant: str | None = None, fleet: str | None = None) -> None:
        """Store one datapoint (replaces an earlier one of the same series and minute)."""
        if stat is None:
            return
        self._data.setdefault((deployment, metric), {}).setdefault((variant, fleet), {})[minute] = stat

    def put(self, *, deployment: str, metric: str, t: float, value: float, variant: str | None = None,
            fleet: str | None = None) -> None:
        """Publish a value at time ``t`` (a feature's own metric, e.g. a Model Monitor statistic);
        values put in the same minute form one datapoint. Queryable at once.

        Raises:
            ValueError: for a non-finite value or a time outside the run.
        """
        if not math.isfinite(float(value)):
            raise ValueError(f"metric {metric!r}: value must be finite, got {value!r}")
        if not 0.0 <= t <= self.duration:
            raise ValueError(f"metric {metric!r}: t must lie in [0, {self.duration:g}] s, got {t!r}")
        minute = min(int(t // METRIC_PERIOD_S), self.n_minutes - 1)
        series = self._data.setdefault((deployment, metric), {}).setdefault((variant, fleet), {})
        series[minute] = Stat.merge([series.get(minute), Stat.of_value(value)])

    def on_close(self, callback: Callable[[float, bool], None]) -> None:
        """Call ``callback(t, final)`` after the datapoints of each minute ending at ``t`` are
        published (``final`` True for closes at the end of the run)."""
        self._on_close.append(callback)

    # -- reading -------------------------------------------------------------------------------
    def watch(self) -> None:
        """Publish request metrics minute by minute from now on. Called before the run (a feature
        that will read datapoints on the clock), or during it: by the first read while the clock
        runs, and by an endpoint about to add a fleet (each fleet's own series starts the minute
        after it was added, which only minute-by-minute publishing knows). During the run, the
        minutes closed so far are published first, as a live publisher would have."""
        if self._watched:
            return
        self._watched = True
        if self._running is not None:
            env, deployments, process = self._running
            t = math.floor(env.now / METRIC_PERIOD_S) * METRIC_PERIOD_S
            for d in deployments:
                d.admit_until(t)
                d.publish_minutes(self, t, final=False)
            if process is not env.active_process:
                process.interrupt()  # it may be sleeping for QUIET_TICK_S: tick every minute now

    @property
    def live(self) -> bool:
        """True when something reacts to datapoints during the run (an alarm, a scaling policy:
        an ``on_close`` listener; or a feature that called :meth:`watch`). Otherwise request
        metrics are published when first read: same datapoints, one pass instead of one per minute."""
        return self._watched or bool(self._on_close)

    def _settle(self) -> None:
        """Before any read: during the run, switch to minute-by-minute publishing (a process on
        the clock reads datapoints as soon as their minute closes); after a run nobody watched,
        publish the deferred request metrics — the same datapoints, in one pass."""
        if self._running is not None:
            if not self.live:
                self.watch()
            return
        deployments, self._deferred = self._deferred, []
        for d in deployments:
            d.publish_minutes(self, self.duration, final=True)

    def metric_names(self, deployment: str) -> list[str]:
        self._settle()
        return [m for (d, m) in self._data if d == deployment]

    def stat(self, *, deployment: str, metric: str, t0: float, t1: float, variant: str | None = None,
             fleet: str | None = None) -> Stat | None:
        """The datapoint aggregating every minute starting in ``[t0, t1)`` (None: no data).
        ``fleet`` None reads the series of all fleets together; an EndpointConfigName, that
        fleet's own series (published once an update added a fleet)."""
        self._settle()
        series = self._data.get((deployment, metric))
        if not series:
            return None
        m0 = max(0, math.ceil(t0 / METRIC_PERIOD_S))
        m1 = math.ceil(t1 / METRIC_PERIOD_S)
        picked = []
        for (v, f), minutes in series.items():
            if (variant is not None and v != variant) or f != fleet:  # fleet None: the all-fleets series
                continue
            if m1 - m0 <= len(minutes):
                picked.extend(minutes[m] for m in range(m0, m1) if m in minutes)
            else:
                picked.extend(s for m, s in minutes.items() if m0 <= m < m1)
        return Stat.merge(picked)

    def query(self, *, deployment: str, metric: str, statistic: str, t0: float, t1: float,
              variant: str | None = None, fleet: str | None = None) -> float | None:
        """The ``statistic`` of ``metric`` over the minutes starting in ``[t0, t1)``; None = no data.

        Raises:
            ValueError: for an unknown statistic.
        """
        stat_id = parse_statistic(statistic)
        if stat_id is None:
            raise ValueError(f"statistic must be one of {' | '.join(STATISTICS)} or pNN / pNN.N, got {statistic!r}")
        s = self.stat(deployment=deployment, metric=metric, t0=t0, t1=t1, variant=variant, fleet=fleet)
        return None if s is None else s.value(stat_id)

    def minute_values(self, deployment: str, metric: str, variant: str | None, statistic: str = "Average") -> np.ndarray:
        """One value per minute of the run (NaN where there is no datapoint)."""
        self._settle()
        out = np.full(self.n_minutes, np.nan)
        for (v, f), minutes in self._data.get((deployment, metric), {}).items():
            if v == variant and f is None:
                for m, s in minutes.items():
                    out[m] = s.value(statistic)
        return out

    # -- the clock -----------------------------------------------------------------------------
    def publisher(self, env, deployments: list[Deployment]):
        """SimPy process: close every minute (admit, publish, then alarms and listeners). While
        the run is not live and no deployment samples state per minute, it wakes once per
        ``QUIET_TICK_S`` only, to take in arrivals in bounded chunks."""
        self._running = (env, deployments, env.active_process)
        while True:
            minutely = self.live or any(d.samples_state for d in deployments)
            step = METRIC_PERIOD_S if minutely else QUIET_TICK_S
            try:
                yield env.timeout((math.floor(env.now / step) + 1) * step - env.now)
            except simpy.Interrupt:  # watch() during the run: from now on every minute
                continue
            self.close(env.now, deployments, final=False)

    def close(self, t: float, deployments: list[Deployment], *, final: bool) -> None:
        """Close the minute ending at ``t`` (``final``: the run's end, every record is settled)."""
        live = self.live
        for d in deployments:
            d.admit_until(t)
            d.publish_minutes(self, t, final=final, requests=live)
        if final and not live:
            self._deferred = list(deployments)
        self.closed_until = t
        for callback in self._on_close:
            callback(t, final)

    def finish(self, deployments: list[Deployment]) -> None:
        """At the end of the run: close the last (possibly partial) minute with settled records."""
        self._running = None
        self.close(self.duration, deployments, final=True)
