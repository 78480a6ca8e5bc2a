"""The sidebar's Jobs view: the jobs exported from a notebook, "Run now" and the cron
schedule's Install / Remove. Every job is found through the notebook it was exported from,
so a request can only reach job folders inside the server's root.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from nbmlops.exceptions import ConfigError, JobError
from nbmlops.jobs import overview as jobs_overview
from nbmlops.server import answers, notebook

#: Runs started here, by job folder: shown as running until they end.
_started: dict[Path, subprocess.Popen[bytes]] = {}
RUN_NOW_LOG = "runs/run-now.log"


def jobs_of(server_root: Path, notebook_path: str) -> list[answers.JobInfo]:
    """Every job exported from the notebook, for the view."""
    from nbmlops.jobs.run import is_running

    nb = _notebook(server_root, notebook_path)
    root = Path(server_root).resolve()
    out = []
    for job in jobs_overview.overviews(_folders(server_root, nb)):
        folder = job.folder
        process = _started.get(folder)
        out.append(answers.JobInfo(
            name=job.name,
            folder=folder.relative_to(root).as_posix(),
            schedule=answers.JobSchedule(job.cron, job.timezone, job.words, job.targets),
            installed=job.installed,
            files=job.files,
            next_run=job.next_run,
            running=is_running(folder) or (process is not None and process.poll() is None),
            parameters=job.parameters,
            runs=[replace(run, output=_output(folder, root, run.output),
                          steps=[replace(step, output=_output(folder, root, step.output))
                                 for step in run.steps])
                  for run in job.runs],
            runs_error=job.runs_error,
            steps=job.steps,
        ))
    return out


def _output(folder: Path, root: Path, output: str | None) -> str | None:
    """An output notebook relative to the server's root; None when it is gone."""
    if not output or not (folder / output).is_file():
        return None
    return (folder / output).relative_to(root).as_posix()


def run_now(server_root: Path, body: dict[str, Any]) -> answers.JobStarted:
    """Start ``nbmlops run`` on the job in the background, with the parameters given."""
    from nbmlops.jobs.run import is_running
    from nbmlops.jobs.spec import load, passable, resolve_params

    folder = _job_folder(server_root, body)
    params = body.get("parameters") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ConfigError("parameters must be an object of name to value")
    resolve_params(load(folder), params)  # a wrong value is said now, not in a log
    passable(params)  # as sent, before coercion
    process = _started.get(folder)
    if is_running(folder) or (process is not None and process.poll() is None):
        raise JobError(f"job {folder.name} is running already")
    argv = run_argv(folder, params)
    log = folder / RUN_NOW_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        _started[folder] = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=folder,
                                            start_new_session=True)
    return answers.JobStarted(started=True, job=folder.name)


def run_argv(folder: Path, params: dict[str, Any]) -> list[str]:
    """The command running the job with ``params``: they go as one JSON word that names its
    option, so no value (``-x``) can be read as an option, and each keeps its JSON type."""
    argv = [sys.executable, "-m", "nbmlops.cli", "run", str(folder)]
    if params:
        argv.append("--params-json=" + json.dumps(params))
    return argv


def set_schedule(server_root: Path, body: dict[str, Any]) -> answers.Message:
    """Install or remove the job's cron entry."""
    from nbmlops.jobs import targets
    from nbmlops.jobs.spec import load

    folder = _job_folder(server_root, body)
    install = body.get("install")
    if not isinstance(install, bool):
        raise ConfigError("install must be true or false")
    job = load(folder)
    cron = targets.target("cron")
    if install and not job.schedule.cron:
        raise JobError(f"job {job.name} has no schedule: export it again with one")
    message = cron.install(job, folder) if install else cron.remove(job, folder)
    return answers.Message(message)


def _notebook(server_root: Path, path: str) -> Path:
    from nbmlops.exceptions import NotebookNotFound

    if not path:
        raise ConfigError("give the notebook: notebook=PATH")
    nb = notebook.inside(server_root, path)
    if not nb.is_file():
        raise NotebookNotFound(f"no notebook {path!r}")
    return nb


def _job_folder(server_root: Path, body: dict[str, Any]) -> Path:
    name, path = body.get("job"), body.get("notebook")
    if not isinstance(name, str) or not isinstance(path, str):
        raise ConfigError('give {"notebook": PATH, "job": NAME}')
    for folder in _folders(server_root, _notebook(server_root, path)):
        if folder.name == name:
            return folder
    raise JobError(f"no job {name!r} exported from {path}")


def _folders(server_root: Path, nb: Path) -> list[Path]:
    # A `jobs` symlink leading out of the root hides its jobs rather than reach them.
    root = Path(server_root).resolve()
    return [f for f in jobs_overview.job_folders(nb) if f.resolve().is_relative_to(root)]


def monitors_of(server_root: Path, notebook_path: str) -> answers.NotebookMonitor:
    """The monitoring of every job exported from the notebook, for the Monitor view."""
    from nbmlops import store
    from nbmlops.jobs import monitor_overview

    nb = _notebook(server_root, notebook_path)
    root = Path(server_root).resolve()
    found = [monitor_overview.monitor_job(folder, root=root)
             for folder in _folders(server_root, nb)]
    return answers.NotebookMonitor(notebook_path, found, store.CHAMPION)
