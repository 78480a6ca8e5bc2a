"""The local target: one line in the user's crontab, installed and removed by nbmlops.

Local by nature: the line holds this machine's absolute paths (the job folder, the
``nbmlops`` script of this installation, the store and spool the exporting shell uses),
because cron starts jobs with an almost empty environment.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.schedule import check_cron, cron_of, describe, next_run
from nbmlops.jobs.spec import JOB_FILE, Job
from nbmlops.jobs.targets.base import Target
from nbmlops.redact import strip_credentials

#: Marks the crontab lines nbmlops owns: ``# nbmlops:<absolute job folder>``.
CRON_MARKER = "nbmlops:"
CRON_LOG = "logs/cron.log"
#: How long an install or removal waits for another nbmlops editing the same crontab.
CRONTAB_LOCK_WAIT = 30.0


def nbmlops_executable() -> str:
    """The ``nbmlops`` script of this installation: a scheduler's PATH does not have it."""
    beside = Path(sys.executable).with_name("nbmlops")
    return str(beside) if beside.exists() else shutil.which("nbmlops") or "nbmlops"


def run_environment(job: Job, folder: Path) -> dict[str, str]:
    """What ``nbmlops run`` needs from the installing shell: the tracking store and spool it
    would use there (cron starts with an almost empty environment)."""
    root = config.project_root(folder)
    env = {
        "MLFLOW_TRACKING_URI": strip_credentials(config.store_uri(job.tracking_uri, root)),
        config.ENV_SPOOL: str(config.spool_dir(root)),
        "PATH": os.pathsep.join(dict.fromkeys(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])),
    }
    for name in ("HOME", "LANG"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


class CronTarget(Target):
    name = "cron"
    filename = "crontab.txt"
    description = "`nbmlops schedule JOB --install` adds it to your crontab"
    portable = False

    def command(self, job: Job, folder: Path) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in run_environment(job, folder).items())
        run = f"{shlex.quote(nbmlops_executable())} run {shlex.quote(str(folder))}"
        log = shlex.quote(str(folder / CRON_LOG))
        line = f"cd {shlex.quote(str(folder))} && env {env} {run} >> {log} 2>&1"
        if "\n" in line or "\r" in line:  # no quoting carries a line break through crontab
            raise ScheduleError(
                f"a cron entry is one line, and the job's path or settings hold a line break "
                f"({str(folder)!r}): move the project, or use another target")
        # cron turns an unescaped % into a newline
        return line.replace("%", r"\%")

    def render(self, job: Job, folder: Path) -> str:
        tz = job.schedule.timezone
        note = "" if tz in ("UTC", _local_zone()) else (
            f"# note: cron uses the machine's timezone, not {tz}\n")
        return (f"# {describe(cron_of(job))} (nbmlops job {job.name})\n{note}"
                f"{cron_of(job)} {self.command(job, folder)} # {CRON_MARKER}{folder}\n")

    def check(self, text: str) -> None:
        for line in text.splitlines():
            if line and not line.startswith("#"):
                check_cron(" ".join(line.split()[:5]))

    def install(self, job: Job, folder: Path) -> str:
        (folder / CRON_LOG).parent.mkdir(parents=True, exist_ok=True)
        with _editing_crontab() as tab:
            moved = _remove_entries_of(tab, folder)  # its line, and one left where it was
            entry = tab.new(command=self.command(job, folder), comment=f"{CRON_MARKER}{folder}")
            entry.setall(cron_of(job))
            _write(tab)
        when = next_run(cron_of(job), job.schedule.timezone)
        return (f"installed in the crontab: {cron_of(job)} ({describe(cron_of(job))}); "
                f"next run {when:%Y-%m-%d %H:%M %Z}; log {folder / CRON_LOG}"
                + _moved_note(moved, folder, "it replaces "))

    def remove(self, job: Job, folder: Path) -> str:
        with _editing_crontab() as tab:
            removed = _remove_entries_of(tab, folder)
            if not removed:
                return f"no crontab entry for {folder}"
            _write(tab)
        count = len(removed)
        return (f"removed {count} crontab entr{'y' if count == 1 else 'ies'} for {folder}"
                + _moved_note(removed, folder, ""))


