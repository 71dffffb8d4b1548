"""Generate labs/03_batch_and_async.ipynb (stored without outputs).

    python labs/_build_03.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/03_batch_and_async.ipynb``);
this script only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("03_batch_and_async.ipynb")

nb = Notebook(OUT, "lab03")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 03 · Batch transform and async inference: when the answer can wait

A real-time endpoint is built for a caller who waits for the answer, so its instances run all the
time, whether requests come or not. Many predictions are not like that. A risk score that is read
tomorrow morning, or a transcript that is ready "in a few minutes", does not need an HTTP
response within 60 ms. Once the caller stops waiting, the work can be **queued and run when it
suits**, and you pay only while instances are actually working.

SageMaker offers two ways to do this, and this lab looks at both:

1. **Batch transform** runs a job over a whole dataset, for example every night, and then shuts
   its instances down. We compare it with an always-on endpoint on the *same* requests, see how
   the job's duration depends on the number of instances, and check the predictions it writes.
2. **Asynchronous inference** puts a queue in front of an endpoint. It accepts payloads of up to
   1 GB and model times of up to an hour, and it can **scale to zero** when the queue is empty.
   We watch the backlog and the fleet over two days and price the result.

In both cases you give up latency: results arrive minutes or hours later, not milliseconds. The
lab shows how much latency you give up and how much money you save. There is one exercise, with a
check cell.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/03_batch_and_async.ipynb`
(about 10 s).
""")

code(r"""
%matplotlib inline
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simlab
from simlab import facts
from simlab.scenario import scenario_from_dict

T_START = time.perf_counter()
HOUR, DAY, MONTH_DAYS = 3600.0, 86400.0, 30

RECORD_MS = 40            # mean model time per record (lognormal), the same for endpoint and job
STARTUP_S = 300           # batch job start-up: provisioning, container start, model download
CONCURRENCY = 4           # MaxConcurrentTransforms: one mini-batch per vCPU of an ml.m5.xlarge
ENDPOINT_TYPE, BATCH_TYPE = "ml.m5.large", "ml.m5.xlarge"
PRICE = {t: facts.instance(t).price_per_hour for t in (ENDPOINT_TYPE, BATCH_TYPE)}

# One day of traffic: a daily wave between 0.5 and 5 requests/s, peaking at 14:00 (≈ 240,000 a day).
TRAFFIC = {"arrivals": "diurnal", "trough_rate_per_s": 0.5, "peak_rate_per_s": 5,
           "peak_at": "14h", "payload_kb": 2}
SERVICE = {"dist": "lognormal", "mean_ms": RECORD_MS, "cv": 0.5}


def endpoint(name="always-on"):
    # The smallest sensible real-time endpoint: one instance, two workers, running 24/7.
    return {"name": name, "type": "real_time_endpoint", "instance_type": ENDPOINT_TYPE,
            "instance_count": 1, "workers_per_instance": 2, "service_time": SERVICE}


def nightly(name="nightly", instances=1, **extra):
    # A batch transform job every night at 02:00 that scores the requests of the last 24 hours.
    cfg = {"name": name, "type": "batch_transform", "instance_type": BATCH_TYPE,
           "instance_count": instances, "max_concurrent_transforms": CONCURRENCY,
           "max_payload_mb": 6, "batch_strategy": "MultiRecord", "split_type": "Line",
           "startup": f"{STARTUP_S}s", "minibatch_overhead_ms": 10, "service_time": SERVICE,
           "schedule": {"every": "1d", "at": "2h"}}
    return cfg | extra


def one_day(*deployments, traffic=TRAFFIC):
    # 28 hours: jobs at 02:00 on day 0 (the first 2 hours only) and at 02:00 on day 1, which
    # scores one full day of requests. We study the second one.
    return scenario_from_dict({"name": "lab03-nightly", "duration": "28h", "seed": 3,
                               "model": "breast_cancer_logreg", "workload": traffic,
                               "deployments": list(deployments)})


def clock(t):
    # Seconds since the start of the run as "day D HH:MM".
    return f"day {int(t // DAY)} {int(t % DAY // HOUR):02d}:{int(t % HOUR // 60):02d}"


def find_up(name):
    # labs/ runs from the repo or from labs/: look in the working directory and its parents.
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / name).exists():
            return d / name
    raise FileNotFoundError(name)


print(f"simlab {simlab.__version__}; {ENDPOINT_TYPE} ${PRICE[ENDPOINT_TYPE]}/h, "
      f"{BATCH_TYPE} ${PRICE[BATCH_TYPE]}/h")
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · Nightly scoring: batch transform vs an always-on endpoint

### Vocabulary

* A **transform job** (`CreateTransformJob`) reads its input from S3, starts
  `InstanceCount` instances, scores every record and writes the outputs back to S3. Then the
  instances stop. You pay for instance time from start to end, **start-up included**. AWS
  publishes no start-up figure; simlab assumes 5 minutes (provisioning, container, model).
* `SplitType: Line` cuts the input into records, one per line. `BatchStrategy: MultiRecord`
  packs as many records as fit into a **mini-batch** of at most `MaxPayloadInMB` (6 MB by
  default) and sends each mini-batch to the model container as one request.
* `MaxConcurrentTransforms` is how many mini-batches one instance works on at once. We use 4, one
  per vCPU of an ml.m5.xlarge. (simlab does not model CPU contention, so choosing more than the
  vCPUs would flatter the job.)

**A back-of-the-envelope model.** With R records of t seconds each, n instances and c concurrent
transforms per instance, the job's n·c workers share R·t seconds of work:

$$\text{duration} \approx \text{start-up} + \frac{R\,t}{n\,c}.$$

### Experiment 1a: one day of requests, two ways to answer them

One scenario, two deployments, and the **same** request stream for both. The endpoint answers
every request as it arrives. The nightly job collects the requests and scores them all at 02:00
the next night. `model_ms` uses the same random draw for a request in both deployments (common
random numbers), so the only difference is *when* the work is done.
""")

