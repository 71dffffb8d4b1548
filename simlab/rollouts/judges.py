"""Canary judges: pure objects fed one interval of canary vs baseline data at a time.

Each judge's :meth:`observe` returns a :class:`Verdict` — a flat record with the interval's
``verdict`` (pass | fail | marginal | no_data), the ``action`` the rollout should take
(continue | rollback | pause) and a ``reason`` a learner can read. Judges keep only their own
counters; they never touch an endpoint, so the same judge runs inside the update controller, in a
notebook, or over thousands of Monte Carlo replications.

- :class:`ThresholdJudge` — Flagger / Argo Rollouts style: a bound on a canary metric per interval,
  a failure limit, and an explicit no-data policy (facts file: Flagger counts no data as a failed
  check, a known source of false rollbacks on low traffic — flagger#1035, argo-rollouts#1905).
- :class:`MannWhitneyJudge` — Kayenta's NetflixACAJudge with its MannWhitneyClassifier.
- :class:`SequentialJudge` — an mSPRT (always-valid p-value) on the canary − baseline difference.
- :class:`ZTestJudge` — one fixed-horizon one-sided two-proportion z test at its first look: the
  test the power planner (:mod:`simlab.rollouts.power`) assumes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from simlab.errors import ParameterError
from simlab.rollouts.config import METRIC_PATTERN
from simlab.rollouts.stats import hodges_lehmann, mixing_variance, msprt_lambda

__all__ = [
    "ArmSample", "Verdict", "metric_value", "ThresholdJudge", "MetricSpec", "classify_metric",
    "MannWhitneyJudge", "SequentialJudge", "ZTestJudge", "VERDICTS", "ACTIONS", "METRIC_PATTERN",
]

VERDICTS = ("pass", "fail", "marginal", "no_data")
ACTIONS = ("continue", "rollback", "pause")
NO_DATA_POLICIES = ("fail", "pause", "ignore")
#: metrics computed from an interval's requests: error_rate, success_rate, latency_mean, latency_pNN(.N)
#: (METRIC_PATTERN, owned by simlab.rollouts.config with the scenario fields)


@dataclass(frozen=True)
class ArmSample:
    """One interval of one arm: request and error counts, latencies (seconds) of the requests."""

    requests: int
    errors: int = 0
    latencies: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        if not (isinstance(self.requests, int | np.integer) and self.requests >= 0):
            raise ParameterError("requests", "ArmSample", "must be an integer ≥ 0", self.requests)
        if not (isinstance(self.errors, int | np.integer) and 0 <= self.errors <= self.requests):
            raise ParameterError("errors", "ArmSample", f"must be an integer in [0, {self.requests}]", self.errors)
        object.__setattr__(self, "latencies", np.asarray(self.latencies, dtype=float).ravel())


def metric_value(sample: ArmSample, metric: str) -> float | None:
    """The metric over one interval, or None when the interval has no data for it.

    Raises :class:`ParameterError` for a metric name outside :data:`METRIC_PATTERN`.
    """
    if not re.fullmatch(METRIC_PATTERN, metric):
        raise ParameterError("metric", "metric_value", f"must match {METRIC_PATTERN}", metric)
    if metric in ("error_rate", "success_rate"):
        if sample.requests == 0:
            return None
        rate = sample.errors / sample.requests
        return rate if metric == "error_rate" else 1.0 - rate
    if sample.latencies.size == 0:
        return None
    if metric == "latency_mean":
        return float(sample.latencies.mean())
    return float(np.percentile(sample.latencies, float(metric[len("latency_p"):])))


@dataclass(frozen=True)
class Verdict:
    """A judge's reading of one interval (flat; ``details`` holds per-metric records if any)."""

    judge: str
    interval: int
    verdict: str
    action: str
    metric: str
    value: float | None = None
    baseline: float | None = None
    score: float | None = None
    p_value: float | None = None
    failures: int = 0
    reason: str = ""
    details: tuple = ()

    def record(self) -> dict:
        """Flat dict without ``details`` (one DataFrame row)."""
        out = asdict(self)
        out.pop("details")
        return out


def _one_of(value: object, choices: Sequence, param: str, owner: str) -> None:
    if value not in choices:
        raise ParameterError(param, owner, f"must be one of {' | '.join(map(str, choices))}", value)


