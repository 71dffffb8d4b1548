"""Retraining the real model during the run: triggers, the switch, restored accuracy and cost."""

from __future__ import annotations

import numpy as np
import pytest

import simlab
from simlab import facts
from simlab.scenario import scenario_from_dict

HOUR, DAY = 3600.0, 86400.0
DRIFT, DELAY, WINDOW, PERIOD, TRAINING = DAY, 6 * HOUR, 12 * HOUR, 12 * HOUR, 2 * HOUR
MONITORS = [{"type": "data_quality"},
            {"type": "model_quality", "start_offset": "-PT8H", "end_offset": "-PT6H",
             "alarm": {"metric": "accuracy", "below": 0.9}}]


def endpoint(name: str, retraining: dict | None) -> dict:
    d = {"name": name, "type": "real_time_endpoint", "data_capture": {}, "monitors": MONITORS}
    if retraining:
        d["retraining"] = {"training_time": TRAINING, "data_window": WINDOW, "instance_type": "ml.m5.xlarge"} | retraining
    return d


@pytest.fixture(scope="module")
def res():
    """A pipeline change at day 1 (two strong inputs +3 sd, labels kept), labels 6 h late."""
    raw = {"name": "retrain", "seed": 5, "duration": "2d12h", "model": "breast_cancer_logreg",
           "workload": {"arrivals": "poisson", "rate_per_s": 0.1,
                        "drift": [{"at": DRIFT, "feature": "worst texture", "shift_sd": 3},
                                  {"at": DRIFT, "feature": "radius error", "shift_sd": 3}]},
           "ground_truth": {"delay": DELAY},
           "deployments": [endpoint("static", None),
                           endpoint("nightly", {"trigger": "schedule", "every": PERIOD}),
                           endpoint("on-mq", {"trigger": "model_quality_alarm", "every": "6h"}),
                           endpoint("on-dq", {"trigger": "data_quality_alarm", "every": "6h",
                                              "update_baseline": False})]}
    return simlab.run(scenario_from_dict(raw))


def accuracy(res, name: str, t0: float, t1: float) -> float:
    acc = res.monitoring.accuracy_over_time(HOUR)
    sel = acc[(acc.deployment == name) & (acc.t_s >= t0) & (acc.t_s < t1)]
    return float(np.average(sel.accuracy, weights=sel.requests))


def jobs(res, name: str):
    r = res.monitoring.retrainings
    return r[r.deployment == name].reset_index(drop=True)


def test_the_pipeline_change_hurts_and_stays_without_retraining(res) -> None:
    before = accuracy(res, "static", 0, DRIFT)
    assert before > 0.93
    assert accuracy(res, "static", DRIFT, res.sim.duration) < before - 0.2


def test_scheduled_retraining_restores_accuracy_within_the_documented_time(res) -> None:
    """docs/monitoring.md: restored by drift + data_window + period + training_time at the latest."""
    bound = DRIFT + WINDOW + PERIOD + TRAINING
    before = accuracy(res, "nightly", 0, DRIFT)
    assert accuracy(res, "nightly", DRIFT, DRIFT + DELAY) < before - 0.2
    assert accuracy(res, "nightly", bound, res.sim.duration) >= before - 0.02
    assert bound < res.sim.duration - 6 * HOUR


def test_model_quality_trigger_waits_for_labels_data_quality_trigger_does_not(res) -> None:
    mq, dq = jobs(res, "on-mq"), jobs(res, "on-dq")
    assert mq.t_start_s.min() >= DRIFT + DELAY
    assert dq.t_start_s.iloc[0] == DRIFT + HOUR  # the first hourly execution after the change
    # it trained on labels of requests made before the change only, so it did not help
    first_live, second_start = dq.t_live_s.iloc[0], dq.t_start_s.iloc[1]
    assert accuracy(res, "on-dq", first_live, min(second_start, first_live + 4 * HOUR)) < 0.8
    assert accuracy(res, "on-mq", DRIFT + WINDOW + 12 * HOUR, res.sim.duration) > 0.93