code(r"""
day = simlab.run(one_day(endpoint(), nightly()))
job_dep = day.deployments["nightly"]
jobs = pd.DataFrame([{
    "job": j.k, "submitted": clock(j.t_submit), "records": j.hi - j.lo,
    "start-up s": float(job_dep.startup_s[j.k]), "duration min": j.duration_s / 60,
    "formula min": (STARTUP_S + (j.hi - j.lo) * RECORD_MS / 1000 / CONCURRENCY) / 60,
    "ends": clock(j.t_end), "status": j.status, "cost $": job_dep.job_cost_usd(j)}
    for j in job_dep.jobs]).set_index("job")
jobs.round(3)
""")

md(r"""
Job 0 runs at 02:00 on the first night and only has the two hours since midnight to score. **Job 1**
scores a full day, from 02:00 to 02:00, and is the one we compare. It takes about 46 minutes,
slightly more than the formula says. We come back to that gap in experiment 1b.

Now the comparison for that day. The endpoint is billed for 24 hours whether it works or not.
The job is billed only for its 46 minutes, but every result arrives after the job ends.
""")

code(r"""
job1 = job_dep.jobs[1]
rq = day.requests
ep_day = rq[(rq.deployment == "always-on") & (rq.t_arrival >= job1.t_submit - DAY)
            & (rq.t_arrival < job1.t_submit)]
batch_day = rq[(rq.deployment == "nightly") & (rq.job == 1)]
ep_summary = day.summary()["deployments"]["always-on"]

compare = pd.DataFrame({
    "always-on endpoint": {
        "requests scored": len(ep_day),
        "instance-hours per day": 24.0,
        "cost per day $": 24 * PRICE[ENDPOINT_TYPE],
        "cost per month $": MONTH_DAYS * 24 * PRICE[ENDPOINT_TYPE],
        "busy (utilization)": ep_summary["utilization"],
        "p50 latency": f"{ep_day.latency_ms.median():.0f} ms",
        "p99 latency": f"{ep_day.latency_ms.quantile(0.99):.0f} ms"},
    "nightly batch job": {
        "requests scored": len(batch_day),
        "instance-hours per day": job1.duration_s / HOUR * job_dep.config["instance_count"],
        "cost per day $": job_dep.job_cost_usd(job1),
        "cost per month $": MONTH_DAYS * job_dep.job_cost_usd(job1),
        "busy (utilization)": (batch_day.model_ms.sum() / 1000)
                              / (job1.duration_s * CONCURRENCY * job_dep.config["instance_count"]),
        "p50 latency": f"{batch_day.latency_ms.median() / 3.6e6:.1f} h",
        "p99 latency": f"{batch_day.latency_ms.quantile(0.99) / 3.6e6:.1f} h"},
})
compare
""")

