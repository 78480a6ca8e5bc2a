"""A project is a folder people move, copy and clone: its runs, artifacts and registered
models go with it, and new runs land in the new place, never in the old one."""

from __future__ import annotations

import json
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


# -- a job's cron line follows the job ---------------------------------------------------------

NOTEBOOKS = Path(__file__).parent / "notebooks"


def nbmlops(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("nbmlops")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def lines_for(*folders: Path) -> dict[Path, str]:
    from nbmlops.jobs.targets.cron import cron_entries

    return {e.folder: e.schedule for e in cron_entries() if e.folder in folders}


def test_a_moved_jobs_cron_line_is_listed_replaced_and_removed(tmp_path: Path) -> None:
    if not shutil.which("crontab"):
        pytest.skip("Debian's crontab (apt-get install cron)")
    from nbmlops.jobs.export.folder import export_job
    from nbmlops.jobs.spec import load
    from nbmlops.jobs.targets.cron import CronTarget

    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", project / "fit.ipynb")
    old = export_job(project / "fit.ipynb", cron="0 3 * * 1").folder
    cron = CronTarget()
    cron.install(load(old), old)
    moved = tmp_path / "proj_moved"
    new = moved / old.relative_to(project)
    copy = tmp_path / "proj_copy"
    copied = copy / old.relative_to(project)
    try:
        shutil.move(project, moved)
        # `jobs` lists the line with the job where it now is, saying it runs nothing.
        listed = nbmlops(moved, "jobs")
        assert listed.returncode == 0, listed.stderr
        (row,) = [line for line in listed.stdout.splitlines() if str(old) in line]
        assert row.startswith("fit ") and "its cron line runs nothing" in row
        assert "nbmlops schedule jobs/fit --install" in row
        rows = json.loads(nbmlops(moved, "jobs", "--json").stdout)
        (job,) = [r for r in rows if str(old) in (r.get("moved_from") or [r["folder"]])]
        assert job["moved_from"] == [str(old)] and not job["installed"]
        assert job["folder"] == "jobs/fit" and job["name"] == "fit"
        # `%mlops jobs` and the sidebar's overview say it too.
        from nbmlops.jobs.overview import describe_jobs, overviews

        (seen,) = overviews([new])
        assert seen.left_in_cron == [old] and not seen.installed
        assert "before the job moved, runs nothing" in describe_jobs([seen], moved)
        # `schedule --remove` from the new place removes the old line.
        removed = nbmlops(moved, "schedule", str(new), "--remove")
        assert removed.returncode == 0, removed.stderr
        assert f"removed 1 crontab entry for {new} (the line made for {old}" in removed.stdout
        assert lines_for(old, new) == {}

        # Installing again, then moving back replaces the line rather than adding one.
        cron.install(load(new), new)
        shutil.move(moved, project)
        installed = nbmlops(project, "schedule", str(old), "--install")
        assert installed.returncode == 0, installed.stderr
        assert f"it replaces the line made for {new} before the job moved" in installed.stdout
        assert lines_for(old, new) == {old: "0 3 * * 1"}

        # A copy of the project is another job: its install leaves the original's line, and
        # its removal removes its own only.
        shutil.copytree(project, copy)
        cron.install(load(copied), copied)
        assert lines_for(old, copied) == {old: "0 3 * * 1", copied: "0 3 * * 1"}
        assert "removed 1 crontab entry" in cron.remove(load(copied), copied)
        assert lines_for(old, copied) == {old: "0 3 * * 1"}
        assert "removed 1 crontab entry" in cron.remove(load(old), old)
        assert lines_for(old, new, copied) == {}
    finally:
        drop_lines(old, new, copied)


def drop_lines(*folders: Path) -> None:
    """Take this test's lines out of the crontab whatever happened to their folders."""
    from crontab import CronTab

    from nbmlops.jobs.targets.cron import CRON_MARKER

    tab = CronTab(user=True)
    if sum(tab.remove_all(comment=f"{CRON_MARKER}{folder}") for folder in folders):
        tab.write()


def test_only_a_line_whose_folder_lost_its_job_and_ends_like_it_is_the_moved_jobs(
    tmp_path: Path,
) -> None:
    from nbmlops.jobs.targets.cron import moved_here

    now = tmp_path / "b" / "proj" / "nb" / "jobs" / "weekly"
    now.mkdir(parents=True)
    (tmp_path / "b" / "proj" / "pyproject.toml").write_text("")
    (now / "job.yaml").write_text("")
    gone = Path("/gone/old_proj/nb/jobs/weekly")
    assert moved_here(gone, now)
    assert not moved_here(now, now)  # its own line
    assert not moved_here(Path("/gone/old_proj/jobs/weekly"), now)  # another place in a project
    assert not moved_here(Path("/gone/old_proj/nb/jobs/daily"), now)  # another job
    elsewhere = tmp_path / "a" / "proj" / "nb" / "jobs" / "weekly"
    elsewhere.mkdir(parents=True)
    (elsewhere / "job.yaml").write_text("")
    assert not moved_here(elsewhere, now)  # a copy's line: its folder holds its job
