"""The scenario's top-level ``alarms:`` list as a feature of the run (simlab.features).

It owns the field (PutMetricAlarm fields in snake_case, :data:`simlab.alarms.ALARM_SCHEMA`), its
cross-field checks (unknown deployment, variant or metric; duplicate names) and its run: one
:class:`simlab.alarms.Alarm` per entry in ``sim.alarms``, evaluated when each period closes
(after the metrics of that minute are published). Summary key ``"alarms"``, ``res.alarms``
(one row per transition) and ``alarms.csv`` for ``--out``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simlab.alarms import ALARM_SCHEMA, Alarm, AlarmSpec, extra_metric_patterns, metric_allowed
from simlab.errors import Problem, fmt_value
from simlab.schema import Field, ListOf, suggest

if TYPE_CHECKING:  # pragma: no cover
    from simlab.simulation import Simulation

__all__ = ["AlarmsFeature", "AlarmsRun", "FEATURE", "fleet_resolver"]

#: fleet states that count as "part of the endpoint" when resolving new / old
LIVE = ("provisioning", "in_service", "draining")


def _known_metrics(dep_cfg: dict) -> list[str]:
    from simlab.deployments import deployment_class

    return deployment_class(dep_cfg["type"])(dep_cfg).published_metrics()


class AlarmsFeature:
    """The top-level ``alarms:`` field: its schema, its cross-field checks and its run."""

    name = "alarms"
    field = Field("alarms", ListOf(ALARM_SCHEMA), default=None,
                  doc="CloudWatch alarms on the run's metrics (PutMetricAlarm fields in snake_case; "
                      "see docs/alarms.md)")

    def top_fields(self) -> list[Field]:
        return [self.field]

    def deployment_fields(self, type_id: str) -> list[Field]:
        return []

    def check(self, cfg: dict, file_path: str = "") -> list[Problem]:
        """Unknown deployment, variant or metric; duplicate alarm names."""
        alarms = cfg.get("alarms") or []
        deps = {d["name"]: d for d in cfg.get("deployments") or []}
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, a in enumerate(alarms):
            where = f"alarms[{i}]"
            if a["alarm_name"] in seen:
                problems.append(Problem(f"{where}.alarm_name", "alarm names must be unique", a["alarm_name"]))
            seen.add(a["alarm_name"])
            dep = deps.get(a["deployment"])
            if dep is None:
                problems.append(Problem(f"{where}.deployment", f"must name a deployment of this scenario"
                                        f"{suggest(a['deployment'], deps)}: {', '.join(deps)}", fmt_value(a["deployment"])))
                continue
            variants = [v["name"] for v in dep.get("variants") or []] or ["AllTraffic"]
            if a["variant"] is not None and a["variant"] not in variants:
                problems.append(Problem(f"{where}.variant", f"must be a variant of {a['deployment']}"
                                        f"{suggest(a['variant'], variants)}: {', '.join(variants)}", fmt_value(a["variant"])))
            known = _known_metrics(dep)
            if not metric_allowed(a["metric_name"], known):
                allowed = ", ".join(known + [f"/{p}/" for p in extra_metric_patterns()])
                problems.append(Problem(f"{where}.metric_name", f"must be a metric {a['deployment']} publishes"
                                        f"{suggest(a['metric_name'], known)}: {allowed}", fmt_value(a["metric_name"])))
        return problems

    def attach(self, sim: Simulation) -> AlarmsRun | None:
        specs = sim.scenario.extra.get("alarms") or []
        return AlarmsRun(sim, [AlarmSpec(**a) for a in specs]) if specs else None

    def table_lines(self, summary: dict[str, Any]) -> list[str]:
        """One line per alarm under the ``simulate`` table: final state, first ALARM, time in
        ALARM, transitions."""
        alarms = summary.get(self.name)
        if not alarms:
            return []
        from simlab.report import fmt_ms

        width = max(len(name) for name in alarms)
        lines = ["", "alarms"]
        for name, a in alarms.items():
            first = "never in ALARM" if a["first_alarm_s"] is None else f"first ALARM at {fmt_ms(a['first_alarm_s'] * 1000)}"
            lines.append(f"  {name.ljust(width)}  {a['state']:<17}  {first}, {fmt_ms(a['time_in_alarm_s'] * 1000)} "
                         f"in ALARM, {len(a['transitions'])} transitions")
        return lines


FEATURE = AlarmsFeature()


def fleet_resolver(dep: Any) -> Callable[[str], str | None]:
    """``new``/``old`` → the EndpointConfigName of the newest/oldest production fleet of ``dep``
    that is provisioning, in service or draining (through the owner API's ``dep.fleets()``);
    None (= all fleets) while fewer than two exist, i.e. outside an update."""
    def resolve(which: str) -> str | None:
        live = [f for f in dep.fleets() if f.state in LIVE and not f.shadow]
        if len(live) < 2:
            return None
        pick = max(live, key=lambda f: f.id) if which == "new" else min(live, key=lambda f: f.id)
        return pick.config_name
    return resolve


class AlarmsRun:
    """The scenario's alarms on one run: evaluated when each period closes (after the metrics);
    they are also the run's ``sim.alarms`` (name → Alarm) other features watch."""

    def __init__(self, sim: Simulation, specs: list[AlarmSpec]) -> None:
        self.sim = sim
        deps = {d.name: d for d in sim.deployments}
        self.alarms = {s.alarm_name: Alarm(s, sim.metrics, sim.env, resolve_fleet=fleet_resolver(deps[s.deployment]))
                       for s in specs}
        sim.alarms.update(self.alarms)
        sim.metrics.on_close(self._on_close)  # before the deployments' scaling listeners (start)

    def start(self) -> None:
        """Nothing to start: the alarms evaluate when the metric store closes a minute."""

    def _on_close(self, t: float, final: bool) -> None:
        for alarm in self.alarms.values():
            if alarm.due(t):
                alarm.evaluate(t)

    def summary(self, deployment: str) -> None:
        return None

    def top_summary(self) -> dict[str, Any]:
        return {name: a.summary(self.sim.duration) for name, a in self.alarms.items()}

    def frame(self):
        """One row per transition: alarm, t_s, from, to, reason."""
        import pandas as pd

        rows = [{"alarm": name, **c} for name, a in self.alarms.items() for c in a.transitions]
        return pd.DataFrame(rows, columns=["alarm", "t_s", "from", "to", "reason"])

    def frames(self) -> dict[str, Any]:
        return {"transitions": self.frame()}

    def view(self):
        """``res.alarms``: the transitions frame."""
        return self.frame()

    def write(self, out_dir: Path, result: Any = None) -> list[Path]:
        path = Path(out_dir) / "alarms.csv"
        self.frame().to_csv(path, index=False)
        return [path]
