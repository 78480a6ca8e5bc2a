"""``nbmlops export``, ``run``, ``schedule``, ``jobs``: each parses and delegates to
:mod:`nbmlops.jobs`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbmlops import config, redact
from nbmlops.cli.command import Command, place_of
from nbmlops.exceptions import JobError

if TYPE_CHECKING:
    from nbmlops.jobs.spec import ParamSpec
    from nbmlops.jobs.targets.cron import CronEntry


def _configure_export(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("notebook", type=Path, nargs="+",
                        help="the notebook to export; several make one pipeline, each a step "
                        "that needs the steps whose data it reads")
    parser.add_argument("--out", type=Path, default=None,
                        help="the folder to write the job into (default: jobs/NAME beside the "
                        "notebook)")
    parser.add_argument("--name", default=None, help="the name of the job (default: the "
                        "notebook's)")
    parser.add_argument("--schedule", default=None, metavar="CRON",
                        help="a five-field cron expression, e.g. '0 3 * * 1'")
    parser.add_argument("--timezone", default=None, help="the schedule's timezone (UTC)")
    parser.add_argument("--target", action="append", default=[],
                        help="the schedule target: cron (default with --schedule), airflow, "
                        "kubernetes, github, image; repeatable")
    parser.add_argument("--airflow-operator", choices=("bash", "kubernetes"), default=None,
                        help="the Airflow task: bash on the worker (default), or kubernetes: "
                        "a pod running the job's image")
    parser.add_argument("--param", action="append", default=[], metavar="NAME",
                        help="a parameter: make NAME one (narrows or extends the inferred "
                        "ones); repeatable")
    parser.add_argument("--force", action="store_true", help="go ahead despite lint errors")


def export_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs.export import export_job

    if len(args.notebook) > 1:
        return _export_pipeline(args)
    result = export_job(args.notebook[0], args.out, args.name, args.schedule, args.timezone,
                        args.target, args.param, args.force, args.airflow_operator)
    for finding in result.findings:
        print(finding, file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    verb = "exported" if result.created else "updated"
    print(f"{verb} job {result.job.name} in {result.folder}")
    if not result.created:
        print("  " + ("; ".join(result.changes) if result.changes else "nothing changed"))
    for p in result.job.parameters:
        helps = f"  # {p.help}" if p.help else ""
        print(f"  param {p.name}: {p.type} = {_shown_default(p)}{helps}")
    if result.job.schedule.cron:
        print(f"  schedule {result.job.schedule.cron} ({result.job.schedule.timezone}) for "
              f"{', '.join(result.job.schedule.targets)}")
    return 0


def _shown_default(p: ParamSpec) -> str:
    """A parameter's default as the terminal shows it: short, a secret-looking one blanked."""
    default = repr(redact.redact_mapping({p.name: p.default})[p.name])
    return default if len(default) <= 80 else default[:77] + "..."


def _export_pipeline(args: argparse.Namespace) -> int:
    from nbmlops.jobs.export import export_pipeline

    if args.param:
        raise JobError("--param works with one notebook; a pipeline's parameters are those of "
                       "its notebooks' parameters cells")
    result = export_pipeline(args.notebook, args.out, args.name, args.schedule, args.timezone,
                             args.target, args.force, args.airflow_operator)
    for step, finding in result.findings:
        print(f"{step}: {finding}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    verb = "exported" if result.created else "updated"
    print(f"{verb} pipeline {result.job.name} in {result.folder}: "
          f"{len(result.job.steps)} steps")
    for line in result.graph():
        print(f"  {line}")
    for edge in result.edges:
        print(f"  why {edge.needs} -> {edge.step}: {edge.reason}")
    for step, need in result.kept:
        print(f"  why {need} -> {step}: kept from job.yaml (written there by hand)")
    for p in result.job.parameters:
        users = [s.name for s in result.job.steps if p.name in s.parameters]
        print(f"  param {p.name}: {p.type} = {_shown_default(p)} -> {', '.join(users)}")
    if result.job.schedule.cron:
        print(f"  schedule {result.job.schedule.cron} ({result.job.schedule.timezone}) for "
              f"{', '.join(result.job.schedule.targets)}")
    return 0


def _configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", type=Path, help="the job folder (or its job.yaml)")
    parser.add_argument("-p", "--param", nargs="+", action=_ParamAction, default=[],
                        metavar="NAME=VALUE", help="a parameter's value, overriding its default "
                        "(NAME=VALUE, or NAME VALUE); repeatable")
    parser.add_argument("-f", "--params-file", type=Path, default=None,
                        help="a YAML file of parameter values")
    parser.add_argument("--params-json", default=None, help="parameter values as a JSON object")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the parameters and print the papermill command, run nothing")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the notebook's output live")
    parser.add_argument("--only", default=None, metavar="STEP",
                        help="a pipeline: run this step alone, its inputs as they are")
    parser.add_argument("--from", dest="start", default=None, metavar="STEP",
                        help="a pipeline: run this step and every step that needs it")
    parser.add_argument("--force", action="append", nargs="?", const="*", default=[],
                        metavar="STEP", help="go ahead and run STEP (every step without one) "
                        "of a pipeline even when up to date; repeatable")


