"""The A/B test of a run (``ab_test:``): the request frame, the analysis for the summary, promotion.

The analysis reads the request log of one real-time endpoint: the requests that arrived in
``[start, end)`` and were routed to the control or the treatment variant. What the analyst
knows at a time ``now``:

- a request's error flag and latency once its response left (``t_done ≤ now``);
- whether its prediction was right once its response left **and** its true label arrived: with a
  scenario ``ground_truth:`` the label arrives at request time + the configured delay for the
  requests its ``coverage`` picks (the same draws as the monitoring feature, stream
  ``ground_truth.*``); without one, simlab uses the true label at response time and says so in
  the summary (``labels``).

:func:`analyse` gives the summary entry: per-variant figures (:func:`ab.variant_summary`), the
fixed-horizon tests with intervals (:func:`ab.compare_variants`), the sample size per arm for each
minimum detectable effect (:func:`stats.sample_size_per_arm`), and when each method — peeking z,
one z at the planned sample size, the always-valid mSPRT — declares a winner
(:func:`ab.winner_times`). :class:`AutoPromote` is the SimPy process that, at each look, runs the
primary metric's mSPRT on what is known then and, when it declares a winner, sets the weights
through the owner API (``set_variant_weights``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simlab.records import Err
from simlab.rollouts import ab, stats
from simlab.rollouts.config import AB_METRICS

__all__ = ["Labels", "request_frame", "looks", "analyse", "winner_of", "AutoPromote"]

#: (value column, time column, kind of decision_times) of each metric
_METRIC_COLUMNS = {"error_rate": ("error", "t_done", "rate"), "accuracy": ("correct", "t_known", "rate"),
                   "latency_mean": ("latency_ms", "t_done", "mean")}


@dataclass(frozen=True)
class Labels:
    """Per request: the true label (None: regression, no accuracy) and when it is known (s; inf: never).

    ``delayed`` says whether the arrival comes from a ground-truth delay (else: at response time)."""

    label: np.ndarray | None
    arrival: np.ndarray | None
    delayed: bool
    task: str

    @property
    def note(self) -> str:
        if self.label is None:
            return "regression model: no accuracy"
        if self.delayed:
            return "ground_truth: only labels arrived by each look (and by the end of the run) count"
        return "no ground_truth configured: true labels taken as known at response time"


def request_frame(*, t: np.ndarray, t_done: np.ndarray, error: np.ndarray, variant: np.ndarray,
                  variant_names: list[str], prediction: np.ndarray | None, labels: Labels,
                  arms: tuple[str, str], start: float, end: float, now: float) -> pd.DataFrame:
    """One row per request of the two ``arms`` that arrived in ``[start, end)`` and was answered by
    ``now``: ``variant, t, t_done, error (0/1), latency_ms`` (NaN for errors), ``correct`` (0/1,
    NaN until the label is known or for errors) and ``t_known`` (when ``correct`` is known)."""
    codes = [variant_names.index(a) for a in arms]
    sel = (t >= start) & (t < end) & np.isin(variant, codes) & (t_done <= now)  # NaN t_done: never answered
    idx = np.flatnonzero(sel)
    err = error[idx] != Err.NONE
    done = t_done[idx]
    frame = pd.DataFrame({"variant": np.asarray(variant_names, dtype=object)[variant[idx]], "t": t[idx],
                          "t_done": done, "error": err.astype(float),
                          "latency_ms": np.where(err, np.nan, (done - t[idx]) * 1000.0)})
    if labels.label is not None and prediction is not None:
        p, y = prediction[idx], labels.label[idx]
        guess = (p >= 0.5).astype(float) if labels.task == "binary" else p
        known = np.maximum(done, labels.arrival[idx] if labels.delayed else done)
        ok = ~err & np.isfinite(p) & (known <= now)
        frame["correct"] = np.where(ok, (guess == y).astype(float), np.nan)
        frame["t_known"] = np.where(ok, known, np.inf)
    return frame


def looks(*, start: float, end: float, every: float) -> np.ndarray:
    """Look times ``start + k·every`` (k ≥ 1) up to ``end``, and ``end`` itself."""
    k = np.arange(1, math.floor((end - start) / every + 1e-9) + 1)
    out = start + every * k
    return out if out.size and out[-1] >= end - 1e-9 else np.append(out, end)


def _round(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(x) else round(float(x), 6)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _records(rows: list[dict]) -> list[dict]:
    return [{k: _round(v) for k, v in r.items()} for r in rows]


def _sample_sizes(frame: pd.DataFrame, cfg: Mapping, control: str) -> dict[str, dict]:
    """Per metric with a minimum detectable effect: n per arm for a two-sided test at α with the
    configured power, the control's figures over the window as the base."""
    mde = cfg.get("minimum_detectable_effect") or {}
    a = frame[frame["variant"] == control]
    alpha, power = cfg["alpha"], cfg["power"]
    out: dict[str, dict] = {}

    def rate(metric: str, p0: float, p1: float, effect: float) -> None:
        if not (0 <= p0 <= 1 and 0 < p1 < 1):
            out[metric] = {"metric": metric, "effect": effect, "base": p0, "n_per_arm": None,
                           "note": "base ± effect leaves (0, 1)"}
            return
        sigma2 = (p0 * (1 - p0) + p1 * (1 - p1)) / 2  # the two arms' mean p(1−p), as stats.sample_size_rates
        out[metric] = {"metric": metric, "effect": effect, "base": p0,
                       "n_per_arm": stats.sample_size_per_arm(delta=p1 - p0, sigma2=sigma2, alpha=alpha, power=power)}

    if mde.get("error_rate_pp") is not None and len(a):
        p0 = float(a["error"].mean())
        rate("error_rate", p0, p0 + mde["error_rate_pp"] / 100, mde["error_rate_pp"] / 100)
    if mde.get("accuracy_pp") is not None and "correct" in a and a["correct"].notna().any():
        p0 = float(a["correct"].mean())
        rate("accuracy", p0, p0 - mde["accuracy_pp"] / 100, -mde["accuracy_pp"] / 100)
    lat = a["latency_ms"].dropna()
    if mde.get("latency_mean_percent") is not None and lat.size >= 2:
        delta, var = float(lat.mean()) * mde["latency_mean_percent"] / 100, float(lat.var(ddof=1))
        out["latency_mean"] = {"metric": "latency_mean", "effect": delta, "base": float(lat.mean()),
                               "n_per_arm": stats.sample_size_per_arm(delta=delta, sigma2=var, alpha=alpha, power=power)
                               if var > 0 else None}
    return out


