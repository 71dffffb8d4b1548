"""Random streams: one root seed, one independent stream per named component.

Every random component asks :class:`Streams` for its own generator by name. Children are made
the way ``numpy.random.SeedSequence.spawn`` makes them (a child is the root's entropy with a
``spawn_key``); the key here is derived from the component's name instead of a spawn counter,
so adding a component never shifts the draws of another. No global RNG is ever used.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams"]


class Streams:
    """Independent, named random streams derived from one root seed."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be an integer ≥ 0, got {seed!r}")
        self.seed = seed
        self.root = np.random.SeedSequence(seed)

    def sequence(self, name: str) -> np.random.SeedSequence:
        """The child SeedSequence for ``name`` (stable across runs and versions)."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, key))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh PCG64 generator for ``name``; the same name always gives the same draws."""
        return np.random.Generator(np.random.PCG64(self.sequence(name)))
