"""Monitoring on the simulated clock: capture, baselines, data quality, ground truth, model quality,
CBPE, bias and attribution drift, file formats, determinism and validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from scipy import stats

import simlab
from simlab.errors import ScenarioError
from simlab.monitoring.attribution import Explainer, global_importance, ndcg
from simlab.monitoring.baseline import build_baseline
from simlab.monitoring.bias import bias_metrics, facet_groups
from simlab.monitoring.cbpe import Calibration, confidence, expected_accuracy
from simlab.monitoring.data_quality import check_data_quality, ks_critical, linf_distance
from simlab.monitoring.model_quality import quality_metrics
from simlab.monitoring.schedule import parse_schedule
from simlab.monitoring.schemas import SCHEMAS
from simlab.monitoring.table import FeatureTable
from simlab.records import Err
from simlab.scenario import scenario_from_dict
from simlab.zoo import dataset, list_models, load_model

HOUR, DAY = 3600.0, 86400.0
DELAY = 6 * HOUR
MONITORS = [
    {"type": "data_quality", "schedule": "hourly"},
    {"type": "model_quality", "schedule": "hourly", "start_offset": "-PT12H", "end_offset": "-PT6H",
     "alarm": {"metric": "accuracy", "below": 0.9}},
    {"type": "bias_drift", "schedule": "daily", "facet": {"feature": "mean radius", "threshold": 15}},
    {"type": "feature_attribution_drift", "schedule": "daily"},
]


def raw_scenario(*, capture: dict | None = None, monitors: list | None = None, drift: list | None = None,
                 rate: float = 0.05, duration: str = "2d", seed: int = 4, ground_truth: dict | None = None,
                 **dep) -> dict:
    d = {"name": "rt", "type": "real_time_endpoint", **dep}
    if capture is not None:
        d["data_capture"] = capture
    if monitors is not None:
        d["monitors"] = monitors
    raw = {"name": "mon", "seed": seed, "duration": duration, "model": "breast_cancer_logreg",
           "workload": {"arrivals": "poisson", "rate_per_s": rate, "drift": drift}, "deployments": [d]}
    if ground_truth is not None:
        raw["ground_truth"] = ground_truth
    return raw


def small_raw(**kw) -> dict:
    """2 days, a 1.5-sd step shift and 20 % label flips at day 1, labels 6 h late for 70 %."""
    args = {"capture": {"sampling_percentage": 50}, "monitors": MONITORS,
            "drift": [{"at": "1d", "feature": "mean radius", "shift_sd": 1.5},
                      {"at": "1d", "concept": {"label_flip_rate": 0.2}}],
            "ground_truth": {"delay": DELAY, "coverage": 0.7}}
    return raw_scenario(**(args | kw))


def binomial_ok(k: int, n: int, p: float, alpha: float = 1e-6) -> bool:
    return stats.binom.ppf(alpha / 2, n, p) <= k <= stats.binom.ppf(1 - alpha / 2, n, p)


@pytest.fixture(scope="module")
def small():
    return simlab.run(scenario_from_dict(small_raw()))


@pytest.fixture(scope="module")
def written(small, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out")
    small.write(out)
    return out


# -- the distance ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_linf_distance_is_the_two_sample_ks_statistic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rng.integers(1, 400))
    b = rng.normal(0.3 * seed, 1 + seed / 3, size=rng.integers(1, 400))
    if seed % 2:  # ties on both sides
        a, b = np.round(a, 1), np.round(b, 1)
    assert linf_distance(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_data_quality_distance_metric_equals_ks_on_the_window(small) -> None:
    sim, ep = small.sim, small.sim.features["monitoring"].endpoints["rt"]
    ex = next(e for e in ep.executions if e.monitor == "data_quality" and e.t == DAY + HOUR)
    idx = ep.capture.window(ex.window_start, ex.window_end, ex.t)
    j = sim.dataset.feature_names.index("mean radius")
    window, base = sim.workload.features(idx)[:, j], sim.dataset.X[sim.dataset.train_idx, j]
    assert ex.metrics["feature_baseline_drift_mean radius"] == pytest.approx(stats.ks_2samp(window, base).statistic)


# -- capture --------------------------------------------------------------------------------------
def test_capture_share_is_binomially_right(small) -> None:
    sim, log = small.sim, small.deployments["rt"].log
    done = (log.error == Err.NONE) & (log.t_done <= sim.duration)
    captured = sim.features["monitoring"].endpoints["rt"].capture.captured(sim.duration)
    assert np.all(done[captured])
    assert binomial_ok(captured.size, int(done.sum()), 0.5)


def test_capture_and_monitoring_do_not_change_outcomes(small) -> None:
    plain = simlab.run(scenario_from_dict(raw_scenario(drift=small_raw()["workload"]["drift"])))
    with_mon = small.summary()["deployments"]["rt"]
    assert with_mon.pop("monitoring")
    assert plain.summary()["deployments"]["rt"] == with_mon
    a, b = plain.requests.drop(columns="deployment"), small.requests.drop(columns="deployment")
    assert a.equals(b)


def test_sampling_zero_captures_nothing_and_jobs_fail_with_no_data() -> None:
    res = simlab.run(scenario_from_dict(raw_scenario(capture={"sampling_percentage": 0}, duration="6h",
                                                     monitors=[{"type": "data_quality"}])))
    ex = res.monitoring.executions
    assert len(ex) == 5 and set(ex.status) == {"Failed"} and ex.failure_reason.str.startswith("NoData").all()
    assert res.summary()["deployments"]["rt"]["monitoring"]["first_alarm_s"]["data_quality"] is None


# -- files ------------------------------------------------------------------------------------------
def validate(doc: dict, schema: str) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[schema]).validate(doc)


def test_capture_files_are_valid_and_partitioned_by_inference_hour(written, small) -> None:
    files = sorted((written / "capture" / "rt" / "AllTraffic").rglob("*.jsonl"))
    assert files
    seen = 0
    for f in files:
        hour = "/".join(f.parent.parts[-4:])
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            validate(rec, "capture")
            meta = rec["eventMetadata"]
            assert meta["inferenceTime"][:13].replace("-", "/").replace("T", "/") == hour
            assert rec["captureData"]["endpointInput"]["data"].count(",") == 29
            seen += 1
    assert seen == small.sim.features["monitoring"].endpoints["rt"].capture.captured(small.sim.duration).size


def test_ground_truth_files_are_valid_and_arrive_delay_after_the_request(written, small) -> None:
    t = small.sim.workload.t
    for f in sorted((written / "ground_truth").rglob("*.jsonl")):
        hour = "/".join(f.parent.parts[-4:])
        for line in f.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            validate(rec, "ground_truth")
            i = int(rec["eventMetadata"]["eventId"].removeprefix("req-"))
            arrival = np.datetime64("2026-01-01T00:00:00") + np.timedelta64(int((t[i] + DELAY) * 1000), "ms")
            assert str(arrival)[:13].replace("-", "/").replace("T", "/") == hour


def test_written_ground_truth_merges_with_written_capture_on_inference_id(written, small) -> None:
    from simlab.monitoring.ground_truth import merge

    def records(folder: Path):
        return [json.loads(line) for f in sorted(folder.rglob("*.jsonl"))
                for line in f.read_text(encoding="utf-8").splitlines()]

    pairs = merge(records(written / "capture"), records(written / "ground_truth"))
    sim = small.sim
    truth, ep = sim.features["monitoring"].truth, sim.features["monitoring"].endpoints["rt"]
    captured = ep.capture.captured(sim.duration)
    expected = captured[truth.arrival[captured] <= sim.duration]
    assert len(pairs) == expected.size > 0
    for rec, label in pairs[:200]:
        i = int(rec["eventMetadata"]["inferenceId"].removeprefix("req-"))
        assert label == str(int(truth.label[i]))


def test_baseline_and_report_files_match_their_schemas(written) -> None:
    base = written / "baseline" / "rt"
    validate(json.loads((base / "statistics.json").read_text()), "statistics")
    validate(json.loads((base / "constraints.json").read_text()), "constraints")
    assert (base / "bias" / "analysis.json").is_file() and (base / "explainability" / "analysis.json").is_file()
    reports = written / "monitoring" / "rt"
    dq = sorted((reports / "data_quality").rglob("statistics.json"))
    mq = sorted((reports / "model_quality").rglob("statistics.json"))
    assert dq and mq
    for f in dq[:5] + dq[-5:]:
        validate(json.loads(f.read_text()), "statistics")
    for f in mq:
        validate(json.loads(f.read_text()), "model_quality_statistics")
    for f in sorted(reports.rglob("constraint_violations.json")):
        validate(json.loads(f.read_text()), "constraint_violations")
    assert {p.name for p in (written / "monitoring").glob("*.csv")} >= {"executions.csv", "alarms.csv", "detections.csv"}


def test_every_written_analysis_json_matches_its_clarify_schema(written, small) -> None:
    files = sorted(written.rglob("analysis.json"))
    bias = [f for f in files if {"bias", "bias_drift"} & set(f.parts)]
    explain = [f for f in files if {"explainability", "feature_attribution_drift"} & set(f.parts)]
    assert bias and explain and len(bias) + len(explain) == len(files)
    assert len(bias) == len(explain) == 2  # the baseline's, and the daily execution at 1 d (none at the end)
    names = set(small.sim.dataset.feature_names)
    for f in bias:
        doc = json.loads(f.read_text(encoding="utf-8"))
        validate(doc, "bias_analysis")
        assert set(doc["post_training_bias_metrics"]["facets"]) == {"mean radius"}
    for f in explain:
        doc = json.loads(f.read_text(encoding="utf-8"))
        validate(doc, "explainability_analysis")
        (method,) = doc["explanations"]
        assert method == "linear" and set(doc["explanations"][method]["label0"]["global_shap_values"]) == names
        assert ("ndcg" in doc) == ("monitoring" in f.parts)


def test_analysis_schemas_reject_malformed_documents() -> None:
    from simlab.monitoring.attribution import analysis_json as attribution_json
    from simlab.monitoring.bias import analysis_json as bias_json

    good = bias_json({"DPPL": 0.2, "DI": float("nan")}, {"feature": "f", "threshold": 1.5}, 1)
    good["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][1]["value"] = None  # as _clean writes NaN
    validate(good, "bias_analysis")
    bad = json.loads(json.dumps(good))
    bad["post_training_bias_metrics"]["facets"]["f"][0]["metrics"][0]["name"] = "XYZ"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad, "bias_analysis")
    doc = attribution_json(("a", "b"), np.array([0.5, 0.1]), "saabas", 0.97)
    validate(doc, "explainability_analysis")
    for broken in ({**doc, "explanations": {"kernel": doc["explanations"]["saabas"]}},
                   {**doc, "explanations": {"saabas": {"label0": {"global_shap_values": {"a": -1.0}}}}}):
        with pytest.raises(jsonschema.ValidationError):
            validate(broken, "explainability_analysis")


def test_baseline_describes_the_training_data() -> None:
    ds = dataset("breast_cancer_logreg")
    X = ds.X[ds.train_idx]
    b = build_baseline(FeatureTable(X, ds.feature_names))
    st, con = b.statistics(), b.constraints()
    assert st["dataset"]["item_count"] == len(ds.train_idx) == 398
    f0 = st["features"][0]["numerical_statistics"]
    assert f0["mean"] == pytest.approx(X[:, 0].mean())
    assert sum(k["count"] for k in f0["distribution"]["kll"]["buckets"]) == 398
    assert len(f0["distribution"]["kll"]["buckets"]) == 10
    assert {f["inferred_type"] for f in st["features"]} == {"Fractional"}
    assert con["monitoring_config"]["distribution_constraints"] == {
        "perform_comparison": "Enabled", "comparison_threshold": 0.1, "comparison_method": "Robust",
        "categorical_comparison_threshold": 0.1, "categorical_drift_method": "LInfinity"}
    assert con["monitoring_config"]["datatype_check_threshold"] == 0.1
    digits = dataset("digits")
    assert build_baseline(FeatureTable(digits.X[digits.train_idx], digits.feature_names)).types[10] == "Integral"


# -- data-quality checks -------------------------------------------------------------------------
def test_each_check_type_fires_on_its_own_problem() -> None:
    names = ("num", "cat")
    base_tokens = {1: np.array(["a", "b"] * 50, dtype=object)}
    base = build_baseline(FeatureTable(np.column_stack([np.arange(100.0), np.full(100, np.nan)]), names, base_tokens))
    assert base.types == ["Integral", "String"] and base.domains[1] == ("a", "b")
    mon = {"datatype_check_threshold": 0.1, "domain_content_threshold": 0.1, "comparison_threshold": 0.3,
           "comparison_method": "Simple", "robust_alpha": 0.05}  # numeric distance below stays 0.2
    num = np.arange(100.0)
    num[:20] = np.nan  # 20 % missing
    num[20:40] += 0.5  # 20 % not Integral
    cat = np.array(["a"] * 50 + ["z"] * 50, dtype=object)  # 50 % outside the domain
    win = FeatureTable(np.column_stack([num, np.full(100, np.nan)]), names, {1: cat})
    checks = {(v["feature_name"], v["constraint_check_type"]) for v in check_data_quality(win, base, mon).violations}
    assert checks == {("num", "completeness_check"), ("num", "data_type_check"), ("cat", "categorical_values_check"),
                      ("cat", "baseline_drift_check")}
    fewer = FeatureTable(np.arange(100.0)[:, None], names[:1])
    more = FeatureTable(np.column_stack([np.arange(100.0)] * 3), (*names, "extra"))
    assert [v["constraint_check_type"] for v in check_data_quality(fewer, base, mon).violations] == ["missing_column_check"]
    assert "extra_column_check" in [v["constraint_check_type"] for v in check_data_quality(more, base, mon).violations]


def test_missing_values_and_tokens_raise_completeness_and_type_violations() -> None:
    drift = [{"at": "2h", "feature": "area error", "missing_rate": 0.3, "new_category": {"value": "N/A", "rate": 0.3}}]
    res = simlab.run(scenario_from_dict(raw_scenario(capture={}, monitors=[{"type": "data_quality"}], drift=drift,
                                                     rate=0.2, duration="4h")))
    v = res.monitoring.violations
    assert set(v[v.t_s <= 2 * HOUR].constraint_check_type) == set()
    late = v[v.t_s == 3 * HOUR]  # executions at 1 h, 2 h, 3 h (none at the end of the run)
    assert {"completeness_check", "data_type_check"} <= set(late.constraint_check_type)
    assert set(late.feature_name) == {"area error"}


def test_no_drift_control_false_alarms_stay_within_the_dkw_bound() -> None:
    """7 days at 1 req/s, all captured: the documented bound says zero false alarms (Robust),
    and Simple alarms (the train sample itself differs from serving by more than 0.1)."""
    runs = {m: simlab.run(scenario_from_dict(raw_scenario(
        capture={}, monitors=[{"type": "data_quality", "comparison_method": m}], rate=1.0, duration="7d", seed=3)))
        for m in ("Robust", "Simple")}
    ex = runs["Robust"].monitoring.executions
    ds = dataset("breast_cancer_logreg")
    tr, sv = ds.X[ds.train_idx], ds.X[ds.serve_idx]
    d0 = np.array([linf_distance(tr[:, j], sv[:, j]) for j in range(tr.shape[1])])
    m = len(ds.train_idx)
    bound = 0.0  # expected false alarms ≤ Σ_executions Σ_features 2·exp(−2n·ε²)
    for n in ex.records:
        eps = np.clip(0.1 + ks_critical(n, m, 0.05) - d0, 0.0, None)
        bound += float(np.sum(2 * np.exp(-2 * n * eps ** 2)))
    allowed = int(stats.poisson.ppf(1 - 1e-6, bound))  # Markov-style: a Poisson tail on the bound
    assert len(ex) == 167 and ex.records.min() > 3000
    assert bound < 1e-6 and allowed == 0
    assert (ex.status == "CompletedWithViolations").sum() <= allowed
    simple = runs["Simple"].monitoring.executions
    assert len(simple) == 167 and (simple.status == "CompletedWithViolations").all()  # docs: "every hour"


def test_a_step_shift_is_flagged_by_the_first_full_hourly_execution(small) -> None:
    v = small.monitoring.violations
    first = v[(v.monitor == "data_quality") & (v.feature_name == "mean radius")].t_s.min()
    assert first == DAY + HOUR
    assert v[(v.monitor == "data_quality") & (v.t_s <= DAY)].empty
    det = small.monitoring.detections
    row = det[(det.event == 0) & (det.monitor == "data_quality")].iloc[0]
    assert row.time_to_detect_s == HOUR and row.requests_served > 0


# -- ground truth and model quality --------------------------------------------------------------------
def test_labels_arrive_exactly_delay_after_the_request_for_the_covered_share(small) -> None:
    truth, t = small.sim.features["monitoring"].truth, small.sim.workload.t
    has = truth.has_label
    assert np.array_equal(truth.arrival[has], t[has] + DELAY) and np.all(np.isinf(truth.arrival[~has]))
    assert binomial_ok(int(has.sum()), has.size, 0.7)


def test_model_quality_alarms_only_after_the_labels_of_drifted_requests_exist(small) -> None:
    ep = small.sim.features["monitoring"].endpoints["rt"]
    assert all(e.window_end == e.t - DELAY for e in ep.executions if e.monitor == "model_quality")
    alarms = small.monitoring.alarms
    mq = alarms[alarms.monitor == "model_quality"]
    assert not mq.empty and mq.t_s.min() >= DAY + DELAY  # never before the labels of drifted requests exist


LATE = {"delay": {"dist": "lognormal", "mean": "6h", "cv": 0.5}, "coverage": 0.7}


def late_labels_run():
    """Labels 6 h late on average (lognormal, cv 0.5): ~40 % of them arrive after the window end
    t − 6 h, some only days later."""
    raw = small_raw(monitors=[MONITORS[1]], ground_truth=LATE, drift=None)
    sc = scenario_from_dict(raw)
    return sc, simlab.run(sc)


def check_label_arrivals(truth, t: np.ndarray) -> None:
    """The labels the run produced follow the scenario's spec, judged statistically rather than by
    re-running the code's streams: coverage 0.7 (binomial), delays lognormal with mean 6 h and
    cv 0.5 (Kolmogorov–Smirnov against scipy.stats.lognorm), never before the request."""
    from scipy import stats

    has = np.isfinite(truth.arrival)
    assert binomial_ok(int(has.sum()), has.size, 0.7)
    delay = truth.arrival[has] - t[has]
    assert (delay > 0).all()
    sigma = math.sqrt(math.log(1 + 0.5**2))  # lognormal with mean 6 h and cv 0.5
    ref = stats.lognorm(s=sigma, scale=6 * HOUR * math.exp(-sigma**2 / 2))
    assert stats.kstest(delay, ref.cdf).pvalue > 1e-3


def expected_label_counts(sim, dep_log, ep, arrival: np.ndarray) -> tuple[list[int], list[int]]:
    """Per model-quality execution: labels arrived by its time (what it may read), and every label
    that will ever exist for its window (what a job peeking into the future would read)."""
    wl, captured = sim.workload, ep.capture.sampled & (dep_log.error == Err.NONE)
    arrived, ever = [], []
    for ex in (e for e in ep.executions if e.monitor == "model_quality"):
        in_window = captured & (wl.t >= ex.window_start) & (wl.t < ex.window_end) & (dep_log.t_done <= ex.t)
        arrived.append(int(np.sum(in_window & (arrival <= ex.t))))
        ever.append(int(np.sum(in_window & np.isfinite(arrival))))
    return arrived, ever


def test_model_quality_reads_only_labels_that_have_arrived(monkeypatch) -> None:
    sc, res = late_labels_run()
    sim = res.sim
    ep, log = sim.features["monitoring"].endpoints["rt"], res.deployments["rt"].log
    arrival = sim.features["monitoring"].truth.arrival
    check_label_arrivals(sim.features["monitoring"].truth, sim.workload.t)
    arrived, ever = expected_label_counts(sim, log, ep, arrival)
    got = [e.labelled for e in ep.executions if e.monitor == "model_quality"]
    assert got == arrived
    # the test has teeth: late labels make "arrived by t" strictly smaller than "every label of the
    # window" for most executions, so a job that peeked would read more labels than it may
    late = [a < e for a, e in zip(arrived, ever, strict=True)]
    assert all(a <= e for a, e in zip(arrived, ever, strict=True)) and sum(late) > 0.8 * len(late)
    # … and a peeking job does fail the comparison above
    from simlab.monitoring.ground_truth import GroundTruth

    monkeypatch.setattr(GroundTruth, "arrived", lambda self, idx, now: self.has_label[idx])
    peeking = simlab.run(sc).sim.features["monitoring"].endpoints["rt"]
    peeked = [e.labelled for e in peeking.executions if e.monitor == "model_quality"]
    assert peeked == ever and peeked != arrived


def test_a_window_that_ends_before_labels_arrive_never_evaluates() -> None:
    """Without offsets the window is the last hour: with labels a day late it never has any."""
    raw = small_raw(monitors=[{"type": "model_quality", "alarm": {"metric": "accuracy", "below": 0.99}}],
                    ground_truth={"delay": "1d"}, drift=None)
    res = simlab.run(scenario_from_dict(raw))
    ex = res.monitoring.executions
    assert len(ex) == 47 and set(ex.status) == {"Failed"} and (ex.labelled == 0).all()
    alarms = res.monitoring.alarms
    assert alarms[alarms.monitor == "model_quality"].empty and not alarms.empty  # CBPE needs no labels


def test_quality_metrics_by_hand() -> None:
    """Worked examples (the counts are written out, not computed by a library)."""
    # binary: tp = 2 (0, 2), fp = 1 (3), fn = 1 (1), tn = 1 (4)
    y, pred = np.array([1, 1, 1, 0, 0]), np.array([1, 0, 1, 1, 0])
    score = np.array([0.9, 0.4, 0.8, 0.7, 0.2])  # positive above negative in 5 of the 6 pairs
    got = quality_metrics("binary", y, pred, score)
    assert got == pytest.approx({"accuracy": 3 / 5, "precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3,
                                 "auc": 5 / 6})
    none_predicted = quality_metrics("binary", y, np.zeros(5, dtype=int), score)
    assert math.isnan(none_predicted["precision"]) and none_predicted["recall"] == 0.0
    assert none_predicted["f1"] == 0.0  # 2·tp / (2·tp + fp + fn) = 0 / 3
    assert math.isnan(quality_metrics("binary", np.ones(5, dtype=int), pred, score)["auc"])  # one class
    # multiclass: class 0 p = 1, r = 1/2; class 1 p = 1/3, r = 1; class 2 never predicted (p = 0), r = 0;
    # support weights 2/4, 1/4, 1/4
    got = quality_metrics("multiclass", np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]))
    assert got == pytest.approx({"accuracy": 0.5, "weighted_precision": 0.5 + 1 / 12, "weighted_recall": 0.5,
                                 "weighted_f1": 0.5 * 2 / 3 + 0.25 * 0.5})
    # regression: errors 0, 1, −1, 0; Σe² = 2, Σ(y − ȳ)² = 5
    got = quality_metrics("regression", np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4]))
    assert got == pytest.approx({"mae": 0.5, "rmse": math.sqrt(0.5), "r2": 1 - 2 / 5})
    assert math.isnan(quality_metrics("regression", np.ones(3), np.array([1.0, 2, 3]))["r2"])


def test_confusion_matrix_by_hand() -> None:
    from simlab.monitoring.model_quality import confusion_matrix

    got = confusion_matrix(np.array([1, 1, 1, 0, 0]), np.array([1, 0, 1, 1, 0]))
    assert got == {"0": {"0": 1.0, "1": 1.0}, "1": {"0": 1.0, "1": 2.0}}


def test_cbpe_matches_realised_accuracy_without_drift_and_misses_concept_drift(small) -> None:
    assert expected_accuracy(np.array([[0.1, 0.9], [0.7, 0.3]])) == pytest.approx(0.8)
    assert expected_accuracy(np.array([[0.2, 0.5, 0.3]])) == pytest.approx(0.5)
    acc = small.monitoring.accuracy_over_time("1d")
    before, after = acc.iloc[0], acc.iloc[1]
    assert abs(before.accuracy - before.estimated_accuracy) < 0.03  # calibrated model, no drift
    assert after.accuracy < 0.85 and after.estimated_accuracy > 0.9  # label flips are invisible to CBPE
    mt = small.monitoring.metrics
    assert {"accuracy", "estimated_accuracy", "estimated_accuracy_labelled"} <= set(mt[mt.monitor == "model_quality"].metric)


# -- CBPE calibration ---------------------------------------------------------------------------------
CALIBRATION_GAP = 0.025  # docs/monitoring.md: the zoo's `calibrated` criterion


@pytest.mark.parametrize("name", [m.name for m in list_models() if m.task != "regression"])
def test_the_calibrated_flag_matches_held_out_calibration(name: str) -> None:
    """A model is flagged calibrated when, on the held-out serve split, its mean confidence is
    within 0.025 of its accuracy (the SGD classifier is over-confident: 0.99 vs 0.95)."""
    model, ds = load_model(name), dataset(name)
    X, y = ds.X[ds.serve_idx], ds.y[ds.serve_idx]
    gap = abs(expected_accuracy(model.predict_proba(X)) - float(np.mean(model.predict(X) == y)))
    assert model.calibrated == (gap <= CALIBRATION_GAP)
    assert {m.name: m.calibrated for m in list_models()}[name] == model.calibrated


def cbpe_run(name: str, below: float):
    """No drift, 2 days at 1 req/s, all captured, labels 6 h late; CBPE alarm below ``below``."""
    mq = {"type": "model_quality", "start_offset": "-PT12H", "end_offset": "-PT6H", "cbpe_below": below}
    raw = raw_scenario(capture={}, monitors=[mq], rate=1.0, seed=3, ground_truth={"delay": DELAY})
    return simlab.run(scenario_from_dict(raw | {"model": name}))


@pytest.mark.parametrize(("name", "below"), [("wine_rf", 0.9), ("breast_cancer_tree", 0.85),
                                             ("breast_cancer_logreg", 0.9)])
def test_cbpe_false_alarms_without_drift_stay_within_the_documented_bound(name: str, below: float) -> None:
    """docs/monitoring.md: with the map g fixed, an hourly window of n i.i.d. requests estimates
    below the threshold with probability ≤ exp(−2n(m − threshold)²), m = mean of g over the serve
    split (Hoeffding). Uncalibrated models get g only from labels that have arrived."""
    res = cbpe_run(name, below)
    sim = res.sim
    ep, truth = sim.features["monitoring"].endpoints["rt"], sim.features["monitoring"].truth
    model, ds = load_model(name), dataset(name)
    mq = [e for e in ep.executions if e.monitor == "model_quality"]
    if model.calibrated:
        g, first = (lambda c: c), mq[0].t
        assert not ep.cbpe.maps and all("is calibrated" in e.cbpe for e in mq)
    else:
        g = ep.cbpe.maps[(name, 0)]
        assert g.reference.size == 500 and np.all(truth.arrival[g.reference] <= g.t_fit)  # no label before it came
        captured = ep.capture.captured(sim.duration)
        first = min(e.t for e in mq if np.sum(truth.arrival[captured] <= e.t) >= 500)  # counted independently
        assert g.t_fit == first
        waiting = [e for e in mq if e.t < first]
        assert waiting and all(e.cbpe.startswith("unavailable: ") and "not calibrated" in e.cbpe for e in waiting)
        assert not any("estimated_accuracy" in e.metrics or e.alarms for e in waiting)
    estimated = [e for e in mq if e.t >= first]
    assert all("estimated_accuracy" in e.metrics for e in estimated)
    X, y = ds.X[ds.serve_idx], ds.y[ds.serve_idx]
    conf = confidence(model.predict_proba(X))
    m, acc = float(np.mean(g(conf))), float(np.mean(model.predict(X) == y))
    assert abs(m - acc) < 0.02  # the estimate is centred on the realised accuracy
    windows = [ep.capture.window(e.t - HOUR, e.t, e.t) for e in estimated]
    bound = float(sum(np.exp(-2 * w.size * (m - below) ** 2) for w in windows))
    allowed = int(stats.poisson.ppf(1 - 1e-6, bound))
    alarms = sum(a.monitor == "estimated_performance" for e in estimated for a in e.alarms)
    assert len(estimated) > 30 and bound < 1e-6 and allowed == 0
    assert alarms <= allowed
    if not model.calibrated:  # the raw probabilities would have been off by more than 5 points
        raw = np.mean([expected_accuracy(ep.scores.get(w)[1]) for w in windows])
        assert abs(raw - acc) > 0.05
        if name == "wine_rf":  # under-confident: every window would have alarmed
            assert all(expected_accuracy(ep.scores.get(w)[1]) < below for w in windows)


def test_calibration_maps_confidence_to_the_reference_accuracy() -> None:
    conf = np.array([0.6, 0.6, 0.7, 0.9, 0.9, 0.9, 0.9])
    correct = np.array([1, 1, 0, 1, 1, 1, 0], dtype=bool)
    g = Calibration.fit(conf, correct, t_fit=0.0, reference=np.arange(7))
    assert g.accuracy == pytest.approx(5 / 7) and np.mean(g(conf)) == pytest.approx(5 / 7)  # isotonic keeps the mean
    assert np.all(np.diff(g(np.array([0.5, 0.6, 0.7, 0.9, 1.0]))) >= 0) and 0 <= g(np.array([0.0]))[0] <= 1
    np.testing.assert_allclose(confidence(np.array([[0.3, 0.7], [0.8, 0.2]]), binary_threshold=0.75), [0.3, 0.8])


# -- bias and attributions --------------------------------------------------------------------------
def test_bias_metrics_follow_clarify_definitions() -> None:
    values = np.array([10.0, 20.0, 30.0, np.nan, 5.0, 25.0])
    in_d, usable = facet_groups(values, 15.0)
    positive = np.array([1, 0, 1, 1, 1, 1], dtype=bool)
    got = bias_metrics(positive, in_d, usable)
    q_a, q_d = 1.0, 2 / 3  # a = {10, 5}, d = {20, 30, 25}; the NaN row is left out
    assert got["DPPL"] == pytest.approx(q_a - q_d) and got["DI"] == pytest.approx(q_d / q_a)


@pytest.mark.parametrize("name", ["breast_cancer_logreg", "breast_cancer_pca_logreg", "breast_cancer_tree", "wine_rf"])
def test_attributions_are_exact(name: str) -> None:
    model, ds = load_model(name), dataset(name)
    base, X = ds.X[ds.train_idx], ds.X[ds.serve_idx]
    ex = Explainer(model, base)
    A = ex(X)
    if ex.method == "linear":
        logit = model.estimator.decision_function(X)
        np.testing.assert_allclose(A.sum(axis=1), logit - model.estimator.decision_function(base).mean(), atol=1e-8)
    else:
        proba, cls = model.predict_proba(X), ex._rows_class(X)
        trees = getattr(ex.final, "estimators_", [ex.final])
        root = np.mean([t.tree_.value[0, 0] / t.tree_.value[0, 0].sum() for t in trees], axis=0)
        np.testing.assert_allclose(A.sum(axis=1), proba[np.arange(len(X)), cls] - root[cls], atol=1e-9)
    g = global_importance(ex(base))
    assert ndcg(g, g) == pytest.approx(1.0)


def test_ndcg_scores_the_live_ranking_with_baseline_importances() -> None:
    base = np.array([3.0, 2.0, 1.0])
    live = np.array([1.0, 2.0, 3.0])  # reversed
    d = 1 / np.log2([2, 3, 4])
    assert ndcg(base, live) == pytest.approx((1 * d[0] + 2 * d[1] + 3 * d[2]) / (3 * d[0] + 2 * d[1] + 1 * d[2]))


# -- run-level contracts ---------------------------------------------------------------------------------
def test_summary_has_the_monitoring_contract(small) -> None:
    mon = small.summary()["deployments"]["rt"]["monitoring"]
    assert set(mon) == {"executions", "violations", "first_alarm_s", "retrainings", "training_cost_usd"}
    assert set(mon["first_alarm_s"]) == {"data_quality", "model_quality", "estimated_performance", "bias_drift",
                                         "feature_attribution_drift"}
    assert mon["executions"] == len(small.monitoring.executions) and mon["first_alarm_s"]["data_quality"] == DAY + HOUR
    json.dumps(small.summary(), allow_nan=False)
    for name in ("executions", "violations", "alarms", "metrics", "detections", "retrainings"):
        assert hasattr(getattr(small.monitoring, name), "columns")


def test_same_seed_gives_identical_monitoring(small) -> None:
    again = simlab.run(scenario_from_dict(small_raw()))
    assert again.to_json() == small.to_json()
    for name in ("executions", "violations", "alarms", "metrics", "detections"):
        assert getattr(again.monitoring, name).equals(getattr(small.monitoring, name)), name


def test_schedules() -> None:
    assert parse_schedule("hourly").times(4 * HOUR) == [HOUR, 2 * HOUR, 3 * HOUR]
    daily6 = parse_schedule("cron(0 6 ? * * *)")
    assert (daily6.period, daily6.offset) == (DAY, 6 * HOUR)
    assert parse_schedule("cron(0 */6 ? * * *)").period == 6 * HOUR
    assert parse_schedule("12h").period == 12 * HOUR
    for bad in ("5m", "2d", "cron(0 0 1 * ? *)", "weekly"):
        with pytest.raises(ValueError):
            parse_schedule(bad)


@pytest.mark.parametrize(("change", "message"), [
    ({"capture": None}, "need data_capture"),
    ({"ground_truth": None}, "ground_truth: is required by model_quality"),
    ({"capture": {"modes": ["input"]}}, "add `output` to data_capture.modes"),
    ({"monitors": [{"type": "model_quality", "alarm": {"metric": "mae", "below": 1}}]}, "must be a binary metric"),
    ({"monitors": [{"type": "model_quality", "end_offset": "1d"}]}, "must be ≤ 0"),
    ({"monitors": [{"type": "data_quality", "schedule": "5m"}]}, "hourly, daily"),
    ({"monitors": [{"type": "data_quality", "ndcg_threshold": 0.5}]}, "applies only to feature_attribution_drift"),
    ({"monitors": [{"type": "bias_drift"}]}, "is required for bias_drift"),
    ({"monitors": [{"type": "bias_drift", "facet": {"feature": "radius", "threshold": 1}}]}, "must be a feature"),
    ({"monitors": [{"type": "data_quality"}, {"type": "data_quality"}]}, "at most one monitor per type"),
    ({"retraining": {"approach": "incremental"}}, "breast_cancer_logreg has no partial_fit"),
    ({"retraining": {"trigger": "data_quality_alarm"}, "monitors": [{"type": "model_quality"}]}, "needs a data_quality monitor"),
])
def test_invalid_monitoring_config_is_a_validation_error(change: dict, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(small_raw(**change))
    assert message in str(err.value)


def test_event_ids_are_name_based_uuids() -> None:
    """eventId is uuid5(namespace, "deployment/i"): deterministic, distinct, and labelled version 5
    (not a hash passed off as a random version-4 id)."""
    import uuid

    from simlab.monitoring.capture import EVENT_NAMESPACE, event_id

    got = uuid.UUID(event_id("rt", 7))
    assert got.version == 5 and got == uuid.uuid5(EVENT_NAMESPACE, "rt/7")
    assert len({event_id(d, i) for d in ("rt", "other") for i in range(1000)}) == 2000
