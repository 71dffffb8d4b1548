"""Shared arithmetic for results: latency statistics, time-window overlaps, busy time."""

from __future__ import annotations

import numpy as np

__all__ = ["latency_stats", "overlap", "busy_seconds", "rnd", "PERCENTILES"]

PERCENTILES = {"p50": 50, "p90": 90, "p95": 95, "p99": 99}


def rnd(x: float | None, digits: int = 6) -> float | None:
    """Round for reporting (None stays None: a statistic over no requests is undefined)."""
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def latency_stats(ms: np.ndarray, *, overwrite: bool = False) -> dict[str, float | None]:
    """mean, p50, p90, p95, p99, max of a sample in milliseconds (None when empty);
    ``overwrite=True`` lets the percentiles reorder ``ms`` in place instead of copying it."""
    if ms.size == 0:
        return {"mean": None, **{k: None for k in PERCENTILES}, "max": None}
    mean, top = ms.mean(), ms.max()  # before any reordering: the same summation order
    qs = np.percentile(ms, list(PERCENTILES.values()), overwrite_input=overwrite)
    out = {"mean": rnd(mean, 3)}
    out.update({k: rnd(q, 3) for k, q in zip(PERCENTILES, qs, strict=True)})
    out["max"] = rnd(top, 3)
    return out


def overlap(t0: np.ndarray | float, t1: np.ndarray | float, w0: float, w1: float) -> np.ndarray:
    """Length of [t0, t1] ∩ [w0, w1] (elementwise, ≥ 0)."""
    return np.clip(np.minimum(t1, w1) - np.maximum(t0, w0), 0.0, None)


def busy_seconds(t_start: np.ndarray, busy_s: np.ndarray, w0: float, w1: float) -> float:
    """Worker-seconds spent on requests inside the window [w0, w1] (NaN starts ignored)."""
    ok = np.isfinite(t_start)
    # overlap(s, s + d, w0, w1) computed in place: two temporaries instead of six
    s = t_start[ok]
    e = busy_s[ok]
    e += s
    np.minimum(e, w1, out=e)
    np.maximum(s, w0, out=s)
    e -= s
    np.clip(e, 0.0, None, out=e)
    return float(e.sum())


def per_minute_busy(t_start: np.ndarray, busy_s: np.ndarray, n_minutes: int) -> np.ndarray:
    """Busy worker-seconds in each minute [60k, 60k+60), exactly, without a loop per request.

    Uses F(T) = Σ clip(T − s, 0, d) = Σ_{s<T}(T − s) − Σ_{e<T}(T − e) with sorted starts/ends.
    """
    ok = np.isfinite(t_start)
    s = np.sort(t_start[ok])
    e = np.sort(t_start[ok] + busy_s[ok])
    edges = np.arange(n_minutes + 1) * 60.0

    def f(points: np.ndarray) -> np.ndarray:
        k = np.searchsorted(points, edges, side="left")
        csum = np.concatenate([[0.0], np.cumsum(points)])
        return k * edges - csum[k]

    return np.diff(f(s) - f(e))
