"""Generate labs/04_multi_model_endpoints.ipynb (stored without outputs).

    python labs/_build_04.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/04_multi_model_endpoints.ipynb``);
this script only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("04_multi_model_endpoints.ipynb")

nb = Notebook(OUT, "lab04")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 04 · Multi-model endpoints: a cache in front of hundreds of models

Suppose you train **one model per customer**, 300 of them. Each customer sends a few requests an
hour. One real-time endpoint per customer would mean 300 endpoints, each with at least one
instance, each idle almost all the time. A **multi-model endpoint** (MME) serves all 300 from
a few shared instances. The models sit in S3. An instance downloads and loads a model the
first time a request names it (`TargetModel`), keeps it in memory, and unloads models it has not
used when memory runs out.

So an MME is a **cache**, and everything in this lab follows from that:

1. **Hit rate.** How often is the requested model already loaded? It depends on how many models
   fit in memory, and on how unevenly the customers use the endpoint (*popularity skew*).
   Classic caching theory predicts it, and we check the theory by simulation.
2. **Cost of a miss.** A miss means downloading and loading the model, seconds rather than
   milliseconds. We look at what misses do to latency.
3. **Money.** One MME against one endpoint per model.

There is one exercise, with a check cell.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/04_multi_model_endpoints.ipynb`
(about 10 s).
""")

code(r"""
%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import simlab
from simlab import facts
from simlab.deployments.multimodel import popularity_weights
from simlab.scenario import scenario_from_dict

T_START = time.perf_counter()
HOURS_PER_MONTH = 720

N_MODELS = 300            # one model per customer
SIZE_MB = 250             # every model artifact is 250 MB (fixed, so "how many fit" is exact)
RESERVE_GIB = 1.0         # memory kept for the OS, container and model server (simlab's default)
DOWNLOAD_MB_S = 100       # S3 → instance throughput (simlab's default assumption)
LOAD_MS = 500             # mean time to load a downloaded model into memory
MODEL_MS = 30             # mean model time per request once the model is loaded
RATE = 1.0                # requests/s over all customers together
TYPES = ["ml.c5.large", "ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge"]   # 4, 8, 16, 32 GiB
SKEWS = {"uniform": "uniform", "zipf 0.6": {"zipf": 0.6}, "zipf 0.8": {"zipf": 0.8},
         "zipf 1.0": {"zipf": 1.0}, "zipf 1.2": {"zipf": 1.2}}


def mme(name, instance_type, popularity, size_mb=SIZE_MB, **extra):
    # One multi-model endpoint with one instance. max_trained keeps the lab fast: only the
    # first few customers' models are trained for real predictions.
    cfg = {"name": name, "type": "multi_model_endpoint", "instance_type": instance_type,
           "instance_count": 1, "workers_per_instance": 2,
           "service_time": {"dist": "lognormal", "mean_ms": MODEL_MS, "cv": 0.5},
           "models": {"count": N_MODELS, "size_mb": size_mb, "max_trained": 5},
           "popularity": popularity, "memory_reserve_gib": RESERVE_GIB,
           "download_mb_per_s": DOWNLOAD_MB_S,
           "load_time": {"dist": "lognormal", "mean_ms": LOAD_MS, "cv": 0.5}}
    return cfg | extra


def scenario(*deployments, rate=RATE, duration="3h30m", warmup="30m", seed=4):
    # Poisson requests from all customers; every deployment sees the same stream.
    return scenario_from_dict({"name": "lab04", "duration": duration, "warmup": warmup,
                               "seed": seed, "model": "breast_cancer_logreg",
                               "workload": {"arrivals": "poisson", "rate_per_s": rate, "payload_kb": 4},
                               "deployments": list(deployments)})


def models_that_fit(instance_type, size_mb=SIZE_MB):
    # K: how many models of size_mb fit into one instance's memory, minus the reserve.
    return int((facts.instance(instance_type).memory_gib - RESERVE_GIB) * 1024 // size_mb)


def key(instance_type, skew):
    return f"{instance_type.split('.', 1)[1].replace('.', '-')}-{skew.replace(' ', '').replace('.', '')}"


print(f"simlab {simlab.__version__}; a miss downloads {SIZE_MB} MB at {DOWNLOAD_MB_S} MB/s "
      f"and loads it: ≈ {SIZE_MB / DOWNLOAD_MB_S + LOAD_MS / 1000:.1f} s")
pd.DataFrame({t: {"memory GiB": facts.instance(t).memory_gib,
                  "models that fit (K)": models_that_fit(t),
                  "K / N": models_that_fit(t) / N_MODELS,
                  "$ per hour": facts.instance(t).price_per_hour} for t in TYPES}).T
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · Two assumptions: who asks, and what gets unloaded

**Popularity.** Customers are not equally busy. A common model for that is **Zipf's law**:
rank the models by popularity, and the model of rank k gets a share of the requests
proportional to 1 / k^s. With s = 0 every model is equally popular (uniform). The larger the
exponent s, the more the top few customers dominate. simlab draws each request's `TargetModel`
from this distribution, independently of every other request. Caching theory calls this the
**independent reference model** (IRM). It is the model behind every formula in this lab.
""")

