"""The decision engine's questions and answer ids (a public contract: keep names and order)."""

from __future__ import annotations

__all__ = ["ANSWERS", "QUESTIONS", "LABELS", "EFFECTS", "WEIGHTS"]

#: Answer ids per question type, in the order used to break remaining ties.
ANSWERS: dict[str, tuple[str, ...]] = {
    "deployment": (
        "real_time_endpoint", "serverless_inference", "async_inference", "batch_transform",
        "multi_model_endpoint", "serial_inference_pipeline",
    ),
    "monitoring": ("data_quality", "model_quality", "bias_drift", "feature_attribution_drift"),
    "rollout": (
        "all_at_once", "blue_green", "canary", "linear", "ab_test", "shadow", "rolling",
    ),
}

QUESTIONS: tuple[str, ...] = tuple(ANSWERS)

#: Human names of the answers, for readable output and the docs.
LABELS: dict[str, str] = {
    "real_time_endpoint": "real-time endpoint",
    "serverless_inference": "Serverless Inference",
    "async_inference": "Asynchronous Inference",
    "batch_transform": "Batch Transform",
    "multi_model_endpoint": "multi-model endpoint",
    "serial_inference_pipeline": "serial inference pipeline",
    "data_quality": "Data Quality monitoring",
    "model_quality": "Model Quality monitoring",
    "bias_drift": "Bias Drift monitoring (Clarify)",
    "feature_attribution_drift": "Feature Attribution Drift monitoring (Clarify, SHAP)",
    "all_at_once": "all at once (blue/green, one traffic shift, no bake; no downtime)",
    "blue_green": "blue/green with a bake (one traffic shift, old fleet kept for rollback)",
    "canary": "canary",
    "linear": "linear traffic shifting",
    "ab_test": "A/B test (production variants)",
    "shadow": "shadow test (shadow variant)",
    "rolling": "rolling update (RollingUpdatePolicy, batches of the fleet)",
}

#: What a rule can do to its targets. ``diagnose`` has no targets: a finding about the facts
#: themselves (for example an SLO no option can meet), stated first in the reasons.
EFFECTS: tuple[str, ...] = ("rule_out", "recommend", "prefer", "note", "diagnose")

#: Support score an effect adds to each target (rule_out, note and diagnose add none).
WEIGHTS: dict[str, int] = {"recommend": 2, "prefer": 1, "rule_out": 0, "note": 0, "diagnose": 0}
