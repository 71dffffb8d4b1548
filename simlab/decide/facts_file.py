"""The facts file of ``simlab recommend``: its schema (a public contract) and its loader.

One schema covers the three question types; fields a question doesn't use are accepted and
ignored, so a single template file can hold them all. Cross-field checks require what each
question needs (``payload_mb``, ``inference_seconds`` and a volume for deployment, ``concern``
for monitoring, ``goal`` for rollout). Every problem is reported at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from simlab import facts as service_facts
from simlab.decide.answers import QUESTIONS
from simlab.decide.data import assumption
from simlab.errors import Problem, ScenarioError
from simlab.schema import Bool, Field, Float, Int, OneOf, Schema

__all__ = [
    "TRAFFIC", "CONCERNS", "LABEL_AVAILABILITY", "GOALS", "OBJECTIVES", "DERIVED_FACTS", "facts_schema",
    "validate_facts", "load_facts", "read_yaml",
]

TRAFFIC: tuple[str, ...] = ("steady", "spiky", "intermittent", "scheduled")
CONCERNS: tuple[str, ...] = ("input_drift", "accuracy", "bias", "feature_importance")
LABEL_AVAILABILITY: tuple[str, ...] = ("none", "delayed", "immediate")
GOALS: tuple[str, ...] = (
    "reduce_risk", "compare_models", "instant_switch", "no_user_impact", "simplest", "gradual_steps",
    "limit_extra_capacity",
)
#: What "best" means when several options remain suitable (the exam's MOST cost-effective,
#: LEAST latency, LEAST operational overhead); null = no objective (rule support decides).
OBJECTIVES: tuple[str, ...] = ("cost", "latency", "operational_overhead")

#: Facts the engine computes from the file before the rules run (usable in rule conditions).
DERIVED_FACTS: dict[str, str] = {
    "crossover_requests_per_day": "requests/day above which serverless costs more than one "
                                  "always-on instance of instance_type",
    "serverless_monthly_usd": "the cost model's monthly serverless cost (null without requests_per_day)",
    "endpoint_monthly_usd": "the cost model's monthly cost of the real-time endpoint fleet sized for "
                            "this load (all its instances; null without requests_per_day)",
    "endpoint_instances": "instances of that sized real-time fleet (null without requests_per_day)",
    "mean_concurrency": "requests in flight on average: requests_per_day × inference_seconds / 86,400",
    "endpoint_concurrency": "mean_concurrency / models: requests in flight on one model's own "
                            "endpoint (options without a multi-model mode: one endpoint per model)",
    "mean_gap_s": "average seconds between requests: 86,400 / requests_per_day (null if 0)",
    "inference_ms": "inference_seconds × 1,000: the model's own time per request in ms, the "
                    "fastest p99 any option can reach",
    "concern_words": "the concern in words (input drift, accuracy, bias, feature importance)",
    "label_end_offset_days": "whole days of label delay (at least 1): the EndTimeOffset to suggest",
    "label_start_offset_days": "label_end_offset_days + 1: the StartTimeOffset to suggest",
}


def _deployment_fields() -> list[Field]:
    nonneg, positive = Float(min=0.0), Float(min=0.0, min_open=True)
    memory = tuple(service_facts.limit("serverless_inference.memory_mb_choices"))
    return [
        Field("requests_per_day", nonneg, None, "average volume; omit for pure offline scoring",
              "requests/day"),
        Field("traffic", OneOf(TRAFFIC), "steady", "shape of the traffic over time"),
        Field("payload_mb", nonneg, None, "typical request payload (MB read as MiB, as AWS limits "
              "are); required for deployment", "MB"),
        Field("inference_seconds", positive, None, "model time per request (the whole chain when "
              "containers > 1); required for deployment", "s"),
        Field("latency_slo_ms", positive, None, "required p99 response time; null = not "
              "latency-sensitive", "ms"),
        Field("realtime", Bool(), True, "the caller waits for the answer in the same request"),
        Field("cold_start_ok", Bool(), True, "seconds of extra latency after idle periods are "
              "acceptable"),
        Field("records", Int(min=1), None, "size of a dataset scored in one go (offline scoring)",
              "records"),
        Field("models", Int(min=1), 1, "distinct models that must be served"),
        Field("containers", Int(min=1), 1, "containers chained per request (pre-/post-processing)"),
        Field("models_similar", Bool(), True, "the models have similar resource needs and share "
              "one serving container (multi-model endpoints need that)"),
        Field("memory_mb", OneOf(memory), assumption("default_memory_mb"),
              "serverless memory size", "MB"),
        Field("instance_type", OneOf(tuple(service_facts.instance_types()),
                                     "an instance type of simlab/data/instances.yaml"),
              assumption("default_instance_type"), "instance for endpoints, async and batch"),
        Field("cold_start_ms", positive, None, "serverless cold start; null = the limits file's "
              "serverless_inference.default_cold_start_mean_ms", "ms"),
        Field("runs_per_month", positive, None, "batch runs per month; null = daily", "runs"),
    ]


def _other_fields() -> list[Field]:
    return [
        Field("concern", OneOf(CONCERNS), None, "what must be detected (monitoring)"),
        Field("labels", OneOf(LABEL_AVAILABILITY), "none", "ground-truth labels (monitoring)"),
        Field("label_delay_days", Float(min=0.0), None, "days until labels arrive", "days"),
        Field("goal", OneOf(GOALS), None, "what the rollout must achieve (rollout)"),
        Field("downtime_ok", Bool(), False, "downtime during the rollout is acceptable (no SageMaker "
              "update has downtime: every UpdateEndpoint is blue/green or rolling; kept for "
              "compatibility, no rule reads it)"),
        Field("objective", OneOf(OBJECTIVES), None, "rank the options that remain suitable by "
              "this: cost (estimated monthly cost), latency (estimated p99), operational_overhead "
              "(ranks in rules.yaml); null = rule support decides, ties on cost"),
    ]


def _needs(field: str, question: str, kind: str) -> Problem:
    return Problem(field, f"is required when question is {question}: {kind}")


def _required_per_question(facts: dict) -> list[Problem]:
    """Fields the question needs; a field missing from ``facts`` (it had a problem) is skipped."""
    q = facts.get("question")
    absent = [name for name in ("payload_mb", "inference_seconds", "requests_per_day", "records",
                                "concern", "goal") if name in facts and facts[name] is None]
    problems = []
    if q == "deployment":
        for name, kind in (("payload_mb", "a number ≥ 0"), ("inference_seconds", "a number > 0")):
            if name in absent:
                problems.append(_needs(name, q, kind))
        if "requests_per_day" in absent and "records" in absent:
            problems.append(Problem("requests_per_day", "is required when question is deployment "
                                    "and records is null: a number ≥ 0"))
    elif q == "monitoring" and "concern" in absent:
        problems.append(_needs("concern", q, "one of " + " | ".join(CONCERNS)))
    elif q == "rollout" and "goal" in absent:
        problems.append(_needs("goal", q, "one of " + " | ".join(GOALS)))
    return problems


@cache
def facts_schema() -> Schema:
    """The schema of a facts file (all question types)."""
    question = Field("question", OneOf(QUESTIONS), doc="the kind of question to answer")
    return Schema("facts", [question, *_deployment_fields(), *_other_fields()],
                  doc="simlab recommend facts file")


def validate_facts(raw: Any, *, file: str = "<facts>") -> dict[str, Any]:
    """Check a facts mapping and fill in defaults.

    Raises:
        ScenarioError: listing every problem (unknown fields with a did-you-mean, wrong types,
            out-of-range numbers, fields a question requires).
    """
    problems: list[Problem] = []
    data = dict(raw) if isinstance(raw, Mapping) else raw
    out = facts_schema().validate(data, "", problems)
    # run here rather than as a Schema check, which would be skipped after a field problem
    problems += _required_per_question(out)
    if problems:
        raise ScenarioError(problems, file=file)
    return out


def read_yaml(text: str, *, file: str) -> Any:
    """Parse YAML with simlab's one reader (simlab.yamlio: safe, duplicate keys rejected).

    Raises:
        ScenarioError: on a syntax error (with its line and column) or a duplicate key (both lines).
    """
    from simlab.yamlio import load_yaml

    return load_yaml(text, file=file)


def load_facts(path: str | Path) -> dict[str, Any]:
    """Read and validate a facts YAML file.

    Raises:
        ScenarioError: unreadable file, invalid YAML, or any invalid field — one problem per line.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem("", "cannot read the file", f"{type(e).__name__}: {e}")],
                            file=file) from None
    return validate_facts(read_yaml(text, file=file), file=file)
