"""The pieces the rollouts Feature (:mod:`simlab.rollouts.feature`) is made of.

:class:`RolloutsRun` starts one :class:`UpdateController` per update at its ``at`` time and
reports the outcome records (``summary``), the step timeline as a frame (``frames``) and
``updates.csv`` (``write``); :func:`apply_weight_changes` and :class:`ShadowRun` are the A/B and
shadow processes; :func:`update_power_plan` is the planner for the first bake, fed at the update's
start by :func:`observed_baseline` (what the old fleets did in the hour before).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from simlab.rollouts import power
from simlab.rollouts.config import batch_instances, check_scenario, policy_of, traffic_steps
from simlab.rollouts.controller import JudgeHook, UpdateController
from simlab.rollouts.judges import (
    MannWhitneyJudge,
    MetricSpec,
    SequentialJudge,
    ThresholdJudge,
    ZTestJudge,
)

__all__ = ["RolloutsRun", "check_scenario", "update_power_plan", "build_judge", "apply_weight_changes",
           "ShadowRun", "observed_baseline", "EmpiricalLatency", "BASELINE_WINDOW_S"]

#: how far back the power plan looks at the old fleets when an update starts
BASELINE_WINDOW_S = 3600.0
#: fewest answered requests whose latencies make a distribution for the p99 plan
MIN_LATENCIES = 100


def build_judge(cfg: Mapping) -> Any:
    """The judge object for one validated ``judges:`` entry (config.JUDGE_SCHEMA)."""
    kind = cfg["type"]
    if kind == "threshold":
        return ThresholdJudge(metric=cfg["metric"], max=cfg.get("max"), min=cfg.get("min"),
                              failure_limit=cfg["failure_limit"], no_data=cfg["no_data"],
                              min_requests=cfg["min_requests"])
    if kind == "sequential":
        return SequentialJudge(metric=cfg["metric"], alpha=cfg["alpha"], theta0=cfg["theta0"], n_star=cfg["n_star"])
    if kind == "z_test":
        return ZTestJudge(metric=cfg["metric"], alpha=cfg["alpha"])
    metrics = [MetricSpec(m["name"], direction=m["direction"], critical=m["critical"],
                          allowed_increase=m["allowed_increase"], allowed_decrease=m["allowed_decrease"])
               for m in cfg["metrics"]]
    return MannWhitneyJudge(metrics=metrics, confidence=cfg["confidence"], tolerance=cfg["tolerance"],
                            pass_threshold=cfg["pass_threshold"], marginal_threshold=cfg["marginal_threshold"])


def apply_weight_changes(env: Any, dep: Any, changes: list[Mapping], log: list[dict]):
    """SimPy process: each UpdateEndpointWeightsAndCapacities at its ``at`` through the owner API
    (``set_variant_weights`` with the weights given, ``set_instance_count`` per count given); in
    place, no guardrails [SM]. Appends ``{t_s, variant_name, desired_weight, desired_instance_count}``
    to ``log``."""
    for change in sorted(changes, key=lambda c: c["at"]):
        yield env.timeout(max(0.0, change["at"] - env.now))
        entries = change["desired_weights_and_capacities"]
        weights = {d["variant_name"]: d["desired_weight"] for d in entries if d.get("desired_weight") is not None}
        if weights:
            dep.set_variant_weights(weights)
        for d in entries:
            if d.get("desired_instance_count") is not None:
                dep.set_instance_count(d["variant_name"], d["desired_instance_count"])
            log.append({"t_s": float(env.now), "variant_name": d["variant_name"],
                        "desired_weight": d.get("desired_weight"),
                        "desired_instance_count": d.get("desired_instance_count")})


class ShadowRun:
    """A shadow variant (ShadowProductionVariants) on the clock: at ``start`` a shadow fleet is added
    to the production variant with its SamplingPercentage (it gets copies; its responses reach no
    caller); at ``promote_at`` it is promoted — [simlab] as an ALL_AT_ONCE update of the production
    variant to the shadow's model and instances, after which the shadow fleet is retired."""

    def __init__(self, env: Any, dep: Any, shadow: Mapping, *, variant: str) -> None:
        self.env, self.dep, self.shadow, self.variant = env, dep, shadow, variant
        self.fleet: int | None = None
        self.promotion: UpdateController | None = None

    def start(self) -> Any:
        return self.env.process(self._run())

    def _run(self):
        sh = self.shadow
        yield self.env.timeout(max(0.0, sh["start"] - self.env.now))
        self.fleet = self.dep.add_fleet(self.variant, model=sh["model"], instance_type=sh.get("instance_type"),
                                        instance_count=sh.get("instance_count"), service_time=sh.get("service_time"),
                                        config_name=f"{sh['variant_name']}-shadow", shadow=True,
                                        sampling_percentage=float(sh["sampling_percentage"]))
        if sh.get("promote_at") is None:
            return
        yield self.env.timeout(max(0.0, sh["promote_at"] - self.env.now))
        update = {"at": float(self.env.now), "deployment_config": None,
                  "endpoint_config": {"model": sh["model"], "variant_name": self.variant,
                                      "instance_type": sh.get("instance_type"),
                                      "instance_count": sh.get("instance_count"), "service_time": sh.get("service_time")}}
        self.promotion = UpdateController(self.env, self.dep, update, config_name=f"{sh['variant_name']}-promoted")
        yield self.promotion.start()
        self.dep.retire_fleet(self.fleet)


