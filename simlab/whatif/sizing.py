"""Right-sizing (Inference Recommender, in seconds): the cheapest configuration of one deployment
whose simulated p99 meets a target with no errors in any replication.

Instance-billed types: instance type × a fixed instance count (auto scaling removed, so the count
is what is billed). Serverless: memory size × provisioned concurrency. For each instance type
(memory size) the count (provisioned concurrency) grows from the smallest value until every
replication meets the target; the cheapest of those per-type minima is the recommendation. The
search assumes p99 does not get worse with more instances.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.errors import SimlabError

__all__ = ["SizeError", "size", "Sizing"]

INSTANCE_TYPES = ("real_time_endpoint", "async_inference", "multi_model_endpoint",
                  "serial_inference_pipeline", "batch_transform")


class SizeError(SimlabError):
    """A bad ``simlab size`` request (deployment, target, types); one line per problem."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = list(lines)
        self._say(self.lines, message="\n".join(self.lines))


@dataclass
class Sizing:
    """The answer: ``recommendation`` (or None), every ``candidates`` entry, ``to_dict()``."""

    deployment: str
    type: str
    p99_ms: float
    replications: int
    recommendation: dict[str, Any] | None
    candidates: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "type": self.type,
                "target": {"p99_ms": self.p99_ms, "errors": 0, "replications": self.replications},
                "recommendation": self.recommendation, "candidates": self.candidates}

    def text(self) -> str:
        """A table of candidates, cheapest first, and the recommendation."""
        head = ["", "InstanceType", "InitialInstanceCount", "CostPerHour", "CostPerInference", "MaxInvocations",
                "ModelLatency", "p99_ms", "meets"]
        rows = [[("*" if c is self.recommendation else ""), c["InstanceType"], str(c["InitialInstanceCount"]),
                 f"{c['CostPerHour']:.4f}", f"{c['CostPerInference']:.3g}" if c["CostPerInference"] is not None else "-",
                 str(c["MaxInvocations"]), f"{c['ModelLatency']:.1f}", "-" if c["p99_ms"] is None else f"{c['p99_ms']:.1f}",
                 "yes" if c["meets"] else "no"] for c in self.candidates]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [f"right-sizing {self.deployment} ({self.type}): p99 ≤ {self.p99_ms:g} ms, no errors, "
                 f"in each of {self.replications} replications"]
        lines += ["  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
                  for r in [head, *rows]]
        if self.recommendation is None:
            lines.append("no candidate meets the target; raise --max-instances or relax --p99-ms")
        else:
            r = self.recommendation
            lines.append(f"recommendation: {r['InstanceType']} × {r['InitialInstanceCount']} at "
                         f"{r['CostPerHour']:.4f} USD/h (p99 {r['p99_ms']:.1f} ms)")
        return "\n".join(lines) + "\n"


def _base(sc, name: str) -> tuple[dict, dict]:
    names = [d["name"] for d in sc.deployments]
    if name not in names:
        raise SizeError([f"error: --deployment: must name a deployment of the scenario ({', '.join(names)}), "
                         f"got {name!r}"])
    dep = sc.deployments[names.index(name)]
    raw = copy.deepcopy(sc.raw)
    rdep = next(d for d in raw["deployments"] if d.get("name") == name)
    raw["deployments"] = [rdep]
    return raw, dep


def _series(dep: dict, instance_types: Sequence[str] | None, max_instances: int) -> list[tuple[str, list[dict]]]:
    """(label, [patch per count]) per instance type or memory size."""
    from simlab import facts

    kind = dep["type"]
    if kind == "serverless_inference":
        if instance_types:
            raise SizeError(["error: --instance-types: serverless endpoints have no instance type; "
                             "simlab size tries every memory size with provisioned concurrency 0 and up"])
        top = min(max_instances, dep["max_concurrency"])
        return [(f"serverless-{mb}MB", [{"memory_mb": mb, "provisioned_concurrency": pc} for pc in range(0, top + 1)])
                for mb in facts.limit("serverless_inference.memory_mb_choices")]
    if kind not in INSTANCE_TYPES:
        raise SizeError([f"error: --deployment: {kind} cannot be sized"])
    if dep.get("variants"):
        raise SizeError([f"error: --deployment: {dep['name']} has production variants; size one variant's "
                         f"scenario without variants"])
    types = list(instance_types) if instance_types else [dep["instance_type"]]
    bad = [t for t in types if t not in facts.instance_types()]
    if bad:
        raise SizeError([f"error: --instance-types: must be instance types of simlab/data/instances.yaml "
                         f"(e.g. ml.m5.large), got {t!r}" for t in bad])
    return [(t, [{"instance_type": t, "instance_count": c, "autoscaling": None} for c in range(1, max_instances + 1)])
            for t in types]


