"""The commands, each defined once (:class:`~nbmlops.cli.command.Command`), and the
``nbmlops`` command line over them; ``%mlops`` (:mod:`nbmlops.magics`) is their face in the
notebook.

Each module of this package holds one group of commands and lists them in its ``COMMANDS``;
:data:`ALL` joins those lists, in the order ``nbmlops --help`` and ``%mlops help`` show them.
On the command line any :class:`NbmlopsError` becomes one line ``nbmlops: error: ...`` on
stderr and exit status 2; a promotion refused by its gates exits with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from nbmlops import __version__, lean_imports, store
from nbmlops.cli import assess, data, jobs, models, notebook, reproduce, sync
from nbmlops.cli.command import Command
from nbmlops.exceptions import GateFailed, NbmlopsError

__all__ = ["ALL", "COMMANDS", "MAGIC", "NOTEBOOK_ONLY", "SHELL_ONLY", "build_parser", "main",
           "overview"]

#: Every command, by name.
ALL: dict[str, Command] = {
    c.name: c for c in (*sync.COMMANDS, *data.COMMANDS, *jobs.COMMANDS, *models.COMMANDS,
                        *reproduce.COMMANDS, *assess.COMMANDS, *notebook.COMMANDS)
}

#: The commands of the command line (``nbmlops NAME``).
COMMANDS: dict[str, Command] = {n: c for n, c in ALL.items() if c.run is not None}

#: Commands the notebook runs with the working directory's place would surprise (they write
#: job folders, start kernels, run papermill): the command line only.
SHELL_ONLY = ("export", "run", "schedule", "image", "lineage", "reproduce")

#: Commands of the notebook only: they read the kernel (its variables, its tracked cells)
#: or show a widget.
NOTEBOOK_ONLY = ("register", "compare", "slice")

#: The commands of the notebook (``%mlops NAME``).
MAGIC: dict[str, Command] = {n: c for n, c in ALL.items() if n not in SHELL_ONLY}


def overview() -> str:
    """The commands of ``%mlops``, one a line, and those of the command line only."""
    width = max(map(len, MAGIC))
    lines = ["%mlops COMMAND [options]   (%mlops COMMAND -h: its options; default: status)"]
    lines += [f"  {name:{width}}  {cmd.help}" for name, cmd in MAGIC.items()]
    lines.append("On the command line only (nbmlops COMMAND -h): " + ", ".join(SHELL_ONLY))
    return "\n".join(lines)


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
