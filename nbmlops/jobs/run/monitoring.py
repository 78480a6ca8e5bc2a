"""What a scoring job does once its cells have run and their records are in MLflow.

A job whose job.yaml has ``monitor:``, ``alerts:``, ``retrain:`` or ``rollback:``
(:mod:`nbmlops.monitor.settings`) goes through :data:`STEPS` in order, each reading the
job's history (:mod:`nbmlops.monitor.history`) and writing what it did as tags of the job's
run, so ``nbmlops monitor``, the sidebar and ``assess`` can tell. A step that fails warns and
the next one still runs: monitoring never fails a scoring job that scored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.jobs.run import retraining
from nbmlops.jobs.spec import Job
from nbmlops.monitor.settings import Watch

__all__ = ["STEPS", "After", "after_run"]


@dataclass
class After:
    """What each step is handed: the job, its run, and where its records are."""

    job: Job
    folder: Path
    watch: Watch
    where: config.Destination
    job_run_id: str
    client: Any  # an MlflowClient of where.tracking_uri
    now: datetime
    say: Callable[[str], None]
    run_job: Callable[..., Any] | None = None  # nbmlops.jobs.run.run_job: a step may run a job


#: The steps, in order: each takes an :class:`After`.
STEPS: list[Callable[[After], None]] = []


def after_run(job: Job, folder: Path, job_run_id: str | None, status: str,
              where: config.Destination, say: Callable[[str], None],
              run_job: Callable[..., Any] | None = None) -> None:
    """Run :data:`STEPS` for a finished run of a job that monitors; nothing otherwise."""
    watch = job.watch()
    if not watch.configured or status != "FINISHED" or not job_run_id:
        return
    with store.fail_fast():
        after = After(job, folder, watch, where, job_run_id, store.client(where.tracking_uri),
                      datetime.now(timezone.utc), say, run_job)
        for step in STEPS:
            try:
                step(after)
            except Exception as e:  # the next step, and the job's result, stand
                say(f"nbmlops: warning: monitoring step {step.__name__} failed: "
                    f"{type(e).__name__}: {e}")


STEPS.append(retraining.alert_and_retrain)  # last: alerts on drift, retraining through gates
