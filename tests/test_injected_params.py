"""Every value papermill (or ``nbmlops run``) injected is a param of every tracked run of
that execution, whether the tracked cell reads it or an untracked cell before it does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.track import params

BIN = Path(sys.executable).parent


def test_injected_values_come_from_papermills_cell() -> None:
    history = ["", "# Parameters\ntest_size = 0.4\nmax_depth = 5\nname = 'a'\nfrac = -0.5\n",
               "test_size = 1"]
    assert params.injected_values(history, {}) == {
        "test_size": "0.4", "max_depth": "5", "name": "a", "frac": "-0.5"}
    # Names a job says it injected, not in a papermill cell, are read from the namespace.
    assert params.injected_values([], {"lr": 0.1, "frame": object()}, ["lr", "frame"]) == {
        "lr": "0.1"}


def test_injected_values_not_read_by_the_cell_are_params() -> None:
    found = params.run_params(
        read_before={"max_depth": "5"}, namespace={}, rebound=(), injected={"max_depth"},
        estimators={}, injected_values={"max_depth": "5", "test_size": "0.4"},
    )
    assert found.values == {"max_depth": "5", "test_size": "0.4"}
    assert found.tags[store.PARAMS_INJECTED_TAG] == "max_depth,test_size"


@pytest.mark.kernel
def test_papermill_values_read_only_by_an_untracked_cell_are_recorded(
    tmp_path: Path, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("test_size = 0.2\nmax_depth = 3")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        nbformat.v4.new_code_cell("%load_ext nbmlops"),
        nbformat.v4.new_code_cell("n_test = int(100 * test_size)  # preprocessing, untracked"),
        nbformat.v4.new_code_cell("%%track fit\ndepth = max_depth * 2\nscore = n_test / 100"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    notebook = root / "train.ipynb"
    nbformat.write(nb, str(notebook))
    subprocess.run([BIN / "papermill", notebook, tmp_path / "out.ipynb", "--cwd", root,
                    "-p", "test_size", "0.4", "-p", "max_depth", "5",
                    "--log-level", "WARNING"], check=True, env=os.environ.copy())
    done = subprocess.run([BIN / "nbmlops", "sync", "--spool", tmp_path / "spool"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    client = MlflowClient(sqlite_uri)
    experiment = client.get_experiment_by_name("train.ipynb")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    assert run.data.metrics["score"] == 0.4
    assert run.data.params["max_depth"] == "5"
    assert run.data.params["test_size"] == "0.4"
    assert run.data.tags[store.PARAMS_INJECTED_TAG] == "max_depth,test_size"
