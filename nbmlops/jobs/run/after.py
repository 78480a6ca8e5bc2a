"""What each monitoring step of a scoring job is handed (:mod:`nbmlops.jobs.run.monitoring`
lists the steps): its own module, so the steps name it without importing the list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.jobs.spec import Job
from nbmlops.monitor.settings import Watch

__all__ = ["After"]


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