def _first_step(update: Mapping, instances: int) -> tuple[float | None, float]:
    """(share of traffic on the new fleet during the first bake, that bake in seconds)."""
    dc = update.get("deployment_config") or {}
    rolling = dc.get("rolling_update_policy")
    if rolling:
        b = batch_instances(rolling["maximum_batch_size"], instances)
        return b / (b + instances), rolling["wait_interval_in_seconds"]
    bg = dc.get("blue_green_update_policy")
    if not bg:
        return None, 0.0
    routing = bg["traffic_routing_configuration"]
    share = traffic_steps(routing, instances)[0]
    return (share if share < 1 else None), routing["wait_interval_in_seconds"]


def update_power_plan(update: Mapping, *, instances: int, rate_rps: float, p_base: float,
                      latency: Any | None = None, alpha: float = 0.05) -> list[dict]:
    """Power of the first bake (canary, first linear step or first rolling batch) against the
    update's ``regression_to_catch``: one record per regression, from :mod:`simlab.rollouts.power`.

    ``latency`` is a frozen scipy distribution of the old fleet's latencies (needed for the p99
    regression). ALL_AT_ONCE has no concurrent baseline: its record says so (power None).
    """
    want = update.get("regression_to_catch") or {}
    share, bake = _first_step(update, instances)
    target = want.get("target_power", 0.8)
    out = []
    for key in ("error_rate_increase_pp", "p99_latency_increase_percent"):
        if want.get(key) is None:
            continue
        base = {"policy": policy_of(update), "regression_key": key, "canary_share": share, "bake_s": bake}
        if share is None or bake <= 0:
            out.append({**base, "power": None, "underpowered": True,
                        "warning": "no bake with old and new fleets side by side: nothing to compare"})
        elif not rate_rps > 0:
            out.append({**base, "power": None, "underpowered": True,
                        "warning": "no traffic to the old fleets before the update: nothing to plan with"})
        elif key == "error_rate_increase_pp":
            out.append({**base, "p_base": p_base, **power.plan_error_rate(p_base=p_base, delta=want[key] / 100, canary_share=share,
                                                         rate_rps=rate_rps, bake_s=bake, alpha=alpha,
                                                         target_power=target)})
        elif latency is None:
            out.append({**base, "power": None, "underpowered": True, "warning": "latency distribution unknown"})
        else:
            out.append({**base, **power.plan_latency_quantile(latency=latency, multiplier=1 + want[key] / 100,
                                                               canary_share=share, rate_rps=rate_rps, bake_s=bake,
                                                               alpha=alpha, target_power=target)})
    return out


class EmpiricalLatency:
    """Observed latencies as the distribution :func:`power.plan_latency_quantile` reads: ``ppf`` the
    sample quantile, ``pdf`` a Gaussian kernel density estimate (scipy ``gaussian_kde``, Scott's
    bandwidth). Raises :class:`ValueError` (scipy) on fewer than two distinct values."""

    def __init__(self, samples: np.ndarray) -> None:
        self.samples = np.asarray(samples, dtype=float)
        self._kde = sps.gaussian_kde(self.samples)

    def ppf(self, q: float) -> float:
        return float(np.quantile(self.samples, q))

    def pdf(self, x: float) -> float:
        return float(self._kde(x)[0])


