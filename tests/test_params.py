"""A run says what produced it: values set outside the cell, estimator hyperparameters, where
each came from. Pure rules first, then a real IPython shell, then papermill in real kernels."""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import framework, shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import store
from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool
from nbmlops.track import capture, params

NOTEBOOKS = Path(__file__).parent / "notebooks"


class Color(enum.Enum):
    RED = 1


# -- pure rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3, "3"), (0.1, "0.1"), (True, "True"), (None, "None"), ("adam", "adam"),
        (np.float64(0.25), "0.25"), (np.int32(7), "7"), (Color.RED, "Color.RED"),
        (Path("data/raw.csv"), "data/raw.csv"), ([64, 32], "[64, 32]"), ((1, "a"), "(1, 'a')"),
    ],
)
def test_plain_values_are_parameters(value: Any, text: str) -> None:
    assert params.plain_text(value) == text


@pytest.mark.parametrize(
    "value",
    [pd.DataFrame({"a": [1]}), np.zeros(3), list(range(100)), [[1], [2]], print, os,
     {"a": 1}, object()],
)
def test_other_values_are_not(value: Any) -> None:
    assert params.plain_text(value) is None


def test_injected_names_come_from_papermills_cell() -> None:
    history = ["", "import x", "# Parameters\nalpha = 0.3\nmode = 'fast'\n", "alpha = 1"]
    assert params.injected_names(history) == {"alpha", "mode"}


def test_estimator_parameters_are_flattened() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    forest = RandomForestClassifier(n_estimators=300, max_depth=8)
    pipe = make_pipeline(StandardScaler(), RandomForestClassifier(n_estimators=5))
    found = params.estimator_params({"model": forest, "pipe": pipe, "RandomForestClassifier":
                                     RandomForestClassifier}, ["model", "pipe",
                                                               "RandomForestClassifier"])
    assert found["model.n_estimators"] == "300" and found["model.max_depth"] == "8"
    assert found["pipe.randomforestclassifier.n_estimators"] == "5"
    assert found["pipe.randomforestclassifier"] == "RandomForestClassifier"
    assert all(len(v) <= params.MAX_TEXT for v in found.values())  # steps' repr is cut
    assert not any(k.startswith("RandomForestClassifier") for k in found)  # a class is not one


def column_pipeline() -> tuple[Any, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), ["a"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["b"]),
    ])
    return pre, Pipeline([("pre", pre), ("clf", LogisticRegression(C=0.5))])


def test_an_object_is_recorded_once_through_its_owner() -> None:
    pre, pipe = column_pipeline()
    found = params.estimator_params({"pre": pre, "pipe": pipe, "same": pipe},
                                    ["pre", "pipe", "same"])
    assert not any(k.startswith(("pre.", "same.")) for k in found)  # not again on its own
    assert found["pipe.pre.num.impute.strategy"] == "mean"
    assert found["pipe.clf.C"] == "0.5"
    assert found["pipe.steps"] == "pre, clf"  # named; each step's settings follow as keys
    assert found["pipe.pre.transformers"] == "num, cat"
    alone = params.estimator_params({"pre": pre}, ["pre"])  # used alone, it is its own
    assert alone["pre.num.impute.strategy"] == "mean"
    assert len(found) < 2 * len(alone)


def test_a_value_passed_to_an_estimator_by_name_is_shown_once() -> None:
    source = ("clf = GradientBoostingClassifier(learning_rate=learning_rate, "
              "random_state=seed, max_depth=3)")
    passed = params.passed_names(source)
    assert passed == {("learning_rate", "learning_rate"), ("random_state", "seed")}
    estimators = {"clf.learning_rate": "0.1", "clf.random_state": "0", "clf.max_depth": "3",
                  "clf.subsample": "1.0"}
    kept = params.shown_once(estimators, passed, {"learning_rate": "0.1", "seed": "0"})
    assert kept == {"clf.max_depth": "3", "clf.subsample": "1.0"}
    # Evidence is needed: a value that only happens to be equal stays.
    assert params.shown_once(estimators, passed, {"learning_rate": "0.2"}) == estimators


