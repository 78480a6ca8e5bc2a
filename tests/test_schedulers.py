"""Schedules in real schedulers: a real cron daemon fires an installed job; a real Airflow
imports the generated DAG.

Both need parts outside the venv (Debian's ``cron`` run as root; an Airflow virtual
environment made by ``.ci/airflow-venv``). Missing parts skip the test on a workstation and
fail it in CI (``CI=true``), where ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient

from nbmlops.jobs.folder import export_job

NOTEBOOKS = Path(__file__).parent / "notebooks"
BIN = Path(sys.executable).parent
AIRFLOW_VENV = Path(os.environ.get("NBMLOPS_AIRFLOW_VENV",
                                   Path.home() / ".cache" / "nbmlops-airflow-venv"))


def missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} is not available")


def nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def cron_daemon() -> Iterator[None]:
    """A running cron daemon: started here (and stopped by its pid) unless one runs."""
    cron = shutil.which("cron") or ("/usr/sbin/cron" if Path("/usr/sbin/cron").exists() else None)
    if cron is None or not shutil.which("crontab"):
        missing("Debian's cron (apt-get install cron)")
    if os.geteuid() != 0:
        missing("root, to start the cron daemon")
    pidfile = Path("/var/run/crond.pid")
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().split()[0]), 0)
        yield  # a daemon runs already: use it, and leave it running
        return
    daemon = subprocess.Popen([str(cron), "-f"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()


@pytest.mark.cron
@pytest.mark.timeout(240)
def test_cron_runs_the_installed_job(
    cron_daemon: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'cron'\n")
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", project / "check.ipynb")
    # What `nbmlops schedule` writes into the cron line comes from this environment.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    folder = export_job(project / "check.ipynb", cron="* * * * *").folder

    installed = nbmlops("schedule", str(folder), "--install")
    assert installed.returncode == 0, installed.stderr
    assert "next run" in installed.stdout
    try:
        [row] = [r for r in json.loads(nbmlops("jobs", "--json").stdout)
                 if r["folder"] == str(folder)]
        assert (row["name"], row["schedule"], row["last_run"]) == ("check", "* * * * *", None)

        client = MlflowClient(sqlite_uri)
        deadline = time.monotonic() + 150  # the next minute, plus a kernel's start
        runs: list = []  # type: ignore[type-arg]
        while not runs:
            assert time.monotonic() < deadline, (
                "no run from cron; log: " + _read(folder / "logs" / "cron.log"))
            time.sleep(2)
            ids = [e.experiment_id for e in client.search_experiments()]
            runs = client.search_runs(ids, "tags.`nbmlops.job` = 'check'") if ids else []
        while runs[0].info.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(1)
            runs = [client.get_run(runs[0].info.run_id)]
        assert runs[0].info.status == "FINISHED", _read(folder / "logs" / "cron.log")
        [row] = [r for r in json.loads(nbmlops("jobs", "--json").stdout)
                 if r["folder"] == str(folder)]
        assert row["last_run"]["status"] == "FINISHED"
    finally:
        removed = nbmlops("schedule", str(folder), "--remove")
    assert removed.returncode == 0 and "removed 1 crontab entry" in removed.stdout
    assert str(folder) not in nbmlops("jobs").stdout


def _read(path: Path) -> str:
    try:
        return path.read_text()[-2000:]
    except OSError:
        return "(none)"


@pytest.mark.airflow
def test_airflow_imports_the_dag(tmp_path: Path) -> None:
    python = AIRFLOW_VENV / "bin" / "python"
    if not python.exists():
        missing(f"an Airflow virtual environment at {AIRFLOW_VENV} (bash .ci/airflow-venv)")
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", tmp_path / "fit.ipynb")
    folder = export_job(tmp_path / "fit.ipynb", cron="0 3 * * 1", targets=["airflow"]).folder
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(folder / "airflow_dag.py", dags / "nbmlops_fit.py")
    probe = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "dag = bag.dags.get('nbmlops_fit')\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},\n"
        "  'tasks': [t.task_id for t in dag.tasks] if dag else None,\n"
        "  'retries': dag.default_args.get('retries') if dag else None,\n"
        "  'params': sorted(dag.params.keys()) if dag else None}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([str(python), "-c", probe, str(dags)], capture_output=True, text=True,
                          env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["tasks"] == ["run"]
    assert report["params"] == ["alpha", "label", "layers", "n_points"]
