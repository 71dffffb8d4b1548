"""The curriculum the quiz bank maps onto: topics, exam domains, section headings, answer ids.

``SECTIONS`` is every heading path of the exam notes: the H2 heading, then ``H2 > H3`` and
``H2 > H3 > H4``, with the ``#exam-tip``-style tags removed, kept in ``simlab/quiz/sections.yaml``
with each section's weight (prose lines) and a "read more" pointer into this repository's docs or
labs. Each question's ``section`` must be one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simlab.decide.answers import ANSWERS, QUESTIONS

__all__ = [
    "TOPICS", "DOMAINS", "DOMAIN_WEIGHTS", "SECTIONS", "SECTION_INFO", "Section", "ANSWER_IDS",
    "FACT_QUESTIONS", "topic_prefix", "section_note",
]

#: Topic ids in curriculum order; each has one bank file ``scenarios/quiz/<topic>.yaml``.
TOPICS: tuple[str, ...] = (
    "deployment_options",
    "serverless",
    "batch_transform",
    "async_inference",
    "multi_model",
    "serial_pipeline",
    "rollouts",
    "experiments_registry",
    "tensorboard",
    "pipelines_projects",
    "data_capture",
    "model_monitor",
    "inference_optimization",
    "autoscaling",
    "retraining",
    "infrastructure_as_code",
    "security",
    "cost_optimization",
)

#: MLA-C01 exam domains (weights per the third-party blueprint: 28 / 26 / 22 / 24 %).
DOMAINS: dict[int, str] = {
    1: "Data Preparation for Machine Learning",
    2: "ML Model Development",
    3: "Deployment and Orchestration of ML Workflows",
    4: "ML Solution Monitoring, Maintenance, and Security",
}

#: MLA-C01 domain weights in percent (third-party blueprint pages agree; UNCONFIRMED against the
#: official exam guide; facts file sagemaker.md, "Exam blueprint"). The mock exam draws by them.
DOMAIN_WEIGHTS: dict[int, int] = {1: 28, 2: 26, 3: 22, 4: 24}

#: The decision-engine question types and the answer ids each may give: one source of truth,
#: the public contract of ``simlab.decide`` (``option_ids`` values in the bank must come from it).
ANSWER_IDS: dict[str, tuple[str, ...]] = ANSWERS
FACT_QUESTIONS: tuple[str, ...] = QUESTIONS

@dataclass(frozen=True)
class Section:
    """One heading path of the exam notes, its weight and where to read more in this repo."""

    name: str
    lines: int
    read_more: str
    note: str = ""


SECTIONS_FILE = Path(__file__).with_name("sections.yaml")


def _load_sections() -> tuple[Section, ...]:
    """Read sections.yaml (safe loader, duplicate keys rejected: a packaging bug if it fails)."""
    from simlab.decide.facts_file import read_yaml

    data = read_yaml(SECTIONS_FILE.read_text(encoding="utf-8"), file=str(SECTIONS_FILE))
    return tuple(Section(str(d["name"]), int(d["lines"]), str(d["read_more"]),
                         str(d.get("note") or "")) for d in data["sections"])


#: Every section, in the notes' order (simlab/quiz/sections.yaml).
SECTION_INFO: dict[str, Section] = {s.name: s for s in _load_sections()}
SECTIONS: tuple[str, ...] = tuple(SECTION_INFO)


def section_note(name: str) -> str:
    """The note of a section or of its nearest parent that has one (e.g. a service's status)."""
    parts = name.split(" > ")
    for n in range(len(parts), 0, -1):
        note = SECTION_INFO.get(" > ".join(parts[:n]))
        if note is not None and note.note:
            return note.note
    return ""


def topic_prefix(topic: str) -> str:
    """The question-id prefix of a topic: ``multi_model`` -> ``multi-model``."""
    return topic.replace("_", "-")