def test_run_params_say_where_each_came_from() -> None:
    found = params.run_params(
        read_before={"lr": "0.1", "epochs": "3", "acc": "0.5", "seed": "1"},
        namespace={"lr": 0.01, "epochs": 3},
        rebound={"lr"},
        injected={"epochs"},
        estimators={f"m.p{i}": str(i) for i in range(params.MAX_ESTIMATOR_PARAMS + 5)},
        skip={"acc"},
    )
    assert found.values["lr"] == "0.01" and found.values["epochs"] == "3"
    assert "acc" not in found.values and found.values["seed"] == "1"
    assert found.tags == {
        store.PARAMS_INJECTED_TAG: "epochs",
        store.PARAMS_EARLIER_TAG: "lr,seed",
        store.PARAMS_CHANGED_TAG: "lr",
        store.PARAMS_OMITTED_TAG: "5",
    }


# -- a real shell -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    return root


def run(ip: InteractiveShell, source: str) -> Any:
    with capture_output():
        result = ip.run_cell(source)
    assert result.error_in_exec is None, result.error_in_exec
    return result


def last_record(project: Path) -> RunRecord:
    spool = Spool(project.parent / "spool")
    return spool.load(spool.entries()[-1])


def test_values_from_earlier_cells_are_parameters(ip: InteractiveShell, project: Path) -> None:
    run(ip, "lr = 0.1\nepochs = 10\napi_token = 'ghp_' + 'a' * 36\nnote = 'x' * 10_000\n"
            "import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0]})\nbest_acc = 0.5")
    run(ip, "lr = 0.05")  # changed between the cell that set it and the tracked cell
    run(ip, "%%track fit\nepochs = epochs * 2\nscale = lr * 3\n"
            "loss = float(df['a'].sum()) / epochs\nbest_acc = 0.9\nsecret = api_token\n"
            "n = len(note)")
    record = last_record(project)
    assert record.params["lr"] == "0.05"  # the value the cell read
    assert record.params["epochs"] == "20"  # rebound in the cell: the value it ended with
    assert record.tags[store.PARAMS_CHANGED_TAG] == "epochs"
    assert set(record.tags[store.PARAMS_EARLIER_TAG].split(",")) >= {"lr", "epochs", "note"}
    assert record.params["api_token"] != "ghp_" + "a" * 36  # redacted, as everywhere
    assert "ghp_" + "a" * 36 not in str(record.params) + str(record.tags)
    assert len(record.params["note"]) == 10_000  # upload cuts it to MLflow's limit, marked
    assert "df" not in record.params  # a frame is a dataset
    assert [d.name for d in record.datasets if d.context == "input"] == ["df"]
    assert "best_acc" not in record.params  # read and assigned a metric: it is a metric
    assert {m.name for m in record.metrics} >= {"loss", "best_acc"}


def test_a_fitted_estimator_records_its_hyperparameters(
    ip: InteractiveShell, project: Path
) -> None:
    run(ip, "n_estimators = 7\nfrom sklearn.datasets import load_iris\n"
            "X, y = load_iris(return_X_y=True)")
    run(ip, "%%track train\nfrom sklearn.ensemble import RandomForestClassifier\n"
            "model = RandomForestClassifier(n_estimators=n_estimators, max_depth=3, "
            "random_state=0).fit(X, y)\naccuracy = model.score(X, y)")
    record = last_record(project)
    assert record.params["n_estimators"] == "7"
    assert "model.n_estimators" not in record.params  # passed by name: shown once
    assert record.params["model.max_depth"] == "3"
    assert "X" not in record.params and "y" not in record.params