code(r"""
fig, ax = plt.subplots(figsize=(7, 4))
ranks = np.arange(1, N_MODELS + 1)
for skew, pop in SKEWS.items():
    ax.plot(ranks, np.cumsum(popularity_weights(pop, N_MODELS)), label=skew)
ax.set(xscale="log", xlabel="the k most popular models", ylabel="share of all requests",
       title=f"How concentrated are the requests? ({N_MODELS} models)")
ax.legend()
plt.show()
top10 = {skew: popularity_weights(pop, N_MODELS)[:10].sum() for skew, pop in SKEWS.items()}
print("share of the 10 busiest customers:", {k: f"{v:.0%}" for k, v in top10.items()})
""")

md(r"""
**Unloading.** AWS documents only that, when an instance runs short of memory, the endpoint
unloads *unused* models to make room. It does not say which unused model goes first. simlab
assumes **LRU**, least recently used: when a new model needs room, the models whose last request
is oldest are unloaded first, until the new one fits. This is an **assumption** and is marked as
such in simlab's facts file:
""")

code(r"""
fact = facts.limits()["multi_model_endpoint.eviction_policy"]
print(f"eviction policy: {fact.value}\nsource: {fact.source}")
""")

md(r"""
### What the theory predicts

Say K models fit in memory, and the endpoint serves N models.

* **Uniform popularity, LRU:** after a while the cache always holds K distinct models. The next
  request names any of the N models with equal probability, so it is a hit with probability
  **K / N**, whatever the order of eviction.
* **Skewed popularity, LRU:** popular models are asked for again before they reach the end of
  the LRU list, so they stay. **Che's approximation** makes this exact enough to use. A model
  stays cached if it is requested again within a *characteristic time* T (in requests), and T
  is the value for which the expected number of distinct models requested within T equals K:

  $$\sum_i \left(1 - e^{-p_i T}\right) = K, \qquad \text{hit rate} = \sum_i p_i \left(1 - e^{-p_i T}\right).$$

* **The best any policy can do** with a fixed set of K models: keep the K most popular,
  hit rate = their share of requests. LRU gets less, because a burst of requests for rare models
  still pushes popular ones out now and then.
""")