def test_the_switch_happens_after_training_time_and_only_for_later_requests(res) -> None:
    req = res.requests
    for name in ("nightly", "on-mq", "on-dq"):
        j = jobs(res, name)
        deployed = j[j.status == "Deployed"]
        assert not deployed.empty and np.allclose(deployed.t_live_s - deployed.t_start_s, TRAINING)
        r = req[req.deployment == name]
        for k, job in deployed.iterrows():
            new = int(job.versions.rsplit("v", 1)[1])
            end = deployed.t_live_s.iloc[k + 1] if k + 1 < len(deployed) else np.inf
            before = r[(r.t_arrival < job.t_live_s) & (r.t_arrival >= job.t_start_s)]
            after = r[(r.t_arrival >= job.t_live_s) & (r.t_arrival < end)]
            assert (before.model_version != new).all() and (after.model_version == new).all()


def test_training_cost_uses_the_instance_catalog(res) -> None:
    price = facts.instance("ml.m5.xlarge").price_per_hour
    for name in ("nightly", "on-mq", "on-dq"):
        j = jobs(res, name)
        launched = j[j.status != "Skipped"]
        assert np.allclose(launched.cost_usd, price * TRAINING / HOUR)
        mon = res.summary()["deployments"][name]["monitoring"]
        assert mon["retrainings"] == len(launched)
        assert mon["training_cost_usd"] == pytest.approx(price * TRAINING / HOUR * len(launched))
    assert res.summary()["deployments"]["static"]["monitoring"]["training_cost_usd"] == 0.0
    assert res.summary()["deployments"]["static"]["cost_usd"] == res.summary()["deployments"]["nightly"]["cost_usd"]


def test_baselines_follow_the_new_model_unless_disabled(res) -> None:
    eps = res.sim.features["monitoring"].endpoints
    deployed = (jobs(res, "nightly").status == "Deployed").sum()
    assert len(eps["nightly"].references) == 1 + deployed
    assert len(eps["on-dq"].references) == 1


def test_incremental_retraining_calls_partial_fit_on_new_labels_only() -> None:
    raw = {"name": "sgd", "seed": 2, "duration": "2d", "model": "breast_cancer_sgd",
           "workload": {"arrivals": "poisson", "rate_per_s": 0.05}, "ground_truth": {"delay": "6h"},
           "deployments": [endpoint("rt", {"trigger": "schedule", "every": "12h", "approach": "incremental",
                                           "data_window": None})]}
    res = simlab.run(scenario_from_dict(raw))
    j = res.monitoring.retrainings
    assert list(j.status) == ["Deployed"] * 3 and (j.rows == j.labelled_rows).all()
    truth, t = res.sim.features["monitoring"].truth, res.sim.workload.t
    log = res.deployments["rt"].log
    done = np.isfinite(log.t_done)
    for k, job in j.iterrows():  # labels that arrived since the previous retraining
        since = j.t_start_s.iloc[k - 1] if k else -np.inf
        expect = done & (t < job.t_start_s) & (truth.arrival <= job.t_start_s) & (truth.arrival > since)
        assert job.rows == int(expect.sum())
    assert len({v for (name, v) in res.sim.models if name == "breast_cancer_sgd"}) == 4


def test_training_longer_than_the_schedule_skips_missed_slots_and_no_data_is_skipped() -> None:
    raw = {"name": "slow", "seed": 2, "duration": "1d", "model": "breast_cancer_logreg",
           "workload": {"arrivals": "poisson", "rate_per_s": 0.02}, "ground_truth": {"delay": "2h"},
           "deployments": [endpoint("rt", {"trigger": "schedule", "every": "1h", "training_time": "5h",
                                           "data_window": None})]}
    j = simlab.run(scenario_from_dict(raw)).monitoring.retrainings
    assert j.status.iloc[0] == "Skipped" and j.t_start_s.iloc[0] == HOUR  # no label has arrived at 1 h
    started = j[j.status != "Skipped"].t_start_s.to_numpy()
    assert np.all(np.diff(started) >= 5 * HOUR) and np.all(started % HOUR == 0)


