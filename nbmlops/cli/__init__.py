"""The ``nbmlops`` command: parses arguments and delegates.

Each module of this package holds one group of subcommands and lists them in its
``COMMANDS``; :data:`COMMANDS` below joins those lists, in the order ``nbmlops --help`` shows
them. Any :class:`NbmlopsError` becomes one line ``nbmlops: error: ...`` on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nbmlops import __version__, lean_imports, store
from nbmlops.cli import assess, data, jobs, models, reproduce, sync
from nbmlops.cli.command import Command
from nbmlops.exceptions import NbmlopsError

__all__ = ["COMMANDS", "build_parser", "main"]

#: Every subcommand, by name.
COMMANDS: dict[str, Command] = {
    c.name: c for c in (*sync.COMMANDS, *data.COMMANDS, *jobs.COMMANDS, *models.COMMANDS,
                        *reproduce.COMMANDS, *assess.COMMANDS)
}


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
    try:
        # A user at a prompt: an unreachable server is said in seconds, not minutes.
        with store.fail_fast():
            status = COMMANDS[args.command].run(args)
        sys.stdout.flush()  # a reader that left shows here, inside the try
        return status
    except NbmlopsError as e:
        print(f"nbmlops: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        return 128 + int(getattr(e, "signum", 2))  # 130 after Ctrl-C, 143 after SIGTERM
    except BrokenPipeError:
        # `nbmlops status | head -1`: the reader left; say nothing more, not even at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
