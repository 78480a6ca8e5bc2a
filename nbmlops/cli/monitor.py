"""``monitor``: a scoring job's champion, last scoring runs, drift per column over time, open
alerts and last retraining (:mod:`nbmlops.jobs.monitor_overview`); the notebook draws the
drift as lines.

Exit status 1 when the newest scoring run of a job drifted or one of its alerts is open, so a
script or a CI step can stop there; 2 on bad input, as everywhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.cli.command import Command, Notebook, place_of, tracking_uri_arg
from nbmlops.exceptions import JobError

FORMATS = ("text", "json")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job", nargs="?", type=Path, default=None,
                        help="the job folder (or its job.yaml, or the name of one of the project's "
                        "jobs); default: every job of the project that monitors (in %%mlops: "
                        "the jobs of this notebook)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="the format: text (default, for people) or json (job, model, "
                        "runs oldest first with run_id, drifted, drifted_columns)")
    tracking_uri_arg(parser)


def overviews(args: argparse.Namespace, notebook: Path | None = None) -> list[Any]:
    """The overviews ``args`` ask for: the job given, else the notebook's jobs (in
    ``%mlops``), else every job of the project that monitors."""
    from nbmlops.jobs import monitor_overview
    from nbmlops.jobs.overview import job_folders

    uri = args.tracking_uri
    if args.job is not None:
        folder = monitor_overview.job_folder(_job_path(args.job, place_of(args).root))
        return [monitor_overview.monitor_job(folder, root=config.project_root(folder),
                                             tracking_uri=uri)]
    root = place_of(args).root
    if notebook is not None:
        folders = job_folders(notebook)
        if folders:
            return [monitor_overview.monitor_job(f, root=root, tracking_uri=uri)
                    for f in folders]
    return monitor_overview.project_monitors(root, tracking_uri=uri)


def _job_path(given: Path, root: Path) -> Path:
    """The folder ``given`` names, or the project's job of that name (``nbmlops monitor score``
    as the overview prints it)."""
    if given.exists():
        return given
    from nbmlops.jobs.overview import project_job_folders

    named = [f for f in project_job_folders(root) if f.name == str(given)]
    if len(named) == 1:
        return named[0]
    raise JobError(f"no job at {given}: no such folder"
                   + (f", and {len(named)} jobs of the project are named so" if named else ""))


def monitor_command(args: argparse.Namespace) -> int:
    from nbmlops.jobs.monitor_overview import describe
    from nbmlops.server.jsonable import jsonable

    found = overviews(args)
    if args.format == "json":
        shown = jsonable(found[0] if args.job is not None else found)
        print(json.dumps(shown, indent=1))
    elif not found:
        print("no job monitors here: a job whose tracked cell scores with "
              "nbmlops.load_model('NAME@champion'), or a job.yaml with monitor:")
    else:
        print("\n\n".join(describe(f) for f in found))
    return 1 if any(f.attention for f in found) else 0


def monitor_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    from IPython.display import HTML

    from nbmlops.jobs.monitor_overview import describe
    from nbmlops.panel.monitor import html

    found = overviews(args, place_of(args).notebook)
    if args.format == "json":
        from nbmlops.server.jsonable import jsonable

        print(json.dumps(jsonable(found[0] if args.job is not None else found), indent=1))
        return None
    if not found:
        print("No job of this notebook or project monitors yet: export a notebook whose "
              "tracked cell scores with nbmlops.load_model('NAME@champion') as a job.")
        return None
    return HTML(html(found, text="\n\n".join(describe(f, chart=False) for f in found)))


COMMANDS = [
    Command("monitor", "a scoring job's champion, last runs, drift per column over time, open "
            "alerts and last retraining; exit 1 when the newest run drifted or an alert is open",
            _configure, monitor_command, monitor_in_notebook),
]
