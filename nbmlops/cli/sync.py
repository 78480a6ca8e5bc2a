"""``sync`` and ``status``: the spool, delegated to :mod:`nbmlops.sync.worker`.

Each record names the store it goes to (resolved when its cell ran), so ``sync`` takes no
``--tracking-uri``: it would not move a record. ``status`` takes one to say where new runs
go.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from nbmlops.cli.command import (
    Command,
    Notebook,
    place_of,
    spool_arg,
    spool_of,
    tracking_uri_arg,
    tracking_uri_of,
)
from nbmlops.exceptions import NbmlopsError


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


def sync_in_notebook(args: argparse.Namespace, notebook: Notebook) -> Any:
    # A child process does the upload: the kernel never imports mlflow.
    argv = ["--spool", str(args.spool or place_of(args).spool), "--timeout", str(args.timeout)]
    argv += ["--retry-failed"] * args.retry_failed + ["--json"] * args.json
    done = subprocess.run([sys.executable, "-m", "nbmlops.cli", "sync", *argv],
                          capture_output=True, text=True, check=False)
    print((done.stdout + done.stderr).strip())
    if done.returncode != 0:
        raise NbmlopsError("sync did not upload everything (see above)")
    return None


def _configure_status(parser: argparse.ArgumentParser) -> None:
    spool_arg(parser)
    tracking_uri_arg(parser)
    parser.add_argument("--json", action="store_true", help="print the status as JSON")


def status_command(args: argparse.Namespace) -> int:
    from nbmlops.sync import worker

    info = worker.status(spool_of(args))
    uri = tracking_uri_of(args)
    if args.json:
        print(json.dumps({**info, "tracking_uri": uri}))
    else:
        print(worker.format_status(info))
        print(f"new runs go to: {uri}")
    return 0


COMMANDS = [
    Command("sync", "upload spooled records to MLflow now", _configure_sync, sync_command,
            sync_in_notebook),
    Command("status", "show the spool: pending records, the sync process, last error; and "
            "where new runs go", _configure_status, status_command),
]
