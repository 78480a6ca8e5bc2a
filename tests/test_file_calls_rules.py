"""The rule a tracked cell shares with the export (:mod:`nbmlops.track.file_calls`): names
looked up in the notebook's namespace, which values stand for paths, and the scripts a cell
runs with ``%run`` (pure: source text and plain values in; nothing runs)."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest

from nbmlops.track import file_calls
from nbmlops.track.file_calls import Access


def test_names_the_cell_does_not_bind_are_looked_up_in_the_namespace() -> None:
    namespace = {"out_path": "data/x.csv", "base": Path("data"), "unused": "other.csv"}
    source = "d.to_csv(out_path)\nwith open(base / 'log.txt', 'a') as f:\n    f.write('x')"
    assert file_calls.classify(source, namespace) == [
        Access("data/x.csv", "write", "to_csv"), Access("data/log.txt", "write", "open(mode='a')")]
    assert file_calls.classify(source) == []
    assert file_calls.classify(source, {}) == []
    # what the cell binds itself comes first, and a name it binds to something else is unknown
    assert file_calls.classify("out_path = 'y.csv'\nd.to_csv(out_path)", namespace) == [
        Access("y.csv", "write", "to_csv")]
    assert file_calls.classify("out_path = pick()\nd.to_csv(out_path)", namespace) == []


def test_a_cell_lists_each_access_once_and_nothing_when_it_does_not_parse() -> None:
    assert file_calls.classify("d.to_csv('a.csv')\nd.to_csv('a.csv')\npd.read_csv('a.csv')") == [
        Access("a.csv", "write", "to_csv"), Access("a.csv", "read", "read_csv")]
    assert file_calls.classify("d.to_csv('a.csv'") == []
    assert file_calls.classify("x = 1\0") == []


class _Broken(os.PathLike[str]):
    def __fspath__(self) -> str:
        raise RuntimeError("not a path after all")


class _BytesPath(os.PathLike[bytes]):
    def __fspath__(self) -> bytes:
        return b"data/x.csv"


@pytest.mark.parametrize(("value", "text"), [
    ("data/x.csv", "data/x.csv"), (Path("data") / "x.csv", "data/x.csv"), ("x", "x"),
    ("a" * 1024, "a" * 1024), ("a" * 1025, None), ("", None), ("a\nb", None), (3, None),
    (None, None), (["x.csv"], None), (_Broken(), None), (_BytesPath(), None),
])
def test_the_namespace_values_that_stand_for_a_path(value: Any, text: str | None) -> None:
    assert file_calls.path_text(value) == text
    found = file_calls.classify("d.to_csv(p)", {"p": value})
    assert found == ([Access(text, "write", "to_csv")] if text else [])


def test_a_name_hidden_inside_a_loop_is_absent_from_the_mapping_read_through() -> None:
    hiding = file_calls._Hiding({"a": "x.csv", "b": "y.csv", "c": "z.csv"}, {"b"})
    assert dict(hiding) == {"a": "x.csv", "c": "z.csv"}
    assert len(hiding) == 2 and "b" not in hiding and hiding.get("b") is None


def run_magic(name: str, line: str) -> str:
    return f"get_ipython().run_line_magic({name!r}, {line!r})"


def test_the_scripts_a_cell_runs_with_percent_run() -> None:
    source = "\n".join([
        run_magic("run", "helper.py -x"), run_magic("run", "-i ../src/prep.py"),
        run_magic("run", "helper.py"), run_magic("run", "-m package.module"),
        run_magic("cd", "data"), "if ok:\n    " + run_magic("run", "nested.py"),
    ])
    assert file_calls.scripts_run(ast.parse(source)) == ["helper.py", "../src/prep.py",
                                                          "nested.py"]
    assert file_calls.scripts_run(ast.parse("x = 1")) == []


@pytest.mark.parametrize(("source", "magic"), [
    (run_magic("run", "a.py"), ("run", "a.py")),
    ("get_ipython().run_line_magic('run', line)", None),
    ("get_ipython().run_line_magic(name, 'a.py')", None),
    ("get_ipython().run_line_magic('run')", None),
    ("shell.run_line_magic('run', 'a.py')", None),
    ("get_ipython.run_line_magic('run', 'a.py')", None),
    ("other().run_line_magic('run', 'a.py')", None),
    ("get_ipython().run_cell_magic('run', 'a.py', '')", None),
    ("run_line_magic('run', 'a.py')", None),
    ("x", None),
])
def test_what_ipython_makes_of_a_line_magic(source: str, magic: tuple[str, str] | None) -> None:
    assert file_calls.line_magic(ast.parse(source).body[0].value) == magic  # type: ignore[attr-defined]


@pytest.mark.parametrize(("line", "script"), [
    ("helper.py", "helper.py"), ("-p -m mod", "mod"), ("-p x.py", None), ("-m mod x.py", None),
    ("-G a.py b.py", "b.py"),
    ("-b 3 -d a.py", "a.py"), ("-e", None), ("", None),
])
def test_the_options_of_percent_run_before_its_script(line: str, script: str | None) -> None:
    assert file_calls.run_target(line) == script
