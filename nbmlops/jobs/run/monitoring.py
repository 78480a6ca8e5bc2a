"""What a scoring job does once its cells have run and their records are in MLflow.

A job whose job.yaml has ``monitor:``, ``alerts:``, ``retrain:`` or ``rollback:``
(:mod:`nbmlops.monitor.settings`) goes through :data:`STEPS` in order, each reading the
job's history (:mod:`nbmlops.monitor.history`) and writing what it did as tags of the job's
run, so ``nbmlops monitor``, the sidebar and ``assess`` can tell. A step that fails warns and
the next one still runs: monitoring never fails a scoring job that scored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.jobs.run import live, retraining, rollback
from nbmlops.jobs.run.after import After
from nbmlops.jobs.run.windows import windows
from nbmlops.jobs.spec import Job

__all__ = ["STEPS", "after_run"]


#: The steps, in order: each takes an :class:`After`.
STEPS: list[Callable[[After], None]] = []
STEPS.append(windows)  # first: the later steps read the windows' figures and tags
STEPS.append(live.judge_live)  # delayed labels: the model judged live
STEPS.append(rollback.roll_back)  # after live: it reads what live measured
STEPS.append(retraining.alert_and_retrain)  # last: alerts on drift, retraining through gates


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
