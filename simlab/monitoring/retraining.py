"""Retraining: refit (or partial_fit) the real model on the labels that have arrived, then switch.

At the start ``t`` of a retraining the training set is every request this deployment completed
whose label arrived by ``t`` (only those made within ``data_window`` before ``t``, when set):
features *as served* (drifted; missing values and tokens imputed with the training mean, as the
container does) and labels *as arrived* (concept drift included). ``full`` refits a fresh model
on the baseline training rows plus that set; ``incremental`` calls partial_fit of the serving model
on the requests labelled since the previous retraining. The new version is registered with
``sim.register_model`` and goes live ``training_time`` later through the endpoint's owner API:
``set_model_version`` on every live production fleet of each variant (it admits requests up to now
itself). The training job costs the
instance's hourly price × instance_count × training_time (facts instance catalog).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simlab import facts
from simlab.monitoring.table import FeatureTable
from simlab.records import Err

__all__ = ["Retrainer", "Retraining"]


@dataclass
class Retraining:
    """One training job: when it started and went live, on what, and what it cost."""

    deployment: str
    trigger: str
    t_start: float
    t_live: float
    approach: str
    rows: int
    labelled_rows: int
    versions: dict[str, tuple[int, int]]  # variant -> (old, new)
    cost_usd: float
    status: str  # Deployed | Training (the run ended first) | Skipped (no labelled data)


class Retrainer:
    """Starts retraining jobs on a schedule or on a monitor's alarm."""

    def __init__(self, ctx, cfg: dict) -> None:
        self.ctx, self.cfg, self.sim = ctx, cfg, ctx.sim
        self.jobs: list[Retraining] = []
        self.busy = False
        self.last_start = -math.inf
        self.last_labels = -math.inf  # label arrival cut-off of the previous retraining

    def start(self) -> None:
        if self.cfg["trigger"] == "schedule":
            self.sim.env.process(self._scheduled())

    def _scheduled(self):
        env, every = self.sim.env, self.cfg["every"]
        t = every
        while t < self.sim.duration:
            yield env.timeout(t - env.now)
            if not self.busy:
                yield from self._retrain("schedule")
            while t <= env.now:  # a slot that passed during a long training job is skipped
                t += every

    def notify(self, monitor: str, t: float) -> None:
        """A monitor alarmed at ``t``: retrain when this is our trigger and the cooldown passed."""
        if self.cfg["trigger"] != f"{monitor}_alarm" or self.busy or t - self.last_start < self.cfg["every"]:
            return
        self.busy = True  # claim now: another alarm at the same instant must not start a second job
        self.sim.env.process(self._retrain(self.cfg["trigger"]))

    # -- one job ---------------------------------------------------------------------------------
    def _labelled(self, t: float, since: float) -> np.ndarray:
        dep, truth = self.ctx.dep, self.ctx.truth
        dep.admit_until(t)
        wl, log = self.sim.workload, dep.log
        i0 = wl.upto(t - self.cfg["data_window"]) if self.cfg["data_window"] else 0
        idx = np.arange(i0, wl.upto(t))
        ok = (log.error[idx] == Err.NONE) & (log.t_done[idx] <= t)
        arr = truth.arrival[idx]
        return idx[ok & (arr <= t) & (arr > since)]

    def _retrain(self, trigger: str):
        env, c = self.sim.env, self.cfg
        self.busy, t = True, float(env.now)
        since = self.last_labels if c["approach"] == "incremental" else -math.inf
        idx = self._labelled(t, since)
        job = Retraining(self.ctx.name, trigger, t, math.nan, c["approach"], 0, int(idx.size), {}, 0.0, "Skipped")
        self.jobs.append(job)
        self.last_start = t  # the cooldown runs from every attempt, also one without data
        if idx.size == 0:
            self.busy = False
            return
        self.last_labels = t
        job.cost_usd = facts.instance(c["instance_type"]).price_per_hour * c["instance_count"] * c["training_time"] / 3600.0
        new_models, table, X_all = self._train(idx, job)
        job.status = "Training"
        yield env.timeout(c["training_time"])
        self._switch(new_models, job, table, X_all)
        self.busy = False

    def _train(self, idx: np.ndarray, job: Retraining):
        ds, wl = self.sim.dataset, self.sim.workload
        X_new, y_new = wl.features(idx, impute=True), self.ctx.truth.label[idx]
        if self.cfg["approach"] == "full":
            X = np.vstack([ds.X[ds.train_idx], X_new])
            y = np.concatenate([ds.y[ds.train_idx], y_new])
            table = _concat(FeatureTable(np.array(ds.X[ds.train_idx], dtype=float), ds.feature_names), self.ctx.table(idx))
        else:
            X, y = X_new, y_new
            table = _concat(self.ctx.reference.table, self.ctx.table(idx))
        models = {}
        for v, name in enumerate(self.ctx.dep.variant_names()):
            old = self.ctx.variant_version(v)
            model = self.sim.model(self.ctx.dep.model_of_variant(v), old)
            new = model.refit(X, y) if self.cfg["approach"] == "full" else model.partial_fit(X, y)
            models[v] = (name, old, self.sim.register_model(model.name, new), new)
        job.rows = int(len(y))
        X_ref = X if self.cfg["approach"] == "full" else np.vstack([self.ctx.reference.X, X_new])
        return models, table, X_ref

    def _switch(self, models: dict, job: Retraining, table: FeatureTable, X_ref: np.ndarray) -> None:
        from simlab.monitoring.reference import Reference

        now = float(self.sim.env.now)
        dep = self.ctx.dep
        for name, old, version, _ in models.values():
            for fleet in dep.fleets():
                if fleet.variant == name and not fleet.shadow and fleet.state in ("provisioning", "in_service"):
                    dep.set_model_version(fleet.id, version)
            job.versions[name] = (old, version)
        job.t_live, job.status = now, "Deployed"
        if self.cfg["update_baseline"]:
            _, _, version, model = models[0]
            self.ctx.references[-1].release(self.ctx.jobs)
            self.ctx.references.append(Reference(table, X_ref, model, version, now))

    def cost_usd(self) -> float:
        """Training cost of every job launched."""
        return float(sum(j.cost_usd for j in self.jobs))


def _concat(a: FeatureTable, b: FeatureTable) -> FeatureTable:
    tokens = {}
    for j in set(a.tokens) | set(b.tokens):
        ta = a.tokens.get(j, np.full(a.n, None, dtype=object))
        tb = b.tokens.get(j, np.full(b.n, None, dtype=object))
        tokens[j] = np.concatenate([ta, tb])
    return FeatureTable(np.vstack([a.X, b.X]), a.names, tokens)
