"""Static matplotlib figures for reports and notebooks (Agg canvas; no pyplot, no GUI).

Every function returns a :class:`matplotlib.figure.Figure` (shown inline by Jupyter). Bands are
drawn over replications: the line is the mean across replications, the band spans min–max.
``to_png(fig)`` gives PNG bytes for reports.

    from simlab import plots
    fig = plots.latency_cdf({"rt": [q_rep1, q_rep2]}, quantiles)
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["figure", "to_png", "latency_cdf", "timeline", "bars", "metric_vs_value", "pareto_front",
           "cost_vs_p99"]

SIZE = (7.0, 3.6)


def figure(size: tuple[float, float] = SIZE) -> tuple[Figure, object]:
    """A new figure on an Agg canvas and its single axes."""
    fig = Figure(figsize=size, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _stack(reps: Sequence[Sequence[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in r] for r in reps], dtype=float)


def _band(ax, x, reps, label: str, step: bool = False) -> None:
    arr = _stack(reps)
    if arr.size == 0:
        return
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bins (no request in a bin)
        mean, lo, hi = np.nanmean(arr, 0), np.nanmin(arr, 0), np.nanmax(arr, 0)
    (line,) = ax.plot(x, mean, label=label, drawstyle="steps-post" if step else "default")
    if arr.shape[0] > 1:
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0,
                        step="post" if step else None)


def latency_cdf(cdfs: Mapping[str, Sequence[Sequence[float]]], quantiles: Sequence[float], *,
                title: str = "Latency CDF (band: min–max over replications)") -> Figure:
    """Per deployment, latency (log x) against the share of requests answered within it."""
    fig, ax = figure()
    q = np.asarray(quantiles, dtype=float)
    for name, reps in cdfs.items():
        reps = [r for r in reps if len(r)]
        if not reps:
            continue
        arr = _stack(reps)
        mean = np.mean(arr, 0)
        (line,) = ax.plot(np.maximum(mean, 1e-3), q, label=name)
        if arr.shape[0] > 1:
            ax.fill_betweenx(q, np.maximum(arr.min(0), 1e-3), np.maximum(arr.max(0), 1e-3),
                             color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("share of completed requests")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def timeline(t_s: Sequence[float], series: Mapping[str, Sequence[Sequence[float | None]]], *, ylabel: str,
             title: str, log: bool = False, step: bool = False) -> Figure:
    """One line (with a replication band) per deployment over simulated time (hours)."""
    fig, ax = figure()
    x = np.asarray(t_s, dtype=float) / 3600.0
    for name, reps in series.items():
        _band(ax, x, reps, name, step=step)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("simulated time (h)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", ncol=2 if len(series) > 6 else 1)
    return fig


def bars(values: Mapping[str, Mapping[str, float]], *, ylabel: str, title: str) -> Figure:
    """Grouped bars: ``values[group][deployment]`` (e.g. cold starts and errors per deployment)."""
    fig, ax = figure()
    groups = list(values)
    names = sorted({n for g in values.values() for n in g})
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(names))
    for k, g in enumerate(groups):
        ax.bar(x + k * width, [values[g].get(n, 0.0) for n in names], width, label=g)
    ax.set_xticks(x + width * (len(groups) - 1) / 2, names, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def metric_vs_value(x: Sequence[float], lines: Mapping[str, tuple[Sequence, Sequence, Sequence]], *,
                    xlabel: str, ylabel: str, title: str, marks: Sequence[tuple[float, str]] = (),
                    hline: tuple[float, str] | None = None, logx: bool = False, logy: bool = False) -> Figure:
    """Mean of a metric against the varied value, with 95 % intervals as error bars.

    ``lines[name] = (mean, ci_lo, ci_hi)``; ``marks`` are vertical lines (crossovers) with labels;
    ``hline`` a horizontal reference (the SLO).
    """
    fig, ax = figure()
    xs = np.asarray(x, dtype=float)
    for name, (mean, lo, hi) in lines.items():
        m = np.array([np.nan if v is None else v for v in mean], dtype=float)
        lo_ = np.array([np.nan if v is None else v for v in lo], dtype=float)
        hi_ = np.array([np.nan if v is None else v for v in hi], dtype=float)
        err = np.vstack([np.where(np.isnan(lo_), 0, m - lo_), np.where(np.isnan(hi_), 0, hi_ - m)])
        ax.errorbar(xs, m, yerr=np.maximum(err, 0), marker="o", ms=3, capsize=3, label=name)
    for at, label in marks:
        ax.axvline(at, color="0.3", linestyle=":", linewidth=1)
        ax.annotate(label, (at, 1.0), xycoords=("data", "axes fraction"), rotation=90, va="top",
                    ha="right", fontsize="x-small", color="0.25")
    if hline is not None:
        ax.axhline(hline[0], color="crimson", linestyle="--", linewidth=1, label=hline[1])
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def pareto_front(cost: Sequence[float], p99: Sequence[float]) -> list[int]:
    """Indices of the options no other option beats on both cost and p99 (ties kept)."""
    c, p = np.asarray(cost, dtype=float), np.asarray(p99, dtype=float)
    front = []
    for i in range(len(c)):
        dominated = np.any((c <= c[i]) & (p <= p[i]) & ((c < c[i]) | (p < p[i])))
        if not dominated and np.isfinite(c[i]) and np.isfinite(p[i]):
            front.append(i)
    return front


def cost_vs_p99(cost: Sequence[float], p99: Sequence[float], labels: Sequence[str], *,
                title: str = "Cost vs p99: the options no other beats on both are joined",
                slo_ms: float | None = None) -> Figure:
    """Scatter of options (cost, p99), the Pareto front joined and labelled."""
    fig, ax = figure((7.0, 4.2))
    c, p = np.asarray(cost, dtype=float), np.asarray(p99, dtype=float)
    front = pareto_front(c, p)
    ax.scatter(c, p, s=14, color="0.6", label="option")
    if front:
        order = sorted(front, key=lambda i: c[i])
        ax.plot(c[order], p[order], "o-", color="tab:blue", ms=5, label="not beaten on both")
        for i in order:
            ax.annotate(labels[i], (c[i], p[i]), textcoords="offset points", xytext=(4, 4), fontsize="x-small")
    if slo_ms is not None:
        ax.axhline(slo_ms, color="crimson", linestyle="--", linewidth=1, label=f"SLO p99 {slo_ms:g} ms")
    if np.all(p[np.isfinite(p)] > 0) and np.isfinite(p).any():
        ax.set_yscale("log")
    ax.set_xlabel("cost (USD over the simulated period)")
    ax.set_ylabel("p99 latency (ms)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig
