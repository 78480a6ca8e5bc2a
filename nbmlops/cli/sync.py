"""``nbmlops sync`` and ``nbmlops status``: the spool, delegated to :mod:`nbmlops.sync.worker`."""

from __future__ import annotations

import argparse
import json

from nbmlops.cli.command import Command, spool_arg, spool_of


def _configure_sync(parser: argparse.ArgumentParser) -> None:
    spool_arg(parser)
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait at most (default: 60)"
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="first move records that MLflow refused back into the queue",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def sync_command(args: argparse.Namespace) -> int:
    from nbmlops.sync import worker

    spool = spool_of(args)
    requeued = worker.retry_failed(spool) if args.retry_failed else 0
    report = worker.drain(spool, args.timeout)
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
    spool_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def status_command(args: argparse.Namespace) -> int:
    from nbmlops.sync import worker

    info = worker.status(spool_of(args))
    print(json.dumps(info) if args.json else worker.format_status(info))
    return 0


COMMANDS = [
    Command("sync", "upload spooled records to MLflow now", _configure_sync, sync_command),
    Command("status", "show the spool: pending records, the sync process, last error",
            _configure_status, status_command),
]
