"""The static analysis of a cell: parameters, names read and bound, candidate paths."""

from __future__ import annotations

import numpy as np
import pytest

from nbmlops.config import DEFAULT_METRIC_PATTERNS
from nbmlops.track.capture import (
    analyze,
    is_metric_name,
    metric_value,
    param_value,
    scalar_metrics,
)


def test_literal_parameters_in_order_last_binding_wins() -> None:
    a = analyze(
        "lr = 0.1\nepochs: int = 10\nlayers = [64, 32]\nname, seed = 'adam', -3\n"
        "cfg = {'depth': 2, 'grow': None}\nlr = 0.2\nderived = lr * 2\nwidth = 5\nwidth = f()\n"
        "for batch in range(3): pass\nbatch = 1\ncount = 0\ncount += 1\n"
    )
    assert dict(a.params) == {
        "epochs": 10, "layers": [64, 32], "name": "adam", "seed": -3,
        "cfg": {"depth": 2, "grow": None}, "lr": 0.2, "batch": 1,
    }
    assert [p for p, _ in a.params][-2:] == ["lr", "batch"]


def test_only_plain_literals_are_parameters() -> None:
    a = analyze("c = 1j\nb = b'x'\ns = {1, 2}\nt = (1, 'a', True)\nnested = [[1], {'k': [2.5]}]")
    assert dict(a.params) == {"t": (1, "a", True), "nested": [[1], {"k": [2.5]}]}


def test_reads_are_names_taken_from_the_notebook() -> None:
    a = analyze(
        "import numpy as np\nw = np.zeros(3)\n"
        "for step in range(epochs):\n    p = X @ w\n    w += lr * p\n"
        "total = [i * k for i in items if (k := i)]\n"
        "def f(a, b=default):\n    return a + outer\n"
        "try:\n    pass\nexcept ValueError as err:\n    print(err)\n"
        "x += 1\n"
    )
    assert a.read == (
        "range", "epochs", "X", "lr", "items", "default", "outer", "ValueError", "print", "x"
    )
    assert a.assigned == ("np", "w", "step", "p", "k", "total", "f", "err", "x")


def test_strings_and_unparseable_cells() -> None:
    assert analyze("df = read('data/train.csv')\nmsg = 'a\\nb'").strings == (
        "data/train.csv",
    )
    assert not analyze("!ls\n%time x").parsed


@pytest.mark.parametrize(
    ("name", "expected"),
    [("val_loss", True), ("acc", True), ("test_auc", True), ("f1", True), ("r2", True),
     ("accuracy_score", True), ("tokens", False), ("maestro", False), ("lossy", False)],
)
def test_metric_names(name: str, expected: bool) -> None:
    assert is_metric_name(name, DEFAULT_METRIC_PATTERNS) is expected


def test_metric_values_and_scalar_metrics() -> None:
    assert metric_value(np.float32(0.5)) == 0.5
    assert metric_value(np.array(3)) == 3.0
    assert metric_value(True) is None and metric_value(np.bool_(True)) is None
    assert metric_value("0.5") is None and metric_value(np.array([1.0])) is None
    ns = {"val_loss": 0.25, "auc": np.float64(0.9), "loss_curve": [1, 2], "trees": 7}
    found = scalar_metrics(ns, ["val_loss", "auc", "loss_curve", "trees"],
                           DEFAULT_METRIC_PATTERNS, explicit=["trees"])
    assert found == {"val_loss": 0.25, "auc": 0.9, "trees": 7.0}


def test_param_values() -> None:
    values = [param_value(v) for v in ("adam", 0.1, None, [1, 2])]
    assert values == ["adam", "0.1", "None", "[1, 2]"]


def test_an_empty_container_is_not_a_parameter() -> None:
    found = analyze("losses = []\nseen = {}\npair = ()\nlayers = [8, 4]\nlr = 0.1")
    assert dict(found.params) == {"layers": [8, 4], "lr": 0.1}


@pytest.mark.parametrize(("line", "script"), [
    ("helper.py", "helper.py"),
    ("-i ../src/prep.py --rows 5", "../src/prep.py"),
    ("-t -N4 bench.py", "bench.py"),
    ("-N 4 bench.py", "bench.py"),
    ("-m package.module", None),
    ("'my helper.py' arg", "my helper.py"),
    ("'unclosed", None),
])
def test_the_script_a_percent_run_line_runs(line: str, script: str | None) -> None:
    from nbmlops.track.file_calls import run_target

    assert run_target(line) == script


def test_line_magic_words_are_code_or_moves_not_data_the_cell_reads() -> None:
    source = ("get_ipython().run_line_magic('run', 'helper.py')\n"
              "get_ipython().run_line_magic('cd', '../data.v2')\n"
              "df = load('train.csv')\n")
    found = analyze(source)
    assert found.strings == ("train.csv",)
    assert found.scripts == ("helper.py",)
    assert "get_ipython" not in found.read