code(r"""
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
hours = np.arange(0, 29)
counts, _ = np.histogram(rq[rq.deployment == "always-on"].t_arrival / HOUR, bins=hours)
ax1.bar(hours[:-1], counts, width=1, align="edge", color="C0", alpha=0.6, label="requests per hour")
for k, j in enumerate(job_dep.jobs):
    ax1.axvspan(j.t_submit / HOUR, j.t_end / HOUR, color="C3", alpha=0.3,
                label="batch job running (billed)" if k == 0 else None)
ax1.set(xlabel="hour of the run", ylabel="requests per hour",
        title="The endpoint is billed all 28 h; the job only while it runs")
ax1.legend(loc="upper left", fontsize=8)

sample = batch_day.iloc[::50]
ax2.plot(sample.t_arrival / HOUR, sample.latency_ms / 3.6e6, ".", ms=2, color="C3",
         label="nightly job: job end − arrival")
ax2.axhline(ep_day.latency_ms.quantile(0.99) / 3.6e6, color="C0",
            label=f"endpoint p99 ({ep_day.latency_ms.quantile(0.99):.0f} ms)")
ax2.set(xlabel="arrival (hour of the run)", ylabel="latency (hours)",
        title="When does each request get its answer?")
ax2.legend(fontsize=8)
plt.show()
""")

md(r"""
**What to notice**

* The endpoint is busy about **5 %** of the time. That is what a low-traffic, always-on endpoint
  looks like: you pay for the 95 % it waits.
* The job does the same work in under an hour at almost 90 % utilization, and costs
  **~15× less** per day. Over a month that is a few dollars against about eighty.
* The price is latency. A request that arrives just after 02:00 waits almost 25 hours for its
  answer, and the median request waits about 13 hours. If somebody is waiting for the answer
  (a checkout, a chat reply), batch transform is not an option, however cheap it is.
* Batch transform is not bound by the 6 MB and 60 s limits of a real-time request. The input
  file can be as large as you like, because the job cuts it into mini-batches itself. Each
  mini-batch has limits of its own, though (see experiment 1b).

### The predictions are real, and they are the same

The job writes one output file per input file. simlab writes the file of job 1 as SageMaker does:
one line per record, **in input order** (`AssembleWith: Line`). With `JoinSource: Input` each
output line would also carry its input features; here it holds the score alone. The model is a
real scikit-learn logistic regression on the breast-cancer data, and the output is P(class 1).
Batch and real-time must agree record for record, because the model and the rows are the same.
""")

code(r"""
with tempfile.TemporaryDirectory() as tmp:
    paths = job_dep.write_outputs(tmp, day)          # what `simlab simulate --out DIR` writes
    out = next(p for p in paths if p.name == "job-1.csv.out")
    lines = out.read_text().splitlines()
    where = out.relative_to(tmp)

batch_scores = np.array([float(line) for line in lines])
ep_all = rq[rq.deployment == "always-on"]             # one row per request, in request order
same_requests = ep_all.iloc[job1.lo:job1.hi]
labels = day.sim.dataset.y[same_requests.row.to_numpy()]

print(f"{where}: {len(lines):,} lines, one per record of job 1, in input order")
print("first lines:", lines[:3])
assert len(lines) == job1.hi - job1.lo
assert np.allclose(batch_scores, same_requests.prediction.to_numpy(), rtol=1e-9, atol=0)
print("identical to the endpoint's predictions for the same requests: yes")
print(f"accuracy of the night's scores against the true labels: "
      f"{((batch_scores > 0.5) == labels).mean():.3f}")
""")

md(r"""
### Experiment 1b: how many instances?

More instances finish sooner. Do they cost more? We put six jobs with 1 to 8 instances into **one**
scenario, so all of them score exactly the same day of requests, and compare each one with the
formula. A second set of jobs uses 1 MB mini-batches instead of 6 MB.
""")

