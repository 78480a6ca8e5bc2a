"""``nbmlops run``: exported notebooks executed in a real kernel, runs in a real MLflow store."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import nbformat
import psutil
import pytest
import yaml
from mlflow import MlflowClient
from mlflow_server import free_port

from nbmlops.jobs.export.folder import export_job
from nbmlops.jobs.run.job import LOCK_FILE, Stopped, signals_held
from nbmlops.sync.spool import Spool

NOTEBOOKS = Path(__file__).parent / "notebooks"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'jobs'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")  # `nbmlops sync` uploads, in the test's time
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    monkeypatch.chdir(root)
    return root


def job_of(project: Path, name: str, **settings: object) -> Path:
    shutil.copy(NOTEBOOKS / name, project / name)
    folder = export_job(project / name).folder
    if settings:
        data = yaml.safe_load((folder / "job.yaml").read_text())
        data.update(settings)
        (folder / "job.yaml").write_text(yaml.safe_dump(data))
    return folder


def nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], capture_output=True, text=True,
                          timeout=240, check=False)


def test_run_records_parent_and_nested_runs(project: Path, sqlite_uri: str) -> None:
    folder = job_of(project, "job_inferred.ipynb")
    done = nbmlops("run", str(folder), "-p", "alpha", "0.25", "-p", "n_points", "10")
    assert done.returncode == 0, done.stderr
    assert "FINISHED" in done.stdout
    assert nbmlops("sync").returncode == 0

    client = MlflowClient(sqlite_uri)
    # The job's runs are in the experiment of the notebook it was exported from.
    experiment = client.get_experiment_by_name("job_inferred.ipynb")
    assert experiment is not None
    runs = {r.info.run_name.split()[0]: r for r in client.search_runs([experiment.experiment_id])}
    parent, nested = runs["job_inferred"], runs["fit"]
    assert parent.data.tags["nbmlops.job"] == "job_inferred"
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"n_points": "10", "label": "demo", "alpha": "0.25",
                                  "layers": "[8, 4]"}
    assert "duration_s" in parent.data.metrics
    assert nested.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert nested.data.params["alpha"] == "0.25"  # the injected value, read by the cell
    assert nested.data.params["n_points"] == "10"  # injected, read only by an untracked cell
    assert nested.data.metrics["loss"] == pytest.approx(0.25 * 4.5)
    [artifact] = client.list_artifacts(parent.info.run_id, "output")
    assert artifact.path.startswith("output/job_inferred-") and artifact.path.endswith(".ipynb")
    [kept] = (folder / "runs").iterdir()
    assert kept.name == Path(artifact.path).name
    # `nbmlops run` waited for its cells to upload: the output notebook names their runs.
    [line] = status_lines(kept)
    assert line.metadata["nbmlops"]["run_id"] == nested.info.run_id
    assert f"synced: run {nested.info.run_id[:8]}" in line.data["text/plain"]


def test_run_uploads_its_cells_itself_and_the_kernel_starts_no_sync_process(
    project: Path, sqlite_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NBMLOPS_AUTOSYNC")  # a tracked cell may start a sync process
    folder = job_of(project, "job_inferred.ipynb")
    done = nbmlops("run", str(folder), "-p", "alpha", "0.5")
    assert done.returncode == 0, done.stderr
    spool = Spool(tmp_path / "spool")
    assert not spool.entries()
    # `nbmlops run` served the spool while the notebook ran: no sync process ever wrote its
    # pid (it would have imported mlflow and opened the store a second time).
    state = spool.state()
    assert state["uploaded_total"] == 1 and "pid" not in state
    assert " -> run " in spool.log_file.read_text()
    [nested] = MlflowClient(sqlite_uri).search_runs(
        [e.experiment_id for e in MlflowClient(sqlite_uri).search_experiments()],
        filter_string="tags.`mlflow.runName` LIKE 'fit%'")
    assert nested.data.params["alpha"] == "0.5"


def status_lines(notebook: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(notebook, as_version=4)
    return [o for c in nb.cells for o in c.get("outputs", []) if "nbmlops" in o.get("metadata", {})]


def test_secret_job_parameters_are_stored_nowhere(
    project: Path, sqlite_uri: str, tmp_path: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell('api_token = ""\ndb_password = ""\nalpha = 0.5')
    params.metadata["tags"] = ["parameters"]
    fit = nbformat.v4.new_code_cell("%%track fit\nloss = alpha * len(api_token + db_password)")
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"), params, fit]
    nbformat.write(nb, project / "secret.ipynb")
    folder = export_job(project / "secret.ipynb").folder
    token, password = "ghp_" + "Zq3" * 12, "hunter2-is-not-a-password"
    done = nbmlops("run", str(folder), "-p", "api_token", token, "-p", "db_password", password)
    assert done.returncode == 0, done.stderr

    client = MlflowClient(sqlite_uri)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert {r.info.run_name.split()[0] for r in runs} == {"secret", "fit"}
    assert all(r.data.params["api_token"] == "<redacted>" for r in runs)
    # Not in the store, its artifacts (the output notebook among them), the spool, the folder.
    db = Path(sqlite_uri.removeprefix("sqlite:///"))
    places = [db, *db.parent.rglob("*"), *(tmp_path / "spool").rglob("*"), *folder.rglob("*")]
    for path in (p for p in places if p.is_file()):
        data = path.read_bytes()
        assert token.encode() not in data and password.encode() not in data, path
    [kept] = (folder / "runs").iterdir()
    assert "<redacted>" in kept.read_text()


def test_exported_notebook_runs_with_plain_papermill(project: Path, tmp_path: Path) -> None:
    folder = job_of(project, "job_inferred.ipynb")
    out = tmp_path / "out.ipynb"
    subprocess.run(
        [str(BIN / "papermill"), str(folder / "job_inferred.ipynb"), str(out), "-p", "alpha",
         "2.0", "-p", "label", "plain", "--cwd", str(project), "--log-level", "WARNING"],
        check=True,
    )
    nb = nbformat.read(str(out), as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert '"label": "plain"' in printed and '"loss": 19.0' in printed


def test_failure_is_one_readable_block(project: Path, sqlite_uri: str) -> None:
    folder = job_of(project, "job_parameters.ipynb")
    done = nbmlops("run", str(folder), "-p", "threshold", "9")
    assert done.returncode == 1
    assert "job failed (error) in cell 4, line 5:" in done.stderr
    assert 'raise ValueError(f"threshold {threshold} is too high")' in done.stderr
    assert "ValueError: threshold 9 is too high" in done.stderr
    assert "Traceback" not in done.stderr
    client = MlflowClient(sqlite_uri)
    [parent] = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        filter_string="tags.`nbmlops.job` = 'job_parameters'")
    assert parent.info.status == "FAILED"
    assert "threshold 9 is too high" in parent.data.tags["nbmlops.error"]


def test_params_are_checked_before_a_kernel_starts(project: Path) -> None:
    folder = job_of(project, "job_parameters.ipynb")
    started = time.monotonic()
    done = nbmlops("run", str(folder), "-p", "threshold", "high")
    assert done.returncode == 2
    assert done.stderr.strip() == "nbmlops: error: parameter threshold: expected int, got 'high'"
    assert not (folder / "runs").exists()
    done = nbmlops("run", str(folder), "-p", "threshold", "true")
    assert done.stderr.strip() == "nbmlops: error: parameter threshold: expected int, got 'true'"
    dry = nbmlops("run", str(folder), "--dry-run", "-p", "mode", "slow")
    assert dry.returncode == 0 and "papermill" in dry.stderr and '"mode": "slow"' in dry.stderr
    # A bound with a wide margin, not a speed claim: starting a kernel alone takes seconds.
    assert time.monotonic() - started < 30


def test_overlapping_run_is_skipped(project: Path) -> None:
    folder = job_of(project, "job_parameters.ipynb")
    with filelock.FileLock(str(folder / LOCK_FILE)):
        done = nbmlops("run", str(folder))
    assert done.returncode == 0
    assert "already running: this run is skipped" in done.stderr
    assert not (folder / "runs").exists()


def test_unreachable_tracking_server_does_not_stop_the_job(project: Path) -> None:
    folder = job_of(project, "job_parameters.ipynb",
                    tracking_uri=f"http://127.0.0.1:{free_port()}")
    done = nbmlops("run", str(folder))
    assert done.returncode == 0, done.stderr
    assert "warning: no parent run" in done.stderr
    assert "tracked cell(s) wait in the spool" in done.stderr  # and why: the store is down
    [kept] = (folder / "runs").iterdir()
    lines = status_lines(kept)
    assert lines and all("waiting to sync · record" in o.data["text/plain"] for o in lines)


def test_run_timeout_and_retries(project: Path, tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(120)")])
    nbformat.write(nb, str(project / "slow.ipynb"))
    folder = export_job(project / "slow.ipynb").folder
    data = yaml.safe_load((folder / "job.yaml").read_text())
    # Long enough for papermill to write its output notebook (its first act, about a second
    # after it starts) on a busy machine.
    data.update(run_timeout=8, retries=1, retry_delay=0,
                on_failure=f"echo \"$NBMLOPS_ERROR\" > {tmp_path / 'hook.txt'}")
    (folder / "job.yaml").write_text(yaml.safe_dump(data))
    done = nbmlops("run", str(folder))
    assert done.returncode == 1
    assert "job failed (timeout)" in done.stderr and "run_timeout" in done.stderr
    assert "attempt 1 failed; retrying" in done.stderr
    assert len(list((folder / "runs").glob("slow-*.ipynb"))) == 2
    assert "timeout" in (tmp_path / "hook.txt").read_text()


def test_params_file_and_its_errors(project: Path, tmp_path: Path) -> None:
    folder = job_of(project, "job_parameters.ipynb")
    params = tmp_path / "params.yaml"
    params.write_text("threshold: 4\nmode: slow\n")
    # The file first, then -p: the command line wins.
    dry = nbmlops("run", str(folder), "--dry-run", "-f", str(params), "-p", "mode", "fast")
    assert dry.returncode == 0, dry.stderr
    assert '"threshold": 4' in dry.stderr and '"mode": "fast"' in dry.stderr
    for content, message in (
        ("threshold: [4", "is not valid YAML"),
        ("- 4\n- 5\n", "must hold a mapping of name to value"),
        ("threshold: true\n", "parameter threshold: expected int, got True"),
    ):
        params.write_text(content)
        done = nbmlops("run", str(folder), "-f", str(params))
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1
    done = nbmlops("run", str(folder), "-f", str(tmp_path / "absent.yaml"))
    assert done.returncode == 2 and "cannot read parameters file" in done.stderr
    assert not (folder / "runs").exists()


def test_a_failing_on_failure_hook_is_a_warning(project: Path, tmp_path: Path) -> None:
    folder = job_of(project, "job_parameters.ipynb",
                    on_failure=f"echo \"$NBMLOPS_ERROR\" > {tmp_path / 'hook.txt'}; exit 3")
    done = nbmlops("run", str(folder), "-p", "threshold", "9")
    assert done.returncode == 1  # the job's failure, not the hook's
    assert "threshold 9 is too high" in (tmp_path / "hook.txt").read_text()
    assert "warning: on_failure exited with status 3" in done.stderr


def test_a_stop_while_the_jobs_run_is_made_waits_until_it_is_made() -> None:
    made = []
    before = signal.getsignal(signal.SIGTERM)  # pytest's own, under xdist
    with pytest.raises(Stopped) as stopped, signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        made.append("run")
    assert made == ["run"] and stopped.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before  # put back as it was


def test_ctrl_c_stops_the_run_and_its_kernel(project: Path, sqlite_uri: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import pathlib, time\npathlib.Path('started').touch()\n"
                                  "time.sleep(120)")])
    nbformat.write(nb, str(project / "long.ipynb"))
    folder = export_job(project / "long.ipynb").folder
    run = subprocess.Popen([str(BIN / "nbmlops"), "run", str(folder)], cwd=project,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        started = folder / "started"  # papermill runs the kernel in the job folder
        while not (started.exists() or (project / "started").exists()):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "the kernel never ran the cell"
            time.sleep(0.1)
        below = psutil.Process(run.pid).children(recursive=True)
        assert below  # papermill and its kernel
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 130, stderr
        _, alive = psutil.wait_procs(below, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]  # no kernel left behind
        client = MlflowClient(sqlite_uri)
        [parent] = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                      "tags.`nbmlops.job` = 'long'")
        assert parent.info.status == "KILLED"  # not RUNNING for ever
        assert "interrupted" in parent.data.tags["nbmlops.error"]
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
