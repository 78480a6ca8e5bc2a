"""The commands, each defined once (:class:`~nbmlops.cli.command.Command`), and the
``nbmlops`` command line over them; ``%mlops`` (:mod:`nbmlops.magics`) is their face in the
notebook.

Each module of this package holds one group of commands and lists them in its ``COMMANDS``;
:mod:`~nbmlops.cli.catalog` joins those lists and says which face has which.
On the command line any :class:`NbmlopsError` becomes one line ``nbmlops: error: ...`` on
stderr and exit status 2; a promotion refused by its gates exits with 1.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence

from nbmlops import __version__, lean_imports, store
from nbmlops.cli.catalog import ALL, COMMANDS, MAGIC, NOTEBOOK_ONLY, SHELL_ONLY, overview
from nbmlops.exceptions import GateFailed, NbmlopsError

__all__ = ["ALL", "COMMANDS", "MAGIC", "NOTEBOOK_ONLY", "SHELL_ONLY", "build_parser", "console",
           "main", "overview"]


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
    lean_imports.skip_slow_optional_imports()  # before anything reads a notebook
    parser = build_parser()
    args = parser.parse_args(argv)
    run = COMMANDS[args.command].run
    assert run is not None
    try:
        # A user at a prompt: an unreachable server is said in seconds, not minutes.
        with store.fail_fast():
            status = run(args)
        sys.stdout.flush()  # a reader that left shows here, inside the try
        return status
    except GateFailed as e:  # the gates did their job: the report is printed above
        print(f"nbmlops: promotion refused: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except NbmlopsError as e:
        print(f"nbmlops: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        return 128 + int(getattr(e, "signum", 2))  # 130 after Ctrl-C, 143 after SIGTERM
    except BrokenPipeError:
        # `nbmlops status | head -1`: the reader left; say nothing more, not even at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def console() -> None:
    """The ``nbmlops`` program: :func:`main`, then the exit a normal one makes (threads
    joined, exit handlers run, output flushed) without tearing the interpreter down, which
    after mlflow and SQLAlchemy is a second or two of freeing memory the system frees anyway."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that left, a closed stream
            stream.flush()
    threading._shutdown()  # type: ignore[attr-defined]  # as at exit: non-daemon threads end
    atexit._run_exitfuncs()  # e.g. coverage writes its data here
    logging.shutdown()
    os._exit(status)
