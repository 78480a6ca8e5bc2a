"""``assess``: parses and delegates to :mod:`nbmlops.assess`; the notebook shows the HTML
report."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from nbmlops.cli.command import Command, Notebook, place_of
from nbmlops.exceptions import AssessError

FORMATS = ("terminal", "markdown", "html", "json")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="the project, or a folder inside it (default: here)")
    parser.add_argument("--format", choices=FORMATS, default="terminal",
                        help="the format: terminal (default), markdown, html or json (schema in "
                        "the docs); %%mlops shows html")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="seconds allowed for reading MLflow (default 20)")
    parser.add_argument("--max-runs", type=int, default=None, metavar="N",
                        help="the newest runs read to judge the tracking (default 500)")
    parser.add_argument("--offline", action="store_true",
                        help="read the disk only, not MLflow")
    parser.add_argument("--fail-under", type=int, default=None, metavar="LEVEL",
                        help="exit with status 1 when the level reached is below LEVEL (CI)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colors in the terminal report (auto: when a terminal shows it)")


def _assessment(args: argparse.Namespace, path: Path | None) -> Any:
    from nbmlops.assess import assess_project

    if path is not None and not path.is_dir():
        raise AssessError(f"not a folder: {path}")
    if args.fail_under is not None and not 0 <= args.fail_under <= 4:
        raise AssessError("--fail-under takes a level from 0 to 4")
    return assess_project(path, timeout=args.timeout, max_runs=args.max_runs,
                          mlflow=not args.offline)


def assess_command(args: argparse.Namespace) -> int:
    from nbmlops.assess.report import render

    assessment = _assessment(args, args.path)
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    width = min(120, shutil.get_terminal_size((100, 24)).columns)
    sys.stdout.write(render(assessment, args.format, color=color, width=width))
    if args.fail_under is not None and assessment.level < args.fail_under:
        return 1
    return 0


def assess_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    from IPython.display import HTML

    from nbmlops.assess.report import html

    assessment = _assessment(args, args.path or place_of(args).root)
    if args.fail_under is not None and assessment.level < args.fail_under:
        raise AssessError(f"level {assessment.level} is below --fail-under {args.fail_under}")
    return HTML(html(assessment))


COMMANDS = [
    Command("assess", "the project's MLOps maturity level, its evidence, and what to do next",
            _configure, assess_command, assess_in_notebook),
]
