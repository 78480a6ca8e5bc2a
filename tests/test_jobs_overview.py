"""``%mlops jobs`` and :mod:`nbmlops.jobs.overview`: the jobs exported from a notebook, before
and after a real run of one (papermill, a real kernel, a real sqlite store)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project

from nbmlops.jobs import overview
from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.run.job import run_job

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = shell_project(tmp_path, monkeypatch, "check.ipynb")
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", root / "check.ipynb")
    return root


def mlops_jobs(ip: Any, capsys: pytest.CaptureFixture[str]) -> str:
    ip.run_line_magic("mlops", "jobs")
    return capsys.readouterr().out


@pytest.mark.kernel
def test_the_jobs_of_a_notebook_before_and_after_a_run(
    ip: Any, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "No jobs exported from this notebook yet" in mlops_jobs(ip, capsys)
    folder = export_job(project / "check.ipynb", name="nightly", cron="30 2 * * *").folder
    # A job of another notebook beside it is not this notebook's.
    shutil.copy(project / "check.ipynb", project / "other.ipynb")
    export_job(project / "other.ipynb", name="other")

    assert overview.job_folders(project / "check.ipynb") == [folder]
    text = mlops_jobs(ip, capsys)
    assert "nightly  jobs/nightly/" in text and "other" not in text
    assert "30 2 * * * (At 02:30 AM, UTC)" in text
    assert "not installed (nbmlops schedule jobs/nightly --install)" in text
    assert "never run: nbmlops run jobs/nightly" in text

    assert run_job(folder, {}, say=lambda _: None).status == "FINISHED"
    job = overview.overview(folder)
    [run] = job.runs
    assert run.status == "FINISHED" and run.duration_s and run.duration_s > 0
    assert run.output and (folder / run.output).is_file()
    assert f"FINISHED  {run.run_id[:8]}" in mlops_jobs(ip, capsys)


def test_an_unreadable_store_is_said_not_raised(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = export_job(project / "check.ipynb", name="nightly").folder
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")  # nothing listens
    job = overview.overview(folder)
    assert job.runs == [] and job.runs_error and "127.0.0.1:9" in job.runs_error


def test_nbmlops_jobs_lists_jobs_not_installed_yet(project: Path) -> None:
    import json
    import subprocess
    import sys

    export_job(project / "check.ipynb", name="nightly", cron="30 2 * * *")
    done = subprocess.run([sys.executable, "-m", "nbmlops.cli", "jobs"], capture_output=True,
                          text=True, cwd=project, check=True)
    assert ("nightly              30 2 * * *      not installed: nbmlops schedule jobs/nightly "
            "--install  (or nbmlops run jobs/nightly)  last never run") in done.stdout
    rows = json.loads(subprocess.run([sys.executable, "-m", "nbmlops.cli", "jobs", "--json"],
                                     capture_output=True, text=True, cwd=project,
                                     check=True).stdout)
    assert {"folder": "jobs/nightly", "name": "nightly", "schedule": "30 2 * * *",
            "target": None, "installed": False, "last_run": None} in rows


def test_nbmlops_jobs_shows_the_last_run_of_a_job_cron_does_not_run(
    project: Path, migrated_db: Path
) -> None:
    import json
    import subprocess
    import sys

    from nbmlops import config
    from nbmlops.jobs.run.job import ParentRun, RunResult
    from nbmlops.jobs.spec import load

    shutil.copy(migrated_db, project / "mlflow.db")
    folder = export_job(project / "check.ipynb", name="nightly", cron="30 2 * * *").folder
    # The job's run as `nbmlops run` records it, by hand: cron never ran it.
    where = config.destination(project / "check.ipynb")
    parent = ParentRun(where.tracking_uri, where.experiment, lambda _: None)
    assert parent.start(load(folder), "jobs/nightly/check.ipynb", {})
    parent.end(RunResult("FINISHED", {}, duration_s=1.5), upload_output=False)

    done = subprocess.run([sys.executable, "-m", "nbmlops.cli", "jobs"], capture_output=True,
                          text=True, cwd=project, check=True)
    [line] = [ln for ln in done.stdout.splitlines() if ln.startswith("nightly")]
    assert "not installed" in line and "last FINISHED" in line
    rows = json.loads(subprocess.run([sys.executable, "-m", "nbmlops.cli", "jobs", "--json"],
                                     capture_output=True, text=True, cwd=project,
                                     check=True).stdout)
    [row] = [r for r in rows if r["name"] == "nightly"]
    assert row["last_run"]["status"] == "FINISHED" and row["last_run"]["run_id"] == parent.run_id
