"""Sub-commands of the ``simlab`` CLI (one module each, imported lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simlab.cli import Environment


def out_dir_error(env: Environment, out: object, error: OSError) -> None:
    """The one message for an ``--out`` folder that cannot be created or written (exit 2 follows)."""
    env.stderr.write(f"error: --out: must be a directory simlab can create and write, got {out} "
                     f"({error.strerror or error})\n")
