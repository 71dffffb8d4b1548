"""``simlab simulate SCENARIO [--json] [--out DIR] [--seed N]``."""

from __future__ import annotations

import argparse
import time

from simlab.cli import Environment, ExitStatus
from simlab.errors import SimlabError

PROGRESS_AFTER_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", metavar="DIR", help="also write summary.json, requests.csv, metrics.csv")
    parser.add_argument("--seed", type=int, help="root random seed (overrides the scenario's)")


class _ProgressBar:
    """A one-line bar on stderr, shown only on a terminal once a run has taken a while."""

    def __init__(self, env: Environment) -> None:
        self.env, self.t0, self.shown = env, time.monotonic(), False

    def __call__(self, fraction: float) -> None:
        if time.monotonic() - self.t0 < PROGRESS_AFTER_S:
            return
        width = 30
        done = int(fraction * width)
        self.env.stderr.write(f"\rsimulating [{'#' * done}{'.' * (width - done)}] {fraction:4.0%}")
        self.env.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.env.stderr.write("\r" + " " * 50 + "\r")


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from simlab.scenario import load_scenario

    if args.seed is not None and args.seed < 0:
        env.stderr.write(f"error: --seed: must be an integer ≥ 0, got {args.seed}\n")
        return ExitStatus.USAGE
    try:
        scenario = load_scenario(args.scenario)
    except SimlabError as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    from simlab.simulation import run

    bar = _ProgressBar(env) if env.stderr_isatty else None
    try:
        result = run(scenario, seed=args.seed, progress=bar)
    except SimlabError as e:  # problems only found once the run sets up (e.g. a model's steps)
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    finally:
        if bar:
            bar.close()
    try:
        written = result.write(args.out) if args.out else []
    except OSError as e:
        env.stderr.write(f"error: --out: must be a directory simlab can create and write, got {args.out} "
                         f"({e.strerror or e})\n")
        return ExitStatus.USAGE
    if args.json:
        env.stdout.write(result.to_json() + "\n")
    else:
        from simlab.report import summary_table

        env.stdout.write(summary_table(result.summary()))
        if written:
            folders = sorted({p.relative_to(args.out).parts[0] for p in written})
            env.stdout.write(f"\nwrote {len(written)} files under {args.out}: {', '.join(folders)}\n")
    return ExitStatus.SUCCESS
