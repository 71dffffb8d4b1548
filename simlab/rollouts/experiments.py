"""Replications of the canary judges on synthetic interval data: false rollbacks and detection.

Not the endpoint simulator: each replication draws, per analysis interval, Poisson request
counts for the canary (share ``w`` of rate ``λ``) and the baseline, binomial error counts and
lognormal latencies, and feeds them to fresh judges. This isolates what the judges' statistics do
(false rollback rate of an A/A canary, detection rate and delay of injected regressions) from the
queueing of a real fleet; the same judges run inside :class:`~simlab.rollouts.controller.UpdateController`
once the rollouts Feature is wired to the simulator.

The table in docs/rollouts.md is ``pandas.DataFrame(judge_table(replications=1000, seed=1))``
(and ``rate_rps=20`` with 300 replications); the commands are there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from simlab.rng import Streams
from simlab.rollouts.judges import (
    ArmSample,
    MannWhitneyJudge,
    MetricSpec,
    SequentialJudge,
    ThresholdJudge,
)

__all__ = ["JUDGES", "judge_table"]

#: the judges compared: name → (factory, metric the regression is injected into)
JUDGES: dict[str, tuple[Callable[[], object], str]] = {
    "threshold error_rate ≤ 5 %, no data = fail": (lambda: ThresholdJudge(max=0.05, no_data="fail"), "errors"),
    "threshold error_rate ≤ 5 %, no data = ignore": (lambda: ThresholdJudge(max=0.05, no_data="ignore"), "errors"),
    "sequential mSPRT error_rate, α = 0.05, N* = 5000": (
        lambda: SequentialJudge(metric="error_rate", alpha=0.05), "errors"),
    "sequential mSPRT error_rate, α = 0.05, N* = 500": (
        lambda: SequentialJudge(metric="error_rate", alpha=0.05, n_star=500), "errors"),
    "mann_whitney latency (Kayenta, 98 %)": (
        lambda: MannWhitneyJudge(metrics=[MetricSpec("latency")], confidence=0.98), "latency"),
}


def _lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    sigma2 = math.log(1 + cv * cv)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def judge_table(*, replications: int = 1000, seed: int = 0, rate_rps: float = 2.0, canary_share: float = 0.1,
                interval_s: float = 60.0, intervals: int = 10, p_base: float = 0.01,
                latency_mean_s: float = 0.05, latency_cv: float = 0.5,
                error_deltas: Sequence[float] = (0.0, 0.02, 0.05),
                latency_multipliers: Sequence[float] = (1.0, 1.2, 1.5),
                judges: Sequence[str] | None = None) -> list[dict]:
    """One record per (judge, regression): rollback rate and mean delay of the first rollback.

    ``regression`` 0 / multiplier 1.0 is the A/A case: its rollback rate is the false rollback
    rate. ``judges`` selects names of :data:`JUDGES` (default: all). Each (judge, regression) pair has its own named random stream, so adding a judge does not
    change another's draws.
    """
    mu, sigma = _lognormal_params(latency_mean_s, latency_cv)
    lam_c, lam_b = canary_share * rate_rps * interval_s, (1 - canary_share) * rate_rps * interval_s
    streams = Streams(seed)
    out = []
    for name, (factory, kind) in JUDGES.items():
        if judges is not None and name not in judges:
            continue
        sizes = error_deltas if kind == "errors" else latency_multipliers
        for size in sizes:
            gen = streams.generator(f"judges/{name}/{size}")
            p_c = p_base + (size if kind == "errors" else 0.0)
            mult = size if kind == "latency" else 1.0
            delays = []
            for _ in range(replications):
                judge = factory()
                n_c = gen.poisson(lam_c, intervals)
                n_b = gen.poisson(lam_b, intervals)
                e_c = gen.binomial(n_c, p_c)
                e_b = gen.binomial(n_b, p_base)
                for i in range(intervals):
                    if kind == "latency":
                        lat_c = mult * gen.lognormal(mu, sigma, n_c[i])
                        lat_b = gen.lognormal(mu, sigma, n_b[i])
                        v = judge.observe({"latency": lat_c}, {"latency": lat_b})
                    else:
                        v = judge.observe(ArmSample(requests=int(n_c[i]), errors=int(e_c[i])),
                                          ArmSample(requests=int(n_b[i]), errors=int(e_b[i])))
                    if v.action == "rollback":
                        delays.append((i + 1) * interval_s)
                        break
            regression = (f"+{size * 100:g} pp errors" if kind == "errors" else f"latency × {size:g}")
            aa = (kind == "errors" and size == 0) or (kind == "latency" and size == 1.0)
            out.append({"judge": name, "regression": "none (A/A)" if aa else regression,
                        "replications": replications, "rollback_rate": len(delays) / replications,
                        "mean_delay_s": float(np.mean(delays)) if delays else None,
                        "canary_requests_per_interval": lam_c})
    return out
