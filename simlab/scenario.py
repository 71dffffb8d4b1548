"""Scenario files: load, validate (every problem at once), and describe them.

``load_scenario(path)`` returns a :class:`Scenario` or raises :class:`~simlab.errors.ScenarioError`
listing every problem as ``error: FILE: field.path: must be …, got …``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlab.deployments import TYPES, deployment_class, is_available
from simlab.errors import Problem, ScenarioError, fmt_value
from simlab.features import registered
from simlab.schema import Any_, Duration, Field, Int, Invalid, ListOf, Schema, Str, suggest
from simlab.workload import ARRIVAL_KINDS, WORKLOAD_SCHEMAS, expected_requests

__all__ = ["Scenario", "load_scenario", "scenario_from_dict", "SCENARIO_SCHEMA", "model_ids", "scenario_schema",
           "deployment_schema"]


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
    out = deployment_schema(kind).validate(raw, path, problems)
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
    return problems


def _dataset_problems(cfg: dict) -> list[Problem]:
    """Every deployment serves the same request stream, so every model must read its rows."""
    from simlab.zoo import list_models

    info = {m.name: m for m in list_models()}
    want = info[cfg["model"]].dataset
    problems = []
    for i, dep in enumerate(cfg["deployments"]):
        for where, name in deployment_class(dep["type"]).models_named(dep):
            if name not in info:
                problems.append(Problem(f"deployments[{i}].{where}", f"must be a bundled model{suggest(name, info)}"
                                        f" (simlab models): {', '.join(info)}", fmt_value(name)))
            elif info[name].dataset != want:
                problems.append(Problem(f"deployments[{i}].{where}", f"must be a model of the scenario's dataset "
                                        f"({want}, like {cfg['model']}) because every deployment receives the same "
                                        f"requests", f"{name} ({info[name].dataset})"))
    return problems


MAX_REQUESTS = 50_000_000  # a run holds ~100 bytes per request per deployment in memory


def _volume_problems(cfg: dict) -> list[Problem]:
    n = expected_requests(cfg["workload"], cfg["duration"])
    if n > MAX_REQUESTS:
        return [Problem("workload", f"must generate at most {MAX_REQUESTS:,} requests (memory: about 100 bytes "
                        f"per request and deployment); shorten the duration or lower the rate", f"about {n:,.0f}")]
    return []


def _step_problems(cfg: dict) -> list[Problem]:
    """Each deployment type's checks that need the whole scenario (e.g. pipeline steps)."""
    out: list[Problem] = []
    for i, dep in enumerate(cfg["deployments"]):
        out.extend(deployment_class(dep["type"]).scenario_problems(dep, cfg, f"deployments[{i}]"))
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
], checks=(_top_checks,))


def scenario_schema() -> Schema:
    """The top-level schema: simlab's own fields plus those of every registered feature."""
    extra = [f for feature in registered() for f in feature.top_fields()]
    return Schema(SCENARIO_SCHEMA.name, [*SCENARIO_SCHEMA.fields, *extra], checks=SCENARIO_SCHEMA.checks,
                  doc=SCENARIO_SCHEMA.doc)


def deployment_schema(type_id: str) -> Schema:
    """The schema of a deployment type plus the fields registered features own on it."""
    base: Schema = deployment_class(type_id).SCHEMA
    extra = [f for feature in registered() for f in feature.deployment_fields(type_id)]
    if not extra:
        return base
    return Schema(base.name, [*base.fields, *extra], checks=base.checks, doc=base.doc)


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
    extra: dict[str, Any] = field(default_factory=dict)  # top-level fields owned by features

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def __getattr__(self, name: str) -> Any:
        """A top-level field a feature owns (e.g. ``scenario.ground_truth``), by its name.

        Raises:
            AttributeError: when no registered feature owns a field of that name.
        """
        extra = self.__dict__.get("extra")
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def scenario_from_dict(raw: Any, *, file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a parsed scenario mapping. Raises ScenarioError with every problem found."""
    problems: list[Problem] = []
    schema, features = scenario_schema(), registered()
    cfg = schema.validate(raw, "", problems)
    for feature in features:
        if not problems:
            problems.extend(feature.check(cfg, file))
    if not problems:
        problems.extend(_trace_problems(cfg, base_dir or Path.cwd()))
    if problems:
        raise ScenarioError(problems, file=file)
    path = (base_dir / Path(file).name) if base_dir else None
    return Scenario(name=cfg["name"], duration=cfg["duration"], warmup=cfg["warmup"], model=cfg["model"],
                    workload=cfg["workload"], deployments=cfg["deployments"], seed=cfg["seed"],
                    description=cfg["description"], path=path, raw=raw,
                    extra={f.name: cfg[f.name] for feature in features for f in feature.top_fields()})


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
    """Read and validate a scenario YAML file (simlab.yamlio: safe loading, duplicate keys rejected).

    Raises:
        ScenarioError: unreadable file, YAML syntax error (with its line), a duplicated key (with
            both lines), or any invalid field.
    """
    from simlab.yamlio import load_yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ScenarioError([Problem("", "cannot read the file", type(e).__name__ + ": " + str(e))], file=str(path)) from None
    raw = load_yaml(text, file=str(path))
    return scenario_from_dict(raw, file=str(path), base_dir=path.resolve().parent)
