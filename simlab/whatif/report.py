"""The what-if report: one list of blocks rendered as self-contained HTML and as Markdown.

HTML inlines its CSS and PNGs (base64), loads nothing from the network, and escapes every
user-supplied string (scenario name and description, deployment names, varied values).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from simlab.whatif.sweep import numeric

__all__ = ["figures", "blocks", "html_report", "markdown_report", "write_report", "terminal_table"]

#: (metric key, label, unit) drawn against the varied value and shown in tables.
METRICS = (
    ("cost_usd", "cost", "USD"),
    ("cost_per_1k_usd", "cost per 1k requests", "USD"),
    ("latency_ms.p50", "p50 latency", "ms"),
    ("latency_ms.p99", "p99 latency", "ms"),
    ("cold_starts", "cold starts", "count"),
    ("failed", "failed requests", "count"),
    ("slo_attainment", "SLO attainment", "share"),
)

CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
padding:0 1em;color:#1d2330;background:#fff}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #dde3ee;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #cfd6e4;padding:.25em .6em;text-align:right}th{background:#eef2f8}
td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;border:1px solid #e3e7ef;margin:.4em 0}
.note{color:#56607a;font-size:.92em}.ok{color:#17803d;font-weight:600}.bad{color:#b3261e;font-weight:600}
code{background:#f2f4f8;padding:0 .25em;border-radius:3px}
"""


# -------------------------------------------------------------------------------- figures
def _series_of(w, point: int, key: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in w.results:
        if r["point"] == point:
            for name, s in r["series"].items():
                out.setdefault(name, []).append(s[key])
    return out


def _t_s(w, point: int) -> list[float]:
    r = next(r for r in w.results if r["point"] == point)
    return next(iter(r["series"].values()))["t_s"]


def _mean(cell: Any) -> float | None:
    return cell["mean"] if isinstance(cell, dict) else None


def figures(w) -> dict[str, Any]:
    """Figures by file stem: per-deployment views of the first point, then the sweep views."""
    from simlab import plots
    from simlab.whatif.execute import CDF_QUANTILES

    figs: dict[str, Any] = {}
    t = _t_s(w, 0)
    figs["latency_cdf"] = plots.latency_cdf(_series_of(w, 0, "cdf"), CDF_QUANTILES)
    p50, p99 = _series_of(w, 0, "p50"), _series_of(w, 0, "p99")
    both = {f"{n} p50": p50[n] for n in p50} | {f"{n} p99": p99[n] for n in p99}
    figs["latency_over_time"] = plots.timeline(t, both, ylabel="latency (ms, log scale)", log=True,
                                               title="p50 and p99 latency per time bin")
    figs["instances_over_time"] = plots.timeline(t, _series_of(w, 0, "instances"), ylabel="instances",
                                                 title="Live instances (mean per time bin)", step=True)
    figs["cumulative_cost"] = plots.timeline(t, _series_of(w, 0, "cost"), ylabel="USD",
                                             title="Cumulative cost (shape; exact totals in the table)")
    deps = w.points[0]["deployments"]
    figs["cold_starts_errors"] = plots.bars(
        {"cold starts": {n: _mean(d.get("cold_starts")) or 0.0 for n, d in deps.items()},
         "failed": {n: _mean(d.get("failed")) or 0.0 for n, d in deps.items()},
         "throttled": {n: _mean(d.get("throttled")) or 0.0 for n, d in deps.items()}},
        ylabel="requests (mean over replications)", title="Cold starts and errors")
    for path in w.paths:
        figs.update(_sweep_figures(w, path))
    if w.paths or len(deps) > 1:
        labels, cost, p99 = [], [], []
        for p in w.points:
            tag = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in p["values"].items())
            for n, d in p["deployments"].items():
                labels.append(f"{n} {tag}".strip())
                cost.append(_mean(d.get("cost_usd")) or float("nan"))
                p99.append(_mean(d.get("latency_ms.p99")) or float("nan"))
        figs["cost_vs_p99"] = plots.cost_vs_p99(cost, p99, labels, slo_ms=w.slo_p99_ms)
    return figs


