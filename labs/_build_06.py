"""Generate labs/06_monitoring_delayed_ground_truth.ipynb (stored without outputs).

    python labs/_build_06.py

The notebook is the artifact CI runs
(``pytest --nbval-lax labs/06_monitoring_delayed_ground_truth.ipynb``); this script only keeps its
source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("06_monitoring_delayed_ground_truth.ipynb")

nb = Notebook(OUT, "lab06")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 06 · Monitoring when the labels arrive late

A fraud model scores a card payment in milliseconds. Whether that payment really was fraud is
known only days later, after a chargeback or an investigation. SageMaker Model Monitor has
monitors for both sides of that gap:

* **data quality** compares the captured *inputs* with the training baseline. It needs no labels,
  so it can alarm in the first scheduled run after the inputs change;
* **model quality** compares captured *predictions* with *ground truth* labels. It measures what
  you actually care about (accuracy, precision, recall…), but only once those labels have
  arrived.

The one idea of this lab: **a monitor can only alarm on evidence it already has.** Each monitor
has a blind spot, and the label delay sets how long the slow one stays blind. We will:

1. look at the real file formats a monitoring pipeline handles (a captured request, a late label,
   a `constraint_violations.json`);
2. draw the timeline of a fraud scenario: drift starts, data quality alarms, CBPE estimates
   accuracy, realised accuracy becomes visible only as labels arrive;
3. work out *when* model quality can alarm at the earliest, and check it in the simulation;
4. show a change that data quality cannot see at all (concept drift), and a change that does not
   hurt accuracy but still sets data quality off;
5. tabulate time to detect and the requests served in the meantime.

Everything runs on simlab's simulated clock with a real scikit-learn model: a simulated week takes
a few seconds. One exercise at the end checks your answer.

*Run it:* open it in Jupyter, or run
`pytest --nbval-lax labs/06_monitoring_delayed_ground_truth.ipynb` (about 15 s).
""")

code(r"""
%matplotlib inline
import copy
import json
import tempfile
import time
from functools import cache
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simlab
from simlab.drift import describe
from simlab.scenario import scenario_from_dict

T_START = time.perf_counter()
H, D = 3600.0, 86400.0      # simulated seconds in an hour and a day


def find_up(name):
    # labs/ runs from the repo or from labs/: look in the working directory and its parents.
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / name).exists():
            return d / name
    raise FileNotFoundError(name)


FRAUD = simlab.load_scenario(find_up("scenarios/fraud-drift.yaml"))
DRIFT = FRAUD.raw["workload"]["drift"]                     # the events as written in the file
COVARIATE = [e for e in DRIFT if "concept" not in e]       # day 2: three inputs shift
CONCEPT = [e for e in DRIFT if "concept" in e]             # day 3: 20 % of labels flip


def fraud(drift=None, delay=None, window=None):
    # A copy of fraud-drift.yaml with other drift events, label delay or model-quality window.
    raw = copy.deepcopy(FRAUD.raw)
    if drift is not None:
        raw["workload"]["drift"] = drift
    if delay is not None:
        raw["ground_truth"]["delay"] = delay
    if window is not None:
        mq = next(m for m in raw["deployments"][0]["monitors"] if m["type"] == "model_quality")
        mq["start_offset"], mq["end_offset"] = window
    return scenario_from_dict(raw, file="fraud-variant.yaml")


def dur(seconds):
    # 273600 -> "3 d 4 h"; NaN -> "never"
    if seconds != seconds:
        return "never"
    d, h = divmod(int(round(seconds / H)), 24)
    return " ".join(part for part in (f"{d} d" * (d > 0), f"{h} h" * (h > 0)) if part) or "0 h"


print(f"simlab {simlab.__version__}")
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · The scenario

`scenarios/fraud-drift.yaml` stands a breast-cancer classifier in for a fraud model (class 1 =
legitimate). It serves 0.2 requests/s for a simulated week, and half of the requests are
captured. Two things go wrong:

* **day 2, covariate shift.** An upstream pipeline change shifts three inputs. The rows keep their
  true labels, because the world did not change, only the data describing it.
* **day 3, concept drift.** The fraudsters adapt: 20 % of the labels flip while the inputs stay
  exactly as before. P(y | x) has changed.

Labels arrive **3 days** after each request, for 80 % of requests. Four monitors watch the
endpoint:
""")