def test_a_comparison_counts_each_change_once(ip: InteractiveShell, project: Path) -> None:
    from nbmlops.runs.diff import param_rows
    from nbmlops.runs.entities import RunSummary

    run(ip, "import pandas as pd\nfrom sklearn.datasets import load_iris\n"
            "X, y = load_iris(return_X_y=True, as_frame=True)\n"
            "X['kind'] = (X['sepal length (cm)'] > 5.8).map({True: 'big', False: 'small'})")
    cell = ("%%track fit\nfrom sklearn.compose import ColumnTransformer\n"
            "from sklearn.pipeline import Pipeline\n"
            "from sklearn.preprocessing import OneHotEncoder, StandardScaler\n"
            "from sklearn.ensemble import GradientBoostingClassifier\n"
            "pre = ColumnTransformer([('num', StandardScaler(), ['sepal width (cm)']),\n"
            "                         ('cat', OneHotEncoder(), ['kind'])])\n"
            "clf = GradientBoostingClassifier(learning_rate=learning_rate,\n"
            "                                 n_estimators=n_estimators, random_state=0)\n"
            "pipe = Pipeline([('pre', pre), ('clf', clf)]).fit(X, y)\n"
            "acc = pipe.score(X, y)")
    records = []
    for lr, n in (("0.1", "5"), ("0.3", "8")):
        run(ip, f"learning_rate = {lr}\nn_estimators = {n}")
        run(ip, cell)
        records.append(last_record(project))
    first = records[0].params
    assert first["learning_rate"] == "0.1" and first["pipe.clf.max_depth"] == "3"
    assert not any(k.startswith(("pre.", "clf.")) for k in first)  # through pipe only
    assert "pipe.clf.learning_rate" not in first and "pipe.clf.n_estimators" not in first
    runs = [RunSummary(str(i), "fit", "0", "FINISHED", None, None, params=r.params)
            for i, r in enumerate(records)]
    assert [row.name for row in param_rows(runs) if row.differs] == [
        "learning_rate", "n_estimators"]


def test_a_torch_module_records_its_class_and_parameter_count(
    ip: InteractiveShell, project: Path
) -> None:
    framework("torch")
    run(ip, "import torch\nhidden = 16")
    run(ip, "%%track train\nnet = torch.nn.Sequential(torch.nn.Linear(4, hidden), "
            "torch.nn.ReLU(), torch.nn.Linear(hidden, 1))\n"
            "loss = float(net(torch.ones(2, 4)).pow(2).mean())")
    record = last_record(project)
    assert record.params["net.class"] == "Sequential"
    assert record.params["net.parameters"] == str(4 * 16 + 16 + 16 + 1)
    assert record.params["hidden"] == "16"


def test_a_keras_model_keeps_its_layer_summary(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "torch")  # the backend CI has
    framework("torch")
    framework("keras")
    run(ip, "import keras\nunits = 8")
    run(ip, "%%track build\nmodel = keras.Sequential([keras.Input((4,)), "
            "keras.layers.Dense(units, activation='relu', name='hidden'), "
            "keras.layers.Dense(1, name='out')])")
    record = last_record(project)
    assert record.params["model.class"] == "Sequential"
    assert record.params["model.parameters"] == str(4 * 8 + 8 + 8 + 1)
    assert record.params["model.layers"] == "2"
    assert "model.trainable" not in record.params  # not scikit-learn's get_params
    path = store.model_summary_artifact("model")
    assert path in record.artifacts
    spool = Spool(project.parent / "spool")
    with spool.unpacked(spool.entries()[-1]) as folder:
        summary = (folder / path).read_text()
    assert "hidden (Dense)" in summary and "out (Dense)" in summary
    assert "Total params: 49" in summary


# -- papermill, in real kernels ---------------------------------------------------------------