def _line_points(w, path: str) -> list[int]:
    """Points along ``path`` with every other varied path at its first value, sorted by x."""
    first = {v.path: v.values[0] for v in w.prep.varies}
    idx = [i for i, p in enumerate(w.points)
           if all(repr(p["values"][k]) == repr(first[k]) for k in first if k != path)]
    return sorted(idx, key=lambda i: numeric(w.points[i]["values"][path]) or 0.0)


def _stem(path: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in path)


def _sweep_figures(w, path: str) -> dict[str, Any]:
    from simlab import plots

    idx = _line_points(w, path)
    xs = [numeric(w.points[i]["values"][path]) for i in idx]
    if any(x is None for x in xs) or len(idx) < 2:
        return {}
    spec = next(v for v in w.prep.varies if v.path == path).spec
    out = {}
    names = list(w.points[0]["deployments"])
    for key, label, unit in METRICS:
        lines = {}
        for n in names:
            cells = [w.points[i]["deployments"].get(n, {}).get(key) for i in idx]
            if all(c is None for c in cells):
                continue
            lines[n] = ([_mean(c) for c in cells], [c["ci95"][0] if c else None for c in cells],
                        [c["ci95"][1] if c else None for c in cells])
        if not lines:
            continue
        marks = [(c["at"], f"{c['a']} = {c['b']}") for c in w.crossovers
                 if c["path"] == path and c["metric"] == key and not c.get("fixed")]
        hline = (w.slo_p99_ms, f"SLO {w.slo_p99_ms:g} ms") if key == "latency_ms.p99" and w.slo_p99_ms else None
        out[f"{_stem(key)}_vs_{_stem(path)}"] = plots.metric_vs_value(
            xs, lines, xlabel=path, ylabel=f"{label} ({unit})", marks=marks, hline=hline,
            title=f"{label} vs {path} (mean, 95 % interval)", logx=spec.startswith("log:"),
            logy=key.startswith("latency"))
    return out


# -------------------------------------------------------------------------------- blocks
def _fmt(x: Any, unit: str = "") -> str:
    if x is None:
        return "-"
    if isinstance(x, int | float) and unit == "ms" and abs(x) >= 1e4:
        for limit, scale, name in ((60e3, 1e3, "s"), (3600e3, 60e3, "min"), (math.inf, 3600e3, "h")):
            if abs(x) < limit:
                return f"{x / scale:,.3g} {name}"
    if isinstance(x, float):
        if unit == "share":
            return f"{x:.2%}"
        return f"{x:,.4g}" if abs(x) < 1e4 else f"{x:,.0f}"
    return str(x)


def _cell(c: Any, unit: str) -> str:
    if not isinstance(c, dict) or c.get("mean") is None:
        return "-"
    lo, hi = c["ci95"]
    ci = f" [{_fmt(lo, unit)}, {_fmt(hi, unit)}]" if lo is not None else ""
    return _fmt(c["mean"], unit) + ci


def _fixed_items(w) -> list[str]:
    sc = w.scenario
    wl = ", ".join(f"{k}={v}" for k, v in sorted(sc.raw.get("workload", {}).items()))
    items = [f"seed {w.prep.seed}, {w.prep.replications} replication(s) per point, seeds spawned from the root seed",
             f"duration {sc.duration:g} s, warm-up {sc.warmup:g} s, model {sc.model}",
             f"workload: {wl}"]
    for d in sc.raw.get("deployments", []):
        keys = ("instance_type", "instance_count", "memory_mb", "max_concurrency", "provisioned_concurrency")
        extra = ", ".join(f"{k}={d[k]}" for k in keys if k in d)
        items.append(f"deployment {d.get('name')}: {d.get('type')}{' (' + extra + ')' if extra else ''}")
    if w.slo_p99_ms is not None:
        items.append(f"SLO: p99 ≤ {w.slo_p99_ms:g} ms")
    return items