code(r"""
print("drift events:")
for e in FRAUD.workload["drift"]:
    print(f"  day {e['at'] / D:g}: {describe(e)}" + (f" (ramp {dur(e['ramp'])})" if e["ramp"] else ""))
gt = FRAUD.ground_truth
print(f"ground truth: {gt['coverage']:.0%} of requests, {dur(gt['delay'].mean)} after the request")
print("monitors:")
for mon in FRAUD.deployments[0]["monitors"]:
    window = ""
    if mon["type"] == "model_quality":
        window = f", window [t {mon['start_offset'] / D:+g} d, t {mon['end_offset'] / D:+g} d)"
    print(f"  {mon['type']:26s} {mon['schedule'].text}{window}")

res = simlab.run(FRAUD)             # the scenario's own seed (11)
m = res.monitoring
m.executions.groupby("monitor").status.value_counts().unstack(fill_value=0)
""")

md(r"""
Every execution is a row of `m.executions`. The 72 failed model-quality executions are the
first three days: until day 3 the window `[t − 4 d, t − 3 d)` lies before the endpoint served
its first request, so there is nothing to join (status `Failed`, reason `NoData`, simlab's
rendering of a Model Monitor job that found no input). Expect a model-quality monitor to look
broken for the first label delay after a deployment.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · What the monitors read and write

With `res.write(dir)` (or `simlab simulate … --out dir`) simlab writes the same files a SageMaker
monitoring pipeline handles, with paths partitioned by hour. We write them to a temporary
directory and look at one of each:

* a **capture record** (`capture/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl`): the request's CSV
  input, the model's output (P(class 1)), and the request's `inferenceId` and time. The simulated
  clock starts at 2026-01-01T00:00:00Z;
* the **ground-truth record** for that request (`ground_truth/yyyy/mm/dd/hh/*.jsonl`): partitioned
  by the hour the label *arrived*, three days later. Model Monitor joins it to the capture record
  on `inferenceId` = `eventId`;
* a **`constraint_violations.json`** from data quality (per feature) and one from model quality
  (per metric).
""")

code(r"""
def first_line(path):
    with open(path, encoding="utf-8") as fh:
        return json.loads(fh.readline())


with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    res.write(root)
    # one request captured in the first hour of day 2 (2026-01-03, just after the shift)
    capture_file = sorted((root / "capture").glob("*/*/2026/01/03/00/*.jsonl"))[0]
    with open(capture_file, encoding="utf-8") as fh:
        captured = [json.loads(line) for line in fh]
    # its labels arrive 3 days later: look in the partitions of 2026-01-06 00:00
    labels = {}
    for f in sorted((root / "ground_truth").glob("2026/01/06/0[01]/*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                labels[rec["eventMetadata"]["eventId"]] = (rec, f.relative_to(root))
    record = next(r for r in captured if r["eventMetadata"]["inferenceId"] in labels)
    label, label_path = labels[record["eventMetadata"]["inferenceId"]]
    violations = {}
    for monitor in ("data_quality", "model_quality"):
        reports = sorted((root / "monitoring").glob(f"*/{monitor}/**/constraint_violations.json"))
        first = next(p for p in reports if json.loads(p.read_text())["violations"])
        violations[monitor] = (first.relative_to(root), json.loads(first.read_text()))
    n_files = sum(1 for _ in root.rglob("*") if _.is_file())

print(f"{n_files} files written; capture record from {capture_file.relative_to(root)}:")
print(json.dumps(record, indent=2))
ds = res.sim.dataset
sent = np.array(record["captureData"]["endpointInput"]["data"].split(","), dtype=float)
for e in COVARIATE:
    j = ds.feature_names.index(e["feature"])
    col = ds.X[ds.train_idx, j]
    print(f"  {e['feature']:15s} sent {sent[j]:9.4g}   training mean {col.mean():9.4g} ± {col.std():.2g}")
print(f"\nits label, from {label_path}:")
print(json.dumps(label))
""")

