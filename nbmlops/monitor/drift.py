"""Whether a scored batch drifted from the reference, column by column.

A column drifted when both hold:

- its **effect size** (:func:`nbmlops.monitor.statistics.effect`) is above the column's
  limit: the reference's calibrated band for a batch of this size
  (:mod:`nbmlops.monitor.bands`), but never below :attr:`Policy.floor` (a batch of millions
  of rows would otherwise alarm on differences no model notices); or a fixed
  :attr:`Policy.threshold` when one is set, or when the reference was too small for a band;
- its **test** rejects "same distribution" at level :attr:`Policy.alpha` (small batches
  make noisy distances; the test keeps them from alarming).

Requiring both is what keeps false alarms below either rule alone: the effect size ignores
the tiny differences a p-value finds in large samples, the test the chance distances of
small ones. Detection limits with the defaults are measured by ``bench/monitor_quality.py``
and stated in the manual.

Pure: a layout, the reference's and the batch's sketches and the bands in, findings out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from nbmlops.monitor import statistics as stats
from nbmlops.monitor.bands import Band
from nbmlops.monitor.sketch import ColumnLayout, ColumnSketch, Layout, Sketch

__all__ = ["ColumnDrift", "Policy", "compare"]


@dataclass(frozen=True)
class Policy:
    """When a column counts as drifted."""

    alpha: float = 0.001  # level of the test; 20 columns a day give a false alarm a month
    sigmas: float = 3.0  # width of the calibrated band
    floor: float = 0.05  # smallest effect reported, whatever the band
    threshold: float | None = None  # a fixed limit instead of the band
    fallback: float = 0.1  # the limit without a band (Evidently's default for both effects)


@dataclass
class ColumnDrift:
    """One column of a batch against the reference."""

    column: str
    kind: str  # "numeric" | "categorical"
    statistic: str  # "wasserstein" | "jensen_shannon"
    value: float
    limit: float
    test: str  # "ks" | "chi_square"
    p_value: float
    drifted: bool
    psi: float
    null_rate: tuple[float, float]  # reference, batch
    outside: float  # the batch's share of values out of the reference's range or unseen
    rows: int = 0
    figures: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["null_rate"] = list(self.null_rate)
        return out


def compare(
    layout: Layout,
    reference: Sketch,
    batch: Sketch,
    bands: Mapping[str, Band] | None = None,
    policy: Policy | None = None,
) -> list[ColumnDrift]:
    """Every numeric and categorical column of ``layout``, in its order."""
    policy = policy or Policy()
    bands = bands or {}
    out = []
    for name, col in layout.columns.items():
        if col.kind not in ("numeric", "categorical"):
            continue
        ref, cur = reference.columns[name], batch.columns[name]
        out.append(_column(name, col, ref, cur, bands.get(name), policy, batch.rows,
                           reference.rows))
    return out


def limit_of(band: Band | None, rows: int, policy: Policy) -> float:
    """The effect size above which a batch of ``rows`` rows counts as drifted."""
    if policy.threshold is not None:
        return policy.threshold
    if band is None:
        return policy.fallback
    return max(policy.floor, band.upper(rows, policy.sigmas))


def _column(
    name: str, col: ColumnLayout, ref: ColumnSketch, cur: ColumnSketch, band: Band | None,
    policy: Policy, rows: int, reference_rows: int,
) -> ColumnDrift:
    value = stats.effect(col, ref.counts, cur.counts)
    p = stats.pvalue(col, ref.counts, cur.counts)
    limit = limit_of(band, rows, policy)
    numeric = col.kind == "numeric"
    return ColumnDrift(
        column=name,
        kind=col.kind,
        statistic="wasserstein" if numeric else "jensen_shannon",
        value=value,
        limit=limit,
        test="ks" if numeric else "chi_square",
        p_value=p,
        drifted=value > limit and p < policy.alpha,
        psi=stats.psi(col, ref.counts, cur.counts),
        null_rate=(_share(ref.nulls, reference_rows), _share(cur.nulls, rows)),
        outside=_share(cur.outside, cur.values),
        rows=rows,
        figures={"ks": stats.ks_distance(ref.counts, cur.counts)} if numeric else {},
    )


def _share(part: int, whole: int) -> float:
    return part / whole if whole else math.nan