def _decisions(frame: pd.DataFrame, cfg: Mapping, metric: str, look_times: np.ndarray,
               planned: int | None) -> list[dict]:
    value, time, kind = _METRIC_COLUMNS[metric]
    if value not in frame:
        return []
    d = frame[np.isfinite(frame[time].to_numpy(dtype=float))]
    return ab.winner_times(d, control=cfg["control"], treatment=cfg["treatment"], value=value, looks=look_times,
                           kind=kind, time=time, alpha=cfg["alpha"], planned_n_per_arm=planned, n_star=cfg["n_star"])


def winner_of(metric: str, decision: Mapping, *, control: str, treatment: str) -> str | None:
    """The variant a decision (one record of :func:`ab.winner_times`) favours: the treatment when
    its estimate (treatment − control) goes the metric's better way, else the control; None when
    the method declared nothing."""
    if decision.get("t_s") is None or decision.get("estimate") is None:
        return None
    better_lower = AB_METRICS[metric] == "lower"
    return treatment if (decision["estimate"] < 0) == better_lower else control


def analyse(frame: pd.DataFrame, cfg: Mapping, *, look_times: np.ndarray, labels: Labels) -> dict:
    """The ``"ab"`` entry of a deployment's rollouts summary (see the module docstring).

    ``cfg`` is the validated ``ab_test`` mapping; ``frame`` from :func:`request_frame` at the end
    of the run. Raises nothing on empty arms: the entry then says which arm had no requests."""
    control, treatment = cfg["control"], cfg["treatment"]
    correct = "correct" if "correct" in frame else None
    out: dict[str, Any] = {"control": control, "treatment": treatment, "metric": cfg["metric"],
                           "alpha": cfg["alpha"], "power": cfg["power"],
                           "window_s": [float(cfg["start"]), float(look_times[-1])],
                           "looks": len(look_times), "labels": labels.note}
    summ = ab.variant_summary(frame, latency="latency_ms", error="error", correct=correct)
    summ = summ.rename(columns={"latency_mean_s": "latency_mean_ms", "latency_p99_s": "latency_p99_ms"})
    out["variants"] = _records(summ.to_dict("records"))
    counts = frame["variant"].value_counts()
    if counts.get(control, 0) == 0 or counts.get(treatment, 0) == 0:
        out["note"] = f"no requests answered for {control if counts.get(control, 0) == 0 else treatment} in the window"
        return out
    tests = ab.compare_variants(frame, control=control, treatment=treatment, latency="latency_ms", error="error",
                                correct=correct, alpha=cfg["alpha"])
    out["tests"] = _records([{**r, "metric": "latency_ms" if r["metric"] == "latency_s" else r["metric"]}
                             for r in tests])
    sizes = _sample_sizes(frame, cfg, control)
    out["sample_size"] = _records(list(sizes.values()))
    decisions = []
    for metric in AB_METRICS:
        planned = (sizes.get(metric) or {}).get("n_per_arm")
        decisions += [{"metric": metric, **r} for r in _decisions(frame, cfg, metric, look_times, planned)]
    out["winner_times"] = _records(decisions)
    primary = next((r for r in decisions if r["metric"] == cfg["metric"] and r["method"] == "msprt"), None)
    win = winner_of(cfg["metric"], primary, control=control, treatment=treatment) if primary else None
    out["winner"] = None if win is None else {"variant": win, "t_s": primary["t_s"], "metric": cfg["metric"],
                                              "method": "msprt"}
    return out