code(r"""
for monitor, (path, doc) in violations.items():
    print(f"first {monitor} report with violations: {path}")
    print(json.dumps({"violations": doc["violations"][:3]}, indent=2))
    if len(doc["violations"]) > 3:
        print(f"  … {len(doc['violations']) - 3} more")
""")

md(r"""
**Reading the files**

* The captured input is the raw CSV the client sent, in baseline column order and without a
  header. Two of the shifted features already sit 2–4 standard deviations from the training
  mean; `mean radius` ramps in over 6 hours, so one second after the change it still looks
  normal. The output is the model's P(class 1). No label appears anywhere in the capture.
* The label for `req-…` sits in a partition three days *later* than the request. A model-quality
  job that runs before that hour cannot join this request; it does not know the outcome yet.
* The data-quality report names **features** (`baseline_drift_check`, the Kolmogorov–Smirnov
  distance between this hour's inputs and the training data). The model-quality report names a
  **metric** (`LessThanThreshold`). Notice the dates in their paths: 2026-01-03 01:00, one hour
  after the shift, and 2026-01-07 08:00, more than four days after the concept drift.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 3 · The timeline

Now put every monitor on one clock. The top panel shows what data quality sees: the largest
drift distance over the 30 features, per hourly execution. The bottom panel shows four views of
accuracy:

* **realised accuracy** (grey): every served request against its true label, by request time.
  This is an oracle view that no monitor has (`m.accuracy_over_time()`);
* **CBPE** (blue): the accuracy the model's own probabilities promise, the mean of max(p, 1 − p)
  over the last hour. It needs no labels (confidence-based performance estimation, as in NannyML);
* **model quality** (orange dots): the accuracy each model-quality execution measured, drawn at
  the *time it ran*;
* the same numbers drawn at the *end of the window they describe* (hollow orange), i.e. at the
  time of the newest requests they include. The gap between the hollow and the filled dots is
  the price of late labels.

The data-quality threshold is drawn as Model Monitor's `Robust` method applies it (simlab's
reading, see docs/monitoring.md): a feature violates when its distance exceeds
`comparison_threshold` 0.1 *plus* the KS critical margin c(α)·√(1/n + 1/m) for n window rows and
m baseline rows. With about 360 captured rows per hour that margin is ≈ 0.1, so the noise floor of
≈ 0.13 does not alarm.
""")

