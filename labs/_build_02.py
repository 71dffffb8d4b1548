"""Generate labs/02_serverless_cold_starts.ipynb (stored without outputs).

    python labs/_build_02.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/02_serverless_cold_starts.ipynb``);
this script only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("02_serverless_cold_starts.ipynb")

nb = Notebook(OUT, "lab02")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 02 · Serverless Inference: what you pay with cold starts

A serverless endpoint has no instances while nobody calls it, so an idle hour costs nothing.
The price for that is the **cold start**: a request that finds no warm instance waits while a
new one is set up, typically a few seconds. This lab looks at that trade from three sides:

1. **How often do cold starts happen?** It depends on one number, the arrival rate times the
   keep-alive. A short Poisson argument predicts it, and we check the prediction by simulation.
2. **When does serverless stop being cheaper?** Its bill grows with every request, while an
   always-on instance costs the same every hour. We find the break-even volume by simulation
   and compare it with the formula in the decision engine.
3. **When is provisioned concurrency worth paying for?** It keeps instances warm and is billed
   around the clock. We see what it does to the p99 of a bursty, latency-sensitive workload,
   and what it costs.

All experiments run on simlab's simulated clock, so a simulated month takes well under a second.
There is one exercise, with a check cell.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/02_serverless_cold_starts.ipynb`
(about 10 s).
""")

code(r"""
%matplotlib inline
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simlab
from simlab import facts
from simlab.decide import crossover_requests_per_day, estimate_all
from simlab.decide.costmodel import hours_per_month
from simlab.scenario import scenario_from_dict

T_START = time.perf_counter()

MONTH_S = hours_per_month() * 3600      # the billing month of simlab's cost model (730 h)
MEMORY_MB = 2048                        # serverless memory size used throughout
PRICE_PER_H = facts.instance("ml.m5.large").price_per_hour
DEFAULT_KEEP_S = facts.limit("serverless_inference.default_idle_timeout_s")
COLD_MEAN_MS = facts.limit("serverless_inference.default_cold_start_mean_ms")


def serverless(name, *, model_ms=100, **extra):
    # A serverless endpoint; the model time is lognormal (cv 0.5) unless `service_time` is given.
    return {"name": name, "type": "serverless_inference", "memory_mb": MEMORY_MB,
            "max_concurrency": 20,
            "service_time": {"dist": "lognormal", "mean_ms": model_ms, "cv": 0.5}, **extra}


def endpoint(name, *, model_ms=100, **extra):
    # One always-on ml.m5.large. It has 2 vCPUs, so it runs 2 model-server workers.
    return {"name": name, "type": "real_time_endpoint", "instance_type": "ml.m5.large",
            "instance_count": 1, "workers_per_instance": 2,
            "service_time": {"dist": "lognormal", "mean_ms": model_ms, "cv": 0.5}, **extra}


def poisson(rate_per_s, payload_kb=8):
    return {"arrivals": "poisson", "rate_per_s": float(rate_per_s), "payload_kb": payload_kb}


def scenario(workload, *deployments, duration, warmup=3600.0):
    # All deployments of a scenario see exactly the same requests.
    return scenario_from_dict({"name": "lab02", "duration": float(duration),
                               "warmup": float(warmup), "workload": workload,
                               "deployments": list(deployments)})


def per_month(result, name):
    # The measured window's cost, scaled to a 730-hour month.
    s = result.summary()
    return s["deployments"][name]["cost_usd"] * MONTH_S / (s["duration_s"] - s["warmup_s"])


print(f"simlab {simlab.__version__}; default keep-alive {DEFAULT_KEEP_S / 60:g} min, "
      f"default cold start {COLD_MEAN_MS / 1000:g} s on average; ml.m5.large ${PRICE_PER_H}/h")
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · How often is a request cold?

### How simlab's serverless endpoint works

* Each instance serves **one request at a time**. A request goes to a warm idle instance if
  there is one, otherwise a new instance starts: a **cold start**. Its set-up time (lognormal,
  2 s on average by default) is added to the response time.
* After its last request an instance stays warm for the **keep-alive** (`idle_timeout`), then
  it is reclaimed. AWS does not publish this value, and you cannot set it on a real endpoint.
  simlab assumes AWS Lambda's measured 10 minutes and marks it *UNCONFIRMED*
  (`docs/serverless.md`). Here we vary it to see how much the answer depends on it.

### A prediction

At low traffic one instance does all the work. A request then meets a cold start exactly when
the previous request finished more than one keep-alive $k$ ago. With Poisson arrivals at rate
λ the gap to the next request is exponential, and it does not matter when we start the clock
(the process is memoryless), so

$$P(\text{cold}) = P(\text{gap} > k) = e^{-λk}.$$

The rate of cold starts depends only on **λ·k**, the number of requests expected in one
keep-alive. At λk = 1 (one request per keep-alive on average) 37 % of requests are cold, and it
takes λk = 3 to get below 5 %.

### The experiment

Twelve request rates from 1 per hour to 1 per second, each with three keep-alives (1, 10 and
60 minutes) as three deployments on the same request stream. Each rate gets about 4,000
requests after a 4-hour warm-up, so the lowest rates simulate half a year. That takes
milliseconds: simlab only does work when a request arrives.
""")