code(r"""
COUNTS = (1, 2, 3, 4, 6, 8)
sweep = simlab.run(one_day(*[nightly(f"n{n}", n) for n in COUNTS],
                           *[nightly(f"n{n}-1mb", n, max_payload_mb=1) for n in COUNTS]))
R = job1.hi - job1.lo
rows = []
for n in COUNTS:
    d6, d1 = sweep.deployments[f"n{n}"], sweep.deployments[f"n{n}-1mb"]
    j6, j1 = d6.jobs[1], d1.jobs[1]
    rows.append({"instances": n,
                 "formula min": (STARTUP_S + R * RECORD_MS / 1000 / (n * CONCURRENCY)) / 60,
                 "simulated min (6 MB)": j6.duration_s / 60,
                 "simulated min (1 MB)": j1.duration_s / 60,
                 "mini-batches (6 MB)": int(np.ceil(R * 2048 / (6 * 2**20))),
                 "cost per night $": d6.job_cost_usd(j6),
                 "cost per month $": MONTH_DAYS * d6.job_cost_usd(j6)})
sizing = pd.DataFrame(rows).set_index("instances")
sizing.round(3)
""")

code(r"""
n_grid = np.linspace(1, 8, 100)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
ax1.plot(n_grid, (STARTUP_S + R * RECORD_MS / 1000 / (n_grid * CONCURRENCY)) / 60, color="grey",
         label="formula: start-up + R·t / (n·c)")
ax1.plot(sizing.index, sizing["simulated min (6 MB)"], "o", color="C3", label="simulated, 6 MB mini-batches")
ax1.plot(sizing.index, sizing["simulated min (1 MB)"], "s", color="C2", label="simulated, 1 MB mini-batches")
ax1.axhline(STARTUP_S / 60, color="grey", ls=":", label="start-up alone")
ax1.set(xlabel="instances n", ylabel="job duration (min)", title=f"{R:,} records, {RECORD_MS} ms each")
ax1.legend(fontsize=8)
ax2.bar(sizing.index.astype(str), sizing["cost per night $"], color="C3", alpha=0.7)
ax2.set(xlabel="instances n", ylabel="cost per night ($)",
        title=f"Cost per night (the endpoint: ${24 * PRICE[ENDPOINT_TYPE]:.2f} a day)")
plt.show()
""")

md(r"""
**What to notice**

* The formula is a good first estimate. The simulated jobs are up to a minute or two slower,
  for a reason the formula hides: a 6 MB mini-batch holds about 3,000 records and takes about 2 minutes.
  The job ends only when its *last* mini-batch ends, so in the final round some workers sit idle
  while others finish. 1 MB mini-batches (about 20 s each) balance the work better and land
  close to the formula.
* Start-up sets a floor. The work shrinks like 1/n, the 5 minutes of start-up do not: with 8
  instances, half of the job is start-up.
* The cost hardly grows with n. Instance-minutes of *work* are the same however you split them,
  and each extra instance adds only its own start-up (and its idle end). So if a deadline matters,
  more instances cost little extra.

**One more limit: a mini-batch must finish within `InvocationsTimeoutInSeconds`** (600 s by
default, at most 3600 s). With a slower model, 200 ms per record, a 6 MB mini-batch needs about
10 minutes, and the whole job fails. Smaller mini-batches fix it:
""")

code(r"""
slow_model = {"dist": "lognormal", "mean_ms": 200, "cv": 0.5}
slow = simlab.run(one_day(nightly("slow-6mb", 4, service_time=slow_model),
                          nightly("slow-2mb", 4, service_time=slow_model, max_payload_mb=2)))
for name, s in slow.summary()["deployments"].items():
    status = s["job_failures"][-1]["reason"] if s["job_failures"] else "all jobs completed"
    print(f"{name}: {s['completed']:,} records scored, {s['failed']:,} failed; {status}")
""")

md(r"""
### Exercise 1 — meet a one-hour deadline

The business grows: every day brings **four times** as many requests (the same daily wave between
2 and 20 requests/s, about 950,000 records a night). The scores must be in S3 **within one hour**
of the job's submission at 02:00. Same model (40 ms per record), same ml.m5.xlarge with 4
concurrent transforms, same 5-minute start-up. What is the **smallest instance count** that
meets the deadline?

Start from the formula, then check the mini-batch effect with a simulation if you like
(`one_day(nightly(...), traffic=BUSY)` runs it). Put your number in the next cell and run the
check cell after it.
""")

code(r"""
answer_instances = None  # your instance count, e.g. 5
""")