@pytest.mark.kernel
def test_papermill_values_reach_the_run_and_its_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from nbmlops.cli import main as cli_main
    from nbmlops.jobs.run.output import name_runs
    from nbmlops.runs import query
    from nbmlops.runs.lineage import run_of_record
    from nbmlops.sync import worker

    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'forest'\n")
    notebook = root / "forest.ipynb"
    shutil.copy(NOTEBOOKS / "forest_parameters.ipynb", notebook)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    papermill = Path(sys.executable).parent / "papermill"
    for trees, depth in ((20, 2), (40, 6)):
        subprocess.run(
            [papermill, notebook, tmp_path / f"out-{trees}.ipynb", "-p", "n_estimators",
             str(trees), "-p", "max_depth", str(depth), "--cwd", root, "--log-level", "ERROR"],
            check=True,
        )
    # Saved before the upload, a plain papermill output names the record of each tracked cell.
    out = nbformat.read(tmp_path / "out-20.ipynb", as_version=4)
    [shown] = [o for c in out.cells for o in c.get("outputs", []) if "nbmlops" in o.metadata]
    record_id = shown.metadata["nbmlops"]["record_id"]
    assert f"record {record_id[:12]}" in shown.data["text/plain"]

    spool = Spool(tmp_path / "spool")
    report = worker.drain(spool, timeout=120)
    assert report.ok and report.uploaded == 2
    assert name_runs(tmp_path / "out-20.ipynb", spool) == (1, 0)
    named = nbformat.read(tmp_path / "out-20.ipynb", as_version=4)
    [shown] = [o for c in named.cells for o in c.get("outputs", []) if "nbmlops" in o.metadata]
    found = run_of_record(record_id[:12], uri)
    assert found is not None and shown.metadata["nbmlops"]["run_id"] == found.run_id
    assert f"synced: run {found.run_id[:8]}" in shown.data["text/plain"]
    assert cli_main(["lineage", record_id[:12], "--tracking-uri", uri]) == 0
    assert f"is run {found.run_id} train (FINISHED) in forest.ipynb" in capsys.readouterr().out

    page = query.search_runs(uri, "forest.ipynb", cell="train")
    runs = sorted(page.runs, key=lambda r: int(r.params["n_estimators"]))
    assert [(r.params["n_estimators"], r.params["max_depth"]) for r in runs] == [
        ("20", "2"), ("40", "6")]
    # Passed to the model by name: one param each, not again as model.n_estimators.
    assert not any(k in r.params for r in runs for k in (
        "model.n_estimators", "model.max_depth", "model.random_state"))
    assert runs[0].tags[store.PARAMS_INJECTED_TAG] == "max_depth,n_estimators"
    diff = query.diff_runs(uri, [runs[0].run_id, runs[1].run_id])
    changed = {p.name for p in diff.changed_params}
    assert changed == {"n_estimators", "max_depth"}  # two changes, counted once each


def test_a_tensor_is_read_detached_and_by_its_dtype() -> None:
    framework("torch")
    import torch

    loss = (torch.ones(3, requires_grad=True) * 2).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyTorch warns converting a tensor that needs grad
        assert capture.metric_value(loss) == 6.0
    assert capture.metric_value(torch.tensor(3)) == 3.0
    assert capture.metric_value(torch.tensor(True)) is None
    assert capture.metric_value(torch.ones(2)) is None


def test_a_tensor_metric_is_read_without_a_word_in_the_cells_output(
    ip: InteractiveShell, project: Path
) -> None:
    # Reading `loss_t` must not make PyTorch warn about converting a tensor that needs grad:
    # nothing nbmlops does prints into the user's output but its status line.
    framework("torch")
    run(ip, "import torch\nw = torch.ones(3, requires_grad=True)")
    with warnings.catch_warnings(record=True) as caught, capture_output() as out:
        warnings.simplefilter("always")
        result = ip.run_cell("%%track fit\nloss_t = (w * 2).sum()")
    assert result.error_in_exec is None
    assert [str(w.message) for w in caught] == []
    assert "Warning" not in out.stderr and "Warning" not in out.stdout
    assert {m.name: m.value for m in last_record(project).metrics} == {"loss_t": 6.0}
