"""Docs stay in sync with the code: every accepted field is documented with its default."""

from __future__ import annotations

import re
from pathlib import Path

from simlab.docgen import BEGIN, END, _nested, all_schemas, reference_markdown

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_field_reference_is_up_to_date() -> None:
    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    generated = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert generated == reference_markdown().strip(), "run `python -m simlab.docgen` to refresh docs/scenarios.md"


def test_every_field_the_loader_accepts_is_documented() -> None:
    text = (DOCS / "scenarios.md").read_text(encoding="utf-8")
    for title, schema in all_schemas():
        section = text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
        names = [f.name for f in schema.fields]
        names += [f.name for _, inner in _nested(schema) for f in inner.fields]
        for name in names:
            row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)
            assert row is not None, f"{title}: field {name!r} undocumented"
            assert re.split(r"(?<!\\)\|", row)[5].strip(), f"{title}: field {name!r} has no description"


def test_every_doc_the_readme_links_exists() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(((?:docs|labs|scenarios|bench)/[^)#]+)\)", readme):
        assert (DOCS.parent / target).exists(), target