code(r"""
def series(res):
    # The monitoring time series of one run, in days.
    m = res.monitoring
    met = m.metrics
    dq = met[(met.monitor == "data_quality") & met.metric.str.startswith("feature_baseline_drift_")]
    mq = met[met.monitor == "model_quality"].pivot_table(index="t_s", columns="metric", values="value")
    ex = m.executions[m.executions.monitor == "model_quality"].set_index("t_s")
    mq["window_end_s"] = ex.window_end_s.reindex(mq.index)
    realised = m.accuracy_over_time("1h")
    first = m.alarms.groupby("monitor").t_s.min()
    return dq.groupby("t_s").value.max(), mq, realised, first


def timeline(res, title, events):
    dq_max, mq, realised, first = series(res)
    alarm_t = res.monitoring.alarms.query("monitor == 'data_quality'").t_s.unique()
    dq_ex = res.monitoring.executions.query("monitor == 'data_quality'").set_index("t_s")
    m_rows = len(res.sim.dataset.train_idx)                  # baseline rows
    limit = 0.1 + 1.358 * np.sqrt(1 / dq_ex.records + 1 / m_rows)   # c(0.05) = 1.358
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 2]})
    top.plot(dq_max.index / D, dq_max, color="k", lw=1, label="largest drift distance (KS)")
    top.plot(alarm_t / D, dq_max.loc[alarm_t], "r.", ms=4, label="data-quality alarm")
    top.plot(dq_ex.index / D, limit, color="r", ls=":", lw=1, label="0.1 + Robust KS margin")
    top.set(ylabel="distance", ylim=(0, 1))
    bottom.plot(realised.t_s / D, realised.accuracy, color="0.6", lw=1, label="realised accuracy (oracle)")
    bottom.plot(mq.index / D, mq.estimated_accuracy, color="C0", lw=1, label="CBPE estimate (no labels)")
    if "accuracy" in mq:
        ok = mq.accuracy.notna()
        bottom.plot(mq.window_end_s[ok] / D, mq.accuracy[ok], "o", mfc="none", color="C1", ms=3,
                    alpha=0.4, label="model quality, at the time of its data")
        bottom.plot(mq.index[ok] / D, mq.accuracy[ok], "o", color="C1", ms=3,
                    label="model quality, when it ran")
    bottom.axhline(0.9, color="C1", ls=":", lw=1, label="alarm: accuracy below 0.9")
    bottom.set(ylabel="accuracy", ylim=(0.6, 1.0), xlabel="simulated day", xlim=(0, 7))
    for ax in (top, bottom):
        for at, _text in events:
            ax.axvline(at / D, color="k", ls="--", lw=0.8)
        for monitor, color in (("data_quality", "r"), ("model_quality", "C1")):
            if monitor in first:
                ax.axvline(first[monitor] / D, color=color, lw=1.5)
    for at, text in events:
        top.text(at / D + 0.03, 0.6, text, fontsize=8, va="top")
    top.legend(loc="center left", fontsize=8)
    bottom.legend(loc="lower left", fontsize=8)
    top.set_title(title + " (solid lines: first alarm of data quality in red, model quality in orange)")
    plt.show()


timeline(res, "fraud-drift", [(2 * D, "covariate shift"), (3 * D, "concept drift")])
""")

code(r"""
dq_max, mq, realised, first = series(res)
acc = realised.set_index("t_s").accuracy
a_before, a_cov, a_concept = acc[acc.index < 2 * D].mean(), acc[(acc.index >= 2 * D) & (acc.index < 3 * D)].mean(), acc[acc.index >= 3 * D].mean()
print(f"realised accuracy: days 0-2 {a_before:.3f}, day 2-3 (shifted inputs) {a_cov:.3f}, "
      f"days 3-7 (labels flipped) {a_concept:.3f}")
print(f"CBPE estimate after day 3: {mq.estimated_accuracy[mq.index > 3 * D].mean():.3f}")
print("first alarm, hours after the start:", {k: v / H for k, v in first.items()})
""")

md(r"""
**What to notice**

* **Data quality** jumps within the hour of the shift (the red line at day 2 + 1 h). It needs no
  labels. But notice what it is alarming about: realised accuracy barely moves on day 2. This
  model happens to tolerate these three shifted inputs. A data-quality alarm tells you the
  inputs changed, not that the predictions got worse.
* **CBPE** stays at about 0.96 all week. It assumes P(y | x) is unchanged, so it cannot see labels
  flip. It estimates from the inputs and the model alone, and neither of them changed on day 3.
* **Realised accuracy** falls from 0.96 to about 0.77 on day 3. Nothing label-free can see this.
* **Model quality** sees the drop only from day 6. Each filled dot is exactly 3 days to the right
  of the hollow dot for the same window: the label delay. And the hollow dots do not drop as
  sharply as the grey line: each window averages a whole day, so once post-drift data enter the
  window the measured accuracy slides down over the next 24 hours. It crosses 0.9 at
  day 6 + 8 h.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 4 · When can model quality alarm at the earliest?

An execution at time *t* evaluates the captured requests made in
`[t + start_offset, t + end_offset)` **whose label has arrived by t**. Two consequences:

1. **No post-drift label, no alarm.** The window must contain requests made after the change at
   `at`, and their labels must have arrived. With a fixed label delay *D* that means
   *t* > `at` + max(*D*, −`end_offset`). Here that is day 3 + 3 d = **day 6**. No choice of
   threshold can make the alarm come earlier.
2. **Dilution.** Just after day 6 the window still holds mostly pre-drift requests. Its accuracy
   is a mix: the share *f* of post-drift data must satisfy
   a₀ − *f* (a₀ − a₁) < 0.9, i.e. *f* > (a₀ − 0.9)/(a₀ − a₁). With a one-day window that
   share takes *f* × 24 hours to build up.
""")

