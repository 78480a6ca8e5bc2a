"""What every schedule target is: a file rendered from a job, checked, perhaps installed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Job


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

    def needs(self, job: Job) -> tuple[str, ...]:
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
