"""Monitoring of one deployment: its capture, model outputs, baseline, jobs and retraining.

Jobs and retraining are SimPy processes on the simulation clock. Before reading the request log a
process calls ``deployment.admit_until(env.now)``, so every request that arrived before ``now`` has
its outcome and model version; monitors never read later requests or labels that arrive later.
"""

from __future__ import annotations

import math

import numpy as np

from simlab.monitoring.attribution import Explainer
from simlab.monitoring.capture import Capture
from simlab.monitoring.cbpe import CBPE
from simlab.monitoring.execution import Execution
from simlab.monitoring.jobs import JOBS
from simlab.monitoring.reference import Reference, predicted_labels
from simlab.monitoring.scores import Scores
from simlab.monitoring.table import FeatureTable

__all__ = ["EndpointMonitoring", "Reference", "predicted_labels"]  # the latter two from simlab.monitoring.reference


class EndpointMonitoring:
    """Capture, jobs and retraining of one deployment; collects every execution."""

    def __init__(self, run, dep) -> None:
        from simlab.monitoring.retraining import Retrainer

        self.run, self.sim, self.dep, self.name = run, run.sim, dep, dep.name
        cfg = dep.config
        self.truth = run.truth
        self.task = self.sim.dataset.task
        self.capture = Capture(self.sim, dep, cfg["data_capture"]) if cfg.get("data_capture") else None
        self.scores = Scores(self.sim, dep)
        self.jobs = [JOBS[m["type"]](self, m) for m in cfg.get("monitors") or []]
        mq = next((j.cfg for j in self.jobs if j.kind == "model_quality"), None)
        self.cbpe = CBPE(self, threshold=mq["probability_threshold"], rows=mq["cbpe_calibration_rows"]) if mq else CBPE(self)
        self.retrainer = Retrainer(self, cfg["retraining"]) if cfg.get("retraining") else None
        self.executions: list[Execution] = []
        self.references = [self._initial_reference()]
        self._explainers: dict[tuple, Explainer] = {}

    def _initial_reference(self) -> Reference:
        ds = self.sim.dataset
        X = np.array(ds.X[ds.train_idx], dtype=float)
        version = self.variant_version(0)
        model = self.sim.model(self.dep.model_of_variant(0), version)
        return Reference(FeatureTable(X, ds.feature_names), X, model, version)

    def variant_version(self, v: int) -> int:
        """The model version variant ``v`` serves now (its first live production fleet's)."""
        name = self.dep.variant_names()[v]
        live = [f for f in self.dep.fleets() if f.variant == name and not f.shadow and f.state in ("provisioning", "in_service")]
        return int(live[0].model_version) if live else int(self.dep.config.get("model_version") or 0)

    @property
    def reference(self) -> Reference:
        """The baseline monitors compare against now."""
        return self.references[-1]

    @property
    def has_monitors(self) -> bool:
        return bool(self.jobs or self.retrainer)

    # -- processes ------------------------------------------------------------------------------
    def start(self) -> None:
        """Register one SimPy process per job (and the retrainer's)."""
        for job in self.jobs:
            self.sim.env.process(self._loop(job))
        if self.retrainer is not None:
            self.retrainer.start()

    def _loop(self, job):
        env = self.sim.env
        for t in job.schedule.times(self.sim.duration):
            yield env.timeout(t - env.now)
            self.dep.admit_until(env.now)
            self.record(job.run(env.now))

    def record(self, ex: Execution) -> None:
        """Keep an execution, publish its metrics to the run's metric store (datapoints at the
        execution time, as Model Monitor publishes to CloudWatch) and pass its alarms to the retrainer."""
        self.executions.append(ex)
        for metric, value in ex.metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                self.sim.metrics.put(deployment=self.name, metric=metric, t=ex.t, value=float(value))
        if self.retrainer is not None:
            for a in ex.alarms:
                self.retrainer.notify(a.monitor, a.t)

    # -- data -----------------------------------------------------------------------------------
    def execution(self, kind: str, start: float, end: float) -> Execution:
        """A new execution of ``kind`` at the current time over [start, end)."""
        return Execution(self.name, kind, float(self.sim.env.now), float(start), float(end))

    def table(self, idx: np.ndarray) -> FeatureTable:
        """The captured inputs of requests ``idx`` as Model Monitor parses them."""
        wl = self.sim.workload
        X = wl.features(idx)
        tokens = wl.drift.tokens(idx) if wl.drift is not None else []
        return FeatureTable.from_drift(X, self.sim.dataset.feature_names, tokens)

    def column(self, feature: str) -> int:
        """Column index of a feature name."""
        return self.sim.dataset.feature_names.index(feature)

    def attributions(self, idx: np.ndarray) -> np.ndarray:
        """Attributions of requests ``idx`` by the model version that served each one."""
        X = self.sim.workload.features(idx, impute=True)
        log, ref = self.dep.log, self.reference
        out = np.zeros_like(X)
        keys = np.stack([log.variant[idx].astype(np.int64), log.model_version[idx].astype(np.int64)], axis=1)
        for v, version in np.unique(keys, axis=0):
            sel = (keys[:, 0] == v) & (keys[:, 1] == version)
            key = (int(v), int(version), id(ref))
            if key not in self._explainers:
                model = self.sim.model(self.dep.model_of_variant(int(v)), int(version))
                self._explainers[key] = Explainer(model, ref.X)
            out[sel] = self._explainers[key](X[sel])
        return out