code(r"""
BUSY = TRAFFIC | {"trough_rate_per_s": 2.0, "peak_rate_per_s": 20.0}
DEADLINE_S = HOUR
_busy_night = {}


def busy_night_minutes(counts=(1, 2, 3, 4, 5, 6)):
    # Job 1's duration for each instance count: all on one busy day of requests (cached).
    if not _busy_night:
        res = simlab.run(one_day(*[nightly(f"n{n}", n) for n in counts], traffic=BUSY))
        for n in counts:
            j = res.deployments[f"n{n}"].jobs[1]
            _busy_night[n] = (j.duration_s / 60, j.hi - j.lo)
    return _busy_night


def check_instances(answer):
    if answer is None:
        print("not yet: set answer_instances in the cell above, then run this cell again")
        return False
    nights = busy_night_minutes()
    truth = min(n for n, (minutes, _) in nights.items() if minutes * 60 <= DEADLINE_S)
    if int(answer) == truth:
        print(f"correct: {truth} instances finish {nights[truth][1]:,} records in "
              f"{nights[truth][0]:.1f} min; {truth - 1} need {nights[truth - 1][0]:.1f} min")
        return True
    if int(answer) < truth:
        minutes = nights.get(int(answer), (float("inf"),))[0]
        print(f"not yet: with {answer} instances the job takes {minutes:.0f} min, over the hour")
    else:
        print(f"not yet: {answer} instances meet the deadline, but fewer do too, and each extra "
              f"instance pays for its own start-up")
    return False


check_instances(answer_instances)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

The start-up uses 5 of the 60 minutes, which leaves 3,300 s for the work:
n ≥ R·t / (c · 3300 s) = 950,000 × 0.04 / (4 × 3300) ≈ 2.9, so **3 instances**. The simulation
agrees: 3 instances take about 58 minutes (the mini-batch rounding costs less than a minute), and
2 instances take about 85.
</details>
""")

code(r"""
records = busy_night_minutes()[1][1]
solution_instances = int(np.ceil(records * RECORD_MS / 1000 / (CONCURRENCY * (DEADLINE_S - STARTUP_S))))
assert solution_instances == 3
assert check_instances(solution_instances)
""", solution=True)

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · Large payloads and long jobs: async inference that scales to zero

Batch transform suits work that can wait for the next scheduled job. Sometimes requests arrive
at unpredictable times, carry **tens of megabytes** (documents, audio, images), take **minutes**
each, and the caller can wait minutes but not a day. A real-time endpoint cannot take them:

| limit | real-time endpoint | async inference |
|---|---|---|
| request payload | 6 MiB (`InvokeEndpoint` body) | 1 GB (the input is a file in S3) |
| processing time | 60 s | `InvocationTimeoutSeconds`, up to 3600 s |
| queue | none (the caller waits) | an internal FIFO queue, with a TTL per request |
| fewest instances | 1 | **0**, with auto scaling `MinCapacity: 0` |

The exam notes give the real-time payload limit as 25 MB. The API (`InvokeEndpoint` in botocore)
allows 6 MiB, and simlab uses the API's value. See `docs/facts.md`.

`scenarios/large-payload-async.yaml` sends bursts of such requests: about 3 a minute while a burst
lasts (30 minutes on average), nothing for about 3 hours between bursts. Payloads average 30 MiB,
and model times average 40 s but vary widely. Three deployments see the identical stream:

* `async-zero`: async, scaling between **0** and 4 ml.m5.xlarge instances;
* `async-always-on`: async, with 2 instances that never scale;
* `realtime`: a real-time endpoint with 2 instances.
""")

code(r"""
big_sc = simlab.load_scenario(find_up("scenarios/large-payload-async.yaml"))
big = simlab.run(big_sc)                              # the scenario's own seed (5), 2 days
days = big_sc.duration / DAY
rows = {}
for name, s in big.summary()["deployments"].items():
    rows[name] = {"arrived": s["arrived"], "completed": s["completed"],
                  "413 too large": s["errors"].get("payload_too_large", 0),
                  "timed out": s["errors"].get("timeout", 0),
                  "p50 latency s": s["latency_ms"]["p50"] / 1000,
                  "p99 latency s": s["latency_ms"]["p99"] / 1000,
                  "avg instances": s["instance_hours"] / (big_sc.duration / HOUR),
                  f"cost for {days:g} days $": s["cost_usd"],
                  "cost per month $": s["cost_usd"] * MONTH_DAYS / days}