code(r"""
KEEP_ALIVES = {"1m": 60, "10m": 600, "60m": 3600}
RATES_PER_H = np.logspace(0, np.log10(3600), 12)        # 1/hour … 1/second
N_REQUESTS, WARMUP_S, MODEL_S = 4000, 4 * 3600, 0.100

rows = []
for per_h in RATES_PER_H:
    lam = per_h / 3600
    sc = scenario(poisson(lam),
                  *[serverless(f"keep-{k}", idle_timeout=s) for k, s in KEEP_ALIVES.items()],
                  duration=N_REQUESTS / lam + WARMUP_S, warmup=WARMUP_S)
    summary = simlab.run(sc, seed=1).summary()["deployments"]
    for k, s in KEEP_ALIVES.items():
        rows.append({"requests/h": per_h, "keep-alive": k, "λk": lam * s,
                     "simulated": summary[f"keep-{k}"]["cold_start_rate"],
                     "e^-λk": math.exp(-lam * s), "λ·E[S]": lam * MODEL_S})
cold = pd.DataFrame(rows)
table = cold.pivot(index="requests/h", columns="keep-alive", values=["simulated", "e^-λk"])
table = table.reindex(columns=pd.MultiIndex.from_product([["simulated", "e^-λk"], list(KEEP_ALIVES)]))
table.rename(index=lambda r: f"{r:,.1f}").round(4)
""")

code(r"""
lam_grid = np.logspace(0, np.log10(3600), 300) / 3600
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for ax, yscale in zip(axes, ("linear", "log"), strict=True):
    for i, (k, s) in enumerate(KEEP_ALIVES.items()):
        sim = cold[cold["keep-alive"] == k]
        ax.plot(lam_grid * 3600, np.exp(-lam_grid * s), color=f"C{i}", lw=1.2,
                label=f"e^(-λk), k = {k}")
        ax.plot(sim["requests/h"], sim["simulated"], "o", color=f"C{i}", ms=5,
                label=f"simulated, k = {k}")
    ax.set(xscale="log", yscale=yscale, xlabel="requests per hour (Poisson)",
           ylabel="share of requests that meet a cold start")
axes[0].set_title("cold-start rate vs traffic, one line per keep-alive")
busy_line, = axes[1].plot(lam_grid * 3600, lam_grid * MODEL_S, "k:", lw=1,
                          label="λ·E[S]: share of arrivals that find the instance busy")
axes[1].set(ylim=(1e-4, 1.5), title="the same on a log scale")
axes[0].legend(fontsize=8)
axes[1].legend(handles=[busy_line], fontsize=8, loc="lower left")
plt.show()

low = cold[cold["λ·E[S]"] < 0.01]
gap = (low["simulated"] - low["e^-λk"]).abs().max()
print(f"largest |simulated − e^(-λk)| where λ·E[S] < 1 %: {gap:.3f}")
assert gap < 0.04
""")

