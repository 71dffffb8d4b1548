"""Shared by the lab build scripts: collect cells, give them stable ids, write the notebook.

A lab's ``_build_NN.py`` keeps its source readable and reviewable; the ``.ipynb`` it writes (without
outputs) is what CI runs with nbval. Regenerating gives a clean diff because cell ids are fixed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

__all__ = ["Notebook"]


class Notebook:
    """Cells of one lab, written to ``path`` with ids ``{prefix}-00``, ``{prefix}-01``, …"""

    def __init__(self, path: Path, prefix: str) -> None:
        self.path, self.prefix, self.cells = path, prefix, []

    def md(self, text: str) -> None:
        """A Markdown cell."""
        self.cells.append(new_markdown_cell(text.strip("\n")))

    def code(self, text: str, *, solution: bool = False) -> None:
        """A code cell; ``solution`` cells are collapsed in JupyterLab / Notebook 7 (CI still runs them)."""
        cell = new_code_cell(text.strip("\n"))
        if solution:
            cell.metadata["tags"] = ["solution"]
            cell.metadata["jupyter"] = {"source_hidden": True}
        self.cells.append(cell)

    def write(self) -> None:
        """Validate and write the notebook (no outputs)."""
        for i, cell in enumerate(self.cells):
            cell.id = f"{self.prefix}-{i:02d}"
        nb = new_notebook(cells=self.cells, metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        })
        nbformat.validate(nb)
        nbformat.write(nb, self.path)
        print(f"wrote {self.path}")
