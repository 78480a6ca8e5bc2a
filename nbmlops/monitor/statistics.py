"""Distances and tests between two sketches of one column, computed from their counts alone.

Two kinds of figure, as the drift tools agree on (Evidently's defaults, NannyML's
univariate methods):

- an **effect size**, which grows with how far the data moved and not with how much data
  there is: the Wasserstein distance in units of the reference's standard deviation for
  numbers (a mean shift of 0.2 sigma reads 0.2), the Jensen-Shannon distance (natural log)
  for categories (one class's share moved 10 points out of 50/50 reads about 0.07);
- a **test** of "same distribution", whose p-value falls with the sample size for any real
  difference: two-sample Kolmogorov-Smirnov for numbers, Pearson's chi-square of
  homogeneity for categories.

Both are read off the reference's bins, so they are the figures of the binned data: the KS
distance is the largest gap between the two distribution functions at the bin edges (never
above the exact one, so its p-value errs towards "same"), and the Wasserstein distance is
the area between them within the reference's range (values beyond it are counted by the
sketch's ``outside`` share instead). PSI over the reference's deciles is reported too,
since many teams know its 0.1 / 0.25 folklore, but it decides nothing.

Pure: counts in, floats out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from nbmlops.data.drift import psi as _psi
from nbmlops.monitor.sketch import ColumnLayout

__all__ = [
    "chi_square_pvalue",
    "effect",
    "jensen_shannon",
    "ks_distance",
    "ks_pvalue",
    "psi",
    "wasserstein",
]


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total for c in counts] if total else [0.0] * len(counts)


def _cumulative(counts: Sequence[int]) -> list[float]:
    return list(itertools.accumulate(_shares(counts)))


def ks_distance(reference: Sequence[int], batch: Sequence[int]) -> float:
    """Largest gap between the two distribution functions at the bin edges."""
    return max((abs(a - b) for a, b in zip(_cumulative(reference), _cumulative(batch),
                                           strict=True)), default=0.0)


def wasserstein(col: ColumnLayout, reference: Sequence[int], batch: Sequence[int]) -> float:
    """Area between the two distribution functions over the reference's range, in units of
    the reference's standard deviation (0 when that is 0 or unknown)."""
    if not col.std or not math.isfinite(col.std):
        return 0.0
    ref, cur = _cumulative(reference), _cumulative(batch)
    # Bin i + 1 spans (e_i, e_i+1]; between those edges both functions are read at e_i.
    area = sum(abs(ref[i] - cur[i]) * (col.edges[i + 1] - col.edges[i])
               for i in range(len(col.edges) - 1))
    return area / col.std


def jensen_shannon(reference: Sequence[int], batch: Sequence[int]) -> float:
    """Jensen-Shannon distance (square root of the divergence, natural log), 0 to 0.83."""
    p, q = _shares(reference), _shares(batch)
    divergence = 0.0
    for a, b in zip(p, q, strict=True):
        m = (a + b) / 2
        if a:
            divergence += a * math.log(a / m) / 2
        if b:
            divergence += b * math.log(b / m) / 2
    return math.sqrt(max(divergence, 0.0))


def psi(col: ColumnLayout, reference: Sequence[int], batch: Sequence[int]) -> float:
    """Population stability index over the reference's deciles (numbers) or its values."""
    if col.kind == "numeric":
        reference, batch = _deciles(reference, batch)
    return _psi(_shares(reference), _shares(batch))


def _deciles(reference: Sequence[int], batch: Sequence[int]) -> tuple[list[int], list[int]]:
    """Fine bins pooled into about ten groups of a tenth of the reference each."""
    total = sum(reference) or 1
    groups: list[int] = []
    seen = 0
    for c in reference:
        seen += c
        groups.append(min(9, int(10 * (seen - c / 2) / total)))
    pooled_ref, pooled_cur = [0] * 10, [0] * 10
    for g, r, b in zip(groups, reference, batch, strict=True):
        pooled_ref[g] += r
        pooled_cur[g] += b
    return pooled_ref, pooled_cur


def ks_pvalue(distance: float, n: int, m: int) -> float:
    """p-value of the two-sample KS distance of samples of ``n`` and ``m`` values (the
    asymptotic Kolmogorov distribution with Stephens' small-sample correction)."""
    if not n or not m:
        return 1.0
    from scipy.special import kolmogorov

    root = math.sqrt(n * m / (n + m))
    return float(min(1.0, kolmogorov((root + 0.12 + 0.11 / root) * distance)))


def chi_square_pvalue(reference: Sequence[int], batch: Sequence[int]) -> float:
    """p-value of Pearson's chi-square test that two samples' counts over the same buckets
    come from one distribution."""
    n, m = sum(reference), sum(batch)
    if not n or not m:
        return 1.0
    statistic, buckets = 0.0, 0
    for a, b in zip(reference, batch, strict=True):
        pooled = (a + b) / (n + m)
        if pooled:
            statistic += (a - n * pooled) ** 2 / (n * pooled) + (b - m * pooled) ** 2 / (m * pooled)
            buckets += 1
    if buckets < 2:
        return 1.0
    from scipy.special import chdtrc

    return float(chdtrc(buckets - 1, statistic))


def effect(col: ColumnLayout, reference: Sequence[int], batch: Sequence[int]) -> float:
    """The column's effect size: Wasserstein (numbers) or Jensen-Shannon (categories)."""
    if col.kind == "numeric":
        return wasserstein(col, reference, batch)
    return jensen_shannon(reference, batch)


def pvalue(col: ColumnLayout, reference: Sequence[int], batch: Sequence[int]) -> float:
    """The column's test: KS (numbers) or chi-square (categories)."""
    if col.kind == "numeric":
        return ks_pvalue(ks_distance(reference, batch), sum(reference), sum(batch))
    return chi_square_pvalue(reference, batch)
