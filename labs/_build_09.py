"""Generate labs/09_ab_and_shadow.ipynb (stored without outputs).

    python labs/_build_09.py

The notebook is the artifact CI runs (``pytest --nbval-lax labs/09_ab_and_shadow.ipynb``); this
script only keeps its source readable and reviewable. Edit here, then regenerate.
"""

from __future__ import annotations

from pathlib import Path

from _nbbuild import Notebook

OUT = Path(__file__).with_name("09_ab_and_shadow.ipynb")

nb = Notebook(OUT, "lab09")
md, code = nb.md, nb.code


# ---------------------------------------------------------------------------------------------
md(r"""
# Lab 09 · A/B tests, peeking, and what a shadow test cannot tell you

Two model versions serve real traffic side by side as **production variants** of one endpoint
(`UpdateEndpointWeightsAndCapacities` sets their weights). Which one is better? We look at

1. an **A/B test with delayed labels**: accuracy can only be measured once the true labels
   arrive, so the test sees fewer labels than requests;
2. **peeking**: looking at a fixed-horizon test every few minutes and stopping at the first
   "significant" result inflates false positives; the **always-valid sequential test (mSPRT)**
   does not;
3. **power and sample size**: how many requests per arm a difference needs;
4. a **shadow test** of a new model: copies of production requests, no user ever sees its answers —
   so it measures agreement, latency, errors and cost, but not the user outcome.

*Run it:* open it in Jupyter, or run `pytest --nbval-lax labs/09_ab_and_shadow.ipynb` (about 20 s).
""")

code(r"""
%matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

import simlab
from simlab.rollouts import stats


def find_up(name):
    # labs/ runs from the repo or from labs/: look in the working directory and its parents.
    for d in (Path.cwd(), *Path.cwd().parents):
        if (d / name).exists():
            return d / name
    raise FileNotFoundError(name)
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 1 · An A/B test with delayed labels

`scenarios/ab-test.yaml`: variant **A** (`breast_cancer_logreg`) serves alone for 30 minutes,
then **B** (`breast_cancer_tree`) gets half of the traffic for an hour. Labels arrive about ten
minutes after each request (`ground_truth: {delay: {dist: lognormal, mean: 10m, cv: 0.5}}`).
The deployment's `ab_test:` field asks simlab to analyse the 50/50 hour:
""")

code(r"""
scenario = simlab.load_scenario(find_up("scenarios/ab-test.yaml"))
print(scenario.raw["deployments"][0]["ab_test"])
res = simlab.run(scenario)
ab = res.summary()["deployments"]["api"]["ab"]
print(ab["labels"])
pd.DataFrame(ab["variants"]).set_index("variant")
""")

md(r"""
`labelled` counts the requests whose label had arrived by the end of the run (each look only
counts those arrived by then). The fixed-horizon tests, with their 95 % intervals of B − A:
""")

code(r"""
pd.DataFrame(ab["tests"])[["metric", "test", "estimate", "ci_low", "ci_high", "p_value", "n_a", "n_b"]]
""")

md(r"""
B's accuracy is lower, the latency and error rates are indistinguishable. **When** would each
method have said so? The analyst looks every 5 minutes (`looks_every: 5m`):

- *peeking*: a z test at every look, stop at the first p < α;
- *fixed horizon*: one z test, at the first look where both arms have the planned sample size;
- *mSPRT*: the always-valid p-value at every look.
""")

code(r"""
times = pd.DataFrame(ab["winner_times"])
print("sample size per arm:", {r["metric"]: r["n_per_arm"] for r in ab["sample_size"]})
print("winner:", ab["winner"])
times[times["metric"] == "accuracy"]
""")

md(r"""
Here the difference is real and large, so all three find it. The question is what they do when
there is **no** difference.

## 2 · Peeking: false positives of an A/A test

An **A/A test** compares two identical arms: every "winner" is a false positive. We simulate
1000 A/A tests of a 10 % conversion-like rate, 4000 requests each, and look 20 times — with
`stats.decision_times`, the function the summary uses, on synthetic Bernoulli streams (the
simulator would give the same answer, more slowly; `tests/test_rollouts_abtest.py` checks both).
""")

