"""Generate labs/10_what_if.ipynb (stored without outputs).

    python labs/_build_10.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/10_what_if.ipynb``); this script
only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("10_what_if.ipynb")

nb = Notebook(OUT, "lab10")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 10 · What if? Sweeps with confidence intervals, and right-sizing

Before paying for a load test, an ML engineer asks: *what happens to my bill and my p99 if
traffic grows?* and *how many instances do I need?* This lab answers both by simulation:

1. **A sweep.** We vary the arrival rate of one request stream served by a serverless endpoint
   and by one always-on instance, run every point twice with seeds spawned from one root seed,
   and read off where serverless stops being cheaper (the **crossover**), with 95 % intervals.
   The exercise: predict that crossover from the price list alone.
2. **Right-sizing.** `simlab size` searches for the cheapest fleet that meets a p99 target — what
   SageMaker Inference Recommender does with a paid load test — and we check its answer against
   queueing theory.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/10_what_if.ipynb` (about 30 s).
""")

code(r"""
%matplotlib inline
import math

import simlab
from simlab import facts, plots
from simlab.scenario import scenario_from_dict
from simlab.whatif.sizing import size
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · A sweep: when does serverless stop being cheaper?

Both deployments get the **same** Poisson stream: 1 KiB payloads, a model that takes exactly
100 ms. Serverless bills every request (GB-seconds of compute plus data processed); the real-time
endpoint bills one `ml.m5.large` every hour whatever the traffic.
""")

code(r"""
base = {
    "name": "serverless-vs-instance", "seed": 10, "duration": "30m", "warmup": "1m",
    "workload": {"arrivals": "poisson", "rate_per_s": 5, "payload_kb": 1},
    "deployments": [
        {"name": "instance", "type": "real_time_endpoint", "instance_type": "ml.m5.large",
         "instance_count": 1, "workers_per_instance": 4, "service_time": {"dist": "fixed", "mean_ms": 100}},
        {"name": "serverless", "type": "serverless_inference", "memory_mb": 1024, "max_concurrency": 50,
         "service_time": {"dist": "fixed", "mean_ms": 100}},
    ],
}
sc = scenario_from_dict(base)
w = simlab.whatif(sc, ["workload.rate_per_s=4,9,14,19,24"], replications=2)
w.frame[["workload.rate_per_s", "replication", "deployment", "cost_usd", "latency_ms.p99", "cold_starts"]].head(6)
""")

md(r"""
`w.frame` is tidy: one row per point × replication × deployment, every summary field a column.
`w.summary()` holds the means with their 95 % intervals, and the crossovers:
""")

code(r"""
for c in w.crossovers:
    print(f"{c['metric']}: {c['a']} = {c['b']} at {c['path']} = {c['at']:.2f}")
crossover = next(c["at"] for c in w.crossovers if c["metric"] == "cost_usd")
""")

md(r"""
The same figures as the HTML report come from `simlab.plots`; here the cost against the rate,
with the crossover marked:
""")

code(r"""
rates = [p["values"]["workload.rate_per_s"] for p in w.points]
lines = {name: tuple([p["deployments"][name]["cost_usd"][k] if k == "mean" else
                      p["deployments"][name]["cost_usd"]["ci95"][k] for p in w.points]
                     for k in ("mean", 0, 1))
         for name in ("instance", "serverless")}
plots.metric_vs_value(rates, lines, xlabel="requests per second", ylabel="USD per 29 min",
                      title="Cost vs traffic (mean, 95 % interval)", marks=[(crossover, "break-even")])
""")

md(r"""
In Jupyter, `w` on its own shows the whole report inline (`w._repr_html_()`), and
`w.write("run/lab10")` writes it as `report.html`, `report.md`, `results.csv` and `summary.json`
(the same as `simlab whatif … --out run/lab10`).

### Exercise — predict the break-even from the price list

Using only `facts.price(...)` and `facts.instance("ml.m5.large").price_per_hour`, compute the
**arrival rate (requests per second)** at which serverless costs as much as the instance.
A serverless request is billed its duration (100 ms) × memory (1 GB) at
`serverless_compute_per_gb_s`, plus its payload and response (1 KiB each) at
`serverless_data_per_gb` (1 GB = 2³⁰ bytes here).
""")

code(r"""
answer_rate_per_s = None  # your answer, e.g. 12.3
""")

