"""What a monitored batch looked like, for people and for tools: ``monitor/report.json`` and a
self-contained HTML page (no script, no external file) with each column's distribution
beside the reference's, what drifted, and since when.

Pure: sketches and findings in, a dict or a string out.
"""

from __future__ import annotations

import html as html_lib
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from nbmlops.monitor.drift import ColumnDrift, Policy
from nbmlops.monitor.sketch import UNSEEN, ColumnLayout, ColumnSketch, Layout, Sketch

__all__ = ["QUANTILES", "describe", "figures", "html", "report"]

VERSION = 1
#: Quantiles reported of numeric columns (of predictions above all).
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Bars drawn per numeric column: the reference's fine bins pooled into this many.
BARS = 20
#: Columns charted in the page (drifted ones first); the table lists every column.
CHARTS = 40


def describe(col: ColumnLayout, counts: ColumnSketch) -> dict[str, Any]:
    """One column of a batch in figures: mean, standard deviation and quantiles of numbers
    (quantiles read off the reference's bins), each class's share of categories."""
    n = counts.values
    if col.kind == "numeric":
        # Sums leave infinities out and the count keeps them: an infinite score is rare
        # enough not to carry a count of its own.
        mean = counts.total / n if n else math.nan
        variance = counts.squares / n - mean * mean if n else math.nan
        return {"count": n, "mean": _round(mean),
                "std": _round(math.sqrt(max(variance, 0.0))) if n else None,
                "quantiles": {f"{q:g}": _round(_quantile(col, counts.counts, q))
                              for q in QUANTILES}}
    if col.kind == "categorical":
        labels = [*col.categories, UNSEEN]
        return {"count": n, "shares": {label: _round(c / n) if n else None
                                       for label, c in zip(labels, counts.counts, strict=True)
                                       if c or label != UNSEEN}}
    return {"count": n}


def _quantile(col: ColumnLayout, counts: Sequence[int], q: float) -> float:
    """The ``q`` quantile, linear within the bin it falls in; the outer bins are read as
    ending at the reference's range."""
    total = sum(counts)
    if not total or not col.edges:
        return math.nan
    target = q * total
    seen = 0
    for i, c in enumerate(counts):
        if c and seen + c >= target:
            lo = col.edges[max(i - 1, 0)]
            hi = col.edges[min(i, len(col.edges) - 1)]
            return lo + (hi - lo) * (target - seen) / c
        seen += c
    return col.edges[-1]


