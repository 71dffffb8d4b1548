"""Run the points × replications of a what-if: serially, on a process pool, or on Dask.

Each task is self-contained (the raw scenario mapping, the varied values and an integer seed), so
any backend returns the same bytes: replication seeds are spawned from the root seed with
``numpy.random.SeedSequence.spawn`` before any task starts, never drawn by a worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Task", "replication_seeds", "make_tasks", "run_task", "run_tasks", "DaskMissing",
           "CDF_QUANTILES", "TIME_BINS"]

#: Quantiles at which each replication's latency CDF is kept (the report draws the band).
CDF_QUANTILES = np.round(np.linspace(0.0, 1.0, 201), 6)
#: Time bins of the timelines (p50/p99, instances, cumulative cost) over the simulated run.
TIME_BINS = 48


class DaskMissing(ImportError):
    """``--dask`` without the optional extra installed."""


@dataclass(frozen=True)
class Task:
    """One simulation: point ``point`` of the grid, replication ``rep`` with ``seed``."""

    point: int
    rep: int
    seed: int
    raw: dict
    values: dict
    file: str
    base_dir: str | None
    slo_p99_ms: float | None = None


def replication_seeds(root: int, n: int) -> list[int]:
    """``n`` integer seeds spawned from ``root`` (the same for every point: common random numbers)."""
    children = np.random.SeedSequence(root).spawn(n)
    return [int(c.generate_state(1, np.uint64)[0]) for c in children]


def make_tasks(raw_points: Sequence[tuple[dict, dict]], replications: int, root_seed: int, *,
               file: str, base_dir: Path | None, slo_p99_ms: Sequence[float | None]) -> list[Task]:
    """Tasks in a fixed order: point-major, then replication."""
    seeds = replication_seeds(root_seed, replications)
    return [Task(point=i, rep=r, seed=seeds[r], raw=raw, values=values, file=file,
                 base_dir=str(base_dir) if base_dir else None, slo_p99_ms=slo_p99_ms[i])
            for i, (raw, values) in enumerate(raw_points) for r in range(replications)]


def run_task(task: Task) -> dict[str, Any]:
    """Simulate one task; returns the summary plus the compact series the report draws."""
    from simlab.scenario import scenario_from_dict
    from simlab.simulation import run

    sc = scenario_from_dict(task.raw, file=task.file, base_dir=Path(task.base_dir) if task.base_dir else None)
    res = run(sc, seed=task.seed)
    summary = res.summary()
    series = _series(res, sc, summary, task.slo_p99_ms)
    return {"point": task.point, "rep": task.rep, "seed": task.seed, "summary": summary, "series": series,
            "workload": _workload_stats(res, sc)}


def _workload_stats(res, sc) -> dict[str, float]:
    """Volume, mean payload and mean model time of the stream (facts for ``simlab recommend``)."""
    req = res.requests
    first = req[((req["deployment"] == sc.deployments[0]["name"]) & req["measured"]).to_numpy()]
    span = max(sc.duration - sc.warmup, 1e-9)
    model_ms = first["model_ms"].to_numpy()
    model_ms = model_ms[np.isfinite(model_ms)]
    return {"requests_per_day": len(first) / span * 86400.0,
            "payload_mb": float(first["payload_kb"].mean() / 1024.0) if len(first) else 0.0,
            "inference_seconds": float(model_ms.mean() / 1000.0) if model_ms.size else 0.0}


def _series(res, sc, summary: dict, slo_ms: float | None) -> dict[str, dict[str, list]]:
    """Per deployment: latency quantiles, p50/p99 per time bin, instances, cumulative cost, SLO share."""
    req = res.requests
    req = req[req["measured"].to_numpy()]
    edges = np.linspace(sc.warmup, sc.duration, TIME_BINS + 1)
    out: dict[str, dict[str, list]] = {}
    metrics = res.metrics
    for dep in sc.deployments:
        name = dep["name"]
        rows = req[(req["deployment"] == name).to_numpy()]
        done = (rows["outcome"] == "completed").to_numpy()
        lat = rows["latency_ms"].to_numpy()[done]
        t = rows["t_arrival"].to_numpy()[done]
        cdf = np.quantile(lat, CDF_QUANTILES).tolist() if lat.size else []
        which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, TIME_BINS - 1)
        p50, p99 = [], []
        for b in range(TIME_BINS):
            x = lat[which == b]
            p50.append(float(np.quantile(x, 0.5)) if x.size else None)
            p99.append(float(np.quantile(x, 0.99)) if x.size else None)
        inst, cost = _instances_and_cost(metrics[(metrics["deployment"] == name).to_numpy()], dep,
                                         summary["deployments"][name], rows, edges)
        slo = None
        if slo_ms is not None and len(rows):
            slo = float(np.count_nonzero(lat <= slo_ms) / len(rows))
        out[name] = {"cdf": cdf, "p50": p50, "p99": p99, "instances": inst, "cost": cost,
                     "t_s": edges[1:].tolist(), "slo_attainment": slo}
    return out


def _prices_by_variant(dep: dict) -> dict[str, float]:
    from simlab import facts

    default = dep.get("instance_type")
    prices = {}
    for v in dep.get("variants") or []:
        itype = v.get("instance_type") or default
        prices[v["name"]] = facts.instance(itype).price_per_hour if itype else 0.0
    return prices | {"__default__": facts.instance(default).price_per_hour if default else 0.0}


def _instances_and_cost(m, dep: dict, summ: dict, rows, edges) -> tuple[list, list]:
    """Mean live instances per bin and cumulative USD at each bin's end.

    Instance-billed types: per-minute InstanceCount × hourly price. Serverless: the run's exact
    compute + data cost spread over requests by when they arrived, plus provisioned concurrency
    accruing evenly. Both are drawn for shape; the tables hold the exact totals.
    """
    minute_t = m["t_s"].to_numpy() if len(m) else np.zeros(0)
    which = np.clip(np.searchsorted(edges, minute_t, side="right") - 1, -1, TIME_BINS - 1)
    inst = np.zeros(TIME_BINS)
    if len(m):
        per_min = m.groupby("minute", sort=True)["InstanceCount"].sum()
        tm = per_min.index.to_numpy() * 60.0
        w = np.clip(np.searchsorted(edges, tm, side="right") - 1, -1, TIME_BINS - 1)
        k = (tm >= edges[0]) & (tm < edges[-1])
        inst = np.bincount(w[k], weights=per_min.to_numpy()[k], minlength=TIME_BINS)
        n = np.bincount(w[k], minlength=TIME_BINS)
        inst = np.divide(inst, n, out=np.zeros(TIME_BINS), where=n > 0)
        # a bin shorter than a minute holds no minute start: take the minute it falls in
        held = per_min.reindex(np.floor(edges[:-1] / 60.0).astype(np.int64)).to_numpy(float)
        inst = np.where(n > 0, inst, np.nan_to_num(held))
    if dep["type"] == "serverless_inference":
        br = summ.get("cost_breakdown_usd", {})
        usage = br.get("compute", 0.0) + br.get("data", 0.0)
        served = rows["t_arrival"].to_numpy()
        b = np.clip(np.searchsorted(edges, served, side="right") - 1, 0, TIME_BINS - 1)
        share = np.bincount(b, minlength=TIME_BINS) / max(1, served.size)
        span = edges[1:] - edges[0]
        cost = np.cumsum(share) * usage + br.get("provisioned", 0.0) * span / (edges[-1] - edges[0])
        return inst.tolist(), cost.tolist()
    prices = _prices_by_variant(dep)
    usd = np.zeros(TIME_BINS)
    if len(m):
        price = m["variant"].astype(str).map(lambda v: prices.get(v, prices["__default__"])).to_numpy(float)
        k = (minute_t >= edges[0]) & (minute_t < edges[-1])
        usd = np.bincount(which[k], weights=(m["InstanceCount"].to_numpy(float) * price / 60.0)[k],
                          minlength=TIME_BINS)
    return inst.tolist(), np.cumsum(usd).tolist()


Progress = Callable[[int], None]


def run_tasks(tasks: list[Task], *, workers: int | None = None, dask: str | None = None,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Run every task and return the results in task order (whatever the backend).

    ``dask`` is a scheduler address or ``"local"`` (a LocalCluster on 127.0.0.1, no dashboard);
    otherwise ``workers`` processes (1 = in this process).

    Raises:
        DaskMissing: ``dask`` given but ``dask.distributed`` is not installed.
    """
    if dask is not None:
        return _run_dask(tasks, dask, workers, progress)
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(tasks) <= 1:
        out = []
        for t in tasks:
            out.append(run_task(t))
            if progress:
                progress(1)
        return out
    return _run_pool(tasks, workers, progress)


def _run_pool(tasks: list[Task], workers: int, progress: Progress | None) -> list[dict[str, Any]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results: list[dict[str, Any] | None] = [None] * len(tasks)
    ctx = mp.get_context("spawn")  # no fork: workers start clean whatever threads the parent holds
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
        futures = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
        for f in as_completed(futures):
            results[futures[f]] = f.result()
            if progress:
                progress(1)
    return results  # type: ignore[return-value]


def dask_client(address: str, workers: int | None):
    """A ``distributed.Client`` for ``address`` or a LocalCluster (``"local"``); raises DaskMissing."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskMissing("error: --dask: needs the optional Dask extra: pip install 'simlab[dask]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                               processes=True, host="127.0.0.1", dashboard_address=None)
        return Client(cluster), cluster
    return Client(address), None


def _run_dask(tasks: list[Task], address: str, workers: int | None,
              progress: Progress | None) -> list[dict[str, Any]]:
    client, cluster = dask_client(address, workers)
    try:
        from distributed import as_completed

        futures = client.map(run_task, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[dict[str, Any] | None] = [None] * len(tasks)
        for f in as_completed(futures):
            results[index[f.key]] = f.result()
            if progress:
                progress(1)
        return results  # type: ignore[return-value]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
