"""simlab's real-time endpoint vs a textbook SimPy model of the same M/M/4 queue.

    python bench/endpoint_vs_simpy.py [--requests 200000] [--repeat 3]

Workload: Poisson arrivals λ = 3.2/s, exponential service with a 1 s mean, 4 servers, FIFO
(ρ = 0.8), about 200,000 requests (duration = requests / λ ≈ 62,500 s).

* simlab: one real-time endpoint, 1 instance × 4 workers, overhead 0, with full per-request
  records. Timed: ``Simulation(...)`` (workload generation), ``.run()``, ``Result(...)``,
  ``summary()`` and building ``res.requests`` (which scores the predictions on demand). Dataset
  loading and model training are warmed up first and excluded.
* SimPy: one process per customer requesting a ``simpy.Resource(capacity=4)``; interarrival
  and service times drawn up front from a numpy Generator; arrival/start/done recorded per
  customer in preallocated arrays.

Prints the best of ``--repeat`` timings for each, ``simlab/simpy speed ratio: X`` (SimPy time /
simlab time; requirement ≥ 1.0, target ≥ 5), and the mean waits (averaged over the repeats) next to Erlang C. Never asserts
timings.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import simpy

from simlab import theory
from simlab.result import Result
from simlab.scenario import scenario_from_dict
from simlab.simulation import Simulation

LAM, MEAN_S, C = 3.2, 1.0, 4


def scenario(n_requests: int):
    return scenario_from_dict({
        "name": "mm4-bench", "duration": n_requests / LAM, "warmup": 0,
        "workload": {"arrivals": "poisson", "rate_per_s": LAM, "payload_kb": 4},
        "deployments": [{"name": "mm4", "type": "real_time_endpoint", "instance_count": 1,
                         "workers_per_instance": C, "overhead_ms": 0,
                         "service_time": {"dist": "exponential", "mean_ms": MEAN_S * 1000}}],
    })


def run_simlab(sc, seed: int) -> tuple[dict[str, float], float, int]:
    """Phase timings (s), the mean wait (s) and the number of requests."""
    t = [time.perf_counter()]
    sim = Simulation(sc, seed=seed)
    t.append(time.perf_counter())
    sim.run()
    t.append(time.perf_counter())
    res = Result(sim)
    t.append(time.perf_counter())
    summary = res.summary()
    t.append(time.perf_counter())
    requests = res.requests
    t.append(time.perf_counter())
    names = ["workload", "run", "result", "summary", "requests frame+predictions"]
    phases = {n: t[i + 1] - t[i] for i, n in enumerate(names)}
    return phases, summary["deployments"]["mm4"]["wait_ms"]["mean"] / 1000, len(requests)


def run_simpy(n: int, seed: int) -> tuple[float, float]:
    """Wall time (s) and mean wait (s) of the textbook model with ``n`` customers."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    inter = rng.exponential(1 / LAM, n).tolist()
    service = rng.exponential(MEAN_S, n).tolist()
    arrival, start, done = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=C)

    def customer(i: int):
        arrival[i] = env.now
        with server.request() as req:
            yield req
            start[i] = env.now
            yield env.timeout(service[i])
            done[i] = env.now

    def source():
        for i in range(n):
            yield env.timeout(inter[i])
            env.process(customer(i))

    env.process(source())
    env.run()
    wait = float(np.mean(start - arrival))
    return time.perf_counter() - t0, wait


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5, help="best of N timings (default 5)")
    args = ap.parse_args()

    sc = scenario(args.requests)
    run_simlab(scenario(2_000), seed=0)  # warm-up: dataset, model (trained or read from cache)

    best_simlab, simlab_waits, n_simlab = None, [], 0
    for r in range(args.repeat):
        phases, wait, n_simlab = run_simlab(sc, seed=r + 1)
        simlab_waits.append(wait)
        if best_simlab is None or sum(phases.values()) < sum(best_simlab.values()):
            best_simlab = phases
    t_simlab = sum(best_simlab.values())

    simpy_runs = [run_simpy(args.requests, seed=r + 1) for r in range(args.repeat)]
    t_simpy = min(t for t, _ in simpy_runs)
    simlab_wait = float(np.mean(simlab_waits))
    simpy_wait = float(np.mean([w for _, w in simpy_runs]))

    erlang = theory.mmc_mean_wait(LAM, 1 / MEAN_S, C)
    print(f"M/M/{C}: λ = {LAM}/s, mean service {MEAN_S} s, ρ = {LAM * MEAN_S / C:.2f}, "
          f"duration {args.requests / LAM:,.0f} s; best of {args.repeat}")
    print(f"simlab: {n_simlab:,} requests in {t_simlab:.3f} s  "
          f"({', '.join(f'{k} {v:.3f}' for k, v in best_simlab.items())})")
    print(f"simpy:  {args.requests:,} customers in {t_simpy:.3f} s")
    print(f"simlab/simpy speed ratio: {t_simpy / t_simlab:.1f}  (requirement ≥ 1.0, target ≥ 5)")
    print(f"mean wait (average of {args.repeat} seeds): simlab {simlab_wait:.4f} s, "
          f"simpy {simpy_wait:.4f} s, Erlang C {erlang:.4f} s")


if __name__ == "__main__":
    main()
