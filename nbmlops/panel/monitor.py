"""``%mlops monitor`` in the notebook: each job's overview as text, and its drift per column
over the scoring runs drawn as small inline SVG lines (no plotting library: the overview is
a few numbers per run, and the notebook shows it at once).

A column's line rises with its drift statistic; the runs where the column drifted are red
dots. Every line of a job shares one scale, so a column that moves much stands out.
"""

from __future__ import annotations

import html as html_
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT = 220, 34
_LINE, _DRIFTED = "#4c78a8", "#cf222e"


def points(values: Sequence[float | None], top: float, width: int = WIDTH,
           height: int = HEIGHT) -> list[tuple[float, float, int]]:
    """``(x, y, index)`` of each measured value: x spread over the width (one run in the
    middle), y from the bottom (0) to the top (``top``), 2 pixels kept at each edge."""
    n = len(values)
    out = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = width / 2 if n == 1 else 2 + i * (width - 4) / (n - 1)
        share = min(max(v / top, 0.0), 1.0) if top > 0 else 0.0
        out.append((round(x, 1), round(height - 2 - share * (height - 4), 1), i))
    return out


def column_svg(values: Sequence[float | None], drifted: Sequence[bool], top: float,
               label: str) -> str:
    """One column's line, its drifted runs as red dots."""
    found = points(values, top)
    line = " ".join(f"{x},{y}" for x, y, _ in found)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{_DRIFTED}"/>'
                   for x, y, i in found if i < len(drifted) and drifted[i])
    return (f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'role="img" aria-label="{html_.escape(label)}"><title>{html_.escape(label)}'
            f'</title><polyline points="{line}" fill="none" stroke="{_LINE}" '
            f'stroke-width="1.5"/>{dots}</svg>')


def job_html(found: Any) -> str:
    """A job's drift per column (a :class:`nbmlops.jobs.monitor_overview.JobMonitor`)."""
    if not found.columns:
        return ""
    top = max((v for s in found.columns for v in s.values if v is not None), default=0.0)
    rows = []
    for s in found.columns:
        last = next((v for v in reversed(s.values) if v is not None), None)
        shown = f"{last:.3g}" if last is not None else "-"
        label = (f"{s.column}: {s.statistic} over {len(s.values)} runs, newest {shown}"
                 + (", drifted" if s.drifted and s.drifted[-1] else ""))
        colour = f";color:{_DRIFTED}" if s.drifted and s.drifted[-1] else ""
        rows.append(f'<tr><th style="text-align:left{colour}">{html_.escape(s.column)}</th>'
                    f"<td>{column_svg(s.values, s.drifted, top, label)}</td>"
                    f"<td>{html_.escape(s.statistic)} {shown}</td></tr>")
    return (f'<div class="nbmlops-monitor-job"><b>{html_.escape(found.job)}</b>: drift per '
            f"column over {len(found.runs)} scoring runs, oldest left (red: drifted)"
            f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>')


def html(overviews: Sequence[Any], text: str) -> str:
    """The text overview, then each job's drift lines."""
    charts = "".join(job_html(f) for f in overviews)
    return (f'<div class="nbmlops-monitor"><pre>{html_.escape(text)}</pre>{charts}</div>')