def observed_baseline(*, t: np.ndarray, t_done: np.ndarray, error: np.ndarray, fleet: np.ndarray,
                      old_fleets: set[int], now: float, window_s: float = BASELINE_WINDOW_S) -> dict:
    """What the old fleets did in ``[now − window_s, now)`` (from 0 when the run is younger), for the
    power plan of an update called at ``now``: ``rate_rps`` (requests routed to them per second),
    ``p_base`` (error share of those answered by ``now``; errors of any kind, as the judges count),
    ``latency`` (an :class:`EmpiricalLatency` of the answered successful ones, None below
    :data:`MIN_LATENCIES` or with less than 1 µs of spread), ``window_s`` and ``requests``. ``error`` holds ``Err`` codes."""
    t0 = max(0.0, now - window_s)
    sel = (t >= t0) & (t < now) & np.isin(fleet, list(old_fleets))
    answered = sel & (t_done <= now)
    failed = answered & (error != 0)
    ok = answered & ~failed
    span = now - t0
    lat = (t_done - t)[ok]
    # below a microsecond of spread (e.g. a fixed service time up to float rounding) there is no density
    latency = EmpiricalLatency(lat) if lat.size >= MIN_LATENCIES and np.std(lat) > 1e-6 else None
    return {"window_s": span, "requests": int(sel.sum()), "rate_rps": float(sel.sum() / span) if span > 0 else 0.0,
            "p_base": float(failed.sum() / answered.sum()) if answered.any() else 0.0, "latency": latency}


class RolloutsRun:
    """FeatureRun of the rollouts Feature: one controller per update, started at its ``at``.

    ``deployments`` maps a deployment name to ``(live deployment, validated config)``;
    ``make_faults`` turns an update's ``faults`` mapping into the owner API's Faults (None: not passed);
    ``sampler(deployment, judge_config)`` returns the ``sample(t0, t1, which)`` function a judge of
    that config reads its data with (from the live metrics or request log); without a sampler the
    updates' ``judges:`` are not run.
    """

    def __init__(self, env: Any, deployments: Mapping[str, tuple[Any, Mapping]], *,
                 alarms: Mapping[str, Any] | None = None, make_faults: Callable[[Mapping], Any] | None = None,
                 sampler: Callable[[str, Mapping], Callable[[float, float, str], Any]] | None = None) -> None:
        self.env, self.deployments, self.alarms, self.make_faults = env, deployments, alarms or {}, make_faults
        self.sampler = sampler
        self.controllers: dict[str, list[UpdateController]] = {}

    def start(self) -> None:
        for name, (dep, cfg) in self.deployments.items():
            ctls = self.controllers[name] = []
            for i, update in enumerate(cfg.get("updates") or []):
                faults = update["endpoint_config"].get("faults")
                hooks = [JudgeHook(build_judge(j), j["interval"], self.sampler(name, j), j.get("baseline", "old"))
                         for j in (update.get("judges") or [])] if self.sampler else []
                ctl = UpdateController(self.env, dep, update, alarms=self.alarms, judges=hooks,
                                       faults=self.make_faults(faults) if faults and self.make_faults else None,
                                       config_name=f"{name}-update-{i}")
                ctls.append(ctl)
                self.env.process(self._at(update["at"], ctl))

    def _at(self, at: float, ctl: UpdateController):
        yield self.env.timeout(max(0.0, at - self.env.now))
        yield ctl.start()

    def summary(self, deployment: str) -> dict | None:
        ctls = self.controllers.get(deployment)
        if not ctls:
            return None
        return {"updates": [c.outcome if c.outcome is not None else {"outcome": "not_finished", "steps": c.timeline}
                            for c in ctls]}

    def top_summary(self) -> dict | None:
        return None

    def frames(self) -> dict[str, pd.DataFrame]:
        rows = [{"deployment": name, "update": i, **step}
                for name, ctls in self.controllers.items() for i, c in enumerate(ctls) for step in c.timeline]
        verdicts = [{"deployment": name, "update": i, **v}
                    for name, ctls in self.controllers.items() for i, c in enumerate(ctls) for v in c.verdicts]
        return {"updates": pd.DataFrame(rows, columns=["deployment", "update", "t_s", "event", "traffic_to_new"]),
                "verdicts": pd.DataFrame(verdicts)}

    def write(self, out_dir: Path, result: Any = None) -> list[Path]:
        path = Path(out_dir) / "updates.csv"
        self.frames()["updates"].to_csv(path, index=False)
        return [path]