class AutoPromote:
    """SimPy process: at each look, the primary metric's mSPRT on what is known then; at the first
    look that declares a winner, ``set_variant_weights({winner: 1, loser: 0})`` (other variants keep
    their weights) and stop. ``frame_at(now)`` builds the request frame as known at ``now``."""

    def __init__(self, env: Any, dep: Any, cfg: Mapping, *, look_times: np.ndarray, frame_at: Any) -> None:
        self.env, self.dep, self.cfg, self.look_times, self.frame_at = env, dep, cfg, look_times, frame_at
        self.promoted: dict | None = None

    def start(self) -> Any:
        return self.env.process(self._run())

    def _run(self):
        cfg = self.cfg
        for i, at in enumerate(self.look_times):
            yield self.env.timeout(max(0.0, float(at) - self.env.now))
            frame = self.frame_at(float(self.env.now))
            counts = frame["variant"].value_counts()
            if counts.get(cfg["control"], 0) == 0 or counts.get(cfg["treatment"], 0) == 0:
                continue
            rec = next((r for r in _decisions(frame, cfg, cfg["metric"], self.look_times[: i + 1], None)
                        if r["method"] == "msprt"), None)
            win = winner_of(cfg["metric"], rec, control=cfg["control"], treatment=cfg["treatment"]) if rec else None
            if win is None:
                continue
            loser = cfg["treatment"] if win == cfg["control"] else cfg["control"]
            self.dep.set_variant_weights({win: 1.0, loser: 0.0})
            self.promoted = {"t_s": float(self.env.now), "variant": win, "p_value": _round(rec["p_value"])}
            return
