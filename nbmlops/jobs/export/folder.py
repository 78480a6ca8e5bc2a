"""Writing a job folder: ``nbmlops export`` apart from the pure transform.

::

    <job>/job.yaml           what `nbmlops run` reads (see nbmlops.job)
    <job>/<name>.ipynb       the parameterized notebook
    <job>/requirements.txt   what the notebook imports, pinned to the installed versions
    <job>/<target file>      one per schedule target (crontab.txt, airflow_dag.py, ...)
    <job>/README.md          how to run it, and which files may leave this machine
    <job>/.gitignore         what running the job leaves here (below), so git stays clean
    <job>/runs/              output notebooks of `nbmlops run`, by time
    <job>/logs/              the cron entry's log
    <job>/.nbmlops-state/    a pipeline's steps' last successes; lock files of running runs

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

from nbmlops import config, regular_files
from nbmlops.atomic_files import write_atomic
from nbmlops.exceptions import JobError, LintError
from nbmlops.jobs import monitored, schedule
from nbmlops.jobs.export import lint, parameterize
from nbmlops.jobs.spec import (
    JOB_FILE,
    RUNS_DIR,
    STATE_DIR,
    Job,
    Schedule,
    check_name,
    check_timezone,
    default_name,
    dump,
    load,
)
from nbmlops.jobs.targets import ImageTarget, target, with_needs
from nbmlops.jobs.targets.cron import CRON_LOG
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
        nb = nbformat.reads(regular_files.read_text(path, regular_files.MAX_NOTEBOOK_BYTES),
                            as_version=4)
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
    airflow_operator: str | None = None,
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
        target(t)  # an unknown target fails before anything is written

    findings = lint.lint(source_nb)
    errors = [f for f in findings if f.severity == "error"]
    if errors and not force:
        raise LintError(f"{len(errors)} lint error(s), nothing exported (--force exports "
                        f"anyway): {errors[0]}")

    result = parameterize.to_job_notebook(
        source_nb, select, config.metric_patterns(config.project_root(notebook)))
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
        schedule=merged_schedule(base.schedule, cron, timezone, targets, airflow_operator),
    )

    monitored.check(job, [(c.cell_type, c.source) for c in job_nb.cells], notebook.name)
    files = {
        nb_name: nbformat.writes(job_nb).encode(),
        "requirements.txt": requirements(job_nb).encode(),
        JOB_FILE: dump(job, _shown(folder)).encode(),
        **target_files(job, folder),
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
                    targets: Sequence[str], airflow_operator: str | None = None) -> Schedule:
    """The schedule of job.yaml with what the command line sets: cron is the target when a
    schedule is given and none is named, and a target brings those it relies on (the image
    of a Kubernetes one)."""
    merged = Schedule(
        cron=cron or previous.cron,
        timezone=timezone or previous.timezone,
        targets=list(dict.fromkeys([*previous.targets, *targets])) or (["cron"] if cron else []),
        airflow_operator=airflow_operator or previous.airflow_operator,
    )
    merged.targets = with_needs(merged, merged.targets)
    if not merged.cron and any(target(t).timed for t in merged.targets):
        raise JobError("schedule targets need a schedule: pass --schedule CRON")
    return merged


def target_files(job: Job, folder: Path) -> dict[str, bytes]:
    """The files of the job's schedule targets, each checked, the folder's README and its
    .gitignore."""
    files = {}
    for name in job.schedule.targets:
        writer = target(name)
        text = writer.render(job, folder)
        writer.check(text)
        files[writer.filename] = text.encode()
    return files | {README: readme(job).encode(), GITIGNORE: gitignore(folder).encode()}


def ensure_image(job: Job, folder: Path) -> bool:
    """Give the job its image target (a Dockerfile) unless it has one; True when written."""
    if "image" in job.schedule.targets and (folder / ImageTarget.filename).is_file():
        return False
    job.schedule.targets = with_needs(job.schedule, [*job.schedule.targets, "image"])
    _write_folder(folder, {JOB_FILE: dump(job, _shown(folder)).encode(),
                           **target_files(job, folder)})
    return True


README = "README.md"
GITIGNORE = ".gitignore"
#: What running a job leaves in its folder: outputs and run state, never the job itself.
RUN_OUTPUTS = (f"{RUNS_DIR}/", f"{CRON_LOG.split('/')[0]}/", f"{STATE_DIR}/",
               ".nbmlops-run*.lock")


def gitignore(folder: Path) -> str:
    """The job folder's .gitignore: the lines it has (a user's own kept) and, after them,
    those of :data:`RUN_OUTPUTS` it lacks."""
    try:
        kept = regular_files.read_text(folder / GITIGNORE, errors="replace").splitlines()
    except FileNotFoundError:
        kept = ["# Written by `nbmlops export`: what running the job leaves here."]
    except OSError as e:
        raise JobError(f"cannot read {folder / GITIGNORE}: {e.strerror or e}") from None
    have = {line.strip() for line in kept}
    return "\n".join([*kept, *(p for p in RUN_OUTPUTS if p not in have)]) + "\n"


def readme(job: Job) -> str:
    """What the job folder holds, how to run it, and which files may leave this machine."""
    notebooks = ", ".join(f"`{nb}`" for nb in [s.notebook for s in job.steps] or [job.notebook])
    rows = [f"- {notebooks}, `{JOB_FILE}`, `requirements.txt`: the job itself (portable)"]
    for name in job.schedule.targets:
        writer = target(name)
        where = "portable" if writer.portable else "this machine only: absolute paths"
        rows.append(f"- `{writer.filename}` ({writer.name}, {where}): {writer.description}")
    params = " ".join(f"-p {p.name} VALUE" for p in job.parameters[:2])
    return f"""# Job {job.name}

Run it from this folder with `nbmlops run . {params}`.
Each run is an MLflow run tagged `nbmlops.job`, its tracked cells nested under it; the output
notebook is kept in `runs/`.

## Files

{chr(10).join(rows)}

Portable files name this folder only relatively and nbmlops as the `nbmlops` command on
PATH; where the job needs its tracking server, it comes from `tracking_uri` in
`{JOB_FILE}` or from `MLFLOW_TRACKING_URI` where the job runs (credentials from
`MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`, never from these files).
Without either, a run records into the project's own store.
"""


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
