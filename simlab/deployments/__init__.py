"""Deployment types. Each type id maps to the class that simulates it (imported on demand).

The ids are the same ones the decision engine answers with.
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["TYPES", "deployment_class", "is_available", "available_types"]

TYPES: dict[str, str] = {
    "real_time_endpoint": "simlab.deployments.realtime:RealTimeEndpoint",
    "serverless_inference": "simlab.deployments.serverless:ServerlessEndpoint",
    "async_inference": "simlab.deployments.asynchronous:AsyncEndpoint",
    "batch_transform": "simlab.deployments.batch:BatchTransform",
    "multi_model_endpoint": "simlab.deployments.multimodel:MultiModelEndpoint",
    "serial_inference_pipeline": "simlab.deployments.pipeline:SerialInferencePipeline",
}


def is_available(type_id: str) -> bool:
    """Whether the module simulating ``type_id`` exists in this build (without importing it)."""
    return importlib.util.find_spec(TYPES[type_id].split(":")[0]) is not None


def available_types() -> list[str]:
    """Type ids whose module exists in this build."""
    return [type_id for type_id in TYPES if is_available(type_id)]


def deployment_class(type_id: str) -> type:
    """The class for ``type_id``. Raises KeyError (unknown id) or ImportError (not built yet)."""
    module, _, cls = TYPES[type_id].partition(":")
    return getattr(importlib.import_module(module), cls)
