"""Scenario files: load, validate (every problem at once), and describe them.

``load_scenario(path)`` returns a :class:`Scenario` or raises :class:`~simlab.errors.ScenarioError`
listing every problem as ``error: FILE: field.path: must be …, got …``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlab.alarms import ALARMS
from simlab.deployments import TYPES, deployment_class, is_available
from simlab.errors import Problem, ScenarioError, fmt_value
from simlab.monitoring.config import GROUND_TRUTH_FIELD, scenario_problems
from simlab.schema import Any_, Duration, Field, Int, Invalid, ListOf, Schema, Str, suggest
from simlab.workload import ARRIVAL_KINDS, WORKLOAD_SCHEMAS

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "SCENARIO_SCHEMA", "model_ids"]


def model_ids() -> tuple[str, ...]:
    from simlab.zoo import MODEL_IDS

    return tuple(MODEL_IDS)


def _model(raw: Any, path: str) -> str:
    ids = model_ids()
    if raw not in ids:
        hint = suggest(raw, ids) if isinstance(raw, str) else ""
        raise Invalid(f"must be a bundled model{hint} (simlab models): {', '.join(ids)}", raw)
    return raw


def _workload(raw: Any, path: str) -> dict:
    if not isinstance(raw, dict):
        raise Invalid("must be a mapping with `arrivals` and the fields of that kind", raw)
    kind = raw.get("arrivals")
    if kind not in ARRIVAL_KINDS:
        hint = suggest(kind, ARRIVAL_KINDS) if isinstance(kind, str) else ""
        raise Invalid("", problems=[Problem(f"{path}.arrivals", f"must be one of {' | '.join(ARRIVAL_KINDS)}{hint}",
                                            fmt_value(kind))])
    problems: list[Problem] = []
    out = WORKLOAD_SCHEMAS[kind].validate(raw, path, problems)
    if problems:
        raise Invalid("", problems=problems)
    return out


def _deployment(raw: Any, path: str) -> dict:
    if not isinstance(raw, dict):
        raise Invalid("must be a mapping with `name` and `type`", raw)
    kind = raw.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        hint = suggest(kind, TYPES) if isinstance(kind, str) else ""
        raise Invalid("", problems=[Problem(f"{path}.type", f"must be one of {' | '.join(TYPES)}{hint}",
                                            fmt_value(kind))])
    if not is_available(kind):
        raise Invalid("", problems=[Problem(f"{path}.type", "is not available in this build of simlab", kind)])
    problems: list[Problem] = []
    out = deployment_class(kind).SCHEMA.validate(raw, path, problems)
    if problems:
        raise Invalid("", problems=problems)
    return out


def _top_checks(cfg: dict, path: str) -> list[Problem]:
    problems = []
    if cfg["warmup"] >= cfg["duration"]:
        problems.append(Problem("warmup", f"must be shorter than duration ({cfg['duration']:g} s)", f"{cfg['warmup']:g} s"))
    names = [d["name"] for d in cfg["deployments"]]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(Problem("deployments", "deployment names must be unique", ", ".join(dup)))
    problems.extend(_dataset_problems(cfg))
    problems.extend(_volume_problems(cfg))
    if not problems:
        problems.extend(_step_problems(cfg))
    if not problems:  # -- monitoring: feature names, problem type, partial_fit (simlab/monitoring) --
        problems.extend(scenario_problems(cfg))
    if not problems:
        problems.extend(ALARMS.check(cfg))
    return problems


def _models_named(dep: dict) -> list[tuple[str, str]]:
    """(field path, model id) of every model a deployment names."""
    out = [("model", dep["model"])] if isinstance(dep.get("model"), str) else []
    out += [(f"variants[{k}].model", v["model"]) for k, v in enumerate(dep.get("variants") or [])
            if isinstance(v, dict) and isinstance(v.get("model"), str)]
    base = (dep.get("models") or {}).get("base") if isinstance(dep.get("models"), dict) else None
    return out + ([("models.base", base)] if isinstance(base, str) else [])


def _dataset_problems(cfg: dict) -> list[Problem]:
    """Every deployment serves the same request stream, so every model must read its rows."""
    from simlab.zoo import list_models

    info = {m.name: m for m in list_models()}
    want = info[cfg["model"]].dataset
    problems = []
    for i, dep in enumerate(cfg["deployments"]):
        for where, name in _models_named(dep):
            if name not in info:
                problems.append(Problem(f"deployments[{i}].{where}", f"must be a bundled model{suggest(name, info)}"
                                        f" (simlab models): {', '.join(info)}", fmt_value(name)))
            elif info[name].dataset != want:
                problems.append(Problem(f"deployments[{i}].{where}", f"must be a model of the scenario's dataset "
                                        f"({want}, like {cfg['model']}) because every deployment receives the same "
                                        f"requests", f"{name} ({info[name].dataset})"))
    return problems


MAX_REQUESTS = 50_000_000  # a run holds ~100 bytes per request per deployment in memory


def _expected_requests(wl: dict, duration: float) -> float:
    """Requests the workload will generate (its mean, for the random kinds)."""
    kind = wl["arrivals"]
    if kind == "poisson":
        return wl["rate_per_s"] * duration
    if kind == "diurnal":
        return max(wl["trough_rate_per_s"], wl["peak_rate_per_s"]) * duration
    if kind == "bursty":  # bounded by the busier state; its on/off periods count as work too
        periods = 2 * duration / (wl["mean_on"] + wl["mean_off"])
        return max(wl["rate_per_s"], wl["off_rate_per_s"]) * duration + periods
    if kind == "schedule":
        per_day = len(wl["times"]) if wl.get("times") is not None else wl["per_day"]
        return per_day * wl["requests_per_event"] * math.ceil(duration / 86400.0)
    return 0.0  # trace: bounded by the file


def _volume_problems(cfg: dict) -> list[Problem]:
    n = _expected_requests(cfg["workload"], cfg["duration"])
    if n > MAX_REQUESTS:
        return [Problem("workload", f"must generate at most {MAX_REQUESTS:,} requests (memory: about 100 bytes "
                        f"per request and deployment); shorten the duration or lower the rate", f"about {n:,.0f}")]
    return []


def _step_problems(cfg: dict) -> list[Problem]:
    """Pipeline steps of deployments that serve the scenario's model, checked at load too."""
    from simlab.deployments.pipeline import step_problems

    out: list[Problem] = []
    for i, dep in enumerate(cfg["deployments"]):
        if dep.get("containers") and not dep.get("model"):
            out.extend(step_problems({**dep, "model": cfg["model"]}, f"deployments[{i}]"))
    return out