md(r"""
**What to notice**

* Each keep-alive gives the same S-shaped curve, shifted: making the keep-alive 10 times longer
  has the same effect as 10 times more traffic, because only λk matters. With the default
  10 minutes, most requests are cold below about 4 requests an hour (λk = ln 2), and cold
  starts fall below 5 % above about 18 an hour (λk = 3).
* At low traffic the simulation sits on $e^{-λk}$, within the noise of 4,000 requests.
* On the log scale the simulated points level off above the curve at high traffic, most
  visibly with the 1-minute keep-alive. This is a second source of cold starts: a request that
  arrives while the warm instance is **busy** needs a second instance. About λ·E[S] of the
  requests (the dotted line) find the instance busy, a few more just after a cold start,
  which holds its instance for about 2 s. Such a request meets a cold start only if no second
  instance is still warm from an earlier overlap: with a 1-minute keep-alive that is often the
  case, with 60 minutes rarely. This floor grows with the model time and with burstiness.
* The lesson for an exam question: "intermittent traffic" means long gaps compared with the
  keep-alive, and that is where serverless pays a cold start on almost every request.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · Where serverless stops being cheaper

A serverless request costs its duration × memory × a price per GB-second, plus the data
processed. Cold-start set-up is not billed (`serverless_inference.bills_cold_start: false`,
unconfirmed). An always-on ml.m5.large costs the same every hour, busy or not. So serverless
wins at low volume and loses at high volume, and the break-even is

$$\text{crossover (requests/day)} = \frac{\text{instance price per day}}{\text{serverless cost of one request}} .$$

The month length cancels. The decision engine implements this as
`simlab.decide.costmodel.crossover_requests_per_day`.

We use the workload of `scenarios/facts/intermittent-small-payload.yaml`: 1.5 s of model time
per request at 2 GB, 0.5 MB payload. In the simulation the model time is a fixed 1.5 s and both
deployments see the same Poisson stream at each volume: about 20,000 requests per point,
billed over the measured window and scaled to a 730-hour month. The exact cost model gives
the line to compare with.
""")

code(r"""
INFER_S, PAYLOAD_MB = 1.5, 0.5
CROSSOVER = crossover_requests_per_day(INFER_S, PAYLOAD_MB, memory_mb=MEMORY_MB,
                                       instance_type="ml.m5.large")
per_request = PRICE_PER_H * 24 / CROSSOVER
print(f"one serverless request costs ${per_request:.3e}; ml.m5.large costs ${PRICE_PER_H * 24:.2f}/day")
print(f"crossover_requests_per_day = {CROSSOVER:,.0f} requests/day ({CROSSOVER / 86400:.2f} requests/s)")


def engine_facts(requests_per_day):
    return {"question": "deployment", "requests_per_day": requests_per_day, "traffic": "steady",
            "payload_mb": PAYLOAD_MB, "inference_seconds": INFER_S, "memory_mb": MEMORY_MB,
            "instance_type": "ml.m5.large"}


VOLUMES = [2_000, 5_000, 10_000, 20_000, 30_000, 40_000, 50_000, 65_000, 80_000]
rows = []
for rpd in VOLUMES:
    lam = rpd / 86400
    sc = scenario(poisson(lam, payload_kb=PAYLOAD_MB * 1024),
                  serverless("serverless", service_time=INFER_S * 1000),
                  endpoint("endpoint", service_time=INFER_S * 1000),
                  duration=20_000 / lam + 3600)
    res = simlab.run(sc, seed=2)
    d = res.summary()["deployments"]
    est = estimate_all(engine_facts(rpd))
    rows.append({"requests/day": rpd,
                 "serverless $/month (sim)": per_month(res, "serverless"),
                 "serverless $/month (model)": est["serverless_inference"].monthly_cost_usd,
                 "endpoint $/month (sim)": per_month(res, "endpoint"),
                 "serverless p99 ms": d["serverless"]["latency_ms"]["p99"],
                 "serverless cold-start rate": d["serverless"]["cold_start_rate"],
                 "endpoint p99 ms": d["endpoint"]["latency_ms"]["p99"]})
cost = pd.DataFrame(rows).set_index("requests/day")
cost.round({c: 2 for c in cost.columns if "$" in c} | {"serverless cold-start rate": 4})
""")

md(r"""
**The simulated crossover.** The simulated serverless cost is proportional to volume, so a line
through the origin fits it: cost ≈ slope × requests/day. The simulated crossover is where that
line meets the endpoint's monthly cost. We accept agreement within **2 %**. The simulator bills
a few things the formula leaves out (the 1 KiB response counts as data processed, and each
invocation is rounded up to the millisecond), and each point has Poisson noise of about 0.7 %
(20,000 requests). The fit averages that noise over nine points.
""")