def _apply(raw: dict, patch: dict) -> dict:
    out = copy.deepcopy(raw)
    dep = out["deployments"][0]
    for k, v in patch.items():
        if v is None:
            dep.pop(k, None)
        else:
            dep[k] = v
    return out


def _candidate(label: str, patch: dict, results: list[dict], name: str, target: float, sc) -> dict[str, Any]:
    sums = [r["summary"]["deployments"][name] for r in results]
    hours = max(sc.duration - sc.warmup, 1e-9) / 3600.0
    p99s = [s["latency_ms"]["p99"] for s in sums]
    errors = sum(s["failed"] + s["throttled"] for s in sums)
    meets = errors == 0 and all(p is not None and p <= target for p in p99s)  # no request: no evidence
    cost = float(np.mean([s["cost_usd"] for s in sums]))
    completed = float(np.mean([s["completed"] for s in sums]))
    model_s = float(np.mean([r["workload"]["inference_seconds"] for r in results]))
    if "memory_mb" in patch:
        count = patch["provisioned_concurrency"]
        conc = sc.deployments[0]["max_concurrency"] if sc.deployments else 1
        max_inv = int(conc * 60.0 / model_s) if model_s > 0 else None
    else:
        count = patch["instance_count"]
        util = float(np.mean([s["utilization"] for s in sums]))
        max_inv = int(completed / (hours * 60.0) / util) if util > 0 else None
    seen = [p for p in p99s if p is not None]
    out = {"InstanceType": label, "InitialInstanceCount": count,
           "CostPerHour": round(cost / hours, 6),
           "CostPerInference": round(cost / completed, 9) if completed else None,
           "MaxInvocations": max_inv,
           "ModelLatency": round(float(np.mean([s["latency_ms"]["mean"] or 0.0 for s in sums])), 3),
           "p99_ms": round(float(np.mean(seen)), 3) if seen else None,
           "p99_ms_max": round(max(seen), 3) if seen else None,
           "errors": int(errors), "meets": meets}
    if "memory_mb" in patch:
        out |= {"MemorySizeInMB": patch["memory_mb"], "ProvisionedConcurrency": count}
    return out


def size(scenario, deployment: str, p99_ms: float, *, instance_types: Sequence[str] | None = None,
         max_instances: int = 10, replications: int = 3, seed: int | None = None, workers: int | None = 1,
         dask: str | None = None, progress: Callable[[int], None] | None = None) -> Sizing:
    """Right-size ``deployment`` of ``scenario`` (a path or a loaded Scenario) for ``p99_ms``.

    Raises:
        SizeError: unknown deployment, bad instance types, a non-positive target.
        ScenarioError: an invalid scenario file or a candidate the schema rejects.
    """
    from simlab.scenario import Scenario, load_scenario, scenario_from_dict
    from simlab.whatif.execute import make_tasks, run_tasks

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    problems = []
    if not p99_ms > 0:
        problems.append(f"error: --p99-ms: must be a number > 0, got {p99_ms:g}")
    if max_instances < 1:
        problems.append(f"error: --max-instances: must be an integer ≥ 1, got {max_instances}")
    if replications < 1:
        problems.append(f"error: --replications: must be an integer ≥ 1, got {replications}")
    if problems:
        raise SizeError(problems)
    raw, dep = _base(sc, deployment)
    series = _series(dep, instance_types, max_instances)
    file = str(sc.path) if sc.path else "<scenario>"
    root = sc.seed if seed is None else seed
    for _, patches in series:  # every candidate checked by the schema before anything runs
        for patch in patches:
            scenario_from_dict(_apply(raw, patch), file=file, base_dir=sc.base_dir)
    one = scenario_from_dict(raw, file=file, base_dir=sc.base_dir)
    candidates: list[dict[str, Any]] = []
    active = {label: 0 for label, _ in series}
    patches_of = dict(series)
    while active:
        batch = [(label, patches_of[label][k]) for label, k in active.items()]
        tasks = make_tasks([(_apply(raw, p), {}) for _, p in batch], replications, root, file=file,
                           base_dir=sc.base_dir, slo_p99_ms=[None] * len(batch))
        results = run_tasks(tasks, workers=workers, dask=dask, progress=progress)
        for i, (label, patch) in enumerate(batch):
            c = _candidate(label, patch, [r for r in results if r["point"] == i], deployment, p99_ms, one)
            candidates.append(c)
            active[label] += 1
            if c["meets"] or active[label] >= len(patches_of[label]):
                del active[label]
    meeting = sorted((c for c in candidates if c["meets"]), key=lambda c: (c["CostPerHour"], c["InitialInstanceCount"]))
    rest = sorted((c for c in candidates if not c["meets"]), key=lambda c: (c["InstanceType"], c["InitialInstanceCount"]))
    return Sizing(deployment=deployment, type=dep["type"], p99_ms=p99_ms, replications=replications,
                  recommendation=meeting[0] if meeting else None, candidates=meeting + rest)
