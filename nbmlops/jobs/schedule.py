"""Cron expressions: checked, described in words, and their next firing.

Every schedule target (``nbmlops.jobs.targets``) takes its timing from one five-field cron
expression in job.yaml; this module is where such an expression is understood.
"""

from __future__ import annotations

from datetime import datetime

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Job

#: A parameter of this name receives the scheduler's run date (``YYYY-MM-DD``).
RUN_DATE_PARAM = "run_date"


def check_cron(expr: str) -> str:
    """``expr`` when it is a five-field cron expression, else a ScheduleError saying why."""
    from croniter import croniter

    expr = " ".join(expr.split())
    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ScheduleError(
            f"invalid cron expression {expr!r}: five fields are needed, minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * 1'"
        )
    return expr


def cron_of(job: Job) -> str:
    """The job's checked cron expression; a ScheduleError when it has none."""
    if not job.schedule.cron:
        raise ScheduleError(f"job {job.name} has no schedule: export it with --schedule CRON "
                            "or set schedule.cron in job.yaml")
    return check_cron(job.schedule.cron)


def next_run(expr: str, timezone: str = "UTC", now: datetime | None = None) -> datetime:
    """When ``expr`` fires next, in ``timezone``."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError) as e:
        raise ScheduleError(f"unknown timezone {timezone!r}") from e
    start = (now or datetime.now(zone)).astimezone(zone)
    return croniter(check_cron(expr), start).get_next(datetime)


def describe(expr: str) -> str:
    """``0 3 * * 1`` -> ``At 03:00 AM, only on Monday``."""
    from cron_descriptor import get_description

    return str(get_description(expr))
