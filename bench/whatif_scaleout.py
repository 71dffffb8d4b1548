"""Scale-out of ``simlab whatif``: one sweep serially, on a process pool and on a Dask LocalCluster.

    python bench/whatif_scaleout.py [--points 40] [--replications 5] [--workers N] [--duration 10m]

The sweep varies the arrival rate of a two-deployment scenario (a real-time endpoint and a
serverless endpoint) over ``--points`` values with ``--replications`` each. Prints wall time per
backend, the speed-up over serial, and the overhead per task: (wall × workers − serial wall) / tasks,
the time a worker spends on anything but simulating (start-up, pickling, scheduling). Checks that
every backend returns the same summary bytes. Never asserts a timing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simlab.whatif import whatif  # noqa: E402


def scenario(directory: Path, duration: str) -> Path:
    raw = {"name": "scaleout", "seed": 1, "duration": duration, "warmup": "1m",
           "workload": {"arrivals": "poisson", "rate_per_s": 5, "payload_kb": 2},
           "deployments": [
               {"name": "rt", "type": "real_time_endpoint", "instance_count": 2, "workers_per_instance": 2,
                "service_time": {"dist": "lognormal", "mean_ms": 80, "cv": 0.6}},
               {"name": "sls", "type": "serverless_inference", "memory_mb": 2048, "max_concurrency": 50,
                "service_time": {"dist": "lognormal", "mean_ms": 80, "cv": 0.6}}]}
    path = directory / "scaleout.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def timed(label: str, fn):
    t0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - t0
    print(f"{label:<28} {wall:8.2f} s", flush=True)
    return out, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=40)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--duration", default="10m")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario(Path(tmp), args.duration)
        vary = [f"workload.rate_per_s=lin:1:20:{args.points}"]
        n = args.points * args.replications
        print(f"{args.points} points × {args.replications} replications = {n} tasks, "
              f"{args.workers} workers, {args.duration} simulated each")
        serial, t_serial = timed("serial (1 process)", lambda: whatif(path, vary, replications=args.replications,
                                                                        workers=1))
        pool, t_pool = timed(f"process pool ({args.workers})", lambda: whatif(
            path, vary, replications=args.replications, workers=args.workers))
        try:
            dask, t_dask = timed(f"Dask LocalCluster ({args.workers})", lambda: whatif(
                path, vary, replications=args.replications, workers=args.workers, dask="local"))
        except ImportError:
            dask, t_dask = None, None
            print("Dask LocalCluster: skipped (pip install 'simlab[dask]')")
    print()
    print(f"serial per task            {t_serial / n * 1000:8.1f} ms")
    for label, res, wall in (("process pool", pool, t_pool), ("Dask LocalCluster", dask, t_dask)):
        if res is None:
            continue
        same = res.to_json() == serial.to_json()
        overhead = (wall * args.workers - t_serial) / n
        print(f"{label:<26} speed-up {t_serial / wall:5.2f}×  (ideal {args.workers}×)  "
              f"overhead per task {overhead * 1000:7.1f} ms  identical to serial: {same}")


if __name__ == "__main__":
    main()
