"""The one YAML reader: scenarios, facts files, the quiz bank and simlab's data files.

Safe loading only (``yaml.SafeLoader`` semantics, libyaml's C parser when present), with two
differences that spare users silent surprises:

* a key given twice in one mapping is an error naming the key and both lines (PyYAML keeps the
  last value silently, so a scenario with ``duration:`` twice ran with the second one);
* ``2e3`` and ``1e-3`` are numbers, as in YAML 1.2 (PyYAML follows YAML 1.1, whose float pattern
  needs a dot, and reads them as strings). PyYAML cannot be told to use YAML 1.2's core schema,
  so the float resolver is replaced here; everything else resolves as before.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from simlab.errors import Problem, ScenarioError, SimlabError

__all__ = ["YamlProblems", "parse_yaml", "load_yaml", "FLOAT_PATTERN"]

FLOAT_TAG = "tag:yaml.org,2002:float"

#: YAML 1.1's float forms plus a mantissa without a dot (``2e3``, ``-1E-3``): YAML 1.2 core schema
FLOAT_PATTERN = re.compile(r"""^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""", re.X)


class YamlProblems(SimlabError):
    """Invalid YAML text: every problem found (``problems``), one line each in the message."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        self._say(self.problems, message="; ".join(p.message() for p in self.problems))


@cache
def _loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses 10x faster (the quiz starts fast)

    class StrictLoader(base):  # type: ignore[misc, valid-type]
        """Safe loader with YAML 1.2 floats (see the module docstring)."""

    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != FLOAT_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    StrictLoader.add_implicit_resolver(FLOAT_TAG, FLOAT_PATTERN, list("-+0123456789."))
    return StrictLoader


def _duplicates(loader: Any, node: Any) -> list[Problem]:
    """Every key given twice in a mapping of the document tree (key, first line, second line)."""
    import yaml

    problems: list[Problem] = []
    todo = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in n.value:
                todo.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = loader.construct_object(key_node)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the constructor reports it
                    continue
                if first is not None:
                    problems.append(Problem(f"line {line}", f"duplicate key {key!r}: give each key once (first "
                                            f"given on line {first})"))
                else:
                    seen[key] = line
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
    return sorted(problems, key=lambda p: int(p.path.split()[1]))


def parse_yaml(text: str) -> Any:
    """The data of one YAML document (None for an empty one).

    Raises:
        YamlProblems: a syntax error (with its line and column) or every duplicated key.
    """
    import yaml

    loader = _loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _duplicates(loader, node)
        if problems:
            raise YamlProblems(problems)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(top level)"
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise YamlProblems([Problem(where, "invalid YAML syntax", what)]) from None
    finally:
        loader.dispose()


def load_yaml(text: str, *, file: str) -> Any:
    """:func:`parse_yaml` for a user's file.

    Raises:
        ScenarioError: one problem per line, each naming ``file`` (the CLI exits 2).
    """
    try:
        return parse_yaml(text)
    except YamlProblems as e:
        raise ScenarioError(e.problems, file=file) from None
