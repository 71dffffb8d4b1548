"""Readable renderings: the ``simlab recommend`` explanation and the Markdown rules table."""

from __future__ import annotations

import re
import textwrap

from simlab import facts as service_facts
from simlab.decide.answers import ANSWERS, LABELS
from simlab.decide.conditions import facts_used, in_words
from simlab.decide.costmodel import hours_per_month
from simlab.decide.engine import Recommendation
from simlab.decide.rules import load_rules

__all__ = [
    "explain_text", "rules_table_markdown", "facts_table_markdown", "scope_table_markdown",
    "SCOPE_FACTS", "DOCS_BEGIN", "DOCS_END", "markers", "splice_table", "regenerate",
]

WIDTH = 100
DOCS_BEGIN = "<!-- rules:begin -->"
DOCS_END = "<!-- rules:end -->"


def _bullets(items: list[str], *, indent: str = "  - ") -> list[str]:
    pad = " " * len(indent)
    return [textwrap.fill(item, WIDTH, initial_indent=indent, subsequent_indent=pad,
                          break_on_hyphens=False) for item in items]


def _estimates_table(rec: Recommendation) -> list[str]:
    meta = service_facts.catalog_meta()
    lines = [f"Estimates ({meta['region']} on-demand prices dated {meta['price_date']}, "
             f"{hours_per_month():g} h/month):",
             f"  {'option':<27} {'USD/month':>12} {'p99 ms':>12}  basis"]
    for option, est in rec.estimates.items():
        lines.append(f"  {option:<27} {est.monthly_cost_usd:>12,.2f} {est.p99_latency_ms:>12,.0f}  "
                     f"{est.basis}")
    return lines


def explain_text(rec: Recommendation) -> str:
    """The readable explanation: recommendation, reasons, alternatives, ruled-out, estimates."""
    chosen = rec.recommendation
    title = f"{chosen} ({LABELS[chosen]})" if chosen else "none fits"
    lines = [f"Question: {rec.question}", f"Recommendation: {title}", "", "Why:"]
    lines += _bullets(list(rec.reasons))
    if rec.also:
        lines += ["", "Also suitable:"]
        lines += _bullets([_also_line(rec, o) for o in rec.also])
    if rec.ruled_out:
        lines += ["", "Ruled out:"]
        lines += _bullets([f"{o}: {why}" for o, why in rec.ruled_out.items()])
    if rec.estimates:
        lines += [""] + _estimates_table(rec)
    if rec.blast_radius:
        lines += [""] + _blast_table(rec)
    return "\n".join(lines) + "\n"


def _blast_table(rec: Recommendation) -> list[str]:
    """The simulated blast radius of a bad version per strategy (simlab.rollouts.blast)."""
    from simlab.rollouts import blast

    window = next(iter(rec.blast_radius.values()))["window_s"]
    lines = _bullets([f"Simulated blast radius (simlab.rollouts.blast): a version failing every request "
                      f"rolled out at {blast.AT_S:g} s to {blast.INSTANCES} × ml.m5.large taking "
                      f"{blast.RATE_PER_S:g} req/s, an endpoint 5xx alarm (Sum > 2 in a minute) for "
                      f"auto-rollback; requests the bad version served within {window:g} s of the call:"],
                     indent="")
    lines.append(f"  {'strategy':<12} {'policy':<12} {'outcome':<12} {'detected':>9} {'bad served':>11} "
                 f"{'extra USD':>10}")
    for option, r in rec.blast_radius.items():
        det = "never" if r["detected_s"] is None else f"{r['detected_s']:g} s"
        lines.append(f"  {option:<12} {r['policy']:<12} {r['outcome']:<12} {det:>9} {r['requests_to_new']:>11,} "
                     f"{r['extra_cost_usd']:>10.4f}")
    return lines


def _also_line(rec: Recommendation, option: str) -> str:
    verdict = rec.verdicts[option]
    why = verdict.support[0] if verdict.support else "nothing in the facts rules it out."
    est = rec.estimates.get(option)
    cost = (f" Estimated {est.monthly_cost_usd:,.2f} USD/month, p99 {est.p99_latency_ms:,.0f} ms."
            if est is not None else "")
    return f"{option} ({LABELS[option]}): {why}{cost}"


