"""``nbmlops reproduce``: parses and delegates to :mod:`nbmlops.reproduce.rerun`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nbmlops import store
from nbmlops.cli.command import Command, tracking_uri_arg


def _configure_reproduce(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", metavar="RUN_ID", help="the MLflow run to reproduce")
    parser.add_argument("--tolerance", type=float, default=1e-6,
                        help="how far a metric may move, relative (absolute near zero), and "
                        "still count as reproduced within tolerance (default 1e-6)")
    # The kernel works in the notebook's own folder either way: relative paths resolve as
    # they did when the run was made.
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--in-place", action="store_true",
                       help="keep the executed slice beside the notebook (default: a new "
                       "temporary folder)")
    where.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="the folder DIR to keep the executed slice in")
    tracking_uri_arg(parser)


def reproduce_command(args: argparse.Namespace) -> int:
    from nbmlops.reproduce.rerun import reproduce

    result = reproduce(args.run_id, tracking_uri=args.tracking_uri, tolerance=args.tolerance,
                       out=args.out, in_place=args.in_place)
    run, verdict = result.run, result.verdict
    print(f"run {run.run_id} ({run.run_name}), nbmlops.slice: "
          f"{run.tags.get(store.SLICE_TAG, 'unknown')}")
    for change in result.files:
        print(f"  data file: {change}")
    for script in result.scripts:
        print(f"  {script}")
    for package in result.packages:
        print(f"  package: {package}")
    if result.reproduction_id:
        print(f"re-ran its slice in {result.duration_s:.1f} s as run {result.reproduction_id}; "
              f"executed slice {result.notebook}")
    said = verdict.headline + (f" (tolerance {args.tolerance:g})"
                               if verdict.verdict == "within-tolerance" else "")
    if verdict.failure:  # the error of the re-run first, then what it came with
        print(said)
    for metric in verdict.metrics:
        print(f"  {metric}")
    for data in verdict.data:
        print(f"  {data}")
    if not verdict.failure:
        print(said)
    for cause in verdict.causes(result.changes):
        print(cause)
    sys.stdout.flush()
    return result.exit_code


COMMANDS = [
    Command("reproduce", "re-run a tracked run's code slice in a fresh kernel and say "
            "whether its metrics and data came back", _configure_reproduce, reproduce_command),
]
