"""Writing a job folder: ``nbmlops export`` apart from the pure transform.

::

    <job>/job.yaml           what `nbmlops run` reads (see nbmlops.job)
    <job>/<name>.ipynb       the parameterized notebook
    <job>/requirements.txt   what the notebook imports, pinned to the installed versions
    <job>/<target file>      one per schedule target (crontab.txt, airflow_dag.py, ...)
    <job>/runs/              output notebooks of `nbmlops run`, by time

Every file is written atomically (temp file, fsync, rename). Exporting over an existing job
keeps the settings of its job.yaml that the command line does not set (schedule, timeouts,
retries, ...) and reports what changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from nbmlops.exceptions import JobError, LintError
from nbmlops.jobs import lint, parameterize, schedule
from nbmlops.jobs.spec import (
    JOB_FILE,
    Job,
    Schedule,
    check_name,
    check_timezone,
    default_name,
    dump,
    load,
)
from nbmlops.sync.spool import write_atomic
from nbmlops.track import environment


@dataclass
class ExportResult:
    folder: Path
    job: Job
    findings: list[lint.Finding]
    notes: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    created: bool = True
    files: list[str] = field(default_factory=list)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        nb = nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise JobError(f"no notebook at {path}") from None
    except Exception as e:  # nbformat raises many kinds for a file that is not a notebook
        raise JobError(f"cannot read {path} as a notebook: {e}") from None
    for number, cell in enumerate(nb.cells, 1):
        if not isinstance(cell.get("source"), str):
            raise JobError(f"cannot read {path} as a notebook: cell {number} has no text source")
    return nb


def export_job(
    notebook: Path,
    out: Path | None = None,
    name: str | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    targets: Sequence[str] = (),
    select: Sequence[str] = (),
    force: bool = False,
) -> ExportResult:
    """Lint ``notebook``, transform it and write (or update) its job folder."""
    notebook = notebook.resolve()
    source_nb = read_notebook(notebook)
    name = check_name(name) if name else default_name(notebook.stem)
    folder = (out or notebook.parent / "jobs" / name).resolve()
    if cron:
        cron = schedule.check_cron(cron)
    if timezone:
        check_timezone(timezone)
    for t in targets:
        schedule.target(t)  # an unknown target fails before anything is written

    findings = lint.lint(source_nb)
    errors = [f for f in findings if f.severity == "error"]
    if errors and not force:
        raise LintError(f"{len(errors)} lint error(s), nothing exported (--force exports "
                        f"anyway): {errors[0]}")

    result = parameterize.to_job_notebook(source_nb, select)
    job_nb = parameterize.clean(result.notebook)
    nb_name = f"{name}.ipynb"

    previous = load(folder) if (folder / JOB_FILE).is_file() else None
    old_nb = (read_notebook(folder / previous.notebook)
              if previous and (folder / previous.notebook).is_file() else None)
    base = previous or Job(name=name, notebook=nb_name)
    job = replace(
        base,
        name=name,
        notebook=nb_name,
        source=os.path.relpath(notebook, folder),
        parameters=result.params,
        cwd=os.path.relpath(notebook.parent, folder),
        schedule=merged_schedule(base.schedule, cron, timezone, targets),
    )
    rendered = render_targets(job, folder)

    files = {
        nb_name: nbformat.writes(job_nb).encode(),
        "requirements.txt": requirements(job_nb).encode(),
        JOB_FILE: dump(job, _shown(folder)).encode(),
        **{schedule.target(t).filename: text.encode() for t, text in rendered.items()},
    }
    _write_folder(folder, files)
    notes = list(result.notes)
    if not result.params:
        notes.append("no parameters found: tag a cell 'parameters' or pass --param NAME")
    if not lint.is_tracked(source_nb):
        notes.append("no %%track cell: runs record only the job's parent run")
    return ExportResult(
        folder=folder, job=job, findings=findings, notes=notes,
        changes=parameterize.changes(old_nb, job_nb, previous.parameters if previous else [],
                               job.parameters),
        created=previous is None, files=list(files),
    )


def merged_schedule(previous: Schedule, cron: str | None, timezone: str | None,
                    targets: Sequence[str]) -> Schedule:
    """The schedule of job.yaml with what the command line sets; cron is the target when a
    schedule is given and none is named."""
    merged = Schedule(
        cron=cron or previous.cron,
        timezone=timezone or previous.timezone,
        targets=list(dict.fromkeys([*previous.targets, *targets])) or (["cron"] if cron else []),
    )
    if merged.targets and not merged.cron:
        raise JobError("schedule targets need a schedule: pass --schedule CRON")
    return merged


def render_targets(job: Job, folder: Path) -> dict[str, str]:
    """Each target's file, rendered and checked, by target name."""
    rendered = {t: schedule.target(t).render(job, folder) for t in job.schedule.targets}
    for t, text in rendered.items():
        schedule.target(t).check(text)
    return rendered


def requirements(nb: nbformat.NotebookNode) -> str:
    """``name==version`` of the installed distributions the notebook imports."""
    modules = {name: object() for name in parameterize.imported_modules(nb)}
    return environment.requirements_txt(environment.imported_packages(modules))


def _shown(folder: Path) -> str:
    relative = os.path.relpath(folder)
    return str(folder) if relative.startswith("..") else relative


def _write_folder(folder: Path, files: dict[str, bytes]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for relpath, data in files.items():
            write_atomic(folder / relpath, data)
    except OSError as e:
        raise JobError(f"cannot write the job folder {folder}: {e.strerror or e}") from None
