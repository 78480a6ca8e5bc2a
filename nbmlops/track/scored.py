"""What a scoring cell's run records beyond its inputs' drift: the batch's size, each column's
nulls, out-of-range numbers and unseen categories (:mod:`nbmlops.monitor.quality`), and its
predictions against the model's evaluation predictions (:mod:`nbmlops.monitor.predictions`).

In a job, ``monitor.input`` and ``monitor.predictions`` of its job.yaml name the scored frame
and the predictions instead of the automatic choice (read here through the variables
``nbmlops run`` gives the kernel). :mod:`nbmlops.track.scoring` calls :func:`named_batch` and
:func:`extend`; numpy and pandas come with the model.
"""

from __future__ import annotations

import html as html_lib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbmlops import config, store

__all__ = ["Extra", "extend", "job_watch", "named_batch", "with_section"]


@dataclass
class Extra:
    """Figures (metric names below ``monitor.NAME.``), tags, an HTML section and problems."""

    figures: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    html: str = ""
    warnings: list[str] = field(default_factory=list)


def job_watch() -> Any:
    """The ``monitor:`` settings of the job this kernel runs for (a
    :class:`nbmlops.monitor.settings.Watch`), None outside a job."""
    notebook, job = os.environ.get(config.ENV_NOTEBOOK), os.environ.get(config.ENV_JOB)
    if not (notebook and job):
        return None
    from nbmlops.monitor.settings import of_job_notebook

    return of_job_notebook(notebook, job)


def named_batch(namespace: Mapping[str, Any], columns: Iterable[str], watch: Any
                ) -> tuple[str, Any] | str | None:
    """``(variable, frame)`` of the frame ``monitor.input`` names; a sentence saying what is
    wrong with it; None when the job names none (the cell's batch is then found)."""
    named = getattr(watch, "input", None)
    if not named:
        return None
    value: Any = namespace.get(named)
    if not (hasattr(value, "columns") and hasattr(value, "iloc")):
        return f"monitor.input names {named!r}, which is not a frame after the cell ran"
    missing = [c for c in columns if c not in {str(n) for n in value.columns}]
    if missing:
        return f"monitor.input {named!r} lacks the model's column {missing[0]!r}; nothing compared"
    return named, value


def extend(data: dict[str, Any], watched: Any, layout: Any, counted: Any, frame: Any,
           namespace: Mapping[str, Any], code: str, watch: Any) -> Extra:
    """Add the columns' quality and the predictions' section to report ``data``; what the
    run gets besides."""
    from nbmlops.monitor import predictions, quality

    extra = Extra()
    per_column = quality.columns(layout, counted, frame)
    for entry in data["columns"]:
        entry.update({k: v for k, v in per_column.get(entry["column"], {}).items()
                      if k != "null_rate"})  # the column's null_rate is (reference, batch)
    extra.figures.update(quality.figures(per_column))
    extra.figures["rows"] = float(counted.rows)

    named = getattr(watch, "predictions", None)
    found = predictions.find(namespace, code, len(frame), named)
    if found is None:
        if named:
            extra.warnings.append(f"monitor {watched.name}: monitor.predictions names "
                                  f"{named!r}, which the cell did not leave; predictions "
                                  "not watched")
        return extra
    reference = getattr(watched, "predictions", None)
    compared = predictions.compare(found, reference) if reference is not None else None
    if compared is None:
        values = predictions.frame_of(found.value, found.method)
        if values is not None:  # no evaluation predictions to compare with: the figures only
            described = predictions.summary(values)
            data["predictions"] = {"about": {"predictions": found.where,
                                             "method": found.method},
                                   "summary": {"batch": described}}
            extra.figures.update({f"prediction.{column}.{k}": v
                                  for column, figs in described.items()
                                  for k, v in predictions.flat(figs).items()})
        return extra
    data["predictions"] = compared.section
    extra.figures.update({f"prediction.{k}": v for k, v in compared.figures.items()})
    extra.tags[store.monitor_prediction_drifted_tag(watched.name)] = (
        "yes" if compared.drifted else "no")
    extra.html = _section(compared)
    return extra


def with_section(page: str, section: str) -> str:
    """The report's page with the predictions' section before its end."""
    return page.replace("</body>", section + "</body>", 1) if section else page


def _section(compared: Any) -> str:
    from nbmlops.monitor import report

    page = report.html(compared.section, compared.layout, compared.reference, compared.batch)
    body = page.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    of = html_lib.escape(compared.section["about"]["reference"])
    body = body.replace("<p class='legend'>", _summary_html(compared.section["summary"])
                        + "<p class='legend'>", 1)
    return body.replace("<h1>Monitoring</h1>",
                        f"<h1 id='predictions'>Predictions, against the model's {of}</h1>", 1)


def _summary_html(summary: Mapping[str, Any]) -> str:
    """One line per column: mean and median, or class balance, beside the evaluation's."""
    lines = []
    for column, now in summary["batch"].items():
        then = summary["reference"].get(column) or {}
        if "shares" in now:
            text = ", ".join(
                f"{label} {share:.0%}" + (f" ({then['shares'][label]:.0%})"
                                          if (then.get("shares") or {}).get(label) is not None
                                          else "")
                for label, share in sorted(now["shares"].items()) if share is not None)
            what = "class balance"
        elif now.get("mean") is not None:
            text = f"mean {now['mean']:.4g}, median {now['quantiles']['0.5']:.4g}"
            if then.get("mean") is not None:
                text += f" (evaluation: {then['mean']:.4g}, {then['quantiles']['0.5']:.4g})"
            what = "values"
        else:
            continue
        lines.append(f"<p><code>{html_lib.escape(column)}</code> {what}: "
                     f"{html_lib.escape(text)}</p>")
    return "".join(lines)
