"""``nbmlops export a.ipynb b.ipynb c.ipynb --name weekly``: several notebooks, one job folder.

::

    <job>/job.yaml            steps: one per notebook, each with its needs, inputs, outputs
    <job>/<step>.ipynb        each step's parameterized notebook
    <job>/requirements.txt    what the notebooks import
    <job>/<target file>       one per schedule target

The edges come from the data the notebooks share: the files their tracked runs read and
wrote (MLflow dataset inputs, by path and fingerprint) and, for what those runs did not see
(or notebooks never tracked), the files their code reads and writes
(:mod:`nbmlops.jobs.export.dataflow`). The graph itself is :mod:`nbmlops.jobs.pipeline`.

Exporting again keeps the settings of job.yaml and the needs written there by hand; a cycle,
two steps writing one path, or one parameter declared with two types stops the export before
anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from nbmlops import config
from nbmlops.exceptions import JobError, LintError, PipelineError
from nbmlops.jobs import pipeline, schedule
from nbmlops.jobs.export import dataflow, lint, parameterize
from nbmlops.jobs.export.folder import (
    _shown,
    _write_folder,
    merged_schedule,
    read_notebook,
    requirements,
    target_files,
)
from nbmlops.jobs.spec import (
    JOB_FILE,
    Job,
    ParamSpec,
    Step,
    check_name,
    check_timezone,
    default_name,
    dump,
    load,
)
from nbmlops.jobs.targets import target

if TYPE_CHECKING:
    from nbmlops.runs.lineage import FileUse


@dataclass
class PipelineExport:
    folder: Path
    job: Job
    edges: list[pipeline.Edge]
    kept: list[tuple[str, str]]  # (step, need) kept from job.yaml, not inferred now
    findings: list[tuple[str, lint.Finding]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    created: bool = True

    def graph(self) -> list[str]:
        return pipeline.describe([s.name for s in self.job.steps],
                                 {s.name: s.needs for s in self.job.steps})


@dataclass
class _Source:
    path: Path
    step: str
    notebook: nbformat.NotebookNode
    job_notebook: nbformat.NotebookNode
    params: list[ParamSpec]


def export_pipeline(
    notebooks: Sequence[Path],
    out: Path | None = None,
    name: str | None = None,
    cron: str | None = None,
    timezone: str | None = None,
    targets: Sequence[str] = (),
    force: bool = False,
    airflow_operator: str | None = None,
) -> PipelineExport:
    """Lint and transform every notebook, infer the steps' needs and write the job folder."""
    if not name:
        raise JobError("a pipeline needs a name: pass --name NAME")
    name = check_name(name)
    paths = [p.resolve() for p in notebooks]
    twice = [str(p) for p in paths if paths.count(p) > 1]
    if twice:
        raise JobError(f"{twice[0]} is given twice: a notebook is one step")
    folder = (out or paths[0].parent / "jobs" / name).resolve()
    if cron:
        cron = schedule.check_cron(cron)
    if timezone:
        check_timezone(timezone)
    for t in targets:
        target(t)

    sources = _sources(paths, force)
    findings = [(s.step, f) for s in sources for f in lint.lint(s.notebook)]
    params, notes = merge_parameters([(s.step, s.params) for s in sources])

    root = config.project_root(paths[0].parent)
    data, tracked_note = step_data(sources, folder, root)
    if tracked_note:
        notes.append(tracked_note)
    shown = {a.path: _relative(a.path, root) for d in data for a in (*d.reads, *d.writes)}
    edges = pipeline.infer(data, shown)
    names = [s.step for s in sources]
    inferred = pipeline.needs_of(names, edges)

    previous = load(folder) if (folder / JOB_FILE).is_file() else None
    if previous is not None and not previous.is_pipeline:
        raise JobError(f"{folder} holds the one-notebook job {previous.name}: export the "
                       "pipeline under another --name or --out")
    before = {s.name: s.needs for s in previous.steps} if previous else {}
    needs = pipeline.merge(inferred, before)
    kept = [(step, need) for step in names for need in needs[step]
            if need not in inferred[step]]
    ranked = {n: i for i, n in enumerate(pipeline.order(names, needs))}  # checks for cycles

    steps = []
    for source, d in zip(sources, data, strict=True):
        writes = [a.path for a in d.writes]
        reads = [a.path for a in d.reads if not any(pipeline.covers(w, a.path) for w in writes)]
        steps.append(Step(
            name=source.step, notebook=f"{source.step}.ipynb",
            source=os.path.relpath(source.path, folder),
            cwd=os.path.relpath(source.path.parent, folder),
            needs=needs[source.step],
            parameters=[p.name for p in source.params],
            inputs=_unique(os.path.relpath(p, folder) for p in reads),
            outputs=_unique(os.path.relpath(p, folder) for p in writes),
        ))
    steps.sort(key=lambda step: ranked[step.name])  # job.yaml reads in the order they run
    edges.sort(key=lambda edge: ranked[edge.step])

    base = previous or Job(name=name)
    job = replace(
        base, name=name, notebook="", source=None, cwd=".", parameters=params, steps=steps,
        schedule=merged_schedule(base.schedule, cron, timezone, targets, airflow_operator),
    )
    merged = nbformat.v4.new_notebook()
    merged.cells = [c for s in sources for c in s.job_notebook.cells]
    files = {
        **{f"{s.step}.ipynb": nbformat.writes(s.job_notebook).encode() for s in sources},
        "requirements.txt": requirements(merged).encode(),
        JOB_FILE: dump(job, _shown(folder)).encode(),
        **target_files(job, folder),
    }
    _write_folder(folder, files)
    for s in sources:
        if not lint.is_tracked(s.notebook):
            notes.append(f"step {s.step}: no %%track cell: its runs record only the step's run")
    return PipelineExport(folder, job, edges, kept, findings, notes, created=previous is None)