# -- threshold --------------------------------------------------------------------------------------
class ThresholdJudge:
    """A bound on a canary metric per interval (Flagger ``threshold`` / Argo ``failureLimit``).

    Each interval the canary's ``metric`` is checked against ``max`` (and/or ``min``); a breach is a
    failed check. The update is rolled back once failed checks exceed ``failure_limit`` (Argo's
    semantics; default 0, so the first failure rolls back, as Flagger's ``threshold: 1``).
    An interval whose canary served fewer than ``min_requests`` requests has no data and follows
    ``no_data``: ``fail`` counts it as a failed check (Flagger), ``pause`` holds the rollout (Argo's
    Inconclusive), ``ignore`` passes it over.

    Raises :class:`ParameterError` on invalid parameters.
    """

    def __init__(self, *, metric: str = "error_rate", max: float | None = None, min: float | None = None,
                 failure_limit: int = 0, no_data: Literal["fail", "pause", "ignore"] = "fail",
                 min_requests: int = 1, name: str = "threshold") -> None:
        owner = "ThresholdJudge"
        if not re.fullmatch(METRIC_PATTERN, str(metric)):
            raise ParameterError("metric", owner, f"must match {METRIC_PATTERN}", metric)
        if max is None and min is None:
            raise ParameterError("max", owner, "or min must be given", None)
        if not (isinstance(failure_limit, int) and failure_limit >= 0):
            raise ParameterError("failure_limit", owner, "must be an integer ≥ 0", failure_limit)
        _one_of(no_data, NO_DATA_POLICIES, "no_data", owner)
        if not (isinstance(min_requests, int) and min_requests >= 1):
            raise ParameterError("min_requests", owner, "must be an integer ≥ 1", min_requests)
        self.metric, self.max, self.min = metric, max, min
        self.failure_limit, self.no_data, self.min_requests, self.name = failure_limit, no_data, min_requests, name
        self.failures = 0
        self.intervals = 0
        self.rolled_back = False

    def _bound_text(self) -> str:
        parts = ([f"≤ {self.max:g}"] if self.max is not None else []) + ([f"≥ {self.min:g}"] if self.min is not None else [])
        return " and ".join(parts)

    def observe(self, canary: ArmSample, baseline: ArmSample | None = None) -> Verdict:
        """Judge one interval of the canary (the baseline is reported, never compared)."""
        i = self.intervals
        self.intervals += 1
        base = metric_value(baseline, self.metric) if baseline is not None and baseline.requests else None
        if self.rolled_back:
            return Verdict(self.name, i, "fail", "rollback", self.metric, None, base, failures=self.failures,
                           reason="already rolled back")
        if canary.requests < self.min_requests:
            why = f"no data: {canary.requests} canary requests < min_requests {self.min_requests}"
            if self.no_data == "fail":
                return self._fail(i, "no_data", None, base, why + " (policy fail: counted as a failed check)")
            action = "pause" if self.no_data == "pause" else "continue"
            return Verdict(self.name, i, "no_data", action, self.metric, None, base, failures=self.failures,
                           reason=f"{why} (policy {self.no_data})")
        value = metric_value(canary, self.metric)
        if value is None:  # latency metric with requests but no latencies recorded
            return Verdict(self.name, i, "no_data", "pause" if self.no_data == "pause" else "continue",
                           self.metric, None, base, failures=self.failures, reason="no latencies recorded")
        breach = (self.max is not None and value > self.max) or (self.min is not None and value < self.min)
        if breach:
            return self._fail(i, "fail", value, base, f"{self.metric} = {value:.6g} breaks {self._bound_text()}")
        return Verdict(self.name, i, "pass", "continue", self.metric, value, base, failures=self.failures,
                       reason=f"{self.metric} = {value:.6g} within {self._bound_text()}")

    def _fail(self, i: int, verdict: str, value: float | None, base: float | None, why: str) -> Verdict:
        self.failures += 1
        if self.failures > self.failure_limit:
            self.rolled_back = True
            action = "rollback"
            why += f"; failed checks {self.failures} > failure_limit {self.failure_limit}"
        else:
            action = "continue"
            why += f"; failed checks {self.failures} ≤ failure_limit {self.failure_limit}"
        return Verdict(self.name, i, verdict if verdict == "no_data" else "fail", action, self.metric, value, base,
                       failures=self.failures, reason=why)


