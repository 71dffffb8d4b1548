"""The request stream: arrival times, feature rows and payload sizes, shared by every deployment.

All deployments of a scenario receive the identical stream (common random numbers). Besides the
arrival times, each request carries uniforms that deployments map through their own
distributions: ``u_service`` (model time) and ``u_route`` (variant, then instance choice), so
options differ only where their configuration differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simlab.distributions import Dist, DistSpec
from simlab.drift import DRIFT_EVENT_SCHEMA, build_drift
from simlab.errors import Problem
from simlab.schema import Duration, Field, Float, Int, ListOf, OneOf, Schema, Str

__all__ = ["Workload", "ARRIVAL_KINDS", "WORKLOAD_SCHEMAS", "generate_arrivals", "expected_requests"]

DAY = 86400.0
ARRIVAL_KINDS = ("poisson", "diurnal", "bursty", "schedule", "trace")

_COMMON = [
    Field("arrivals", OneOf(ARRIVAL_KINDS), doc="how requests arrive over time"),
    Field("payload_kb", DistSpec(unit="kb", scale=1024.0), default=Dist.fixed(4 * 1024.0), unit="KiB",
          doc="request payload size: a number or a distribution spec with `mean_kb` (1 KiB = 1024 bytes)"),
    Field("drift", ListOf(DRIFT_EVENT_SCHEMA), default=None,
          doc="changes to the incoming data over time (feature shifts, missing values, new categories, "
              "concept drift), simlab/drift.py"),
]


def _schema(kind: str, fields: list[Field], doc: str) -> Schema:
    return Schema(f"workload ({kind})", [*_COMMON, *fields], doc=doc)


WORKLOAD_SCHEMAS: dict[str, Schema] = {
    "poisson": _schema("poisson", [
        Field("rate_per_s", Float(min=0, min_open=True), unit="requests/s", doc="mean arrival rate λ"),
    ], "homogeneous Poisson process"),
    "diurnal": _schema("diurnal", [
        Field("trough_rate_per_s", Float(min=0), unit="requests/s", doc="lowest rate of the day"),
        Field("peak_rate_per_s", Float(min=0, min_open=True), unit="requests/s", doc="highest rate of the day"),
        Field("peak_at", Duration(max=DAY), default=14 * 3600.0, unit="time of day",
              doc="when in the day the peak occurs (e.g. `14h`)"),
    ], "non-homogeneous Poisson process with a daily sinusoid between trough and peak"),
    "bursty": _schema("bursty", [
        Field("rate_per_s", Float(min=0, min_open=True), unit="requests/s", doc="rate while a burst is on"),
        Field("off_rate_per_s", Float(min=0), default=0.0, unit="requests/s", doc="rate between bursts"),
        Field("mean_on", Duration(min_open=True), default=300.0, unit="s", doc="mean burst length (exponential)"),
        Field("mean_off", Duration(min_open=True), default=3600.0, unit="s", doc="mean gap between bursts (exponential)"),
    ], "on/off Markov-modulated Poisson process"),
    "schedule": _schema("schedule", [
        Field("times", ListOf(Duration(max=DAY)), default=None, unit="time of day",
              doc="explicit times of day at which requests arrive (e.g. `[2h, 14h30m]`)"),
        Field("per_day", Int(min=1), default=None, unit="events/day",
              doc="alternatively N events a day at evenly spaced fixed times, starting at 00:00"),
        Field("requests_per_event", Int(min=1), default=1, unit="requests", doc="requests sent at each time"),
    ], "requests at fixed times of every simulated day"),
    "trace": _schema("trace", [
        Field("file", Str(), unit="path", doc="CSV whose first column holds arrival times in seconds from "
              "the start (a header line is allowed); relative to the scenario file"),
    ], "replay of recorded arrival timestamps"),
}


def _schedule_check(cfg: dict, path: str) -> list[Problem]:
    if (cfg.get("times") is None) == (cfg.get("per_day") is None):
        return [Problem(f"{path}.times", "give exactly one of `times` or `per_day`", "both" if cfg.get("times") else "neither")]
    return []


WORKLOAD_SCHEMAS["schedule"].checks = (_schedule_check,)


def _diurnal_check(cfg: dict, path: str) -> list[Problem]:
    if cfg["trough_rate_per_s"] > cfg["peak_rate_per_s"]:
        return [Problem(f"{path}.trough_rate_per_s" if path else "trough_rate_per_s",
                        f"must be ≤ peak_rate_per_s ({cfg['peak_rate_per_s']:g})", f"{cfg['trough_rate_per_s']:g}")]
    return []


WORKLOAD_SCHEMAS["diurnal"].checks = (_diurnal_check,)


def expected_requests(cfg: dict, duration: float) -> float:
    """Requests a validated workload config will generate over ``duration`` (its mean, for the
    random kinds; 0 for a trace, which the file bounds)."""
    kind = cfg["arrivals"]
    if kind == "poisson":
        return cfg["rate_per_s"] * duration
    if kind == "diurnal":
        return max(cfg["trough_rate_per_s"], cfg["peak_rate_per_s"]) * duration
    if kind == "bursty":  # bounded by the busier state; its on/off periods count as work too
        periods = 2 * duration / (cfg["mean_on"] + cfg["mean_off"])
        return max(cfg["rate_per_s"], cfg["off_rate_per_s"]) * duration + periods
    if kind == "schedule":
        per_day = len(cfg["times"]) if cfg.get("times") is not None else cfg["per_day"]
        return per_day * cfg["requests_per_event"] * math.ceil(duration / DAY)
    return 0.0


@dataclass
class Workload:
    """Columnar request stream (one array entry per request, sorted by arrival time)."""

    t: np.ndarray  # arrival time, s
    row: np.ndarray  # index into the model dataset's X
    payload_bytes: np.ndarray
    u_service: np.ndarray  # uniforms for model-time draws (common random numbers)
    u_route: np.ndarray  # uniforms for variant/instance choice
    duration: float
    warmup: float
    # the data each request carries, after drift (simlab/drift.py)
    X: np.ndarray | None = None  # the model dataset's feature matrix; ``row`` indexes it
    drift: Any = None  # a simlab.drift.Drift when ``workload.drift`` is configured

    def features(self, idx: np.ndarray, *, impute: bool = False) -> np.ndarray:
        """Feature rows of requests ``idx`` as sent, after any drift (NaN = missing or a token);
        ``impute=True`` fills those with the training mean, as the serving container does."""
        if self.drift is None:
            return np.array(self.X[self.row[idx]], dtype=float)
        return self.drift.features(idx, impute=impute)

    @property
    def n(self) -> int:
        return int(self.t.size)

    def upto(self, t: float) -> int:
        """Index of the first request arriving at or after ``t``."""
        return int(np.searchsorted(self.t, t, side="left"))


# -- arrival processes -----------------------------------------------------------------------
def _poisson(rng: np.random.Generator, rate: float, t0: float, t1: float) -> np.ndarray:
    n = rng.poisson(rate * (t1 - t0)) if t1 > t0 else 0
    return t0 + np.sort(rng.random(n)) * (t1 - t0)


def _diurnal(rng: np.random.Generator, cfg: dict, duration: float) -> np.ndarray:
    lo, hi, peak_at = cfg["trough_rate_per_s"], cfg["peak_rate_per_s"], cfg["peak_at"]
    cand = _poisson(rng, max(lo, hi), 0.0, duration)  # thinning (Lewis & Shedler)
    rate = lo + (hi - lo) * (1 + np.cos(2 * math.pi * (cand - peak_at) / DAY)) / 2
    return cand[rng.random(cand.size) * max(lo, hi) < rate]


def _bursty(rng: np.random.Generator, cfg: dict, duration: float) -> np.ndarray:
    n_guess = int(2 * duration / (cfg["mean_on"] + cfg["mean_off"])) + 16
    parts, t, on = [], 0.0, False
    while t < duration:
        lengths = rng.exponential(1.0, n_guess)
        for x in lengths.tolist():
            length = x * (cfg["mean_on"] if on else cfg["mean_off"])
            end = min(t + length, duration)
            parts.append(_poisson(rng, cfg["rate_per_s"] if on else cfg["off_rate_per_s"], t, end))
            t, on = end, not on
            if t >= duration:
                break
    return np.concatenate(parts) if parts else np.empty(0)


def _schedule(cfg: dict, duration: float) -> np.ndarray:
    times = cfg["times"] if cfg.get("times") is not None else [i * DAY / cfg["per_day"] for i in range(cfg["per_day"])]
    days = np.arange(math.ceil(duration / DAY))
    all_t = (days[:, None] * DAY + np.sort(np.asarray(times, dtype=float))[None, :]).ravel()
    all_t = np.repeat(all_t[all_t < duration], cfg["requests_per_event"])
    return all_t


def _trace(cfg: dict, base_dir: Path, duration: float) -> np.ndarray:
    path = Path(cfg["file"])
    path = path if path.is_absolute() else base_dir / path
    data = np.loadtxt(path, delimiter=",", usecols=0, ndmin=1, skiprows=_header_lines(path))
    data = np.sort(data[(data >= 0) & (data < duration)])
    return data


def _header_lines(path: Path) -> int:
    with path.open(encoding="utf-8") as fh:
        first = fh.readline().split(",")[0].strip()
    try:
        float(first)
        return 0
    except ValueError:
        return 1


def generate_arrivals(cfg: dict, rng: np.random.Generator, duration: float, base_dir: Path) -> np.ndarray:
    """Arrival times in [0, duration) for a validated workload config.

    Raises:
        OSError / ValueError: for an unreadable trace file (the loader checks it beforehand).
    """
    kind = cfg["arrivals"]
    if kind == "poisson":
        return _poisson(rng, cfg["rate_per_s"], 0.0, duration)
    if kind == "diurnal":
        return _diurnal(rng, cfg, duration)
    if kind == "bursty":
        return _bursty(rng, cfg, duration)
    if kind == "schedule":
        return _schedule(cfg, duration)
    return _trace(cfg, base_dir, duration)


def build_workload(cfg: dict[str, Any], *, streams, duration: float, warmup: float,
                   serve_rows: np.ndarray, base_dir: Path, dataset: Any = None) -> Workload:
    """Generate the full request stream for a scenario from its own named random streams
    (``dataset``: the model's, needed for ``features`` and drift)."""
    t = generate_arrivals(cfg, streams.generator("workload.arrivals"), duration, base_dir)
    n = t.size
    rows = serve_rows[streams.generator("workload.rows").integers(0, serve_rows.size, n)]
    payload: Dist = cfg["payload_kb"]
    if payload.kind == "fixed":  # one size for all: a read-only view of one value, no memory per request
        payload_bytes = np.broadcast_to(np.float64(payload.mean), (n,))
    else:
        payload_bytes = payload.ppf(streams.generator("workload.payload").random(n))
    wl = Workload(
        t=t, row=rows.astype(np.int32), payload_bytes=payload_bytes,
        u_service=streams.generator("workload.service").random(n),
        u_route=streams.generator("workload.route").random(n),
        duration=duration, warmup=warmup,
    )
    if dataset is not None:
        wl.X = dataset.X
        wl.drift = build_drift(cfg.get("drift"), t=t, rows=wl.row, dataset=dataset, streams=streams)
    return wl
