"""``--out DIR`` for monitoring: capture/, ground_truth/, baseline/ and monitoring/.

Layout (times on the simulated clock, simlab.monitoring.timestamps)::

    capture/{endpoint}/{variant}/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid}.jsonl   one file per hour
    ground_truth/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid}.jsonl                  by label arrival hour
    baseline/{endpoint}/statistics.json, constraints.json                    the initial baseline
    baseline/{endpoint}/bias/analysis.json, explainability/analysis.json     when those monitors run
    baseline/{endpoint}/v{version}/…                                         after a retraining
    monitoring/{endpoint}/{monitor}/yyyy/mm/dd/hh/*.json                     per-execution reports
    monitoring/executions.csv, violations.csv, alarms.csv, metrics.csv, detections.csv, retrainings.csv
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from simlab.monitoring.attribution import analysis_json as attribution_json
from simlab.monitoring.bias import analysis_json as bias_json
from simlab.monitoring.capture import event_id, inference_id
from simlab.monitoring.timestamps import iso, partition

__all__ = ["write_all"]


def _dump(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, allow_nan=False, default=_none) + "\n", encoding="utf-8")
    return path


def _none(x):  # pragma: no cover - json default hook
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _clean(doc):
    """NaN → null (JSON has no NaN)."""
    if isinstance(doc, dict):
        return {k: _clean(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_clean(v) for v in doc]
    return None if isinstance(doc, float) and doc != doc else doc


def _lines(path: Path, records) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, separators=(",", ":")) + "\n")
    return path


def _file_name(t: float, uid: str) -> str:
    stamp = iso(t)  # …THH:MM:SSZ
    ms = int(round((t - np.floor(t)) * 1000)) % 1000
    return f"{stamp[14:16]}-{stamp[17:19]}-{ms:03d}-{uid}.jsonl"


def _by_hour(idx: np.ndarray, t: np.ndarray):
    hours = np.floor(t / 3600.0).astype(np.int64)
    for h in np.unique(hours):
        yield idx[hours == h]


def _outputs(ep, idx: np.ndarray) -> list[str]:
    out, _ = ep.scores.get(idx)
    if ep.task == "multiclass":
        return [str(int(v)) for v in out.tolist()]
    return [f"{v:.10g}" for v in out.tolist()]


def _write_capture(ep, root: Path) -> list[Path]:
    wl, log, paths = ep.sim.workload, ep.dep.log, []
    idx = ep.capture.captured(ep.sim.duration)
    for v, vname in enumerate(ep.dep.variant_names()):
        for group in _by_hour(idx[log.variant[idx] == v], wl.t[idx[log.variant[idx] == v]]):
            if group.size == 0:
                continue
            t0 = float(wl.t[group[0]])
            records = ep.capture.records(group, ep.table(group), _outputs(ep, group))
            path = root / ep.name / vname / partition(t0) / _file_name(t0, event_id(ep.name, int(group[0])))
            paths.append(_lines(path, records))
    return paths


def _write_ground_truth(run, root: Path) -> list[Path]:
    truth, paths = run.truth, []
    idx = np.flatnonzero(truth.arrival <= run.sim.duration)
    idx = idx[np.argsort(truth.arrival[idx], kind="stable")]
    for group in _by_hour(idx, truth.arrival[idx]):
        t0 = float(truth.arrival[group[0]])
        records = ({"groundTruthData": {"data": d, "encoding": "CSV"}, "eventMetadata": {"eventId": inference_id(int(i))},
                    "eventVersion": "0"} for i, d in zip(group.tolist(), truth.text(group), strict=True))
        path = root / partition(t0) / _file_name(t0, event_id("ground_truth", int(group[0])))
        paths.append(_lines(path, records))
    return paths


def _write_baselines(ep, root: Path) -> list[Path]:
    dq = next((j.cfg for j in ep.jobs if j.kind == "data_quality"), None)
    paths = []
    for k, ref in enumerate(ep.references):
        d = root if k == 0 else root / f"v{ref.version}"
        paths.append(_dump(d / "statistics.json", _clean(ref.baseline.statistics())))
        paths.append(_dump(d / "constraints.json", ref.baseline.constraints(dq)))
        for job in ep.jobs:
            if job.kind == "bias_drift":
                doc = bias_json(ref.bias(job.cfg), job.cfg["facet"], job.cfg["positive_label"])
                paths.append(_dump(d / "bias" / "analysis.json", _clean(doc)))
            if job.kind == "feature_attribution_drift":
                doc = attribution_json(ref.table.names, ref.importance(), ref.attribution_method)
                paths.append(_dump(d / "explainability" / "analysis.json", doc))
    return paths


def _write_reports(ep, root: Path) -> list[Path]:
    paths = []
    for ex in ep.executions:
        for name, doc in ex.reports.items():
            paths.append(_dump(root / ex.monitor / partition(ex.t) / name, _clean(doc)))
    return paths


def _write_frames(run, root: Path) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    res, paths = run.results, []
    for name in res.FRAMES:
        path = root / f"{name}.csv"
        getattr(res, name).to_csv(path, index=False)
        paths.append(path)
    return paths


def write_all(run, out: Path, result) -> list[Path]:
    """Every monitoring file of a finished run; returns the paths written."""
    paths: list[Path] = []
    for ep in run.endpoints.values():
        if ep.capture is not None:
            paths += _write_capture(ep, out / "capture")
        if ep.has_monitors:
            paths += _write_baselines(ep, out / "baseline" / ep.name)
            paths += _write_reports(ep, out / "monitoring" / ep.name)
    if run.truth.configured:
        paths += _write_ground_truth(run, out / "ground_truth")
    if any(ep.has_monitors for ep in run.endpoints.values()):
        paths += _write_frames(run, out / "monitoring")
    return paths
