"""Results of a run: the JSON summary, per-request records and per-minute metrics as DataFrames."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from simlab.accounting import per_minute_busy
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
        self.predictions = {d.name: d.predictions() for d in sim.deployments}

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object (statistics after warm-up)."""
        return {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "duration_s": float(self.sim.duration),
            "warmup_s": float(self.sim.warmup),
            "deployments": {name: self._summary_of(d) for name, d in self.deployments.items()},
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
        """Per-minute CloudWatch-style metrics per deployment and variant (pandas DataFrame).

        Invocations and errors are counted in the minute a request arrived; ModelLatency (µs)
        is queue wait + model time on the instance and OverheadLatency (µs) the rest, averaged
        over requests that completed; CPUUtilization is busy worker time / worker capacity.
        """
        import pandas as pd

        return pd.concat([d.metrics_frame(self) for d in self.deployments.values()], ignore_index=True)

    def metrics_of(self, d):
        """The default per-minute frame of one deployment (``Deployment.metrics_frame`` uses it)."""
        import pandas as pd

        log, t_arr = d.log, d.arrival_times()
        n_min = int(np.ceil(self.sim.duration / 60.0))
        minute = np.minimum((t_arr // 60).astype(np.int64), n_min - 1)
        done = log.outcome(self.sim.duration) == Outcome.COMPLETED
        frames = []
        for v, vname in enumerate(d.variant_names()):
            sel = log.variant == v
            count = lambda m: np.bincount(minute[m], minlength=n_min)  # noqa: E731
            inv = count(sel)
            ok = sel & done
            n_ok = count(ok)
            with np.errstate(invalid="ignore", divide="ignore"):
                model_us = np.bincount(minute[ok], weights=(log.t_start[ok] - t_arr[ok] + log.model_s[ok]) * 1e6,
                                       minlength=n_min) / n_ok
                over_us = np.bincount(minute[ok], weights=log.overhead_s[ok] * 1e6, minlength=n_min) / n_ok
            instances = d.instances_per_minute(v, n_min)
            workers = d.workers_of_variant(v)
            busy = per_minute_busy(log.t_start[sel], log.busy_s[sel], n_min)
            with np.errstate(invalid="ignore", divide="ignore"):
                cpu = np.where(instances > 0, 100.0 * busy / (instances * workers * 60.0), 0.0)
                per_inst = np.where(instances > 0, inv / instances, np.nan)
            frames.append(pd.DataFrame({
                "deployment": d.name, "variant": vname, "minute": np.arange(n_min),
                "t_s": np.arange(n_min) * 60.0,
                "Invocations": inv,
                "Invocation4XXErrors": count(sel & np.isin(log.error, [Err.PAYLOAD_TOO_LARGE, Err.THROTTLED, Err.NOT_READY])),
                "Invocation5XXErrors": count(sel & np.isin(log.error, [Err.TIMEOUT, Err.MODEL_ERROR])),
                "ModelLatency": model_us, "OverheadLatency": over_us,
                "InstanceCount": instances, "InvocationsPerInstance": per_inst,
                "CPUUtilization": cpu,  # raw: above 100 when capacity changed within the minute
            }))
        return pd.concat(frames, ignore_index=True)

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
        run = getattr(self.sim, "monitoring", None)
        if run is not None:  # -- monitoring: capture/, ground_truth/, baseline/, monitoring/ --
            written.extend(run.write(out, self))
        return written