pd.DataFrame(rows).T.round(2)
""")

code(r"""
limit = facts.limit("real_time_endpoint.max_payload_bytes")
notes = facts.limits()["real_time_endpoint.max_payload_bytes"].notes_claim
brq = big.requests
rt = brq[brq.deployment == "realtime"]
size = rt.payload_kb * 1024
print(f"payloads above the real-time limit of {limit:,} bytes (6 MiB): {(size > limit).mean():.0%}")
print(f"the exam notes' claim: {notes}")
print(f"payloads above 25 MB, rejected even under that claim: {(size > 25e6).mean():.0%}")
print("errors the real-time endpoint recorded:")
print(rt.error[rt.error != ""].astype(str).value_counts().to_string())
az = brq[brq.deployment == "async-zero"]
print(f"model time above 60 s (served by async, a timeout for real-time): {(az.model_ms > 60e3).mean():.0%}")
""")

md(r"""
The real-time endpoint answers only a handful of requests. Nearly all are rejected at once with
**413 ValidationError**, and several of the few that fit run longer than 60 s (**ModelError**,
a timeout). Even the notes' 25 MB would reject about 40 % of these payloads. Both async endpoints
serve everything. What is left to compare is their latency and their cost.

### How scaling to zero works

The async auto scaler looks at the queue. simlab follows the AWS developer guide:

* **ApproximateBacklogSize** = requests queued *or being processed*.
* **Target tracking** on ApproximateBacklogSizePerInstance (target 5 here, evaluated on the
  one-minute average) adds instances when the backlog per instance stays above the target for 3
  minutes, and removes them after 15 minutes below 90 % of it. It can scale in to zero.
* From zero it cannot scale out, since there is no instance to divide by. A second policy does
  that: a step-scaling alarm on **HasBacklogWithoutCapacity** (1 when requests are waiting and no
  instance is in service). After **2** one-minute datapoints of 1 it adds one instance, which
  serves after the 5-minute start-up.

`res.metrics` holds these metrics per minute, as CloudWatch would show them.
""")

code(r"""
m = big.metrics.set_index("minute")
zero, fixed = m[m.deployment == "async-zero"], m[m.deployment == "async-always-on"]
hrs = zero.t_s / HOUR

fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=False)
axes[0].plot(hrs, zero.ApproximateBacklogSize, color="C1", label="async-zero")
axes[0].plot(hrs, fixed.ApproximateBacklogSize, color="C2", alpha=0.7, label="async-always-on")
axes[0].set(ylabel="ApproximateBacklogSize", title="Two days: bursts, backlog and fleet")
axes[1].step(hrs, zero.InstanceCount, where="post", color="C1", label="async-zero")
axes[1].step(hrs, fixed.InstanceCount, where="post", color="C2", label="async-always-on")
axes[1].set(ylabel="InstanceCount", xlabel="hour of the run")
for ax in axes[:2]:
    ax.legend(loc="upper right", fontsize=8)

first_burst = zero.index[zero.Invocations > 0][0]
z = zero.loc[first_burst - 5: first_burst + 70]
ax = axes[2]
ax.bar(z.index, z.Invocations, width=1, color="grey", alpha=0.4, label="requests arriving")
ax.plot(z.index + 1, z.ApproximateBacklogSize, color="C1", label="backlog (end of minute)")
ax.step(z.index, z.InstanceCount * 5, where="post", color="C0",
        label="instances in service × target (5)")
alarm = z[z.HasBacklogWithoutCapacity == 1]
ax.plot(alarm.index + 1, np.full(len(alarm), 28.0), "v", color="C3",
        label="HasBacklogWithoutCapacity = 1")
ax.set(xlabel="minute of the run", ylabel="requests", title="Zoom: the first burst")
ax.legend(loc="upper right", fontsize=8)
plt.tight_layout()
plt.show()
""")

md(r"""
**Read the zoom from left to right**

1. The first request arrives with no instance running. At the next two minute boundaries,
   HasBacklogWithoutCapacity is 1, so the step alarm fires and asks for one instance.
2. While that instance starts, target tracking sees the backlog (the backlog itself while no
   instance is in service) above 5 for 3 minutes, and asks for ⌈backlog / 5⌉ instances, at most 4.
   They too serve 5 minutes after the decision.
