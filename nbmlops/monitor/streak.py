"""How long a drift has lasted, read from a job's scoring runs (oldest first): pure rules over
:class:`~nbmlops.monitor.history.ScoringRun` lists, shared by the alert (what is news, since
when) and the report (since when each column drifts).

Runs whose batch was not compared with a reference (``drifted is None``) are passed over: they
neither break nor extend a streak. A streak belongs to one model version: a new version starts
afresh.
"""

from __future__ import annotations

from collections.abc import Sequence

from nbmlops.monitor.history import ScoringRun

__all__ = ["column_since", "is_new_drift", "same_version", "streak"]


def same_version(runs: Sequence[ScoringRun], current: ScoringRun) -> list[ScoringRun]:
    """The runs of ``current``'s model version up to it, oldest first."""
    return [r for r in runs if r.model == current.model and r.version == current.version
            and r.when <= current.when]


def streak(runs: Sequence[ScoringRun], current: ScoringRun) -> list[ScoringRun]:
    """The unbroken run of drifted scoring runs of ``current``'s model version that ends
    with ``current``, oldest first."""
    found: list[ScoringRun] = []
    for r in reversed(same_version(runs, current)):
        if r.drifted is None:
            continue
        if not r.drifted:
            break
        found.append(r)
    return found[::-1]


def is_new_drift(runs: Sequence[ScoringRun], current: ScoringRun) -> bool:
    """Whether ``current``'s drift is news: the version's previous compared run did not
    drift, or a column drifts now that did not then."""
    before = [r for r in same_version(runs, current)
              if r.run_id != current.run_id and r.drifted is not None]
    if not before or not before[-1].drifted:
        return True
    return bool(set(current.drifted_columns) - set(before[-1].drifted_columns))


def column_since(runs: Sequence[ScoringRun], current: ScoringRun, column: str) -> ScoringRun:
    """The first run of the unbroken streak in which ``column`` drifted, ending with
    ``current`` (``current`` itself when the column drifts there first)."""
    first = current
    for r in reversed(same_version(runs, current)):
        if r.drifted is None:
            continue
        if column not in r.drifted_columns:
            break
        first = r
    return first
