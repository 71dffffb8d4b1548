"""Rollouts as a feature of the run (simlab.features): updates, weight changes, shadow variants.

It owns the per-deployment fields ``updates:``, ``weight_changes:`` and ``shadow_variants:``
(schema as data in :mod:`simlab.rollouts.config`) on the types with an owner API
(:data:`FEATURE_TYPES`), their checks, and a run that starts, on the SimPy clock, one
:class:`~simlab.rollouts.controller.UpdateController` per update against the real endpoint's owner
API and the run's alarms (``sim.alarms``), the weight changes and the shadow variant.

Per deployment the JSON summary gets ``"updates": [...]`` (and ``"weight_changes"``, ``"shadow"``,
``"ab"`` when used) next to the deployment's own figures (``summary_inline``: the issue fixed
``deployments.NAME.updates``); each update record
adds to the controller's outcome what only the finished run knows:

* ``requests_to_new`` / ``errors_to_new``: requests that arrived in ``[at_s, finished_s)`` and were
  routed to the update's new fleets (``log.fleet``), and those of them that got an error response;
* ``wrong_predictions_to_new``: of those served, the ones whose predicted label differs from the
  request's true label (classification models; ``null`` for regression);
* ``extra_cost_usd``: what the endpoint's fleets cost from ``at_s`` until only one of the old or
  new fleets is still billed (the other drained), minus what the old fleets at their size when the
  update began would have cost over the same period (the leases of :meth:`Deployment.finish`).

* ``power_plan``: the chance the first bake catches the update's ``regression_to_catch``, planned
  when the update starts from what the old fleets did in the hour before (run.observed_baseline).

With ``ab_test:`` the deployment's summary gets ``"ab"`` (simlab.rollouts.abtest): per
variant figures, fixed-horizon tests, sample sizes and when each method declares a winner.

``--out`` writes ``updates.csv`` (one row per step); the table prints one line per update (and a
warning per under-powered plan) and one line per A/B test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simlab.deployments.base import Faults
from simlab.errors import Problem
from simlab.records import Err
from simlab.rollouts.config import DEPLOYMENT_FIELDS, check_scenario, policy_of
from simlab.schema import Field

if TYPE_CHECKING:  # pragma: no cover
    from simlab.rollouts.controller import UpdateController
    from simlab.rollouts.run import ShadowRun
    from simlab.simulation import Simulation

__all__ = ["RolloutsFeature", "SimRolloutsRun", "FEATURE", "FEATURE_TYPES"]

#: deployment types whose endpoints have the owner API the controllers drive
FEATURE_TYPES = ("real_time_endpoint", "async_inference")
OWN_FIELDS = ("updates", "weight_changes", "shadow_variants", "ab_test")


class RolloutsFeature:
    """Endpoint updates with guardrails, A/B weight changes and shadow variants (docs/rollouts.md)."""

    name = "rollouts"
    #: per-deployment keys (updates, weight_changes, shadow, ab) go into the deployment's summary
    summary_inline = True

    def top_fields(self) -> list[Field]:
        return []

    def deployment_fields(self, type_id: str) -> list[Field]:
        return list(DEPLOYMENT_FIELDS.get(type_id, [])) if type_id in FEATURE_TYPES else []

    def check(self, scenario: dict, file_path: str) -> list[Problem]:
        """The documented ranges and references (simlab.rollouts.config). Every policy runs on
        real-time and async endpoints (an async update splits arrivals between per-fleet
        backlogs, docs/async.md); rolling excludes serverless and multi-variant endpoints there."""
        return check_scenario(scenario)

    def attach(self, sim: Simulation) -> SimRolloutsRun | None:
        deps = {cfg["name"]: (dep, cfg) for dep, cfg in zip(sim.deployments, sim.scenario.deployments, strict=True)
                if any(cfg.get(k) for k in OWN_FIELDS)}
        return SimRolloutsRun(sim, deps) if deps else None

    def table_lines(self, summary: dict[str, Any]) -> list[str]:
        """One line per update under the ``simulate`` table."""
        lines: list[str] = []
        for name, dep in summary["deployments"].items():
            for k, u in enumerate(dep.get("updates") or []):
                fin = "-" if u.get("finished_s") is None else f"{u['finished_s']:g} s"
                det = "" if u.get("detected_s") is None else f", detected at {u['detected_s']:g} s"
                lines.append(f"  {name} update {k} at {u['at_s']:g} s  {u['policy']:<11}  {u['outcome']:<11}  "
                             f"finished {fin}{det}; {u['requests_to_new']:,} requests to new "
                             f"({u['errors_to_new']:,} errors), extra cost {u['extra_cost_usd']:.4f} USD")
                lines += [f"    warning ({p['regression_key']}): {p['warning']}"
                          for p in u.get("power_plan") or [] if p.get("underpowered")]
        ab_lines = [_ab_line(name, dep["ab"]) for name, dep in summary["deployments"].items() if dep.get("ab")]
        return (["", "updates", *lines] if lines else []) + (["", "A/B tests", *ab_lines] if ab_lines else [])


def _ab_line(name: str, ab: dict[str, Any]) -> str:
    """``api B vs A: error rate 0.1% vs 0.2% (p 0.41); accuracy …; mSPRT winner A at 3000 s (accuracy)``."""
    by = {v["variant"]: v for v in ab.get("variants") or []}
    c, t = by.get(ab["control"], {}), by.get(ab["treatment"], {})
    p = {r["metric"]: r["p_value"] for r in ab.get("tests") or [] if r["test"] != "mann_whitney"}

    def pct(x: Any) -> str:
        return "-" if x is None else f"{100 * x:.2f}%"

    parts = [f"error rate {pct(t.get('error_rate'))} vs {pct(c.get('error_rate'))}"
             + (f" (p {p['error_rate']:.3g})" if p.get("error_rate") is not None else "")]
    if "accuracy" in c:
        parts.append(f"accuracy {pct(t.get('accuracy'))} vs {pct(c.get('accuracy'))}"
                     + (f" (p {p['accuracy']:.3g})" if p.get("accuracy") is not None else ""))
    win = ab.get("winner")
    verdict = (f"mSPRT winner {win['variant']} at {win['t_s']:g} s ({win['metric']})" if win
               else f"mSPRT: no winner on {ab['metric']}")
    if ab.get("promoted"):
        verdict += f", promoted at {ab['promoted']['t_s']:g} s"
    return f"  {name} {ab['treatment']} vs {ab['control']}: " + "; ".join(parts) + "; " + verdict


FEATURE = RolloutsFeature()


def _run_class() -> type:
    """RolloutsRun that notes, when each update starts, the old fleets and the controller (the
    judges' statistics are imported here, by scenarios that use the feature, not by every load)."""
    from simlab.rollouts.run import RolloutsRun

    class _Run(RolloutsRun):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.old: dict[int, list] = {}  # id(controller) -> FleetInfo of the fleets in service at `at`
            self.current: dict[str, UpdateController] = {}  # deployment -> the update running (judges)
            self.plans: dict[int, list[dict]] = {}  # id(controller) -> power plan made when it started

        def _at(self, at: float, ctl: UpdateController):
            yield self.env.timeout(max(0.0, at - self.env.now))
            self.old[id(ctl)] = [f for f in ctl.dep.fleets() if f.state == "in_service" and not f.shadow]
            name = next(n for n, ctls in self.controllers.items() if ctl in ctls)
            self.current[name] = ctl
            if ctl.update.get("regression_to_catch"):
                self.plans[id(ctl)] = _plan_at_start(ctl, self.old[id(ctl)])
            yield ctl.start()

    return _Run


def _plan_at_start(ctl: UpdateController, old: list) -> list[dict]:
    """The power plan of an update as it starts (now): its variant's old fleets over the last hour."""
    from simlab.rollouts.run import observed_baseline, update_power_plan

    dep, now = ctl.dep, float(ctl.env.now)
    variant = ctl.update["endpoint_config"].get("variant_name") or dep.variant_names()[0]
    mine = [f for f in old if f.variant == variant]
    dep.admit_until(now)
    base = observed_baseline(t=dep.sim.workload.t, t_done=dep.log.t_done, error=dep.log.error, fleet=dep.log.fleet,
                             old_fleets={f.id for f in mine}, now=now)
    plan = update_power_plan(ctl.update, instances=sum(f.instance_count for f in mine) or 1,
                             rate_rps=base["rate_rps"], p_base=base["p_base"], latency=base["latency"])
    seen = {"observed_window_s": base["window_s"], "observed_requests": base["requests"]}
    return [{**seen, **{k: (float(v) if isinstance(v, np.floating) else v) for k, v in p.items()}} for p in plan]


class SimRolloutsRun:
    """The rollouts feature on one run (``sim.features["rollouts"]``)."""

    def __init__(self, sim: Simulation, deployments: dict[str, tuple[Any, dict]]) -> None:
        self.sim, self.deployments = sim, deployments
        updates = {n: (d, c) for n, (d, c) in deployments.items() if c.get("updates")}
        self.run = _run_class()(sim.env, updates, alarms=sim.alarms, make_faults=lambda f: Faults(**f), sampler=self._sampler)
        self.weight_log: dict[str, list[dict]] = {n: [] for n in deployments}
        self.shadows: dict[str, ShadowRun] = {}
        self._predictions: dict[str, np.ndarray] = {}
        self.promoters: dict[str, Any] = {}  # deployment -> abtest.AutoPromote
        self._labels: Any = None

    def start(self) -> None:
        from simlab.rollouts.run import ShadowRun, apply_weight_changes

        self.run.start()
        env = self.sim.env
        for name, (dep, cfg) in self.deployments.items():
            if cfg.get("weight_changes"):
                env.process(apply_weight_changes(env, dep, cfg["weight_changes"], self.weight_log[name]))
            for shadow in cfg.get("shadow_variants") or []:
                self.shadows[name] = ShadowRun(env, dep, shadow, variant=dep.variant_names()[0])
                self.shadows[name].start()
            ab = cfg.get("ab_test")
            if ab and ab["auto_promote"]:
                from simlab.rollouts.abtest import AutoPromote

                self.promoters[name] = AutoPromote(env, dep, ab, look_times=self._looks(ab),
                                                   frame_at=lambda now, n=name: self._ab_frame(n, now, live=True))
                self.promoters[name].start()

    # -- the A/B test reads the request log and the labels ---------------------------------------------
    def _looks(self, ab: dict) -> np.ndarray:
        from simlab.rollouts.abtest import looks

        end = self.sim.duration if ab.get("end") is None else ab["end"]
        return looks(start=ab["start"], end=end, every=ab["looks_every"])

    def _ab_labels(self) -> Any:
        """True labels and when they arrive: the scenario's ground_truth (the monitoring feature's
        draws, same streams) or, without one, at response time; None labels for regression."""
        if self._labels is None:
            from simlab.monitoring.ground_truth import GroundTruth
            from simlab.rollouts.abtest import Labels

            cfg = self.sim.scenario.extra.get("ground_truth")
            task = self.sim.dataset.task
            gt = GroundTruth(self.sim, cfg)
            self._labels = Labels(label=None if task == "regression" else gt.label,
                                  arrival=gt.arrival if cfg is not None else None, delayed=cfg is not None, task=task)
        return self._labels

    def _ab_frame(self, name: str, now: float, *, live: bool = False) -> Any:
        """The A/B request frame of deployment ``name`` as known at ``now`` (``live``: during the run,
        predictions scored afresh and only when the primary metric needs them)."""
        from simlab.rollouts.abtest import request_frame

        dep, cfg = self.deployments[name]
        ab, labels = cfg["ab_test"], self._ab_labels()
        if live:
            dep.admit_until(now)
            pred = dep.predictions() if ab["metric"] == "accuracy" and labels.label is not None else None
        else:
            if name not in self._predictions:
                self._predictions[name] = dep.predictions()
            pred = self._predictions[name]
        end = self.sim.duration if ab.get("end") is None else ab["end"]
        return request_frame(t=self.sim.workload.t, t_done=dep.log.t_done, error=dep.log.error,
                             variant=dep.log.variant, variant_names=dep.variant_names(), prediction=pred,
                             labels=labels, arms=(ab["control"], ab["treatment"]), start=ab["start"], end=end, now=now)

    def _ab_record(self, name: str) -> dict[str, Any]:
        from simlab.rollouts.abtest import analyse

        ab = self.deployments[name][1]["ab_test"]
        rec = analyse(self._ab_frame(name, self.sim.duration), ab, look_times=self._looks(ab),
                      labels=self._ab_labels())
        if ab["auto_promote"]:
            rec["promoted"] = self.promoters[name].promoted if name in self.promoters else None
        return rec

    # -- judges read the request records of the fleets being compared ---------------------------------
    def _fleet_ids(self, name: str, which: str) -> set[int]:
        ctl = self.run.current.get(name)
        if ctl is None:
            return set()
        fleets = ctl.dep.fleets()
        if which == "old":
            return {f.id for f in self.run.old.get(id(ctl), [])}
        cname = ctl.config_name if which == "new" else f"{ctl.config_name}-baseline"
        return {f.id for f in fleets if f.config_name == cname}

    def _sampler(self, name: str, judge_cfg: dict):
        dep = self.deployments[name][0]

        def sample(t0: float, t1: float, which: str) -> Any:
            from simlab.rollouts.judges import ArmSample

            dep.admit_until(t1)
            log, t = dep.log, self.sim.workload.t
            i0, i1 = np.searchsorted(t, [t0, t1], side="left")
            sel = np.isin(log.fleet[i0:i1], list(self._fleet_ids(name, which)))
            done = log.t_done[i0:i1] <= t1  # answered by the time the judge looks
            sel &= done
            err = log.error[i0:i1][sel] != Err.NONE
            lat = (log.t_done[i0:i1] - t[i0:i1])[sel][~err]
            arm = ArmSample(requests=int(sel.sum()), errors=int(err.sum()), latencies=lat)
            if judge_cfg["type"] != "mann_whitney":
                return arm
            out: dict[str, np.ndarray] = {}
            for m in judge_cfg["metrics"]:  # per-request values of each metric (Kayenta compares samples)
                out[m["name"]] = (err.astype(float) if m["name"] == "error_rate"
                                  else (1.0 - err.astype(float)) if m["name"] == "success_rate" else lat)
            return out

        return sample

    # -- outputs --------------------------------------------------------------------------------------
    def summary(self, deployment: str) -> dict | None:
        if deployment not in self.deployments:
            return None
        out: dict[str, Any] = {}
        ctls = self.run.controllers.get(deployment) or []
        if ctls:
            out["updates"] = [self._record(deployment, c) for c in ctls]
        if self.weight_log[deployment]:
            out["weight_changes"] = list(self.weight_log[deployment])
        sh = self.shadows.get(deployment)
        if sh is not None:
            out["shadow"] = self._shadow_record(deployment, sh)
        if self.deployments[deployment][1].get("ab_test"):
            out["ab"] = self._ab_record(deployment)
        return out

    def _record(self, name: str, ctl: UpdateController) -> dict[str, Any]:
        u = ctl.update
        base = ctl.outcome or {"at_s": float(u["at"]), "policy": policy_of(u), "outcome": "not_finished",
                               "finished_s": None, "detected_s": None, "reason": "the run ended first",
                               "steps": list(ctl.timeline)}
        dep = self.deployments[name][0]
        new = self._fleet_ids_of(ctl, "new")
        at = float(u["at"])
        end = self.sim.duration if base["finished_s"] is None else base["finished_s"]
        log, t = dep.log, self.sim.workload.t
        to_new = (t >= at) & (t < end) & np.isin(log.fleet, list(new)) & (np.isfinite(log.t_start) | (log.error != Err.NONE))
        errors = to_new & (log.error != Err.NONE)
        return {"at_s": base["at_s"], "policy": base["policy"], "outcome": base["outcome"],
                "finished_s": base["finished_s"], "detected_s": base["detected_s"],
                "requests_to_new": int(to_new.sum()), "errors_to_new": int(errors.sum()),
                "wrong_predictions_to_new": self._wrong(name, to_new & ~errors),
                "extra_cost_usd": self._extra_cost(dep, ctl, new, at, base["finished_s"]),
                "power_plan": self.run.plans.get(id(ctl), []),
                "reason": base.get("reason", ""),
                "steps": [{"t_s": s["t_s"], "event": s["event"], "traffic_to_new": s["traffic_to_new"]}
                          for s in base["steps"]]}

    def _fleet_ids_of(self, ctl: UpdateController, which: str) -> set[int]:
        cname = ctl.config_name if which == "new" else f"{ctl.config_name}-baseline"
        return {f.id for f in ctl.dep.fleets() if f.config_name == cname}

    def _wrong(self, name: str, served: np.ndarray) -> int | None:
        """Wrong predictions among ``served`` (classification), or None (regression: no label)."""
        ds = self.sim.dataset
        if ds.task == "regression":
            return None
        if not served.any():
            return 0
        dep = self.deployments[name][0]
        if name not in self._predictions:
            self._predictions[name] = dep.predictions()
        idx = np.flatnonzero(served)
        out = self._predictions[name][idx]
        wl = self.sim.workload
        y = ds.y[wl.row[idx]]
        classes = np.unique(ds.y)
        if wl.drift is not None:
            y = wl.drift.labels(idx, y, classes)
        pred = (out >= 0.5).astype(y.dtype) if ds.task == "binary" else out.astype(y.dtype)
        return int(np.count_nonzero(pred != y))

    def _extra_cost(self, dep: Any, ctl: UpdateController, new: set[int], at: float,
                    finished: float | None) -> float:
        """Cost of every fleet from ``at`` until the fleets the update ended drained, minus the old
        fleets alone at their starting size over that period."""
        old = self.run.old.get(id(ctl), [])
        old_ids = {f.id for f in old}
        extra_ids = new | self._fleet_ids_of(ctl, "baseline")
        if finished is None:
            end = self.sim.duration
        else:
            gone = old_ids if ctl.outcome and ctl.outcome["outcome"] == "completed" else extra_ids
            ends = [le.t1 for le in dep.leases if le.fleet in gone]
            end = max([finished, *ends])
        involved = old_ids | extra_ids
        total = sum(max(0.0, min(le.t1, end) - max(le.t0, at)) * le.price_per_s
                    for le in dep.leases if le.fleet in involved)
        price = {le.fleet: le.price_per_s for le in dep.leases}
        alone = sum(f.instance_count * price.get(f.id, 0.0) for f in old) * (end - at)
        return round(total - alone, 6)

    def _shadow_record(self, name: str, sh: ShadowRun) -> dict[str, Any]:
        dep = self.deployments[name][0]
        rec: dict[str, Any] = {"variant_name": sh.shadow["variant_name"], "model": sh.shadow["model"],
                               "sampling_percentage": sh.shadow["sampling_percentage"], "fleet": sh.fleet}
        if sh.fleet is None:
            return rec
        slog = dep.shadow_log(sh.fleet)
        copied = np.isfinite(slog.t_start) | (slog.error != Err.NONE)
        done = copied & (slog.t_done <= self.sim.duration) & (slog.error == Err.NONE)
        lat = (slog.t_done - self.sim.workload.t)[done] * 1000.0
        rec.update({"copies": int(copied.sum()), "errors": int((copied & (slog.error != Err.NONE)).sum()),
                    "latency_p99_ms": None if lat.size == 0 else round(float(np.percentile(lat, 99)), 3),
                    "cost_usd": round(dep.cost_usd(fleet=sh.fleet), 6)})
        both = done & (dep.log.error == Err.NONE) & np.isfinite(dep.log.t_start)
        if both.any():
            rec["agreement"] = self._agreement(name, sh, np.flatnonzero(both))
        if sh.promotion is not None and sh.promotion.outcome is not None:
            rec["promoted_s"] = sh.promotion.outcome["finished_s"]
        return rec

    def _agreement(self, name: str, sh: ShadowRun, idx: np.ndarray) -> dict[str, Any]:
        """Production vs shadow answers on the requests both answered (labels for classifiers,
        rounded values for regression): share equal and Cohen's κ (simlab.rollouts.ab)."""
        from simlab.rollouts.ab import shadow_agreement

        dep, wl, ds = self.deployments[name][0], self.sim.workload, self.sim.dataset
        if name not in self._predictions:
            self._predictions[name] = dep.predictions()
        prod = self._predictions[name][idx]
        X = ds.X[wl.row[idx]] if wl.drift is None else wl.features(idx, impute=True)
        shadow = np.asarray(self.sim.model(sh.shadow["model"], 0).score_output(X), dtype=float)
        if ds.task == "binary":
            prod, shadow = (prod >= 0.5).astype(int), (shadow >= 0.5).astype(int)
        elif ds.task == "regression":
            prod, shadow = np.round(prod, 6), np.round(shadow, 6)
        rec = shadow_agreement(prod, shadow)
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in rec.items()}

    def top_summary(self) -> dict | None:
        return None

    def frames(self) -> dict[str, Any]:
        return self.run.frames()

    def write(self, out_dir: Path, result: Any = None) -> list[Path]:
        return self.run.write(out_dir, result) if self.run.controllers else []
