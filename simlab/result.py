"""Results of a run: the JSON summary, per-request records and per-minute metrics as DataFrames."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from simlab.records import ERROR_NAMES, Err, Outcome
from simlab.simulation import Simulation

__all__ = ["Result", "OUTCOME_NAMES"]

CATEGORICAL = ("deployment", "variant", "error")  # few distinct strings: stored once, as codes
OUTCOME_NAMES = {Outcome.COMPLETED: "completed", Outcome.FAILED: "failed",
                 Outcome.THROTTLED: "throttled", Outcome.IN_FLIGHT: "in_flight"}


class Result:
    """What ``simlab.run`` returns. DataFrames are built on first access."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.scenario = sim.scenario
        self.seed = sim.seed
        self.deployments = {d.name: d for d in sim.deployments}

    @cached_property
    def predictions(self) -> dict:
        """The real model output per deployment and request (NaN where not served), computed
        on first access: the JSON summary does not need them."""
        return {d.name: d.predictions() for d in self.sim.deployments}

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object (statistics after warm-up)."""
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "duration_s": float(self.sim.duration),
            "warmup_s": float(self.sim.warmup),
            "deployments": {name: self._summary_of(d) for name, d in self.deployments.items()},
            **({"alarms": self.sim.alarms_run.top_summary()} if self.sim.alarms_run is not None else {}),
        }

    def _summary_of(self, d) -> dict[str, Any]:
        out = d.summary()
        run = getattr(self.sim, "monitoring", None)
        mon = run.summary(d.name) if run is not None else None
        if mon is not None:  # -- monitoring: executions, alarms, retraining (simlab/monitoring) --
            out["monitoring"] = mon
        return out

    @property
    def monitoring(self):
        """Monitoring DataFrames (executions, violations, alarms, metrics, detections,
        retrainings), or None when the scenario monitors nothing (simlab.monitoring.results)."""
        run = getattr(self.sim, "monitoring", None)
        return run.results if run is not None else None

    def to_json(self) -> str:
        """The summary as one JSON line (byte-identical for the same scenario and seed)."""
        return json.dumps(self.summary(), ensure_ascii=False, allow_nan=False)

    @cached_property
    def requests(self):
        """One row per request per deployment (pandas DataFrame)."""
        import pandas as pd

        frames = [d.requests_frame(self) for d in self.deployments.values()]
        if len(frames) == 1:
            return frames[0]
        for column in CATEGORICAL:  # same categories everywhere, so concat keeps them categorical
            cats = [f[column].astype("category") for f in frames]
            union = sorted(set().union(*(c.cat.categories for c in cats)))
            for f, c in zip(frames, cats, strict=True):
                f[column] = c.cat.set_categories(union)
        return pd.concat(frames, ignore_index=True)

    def requests_of(self, d):
        """The default per-request frame of one deployment (``Deployment.requests_frame`` uses it)."""
        import pandas as pd

        wl, log, end = self.sim.workload, d.log, self.sim.duration
        outcome = log.outcome(end)
        errors = [ERROR_NAMES[Err(i)] for i in range(len(Err))]
        frame = pd.DataFrame({
            "deployment": pd.Categorical.from_codes(np.zeros(wl.n, dtype=np.int8), [d.name]),
            "request_id": np.arange(wl.n),
            "variant": pd.Categorical.from_codes(log.variant, d.variant_names()),
            "instance": log.instance,
            "t_arrival": wl.t,
            "t_start": log.t_start,
            "t_done": log.t_done,
            "wait_ms": (log.t_start - wl.t) * 1000.0,
            "model_ms": np.where(np.isfinite(log.t_start), log.model_s * 1000.0, np.nan),
            "overhead_ms": np.where(np.isfinite(log.t_start), log.overhead_s * 1000.0, np.nan),
            "latency_ms": (log.t_done - wl.t) * 1000.0,
            "outcome": pd.Categorical.from_codes(outcome, list(OUTCOME_NAMES.values())),
            "error": pd.Categorical.from_codes(log.error, errors),
            "cold_start": log.cold,
            "payload_kb": wl.payload_bytes / 1024.0,
            "row": wl.row,
            "model_version": log.model_version,
            "prediction": self.predictions[d.name],
            "measured": wl.t >= self.sim.warmup,
        })
        frame.loc[outcome != Outcome.COMPLETED, "prediction"] = np.nan
        return frame

    @cached_property
    def metrics(self):
        """Per-minute CloudWatch-style metrics per deployment and variant (pandas DataFrame), read
        from the run's metric store (``sim.metrics``: the datapoints alarms saw during the run).

        Invocations and errors are counted in the minute a request arrived; ModelLatency (µs)
        is queue wait + model time on the instance and OverheadLatency (µs) the rest, averaged
        over requests that completed; CPUUtilization is busy worker time / worker capacity.
        """
        import pandas as pd

        return pd.concat([d.metrics_frame(self) for d in self.deployments.values()], ignore_index=True)

    @property
    def alarms(self):
        """One row per alarm state transition (alarm, t_s, from, to, reason), or None when the
        scenario defines no alarms."""
        run = self.sim.alarms_run
        return run.frame() if run is not None else None

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write summary.json, requests.csv and metrics.csv into ``out_dir``; returns the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / "summary.json", out / "requests.csv", out / "metrics.csv"]
        paths[0].write_text(json.dumps(self.summary(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.requests.to_csv(paths[1], index=False)
        self.metrics.to_csv(paths[2], index=False)
        paths.extend(self._write_extras(out))
        return paths

    def _write_extras(self, out: Path) -> list[Path]:
        written = []
        for d in self.deployments.values():
            written.extend(d.write_outputs(out, self))
        if self.sim.alarms_run is not None:
            written.extend(self.sim.alarms_run.write(out))
        run = getattr(self.sim, "monitoring", None)
        if run is not None:  # -- monitoring: capture/, ground_truth/, baseline/, monitoring/ --
            written.extend(run.write(out, self))
        return written
