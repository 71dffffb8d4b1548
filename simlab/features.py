"""The plug-in seam: features that join a run (monitoring today; rollouts, A/B and shadow tests next).

A feature owns scenario fields (top level and per deployment type, schema as data) and their
cross-field checks; attaches to a :class:`~simlab.simulation.Simulation` when the scenario uses
it; starts SimPy processes on the clock; and adds to the JSON summary, to ``Result`` (frames)
and to ``--out`` files. Nothing else in simlab knows which features exist: the scenario loader,
the run, the result and the table ask :func:`registered`.

Who calls what (see docs/model.md)::

    scenario loader -- top_fields(), deployment_fields(type_id), check()
    Simulation      -- attach(sim) -> FeatureRun | None, kept in sim.features; run.start()
    Result          -- run.summary(deployment), run.top_summary(), run.frames(), run.write()
    report          -- feature.table_rows(), feature.table_lines(summary) (optional)

Built-in features are named in :data:`BUILTIN` as ``"module:attribute"`` and imported on first
use, so this module imports none of them; tests and plug-ins add theirs with :func:`register`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from simlab.errors import Problem
from simlab.schema import Field

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["Feature", "FeatureRun", "register", "unregister", "registered", "BUILTIN", "TableRow"]

#: formatter of one table row: (the feature's summary of one deployment) -> cell text
TableRow = tuple[str, Callable[[dict], str]]

#: features every run knows, in summary order ("module:attribute" of a Feature instance)
BUILTIN: tuple[str, ...] = ("simlab.monitoring.feature:FEATURE", "simlab.alarm_feature:FEATURE", "simlab.rollouts.feature:FEATURE",
                             "simlab.slo:FEATURE")


@runtime_checkable
class FeatureRun(Protocol):
    """A feature attached to one run (``sim.features[name]``)."""

    def start(self) -> None:
        """Start SimPy processes on ``sim.env`` (called once, after the deployments started)."""

    def summary(self, deployment: str) -> dict | None:
        """Goes to ``summary["deployments"][deployment][feature.name]``, or, for a feature with
        ``summary_inline = True``, its keys go into ``summary["deployments"][deployment]`` itself
        (None = nothing)."""

    def top_summary(self) -> dict | None:
        """Goes to ``summary[feature.name]`` (None = nothing)."""

    def frames(self) -> dict[str, Any]:
        """DataFrames of the finished run: ``Result.features[feature.name]``."""

    def write(self, out_dir: Path, result: Any) -> list[Path]:
        """Files for ``--out``; returns the paths written."""


@runtime_checkable
class Feature(Protocol):
    """One feature, registered once. ``name`` is also its JSON summary key and ``Result`` attribute.

    Optional extras a feature may define: ``table_rows() -> list[TableRow]`` (rows of the
    ``simulate`` table, fed with its per-deployment summary), ``table_lines(summary) -> list[str]``
    (lines printed under the table, fed with the whole summary), ``summary_inline = True`` (its
    per-deployment summary keys sit in the deployment's own summary instead of under its name: the
    rollouts issue fixed ``deployments.NAME.updates``) and, on its run, ``view()`` (what
    ``res.<name>`` returns; default: the frames dict).
    """

    name: str

    def top_fields(self) -> list[Field]:
        """Top-level scenario fields it owns."""

    def deployment_fields(self, type_id: str) -> list[Field]:
        """Fields it owns on deployments of ``type_id`` (empty when it does not apply)."""

    def check(self, scenario: dict, file_path: str) -> list[Problem]:
        """Cross-field problems of a validated scenario config (run once every field is valid)."""

    def attach(self, sim: Simulation) -> FeatureRun | None:
        """Its run for ``sim``, or None when the scenario does not use it."""


_registry: dict[str, Feature] = {}
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for spec in BUILTIN:
        module, _, attr = spec.partition(":")
        feature = getattr(importlib.import_module(module), attr)
        _registry.setdefault(feature.name, feature)


def register(feature: Feature) -> None:
    """Add ``feature`` to the registry (after the built-in ones).

    Raises:
        ValueError: when another feature already uses its name, or a field name it owns.
    """
    _load_builtins()
    if not isinstance(getattr(feature, "name", None), str) or not feature.name:
        raise ValueError(f"a feature needs a non-empty string `name`, got {getattr(feature, 'name', None)!r}")
    if feature.name in _registry and _registry[feature.name] is not feature:
        raise ValueError(f"feature name {feature.name!r} is already registered")
    taken = {f.name for other in _registry.values() if other is not feature for f in other.top_fields()}
    clash = sorted(taken & {f.name for f in feature.top_fields()})
    if clash:
        raise ValueError(f"feature {feature.name!r}: top-level field(s) {', '.join(clash)} already owned by another feature")
    _registry[feature.name] = feature


def unregister(name: str) -> None:
    """Remove a feature registered with :func:`register` (tests clean up with it).

    Raises:
        KeyError: when no feature has that name.
    """
    _load_builtins()
    del _registry[name]


def registered() -> list[Feature]:
    """Every feature, built-in ones first, in registration order."""
    _load_builtins()
    return list(_registry.values())
