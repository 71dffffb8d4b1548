"""Generate labs/08_canary_rollouts.ipynb (stored without outputs).

    python labs/_build_08.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/08_canary_rollouts.ipynb``); this
script only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("08_canary_rollouts.ipynb")

nb = Notebook(OUT, "lab08")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 08 · One bad model version, rolled out four ways

A new model version has a bug: 5 % of its answers are HTTP 5xx `ModelError`s. We roll it out to
four identical real-time endpoints that receive **the same request stream**, each with a different
SageMaker deployment guardrail — blue/green **all at once**, **canary**, **linear**, and a
**rolling** update — and the same CloudWatch alarm on `Invocation5XXErrors` for auto-rollback.
Then we look at a failure mode of canary *judges*: a quiet endpoint whose canary rolls back
although nothing is wrong.

What to watch: the **blast radius** (requests and errors that reached the new version), how fast
each update was **detected**, and the **extra cost** of running two fleets at once.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/08_canary_rollouts.ipynb` (about 20 s).
""")

code(r"""
%matplotlib inline
import matplotlib.pyplot as plt

import simlab
from simlab import facts
from simlab.scenario import scenario_from_dict
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · The same bad update, four policies

Every endpoint has 4 `ml.m5.large` instances and 10 requests/s. At minute 10 `UpdateEndpoint`
asks for `breast_cancer_tree` with the injected fault. The green fleet needs the documented
start-up time before it takes traffic. Bakes are 300 s; the alarm fires on more than 3 errors in
one minute.
""")

code(r"""
def endpoint(name, deployment_config):
    return {"name": name, "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 4,
            "service_time": {"dist": "lognormal", "mean_ms": 30, "cv": 0.5},
            "updates": [{"at": "10m",
                         "endpoint_config": {"model": "breast_cancer_tree", "faults": {"error_rate": 0.05}},
                         "deployment_config": {**deployment_config,
                                               "auto_rollback_configuration": {"alarms": [{"alarm_name": f"{name}-5xx"}]}}}]}


def blue_green(kind, **routing):
    return {"blue_green_update_policy": {
        "traffic_routing_configuration": {"type": kind, "wait_interval_in_seconds": 300, **routing},
        "termination_wait_in_seconds": 300}}


quarter = {"type": "CAPACITY_PERCENT", "value": 25}
policies = {
    "all-at-once": blue_green("ALL_AT_ONCE"),
    "canary": blue_green("CANARY", canary_size=quarter),
    "linear": blue_green("LINEAR", linear_step_size=quarter),
    "rolling": {"rolling_update_policy": {"maximum_batch_size": quarter, "wait_interval_in_seconds": 300}},
}
alarms = [{"alarm_name": f"{name}-5xx", "deployment": name, "metric_name": "Invocation5XXErrors",
           "statistic": "Sum", "period": 60, "evaluation_periods": 1, "threshold": 3,
           "comparison_operator": "GreaterThanThreshold", "treat_missing_data": "notBreaching"}
          for name in policies]
scenario = scenario_from_dict({
    "name": "four-ways", "seed": 8, "duration": "1h",
    "workload": {"arrivals": "poisson", "rate_per_s": 10, "payload_kb": 4},
    "deployments": [endpoint(name, dc) for name, dc in policies.items()], "alarms": alarms})
res = simlab.run(scenario)
summary = res.summary()
updates = {name: summary["deployments"][name]["updates"][0] for name in policies}
for name, u in updates.items():
    print(f"{name:12} {u['outcome']:12} detected at {u['detected_s']:6.0f} s   "
          f"{u['requests_to_new']:4d} requests to new, {u['errors_to_new']:3d} errors, "
          f"{u['wrong_predictions_to_new']:3d} wrong predictions, extra cost {u['extra_cost_usd']:.4f} USD")
""")

md(r"""
All four roll back — the alarm did its job — but the blast radius differs by a factor of about
four: all-at-once sent **every** request to the bad version for a minute, canary and linear a
quarter of them, rolling one new instance out of five. The timeline shows the
`ActivatingTraffic` / `Baking` / `RollingBack` states SageMaker's console shows:
""")

code(r"""
frame = res.rollouts["updates"]
fig, ax = plt.subplots(figsize=(8, 3))
for name in policies:
    steps = frame[frame["deployment"] == name]
    ax.step(steps["t_s"] / 60, steps["traffic_to_new"], where="post", label=name)
first_alarm = min(a["first_alarm_s"] for a in summary["alarms"].values() if a["first_alarm_s"] is not None)
ax.axvline(first_alarm / 60, color="grey", ls=":", label="first ALARM")
ax.set(xlim=(9, 20), xlabel="minute", ylabel="share of traffic on the new version", title="Traffic to new")
ax.legend(fontsize=8)
frame[frame["deployment"] == "canary"]
""")

