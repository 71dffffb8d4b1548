"""``python -m simlab.decide --write-docs | --check-docs [PATH]``: regenerate docs/decisions.md tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simlab.decide.render import regenerate

DEFAULT_DOC = Path(__file__).resolve().parents[2] / "docs" / "decisions.md"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simlab.decide",
                                     description="Regenerate the rules table in docs/decisions.md.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write-docs", action="store_true", help="rewrite the table in place")
    mode.add_argument("--check-docs", action="store_true", help="exit 1 if the table is stale")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_DOC,
                        help=f"the Markdown file (default: {DEFAULT_DOC})")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Write or check the generated table; returns the exit status (2 if markers are missing)."""
    args = _parser().parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    try:
        fresh = regenerate(text)
    except ValueError as e:
        sys.stderr.write(f"error: {args.path}: {e}\n")
        return 2
    if args.check_docs:
        if fresh != text:
            sys.stderr.write(f"{args.path}: generated tables are stale; run python -m simlab.decide --write-docs\n")
        return int(fresh != text)
    if fresh != text:
        args.path.write_text(fresh, encoding="utf-8")
    sys.stdout.write(f"{args.path}: generated tables up to date\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
