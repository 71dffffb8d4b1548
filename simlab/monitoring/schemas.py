"""JSON Schemas of the files simlab writes, taken from the Model Monitor formats in
shared/facts/sagemaker.md ("Data capture and Model Monitor"). Tests validate every file against
them with ``jsonschema``; they document the formats too (docs/monitoring.md)."""

from __future__ import annotations

__all__ = ["CAPTURE_RECORD", "GROUND_TRUTH_RECORD", "STATISTICS", "CONSTRAINTS", "CONSTRAINT_VIOLATIONS",
           "MODEL_QUALITY_STATISTICS", "BIAS_ANALYSIS", "EXPLAINABILITY_ANALYSIS", "SCHEMAS"]

_DRAFT = "https://json-schema.org/draft/2020-12/schema"
_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"  # RFC 4122 (simlab: v5)
_NUM = {"type": "number"}
_NUM_OR_NULL = {"type": ["number", "null"]}


def _payload(mode: str) -> dict:
    return {"type": "object", "additionalProperties": False,
            "required": ["observedContentType", "mode", "data", "encoding"],
            "properties": {"observedContentType": {"type": "string"}, "mode": {"const": mode},
                           "data": {"type": "string"}, "encoding": {"enum": ["CSV", "JSON", "BASE64"]}}}


CAPTURE_RECORD = {
    "$schema": _DRAFT, "title": "data capture record (one JSON Lines line)", "type": "object",
    "additionalProperties": False, "required": ["captureData", "eventMetadata", "eventVersion"],
    "properties": {
        "captureData": {"type": "object", "additionalProperties": False, "minProperties": 1,
                        "properties": {"endpointInput": _payload("INPUT"), "endpointOutput": _payload("OUTPUT")}},
        "eventMetadata": {"type": "object", "additionalProperties": False, "required": ["eventId", "inferenceTime"],
                          "properties": {"eventId": {"type": "string", "pattern": _UUID},
                                         "inferenceId": {"type": "string", "minLength": 1},
                                         "inferenceTime": {"type": "string", "pattern": _ISO}}},
        "eventVersion": {"const": "0"},
    },
}

GROUND_TRUTH_RECORD = {
    "$schema": _DRAFT, "title": "ground-truth record (one JSON Lines line)", "type": "object",
    "additionalProperties": False, "required": ["groundTruthData", "eventMetadata", "eventVersion"],
    "properties": {
        "groundTruthData": {"type": "object", "additionalProperties": False, "required": ["data", "encoding"],
                            "properties": {"data": {"type": "string"}, "encoding": {"enum": ["CSV", "JSON"]}}},
        "eventMetadata": {"type": "object", "additionalProperties": False, "required": ["eventId"],
                          "properties": {"eventId": {"type": "string", "minLength": 1}}},
        "eventVersion": {"const": "0"},
    },
}

_COMMON = {"type": "object", "required": ["num_present", "num_missing"],
           "properties": {"num_present": _NUM, "num_missing": _NUM}}
_KLL = {"type": "object", "required": ["buckets"], "properties": {"buckets": {
    "type": "array", "minItems": 10, "maxItems": 10, "items": {
        "type": "object", "required": ["lower_bound", "upper_bound", "count"],
        "properties": {"lower_bound": _NUM, "upper_bound": _NUM, "count": _NUM}}}}}
_NUMERICAL = {"type": "object", "required": ["common"], "properties": {
    "common": _COMMON, "mean": _NUM, "sum": _NUM, "std_dev": _NUM, "min": _NUM, "max": _NUM,
    "distribution": {"type": "object", "required": ["kll"], "properties": {"kll": _KLL}}}}
_STRING = {"type": "object", "required": ["common", "distinct_count", "distribution"], "properties": {
    "common": _COMMON, "distinct_count": _NUM,
    "distribution": {"type": "object", "required": ["categorical"], "properties": {"categorical": {
        "type": "object", "required": ["buckets"], "properties": {"buckets": {"type": "array", "items": {
            "type": "object", "required": ["value", "count"],
            "properties": {"value": {"type": "string"}, "count": _NUM}}}}}}}}}
_TYPES = {"enum": ["Integral", "Fractional", "String", "Unknown"]}

STATISTICS = {
    "$schema": _DRAFT, "title": "data-quality statistics.json", "type": "object",
    "required": ["version", "dataset", "features"],
    "properties": {
        "version": _NUM,
        "dataset": {"type": "object", "required": ["item_count"], "properties": {"item_count": _NUM}},
        "features": {"type": "array", "items": {
            "type": "object", "required": ["name", "inferred_type"],
            "properties": {"name": {"type": "string"}, "inferred_type": _TYPES,
                           "numerical_statistics": _NUMERICAL, "string_statistics": _STRING},
            "oneOf": [{"required": ["numerical_statistics"]}, {"required": ["string_statistics"]}]}},
    },
}

