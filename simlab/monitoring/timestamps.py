"""Simulated wall-clock time: the run starts at a fixed epoch, so file paths and ISO-8601
timestamps are reproducible.

The epoch is 2026-01-01T00:00:00Z (a [simlab] choice, documented in docs/monitoring.md): a request
at simulated second 90061 has ``inferenceTime`` ``2026-01-02T01:01:01Z`` and its capture file lives
under ``2026/01/02/01/``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EPOCH", "iso", "iso_many", "partition", "partitions"]

EPOCH = np.datetime64("2026-01-01T00:00:00", "ms")


def _stamp(t: np.ndarray) -> np.ndarray:
    return EPOCH + np.floor(np.asarray(t, dtype=float) * 1000.0).astype("timedelta64[ms]")


def iso(t: float) -> str:
    """``2026-01-01T00:00:00Z`` for simulated second ``t`` (seconds resolution, as capture files)."""
    return str(np.datetime_as_string(_stamp(np.array([t]))[0], unit="s")) + "Z"


def iso_many(t: np.ndarray) -> list[str]:
    """:func:`iso` of many times at once."""
    return [s + "Z" for s in np.datetime_as_string(_stamp(t), unit="s").tolist()]


def partition(t: float) -> str:
    """The ``yyyy/mm/dd/hh`` folder of simulated second ``t``."""
    return iso(t)[:13].replace("-", "/").replace("T", "/")


def partitions(t: np.ndarray) -> np.ndarray:
    """:func:`partition` of many times (an array of strings)."""
    return np.array([s[:13].replace("-", "/").replace("T", "/") for s in iso_many(t)], dtype=object)
