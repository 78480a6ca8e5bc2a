"""An assessment as text: the terminal, markdown, HTML (``%mlops assess``) and JSON.

Pure functions of an :class:`~nbmlops.assess.criteria.Assessment`. The JSON form is the
contract for other tools (``docs/assess.md`` documents it): :data:`SCHEMA` names its version,
and a change that removes or renames a field makes a new version.
"""

from __future__ import annotations

import html as html_lib
import json
import textwrap
from dataclasses import asdict
from typing import Any

from nbmlops.assess.criteria import LEVELS, MET, NOT_MET, PARTLY, UNCHECKED, Assessment, Finding
from nbmlops.redact import strip_credentials

SCHEMA = "nbmlops.assess/1"
FORMATS = ("terminal", "markdown", "html", "json")

_LABEL = {MET: "met", PARTLY: "partly", NOT_MET: "not met", UNCHECKED: "not checked"}
_MARK = {MET: "✓", PARTLY: "◐", NOT_MET: "✗", UNCHECKED: "?"}
_COLOR = {MET: "32", PARTLY: "33", NOT_MET: "31", UNCHECKED: "36"}


def render(assessment: Assessment, fmt: str, *, color: bool = False, width: int = 100) -> str:
    """``assessment`` in one of :data:`FORMATS`."""
    if fmt == "terminal":
        return terminal(assessment, color=color, width=width)
    if fmt == "markdown":
        return markdown(assessment)
    if fmt == "html":
        return html(assessment, full=True)
    if fmt == "json":
        return json.dumps(to_dict(assessment), indent=2, ensure_ascii=False)
    raise ValueError(f"unknown format {fmt!r}")


def to_dict(a: Assessment) -> dict[str, Any]:
    """The JSON document (schema :data:`SCHEMA`, see docs/assess.md)."""
    ev = a.evidence
    facts = asdict(ev)
    facts["tracking_uri"] = strip_credentials(ev.tracking_uri)
    if isinstance(facts["config"].get("tracking_uri"), str):
        facts["config"]["tracking_uri"] = strip_credentials(facts["config"]["tracking_uri"])
    return {
        "schema": SCHEMA,
        "project": ev.root,
        "generated_at": ev.generated_at,
        "tracking_uri": strip_credentials(ev.tracking_uri),
        "level": a.level,
        "level_name": a.level_name,
        "levels": {str(k): v for k, v in LEVELS.items()},
        "criteria": [
            {
                "id": f.id, "level": f.level, "area": f.area, "title": f.title,
                "status": f.status, "evidence": f.evidence, "missing": f.missing,
                "step": {"title": f.step.title, "command": f.step.command} if f.step else None,
            }
            for f in a.findings
        ],
        "red_flags": [asdict(r) for r in a.red_flags],
        "next_steps": [asdict(s) for s in a.next_steps],
        "unchecked": list(ev.unchecked),
        "notes": list(a.notes),
        "facts": facts,
    }


def _headline(a: Assessment) -> str:
    return f"level {a.level}: {a.level_name}"


def _by_level(a: Assessment) -> dict[int, list[Finding]]:
    out: dict[int, list[Finding]] = {}
    for f in a.findings:
        out.setdefault(f.level, []).append(f)
    return out


def _store_line(a: Assessment) -> str:
    ev = a.evidence
    uri = strip_credentials(ev.tracking_uri) or "none"
    if ev.runs is None:
        return f"MLflow {uri}: not read"
    more = " (older ones not read)" if ev.runs.more else ""
    models = len(ev.models or [])
    return (f"MLflow {uri}: {ev.runs.read} newest runs{more}, {models} registered "
            f"model{'' if models == 1 else 's'}, read in {ev.mlflow_seconds:.1f} s")


# -- terminal -------------------------------------------------------------------------------