code(r"""
mq_cfg = next(mon for mon in FRAUD.deployments[0]["monitors"] if mon["type"] == "model_quality")
concept_at = next(e["at"] for e in FRAUD.workload["drift"] if e["concept"])
delay = FRAUD.ground_truth["delay"].mean
period, window_len = mq_cfg["schedule"].period, mq_cfg["end_offset"] - mq_cfg["start_offset"]
threshold = mq_cfg["alarm"]["below"]

no_earlier_than = concept_at + max(delay, -mq_cfg["end_offset"])
share = (a_cov - threshold) / (a_cov - a_concept)          # post-drift share the window needs
predicted = no_earlier_than + share * window_len
predicted_exec = np.ceil(predicted / period) * period        # the next scheduled execution
print(f"hard bound: no alarm before hour {no_earlier_than / H:.0f} (day {no_earlier_than / D:g})")
print(f"dilution: the window needs {share:.0%} post-drift requests = {share * window_len / H:.1f} h")
print(f"predicted first alarm: hour {predicted_exec / H:.0f}; simulated: hour {first['model_quality'] / H:.0f}")

ex = m.executions.query("monitor == 'model_quality'").set_index("t_s")
around = ex.loc[no_earlier_than - H: first["model_quality"] + H]
pd.DataFrame({
    "hour": around.index / H,
    "window (hours)": [f"[{a / H:.0f}, {b / H:.0f})" for a, b in zip(around.window_start_s, around.window_end_s, strict=True)],
    "post-drift share": np.clip((around.window_end_s - concept_at) / window_len, 0, 1).round(2),
    "labelled records": around.labelled,
    "accuracy": mq.accuracy.reindex(around.index).round(4),
    "status": around.status,
}).set_index("hour")
""")

md(r"""
The back-of-the-envelope prediction matches the simulation to the hour. Three levers move the
alarm, and only two of them are yours:

* a **shorter label delay** (faster investigations, proxy labels) moves the hard bound;
* a **shorter window** dilutes less, but its accuracy is noisier (fewer labelled records), which
  means more false alarms;
* the **threshold** changes the dilution time, never the hard bound.

And an `end_offset` later than −*D* (say `-P1D` with 3-day labels) gains nothing: the newest
part of the window has no labels yet, so it only adds empty hours.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 5 · Two changes, two blind spots

In fraud-drift data quality is already alarming about the shifted inputs when the labels flip on
day 3, so the run cannot show whether data quality would have noticed the flip on its own. Run
each change alone:

* **covariate shift only:** the inputs move, the labels keep their meaning;
* **concept drift only:** the labels flip, the inputs stay the same.
""")

code(r"""
runs = {"both (fraud-drift)": res,
        "covariate shift only": simlab.run(fraud(drift=COVARIATE)),
        "concept drift only": simlab.run(fraud(drift=CONCEPT))}
MONITORS = ["data_quality", "estimated_performance", "model_quality", "bias_drift",
            "feature_attribution_drift"]
rows = {}
for name, r in runs.items():
    first_alarm = r.monitoring.alarms.groupby("monitor").t_s.min()
    acc = r.monitoring.accuracy_over_time("1d").set_index("t_s").accuracy
    rows[name] = {mon: (f"day {first_alarm[mon] / D:.2f}" if mon in first_alarm else "never")
                  for mon in MONITORS} | {"realised accuracy, days 4-7": round(acc[acc.index >= 4 * D].mean(), 3)}
pd.DataFrame(rows).T.rename(columns={"estimated_performance": "CBPE"})
""")

