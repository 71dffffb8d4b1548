"""Exam-prep decision engine: which SageMaker option, monitor or rollout fits a set of facts.

``recommend(facts) -> Recommendation`` applies the rules of ``simlab/data/rules.yaml`` (rules are
data: a declarative condition, an effect, an explanation and a source each) and, for deployment
questions, an exact monthly cost model (:mod:`simlab.decide.costmodel`). Limits are read from
:mod:`simlab.facts`, the same source the simulator uses.
"""

from __future__ import annotations

from simlab.decide.answers import ANSWERS, LABELS, QUESTIONS
from simlab.decide.costmodel import Estimate, crossover_requests_per_day, estimate_all
from simlab.decide.engine import Recommendation, Verdict, recommend
from simlab.decide.facts_file import facts_schema, load_facts, validate_facts
from simlab.decide.render import explain_text, rules_table_markdown
from simlab.decide.rules import Rule, load_rules

__all__ = [
    "ANSWERS", "LABELS", "QUESTIONS", "Estimate", "Recommendation", "Rule", "Verdict",
    "crossover_requests_per_day", "estimate_all", "explain_text", "facts_schema", "load_facts",
    "load_rules", "recommend", "rules_table_markdown", "validate_facts",
]
