"""simlab's serverless pool against simfaas (PACS Lab's serverless simulator) on its README workload.

Workload (simfaas README): Poisson arrivals λ = 0.9/s, warm service exponential with mean
1.991 s, cold service mean 2.244 s (simlab: cold start set-up exponential 0.253 s + the warm
service), instances expire 600 s after their last request, ≈ 200,000 requests; repeated at
λ = 9 and λ = 90 (max concurrency 200 in both simulators, simlab's limit).

Compared: cold-start probability (cold starts / all requests, rejected ones included, as simfaas
counts), the time-average number of instances (idle or busy) and the probability of a throttle
(rejection). At λ = 90 the pool fills up to the 200-instance cap and never shrinks (keep-alive
600 s ≫ gaps), so instances = 200 in both and the throttle probability should match Erlang B
for 200 servers and offered load λ·1.991 (printed for reference). Each is estimated by batch means
from one run of each simulator: the first 1/21 of the horizon is dropped as warm-up, the rest cut
into 20 batches; a 95 % confidence interval is mean ± t(19)·sd/√20. The two simulators agree when
their difference is below 2.58·√(se₁² + se₂²) (a two-sided z-test at 1 %).

Speed: wall clock of one simulate call each, after a warm-up call (no model training is timed):
simfaas = construction + generate_trace + get_result_dict; simlab = Simulation(...) + run() +
the deployment's JSON summary (predictions are computed in Result and are not needed here).

Known differences (documented, small): simfaas sends a request to the newest idle instance,
simlab to the most recently used one; simfaas draws a cold request's whole service from one
exponential (mean 2.244 s), simlab adds an exponential set-up (mean 0.253 s) to the warm draw.

Usage: python bench/serverless_vs_simfaas.py [--quick]   (simfaas: pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy import stats

WARM_S, COLD_S, KEEP_S, MAX_CONC = 1.991, 2.244, 600.0, 200
BATCHES = 20


# -- batch means ---------------------------------------------------------------------------------
def batch_edges(horizon: float) -> np.ndarray:
    warm = horizon / (BATCHES + 1)
    return np.linspace(warm, horizon, BATCHES + 1)


def step_integral(t: np.ndarray, level: np.ndarray, points: np.ndarray) -> np.ndarray:
    """∫₀^T of a step function equal to ``level[i]`` on [t[i], t[i+1]), at each T in ``points``."""
    cum = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(t))])
    k = np.searchsorted(t, points, side="right") - 1
    return cum[k] + level[k] * (points - t[k])


def ci(values: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) of batch means."""
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def per_batch(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.histogram(times, bins=edges)[0].astype(float)


# -- simfaas -----------------------------------------------------------------------------------------
def run_simfaas(lam: float, horizon: float, seed: int):
    from simfaas.ServerlessSimulator import ServerlessSimulator

    np.random.seed(seed)  # simfaas draws from NumPy's global generator
    t0 = time.perf_counter()
    sim = ServerlessSimulator(arrival_rate=lam, warm_service_rate=1 / WARM_S, cold_service_rate=1 / COLD_S,
                              expiration_threshold=KEEP_S, max_time=horizon, maximum_concurrency=MAX_CONC)
    sim.generate_trace(debug_print=False, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.get_result_dict()
    return sim, time.perf_counter() - t0


def simfaas_batches(sim, horizon: float) -> dict[str, np.ndarray]:
    """Per-batch cold-start probability and average instance count from simfaas's history."""
    t = np.asarray(sim.hist_times)
    edges = batch_edges(horizon)
    level = np.asarray(sim.hist_server_count + [sim.hist_server_count[-1]], dtype=float)[: t.size]
    area = np.diff(step_integral(t, level, edges))
    at = lambda idxs: t[np.asarray(idxs, dtype=np.int64) + 1]  # noqa: E731 - arrival = next history time
    cold = per_batch(at(sim.hist_req_cold_idxs), edges)
    rejected = per_batch(at(sim.hist_req_rej_idxs), edges)
    total = cold + per_batch(at(sim.hist_req_warm_idxs), edges) + rejected
    return {"p_cold": cold / total, "p_throttled": rejected / total, "instances": area / np.diff(edges)}


# -- simlab ------------------------------------------------------------------------------------------
def simlab_scenario(lam: float, horizon: float):
    from simlab.scenario import scenario_from_dict

    dep = {"name": "sl", "type": "serverless_inference", "memory_mb": 1024, "max_concurrency": MAX_CONC,
           "idle_timeout": KEEP_S, "overhead_ms": 0,
           "service_time": {"dist": "exponential", "mean_ms": WARM_S * 1000},
           "cold_start": {"dist": "exponential", "mean_ms": (COLD_S - WARM_S) * 1000}}
    return scenario_from_dict({"name": f"simfaas-{lam:g}", "duration": horizon,
                               "workload": {"arrivals": "poisson", "rate_per_s": lam},
                               "deployments": [dep]})


def run_simlab(scenario, seed: int):
    from simlab.simulation import Simulation

    t0 = time.perf_counter()
    sim = Simulation(scenario, seed=seed).run()
    d = sim.deployments[0]
    d.summary()
    return d, time.perf_counter() - t0


def simlab_batches(d, horizon: float) -> dict[str, np.ndarray]:
    edges = batch_edges(horizon)
    t = d.sim.workload.t
    area = np.array([d.live_seconds(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    cold, total = per_batch(t[d.log.cold], edges), per_batch(t, edges)
    throttled = per_batch(t[d.log.instance < 0], edges)
    return {"p_cold": cold / total, "p_throttled": throttled / total, "instances": area / np.diff(edges)}


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/G/c/c (insensitive to the service distribution)."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


# -- report ------------------------------------------------------------------------------------------
def compare(name: str, a: np.ndarray, b: np.ndarray) -> str:
    (ma, sa), (mb, sb) = ci(a), ci(b)
    tq = stats.t.ppf(0.975, BATCHES - 1)
    agree = abs(ma - mb) <= 2.58 * np.hypot(sa, sb)  # (equal constants, e.g. a saturated pool, agree)
    return (f"  {name:<14} simlab {ma:10.5f} ± {tq * sa:.5f}   simfaas {mb:10.5f} ± {tq * sb:.5f}   "
            f"diff/se {abs(ma - mb) / max(np.hypot(sa, sb), 1e-300):5.2f}  {'agree' if agree else 'DIFFER'}")


def bench(lam: float, n_requests: int, seed: int) -> float:
    horizon = n_requests / lam
    scenario = simlab_scenario(lam, horizon)
    run_simlab(simlab_scenario(lam, min(horizon, 2000.0)), seed)  # warm-up (dataset load, imports)
    d, t_simlab = run_simlab(scenario, seed)
    sf, t_simfaas = run_simfaas(lam, horizon, seed)
    ours, theirs = simlab_batches(d, horizon), simfaas_batches(sf, horizon)
    s = d.summary()
    print(f"λ = {lam:g}/s, horizon {horizon:,.0f} s: simlab {s['arrived']:,} requests "
          f"({s['throttled']:,} throttled), simfaas {sf.total_req_count:,} ({sf.total_reject_count:,} rejected)")
    print(compare("P(cold start)", ours["p_cold"], theirs["p_cold"]))
    print(compare("avg instances", ours["instances"], theirs["instances"]))
    print(compare("P(throttled)", ours["p_throttled"], theirs["p_throttled"])
          + f"   (Erlang B with {MAX_CONC} warm instances: {erlang_b(MAX_CONC, lam * WARM_S):.5f})")
    ratio = t_simfaas / t_simlab
    print(f"  wall clock     simlab {t_simlab:.3f} s   simfaas {t_simfaas:.3f} s   speed ratio {ratio:.1f}×\n")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 requests per rate instead of 200,000")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = 20_000 if args.quick else 200_000
    ratios = {lam: bench(lam, n, args.seed) for lam in (0.9, 9.0, 90.0)}
    print("speed ratio simlab/simfaas: " + ", ".join(f"λ={k:g}: {v:.1f}×" for k, v in ratios.items()))
    print(f"required ≥ 1.5× at λ=0.9: {'met' if ratios[0.9] >= 1.5 else 'NOT met'}; "
          f"target ≥ 5× at λ=0.9: {'met' if ratios[0.9] >= 5 else 'not met'}, "
          f"≥ 20× at λ=90: {'met' if ratios[90.0] >= 20 else 'not met'}")


if __name__ == "__main__":
    main()
