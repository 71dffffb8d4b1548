"""The decision engine: facts + rules (+ cost estimates) → a verdict for every answer id.

1. Validate the facts, estimate every deployment option (cost model), and derive the extra facts
   rules may use (cost crossover, serverless against the sized endpoint fleet, concurrency…).
2. Fire every rule of the question whose condition holds; a rule that reads the cost model's
   estimate is evaluated per target.
3. Each answer id gets a verdict: *ruled out* when any rule_out fired for it; otherwise a support
   score (recommend = 2, prefer = 1). The best score wins, ties broken by the lower estimated
   monthly cost (options missing the latency SLO are already ruled out), then by answer order.
4. When every option is ruled out, the best one ruled out only by fit rules (no hard service
   limit) is recommended with a caveat; when all hit hard limits, nothing is recommended and the
   reasons list each hard limit with the options it rules out, then the text of every hard rule
   that rules out all of them (it says what would have to change).
5. An option recommended only because every other one is ruled out (no rule argues for it) gets
   a first reason saying so, with the limits and facts that ruled the others out.
6. ``diagnose`` rules (findings about the facts themselves, such as an SLO below the model's own
   time) come first in the reasons, before anything about the options.
7. With an ``objective`` (cost | latency | operational_overhead) the options that remain suitable
   (not ruled out) are ranked by it first — estimated monthly cost, estimated p99, or the rank in
   ``operational_overhead`` of rules.yaml — then by rule support; the reasons say why the
   runner-up lost. Where the question has no estimates (rollout, monitoring), cost and latency
   cannot rank anything and rule support decides (a reason says so). No objective: steps 3-6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

from simlab import facts as service_facts
from simlab.decide.answers import ANSWERS, LABELS, WEIGHTS
from simlab.decide.conditions import holds, in_words
from simlab.decide.costmodel import (
    SECONDS_PER_DAY,
    Estimate,
    crossover_requests_per_day,
    estimate_all,
)
from simlab.decide.data import overhead
from simlab.decide.facts_file import validate_facts
from simlab.decide.rules import Rule, render, rules_for

__all__ = ["Firing", "Verdict", "Recommendation", "recommend", "derive", "evaluate"]

STATUSES = ("recommended", "also", "ruled_out")


@dataclass(frozen=True)
class Firing:
    """A rule whose condition held, for one target (``None`` for untargeted notes)."""

    rule: Rule
    target: str | None
    text: str


@dataclass(frozen=True)
class Verdict:
    """The engine's judgement of one answer id."""

    option: str
    status: str
    score: int
    support: tuple[str, ...] = ()
    against: tuple[str, ...] = ()
    hard: bool = False
    notes: tuple[str, ...] = ()
    against_rules: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Recommendation:
    """The answer to one facts file; ``to_dict()`` is the ``--json`` output."""

    question: str
    recommendation: str | None
    also: tuple[str, ...]
    ruled_out: dict[str, str]
    reasons: tuple[str, ...]
    estimates: dict[str, Estimate] = field(default_factory=dict)
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    fired: tuple[str, ...] = ()
    blast_radius: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``{question, recommendation, also, ruled_out, reasons, estimates}`` (JSON-ready), plus
        ``blast_radius`` for rollout questions (:func:`simlab.rollouts.blast.blast_radius`)."""
        out = {
            "question": self.question,
            "recommendation": self.recommendation,
            "also": list(self.also),
            "ruled_out": dict(self.ruled_out),
            "reasons": list(self.reasons),
            "estimates": {k: v.to_dict() for k, v in self.estimates.items()},
        }
        if self.blast_radius:
            out["blast_radius"] = {k: dict(v) for k, v in self.blast_radius.items()}
        return out


# --------------------------------------------------------------------------- context


def derive(facts: Mapping[str, Any], estimates: Mapping[str, Estimate] | None = None) -> dict[str, Any]:
    """The derived facts (see ``DERIVED_FACTS``) plus resolved defaults, merged over ``facts``.

    The cost facts (``serverless_monthly_usd``, ``endpoint_monthly_usd``, ``endpoint_instances``)
    come from ``estimates``, the cost model's estimates of these facts (computed when omitted).
    """
    out = dict(facts)
    if out.get("cold_start_ms") is None:
        out["cold_start_ms"] = service_facts.limit("serverless_inference.default_cold_start_mean_ms")
    out["concern_words"] = (out.get("concern") or "").replace("_", " ")
    out.update(_deployment_derived(out), **_label_offsets(out.get("label_delay_days")))
    out.update(_cost_derived(out, estimates))
    return out


def _deployment_derived(facts: Mapping[str, Any]) -> dict[str, Any]:
    rpd, seconds, payload = facts.get("requests_per_day"), facts.get("inference_seconds"), facts.get("payload_mb")
    if facts.get("question") != "deployment" or seconds is None or payload is None:
        return {"crossover_requests_per_day": None, "mean_concurrency": None,
                "endpoint_concurrency": None, "mean_gap_s": None, "inference_ms": None}
    crossover = crossover_requests_per_day(seconds, payload, memory_mb=facts.get("memory_mb"),
                                           instance_type=facts.get("instance_type"))
    concurrency = None if rpd is None else rpd * seconds / SECONDS_PER_DAY
    gap = SECONDS_PER_DAY / rpd if rpd else None
    per_endpoint = None if concurrency is None else concurrency / (facts.get("models") or 1)
    return {"crossover_requests_per_day": crossover, "mean_concurrency": concurrency,
            "endpoint_concurrency": per_endpoint, "mean_gap_s": gap, "inference_ms": seconds * 1000.0}


def _cost_derived(facts: Mapping[str, Any], estimates: Mapping[str, Estimate] | None) -> dict[str, Any]:
    """Serverless against the real-time endpoint as sized in the estimates (the whole fleet, not
    one instance), so the cost rules say what the estimates say. Null without a request volume."""
    none = {"serverless_monthly_usd": None, "endpoint_monthly_usd": None, "endpoint_instances": None}
    if facts.get("crossover_requests_per_day") is None or facts.get("requests_per_day") is None:
        return none
    if estimates is None:
        estimates = estimate_all(facts)
    endpoint, serverless = estimates["real_time_endpoint"], estimates["serverless_inference"]
    return {"serverless_monthly_usd": serverless.monthly_cost_usd,
            "endpoint_monthly_usd": endpoint.monthly_cost_usd,
            "endpoint_instances": endpoint.instances}


def _label_offsets(delay_days: float | None) -> dict[str, int | None]:
    if delay_days is None:
        return {"label_end_offset_days": None, "label_start_offset_days": None}
    end = max(1, math.ceil(delay_days))
    return {"label_end_offset_days": end, "label_start_offset_days": end + 1}


def _estimate_namespace(estimates: Mapping[str, Estimate]) -> SimpleNamespace:
    return SimpleNamespace(**{k: SimpleNamespace(**vars(v)) for k, v in estimates.items()})


# --------------------------------------------------------------------------- rules


def evaluate(rules: tuple[Rule, ...], context: dict[str, Any],
             estimates: Mapping[str, Estimate]) -> list[Firing]:
    """Every firing of ``rules`` for these (derived) facts, in rule order."""
    firings: list[Firing] = []
    for rule in rules:
        if rule.per_target:
            for target in rule.targets:
                est = estimates.get(target)
                if est is not None and holds(rule.when, context, vars(est)):
                    firings.append(Firing(rule, target, render(rule, context, this=est)))
        elif holds(rule.when, context):
            text = render(rule, context)
            firings.extend(Firing(rule, t, text) for t in (rule.targets or (None,)))
    return firings


def _verdict(option: str, firings: list[Firing]) -> Verdict:
    mine = [f for f in firings if f.target == option]
    support = [f for f in mine if f.rule.effect in ("recommend", "prefer")]
    against = [f for f in mine if f.rule.effect == "rule_out"]
    return Verdict(
        option=option, status="ruled_out" if against else "also",
        score=sum(WEIGHTS[f.rule.effect] for f in support),
        support=tuple(f.text for f in support), against=tuple(f.text for f in against),
        hard=any(f.rule.hard for f in against),
        notes=tuple(f.text for f in mine if f.rule.effect == "note"),
        against_rules=tuple(f.rule for f in against))


def _objective_value(objective: str | None, question: str, option: str,
                     estimates: Mapping[str, Estimate]) -> float:
    """The option's figure for the objective (lower is better); 0 without an objective, inf
    when the question has no estimate of it."""
    if objective is None:
        return 0.0
    if objective == "operational_overhead":
        return float(overhead()[question][option].rank)
    est = estimates.get(option)
    if est is None:
        return math.inf
    return est.monthly_cost_usd if objective == "cost" else est.p99_latency_ms


def _rank_key(verdict: Verdict, estimates: Mapping[str, Estimate], order: tuple[str, ...],
              objective: str | None = None, question: str = "deployment") -> tuple:
    est = estimates.get(verdict.option)
    cost = est.monthly_cost_usd if est is not None else math.inf
    first = _objective_value(objective, question, verdict.option, estimates)
    return (first, -verdict.score, cost, order.index(verdict.option))


# --------------------------------------------------------------------------- choosing


def _choose(verdicts: list[Verdict], estimates: Mapping[str, Estimate],
            order: tuple[str, ...], objective: str | None = None,
            question: str = "deployment") -> tuple[str | None, bool]:
    """The recommended option and whether it is a fallback (ruled out only by fit rules).

    The objective ranks only suitable options; a fallback is chosen as without one."""
    feasible = [v for v in verdicts if v.status != "ruled_out"]
    pool = feasible or [v for v in verdicts if not v.hard]
    if not pool:
        return None, False
    goal = objective if feasible else None
    best = min(pool, key=lambda v: _rank_key(v, estimates, order, goal, question))
    return best.option, not feasible


_OBJECTIVE_WORDS = {"cost": "estimated monthly cost", "latency": "estimated p99 latency",
                    "operational_overhead": "operational overhead"}


def _figure_text(objective: str, question: str, option: str,
                 estimates: Mapping[str, Estimate]) -> str:
    if objective == "operational_overhead":
        o = overhead()[question][option]
        return f"overhead rank {o.rank}: {o.why}"
    est = estimates[option]
    cost, p99 = f"{est.monthly_cost_usd:,.2f} USD/month", f"p99 {est.p99_latency_ms:,.0f} ms"
    return f"{cost} ({p99})" if objective == "cost" else f"{p99} ({cost})"


def _objective_reason(best: Verdict, verdicts: list[Verdict], estimates: Mapping[str, Estimate],
                      objective: str, question: str) -> str:
    """Why the objective picked ``best``, and why the runner-up (next suitable option) lost."""
    order = ANSWERS[question]
    words = _OBJECTIVE_WORDS[objective]
    if objective != "operational_overhead" and best.option not in estimates:
        return (f"Objective {objective}: the {question} answers have no {words} to rank by, so "
                f"rule support decides.")
    rivals = sorted((v for v in verdicts if v.status == "also" and v.option != best.option),
                    key=lambda v: _rank_key(v, estimates, order, objective, question))
    mine = _figure_text(objective, question, best.option, estimates)
    if not rivals:
        return (f"Objective {objective}: {best.option} is the only suitable option ({mine}); "
                "every other one is ruled out.")
    runner = rivals[0]
    a = _objective_value(objective, question, best.option, estimates)
    b = _objective_value(objective, question, runner.option, estimates)
    why = (f"lost on {words}" if b > a else
           f"ties on {words} and lost on rule support ({runner.score} vs {best.score})"
           if runner.score < best.score else f"ties on {words} and comes later in the answer list")
    ratio = (f" ({100 * a / b:.2g} % of the runner-up's)" if objective != "operational_overhead"
             and 0 < b < math.inf and b > a else "")
    return (f"Objective {objective}: {best.option} ranks first among the suitable options by "
            f"{words}: {mine}{ratio}. The runner-up {runner.option} {why}: "
            f"{_figure_text(objective, question, runner.option, estimates)}.")


def _tie_reason(best: Verdict, verdicts: list[Verdict], estimates: Mapping[str, Estimate]) -> list[str]:
    rivals = [v for v in verdicts if v.status == "also" and v.score == best.score
              and v.option in estimates]
    if best.option not in estimates or not rivals:
        return []
    mine = estimates[best.option]
    if all(estimates[r.option].monthly_cost_usd == mine.monthly_cost_usd for r in rivals):
        return [f"Tied on rule support and estimated cost with {', '.join(r.option for r in rivals)}; "
                f"{best.option} comes first in the answer list."]
    parts = [f"{r.option} {estimates[r.option].monthly_cost_usd:,.2f} USD "
             f"(p99 {estimates[r.option].p99_latency_ms:,.0f} ms)" for r in rivals]
    return [f"Tied on rule support with {', '.join(r.option for r in rivals)}; chosen on estimated "
            f"monthly cost: {best.option} {mine.monthly_cost_usd:,.2f} USD (p99 "
            f"{mine.p99_latency_ms:,.0f} ms) vs {'; '.join(parts)} [cost model: simlab.decide.costmodel]."]


def _fallback_reason(best: Verdict) -> str:
    return (f"No option fits every fact. {best.option} ({LABELS[best.option]}) is the closest: "
            f"it breaks a usage fit, not a service limit — " + " ".join(best.against))


def _why_ruled_out(verdict: Verdict) -> str:
    """``option (condition [rule id]; …)``: what ruled an option out, limits with their values."""
    parts = dict.fromkeys(f"{in_words(r.when)} [{r.id}]" for r in verdict.against_rules)
    return f"{verdict.option} ({'; '.join(parts)})"


def _nothing_fits(verdicts: list[Verdict], firings: list[Firing]) -> list[str]:
    """Why nothing is recommended: the hard limits and the options each rules out, then the text
    of every hard rule that rules out all the options (it says what would have to change)."""
    options = {v.option for v in verdicts}
    hard = [f for f in firings if f.rule.effect == "rule_out" and f.rule.hard and f.target is not None]
    rules = {f.rule.id: f.rule for f in hard}
    hit = {rid: [f.target for f in hard if f.rule.id == rid] for rid in rules}
    groups = [f"{in_words(rules[rid].when)} [{rid}]: "
              f"{'every option' if set(targets) == options else ', '.join(targets)}"
              for rid, targets in hit.items()]
    common = dict.fromkeys(f.text for f in hard if set(hit[f.rule.id]) == options)
    head = ("No option can serve this workload within the service limits; every option is ruled "
            f"out by a hard limit — {'; '.join(groups)}.")
    return [head, *common]


def _sole_option_reason(best: Verdict, verdicts: list[Verdict],
                        estimates: Mapping[str, Estimate]) -> str:
    """Why an option no rule argues for is still the answer: every other one is ruled out."""
    others = [v for v in verdicts if v.option != best.option]
    hard = [_why_ruled_out(v) for v in others if v.hard]
    fit = [_why_ruled_out(v) for v in others if not v.hard]
    groups = ([f"by a hard service limit: {', '.join(hard)}"] if hard else []) + (
        [f"by the stated facts: {', '.join(fit)}"] if fit else [])
    est = estimates.get(best.option)
    cost = (f" Estimated {est.monthly_cost_usd:,.2f} USD/month, p99 {est.p99_latency_ms:,.0f} ms "
            f"({est.basis})." if est is not None else "")
    return (f"The only option within the hard limits{' and the stated facts' if fit else ''}: "
            f"{best.option} ({LABELS[best.option]}). No rule argues for it, but every other option "
            f"is ruled out — {'; '.join(groups)}.{cost}")


def _reasons(best: Verdict | None, fallback: bool, verdicts: list[Verdict],
             estimates: Mapping[str, Estimate], firings: list[Firing],
             objective: str | None = None, question: str = "deployment") -> tuple[str, ...]:
    diagnoses = [f.text for f in firings if f.target is None and f.rule.effect == "diagnose"]
    general_notes = [f.text for f in firings if f.target is None and f.rule.effect == "note"]
    if best is None:
        return (*diagnoses, *_nothing_fits(verdicts, firings), *general_notes)
    head = [_fallback_reason(best)] if fallback else []
    sole = all(v.status == "ruled_out" for v in verdicts if v.option != best.option)
    if not fallback and sole and not best.support:
        head = [_sole_option_reason(best, verdicts, estimates)]
    if objective is not None and not fallback:
        ranked = [_objective_reason(best, verdicts, estimates, objective, question)]
        return (*diagnoses, *head, *ranked, *best.support, *best.notes, *general_notes)
    ties = [] if fallback else _tie_reason(best, verdicts, estimates)
    return (*diagnoses, *head, *best.support, *ties, *best.notes, *general_notes)


def _finalise(verdicts: list[Verdict], chosen: str | None) -> list[Verdict]:
    return [replace(v, status="recommended") if v.option == chosen else v for v in verdicts]


def _assemble(question: str, verdicts: list[Verdict], firings: list[Firing], chosen: str | None,
              fallback: bool, estimates: dict[str, Estimate],
              objective: str | None = None) -> Recommendation:
    order = ANSWERS[question]
    by_id = {v.option: v for v in verdicts}
    also = sorted((v for v in verdicts if v.status == "also"),
                  key=lambda v: _rank_key(v, estimates, order, objective, question))
    return Recommendation(
        question=question, recommendation=chosen, also=tuple(v.option for v in also),
        ruled_out={v.option: " ".join(v.against) for v in verdicts if v.status == "ruled_out"},
        reasons=_reasons(by_id.get(chosen) if chosen else None, fallback, verdicts, estimates,
                         firings, objective, question),
        estimates={k: e for k, e in estimates.items() if not by_id[k].hard},
        verdicts=by_id, fired=tuple(dict.fromkeys(f.rule.id for f in firings)))


def recommend(facts: Mapping[str, Any]) -> Recommendation:
    """Recommend a deployment option, monitor or rollout strategy for a facts mapping.

    Raises:
        ScenarioError: when the facts are invalid (every problem listed).
    """
    checked = validate_facts(facts)
    question = checked["question"]
    estimates = estimate_all(checked) if question == "deployment" else {}
    context = derive(checked, estimates)
    context["est"] = _estimate_namespace(estimates)
    firings = evaluate(rules_for(question), context, estimates)
    verdicts = [_verdict(o, firings) for o in ANSWERS[question]]
    objective = checked.get("objective")
    chosen, fallback = _choose(verdicts, estimates, ANSWERS[question], objective, question)
    rec = _assemble(question, _finalise(verdicts, chosen), firings, chosen, fallback, estimates, objective)
    if question == "rollout":  # a bad version under each strategy, simulated (deterministic, cached)
        from simlab.rollouts.blast import blast_radius

        rec = replace(rec, blast_radius=blast_radius())
    return rec