# -- Kayenta Mann-Whitney ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """One metric of a Kayenta canary config.

    ``direction``: which change is a failure (increase | decrease | either). ``allowed_increase`` /
    ``allowed_decrease``: Kayenta's effect-size gates on the mean ratio canary/baseline (default 1.0:
    any significant change counts). ``critical``: a failure of this metric sets the score to 0, when
    its mean ratio also passes ``critical_increase`` / ``critical_decrease``.
    """

    name: str
    direction: Literal["increase", "decrease", "either"] = "increase"
    critical: bool = False
    allowed_increase: float = 1.0
    allowed_decrease: float = 1.0
    critical_increase: float = 1.0
    critical_decrease: float = 1.0

    def __post_init__(self) -> None:
        _one_of(self.direction, ("increase", "decrease", "either"), "direction", "MetricSpec")


def classify_metric(canary: object, baseline: object, spec: MetricSpec, *, confidence: float = 0.98,
                    tolerance: float = 0.25) -> dict:
    """Kayenta's MannWhitneyClassifier for one metric; returns a flat record.

    ``label``: Pass | High | Low | Nodata. High when the (``confidence``) Mann–Whitney interval of
    canary − baseline lies above ``tolerance·|HL|`` and the mean ratio canary/baseline ≥
    ``allowed_increase``; Low symmetrically below ``−tolerance·|HL|`` with ratio ≤
    ``allowed_decrease``. Identical samples, or samples with one distinct value overall, pass, as in
    Kayenta. (Kayenta adds tiny Gaussian noise when each arm is constant but the two differ; here the
    distribution-free interval handles that case without noise.)
    """
    c = np.asarray(canary, dtype=float).ravel()
    b = np.asarray(baseline, dtype=float).ravel()
    c, b = c[np.isfinite(c)], b[np.isfinite(b)]  # Kayenta's NaNStrategy "remove"
    rec = {"metric": spec.name, "label": "Nodata", "critical": False, "n_canary": int(c.size),
           "n_baseline": int(b.size), "hl": None, "ci_low": None, "ci_high": None, "mean_ratio": None,
           "reason": ""}
    if c.size == 0 or b.size == 0:
        rec["reason"] = f"missing data for {spec.name}"
        rec["critical"] = spec.critical
        return rec
    if np.array_equal(np.sort(c), np.sort(b)) or np.unique(np.concatenate([c, b])).size == 1:
        rec.update(label="Pass", mean_ratio=1.0, reason="canary and baseline data are identical")
        return rec
    hl, lo, hi = hodges_lehmann(b, c, confidence=confidence)
    ratio = 1.0 if b.mean() == 0 else float(c.mean() / b.mean())
    crit = tolerance * abs(hl)
    high = spec.direction in ("increase", "either") and lo > crit and ratio >= spec.allowed_increase
    low = spec.direction in ("decrease", "either") and hi < -crit and ratio <= spec.allowed_decrease
    label = "High" if high else "Low" if low else "Pass"
    critical = spec.critical and ((high and ratio >= spec.critical_increase) or (low and ratio <= spec.critical_decrease))
    rec.update(label=label, critical=bool(critical), hl=hl, ci_low=lo, ci_high=hi, mean_ratio=ratio,
               reason=(f"{spec.name}: {confidence:.0%} interval [{lo:.4g}, {hi:.4g}] vs ±{tolerance:g}·|HL| = "
                       f"±{crit:.4g}, mean ratio {ratio:.4g} → {label}"))
    return rec


class MannWhitneyJudge:
    """Kayenta's judge: classify every metric, score = 100·Pass/(Pass+High+Low), then thresholds.

    A critical metric's failure sets the score to 0. Score ≥ ``pass_threshold`` → pass (continue);
    ≥ ``marginal_threshold`` → marginal (continue, as Kayenta's marginal lets the pipeline go on);
    below → fail (rollback). All metrics without data → no_data (continue). Each observation is
    judged on its own data, as a Kayenta canary analysis interval is; nothing corrects for the
    repeated looks (facts file).
    """

    def __init__(self, *, metrics: Sequence[MetricSpec], confidence: float = 0.98, tolerance: float = 0.25,
                 pass_threshold: float = 95.0, marginal_threshold: float = 75.0, name: str = "mann_whitney") -> None:
        owner = "MannWhitneyJudge"
        if not metrics:
            raise ParameterError("metrics", owner, "must list at least one MetricSpec", metrics)
        if not 0 < confidence < 1:
            raise ParameterError("confidence", owner, "must be a number in (0, 1)", confidence)
        if not tolerance >= 0:
            raise ParameterError("tolerance", owner, "must be a number ≥ 0", tolerance)
        if not 0 <= marginal_threshold <= pass_threshold <= 100:
            raise ParameterError("marginal_threshold", owner, "must satisfy 0 ≤ marginal ≤ pass ≤ 100",
                                 (marginal_threshold, pass_threshold))
        self.metrics = list(metrics)
        self.confidence, self.tolerance = confidence, tolerance
        self.pass_threshold, self.marginal_threshold, self.name = pass_threshold, marginal_threshold, name
        self.intervals = 0

    def observe(self, canary: Mapping[str, object], baseline: Mapping[str, object]) -> Verdict:
        """Judge one interval: ``canary[metric]`` and ``baseline[metric]`` are arrays of values."""
        i = self.intervals
        self.intervals += 1
        recs = tuple(classify_metric(canary.get(m.name, ()), baseline.get(m.name, ()), m,
                                     confidence=self.confidence, tolerance=self.tolerance) for m in self.metrics)
        labels = [r["label"] for r in recs]
        judged = sum(lab != "Nodata" for lab in labels)
        names = ",".join(m.name for m in self.metrics)
        if judged == 0:
            return Verdict(self.name, i, "no_data", "continue", names, reason="no metric has data", details=recs)
        score = 100.0 * labels.count("Pass") / judged
        crit = [r["metric"] for r in recs if r["critical"] and r["label"] in ("High", "Low")]
        why = ", ".join(f"{r['metric']} {r['label']}" for r in recs)
        if crit:
            score = 0.0
            why += f"; critical metric failed: {', '.join(crit)}"
        if score >= self.pass_threshold:
            verdict, action = "pass", "continue"
        elif score >= self.marginal_threshold:
            verdict, action = "marginal", "continue"
        else:
            verdict, action = "fail", "rollback"
        return Verdict(self.name, i, verdict, action, names, score=score,
                       reason=f"score {score:.1f} (pass ≥ {self.pass_threshold:g}, marginal ≥ "
                              f"{self.marginal_threshold:g}): {why}", details=recs)


# -- sequential (mSPRT) ------------------------------------------------------------------------------
class SequentialJudge:
    """mSPRT on canary − baseline, accumulated over intervals; valid however often it looks.

    ``metric``: ``error_rate`` (counts; pooled Bernoulli variance, as the z test) or ``latency_mean``
    (per-request latencies; unpooled variance). After each interval the always-valid p-value
    ``p̃ = min(p̃_prev, 1/Λ)`` is updated (:func:`~simlab.rollouts.stats.msprt_lambda`) and reported
    as ``p_value``. The decision uses the same running minimum taken only over looks where the canary
    is worse (higher) than baseline by more than ``theta0``: it rolls back when that reaches ``alpha``.
    This stays valid (the event is a subset of the two-sided one) and old evidence that the canary
    was *better* can never roll it back later. τ² follows GrowthBook's tuning (``n_star``) with the variance seen at the first look
    with data in both arms, unless ``tau2`` is given. Intervals before both arms have data are no_data.
    """

    def __init__(self, *, metric: Literal["error_rate", "latency_mean"] = "error_rate", alpha: float = 0.05,
                 theta0: float = 0.0, tau2: float | None = None, n_star: float = 5000,
                 name: str = "sequential") -> None:
        owner = "SequentialJudge"
        _one_of(metric, ("error_rate", "latency_mean"), "metric", owner)
        if not 0 < alpha < 1:
            raise ParameterError("alpha", owner, "must be a number in (0, 1)", alpha)
        if tau2 is not None and not tau2 > 0:
            raise ParameterError("tau2", owner, "must be a number > 0", tau2)
        self.metric, self.alpha, self.theta0, self.tau2, self.n_star, self.name = metric, alpha, theta0, tau2, n_star, name
        self.n = [0, 0]  # baseline, canary
        self.s = [0.0, 0.0]
        self.s2 = [0.0, 0.0]
        self.p_value = 1.0
        self.p_worse = 1.0
        self.intervals = 0
        self.rolled_back = False

    def _add(self, arm: int, sample: ArmSample) -> None:
        if self.metric == "error_rate":
            self.n[arm] += int(sample.requests)
            self.s[arm] += sample.errors
            self.s2[arm] += sample.errors  # 0/1 values: x² = x
        else:
            self.n[arm] += sample.latencies.size
            self.s[arm] += float(sample.latencies.sum())
            self.s2[arm] += float(np.square(sample.latencies).sum())

    def _estimate(self) -> tuple[float, float, float] | None:
        (nb, nc), (sb, sc), (qb, qc) = self.n, self.s, self.s2
        if nb < 2 or nc < 2:
            return None
        mb, mc = sb / nb, sc / nc
        if self.metric == "error_rate":
            pool = (sb + sc) / (nb + nc)
            var_obs = pool * (1 - pool)
            var = var_obs * (1 / nb + 1 / nc)
        else:
            vb, vc = (qb - nb * mb * mb) / (nb - 1), (qc - nc * mc * mc) / (nc - 1)
            var_obs, var = (vb + vc) / 2, vb / nb + vc / nc
        return mc - mb, max(var, 0.0), max(var_obs, 0.0)

    def observe(self, canary: ArmSample, baseline: ArmSample) -> Verdict:
        """Fold in one interval of both arms and judge the cumulative data."""
        i = self.intervals
        self.intervals += 1
        self._add(0, baseline)
        self._add(1, canary)
        est = self._estimate()
        if self.rolled_back:
            return Verdict(self.name, i, "fail", "rollback", self.metric, p_value=self.p_value, reason="already rolled back")
        if est is None:
            return Verdict(self.name, i, "no_data", "continue", self.metric, p_value=self.p_value,
                           reason=f"too little data: baseline n={self.n[0]}, canary n={self.n[1]}")
        diff, var, var_obs = est
        if self.tau2 is None and var_obs > 0:
            self.tau2 = mixing_variance(sigma2=var_obs, alpha=self.alpha, n_star=self.n_star)
        if self.tau2 is not None:
            lam = float(msprt_lambda(diff, var, self.tau2, self.theta0))
            self.p_value = min(self.p_value, 1.0 / lam)
            if diff > self.theta0:
                self.p_worse = min(self.p_worse, 1.0 / lam)
        mb, mc = self.s[0] / self.n[0], self.s[1] / self.n[1]
        text = (f"canary {mc:.6g} vs baseline {mb:.6g} (n={self.n[1]}/{self.n[0]}), always-valid p = "
                f"{self.p_value:.4g}")
        if self.p_worse <= self.alpha:
            self.rolled_back = True
            return Verdict(self.name, i, "fail", "rollback", self.metric, mc, mb, p_value=self.p_value,
                           reason=f"{text} ≤ α {self.alpha:g}: canary worse")
        return Verdict(self.name, i, "pass", "continue", self.metric, mc, mb, p_value=self.p_value,
                       reason=f"{text}" + ("" if self.p_value > self.alpha else ": canary better"))


# -- fixed horizon (the planner's test) ---------------------------------------------------------------
class ZTestJudge:
    """One one-sided two-proportion z test (pooled variance, statsmodels ``proportions_ztest``) of
    the canary's error rate against the baseline's, on the data of its **first** look only.

    This is the fixed-horizon test :func:`simlab.rollouts.power.plan_error_rate` computes the power
    of: give it an ``interval`` equal to the bake so that its one look falls at the bake's end.
    Rollback when the canary is worse with one-sided p ≤ ``alpha``; every later look continues
    (a fixed-horizon test must not be repeated: that would be peeking). A first look where the
    pooled rate is 0 or 1 (no variance) passes.

    Raises :class:`ParameterError` on invalid parameters.
    """

    def __init__(self, *, metric: Literal["error_rate"] = "error_rate", alpha: float = 0.05,
                 name: str = "z_test") -> None:
        owner = "ZTestJudge"
        _one_of(metric, ("error_rate",), "metric", owner)
        if not 0 < alpha < 1:
            raise ParameterError("alpha", owner, "must be a number in (0, 1)", alpha)
        self.metric, self.alpha, self.name = metric, alpha, name
        self.intervals = 0
        self.rolled_back = False

    def observe(self, canary: ArmSample, baseline: ArmSample) -> Verdict:
        """Test the first interval; later intervals only repeat the decision taken."""
        i = self.intervals
        self.intervals += 1
        if self.rolled_back:
            return Verdict(self.name, i, "fail", "rollback", self.metric, reason="already rolled back")
        if i > 0:
            return Verdict(self.name, i, "pass", "continue", self.metric,
                           reason="fixed horizon: tested once at the first look")
        nc, nb = int(canary.requests), int(baseline.requests)
        if nc == 0 or nb == 0:
            return Verdict(self.name, i, "no_data", "continue", self.metric,
                           reason=f"no data at the horizon: canary n={nc}, baseline n={nb}")
        pc, pb = canary.errors / nc, baseline.errors / nb
        pooled = (canary.errors + baseline.errors) / (nc + nb)
        if pooled in (0.0, 1.0):
            p = 1.0
        else:
            from statsmodels.stats.proportion import proportions_ztest

            p = float(proportions_ztest([canary.errors, baseline.errors], [nc, nb], alternative="larger")[1])
        text = f"canary {pc:.6g} vs baseline {pb:.6g} (n={nc}/{nb}), one-sided p = {p:.4g}"
        if p <= self.alpha:
            self.rolled_back = True
            return Verdict(self.name, i, "fail", "rollback", self.metric, pc, pb, p_value=p,
                           reason=f"{text} ≤ α {self.alpha:g}: canary worse")
        return Verdict(self.name, i, "pass", "continue", self.metric, pc, pb, p_value=p, reason=text)
