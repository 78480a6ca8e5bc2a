"""``nbmlops assess``: parses and delegates to :mod:`nbmlops.assess`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from nbmlops.cli.command import Command
from nbmlops.exceptions import AssessError

FORMATS = ("terminal", "markdown", "html", "json")


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="the project, or a folder inside it (default: here)")
    parser.add_argument("--format", choices=FORMATS, default="terminal",
                        help="terminal (default), markdown, html or json (schema in the docs)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="time allowed for reading MLflow (default 20)")
    parser.add_argument("--max-runs", type=int, default=None, metavar="N",
                        help="the newest runs read to judge the tracking (default 500)")
    parser.add_argument("--offline", action="store_true",
                        help="read the disk only, not MLflow")
    parser.add_argument("--fail-under", type=int, default=None, metavar="LEVEL",
                        help="exit with status 1 when the level reached is below LEVEL (CI)")
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colors in the terminal report (auto: when a terminal shows it)")


def assess_command(args: argparse.Namespace) -> int:
    from nbmlops.assess import assess_project
    from nbmlops.assess.report import render

    if args.path is not None and not args.path.is_dir():
        raise AssessError(f"not a folder: {args.path}")
    if args.fail_under is not None and not 0 <= args.fail_under <= 4:
        raise AssessError("--fail-under takes a level from 0 to 4")
    assessment = assess_project(args.path, timeout=args.timeout, max_runs=args.max_runs,
                                mlflow=not args.offline)
    color = args.color == "always" or (
        args.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    width = min(120, shutil.get_terminal_size((100, 24)).columns)
    sys.stdout.write(render(assessment, args.format, color=color, width=width))
    if args.fail_under is not None and assessment.level < args.fail_under:
        return 1
    return 0


COMMANDS = [
    Command("assess", "the project's MLOps maturity level, its evidence, and what to do next",
            _configure, assess_command),
]