def moved_here(entry_folder: Path, folder: Path) -> bool:
    """Whether the crontab line made for ``entry_folder`` is the job in ``folder`` from before
    its project was moved or renamed.

    A line names its job folder by absolute path, which a move breaks; the job's path inside
    its project (``jobs/NAME``) survives it. So: the old folder holds no job any more, and it
    ends with that path. The line of a copy of the project is not this job's: its folder
    still holds the copy's job.
    """
    if entry_folder == folder or (entry_folder / JOB_FILE).is_file():
        return False
    folder = folder.resolve()
    root = config.project_root(folder)
    tail = folder.relative_to(root).parts if folder != root else ()
    tail = tail or (folder.name,)
    return entry_folder.parts[-len(tail):] == tail


def _remove_entries_of(tab: Any, folder: Path) -> list[Path]:
    """Take the job's lines out of ``tab``: the folders they were made for."""
    removed = []
    for entry in list(tab):
        made_for = _folder_of(entry)
        if made_for is not None and (made_for == folder or moved_here(made_for, folder)):
            tab.remove(entry)
            removed.append(made_for)
    return removed


def _moved_note(folders: list[Path], folder: Path, lead: str) -> str:
    old = sorted({str(f) for f in folders if f != folder})
    return f" ({lead}the line made for {', '.join(old)} before the job moved)" if old else ""


def _folder_of(entry: Any) -> Path | None:
    comment = entry.comment or ""
    return Path(comment[len(CRON_MARKER):]) if comment.startswith(CRON_MARKER) else None


def _local_zone() -> str:
    try:
        return str(Path("/etc/timezone").read_text().strip())
    except OSError:
        return "UTC"


def _crontab() -> Any:
    from crontab import CronTab

    try:
        return CronTab(user=True)
    except (OSError, ValueError) as e:
        raise ScheduleError(f"cannot read the user crontab (is cron installed?): {e}") from None


@contextlib.contextmanager
def _editing_crontab() -> Iterator[Any]:
    """The user's crontab, read and written back under a lock of this user's: two nbmlops
    processes installing at once (a terminal and the sidebar) would otherwise each write back
    the crontab they read, and one line would be lost."""
    import filelock

    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    lock = filelock.FileLock(os.path.join(tempfile.gettempdir(), f"nbmlops-crontab-{uid}.lock"))
    try:
        lock.acquire(timeout=CRONTAB_LOCK_WAIT)
    except filelock.Timeout:
        raise ScheduleError(f"another nbmlops has been editing the crontab for "
                            f"{CRONTAB_LOCK_WAIT:.0f} s ({lock.lock_file}); try again") from None
    try:
        yield _crontab()
    finally:
        lock.release()


def _write(tab: Any) -> None:
    try:
        tab.write()
    except (OSError, ValueError) as e:
        raise ScheduleError(f"cannot write the user crontab: {' '.join(str(e).split())}") from None


@dataclass(frozen=True)
class CronEntry:
    folder: Path
    schedule: str
    enabled: bool


def cron_entries() -> Iterator[CronEntry]:
    """The crontab lines nbmlops installed, with their job folders."""
    try:
        tab = _crontab()
    except ScheduleError:
        return
    for entry in tab:
        folder = _folder_of(entry)
        if folder is not None:
            yield CronEntry(folder, str(entry.slices), bool(entry.is_enabled()))


def left_behind(folder: Path, entries: Iterable[CronEntry]) -> list[CronEntry]:
    """The lines made for the job in ``folder`` before it moved: they run nothing any more."""
    return [e for e in entries if moved_here(e.folder, folder)]
