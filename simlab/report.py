"""Plain-text rendering of a run summary (the table ``simlab simulate`` prints)."""

from __future__ import annotations

from typing import Any

__all__ = ["summary_table"]

ROWS: list[tuple[str, Any]] = [
    ("type", lambda d: d["type"].replace("_", " ")),
    ("arrived", lambda d: f"{d['arrived']:,}"),
    ("completed", lambda d: f"{d['completed']:,}"),
    ("failed", lambda d: f"{d['failed']:,}"),
    ("throttled", lambda d: f"{d['throttled']:,}"),
    ("in flight", lambda d: f"{d['in_flight']:,}"),
    ("latency mean", lambda d: _ms(d["latency_ms"]["mean"])),
    ("latency p50", lambda d: _ms(d["latency_ms"]["p50"])),
    ("latency p95", lambda d: _ms(d["latency_ms"]["p95"])),
    ("latency p99", lambda d: _ms(d["latency_ms"]["p99"])),
    ("latency max", lambda d: _ms(d["latency_ms"]["max"])),
    ("wait mean", lambda d: _ms(d["wait_ms"]["mean"])),
    ("cold starts", lambda d: f"{d['cold_starts']:,}"),
    ("utilization", lambda d: f"{d['utilization']:.1%}"),
    ("instance hours", lambda d: _num(d["instance_hours"])),
    ("cost USD", lambda d: f"{d['cost_usd']:.4f}"),
    ("cost per 1k USD", lambda d: "-" if d["cost_per_1k_usd"] is None else f"{d['cost_per_1k_usd']:.5f}"),
]


MONITOR_ROWS: list[tuple[str, Any]] = [
    ("monitor executions", lambda m: f"{m['executions']:,}"),
    ("violations", lambda m: f"{m['violations']:,}"),
    *[(f"first {kind.replace('_', ' ')} alarm", lambda m, k=kind: _ms(None if m["first_alarm_s"][k] is None
                                                                    else m["first_alarm_s"][k] * 1000))
      for kind in ("data_quality", "model_quality", "estimated_performance", "bias_drift",
                   "feature_attribution_drift")],
    ("retrainings", lambda m: f"{m['retrainings']:,}"),
    ("training cost USD", lambda m: f"{m['training_cost_usd']:.4f}"),
]


def _rows(deps: dict[str, Any]) -> list[tuple[str, Any]]:
    """The rows to show: monitoring rows only when some deployment is monitored."""
    if not any("monitoring" in d for d in deps.values()):
        return ROWS
    wrap = lambda fmt: lambda d: fmt(d["monitoring"]) if "monitoring" in d else "-"  # noqa: E731
    return ROWS + [(label, wrap(fmt)) for label, fmt in MONITOR_ROWS]


def _ms(x: float | None) -> str:
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
    return head + "\n".join(lines + _alarm_lines(summary.get("alarms"))) + "\n"


def _alarm_lines(alarms: dict[str, Any] | None) -> list[str]:
    """One line per alarm: final state, first ALARM, time in ALARM, transitions."""
    if not alarms:
        return []
    width = max(len(name) for name in alarms)
    lines = ["", "alarms"]
    for name, a in alarms.items():
        first = "never in ALARM" if a["first_alarm_s"] is None else f"first ALARM at {_ms(a['first_alarm_s'] * 1000)}"
        lines.append(f"  {name.ljust(width)}  {a['state']:<17}  {first}, {_ms(a['time_in_alarm_s'] * 1000)} in ALARM, "
                     f"{len(a['transitions'])} transitions")
    return lines
