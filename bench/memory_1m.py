"""Peak memory of a 1,000,000-request run of a real-time endpoint.

    python bench/memory_1m.py [--requests 1000000] [--top 8]

Scenario: Poisson arrivals at 50 requests/s for requests / 50 seconds (20,000 s for 1 M), one
real-time endpoint with 4 instances × 1 worker, exponential 40 ms model time (ρ = 0.5).

Each mode runs in a fresh subprocess (so ``ru_maxrss`` is not polluted by the other mode):

* ``summary``  — ``simlab.run(...)`` then ``summary()`` only;
* ``requests`` — the same plus building ``res.requests`` (the per-request DataFrame).

For each mode it prints the tracemalloc peak (Python + numpy allocations made during the run)
and the peak and live memory of each phase, the ``ru_maxrss`` growth over the process's state
after imports and warm-up, and the largest allocation sites still alive at the end. Budget: ≤ 300 MB. Never asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc

RATE = 50.0


def scenario(n_requests: int):
    from simlab.scenario import scenario_from_dict

    return scenario_from_dict({
        "name": "memory-1m", "duration": n_requests / RATE, "warmup": 0,
        "workload": {"arrivals": "poisson", "rate_per_s": RATE, "payload_kb": 4},
        "deployments": [{"name": "rt", "type": "real_time_endpoint", "instance_count": 4,
                         "workers_per_instance": 1,
                         "service_time": {"dist": "exponential", "mean_ms": 40}}],
    })


def maxrss_mb() -> float:
    # Linux reports kilobytes (macOS bytes).
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def child(mode: str, n_requests: int, top: int) -> dict:
    import pandas  # noqa: F401  - imported before the baseline, like any session using simlab

    import simlab
    from simlab.result import Result
    from simlab.simulation import Simulation

    _ = simlab.run(scenario(2_000)).requests  # warm-up: dataset, model, pandas code paths
    sc = scenario(n_requests)
    gc.collect()
    rss0 = maxrss_mb()
    tracemalloc.start(25)
    t0 = time.perf_counter()
    phases = []  # (phase, traced MB after it, peak MB during it)

    def mark(name: str) -> None:
        cur, peak = tracemalloc.get_traced_memory()
        phases.append((name, cur / 2**20, peak / 2**20))
        tracemalloc.reset_peak()

    sim = Simulation(sc)
    mark("Simulation() (workload, request log)")
    sim.run()
    mark("run()")
    res = Result(sim)
    mark("Result() (predictions)")
    res.summary()
    mark("summary()")
    frame_mb = 0.0
    if mode == "requests":
        frame = res.requests
        mark("res.requests")
        frame_mb = frame.memory_usage(deep=True).sum() / 2**20
    elapsed = time.perf_counter() - t0
    snap = tracemalloc.take_snapshot()  # what is still alive at the end
    tracemalloc.stop()
    top_sites = [(str(s.traceback[0]), s.size / 2**20)
                 for s in snap.statistics("lineno")[:top]]
    return {"mode": mode, "requests": sim.workload.n, "seconds": elapsed,
            "tracemalloc_peak_mb": max(p for _, _, p in phases), "phases": phases,
            "maxrss_delta_mb": maxrss_mb() - rss0, "frame_mb": frame_mb,
            "log_mb": sim.deployments[0].log.nbytes() / 2**20, "alive_at_end": top_sites}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--top", type=int, default=8, help="allocation sites to list (default 8)")
    ap.add_argument("--child", choices=("summary", "requests"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.requests, args.top)))
        return

    print(f"{args.requests:,} requests at {RATE:g}/s on 4 instances; budget ≤ 300 MB")
    for mode in ("summary", "requests"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--requests",
                              str(args.requests), "--top", str(args.top)],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"\n[{mode}] {r['requests']:,} requests, {r['seconds']:.1f} s under tracemalloc")
        print(f"  tracemalloc peak: {r['tracemalloc_peak_mb']:.1f} MB")
        print(f"  ru_maxrss delta:  {r['maxrss_delta_mb']:.1f} MB")
        for name, cur, peak in r["phases"]:
            print(f"    {name:38s} peak {peak:7.1f} MB, live after {cur:7.1f} MB")
        print(f"  request log {r['log_mb']:.1f} MB"
              + (f", requests DataFrame {r['frame_mb']:.1f} MB (deep)" if mode == "requests" else ""))
        print("  largest allocations still alive at the end:")
        for site, mb in r["alive_at_end"]:
            print(f"    {mb:7.1f} MB  {site}")


if __name__ == "__main__":
    main()
