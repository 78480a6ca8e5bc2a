"""``compare`` and ``slice``: commands of the notebook only (``%mlops compare``, ``%mlops
slice``), defined as the others are so that they share one vocabulary."""

from __future__ import annotations

import argparse
from typing import Any

from nbmlops.cli.command import Command, Notebook
from nbmlops.exceptions import NbmlopsError


def _configure_compare(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", nargs="?",
                        help="the MLflow experiment (default: the notebook's)")
    parser.add_argument("--cell", "-c", metavar="NAME",
                        help="only the runs of this tracked cell (its run name)")
    parser.add_argument("--metric", "-m", metavar="NAME",
                        help="the metric NAME to order by, best first, and show first")
    parser.add_argument("--last", "-n", type=int, metavar="N", help="only the N newest runs")
    parser.add_argument("--filter", default="", metavar="EXPR",
                        help="MLflow search filter: \"metrics.auc > 0.8\"")


def compare_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    from nbmlops.panel.widget import compare

    return compare(
        args.experiment, cell=args.cell, metric=args.metric, last=args.last,
        filter=args.filter, where=notebook.tracker.context(args.experiment).where,
    )


def _configure_slice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", default=None,
                        help="the tracked cell's run name (default: the latest tracked)")


def slice_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    history = notebook.tracker.history
    name = args.name or history.latest_name
    script = history.latest.get(name or "")
    if script is None:
        known = ", ".join(history.latest) or "none yet"
        raise NbmlopsError(f"no tracked run {name!r} in this kernel (tracked runs: {known})"
                           if name else "no tracked cell has run in this kernel yet")
    print(script)
    return None


COMMANDS = [
    Command("compare", "a panel of the notebook's runs: sort, page, tick two or more to see "
            "them side by side (params, metrics, data, packages, code), plots",
            _configure_compare, None, compare_in_notebook),
    Command("slice", "the code slice of the latest run of a tracked cell (the statements its "
            "inputs came from, as they ran), and its verdict",
            _configure_slice, None, slice_in_notebook),
]