code(r"""
x, y = cost.index.to_numpy(float), cost["serverless $/month (sim)"].to_numpy()
slope = (x @ y) / (x @ x)
endpoint_month = cost["endpoint $/month (sim)"].mean()
sim_crossover = endpoint_month / slope
rel = sim_crossover / CROSSOVER - 1
print(f"endpoint: ${endpoint_month:.2f}/month (= {PRICE_PER_H} $/h × {hours_per_month():g} h)")
print(f"crossover: cost model {CROSSOVER:,.0f}/day, simulation {sim_crossover:,.0f}/day "
      f"({100 * rel:+.2f} %)")
assert abs(rel) < 0.02

busy = CROSSOVER * INFER_S / 86400
print(f"at the crossover the work would keep one model worker {100 * busy:.0f} % busy "
      f"(the instance's two workers {100 * busy / 2:.0f} %)")
""")

code(r"""
grid = np.linspace(0, 85_000, 200)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
ax1.plot(grid, grid * per_request * hours_per_month() / 24, color="C0", label="serverless, cost model")
ax1.plot(cost.index, cost["serverless $/month (sim)"], "o", color="C0", label="serverless, simulated")
ax1.axhline(PRICE_PER_H * hours_per_month(), color="C1", label="1 × ml.m5.large, cost model")
ax1.plot(cost.index, cost["endpoint $/month (sim)"], "s", color="C1", ms=4, label="endpoint, simulated")
ax1.axvline(CROSSOVER, color="k", ls="--", lw=1)
ax1.annotate(f"crossover\n{CROSSOVER:,.0f}/day", (CROSSOVER, 20), xytext=(8, 0),
             textcoords="offset points", fontsize=9)
ax1.axvspan(0, CROSSOVER, color="C0", alpha=0.06)
ax1.set(xlabel="requests per day", ylabel="USD per month", title="monthly cost")
ax1.legend(fontsize=8, loc="upper left")
ax2.plot(cost.index, cost["serverless p99 ms"], "o-", color="C0", label="serverless")
ax2.plot(cost.index, cost["endpoint p99 ms"], "s-", color="C1", label="endpoint (2 workers)")
ax2.axvline(CROSSOVER, color="k", ls="--", lw=1)
ax2.set(xlabel="requests per day", ylabel="p99 latency (ms)", title="…and what the p99 does")
ax2.legend(fontsize=8)
plt.show()
""")

md(r"""
**What to notice**

* The simulation reproduces the formula: the same price list gives the same break-even. Below
  about 41,000 requests a day (one request every 2 seconds) serverless is cheaper. Above it,
  one always-on ml.m5.large is.
* A useful way to remember it: at the crossover the model is busy about 71 % of the time on
  one worker. Serverless is cheaper for as long as an instance of your own would sit idle most of
  the day. The model time cancels out of this busy fraction. Only the price per second of an
  instance, compared with serverless's price per GB-second, decides it (here 2 GB; at 1 GB the
  crossover roughly doubles).
* Cost is not the whole comparison. At low volume the serverless p99 carries a cold start
  (2,000/day: a few % of requests are cold, so the p99 is about 3.4 s instead of 1.5 s). Near and
  above the crossover the single instance queues: its p99 keeps growing with the load, while
  serverless adds instances in parallel and stays at 1.5 s.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 3 · When provisioned concurrency pays off

**Provisioned concurrency** (`ServerlessConfig.ProvisionedConcurrency`) keeps that many
instances warm all the time. They take requests before any on-demand instance does. They are
billed per GB-second whether used or not: simlab's price file has $0.0000048 per GB-second, an
estimate, so at 2 GB each provisioned instance costs about $25 a month.

**The workload:** an internal analyst tool with a latency SLO of **p99 ≤ 1 s**. Someone opens
it, works for a few minutes (one request every 5 s on average), and leaves. Sessions are about
40 minutes apart on average. The model takes 300 ms (lognormal, cv 0.5). We compare
provisioned concurrency 0–3 with one always-on ml.m5.large, all on the same stream: three
seeds × 7 days.
""")