SCENARIO_SCHEMA = Schema("scenario", [
    Field("name", Str(), doc="scenario name (shown in reports)"),
    Field("description", Str(), default="", doc="free text"),
    Field("seed", Int(min=0), default=0, doc="root random seed (the CLI's --seed overrides it)"),
    Field("duration", Duration(min=0, min_open=True), unit="s", doc="simulated time"),
    Field("warmup", Duration(), default=0.0, unit="s", doc="initial period excluded from statistics"),
    Field("model", Any_(describe="a bundled model id", convert_fn=_model), default="breast_cancer_logreg",
          doc="bundled scikit-learn model (see `simlab models`)"),
    Field("workload", Any_(describe="a workload mapping", convert_fn=_workload), doc="the request stream"),
    Field("deployments", ListOf(Any_(describe="a deployment mapping", convert_fn=_deployment), min_len=1),
          doc="deployments compared side by side on the identical request stream"),
    GROUND_TRUTH_FIELD,  # -- monitoring (simlab/monitoring/config.py) --
    ALARMS.field,  # CloudWatch alarms (simlab/alarms.py)
], checks=(_top_checks,))


@dataclass
class Scenario:
    """A validated scenario. ``deployments`` and ``workload`` are converted config dicts."""

    name: str
    duration: float
    warmup: float
    model: str
    workload: dict[str, Any]
    deployments: list[dict[str, Any]]
    seed: int = 0
    description: str = ""
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    ground_truth: dict[str, Any] | None = None  # -- monitoring: when request labels arrive --
    alarms: list[dict[str, Any]] | None = None  # CloudWatch alarms (simlab/alarms.py)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def scenario_from_dict(raw: Any, *, file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a parsed scenario mapping. Raises ScenarioError with every problem found."""
    problems: list[Problem] = []
    cfg = SCENARIO_SCHEMA.validate(raw, "", problems)
    if not problems:
        problems.extend(_trace_problems(cfg, base_dir or Path.cwd()))
    if problems:
        raise ScenarioError(problems, file=file)
    path = (base_dir / Path(file).name) if base_dir else None
    return Scenario(name=cfg["name"], duration=cfg["duration"], warmup=cfg["warmup"], model=cfg["model"],
                    workload=cfg["workload"], deployments=cfg["deployments"], seed=cfg["seed"],
                    description=cfg["description"], path=path, raw=raw, ground_truth=cfg["ground_truth"],
                    alarms=cfg["alarms"])


def _trace_problems(cfg: dict, base_dir: Path) -> list[Problem]:
    wl = cfg["workload"]
    if wl["arrivals"] != "trace":
        return []
    path = Path(wl["file"]) if Path(wl["file"]).is_absolute() else base_dir / wl["file"]
    if not path.is_file():
        return [Problem("workload.file", "must name a readable CSV file", str(path))]
    import numpy as np

    from simlab.workload import _header_lines

    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy warns on an empty file: make it a problem
            times = np.loadtxt(path, delimiter=",", usecols=0, ndmin=1, skiprows=_header_lines(path))
        if times.size == 0:
            raise ValueError("no arrival times")
    except (ValueError, OSError, UserWarning) as e:
        return [Problem("workload.file", "must be a CSV whose first column holds numbers (seconds)",
                        f"{path} ({str(e).splitlines()[0]})")]
    return []


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file (``yaml.safe_load`` only).

    Raises:
        ScenarioError: unreadable file, YAML syntax error (with its line), or any invalid field.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem("", "cannot read the file", type(e).__name__ + ": " + str(e))], file=str(path)) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ScenarioError([Problem(where, "invalid YAML syntax", what)], file=str(path)) from None
    return scenario_from_dict(raw, file=str(path), base_dir=path.resolve().parent)
