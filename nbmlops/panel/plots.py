"""PNG charts of runs for the compare panel: each metric across runs, and one metric against
one parameter.

matplotlib draws through its Agg canvas on ``Figure`` objects of its own, never pyplot: the
user's backend and pyplot's list of open figures (which ``%%track`` records) stay untouched.
It is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from nbmlops.runs.diff import metric_direction
from nbmlops.runs.entities import RunSummary

#: Up to this many runs a metric is drawn as bars (one per run), beyond as a line over time.
MAX_BARS = 30
_BAR = "#4c78a8"
_BEST = "#2e9e44"


def metrics_png(
    runs: Sequence[RunSummary],
    metrics: Sequence[str],
    directions: Mapping[str, str] | None = None,
) -> bytes | None:
    """One small chart per metric, the runs in the order they started; the best run's bar
    in green where the metric's direction is known. None when there is nothing to draw."""
    ordered = sorted(runs, key=lambda r: r.start_time or 0)
    metrics = [m for m in metrics if any(m in r.metrics for r in ordered)]
    if not ordered or not metrics:
        return None
    figure_cls, canvas_cls = _matplotlib()
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = figure_cls(figsize=(4.2 * cols, 2.9 * rows), layout="constrained", dpi=100)
    canvas_cls(fig)
    labels = [_label(r) for r in ordered]
    for n, name in enumerate(metrics):
        ax = fig.add_subplot(rows, cols, n + 1)
        values = [r.metrics.get(name, math.nan) for r in ordered]
        direction = metric_direction(name, directions)
        if len(ordered) <= MAX_BARS:
            colours = [_BAR] * len(values)
            real = [v for v in values if not math.isnan(v)]
            if direction and len(set(real)) > 1:
                best = min(real) if direction == "min" else max(real)
                colours = [_BEST if v == best else _BAR for v in values]
            ax.bar(range(len(values)), values, color=colours)
            ax.set_xticks(range(len(values)), labels, rotation=60, ha="right", fontsize=7)
        else:
            import datetime as dt

            times = [dt.datetime.fromtimestamp((r.start_time or 0) / 1000) for r in ordered]
            ax.plot(times, values, marker=".", color=_BAR, linewidth=1)
            fig.autofmt_xdate()
        arrow = {"min": " (lower is better)", "max": " (higher is better)"}.get(direction or "", "")
        ax.set_title(name + arrow, fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def scatter_png(runs: Sequence[RunSummary], metric: str, param: str) -> bytes | None:
    """``metric`` against the value of ``param`` for each run that has both; numeric params
    on a numeric axis, others as categories. None when no run has both."""
    points = [(r.params[param], r.metrics[metric]) for r in runs
              if param in r.params and metric in r.metrics]
    if not points:
        return None
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=(5.5, 3.6), layout="constrained", dpi=100)
    canvas_cls(fig)
    ax = fig.add_subplot()
    numbers = [_number(p) for p, _ in points]
    ys = [y for _, y in points]
    if all(x is not None for x in numbers):
        xs: list[Any] = numbers
        ax.scatter(xs, ys, color=_BAR, alpha=0.8)
        positive = all(x is not None and x > 0 for x in numbers)
        if positive and max(xs) / min(xs) >= 100:  # learning rates and the like
            ax.set_xscale("log")
    else:
        categories = sorted({p for p, _ in points})
        index = {c: i for i, c in enumerate(categories)}
        ax.scatter([index[p] for p, _ in points], ys, color=_BAR, alpha=0.8)
        ax.set_xticks(range(len(categories)), [c[:20] for c in categories], rotation=30,
                      ha="right", fontsize=8)
    ax.set_xlabel(param)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} vs {param} ({len(points)} runs)", fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def _label(run: RunSummary) -> str:
    return f"{run.run_name[:14]} {run.run_id[:6]}"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _matplotlib() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    return Figure, FigureCanvasAgg


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
