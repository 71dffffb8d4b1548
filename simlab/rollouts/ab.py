"""A/B and shadow analyses over a request frame (one row per request).

Column names are parameters, so the same functions read the simulator's request log (once the
rollouts Feature hands it over) or any DataFrame: a variant column, the latency in seconds, a
0/1 error flag, an optional 0/1 ``correct`` column (NaN where the label has not arrived yet) and
the request time. pandas does the group-bys; the tests are :mod:`simlab.rollouts.stats`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from simlab.errors import ParameterError
from simlab.rollouts import stats

__all__ = ["variant_summary", "compare_variants", "winner_times", "shadow_agreement"]


def _need(df: pd.DataFrame, cols: Sequence[str | None]) -> None:
    missing = [c for c in cols if c is not None and c not in df.columns]
    if missing:
        raise ParameterError("df", "simlab.rollouts.ab", f"must have the columns {', '.join(missing)}", list(df.columns))


def variant_summary(df: pd.DataFrame, *, variant: str = "variant", latency: str = "latency_s",
                    error: str = "error", correct: str | None = None) -> pd.DataFrame:
    """Per variant: requests, error rate, mean and p99 latency (successful requests), and accuracy
    over the labelled requests when ``correct`` is given. Raises ParameterError on missing columns."""
    _need(df, [variant, latency, error, correct])
    g = df.groupby(variant, sort=True)
    ok = df[df[error] == 0].groupby(variant)[latency]
    out = pd.DataFrame({"requests": g.size(), "error_rate": g[error].mean(),
                        "latency_mean_s": ok.mean(), "latency_p99_s": ok.quantile(0.99)})
    if correct is not None:
        out["labelled"] = g[correct].count()
        out["accuracy"] = g[correct].mean()
    return out.reset_index()


def compare_variants(df: pd.DataFrame, *, control: str, treatment: str, variant: str = "variant",
                     latency: str = "latency_s", error: str = "error", correct: str | None = None,
                     alpha: float = 0.05) -> list[dict]:
    """Fixed-horizon tests of treatment − control: error rate (two-proportion z), latency of
    successful requests (Welch t and Mann–Whitney), accuracy over labelled requests (z).
    One flat record per metric and test."""
    _need(df, [variant, latency, error, correct])
    a, b = df[df[variant] == control], df[df[variant] == treatment]
    if a.empty or b.empty:
        raise ParameterError("control", "compare_variants", "and treatment must both have requests",
                             (control, len(a), treatment, len(b)))
    out = []
    r = stats.two_proportion_ztest(successes_a=int(a[error].sum()), n_a=len(a),
                                   successes_b=int(b[error].sum()), n_b=len(b), alpha=alpha)
    out.append({"metric": "error_rate", **r.record()})
    la, lb = a.loc[a[error] == 0, latency].to_numpy(), b.loc[b[error] == 0, latency].to_numpy()
    if la.size >= 2 and lb.size >= 2:
        out.append({"metric": "latency_s", **stats.welch_ttest(la, lb, alpha=alpha).record()})
        out.append({"metric": "latency_s", **stats.mann_whitney(la, lb, alpha=alpha).record()})
    if correct is not None:
        ca, cb = a[correct].dropna(), b[correct].dropna()
        if len(ca) and len(cb):
            r = stats.two_proportion_ztest(successes_a=int(ca.sum()), n_a=len(ca), successes_b=int(cb.sum()),
                                           n_b=len(cb), alpha=alpha)
            out.append({"metric": "accuracy", **r.record()})
    return out


def winner_times(df: pd.DataFrame, *, control: str, treatment: str, value: str, looks: Sequence[float],
                 kind: str = "rate", variant: str = "variant", time: str = "t", alpha: float = 0.05,
                 planned_n_per_arm: int | None = None, n_star: float = 5000) -> list[dict]:
    """When each method (peeking z, planned fixed horizon, mSPRT) would declare a difference in
    ``value`` between the two variants; see :func:`simlab.rollouts.stats.decision_times`. Rows with
    a NaN ``value`` (a label not yet arrived) are left out; ``time`` should then be the time the
    value became known. ``n_star`` tunes the mSPRT's mixing variance (GrowthBook's N*)."""
    _need(df, [variant, value, time])
    d = df[df[variant].isin([control, treatment]) & df[value].notna()]
    arm = (d[variant] == treatment).to_numpy().astype(int)
    return stats.decision_times(t=d[time].to_numpy(), arm=arm, value=d[value].to_numpy(dtype=float),
                                looks=np.asarray(looks, dtype=float), kind=kind, alpha=alpha,
                                planned_n_per_arm=planned_n_per_arm, n_star=n_star)


def shadow_agreement(production: Sequence, shadow: Sequence) -> dict:
    """Agreement of production and shadow predictions on the same requests: share equal and
    Cohen's κ (sklearn). A shadow test measures this, not user outcomes: its responses never
    reach a caller."""
    p, s = np.asarray(production), np.asarray(shadow)
    if p.shape != s.shape or p.size == 0:
        raise ParameterError("shadow", "shadow_agreement", "must pair one prediction per production prediction",
                             (p.shape, s.shape))
    return {"requests": int(p.size), "agreement": float(np.mean(p == s)),
            "cohen_kappa": float(cohen_kappa_score(p, s))}
