"""Schedule targets: one writer class per scheduler, found by name in :data:`TARGETS`.

A target renders the file its scheduler reads from a :class:`~nbmlops.jobs.spec.Job` (a pure
function of the job and its folder), checks what it rendered, and, where nbmlops can do it
itself, installs and removes the schedule. Adding a target is one module and one line below.

Every target runs the same thing, ``nbmlops run JOB``, so validation, the parent MLflow run,
the lock and the failure report are the same wherever a job is scheduled.
"""

from __future__ import annotations

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Schedule
from nbmlops.jobs.targets.airflow import AirflowTarget
from nbmlops.jobs.targets.base import Target
from nbmlops.jobs.targets.cron import CronTarget
from nbmlops.jobs.targets.github import GithubTarget
from nbmlops.jobs.targets.image import ImageTarget
from nbmlops.jobs.targets.kubernetes import KubernetesTarget

TARGETS: dict[str, type[Target]] = {
    t.name: t for t in (CronTarget, AirflowTarget, KubernetesTarget, GithubTarget, ImageTarget)
}


def target(name: str) -> Target:
    try:
        return TARGETS[name]()
    except KeyError:
        raise ScheduleError(
            f"unknown schedule target {name!r} (known: {', '.join(TARGETS)})"
        ) from None


def with_needs(schedule: Schedule, names: list[str]) -> list[str]:
    """``names`` and the targets they rely on (the image a Kubernetes target runs), in order."""
    out: list[str] = []
    for name in names:
        out += [n for n in (name, *target(name).needs(schedule)) if n not in out]
    return out
