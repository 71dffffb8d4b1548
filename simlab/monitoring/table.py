"""A feature table as Model Monitor parses captured CSV: numbers, empty fields and strings.

Numbers live in a float matrix (NaN = not a number); cells that held a string (a new-category
token) are listed per column in ``tokens`` (an object array, None where the cell is not a string).
A cell is *missing* when it is NaN and not a token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["FeatureTable"]


@dataclass
class FeatureTable:
    """Rows × features; ``names`` in column order (CSV columns are matched by position)."""

    X: np.ndarray
    names: tuple[str, ...]
    tokens: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def token_mask(self, j: int) -> np.ndarray:
        """Cells of column ``j`` holding a string."""
        tok = self.tokens.get(j)
        return np.zeros(self.n, dtype=bool) if tok is None else np.array([v is not None for v in tok], dtype=bool)

    def numbers(self, j: int) -> np.ndarray:
        """The numeric values of column ``j`` (missing and string cells dropped)."""
        col = self.X[:, j]
        return col[~np.isnan(col)]

    def strings(self, j: int) -> np.ndarray:
        """The string values of column ``j``."""
        tok = self.tokens.get(j)
        return np.empty(0, dtype=object) if tok is None else tok[self.token_mask(j)]

    def present(self, j: int) -> int:
        """Cells of column ``j`` that hold a value (a number or a string)."""
        return int((~np.isnan(self.X[:, j])).sum() + self.token_mask(j).sum())

    @staticmethod
    def from_drift(X: np.ndarray, names: tuple[str, ...], drift_tokens) -> FeatureTable:
        """A table from :meth:`simlab.drift.Drift.features` and :meth:`~simlab.drift.Drift.tokens`."""
        tokens: dict[int, np.ndarray] = {}
        for tok in drift_tokens:
            if tok.mask.any():
                col = tokens.setdefault(tok.col, np.full(X.shape[0], None, dtype=object))
                col[tok.mask] = tok.value
        return FeatureTable(X, names, tokens)