code(r"""
SESSIONS = {"arrivals": "bursty", "rate_per_s": 0.2, "mean_on": 180, "mean_off": 2400,
            "payload_kb": 8}
PC_MODEL_MS, SLO_MS = 300, 1000
PCS = (0, 1, 2, 3)
pc_scenario = scenario(SESSIONS,
                       *[serverless(f"pc{p}", model_ms=PC_MODEL_MS, provisioned_concurrency=p)
                         for p in PCS],
                       endpoint("endpoint", model_ms=PC_MODEL_MS), duration=7 * 86400)
pc_runs = [simlab.run(pc_scenario, seed=s) for s in (1, 2, 3)]

rows = []
for name in [f"pc{p}" for p in PCS] + ["endpoint"]:
    rq = pd.concat([r.requests[(r.requests.deployment == name) & r.requests.measured] for r in pc_runs])
    done = rq[rq.outcome == "completed"]
    p = int(name[2:]) if name.startswith("pc") else None
    rows.append({"deployment": name,
                 "requests": len(rq),
                 "cold-start rate": done.cold_start.mean(),
                 "served on demand": (done.instance >= p).mean() if p is not None else np.nan,
                 "p50 ms": done.latency_ms.quantile(0.50),
                 "p99 ms": done.latency_ms.quantile(0.99),
                 "p99.9 ms": done.latency_ms.quantile(0.999),
                 "$/month": np.mean([per_month(r, name) for r in pc_runs])})
pc = pd.DataFrame(rows).set_index("deployment")
pc["meets SLO"] = pc["p99 ms"] <= SLO_MS
pc.round({"cold-start rate": 4, "served on demand": 4, "p50 ms": 0, "p99 ms": 0,
          "p99.9 ms": 0, "$/month": 2})
""")

code(r"""
fig, ax = plt.subplots(figsize=(7, 4))
for name, row in pc.iterrows():
    ax.plot(row["$/month"], row["p99 ms"], "o", ms=8, color="C1" if name == "endpoint" else "C0")
    ax.annotate(name, (row["$/month"], row["p99 ms"]), xytext=(6, 4), textcoords="offset points")
ax.axhline(SLO_MS, color="C3", ls="--", label=f"SLO: p99 ≤ {SLO_MS} ms")
ax.set(xlabel="USD per month", ylabel="p99 latency (ms)",
       title="provisioned concurrency: what each step buys")
ax.legend()
plt.show()
unit = MEMORY_MB / 1024 * MONTH_S * facts.price("serverless_provisioned_per_gb_s")
print(f"one provisioned instance at {MEMORY_MB} MB: ${unit:.2f}/month")
""")

md(r"""
**Why one provisioned instance is not enough.** Provisioned concurrency removes cold starts
only for requests that find a provisioned instance free. The rest go to on-demand instances,
and at the start of each session those are cold, because the quiet period before it outlasted
the keep-alive. During a session a request arrives while, on average, a = λ·E[S] =
0.2/s × 0.3 s = 0.06 requests are in progress. For Poisson arrivals the number it finds in
progress is Poisson(a), so it overflows P provisioned instances with probability
$P(N \ge P)$:
""")

code(r"""
a = SESSIONS["rate_per_s"] * PC_MODEL_MS / 1000
overflow = pd.DataFrame({
    "P(N ≥ P), theory": [1 - sum(math.exp(-a) * a**i / math.factorial(i) for i in range(p)) for p in PCS],
    "served on demand, simulated": pc["served on demand"].iloc[:len(PCS)].to_numpy(),
    "cold-start rate, simulated": pc["cold-start rate"].iloc[:len(PCS)].to_numpy(),
}, index=pd.Index(PCS, name="provisioned P"))
overflow.round(4)
""")

md(r"""
**What to notice**

* Without provisioned concurrency about 4 % of requests are cold. Most sessions begin after a
  pause longer than the 10-minute keep-alive (78 % of pauses, when they average 40 minutes).
  The first request's cold start then holds its instance for about 2 s, so the next request of
  the session often needs a second instance, which is cold too. 4 % is more than the 1 % a p99
  may ignore, so the p99 is a cold start (about 2.8 s) and the SLO is missed. The endpoint
  costs almost nothing: under $1 a month.
* **One** provisioned instance ($25/month) takes the first request of every session, but 6 %
  of requests arrive while it is busy. Those spill to on-demand instances, which are often cold,
  so the cold-start rate is still about 2 %. The p99 improves but still misses the SLO.
* **Two** provisioned instances overflow on only about 0.2 % of requests (the Poisson tail
  above). Cold starts drop below 1 %, and the p99 falls to the model's own p99, about 0.8 s.
  The SLO is met for about $51 a month.
* **Three** cost about $76, almost as much as the always-on ml.m5.large ($84). The endpoint has
  no cold starts at all, a flat bill, and features serverless lacks (data capture, production
  variants). From that point on it is the simpler choice.

**Rule of thumb.** Provisioned concurrency pays off when (1) cold starts are frequent enough to
reach the percentile your SLO is written on (cold-start rate above 1 − q, here above 1 %),
*and* (2) the smallest P that pushes the overflow $P(N \ge P)$ below 1 − q costs less than the
alternative, here an always-on endpoint. Size P from the concurrency at the start of a burst,
not from the average traffic. If the traffic is steady enough to keep instances warm by itself
(section 1), provisioned concurrency buys nothing.

(simlab bills invocations on provisioned instances at the on-demand compute rate; AWS has a
separate, lower rate for them, which is not in the facts file.)
""")

