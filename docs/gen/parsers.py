"""The ``nbmlops`` command line and the ``%mlops``/``%%track`` magics, from their argparse
parsers (``nbmlops.cli``, ``nbmlops.track.line``): an option added there appears here."""

from __future__ import annotations

import argparse

from nbmlops import cli
from nbmlops.cli.command import magic_parser
from nbmlops.track import line

from .markdown import cell


def _cell(text: str) -> str:
    return cell(text)


def _names(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    shown = ", ".join(action.option_strings)
    if action.nargs != 0:
        choices = "{" + ",".join(map(str, action.choices)) + "}" if action.choices else None
        metavar = action.metavar or choices or action.dest.upper()
        shown += f" {metavar}"
    return f"`{shown}`"


def _default(action: argparse.Action) -> str:
    default = action.default
    if action.nargs == 0 or default in (None, [], "", argparse.SUPPRESS):
        return ""
    return f"`{default}`"


def arguments(parser: argparse.ArgumentParser) -> str:
    """The parser's arguments as a Markdown table (hidden and ``-h`` ones left out)."""
    rows = [a for a in parser._actions
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)]
    if not rows:
        return "No options.\n"
    out = ["| argument | meaning | default |", "|---|---|---|"]
    for action in rows:
        meaning = (action.help or "") % {"prog": parser.prog, "default": action.default}
        out.append(f"| {_names(action)} | {_cell(meaning)} | {_default(action)} |")
    return "\n".join(out) + "\n"


def usage(parser: argparse.ArgumentParser) -> str:
    text = " ".join(parser.format_usage().split()).removeprefix("usage: ")
    return f"```text\n{text}\n```\n"


def subparsers() -> dict[str, argparse.ArgumentParser]:
    """``nbmlops NAME``'s parser by name, as ``nbmlops NAME -h`` uses it."""
    root = cli.build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def cli_page() -> str:
    out = ["# `nbmlops` command line\n",
           "Generated from the command line's parsers: `nbmlops COMMAND -h` prints the same.",
           "A command that also runs in the notebook as `%mlops COMMAND` takes the same options",
           "there (see [the magics](magics.md)). An error is one line on stderr and exit",
           "status 2; a promotion its gates refuse exits with 1.\n"]
    for name, parser in subparsers().items():
        face = " · also `%mlops`" if name in cli.MAGIC else " · command line only"
        out += [f"## `nbmlops {name}`\n", f"{cli.ALL[name].help}{face}\n",
                usage(parser), arguments(parser)]
    return "\n".join(out)


def magics_page() -> str:
    track = line._parser()
    out = ["# Magics: `%%track` and `%mlops`\n",
           "Generated from the parsers the magics use: `%%track?` and `%mlops COMMAND -h` show",
           "the same. The line is split into words as a shell splits them.\n",
           "## `%%track`\n",
           "Turns the cell into an MLflow run (see [tracking](../tracking.md)).\n",
           usage(track), arguments(track),
           "## `%mlops`\n", "`%mlops` alone shows the status; `%mlops help` lists the commands.",
           "Commands of the command line only: "
           + ", ".join(f"[`{n}`](cli.md#nbmlops-{n})" for n in cli.SHELL_ONLY) + ".\n"]
    for name, command in cli.MAGIC.items():
        face = " · notebook only" if name in cli.NOTEBOOK_ONLY else " · also `nbmlops`"
        parser = magic_parser(command)
        out += [f"### `%mlops {name}`\n", f"{command.help}{face}\n", usage(parser),
                arguments(parser)]
    return "\n".join(out)
