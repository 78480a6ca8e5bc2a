"""A project is a folder people move, copy and clone: its runs, artifacts and registered
models go with it, and new runs land in the new place, never in the old one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient
from test_models import SETUP, STUMP, sync, track

from nbmlops.runs import query
from nbmlops.sync import artifact_scheme

LOAD_CHAMPION = """\
import mlflow
from sklearn.datasets import load_breast_cancer
X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
model = mlflow.pyfunc.load_model("models:/cancer@champion")
print("predicted", len(model.predict(X.head(3))))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    shutil.copy(migrated_db, root / "mlflow.db")
    return root


def work_in(root: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Open the project at ``root`` as its notebook's kernel would; its store's URI."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(root / "train.ipynb"))
    return f"sqlite:///{root / 'mlflow.db'}"


def test_a_moved_and_a_copied_project_keep_runs_artifacts_and_models(
    ip: InteractiveShell, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with capture_output():
        assert ip.run_cell(SETUP).success
    track(ip, "stump --model clf=cancer", STUMP)
    (first,) = sync(project)
    MlflowClient(f"sqlite:///{project / 'mlflow.db'}").set_registered_model_alias(
        "cancer", "champion", "1")

    moved = tmp_path / "elsewhere" / "project_moved"
    moved.parent.mkdir()
    shutil.move(project, moved)
    copy = tmp_path / "copy"
    shutil.copytree(moved, copy)
    for root in (moved, copy):
        uri = work_in(root, monkeypatch)
        # The sidebar's run details: the code, the artifacts.
        details = query.get_run(uri, first["run_id"], artifacts=True)
        assert details.code is not None and "DecisionTreeClassifier" in details.code
        assert "code/cell.py" in details.artifacts
        # A job's kernel loads the champion with plain MLflow (`nbmlops run` hands it the
        # store's URI).
        loaded = subprocess.run(
            [sys.executable, "-c", LOAD_CHAMPION], cwd=root, capture_output=True, text=True,
            env={**os.environ, "MLFLOW_TRACKING_URI": uri}, timeout=300, check=False)
        assert loaded.returncode == 0 and "predicted 3" in loaded.stdout, loaded.stderr[-2000:]
        # A new tracked run, with a model, lands in the project's new place.
        track(ip, "again --model clf=cancer", STUMP)
        (again,) = sync(tmp_path / "project")  # the helper finds the spool beside it
        client = MlflowClient(uri)
        run = client.get_run(again["run_id"])
        folder = artifact_scheme.resolve(run.info.artifact_uri, uri)
        assert folder.is_relative_to(root / "mlruns")
        assert (folder / "code" / "cell.py").is_file()
        version = client.get_model_version("cancer", again["models"][0]["version"])
        assert version.run_id == again["run_id"]
        assert not project.exists(), "the old folder was made again"
    # The two folders went separate ways: each new run's files are in its own folder only.
    assert len(list((moved / "mlruns").rglob("cell.py"))) == 2
    assert len(list((copy / "mlruns").rglob("cell.py"))) == 2


def test_locations_are_relative_to_the_store_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = f"sqlite:///{tmp_path / 'p' / 'mlflow.db'}"
    (tmp_path / "p").mkdir()
    here = artifact_scheme.location("mlruns/train.ipynb/abc/artifacts")
    assert here == "nbmlops-store:mlruns/train.ipynb/abc/artifacts"
    assert artifact_scheme.resolve(here, uri) == tmp_path / "p/mlruns/train.ipynb/abc/artifacts"
    with pytest.raises(ValueError, match="leaves the store's folder"):
        artifact_scheme.resolve("nbmlops-store:mlruns/../../etc", uri)
    with pytest.raises(ValueError, match="is not one"):
        artifact_scheme.resolve(here, "http://127.0.0.1:5000")
    # An MLflow server's worker asks without a tracking URI: its store is in MLflow's variable.
    monkeypatch.setenv("_MLFLOW_SERVER_FILE_STORE", uri)
    assert artifact_scheme.resolve(here, None) == tmp_path / "p/mlruns/train.ipynb/abc/artifacts"
    # MLflow knows the scheme (the entry point in pyproject.toml), so nbmlops writes it.
    assert artifact_scheme.available()
