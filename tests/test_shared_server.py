"""The whole product against a team's tracking server: ``mlflow server`` on a real PostgreSQL
(Debian's, started by the test), artifacts served from a local folder
(``--artifacts-destination``), and the same behind MLflow's basic-auth app.

Tracked cells in a real IPython shell, an outage and ``nbmlops sync``, the compare panel, a job
run, a model registered and promoted; with authentication, credentials that come from
``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` only, and a wrong password that
leaves the records waiting. The sidebar's API against the same server is in
``tests/sidebar_server/test_shared_server_api.py``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import shell_project, started
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient
from mlflow_server import BasicAuth, MlflowServer, PostgresCluster
from test_jobs import NOTEBOOKS, job_of, nbmlops
from test_models import LOGREG, SETUP, STUMP
from test_models import track as track_model
from test_panel import compare, table
from test_sync import log_text, wait_until

from nbmlops import store
from nbmlops.cli import main
from nbmlops.models.register import _tracking_uri as tracking_uri
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool

pytestmark = [pytest.mark.server, pytest.mark.postgres]


@pytest.fixture
def project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
    postgres_server: MlflowServer,
) -> Path:
    """A project whose runs go to the team's server; the notebook is named after the test,
    so tests sharing the server have experiments of their own."""
    root = shell_project(tmp_path, monkeypatch, f"{request.node.name}.ipynb")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", postgres_server.url)
    return root


def spool_of(project: Path) -> Spool:
    return Spool(project.parent / "spool")


def cell(ip: InteractiveShell, source: str) -> None:
    with capture_output() as out:
        result = ip.run_cell(source)
    assert result.success, out.stdout + out.stderr


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out + err


def runs_of(url: str, experiment: str) -> list[Any]:
    client = MlflowClient(url)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r} on {url}"
    return list(client.search_runs([found.experiment_id], order_by=["attributes.start_time"]))


def test_cells_wait_out_an_outage_then_sync_exactly_once(
    ip: InteractiveShell, project: Path, postgres_server: MlflowServer,
    capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest,
) -> None:
    experiment = f"{request.node.name}.ipynb"
    cell(ip, "%%track before\nlr = 0.1\nacc = 0.71")
    assert cli(capsys, "sync")[0] == 0

    postgres_server.cut()
    try:
        for i in (1, 2):
            cell(ip, f"%%track during-{i}\nlr = 0.{i + 1}\nacc = 0.{i + 7}")
        status, out = cli(capsys, "sync", "--timeout", "20")
        assert status == 1 and "0 uploaded, 0 failed, 2 waiting" in out
        assert len(spool_of(project).entries()) == 2
        assert "pending:      2" in cli(capsys, "status")[1]
    finally:
        postgres_server.restore()

    status, out = cli(capsys, "sync")
    assert status == 0 and "2 uploaded, 0 failed, 0 waiting" in out
    # nothing left to send twice (the shell may say meanwhile that its cells synced)
    assert "0 uploaded, 0 failed, 0 waiting" in cli(capsys, "sync")[1]
    runs = runs_of(postgres_server.url, experiment)
    assert [r.info.run_name for r in runs] == ["before", "during-1", "during-2"]
    assert len({r.data.tags[store.RECORD_ID_TAG] for r in runs}) == 3
    assert [r.data.params["lr"] for r in runs] == ["0.1", "0.2", "0.3"]
    assert [r.data.metrics["acc"] for r in runs] == [0.71, 0.8, 0.9]
    # Artifacts went through the server into its --artifacts-destination folder.
    assert all(r.info.artifact_uri.startswith("mlflow-artifacts:/") for r in runs)
    code = [p for p in postgres_server.artifacts.rglob("code/cell.py")
            if runs[1].info.run_id in p.parts]
    assert [p.read_text() for p in code] == ["lr = 0.2\nacc = 0.8"]


def test_the_compare_panel_reads_the_server(
    ip: InteractiveShell, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for lr, acc in ((0.1, 0.8), (0.05, 0.9), (0.2, 0.6)):
        cell(ip, f"%%track train\nlr = {lr}\nacc = {acc}")
    assert cli(capsys, "sync")[0] == 0
    with capture_output():
        panel = compare(ip, "--metric acc")
    shown = table(panel)
    assert shown["metrics.acc"] == ["0.9", "0.8", "0.6"]  # PostgreSQL orders, best first
    assert shown["params.lr"] == ["0.05", "0.1", "0.2"]
    panel.header_buttons["metrics.acc"].click()
    assert table(panel)["metrics.acc"] == ["0.6", "0.8", "0.9"]


def test_a_job_runs_into_the_server(
    project: Path, postgres_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBMLOPS_NOTEBOOK")
    folder = job_of(project, "job_inferred.ipynb")
    done = nbmlops("run", str(folder), "-p", "alpha", "0.5", "-p", "n_points", "10")
    assert done.returncode == 0, done.stderr
    assert nbmlops("sync").returncode == 0
    runs = {r.info.run_name.split()[0]: r for r in runs_of(postgres_server.url,
                                                           "job_inferred.ipynb")}
    parent, nested = runs["job_inferred"], runs["fit"]
    assert parent.data.tags[store.JOB_TAG] == "job_inferred" and parent.info.status == "FINISHED"
    assert nested.data.tags[store.PARENT_RUN_TAG] == parent.info.run_id
    assert nested.data.metrics["loss"] == pytest.approx(0.5 * 4.5)
    [output] = MlflowClient(postgres_server.url).list_artifacts(parent.info.run_id, "output")
    assert list(postgres_server.artifacts.rglob(Path(output.path).name))


def test_a_model_is_registered_and_promoted_on_the_server(
    ip: InteractiveShell, project: Path, postgres_server: MlflowServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cell(ip, SETUP)
    track_model(ip, "stump --model clf=team-cancer", STUMP)
    track_model(ip, "logreg --model clf=team-cancer", LOGREG)
    assert cli(capsys, "sync")[0] == 0
    status, out = cli(capsys, "promote", "team-cancer", "--version", "1")
    assert status == 0 and "team-cancer v1 is now champion (the first)" in out
    status, out = cli(capsys, "promote", "team-cancer", "--gate", "auc >= champion")
    assert status == 0 and "team-cancer v2 is now champion (was v1)" in out
    client = MlflowClient(postgres_server.url)
    assert client.get_model_version_by_alias("team-cancer", "champion").version == "2"

    import mlflow

    with tracking_uri(postgres_server.url):  # served through the server's artifact proxy
        served = mlflow.pyfunc.load_model("models:/team-cancer@champion")
    rows = ip.user_ns["X_test"].head(20)
    assert list(served.predict(rows)) == list(ip.user_ns["clf"].predict(rows))


# --- basic authentication --------------------------------------------------------------------

ADMIN_PASSWORD = "admin-pw-" + os.urandom(6).hex()
PASSWORD = "alice-pw-" + os.urandom(6).hex()  # what must appear nowhere nbmlops writes


@pytest.fixture(scope="module")
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, postgres: PostgresCluster
) -> Iterator[MlflowServer]:
    """The team's server behind MLflow's basic-auth app (users in a database of their own),
    with a user ``alice`` who may create experiments and models."""
    auth = BasicAuth(postgres.create_database("mlflow_users"), "admin", ADMIN_PASSWORD)
    server = MlflowServer(tmp_path_factory.mktemp("auth-server"),
                          backend_store_uri=postgres.create_database("mlflow_secure"), auth=auth)
    started(server, "an mlflow server with basic auth")
    from mlflow.server import get_app_client

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        mp.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
        get_app_client("basic-auth", tracking_uri=server.url).create_user("alice", PASSWORD)
    try:
        yield server
    finally:
        server.close()


def test_credentials_come_from_the_environment_and_are_written_nowhere(
    ip: InteractiveShell, project: Path, auth_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "not-" + PASSWORD)
    spool = spool_of(project)
    cell(ip, "%%track train\nlr = 0.1\nacc = 0.75")

    # A wrong password: one clear line, and the record waits (not failed, not lost).
    status, out = cli(capsys, "sync", "--timeout", "20")
    refused = (f"the tracking server at {auth_server.url} refused the credentials of user "
               "'alice' (HTTP 401): check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD")
    assert status == 1 and refused in out
    status, out = cli(capsys, "status")
    assert [line for line in out.splitlines() if "HTTP 401" in line] == [
        f"last error:   {refused} (failing now)"]
    assert "pending:      1" in out and "failed:       0" in out
    assert len(spool.entries()) == 1 and not spool.failed_entries()

    # The sync process a cell starts meets the same refusal and leaves: retrying with the
    # credentials it was started with cannot help, and a later sync must use fixed ones.
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "1")
    cell(ip, "%%track train\nlr = 0.2\nacc = 0.85")
    wait_until(lambda: "were refused" in log_text(spool) and not worker.is_running(spool), 60,
               "the sync process to give up on the refused credentials")
    assert len(spool.entries()) == 2 and not spool.failed_entries()

    # The right password: a later sync uploads them, and a job runs with it too.
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    status, out = cli(capsys, "sync")
    assert status == 0 and "2 uploaded, 0 failed, 0 waiting" in out, out
    runs = runs_of(auth_server.url, f"{request.node.name}.ipynb")
    assert [r.data.params["lr"] for r in runs] == ["0.1", "0.2"]
    monkeypatch.delenv("NBMLOPS_NOTEBOOK")
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", project)
    exported = nbmlops("export", str(project / "job_inferred.ipynb"), "--schedule", "0 3 * * 1",
                       "--target", "cron", "--target", "airflow", "--target", "kubernetes",
                       "--target", "github")
    assert exported.returncode == 0, exported.stderr
    folder = project / "jobs" / "job_inferred"
    done = nbmlops("run", str(folder), "-p", "alpha", "0.5")
    assert done.returncode == 0, done.stderr
    assert nbmlops("sync").returncode == 0
    names = {r.info.run_name.split()[0] for r in runs_of(auth_server.url, "job_inferred.ipynb")}
    assert names == {"job_inferred", "fit"}

    # Nothing nbmlops wrote holds the password: spool (records, receipts, state, log), the
    # job folder (job.yaml, schedule files, output notebooks), the runs in the server.
    written = [p for p in [*spool.root.rglob("*"), *project.rglob("*")] if p.is_file()]
    assert any(p.name == "job.yaml" for p in written) and any(p.suffix == ".py" for p in written)
    leaks = [p for p in written if PASSWORD.encode() in p.read_bytes()]
    assert leaks == []
    assert all(PASSWORD not in str(r.data) for r in runs)
    assert not [p for p in auth_server.artifacts.rglob("*")
                if p.is_file() and PASSWORD.encode() in p.read_bytes()]


def test_no_credentials_at_all_says_which_variables_to_set(
    ip: InteractiveShell, project: Path, auth_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server.url)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    cell(ip, "%%track train\nlr = 0.1")
    status, out = cli(capsys, "sync", "--timeout", "20")
    assert status == 1
    assert (f"the tracking server at {auth_server.url} asks for credentials (HTTP 401): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD") in out
    assert len(spool_of(project).entries()) == 1


def test_a_user_without_the_permission_is_told_so(
    ip: InteractiveShell, project: Path, auth_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    with pytest.MonkeyPatch.context() as admin:  # the admin's experiment: alice may only read
        admin.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        admin.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)
        MlflowClient(auth_server.url).create_experiment(f"{request.node.name}.ipynb")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", auth_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    cell(ip, "%%track train\nlr = 0.1")
    status, out = cli(capsys, "sync", "--timeout", "20")
    assert status == 1
    assert (f"the tracking server at {auth_server.url} denied user 'alice' a permission "
            "(HTTP 403)") in out
    assert len(spool_of(project).entries()) == 1
