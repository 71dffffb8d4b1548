"""Deployment types. Each type id maps to the class that simulates it (imported on demand).

The ids are the same ones the decision engine answers with.
"""

from __future__ import annotations

import importlib

__all__ = ["TYPES", "deployment_class"]

TYPES: dict[str, str] = {
    "real_time_endpoint": "simlab.deployments.realtime:RealTimeEndpoint",
    "serverless_inference": "simlab.deployments.serverless:ServerlessEndpoint",
    "async_inference": "simlab.deployments.asynchronous:AsyncEndpoint",
    "batch_transform": "simlab.deployments.batch:BatchTransform",
    "multi_model_endpoint": "simlab.deployments.multimodel:MultiModelEndpoint",
    "serial_inference_pipeline": "simlab.deployments.pipeline:SerialInferencePipeline",
}


def available_types() -> list[str]:
    """Type ids whose module exists in this build."""
    out = []
    for type_id, target in TYPES.items():
        try:
            importlib.util.find_spec(target.split(":")[0])
        except ModuleNotFoundError:  # pragma: no cover
            continue
        if importlib.util.find_spec(target.split(":")[0]) is not None:
            out.append(type_id)
    return out


def deployment_class(type_id: str) -> type:
    """The class for ``type_id``. Raises KeyError (unknown id) or ImportError (not built yet)."""
    module, _, cls = TYPES[type_id].partition(":")
    return getattr(importlib.import_module(module), cls)