code(r"""
def che_hit_rate(p, k):
    # LRU hit rate under the IRM by Che's approximation (p: popularity per model, k: slots).
    if k >= len(p):
        return 1.0
    lo, hi = 0.0, 1.0
    while np.sum(1 - np.exp(-p * hi)) < k:          # bracket the characteristic time T
        hi *= 2
    for _ in range(100):                            # then bisect
        t = (lo + hi) / 2
        lo, hi = (t, hi) if np.sum(1 - np.exp(-p * t)) < k else (lo, t)
    return float(np.sum(p * (1 - np.exp(-p * t))))


def best_static_hit_rate(p, k):
    return float(np.sort(p)[::-1][:k].sum())


p_uniform = popularity_weights("uniform", N_MODELS)
print(f"uniform, K = 28: Che {che_hit_rate(p_uniform, 28):.4f}  K/N {28 / N_MODELS:.4f}")
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · Hit rate vs memory and skew, simulated

One scenario holds **20 multi-model endpoints**: four instance types (4 to 32 GiB) × five
popularity skews, each with one instance and the same 300 models of 250 MB. A single-model
real-time endpoint on the same stream is the latency reference. All 21 see the identical
requests, 1 per second for 3 hours after a 30-minute warm-up, so that the caches are full when
measurement starts.
""")

code(r"""
sweep = simlab.run(scenario(
    *[mme(key(t, skew), t, pop) for t in TYPES for skew, pop in SKEWS.items()],
    {"name": "single-model", "type": "real_time_endpoint", "instance_type": "ml.m5.large",
     "workers_per_instance": 2, "service_time": {"dist": "lognormal", "mean_ms": MODEL_MS, "cv": 0.5}}))
S = sweep.summary()["deployments"]
rows = []
for t in TYPES:
    k = models_that_fit(t)
    for skew, pop in SKEWS.items():
        s, p = S[key(t, skew)], popularity_weights(pop, N_MODELS)
        rows.append({"instance": t, "memory GiB": facts.instance(t).memory_gib, "K": k, "popularity": skew,
                     "hit simulated": s["cache_hit_rate"], "hit Che (LRU)": che_hit_rate(p, k),
                     "hit best static": best_static_hit_rate(p, k),
                     "loads per hour": s["model_loads"] / 3,
                     "loading wait ms": s["model_loading_wait_ms"]["mean"],
                     "p50 ms": s["latency_ms"]["p50"], "p99 ms": s["latency_ms"]["p99"],
                     "models loaded": s["loaded_models_max"]})
hits = pd.DataFrame(rows)
hits.pivot(index="popularity", columns="instance", values="hit simulated")[TYPES].round(3)
""")

code(r"""
mem = np.geomspace(1.3, 80, 200)                   # GiB per instance
k_of_mem = ((mem - RESERVE_GIB) * 1024 // SIZE_MB).astype(int)
fig, ax = plt.subplots(figsize=(9, 5))
for i, (skew, pop) in enumerate(SKEWS.items()):
    p = popularity_weights(pop, N_MODELS)
    ax.plot(mem, [che_hit_rate(p, k) for k in k_of_mem], color=f"C{i}",
            label=f"{skew}: Che / LRU theory" + (" = K/N" if skew == "uniform" else ""))
    sim = hits[hits.popularity == skew]
    ax.plot(sim["memory GiB"], sim["hit simulated"], "o", color=f"C{i}")
p = popularity_weights(SKEWS["zipf 1.0"], N_MODELS)
ax.plot(mem, [best_static_hit_rate(p, k) for k in k_of_mem], ":", color="C3",
        label="zipf 1.0: best static cache (top K)")
ax.plot([], [], "o", color="grey", label="simulated (one instance)")
ax.set_xscale("log", base=2)
ax.set_xticks([2, 4, 8, 16, 32, 64],
              labels=["2", *[f"{facts.instance(t).memory_gib:g}\n{t[3:]}" for t in TYPES], "64"])
ax.minorticks_off()
ax.set(xlabel="instance memory (GiB)", ylabel="cache hit rate",
       title=f"{N_MODELS} models × {SIZE_MB} MB, LRU", ylim=(0, 1))
ax.legend(fontsize=8, loc="upper left")
plt.show()
""")

