"""The A/B test of a run (``ab_test:``) on the real simulator, and the A/A false-positive rates.

Simulator checks use a trace of one request at k + 0.5 s (k = 0…3599) split 50/50 between two
variants: A serves ``breast_cancer_logreg``, B ``breast_cancer_tree``; a request goes to A when its
routing uniform is below 0.5 (variants in order), so every count below comes from the workload's
uniforms, arrival times and the real models' predictions, not from the feature. Labels arrive a
fixed 600 s after each request (``ground_truth: {delay: 600}``).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from simlab.errors import ScenarioError
from simlab.result import Result
from simlab.rollouts import ab
from simlab.rollouts.abtest import looks
from simlab.rollouts.feature import FEATURE
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation
from simlab.zoo import load_model

DELAY = 600.0
AB = {"control": "A", "treatment": "B", "metric": "accuracy", "looks_every": 600,
      "minimum_detectable_effect": {"accuracy_pp": 3}}


def raw_scenario(tmp_path, ab_test: dict | None = None, *, ground_truth: bool = True) -> dict:
    trace = tmp_path / "arrivals.csv"
    trace.write_text("\n".join(f"{k + 0.5}" for k in range(3600)) + "\n", encoding="utf-8")
    dep = {"name": "api", "type": "real_time_endpoint", "instance_type": "ml.m5.large", "instance_count": 2,
           "service_time": {"dist": "lognormal", "mean_ms": 30, "cv": 0.5},
           "variants": [{"name": "A", "weight": 1, "model": "breast_cancer_logreg"},
                        {"name": "B", "weight": 1, "model": "breast_cancer_tree"}],
           "ab_test": AB if ab_test is None else ab_test}
    raw = {"name": "ab", "duration": 3600, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "trace", "file": str(trace)}, "deployments": [dep]}
    if ground_truth:
        raw["ground_truth"] = {"delay": DELAY}
    return raw


def run(raw: dict) -> tuple[Simulation, dict, dict]:
    sim = Simulation(scenario_from_dict(raw)).run()
    summary = Result(sim).summary()
    return sim, summary, summary["deployments"]["api"]["ab"]


def correct_by_hand(sim: Simulation) -> tuple[np.ndarray, np.ndarray]:
    """(arm B?, prediction right?) per request, from the routing uniforms and the real models."""
    wl = sim.workload
    to_b = wl.u_route >= 0.5
    X, y = sim.dataset.X[wl.row], sim.dataset.y[wl.row]
    p_a = load_model("breast_cancer_logreg", version=0).predict_proba(X)[:, 1] >= 0.5
    p_b = load_model("breast_cancer_tree", version=0).predict_proba(X)[:, 1] >= 0.5
    return to_b, np.where(to_b, p_b, p_a).astype(int) == y


@pytest.fixture(scope="module")
def delayed(tmp_path_factory):
    return run(raw_scenario(tmp_path_factory.mktemp("ab")))


def test_per_variant_counts_and_accuracy_count_only_labels_arrived_by_the_end(delayed) -> None:
    sim, _, rec = delayed
    to_b, right = correct_by_hand(sim)
    t = sim.workload.t
    labelled = t + DELAY <= 3600  # label arrives 600 s after the request: requests up to 3000 s
    by = {v["variant"]: v for v in rec["variants"]}
    for name, arm in (("A", ~to_b), ("B", to_b)):
        assert by[name]["requests"] == int(arm.sum()) and by[name]["error_rate"] == 0.0
        assert by[name]["labelled"] == int((arm & labelled).sum()) < int(arm.sum())
        assert by[name]["accuracy"] == pytest.approx(right[arm & labelled].mean(), abs=1e-6)
    assert "only labels arrived" in rec["labels"]


def test_accuracy_test_and_sample_size_by_hand(delayed) -> None:
    sim, _, rec = delayed
    to_b, right = correct_by_hand(sim)
    labelled = sim.workload.t + DELAY <= 3600
    ka, na = int(right[~to_b & labelled].sum()), int((~to_b & labelled).sum())
    kb, nb = int(right[to_b & labelled].sum()), int((to_b & labelled).sum())
    pa, pb, pool = ka / na, kb / nb, (ka + kb) / (na + nb)
    z = (pb - pa) / math.sqrt(pool * (1 - pool) * (1 / na + 1 / nb))  # pooled two-proportion z
    (acc,) = [r for r in rec["tests"] if r["metric"] == "accuracy"]
    assert acc["estimate"] == pytest.approx(pb - pa, abs=1e-6) and acc["statistic"] == pytest.approx(z, abs=1e-5)
    assert acc["p_value"] == pytest.approx(2 * sps.norm.sf(abs(z)), abs=1e-6)
    half = sps.norm.ppf(0.975) * math.sqrt(pa * (1 - pa) / na + pb * (1 - pb) / nb)  # Wald interval
    assert (acc["ci_low"], acc["ci_high"]) == pytest.approx((pb - pa - half, pb - pa + half), abs=1e-6)
    # n per arm = 2 (z_0.975 + z_0.8)² σ² / δ², σ² the mean p(1−p) of pa and pa − 0.03
    sigma2 = (pa * (1 - pa) + (pa - 0.03) * (1 - pa + 0.03)) / 2
    n = math.ceil(2 * (1.959964 + 0.841621) ** 2 * sigma2 / 0.03**2)
    (size,) = rec["sample_size"]
    assert size["metric"] == "accuracy" and abs(size["n_per_arm"] - n) <= 1  # z to 6 decimals
    # the planned fixed-horizon test looks at the first look where both arms hold n labels
    # known by then: a label of a request at t is known at t + 600
    (fixed,) = [r for r in rec["winner_times"] if r["metric"] == "accuracy" and r["method"] == "fixed_horizon"]
    t = sim.workload.t
    for look in looks(start=0, end=3600, every=600):
        known = t + DELAY <= look
        if (known & ~to_b).sum() >= size["n_per_arm"] and (known & to_b).sum() >= size["n_per_arm"]:
            assert (fixed["n_a"], fixed["n_b"]) == (int((known & ~to_b).sum()), int((known & to_b).sum()))
            break
    else:
        raise AssertionError("no look reached the planned sample size")


def test_without_ground_truth_labels_count_at_response_time_and_the_table_says_who_won(tmp_path) -> None:
    sim, summary, rec = run(raw_scenario(tmp_path, ground_truth=False))
    to_b, right = correct_by_hand(sim)
    by = {v["variant"]: v for v in rec["variants"]}
    assert by["B"]["labelled"] == int(to_b.sum()) and by["B"]["accuracy"] == pytest.approx(right[to_b].mean(), abs=1e-6)
    assert "no ground_truth" in rec["labels"]
    lines = FEATURE.table_lines(summary)
    assert "A/B tests" in lines
    (line,) = [ln for ln in lines if ln.startswith("  api B vs A")]
    win = rec["winner"]
    assert win is None or f"mSPRT winner {win['variant']} at {win['t_s']:g} s" in line


def test_auto_promote_shifts_all_traffic_to_the_winner_at_the_deciding_look(tmp_path) -> None:
    sim, _, rec = run(raw_scenario(tmp_path, {**AB, "looks_every": 300, "auto_promote": True}))
    promoted, win = rec["promoted"], rec["winner"]
    assert promoted is not None and win is not None
    # the logistic regression (A) is the more accurate model on this dataset
    assert promoted["variant"] == win["variant"] == "A" and promoted["t_s"] == win["t_s"]
    assert promoted["t_s"] % 300 == 0
    t, var = sim.workload.t, sim.deployments[0].log.variant
    after, before = t >= promoted["t_s"], t < promoted["t_s"]
    assert np.all(var[after] == 0) and after.any()  # everything to A from the promotion on
    assert np.array_equal(var[before] == 1, sim.workload.u_route[before] >= 0.5)  # 50/50 before


def test_auto_promote_never_fires_on_an_aa_test_of_the_same_model(tmp_path) -> None:
    raw = raw_scenario(tmp_path, {**AB, "looks_every": 300, "auto_promote": True})
    raw["deployments"][0]["variants"][1]["model"] = "breast_cancer_logreg"
    sim, _, rec = run(raw)
    assert rec["promoted"] is None and rec["winner"] is None
    assert (sim.deployments[0].log.variant == 1).sum() == int((sim.workload.u_route >= 0.5).sum())


@pytest.mark.parametrize(("change", "path", "says"), [
    ({"control": "C"}, "deployments[0].ab_test.control", "must name a production variant (A, B)"),
    ({"treatment": "A"}, "deployments[0].ab_test.treatment", "must differ from control"),
    ({"alpha": 1}, "deployments[0].ab_test.alpha", "(0, 1)"),
    ({"start": 4000}, "deployments[0].ab_test.start", "must be before end"),
    ({"end": 5000}, "deployments[0].ab_test.end", "duration"),
    ({"looks_every": 10}, "deployments[0].ab_test.looks_every", "60"),
    ({"metric": "auc"}, "deployments[0].ab_test.metric", "error_rate"),
    ({"minimum_detectable_effect": {"accuracy_pp": 0}}, "deployments[0].ab_test.minimum_detectable_effect"
     ".accuracy_pp", "> 0"),
])
def test_bad_ab_tests_are_scenario_errors_naming_the_field(tmp_path, change, path, says) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw_scenario(tmp_path, {**AB, **change}))
    assert path in str(err.value) and says in str(err.value)


def test_ab_test_needs_two_variants_and_auto_promote_no_later_weight_change(tmp_path) -> None:
    raw = raw_scenario(tmp_path)
    dep = raw["deployments"][0]
    one = copy.deepcopy(raw)
    one["deployments"][0]["variants"] = [dep["variants"][0]]
    with pytest.raises(ScenarioError, match=r"deployments\[0\]\.ab_test: needs at least two production variants"):
        scenario_from_dict(one)
    dep["ab_test"] = {**AB, "auto_promote": True, "start": 600}
    dep["weight_changes"] = [{"at": 900, "desired_weights_and_capacities": [{"variant_name": "B", "desired_weight": 2}]}]
    with pytest.raises(ScenarioError, match=r"ab_test\.auto_promote: cannot be combined with weight_changes"):
        scenario_from_dict(raw)
    dep["weight_changes"][0]["at"] = 300  # before the test starts: allowed
    scenario_from_dict(raw)


# -- A/A: how often each method declares a winner between identical arms ------------------------------
def _aa_rates(frames: list[pd.DataFrame], look_times: list[np.ndarray], *, value: str, time: str, kind: str,
              n_star: float) -> dict[str, int]:
    hits = {"fixed_horizon_peeking": 0, "msprt": 0}
    for df, lk in zip(frames, look_times, strict=True):
        for r in ab.winner_times(df, control="A", treatment="B", value=value, looks=lk, kind=kind, time=time,
                                 n_star=n_star):
            hits[r["method"]] += r["t_s"] is not None
    return hits


def test_aa_on_bernoulli_streams_peeking_inflates_and_the_sequential_test_holds_alpha() -> None:
    # R replications of 3000 requests (Bernoulli 10 %, arms 50/50), 20 looks. Under H0 the z test
    # at one look rejects with probability α; the mSPRT's always-valid p-value rejects *ever*
    # with probability ≤ α (Johari et al., Ville's inequality) and in practice far less, so the
    # check is one-sided: at most the upper end of the 99 % binomial interval of α. Peeking must
    # exceed that upper end (it rejects ~25 % of A/A tests with 20 looks).
    reps, alpha = 600, 0.05
    upper = sps.binom.ppf(0.995, reps, alpha)  # 45 of 600
    frames, detect = [], []
    for ss in np.random.SeedSequence(7).spawn(reps):
        g = np.random.default_rng(ss)
        arm = g.random(3000) < 0.5
        frames.append(pd.DataFrame({"variant": np.where(arm, "B", "A"), "t": np.sort(g.uniform(0, 1000, 3000)),
                                    "y": (g.random(3000) < 0.10).astype(float)}))
        detect.append(frames[-1].assign(y=np.where(arm, g.random(3000) < 0.14, frames[-1]["y"]).astype(float)))
    lk = [np.linspace(50, 1000, 20)] * reps
    aa = _aa_rates(frames, lk, value="y", time="t", kind="rate", n_star=1500)
    assert aa["fixed_horizon_peeking"] > upper + 40 and aa["msprt"] <= upper
    # not vacuous: the same test finds a +4 pp difference in most replications (~69 %)
    found = _aa_rates(detect, lk, value="y", time="t", kind="rate", n_star=1500)
    assert found["msprt"] > reps / 2


def test_aa_on_the_simulator_peeking_inflates_and_the_sequential_test_holds_alpha(tmp_path) -> None:
    # One run of two identical variants (same model, same service times) at 10 req/s for 10000 s,
    # cut into 100 windows of 100 s: each window is one A/A test of accuracy (labels at response
    # time) and of mean latency, looked at every 5 s. Windows hold disjoint requests; at 3 %
    # utilization a request almost never waits, so windows are independent replications.
    raw = raw_scenario(tmp_path, {**AB, "metric": "accuracy"}, ground_truth=False)
    raw["duration"] = 10000
    raw["workload"] = {"arrivals": "poisson", "rate_per_s": 10}
    raw["deployments"][0]["variants"][1]["model"] = "breast_cancer_logreg"
    raw["seed"] = 3
    sim = Simulation(scenario_from_dict(raw)).run()
    req = Result(sim).requests
    req = req[req["outcome"] == "completed"]
    y = sim.dataset.y[req["row"].to_numpy()]
    frame = pd.DataFrame({"variant": req["variant"].astype(str).to_numpy(), "t_done": req["t_done"].to_numpy(),
                          "correct": ((req["prediction"].to_numpy() >= 0.5).astype(int) == y).astype(float),
                          "latency_ms": req["latency_ms"].to_numpy()})
    reps, alpha = 100, 0.05
    upper = sps.binom.ppf(0.995, reps, alpha)  # 11 of 100
    frames = [frame[(frame["t_done"] >= 100 * k) & (frame["t_done"] < 100 * (k + 1))] for k in range(reps)]
    lk = [100 * k + np.arange(5, 101, 5) for k in range(reps)]
    for value, kind in (("correct", "rate"), ("latency_ms", "mean")):
        aa = _aa_rates(frames, lk, value=value, time="t_done", kind=kind, n_star=500)
        assert aa["msprt"] <= upper, (value, aa)
        assert aa["fixed_horizon_peeking"] > upper, (value, aa)