def blocks(w) -> list[tuple]:
    """The report as blocks: ("h1"|"h2"|"p"|"note", text), ("ul", items), ("table", head, rows),
    ("img", stem, caption). Every string is plain text; renderers escape it."""
    sc = w.scenario
    out: list[tuple] = [("h1", f"What-if report: {sc.name}")]
    if sc.description:
        out.append(("p", sc.description))
    out.append(("h2", "What was varied and what stayed fixed"))
    varied = [f"{v.path} = {', '.join(map(str, v.values))}" for v in w.prep.varies] or ["nothing (one point)"]
    out.append(("ul", [f"varied: {x}" for x in varied] + _fixed_items(w)))
    out += _point_tables(w)
    out += _recommendation_blocks(w)
    out.append(("h2", "Per deployment" + (" (first point of the sweep)" if w.paths else "")))
    out.append(("img", "latency_cdf", "Latency CDF over replications"))
    out.append(("img", "latency_over_time", "p50 and p99 over simulated time"))
    out.append(("img", "instances_over_time", "Instances over time"))
    out.append(("img", "cumulative_cost", "Cumulative cost"))
    out.append(("img", "cold_starts_errors", "Cold starts and errors"))
    figs = w._figure_stems
    if w.paths:
        out.append(("h2", "Metrics against the varied value"))
        if len(w.paths) > 1:
            out.append(("note", "Each plot varies one path with the others at their first value."))
        for stem in figs:
            if "_vs_" in stem and stem != "cost_vs_p99":
                out.append(("img", stem, stem.replace("_", " ")))
    out += _crossover_blocks(w)
    if "cost_vs_p99" in figs:
        out.append(("h2", "Cost against p99"))
        out.append(("img", "cost_vs_p99", "Cost vs p99 with the options no other beats on both"))
        out.append(("table", ["option not beaten on both", "cost (USD)", "p99 (ms)"], _front_rows(w)))
    if w.slo_p99_ms is not None:
        out += _slo_blocks(w)
    out.append(("note", "Simulated with simlab: SimPy drives the clock and every control process; request "
                        "queues advance as arrays between events. Intervals are Student-t 95 % over "
                        "replications; with one replication none is shown."))
    return out


def _point_tables(w) -> list[tuple]:
    out: list[tuple] = [("h2", "Results (mean [95 % interval])")]
    head = ["deployment", *[f"{label} ({unit})" for _, label, unit in METRICS if
                            _any_metric(w, _) and (_ != "slo_attainment" or w.slo_p99_ms is not None)]]
    keys = [(k, u) for k, _, u in METRICS if _any_metric(w, k) and (k != "slo_attainment" or w.slo_p99_ms is not None)]
    for p in w.points:
        if w.paths:
            out.append(("p", "point: " + ", ".join(f"{k} = {v}" for k, v in p["values"].items())))
        rows = [[name, *[_cell(d.get(k), u) for k, u in keys]] for name, d in p["deployments"].items()]
        out.append(("table", head, rows))
    return out


def _any_metric(w, key: str) -> bool:
    return any(key in d for p in w.points for d in p["deployments"].values())


def _recommendation_blocks(w) -> list[tuple]:
    rec = w.recommendation
    out: list[tuple] = [("h2", "Recommendation")]
    if rec["deployment"]:
        out.append(("p", f"Simulation{' (first point)' if w.paths else ''}: {rec['deployment']} "
                         f"({rec['type']}), cost {_fmt(rec['cost_usd'])} USD, p99 {_fmt(rec['p99_ms'])} ms — "
                         f"the {rec['rule']}."))
    else:
        out.append(("p", f"Simulation: no deployment qualifies ({rec['rule']})."))
    eng = rec["simlab_recommend"]
    out.append(("p", f"simlab recommend for the same facts: {eng.get('recommendation') or 'nothing'} — {eng['note']}."))
    out.append(("note", "Facts given to the engine: " + json.dumps(eng["facts"], ensure_ascii=False)))
    for reason in eng.get("reasons") or []:
        out.append(("note", "Engine: " + reason))
    if "by_point" in rec:
        rows = [[", ".join(f"{k}={v}" for k, v in p["values"].items()), p["deployment"] or "-",
                 p["simlab_recommend"].get("recommendation") or "-",
                 {True: "yes", False: "no", None: "n/a"}[p["simlab_recommend"]["agrees"]]]
                for p in rec["by_point"]]
        out.append(("table", ["point", "simulation picks", "simlab recommend", "agree"], rows))
    return out