md(r"""
**What to notice**

* **Uniform popularity: hit rate = K/N.** Doubling the memory doubles the hit rate, and nothing
  else helps. On a 32 GiB instance, 126 of 300 models fit, and 42 % of requests find their model
  loaded. The simulation lands on the line.
* **Skew is what makes an MME work.** With Zipf 1.0 the same 32 GiB gives about 80 % hits, and
  even a 4 GiB instance (12 models) gets about 30 %. The busy customers keep their models
  loaded, and the long tail takes turns in the rest of the memory.
* Che's approximation follows the simulation across all 20 endpoints. LRU stays below the best
  static cache (the top-K dotted line), because rare models briefly push popular ones out.
* Memory is the lever, and it has diminishing returns under skew: every doubling adds less,
  because the extra memory holds ever less popular models.

### What a miss costs

Hit rate alone hides the user's experience. A hit costs the model time (30 ms). A miss waits for
the download and load, about 3 s here.
""")

code(r"""
lat = hits.pivot(index="popularity", columns="instance", values="p99 ms")[TYPES].round(0)
med = hits.pivot(index="popularity", columns="instance", values="p50 ms")[TYPES].round(0)
single = S["single-model"]["latency_ms"]
print(f"single-model real-time endpoint: p50 {single['p50']:.0f} ms, p99 {single['p99']:.0f} ms")
print(f"mean wait of a request that missed: {hits['loading wait ms'].mean():.0f} ms "
      f"(download {SIZE_MB / DOWNLOAD_MB_S:.1f} s + load {LOAD_MS / 1000:.1f} s)")
worst = hits.iloc[0]
print(f"{worst.instance}, {worst.popularity}: {worst['loads per hour']:,.0f} model loads per hour, "
      f"{worst['loads per hour'] * SIZE_MB / 1024:,.0f} GB downloaded from S3 per hour\n")
print("p50 latency (ms) of the multi-model endpoints:")
print(med.to_string())
print("\np99 latency (ms):")
print(lat.to_string())
""")

md(r"""
**Reading the tables**

* The **median** shows a cliff. When more than half of the requests hit, the median request is a
  hit (30–50 ms). Below that, the median request waits for a model load (≈ 3 s).
* The **p99** is the load time in *every* configuration, because all of them miss more than 1 %
  of requests. A p99 SLO in milliseconds cannot be met unless nearly every model stays loaded.
  An MME fits models that can tolerate an occasional cold load of a few seconds: per-customer
  models, internal tools, long tails of rarely used models.
* Every miss is also a download. With uniform traffic the ml.c5.large reloads a model for nearly
  every request, several thousand loads and close to a terabyte from S3 per hour. At a higher
  request rate that load storm has consequences of its own (section 3).
""")

md(r"""
### Real predictions, per customer

Each customer's model is a real logistic regression trained on its own random half of the
training rows. Each request is scored by **its** model, so the same input row gets a (slightly)
different score from different customers' models:
""")

code(r"""
d = sweep.deployments[key("ml.m5.2xlarge", "zipf 1.0")]
rq = sweep.requests
mine = rq[(rq.deployment == d.name) & rq.prediction.notna()]
print(mine[["request_id", "target_model", "row", "model_cache_hit", "latency_ms", "prediction"]]
      .head(6).round(4).to_string(index=False))

row = int(mine.row.iloc[0])
x = sweep.sim.dataset.X[row:row + 1]
scores = {d.model_names()[k]: float(d.customer_model(k).score_output(x)[0]) for k in range(5)}
print(f"\ndataset row {row} scored by five customers' models:",
      {m: round(v, 4) for m, v in scores.items()})
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 3 · Where the intuition stops: loading takes time

The IRM formulas count only the *order* of requests, as if a model were ready the instant it
is needed. In a real endpoint a load takes about 3 s, and two things change:

* A request that arrives while its model is still loading waits too, and counts as a miss.
* A model that is loading already takes its memory. By Little's law, the number of loads in
  progress at any moment ≈ (loads per second) × (load time). When that number gets close to K,
  the memory is full of models that are still loading. LRU then unloads models before anyone
  has used them, and the cache **thrashes**.

Same ml.m5.large (K = 28), uniform and Zipf 1.0, with more and more traffic:
""")