code(r"""
def check_break_even(answer):
    if answer is None:
        print("not yet: set answer_rate_per_s in the cell above, then run this cell again")
        return False
    per_request = (0.1 * 1.0 * facts.price("serverless_compute_per_gb_s")
                   + 2 * 1024 / 2**30 * facts.price("serverless_data_per_gb"))
    truth = facts.instance("ml.m5.large").price_per_hour / 3600 / per_request
    if abs(answer - truth) <= 0.02 * truth:
        print(f"correct: {truth:.2f} requests/s; the simulated crossover is {crossover:.2f} "
              f"({100 * (crossover / truth - 1):+.1f} %, sampling noise)")
        return True
    hint = "the compute part dominates: 0.1 s × 1 GB" if answer > truth else "divide the price per SECOND"
    print(f"not yet: {answer:.2f} is {100 * (answer / truth - 1):+.0f} % off ({hint})")
    return False


check_break_even(answer_rate_per_s)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

A request costs 0.1 s × 1 GB × $0.00002 + 2 KiB × $0.016/GB ≈ $2.03 × 10⁻⁶; the instance costs
$0.115 / 3600 s ≈ $3.19 × 10⁻⁵ per second. Break-even at 3.19 × 10⁻⁵ / 2.03 × 10⁻⁶ ≈ **15.7
requests per second** — about 1.36 million requests a day. Below that, serverless is cheaper.
</details>
""")

code(r"""
per_request = (0.1 * 1.0 * facts.price("serverless_compute_per_gb_s")
               + 2 * 1024 / 2**30 * facts.price("serverless_data_per_gb"))
solution_rate = facts.instance("ml.m5.large").price_per_hour / 3600 / per_request
assert check_break_even(solution_rate)
assert not check_break_even(solution_rate * 1.1) and not check_break_even(solution_rate * 3600)
assert abs(crossover / solution_rate - 1) < 0.03  # the simulation agrees with the price list
""", solution=True)

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · Right-sizing a fleet for a p99

Ten requests per second, an exponential model time with mean 100 ms, one request at a time per
instance, RANDOM routing. How many instances keep **p99 ≤ 800 ms**? `simlab size` tries 1, 2, …
instances (auto scaling off) until every replication meets the target with no errors, and
reports in Inference Recommender's terms:
""")

code(r"""
fleet = scenario_from_dict({
    "name": "fleet", "seed": 4, "duration": "30m", "warmup": "2m",
    "workload": {"arrivals": "poisson", "rate_per_s": 10, "payload_kb": 1},
    "deployments": [{"name": "rt", "type": "real_time_endpoint", "instance_type": "ml.m5.large",
                     "instance_count": 1, "workers_per_instance": 1, "overhead_ms": 0,
                     "service_time": {"dist": "exponential", "mean_ms": 100}}],
})
sized = size(fleet, "rt", 800, instance_types=["ml.m5.large", "ml.c5.large"], max_instances=6, replications=2)
print(sized.text())
""")

md(r"""
**Check against theory.** RANDOM routing splits a Poisson stream into `c` Poisson streams of
λ/c, so each instance is an M/M/1 queue whose response time is exponential with rate μ − λ/c. Its
p99 is ln(100)/(μ − λ/c): the smallest `c` meeting 800 ms follows without simulating anything.
(With least-outstanding-requests routing the instances share the load better and the answer lies
between this and the pooled M/M/c count from Erlang C.)
""")

code(r"""
lam, mu = 10.0, 10.0
theory = {c: math.log(100) / (mu - lam / c) * 1000 for c in range(2, 7)}
print({c: round(v) for c, v in theory.items()})
smallest = min(c for c, v in theory.items() if v <= 800)
assert sized.recommendation["InitialInstanceCount"] == smallest
assert sized.recommendation["InstanceType"] == "ml.c5.large"  # same speed in simlab, cheaper per hour
print(f"theory: {smallest} instances; simlab size: {sized.recommendation['InitialInstanceCount']} "
      f"× {sized.recommendation['InstanceType']} at {sized.recommendation['CostPerHour']:.3f} USD/h")
""")

md(r"""
## Takeaways

1. A what-if runs each point several times on seeds spawned from one root seed; the same seeds
   serve every point, so differences between points are not noise between streams. Results are
   identical on one process, a process pool or a Dask cluster.
2. Serverless bills per request and an instance per hour: the break-even follows from the price
   list, and the simulated crossover agrees with it.
3. Right-sizing by simulation gives the count queueing theory predicts where theory applies — and
   keeps working where it does not (cold starts, auto scaling, payload limits).

From the command line: `simlab whatif SCENARIO --vary PATH=VALUES --out DIR` and
`simlab size SCENARIO --deployment NAME --p99-ms MS`; see `docs/whatif.md`.
""")

nb.write()
