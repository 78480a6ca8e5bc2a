"""Mergeable summaries of scored data: counts over bins the reference fixes.

Monitoring compares what a model meets in production with what it was trained on. Both
sides are summarised the same way so that any batch, however it was split, compares alike:

- the **layout** is taken once from the reference (the champion's training data): for a
  numeric column, up to :data:`EDGES` of its quantiles as bin edges and its range; for a
  categorical one, its most frequent values (:data:`CATEGORIES` at most);
- a **sketch** counts a frame into that layout: per column the values in each bin (numbers)
  or per value with one bucket for values the reference never had (categories), the nulls,
  the values outside the reference's range, and the sum and sum of squares of numbers.

Counts add, so sketches of the N pieces of a batch (N Airflow tasks, N processes) merge
into exactly the counts of the whole batch, and every drift statistic computed from counts
(:mod:`nbmlops.monitor.statistics`) gives the same verdict. Quantiles are read off the
bins (linear within a bin), so their precision is the reference's bin width: with 200
quantile edges, within half a percentile.

Pure apart from numpy and pandas; JSON-ready through :meth:`Layout.to_json` and
:meth:`Sketch.to_json`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nbmlops import redact

__all__ = [
    "CATEGORIES",
    "EDGES",
    "ColumnLayout",
    "ColumnSketch",
    "Layout",
    "Sketch",
    "layout_of",
    "merge",
    "sketch",
]

#: Quantile edges kept per numeric column: bins of half a percentile of the reference.
EDGES = 200
#: Values kept per categorical column; any other value counts as unseen. A text column with
#: more distinct values holds identifiers, e-mails or free text: it is watched for nulls only,
#: and none of its values is kept (as :mod:`nbmlops.data.profiles` keeps none).
CATEGORIES = 50
#: A numeric column with at most this many distinct values is compared value by value (a
#: code, a rating, a class label), as :mod:`nbmlops.data.profiles` does.
DISCRETE_MAX = 20
#: Frames of at least this many rows are counted a column per core.
PARALLEL_ROWS = 100_000
#: Bucket label of values the reference did not have.
UNSEEN = "(unseen)"


@dataclass(frozen=True)
class ColumnLayout:
    """How one column is counted: ``numeric`` (``edges``, ``low``..``high``) or
    ``categorical`` (``categories``); ``other`` columns (dates, objects) count nulls only."""

    kind: str
    edges: tuple[float, ...] = ()
    low: float = math.nan
    high: float = math.nan
    std: float = math.nan  # the reference's, to put distances in its units
    categories: tuple[str, ...] = ()

    @property
    def bins(self) -> int:
        if self.kind == "numeric":
            return len(self.edges) + 1  # (-inf, e0], (e0, e1], ..., (e_last, inf)
        if self.kind == "categorical":
            return len(self.categories) + 1  # the last bucket: unseen values
        return 0


@dataclass(frozen=True)
class Layout:
    """The bins of every watched column, fixed by the reference."""

    columns: Mapping[str, ColumnLayout]

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "columns": {
            name: {"kind": c.kind, "edges": list(c.edges), "low": _finite_or_none(c.low),
                   "high": _finite_or_none(c.high), "std": _finite_or_none(c.std),
                   "categories": list(c.categories)}
            for name, c in self.columns.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Layout:
        return cls({
            name: ColumnLayout(
                kind=str(c["kind"]), edges=tuple(float(e) for e in c.get("edges", ())),
                low=_nan_if_none(c.get("low")), high=_nan_if_none(c.get("high")),
                std=_nan_if_none(c.get("std")),
                categories=tuple(str(v) for v in c.get("categories", ())),
            )
            for name, c in data["columns"].items()
        })


@dataclass
class ColumnSketch:
    """One column of a batch counted into its layout. Every field adds under merging."""

    counts: list[int]
    nulls: int = 0
    outside: int = 0  # numbers outside the reference's range, values it never had
    total: float = 0.0  # sum of the numbers
    squares: float = 0.0  # sum of their squares

    @property
    def values(self) -> int:
        return sum(self.counts)

    def plus(self, other: ColumnSketch) -> ColumnSketch:
        if len(self.counts) != len(other.counts):
            raise ValueError("sketches of different layouts do not merge")
        return ColumnSketch(
            [a + b for a, b in zip(self.counts, other.counts, strict=True)],
            self.nulls + other.nulls, self.outside + other.outside,
            self.total + other.total, self.squares + other.squares,
        )


@dataclass
class Sketch:
    """A batch counted into a :class:`Layout`: its rows and its columns' counts."""

    rows: int
    columns: dict[str, ColumnSketch] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": 1, "rows": self.rows, "columns": {
            name: {"counts": c.counts, "nulls": c.nulls, "outside": c.outside,
                   "total": c.total, "squares": c.squares}
            for name, c in self.columns.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sketch:
        return cls(int(data["rows"]), {
            name: ColumnSketch([int(n) for n in c["counts"]], int(c["nulls"]),
                               int(c["outside"]), float(c["total"]), float(c["squares"]))
            for name, c in data["columns"].items()
        })


