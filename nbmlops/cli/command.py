"""What a command is, defined once for both its faces, and the options several share.

A :class:`Command` holds a command's name, its one-line help, the function adding its
arguments to an argparse parser, and the function it calls. ``nbmlops NAME`` (the command
line) and ``%mlops NAME`` (the notebook) parse with that same configuration, so an option
is spelled, typed and explained once. Where an option is not given, a command acts on its
:class:`Place`: the working directory's project on the command line, the notebook's
project, store and spool in ``%mlops``.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from nbmlops import config
from nbmlops.exceptions import NbmlopsError
from nbmlops.sync.spool import Spool

Run = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


class Notebook(Protocol):
    """What a notebook face reads of the ``%mlops`` magic (its :class:`TrackMagics`)."""

    tracker: Any
    shell: Any

    def prepare(self, line: str) -> tuple[Any, Any]: ...


#: The notebook face of a command: the parsed arguments (``args.place`` set to the
#: notebook's) and the magic; prints, and may return an object the notebook shows.
Magic = Callable[[argparse.Namespace, Notebook], Any]


@dataclass(frozen=True)
class Place:
    """Where a command acts when its options do not say."""

    root: Path
    tracking_uri: str
    spool: Path
    notebook: Path | None = None  # the notebook's path, in %mlops
    source_name: str | None = None  # the notebook's path relative to the project

    @classmethod
    def here(cls) -> Place:
        """The working directory's project, its store and spool (the command line)."""
        root = config.project_root()
        return cls(root, config.store_uri(None, root), config.spool_dir(root))


@dataclass(frozen=True)
class Command:
    """One command: its name, its one-line help, the function adding its arguments, the
    function running it on the command line (prints, returns the exit status; None: the
    command exists in the notebook only) and its notebook face (None: in the notebook it
    runs ``run`` over the notebook's place; absent from :data:`nbmlops.cli.MAGIC` when the
    command exists on the command line only)."""

    name: str
    help: str
    configure: Configure
    run: Run | None
    magic: Magic | None = None

    def in_notebook(self, args: argparse.Namespace, notebook: Notebook) -> Any:
        if self.magic is not None:
            return self.magic(args, notebook)
        assert self.run is not None  # a Command has one face at least
        status = self.run(args)
        if status != 0:
            raise NbmlopsError(f"%mlops {self.name} ended with status {status} (see above)")
        return None


def place_of(args: argparse.Namespace) -> Place:
    """The place a face set on ``args``, else the working directory's."""
    place = getattr(args, "place", None)
    return place if isinstance(place, Place) else Place.here()


class _MagicParser(argparse.ArgumentParser):
    # In a kernel, argparse must not print and exit: its errors become one-line errors.
    def error(self, message: str) -> NoReturn:
        raise NbmlopsError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise NbmlopsError(f"{self.prog}: {(message or 'invalid arguments').strip()}")


def magic_parser(command: Command) -> argparse.ArgumentParser:
    """The command's parser as ``%mlops NAME`` uses it: same arguments, errors raised."""
    parser = _MagicParser(prog=f"%mlops {command.name}", description=command.help,
                          add_help=False)
    command.configure(parser)
    return parser


def parse_line(command: Command, line: str) -> argparse.Namespace | None:
    """The arguments of ``%mlops NAME LINE`` (POSIX quoting, so ``--filter "a = 'b'"``
    arrives without its quotes); None when ``-h``/``--help`` asked for the help, printed."""
    try:
        argv = shlex.split(line)
    except ValueError as e:
        raise NbmlopsError(f"%mlops {command.name}: {e}") from None
    parser = magic_parser(command)
    if {"-h", "--help"} & set(argv):
        print(parser.format_help())
        return None
    return parser.parse_args(argv)


#: What a shared option means. An option two commands take is spelled, typed and explained
#: alike; its help starts with these words (tests/test_commands.py holds every command to it).
VOCABULARY: dict[str, str] = {
    "--tracking-uri": "the MLflow store",
    "--spool": "the spool folder",
    "--json": "print",
    "--experiment": "the MLflow experiment",
    "--metric": "the metric",
    "--data": "the data",
    "--name": "the name of",
    "--version": "the version",
    "--alias": "the alias",
    "--timeout": "seconds",
    "--out": "the folder",
    "--param": "a parameter",
    "--force": "go ahead",
    "--target": "the schedule target",
    "--tag": "a tag",
    "--format": "the format",
}

#: Old spellings kept working, hidden from the help: {command: {old: new}}.
DEPRECATED: dict[str, dict[str, str]] = {
    "promote": {"--to": "--alias"},
    "rollback": {"--to": "--version"},
}


def deprecated(parser: argparse.ArgumentParser, old: str, dest: str) -> None:
    """``old`` still sets ``dest``, but the help no longer shows it."""
    parser.add_argument(old, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def spool_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spool",
        type=Path,
        default=None,
        help="the spool folder (default: NBMLOPS_SPOOL, [tool.nbmlops] spool, or the user "
        "data folder)",
    )


def spool_of(args: argparse.Namespace) -> Spool:
    return Spool(args.spool or place_of(args).spool)


def tracking_uri_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tracking-uri", default=None,
        help="the MLflow store (default: MLFLOW_TRACKING_URI, [tool.nbmlops] tracking_uri, "
        "or sqlite:///<project>/mlflow.db)",
    )


def tracking_uri_of(args: argparse.Namespace) -> str:
    return str(args.tracking_uri or place_of(args).tracking_uri)
