"""End to end: notebooks run in a real kernel, records go through the spool into MLflow."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.manager import KernelManager
from mlflow import MlflowClient

from nbmlops.sync.spool import Spool

NOTEBOOKS = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.kernel


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder whose store and spool are private to the test; the kernel inherits it."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'e2e'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "3")
    monkeypatch.delenv("NBMLOPS_AUTOSYNC", raising=False)
    monkeypatch.delenv("NBMLOPS_NOTEBOOK", raising=False)
    return root


def wait_for_empty_spool(spool: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while Spool(spool).entries():
        assert time.monotonic() < deadline, f"records still waiting in {spool}"
        time.sleep(0.2)


def runs_of(uri: str, experiment: str) -> list:  # type: ignore[type-arg]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment!r}"
    return client.search_runs([exp.experiment_id])


def test_papermill_notebook_becomes_a_complete_run(workdir: Path, tmp_path: Path) -> None:
    notebook = workdir / "analysis" / "fit.ipynb"
    notebook.parent.mkdir()
    shutil.copy(NOTEBOOKS / "tracked_fit.ipynb", notebook)
    # The plain papermill CLI: the kernel finds the input notebook from its parent process.
    subprocess.run(
        [Path(sys.executable).parent / "papermill", notebook, tmp_path / "out.ipynb",
         "--cwd", notebook.parent, "--log-level", "WARNING"],
        check=True,
    )
    wait_for_empty_spool(tmp_path / "spool")  # the background sync process uploads by itself

    uri = os.environ["MLFLOW_TRACKING_URI"]
    [run] = runs_of(uri, "analysis/fit.ipynb")
    client = MlflowClient(uri)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "fit"
    assert run.data.params == {"alpha": "0.5", "layers": "[8, 4]"}
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")] == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3)),
    ]
    assert "rmse" in run.data.metrics
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.name"] == "analysis/fit.ipynb"
    assert tags["purpose"] == "test"
    assert len(tags["nbmlops.code_sha"]) == 64

    inputs = {
        (d.dataset.name, next(t.value for t in d.tags if t.key == "mlflow.data.context")):
            d.dataset
        for d in run.inputs.dataset_inputs
    }
    from nbmlops.data.fingerprints import fingerprint

    csv = notebook.parent / "points.csv"
    # Named relative to the project, as a clone elsewhere names it too.
    assert inputs[("analysis/points.csv", "input")].digest == fingerprint(csv)
    assert ("points", "output") in inputs and ("scaled", "output") in inputs

    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"code", "env", "figures"} <= artifacts
    code = Path(client.download_artifacts(run.info.run_id, "code/cell.py", str(tmp_path)))
    assert "alpha = 0.5" in code.read_text()
    # Shown by `plt.show()`, which the kernel's inline backend closes mid-cell: still recorded,
    # and still in the output notebook.
    [figure] = client.list_artifacts(run.info.run_id, "figures")
    assert figure.path.endswith(".png")
    cell = nbformat.read(tmp_path / "out.ipynb", 4).cells[2]
    assert any("image/png" in o.get("data", {}) for o in cell.outputs)


def test_failing_cell_is_a_failed_run(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # papermill's Python API leaves no trace of the input path in the kernel: callers say it.
    notebook = workdir / "tracked_failure.ipynb"
    shutil.copy(NOTEBOOKS / notebook.name, notebook)
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(notebook))
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(NOTEBOOKS / "tracked_failure.ipynb"), str(tmp_path / "out.ipynb"),
            cwd=str(workdir), progress_bar=False,
        )
    assert err.value.ename == "ValueError"  # the user's exception, not one of ours
    wait_for_empty_spool(tmp_path / "spool")
    [run] = runs_of(os.environ["MLFLOW_TRACKING_URI"], "tracked_failure.ipynb")
    assert run.info.status == "FAILED"
    assert run.data.tags["nbmlops.error_type"] == "ValueError"
    assert run.data.params == {"threshold": "3"}
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    trace = client.download_artifacts(run.info.run_id, "error/traceback.txt", str(tmp_path))
    assert "threshold 3 is not allowed" in Path(trace).read_text()


def test_record_survives_a_killed_kernel(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")  # nothing uploads until the kernel is gone
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(workdir / "crash.ipynb"))
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(workdir))
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.execute_interactive("%load_ext nbmlops", timeout=60)
        reply = kc.execute_interactive("%%track doomed\nepochs = 5\nloss = 0.125", timeout=60)
        assert reply["content"]["status"] == "ok"
        os.kill(km.provisioner.process.pid, signal.SIGKILL)  # type: ignore[union-attr]
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)

    assert len(Spool(tmp_path / "spool").entries()) == 1
    done = subprocess.run(
        [Path(sys.executable).parent / "nbmlops", "sync"], capture_output=True, text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [run] = runs_of(os.environ["MLFLOW_TRACKING_URI"], "crash.ipynb")
    assert run.info.run_name == "doomed"
    assert run.data.params == {"epochs": "5"}
    assert run.data.metrics == {"loss": 0.125}
