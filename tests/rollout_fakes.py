"""Test doubles of the seam contract (owner API, alarms) and example updates, shared by the rollouts tests."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import simpy

#: the issue's example update
CANARY = {
    "at": "2h",
    "endpoint_config": {"model": "breast_cancer_tree", "faults": {"error_rate": 0.02, "latency_multiplier": 1.5}},
    "deployment_config": {
        "blue_green_update_policy": {
            "traffic_routing_configuration": {"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": 25},
                                              "wait_interval_in_seconds": 600},
            "termination_wait_in_seconds": 600,
            "maximum_execution_timeout_in_seconds": 3600},
        "auto_rollback_configuration": {"alarms": [{"alarm_name": "api-5xx"}]}},
}
ROLLING = {"at": 60, "endpoint_config": {"model": "m"},
           "deployment_config": {"rolling_update_policy": {
               "maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 25}, "wait_interval_in_seconds": 300}}}



@dataclass(frozen=True)
class FleetInfo:  # the contract's FleetInfo fields
    id: int
    variant: str
    model: str
    model_version: int
    instance_type: str
    instance_count: int
    config_name: str
    state: str
    shadow: bool = False


class StartupFailure(Exception):
    pass


class FakeEndpoint:
    """The owner API of the contract; start-up takes ``startup_s``; records every call."""

    def __init__(self, env: simpy.Environment, *, instances: int = 4, startup_s: float = 300.0,
                 fail_startup: str | None = None) -> None:
        self.env, self.startup_s, self.fail_startup = env, startup_s, fail_startup
        self._fleets = {0: FleetInfo(0, "AllTraffic", "old_model", 0, "ml.m5.large", instances, "cfg-old", "in_service")}
        self._ready: dict[int, simpy.Event] = {}
        self.calls: list[tuple] = []
        self.traffic: dict[int, float] = {0: 1.0}

    def fleets(self) -> list[FleetInfo]:
        return list(self._fleets.values())

    def add_fleet(self, variant_name, *, model, model_version=0, instance_type=None, instance_count=None,
                  service_time=None, faults=None, config_name=None, shadow=False, sampling_percentage=100.0) -> int:
        fid = len(self._fleets)
        count = instance_count or self._fleets[0].instance_count
        self._fleets[fid] = FleetInfo(fid, variant_name, model, model_version, instance_type or "ml.m5.large",
                                      count, config_name or f"cfg-{fid}", "provisioning", shadow)
        self.calls.append((self.env.now, "add_fleet", variant_name, model, count, faults))
        if shadow:
            self.calls[-1] += (shadow, sampling_percentage)
        ev = self._ready[fid] = self.env.event()
        self.env.process(self._start(fid, ev))
        self.traffic.setdefault(fid, 0.0)
        return fid

    def _start(self, fid: int, ev: simpy.Event):
        yield self.env.timeout(self.startup_s)
        if self.fail_startup == "value":
            self._fleets[fid] = replace(self._fleets[fid], state="failed")
            ev.succeed(False)
        elif self.fail_startup == "event":
            self._fleets[fid] = replace(self._fleets[fid], state="failed")
            ev.fail(StartupFailure("startup failure"))
        else:
            self._fleets[fid] = replace(self._fleets[fid], state="in_service")
            ev.succeed(True)

    def fleet_ready(self, fid: int) -> simpy.Event:
        return self._ready[fid]

    def set_fleet_traffic(self, variant_name: str, shares: dict[int, float]) -> None:
        assert sum(shares.values()) == pytest.approx(1.0), shares
        assert all(self._fleets[f].state == "in_service" or s == 0 for f, s in shares.items()), shares
        self.traffic.update(shares)
        self.calls.append((self.env.now, "set_fleet_traffic", variant_name, dict(shares)))

    def retire_fleet(self, fid: int) -> None:
        self._fleets[fid] = replace(self._fleets[fid], state="retired")
        self.calls.append((self.env.now, "retire_fleet", fid))

    def set_fleet_instance_count(self, fid: int, n: int) -> None:
        assert self._fleets[fid].state == "in_service" and n >= 1, (fid, n)
        self._fleets[fid] = replace(self._fleets[fid], instance_count=n)
        self.calls.append((self.env.now, "set_fleet_instance_count", fid, n))

    def set_fleet_serving(self, fid: int, n: int | None) -> None:
        assert n is None or 1 <= n <= self._fleets[fid].instance_count, (fid, n)
        self.calls.append((self.env.now, "set_fleet_serving", fid, n))

    def set_variant_weights(self, weights: dict[str, float]) -> None:
        self.calls.append((self.env.now, "set_variant_weights", dict(weights)))

    def set_instance_count(self, variant_name: str, n: int) -> None:
        self.calls.append((self.env.now, "set_instance_count", variant_name, n))

    def suspend_autoscaling(self, variant_name: str, suspended: bool) -> None:
        self.calls.append((self.env.now, "suspend_autoscaling", variant_name, suspended))

    def of(self, name: str) -> list[tuple]:
        return [c for c in self.calls if c[1] == name]


class FakeAlarm:
    """The alarm contract: ``state``, a fresh ``state_changed`` event per transition."""

    def __init__(self, env: simpy.Environment, changes: list[tuple[float, str]] = ()) -> None:
        self.env, self.state, self.transitions = env, "INSUFFICIENT_DATA", []
        self.state_changed = env.event()
        env.process(self._run(sorted(changes)))

    def _run(self, changes):
        for t, state in changes:
            yield self.env.timeout(t - self.env.now)
            self.transitions.append({"t_s": t, "from": self.state, "to": state, "reason": "test"})
            self.state = state
            ev, self.state_changed = self.state_changed, self.env.event()
            ev.succeed(state)