def _front_rows(w) -> list[list[str]]:
    """The (point, deployment) options no other option beats on both mean cost and mean p99."""
    from simlab.plots import pareto_front

    opts = [(", ".join(f"{k}={v}" for k, v in p["values"].items()), n, _mean(d.get("cost_usd")),
             _mean(d.get("latency_ms.p99"))) for p in w.points for n, d in p["deployments"].items()]
    opts = [o for o in opts if o[2] is not None and o[3] is not None]
    front = pareto_front([o[2] for o in opts], [o[3] for o in opts])
    return [[f"{o[1]} ({o[0]})" if o[0] else o[1], _fmt(o[2]), _fmt(o[3], "ms")]
            for o in sorted((opts[i] for i in front), key=lambda o: o[2])]


def _crossover_blocks(w) -> list[tuple]:
    if not w.paths:
        return []
    out: list[tuple] = [("h2", "Crossovers")]
    if not w.crossovers:
        out.append(("p", "No crossover in the swept range."))
        return out
    rows = [[c["metric"], c["a"], c["b"], c["path"], _fmt(c["at"]),
             ", ".join(f"{k}={v}" for k, v in c.get("fixed", {}).items()) or "-"] for c in w.crossovers]
    out.append(("table", ["metric", "a", "b", "path", "at", "other values"], rows))
    out.append(("note", "Where the means of a and b (or a and the SLO) are equal, by linear "
                        "interpolation between neighbouring points."))
    return out


def _slo_blocks(w) -> list[tuple]:
    out: list[tuple] = [("h2", f"SLO attainment (p99 ≤ {w.slo_p99_ms:g} ms)")]
    rows = []
    for p in w.points:
        for name, d in p["deployments"].items():
            p99 = _mean(d.get("latency_ms.p99"))
            meets = p99 is not None and p99 <= w.slo_p99_ms
            rows.append([", ".join(f"{k}={v}" for k, v in p["values"].items()) or "-", name,
                         _cell(d.get("slo_attainment"), "share"), _fmt(p99), "meets" if meets else "misses"])
    out.append(("table", ["point", "deployment", "requests within the SLO latency", "p99 (ms)", "p99 SLO"], rows))
    return out


# -------------------------------------------------------------------------------- renderers
def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def html_report(w, *, inline: bool = True, fragment: bool = False, pngs: dict[str, bytes] | None = None) -> str:
    """The report as HTML (a full page, or a fragment for Jupyter); images as base64 data URIs."""
    pngs = pngs if pngs is not None else w._pngs()
    parts = []
    for b in blocks(w):
        kind = b[0]
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{_e(b[1])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_e(b[1])}</p>")
        elif kind == "note":
            parts.append(f'<p class="note">{_e(b[1])}</p>')
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_e(i)}</li>" for i in b[1]) + "</ul>")
        elif kind == "table":
            head = "".join(f"<th>{_e(h)}</th>" for h in b[1])
            rows = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in b[2])
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif kind == "img" and b[1] in pngs:
            data = base64.b64encode(pngs[b[1]]).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_e(b[2])}">'
                         f"<figcaption class=\"note\">{_e(b[2])}</figcaption></figure>")
    body = "\n".join(parts)
    if fragment:
        return f'<div class="simlab-whatif"><style>{_scoped_css()}</style>{body}</div>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_e('What-if report: ' + w.scenario.name)}</title><style>{CSS}</style></head>"
            f"<body>\n{body}\n</body></html>\n")


