"""The ``simlab`` command line: ``main(argv, env) -> ExitStatus``, HTTPie style.

Sub-commands live in ``simlab/commands/<name>.py``; each module exposes
``add_arguments(parser)`` and ``execute(args, env) -> ExitStatus`` and is imported only when its
command runs, so ``simlab --help`` stays fast (no numpy, pandas or scikit-learn on that path).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import IO

__all__ = ["ExitStatus", "Environment", "main", "run_main", "COMMANDS"]


class ExitStatus(enum.IntEnum):
    """Process exit codes."""

    SUCCESS = 0
    ERROR = 1  # a bug or an environment failure, never a user mistake
    USAGE = 2  # bad input: scenario file, arguments, facts file
    INTERRUPTED = 130


@dataclass
class Environment:
    """Where a command reads and writes; tests inject their own streams and variables."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def stderr_isatty(self) -> bool:
        return bool(getattr(self.stderr, "isatty", lambda: False)())

    @property
    def stdin_isatty(self) -> bool:
        return bool(getattr(self.stdin, "isatty", lambda: False)())


# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("simlab.commands.simulate", "run a scenario and compare its deployments side by side"),
    "models": ("simlab.commands.models", "list the bundled scikit-learn models"),
    "recommend": ("simlab.commands.recommend", "recommend a service, monitor or rollout for a facts file"),
    "quiz": ("simlab.commands.quiz", "practise exam scenarios with spaced repetition"),
    "whatif": ("simlab.commands.whatif", "sweep scenario fields: cost/latency report with intervals and crossovers"),
    "size": ("simlab.commands.size", "right-size a deployment: cheapest instance type x count meeting a p99"),
}


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() controls the exit status."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            self._print_message(message, sys.stderr)
        raise _Exit(status)


class _UsageError(Exception):
    pass


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def build_parser(env: Environment, command: str | None) -> argparse.ArgumentParser:
    parser = _Parser(prog="simlab", description="Simulate serving, rolling out and monitoring ML models.")
    from simlab import __version__

    parser.add_argument("--version", action="version", version=f"simlab {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        sub = subs.add_parser(name, help=help_text, description=help_text)
        if name == command:  # only the chosen command's module is imported
            importlib.import_module(module).add_arguments(sub)
    return parser


def main(argv: list[str] | None = None, env: Environment | None = None) -> ExitStatus:
    """Run one command; returns the exit status (never raises for user mistakes)."""
    env = env or Environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if a in COMMANDS), None)
    old_out, old_err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = env.stdout, env.stderr  # argparse prints help/version there
    try:
        args = build_parser(env, command).parse_args(argv)
        if args.command is None:
            build_parser(env, None).print_help(env.stdout)
            return ExitStatus.USAGE
        module = importlib.import_module(COMMANDS[args.command][0])
        return ExitStatus(module.execute(args, env))
    except _UsageError as e:
        env.stderr.write(f"{e}\n")
        return ExitStatus.USAGE
    except _Exit as e:
        return ExitStatus(e.status)
    except KeyboardInterrupt:
        env.stderr.write("interrupted\n")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        return ExitStatus.SUCCESS
    finally:
        sys.stdout, sys.stderr = old_out, old_err


def run_main() -> None:
    """Console-script entry point."""
    sys.exit(int(main()))