code(r"""
def aa_tests(reps=1000, n=4000, looks=20, p=0.10, lift=0.0, seed=9):
    hits = {"fixed_horizon_peeking": 0, "fixed_horizon": 0, "msprt": 0}
    for ss in np.random.SeedSequence(seed).spawn(reps):
        g = np.random.default_rng(ss)
        arm = (g.random(n) < 0.5).astype(int)
        y = (g.random(n) < p + lift * arm).astype(float)
        recs = stats.decision_times(t=np.arange(n), arm=arm, value=y, looks=np.linspace(n / looks, n, looks),
                                    planned_n_per_arm=int(0.45 * n), n_star=2000)
        for r in recs:
            hits[r["method"]] += r["t_s"] is not None
    return {k: v / reps for k, v in hits.items()}


alpha, reps = 0.05, 1000
aa = aa_tests(reps)
lo, hi = proportion_confint(int(alpha * reps), reps, alpha=0.01, method="beta")
print(f"α = {alpha}: a test at level α rejects between {lo:.1%} and {hi:.1%} of {reps} A/A tests (99 % interval)")
pd.Series(aa, name="false-positive rate")
""")

md(r"""
- The fixed-horizon test, looked at **once**, lands inside the binomial interval of α.
- **Peeking** at the same z test 20 times and stopping at the first p < 0.05 declares a winner in
  roughly a quarter of A/A tests — five times the promised 5 %.
- The **mSPRT** stays below α: its p-value is valid whenever you read it (Johari et al.,
  "Peeking at A/B Tests", 2017). It is conservative: its bound holds for *infinitely* many looks.

The price is power: with a real +3 pp lift, within the same 4000 requests, the mSPRT finds it
less often than the fixed-horizon test planned for 1800 requests per arm (which, looked at once,
is the test to beat when you can wait for its planned sample).
""")

code(r"""
power = aa_tests(reps=300, lift=0.03)
pd.Series(power, name="detection rate, +3 pp")
""")

# ---------------------------------------------------------------------------------------------
md(r"""
## 3 · Power and sample size

For a fixed-horizon two-sided test at α with power 1 − β, two arms with per-observation variance
σ² (σ² = p(1 − p) for a rate) and effect δ, each arm needs

$$n = \frac{2\,(z_{1-\alpha/2} + z_{1-\beta})^2\,\sigma^2}{\delta^2}.$$

The detectable effect shrinks only as 1/√n: halving δ costs four times the traffic. A canary
with share w of the traffic sees only wλT requests, so a 5 % canary needs about 5.3× the bake of a
50/50 split for the same δ (`docs/rollouts.md`, power planning).
""")

code(r"""
deltas = np.array([0.005, 0.01, 0.02, 0.03, 0.05])
sizes = [stats.sample_size_rates(p_base=0.95, delta=-d) for d in deltas]
fig, ax = plt.subplots(figsize=(6, 3))
ax.loglog(deltas * 100, sizes, "o-")
ax.set(xlabel="accuracy drop to detect (pp)", ylabel="requests per arm", title="α 5 %, power 80 %, base 95 %")
pd.DataFrame({"drop_pp": deltas * 100, "n_per_arm": sizes})
""")

md(r"""
### Exercise — a sample size by hand

Your model's accuracy is 90 %. You want to detect a drop to **88 %** with a two-sided test at
α = 5 % and power 80 %, with σ² the mean of the two arms' p(1 − p). How many labelled requests per
arm? (z₀.₉₇₅ = 1.959964, z₀.₈ = 0.841621; round up.)
""")

code(r"""
answer_n_per_arm = None  # your answer, an integer
""")

