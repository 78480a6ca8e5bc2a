"""The jobs exported from one notebook, as the Jobs view and ``%mlops jobs`` show them: each
job's schedule in words, whether cron runs it, the files of its other targets, its next run,
its last runs with their output notebooks, and the parameters a run can be given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, store
from nbmlops.exceptions import NbmlopsError
from nbmlops.jobs import schedule
from nbmlops.jobs.spec import JOB_FILE, Job, ParamSpec, load
from nbmlops.jobs.targets import TARGETS, target
from nbmlops.jobs.targets.cron import CronEntry, cron_entries, left_behind

#: How many of a job's latest runs are shown.
LAST_RUNS = 5
JOBS_FOLDER = "jobs"  # export writes jobs/NAME/ beside the notebook


@dataclass
class StepRun:
    """What one step did in one run of a pipeline."""

    name: str
    status: str  # FINISHED | FAILED | SKIPPED (up to date) | RUNNING | KILLED
    duration_s: float | None
    output: str | None  # its output notebook, relative to the job folder
    metrics: dict[str, float] = field(default_factory=dict)  # its tracked cells'
    run_id: str | None = None


@dataclass
class JobRun:
    run_id: str
    status: str
    start_time: int | None
    duration_s: float | None
    output: str | None  # the output notebook, relative to the job folder
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)  # its tracked cells'
    steps: list[StepRun] = field(default_factory=list)  # a pipeline's, in step order


@dataclass
class StepStatus:
    """A pipeline step as the Jobs view draws it: its needs and its last run's status."""

    name: str
    needs: list[str]
    status: str | None = None  # FINISHED | FAILED | SKIPPED (up to date) | RUNNING | None
    run_id: str | None = None


@dataclass
class JobOverview:
    name: str
    folder: Path
    cron: str | None
    timezone: str
    words: str | None  # "At 03:00 AM, only on Monday"
    installed: bool  # cron runs it on this machine
    targets: list[str]  # targets named in job.yaml
    files: list[str]  # the targets' files present in the folder
    next_run: str | None  # ISO time, when installed
    parameters: list[ParamSpec] = field(default_factory=list)
    runs: list[JobRun] = field(default_factory=list)
    runs_error: str | None = None  # MLflow could not be read
    steps: list[StepStatus] = field(default_factory=list)  # a pipeline's, in run order
    #: crontab lines made for the job before it moved: they run nothing, install replaces them
    left_in_cron: list[Path] = field(default_factory=list)


def job_folders(notebook: Path) -> list[Path]:
    """The job folders exported from ``notebook``: ``jobs/*/`` beside it whose job.yaml
    names it as its source."""
    notebook = notebook.resolve()
    found = []
    for path in sorted((notebook.parent / JOBS_FOLDER).glob(f"*/{JOB_FILE}")):
        try:
            job = load(path.parent)
        except NbmlopsError:
            continue
        sources = [s.source for s in job.steps] or [job.source]
        if any(src and (path.parent / src).resolve() == notebook for src in sources):
            found.append(path.parent)
    return found


def project_job_folders(root: Path, depth: int = 4) -> list[Path]:
    """Every ``jobs/NAME/`` folder with a job.yaml at most ``depth`` folders below ``root``;
    hidden folders and installed packages are not searched."""
    found = []
    for here, dirs, _ in os.walk(root):
        level = len(Path(here).relative_to(root).parts)
        dirs[:] = [] if level >= depth else sorted(
            d for d in dirs if not d.startswith(".") and d not in _NOT_SEARCHED)
        if Path(here).name == JOBS_FOLDER:
            found += [Path(here) / d for d in dirs if (Path(here) / d / JOB_FILE).is_file()]
    return found


_NOT_SEARCHED = {"node_modules", "__pycache__", "site-packages", "mlruns"}


def overviews(folders: list[Path]) -> list[JobOverview]:
    """The overview of each job folder, the crontab read once for all of them."""
    entries = list(cron_entries())
    return [overview(folder, entries=entries) for folder in folders]


def overview(folder: Path, *, runs: bool = True,
             entries: list[CronEntry] | None = None) -> JobOverview:
    """What there is to know of the job in ``folder``; ``runs`` reads its last runs from
    MLflow (an unreachable store is said in ``runs_error``, never raised). ``entries``:
    nbmlops' crontab lines, when the caller has read the crontab already."""
    job = load(folder)
    cron = job.schedule.cron
    if entries is None:
        entries = list(cron_entries())
    installed = {e.folder for e in entries}
    in_cron = folder in installed or folder.resolve() in installed
    writers = [target(t) for t in job.schedule.targets if t in TARGETS]
    out = JobOverview(
        name=job.name, folder=folder, cron=cron, timezone=job.schedule.timezone,
        words=schedule.describe(cron) if cron else None, installed=in_cron,
        targets=list(job.schedule.targets),
        files=[w.filename for w in writers if (folder / w.filename).is_file()],
        next_run=(schedule.next_run(cron, job.schedule.timezone).isoformat()
                  if cron and in_cron else None),
        parameters=list(job.parameters),
        steps=[StepStatus(s.name, list(s.needs)) for s in job.steps],
        left_in_cron=[] if in_cron else [e.folder for e in left_behind(folder.resolve(),
                                                                       entries)],
    )
    if runs:
        try:
            out.runs = last_runs(job, folder)
            if job.steps:
                last_step_runs(job, folder, out.steps)
        except Exception as e:  # the view must show the job even when MLflow is away
            out.runs_error = " ".join(f"{type(e).__name__}: {e}".split())[:300]
    return out


