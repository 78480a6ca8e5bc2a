"""What a subcommand is, and the options several subcommands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbmlops import config
from nbmlops.sync.spool import Spool

Run = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, its one-line help, the function adding its arguments and
    the function running it (which returns the exit status)."""

    name: str
    help: str
    configure: Configure
    run: Run


def spool_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spool",
        type=Path,
        default=None,
        help="the spool folder (default: NBMLOPS_SPOOL, [tool.nbmlops] spool, or the user "
        "data folder)",
    )


def spool_of(args: argparse.Namespace) -> Spool:
    return Spool(args.spool or config.spool_dir(config.project_root()))
