"""``simlab whatif SCENARIO [--vary PATH=VALUES]... [--replications N] [--seed S] [--out DIR] [--json]
[--workers N | --dask ADDRESS|local] [--quiet]``."""

from __future__ import annotations

import argparse
import os

from simlab.cli import Environment, ExitStatus
from simlab.commands import out_dir_error
from simlab.errors import SimlabError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--vary", action="append", default=[], metavar="PATH=VALUES",
                        help="dotted scenario path and values: a comma list or lin:START:STOP:N / "
                             "log:START:STOP:N (repeat for a grid)")
    parser.add_argument("--replications", type=int, metavar="N",
                        help="runs per point (default 1 without --vary, else 3)")
    parser.add_argument("--seed", type=int, metavar="S", help="root seed (default: the scenario's)")
    parser.add_argument("--out", metavar="DIR",
                        help="write report.html, report.md, plots/, results.csv, summary.json")
    parser.add_argument("--json", action="store_true", help="print summary.json to stdout")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: CPU count)")
    group.add_argument("--dask", metavar="ADDRESS|local",
                       help="run on a Dask cluster (needs pip install 'simlab[dask]'); local = a LocalCluster")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def progress_bar(env: Environment, total: int, quiet: bool, desc: str):
    """A tqdm bar on stderr; disabled by --quiet and when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(total=total, file=env.stderr, disable=quiet or not env.stderr_isatty, desc=desc,
                unit="run", leave=False, dynamic_ncols=True)


def _usage_errors(args: argparse.Namespace) -> list[str]:
    errors = []
    if args.replications is not None and args.replications < 1:
        errors.append(f"error: --replications: must be an integer ≥ 1, got {args.replications}")
    if args.seed is not None and args.seed < 0:
        errors.append(f"error: --seed: must be an integer ≥ 0, got {args.seed}")
    if args.workers is not None and args.workers < 1:
        errors.append(f"error: --workers: must be an integer ≥ 1, got {args.workers}")
    if args.dask is not None and not args.dask.strip():
        errors.append("error: --dask: must be a scheduler address (tcp://HOST:PORT) or local, got ''")
    return errors


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    errors = _usage_errors(args)
    if errors:
        env.stderr.write("\n".join(errors) + "\n")
        return ExitStatus.USAGE
    from simlab.whatif import WhatIf, prepare
    from simlab.whatif.execute import DaskMissing, run_tasks

    try:
        prep = prepare(args.scenario, args.vary, replications=args.replications, seed=args.seed)
    except SimlabError as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    if args.dask is not None:
        try:
            import distributed  # noqa: F401
        except ImportError:
            env.stderr.write("error: --dask: needs the optional Dask extra: pip install 'simlab[dask]'\n")
            return ExitStatus.USAGE
    bar = progress_bar(env, len(prep.tasks), args.quiet, "what-if")
    try:
        results = run_tasks(prep.tasks, workers=args.workers or os.cpu_count() or 1, dask=args.dask,
                            progress=bar.update)
    except DaskMissing as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    except SimlabError as e:  # problems only found once a run sets up
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    except OSError as e:
        if args.dask is None:
            raise
        env.stderr.write(f"error: --dask: cannot reach the Dask scheduler {args.dask} ({e})\n")
        return ExitStatus.USAGE
    finally:
        bar.close()
    w = WhatIf(prep, results)
    written = []
    if args.out:
        try:
            written = w.write(args.out)
        except OSError as e:
            out_dir_error(env, args.out, e)
            return ExitStatus.USAGE
    if args.json:
        env.stdout.write(w.to_json() + "\n")
    else:
        env.stdout.write(w.table())
        if written:
            env.stdout.write(f"\nwrote {len(written)} files under {args.out}; open "
                             f"{os.path.join(args.out, 'report.html')}\n")
    return ExitStatus.SUCCESS
