"""The question bank: one YAML file per topic, loaded with a safe loader and validated.

Where the bank lives: ``$SIMLAB_QUIZ_BANK`` if set, else ``<repo>/scenarios/quiz`` next to the
``simlab`` package (an editable or source install). A non-editable install must set the variable.

Every problem in every file is reported at once, one line each, in the project's error shape::

    error: scenarios/quiz/serverless.yaml: [2].answer: must be one of A | B | C | D, got 'E'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlab.decide.facts_file import GOALS, OBJECTIVES
from simlab.errors import Problem, ScenarioError, SimlabError, fmt_value
from simlab.quiz.curriculum import ANSWER_IDS, FACT_QUESTIONS, SECTIONS, TOPICS, topic_prefix
from simlab.schema import (
    Any_,
    Bool,
    Field,
    Float,
    Int,
    Invalid,
    Kind,
    OneOf,
    Schema,
    Str,
    suggest,
)

__all__ = [
    "LETTERS", "OPTION_LETTERS", "NUMBERS", "TYPES", "Question", "Case", "Bank", "BankError",
    "BankNotFound", "bank_dir", "load_bank", "load_file", "QUESTION_SCHEMA", "key_text", "grade",
]

LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
BANK_ENV = "SIMLAB_QUIZ_BANK"


class BankNotFound(SimlabError):
    """The bank directory does not exist (an installation problem, not a user's input)."""


class BankError(ScenarioError):
    """Problems in one or more bank files; ``lines()`` gives one ``error: FILE: …`` each."""

    def __init__(self, errors: list[ScenarioError]) -> None:
        self.errors = list(errors)
        super().__init__([p for e in self.errors for p in e.problems], self.errors[0].file)
        self.args = (self.errors,)

    def lines(self) -> list[str]:
        return [line for e in self.errors for line in e.lines()]


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Nullable(Kind):
    """``null`` or a value of ``inner`` (the key itself is still required)."""

    inner: Kind

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"{self.inner.describe} or null"

    def convert(self, raw: Any, path: str) -> Any:
        if raw is None:
            return None
        try:
            return self.inner.convert(raw, path)
        except Invalid:
            raise Invalid(f"must be {self.describe}", raw) from None


@dataclass(frozen=True)
class LetterMap(Kind):
    """A mapping with exactly the keys A, B, C, D, each to a value of ``item``."""

    item: Kind = Str()
    what: str = "non-empty strings"

    @property
    def describe(self) -> str:  # type: ignore[override]
        return f"a mapping of A, B, C, D to {self.what}"

    def convert(self, raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be {self.describe}", raw)
        keys = [str(k) for k in raw]
        if sorted(keys) != list(LETTERS):
            raise Invalid(f"must be {self.describe}", f"keys {', '.join(keys) or '(none)'}")
        out, problems = {}, []
        for key, value in raw.items():
            try:
                out[str(key)] = self.item.convert(value, f"{path}.{key}")
            except Invalid as e:
                problems.append(Problem(f"{path}.{key}", e.allowed, fmt_value(e.given)))
        if problems:
            raise Invalid("", problems=problems)
        return dict(sorted(out.items()))


def _facts_schemas() -> dict[str, Schema]:
    """One schema per decision-engine question type (the public contract of ``simlab.decide``)."""
    positive = Float(min=0.0, min_open=True)
    question = {q: Field("question", OneOf((q,)), doc="question type") for q in FACT_QUESTIONS}
    objective = Field("objective", Nullable(OneOf(OBJECTIVES)), default=None,
                      doc="the exam qualifier as an engine objective (null = none)")
    return {
        "deployment": Schema("deployment facts", [
            question["deployment"],
            Field("requests_per_day", Int(min=0)),
            Field("traffic", OneOf(("steady", "spiky", "intermittent", "scheduled"))),
            Field("payload_mb", positive),
            Field("inference_seconds", positive),
            Field("latency_slo_ms", Nullable(positive)),
            Field("realtime", Bool()),
            Field("cold_start_ok", Bool()),
            Field("records", Nullable(Int(min=1))),
            Field("models", Int(min=1)),
            Field("containers", Int(min=1)),
            objective,
        ]),
        "monitoring": Schema("monitoring facts", [
            question["monitoring"],
            Field("concern", OneOf(("input_drift", "accuracy", "bias", "feature_importance"))),
            Field("labels", OneOf(("none", "delayed", "immediate"))),
            Field("label_delay_days", Nullable(Float(min=0.0))),
            objective,
        ]),
        "rollout": Schema("rollout facts", [
            question["rollout"],
            Field("goal", OneOf(GOALS)),
            Field("downtime_ok", Bool()),
            objective,
        ]),
    }


FACTS_SCHEMAS = _facts_schemas()


@dataclass(frozen=True)
class Facts(Kind):
    """A decision-engine facts mapping; its ``question`` key selects the schema."""

    describe: str = "a facts mapping with question: " + " | ".join(FACT_QUESTIONS)

    def convert(self, raw: Any, path: str) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise Invalid(f"must be {self.describe}", raw)
        kind = raw.get("question")
        if kind not in FACTS_SCHEMAS:
            hint = suggest(kind, FACT_QUESTIONS) if isinstance(kind, str) else ""
            raise Invalid("", problems=[Problem(
                f"{path}.question", f"must be one of {' | '.join(FACT_QUESTIONS)}{hint}",
                fmt_value(kind))])
        problems: list[Problem] = []
        out = FACTS_SCHEMAS[kind].validate(dict(raw), path, problems)
        if problems:
            raise Invalid("", problems=problems)
        return out


# --------------------------------------------------------------------------- question schema

#: Question types: ``single`` (one of four options), ``multiple`` (Choose TWO/THREE of 5-6,
#: all-or-nothing), ``ordering`` (put 3-6 steps in order), ``matching`` (3-5 items to 3-5 targets).
TYPES: tuple[str, ...] = ("single", "multiple", "ordering", "matching")
OPTION_LETTERS: tuple[str, ...] = ("A", "B", "C", "D", "E", "F")
NUMBERS: tuple[str, ...] = ("1", "2", "3", "4", "5", "6")
#: How many options (items for matching) each type takes, and in which labels.
SHAPES: dict[str, tuple[int, int, tuple[str, ...]]] = {
    "single": (4, 4, OPTION_LETTERS), "multiple": (5, 6, OPTION_LETTERS),
    "ordering": (3, 6, OPTION_LETTERS), "matching": (3, 5, NUMBERS),
}
TARGETS_RANGE = (3, 5)
COUNT_WORDS = {2: "TWO", 3: "THREE"}


@dataclass(frozen=True)
class TextMap(Kind):
    """A mapping of labels to non-empty strings (labels are checked per question type)."""

    describe: str = "a mapping of labels to non-empty strings"

    def convert(self, raw: Any, path: str) -> dict[str, str]:
        if not isinstance(raw, Mapping) or not raw:
            raise Invalid(f"must be {self.describe}", raw)
        out, problems = {}, []
        for key, value in raw.items():
            try:
                out[str(key)] = Str().convert(value, f"{path}.{key}")
            except Invalid as e:
                problems.append(Problem(f"{path}.{key}", e.allowed, fmt_value(e.given)))
        if problems:
            raise Invalid("", problems=problems)
        return out


def _labels_problem(mapping: dict[str, str], path: str, lo: int, hi: int,
                    labels: tuple[str, ...], what: str) -> list[Problem]:
    n = len(mapping)
    want = labels[:n]
    if not lo <= n <= hi or list(mapping) != list(want):
        first = labels[:lo]
        span = f"{', '.join(first)}" + (f" ... up to {labels[hi - 1]}" if hi > lo else "")
        return [Problem(path, f"must be a mapping of {span} ({lo}-{hi} {what}, labels in order) "
                        "to non-empty strings" if hi > lo else
                        f"must be a mapping of {', '.join(first)} to non-empty strings",
                        f"keys {', '.join(mapping) or '(none)'}")]
    return []


def _letter_list(raw: Any) -> list[str] | None:
    """``[B, D]`` or ``"B,D"`` as a list of upper-case labels; None if neither."""
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[\s,]+", raw.strip()) if p]
    if isinstance(raw, list | tuple) and all(isinstance(x, str | int) and not isinstance(x, bool)
                                     for x in raw):
        return [str(x).strip().upper() for x in raw]
    return None


def _check_shape(q: dict, path: str) -> list[Problem]:
    """Options, answer, targets and explanations as the question's type needs them."""
    kind, options = q["type"], q["options"]
    lo, hi, labels = SHAPES[kind]
    what = "items" if kind == "matching" else "options"
    problems = _labels_problem(options, f"{path}.options", lo, hi, labels, what)
    targets = q["targets"]
    if kind == "matching":
        if targets is None:
            problems.append(Problem(f"{path}.targets", "is required for type matching: a mapping "
                                    "of A, B, C ... (3-5 targets) to non-empty strings"))
        else:
            problems += _labels_problem(targets, f"{path}.targets", *TARGETS_RANGE,
                                        OPTION_LETTERS, "targets")
    elif targets is not None:
        problems.append(Problem(f"{path}.targets", "is only allowed for type matching",
                                fmt_value(kind)))
    if problems:
        return problems
    answer, where = q["answer"], f"{path}.answer"
    keys = list(options)
    if kind == "single":
        if answer not in keys:
            problems.append(Problem(where, f"must be one of {' | '.join(keys)}", fmt_value(answer)))
    elif kind == "multiple":
        picked = _letter_list(answer)
        if (picked is None or len(set(picked)) != len(picked) or not set(picked) <= set(keys)
                or len(picked) not in COUNT_WORDS):
            problems.append(Problem(where, f"must list 2 or 3 different option letters of "
                                    f"{', '.join(keys)} (e.g. [B, D])", fmt_value(answer)))
        else:
            q["answer"] = tuple(sorted(picked))
    elif kind == "ordering":
        order = _letter_list(answer)
        if order is None or sorted(order) != sorted(keys):
            problems.append(Problem(where, f"must list every option letter ({', '.join(keys)}) "
                                    "once, first step first", fmt_value(answer)))
        else:
            q["answer"] = tuple(order)
    else:
        assert targets is not None
        if (not isinstance(answer, Mapping) or sorted(str(k) for k in answer) != sorted(keys)
                or not all(str(v).upper() in targets for v in answer.values())):
            problems.append(Problem(where, f"must map every item ({', '.join(keys)}) to a target "
                                    f"letter ({', '.join(targets)})", fmt_value(answer)))
        else:
            q["answer"] = {str(k): str(answer[k] if k in answer else answer[int(k)]).upper()
                           for k in keys}
    explained = q["explanations"]
    if not problems and set(explained) != set(keys):
        problems.append(Problem(f"{path}.explanations",
                                f"must explain every {'item' if kind == 'matching' else 'option'}"
                                f" ({', '.join(keys)})", ", ".join(explained)))
    if not problems and kind != "single" and (q["facts"] is not None or q["option_ids"] is not None):
        problems.append(Problem(f"{path}.facts", "is only allowed for type single", fmt_value(kind)))
    return problems


def _check_id_prefix(q: dict, path: str) -> list[Problem]:
    prefix = topic_prefix(q["topic"])
    if not re.fullmatch(rf"{re.escape(prefix)}-\d{{3}}", q["id"]):
        return [Problem(f"{path}.id", f"must be {prefix}-NNN for topic {q['topic']}",
                        fmt_value(q["id"]))]
    return []


def _check_option_ids(q: dict, path: str) -> list[Problem]:
    facts, ids = q["facts"], q["option_ids"]
    if facts is None and ids is None:
        return []
    if ids is None:
        return [Problem(f"{path}.option_ids",
                        "is required when facts is given: a mapping of A, B, C, D to answer ids")]
    if facts is None:
        return [Problem(f"{path}.facts",
                        f"is required when option_ids is given: {Facts().describe}")]
    allowed = ANSWER_IDS[facts["question"]]
    problems = [Problem(f"{path}.option_ids.{k}",
                        f"must be a {facts['question']} answer id ({' | '.join(allowed)})"
                        f"{suggest(v, allowed)}", fmt_value(v))
                for k, v in ids.items() if v not in allowed]
    if not problems and len(set(ids.values())) != len(ids):
        problems.append(Problem(f"{path}.option_ids", "must give each option a different answer id",
                                ", ".join(ids.values())))
    return problems


def _check_read_more(q: dict, path: str) -> list[Problem]:
    pointer = q["read_more"]
    if pointer is not None and not re.fullmatch(r"(docs|labs)/[\w./-]+(#[\w-]+)?", pointer):
        return [Problem(f"{path}.read_more", "must be a path under docs/ or labs/ of this "
                        "repository, optionally with #anchor", fmt_value(pointer))]
    return []


QUESTION_SCHEMA = Schema(
    "quiz question",
    [
        Field("id", Str(pattern=r"[a-z][a-z-]*-\d{3}", describe="an id like serverless-003"),
              doc="unique, <topic-prefix>-NNN"),
        Field("topic", OneOf(TOPICS)),
        Field("domain", Int(min=1, max=4), doc="MLA-C01 domain"),
        Field("section", OneOf(SECTIONS, def_text="a section of simlab/quiz/sections.yaml "
                               "(the exam notes' headings)")),
        Field("type", OneOf(TYPES), default="single", doc="question type"),
        Field("scenario", Str(describe="a non-empty string")),
        Field("options", TextMap(), doc="options (items for matching)"),
        Field("targets", TextMap(), default=None, doc="matching only: the targets"),
        Field("answer", Any_(describe="the key"), doc="a letter | a list | item -> target"),
        Field("explanations", TextMap(), doc="one per option (per item for matching)"),
        Field("option_ids", LetterMap(Str(), "answer ids"), default=None),
        Field("facts", Facts(), default=None),
        Field("read_more", Str(), default=None, doc="docs/... or labs/... pointer"),
    ],
    checks=(_check_id_prefix, _check_shape, _check_option_ids, _check_read_more),
)

CASE_SCHEMA = Schema(
    "case study",
    [
        Field("case", Str(pattern=r"[a-z][a-z-]*-case-\d{1,2}",
                          describe="an id like rollouts-case-1")),
        Field("title", Str(describe="a non-empty string")),
        Field("scenario", Str(describe="a non-empty string")),
        Field("questions", Any_(describe="a list of 2-4 questions")),
    ],
)
CASE_SIZE = (2, 4)


# --------------------------------------------------------------------------- bank


@dataclass(frozen=True)
class Case:
    """A case study: one scenario shared by 2-4 questions."""

    id: str
    title: str
    scenario: str
    question_ids: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """One validated question of any type.

    ``answer`` is a letter (single), a sorted tuple of letters (multiple), a tuple of letters in
    order (ordering) or a mapping item -> target letter (matching); :func:`key_text` encodes it
    the way answers are stored.
    """

    id: str
    topic: str
    domain: int
    section: str
    scenario: str
    options: dict[str, str]
    answer: Any
    explanations: dict[str, str]
    option_ids: dict[str, str] | None = None
    facts: dict[str, Any] | None = None
    file: str = ""
    type: str = "single"
    targets: dict[str, str] | None = None
    read_more: str | None = None
    case: Case | None = None

    @property
    def choose(self) -> int:
        """How many options a multiple-response question asks for (1 otherwise)."""
        return len(self.answer) if self.type == "multiple" else 1


def key_text(q: Question) -> str:
    """The key in the stored answer format: ``B`` | ``B,D`` | ``C,A,D,B`` | ``1=B,2=A,3=C``."""
    if q.type == "single":
        return str(q.answer)
    if q.type == "matching":
        return ",".join(f"{k}={v}" for k, v in q.answer.items())
    return ",".join(q.answer)


def grade(q: Question, chosen: str) -> bool:
    """All-or-nothing: True when ``chosen`` (stored format, canonical labels) is the key."""
    return chosen == key_text(q)


@dataclass(frozen=True)
class Bank:
    """All questions of the bank, in file then document order."""

    questions: tuple[Question, ...]
    root: Path

    def __len__(self) -> int:
        return len(self.questions)

    def by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    def cases(self) -> list[Case]:
        return list(dict.fromkeys(q.case for q in self.questions if q.case is not None))

    def sections(self, topic: str) -> list[str]:
        """The curriculum sections the topic's questions point at, most cited first."""
        counts: dict[str, int] = {}
        for q in self.questions:
            if q.topic == topic:
                counts[q.section] = counts.get(q.section, 0) + 1
        return sorted(counts, key=lambda s: (-counts[s], s))

    def select(self, topics: list[str] | None = None, domains: list[int] | None = None
               ) -> list[Question]:
        """The questions matching every given filter (``None`` = no filter)."""
        return [q for q in self.questions
                if (not topics or q.topic in topics) and (not domains or q.domain in domains)]


def bank_dir(environ: Mapping[str, str]) -> Path:
    """The bank directory: ``$SIMLAB_QUIZ_BANK`` or ``<repo>/scenarios/quiz``.

    Raises:
        BankNotFound: when that directory does not exist.
    """
    given = environ.get(BANK_ENV)
    if given:
        path = Path(given).expanduser()
    else:
        import simlab

        path = Path(simlab.__file__).resolve().parents[1] / "scenarios" / "quiz"
    if not path.is_dir():
        how = (f"${BANK_ENV}" if given
               else f"the source tree (set ${BANK_ENV} to the bank directory)")
        raise BankNotFound(f"no quiz bank at {path} (from {how})")
    return path


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _parse_yaml(text: str) -> Any:
    """simlab's one YAML reader (simlab.yamlio: safe, C parser when present, duplicate keys rejected).

    Raises:
        Invalid: when the text is not valid YAML (``allowed`` says where, ``given`` what).
    """
    from simlab.yamlio import YamlProblems, parse_yaml

    try:
        return parse_yaml(text)
    except YamlProblems as e:
        first = e.problems[0]
        raise Invalid(first.path, "; ".join(p.message() for p in e.problems)) from None


def _label(raw: Any, index: str) -> str:
    """``serverless-003[2]``: the question's id (when it has one) and where it is in the file."""
    qid = raw.get("id") if isinstance(raw, Mapping) else None
    return f"{qid}[{index}]" if isinstance(qid, str) and qid else f"[{index}]"


def _question(raw: Any, path: str, file: str, topic: str | None,
              problems: list[Problem], case: Case | None = None) -> Question | None:
    before = len(problems)
    data = QUESTION_SCHEMA.validate(raw, path, problems)
    if len(problems) > before:
        # the shape check is a Schema check (skipped after a field problem): run it anyway when
        # its own fields converted, so every problem of the question is reported at once
        shape = ("type", "options", "targets", "answer", "explanations")
        if all(k in data for k in shape) and not any(
                p.path.startswith(f"{path}.{k}") for p in problems[before:] for k in shape):
            problems.extend(_check_shape({**data, "facts": None, "option_ids": None}, path))
        return None
    if topic is not None and data["topic"] != topic:
        problems.append(Problem(f"{path}.topic", f"must be {topic!r} (the file name)",
                                fmt_value(data["topic"])))
        return None
    return Question(file=file, case=case, **data)


def _case(raw: dict, index: int, file: str, topic: str | None,
          problems: list[Problem]) -> list[Question]:
    path = f"{raw.get('case')}[{index}]" if isinstance(raw.get("case"), str) else f"[{index}]"
    before = len(problems)
    data = CASE_SCHEMA.validate(raw, path, problems)
    if len(problems) > before:
        return []
    items = data["questions"]
    lo, hi = CASE_SIZE
    if not isinstance(items, list) or not lo <= len(items) <= hi:
        problems.append(Problem(f"{path}.questions", f"must be a list of {lo}-{hi} questions",
                                fmt_value(items if not isinstance(items, list)
                                          else f"{len(items)} questions")))
        return []
    ids = tuple(str(q.get("id")) if isinstance(q, Mapping) else "?" for q in items)
    case = Case(data["case"], data["title"], data["scenario"], ids)
    out = [_question(q, f"{_label(q, str(index))}.questions[{j}]", file, topic, problems, case)
           for j, q in enumerate(items)]
    return [q for q in out if q is not None]


def load_file(path: Path) -> list[Question]:
    """The questions of one bank file (case studies flattened, each question knowing its case).

    Raises:
        ScenarioError: listing every problem in the file, each naming the question's id.
    """
    file = _display(path)
    topic = path.stem if path.stem in TOPICS else None
    problems: list[Problem] = []
    if topic is None:
        problems.append(Problem("(file name)", f"must be <topic>.yaml with a topic from "
                                f"{', '.join(TOPICS)}{suggest(path.stem, TOPICS)}",
                                fmt_value(path.name)))
    try:
        raw = _parse_yaml(path.read_text(encoding="utf-8"))
    except Invalid as e:
        problem = Problem(e.allowed, "must be valid YAML", str(e.given))
        raise ScenarioError([problem], file) from None
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("(top level)", "must be a non-empty list of questions",
                                fmt_value(raw)))
        raise ScenarioError(problems, file)
    questions: list[Question] = []
    for i, item in enumerate(raw):
        if isinstance(item, Mapping) and "case" in item:
            questions += _case(dict(item), i, file, topic, problems)
        else:
            q = _question(item, _label(item, str(i)), file, topic, problems)
            if q is not None:
                questions.append(q)
    if problems:
        raise ScenarioError(problems, file)
    return questions


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _duplicates(questions: list[Question]) -> list[ScenarioError]:
    """Ids and scenario texts used twice (reported at the second use)."""
    seen_ids: dict[str, Question] = {}
    seen_text: dict[str, Question] = {}
    errors: list[ScenarioError] = []
    for q in questions:
        keys = ((seen_ids, q.id, "id"), (seen_text, _normalise(q.scenario), "scenario"))
        for seen, key, what in keys:
            first = seen.setdefault(key, q)
            if first is not q:
                errors.append(ScenarioError([Problem(
                    f"{q.id}.{what}", f"must be unique (also used by {first.id} in {first.file})",
                    fmt_value(q.id if what == "id" else q.scenario))], q.file))
    return errors


def load_bank(root: Path) -> Bank:
    """Every ``*.yaml`` file under ``root``, validated together.

    Raises:
        BankError: listing every problem in every file (including duplicate ids or scenarios).
        BankNotFound: when ``root`` holds no YAML file.
    """
    files = sorted(root.glob("*.yaml"))
    if not files:
        raise BankNotFound(f"no quiz bank files (*.yaml) in {root}")
    questions: list[Question] = []
    errors: list[ScenarioError] = []
    for path in files:
        try:
            questions.extend(load_file(path))
        except ScenarioError as e:
            errors.append(e)
    errors.extend(_duplicates(questions))
    if errors:
        raise BankError(errors)
    return Bank(tuple(questions), root)
