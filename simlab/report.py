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
    ("latency mean ms", lambda d: _num(d["latency_ms"]["mean"])),
    ("latency p50 ms", lambda d: _num(d["latency_ms"]["p50"])),
    ("latency p95 ms", lambda d: _num(d["latency_ms"]["p95"])),
    ("latency p99 ms", lambda d: _num(d["latency_ms"]["p99"])),
    ("latency max ms", lambda d: _num(d["latency_ms"]["max"])),
    ("wait mean ms", lambda d: _num(d["wait_ms"]["mean"])),
    ("cold starts", lambda d: f"{d['cold_starts']:,}"),
    ("utilization", lambda d: f"{d['utilization']:.1%}"),
    ("instance hours", lambda d: _num(d["instance_hours"])),
    ("cost USD", lambda d: f"{d['cost_usd']:.4f}"),
    ("cost per 1k USD", lambda d: "-" if d["cost_per_1k_usd"] is None else f"{d['cost_per_1k_usd']:.5f}"),
]


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:,.3g}" if x else "0"


def summary_table(summary: dict[str, Any]) -> str:
    """A fixed-width table, one column per deployment."""
    deps = summary["deployments"]
    names = list(deps)
    cols = [[fmt(deps[n]) for _, fmt in ROWS] for n in names]
    label_w = max(len(label) for label, _ in ROWS)
    widths = [max(len(n), *(len(c) for c in col)) for n, col in zip(names, cols, strict=True)]
    head = (f"scenario {summary['scenario']}  seed {summary['seed']}  "
            f"{summary['duration_s'] / 3600:.3g} h simulated, statistics after {summary['warmup_s'] / 60:.3g} min warm-up\n\n")
    lines = [" " * label_w + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))]
    for r, (label, _) in enumerate(ROWS):
        cells = "  ".join(col[r].rjust(w) for col, w in zip(cols, widths, strict=True))
        lines.append(f"{label.ljust(label_w)}  {cells}")
    return head + "\n".join(lines) + "\n"
