"""A scoring job's history, as MLflow keeps it: its runs oldest first, what each scored with,
what drifted, and what the job then did (alerts, retraining, rollback).

Two kinds of run make the history. The **scoring run** is the tracked cell that loaded a
registered model and predicted (its tags say which version, and whether its batch drifted
against that version's training data; its metrics ``monitor.MODEL.*`` say by how much).
The **job run** is its parent, made by ``nbmlops run``: it carries what the job decided
after the cells had run (:data:`nbmlops.store.ALERTS_TAG`, the ``nbmlops.retrain.*`` tags,
:data:`nbmlops.store.ROLLBACK_TAG`). Reading only: the retraining policy, ``nbmlops
monitor``, the sidebar and ``assess`` all read a job's history through here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from nbmlops import store
from nbmlops.monitor.policy import Window

__all__ = ["JobRun", "ScoringRun", "job_runs", "last_job_run", "scoring_runs"]

PAGE = 1000  # runs read at most per search: a year of daily scoring, twice


@dataclass(frozen=True)
class ScoringRun:
    """A tracked cell that scored a batch with a registered version."""

    run_id: str
    job_run_id: str | None  # the job run it is part of (None: run by hand)
    when: datetime  # its start, in UTC
    status: str
    model: str
    version: str
    alias: str | None
    drifted: bool | None  # None: the batch was not compared (no reference, no frame)
    drifted_columns: tuple[str, ...]
    figures: Mapping[str, float]  # its ``monitor.MODEL.*`` metrics, the prefix taken off

    def window(self) -> Window:
        """As the retraining policy reads it."""
        return Window(self.run_id, self.when, bool(self.drifted), self.figures)


@dataclass(frozen=True)
class JobRun:
    """A run of the scoring job, with what the job did once its cells had run."""

    run_id: str
    when: datetime
    status: str
    alerts: Sequence[Mapping[str, Any]] = ()  # kind, title, deliveries
    decision: str | None = None  # "retrain" | "hold" | None (no retrain: policy)
    reason: str | None = None
    retrain_run_id: str | None = None  # the training job's run it started
    outcome: str | None = None  # what became of that retraining
    rollback: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


def scoring_runs(client: Any, job: str, model: str | None = None,
                 experiment_ids: Iterable[str] | None = None) -> list[ScoringRun]:
    """The scoring runs of job ``job`` (of ``model`` only, when given), oldest first."""
    ids = _experiments(client, experiment_ids)
    parents = {r.run_id for r in job_runs(client, job, ids)}
    if not parents:
        return []
    found = []
    for run in _search(client, ids, f"tags.`{store.SCORED_WITH_MODEL_TAG}` LIKE '%'"):
        tags = run.data.tags
        if tags.get(store.PARENT_RUN_TAG) not in parents:
            continue
        name = tags[store.SCORED_WITH_MODEL_TAG]
        if model is not None and name != model:
            continue
        found.append(_scoring_run(run, name))
    return sorted(found, key=lambda r: r.when)


def job_runs(client: Any, job: str, experiment_ids: Iterable[str] | None = None
             ) -> list[JobRun]:
    """The runs of job ``job`` (``nbmlops run``'s own runs), oldest first."""
    ids = _experiments(client, experiment_ids)
    runs = _search(client, ids, f"tags.`{store.JOB_TAG}` = '{_quoted(job)}'")
    return sorted((_job_run(r) for r in runs if store.STEP_TAG not in r.data.tags),
                  key=lambda r: r.when)


def last_job_run(client: Any, job: str, experiment_ids: Iterable[str] | None = None
                 ) -> JobRun | None:
    """The newest run of job ``job``, or None when it never ran."""
    runs = job_runs(client, job, experiment_ids)
    return runs[-1] if runs else None


def _scoring_run(run: Any, name: str) -> ScoringRun:
    tags = run.data.tags
    prefix = f"monitor.{store.metric_part(name)}."
    figures = {k[len(prefix):]: float(v) for k, v in run.data.metrics.items()
               if k.startswith(prefix)}
    drifted = tags.get(store.monitor_drifted_tag(name))
    columns = tags.get(store.monitor_columns_tag(name), "")
    return ScoringRun(
        run_id=run.info.run_id,
        job_run_id=tags.get(store.PARENT_RUN_TAG),
        when=_when(run),
        status=run.info.status,
        model=name,
        version=tags.get(store.SCORED_WITH_VERSION_TAG, ""),
        alias=tags.get(store.SCORED_WITH_ALIAS_TAG),
        drifted=None if drifted is None else drifted == "yes",
        drifted_columns=tuple(c.strip() for c in columns.split(",") if c.strip()),
        figures=figures,
    )


def _job_run(run: Any) -> JobRun:
    tags = dict(run.data.tags)
    try:
        alerts = json.loads(tags.get(store.ALERTS_TAG, "[]"))
    except ValueError:
        alerts = []
    return JobRun(
        run_id=run.info.run_id,
        when=_when(run),
        status=run.info.status,
        alerts=alerts if isinstance(alerts, list) else [],
        decision=tags.get(store.RETRAIN_DECISION_TAG),
        reason=tags.get(store.RETRAIN_REASON_TAG),
        retrain_run_id=tags.get(store.RETRAIN_RUN_TAG),
        outcome=tags.get(store.RETRAIN_OUTCOME_TAG),
        rollback=tags.get(store.ROLLBACK_TAG),
        tags=tags,
    )


def _when(run: Any) -> datetime:
    return datetime.fromtimestamp((run.info.start_time or 0) / 1000, tz=timezone.utc)


def _experiments(client: Any, given: Iterable[str] | None) -> list[str]:
    if given is not None:
        return list(given)
    return [e.experiment_id for e in client.search_experiments()]


def _search(client: Any, ids: Sequence[str], filter_string: str) -> list[Any]:
    if not ids:
        return []
    return list(client.search_runs(ids, filter_string=filter_string, max_results=PAGE,
                                   order_by=["attributes.start_time DESC"]))


def _quoted(text: str) -> str:
    return text.replace("'", "\\'")