def terminal(a: Assessment, *, color: bool = False, width: int = 100) -> str:
    def paint(text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if color else text

    def wrap(text: str, indent: int) -> list[str]:
        return textwrap.wrap(text, max(40, width - indent), initial_indent=" " * indent,
                             subsequent_indent=" " * (indent + 2), break_on_hyphens=False,
                             break_long_words=False) or [""]

    ev = a.evidence
    lines = [paint(f"nbmlops assess · {ev.root}", "1"),
             f"Reached {paint(_headline(a), '1')}",
             *wrap(_store_line(a), 0), ""]
    for level, findings in _by_level(a).items():
        reached = level <= a.level
        title = f"Level {level}: {LEVELS[level]}" + (" (reached)" if reached else "")
        lines.append(paint(title, "1"))
        for f in findings:
            mark = paint(f"{_MARK[f.status]} {_LABEL[f.status]:<11}", _COLOR[f.status])
            lines.append(f"  {mark} {f.title}")
            lines += [x for e in f.evidence for x in wrap(e, 16)]
            lines += [paint(x, "2") if color else x
                      for m in f.missing for x in wrap("missing: " + m, 16)]
        lines.append("")
    if a.red_flags:
        lines.append(paint("Red flags", "1"))
        for r in a.red_flags:
            lines.append("  " + paint("⚑ " + r.title, "31") + f" · {r.where}")
            lines += wrap(r.detail, 4)
        lines.append("")
    if a.next_steps:
        lines.append(paint("Next steps", "1"))
        for i, s in enumerate(a.next_steps, 1):
            lines += wrap(f"{i}. {s.title} ({s.area})", 2)
            lines.append("     " + paint(s.command, "36"))
        lines.append("")
    if ev.unchecked:
        lines.append(paint("Not checked", "1"))
        lines += [x for u in ev.unchecked for x in wrap(u, 2)]
        lines.append("")
    lines += [x for n in a.notes for x in wrap("note: " + n, 0)]
    return "\n".join(lines).rstrip() + "\n"


# -- markdown -------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(a: Assessment) -> str:
    ev = a.evidence
    out = [f"# nbmlops assess: {_headline(a)}", "",
           f"Project `{ev.root}`, {ev.generated_at}. {_store_line(a)}.", ""]
    for level, findings in _by_level(a).items():
        reached = " (reached)" if level <= a.level else ""
        out += [f"## Level {level}: {LEVELS[level]}{reached}", "",
                "| | criterion | evidence | missing |", "|---|---|---|---|"]
        for f in findings:
            out.append(f"| {_MARK[f.status]} {_LABEL[f.status]} | {_cell(f.title)} | "
                       f"{_cell('; '.join(f.evidence))} | {_cell('; '.join(f.missing))} |")
        out.append("")
    if a.red_flags:
        out += ["## Red flags", ""]
        out += [f"- **{r.title}** in `{r.where}`: {r.detail}" for r in a.red_flags]
        out.append("")
    if a.next_steps:
        out += ["## Next steps", ""]
        for i, s in enumerate(a.next_steps, 1):
            out += [f"{i}. {s.title} ({s.area})", "", "   ```", f"   {s.command}", "   ```"]
        out.append("")
    if ev.unchecked:
        out += ["## Not checked", ""] + [f"- {u}" for u in ev.unchecked] + [""]
    out += [f"_{n}_" for n in a.notes]
    return "\n".join(out).rstrip() + "\n"


# -- html -----------------------------------------------------------------------------------

_CSS = """
.nbmlops-assess { font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4;
  max-width: 960px; }
.nbmlops-assess h2 { font-size: 18px; margin: 4px 0; }
.nbmlops-assess h3 { font-size: 14px; margin: 14px 0 4px; }
.nbmlops-assess table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.nbmlops-assess col.s { width: 100px; } .nbmlops-assess col.t { width: 34%; }
.nbmlops-assess td, .nbmlops-assess th { border-top: 1px solid #ddd; padding: 3px 6px;
  text-align: left; vertical-align: top; }
.nbmlops-assess .met { color: #1a7f37; } .nbmlops-assess .partly { color: #9a6700; }
.nbmlops-assess .not_met { color: #cf222e; } .nbmlops-assess .unchecked { color: #0969da; }
.nbmlops-assess .status { white-space: nowrap; font-weight: 600; }
.nbmlops-assess .missing { color: #666; }
.nbmlops-assess code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px;
  white-space: pre-wrap; word-break: break-word; }
.nbmlops-assess .meta { color: #666; }
"""


def html(a: Assessment, *, full: bool = False) -> str:
    """The report as HTML: a fragment (for a notebook), or a whole page when ``full``."""
    e = html_lib.escape
    ev = a.evidence
    out = [f'<div class="nbmlops-assess"><style>{_CSS}</style>',
           f"<h2>nbmlops assess: {e(_headline(a))}</h2>",
           f'<div class="meta">{e(ev.root)} · {e(ev.generated_at)} · {e(_store_line(a))}</div>']
    for level, findings in _by_level(a).items():
        reached = " (reached)" if level <= a.level else ""
        out.append(f"<h3>Level {level}: {e(LEVELS[level])}{reached}</h3><table>"
                   '<col class="s"><col class="t"><col>')
        for f in findings:
            details = "".join(f"<div>{e(x)}</div>" for x in f.evidence)
            details += "".join(f'<div class="missing">missing: {e(x)}</div>' for x in f.missing)
            out.append(f'<tr><td class="status {f.status}">{_MARK[f.status]} '
                       f"{_LABEL[f.status]}</td><td>{e(f.title)}</td><td>{details}</td></tr>")
        out.append("</table>")
    if a.red_flags:
        out.append("<h3>Red flags</h3><ul>")
        out += [f"<li><b>{e(r.title)}</b> in <code>{e(r.where)}</code>: {e(r.detail)}</li>"
                for r in a.red_flags]
        out.append("</ul>")
    if a.next_steps:
        out.append("<h3>Next steps</h3><ol>")
        out += [f"<li>{e(s.title)} ({e(s.area)})<br><code>{e(s.command)}</code></li>"
                for s in a.next_steps]
        out.append("</ol>")
    if ev.unchecked:
        out.append("<h3>Not checked</h3><ul>")
        out += [f"<li>{e(u)}</li>" for u in ev.unchecked]
        out.append("</ul>")
    out += [f'<p class="meta">{e(n)}</p>' for n in a.notes]
    out.append("</div>")
    body = "\n".join(out)
    if not full:
        return body
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>nbmlops assess: {e(_headline(a))}</title></head>\n<body>\n{body}\n"
            "</body></html>\n")
