"""Parsing of durations and sizes given as numbers or strings with units."""

from __future__ import annotations

import re

__all__ = ["parse_duration", "DURATION_UNITS", "KIB", "MIB"]

DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
KIB = 1024
MIB = 1024 * 1024
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h|d)?\s*$")
_PART = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(ms|s|m|h|d)")
_COMPOUND = re.compile(r"^(?:\s*[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?\s*(?:ms|s|m|h|d))+\s*$")
_ISO = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"10m"``, ``"2h"``, ``"3d"``, ``"1h30m"`` or ISO-8601 ``"-P8D"``.

    Raises:
        ValueError: when the value is not a duration (message says what is allowed).
    """
    if isinstance(value, bool):
        raise ValueError("a duration")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * DURATION_UNITS[m.group(2) or "s"]
        if _COMPOUND.match(value):
            return sum(float(n) * DURATION_UNITS[u] for n, u in _PART.findall(value))
        iso = _ISO.match(value.strip())
        if iso and any(iso.group(i) for i in range(2, 6)):
            d, h, mi, s = (int(iso.group(i) or 0) for i in range(2, 6))
            total = d * 86400.0 + h * 3600.0 + mi * 60.0 + s
            return -total if iso.group(1) else total
    raise ValueError("a duration")
