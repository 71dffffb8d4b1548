"""Batch transform: scheduled or one-off jobs that score a set of records and then shut down.

Records come from one of two sources:

* **the shared request stream** (a ``schedule`` and no ``records``): every job scores the requests
  that arrived since the previous job, so the log is the normal per-request log and a request's
  latency is the job's output time minus its arrival time — the fair side-by-side comparison
  with an endpoint on the identical stream. Requests after the last job stay in flight.
* **a dataset** (``records``): every job scores the same records, a count of rows drawn from the
  model's serve split with the deployment's own stream, or exactly the rows of a CSV file. The
  log then holds one entry per (job, record): arrived = records × jobs.

A job starts ``startup`` after submission (provisioning, container start, model download), splits
its records into mini-batches (MultiRecord: as many records as fit in MaxPayloadInMB;
SingleRecord: one each; SplitType None: the whole input as one request) and hands them, in input
order, to the earliest-free of instance_count × max_concurrent_transforms workers. A mini-batch
takes ``minibatch_overhead_ms`` plus the model time of its records (plus the hops of a
``containers`` chain). The job ends when its last mini-batch does; every record's output is
available then. A malformed record, a record above MaxPayloadInMB or a mini-batch slower than
InvocationsTimeoutInSeconds fails the job the way the real service does: status Failed, every
record failed, a message in ``job_failures``. Instances are billed from submission to the end.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simlab import facts
from simlab.accounting import rnd
from simlab.deployments.base import COMMON_FIELDS, Deployment, Lease
from simlab.deployments.pipeline import (
    CONTAINERS_FIELD,
    HOP_FIELD,
    chain_outputs,
    container_times,
    resolve_groups,
    step_problems,
    unique_container_names,
)
from simlab.deployments.realtime import SERVICE_TIME, InstanceTypeKind
from simlab.distributions import Dist, DistSpec
from simlab.errors import Problem
from simlab.records import Err, RequestLog
from simlab.schema import Any_, Duration, Field, Float, Int, Invalid, OneOf, Schema, Str, suggest
from simlab.units import MIB, parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["BatchTransform", "SCHEMA", "Job"]

DAY = 86400.0
EVERY_WORDS = {"hourly": 3600.0, "daily": DAY, "weekly": 7 * DAY}
DEFAULT_SERVICE = Dist.exponential(0.040)
PRODUCT_KEY = "batch_transform.max_concurrency_x_payload_mb"


# -- schema -----------------------------------------------------------------------------------
def _every(raw: Any) -> float:
    if isinstance(raw, str) and raw in EVERY_WORDS:
        return EVERY_WORDS[raw]
    value = parse_duration(raw)
    if not math.isfinite(value) or value <= 0:
        raise ValueError
    return value


def _schedule(raw: Any, path: str) -> dict[str, float]:
    """``daily`` | ``hourly`` | ``weekly`` | ``{every: …, at: …}`` → ``{every: s, at: s}``."""
    allowed = "`hourly` | `daily` | `weekly`, or {every: DURATION or one of those words, at: DURATION}"
    cfg = {"every": raw} if isinstance(raw, str) else raw
    if not isinstance(cfg, dict) or set(cfg) - {"every", "at"}:
        hint = suggest(raw, EVERY_WORDS) if isinstance(raw, str) else ""
        raise Invalid(f"must be {allowed}{hint}", raw)
    try:
        every = _every(cfg.get("every", "daily"))
        at = parse_duration(cfg.get("at", 0.0))
    except ValueError:
        raise Invalid(f"must be {allowed} (durations > 0, at ≥ 0)", raw) from None
    if not 0 <= at < math.inf:
        raise Invalid(f"must be {allowed} (at ≥ 0, finite)", raw)
    return {"every": every, "at": at}


def _records(raw: Any, path: str) -> dict[str, Any]:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        return {"count": raw}
    if isinstance(raw, str) and raw.strip():
        return {"file": raw}
    raise Invalid("must be a record count (an integer ≥ 1) or a CSV file path (relative to the "
                  "scenario file)", raw)


def _limit_doc(key: str) -> str:
    return facts.limits()[key].source


def _checks(cfg: dict, path: str) -> list[Problem]:
    problems = []
    product = cfg["max_concurrent_transforms"] * cfg["max_payload_mb"]
    if product > facts.limit(PRODUCT_KEY):
        problems.append(Problem(f"{path}.max_payload_mb", f"max_concurrent_transforms × max_payload_mb must be "
                                f"≤ {facts.limit(PRODUCT_KEY)} MB ({_limit_doc(PRODUCT_KEY)})",
                                f"{cfg['max_concurrent_transforms']} × {cfg['max_payload_mb']} = {product}"))
    if cfg["schedule"] is None and cfg["records"] is None:
        problems.append(Problem(f"{path}.schedule", "give a `schedule` (jobs score the shared request stream) "
                                "or `records` (a one-off job over a dataset), or both"))
    if cfg["containers"] is not None and cfg["service_time"] is not None:
        problems.append(Problem(f"{path}.service_time", "give either `service_time` or `containers` "
                                "(each container has its own service_time)", "both"))
    return problems + unique_container_names(cfg, path) + step_problems(cfg, path)


SCHEMA = Schema("batch_transform", [
    *COMMON_FIELDS,
    Field("model", Str(), default=None, doc="bundled model id (default: the scenario's model)"),
    Field("model_version", Int(min=0, max=0), default=0, doc="model version the job uses (only version 0 exists when a run starts; retraining registers later ones)"),
    Field("instance_type", InstanceTypeKind(batch=True), default="ml.m5.large",
          doc="TransformResources.InstanceType: batch-transform-valid types only (instance catalog `batch`)"),
    Field("instance_count", Int(min=1), default=1, unit="instances", doc="TransformResources.InstanceCount"),
    Field("max_concurrent_transforms", Int(min=1), unit="requests",
          default=facts.limit("batch_transform.default_max_concurrent_transforms"),
          doc="MaxConcurrentTransforms: mini-batches one instance processes at once (default 1: "
              f"{_limit_doc('batch_transform.default_max_concurrent_transforms')})"),
    Field("max_payload_mb", Int(min=1, max=facts.limit("batch_transform.max_payload_mb")), unit="MB (MiB)",
          default=facts.limit("batch_transform.default_max_payload_mb"),
          doc="MaxPayloadInMB: largest mini-batch (default 6, max 100, and max_concurrent_transforms × "
              "max_payload_mb ≤ 100; [SM] CreateTransformJob). 0 (chunked streaming) is not simulated"),
    Field("batch_strategy", OneOf(("MultiRecord", "SingleRecord")), default="MultiRecord",
          doc="BatchStrategy: fill each mini-batch up to max_payload_mb, or one record per request "
              "(the API leaves it optional; MultiRecord is simlab's default)"),
    Field("split_type", OneOf(("Line", "None")), default="Line",
          doc="SplitType: Line splits the input into records; None sends the whole input as one request "
              "(the API's default is None; simlab defaults to Line so jobs above max_payload_mb run)"),
    Field("join_source", OneOf(("Input", "None")), default="None",
          doc="DataProcessing.JoinSource: Input appends each output to its input line in the output file"),
    Field("startup", DistSpec(unit="", scale=1.0), default=Dist.fixed(float(facts.limit("batch_transform.default_job_startup_s"))), unit="s",
          doc="time from job submission until the first mini-batch can run: instance provisioning, "
              "container start, model download (assumption: 5 min; AWS publishes no figure). "
              "A duration or {dist: …, mean: 5m, …}"),
    Field("minibatch_overhead_ms", Float(min=0), default=10.0, unit="ms",
          doc="fixed time per mini-batch request: HTTP call, (de)serialization, S3 part I/O "
              "(assumption: 10 ms; AWS publishes no figure)"),
    Field("service_time", SERVICE_TIME, default=None, unit="ms",
          doc='model time per record (default exponential 40 ms, the real-time default, so a side-by-'
              'side comparison differs only in how requests are served); "profile" measures the model'),
    Field("invocation_timeout", Duration(min=1, max=facts.limit("batch_transform.max_invocation_timeout_s")),
          default=float(facts.limit("batch_transform.default_invocation_timeout_s")), unit="s",
          doc="ModelClientConfig.InvocationsTimeoutInSeconds (1–3600, default 600): a slower mini-batch "
              "fails the job (retries are not simulated: they would time out alike)"),
    dataclasses.replace(CONTAINERS_FIELD, default=None,
                        doc="optional serial inference pipeline: 2–15 containers each record passes "
                            "through in turn (record time = sum of container times)"),
    dataclasses.replace(HOP_FIELD, doc=HOP_FIELD.doc + "; once per mini-batch per hop"),
    Field("schedule", Any_(describe="`daily` | `hourly` | `weekly` | {every, at}", convert_fn=_schedule),
          default=None,
          doc="recurring jobs: the first at `at` (default 0), then one every `every` (e.g. "
              "`{every: 1d, at: 2h}`). Without `records`, each job scores the requests that arrived "
              "since the previous job"),
    Field("records", Any_(describe="an integer ≥ 1 or a CSV path", convert_fn=_records), default=None,
          doc="the dataset each job scores instead of the request stream: a count of rows drawn from "
              "the model's serve split, or a CSV file of feature rows (no header line; relative to the "
              "scenario file). Without `schedule`: one job, submitted when the warm-up ends"),
], checks=(_checks,), doc="SageMaker batch transform jobs")


# -- jobs -------------------------------------------------------------------------------------
@dataclass
class Job:
    """One transform job: its records are ``log[lo:hi]``."""

    k: int
    t_submit: float
    lo: int
    hi: int
    t_end: float = math.nan
    status: str = "InProgress"
    reason: str = ""

    @property
    def duration_s(self) -> float:
        return self.t_end - self.t_submit


@dataclass
class _Plan:
    """Mini-batch schedule of one job, times relative to the end of start-up."""

    starts: np.ndarray  # first record of each mini-batch (relative to the job's records)
    b_start: np.ndarray
    worker: np.ndarray
    makespan: float
    fail_at: float = math.inf
    fail_err: int = Err.NONE
    fail_reason: str = ""


@dataclass
class _Input:
    """A dataset a job scores (``records``): features, CSV text, bytes and validity per record."""

    X: np.ndarray
    rows: np.ndarray  # dataset row per record (−1 for a CSV record)
    text: list[str]
    nbytes: np.ndarray
    bad: np.ndarray
    reasons: dict[int, str] = dataclasses.field(default_factory=dict)  # why each bad record is bad
    error: str = ""  # the input itself could not be read


def _row_text(x: np.ndarray) -> str:
    return ",".join(repr(float(v)) for v in x)


def _parse_line(line: str, n_features: int) -> tuple[np.ndarray | None, str]:
    parts = line.split(",")
    if len(parts) != n_features:
        return None, f"has {len(parts)} columns, expected {n_features}"
    try:
        return np.array([float(p) for p in parts]), ""
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        return None, f"{bad.strip()!r} is not a number"


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_csv_records(path: Path, n_features: int) -> _Input:
    """Parse a CSV of feature rows; malformed lines are marked, never raised."""
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as e:
        return _Input(np.empty((0, n_features)), np.empty(0, np.int64), [], np.empty(0), np.empty(0, bool),
                      error=f"cannot read records file {path}: {type(e).__name__}: {e}")
    X = np.full((len(lines), n_features), np.nan)
    reasons = {}
    for i, line in enumerate(lines):
        x, why = _parse_line(line, n_features)
        if x is None:
            reasons[i] = f"ClientError: record {i + 1} of {path.name} {why}"
        else:
            X[i] = x
    bad = np.zeros(len(lines), dtype=bool)
    bad[list(reasons)] = True
    nbytes = np.array([len(ln.encode("utf-8")) + 1 for ln in lines], dtype=float)
    return _Input(X, np.full(len(lines), -1, np.int64), lines, nbytes, bad, reasons)


# -- the deployment ---------------------------------------------------------------------------
class BatchTransform(Deployment):
    """SageMaker batch transform jobs on a schedule or over a dataset."""

    type_id = "batch_transform"
    SCHEMA = SCHEMA

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.instance_type = facts.instance(config["instance_type"])
        self.workers = config["instance_count"] * config["max_concurrent_transforms"]
        self.payload_cap = config["max_payload_mb"] * MIB
        self.schedule: dict | None = config["schedule"]
        self.containers: list[dict] | None = config["containers"]
        self.service: Dist | str = config["service_time"] or DEFAULT_SERVICE
        self.overhead_s = config["minibatch_overhead_ms"] / 1000.0
        hops = len(self.containers) - 1 if self.containers else 0
        self.hops_s = hops * config["hop_overhead_ms"] / 1000.0
        self.jobs: list[Job] = []
        self.input: _Input | None = None  # None: the shared request stream

    # -- set-up --------------------------------------------------------------------------------
    def bind(self, sim: Simulation) -> None:
        """Attach; read or draw the dataset (``records``) and size the log for it."""
        self.sim = sim
        self._next = 0
        self.job_times = self._job_times(sim.warmup, sim.duration)
        self.groups = self._groups() if self.containers else []
        if self.config["records"] is None:
            self.log = RequestLog(sim.workload.n)
            return
        self.input = self._read_input(self.config["records"])
        n = len(self.input.nbytes)
        self.log = RequestLog(n * len(self.job_times))
        self._arrivals = np.repeat(np.asarray(self.job_times, dtype=float), n)

    def _job_times(self, warmup: float, duration: float) -> list[float]:
        """Submission times: the schedule's, or one job when the warm-up ends (``records`` only)."""
        if self.schedule is None:
            return [warmup]
        at, every = self.schedule["at"], self.schedule["every"]
        return [at + k * every for k in range(max(0, math.ceil((duration - at) / every)))]

    def _groups(self) -> list[tuple[str, ...]]:
        steps = [name for name, _ in self.model().pipeline_steps()]
        return resolve_groups(steps, self.containers, f"deployments.{self.name}")

    def _read_input(self, spec: dict) -> _Input:
        ds = self.sim.dataset
        if "file" in spec:
            path = Path(spec["file"])
            return read_csv_records(path if path.is_absolute() else self.sim.scenario.base_dir / path,
                                    ds.X.shape[1])
        gen = self.sim.streams.generator(f"{self.name}.records")
        rows = ds.serve_idx[gen.integers(0, ds.serve_idx.size, spec["count"])]
        texts = {int(r): _row_text(ds.X[r]) for r in np.unique(rows)}
        text = [texts[int(r)] for r in rows]
        nbytes = np.array([len(t) + 1 for t in text], dtype=float)
        return _Input(ds.X[rows], rows.astype(np.int64), text, nbytes, np.zeros(rows.size, dtype=bool))

    def model(self):
        """The model every job scores with."""
        return self.sim.model(self.model_of_variant(0), self.config["model_version"])

    def arrival_times(self) -> np.ndarray:
        """Request arrivals (stream) or each record's job submission time (dataset)."""
        return self.sim.workload.t if self.input is None else self._arrivals

    def start(self) -> None:
        self.service = self.resolve_service_time(self.service, self.model_of_variant(0))
        u0 = self.sim.workload.u_service if self.input is None else \
            self.sim.streams.generator(f"{self.name}.service").random(self.log.n)
        self._record_times(u0)
        u_start = self.sim.streams.generator(f"{self.name}.startup").random(len(self.job_times))
        self.startup_s = self.config["startup"].ppf(u_start)
        self.sim.env.process(self._jobs())

    def _record_times(self, u0: np.ndarray) -> None:
        if self.containers:
            self.container_s = container_times(self.sim, self.name, self.containers, u0)
            self.record_s = self.container_s.sum(axis=1)
        else:
            self.container_s = None
            self.record_s = self.service.ppf(u0)

    def admit_until(self, t: float) -> None:
        """Nothing to admit between jobs: records wait for the next job."""

    def settled_before(self, t: float) -> float:
        """Requests of the stream wait for the next job; a dataset's records are written when
        their job is submitted."""
        if self.input is not None:
            return t
        return self.jobs[-1].t_submit if self.jobs else 0.0

    # -- jobs ----------------------------------------------------------------------------------
    def _jobs(self):
        env = self.sim.env
        for k, t in enumerate(self.job_times):
            yield env.timeout(t - env.now)
            self._run_job(k, t)

    def _job_slice(self, k: int, t: float) -> tuple[int, int]:
        if self.input is None:
            lo, self._next = self._next, self.sim.workload.upto(t)
            return lo, self._next
        n = len(self.input.nbytes)
        return k * n, (k + 1) * n

    def _record_bytes(self, lo: int, hi: int) -> np.ndarray:
        if self.input is None:
            return self.sim.workload.payload_bytes[lo:hi]
        return self.input.nbytes

    def _record_bad(self, lo: int, hi: int) -> np.ndarray:
        return np.zeros(hi - lo, dtype=bool) if self.input is None else self.input.bad

    def _run_job(self, k: int, t: float) -> None:
        lo, hi = self._job_slice(k, t)
        job = Job(k, t, lo, hi)
        t0 = t + float(self.startup_s[k])
        plan = None if self.input is not None and self.input.error else \
            self._plan(self._record_bytes(lo, hi), self.record_s[lo:hi], self._record_bad(lo, hi))
        if plan is None:
            self._fail(job, t0, Err.MODEL_ERROR, f"ClientError: {self.input.error}")
        elif math.isinf(plan.fail_at):
            self._complete(job, t0, plan)
        else:
            self._fail(job, t0 + plan.fail_at, plan.fail_err, plan.fail_reason)
        self.jobs.append(job)
        price = self.instance_type.price_per_hour / 3600.0
        for _ in range(self.config["instance_count"]):
            self.leases.append(Lease(t, job.t_end, price, self.config["max_concurrent_transforms"]))

    def _complete(self, job: Job, t0: float, plan: _Plan) -> None:
        log, lo, hi = self.log, job.lo, job.hi
        rec = self.record_s[lo:hi]
        batch = np.repeat(np.arange(plan.starts.size), np.diff(np.append(plan.starts, hi - lo)))
        before = np.cumsum(rec) - rec  # model time of the earlier records ...
        before -= before[plan.starts][batch]  # ... of the same mini-batch
        log.t_start[lo:hi] = t0 + plan.b_start[batch] + self.overhead_s + before
        job.t_end = t0 + plan.makespan
        log.t_done[lo:hi] = job.t_end
        log.busy_s[lo:hi] = rec
        log.model_s[lo:hi] = rec
        log.overhead_s[lo:hi] = job.t_end - log.t_start[lo:hi] - rec
        log.instance[lo:hi] = plan.worker[batch] // self.config["max_concurrent_transforms"]
        log.model_version[lo:hi] = self.config["model_version"]
        job.status = "Completed"

    def _fail(self, job: Job, t_fail: float, err: int, reason: str) -> None:
        self.log.t_done[job.lo:job.hi] = t_fail
        self.log.error[job.lo:job.hi] = err
        job.t_end, job.status, job.reason = t_fail, "Failed", reason

    # -- mini-batches --------------------------------------------------------------------------
    def _split(self, nbytes: np.ndarray) -> np.ndarray:
        """First record of each mini-batch, in input order."""
        n = nbytes.size
        if n == 0:
            return np.empty(0, dtype=np.int64)
        if self.config["split_type"] == "None":
            return np.zeros(1, dtype=np.int64)
        if self.config["batch_strategy"] == "SingleRecord":
            return np.arange(n, dtype=np.int64)
        cum = np.concatenate([[0.0], np.cumsum(nbytes)])
        starts, i = [], 0
        while i < n:  # greedy fill: one searchsorted per mini-batch
            starts.append(i)
            i = max(i + 1, int(np.searchsorted(cum, cum[i] + self.payload_cap, side="right")) - 1)
        return np.asarray(starts, dtype=np.int64)

    def _plan(self, nbytes: np.ndarray, rec: np.ndarray, bad: np.ndarray) -> _Plan:
        starts = self._split(nbytes)
        if starts.size == 0:
            return _Plan(starts, np.empty(0), np.empty(0, dtype=np.int64), 0.0)
        dur = self.overhead_s + np.add.reduceat(rec, starts) + self.hops_s
        b_start, worker = _list_schedule(dur, self.workers)
        plan = _Plan(starts, b_start, worker, float((b_start + dur).max()))
        self._check_failures(plan, dur, np.add.reduceat(nbytes, starts), np.add.reduceat(bad, starts) > 0)
        return plan

    def _check_failures(self, plan: _Plan, dur: np.ndarray, size: np.ndarray, bad: np.ndarray) -> None:
        """Set the plan's earliest failure: a too-large, malformed or too-slow mini-batch."""
        timeout = self.config["invocation_timeout"]
        cap_mb = self.config["max_payload_mb"]
        events = [
            (plan.b_start, size > self.payload_cap, Err.PAYLOAD_TOO_LARGE,
             lambda b: f"ClientError: a mini-batch of {size[b] / MIB:.3g} MB exceeds MaxPayloadInMB {cap_mb}"),
            (plan.b_start + self.overhead_s, bad, Err.MODEL_ERROR, lambda b: self._bad_reason(plan, b)),
            (plan.b_start + timeout, dur > timeout, Err.TIMEOUT,
             lambda b: f"ModelError: a mini-batch took {dur[b]:.1f} s, above InvocationsTimeoutInSeconds {timeout:g}"),
        ]
        for at, mask, err, why in events:
            if mask.any():
                b = int(np.flatnonzero(mask)[np.argmin(at[mask])])
                if at[b] < plan.fail_at:
                    plan.fail_at, plan.fail_err, plan.fail_reason = float(at[b]), err, why(b)

    def _bad_reason(self, plan: _Plan, b: int) -> str:
        """Why mini-batch ``b`` failed: its first malformed record."""
        first = int(plan.starts[b])
        return self.input.reasons[first + int(np.argmax(self.input.bad[first:]))]

    # -- results -------------------------------------------------------------------------------
    def _scores(self, X: np.ndarray) -> np.ndarray:
        model = self.model()
        if self.containers:
            return chain_outputs(model, self.groups, X)
        return np.asarray(model.score_output(X), dtype=float)

    def predictions(self) -> np.ndarray:
        """Real outputs of every record of a completed job (vectorised: one pass per input)."""
        out = np.full(self.log.n, np.nan)
        served = np.isfinite(self.log.t_start) & (self.log.error == Err.NONE)
        if not served.any():
            return out
        if self.input is None:
            out[served] = self._scores(self.sim.dataset.X)[self.sim.workload.row[served]]
            return out
        scores = np.tile(self._scores(np.nan_to_num(self.input.X)), len(self.job_times))
        out[served] = scores[served]
        return out

    def measured_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.t_submit >= self.sim.warmup]

    def _covers_full_period(self, job: Job) -> bool:
        """A scheduled job over the stream scores one whole period, except the first one, which
        covers only the time since the start (shorter than a period when it runs early)."""
        return self.input is not None or job.k > 0 or job.t_submit >= self.schedule["every"]

    def job_cost_usd(self, job: Job) -> float:
        """Instance-seconds of the whole job, start-up included, times the hourly price."""
        return self.config["instance_count"] * job.duration_s * self.instance_type.price_per_hour / 3600.0

    def extra_summary(self, sel: np.ndarray) -> dict[str, Any]:
        jobs = self.measured_jobs()
        records = sum(j.hi - j.lo for j in jobs)
        busy = sum(j.duration_s for j in jobs)
        out: dict[str, Any] = {
            "jobs": len(jobs),
            "job_duration_s": rnd(busy / len(jobs), 3) if jobs else None,
            "records": records,
            "records_per_s": rnd(records / busy, 3) if busy > 0 else None,
            "job_failures": [{"job": j.k, "submitted_s": rnd(j.t_submit, 3), "reason": j.reason}
                             for j in jobs if j.status == "Failed" and j.t_end <= self.sim.duration],
        }
        if self.schedule is not None:
            full = [j for j in jobs if self._covers_full_period(j)] or jobs
            per_job = sum(self.job_cost_usd(j) for j in full) / len(full) if full else None
            out["cost_per_month_usd"] = rnd(per_job * facts.hours_per_month() * 3600.0 / self.schedule["every"]) if full else None
        if self.containers:
            done = sel & np.isfinite(self.log.t_start) & (self.log.error == Err.NONE)
            out["container_latency_ms"] = {c["name"]: rnd(float(self.container_s[done, k].mean() * 1000), 3)
                                           if done.any() else None for k, c in enumerate(self.containers)}
        return out

    def requests_frame(self, result):
        """The per-request frame plus ``job`` (stream), or one row per (job, record) (dataset)."""
        frame = result.requests_of(self) if self.input is None else self._dataset_frame(result)
        job = np.full(self.log.n, -1, dtype=np.int32)
        for j in self.jobs:
            job[j.lo:j.hi] = j.k
        frame["job"] = job
        return frame

    def _dataset_frame(self, result):
        import pandas as pd

        from simlab.records import ERROR_NAMES, Outcome
        from simlab.result import OUTCOME_NAMES

        log, t = self.log, self._arrivals
        outcome = log.outcome(self.sim.duration)
        errors = np.array([ERROR_NAMES[Err(i)] for i in range(len(Err))], dtype=object)
        reps = len(self.job_times)
        started = np.isfinite(log.t_start)
        frame = pd.DataFrame({
            "deployment": self.name, "request_id": np.arange(log.n), "variant": "AllTraffic",
            "instance": log.instance, "t_arrival": t, "t_start": log.t_start, "t_done": log.t_done,
            "wait_ms": (log.t_start - t) * 1000.0,
            "model_ms": np.where(started, log.model_s * 1000.0, np.nan),
            "overhead_ms": np.where(started, log.overhead_s * 1000.0, np.nan),
            "latency_ms": (log.t_done - t) * 1000.0,
            "outcome": pd.Categorical.from_codes(outcome, list(OUTCOME_NAMES.values())),
            "error": errors[log.error], "cold_start": log.cold,
            "payload_kb": np.tile(self.input.nbytes, reps) / 1024.0,
            "row": np.tile(self.input.rows, reps), "model_version": log.model_version,
            "prediction": result.predictions[self.name], "measured": t >= self.sim.warmup,
            "record": np.tile(np.arange(len(self.input.nbytes)), reps),
        })
        frame.loc[outcome != Outcome.COMPLETED, "prediction"] = np.nan
        return frame

    def write_outputs(self, out_dir, result) -> list:
        """``{out}/batch/{name}/job-{k}.csv.out`` for every job that completed within the run:
        one line per record in input order (``input,output`` with JoinSource Input)."""
        folder = Path(out_dir) / "batch" / self.name
        preds = result.predictions[self.name]
        paths = []
        for job in self.jobs:
            if job.status == "Completed" and job.t_end <= self.sim.duration:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"job-{job.k}.csv.out"
                path.write_text("".join(self._output_lines(job, preds)), encoding="utf-8")
                paths.append(path)
        return paths

    def _output_lines(self, job: Job, preds: np.ndarray) -> list[str]:
        out = [f"{p:.10g}" for p in preds[job.lo:job.hi].tolist()]
        if self.config["join_source"] == "Input":
            out = [f"{x},{p}" for x, p in zip(self._input_text(job), out, strict=True)]
        return [line + "\n" for line in out]

    def _input_text(self, job: Job) -> list[str]:
        if self.input is not None:
            return self.input.text
        rows = self.sim.workload.row[job.lo:job.hi]
        X = self.sim.dataset.X
        texts = {int(r): _row_text(X[r]) for r in np.unique(rows)}
        return [texts[r] for r in rows.tolist()]


def _list_schedule(dur: np.ndarray, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start time and worker of each task, taken in order by the earliest-free worker."""
    free = [(0.0, w) for w in range(workers)]
    start = np.empty(dur.size)
    worker = np.empty(dur.size, dtype=np.int64)
    for b, d in enumerate(dur.tolist()):
        f, w = free[0]
        start[b], worker[b] = f, w
        heapq.heapreplace(free, (f + d, w))
    return start, worker
