"""Input drift: feature shifts, scales, missing values, tokens and label flips, per request."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import simlab
from simlab.drift import strength
from simlab.errors import ScenarioError
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

DAY = 86400.0


def scenario(drift: list[dict], *, model: str = "breast_cancer_logreg", seed: int = 1, rate: float = 0.05,
             duration: str = "2d", **extra):
    raw = {"name": "drift", "seed": seed, "duration": duration, "model": model,
           "workload": {"arrivals": "poisson", "rate_per_s": rate, "drift": drift},
           "deployments": [{"name": "rt", "type": "real_time_endpoint"}], **extra}
    return scenario_from_dict(raw)


def binomial_ok(k: int, n: int, p: float, alpha: float = 1e-6) -> bool:
    """k lies inside the central 1 − alpha interval of Binomial(n, p)."""
    lo, hi = stats.binom.ppf(alpha / 2, n, p), stats.binom.ppf(1 - alpha / 2, n, p)
    return lo <= k <= hi


def column(sim: Simulation, name: str) -> int:
    return sim.dataset.feature_names.index(name)


def test_strength_is_zero_before_full_after_and_linear_on_the_ramp() -> None:
    t = np.array([0.0, 10.0, 15.0, 20.0, 30.0])
    assert strength(t, 10.0, 10.0).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
    assert strength(t, 10.0, 0.0).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]


def test_shift_adds_training_standard_deviations_and_touches_nothing_else() -> None:
    sim = Simulation(scenario([{"at": "1d", "feature": "mean radius", "shift_sd": 1.5, "ramp": "6h"}]))
    wl, ds, j = sim.workload, sim.dataset, column(sim, "mean radius")
    X, raw = wl.features(np.arange(wl.n)), ds.X[wl.row]
    sd = ds.X[ds.train_idx, j].std()
    np.testing.assert_allclose(X[:, j] - raw[:, j], 1.5 * sd * strength(wl.t, DAY, 6 * 3600.0), atol=1e-9)
    others = np.delete(np.arange(X.shape[1]), j)
    np.testing.assert_array_equal(X[:, others], raw[:, others])


def test_scale_multiplies_the_deviation_from_the_training_mean() -> None:
    sim = Simulation(scenario([{"at": "1d", "feature": "worst area", "scale": 3}]))
    wl, ds, j = sim.workload, sim.dataset, column(sim, "worst area")
    mu = ds.X[ds.train_idx, j].mean()
    after = wl.t >= DAY
    X = wl.features(np.arange(wl.n))
    np.testing.assert_allclose(X[after, j] - mu, 3 * (ds.X[wl.row[after], j] - mu))
    np.testing.assert_array_equal(X[~after, j], ds.X[wl.row[~after], j])


def test_missing_values_and_tokens_have_binomially_right_shares_and_are_imputed() -> None:
    drift = [{"at": "1d", "feature": "area error", "missing_rate": 0.1, "new_category": {"value": "N/A", "rate": 0.3}}]
    sim = Simulation(scenario(drift))
    wl, j = sim.workload, column(sim, "area error")
    idx = np.arange(wl.n)
    X, after = wl.features(idx), wl.t >= DAY
    (tok,) = wl.drift.tokens(idx)
    nan = np.isnan(X[:, j])
    assert tok.col == j and tok.value == "N/A"
    assert not nan[~after].any() and not tok.mask[~after].any()
    assert np.all(nan[tok.mask])  # a token is not a number
    n = int(after.sum())
    assert binomial_ok(int(tok.mask[after].sum()), n, 0.3)
    assert binomial_ok(int((nan & ~tok.mask)[after].sum()), n, 0.1)
    imputed = wl.features(idx, impute=True)
    assert not np.isnan(imputed).any()
    np.testing.assert_allclose(imputed[nan, j], sim.dataset.X[sim.dataset.train_idx, j].mean())


def test_concept_drift_flips_labels_only_after_at_at_the_given_rate() -> None:
    sim = Simulation(scenario([{"at": "1d", "concept": {"label_flip_rate": 0.2}}],
                              ground_truth={"delay": "1h"}))
    wl, truth = sim.workload, sim.features["monitoring"].truth
    flipped = truth.label != sim.dataset.y[wl.row]
    after = wl.t >= DAY
    assert not flipped[~after].any()
    assert binomial_ok(int(flipped[after].sum()), int(after.sum()), 0.2)
    np.testing.assert_array_equal(sim.workload.features(np.arange(wl.n)), sim.dataset.X[wl.row])  # inputs unchanged


def test_multiclass_flips_go_to_another_class() -> None:
    sim = Simulation(scenario([{"at": 0, "concept": {"label_flip_rate": 0.5}}], model="wine_rf",
                              ground_truth={"delay": "1h"}))
    y, label = sim.dataset.y[sim.workload.row], sim.features["monitoring"].truth.label
    flipped = label != y
    assert binomial_ok(int(flipped.sum()), flipped.size, 0.5)
    assert set(np.unique(label[flipped])) <= set(np.unique(sim.dataset.y)) and len(np.unique(label[flipped])) == 3


RELABEL = {"feature": "mean radius", "above": 15.0, "label": 1}


def test_relabel_gives_the_region_its_label_after_at_and_leaves_the_rest_alone() -> None:
    sim = Simulation(scenario([{"at": "1d", "concept": {"relabel": RELABEL}},
                               {"at": "1d", "feature": "mean radius", "shift_sd": -3}],  # moves no one out
                              ground_truth={"delay": "1h"}))
    wl, ds, label = sim.workload, sim.dataset, sim.features["monitoring"].truth.label
    j = column(sim, "mean radius")
    y, after, region = ds.y[wl.row], wl.t >= DAY, ds.X[wl.row, j] > 15.0  # the true value decides
    assert np.all(label[after & region] == 1)  # deterministic: P(y | x) is now 1 in the region
    np.testing.assert_array_equal(label[~(after & region)], y[~(after & region)])
    assert np.sum(label != y) == np.sum(after & region & (y == 0)) > 0.15 * after.sum()
    others = np.arange(ds.X.shape[1]) != j
    np.testing.assert_array_equal(wl.features(np.arange(wl.n))[:, others], ds.X[wl.row][:, others])  # inputs kept


def test_relabel_interval_ramp_and_flips_on_top() -> None:
    rel = {"feature": "mean texture", "above": 18.0, "below": 22.0, "label": 0}
    sim = Simulation(scenario([{"at": "1d", "ramp": "1d", "concept": {"relabel": rel}}], duration="3d",
                              ground_truth={"delay": "1h"}))
    wl, ds, label = sim.workload, sim.dataset, sim.features["monitoring"].truth.label
    x, y = ds.X[wl.row, column(sim, "mean texture")], ds.y[wl.row]
    region, s = (x > 18.0) & (x < 22.0), strength(wl.t, DAY, DAY)
    assert np.all(label[region & (s == 1)] == 0) and np.array_equal(label[~region], y[~region])
    ramp = region & (s > 0) & (s < 1) & (y == 1)  # affected with probability = strength
    assert binomial_ok(int(np.sum(label[ramp] == 0)), int(ramp.sum()), float(np.mean(s[ramp])), alpha=1e-4)
    both = Simulation(scenario([{"at": "1d", "concept": {"relabel": RELABEL}},
                                {"at": "1d", "concept": {"label_flip_rate": 0.2}}], ground_truth={"delay": "1h"}))
    alone = Simulation(scenario([{"at": "1d", "concept": {"relabel": RELABEL}}], ground_truth={"delay": "1h"}))
    flips = both.workload.drift.flips(np.arange(both.workload.n))
    a, b = alone.features["monitoring"].truth.label, both.features["monitoring"].truth.label
    np.testing.assert_array_equal(b[flips], 1 - a[flips])  # flips are noise on top of the new concept
    np.testing.assert_array_equal(b[~flips], a[~flips])


def test_drift_is_deterministic_and_independent_of_later_events() -> None:
    one = [{"at": "1d", "feature": "mean texture", "missing_rate": 0.4}]
    two = one + [{"at": "1d", "feature": "mean radius", "missing_rate": 0.4}]
    a, b, c = (Simulation(scenario(d)) for d in (one, one, two))
    idx = np.arange(a.workload.n)
    j = column(a, "mean texture")
    np.testing.assert_array_equal(a.workload.features(idx), b.workload.features(idx))
    np.testing.assert_array_equal(np.isnan(a.workload.features(idx)[:, j]), np.isnan(c.workload.features(idx)[:, j]))
    other = Simulation(scenario(one, seed=2))
    assert other.workload.n != a.workload.n or not np.array_equal(other.workload.t, a.workload.t)


def test_predictions_use_the_drifted_features() -> None:
    res = simlab.run(scenario([{"at": "1d", "feature": "worst texture", "shift_sd": 3},
                               {"at": "1d", "feature": "radius error", "missing_rate": 0.5}], duration="1d12h"))
    sim = res.sim
    idx = np.arange(sim.workload.n)
    model = sim.model("breast_cancer_logreg")
    expected = model.score_output(sim.workload.features(idx, impute=True))
    np.testing.assert_allclose(res.predictions["rt"], expected)
    late = sim.workload.t >= DAY
    assert not np.allclose(expected[late], model.score_output(sim.dataset.X[sim.workload.row[late]]))


@pytest.mark.parametrize(("drift", "model", "message"), [
    ([{"at": "1d", "feature": "mean radiuss", "shift_sd": 1}], "breast_cancer_logreg", "did you mean 'mean radius'"),
    ([{"at": "1d", "concept": {"label_flip_rate": 0.2}}], "diabetes_ridge", "needs a classifier"),
    ([{"at": "1d", "feature": "mean radius", "concept": {"label_flip_rate": 0.2}}], "breast_cancer_logreg",
     "changes labels only"),
    ([{"at": "1d", "feature": "mean radius"}], "breast_cancer_logreg", "needs at least one of"),
    ([{"at": "1d", "shift_sd": 1}], "breast_cancer_logreg", "is required unless `concept`"),
    ([{"at": "1d", "feature": "mean radius", "missing_rate": 1.5}], "breast_cancer_logreg", "≤ 1"),
    ([{"at": "1d", "concept": {}}], "breast_cancer_logreg", "exactly one of `label_flip_rate` or `relabel`"),
    ([{"at": "1d", "concept": {"label_flip_rate": 0.1, "relabel": RELABEL}}], "breast_cancer_logreg", "exactly one of"),
    ([{"at": "1d", "concept": {"relabel": {"feature": "mean radius", "label": 1}}}], "breast_cancer_logreg",
     "give `above`, `below` or both"),
    ([{"at": "1d", "concept": {"relabel": RELABEL | {"below": 10.0}}}], "breast_cancer_logreg", "region would be empty"),
    ([{"at": "1d", "concept": {"relabel": RELABEL | {"feature": "mean radus"}}}], "breast_cancer_logreg",
     "did you mean 'mean radius'"),
    ([{"at": "1d", "concept": {"relabel": RELABEL | {"label": 2}}}], "breast_cancer_logreg", "must be a class of"),
    ([{"at": "1d", "concept": {"relabel": RELABEL}}], "diabetes_ridge", "needs a classifier"),
])
def test_invalid_drift_is_a_validation_error(drift, model, message) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario(drift, model=model)
    assert message in str(err.value) and "workload.drift[0]" in str(err.value)