def _sources(paths: Sequence[Path], force: bool) -> list[_Source]:
    sources: list[_Source] = []
    taken: set[str] = set()
    for path in paths:
        nb = read_notebook(path)
        errors = [f for f in lint.lint(nb) if f.severity == "error"]
        if errors and not force:
            raise LintError(f"{path.name}: {len(errors)} lint error(s), nothing exported "
                            f"(--force exports anyway): {errors[0]}")
        step = default_name(path.stem)
        number = 2
        while step in taken:
            step, number = f"{default_name(path.stem)}-{number}", number + 1
        taken.add(step)
        result = parameterize.to_job_notebook(
            nb, metric_patterns=config.metric_patterns(config.project_root(path)))
        sources.append(_Source(path, step, nb, parameterize.clean(result.notebook),
                               result.params))
    return sources


def merge_parameters(
    declared: Sequence[tuple[str, Sequence[ParamSpec]]],
) -> tuple[list[ParamSpec], list[str]]:
    """The pipeline's parameters: each name once. PipelineError when two steps declare a
    name with different types (``any``, a None default, goes with every type)."""
    merged: dict[str, tuple[str, ParamSpec]] = {}
    notes = []
    for step, specs in declared:
        for spec in specs:
            if spec.name not in merged:
                merged[spec.name] = (step, spec)
                continue
            first_step, first = merged[spec.name]
            if "any" not in (first.type, spec.type) and first.type != spec.type:
                raise PipelineError(
                    f"parameter {spec.name} is {first.type} in step {first_step} and "
                    f"{spec.type} in step {step}: give it one type in both "
                    "parameters cells, or rename one of them")
            if first.type == "any" and spec.type != "any":
                merged[spec.name] = (first_step, replace(spec, default=first.default
                                                         if first.default is not None
                                                         else spec.default))
            if None not in (first.default, spec.default) and first.default != spec.default:
                notes.append(f"parameter {spec.name}: default {first.default!r} in "
                             f"{first_step}, {spec.default!r} in {step}; the pipeline "
                             f"gives both {merged[spec.name][1].default!r} unless -p sets it")
    return [spec for _, spec in merged.values()], notes


def step_data(sources: Sequence[_Source], folder: Path,
              root: Path) -> tuple[list[pipeline.StepData], str | None]:
    """What each notebook reads and writes: its tracked runs' files, then its code's."""
    uri = config.tracking_uri(root)
    data = []
    note = None
    for s in sources:
        d = pipeline.StepData(s.step)
        base = s.path.parent
        for found in dataflow.analyze((c.cell_type, c.source) for c in s.notebook.cells):
            path = os.path.normpath(os.path.join(base, os.path.expanduser(found.path)))
            access = pipeline.Access(path, f"code: {found.call} in cell {found.cell}")
            (d.writes if found.mode == "write" else d.reads).append(access)
        try:
            uses = _tracked(s, folder, root, uri)
        except Exception as e:  # the store is away: the code still tells
            note = f"tracked runs not read ({' '.join(str(e).split())[:200]}): edges from code"
            uses = []
        written = {u.path for u in uses if "output" in u.contexts}
        for u in uses:
            access = pipeline.Access(u.path, f"tracked run {u.run_id[:8]}", u.digest)
            if u.path in written:
                if "output" in u.contexts:
                    d.writes.append(access)
            else:
                d.reads.append(access)
        d.reads, d.writes = _first(d.reads), _first(d.writes)
        data.append(d)
    return data, note


def _tracked(s: _Source, folder: Path, root: Path, uri: str) -> list[FileUse]:
    from nbmlops import store
    from nbmlops.runs.lineage import notebook_files

    if not store.exists(uri):
        return []
    names = [config.source_name(str(p), root)
             for p in [s.path, folder / f"{s.step}.ipynb", *_job_copies(s.path, root)]]
    with store.fail_fast():
        return notebook_files(names, uri, root=root)


def _job_copies(notebook: Path, root: Path) -> list[Path]:
    """The job notebooks of the project exported from ``notebook``: their runs are its runs
    too (a scheduled run records the job's copy as its source)."""
    from nbmlops.jobs.overview import project_job_folders

    found = []
    for folder in project_job_folders(root):
        try:
            job = load(folder)
        except JobError:
            continue
        pairs = [(s.source, s.notebook) for s in job.steps] or [(job.source, job.notebook)]
        found += [folder / copy for source, copy in pairs
                  if source and (folder / source).resolve() == notebook]
    return found


def _first(accesses: list[pipeline.Access]) -> list[pipeline.Access]:
    """One access per path (the first seen: tracked runs were added after the code)."""
    seen: dict[str, pipeline.Access] = {}
    for a in accesses:
        if a.path not in seen:
            seen[a.path] = a
        elif a.digest and not seen[a.path].digest:
            seen[a.path] = replace(seen[a.path], digest=a.digest)
    return list(seen.values())


def _relative(path: str, root: Path) -> str:
    try:
        return Path(path).relative_to(root.resolve()).as_posix()
    except ValueError:
        return path


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
