"""Per column of a scored batch, what is wrong with the values themselves, apart from their
distribution: nulls, numbers outside the range the reference saw, categories it never had.

A drift statistic compares shapes; these say plainly that 3% of ``age`` is empty, or 12% of
``plan`` holds values the model never met (and which). Each is a metric of the scoring run
(``monitor.NAME.COLUMN.null_rate``, ``.out_of_range`` for numbers, ``.unseen`` for
categories) and a field of the column in report.json.

Pure: the layout, the batch's sketch and (for the unseen values' names) the frame in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from nbmlops import redact
from nbmlops.monitor.sketch import Layout, Sketch, _label

__all__ = ["UNSEEN_SHOWN", "columns", "figures"]

#: Unseen values named per column in the report, the most frequent first.
UNSEEN_SHOWN = 10
_LABEL_CHARS = 60


def columns(layout: Layout, batch: Sketch, frame: pd.DataFrame | None = None
            ) -> dict[str, dict[str, Any]]:
    """Per watched column: ``nulls``, ``null_rate``; ``out_of_range`` (share of the numbers
    outside the reference's min..max) for numbers; ``unseen`` (share of the values the
    reference did not have) and ``unseen_values`` (the most frequent of them, with counts,
    read from ``frame``) for categories."""
    out: dict[str, dict[str, Any]] = {}
    for name, col in layout.columns.items():
        counts = batch.columns[name]
        entry: dict[str, Any] = {"nulls": counts.nulls,
                                 "null_rate": _share(counts.nulls, batch.rows)}
        if col.kind == "numeric":
            entry["out_of_range"] = _share(counts.outside, counts.values)
        elif col.kind == "categorical":
            entry["unseen"] = _share(counts.outside, counts.values)
            if counts.outside and frame is not None and name in frame.columns:
                entry["unseen_values"] = _unseen(frame[name], col.categories)
        out[name] = entry
    return out


def figures(quality: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """``COLUMN.null_rate``, ``COLUMN.out_of_range``, ``COLUMN.unseen`` as metric names."""
    out: dict[str, float] = {}
    for name, entry in quality.items():
        for key in ("null_rate", "out_of_range", "unseen"):
            value = entry.get(key)
            if value is not None and math.isfinite(value):
                out[f"{name}.{key}"] = float(value)
    return out


def _unseen(series: pd.Series, known: tuple[str, ...]) -> dict[str, int]:
    # A secret-named column is never categorical (sketch keeps none of its values); text
    # that looks like a credential is redacted all the same.
    counts = series.dropna().map(_label).value_counts()
    counts = counts[~counts.index.isin(set(known))].head(UNSEEN_SHOWN)
    return {str(redact.redact_value(str(label)))[:_LABEL_CHARS]: int(n)
            for label, n in counts.items()}


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan
