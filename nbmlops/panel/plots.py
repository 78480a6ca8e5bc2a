"""Charts of runs for the compare panel, as inline SVG that follows the notebook's theme:
each metric across the runs, and one metric against one parameter.

Values are dots on an axis scaled to the data, never bars from zero, so 0.944 and 0.958 look
different. Text, axes and grid are drawn in placeholder colours that become JupyterLab's
theme variables in the SVG, on a transparent background: one drawing reads in light and
dark themes. matplotlib draws on ``Figure`` objects of its own, never pyplot, so the user's
backend and pyplot's open figures (which ``%%track`` records) stay untouched; it is imported
only when a chart is drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

from nbmlops.runs.diff import metric_direction
from nbmlops.runs.entities import RunSummary

#: Up to this many runs each dot is labelled with its run; beyond, the runs are only counted.
MAX_LABELLED = 30
_DOT = "#4c78a8"
_BEST = "#2e9e44"
# Placeholders no chart uses otherwise, replaced by the theme's colours in the SVG text.
_INK, _RULE = "#0a0b0c", "#0a0b0d"
_THEME = {_INK: "var(--jp-ui-font-color1, #333)", _RULE: "var(--jp-border-color2, #ccc)"}
_STYLE = {
    "text.color": _INK, "axes.labelcolor": _INK, "axes.edgecolor": _INK,
    "xtick.color": _INK, "ytick.color": _INK, "grid.color": _RULE,
    "figure.facecolor": "none", "axes.facecolor": "none", "savefig.transparent": True,
    "svg.fonttype": "none",  # text stays text: smaller, and in the page's font
}


def metrics_svg(
    runs: Sequence[RunSummary],
    metrics: Sequence[str],
    directions: Mapping[str, str] | None = None,
    x_param: str | None = None,
    recorded: Mapping[str, str] | None = None,
) -> str | None:
    """One small chart per metric: a dot per run, in the order of ``runs`` (the table's), or
    at the value of ``x_param`` when that is a number in every run; the best run green where
    the metric's direction is known (``directions`` configured, ``recorded`` by the code that
    computed it). None when there is nothing to draw."""
    metrics = [m for m in metrics if any(m in r.metrics for r in runs)]
    if not runs or not metrics:
        return None
    xs_param = [_number(r.params.get(x_param, "")) for r in runs] if x_param else []
    by_param = bool(xs_param) and all(x is not None for x in xs_param)
    with _style():
        fig = _figure(len(metrics))
        cols = min(3, len(metrics))
        rows = math.ceil(len(metrics) / cols)
        for n, name in enumerate(metrics):
            ax = fig.add_subplot(rows, cols, n + 1)
            values = [r.metrics.get(name, math.nan) for r in runs]
            direction = metric_direction(name, directions, recorded)
            xs: list[Any] = xs_param if by_param else list(range(len(runs)))
            ax.scatter(xs, values, c=_colours(values, direction), s=28, zorder=3)
            if by_param:
                assert x_param is not None
                ax.set_xlabel(x_param, fontsize=8)
                _log_if_wide(ax, xs)
            elif len(runs) <= MAX_LABELLED:
                ax.set_xticks(range(len(runs)), [_label(r) for r in runs], rotation=60,
                              ha="right", fontsize=7)
            else:
                ax.set_xlabel(f"{len(runs)} runs, in the table's order", fontsize=8)
                ax.set_xticks([])
            ax.margins(x=0.08, y=0.15)
            arrow = {"min": " (lower is better)", "max": " (higher is better)"}.get(
                direction or "", "")
            ax.set_title(name + arrow, fontsize=9)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", alpha=0.6)
        return _svg(fig)


def scatter_svg(runs: Sequence[RunSummary], metric: str, param: str) -> str | None:
    """``metric`` against the value of ``param`` for each run that has both; numeric params
    on a numeric axis, others as categories. None when no run has both."""
    points = [(r.params[param], r.metrics[metric]) for r in runs
              if param in r.params and metric in r.metrics]
    if not points:
        return None
    with _style():
        fig = _figure(1, size=(5.5, 3.6))
        ax = fig.add_subplot()
        numbers = [_number(p) for p, _ in points]
        ys = [y for _, y in points]
        if all(x is not None for x in numbers):
            ax.scatter(numbers, ys, color=_DOT, alpha=0.85, zorder=3)
            _log_if_wide(ax, numbers)
        else:
            categories = sorted({p for p, _ in points})
            index = {c: i for i, c in enumerate(categories)}
            ax.scatter([index[p] for p, _ in points], ys, color=_DOT, alpha=0.85, zorder=3)
            ax.set_xticks(range(len(categories)), [c[:20] for c in categories], rotation=30,
                          ha="right", fontsize=8)
        ax.margins(x=0.08, y=0.15)
        ax.set_xlabel(param)
        ax.set_ylabel(metric)
        ax.set_title(f"{metric} vs {param} ({len(points)} runs)", fontsize=10)
        ax.grid(alpha=0.6)
        return _svg(fig)


def _colours(values: Sequence[float], direction: str | None) -> list[str]:
    real = [v for v in values if not math.isnan(v)]
    if not direction or len(set(real)) < 2:
        return [_DOT] * len(values)
    best = min(real) if direction == "min" else max(real)
    return [_BEST if v == best else _DOT for v in values]


def _log_if_wide(ax: Any, xs: Sequence[Any]) -> None:
    if all(x is not None and x > 0 for x in xs) and max(xs) / min(xs) >= 100:
        ax.set_xscale("log")  # learning rates and the like


def _label(run: RunSummary) -> str:
    return f"{run.run_name[:14]} {run.run_id[:6]}"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(cast(Any, _STYLE))


def _figure(panels: int, size: tuple[float, float] | None = None) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(3, panels)
    rows = math.ceil(panels / cols)
    fig = Figure(figsize=size or (4.2 * cols, 2.9 * rows), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML prolog or doctype inside HTML
    # Its natural size, but never wider than the output area: it scales down, keeping shape.
    text = text.replace("<svg ", '<svg style="max-width: 100%; height: auto" ', 1)
    for placeholder, colour in _THEME.items():
        text = text.replace(placeholder, colour)
    return text
