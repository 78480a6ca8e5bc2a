"""What every schedule target is: a file rendered from a job, checked, perhaps installed."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import ClassVar

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Job, Schedule
from nbmlops.redact import strip_credentials


def step_commands(job: Job, folder: str) -> list[tuple[str, list[str], str]]:
    """(step, the steps it needs, the command running it alone) for each step of a pipeline:
    what a scheduler with a graph of its own (Airflow, GitHub Actions) runs as one task each,
    so its UI shows the pipeline's graph."""
    return [(s.name, list(s.needs), f"nbmlops run {folder} --only {shlex.quote(s.name)}")
            for s in job.steps]


def task_id(step: str) -> str:
    """A step's name as Airflow task ids and GitHub job ids take it."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", step)


def tracking_uri(job: Job) -> str | None:
    """The job's tracking URI as a generated file may hold it: credentials never go into a
    file; the job finds them where it runs (MLFLOW_TRACKING_USERNAME/PASSWORD, or MLflow's
    ``~/.mlflow/credentials``)."""
    return strip_credentials(job.tracking_uri) if job.tracking_uri else None


class Target:
    """A scheduler. ``render`` is pure; ``install``/``remove`` touch the system.

    A *portable* target's file names the job folder only relatively (to itself, or as the
    folder it is copied into) and nbmlops as the ``nbmlops`` command on PATH; the tracking
    server comes from the job's ``tracking_uri`` or the environment where it runs. So the job
    folder can be handed to a team's platform as it is.
    """

    name: ClassVar[str]
    filename: ClassVar[str]  # relative to the job folder
    description: ClassVar[str]
    portable: ClassVar[bool] = True
    timed: ClassVar[bool] = True  # runs the job on its cron schedule (an image does not)

    def render(self, job: Job, folder: Path) -> str:
        raise NotImplementedError

    def needs(self, schedule: Schedule) -> tuple[str, ...]:
        """The other targets whose files this one relies on (the image it runs)."""
        return ()

    def check(self, text: str) -> None:
        """Raise ScheduleError when ``text`` is not what the scheduler accepts."""

    def install(self, job: Job, folder: Path) -> str:
        raise ScheduleError(
            f"{self.name}: nbmlops does not install this target itself; {self.description}"
        )

    def remove(self, job: Job, folder: Path) -> str:
        raise ScheduleError(f"{self.name}: remove {folder / self.filename} from where you "
                            "copied it")
