"""HTML for runs: the values of table cells and the side-by-side diff of the compare panel.

Pure string building (no widgets, no MLflow), so every piece can be checked on its own and
reused by any front end that shows HTML. Colours are translucent so the same markup reads on
JupyterLab's light and dark themes; sizes come from the theme's CSS variables where it has
them.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence

from nbmlops.runs.diff import CodeDiff, RunDiff
from nbmlops.runs.entities import RunSummary

RunUrl = Callable[[RunSummary], "str | None"]

ROW_HEIGHT = 28  # px: the table's columns and its checkboxes line up on this
HEADER_HEIGHT = 30

CHANGED = "rgba(255, 183, 0, 0.22)"
BEST = "rgba(46, 160, 67, 0.20)"
SELECTED = "rgba(33, 150, 243, 0.14)"
ADDED = "rgba(46, 160, 67, 0.18)"
REMOVED = "rgba(248, 81, 73, 0.18)"
HUNK = "rgba(33, 150, 243, 0.12)"
DRIFT = "var(--jp-warn-color1, #f57c00)"
MUTED = "var(--jp-ui-font-color2, #757575)"
BORDER = "var(--jp-border-color2, #e0e0e0)"
MONO = "var(--jp-code-font-family, SFMono-Regular, Menlo, Consolas, monospace)"

#: One style sheet for the whole panel (an HTML widget may carry a <style> element).
STYLE = f"""<style>
.nbm-panel {{ font-size: var(--jp-ui-font-size1, 13px); }}
.nbm-col {{ display: flex; flex-direction: column; }}
.nbm-cell {{ height: {ROW_HEIGHT}px; line-height: {ROW_HEIGHT}px; padding: 0 10px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 26em;
  border-bottom: 1px solid {BORDER}; box-sizing: border-box; }}
.nbm-num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.nbm-mono {{ font-family: {MONO}; font-size: 0.92em; }}
.nbm-muted {{ color: {MUTED}; }}
.nbm-id {{ color: {MUTED}; font-family: {MONO}; font-size: 0.85em; margin-left: 6px; }}
.nbm-best {{ font-weight: 600; }}
.nbm-diff {{ line-height: 1.45; }}
.nbm-diff h4 {{ margin: 14px 0 6px 0; font-size: 1.05em; }}
.nbm-diff table {{ border-collapse: collapse; }}
.nbm-diff th, .nbm-diff td {{ padding: 4px 12px; border-bottom: 1px solid {BORDER};
  text-align: left; vertical-align: top; }}
