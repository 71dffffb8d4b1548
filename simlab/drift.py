"""Input drift: scheduled changes to the feature rows and the labels of incoming requests.

A scenario lists drift events under ``workload.drift``. A *feature* event changes what the
upstream pipeline sends for one feature from ``at`` on (growing linearly over ``ramp``):

- ``shift_sd``: add that many training-set standard deviations;
- ``scale``: multiply the deviation from the training mean;
- ``missing_rate``: send an empty field for that share of requests;
- ``new_category``: send a string token (``{value, rate}``) instead of the number.

The row keeps its label: a feature event is an upstream pipeline change, so from the model's
point of view P(y | x as served) changes too. A *concept* event changes the labels themselves,
inputs untouched:

- ``concept: {label_flip_rate}``: after ``at`` each request's label is flipped with that
  probability (to the other class; for multiclass to a uniformly chosen other class), decided per
  request from its own random stream, so the same seed flips the same requests. Irreducible noise:
  no model can learn it;
- ``concept: {relabel: {feature, above, below, label}}``: after ``at`` every request whose row's
  true value of ``feature`` lies in the region gets ``label`` (during a ramp, a share = the
  strength, by the same per-request uniforms). A deterministic change of P(y | x) in one region of
  input space: a retrained model can learn it.

The serving container cannot score an empty field or a token: it imputes the training mean
(:meth:`Drift.features` with ``impute=True``), which is what the model sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.errors import Problem
from simlab.schema import Duration, Field, Float, Int, Nested, Schema, Str

__all__ = ["DRIFT_EVENT_SCHEMA", "Drift", "build_drift", "strength", "describe"]

NEW_CATEGORY_SCHEMA = Schema("new category", [
    Field("value", Str(), doc="the string token sent instead of the number (e.g. `unknown`)"),
    Field("rate", Float(min=0, max=1), default=1.0, doc="share of requests carrying the token at full strength"),
])

def _relabel_check(cfg: dict, path: str) -> list[Problem]:
    if cfg.get("above") is None and cfg.get("below") is None:
        return [Problem(path, "give `above`, `below` or both (the region of the feature that is relabelled)", "neither")]
    if cfg.get("above") is not None and cfg.get("below") is not None and not cfg["above"] < cfg["below"]:
        return [Problem(f"{path}.below", f"must be greater than above ({cfg['above']:g}): the region would be empty",
                        f"{cfg['below']:g}")]
    return []


RELABEL_SCHEMA = Schema("relabel", [
    Field("feature", Str(), doc="feature of the model's dataset whose value defines the region"),
    Field("above", Float(), default=None, doc="the region holds requests whose feature value is above this"),
    Field("below", Float(), default=None, doc="… and/or below this (both: an interval)"),
    Field("label", Int(), doc="the label every request in the region gets at full strength (a class of the dataset)"),
], checks=(_relabel_check,), doc="a learnable concept change: one region of input space gets one label")


def _concept_check(cfg: dict, path: str) -> list[Problem]:
    given = [k for k in ("label_flip_rate", "relabel") if cfg.get(k) is not None]
    if len(given) != 1:
        return [Problem(path, "give exactly one of `label_flip_rate` or `relabel`", ", ".join(given) or "neither")]
    return []


CONCEPT_SCHEMA = Schema("concept drift", [
    Field("label_flip_rate", Float(min=0, max=1), default=None,
          doc="probability that a request's label is flipped after `at` (at full strength; classifiers only): "
              "irreducible label noise — P(y|x) changes, the inputs do not, and no model can learn it"),
    Field("relabel", Nested(RELABEL_SCHEMA), default=None,
          doc="`{feature, above, below, label}`: after `at` every request whose (true) feature value lies in the "
              "region gets `label` (classifiers only): P(y|x) changes deterministically, so retraining can learn it"),
], checks=(_concept_check,))

_FEATURE_KEYS = ("shift_sd", "scale", "missing_rate", "new_category")


def _event_check(cfg: dict, path: str) -> list[Problem]:
    changes = [k for k in _FEATURE_KEYS if cfg.get(k) != _NEUTRAL[k]]
    if cfg.get("concept") is not None:
        if cfg.get("feature") is not None or changes:
            return [Problem(path, "a `concept` event changes labels only: give no `feature` or feature change",
                            ", ".join(["feature"] * (cfg.get("feature") is not None) + changes))]
        return []
    if cfg.get("feature") is None:
        return [Problem(f"{path}.feature", "is required unless `concept` is given (a feature name of the model's dataset)")]
    if not changes:
        return [Problem(path, f"a feature event needs at least one of {', '.join(_FEATURE_KEYS)}", "none")]
    return []


_NEUTRAL = {"shift_sd": 0.0, "scale": 1.0, "missing_rate": 0.0, "new_category": None}

DRIFT_EVENT_SCHEMA = Schema("drift event", [
    Field("at", Duration(), unit="s", doc="when the change starts (simulated time from the start of the run)"),
    Field("ramp", Duration(), default=0.0, unit="s",
          doc="the change grows linearly from nothing at `at` to full strength at `at + ramp` (0 = a step)"),
    Field("feature", Str(), default=None,
          doc="feature name of the model's dataset (see `simlab models`); required for a feature event"),
    Field("shift_sd", Float(), default=0.0, unit="training std devs",
          doc="add this many training-set standard deviations to the feature (the row keeps its label)"),
    Field("scale", Float(min=0), default=1.0, unit="×", doc="multiply the feature's deviation from the training mean"),
    Field("missing_rate", Float(min=0, max=1), default=0.0,
          doc="share of requests whose value is missing (an empty CSV field; the container imputes the training mean)"),
    Field("new_category", Nested(NEW_CATEGORY_SCHEMA), default=None,
          doc="send a string token instead of the number for a share of requests (imputed by the container)"),
    Field("concept", Nested(CONCEPT_SCHEMA), default=None,
          doc="a concept-drift event: labels change, inputs do not (`{label_flip_rate}` or `{relabel: …}`)"),
], checks=(_event_check,), doc="one scheduled change to the incoming data")


def strength(t: np.ndarray, at: float, ramp: float) -> np.ndarray:
    """How far a drift event has progressed at times ``t``: 0 before ``at``, 1 after ``at + ramp``."""
    t = np.asarray(t, dtype=float)
    if ramp <= 0:
        return (t >= at).astype(float)
    return np.clip((t - at) / ramp, 0.0, 1.0)


@dataclass(frozen=True)
class Token:
    """Cells of one feature that hold a string token instead of a number."""

    col: int
    mask: np.ndarray  # over the requested indices
    value: str


class Drift:
    """The drift events of one run, applied per request (vectorised, deterministic).

    ``uniforms`` hold one uniform per request and event (from stream ``workload.drift.<k>``), so
    whether request ``i`` is affected does not depend on which other requests are looked at.
    """

    def __init__(self, events: list[dict], *, t: np.ndarray, rows: np.ndarray, X: np.ndarray,
                 train_idx: np.ndarray, feature_names: tuple[str, ...], streams) -> None:
        self.events, self.t, self.rows, self.X = events, t, rows, X
        self.columns = {name: j for j, name in enumerate(feature_names)}
        train = X[train_idx]
        self.mean, self.sd = train.mean(axis=0), train.std(axis=0)
        self.uniforms = [streams.generator(f"workload.drift.{k}").random(t.size) for k in range(len(events))]
        self.class_uniforms = streams.generator("workload.drift.classes").random(t.size)

    def _col(self, event: dict) -> int:
        return self.columns[event["feature"]]

    def features(self, idx: np.ndarray, *, impute: bool = False) -> np.ndarray:
        """Feature rows of requests ``idx`` as sent: NaN where a value is missing or a token;
        with ``impute=True`` those cells hold the training mean (what the model sees)."""
        idx = np.asarray(idx)
        out = np.array(self.X[self.rows[idx]], dtype=float)
        t = self.t[idx]
        for k, e in enumerate(self.events):
            if e["concept"] is not None:
                continue
            j, s = self._col(e), strength(t, e["at"], e["ramp"])
            on, mu = s > 0, self.mean[j]  # untouched before the start: no rounding noise
            if e["scale"] != 1.0:
                out[on, j] = mu + (out[on, j] - mu) * (1.0 + (e["scale"] - 1.0) * s[on])
            if e["shift_sd"] != 0.0:
                out[on, j] += e["shift_sd"] * self.sd[j] * s[on]
            rate = e["missing_rate"] + (e["new_category"]["rate"] if e["new_category"] else 0.0)
            out[self.uniforms[k][idx] < rate * s, j] = np.nan
        if impute:
            bad = np.isnan(out)
            out[bad] = np.broadcast_to(self.mean, out.shape)[bad]
        return out

    def tokens(self, idx: np.ndarray) -> list[Token]:
        """Where requests ``idx`` carry a new-category token (a subset of the NaN cells of
        :meth:`features`): the first ``rate`` share of the affected uniforms are tokens, the
        rest of the event's NaN cells are missing values."""
        idx = np.asarray(idx)
        out = []
        for k, e in enumerate(self.events):
            if e["concept"] is None and e["new_category"] is not None:
                s = strength(self.t[idx], e["at"], e["ramp"])
                u = self.uniforms[k][idx]
                mask = (u >= e["missing_rate"] * s) & (u < (e["missing_rate"] + e["new_category"]["rate"]) * s)
                out.append(Token(self._col(e), mask, e["new_category"]["value"]))
        return out

    def flips(self, idx: np.ndarray) -> np.ndarray:
        """Whether each request's label is flipped by a ``label_flip_rate`` concept event."""
        idx = np.asarray(idx)
        flipped = np.zeros(idx.size, dtype=bool)
        for k, e in enumerate(self.events):
            if e["concept"] is not None and e["concept"]["label_flip_rate"] is not None:
                s = strength(self.t[idx], e["at"], e["ramp"])
                flipped ^= self.uniforms[k][idx] < e["concept"]["label_flip_rate"] * s
        return flipped

    def relabelled(self, idx: np.ndarray) -> list[tuple[np.ndarray, int]]:
        """(mask over ``idx``, label) of each ``relabel`` concept event, in event order: requests
        whose row's true feature value lies in the region (feature events do not move a request in
        or out of it), affected with probability = the event's strength (all of them once ramped)."""
        idx = np.asarray(idx)
        out = []
        for k, e in enumerate(self.events):
            r = (e["concept"] or {}).get("relabel")
            if r is None:
                continue
            x = self.X[self.rows[idx], self.columns[r["feature"]]]
            region = np.ones(idx.size, dtype=bool)
            if r["above"] is not None:
                region &= x > r["above"]
            if r["below"] is not None:
                region &= x < r["below"]
            s = strength(self.t[idx], e["at"], e["ramp"])
            out.append((region & (self.uniforms[k][idx] < s), int(r["label"])))
        return out

    def labels(self, idx: np.ndarray, y: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
        """The labels of requests ``idx`` after concept drift (``y`` = their dataset labels):
        ``relabel`` events first, in order, then label flips (noise on top of the concept). A
        flipped label becomes another class chosen uniformly (the other one, for binary)."""
        y = np.array(y, copy=True)
        if classes is None or len(classes) < 2:
            return y
        for mask, label in self.relabelled(idx):
            y[mask] = label
        flip = self.flips(idx)
        k = len(classes)
        pos = np.searchsorted(classes, y[flip])
        step = 1 + np.floor(self.class_uniforms[np.asarray(idx)[flip]] * (k - 1)).astype(int)
        y[flip] = classes[(pos + step) % k]
        return y

    def feature_events(self) -> list[tuple[int, dict]]:
        """(index, event) of every feature event."""
        return [(k, e) for k, e in enumerate(self.events) if e["concept"] is None]


def build_drift(events: list[dict] | None, *, t: np.ndarray, rows: np.ndarray, dataset: Any,
                streams) -> Drift | None:
    """The :class:`Drift` of a validated ``workload.drift`` list (None when there is none)."""
    if not events:
        return None
    return Drift(events, t=t, rows=rows, X=dataset.X, train_idx=dataset.train_idx,
                 feature_names=dataset.feature_names, streams=streams)


def describe(event: dict) -> str:
    """A short human description of one event (``mean radius shift_sd=1.5``)."""
    if event["concept"] is not None:
        r = event["concept"]["relabel"]
        if r is None:
            return f"concept label_flip_rate={event['concept']['label_flip_rate']:g}"
        region = " and ".join(f"{op} {r[k]:g}" for k, op in (("above", ">"), ("below", "<")) if r[k] is not None)
        return f"concept relabel {r['feature']} {region} -> {r['label']}"
    parts = [f"{k}={event[k]:g}" for k in ("shift_sd", "scale", "missing_rate") if event[k] != _NEUTRAL[k]]
    if event["new_category"]:
        parts.append(f"new_category={event['new_category']['value']}@{event['new_category']['rate']:g}")
    return f"{event['feature']} {' '.join(parts)}"
