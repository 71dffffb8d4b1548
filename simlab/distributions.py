"""Distribution specs for service times, payload sizes, start-up and set-up times.

One parser serves every field that takes a distribution. A spec is a number (a fixed value) or a
mapping ``{dist: KIND, mean_<u>: …, <shape>}`` where ``<u>`` is the field's unit suffix
(``ms`` for times, ``kb`` for payloads, empty for durations such as ``mean: 3d``):

==========  ==========================================================
fixed       ``mean_<u>`` is the value
exponential ``mean_<u>``
lognormal   ``mean_<u>`` and one of ``p99_<u>`` or ``cv``
gamma       ``mean_<u>`` and one of ``p99_<u>`` or ``cv``
uniform     ``min_<u>`` and ``max_<u>`` (``mean_<u>``, if given, must be their midpoint)
==========  ==========================================================

Samples are drawn by inverse transform from uniforms (:meth:`Dist.ppf`), so two deployments fed
the same uniforms get perfectly correlated draws (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.errors import Problem, fmt_value
from simlab.schema import Invalid, Kind
from simlab.units import parse_duration

__all__ = ["Dist", "DistSpec", "KINDS", "Z99"]

KINDS = ("fixed", "exponential", "lognormal", "gamma", "uniform")
Z99 = 2.3263478740408408  # standard normal 99th percentile


@dataclass(frozen=True)
class Dist:
    """A positive distribution in SI units (seconds or bytes)."""

    kind: str
    mean: float
    cv: float = 0.0
    low: float = 0.0
    high: float = 0.0
    samples: tuple | None = None  # for kind "empirical"

    # -- moments ---------------------------------------------------------------------------
    @property
    def second_moment(self) -> float:
        """E[X²], as used by the Pollaczek–Khinchine formula."""
        if self.kind == "uniform":
            return (self.high**3 - self.low**3) / (3 * (self.high - self.low)) if self.high > self.low else self.low**2
        if self.kind == "empirical":
            return float(np.mean(np.square(self.samples)))
        return self.mean**2 * (1 + self.cv**2)

    # -- sampling ----------------------------------------------------------------------------
    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF applied to uniforms in (0, 1)."""
        u = np.asarray(u, dtype=np.float64)
        if self.kind == "fixed":
            return np.full(u.shape, self.mean)
        if self.kind == "exponential":
            return -self.mean * np.log1p(-u)
        if self.kind == "uniform":
            return self.low + (self.high - self.low) * u
        if self.kind == "lognormal":
            from scipy.special import ndtri

            s = math.sqrt(math.log1p(self.cv**2))
            mu = math.log(self.mean) - s * s / 2
            return np.exp(mu + s * ndtri(u))
        if self.kind == "gamma":
            from scipy.special import gammaincinv

            k = 1.0 / self.cv**2
            return gammaincinv(k, u) * (self.mean / k)
        if self.kind == "empirical":
            data = np.asarray(self.samples)
            return np.quantile(data, u, method="inverted_cdf")
        raise ValueError(f"unknown distribution kind {self.kind!r}")  # pragma: no cover

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws using ``rng``."""
        return self.ppf(rng.random(n))

    def scaled(self, factor: float) -> Dist:
        """The same shape with every value multiplied by ``factor``."""
        samples = tuple(np.asarray(self.samples) * factor) if self.samples is not None else None
        return Dist(self.kind, self.mean * factor, self.cv, self.low * factor, self.high * factor, samples)

    @staticmethod
    def fixed(value: float) -> Dist:
        return Dist("fixed", float(value))

    @staticmethod
    def exponential(mean: float) -> Dist:
        return Dist("exponential", float(mean), cv=1.0)

    @staticmethod
    def empirical(samples: np.ndarray) -> Dist:
        data = np.asarray(samples, dtype=np.float64)
        mean = float(data.mean())
        cv = float(data.std() / mean) if mean > 0 else 0.0
        return Dist("empirical", mean, cv=cv, samples=tuple(data.tolist()))


def _lognormal_cv_from_p99(mean: float, p99: float) -> float:
    d = math.log(p99 / mean)
    disc = Z99 * Z99 - 2 * d
    if p99 <= mean or disc < 0:
        raise ValueError
    s = Z99 - math.sqrt(disc)
    return math.sqrt(math.expm1(s * s))


def _gamma_cv_from_p99(mean: float, p99: float) -> float:
    from scipy.optimize import brentq
    from scipy.special import gammaincinv

    if p99 <= mean:
        raise ValueError

    def excess(log_k: float) -> float:
        k = math.exp(log_k)
        return gammaincinv(k, 0.99) / k * mean - p99

    lo, hi = math.log(0.3), math.log(1e6)  # ratio p99/mean is monotone here (≈8.6 … 1)
    if excess(lo) * excess(hi) > 0:
        raise ValueError
    k = math.exp(brentq(excess, lo, hi))
    return 1 / math.sqrt(k)


@dataclass(frozen=True)
class DistSpec(Kind):
    """Schema kind for a distribution spec; converts to :class:`Dist` in SI units.

    ``unit`` is the key suffix (``"ms"``, ``"kb"``, or ``""`` for durations like ``3d``) and
    ``scale`` converts the user's unit to SI (0.001 for ms, 1024 for kb). ``allow_profile``
    accepts the string ``profile`` (measured model latency), returned as-is.
    """

    unit: str = "ms"
    scale: float = 0.001
    allow_zero: bool = False
    allow_profile: bool = False

    @property
    def describe(self) -> str:  # type: ignore[override]
        u = f"_{self.unit}" if self.unit else ""
        extra = ' or "profile"' if self.allow_profile else ""
        return (f"a number, or {{dist: {'|'.join(KINDS)}, mean{u}: …}} "
                f"(lognormal/gamma also p99{u} or cv; uniform min{u}/max{u}){extra}")

    def _num(self, raw: Any) -> float:
        if self.unit == "":
            return parse_duration(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise ValueError
        return float(raw)

    def convert(self, raw: Any, path: str) -> Dist | str:
        if self.allow_profile and raw == "profile":
            return "profile"
        if not isinstance(raw, dict):
            try:
                value = self._num(raw)
            except ValueError:
                raise Invalid(f"must be {self.describe}", raw) from None
            return self._positive(Dist.fixed(value * self.scale), path, raw)
        problems = []
        u = f"_{self.unit}" if self.unit else ""
        kind = raw.get("dist")
        allowed = {"dist", f"mean{u}", f"p99{u}", "cv", f"min{u}", f"max{u}"}
        for key in raw:
            if key not in allowed:
                from simlab.schema import suggest

                problems.append(Problem(f"{path}.{key}", f"unknown field{suggest(str(key), allowed)}"
                                        f" (allowed: {', '.join(sorted(allowed))})"))
        if kind not in KINDS:
            problems.append(Problem(f"{path}.dist", f"must be one of {' | '.join(KINDS)}", fmt_value(kind)))
        if problems:
            raise Invalid("", problems=problems)
        try:
            values = {k: self._num(v) * (self.scale if k != "cv" else 1.0)
                      for k, v in raw.items() if k != "dist"}
        except ValueError:
            raise Invalid(f"must be {self.describe}", raw) from None
        return self._build(kind, values, u, path, raw)

    def _build(self, kind: str, v: dict, u: str, path: str, raw: dict) -> Dist:
        takes = {"fixed": {f"mean{u}"}, "exponential": {f"mean{u}"}, "uniform": {f"mean{u}", f"min{u}", f"max{u}"},
                 "lognormal": {f"mean{u}", f"p99{u}", "cv"}, "gamma": {f"mean{u}", f"p99{u}", "cv"}}[kind]
        if set(v) - takes:
            raise Invalid(f"{kind} takes only {', '.join(sorted(takes))} (not {', '.join(sorted(set(v) - takes))})", raw)
        mean = v.get(f"mean{u}")
        if kind == "uniform":
            lo, hi = v.get(f"min{u}"), v.get(f"max{u}")
            if lo is None or hi is None or lo < 0 or hi < lo:
                raise Invalid(f"uniform needs min{u} ≤ max{u}, both ≥ 0", raw)
            if mean is not None and not math.isclose(mean, (lo + hi) / 2, rel_tol=1e-9):
                raise Invalid(f"uniform mean{u} must be the midpoint of min{u} and max{u}", raw)
            return self._positive(Dist("uniform", (lo + hi) / 2, cv=(hi - lo) / math.sqrt(12) / ((lo + hi) / 2 or 1), low=lo, high=hi), path, raw)
        if mean is None:
            raise Invalid(f"{kind} needs mean{u}", raw)
        if kind in ("fixed", "exponential"):
            return self._positive(Dist(kind, mean, cv=1.0 if kind == "exponential" else 0.0), path, raw)
        cv, p99 = v.get("cv"), v.get(f"p99{u}")
        if (cv is None) == (p99 is None):
            raise Invalid(f"{kind} needs exactly one of p99{u} or cv", raw)
        if mean <= 0:
            raise Invalid(f"{kind} needs mean{u} > 0", raw)
        if cv is None:
            try:
                cv = (_lognormal_cv_from_p99 if kind == "lognormal" else _gamma_cv_from_p99)(mean, p99)
            except ValueError:
                raise Invalid(f"{kind} p99{u} must be above mean{u} and reachable by a {kind}", raw) from None
        if cv <= 0:
            raise Invalid("cv must be > 0", raw)
        return Dist(kind, mean, cv=cv)

    def _positive(self, d: Dist, path: str, raw: Any) -> Dist:
        if d.mean < 0 or (d.mean == 0 and not self.allow_zero):
            bound = "≥ 0" if self.allow_zero else "> 0"
            raise Invalid(f"must have a mean {bound}", raw)
        return d
