"""The ``nbmlops`` command: parses arguments and delegates.

A subcommand is one function decorated with :func:`command`, which registers it in
:data:`COMMANDS` with a function adding its arguments. It returns the exit status. Any
:class:`NbmlopsError` becomes one line ``nbmlops: error: ...`` on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nbmlops import __version__, config
from nbmlops.exceptions import NbmlopsError
from nbmlops.spool import Spool

Run = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Configure
    run: Run


#: Every subcommand, by name, in the order ``nbmlops --help`` lists them.
COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, configure: Configure = lambda p: None) -> Callable[[Run], Run]:
    """Register the decorated function as the subcommand ``name``."""

    def register(run: Run) -> Run:
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return register


def _spool_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spool",
        type=Path,
        default=None,
        help="the spool folder (default: NBMLOPS_SPOOL, [tool.nbmlops] spool, or the user "
        "data folder)",
    )


def _spool(args: argparse.Namespace) -> Spool:
    return Spool(args.spool or config.spool_dir(config.project_root()))


# --- sync, status --------------------------------------------------------------------------


def _configure_sync(parser: argparse.ArgumentParser) -> None:
    _spool_arg(parser)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait at most (default: 60)"
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="first move records that MLflow refused back into the queue",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


@command("sync", "upload spooled records to MLflow now", _configure_sync)
def sync_command(args: argparse.Namespace) -> int:
    from nbmlops import sync

    spool = _spool(args)
    requeued = sync.retry_failed(spool) if args.retry_failed else 0
    report = sync.drain(spool, args.timeout)
    if args.json:
        print(json.dumps({**report.to_dict(), "requeued": requeued}))
    else:
        if requeued:
            print(f"{requeued} failed record(s) put back in the queue")
        print(report.summary())
        for error in report.errors:
            print(f"  {error}")
    return 0 if report.ok else 1


def _configure_status(parser: argparse.ArgumentParser) -> None:
    _spool_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


@command(
    "status", "show the spool: pending records, the sync process, last error", _configure_status
)
def status_command(args: argparse.Namespace) -> int:
    from nbmlops import sync

    info = sync.status(_spool(args))
    print(json.dumps(info) if args.json else sync.format_status(info))
    return 0


# Subcommands that live in their own modules register themselves on import.
from nbmlops import cli_data, cli_jobs  # noqa: E402, F401

# --- entry point ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbmlops", description="Notebook work to MLflow runs, jobs and models."
    )
    parser.add_argument("--version", action="version", version=f"nbmlops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in COMMANDS.values():
        cmd.configure(sub.add_parser(cmd.name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command].run(args)
    except NbmlopsError as e:
        print(f"nbmlops: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # `python -m nbmlops.cli`: subcommand modules register into the imported `nbmlops.cli`,
    # not into this `__main__` copy of it.
    from nbmlops.cli import main as _main

    sys.exit(_main())
