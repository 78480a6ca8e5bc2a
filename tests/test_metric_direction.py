"""Which value of a metric is better, from the code that computed it when it says so: the
pure rule, the diff that reads what runs recorded, then a real IPython shell."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops import store
from nbmlops.runs import diff
from nbmlops.runs.entities import RunSummary
from nbmlops.sync.spool import Spool
from nbmlops.track import direction


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("score = mean_squared_error(y, p)", "min"),
        ("score = float(np.sqrt(metrics.mean_squared_error(y, p)))", "min"),
        ("result = log_loss(y, proba)", "min"),
        ("quality = mean_absolute_error(y, p)", "min"),
        ("loss = accuracy_score(y, p)", "max"),  # what computed it, not the name
        ("val = r2_score(y, p)", "max"),
        ("val = roc_auc_score(y, proba)", "max"),
        ("val = f1_score(y, p, average='macro')", "max"),
        ("error = cross_val_score(m, X, y, scoring='neg_mean_squared_error').mean()", "max"),
        ("error = -cross_val_score(m, X, y, scoring='neg_mean_squared_error').mean()", "min"),
        ("score = -mean_squared_error(y, p)", "max"),
        ("score = model.score(X, y)", "max"),
        ("score = float(np.mean(x))", None),  # the code says nothing: the name decides
        ("score = mean_squared_error(y, p)\nscore = 3", None),  # the last binding counts
    ],
)
def test_the_code_says_which_value_is_better(source: str, expected: str | None) -> None:
    name = source.rsplit("\n", 1)[-1].split(" = ")[0]
    assert direction.of_code(source).get(name) == expected


def test_recorded_direction_wins_over_the_name_and_loses_to_the_project() -> None:
    tags = {store.DIRECTION_TAG_PREFIX + "score": "min"}
    runs = [RunSummary("a", "fit", "0", "FINISHED", 1, 2, metrics={"score": 3.0}, tags=tags),
            RunSummary("b", "fit", "0", "FINISHED", 3, 4, metrics={"score": 2.0}, tags=tags)]
    row = diff.metric_rows(runs)[0]
    assert (row.direction, row.best) == ("min", [1])  # the lower error is better
    assert diff.metric_rows(runs, {"score": "max"})[0].direction == "max"  # configured wins
    plain = [RunSummary(r.run_id, "fit", "0", "FINISHED", 1, 2, metrics=r.metrics)
             for r in runs]
    assert diff.metric_rows(plain)[0].direction == "max"  # old runs: by name, as before


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return shell_project(tmp_path, monkeypatch, "train.ipynb")


def test_a_run_records_the_direction_its_code_gave(ip: InteractiveShell, project: Path) -> None:
    with capture_output():
        ip.run_cell("from sklearn.datasets import load_diabetes\n"
                    "X, y = load_diabetes(return_X_y=True)")
        result = ip.run_cell(
            "%%track fit\nfrom sklearn.linear_model import Ridge\n"
            "from sklearn.metrics import mean_squared_error, r2_score\n"
            "from sklearn.model_selection import cross_val_score\n"
            "model = Ridge(alpha=0.5).fit(X, y)\n"
            "score = mean_squared_error(y, model.predict(X))\n"
            "r2 = r2_score(y, model.predict(X))\n"
            "cv_score = cross_val_score(model, X, y, cv=3,\n"
            "                           scoring='neg_mean_absolute_error').mean()\n"
            "loss = float(len(y))")
    assert result.error_in_exec is None
    spool = Spool(project.parent / "spool")
    record = spool.load(spool.entries()[-1])
    said = {k[len(store.DIRECTION_TAG_PREFIX):]: v for k, v in record.tags.items()
            if k.startswith(store.DIRECTION_TAG_PREFIX)}
    assert said == {"score": "min", "r2": "max", "cv_score": "max"}  # loss: its name says
