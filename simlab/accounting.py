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
    """Busy worker-seconds in each minute [60k, 60k+60) of ``n_minutes``, without a loop per request.

    Each request adds its part in its first minute, 60 s in each minute it covers fully and its
    part in its last minute; the full minutes go through a difference array. Every term is
    computed within its own minute, so long runs keep their precision and no minute is ever
    negative (a cumulative-sum formula loses both at t ≈ 10⁶ s). Time past the last minute is cut.
    """
    ok = np.isfinite(t_start)
    s = np.asarray(t_start, dtype=float)[ok]
    e = s + np.asarray(busy_s, dtype=float)[ok]
    out = np.zeros(n_minutes)
    m_s = np.floor(s / 60.0).astype(np.int64)
    m_e = np.floor(e / 60.0).astype(np.int64)
    keep = (m_s < n_minutes) & (e > s)
    s, e, m_s, m_e = s[keep], e[keep], m_s[keep], m_e[keep]
    one = m_s == m_e  # starts and ends in the same minute
    np.add.at(out, m_s[one], e[one] - s[one])
    s, e, m_s, m_e = s[~one], e[~one], m_s[~one], m_e[~one]
    np.add.at(out, m_s, (m_s + 1) * 60.0 - s)  # the first, partial minute
    last = m_e < n_minutes
    np.add.at(out, m_e[last], e[last] - m_e[last] * 60.0)  # the last, partial minute
    full = np.zeros(n_minutes + 1)  # minutes m_s+1 … m_e−1 are covered fully
    np.add.at(full, np.minimum(m_s + 1, n_minutes), 1.0)
    np.add.at(full, np.minimum(m_e, n_minutes), -1.0)
    return out + 60.0 * np.cumsum(full)[:n_minutes]
