"""``simlab models``: the bundled scikit-learn models."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from simlab.cli import Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list")


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    from simlab.zoo import list_models

    models = list_models()
    if args.json:
        env.stdout.write(json.dumps([asdict(m) for m in models]) + "\n")
        return ExitStatus.SUCCESS
    head = f"{'model':26} {'task':11} {'dataset':14} {'features':>8} {'train':>6} {'serve':>6}  estimator"
    env.stdout.write(head + "\n" + "-" * len(head) + "\n")
    for m in models:
        env.stdout.write(f"{m.name:26} {m.task:11} {m.dataset:14} {m.n_features:>8} {m.n_train:>6} "
                         f"{m.n_serve:>6}  {m.estimator}\n")
    env.stdout.write("\nModels train on first use from datasets bundled with scikit-learn and are cached "
                     "with skops.\n")
    return ExitStatus.SUCCESS
