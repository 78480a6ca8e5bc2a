"""Pages ordered by a metric, fast on big experiments: MLflow orders a narrowed set.

MLflow orders by a metric with an outer join to a subquery of ``latest_metrics``; SQLite (the
embedded store, and the usual store behind a small ``mlflow server``) answers it by scanning
that subquery once per run: about 6 s for the first page of 10,000 runs here, where ordering
by start time takes 60 ms. Filters cost per run *returned*, not per run stored.

So the first ``need`` runs by ``metrics.m DESC`` are fetched as: find a threshold ``t`` with
at least ``need`` runs having ``m > t`` but not many more, then let MLflow order only
``<filter> and metrics.m > t``. The result is exactly MLflow's order (the ``need`` best all
lie above ``t``, ties included, and NaN or missing values sort after every real value either
way); only the work changes. ``t`` comes from a sample of runs in run-id order (ids are
random, so it is an unbiased sample) and is tightened with the values each probe returns.
When anything does not fit (a small experiment, a metric few runs have, values all tied),
the caller asks MLflow directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

#: Runs in the sample; an experiment with fewer is ordered by MLflow directly (cheaply).
SAMPLE = 50
MAX_PROBES = 6

#: ``search(extra_filter, max_results, order_by) -> (runs, next_page_token)``
Search = Callable[[str, int, "list[str] | None"], "tuple[list[Any], str | None]"]


def threshold(search: Search, key: str, descending: bool, need: int) -> float | None:
    """A value ``t`` with at least ``need`` runs beyond it (``m > t`` when ``descending``,
    else ``m < t``), as few more as a few probes find; None when narrowing does not apply."""
    sample, more = search("", SAMPLE, ["attributes.run_id ASC"])
    if more is None:
        return None  # the whole experiment is in the sample: small enough for MLflow
    values = _best_first(sample, key, descending)
    if not values:
        return None
    limit = 2 * need
    index, valid = 0, None
    candidate = values[0]
    for _ in range(MAX_PROBES):
        found, _ = search(beyond(key, candidate, descending), limit, None)
        if len(found) < need:  # too strict: loosen along the sample
            if valid is not None or index == len(values) - 1:
                break
            index = min(2 * index + 1, len(values) - 1)
            candidate = values[index]
            continue
        valid = candidate
        if len(found) < limit:
            break  # a small set: MLflow orders it quickly
        tighter = _tighter(_all_values(found, key, descending), need)
        if tighter is None or tighter == candidate:
            break
        candidate = tighter
    return valid


def beyond(key: str, value: float, descending: bool) -> str:
    """The filter clause ``metrics.`key` > value`` (``<`` when ascending)."""
    # repr round-trips the float exactly; MLflow's parser takes 1e-05 but not 1e+20.
    literal = repr(value) if "e+" not in repr(value) else f"{value:f}"
    return f"metrics.`{key}` {'>' if descending else '<'} {literal}"


def _tighter(seen: Sequence[float], need: int) -> float | None:
    """A value with at least ``need`` of ``seen`` (best first) strictly beyond it."""
    for j in range(need, len(seen)):
        if seen[j] != seen[need - 1]:
            return seen[j]
    return None


def _all_values(runs: Sequence[Any], key: str, descending: bool) -> list[float]:
    found = [_real(r.data.metrics.get(key)) for r in runs]
    return sorted((v for v in found if v is not None), reverse=descending)


def _best_first(runs: Sequence[Any], key: str, descending: bool) -> list[float]:
    return sorted(set(_all_values(runs, key, descending)), reverse=descending)


def _real(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
