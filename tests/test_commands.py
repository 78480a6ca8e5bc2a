"""Each command is defined once (:mod:`nbmlops.cli`): ``nbmlops NAME`` and ``%mlops NAME``
parse with the same arguments, and every command and ``%%track`` share one vocabulary (an
option means one thing, a short flag names one option, every argument says what it is)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project
from IPython.core.error import UsageError

from nbmlops import cli
from nbmlops.cli.command import DEPRECATED, VOCABULARY, Command, magic_parser, parse_line
from nbmlops.track import line as track_line

#: A parser's face: ``(name, parser)``.
Face = tuple[str, argparse.ArgumentParser]


def faces(commands: Iterable[Command]) -> list[Face]:
    return [(c.name, magic_parser(c)) for c in commands]


def all_faces() -> list[Face]:
    # argparse keeps the parser of %%track private; its grammar is part of the vocabulary.
    return [*faces(cli.ALL.values()), ("%%track", track_line._parser())]


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings]


def takes_value(action: argparse.Action) -> bool | None:
    """False for a flag, True for an option that needs a value, None when either will do."""
    return None if action.nargs == "?" else action.nargs != 0


def vocabulary_problems(found: list[Face]) -> list[str]:
    """What breaks the one vocabulary among these parsers, one line each."""
    problems = []
    shorts: dict[str, set[str]] = {}
    uses: dict[str, list[tuple[str, argparse.Action]]] = {}
    for name, parser in found:
        for action in parser._actions:
            if action.help == argparse.SUPPRESS:
                old = action.option_strings[0]
                if old not in DEPRECATED.get(name, {}):
                    problems.append(f"{name} {old}: hidden but not listed as deprecated")
                continue
            what = action.option_strings[-1] if action.option_strings else action.dest
            if not (action.help or "").strip():
                problems.append(f"{name} {what}: no help")
            if not action.option_strings:
                continue
            longs = [o for o in action.option_strings if o.startswith("--")]
            if len(longs) != 1:
                problems.append(f"{name} {what}: wants one long form, has {longs}")
                continue
            uses.setdefault(longs[0], []).append((name, action))
            for short in set(action.option_strings) - set(longs):
                shorts.setdefault(short, set()).add(longs[0])
    problems += [f"{short} means {' and '.join(sorted(longs))}"
                 for short, longs in sorted(shorts.items()) if len(longs) > 1]
    for option, used in sorted(uses.items()):
        if len(used) < 2:
            continue
        names = ", ".join(n for n, _ in used)
        for field in ("dest", "type"):
            if len({repr(getattr(a, field)) for _, a in used}) > 1:
                problems.append(f"{option} has {field}s that differ in {names}")
        if {takes_value(a) for _, a in used} >= {True, False}:
            problems.append(f"{option} is a flag in one of {names} and takes a value in another")
        stem = VOCABULARY.get(option)
        if stem is None:
            problems.append(f"{option} is shared by {names} but not in VOCABULARY")
            continue
        problems += [f"{name} {option}: help does not start with {stem!r}"
                     for name, a in used if not str(a.help).lower().startswith(stem.lower())]
    shared = {o for o, used in uses.items() if len(used) > 1}
    problems += [f"VOCABULARY names {o}, which no two commands share"
                 for o in sorted(set(VOCABULARY) - shared)]
    return problems


def test_one_vocabulary_across_commands_and_track() -> None:
    assert vocabulary_problems(all_faces()) == []


def configure_with(*arguments: tuple[tuple[str, ...], dict[str, Any]]) -> Any:
    def configure(parser: argparse.ArgumentParser) -> None:
        for flags, settings in arguments:
            parser.add_argument(*flags, **settings)
    return configure


@pytest.mark.parametrize(
    ("first", "second", "found"),
    [
        ((("--verbose", "-v"), {"action": "store_true", "help": "say more"}),
         (("--version", "-v"), {"help": "the version"}), "-v means --verbose and --version"),
        ((("--alias",), {"help": "the alias to take"}),
         (("--alias",), {"action": "store_true", "help": "the alias, moved back"}),
         "--alias is a flag in one of a, b and takes a value in another"),
        ((("--last",), {"type": int, "help": "only the N newest"}),
         (("--last",), {"help": "only the N newest"}), "--last has types that differ in a, b"),
        ((("--alias",), {"help": "the alias to take"}),
         (("--alias",), {"help": "which alias"}), "b --alias: help does not start with"),
        ((("--colour",), {"help": "the colour"}),
         (("--colour",), {"help": "the colour"}), "--colour is shared by a, b but not in"),
        ((("--quiet",), {"action": "store_true", "help": ""}),
         (("-q",), {"action": "store_true", "help": "quiet"}), "a --quiet: no help"),
    ],
)
def test_the_vocabulary_check_finds_a_conflict(first: Any, second: Any, found: str) -> None:
    planted = [Command("a", "one", configure_with(first), None),
               Command("b", "two", configure_with(second), None)]
    assert any(found in p for p in vocabulary_problems(faces(planted)))


def test_each_command_has_a_face_or_two_and_says_which() -> None:
    for name, command in cli.ALL.items():
        assert command.help.strip(), name
        assert (name in cli.MAGIC) != (name in cli.SHELL_ONLY), name
        assert (command.run is None) == (name in cli.NOTEBOOK_ONLY), name
    # Every %mlops command has an nbmlops twin, or is one of the notebook's own.
    assert [n for n in cli.MAGIC if n not in cli.COMMANDS] == list(cli.NOTEBOOK_ONLY)
    assert set(cli.COMMANDS) == set(cli.ALL) - set(cli.NOTEBOOK_ONLY)
    for name in cli.SHELL_ONLY:
        assert name in cli.COMMANDS and name in cli.overview()


def parse(argv: list[str]) -> argparse.Namespace:
    return cli.build_parser().parse_args(argv)


def test_one_word_one_meaning_and_the_old_spellings_still_work(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse(["promote", "m", "--alias", "staging"]).alias == "staging"
    assert parse(["promote", "m", "--to", "staging"]).alias == "staging"  # deprecated
    assert parse(["promote", "m"]).alias == "champion"
    assert parse(["rollback", "m", "--version", "2"]).version == "2"
    assert parse(["rollback", "m", "--to", "2"]).version == "2"  # deprecated
    assert parse(["rollback", "m"]).version is None
    assert parse(["run", "jobs/x", "-v"]).verbose is True
    assert parse(["status", "--tracking-uri", "sqlite:///x.db"]).tracking_uri == "sqlite:///x.db"
    with pytest.raises(SystemExit):
        parse(["promote", "m", "-v", "3"])  # -v is --verbose; promote says nothing more
    assert "-v" in capsys.readouterr().err
    for name in ("promote", "rollback"):
        shown = magic_parser(cli.ALL[name]).format_help()
        assert "--to" not in shown and "--alias" in shown and "--version" in shown


def test_a_magic_line_is_parsed_as_the_command_line_parses_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = '--alias staging --gate "auc >= champion" -g "auc > 0.5" churn'
    in_notebook = parse_line(cli.ALL["promote"], line)
    on_the_command_line = vars(parse(["promote", *shlex.split(line)]))
    assert on_the_command_line.pop("command") == "promote"
    assert vars(in_notebook) == on_the_command_line
    assert parse_line(cli.ALL["promote"], "churn -h") is None
    assert capsys.readouterr().out.startswith("usage: %mlops promote [--version VERSION]")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, "train.ipynb")


def test_mlops_help_lists_the_commands_and_those_of_the_command_line(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ip.run_line_magic("mlops", "help") is None
    shown = capsys.readouterr().out
    for name, command in cli.MAGIC.items():
        assert f"  {name}" in shown and command.help in shown
    assert "On the command line only (nbmlops COMMAND -h): export, run, schedule" in shown
    doc = ip.find_line_magic("mlops").__doc__  # what %mlops? shows
    assert "On the command line only" in doc and "compare" in doc
    with pytest.raises(UsageError, match="'export' runs on the command line only: nbmlops "):
        ip.run_line_magic("mlops", "export train.ipynb")


def test_mlops_errors_and_help_never_exit_the_kernel(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UsageError, match=r"^%mlops promote: the following arguments are "
                       r"required: name$"):
        ip.run_line_magic("mlops", "promote")
    with pytest.raises(UsageError, match="%mlops sync: unrecognized arguments: --bogus"):
        ip.run_line_magic("mlops", "sync --bogus")
    with pytest.raises(UsageError, match="%mlops compare: argument --last/-n: invalid int"):
        ip.run_line_magic("mlops", "compare --last many")
    assert ip.run_line_magic("mlops", "status --help") is None
    shown = capsys.readouterr().out
    assert shown.startswith("usage: %mlops status [--spool SPOOL] [--tracking-uri")


def test_status_says_where_new_runs_go_in_both_faces(
    ip: Any, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ip.run_line_magic("mlops", "status")
    assert f"new runs go to: sqlite:///{project.resolve() / 'mlflow.db'}" in capsys.readouterr().out
    assert cli.main(["status", "--tracking-uri", "sqlite:///elsewhere.db"]) == 0
    assert "new runs go to: sqlite:///elsewhere.db" in capsys.readouterr().out


def test_track_help_names_the_cell_magic(ip: Any) -> None:
    doc = ip.find_cell_magic("track").__doc__  # what %%track? shows
    assert "usage: %%track [NAME] [options]" in doc


def test_jobs_takes_a_notebook_or_a_folder(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "train.ipynb").write_text("{}")
    assert cli.main(["jobs", "train.ipynb"]) == 0
    assert "No jobs exported from this notebook yet" in capsys.readouterr().out
    assert cli.main(["jobs", "train.ipynb", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert cli.main(["jobs", str(project)]) == 0
    assert cli.main(["jobs", "missing"]) == 2
    assert "not a notebook or folder: missing" in capsys.readouterr().err
    assert "installed or not" in cli.COMMANDS["jobs"].help


def test_models_of_this_notebook_needs_a_path_on_the_command_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In %mlops, --notebook alone means the notebook the magic runs in.
    assert cli.main(["models", "--notebook"]) == 2
    assert "--notebook needs the notebook's PATH here" in capsys.readouterr().err
