"""What-if sweeps: vary scenario fields, replicate with spawned seeds, compare deployments.

``simlab.whatif("scenarios/steady-api.yaml", vary=["workload.rate_per_s=10,20,40"])`` returns a
:class:`WhatIf`: the tidy DataFrame of results (``.frame``), the summary dict (``.summary()``),
matplotlib figures (``.figures()``), ``.write(out_dir)`` for the HTML/Markdown report, and a
``_repr_html_`` that shows the report inline in Jupyter.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from simlab.errors import SimlabError
from simlab.whatif.sweep import Vary, VaryError, parse_vary, validate_grid

__all__ = ["WhatIf", "whatif", "prepare", "Vary", "VaryError", "parse_vary"]


class Prepared:
    """A validated sweep ready to run: base scenario, varies, per-point scenarios, tasks."""

    def __init__(self, scenario, varies: list[Vary], points: list, replications: int, seed: int) -> None:
        from simlab.whatif.execute import make_tasks
        from simlab.whatif.sweep import grid

        self.scenario, self.varies, self.replications, self.seed = scenario, varies, replications, seed
        self.values = grid(varies)
        self.point_scenarios = points
        raws = [(p.raw, v) for p, v in zip(points, self.values, strict=True)]
        self.tasks = make_tasks(raws, replications, seed, file=str(scenario.path or "<scenario>"),
                                base_dir=scenario.base_dir, slo_p99_ms=[_slo(p) for p in points])


def _slo(scenario) -> float | None:
    slo = getattr(scenario, "slo", None)
    return None if not slo else slo.get("p99_ms")


def prepare(scenario, vary: Sequence[str | Vary] = (), *, replications: int | None = None,
            seed: int | None = None) -> Prepared:
    """Parse and validate everything before any simulation runs.

    Raises:
        VaryError: a bad --vary path or value (one line per problem).
        ScenarioError: an invalid scenario file.
        ValueError: replications < 1 or seed < 0.
    """
    from simlab.scenario import Scenario, load_scenario

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    varies = [v if isinstance(v, Vary) else parse_vary(v) for v in vary]
    if replications is None:
        replications = 3 if varies else 1
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ValueError(f"replications must be an integer ≥ 1, got {replications!r}")
    root = sc.seed if seed is None else seed
    if isinstance(root, bool) or not isinstance(root, int) or root < 0:
        raise ValueError(f"seed must be an integer ≥ 0, got {root!r}")
    file = str(sc.path) if sc.path else "<scenario>"
    points = validate_grid(sc.raw, varies, file=file, base_dir=sc.base_dir)
    return Prepared(sc, varies, points, replications, root)


def whatif(scenario, vary: Sequence[str | Vary] = (), *, replications: int | None = None,
           seed: int | None = None, workers: int | None = 1, dask: str | None = None,
           progress: Callable[[int], None] | None = None) -> WhatIf:
    """Run a what-if sweep of ``scenario`` (a path or a loaded Scenario).

    ``vary`` holds ``"PATH=VALUES"`` strings; ``replications`` defaults to 1 without ``vary``, else
    3; ``workers`` processes (1 = this process) or ``dask`` (an address or ``"local"``).

    Raises:
        VaryError, ScenarioError, ValueError: bad input, before anything runs.
        DaskMissing: ``dask`` given without the optional extra.
    """
    from simlab.whatif.execute import run_tasks

    prep = prepare(scenario, vary, replications=replications, seed=seed)
    results = run_tasks(prep.tasks, workers=workers, dask=dask, progress=progress)
    return WhatIf(prep, results)


class WhatIf:
    """The results of a sweep: ``frame`` (tidy DataFrame), ``summary()``, ``figures()``, ``write()``."""

    def __init__(self, prep: Prepared, results: list[dict[str, Any]]) -> None:
        from simlab.whatif.aggregate import crossovers, point_stats, tidy

        self.prep = prep
        self.scenario = prep.scenario
        self.paths = [v.path for v in prep.varies]
        for r in results:
            r["values"] = prep.values[r["point"]]
        self.results = results
        self.frame = tidy(results, self.paths)
        self.points = point_stats(self.frame, len(prep.values), prep.values)
        self.slo_p99_ms = _slo(self.scenario)
        self.crossovers = crossovers(self.points, self.paths,
                                     None if "slo.p99_ms" in self.paths else self.slo_p99_ms)
        self.recommendation = self._recommend()

    # -- the simulation's pick and the decision engine's -----------------------------------------
    def _workload_stats(self, point: int) -> dict[str, float]:
        import numpy as np

        rows = [r["workload"] for r in self.results if r["point"] == point]
        return {k: float(np.mean([w[k] for w in rows])) for k in rows[0]}

    def _recommend(self) -> dict[str, Any]:
        from simlab.whatif.aggregate import choose, compare_with_engine, engine_facts

        by_point = []
        for i, (point, sc) in enumerate(zip(self.points, self.prep.point_scenarios, strict=True)):
            choice = choose(point, _slo(sc))
            facts = engine_facts(sc, self._workload_stats(i), _slo(sc))
            types = {d["type"] for d in sc.deployments}
            try:
                engine = compare_with_engine(choice, facts, types)
            except SimlabError as e:  # the engine's facts schema may reject facts read off a scenario
                engine = {"facts": facts, "recommendation": None, "agrees": None,
                          "note": f"simlab recommend could not judge these facts: {e}"}
            by_point.append({"values": point["values"], **choice, "simlab_recommend": engine})
        first = by_point[0]
        agree = [p["simlab_recommend"]["agrees"] for p in by_point if p["simlab_recommend"]["agrees"] is not None]
        out = {k: first[k] for k in ("deployment", "type", "cost_usd", "p99_ms")}
        out["rule"] = ("cheapest deployment that fails at most 1 % of requests and whose mean p99 "
                       + ("meets the SLO" if self.slo_p99_ms is not None else "stays within the 60 s real-time limit"))
        out["simlab_recommend"] = first["simlab_recommend"]
        if len(by_point) > 1:
            out["by_point"] = by_point
            out["agreement"] = {"points": len(agree), "agree": sum(agree)}
        else:
            out["rejected"] = first["rejected"]
        return out

    # -- outputs -------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The summary.json / ``--json`` dict."""
        from simlab.whatif.execute import replication_seeds

        return {
            "scenario": self.scenario.name,
            "seed": self.prep.seed,
            "replications": self.prep.replications,
            "replication_seeds": replication_seeds(self.prep.seed, self.prep.replications),
            "vary": self.paths,
            "slo": self.scenario.slo,
            "points": self.points,
            "crossovers": self.crossovers,
            "recommendation": self.recommendation,
        }

    def to_json(self) -> str:
        import json

        return json.dumps(self.summary(), indent=2, ensure_ascii=False, allow_nan=False)

    def figures(self) -> dict[str, Any]:
        """The report's matplotlib figures by file stem (see :mod:`simlab.plots`)."""
        from simlab.whatif.report import figures

        return figures(self)

    def table(self) -> str:
        """The terminal table: one block per point, crossovers and the recommendation."""
        from simlab.whatif.report import terminal_table

        return terminal_table(self)

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write report.html, report.md, plots/*.png, results.csv and summary.json; returns the paths.

        Raises:
            OSError: when ``out_dir`` cannot be created or written.
        """
        from simlab.whatif.report import write_report

        return write_report(self, Path(out_dir))

    @cached_property
    def _png_cache(self) -> dict[str, bytes]:
        from simlab.plots import to_png

        return {stem: to_png(fig) for stem, fig in self.figures().items()}

    def _pngs(self) -> dict[str, bytes]:
        return self._png_cache

    @property
    def _figure_stems(self) -> list[str]:
        return list(self._png_cache)

    def _repr_html_(self) -> str:
        from simlab.whatif.report import html_report

        return html_report(self, inline=True, fragment=True)


class _CallableModule(types.ModuleType):
    """``simlab.whatif`` is this package and the function at once: ``simlab.whatif(path, vary=[...])``
    calls :func:`whatif` (a package attribute of the parent would otherwise shadow the function)."""

    def __call__(self, *args: Any, **kwargs: Any) -> WhatIf:
        return whatif(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