def layout_of(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> Layout:
    """The layout a reference frame fixes for its columns (all of them by default)."""
    names = list(frame.columns) if columns is None else list(columns)
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise KeyError(f"the reference has no column {missing[0]!r}")
    return Layout({str(n): _column_layout(frame[n]) for n in names})


def sketch(frame: pd.DataFrame, layout: Layout) -> Sketch:
    """``frame`` counted into ``layout``. A column of the layout the frame lacks is an
    error: a batch without a watched column is a schema change, said by the caller."""
    missing = [n for n in layout.columns if n not in frame.columns]
    if missing:
        raise KeyError(f"the batch has no column {missing[0]!r}")
    names = list(layout.columns)
    if len(frame) < PARALLEL_ROWS or len(names) < 2:
        counted = [_count(frame[n], layout.columns[n]) for n in names]
    else:
        # numpy's sort and pandas' hashing release the GIL: columns count side by side.
        with ThreadPoolExecutor(min(len(names), os.cpu_count() or 1)) as pool:
            counted = list(pool.map(lambda n: _count(frame[n], layout.columns[n]), names))
    return Sketch(len(frame), dict(zip(names, counted, strict=True)))


def merge(sketches: Iterable[Sketch]) -> Sketch:
    """The sketch of the batches together."""
    out: Sketch | None = None
    for s in sketches:
        if out is None:
            out = Sketch(s.rows, dict(s.columns))
            continue
        if s.columns.keys() != out.columns.keys():
            raise ValueError("sketches of different layouts do not merge")
        out = Sketch(out.rows + s.rows,
                     {n: c.plus(s.columns[n]) for n, c in out.columns.items()})
    if out is None:
        raise ValueError("nothing to merge")
    return out


# -- layout --------------------------------------------------------------------------------------


def _column_layout(series: pd.Series) -> ColumnLayout:
    if redact.is_secret_name(str(series.name)):
        return ColumnLayout("other")  # its values never leave the data
    if _is_numeric(series):
        values = series.dropna().to_numpy(dtype="float64")
        values = values[np.isfinite(values)]
        distinct = np.unique(values)
        if distinct.size > DISCRETE_MAX:
            edges = np.unique(np.quantile(values, np.linspace(0, 1, EDGES)))
            return ColumnLayout("numeric", tuple(float(e) for e in edges),
                                float(distinct[0]), float(distinct[-1]),
                                float(values.std()) if values.size else math.nan)
    if _is_numeric(series) or _is_categorical(series):
        codes, uniques = pd.factorize(series)  # in C; only the distinct values get labels
        per_value = np.bincount(codes[codes >= 0], minlength=len(uniques))
        counts: dict[str, int] = {}
        for value, n in zip(uniques, per_value, strict=True):
            label = _label(value)
            counts[label] = counts.get(label, 0) + int(n)
        if len(counts) > CATEGORIES and not _is_numeric(series):
            return ColumnLayout("other")
        # Most frequent first, ties by label, so the same data always gives the same layout.
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return ColumnLayout("categorical",
                            categories=tuple(label for label, _ in ordered[:CATEGORIES]))
    return ColumnLayout("other")


def _is_numeric(series: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype))


def _is_categorical(series: pd.Series) -> bool:
    dtype = series.dtype
    return bool(pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
                or pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype))


def _label(value: Any) -> str:
    # 1 and 1.0 are one class; a label stays readable in a report.
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


# -- counting ------------------------------------------------------------------------------------


def _count(series: pd.Series, col: ColumnLayout) -> ColumnSketch:
    if col.kind == "numeric":
        if not _is_numeric(series):
            raise TypeError(f"column {series.name!r} is no longer numeric ({series.dtype})")
        # Sorting once and cutting at the edges is four times faster than searching every
        # value's bin, and leaves the infinities at the ends for the sums.
        ordered = np.sort(series.to_numpy(dtype="float64", na_value=np.nan))  # NaN last
        nulls = int(np.count_nonzero(np.isnan(ordered)))
        ordered = ordered[:ordered.size - nulls]
        # A value equal to an edge falls in the bin that edge closes: (e_i-1, e_i].
        closed = np.searchsorted(ordered, np.asarray(col.edges), side="right")
        counts = np.diff(np.concatenate(([0], closed, [ordered.size])))
        below = int(np.searchsorted(ordered, col.low, side="left"))
        above = ordered.size - int(np.searchsorted(ordered, col.high, side="right"))
        finite = ordered[int(np.searchsorted(ordered, -np.inf, side="right")):
                         int(np.searchsorted(ordered, np.inf, side="left"))]
        return ColumnSketch([int(n) for n in counts], nulls, below + above,
                            float(finite.sum()), float(finite @ finite))
    nulls = int(series.isna().sum())
    if col.kind == "categorical":
        codes, uniques = pd.factorize(series)
        position = {label: i for i, label in enumerate(col.categories)}
        unseen = len(col.categories)
        bucket = np.array([position.get(_label(v), unseen) for v in uniques], dtype=np.int64)
        counts = np.bincount(bucket[codes[codes >= 0]], minlength=col.bins)
        return ColumnSketch([int(n) for n in counts], nulls, int(counts[-1]))
    return ColumnSketch([], nulls)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _nan_if_none(value: Any) -> float:
    return math.nan if value is None else float(value)
