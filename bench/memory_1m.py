"""Peak memory of a 1,000,000-request run of a real-time endpoint.

    python bench/memory_1m.py [--requests 1000000] [--top 8]

Scenario: Poisson arrivals at 50 requests/s for requests / 50 seconds (20,000 s for 1 M), one
real-time endpoint with 4 instances × 1 worker, exponential 40 ms model time (ρ = 0.5).

Each mode runs in a fresh subprocess (so ``ru_maxrss`` is not polluted by the other mode):

* ``summary``  — ``simlab.run(...)`` then ``summary()`` only;
* ``requests`` — the same plus building ``res.requests`` (the per-request DataFrame).

For each mode it prints the tracemalloc peak (Python + numpy allocations made during the run)
and the peak and live memory of each phase, the ``ru_maxrss`` growth over the process's state
after imports and warm-up, and the largest allocation sites still alive at the end.

The budget is the **whole process**: ``python -m simlab simulate FILE --json`` on the same
scenario must peak under 300 MB resident (``cli`` line: the child's own ``ru_maxrss`` from
``os.wait4``, the figure ``/usr/bin/time -v`` reports as "Maximum resident set size").
``--day`` also runs a simulated day at 100 requests/s (8.64 M requests, one real-time endpoint
with 8 instances): budget 1 GB for the whole process. Never asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

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


def cli_peak(duration: float, rate: float, instances: int) -> tuple[float, float, float]:
    """(max RSS MB, wall s, CPU s) of ``python -m simlab simulate FILE --json`` in a child process."""
    text = (f"name: bench\nduration: {duration}\nwarmup: 0\n"
            f"workload: {{arrivals: poisson, rate_per_s: {rate}, payload_kb: 4}}\n"
            f"deployments:\n  - {{name: rt, type: real_time_endpoint, instance_count: {instances}, "
            f"workers_per_instance: 1, service_time: {{dist: exponential, mean_ms: 40}}}}\n")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "simlab", "simulate", str(path), "--json"],
                                stdout=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    return usage.ru_maxrss * scale, wall, usage.ru_utime + usage.ru_stime


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
    mark("Result() (predictions on first read)")
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
    ap.add_argument("--day", action="store_true", help="also the 8.64 M-request day (budget 1 GB)")
    ap.add_argument("--child", choices=("summary", "requests"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.requests, args.top)))
        return

    rss, wall, cpu = cli_peak(args.requests / RATE, RATE, 4)
    print(f"[cli] simlab simulate --json, {args.requests:,} requests: whole process peak {rss:.1f} MB "
          f"(budget 300 MB), {wall:.1f} s wall, {cpu:.1f} s CPU")
    if args.day:
        rss, wall, cpu = cli_peak(86400.0, 100.0, 8)
        print(f"[cli] simulated day at 100/s (8.64 M requests): whole process peak {rss:.1f} MB "
              f"(budget 1024 MB), {wall:.1f} s wall, {cpu:.1f} s CPU")

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