code(r"""
load_s = SIZE_MB / DOWNLOAD_MB_S + LOAD_MS / 1000
k28 = models_that_fit("ml.m5.large")
storm = []
for rate in (0.5, 2, 5, 10, 20):
    hours = min(3.0, 6000 / rate / 3600)            # about 6,000 measured requests per rate
    res = simlab.run(scenario(mme("uniform", "ml.m5.large", "uniform"),
                              mme("zipf", "ml.m5.large", {"zipf": 1.0}),
                              rate=rate, duration=600 + hours * 3600, warmup=600))
    for name, s in res.summary()["deployments"].items():
        p = popularity_weights("uniform" if name == "uniform" else {"zipf": 1.0}, N_MODELS)
        storm.append({"requests/s": rate, "popularity": name, "hit simulated": s["cache_hit_rate"],
                      "hit Che (LRU)": che_hit_rate(p, k28),
                      "loads in progress (Little)": s["model_loads"] / (hours * 3600) * load_s})
storm = pd.DataFrame(storm)
storm.pivot(index="requests/s", columns="popularity", values=["hit simulated", "hit Che (LRU)",
                                                        "loads in progress (Little)"]).round(3)
""")

md(r"""
At 0.5 requests/s the simulation is close to the theory, a little below it, because even one
or two loads in progress take slots and the requests that arrive during a load miss. At 10 requests/s with uniform traffic, about
27 models are loading at any moment in a cache with room for 28, and the hit rate collapses
toward zero. Zipf traffic survives longer, because its popular models are requested again while
they are still in the cache.

Two remarks about what simlab does here:

* simlab reserves a model's memory from the start of its download and never unloads a model
  that is still loading or serving requests: a new load waits until enough of the least recently
  used models are loaded and idle. In this regime loads queue behind each other, requests wait
  for them (some longer than 60 s: ModelNotReadyException), and the hit rate still collapses.
  AWS does not document what the real service does under such memory pressure. Either way, a
  fleet in this regime is undersized.
* The fix is the same as for any thrashing cache: more memory per instance (or more instances),
  smaller models, or moving the busiest customers to endpoints of their own.

The IRM intuition holds while the loads in progress are a small fraction of K. You can estimate
them from CloudWatch before trusting the formulas: loads per second ≈ invocations per second ×
(1 − `ModelCacheHit`), and load time ≈ `ModelDownloadingTime` + `ModelLoadingTime`.
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 4 · Cost: one MME vs one endpoint per model

Without an MME, each of the 300 customers needs its own real-time endpoint with at least one
instance, running all month. (Serverless inference would be another option for such idle
endpoints; lab 02 covers it.)
""")

code(r"""
hourly = {t: facts.instance(t).price_per_hour for t in ("ml.t2.medium", "ml.m5.large", "ml.m5.2xlarge")}
zipf10 = hits[hits.popularity == "zipf 1.0"].set_index("instance")
cost = pd.DataFrame([
    {"option": f"{N_MODELS} endpoints × 1 ml.m5.large", "instances": N_MODELS,
     "$ per month": N_MODELS * hourly["ml.m5.large"] * HOURS_PER_MONTH,
     "p99 latency ms": single["p99"]},
    {"option": f"{N_MODELS} endpoints × 1 ml.t2.medium", "instances": N_MODELS,
     "$ per month": N_MODELS * hourly["ml.t2.medium"] * HOURS_PER_MONTH, "p99 latency ms": np.nan},
    *[{"option": f"1 MME × 1 {t} (zipf 1.0: {zipf10.loc[t, 'hit simulated']:.0%} hits)", "instances": 1,
       "$ per month": facts.instance(t).price_per_hour * HOURS_PER_MONTH,
       "p99 latency ms": zipf10.loc[t, "p99 ms"]} for t in TYPES],
])
cost["× cheaper than 300 ml.m5.large"] = cost["$ per month"].iloc[0] / cost["$ per month"]
cost.round(1)
""")