# -- a learnable concept drift -------------------------------------------------------------------------
RELABEL = {"feature": "mean radius", "above": 15.0, "label": 1}
TREE_MONITORS = [{"type": "model_quality", "start_offset": "-PT8H", "end_offset": "-PT6H",
                  "alarm": {"metric": "accuracy", "below": 0.85}}]


@pytest.fixture(scope="module")
def relabelled():
    """At day 1 every request with mean radius > 15 becomes benign (label 1): P(y | x) changes in one
    region of input space, inputs unchanged. A depth-4 tree can learn that split."""
    def ep(name: str, retraining: dict | None) -> dict:
        return endpoint(name, retraining) | {"monitors": TREE_MONITORS}

    raw = {"name": "relabel", "seed": 5, "duration": "2d12h", "model": "breast_cancer_tree",
           "workload": {"arrivals": "poisson", "rate_per_s": 0.1,
                        "drift": [{"at": DRIFT, "concept": {"relabel": RELABEL}}]},
           "ground_truth": {"delay": DELAY},
           "deployments": [ep("static", None), ep("nightly", {"trigger": "schedule", "every": PERIOD}),
                           ep("on-mq", {"trigger": "model_quality_alarm", "every": "6h"})]}
    return simlab.run(scenario_from_dict(raw))


def test_retraining_restores_accuracy_after_a_learnable_concept_drift(relabelled) -> None:
    """docs/monitoring.md: restored by drift + data_window + period + training_time at the latest —
    for a concept change a retrained model can represent (unlike random label flips)."""
    res, bound = relabelled, DRIFT + WINDOW + PERIOD + TRAINING
    before = accuracy(res, "static", 0, DRIFT)
    assert before > 0.88
    assert accuracy(res, "static", DRIFT, res.sim.duration) < before - 0.2  # the old concept is wrong now
    assert accuracy(res, "static", bound, res.sim.duration) < before - 0.2  # and stays wrong without retraining
    for name in ("nightly", "on-mq"):
        assert accuracy(res, name, DRIFT, DRIFT + DELAY) < before - 0.2
        assert accuracy(res, name, bound, res.sim.duration) >= before - 0.02, name
    assert jobs(res, "on-mq").t_start_s.iloc[-1] >= DRIFT + DELAY  # its alarm needed post-drift labels
    # what was learnt is the new concept: in the region the retrained tree predicts benign
    ds = res.sim.dataset
    X = ds.X[ds.serve_idx]
    region = X[:, ds.feature_names.index("mean radius")] > 15.0
    newest = int(res.requests[res.requests.deployment == "nightly"].model_version.max())
    assert np.mean(res.sim.model("breast_cancer_tree", 0).predict(X[region]) == 1) < 0.1
    assert np.mean(res.sim.model("breast_cancer_tree", newest).predict(X[region]) == 1) > 0.95


def test_cbpe_waits_for_each_retrained_uncalibrated_version(relabelled) -> None:
    """The tree is not calibrated: every new version needs its own reference of arrived labels."""
    ep = relabelled.sim.features["monitoring"].endpoints["nightly"]
    deployed = jobs(relabelled, "nightly")
    deployed = deployed[deployed.status == "Deployed"]
    first_live, new = deployed.t_live_s.iloc[0], int(deployed.versions.iloc[0].rsplit("v", 1)[1])
    after = [e for e in ep.executions if first_live < e.t <= first_live + DELAY]
    assert after and all(e.cbpe.startswith("unavailable: ") and f"v{new} is not calibrated" in e.cbpe for e in after)
    assert not any("estimated_accuracy" in e.metrics for e in after)
    assert {("breast_cancer_tree", 0), ("breast_cancer_tree", new)} <= set(ep.cbpe.maps)
    truth = relabelled.sim.features["monitoring"].truth
    log = relabelled.deployments["nightly"].log
    for (_, version), g in ep.cbpe.maps.items():
        assert np.all(log.model_version[g.reference] == version) and np.all(truth.arrival[g.reference] <= g.t_fit)