code(r"""
timeline(runs["concept drift only"], "concept drift only", [(3 * D, "concept drift")])
""")

md(r"""
**The two blind spots**

* **Concept drift only:** the largest drift distance stays near its noise floor all week, and
  data quality, bias drift, attribution drift and CBPE never fire. Each of them looks at inputs or
  at the model's own outputs, and neither changed. Only model quality catches it, on day 6 + 8 h,
  after the label delay plus the dilution, the same timing as in section 4.
* **Covariate shift only:** data quality fires within the hour and the Clarify monitors at the next
  midnight. Yet realised accuracy stays at about 0.95 and model quality never alarms. The alarm is
  real (the pipeline did change), but it is not a performance incident.

**Use both monitors.** Data quality is the smoke detector: fast, label-free, and it points at
the *feature* that changed, but it cannot say whether the change hurts, and it is blind to
concept drift. Model quality is the thermometer: it measures the damage itself, but only after
the label delay. Run data quality to learn early that something changed, and model quality to
learn whether it matters and to catch what inputs cannot show.

CBPE sits in between. Before any label arrives it estimates what a covariate shift does to
accuracy, and here it correctly stayed at 0.96, because this shift did not hurt. But it trusts the
model's probabilities, which a large shift can make confidently wrong (docs/monitoring.md: in
`retraining.yaml` CBPE estimates 0.91 while realised accuracy is 0.65), and it can never see
concept drift.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 6 · Time to detect, and what it cost

`m.detections` has, for every drift event and every monitor, the first alarm that *starts an
alarm episode* on data from after the event, the delay, and the requests the endpoint served
in the meantime. The three feature events of day 2 give identical rows, so we keep one.
""")

code(r"""
def detect_column(r, kind):
    # One column of the table: per monitor, time to detect and requests served meanwhile.
    det = r.monitoring.detections
    det = det[(det.kind == kind)].drop_duplicates("monitor").set_index("monitor")
    cells = {}
    for mon, row in det.iterrows():
        if row.alarming_at_start:
            cells[mon] = "already alarming"
        elif np.isnan(row.time_to_detect_s):
            cells[mon] = "never"
        else:
            cells[mon] = f"{dur(row.time_to_detect_s)} ({row.requests_served:,} requests)"
    return pd.Series(cells)


pd.DataFrame({
    "covariate shift, day 2": detect_column(res, "feature"),
    "concept drift, day 3": detect_column(res, "concept"),
    "concept drift alone, day 3": detect_column(runs["concept drift only"], "concept"),
}).reindex(MONITORS).rename(index={"estimated_performance": "CBPE"})
""")

code(r"""
det = m.detections
served = int(det.query("kind == 'concept' and monitor == 'model_quality'").requests_served.iloc[0])
print(f"requests served between the label flip and the model-quality alarm: {served:,}")
print(f"at an accuracy drop of {a_cov - a_concept:.2f}, about {served * (a_cov - a_concept):,.0f} "
      "more wrong decisions than before the drift")
""")

md(r"""
**Reading the table**

* Data quality detects the covariate shift after **1 hour** (about 730 requests). The Clarify
  monitors run daily, so they react at the next midnight, after 1 day (17,000 requests).
* The concept drift costs **57,000 requests** served before model quality alarms, more than
  10,000 of them wrongly decided. That is the price of a 3-day label delay, and no label-free
  monitor could have saved it.
* "already alarming" is not a detection: data quality never stopped alarming about day 2, so it
  tells you nothing new on day 3. An alarm that is always on hides the next incident. Fix the
  first problem, or update the baseline, so the monitor can fire again.
* A caveat about the table itself: in fraud-drift, model quality is also credited with
  "detecting" the covariate shift after 4 d 8 h. That alarm is really the concept drift's. In
  the covariate-only run model quality never fires. A detection table matches alarms to events
  by *time*, not by *cause*; telling them apart is the on-call engineer's job.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
### Exercise — move the label delay

The fraud team speeds up its investigations: labels now arrive **1 day** after the request
(still for 80 % of requests). You move the model-quality window to `[t − 2 d, t − 1 d)`, still
one day long, hourly, alarm below 0.9. Only the concept drift happens (labels flip at day 3,
hour 72).

**At which hour of the run does model quality alarm for the first time?** Use section 4: first
the hard bound, then the dilution (pre-drift accuracy ≈ 0.96, post-drift ≈ 0.77). Put a whole
hour in the next cell. The check cell runs the scenario and accepts ±1 hour.
""")

