"""Results of a run: the JSON summary, per-request records and per-minute metrics as DataFrames."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simlab.records import ERROR_NAMES, Err, Outcome

if TYPE_CHECKING:  # pragma: no cover - Result reads a finished run; it never builds one
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
        #: deployment name -> the real model output per request (``Deployment.predictions``),
        #: scored on first access: the JSON summary never needs them
        self.predictions: Mapping[str, np.ndarray] = _OnDemand(self.deployments)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object (statistics after warm-up); features add their keys
        (``summary[name]`` and ``summary["deployments"][dep][name]``, or their keys straight into
        ``summary["deployments"][dep]`` for a feature with ``summary_inline``).

        Raises:
            ValueError: when an inline feature's key is already a key of the deployment's summary.
        """
        from simlab.features import registered

        inline = {f.name for f in registered() if getattr(f, "summary_inline", False)}
        out: dict[str, Any] = {
            "scenario": self.scenario.name,
            "seed": self.seed,
            "duration_s": float(self.sim.duration),
            "warmup_s": float(self.sim.warmup),
            "deployments": {name: self._summary_of(d, inline) for name, d in self.deployments.items()},
        }
        for name, run in self.sim.features.items():
            top = run.top_summary()
            if top is not None:
                out[name] = top
        return out

    def _summary_of(self, d, inline: set[str]) -> dict[str, Any]:
        out = d.summary()
        for name, run in self.sim.features.items():
            part = run.summary(d.name)
            if part is None:
                continue
            if name not in inline:
                out[name] = part
                continue
            clash = sorted(set(part) & set(out))
            if clash:
                raise ValueError(f"feature {name!r}: summary key(s) {', '.join(clash)} of deployment {d.name!r} already taken")
            out.update(part)
        return out

    @cached_property
    def features(self) -> dict[str, dict[str, Any]]:
        """DataFrames of each feature the run used, by feature name (``FeatureRun.frames``)."""
        return {name: run.frames() for name, run in self.sim.features.items()}

    def __getattr__(self, name: str) -> Any:
        """``res.<feature name>``: what that feature's run shows (its ``view()``, else its frames),
        or None when the scenario did not use the feature.

        Raises:
            AttributeError: for a name that is no registered feature.
        """
        from simlab.features import registered

        if name.startswith("_") or name not in {f.name for f in registered()}:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        run = self.__dict__["sim"].features.get(name)
        if run is None:
            return None
        view = getattr(run, "view", None)
        return view() if view is not None else run.frames()

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
        # the EndpointConfigName of each fleet id (the variants of one configuration share it: the
        # variant column tells them apart)
        config = {f.id: f.config_name for f in d.fleets()}
        names = [config.get(i, f"fleet-{i}") for i in range(max([*config, int(log.fleet.max(initial=0))]) + 1)]
        fleets = list(dict.fromkeys(names))
        fleet_codes = np.array([fleets.index(n) for n in names], dtype=np.int16)[log.fleet]
        frame = pd.DataFrame({
            "deployment": pd.Categorical.from_codes(np.zeros(wl.n, dtype=np.int8), [d.name]),
            "request_id": np.arange(wl.n),
            "variant": pd.Categorical.from_codes(log.variant, d.variant_names()),
            "fleet": pd.Categorical.from_codes(fleet_codes, fleets),  # which fleet took it (old/new during an update)
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
        for run in self.sim.features.values():
            written.extend(run.write(out, self))
        return written


class _OnDemand(Mapping):
    """Predictions of each deployment, computed (vectorised) the first time someone reads them."""

    def __init__(self, deployments: dict[str, Any]) -> None:
        self._deployments = deployments
        self._done: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._done:
            self._done[name] = self._deployments[name].predictions()
        return self._done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._deployments)

    def __len__(self) -> int:
        return len(self._deployments)