md(r"""
**What to notice**

* Three hundred mostly idle endpoints cost over ten thousand dollars a month, even on the
  smallest instance type. One MME costs a few hundred dollars at most: from **75×** (32 GiB) to
  **over 300×** (4 GiB) less than 300 ml.m5.large endpoints.
* What you buy with the larger MME instance is hit rate (fewer cold loads), not capacity: at 1
  request/s even the smallest instance is nearly idle. Choose the instance by **memory** for the
  models you want to keep loaded, then add instances if CPU or throughput requires it.
* What you give up is the tail: the p99 of an MME is a model load (seconds), while the
  single-model endpoint's p99 is below 100 ms.

### Exercise — predict a hit rate

A colleague shrinks the models (quantization) from 250 MB to **100 MB** each. The endpoint is one
**ml.m5.xlarge** (16 GiB), still 300 customers, and this time the customers are all **equally
busy** (uniform popularity), with 1 request/s in total. **What cache hit rate do you expect?**
Give a fraction, e.g. 0.25. The check cell simulates the endpoint and accepts an answer within
±0.02 of the simulated hit rate.
""")

code(r"""
answer_hit_rate = None  # a fraction between 0 and 1, e.g. 0.25
""")

code(r"""
_simulated = {}


def simulated_hit_rate():
    if not _simulated:
        res = simlab.run(scenario(mme("small-models", "ml.m5.xlarge", "uniform", size_mb=100)))
        _simulated["hit"] = res.summary()["deployments"]["small-models"]["cache_hit_rate"]
    return _simulated["hit"]


def check_hit_rate(answer):
    if answer is None:
        print("not yet: set answer_hit_rate in the cell above, then run this cell again")
        return False
    truth = simulated_hit_rate()
    if abs(float(answer) - truth) <= 0.02:
        print(f"correct: the simulated hit rate is {truth:.3f}")
        return True
    print(f"not yet: {answer} is off. How many 100 MB models fit into the memory that is left "
          f"for models (keep the {RESERVE_GIB:g} GiB reserve in mind)? With uniform popularity, "
          f"what fraction of the {N_MODELS} models is that?")
    return False


check_hit_rate(answer_hit_rate)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

The instance has 16 GiB. 1 GiB is reserved, which leaves 15 × 1024 = 15,360 MB, or K = 153 models
of 100 MB. With uniform popularity and LRU the hit rate is K / N = 153 / 300 = **0.51**. (Forgetting
the reserve gives 163 / 300 = 0.54, which is too high.) The simulation agrees, at about 0.51: with
1.5 s loads at 1 request/s, the IRM formula is almost exact.
</details>
""")

code(r"""
k = models_that_fit("ml.m5.xlarge", size_mb=100)
solution_hit_rate = k / N_MODELS
assert k == 153
assert check_hit_rate(solution_hit_rate)
""", solution=True)

md(r"""
## Takeaways

1. A multi-model endpoint is a cache. Its hit rate is set by **how many models fit** (memory ÷
   model size, after the reserve) and by **how skewed** the traffic is. Uniform traffic gives
   exactly K/N. Skewed traffic gives much more, and Che's approximation predicts it for LRU.
2. simlab assumes LRU unloading. AWS only says that "unused" models are unloaded.
3. A miss costs a download plus a load (seconds). The p99 of an MME is a cold load unless
   nearly every request hits, so use MMEs for models that tolerate one.
4. When loads in progress (loads/s × load time) approach the number of models that fit, the
   cache thrashes and the formulas no longer apply.
5. For hundreds of rarely used models, one MME costs two orders of magnitude less than one
   endpoint per model.

Next: run `simlab simulate scenarios/per-customer-models.yaml`, which compares a large and a tight
cache with three instances, or change `popularity` in a copy of it.
""")

code(r"""
print(f"lab ran in {time.perf_counter() - T_START:.1f} s")
""")

nb.write()
