"""Plain-text rendering of a run summary (the table ``simlab simulate`` prints)."""

from __future__ import annotations

from typing import Any

__all__ = ["summary_table", "fmt_ms"]

ROWS: list[tuple[str, Any]] = [
    ("type", lambda d: d["type"].replace("_", " ")),
    ("arrived", lambda d: f"{d['arrived']:,}"),
    ("completed", lambda d: f"{d['completed']:,}"),
    ("failed", lambda d: f"{d['failed']:,}"),
    ("throttled", lambda d: f"{d['throttled']:,}"),
    ("in flight", lambda d: f"{d['in_flight']:,}"),
    ("latency mean", lambda d: fmt_ms(d["latency_ms"]["mean"])),
    ("latency p50", lambda d: fmt_ms(d["latency_ms"]["p50"])),
    ("latency p95", lambda d: fmt_ms(d["latency_ms"]["p95"])),
    ("latency p99", lambda d: fmt_ms(d["latency_ms"]["p99"])),
    ("latency max", lambda d: fmt_ms(d["latency_ms"]["max"])),
    ("wait mean", lambda d: fmt_ms(d["wait_ms"]["mean"])),
    ("cold starts", lambda d: f"{d['cold_starts']:,}"),
    ("utilization", lambda d: f"{d['utilization']:.1%}"),
    ("instance hours", lambda d: _num(d["instance_hours"])),
    ("cost USD", lambda d: f"{d['cost_usd']:.4f}"),
    ("cost per 1k USD", lambda d: "-" if d["cost_per_1k_usd"] is None else f"{d['cost_per_1k_usd']:.5f}"),
]


def _rows(deps: dict[str, Any]) -> list[tuple[str, Any]]:
    """The rows to show: a feature's rows (simlab.features) only when some deployment's summary has it."""
    from simlab.features import registered

    rows = list(ROWS)
    for feature in registered():
        extra = getattr(feature, "table_rows", None)
        if extra is not None and any(feature.name in dep for dep in deps.values()):
            rows += [(label, _cell(feature.name, fmt)) for label, fmt in extra()]
    return rows


def _cell(key: str, fmt: Any) -> Any:
    """A row formatter fed with a deployment's ``key`` summary ("-" when it has none)."""
    return lambda d: fmt(d[key]) if key in d else "-"


def fmt_ms(x: float | None) -> str:
    """A duration given in ms, in the unit that reads best (ms, s, min, h)."""
    if x is None:
        return "-"
    for limit, scale, unit in ((1e3, 1.0, "ms"), (60e3, 1e3, "s"), (3600e3, 60e3, "min")):
        if abs(x) < limit:
            return f"{_num(x / scale)} {unit}"
    return f"{_num(x / 3600e3)} h"


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.3g}" if x else "0"


def summary_table(summary: dict[str, Any]) -> str:
    """A fixed-width table, one column per deployment."""
    deps = summary["deployments"]
    names = list(deps)
    rows = _rows(deps)
    cols = [[fmt(deps[n]) for _, fmt in rows] for n in names]
    label_w = max(len(label) for label, _ in rows)
    widths = [max(len(n), *(len(c) for c in col)) for n, col in zip(names, cols, strict=True)]
    head = (f"scenario {summary['scenario']}  seed {summary['seed']}  "
            f"{summary['duration_s'] / 3600:.3g} h simulated, statistics after {summary['warmup_s'] / 60:.3g} min warm-up\n\n")
    lines = [" " * label_w + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))]
    for r, (label, _) in enumerate(rows):
        cells = "  ".join(col[r].rjust(w) for col, w in zip(cols, widths, strict=True))
        lines.append(f"{label.ljust(label_w)}  {cells}")
    return head + "\n".join(lines + _feature_lines(summary)) + "\n"


def _feature_lines(summary: dict[str, Any]) -> list[str]:
    """Lines a feature prints under the table (its optional ``table_lines(summary)``)."""
    from simlab.features import registered

    out: list[str] = []
    for feature in registered():
        lines = getattr(feature, "table_lines", None)
        if lines is not None:
            out += lines(summary)
    return out
