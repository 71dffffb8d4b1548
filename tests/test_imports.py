"""Imports go one way: no cycle among simlab modules.

Every import statement counts, function-local ones too (they run when the function does); only
``if TYPE_CHECKING:`` blocks are skipped. An edge goes to the module a statement names
(``from simlab.a import b`` names the module ``simlab.a.b`` when there is one, else ``simlab.a``);
the package ``__init__`` Python runs on the way is not a statement of the importing module.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "simlab"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported(tree: ast.AST, here: str, is_package: bool, modules: set[str]) -> set[str]:
    """simlab modules an AST imports (resolving ``from pkg import module`` to the module)."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = here.split(".") if is_package else here.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules}
            out.update(subs)
            if len(subs) < len(node.names):  # some names are attributes of ``base`` itself
                out.add(base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in out if m in modules}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the simlab modules it imports."""
    files = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in files}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in files:
        here = module_name(path, root)
        for target in imported(ast.parse(path.read_text(encoding="utf-8")), here, path.name == "__init__.py", modules):
            if target != here:
                graph[here].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (graphlib's CycleError names it), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        return list(e.args[1])
    return None


def reaches(graph: dict[str, set[str]], a: str, b: str) -> bool:
    seen, todo = set(), [a]
    while todo:
        m = todo.pop()
        if m == b:
            return True
        if m not in seen:
            seen.add(m)
            todo.extend(graph.get(m, ()))
    return False


def test_no_import_cycle_among_simlab_modules() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_check_sees_function_local_imports_and_skips_type_checking(tmp_path) -> None:
    pkg = tmp_path / "simlab"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from simlab import b\n    return b\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import simlab.a\n")
    assert find_cycle(import_graph(pkg)) is None
    (pkg / "b.py").write_text("def g():\n    import simlab.a\n")
    assert sorted(set(find_cycle(import_graph(pkg)))) == ["simlab.a", "simlab.b"]
    (pkg / "b.py").write_text("def g():\n    from . import a\n")  # relative imports count too
    assert sorted(set(find_cycle(import_graph(pkg)))) == ["simlab.a", "simlab.b"]


@pytest.mark.parametrize(("module", "must_not_import"), [
    ("simlab.result", "simlab.simulation"),  # Result reads a finished run
    ("simlab.deployments.base", "simlab.simulation"),  # the run sits above the deployment types
    ("simlab.deployments.realtime", "simlab.simulation"),
])
def test_layering(module: str, must_not_import: str) -> None:
    assert not reaches(import_graph(), module, must_not_import)