# --------------------------------------------------------------------------- docs table

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:![rsa])?(?::[^{}]*)?\}")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def rules_table_markdown() -> str:
    """Every rule as a Markdown table: id, question, condition, effect, explanation, source."""
    lines = ["| id | question | condition | effect | explanation | source |",
             "|---|---|---|---|---|---|"]
    for rule in load_rules():
        effect = rule.effect + (" (hard limit)" if rule.hard else "")
        if rule.targets:
            effect += ": " + ", ".join(rule.targets)
        explain = _PLACEHOLDER.sub(r"‹\1›", " ".join(rule.explain.split()))
        source = rule.source + (f" (see {rule.see})" if rule.see else "")
        cells = [f"`{rule.id}`", rule.question, in_words(rule.when), effect, explain, source]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


#: Facts whose rules get the "which options" table in the docs (the chain and model-count rules).
SCOPE_FACTS: tuple[str, ...] = ("containers", "models")

_SCOPE_CELL = {"rule_out": "rules out", "recommend": "recommends (+2)", "prefer": "prefers (+1)",
               "note": "note"}


def scope_table_markdown(facts: tuple[str, ...] = SCOPE_FACTS) -> str:
    """Every deployment rule whose condition reads one of ``facts``, with what it does to each
    answer id (an empty cell: the rule doesn't apply to that option)."""
    options = ANSWERS["deployment"]
    lines = ["| rule | condition | " + " | ".join(f"`{o}`" for o in options) + " |",
             "|---|---|" + "---|" * len(options)]
    for rule in load_rules():
        if rule.question != "deployment" or not set(facts) & set(facts_used(rule.when)):
            continue
        effect = _SCOPE_CELL.get(rule.effect, rule.effect) + (" (hard limit)" if rule.hard else "")
        cells = [effect if (o in rule.targets or not rule.targets) else "" for o in options]
        lines.append("| " + " | ".join(_cell(c) for c in [f"`{rule.id}`", in_words(rule.when), *cells])
                     + " |")
    return "\n".join(lines) + "\n"


def facts_table_markdown() -> str:
    """The facts-file fields as a Markdown table: field, type, default, unit, meaning."""
    from simlab.decide.facts_file import facts_schema

    lines = ["| field | type | default | unit | meaning |", "|---|---|---|---|---|"]
    for f in facts_schema().fields:
        default = "required" if f.required else ("null" if f.default is None else str(f.default))
        if isinstance(f.default, bool):
            default = str(f.default).lower()
        cells = [f"`{f.name}`", f.kind.describe, default, f.unit, f.doc]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def overhead_table_markdown() -> str:
    """``operational_overhead`` of rules.yaml as a table: question, answer id, rank, reason."""
    from simlab.decide.data import overhead

    lines = ["| question | answer | rank | why |", "|---|---|---|---|"]
    for question, table in overhead().items():
        for option, o in sorted(table.items(), key=lambda kv: (kv[1].rank, kv[0])):
            lines.append("| " + " | ".join(_cell(c) for c in [question, f"`{option}`", str(o.rank),
                                                               o.why]) + " |")
    return "\n".join(lines) + "\n"


def markers(name: str) -> tuple[str, str]:
    """The begin/end comment markers of a generated block, e.g. ``<!-- rules:begin -->``."""
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def splice_table(document: str, table: str, *, name: str = "rules") -> str:
    """``document`` with the text between the ``name`` markers replaced by ``table``.

    Raises:
        ValueError: when the markers are missing or out of order.
    """
    begin, end_marker = markers(name)
    start, end = document.find(begin), document.find(end_marker)
    if start < 0 or end < start:
        raise ValueError(f"the document needs {begin} … {end_marker} markers")
    return f"{document[: start + len(begin)]}\n{table}{document[end:]}"


def regenerate(document: str) -> str:
    """``document`` with the generated blocks (facts fields, rule scope, rules) refreshed.

    Raises:
        ValueError: when a block's markers are missing.
    """
    document = splice_table(document, facts_table_markdown(), name="facts")
    document = splice_table(document, scope_table_markdown(), name="scope")
    document = splice_table(document, overhead_table_markdown(), name="overhead")
    return splice_table(document, rules_table_markdown(), name="rules")