md(r"""
Note the **extra cost**: while the update runs both fleets are billed. Linear and rolling update
policies turn old instances off as the new ones take traffic, so they cost less extra — the
reason SageMaker offers rolling updates for large fleets (`limit_extra_capacity`). After a linear
rollback the old fleet is short of instances until the ones it asks back have started.

### Exercise — the canary's extra cost by hand

From the canary's `steps` (above) and the hourly price of `ml.m5.large`
(`facts.instance("ml.m5.large").price_per_hour`), compute its `extra_cost_usd`: the green fleet has
4 instances, billed from the moment it came into service until it was removed at the rollback
(nothing was still running on it), and blue alone would have cost what blue cost.
""")

code(r"""
answer_extra_cost_usd = None  # your answer in USD, e.g. 0.0123
""")

code(r"""
def check_extra_cost(answer):
    u = updates["canary"]
    if answer is None:
        print("not yet: set answer_extra_cost_usd in the cell above, then run this cell again")
        return False
    if abs(answer - u["extra_cost_usd"]) <= 1e-6:
        print(f"correct: {u['extra_cost_usd']:.6f} USD")
        return True
    ready = next(s["t_s"] for s in u["steps"] if s["event"] == "ActivatingTraffic")
    hint = (f"green is billed from {ready:.0f} s (in service), not from the call at {u['at_s']:.0f} s"
            if answer > u["extra_cost_usd"] else "4 instances, and the price is per hour")
    print(f"not yet: {answer:.6f} USD ({hint})")
    return False


check_extra_cost(answer_extra_cost_usd)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

Green came into service at the `ActivatingTraffic` step (start-up done) and was removed at the
`RollingBack` step: 4 instances × (t_rollback − t_ready) s × price per hour / 3600.
</details>
""")

code(r"""
u = updates["canary"]
t_ready = next(s["t_s"] for s in u["steps"] if s["event"] == "ActivatingTraffic")
t_back = next(s["t_s"] for s in u["steps"] if s["event"] == "RollingBack")
price_s = facts.instance("ml.m5.large").price_per_hour / 3600
solution = 4 * (t_back - t_ready) * price_s
assert check_extra_cost(solution)
assert not check_extra_cost(4 * (t_back - u["at_s"]) * price_s)  # billed from the call: wrong
assert not check_extra_cost((t_back - t_ready) * price_s)  # one instance: wrong
""", solution=True)

# ---------------------------------------------------------------------------------------------
md(r"""
## 2 · A canary that rolls back although nothing is wrong

Canary tools (Flagger, Argo Rollouts) judge each analysis interval against a threshold, with a
**no-data policy** for intervals with too few canary requests. On a quiet endpoint — 0.2
requests/s, so a 25 % canary sees about 3 requests a minute — an update to an **identical** model
(an A/A update) meets a threshold judge that wants at least 10 requests per interval:
""")

code(r"""
def quiet(no_data):
    judge = {"type": "threshold", "metric": "error_rate", "max": 0.01, "interval": 60,
             "min_requests": 10, "no_data": no_data}
    dep = {"name": "quiet", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 4,
           "service_time": {"dist": "lognormal", "mean_ms": 30, "cv": 0.5},
           "updates": [{"at": "10m", "endpoint_config": {},
                        "deployment_config": blue_green("CANARY", canary_size=quarter), "judges": [judge]}]}
    sc = scenario_from_dict({"name": "quiet", "seed": 8, "duration": "1h",
                             "workload": {"arrivals": "poisson", "rate_per_s": 0.2, "payload_kb": 4},
                             "deployments": [dep]})
    return simlab.run(sc).summary()["deployments"]["quiet"]["updates"][0]


false_rollback = quiet("fail")
print(false_rollback["outcome"], "at", false_rollback["detected_s"], "s:", false_rollback["reason"])
assert false_rollback["outcome"] == "rolled_back" and false_rollback["errors_to_new"] == 0
""")

md(r"""
The new version made no error, yet the update rolled back at the first look: with `no_data: fail`
an interval with too little traffic counts as a failed check. The fix is not to look away from
errors, but to admit that one minute of a quarter of 0.2 requests/s says nothing: ignore
intervals without enough data (or give the canary more traffic, or bake longer and judge the
cumulative data — the sequential judge does that validly).
""")

code(r"""
fixed = quiet("ignore")
print(fixed["outcome"], "after", fixed["finished_s"] - fixed["at_s"], "s;", fixed["requests_to_new"], "requests to new")
assert fixed["outcome"] == "completed"
""")

md(r"""
## Takeaways

1. With the same alarm, a canary, linear or rolling update limits the blast radius to the share
   of traffic the new version gets before the alarm fires; all at once exposes everyone.
2. Both fleets are billed during a blue/green update; linear and rolling updates turn old
   instances off as they go and cost less extra (and leave less spare capacity for a rollback).
3. A canary judge needs data: at low traffic a no-data-fails policy rolls back good versions.
   Size the canary and the bake for the traffic you have (`docs/rollouts.md`, power planning).

From the command line: `simlab simulate scenarios/canary-rollback.yaml --out run/canary` writes the
timeline to `updates.csv`.
""")

nb.write()