code(r"""
answer_hour = None  # the hour of the run, e.g. 100
""")

code(r"""
@cache
def mq_first_alarm_hour(delay, start_offset, end_offset):
    r = simlab.run(fraud(drift=CONCEPT, delay=delay, window=(start_offset, end_offset)))
    alarms = r.monitoring.alarms
    return alarms[alarms.monitor == "model_quality"].t_s.min() / H


def check_hour(answer):
    if answer is None:
        print("not yet: set answer_hour in the cell above, then run this cell again")
        return False
    truth = mq_first_alarm_hour("1d", "-P2D", "-P1D")
    bound = 72 + 24                      # drift + max(delay, -end_offset), in hours
    if abs(answer - truth) <= 1:
        print(f"correct: model quality first alarms at hour {truth:.0f}. Its window holds "
              f"post-drift labels from hour {bound + 1}, and it takes until hour {truth:.0f} "
              f"({truth - bound:.0f} h of post-drift data) to pull a one-day window below 0.9.")
        return True
    if answer <= bound:
        print(f"not yet: at hour {answer} the window [t - 2 d, t - 1 d) ends at hour {answer - 24}, "
              "before the labels flipped. No post-drift label, no alarm.")
    elif answer < truth:
        print(f"not yet: at hour {answer} the window does hold post-drift labels, but is the "
              "window's accuracy below 0.9 yet? Work out the share of post-drift requests it needs.")
    else:
        print("not yet: that is too late. After the hard bound, how many hours of post-drift "
              "data does a one-day window need to fall below 0.9?")
    return False


check_hour(answer_hour)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

Hard bound: the window's end `t − 1 d` must pass hour 72, so hour 96, and the first hourly
execution after that is hour 97. Dilution: the window needs a post-drift share of
(0.955 − 0.9)/(0.955 − 0.772) ≈ 30 %, that is about 7.3 hours of a one-day window. The first
execution past 96 + 7.3 is hour **104**. Two days earlier than with a 3-day delay (hour 152):
the alarm moves one for one with the label delay.
</details>
""")

code(r"""
bound_h = (concept_at + 1 * D) / H
solution_hour = int(np.ceil(bound_h + share * 24))
print(f"hard bound hour {bound_h:.0f}, + {share * 24:.1f} h of dilution -> hour {solution_hour}")
assert check_hour(solution_hour)
""", solution=True)

md(r"""
## Takeaways

1. A monitor alarms only on evidence it has. Data quality has its evidence at once; model quality
   has to wait for `at` + label delay, then for enough post-drift labels to dilute its window.
   The first is a hard bound: no threshold tuning beats it.
2. Data quality answers "did the inputs change?", model quality "did the predictions get worse?".
   A covariate shift can fire the first without the second, and concept drift the second without
   the first. Run both. CBPE can bridge the label gap for covariate shift, as long as the model
   stays calibrated on the shifted inputs.
3. Time to detect becomes concrete as requests served with a broken model. Use that number to
   argue for faster labels, shorter windows or a retraining trigger. That last one is the
   subject of lab 07.

Try next: `simlab simulate scenarios/fraud-drift.yaml --out /tmp/fraud` and browse the files, or
change `coverage` and see how noisy the model-quality accuracy gets.
""")

code(r"""
print(f"lab ran in {time.perf_counter() - T_START:.1f} s")
""")

nb.write()
