"""``simlab size SCENARIO --deployment NAME --p99-ms MS [--instance-types T1,T2,...] [--max-instances N]
[--replications N] [--seed S] [--workers N | --dask ADDRESS|local] [--json] [--quiet]``."""

from __future__ import annotations

import argparse
import json
import os

from simlab.cli import Environment, ExitStatus
from simlab.errors import SimlabError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--deployment", required=True, metavar="NAME", help="the deployment to size")
    parser.add_argument("--p99-ms", required=True, type=float, metavar="MS", help="p99 latency target (ms)")
    parser.add_argument("--instance-types", metavar="T1,T2,...",
                        help="instance types to try (default: the deployment's own)")
    parser.add_argument("--max-instances", type=int, default=10, metavar="N",
                        help="largest instance count (serverless: provisioned concurrency) tried (default 10)")
    parser.add_argument("--replications", type=int, default=3, metavar="N",
                        help="runs per candidate; every one must meet the target (default 3)")
    parser.add_argument("--seed", type=int, metavar="S", help="root seed (default: the scenario's)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: CPU count)")
    group.add_argument("--dask", metavar="ADDRESS|local", help="run on a Dask cluster (simlab[dask])")
    parser.add_argument("--json", action="store_true",
                        help='print {"recommendation": {...}, "candidates": [...]} (Inference Recommender field names)')
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from simlab.commands.whatif import progress_bar
    from simlab.whatif.execute import DaskMissing
    from simlab.whatif.sizing import size

    if args.seed is not None and args.seed < 0:
        env.stderr.write(f"error: --seed: must be an integer ≥ 0, got {args.seed}\n")
        return ExitStatus.USAGE
    if args.workers is not None and args.workers < 1:
        env.stderr.write(f"error: --workers: must be an integer ≥ 1, got {args.workers}\n")
        return ExitStatus.USAGE
    types = [t.strip() for t in args.instance_types.split(",")] if args.instance_types else None
    if types is not None and not all(types):
        env.stderr.write(f"error: --instance-types: must be a comma list of instance types, got {args.instance_types!r}\n")
        return ExitStatus.USAGE
    bar = progress_bar(env, None, args.quiet, "sizing")
    try:
        result = size(args.scenario, args.deployment, args.p99_ms, instance_types=types,
                      max_instances=args.max_instances, replications=args.replications, seed=args.seed,
                      workers=args.workers or os.cpu_count() or 1, dask=args.dask, progress=bar.update)
    except (SimlabError, DaskMissing) as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    finally:
        bar.close()
    if args.json:
        env.stdout.write(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(result.text())
    return ExitStatus.SUCCESS