CONSTRAINTS = {
    "$schema": _DRAFT, "title": "data-quality constraints.json", "type": "object",
    "required": ["version", "features", "monitoring_config"],
    "properties": {
        "version": _NUM,
        "features": {"type": "array", "items": {
            "type": "object", "required": ["name", "inferred_type", "completeness"],
            "properties": {
                "name": {"type": "string"}, "inferred_type": _TYPES,
                "completeness": {"type": "number", "minimum": 0, "maximum": 1},
                "num_constraints": {"type": "object", "properties": {"is_non_negative": {"type": "boolean"}}},
                "string_constraints": {"type": "object", "properties": {
                    "domains": {"type": "array", "items": {"type": "string"}}}}}}},
        "monitoring_config": {
            "type": "object",
            "required": ["datatype_check_threshold", "domain_content_threshold", "distribution_constraints"],
            "properties": {
                "evaluate_constraints": {"enum": ["Enabled", "Disabled"]},
                "emit_metrics": {"enum": ["Enabled", "Disabled"]},
                "datatype_check_threshold": _NUM, "domain_content_threshold": _NUM,
                "distribution_constraints": {
                    "type": "object",
                    "required": ["perform_comparison", "comparison_threshold", "comparison_method",
                                 "categorical_drift_method"],
                    "properties": {"perform_comparison": {"enum": ["Enabled", "Disabled"]},
                                   "comparison_threshold": _NUM,
                                   "comparison_method": {"enum": ["Simple", "Robust"]},
                                   "categorical_comparison_threshold": _NUM,
                                   "categorical_drift_method": {"enum": ["LInfinity", "ChiSquared"]}}}}},
    },
}

CHECK_TYPES = ["data_type_check", "completeness_check", "baseline_drift_check", "missing_column_check",
               "extra_column_check", "categorical_values_check", "LessThanThreshold", "GreaterThanThreshold",
               "bias_drift_check", "feature_attribution_drift_check"]

CONSTRAINT_VIOLATIONS = {
    "$schema": _DRAFT, "title": "constraint_violations.json", "type": "object", "required": ["violations"],
    "properties": {"violations": {"type": "array", "items": {
        "type": "object", "required": ["constraint_check_type", "description"],
        "properties": {"feature_name": {"type": "string"}, "metric_name": {"type": "string"},
                       "constraint_check_type": {"enum": CHECK_TYPES}, "description": {"type": "string"}},
        "anyOf": [{"required": ["feature_name"]}, {"required": ["metric_name"]}]}}},
}

_METRIC = {"type": "object", "required": ["value"],
           "properties": {"value": _NUM_OR_NULL, "standard_deviation": _NUM}}

MODEL_QUALITY_STATISTICS = {
    "$schema": _DRAFT, "title": "model-quality statistics.json", "type": "object",
    "required": ["version", "dataset"],
    "properties": {
        "version": _NUM,
        "dataset": {"type": "object", "required": ["item_count", "evaluation_time"],
                    "properties": {"item_count": _NUM, "evaluation_time": {"type": "string", "pattern": _ISO}}},
        "binary_classification_metrics": {"type": "object", "required": ["accuracy", "precision", "recall", "f1", "auc"],
                                          "additionalProperties": {"anyOf": [_METRIC, {"type": "object"}]}},
        "multiclass_classification_metrics": {"type": "object", "required": ["accuracy", "weighted_f1"]},
        "regression_metrics": {"type": "object", "required": ["mae", "rmse", "r2"]},
    },
    "oneOf": [{"required": ["binary_classification_metrics"]}, {"required": ["multiclass_classification_metrics"]},
              {"required": ["regression_metrics"]}],
}

# Clarify-style analysis.json, in the shape simlab.monitoring.bias / attribution emit (a subset of
# Clarify's report: post-training bias metrics of one facet; global attributions of label0).
_BIAS_METRIC = {"type": "object", "additionalProperties": False, "required": ["name", "description", "value"],
                "properties": {"name": {"enum": ["DPPL", "DI"]}, "description": {"type": "string", "minLength": 1},
                               "value": _NUM_OR_NULL}}  # null: a facet group was empty (no NaN in JSON)

BIAS_ANALYSIS = {
    "$schema": _DRAFT, "title": "bias drift analysis.json (Clarify post-training bias metrics)", "type": "object",
    "additionalProperties": False, "required": ["version", "post_training_bias_metrics"],
    "properties": {
        "version": {"const": "1.0"},
        "post_training_bias_metrics": {
            "type": "object", "additionalProperties": False, "required": ["label_value_or_threshold", "facets"],
            "properties": {
                "label_value_or_threshold": {"type": "string", "minLength": 1},
                "facets": {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": {
                    "type": "array", "minItems": 1, "items": {
                        "type": "object", "additionalProperties": False, "required": ["value_or_threshold", "metrics"],
                        "properties": {"value_or_threshold": {"type": "string", "pattern": r"^\(.+, inf\)$"},
                                       "metrics": {"type": "array", "minItems": 2, "maxItems": 2,
                                                   "items": _BIAS_METRIC}}}}}}},
    },
}

EXPLAINABILITY_ANALYSIS = {
    "$schema": _DRAFT, "title": "feature attribution analysis.json (Clarify global attributions)", "type": "object",
    "additionalProperties": False, "required": ["version", "explanations"],
    "properties": {
        "version": {"const": "1.0"},
        "explanations": {
            "type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
            "properties": {method: {
                "type": "object", "additionalProperties": False, "required": ["label0"],
                "properties": {"label0": {
                    "type": "object", "additionalProperties": False, "required": ["global_shap_values"],
                    "properties": {"global_shap_values": {
                        "type": "object", "minProperties": 1,
                        "additionalProperties": {"type": "number", "minimum": 0}}}}}}  # mean |attribution|
                for method in ("linear", "saabas")}},
        "ndcg": {"type": ["number", "null"], "minimum": 0},  # per execution, not in the baseline
    },
}

SCHEMAS = {"capture": CAPTURE_RECORD, "ground_truth": GROUND_TRUTH_RECORD, "statistics": STATISTICS,
           "constraints": CONSTRAINTS, "constraint_violations": CONSTRAINT_VIOLATIONS,
           "model_quality_statistics": MODEL_QUALITY_STATISTICS, "bias_analysis": BIAS_ANALYSIS,
           "explainability_analysis": EXPLAINABILITY_ANALYSIS}
