"""The ``%%track`` line: the one grammar the magic, the cell hooks, export, lint and the
sidebar's server read.

Words are split as a POSIX shell splits them (quotes group, a backslash escapes), then parsed
by one argparse parser, so ``%%track "my run" --param "note=a b"`` names the run ``my run``
everywhere, and ``%%track --drift fail train`` names it ``train`` everywhere. Pure: no shell,
no files; what needs them (``--data`` names a variable or a file, ``--expect`` a readable
declaration) is checked by the magic.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NoReturn

from nbmlops.config import DRIFT_MODES
from nbmlops.exceptions import TrackLineError
from nbmlops.redact import PLACEHOLDER, is_secret_name, redact_value

__all__ = [
    "PREFIX",
    "TrackOptions",
    "default_run_name",
    "options_of_cell",
    "parse",
    "redacted",
    "split_cell",
    "usage",
]

PREFIX = "%%track"


@dataclass
class TrackOptions:
    """A parsed ``%%track`` line."""

    name: str | None = None
    experiment: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    capture_data: bool = True
    drift: str | None = None  # off | warn | fail; None: the project's setting
    expect: list[tuple[str | None, str]] = field(default_factory=list)  # --expect [NAME=]PATH
    models: list[tuple[str, str]] = field(default_factory=list)  # --model VAR[=NAME]
    strict: bool = False  # a stale input fails the cell before its code runs


def split_cell(source: str) -> tuple[str, str] | None:
    """``(options, body)`` of a cell whose first line is a ``%%track`` line; None for any
    other cell (``%%tracking`` is another magic). Leading blank lines and indentation are
    skipped, as IPython skips them."""
    first, _, body = source.lstrip().partition("\n")
    first = first.rstrip("\r")
    if first != PREFIX and not first.startswith((PREFIX + " ", PREFIX + "\t")):
        return None
    return first[len(PREFIX):].strip(), body


def parse(line: str) -> TrackOptions:
    """The options of a ``%%track`` line (without the ``%%track`` itself).

    Raises :class:`TrackLineError` with a one-line message for anything malformed: bad
    quoting, an unknown option, a ``--param`` that is not ``NAME=VALUE``, a second name.
    """
    try:
        words = shlex.split(line, comments=False, posix=True)
    except ValueError as e:
        raise TrackLineError(f"%%track {line.strip()}: {e}") from None
    args = _parser().parse_args(words)
    return TrackOptions(
        name=args.name or None,
        experiment=args.experiment or None,
        params=_pairs(args.param, "--param"),
        metrics=list(args.metric),
        data=list(args.data),
        tags=_pairs(args.tag, "--tag"),
        capture_data=not args.no_data,
        drift=args.drift,
        expect=[_expect_item(item) for item in args.expect],
        models=[_model_item(item) for item in args.model],
        strict=args.strict,
    )


def options_of_cell(source: str) -> TrackOptions | None:
    """The options of a ``%%track`` cell; None when the cell is not one. A tracked cell with
    a malformed line raises :class:`TrackLineError` (the magic refuses to run it)."""
    split = split_cell(source)
    return None if split is None else parse(split[0])


def redacted(line: str) -> str:
    """A ``%%track`` line (with or without ``%%track``) as it may be stored: the values of
    its secret-named ``--param`` and ``--tag`` pairs replaced by the placeholder, as the run's
    params and tags are, then credential-looking text anywhere. The words are quoted anew only
    when a pair was redacted."""
    try:
        words = shlex.split(line, comments=False, posix=True)
    except ValueError:
        return redact_value(line)
    changed = False
    takes_pair = False  # the word before was --param / --tag (or an abbreviation of them)
    for i, word in enumerate(words):
        head, value = "", word
        if takes_pair:
            takes_pair = False
        elif word.startswith("--"):
            option, sep, value = word.partition("=")
            if not _names_pair_option(option):
                continue
            if not sep:
                takes_pair = True
                continue
            head = option + sep
        elif word[:2] in ("-p", "-t"):  # -p K=V, -pK=V
            head, value = word[:2], word[2:]
            if not value:
                takes_pair = True
                continue
        else:
            continue
        key, sep, secret = value.partition("=")
        if sep and secret not in ("", PLACEHOLDER) and is_secret_name(key.strip()):
            words[i] = f"{head}{key}={PLACEHOLDER}"
            changed = True
    return redact_value(shlex.join(words) if changed else line)


def _names_pair_option(option: str) -> bool:
    """Whether ``option`` is ``--param`` or ``--tag``, or a prefix argparse takes for one."""
    return len(option) > 2 and any(full.startswith(option) for full in ("--param", "--tag"))


def default_run_name(cell_id: str | None, execution_count: int | None = None) -> str:
    """The run name of a cell without ``%%track NAME``: ``cell-<cell id>``, else (outside a
    notebook) ``cell-<execution count>``."""
    return f"cell-{cell_id}" if cell_id else f"cell-{execution_count}"


def usage() -> str:
    """The options, as ``%%track?`` shows them."""
    return _parser().format_help()


class _Parser(argparse.ArgumentParser):
    # argparse prints and exits on errors; a magic and a server must get an exception.
    def error(self, message: str) -> NoReturn:
        raise TrackLineError(f"%%track: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise TrackLineError(f"%%track: {(message or 'invalid line').strip()}")


@lru_cache(maxsize=1)
def _parser() -> argparse.ArgumentParser:
    # argparse %-formats a usage it is given: through %(prog)s, "%%track" stays whole.
    parser = _Parser(prog=PREFIX, add_help=False, usage="%(prog)s [NAME] [options]")
    parser.add_argument("name", nargs="?", help="Run name (default: cell-<cell id>).")
    parser.add_argument("--experiment", "-e",
                        help="The MLflow experiment (default: the notebook's path).")
    parser.add_argument("--param", "-p", action="append", default=[], metavar="K=V",
                        help="A parameter of the run besides those of the code; repeatable.")
    parser.add_argument("--metric", "-m", action="append", default=[], metavar="NAME",
                        help="The metric NAME to record: a variable whose name matches no "
                        "pattern; repeatable.")
    parser.add_argument("--data", "-d", action="append", default=[], metavar="PATH",
                        help="The data the cell reads: a file or a DataFrame variable; "
                        "repeatable.")
    parser.add_argument("--tag", "-t", action="append", default=[], metavar="K=V",
                        help="A tag of the run; repeatable.")
    parser.add_argument("--no-data", action="store_true", help="Do not fingerprint any data.")
    parser.add_argument("--drift", choices=DRIFT_MODES,
                        help="Compare the data with the cell's last successful run: off, warn "
                        "(default, or `drift` in [tool.nbmlops]) or fail (the cell fails "
                        "after it ran).")
    parser.add_argument("--expect", action="append", default=[], metavar="[NAME=]PATH",
                        help="JSON declaration of the schema a frame must meet (columns, "
                        "dtypes, nullability, ranges); the cell fails after it ran when it "
                        "does not. Repeatable.")
    parser.add_argument("--model", action="append", default=[], metavar="VAR[=NAME]",
                        help="Register the model object in VAR as a new version of the "
                        "registered model NAME (default: VAR), alias challenger. Repeatable.")
    parser.add_argument("--strict", action="store_true",
                        help="Fail the cell before its code runs when an input is stale (made "
                        "by a cell edited or re-run since, changed in place after this cell "
                        "ran); `strict = true` in [tool.nbmlops] for every cell.")
    return parser


#: What MLflow takes as a registered model's name, and what a models:/ URI can carry.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][\w.\- ]{0,254}")


def _model_item(item: str) -> tuple[str, str]:
    """``clf=churn`` -> ("clf", "churn"); ``clf`` -> ("clf", "clf")."""
    variable, sep, name = item.partition("=")
    variable, name = variable.strip(), name.strip() if sep else variable.strip()
    if not variable.isidentifier():
        raise TrackLineError(f"%%track: --model needs a variable name, got {item!r}")
    if not _MODEL_NAME.fullmatch(name) or name != name.strip():
        raise TrackLineError(
            f"%%track: --model {item}: a model name is letters, digits, '.', '_', '-' and "
            "spaces, starting with a letter or digit"
        )
    return variable, name


def _pairs(pairs: list[str], what: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TrackLineError(f"%%track: {what} must look like NAME=VALUE, got {pair!r}")
        parsed[key.strip()] = value
    return parsed


def _expect_item(item: str) -> tuple[str | None, str]:
    """``df=schema.json`` -> ("df", "schema.json"); ``schema.json`` -> (None, "schema.json"):
    the declaration's "name", or the cell's only frame."""
    name, sep, path = item.partition("=")
    if sep and name.isidentifier():
        return name, path
    return None, item

