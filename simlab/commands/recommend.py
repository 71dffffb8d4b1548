"""``simlab recommend FACTS.yaml [--json]``: the decision engine on a facts file."""

from __future__ import annotations

import argparse

from simlab.cli import Environment, ExitStatus
from simlab.errors import SimlabError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("facts", metavar="FACTS.yaml",
                        help="facts file (question: deployment | monitoring | rollout); '-' reads stdin")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object: question, recommendation, also, ruled_out, "
                             "reasons, estimates")


def _load(path: str, env: Environment) -> dict:
    from simlab.decide.facts_file import load_facts, read_yaml, validate_facts

    if path == "-":
        return validate_facts(read_yaml(env.stdin.read(), file="<stdin>"), file="<stdin>")
    return load_facts(path)


def execute(args: argparse.Namespace, env: Environment) -> ExitStatus:
    """Print the recommendation; exit 2 with one ``error: FILE: …`` line per problem."""
    try:
        facts = _load(args.facts, env)
    except SimlabError as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    from simlab.decide import explain_text, recommend

    rec = recommend(facts)
    if args.json:
        import json

        env.stdout.write(json.dumps(rec.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        env.stdout.write(explain_text(rec))
    return ExitStatus.SUCCESS
