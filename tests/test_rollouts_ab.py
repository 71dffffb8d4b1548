"""A/B and shadow analyses: bookkeeping from a request frame against hand counts and the stats module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simlab.errors import ParameterError
from simlab.rng import Streams
from simlab.rollouts import ab, stats


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "variant": ["A"] * 5 + ["B"] * 5,
        "latency_s": [0.1, 0.2, 0.3, 0.4, 9.0, 0.2, 0.3, 0.4, 0.5, 0.6],
        "error": [0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        "correct": [1, 1, 0, np.nan, np.nan, 1, 1, 1, 0, np.nan],
        "t": np.arange(10.0),
    })


def test_variant_summary_by_hand() -> None:
    s = ab.variant_summary(frame(), correct="correct").set_index("variant")
    assert s.loc["A", "requests"] == 5 and s.loc["A", "error_rate"] == 0.2
    assert s.loc["A", "latency_mean_s"] == pytest.approx(0.25)  # the failed 9 s request is left out
    assert s.loc["A", "labelled"] == 3 and s.loc["A", "accuracy"] == pytest.approx(2 / 3)
    assert s.loc["B", "accuracy"] == pytest.approx(0.75) and s.loc["B", "error_rate"] == 0.0


def test_compare_variants_uses_the_frames_counts() -> None:
    recs = ab.compare_variants(frame(), control="A", treatment="B", correct="correct")
    err = next(r for r in recs if r["metric"] == "error_rate")
    ref = stats.two_proportion_ztest(successes_a=1, n_a=5, successes_b=0, n_b=5)
    assert err["p_value"] == ref.p_value and err["estimate"] == pytest.approx(-0.2)
    welch = next(r for r in recs if r["test"] == "welch_t")
    assert welch["estimate"] == pytest.approx(0.4 - 0.25) and (welch["n_a"], welch["n_b"]) == (4, 5)
    acc = next(r for r in recs if r["metric"] == "accuracy")
    assert (acc["n_a"], acc["n_b"], acc["estimate"]) == (3, 4, pytest.approx(0.75 - 2 / 3))
    with pytest.raises(ParameterError, match="columns"):
        ab.compare_variants(frame().drop(columns="error"), control="A", treatment="B")


def test_winner_times_leaves_out_unlabelled_rows() -> None:
    gen = Streams(3).generator("ab")
    n = 6000
    df = pd.DataFrame({"variant": np.where(gen.random(n) < 0.5, "A", "B"), "t": np.sort(gen.uniform(0, 6000, n))})
    p = np.where(df["variant"] == "B", 0.85, 0.75)
    df["correct"] = (gen.random(n) < p).astype(float)
    df.loc[gen.random(n) < 0.3, "correct"] = np.nan  # labels not arrived
    recs = {r["method"]: r for r in ab.winner_times(df, control="A", treatment="B", value="correct",
                                                     looks=np.arange(600, 6001, 600))}
    labelled = df["correct"].notna()
    last = recs["msprt"]
    assert last["t_s"] is not None
    upto = labelled & (df["t"] <= last["t_s"])
    assert last["n_a"] == int((upto & (df["variant"] == "A")).sum())
    assert last["n_b"] == int((upto & (df["variant"] == "B")).sum())


def test_shadow_agreement_by_hand() -> None:
    r = ab.shadow_agreement([0, 1, 1, 0], [0, 1, 0, 0])
    # p_o = 0.75; p_e = 0.5·0.75 + 0.5·0.25 = 0.5; κ = (0.75 − 0.5) / (1 − 0.5) = 0.5
    assert r == {"requests": 4, "agreement": 0.75, "cohen_kappa": 0.5}
    with pytest.raises(ParameterError, match="shadow"):
        ab.shadow_agreement([0, 1], [0])
