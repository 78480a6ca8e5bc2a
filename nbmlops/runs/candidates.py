"""A hyperparameter search's candidates: nested runs that stand under the run that made them.

A ``%%track`` cell that fits a search records its best candidates as nested runs (tags
``nbmlops.candidate.rank`` and ``mlflow.parentRunId``, see :mod:`nbmlops.track.fitted`).
They are no runs of the notebook of their own: listings leave them out (:data:`TOP_LEVEL`)
and :func:`nbmlops.runs.query.attach_candidates` hangs them (:func:`hang`), best first, on
the runs that made them.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def searches(runs: Sequence[RunSummary]) -> tuple[list[RunSummary], str]:
    """The runs that may have candidates, and the filter finding the candidates of them all
    at once (their parents picked here: MLflow has no IN for tags)."""
    found = [r for r in runs if may_have_candidates(r)]
    # A candidate starts when its search's run does: none is older than the oldest search.
    starts = [r.start_time for r in found if r.start_time]
    since = f" and attributes.start_time >= {min(starts)}" if starts else ""
    return found, f"tags.`{store.CANDIDATE_RANK_TAG}` IS NOT NULL{since}"


def hang(parents: Sequence[RunSummary], found: Sequence[RunSummary]) -> None:
    """Set each parent's ``candidates``: those of ``found`` nested under it, best first."""
    under: dict[str, list[RunSummary]] = {}
    for child in found:
        if child.parent_run_id:
            under.setdefault(child.parent_run_id, []).append(child)
    for parent in parents:
        parent.candidates = sorted(under.get(parent.run_id, []),
                                   key=lambda c: (c.candidate_of or "", c.candidate_rank or 0))
