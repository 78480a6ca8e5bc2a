"""The manual documents every command and magic: the reference pages are generated from the
parsers (docs/gen/), so these tests check what generation cannot give, a command's help and
each option's meaning, and a guide page that tells when to use the command. `make docs`
builds the manual itself in strict mode (in CI)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest

from nbmlops import cli, config
from nbmlops.cli.command import magic_parser
from nbmlops.track import line

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS))

from gen import parsers, settings  # noqa: E402


def guide() -> str:
    """The hand-written pages of the manual, all of them."""
    return "\n".join(page.read_text() for page in sorted(DOCS.glob("*.md")))


def told(name: str) -> bool:
    """Whether a guide page names the command in code: ``nbmlops NAME`` or ``%mlops NAME``
    for a command of both faces, the one it has otherwise."""
    faces = [f for f, names in (("nbmlops", cli.COMMANDS), ("%mlops", cli.MAGIC)) if name in names]
    return re.search(rf"`[^`\n]*({'|'.join(faces)}) {re.escape(name)}\b", guide()) is not None


def undocumented_options(parser: argparse.ArgumentParser) -> list[str]:
    return [action.dest for action in parser._actions
            if not isinstance(action, argparse._HelpAction)
            and action.help != argparse.SUPPRESS and not (action.help or "").strip()]


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_nbmlops_command_is_documented(name: str) -> None:
    parser = parsers.subparsers()[name]
    assert cli.COMMANDS[name].help.strip(), f"nbmlops {name} has no help"
    assert not undocumented_options(parser), f"nbmlops {name}: options without help"
    assert f"## `nbmlops {name}`" in parsers.cli_page()
    assert told(name), (
        f"no page of the manual (docs/*.md) tells when to use `nbmlops {name}`")


@pytest.mark.parametrize("name", sorted(cli.MAGIC))
def test_every_mlops_magic_is_documented(name: str) -> None:
    assert not undocumented_options(magic_parser(cli.MAGIC[name])), f"%mlops {name}"
    assert f"### `%mlops {name}`" in parsers.magics_page()
    assert told(name), (
        f"no page of the manual (docs/*.md) tells when to use `%mlops {name}`")


def test_every_track_option_is_documented() -> None:
    parser = line._parser()
    assert not undocumented_options(parser)
    page = parsers.magics_page()
    for action in parser._actions:
        for option in action.option_strings:
            assert option in page, option


def test_the_reference_follows_the_parsers() -> None:
    """A flag added to a parser appears in the reference without anyone writing it."""
    command = cli.COMMANDS["status"]
    parser = parsers.subparsers()["status"]
    parser.add_argument("--planted-flag", help="a flag nobody documented by hand")
    try:
        table = parsers.arguments(parser)
        assert "`--planted-flag PLANTED_FLAG` | a flag nobody documented by hand" in table
    finally:
        assert command is cli.COMMANDS["status"]


def test_every_setting_is_explained() -> None:
    page = settings.page()
    readers = settings.readers()
    for key in config.KNOWN_KEYS:
        reading = [r for r in readers if key in r.keys]
        assert reading and reading[0].doc, f"[tool.nbmlops] {key}: no function of config reads it"
        assert f"| `{key}` |" in page
    for variable in {v for r in readers for v in r.variables}:
        assert f"| `{variable}` |" in page
