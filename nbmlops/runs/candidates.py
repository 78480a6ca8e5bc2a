"""A hyperparameter search's candidates: nested runs that stand under the run that made them.

A ``%%track`` cell that fits a search records its best candidates as nested runs (tags
``nbmlops.candidate.rank`` and ``mlflow.parentRunId``, see :mod:`nbmlops.track.fitted`).
They are no runs of the notebook of their own: listings leave them out (:data:`TOP_LEVEL`)
and :func:`attach` hangs them, best first, on the runs that made them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from nbmlops import store
from nbmlops.runs.entities import RunSummary

#: The clause a listing adds so that candidates do not stand as runs of their own.
TOP_LEVEL = f"tags.`{store.CANDIDATE_RANK_TAG}` IS NULL"
#: Candidates read at most for one page of runs.
MAX_CANDIDATES = 1000
# The metric a search's run records beside its candidates (GridSearchCV & co.: best_score,
# an Optuna study: best_value): only pages holding such a run ask for candidates.
_SEARCH_METRICS = (".best_score", ".best_value")


def top_level(clause: str) -> str:
    """``clause`` (MLflow's search syntax, may be empty) keeping no candidate run."""
    return " and ".join(p for p in (clause.strip(), TOP_LEVEL) if p)


def may_have_candidates(run: RunSummary) -> bool:
    return any(name.endswith(_SEARCH_METRICS) for name in run.metrics)


def attach(tracking_uri: str, runs: Sequence[RunSummary]) -> None:
    """Set each run's ``candidates``: its search's nested candidate runs, best first. One
    query for the whole page, none when no run on it searched."""
    from nbmlops.runs import query

    searches = [r for r in runs if may_have_candidates(r)]
    if not searches:
        return
    # A candidate starts when its search's run does: none is older than the oldest search.
    starts = [r.start_time for r in searches if r.start_time]
    since = f" and attributes.start_time >= {min(starts)}" if starts else ""
    client = store.client(tracking_uri)
    found = query.call(tracking_uri, partial(
        client.search_runs, sorted({r.experiment_id for r in searches}),
        filter_string=f"tags.`{store.CANDIDATE_RANK_TAG}` IS NOT NULL{since}",
        max_results=MAX_CANDIDATES))
    under: dict[str, list[RunSummary]] = {}
    for found_run in found:
        child = query.summary(found_run)
        if child.parent_run_id:
            under.setdefault(child.parent_run_id, []).append(child)
    for search in searches:
        search.candidates = sorted(under.get(search.run_id, []),
                                   key=lambda c: (c.candidate_of or "", c.candidate_rank or 0))
