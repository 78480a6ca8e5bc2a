"""At scale, for real: eight Jupyter kernels tracking cells into one new embedded store at
once, each with its own spool and sync process; a long session while the tracking server is
down. Every run arrives exactly once, in order, and the store stays healthy."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import stop_sync_process
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.sync.spool import Spool

# One notebook session: N tracked cells, each recording its index; autosync on.
SESSION = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "nbmlops")
name, cells = sys.argv[1], int(sys.argv[2])
with capture_output():
    for i in range(cells):
        result = ip.run_cell(f"%%track {name}\\nindex = {i}\\nloss = 1 / (index + 1)")
        assert result.success, result.error_in_exec
"""


def session(tmp_path: Path, name: str, cells: int, uri: str,
            **env: str) -> subprocess.Popen[str]:
    spool = tmp_path / f"spool-{name}"
    return subprocess.Popen(
        [sys.executable, "-c", SESSION, name, str(cells)],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri, "NBMLOPS_SPOOL": str(spool),
             "NBMLOPS_NOTEBOOK": str(tmp_path / "scale.ipynb"), "NBMLOPS_AUTOSYNC": "1",
             "NBMLOPS_SYNC_IDLE": "5", **env},
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )


def wait_until_uploaded(spools: list[Path], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(Spool(s).entries() for s in spools):
        assert time.monotonic() < deadline, {
            str(s): len(Spool(s).entries()) for s in spools}
        time.sleep(0.5)


def runs_by_name(uri: str) -> dict[str, list[Any]]:
    client = MlflowClient(uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    found: dict[str, list[Any]] = {}
    token = None
    while True:
        page = client.search_runs(ids, max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        for run in page:
            found.setdefault(run.info.run_name, []).append(run)
        token = page.token
        if not token:
            return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'scale'\n")
    for name in ("NBMLOPS_EXPERIMENT", "NBMLOPS_SPOOL", "NBMLOPS_NOTEBOOK"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def kernel_session(project: Path, name: str, cells: int, uri: str) -> None:
    """A real Jupyter kernel (ipykernel over ZMQ) running ``cells`` tracked cells."""
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "NBMLOPS_SPOOL": str(project / f"spool-{name}"),
           "NBMLOPS_NOTEBOOK": str(project / "scale.ipynb"), "NBMLOPS_AUTOSYNC": "1",
           "NBMLOPS_SYNC_IDLE": "5"}
    km, kc = start_new_kernel(startup_timeout=120, kernel_name="python3", env=env,
                              cwd=str(project))
    try:
        for code in ["%load_ext nbmlops", *(
                f"%%track {name}\nindex = {i}\nloss = 1 / (index + 1)" for i in range(cells))]:
            reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (name, code, reply["content"])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.kernel
def test_8_kernels_of_50_cells_into_one_new_store(project: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    db = project / "mlflow.db"
    uri = f"sqlite:///{db}"
    names = [f"k{k}" for k in range(8)]
    with ThreadPoolExecutor(len(names)) as pool:  # all eight at once, each its own spool
        for done in [pool.submit(kernel_session, project, n, 50, uri) for n in names]:
            done.result()
    sessions = dict.fromkeys(names)
    wait_until_uploaded([project / f"spool-{name}" for name in sessions], timeout=300)

    found = runs_by_name(uri)
    assert sorted(found) == sorted(sessions)
    for name, runs in found.items():
        assert [int(r.data.params["index"]) for r in runs] == list(range(50)), name
        assert len({r.data.tags["nbmlops.record_id"] for r in runs}) == 50
        assert all(r.info.status == "FINISHED" for r in runs)
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        (count,) = conn.execute("select count(*) from runs").fetchone()
    assert count == 400 and not any(t.startswith("_alembic_tmp") for t in tables)


def test_200_cells_while_the_server_is_down_arrive_once_in_order(
    project: Path, mlflow_server: Any
) -> None:
    mlflow_server.cut()
    proc = session(project, "offline", 200, mlflow_server.url,
                   NBMLOPS_SYNC_MAX_BACKOFF="300", NBMLOPS_SYNC_IDLE="600")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err  # every cell ran while nothing could be uploaded
    spool = project / "spool-offline"
    assert len(Spool(spool).entries()) == 200

    mlflow_server.restore()
    # The moment it is back: `nbmlops sync` wakes the backing-off process and waits for it.
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("nbmlops")), "sync", "--spool", str(spool),
             "--timeout", "240", "--json"],
            capture_output=True, text=True, timeout=300, check=False)
    finally:
        stop_sync_process(Spool(spool))  # it would idle for ten minutes
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["waiting"] == 0

    [runs] = runs_by_name(mlflow_server.url).values()
    assert [int(r.data.params["index"]) for r in runs] == list(range(200))
    assert len({r.data.tags["nbmlops.record_id"] for r in runs}) == 200
    client = MlflowClient(mlflow_server.url)
    for run in (runs[0], runs[-1]):
        assert {a.path for a in client.list_artifacts(run.info.run_id, "code")} == {
            store.CODE_ARTIFACT, store.SLICE_ARTIFACT, store.SLICE_NOTEBOOK_ARTIFACT}