.nbm-diff thead th {{ border-bottom: 2px solid {BORDER}; }}
.nbm-diff tbody th {{ font-weight: 500; }}
.nbm-badge {{ border-radius: 8px; padding: 1px 8px; font-size: 0.85em; }}
.nbm-champion {{ background: #fff5b1; }}
.nbm-code {{ font-family: {MONO}; font-size: 0.9em; margin: 4px 0 10px 0; padding: 6px 0;
  border: 1px solid {BORDER}; border-radius: 4px; overflow-x: auto; }}
.nbm-drift {{ color: {DRIFT}; font-size: 0.9em; white-space: normal; }}
.nbm-drift div {{ margin: 1px 0; }}
.nbm-code div {{ white-space: pre; padding: 0 10px; min-height: 1.3em; }}
</style>"""


# --- values --------------------------------------------------------------------------------


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt_number(value: float | None) -> str:
    """Metric values with 4 significant digits; whole numbers as such."""
    if value is None:
        return ""
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.4g}"


def fmt_time(ms: int | None) -> str:
    """Local time of an MLflow timestamp (ms since the epoch)."""
    if not ms:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


_STATUS_COLOURS = {
    "FINISHED": "#2e9e44",
    "FAILED": "#d73a49",
    "KILLED": "#b08800",
    "RUNNING": "#2188ff",
    "SCHEDULED": "#6a737d",
}


def status_html(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, "#6a737d")
    dot = f'<span style="color: {colour}">●</span>'
    return f"{dot} {esc(status.lower())}"


def run_name_html(run: RunSummary, url: str | None) -> str:
    name = esc(run.run_name or run.run_id[:8])
    if url:
        name = f'<a href="{esc(url)}" target="_blank" title="open in MLflow">{name}</a>'
    if run.reproduces:  # stands under the run it reproduces
        name = (f'<span class="nbm-muted" title="nbmlops reproduce re-ran run '
                f'{esc(run.reproduces)}">↳ ↻ </span>{name}')
    if run.candidates:  # folded below the table
        name += (f' <span class="nbm-muted" title="the search\'s best candidates: below the '
                 f'table">⌕ {len(run.candidates)}</span>')
    return (f'{name}<span class="nbm-id" title="{esc(run.run_id)}">{esc(run.run_id[:8])}</span>'
            + reproducibility_html(run))


def candidates_html(runs: Sequence[RunSummary]) -> str:
    """For each run on the page that searched: its candidates, ranked, with the settings
    each tried and its scores, in a fold (closed) named after the run."""
    folds = []
    for run in runs:
        by_search: dict[str, list[RunSummary]] = {}
        for child in run.candidates:
            by_search.setdefault(child.candidate_of or "search", []).append(child)
        for search, ranked in by_search.items():
            scores = sorted({k for c in ranked for k in c.metrics
                             if k.startswith(("mean_test_", "std_test_")) or k == "value"})
            rows = "".join(
                f'<tr><td class="nbm-muted">#{esc(c.candidate_rank or "?")}</td>'
                f'<td>{esc(" ".join(f"{k}={v}" for k, v in sorted(c.params.items())))}</td>'
                + "".join(f"<td>{esc(fmt_number(c.metrics.get(k)))}</td>" for k in scores)
                + "</tr>" for c in ranked)
            head = ('<tr><th>rank</th><th>settings</th>'
                    + "".join(f"<th>{esc(k)}</th>" for k in scores) + "</tr>")
            folds.append(
                f'<details class="nbm-candidates"><summary>{esc(search)}: {len(ranked)} '
                f'candidates <span class="nbm-muted">of run {esc(run.run_name)} '
                f'{esc(run.run_id[:8])}</span></summary>'
                f'<table>{head}{rows}</table></details>')
    return f'<div class="nbm-diff">{"".join(folds)}</div>' if folds else ""


def reproducibility_html(run: RunSummary) -> str:
    """Beside a run's name: ``stale`` when an input came from code that is not the
    notebook's any more (the reasons as tooltip), and ``nbmlops reproduce``'s verdict once
    there is one. An ``unsure`` slice is not flagged: it is in the run's tags."""
    parts = []
    if run.slice_verdict == "stale":
        reasons = esc("\n".join(run.slice_reasons))
        parts.append(f'<span style="color: {DRIFT}" title="{reasons}">stale</span>')
    if run.reproduced:
        said = {"yes": "reproduced", "within-tolerance": "reproduced within tolerance",
                "no": "not reproduced"}.get(run.reproduced, run.reproduced)
        parts.append(f'<span class="nbm-muted" title="nbmlops reproduce">{esc(said)}</span>')
    return "".join(f' <span class="nbm-badge">{part}</span>' for part in parts)


def champion_html(models: Sequence[str] | None) -> str:
    """A badge on the run whose model is the champion: ``★ champion churn v3``."""
    if not models:
        return ""
    names = ", ".join(models)
    return (f' <span class="nbm-badge nbm-champion" title="its model is the champion: '
            f'{esc(names)}">★ champion {esc(names)}</span>')


def data_html(run: RunSummary, limit: int = 2) -> str:
    """Short fingerprints of the data the run read: ``X_train 3fdc6428 · y 1a2b3c4d +2``;
    the tooltip lists them all."""
    inputs = run.inputs
    parts = [
        f'{esc(_short_name(d.name))} <span class="nbm-mono">{esc(d.short)}</span>'
        for d in inputs[:limit]
    ]
    if len(inputs) > limit:
        parts.append(f'<span class="nbm-muted">+{len(inputs) - limit}</span>')
    every = "\n".join(f"{d.name} {d.fingerprint}" for d in inputs)
    return f'<span title="{esc(every)}">{" · ".join(parts)}</span>' if parts else ""


def _short_name(name: str) -> str:
    # File inputs are named by their absolute path; the file name is what a reader knows.
    return name.rsplit("/", 1)[-1] if "/" in name else name


def column_html(cells: Sequence[str], selected: Sequence[bool], numeric: bool = False) -> str:
    """One table column: a fixed-height div per row, so separate columns line up."""
    cls = "nbm-cell nbm-num" if numeric else "nbm-cell"
    rows = []
    for cell, chosen in zip(cells, selected, strict=True):
        style = f' style="background: {SELECTED}"' if chosen else ""
        rows.append(f'<div class="{cls}"{style}>{cell or "&nbsp;"}</div>')
    return f'<div class="nbm-col">{"".join(rows)}</div>'


# --- the side-by-side diff -----------------------------------------------------------------


def diff_html(diff: RunDiff, run_url: RunUrl) -> str:
    """The diff of two or more runs as one HTML fragment: params, metrics, data,
    environment and code, the runs side by side."""
    head = _run_headers(diff.runs, run_url)
    parts = [
        '<div class="nbm-diff">',
        _metrics_section(diff, head),  # what the runs achieved, then what changed
        _params_section(diff, head),
        _data_section(diff, head),
        _environment_section(diff, head),
        _code_section(diff),
        "</div>",
    ]
    return "".join(parts)


def _run_headers(runs: Sequence[RunSummary], run_url: RunUrl) -> str:
    cells = "".join(
        f"<th>{run_name_html(r, run_url(r))}<br>"
        f'<span class="nbm-muted" style="font-weight: normal; font-size: 0.85em">'
        f"{esc(fmt_time(r.start_time))}</span></th>"
        for r in runs
    )
    return f"<thead><tr><th></th>{cells}</tr></thead>"


def _table(head: str, rows: Sequence[str]) -> str:
    return f"<table>{head}<tbody>{''.join(rows)}</tbody></table>"


def _params_section(diff: RunDiff, head: str) -> str:
    if not diff.params:
        return '<h4>Parameters</h4><div class="nbm-muted">no parameters</div>'
    changed = [p for p in diff.params if p.differs]
    same = [p for p in diff.params if not p.differs]
    rows = []
    for p in changed:
        baseline = p.values[0]
        cells = "".join(
            f"<td><b>{_value(v)}</b></td>" if i and v != baseline else f"<td>{_value(v)}</td>"
            for i, v in enumerate(p.values)
        )
        rows.append(f'<tr style="background: {CHANGED}"><th>{esc(p.name)}</th>{cells}</tr>')
    title = f"Parameters <span class=\"nbm-muted\">({len(changed)} differ)</span>"
    out = f"<h4>{title}</h4>" + (_table(head, rows) if rows else "")
    if same:
        # The agreeing ones (often dozens of a pipeline's settings) stay folded.
        quiet = [
            f'<tr><th class="nbm-muted">{esc(p.name)}</th>'
            + "".join(f'<td class="nbm-muted">{_value(v)}</td>' for v in p.values) + "</tr>"
            for p in same
        ]
        out += (f'<details><summary class="nbm-muted">{len(same)} the same in every run'
                f"</summary>{_table(head, quiet)}</details>")
    return out


def _value(value: str | None) -> str:
    return '<span class="nbm-muted">—</span>' if value is None else esc(value)


def _metrics_section(diff: RunDiff, head: str) -> str:
    if not diff.metrics:
        return '<h4>Metrics</h4><div class="nbm-muted">no metrics</div>'
    rows = []
    for m in diff.metrics:
        arrow = {"min": " ↓", "max": " ↑"}.get(m.direction or "", "")
        hint = {"min": "lower is better", "max": "higher is better"}.get(
            m.direction or "", "which value is better is not known"
        )
        cells = []
        for i, v in enumerate(m.values):
            if v is None:
                cells.append(f"<td>{_value(None)}</td>")
            elif i in m.best:
                cells.append(
                    f'<td class="nbm-num nbm-best" style="background: {BEST}" '
                    f'title="best">{esc(fmt_number(v))} ★</td>'
                )
            else:
                cells.append(f'<td class="nbm-num">{esc(fmt_number(v))}</td>')
        rows.append(
            f'<tr><th title="{hint}">{esc(m.name)}<span class="nbm-muted">{arrow}</span></th>'
            f"{''.join(cells)}</tr>"
        )
    return f"<h4>Metrics <span class=\"nbm-muted\">(★ best)</span></h4>{_table(head, rows)}"


_DATA_BADGES = {
    "same": ("same", "rgba(110, 118, 129, 0.18)"),
    "changed": ("changed", CHANGED),
    "missing": ("not in every run", "rgba(110, 118, 129, 0.18)"),
}


def _data_section(diff: RunDiff, head: str) -> str:
    if not diff.data:
        return '<h4>Data</h4><div class="nbm-muted">no data recorded</div>'
    rows = []
    for d in diff.data:
        label, colour = _DATA_BADGES[d.status]
        badge = f'<span class="nbm-badge" style="background: {colour}">{label}</span>'
        cells = "".join(
            f'<td class="nbm-mono" title="{esc(f or "")}">{esc(f[:8]) if f else _value(None)}</td>'
            for f in d.fingerprints
        )
        style = f' style="background: {CHANGED}"' if d.status == "changed" else ""
        rows.append(
            f"<tr{style}><th>{esc(_short_name(d.name))} "
            f'<span class="nbm-muted">{esc(d.context)}</span> {badge}</th>{cells}</tr>'
        )
        if d.drift:
            rows.append(_drift_row(d.drift))
    return f"<h4>Data</h4>{_table(head, rows)}"


def _drift_row(per_run: Sequence[Sequence[str]]) -> str:
    """The data checks' alerts under a data row: per run, what changed since that run's
    previous run of the cell."""
    cells = "".join(
        '<td class="nbm-drift" role="alert">'
        + "".join(f"<div>⚠ {esc(line)}</div>" for line in lines) + "</td>"
        if lines else "<td></td>"
        for lines in per_run
    )
    return f'<tr><th class="nbm-muted">data drift</th>{cells}</tr>'



def _environment_section(diff: RunDiff, head: str) -> str:
    if not diff.packages:
        return '<h4>Environment</h4><div class="nbm-muted">same Python and package versions</div>'
    rows = [
        f'<tr style="background: {CHANGED}"><th>{esc(p.name)}</th>'
        + "".join(f"<td>{_value(v)}</td>" for v in p.versions)
        + "</tr>"
        for p in diff.packages
    ]
    return "<h4>Environment <span class=\"nbm-muted\">(versions that differ)</span></h4>" + (
        _table(head, rows)
    )


def _code_section(diff: RunDiff) -> str:
    names = {r.run_id: f"{r.run_name} ({r.run_id[:8]})" for r in diff.runs}
    parts = ["<h4>Code</h4>"]
    for c in diff.code:
        title = f"{esc(names[c.baseline_run_id])} → {esc(names[c.run_id])}"
        parts.append(f"<div><b>{title}</b> {_code_state(c)}</div>")
        if c.diff:
            parts.append(code_diff_html(c.diff))
    return "".join(parts)


def _code_state(c: CodeDiff) -> str:
    if c.same:
        return '<span class="nbm-muted">same code</span>'
    if c.missing:
        return '<span class="nbm-muted">code not recorded for one of the runs</span>'
    return ""


def code_diff_html(unified: str) -> str:
    """A unified diff with added, removed and hunk lines highlighted."""
    lines = []
    for line in unified.splitlines():
        if line.startswith(("+++", "---")):
            style = "font-weight: 600"
        elif line.startswith("+"):
            style = f"background: {ADDED}"
        elif line.startswith("-"):
            style = f"background: {REMOVED}"
        elif line.startswith("@@"):
            style = f"background: {HUNK}; color: {MUTED}"
        else:
            style = ""
        attr = f' style="{style}"' if style else ""
        lines.append(f"<div{attr}>{esc(line) or '&nbsp;'}</div>")
    return f'<div class="nbm-code">{"".join(lines)}</div>'