3. The fleet works through the queue. Once it has been empty for long enough (15 low datapoints,
   and the 10-minute scale-in cooldown), the fleet goes back to **zero** and billing stops.

So the first request of a burst waits for two alarm datapoints plus the start-up. The two
datapoints are taken at the next two minute boundaries after it arrives, so it waits about 6 to 7
minutes before it is even started. Let's check that prediction for every burst in the two days:
""")

code(r"""
dz = big.deployments["async-zero"]
auto = big_sc.deployments[0]["autoscaling"]
az = az.sort_values("t_arrival")
t = az.t_arrival.to_numpy()
quiet_before = np.diff(t, prepend=-np.inf) > 600             # nothing in the previous 10 min
first = az[(dz.in_service_at(t) == 0) & quiet_before].copy()
first["predicted start"] = (np.ceil(first.t_arrival / 60) * 60                # 1st datapoint
                            + 60 * (auto["scale_from_zero_datapoints"] - 1)  # 2nd: alarm
                            + auto["instance_startup"])                      # start-up
first["simulated start"] = first.t_start
first["wait min"] = first.wait_ms / 60e3
first["arrived"] = first.t_arrival.map(clock)
assert np.allclose(first["predicted start"], first["simulated start"])
first[["arrived", "predicted start", "simulated start", "wait min"]].round(2)
""")

md(r"""
Every burst matches the prediction to the second. Now the money, for a month at this rate:
""")

code(r"""
month = {name: s["cost_usd"] * MONTH_DAYS / days for name, s in big.summary()["deployments"].items()}
lat = {name: big.summary()["deployments"][name]["latency_ms"] for name in month}
print(f"async, scale to zero : ${month['async-zero']:7.2f}/month, "
      f"p50 {lat['async-zero']['p50'] / 60e3:.1f} min, p99 {lat['async-zero']['p99'] / 60e3:.1f} min")
print(f"async, 2 always on   : ${month['async-always-on']:7.2f}/month, "
      f"p50 {lat['async-always-on']['p50'] / 60e3:.1f} min, p99 {lat['async-always-on']['p99'] / 60e3:.1f} min")
print(f"real-time, 2 always on: ${month['realtime']:7.2f}/month for "
      f"{big.summary()['deployments']['realtime']['completed']} of {len(rt)} requests")
print(f"scaling to zero saves {1 - month['async-zero'] / month['async-always-on']:.0%}")
""")

md(r"""
**What to notice**

* The fleet that scales to zero averages under half an instance, and costs about **a quarter** of
  two always-on instances. The bursts fill only about 15 % of the day.
* It is slower: every burst starts with 6–7 minutes of alarm and start-up, and the p50 latency
  roughly doubles. Requests that arrive minutes apart and take ~40 s each can afford that. A
  caller who waits on an open HTTP connection could not.
* Latency here is measured from submission to the end of processing. The caller learns about
  the result from an SNS notification or by polling the output location in S3. simlab models
  neither of these, nor the S3 transfer time.
* Long-running requests also need a **TTL** (`request_ttl`, up to 6 h). A request that waits
  longer than that in the queue expires (ExpiredRequests). No request expires in this scenario.
  Set `max_instances` so the worst backlog drains well within the TTL.

## Takeaways

1. If nobody waits for the answer, don't pay an instance to wait for requests. A nightly
   **batch transform** scores a day's requests for a few percent of an always-on endpoint's cost.
   The results arrive hours later.
2. A job's duration ≈ start-up + records × time / (instances × concurrency). More instances
   barely change the cost, so size for the deadline. Keep mini-batches small enough to balance
   the last round, and to stay under the invocation timeout.
3. **Async inference** handles what real-time cannot (payloads above 6 MiB, model times above
   60 s), queues bursts, and scales to **zero**. The HasBacklogWithoutCapacity step policy brings
   it back, after about 2 minutes of alarm and the start-up. Choose it when minutes of latency are
   acceptable and traffic comes in bursts.

Next: try `simlab simulate scenarios/nightly-batch.yaml`, or give `async-zero` a
`min_instances: 1` in a copy of `scenarios/large-payload-async.yaml` and compare the cost with
the first-request wait.
""")

code(r"""
print(f"lab ran in {time.perf_counter() - T_START:.1f} s")
""")

nb.write()