code(r"""
def check_sample_size(answer):
    truth = stats.sample_size_rates(p_base=0.90, delta=-0.02)
    if answer is None:
        print("not yet: set answer_n_per_arm in the cell above, then run this cell again")
        return False
    if abs(answer - truth) <= 1:
        print(f"correct: {truth} labelled requests per arm")
        return True
    ratio = answer / truth
    hint = ("two arms: n = 2 (z + z)² σ² / δ² — the 2 is missing?" if 0.4 < ratio < 0.6 else
            "two-sided: z₀.₉₇₅, not z₀.₉₅" if 0.7 < ratio < 0.85 else
            "σ² = (0.9·0.1 + 0.88·0.12) / 2 and δ = 0.02")
    print(f"not yet: {answer} ({hint})")
    return False


check_sample_size(answer_n_per_arm)
""")

md(r"""
<details><summary><b>Solution</b> (the next cell is collapsed; CI runs it to prove the checker works)</summary>

σ² = (0.9·0.1 + 0.88·0.12)/2 = 0.0978; n = 2·(1.959964 + 0.841621)²·0.0978/0.02² = 3838.1 → 3839.
</details>
""")

code(r"""
sigma2 = (0.90 * 0.10 + 0.88 * 0.12) / 2
solution = int(np.ceil(2 * (1.959964 + 0.841621) ** 2 * sigma2 / 0.02**2))
assert check_sample_size(solution)
assert not check_sample_size(int(np.ceil(2 * (1.644854 + 0.841621) ** 2 * sigma2 / 0.02**2)))  # one-sided z
assert not check_sample_size(int(np.ceil((1.959964 + 0.841621) ** 2 * sigma2 / 0.02**2)))  # without the 2
""", solution=True)

# ---------------------------------------------------------------------------------------------
md(r"""
## 4 · A shadow test, and what it cannot tell you

`scenarios/shadow-test.yaml`: a new model (`breast_cancer_tree`) gets copies of half of the
production requests from minute 10 (`ShadowProductionVariants`, `SamplingPercentage` 50); its
answers are logged and **never returned**. It is promoted after 90 minutes.
""")

code(r"""
shadow_res = simlab.run(simlab.load_scenario(find_up("scenarios/shadow-test.yaml")))
sh = shadow_res.summary()["deployments"]["api"]["shadow"]
{k: sh[k] for k in ("copies", "errors", "latency_p99_ms", "cost_usd", "agreement", "promoted_s")}
""")

md(r"""
The shadow test measured what the **system** does with the new model: its latency under real
traffic, its errors, what it costs, and how often it agrees with production (Cohen's κ corrects
for agreement by chance). What it cannot measure is the **user outcome**: nobody saw the
shadow's answers, so nobody clicked, bought, churned or complained because of them. Where the two
models disagree, only labels can say which is right — and a recommendation or a ranking changes
the behaviour it is judged on, which no replay can observe. For that you need an A/B test (part 1),
with real users on each arm, enough of them (part 3), and a test that survives peeking (part 2).
""")

code(r"""
assert sh["copies"] > 0 and 0 < sh["agreement"]["agreement"] < 1
disagree = 1 - sh["agreement"]["agreement"]
print(f"the models disagree on {disagree:.1%} of the copied requests: the shadow test cannot say who was right")
""")

md(r"""
## Takeaways

1. With delayed labels an A/B test on accuracy sees only the labels that have arrived: plan the
   test's length for the label delay, not just for the traffic.
2. Looking at a fixed-horizon test repeatedly and stopping at the first p < α multiplies the
   false-positive rate; an always-valid sequential test (mSPRT) can be read at every look.
3. Sample size grows as 1/δ²: decide the effect worth detecting before the test, not after.
4. A shadow test is a safe load and agreement test; it is not an experiment on users.

From the command line: `simlab simulate scenarios/ab-test.yaml` prints the A/B line under the table;
`--json` has the whole analysis under `deployments.api.ab`.
""")

nb.write()