def last_runs(job: Job, folder: Path, limit: int = LAST_RUNS) -> list[JobRun]:
    """The job's latest parent runs, newest first, in the store its runs go to."""
    source = folder / job.source if job.source else folder / job.notebook
    where = config.destination(source, job.experiment, uri=job.tracking_uri)
    if not store.exists(where.tracking_uri):
        return []
    client = store.client(where.tracking_uri)
    with store.fail_fast():
        experiment = client.get_experiment_by_name(where.experiment)
        if experiment is None:
            return []
        name = job.name.replace("'", "\\'")
        found = client.search_runs(
            [experiment.experiment_id], filter_string=f"tags.`{store.JOB_TAG}` = '{name}'",
            order_by=["attributes.start_time DESC"], max_results=limit,
        )
        # What ran under them (steps, tracked cells): one search from the oldest on.
        since = min((r.info.start_time or 0 for r in found), default=0)
        nested = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"attributes.start_time >= {since}", max_results=5000,
        ) if found else []
    children: dict[str, list[Any]] = {}
    for run in nested:
        parent = run.data.tags.get(store.PARENT_RUN_TAG)
        if parent:
            children.setdefault(parent, []).append(run)
    order = {s.name: i for i, s in enumerate(job.steps)}
    runs = []
    for r in found:
        out = _job_run(r)
        for child in children.get(out.run_id, []):
            step = child.data.tags.get(store.STEP_TAG)
            if step:
                out.steps.append(_step_run(child, children))
            else:
                out.metrics.update(child.data.metrics)
        out.steps.sort(key=lambda s: order.get(s.name, len(order)))
        runs.append(out)
    return runs


def _step_run(run: Any, children: dict[str, list[Any]]) -> StepRun:
    tags = run.data.tags
    metrics: dict[str, float] = {}
    for cell in children.get(run.info.run_id, []):
        metrics.update(cell.data.metrics)
    return StepRun(
        name=tags.get(store.STEP_TAG, ""),
        status="SKIPPED" if tags.get(store.STEP_SKIPPED_TAG) else run.info.status,
        duration_s=_duration(tags), output=tags.get(store.JOB_OUTPUT_TAG), metrics=metrics,
        run_id=run.info.run_id,
    )


def _duration(tags: dict[str, str]) -> float | None:
    try:
        return float(tags[store.DURATION_TAG])
    except (KeyError, ValueError):
        return None


def last_step_runs(job: Job, folder: Path, steps: list[StepStatus]) -> None:
    """Give each step of a pipeline the status of its latest run (one search)."""
    where = config.destination(folder, job.experiment, uri=job.tracking_uri)
    if not store.exists(where.tracking_uri):
        return
    client = store.client(where.tracking_uri)
    with store.fail_fast():
        experiment = client.get_experiment_by_name(where.experiment)
        if experiment is None:
            return
        name = job.name.replace("'", "\\'")
        found = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.`{store.PIPELINE_TAG}` = '{name}'",
            order_by=["attributes.start_time DESC"], max_results=20 * max(1, len(steps)),
        )
    latest: dict[str, Any] = {}
    for run in found:
        latest.setdefault(run.data.tags.get(store.STEP_TAG, ""), run)
    for step in steps:
        last = latest.get(step.name)
        if last is not None:
            step.run_id = last.info.run_id
            step.status = ("SKIPPED" if last.data.tags.get(store.STEP_SKIPPED_TAG)
                           else last.info.status)


def _job_run(run: Any) -> JobRun:
    tags = run.data.tags
    metrics = {k: v for k, v in run.data.metrics.items() if k != "duration_s"}
    return JobRun(run.info.run_id, run.info.status, run.info.start_time, _duration(tags),
                  tags.get(store.JOB_OUTPUT_TAG), tags.get(store.JOB_ERROR_TAG), metrics)


def describe_jobs(jobs: list[JobOverview], root: Path) -> str:
    """Plain text of the jobs, for ``%mlops jobs``."""
    if not jobs:
        return ("No jobs exported from this notebook yet: `nbmlops export NOTEBOOK "
                "--schedule \"0 3 * * 1\"`, or Export as job… in the MLOps sidebar.")
    lines = []
    for job in jobs:
        where = os.path.relpath(job.folder, root)
        when = f"{job.cron} ({job.words}, {job.timezone})" if job.cron else "no schedule"
        state = ("installed in cron, next " + (job.next_run or "?")[:16] if job.installed
                 else "not installed (nbmlops schedule " + where + " --install)")
        if job.left_in_cron:
            state += ("; its cron line, made for " + ", ".join(map(str, job.left_in_cron))
                      + " before the job moved, runs nothing: --install replaces it")
        lines.append(f"{job.name}  {where}/\n  schedule: {when}; {state}")
        if job.files:
            lines.append(f"  files: {', '.join(job.files)}")
        if job.runs_error:
            lines.append(f"  last runs: unknown ({job.runs_error})")
        elif not job.runs:
            lines.append(f"  never run: nbmlops run {where}")
        for run in job.runs:
            duration = f"{run.duration_s:.1f} s" if run.duration_s is not None else ""
            lines.append(f"  {run.status:9} {run.run_id[:8]} {duration:>9}  {run.output or ''}")
    return "\n".join(lines)
