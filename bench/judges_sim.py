"""Canary guards measured on the simulator: false rollback rate (A/A) and detection rate and delay.

    python bench/judges_sim.py [--replications 200] [--seed 1] [--rate 5] [--workers 1]
                               [--guard NAME ...] [--cases all|aa|latency] [--csv]

Runs :func:`simlab.rollouts.evaluate.evaluate` (every guard of ``GUARDS`` × every case of
``CASES``, ``--replications`` simulator runs each, seeds spawned from ``--seed``) and prints the
Markdown table of docs/rollouts.md (or CSV). Never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simlab.rollouts.evaluate import CASES, GUARDS, evaluate, markdown_table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replications", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=5.0, help="arrivals per second")
    p.add_argument("--workers", type=int, default=1, help="workers per instance")
    p.add_argument("--guard", action="append", choices=list(GUARDS), help="only these guards (repeatable)")
    p.add_argument("--cases", choices=("all", "aa", "latency"), default="all",
                   help="all cases, only the A/A ones, or the A/A one without errors and the latency ones")
    p.add_argument("--csv", action="store_true")
    args = p.parse_args(argv)
    if args.replications < 1:
        p.error(f"--replications: must be an integer ≥ 1, got {args.replications}")
    cases = {"all": CASES, "aa": [c for c in CASES if c.aa],
             "latency": [c for c in CASES if c.base_error_rate == c.error_rate == 0]}[args.cases]
    t0 = time.perf_counter()
    df = evaluate(replications=args.replications, seed=args.seed, guards=args.guard, cases=cases,
                  rate_per_s=args.rate, workers_per_instance=args.workers)
    print(df.to_csv(index=False) if args.csv else markdown_table(df))
    print(f"({len(df)} rows × {args.replications} replications in {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
