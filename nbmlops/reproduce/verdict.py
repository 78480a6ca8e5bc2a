"""Whether a reproduction gave back the original run: metric by metric, data by data.

A re-run that failed is the verdict's headline, its error first: what changed since the run
(a data file, a package) is then only a possible cause, named after it. A re-run that finished
with other results names what changed as the likely cause.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from nbmlops import store
from nbmlops.runs.entities import Dataset

YES, WITHIN, NO = store.REPRODUCED_YES, store.REPRODUCED_WITHIN, store.REPRODUCED_NO
SAID = {YES: "reproduced", WITHIN: "reproduced within tolerance", NO: "not reproduced"}


@dataclass(frozen=True)
class MetricComparison:
    name: str
    original: float | None
    reproduced: float | None
    state: str  # "same" | "within" | "differs" | "missing" | "new"

    def __str__(self) -> str:
        return (f"metric {self.name}: {_number(self.original)} -> "
                f"{_number(self.reproduced)} ({self.state})")


@dataclass(frozen=True)
class DataComparison:
    name: str
    context: str
    original: str | None
    reproduced: str | None

    @property
    def same(self) -> bool:
        return self.original == self.reproduced

    def __str__(self) -> str:
        state = "same" if self.same else "differs"
        return (f"data {self.name} ({self.context}): {(self.original or 'none')[:8]} -> "
                f"{(self.reproduced or 'none')[:8]} ({state})")


@dataclass
class Verdict:
    verdict: str  # yes | within-tolerance | no
    metrics: list[MetricComparison] = field(default_factory=list)
    data: list[DataComparison] = field(default_factory=list)
    failure: str | None = None  # why the reproduction did not finish

    @property
    def said(self) -> str:
        return SAID[self.verdict]

    @property
    def headline(self) -> str:
        """The verdict in one block: the failure of the re-run, when it failed, comes with it."""
        return f"{self.said}: {self.failure}" if self.failure else self.said

    def causes(self, changes: Iterable[object]) -> list[str]:
        """What changed since the run (``changes``), as causes of a verdict ``no``: possible
        ones when the re-run failed (its error may have nothing to do with them), likely ones
        when it finished with other results."""
        if self.verdict != NO:
            return []
        kind = "possible cause" if self.failure else "likely cause"
        return [f"{kind}: {change}" for change in changes]

    @property
    def differences(self) -> list[str]:
        """What differs, one line each (what the original run's tag holds)."""
        lines = [self.failure] if self.failure else []
        lines += [str(m) for m in self.metrics if m.state not in ("same", "within")]
        lines += [str(m) for m in self.metrics if m.state == "within"]
        lines += [str(d) for d in self.data if not d.same]
        return lines


def compare(
    original_metrics: Mapping[str, float], reproduced_metrics: Mapping[str, float],
    original_data: Sequence[Dataset], reproduced_data: Sequence[Dataset], tolerance: float,
    failure: str | None = None,
) -> Verdict:
    """The verdict: ``yes`` when every metric and every data fingerprint is the same,
    ``within-tolerance`` when metrics differ by at most ``tolerance`` (relative to the
    value, or absolute near zero) and the data are the same, ``no`` otherwise."""
    metrics = []
    for name in sorted({*original_metrics, *reproduced_metrics}):
        a, b = original_metrics.get(name), reproduced_metrics.get(name)
        if a is None:
            state = "new"
        elif b is None:
            state = "missing"
        elif a == b or (math.isnan(a) and math.isnan(b)):
            state = "same"
        elif math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance):
            state = "within"
        else:
            state = "differs"
        metrics.append(MetricComparison(name, a, b, state))
    data = []
    mine = {(d.name, d.context): d.fingerprint for d in reproduced_data}
    theirs = {(d.name, d.context): d.fingerprint for d in original_data}
    for name, context in sorted({*theirs, *mine}):
        data.append(DataComparison(name, context, theirs.get((name, context)),
                                   mine.get((name, context))))
    if failure or any(m.state in ("differs", "missing") for m in metrics) or any(
        not d.same for d in data
    ):
        verdict = NO
    elif any(m.state == "within" for m in metrics):
        verdict = WITHIN
    else:
        verdict = YES
    return Verdict(verdict, metrics, data, failure)


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.10g}"