def report(
    layout: Layout,
    reference: Sketch,
    batch: Sketch,
    findings: Sequence[ColumnDrift],
    *,
    policy: Policy | None = None,
    since: Mapping[str, str] | None = None,
    about: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON report: ``about`` (model, version, job, run, when), the rule's settings, and
    per column its verdict, figures, and its batch and reference described. ``since`` gives,
    per drifted column, the first run of its current drift."""
    since = since or {}
    columns = []
    for d in findings:
        col = layout.columns[d.column]
        columns.append({
            **d.to_json(),
            "since": since.get(d.column) if d.drifted else None,
            "batch": describe(col, batch.columns[d.column]),
            "reference": describe(col, reference.columns[d.column]),
        })
    return {
        "version": VERSION,
        "about": dict(about or {}),
        "rows": {"batch": batch.rows, "reference": reference.rows},
        "policy": vars(policy or Policy()),
        "drifted": any(d.drifted for d in findings),
        "drifted_columns": [d.column for d in findings if d.drifted],
        "columns": columns,
    }


def figures(data: Mapping[str, Any]) -> dict[str, float]:
    """A report in a few numbers, the scoring run's metrics and what a retraining policy
    reads: the count and share of drifted columns and the largest of each figure over the
    columns (``wasserstein``, ``jensen_shannon``, ``psi``, ``ks``, ``null_rate``,
    ``outside``)."""
    columns = data["columns"]
    out: dict[str, float] = {
        "drifted_columns": float(len(data["drifted_columns"])),
        "drift_share": len(data["drifted_columns"]) / len(columns) if columns else 0.0,
    }
    for c in columns:
        candidates = {c["statistic"]: c["value"], "psi": c["psi"], "outside": c["outside"],
                      "null_rate": c["null_rate"][1], **c.get("figures", {})}
        for name, value in candidates.items():
            if value is not None and value == value:  # NaN: an empty batch's shares
                out[name] = max(out.get(name, value), value)
    return out


# -- HTML ----------------------------------------------------------------------------------------

_CSS = """
body { font: 13px/1.45 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin: 22px 0 6px; }
table { border-collapse: collapse; } td, th { padding: 3px 8px; text-align: left;
  border-top: 1px solid #ddd; vertical-align: top; }
.drifted { color: #cf222e; font-weight: 600; } .ok { color: #1a7f37; }
.meta { color: #666; } .legend span { display: inline-block; width: 10px; height: 10px;
  margin: 0 4px 0 12px; }
"""
_REFERENCE, _BATCH = "#9aa5b1", "#d9822b"


def html(data: Mapping[str, Any], layout: Layout, reference: Sketch, batch: Sketch) -> str:
    """A whole page from :func:`report`'s dict and the sketches it was made from."""
    e = html_lib.escape
    about = data.get("about", {})
    title = " · ".join(str(about[k]) for k in ("model", "job", "run") if about.get(k))
    drifted = data["drifted_columns"]
    headline = (f"{len(drifted)} of {len(data['columns'])} columns drifted"
                if drifted else "no drift")
    when = f" · {e(str(about['when']))}" if about.get("when") else ""
    # Since when is known from the job's earlier runs: its step adds it, the kernel cannot.
    since = any(c["since"] for c in data["columns"])
    of = f" of <code>{e(str(about['batch']))}</code>" if about.get("batch") else ""
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title or 'monitor')}"
           f"</title><style>{_CSS}</style></head><body>",
           f"<h1>Monitoring{': ' + e(title) if title else ''}</h1>",
           f"<p class='{'drifted' if drifted else 'ok'}'>{e(headline)}</p>",
           f"<p class='meta'>{data['rows']['batch']:,} rows{of} against a reference of "
           f"{data['rows']['reference']:,}{when}"
           "</p><p class='legend'>"
           f"<span style='background:{_REFERENCE}'></span>reference"
           f"<span style='background:{_BATCH}'></span>this batch</p>",
           "<table><tr><th>column</th><th>verdict</th><th>effect</th><th>limit</th>"
           "<th>p-value</th><th>PSI</th><th>nulls</th><th>outside</th>"
           + ("<th>since</th>" if since else "") + "</tr>"]
    for c in data["columns"]:
        verdict = "<span class='drifted'>drifted</span>" if c["drifted"] else "ok"
        out.append(
            f"<tr><td><a href='#{e(c['column'])}'>{e(c['column'])}</a></td><td>{verdict}</td>"
            f"<td>{c['statistic'].replace('_', '-')} {c['value']:.3f}</td>"
            f"<td>{c['limit']:.3f}</td><td>{c['p_value']:.2g}</td><td>{c['psi']:.3f}</td>"
            f"<td>{_pct(c['null_rate'][1])}</td><td>{_pct(c['outside'])}</td>"
            + (f"<td>{e(c['since'] or '')}</td>" if since else "") + "</tr>")
    out.append("</table>")
    # Drifted columns first; a page over ~100 KB is not previewed by MLflow's artifact view.
    charted = sorted(data["columns"], key=lambda c: not c["drifted"])[:CHARTS]
    for c in charted:
        col = layout.columns[c["column"]]
        ref, cur = reference.columns[c["column"]].counts, batch.columns[c["column"]].counts
        out.append(f"<h2 id='{e(c['column'])}'>{e(c['column'])}</h2>")
        out.append(_bars_svg(*_bars(col, ref, cur)))
    if len(data["columns"]) > len(charted):
        out.append(f"<p class='meta'>{len(data['columns']) - len(charted)} more columns, none "
                   "drifted: their figures are in the table and in report.json.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _bars(col: ColumnLayout, ref: Sequence[int], cur: Sequence[int]
          ) -> tuple[list[str], list[float], list[float]]:
    """Labels and the two sides' shares per bar."""
    if col.kind == "categorical":
        labels = [*col.categories, UNSEEN]
        keep = [i for i, (a, b) in enumerate(zip(ref, cur, strict=True)) if a or b][:BARS]
        if all(_number(labels[i]) is not None for i in keep):
            keep.sort(key=lambda i: _number(labels[i]) or 0.0)  # counts and codes by value
        return [labels[i] for i in keep], _shares([ref[i] for i in keep], sum(ref)), \
            _shares([cur[i] for i in keep], sum(cur))
    groups = _groups(ref, BARS)
    pooled_ref = [sum(ref[i] for i in g) for g in groups]
    pooled_cur = [sum(cur[i] for i in g) for g in groups]
    # Each bar is labelled with its upper edge; the last is open-ended.
    labels = [f"{col.edges[min(g[-1], len(col.edges) - 1)]:.3g}" for g in groups]
    labels[-1] = f"> {col.edges[min(groups[-1][0], len(col.edges)) - 1]:.3g}"
    return labels, _shares(pooled_ref, sum(ref)), _shares(pooled_cur, sum(cur))


def _groups(ref: Sequence[int], bars: int) -> list[list[int]]:
    """Consecutive bins pooled so each group holds about 1/bars of the reference."""
    total = sum(ref) or 1
    out: list[list[int]] = [[]]
    seen = 0
    for i, c in enumerate(ref):
        out[-1].append(i)
        seen += c
        if seen * bars >= total * len(out) and len(out) < bars and i < len(ref) - 1:
            out.append([])
    return [g for g in out if g]


def _shares(counts: Sequence[int], total: int) -> list[float]:
    return [c / total if total else 0.0 for c in counts]


def _bars_svg(labels: Sequence[str], ref: Sequence[float], cur: Sequence[float]) -> str:
    """Both sides' shares as bars, one path per side, labels below: about 1.5 KB a chart."""
    height, step = 160, 36
    top = max(itertools.chain(ref, cur, [1e-9]))
    paths: dict[str, list[str]] = {_REFERENCE: [], _BATCH: []}
    texts = []
    for i, (label, a, b) in enumerate(zip(labels, ref, cur, strict=True)):
        x = 30 + step * i
        for dx, share, colour in ((0, a, _REFERENCE), (15, b, _BATCH)):
            h = round(height * share / top, 1)
            paths[colour].append(f"M{x + dx} {height}v{-h:g}h14v{h:g}z")
        texts.append(f"<text x='{x + 14}' y='{height + 14}'>{html_lib.escape(label[:7])}</text>")
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{step * len(labels) + 40}' "
            f"height='{height + 40}'>"
            + "".join(f"<path fill='{colour}' d='{''.join(d)}'/>" for colour, d in paths.items())
            + "<g font-size='9' text-anchor='middle'>" + "".join(texts) + "</g></svg>")


def _number(label: str) -> float | None:
    try:
        return float(label)
    except ValueError:
        return None


def _pct(share: float | None) -> str:
    return "" if share is None or share != share else f"{share:.1%}"


def _round(value: float) -> float | None:
    return None if not math.isfinite(value) else float(f"{value:.6g}")
