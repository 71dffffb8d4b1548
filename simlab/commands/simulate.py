"""``simlab simulate SCENARIO [--json] [--out DIR] [--seed N] [--replications N]``."""

from __future__ import annotations

import argparse

from simlab.cli import Environment, ExitStatus
from simlab.commands import out_dir_error
from simlab.errors import SimlabError

PROGRESS_AFTER_S = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--out", metavar="DIR", help="also write summary.json, requests.csv, metrics.csv")
    parser.add_argument("--seed", type=int, help="root random seed (overrides the scenario's)")
    parser.add_argument("--replications", type=int, metavar="N",
                        help="run N replications with seeds spawned from the root seed (SeedSequence.spawn, "
                             "as simlab whatif); --json prints {seed, seeds, runs: [summary, ...]}, --out "
                             "writes one folder per replication")


class _ProgressBar:
    """tqdm on stderr (the same bar as ``simlab whatif``), shown only on a terminal and only once
    a run has taken ``PROGRESS_AFTER_S`` seconds; the simulation reports the fraction of simulated time."""

    def __init__(self, env: Environment) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=100, file=env.stderr, disable=not env.stderr_isatty, delay=PROGRESS_AFTER_S,
                        desc="simulating", unit="%", leave=False, dynamic_ncols=True,
                        bar_format="{desc} [{bar}] {percentage:3.0f}% ({elapsed}<{remaining})")

    def __call__(self, fraction: float) -> None:
        self.bar.update(max(0, round(fraction * 100) - self.bar.n))

    def close(self) -> None:
        self.bar.close()


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
    if args.replications is not None:
        return _replications(args, env, scenario)
    from simlab.simulation import run

    bar = _ProgressBar(env) if env.stderr_isatty else None  # tqdm also disables itself off a terminal
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
        out_dir_error(env, args.out, e)
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


def _replications(args: argparse.Namespace, env: Environment, scenario) -> ExitStatus:
    """N runs with seeds spawned from the root seed (the same seeds ``simlab whatif`` uses)."""
    import json
    from pathlib import Path

    from simlab.simulation import run
    from simlab.whatif.execute import replication_seeds

    if args.replications < 1:
        env.stderr.write(f"error: --replications: must be an integer ≥ 1, got {args.replications}\n")
        return ExitStatus.USAGE
    root = scenario.seed if args.seed is None else args.seed
    seeds = replication_seeds(root, args.replications)
    summaries = []
    for k, seed in enumerate(seeds):
        try:
            result = run(scenario, seed=seed)
        except SimlabError as e:
            env.stderr.write(f"{e}\n")
            return ExitStatus.USAGE
        if args.out:
            try:
                result.write(Path(args.out) / f"replication-{k}")
            except OSError as e:
                out_dir_error(env, args.out, e)
                return ExitStatus.USAGE
        summaries.append(result.summary())
    if args.json:
        env.stdout.write(json.dumps({"scenario": scenario.name, "seed": root, "seeds": seeds, "runs": summaries},
                                    ensure_ascii=False, allow_nan=False) + "\n")
        return ExitStatus.SUCCESS
    from simlab.report import summary_table

    for k, summary in enumerate(summaries):
        env.stdout.write(f"{'' if k == 0 else chr(10)}replication {k} of {len(seeds)} (seed {seeds[k]})\n")
        env.stdout.write(summary_table(summary))
    return ExitStatus.SUCCESS
