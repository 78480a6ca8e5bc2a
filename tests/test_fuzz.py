"""Whatever a user types, the parsers answer with a result or one line: the ``%%track`` line,
the notebook transforms (export, lint) and the casting of job parameters, fuzzed."""

from __future__ import annotations

import string
from typing import Any

import nbformat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbmlops.exceptions import NbmlopsError
from nbmlops.jobs.export import lint, parameterize
from nbmlops.jobs.spec import ParamSpec, coerce
from nbmlops.track import line as track_line

WORDS = st.sampled_from([
    "--experiment", "-e", "--param", "-p", "--metric", "--data", "--tag", "--no-data", "--drift",
    "--expect", "fail", "warn", "a=b", "=", '"', "'", "\\", "train", "x y", "$(x)", "`id`",
    "{{ 7*7 }}", "--", "-", "é", "\t", "k=v=w",
])
LINES = st.one_of(
    st.text(max_size=80),
    st.lists(WORDS, max_size=8).map(" ".join),
)
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def one_line(error: Exception) -> bool:
    return bool(str(error)) and "\n" not in str(error)


@SETTINGS
@given(LINES)
def test_the_track_line_parses_or_says_why_in_one_line(line: str) -> None:
    try:
        options = track_line.parse(line)
    except NbmlopsError as e:
        assert one_line(e), repr(str(e))
    else:
        assert options.name is None or isinstance(options.name, str)


CELL_SOURCES = st.one_of(
    st.text(max_size=120),
    st.builds(lambda line, body: f"%%track {line}\n{body}", LINES, st.text(max_size=60)),
    st.sampled_from([
        "x = 1", "lr: float = 0.1  # rate", "a, b = 1, 2", "%matplotlib inline\nx = 1",
        "!pip install x", "def f(:\n", "x = [" * 50, "del x", "x = input()", "import os",
    ]),
)


@SETTINGS
@given(st.lists(CELL_SOURCES, max_size=6), st.booleans())
def test_notebook_transforms_give_a_result_or_one_line(sources: list[str], tagged: bool) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    if tagged and nb.cells:
        nb.cells[0].metadata["tags"] = ["parameters"]
    for transform in (lint.lint, parameterize.to_job_notebook):
        try:
            transform(nb)
        except NbmlopsError as e:
            assert one_line(e), repr(str(e))


VALUES = st.one_of(
    st.text(alphabet=string.printable, max_size=30),
    st.sampled_from(["1e999", "-1e999", "nan", "NaN", "true", "yes", "0x10", "[1, 2", "{}",
                     "None", "1_000", " 3 ", "'a'", "[[1]]", "{'a': [1]}"]),
)


@SETTINGS
@given(st.sampled_from(["int", "float", "bool", "str", "list", "dict", "any"]), VALUES)
def test_job_parameters_cast_or_say_why_in_one_line(kind: str, value: str) -> None:
    spec = ParamSpec("p", kind, None)
    try:
        cast: Any = coerce(spec, value)
    except NbmlopsError as e:
        assert one_line(e), repr(str(e))
    else:
        if kind == "float":
            assert isinstance(cast, float) and cast == cast and abs(cast) != float("inf")
        if kind == "int":
            assert isinstance(cast, int) and not isinstance(cast, bool)
