"""The SimPy process that carries out one UpdateEndpoint with deployment guardrails.

It talks only to the endpoint owner API and the alarm API of the core-seams contract
(``dep.fleets()``, ``add_fleet``, ``fleet_ready``, ``set_fleet_traffic``, ``retire_fleet``,
``suspend_autoscaling``; ``alarm.state``, ``alarm.state_changed``), so it runs the same against a
real endpoint or a test double. What it does follows the developer guide as summarised in
shared/facts/rollouts.md ([DG:deployment-guardrails-*]); where the guide is silent the choice is
simlab's and marked [simlab]:

Blue/green (ALL_AT_ONCE | CANARY | LINEAR)
  1. ``Updating``: the green fleet (full size) is provisioned; a start-up failure ends the update
     as ``failed`` with blue still serving all traffic.
  2. Each shift (``ActivatingTraffic``, share of the variant's traffic on green) is followed by a
     bake (``Baking``) of WaitIntervalInSeconds, except that after the shift to 100 % of a CANARY
     or LINEAR update the final bake is TerminationWaitInSeconds alone [simlab: this keeps the
     guide's own examples within their MaximumExecutionTimeoutInSeconds]. ALL_AT_ONCE bakes
     WaitIntervalInSeconds and then TerminationWaitInSeconds. While a CANARY or LINEAR share s < 1
     is on green, only a slice of ⌈s·N⌉ green instances (at least one) takes green's traffic —
     the canary's CanarySize, a linear step's slice — through the owner API's
     ``set_fleet_serving`` (real-time and async endpoints); the whole green fleet is
     provisioned and billed from the start, and all of it serves at 100 %. LINEAR turns off the same slice of
     blue at each step: after a shift to share s the old fleets keep ⌈(1 − s)·N⌉ instances (at
     least one, kept for a rollback until the final bake ends) through the owner API's
     ``set_fleet_instance_count``; a rollback first asks for all N again (they serve after the
     start-up time).
  3. Any listed alarm in ALARM during a bake (including the final one) → ``RollingBack``: all
     traffic back to blue at that moment, green retired, outcome ``rolled_back``.
  4. After the final bake blue is retired: ``InService``, outcome ``completed``.
Rolling
  Batches of MaximumBatchSize new instances: provision (``Updating``), take their share of traffic
  in proportion to instances (``ActivatingTraffic``), bake, then the same number of old instances
  stop taking traffic (``ActivatingTraffic``). On alarm, traffic returns to the old fleet in
  RollbackMaximumBatchSize batches (``RollingBack`` each), each batch waiting the start-up time
  the first new batch took [simlab: the old instances must start again]; default: all at once.
  The old fleet shrinks by the batch after each bake (``set_fleet_instance_count``, at least one
  instance while it is still routed) and grows back batch by batch on a rollback.

Throughout: auto scaling of the variant is suspended, the MaximumExecutionTimeoutInSeconds (from
the UpdateEndpoint call) ends the update as ``timed_out`` with traffic back to the old fleet, and
optional judges (:class:`JudgeHook`) are asked every interval during bakes; a judge's rollback
acts like an alarm, a pause holds the current step (Argo's Inconclusive) until the next verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simlab.errors import ParameterError
from simlab.rollouts.config import batch_instances, policy_of, traffic_steps

__all__ = ["UpdateController", "JudgeHook", "EVENTS", "OUTCOMES"]

#: timeline event names: SageMaker EndpointStatus (Updating, RollingBack, InService) and variant
#: status (ActivatingTraffic, Baking) values, so a learner can match them to the console
EVENTS = ("Updating", "ActivatingTraffic", "Baking", "RollingBack", "InService")
OUTCOMES = ("completed", "rolled_back", "failed", "timed_out")
EPS = 1e-9  # clock comparisons: now + (t − now) may differ from t in the last bit


@dataclass
class JudgeHook:
    """A judge run during bakes: every ``interval_s`` it gets ``sample(t0, t1, "new")`` and
    ``sample(t0, t1, "old")`` — or ``"baseline"`` with ``baseline="fresh"`` — (whatever its
    ``observe`` takes) and returns a Verdict. ``baseline="fresh"`` makes the controller start a
    baseline fleet of the old version, the canary's size, with the canary, routed the canary's
    share (Kayenta's advice: compare like with like, not with the warm production fleet)."""

    judge: Any
    interval_s: float
    sample: Callable[[float, float, str], Any]
    baseline: str = "old"


def _slice_size(share: float, count: int) -> int:
    """Instances of a fleet of ``count`` that carry ``share`` of its capacity: ⌈share·count⌉ (float
    noise aside: 30 % of 10 is 3), at least 1, at most ``count``."""
    return max(1, min(count, math.ceil(share * count - EPS)))


def _defuse(event: Any) -> None:
    """SimPy raises a failed event nobody waits for; an abandoned fleet's failure is expected."""
    if not event.ok:
        event.defused = True


class _Stop(Exception):
    """Internal: a bake ended the update (alarm, judge or timeout)."""

    def __init__(self, outcome: str, detected: bool, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.detected, self.reason = outcome, detected, reason


class UpdateController:
    """Carries out one validated ``updates:`` entry on ``dep`` (see the module docstring).

    ``alarms`` maps alarm names to contract alarms; every name listed in the update's
    auto_rollback_configuration must be there (:class:`ParameterError` otherwise). ``faults`` is
    passed through to ``dep.add_fleet`` (the contract's Faults; None: its default).
    After the process ends, :attr:`outcome` holds the flat outcome record and :attr:`timeline` the
    steps ``{"t_s", "event", "traffic_to_new"}``; :attr:`verdicts` the judges' records.
    """

    def __init__(self, env: Any, dep: Any, update: Mapping, *, alarms: Mapping[str, Any] | None = None,
                 judges: Sequence[JudgeHook] = (), faults: Any = None, config_name: str | None = None) -> None:
        self.env, self.dep, self.update = env, dep, update
        self.policy = policy_of(update)
        dc = update.get("deployment_config") or {}
        names = [a["alarm_name"] for a in (dc.get("auto_rollback_configuration") or {}).get("alarms", [])]
        alarms = alarms or {}
        missing = [n for n in names if n not in alarms]
        if missing:
            raise ParameterError("alarms", "UpdateController", f"must hold every alarm the update lists ({', '.join(names)})",
                                 missing)
        self.watched = [(n, alarms[n]) for n in names]
        self.judges = list(judges)
        self.fresh = any(h.baseline == "fresh" for h in self.judges)
        if self.fresh and self.policy != "CANARY":
            raise ParameterError("judges", "UpdateController", "may use a fresh baseline only in a CANARY update",
                                 self.policy)
        self.baseline_fleet: int | None = None
        self.faults, self.config_name = faults, config_name
        self.timeline: list[dict] = []
        self.verdicts: list[dict] = []
        self.outcome: dict | None = None
        self.variant: str | None = None
        self._to_new = 0.0

    # -- bookkeeping ----------------------------------------------------------------------------
    def _step(self, event: str, traffic_to_new: float | None = None) -> None:
        if traffic_to_new is not None:
            self._to_new = traffic_to_new
        self.timeline.append({"t_s": float(self.env.now), "event": event, "traffic_to_new": self._to_new})

    def _finish(self, outcome: str, detected_s: float | None, reason: str) -> dict:
        self.outcome = {"at_s": self.t0, "policy": self.policy, "outcome": outcome, "finished_s": float(self.env.now),
                        "detected_s": detected_s, "reason": reason, "steps": list(self.timeline)}
        return self.outcome

    def _alarm_hit(self) -> str | None:
        hits = [name for name, alarm in self.watched if alarm.state == "ALARM"]
        return hits[0] if hits else None

    # -- the process ----------------------------------------------------------------------------
    def start(self) -> Any:
        """Start the SimPy process now (the Feature starts it at the update's ``at``)."""
        return self.env.process(self.run())

    def run(self):
        """SimPy generator: the whole update; returns the outcome record."""
        env, dep = self.env, self.dep
        self.t0 = float(env.now)
        ec = self.update["endpoint_config"]
        old = [f for f in dep.fleets() if not f.shadow and f.state == "in_service"
               and (ec.get("variant_name") in (None, f.variant))]
        if not old:
            raise ParameterError("endpoint_config.variant_name", "UpdateController",
                                 "must name a variant with a fleet in service", ec.get("variant_name"))
        self.variant = old[0].variant
        old = [f for f in old if f.variant == self.variant]
        dc = self.update.get("deployment_config") or {}
        self.deadline = math.inf
        policy_cfg = dc.get("rolling_update_policy") or dc.get("blue_green_update_policy") or {}
        if policy_cfg.get("maximum_execution_timeout_in_seconds") is not None:
            self.deadline = self.t0 + policy_cfg["maximum_execution_timeout_in_seconds"]
        dep.suspend_autoscaling(self.variant, True)
        self._step("Updating", 0.0)
        try:
            if self.policy == "ROLLING":
                result = yield from self._rolling(old, dc["rolling_update_policy"])
            else:
                result = yield from self._blue_green(old, dc.get("blue_green_update_policy"))
        finally:
            dep.suspend_autoscaling(self.variant, False)
        return result

    def _new_fleet(self, count: int | None):
        ec = self.update["endpoint_config"]
        kwargs: dict[str, Any] = {"model": ec.get("model") or self._old_model, "instance_type": ec.get("instance_type"),
                                  "instance_count": count, "service_time": ec.get("service_time"),
                                  "config_name": self.config_name}
        if self.faults is not None:
            kwargs["faults"] = self.faults
        return self.dep.add_fleet(self.variant, **kwargs)

    def _wait_ready(self, fleet_id: int):
        """Yield until the fleet is in service; False on a start-up failure; None on timeout."""
        ready = self.dep.fleet_ready(fleet_id)
        waits = [ready]
        if self.deadline < math.inf:
            waits.append(self.env.timeout(max(0.0, self.deadline - self.env.now)))
        try:
            yield self.env.any_of(waits)
        except Exception:  # the contract may fail the event on startup_failure: that *is* the answer
            return False
        if not ready.triggered:
            # the update gives up on this fleet: a later start-up failure must not end the run
            ready.callbacks.append(_defuse)
            return None
        return ready.ok and ready.value is not False

    def _route(self, new: dict[int, float], old: Sequence, share_new: float) -> None:
        """Give ``share_new`` of the variant's traffic to the new fleets (split by ``new`` weights),
        the same share to a fresh baseline fleet while the canary is partial, and the rest to the old
        fleets in proportion to their instances. Every fleet involved is listed, at 0 if idle."""
        shares: dict[int, float] = {}
        base = share_new if self.baseline_fleet is not None and share_new < 1 else 0.0
        if self.baseline_fleet is not None:
            shares[self.baseline_fleet] = base
        tot_new = sum(new.values())
        for fid, w in new.items():
            shares[fid] = share_new * w / tot_new if tot_new else 0.0
        tot_old = sum(f.instance_count for f in old)
        for f in old:
            shares[f.id] = (1 - share_new - base) * f.instance_count / tot_old
        self.dep.set_fleet_traffic(self.variant, shares)

    def _bake(self, duration: float):
        """Wait ``duration`` watching alarms, judges and the deadline; raises :class:`_Stop`."""
        env = self.env
        if duration <= 0:
            return
        self._step("Baking")
        end = env.now + duration
        next_look = [env.now + h.interval_s for h in self.judges]
        last_look = [env.now for _ in self.judges]
        paused = [False for _ in self.judges]
        while True:
            hit = self._alarm_hit()
            if hit is not None:
                raise _Stop("rolled_back", True, f"alarm {hit} in ALARM during the bake")
            if env.now >= self.deadline - EPS:
                raise _Stop("timed_out", False, "MaximumExecutionTimeoutInSeconds reached")
            if env.now >= end - EPS and not any(paused):
                return
            wake = [self.deadline, *next_look] + ([end] if env.now < end - EPS else [])
            events = [env.timeout(max(0.0, min(wake) - env.now))] + [a.state_changed for _, a in self.watched]
            yield env.any_of(events)
            for i, hook in enumerate(self.judges):
                if env.now + EPS < next_look[i] or self._alarm_hit() is not None:
                    continue
                t0, t1 = last_look[i], env.now
                base = "baseline" if hook.baseline == "fresh" else "old"
                verdict = hook.judge.observe(hook.sample(t0, t1, "new"), hook.sample(t0, t1, base))
                rec = {"t_s": float(t1), **verdict.record()}
                self.verdicts.append(rec)
                last_look[i], next_look[i] = t1, t1 + hook.interval_s
                paused[i] = verdict.action == "pause"
                if verdict.action == "rollback":
                    raise _Stop("rolled_back", True, f"judge {rec['judge']}: {rec['reason']}")

    # -- blue/green ------------------------------------------------------------------------------
    def _blue_green(self, old: Sequence, policy: Mapping | None):
        routing = (policy or {}).get("traffic_routing_configuration") or {"type": "ALL_AT_ONCE",
                                                                          "wait_interval_in_seconds": 0}
        termination = (policy or {}).get("termination_wait_in_seconds", 0)
        wait = routing["wait_interval_in_seconds"]
        instances = sum(f.instance_count for f in old)
        self._old_model = old[0].model
        count = self.update["endpoint_config"].get("instance_count") or instances
        steps = traffic_steps(routing, count)
        if self.fresh:  # started with the canary: the old version on as many instances as the canary
            # (added first, so the green fleet is the endpoint's newest: alarms' `fleet: new` read it)
            self.baseline_fleet = self.dep.add_fleet(
                self.variant, model=old[0].model, model_version=old[0].model_version,
                instance_type=old[0].instance_type, instance_count=_slice_size(steps[0], count),
                config_name=f"{self.config_name or 'update'}-baseline")
        green = self._new_fleet(count)
        ok = yield from self._wait_ready(green)
        if ok and self.baseline_fleet is not None:
            ok = yield from self._wait_ready(self.baseline_fleet)
        if ok is None:
            return self._abort_green(green, old, "timed_out", None, "MaximumExecutionTimeoutInSeconds reached while provisioning")
        if not ok:
            return self._abort_green(green, old, "failed", None, "the new fleet failed to start")
        try:
            for k, share in enumerate(steps):
                if routing["type"] != "ALL_AT_ONCE":
                    self._green_slice(green, share, count)
                self._route({green: 1.0}, old, share)
                self._step("ActivatingTraffic", share)
                if routing["type"] == "LINEAR":
                    self._old_capacity(old, 1.0 - share)
                if share >= 1 and self.baseline_fleet is not None:
                    self._retire_baseline()
                final = k == len(steps) - 1
                if not final or routing["type"] == "ALL_AT_ONCE":
                    yield from self._bake(wait)
            yield from self._bake(termination)
        except _Stop as stop:
            return self._abort_green(green, old, stop.outcome, self.env.now if stop.detected else None, stop.reason)
        for f in old:
            self.dep.retire_fleet(f.id)
        self._step("InService", 1.0)
        return self._finish("completed", None, "")

    def _green_slice(self, green: int, share: float, count: int) -> None:
        """CANARY/LINEAR: of the green fleet's ``count`` provisioned (and billed) instances only
        ⌈share·count⌉ take its traffic (the canary slice, a linear step's slice); all of them at share 1."""
        self.dep.set_fleet_serving(green, None if share >= 1 else _slice_size(share, count))

    def _retire_baseline(self) -> None:
        fid, self.baseline_fleet = self.baseline_fleet, None
        self.dep.retire_fleet(fid)

    def _old_capacity(self, old: Sequence, keep: float) -> None:
        """Old fleets down (or back up) to ``keep`` of their starting instances, at least one."""
        for f in old:
            self.dep.set_fleet_instance_count(f.id, max(1, math.ceil(keep * f.instance_count - EPS)))

    def _abort_green(self, green: int, old: Sequence, outcome: str, detected_s: float | None, reason: str) -> dict:
        if self.policy == "LINEAR" and self._to_new > 0:
            self._old_capacity(old, 1.0)
        if self._to_new > 0:
            self._route({green: 1.0}, old, 0.0)
            self._step("RollingBack", 0.0)
        if self.baseline_fleet is not None:
            self._retire_baseline()
        self.dep.retire_fleet(green)
        self._step("InService", 0.0)
        return self._finish(outcome, detected_s, reason)

    # -- rolling ---------------------------------------------------------------------------------
    def _rolling(self, old: Sequence, policy: Mapping):
        n = sum(f.instance_count for f in old)
        self._old_model = old[0].model
        batch = batch_instances(policy["maximum_batch_size"], n)
        rollback_batch = batch_instances(policy.get("rollback_maximum_batch_size"), n)
        wait = policy["wait_interval_in_seconds"]
        new: dict[int, float] = {}  # fleet id → instances
        old_active = n
        startup = None
        try:
            while sum(new.values()) < n:
                size = min(batch, n - int(sum(new.values())))
                if self.timeline[-1]["event"] != "Updating":
                    self._step("Updating")
                t_start = self.env.now
                fid = self._new_fleet(size)
                ok = yield from self._wait_ready(fid)
                if ok is None:
                    raise _Stop("timed_out", False, "MaximumExecutionTimeoutInSeconds reached while provisioning")
                if not ok:
                    self.dep.retire_fleet(fid)
                    raise _Stop("failed", False, "a new batch failed to start")
                startup = self.env.now - t_start if startup is None else startup
                new[fid] = size
                total_new = sum(new.values())
                share = total_new / (total_new + old_active)
                self._route(new, old, share)
                self._step("ActivatingTraffic", share)
                yield from self._bake(wait)
                old_active -= size
                share = total_new / (total_new + old_active)
                self._route(new, old, share)
                self._step("ActivatingTraffic", share)
                self._old_capacity(old, old_active / n)
        except _Stop as stop:
            detected = self.env.now if stop.detected else None
            yield from self._roll_back(new, old, old_active, n, rollback_batch, startup or 0.0)
            return self._finish(stop.outcome, detected, stop.reason)
        for f in old:
            self.dep.retire_fleet(f.id)
        self._step("InService", 1.0)
        return self._finish("completed", None, "")

    def _roll_back(self, new: dict[int, float], old: Sequence, old_active: int, n: int, batch: int, startup: float):
        new_left = sum(new.values())
        while new_left > 0:
            moved = min(batch, new_left)
            if old_active < n:  # old instances that were removed start again first
                self._old_capacity(old, min(n, old_active + moved) / n)
                yield self.env.timeout(startup)
            new_left -= moved
            old_active = min(n, old_active + moved)
            share = new_left / (new_left + old_active)
            self._route(new, old, share)
            self._step("RollingBack", share)
        for fid in new:
            self.dep.retire_fleet(fid)
        self._step("InService", 0.0)