class _ParamAction(argparse.Action):
    """``-p NAME=VALUE`` (one word: a value starting with ``-`` cannot be taken for an
    option) or ``-p NAME VALUE``; appended as (name, value)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        words = list(values)
        if len(words) == 1 and "=" in words[0]:
            pair = tuple(words[0].split("=", 1))
        elif len(words) == 2 and "=" not in words[0]:
            pair = (words[0], words[1])
        else:
            parser.error(f"{option_string} takes NAME=VALUE or NAME VALUE, not "
                         f"{' '.join(words)!r}")
        setattr(namespace, self.dest, [*getattr(namespace, self.dest), pair])


def run_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs.run import read_params_file, run_job
    from nbmlops.jobs.spec import folder_of, load
    from nbmlops.jobs.trigger import retrained_for_tags

    given: dict[str, Any] = {}
    if args.params_file:
        given.update(read_params_file(args.params_file))
    if args.params_json:
        try:
            given.update(json.loads(args.params_json))
        except (ValueError, TypeError):
            raise JobError("--params-json must be a JSON object") from None
    given.update(dict(args.param))
    folder = folder_of(args.job)
    if load(folder).is_pipeline:
        return _run_pipeline(args, folder, given)
    if args.only or args.start or args.force:
        raise JobError("--only, --from and --force are for pipelines (a job with steps)")
    result = run_job(args.job, given, args.dry_run, args.verbose, progress=sys.stderr.isatty(),
                     tags=retrained_for_tags())  # an orchestrator's retraining names its cause
    if result.failure:
        print(result.failure, file=sys.stderr)
    if result.status != "SKIPPED":
        parent = f", parent run {result.parent_run_id}" if result.parent_run_id else ""
        print(f"{result.status} in {result.duration_s:.1f} s{parent}; output {result.output}")
    return result.exit_code


def _run_pipeline(args: argparse.Namespace, folder: Path, given: dict[str, Any]) -> int:
    from nbmlops.jobs.run import run_pipeline
    from nbmlops.jobs.spec import load

    result = run_pipeline(folder, load(folder), given, only=args.only, start=args.start,
                          force=args.force, dry_run=args.dry_run, verbose=args.verbose,
                          say=lambda s: print(s, file=sys.stderr))
    if result.status == "SKIPPED":
        return 0
    if result.failed:
        print(result.report(), file=sys.stderr)
    parent = f", parent run {result.parent_run_id}" if result.parent_run_id else ""
    print(f"{result.status} in {result.duration_s:.1f} s{parent}")
    for step in result.steps.values():
        print(f"  {step.line()}")
    return result.exit_code


def _configure_schedule(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", type=Path, help="the job folder")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--install", action="store_true", help="install the schedule")
    action.add_argument("--remove", action="store_true", help="remove the schedule")
    parser.add_argument("--target", default="cron",
                        help="the schedule target to install (cron)")


def schedule_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs import targets
    from nbmlops.jobs.spec import folder_of, load

    folder = folder_of(args.job)
    job = load(folder)
    target = targets.target(args.target)
    print(target.install(job, folder) if args.install else target.remove(job, folder))
    return 0


def _configure_jobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="a notebook (the jobs exported from it; in %%mlops: this "
                        "notebook), or the project or a folder inside it (default: here)")
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def jobs_in_notebook(args: argparse.Namespace, notebook: Any) -> None:
    if args.path is None:
        args.path = place_of(args).notebook
        if args.path is None:
            raise JobError("%mlops jobs: the notebook's path is unknown (set NBMLOPS_NOTEBOOK)")
    jobs_command(args)


def jobs_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs import schedule
    from nbmlops.jobs.spec import load
    from nbmlops.jobs.targets.cron import cron_entries

    if args.path is not None and args.path.is_file():
        return _notebook_jobs(args.path, args.json)
    if args.path is not None and not args.path.is_dir():
        raise JobError(f"not a notebook or folder: {args.path}")
    rows = []
    installed = list(cron_entries())
    project_rows = _not_installed(config.project_root(args.path), installed)
    claimed = {Path(f) for row in project_rows for f in row.get("moved_from", [])}
    for entry in installed:
        if entry.folder in claimed:
            continue  # shown with the job, where it is now
        row: dict[str, Any] = {"folder": str(entry.folder), "schedule": entry.schedule,
                               "target": "cron", "enabled": entry.enabled, "installed": True}
        try:
            job = load(entry.folder)
            row["name"] = job.name
            row["next_run"] = schedule.next_run(entry.schedule, job.schedule.timezone).isoformat()
            _add_last_run(row, job, entry.folder)
        except JobError as e:
            row["error"] = str(e)
        rows.append(row)
    rows += project_rows
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no jobs (export a notebook with `nbmlops export NOTEBOOK --schedule CRON`)")
    for row in rows:
        last = row.get("last_run")
        when = datetime.fromtimestamp(last["start_time"] / 1000) if last else None
        status = f"{last['status']} {when:%Y-%m-%d %H:%M}" if last and when else "never run"
        if row.get("moved_from"):
            print(f"{row['name']:20} {row['schedule'] or '':15} its cron line runs nothing: "
                  f"made for {', '.join(row['moved_from'])} before the job moved; "
                  f"nbmlops schedule {row['folder']} --install (or --remove)  last {status}")
            continue
        if not row["installed"]:
            schedule_ = row["schedule"] or "no schedule"
            print(f"{row['name']:20} {schedule_:15} not installed: nbmlops schedule "
                  f"{row['folder']} --install  (or nbmlops run {row['folder']})  last {status}")
            continue
        name, next_run = row.get("name", "?"), str(row.get("next_run", "?"))[:16]
        print(f"{name:20} {row['schedule']:15} next {next_run}  last {status}  {row['folder']}")
    return 0


def _notebook_jobs(notebook: Path, as_json: bool) -> int:
    from dataclasses import asdict

    from nbmlops.jobs import overview

    jobs = overview.overviews(overview.job_folders(notebook))
    if as_json:
        print(json.dumps([asdict(job) for job in jobs], default=str))
    else:
        print(overview.describe_jobs(jobs, config.project_root(notebook)))
    return 0


def _add_last_run(row: dict[str, Any], job: Any, folder: Path) -> None:
    """The job's latest run into ``row``, run by cron or not; a store that cannot be read is
    said in ``last_run_error``."""
    from nbmlops.jobs.run import last_run

    try:
        uri = config.store_uri(job.tracking_uri, config.project_root(folder))
        row["last_run"] = last_run(uri, job.name)
    except Exception as e:  # an unreachable store must not hide the list
        row["last_run_error"] = f"{type(e).__name__}: {e}"[:200]


def _not_installed(root: Path, entries: list[CronEntry]) -> list[dict[str, Any]]:
    """The project's job folders that cron does not run; ``moved_from``: the folders of the
    lines made for one before it moved."""
    from nbmlops.jobs.overview import project_job_folders
    from nbmlops.jobs.spec import load
    from nbmlops.jobs.targets.cron import left_behind

    installed = {e.folder for e in entries}
    rows = []
    for folder in project_job_folders(root):
        if folder in installed or folder.resolve() in installed:
            continue
        try:
            job = load(folder)
        except JobError:
            continue
        row: dict[str, Any] = {"folder": os.path.relpath(folder), "name": job.name,
                               "schedule": job.schedule.cron, "target": None,
                               "installed": False}
        moved = left_behind(folder.resolve(), entries)
        if moved:
            row["moved_from"] = [str(e.folder) for e in moved]
        _add_last_run(row, job, folder)
        rows.append(row)
    return rows


def _configure_image(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", type=Path, help="the job folder")
    parser.add_argument("--tag", default=None, help="a tag naming the image (default: "
                        "job.yaml's image, else NAME:latest)")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the build command even where an engine could run it")


def image_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs.export import ensure_image
    from nbmlops.jobs.spec import folder_of, load
    from nbmlops.jobs.targets import image

    folder = folder_of(args.job)
    job = load(folder)
    if ensure_image(job, folder):
        print(f"wrote {os.path.relpath(folder / image.ImageTarget.filename)}")
    plan = image.build_plan(job, folder, args.tag)
    if args.print_only or plan.engine is None:
        if plan.engine is None:
            print(f"no container engine here ({plan.why_not}); build it where there is one:",
                  file=sys.stderr)
        print(plan.shell)
        return 0
    print(plan.shell, file=sys.stderr)
    return image.build(plan)


def _configure_retrain_decision(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", type=Path, help="the scoring job's folder")


def retrain_decision_command(args: argparse.Namespace) -> int:
    """What an orchestrator's task after the scoring task asks: 0 when the job's newest run
    decided to retrain, :data:`~nbmlops.jobs.trigger.HOLD_EXIT` otherwise. On retrain the
    last line is the training run's conf as JSON (the task's result, which the trigger
    hands the training job's DAG)."""
    from nbmlops.jobs.spec import folder_of
    from nbmlops.jobs.trigger import HOLD_EXIT, RETRAIN, decision, training_conf

    folder = folder_of(args.job)
    verdict, reason = decision(folder)
    print(f"{verdict or 'no decision'}: {reason or 'no reason recorded'}")
    if verdict != RETRAIN:
        return HOLD_EXIT
    print(json.dumps(training_conf(folder), sort_keys=True))
    return 0


COMMANDS = [
    Command("export", "turn a notebook into a parameterized, schedulable job folder",
            _configure_export, export_command),
    Command("run", "run a job: papermill under a parent MLflow run",
            _configure_run, run_command),
    Command("schedule", "install or remove a job's schedule (cron)",
            _configure_schedule, schedule_command),
    Command("image", "print or run the build of a job's container image (its Dockerfile)",
            _configure_image, image_command),
    Command("jobs", "list the jobs, installed or not: schedule, next run, last run's status",
            _configure_jobs, jobs_command, jobs_in_notebook),
    Command("retrain-decision", "exit 0 when a scoring job's newest run decided to retrain "
            "(an orchestrator then starts the training job), 3 when it held",
            _configure_retrain_decision, retrain_decision_command),
]
