"""``nbmlops assess``: where a project stands on the maturity levels, and what to do next.

:mod:`~nbmlops.assess.evidence` gathers facts from disk and MLflow,
:mod:`~nbmlops.assess.criteria` judges them (with the warning signs of
:mod:`~nbmlops.assess.red_flags`), :mod:`~nbmlops.assess.report` renders the judgement
(terminal, markdown, html, json).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbmlops.assess.criteria import Assessment

__all__ = ["assess_project"]


def assess_project(
    path: str | os.PathLike[str] | None = None,
    *,
    timeout: float | None = None,
    max_runs: int | None = None,
    mlflow: bool = True,
) -> Assessment:
    """The assessment of the project at or above ``path`` (the working directory)."""
    from nbmlops.assess import criteria, evidence

    facts = evidence.gather(
        path,
        timeout=evidence.DEFAULT_TIMEOUT if timeout is None else timeout,
        max_runs=evidence.DEFAULT_MAX_RUNS if max_runs is None else max_runs,
        mlflow=mlflow,
    )
    return criteria.assess(facts)
