"""A tracked cell that scored with a registered model: its batch against the model's training data.

:func:`nbmlops.load_model` in a ``%%track`` cell notes the version it loaded and the reference
that version was registered with. When the cell has run, the frame it scored (the largest
frame holding every column of the reference that the cell made, else that it read) is
counted into the reference's bins and compared column by column (:mod:`nbmlops.monitor`);
in a job, ``monitor.input`` of its job.yaml names that frame instead.
The run gets, per model:

- metrics ``monitor.NAME.drifted_columns``, ``monitor.NAME.drift_share``, ``monitor.NAME.rows``,
  the largest of each figure over the columns, and ``monitor.NAME.COLUMN.STATISTIC`` per
  column;
- tags ``nbmlops.monitor.NAME.drifted`` (``yes``/``no``) and the drifted columns;
- artifacts ``monitor/NAME/report.json``, ``report.html`` (distributions side by side) and
  ``batch.json`` (the batch's counts, which merge with other batches');
- per column its null rate, out-of-range and unseen shares, the batch's row count, and its
  predictions against the model's evaluation predictions (:mod:`nbmlops.track.scored`).

Nothing here is imported when the extension loads: numpy and pandas come with the model.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nbmlops import store
from nbmlops.record import MetricPoint, RunRecord
from nbmlops.sync.spool import Staging

__all__ = ["Watched", "add_to", "batch_of"]


@dataclass(frozen=True)
class Watched:
    """A registered version a cell scored with, and the reference it is watched against."""

    name: str
    version: str
    reference: Any  # nbmlops.monitor.reference.Reference
    predictions: Any = None  # nbmlops.monitor.predictions.PredictionsReference


def batch_of(namespace: Mapping[str, Any], bound: Iterable[str], read: Iterable[str],
             columns: Iterable[str]) -> tuple[str, Any] | None:
    """``(variable, frame)``: the largest DataFrame holding every column of ``columns``
    among the names the cell bound (a batch loaded or prepared in the cell), else among
    those it only read (a batch from an earlier cell)."""
    wanted = set(columns)
    for names in (bound, read):
        best: tuple[str, Any] | None = None
        for name in dict.fromkeys(names):
            value: Any = namespace.get(name)
            if not (hasattr(value, "columns") and hasattr(value, "iloc")):
                continue
            if not wanted <= {str(c) for c in value.columns}:
                continue
            if best is None or len(value) > len(best[1]):
                best = (name, value)
        if best is not None:
            return best
    return None


def add_to(
    record: RunRecord,
    staging: Staging,
    namespace: Mapping[str, Any],
    bound: Iterable[str],
    read: Iterable[str],
    scored_with: Iterable[Watched],
    code: str = "",
) -> None:
    """Compare each scored batch with its model's reference; what cannot be compared is
    said in the record's warnings."""
    from nbmlops.monitor import drift, report, sketch
    from nbmlops.track import live, scored

    bound, read = list(bound), list(read)
    now = int(time.time() * 1000)
    watch = scored.job_watch()
    for watched in scored_with:
        ref = watched.reference
        found = (scored.named_batch(namespace, ref.layout.columns, watch)
                 or batch_of(namespace, bound, read, ref.layout.columns))
        if not isinstance(found, tuple):
            record.warnings.append(f"monitor {watched.name}: " + (found or (
                f"no frame the cell read or made has the model's "
                f"{len(ref.layout.columns)} columns; nothing compared")))
            continue
        variable, frame = found
        live.add_to(record, staging, namespace, bound, read, watched, frame, watch,
                    code)  # labels, shadow
        batch = sketch.sketch(frame, ref.layout)
        findings = drift.compare(ref.layout, ref.sketch, batch, ref.bands)
        about = {"model": f"{watched.name} v{watched.version}", "batch": variable,
                 "run": record.run_name,
                 "when": time.strftime("%Y-%m-%d %H:%M", time.localtime(now / 1000))}
        data = report.report(ref.layout, ref.sketch, batch, findings, about=about)
        extra = scored.extend(data, watched, ref.layout, batch, frame, namespace, code, watch)
        folder = f"monitor/{watched.name}"
        staging.write_text(f"{folder}/report.json", json.dumps(data, indent=1))
        staging.write_text(f"{folder}/report.html", scored.with_section(
            report.html(data, ref.layout, ref.sketch, batch), extra.html))
        staging.write_text(f"{folder}/batch.json", json.dumps(batch.to_json()))
        prefix = f"monitor.{store.metric_part(watched.name)}"
        figures = {f"{prefix}.{k}": v for k, v in report.figures(data).items()}
        figures.update({f"{prefix}.{store.metric_part(d.column)}.{d.statistic}": d.value
                        for d in findings})
        figures.update({f"{prefix}.{store.metric_part(k)}": v for k, v in extra.figures.items()})
        record.tags.update(extra.tags)
        record.warnings.extend(extra.warnings)
        record.metrics.extend(MetricPoint(k, float(v), 0, now) for k, v in figures.items())
        drifted = data["drifted_columns"]
        record.tags[store.monitor_drifted_tag(watched.name)] = "yes" if drifted else "no"
        if drifted:
            record.tags[store.monitor_columns_tag(watched.name)] = ", ".join(drifted)[:500]

