"""A scoring run among the ones before it: whether its batch's size is usual.

A batch's row count says nothing against the training data (a day's batch is far smaller
than months of training data), so it is compared with the **previous windows only**: the
median row count of the last :data:`LAST` scoring runs of the same job and model. A batch
with fewer than :data:`LOW` times that median, or more than :data:`HIGH` times it, is flagged
(``low`` / ``high``; ``usual`` otherwise): a feed that delivered half a day, or twice. With
fewer than :data:`MIN_PREVIOUS` previous runs there is no usual yet and nothing is said.

Pure: numbers in, a verdict out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HIGH", "LAST", "LOW", "MIN_PREVIOUS", "Rows", "rows_verdict"]

#: Previous windows whose median is the usual row count.
LAST = 7
#: Fewer rows than this share of the usual count is flagged ``low``.
LOW = 0.5
#: More rows than this multiple of the usual count is flagged ``high``.
HIGH = 2.0
#: Previous windows needed before a row count is judged.
MIN_PREVIOUS = 3


@dataclass(frozen=True)
class Rows:
    """A batch's row count against the previous windows'."""

    rows: int
    median: float  # of the previous windows' row counts
    windows: int  # how many previous windows that median is of
    ratio: float  # rows / median
    flag: str  # "low" | "high" | "usual"

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["ratio"] = self.ratio if math.isfinite(self.ratio) else None
        out["rule"] = f"< {LOW:g}x or > {HIGH:g}x the median of the last {LAST} windows"
        return out


def rows_verdict(rows: int, previous: Sequence[float]) -> Rows | None:
    """``rows`` against the row counts of the windows before it (oldest first); None with
    fewer than :data:`MIN_PREVIOUS` of them."""
    last = list(previous)[-LAST:]
    if len(last) < MIN_PREVIOUS:
        return None
    median = float(statistics.median(last))
    ratio = rows / median if median else (math.inf if rows else 1.0)
    flag = "low" if ratio < LOW else "high" if ratio > HIGH else "usual"
    return Rows(int(rows), median, len(last), ratio, flag)
