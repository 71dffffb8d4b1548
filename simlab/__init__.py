"""simlab: simulate how ML models are served, rolled out and monitored (SageMaker concepts).

Heavy libraries are imported lazily: ``import simlab`` stays cheap so the CLI starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["load_scenario", "run", "whatif", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from simlab.scenario import load_scenario
    from simlab.simulation import run


def __getattr__(name: str) -> Any:
    if name == "load_scenario":
        from simlab.scenario import load_scenario

        return load_scenario
    if name == "run":
        from simlab.simulation import run

        return run
    if name == "whatif":  # the package simlab.whatif is callable: simlab.whatif(path, vary=[...])
        import simlab.whatif

        return simlab.whatif
    raise AttributeError(f"module 'simlab' has no attribute {name!r}")