def _scoped_css() -> str:
    """CSS for the Jupyter fragment: every selector under ``.simlab-whatif`` so the notebook keeps its style."""
    import re

    def scope(m: re.Match) -> str:
        sels = [x.strip() for x in m.group(1).split(",")]
        return ",".join(".simlab-whatif" if x == "body" else f".simlab-whatif {x}" for x in sels) + "{"

    return re.sub(r"([^{}]+)\{", scope, CSS.replace("\n", ""))


def _md_text(text: Any) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|")


def markdown_report(w) -> str:
    """The same blocks as Markdown; images point at ``plots/STEM.png``."""
    lines = []
    stems = w._figure_stems
    for b in blocks(w):
        kind = b[0]
        if kind == "h1":
            lines += [f"# {_md_text(b[1])}", ""]
        elif kind == "h2":
            lines += [f"## {_md_text(b[1])}", ""]
        elif kind in ("p", "note"):
            lines += [(_md_text(b[1]) if kind == "p" else f"*{_md_text(b[1])}*"), ""]
        elif kind == "ul":
            lines += [f"- {_md_text(i)}" for i in b[1]] + [""]
        elif kind == "table":
            lines.append("| " + " | ".join(_md_text(h) for h in b[1]) + " |")
            lines.append("|" + "---|" * len(b[1]))
            lines += ["| " + " | ".join(_md_text(c) for c in r) + " |" for r in b[2]]
            lines.append("")
        elif kind == "img" and b[1] in stems:
            lines += [f"![{_md_text(b[2])}](plots/{b[1]}.png)", ""]
    return "\n".join(lines)


def write_report(w, out: Path) -> list[Path]:
    """report.html, report.md, plots/*.png, results.csv, summary.json under ``out``."""
    (out / "plots").mkdir(parents=True, exist_ok=True)
    pngs = w._pngs()
    paths = []
    for stem, data in pngs.items():
        p = out / "plots" / f"{stem}.png"
        p.write_bytes(data)
        paths.append(p)
    files = {"report.html": html_report(w, pngs=pngs), "report.md": markdown_report(w),
             "summary.json": w.to_json() + "\n"}
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        paths.append(out / name)
    w.frame.to_csv(out / "results.csv", index=False)
    paths.append(out / "results.csv")
    return paths


def terminal_table(w) -> str:
    """Plain text: a table per point, the crossovers and the recommendation."""
    lines = [f"what-if {w.scenario.name}  seed {w.prep.seed}  {w.prep.replications} replication(s) per point"]
    keys = [(k, label, u) for k, label, u in METRICS if _any_metric(w, k)
            and (k != "slo_attainment" or w.slo_p99_ms is not None)]
    for p in w.points:
        lines.append("")
        if w.paths:
            lines.append("point " + ", ".join(f"{k}={v}" for k, v in p["values"].items()))
        head = ["deployment", *[f"{label} ({u})" for _, label, u in keys]]
        rows = [[n, *[_fmt(_mean(d.get(k)), u) for k, _, u in keys]] for n, d in p["deployments"].items()]
        widths = [max(len(str(r[c])) for r in [head, *rows]) for c in range(len(head))]
        for r in [head, *rows]:
            lines.append("  ".join(str(v).rjust(wd) if c else str(v).ljust(wd) for c, (v, wd) in enumerate(zip(r, widths, strict=True))))
    if w.paths:
        lines.append("")
        lines.append("crossovers:" if w.crossovers else "crossovers: none in the swept range")
        for c in w.crossovers:
            fixed = ", ".join(f"{k}={v}" for k, v in c.get("fixed", {}).items())
            lines.append(f"  {c['metric']}: {c['a']} = {c['b']} at {c['path']} = {_fmt(c['at'])}"
                         + (f" ({fixed})" if fixed else ""))
    rec = w.recommendation
    lines.append("")
    lines.append(f"simulation picks: {rec['deployment'] or 'none'} ({rec['rule']})")
    eng = rec["simlab_recommend"]
    lines.append(f"simlab recommend: {eng.get('recommendation') or 'nothing'} — {eng['note']}")
    return "\n".join(lines) + "\n"