# ---------------------------------------------------------------------------------------------
md(r"""
### Exercise — how long must the keep-alive be?

A service receives on average **one request every 5 minutes** (Poisson). What is the
**shortest keep-alive, in minutes,** at which fewer than **5 %** of its requests meet a cold
start? Use the formula from section 1 first. The check cell then simulates your answer.

(On AWS you cannot choose the keep-alive. The question is really *how sensitive the cold-start
rate is* to a value AWS does not publish. The lever you do control is the traffic: at this rate
a keep-warm request sent every few minutes would do the job of a longer keep-alive.)
""")

code(r"""
answer_keepalive_min = None  # your answer in minutes, e.g. 12.5
""")

code(r"""
EX_RATE = 1 / 300   # one request every 5 minutes


def simulated_cold_rate(keepalive_min, n=20_000):
    sc = scenario(poisson(EX_RATE), serverless("s", idle_timeout=60 * keepalive_min),
                  duration=n / EX_RATE + 3600)
    return simlab.run(sc, seed=7).summary()["deployments"]["s"]["cold_start_rate"]


def check_keepalive(answer):
    # judged by simulation only: the answer must reach < 5 % cold starts (within the noise of
    # 20,000 requests) and 1.5 minutes less must not (else it is not the shortest)
    if answer is None:
        print("not yet: set answer_keepalive_min in the cell above, then run this cell again")
        return False
    noise = 2 * math.sqrt(0.05 * 0.95 / 20_000)         # two binomial standard deviations
    sim = simulated_cold_rate(answer)
    if sim > 0.05 + noise:
        print(f"not yet: at {answer:.1f} min the simulated cold-start rate is {100 * sim:.1f} %, "
              f"above 5 % (theory {100 * math.exp(-EX_RATE * 60 * answer):.1f} %)")
        return False
    shorter = simulated_cold_rate(max(answer - 1.5, 0.0))
    if shorter <= 0.05:
        print(f"not yet: {answer:.1f} min works ({100 * sim:.1f} % cold) but is not the shortest: "
              f"{answer - 1.5:.1f} min gives {100 * shorter:.1f} %. Solve e^(-λk) = 0.05 for k")
        return False
    print(f"correct: simulated {100 * sim:.1f} % cold at {answer:.1f} min (±{100 * noise:.1f} % noise "
          f"from 20,000 requests) and {100 * shorter:.1f} % at {answer - 1.5:.1f} min")
    return True


check_keepalive(answer_keepalive_min)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

$e^{-λk} < 0.05 \iff λk > \ln 20 ≈ 3.0$, so $k > 3.0 / λ = 3.0 × 5$ min ≈ **15 minutes**: the
keep-alive must cover three average gaps. With the assumed default of 10 minutes (λk = 2) about
13.5 % of the requests would be cold.
</details>
""")

code(r"""
solution_keepalive_min = math.log(20) * 5
assert round(solution_keepalive_min) == 15
assert check_keepalive(solution_keepalive_min)
assert not check_keepalive(10) and not check_keepalive(30)  # the check fails wrong answers
""", solution=True)

md(r"""
## Takeaways

1. The cold-start rate of a lightly loaded serverless endpoint is $e^{-λk}$: it depends on
   requests per keep-alive, λk, and falls below 5 % only at λk ≈ 3. Busy instances add a second,
   smaller source of cold starts when requests overlap.
2. Serverless is cheaper than one always-on instance up to `crossover_requests_per_day`,
   41,000 requests/day for 1.5 s at 2 GB. Put differently: for as long as your own instance would
   sit idle most of the day. The simulation agrees with the formula within 0.1 %.
3. Provisioned concurrency is worth paying for when cold starts reach the percentile of your
   SLO. Size it from the concurrency at the start of a burst, and stop when it costs as much as
   an always-on endpoint.

Next: `simlab simulate scenarios/intermittent-serverless.yaml` compares on-demand, 1 GB and
provisioned serverless with a real-time endpoint, and Lab 05 puts the decision engine and the
simulator side by side.
""")

code(r"""
print(f"lab ran in {time.perf_counter() - T_START:.1f} s")
""")

nb.write()
