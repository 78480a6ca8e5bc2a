"""A real kernel tracks cells while a real ``mlflow server`` goes down and comes back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from mlflow import MlflowClient
from mlflow_server import MlflowServer

from nbmlops.sync.spool import Spool

pytestmark = [pytest.mark.kernel, pytest.mark.server]


@pytest.fixture
def kernel(
    tmp_path: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlockingKernelClient]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'outage'\n")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(root / "outage.ipynb"))
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "5")
    monkeypatch.setenv("NBMLOPS_SYNC_MAX_BACKOFF", "1")
    monkeypatch.delenv("NBMLOPS_AUTOSYNC", raising=False)
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(root))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    run(kc, "%load_ext nbmlops")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc: BlockingKernelClient, code: str, messages: list[dict[str, Any]] | None = None) -> str:
    """Execute ``code``; returns its stdout; collects its iopub messages when asked."""
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if messages is not None:
            messages.append(msg)
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def wait_for_update(kc: BlockingKernelClient, display_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Exception:
            continue
        if msg["msg_type"] == "update_display_data" and (
            msg["content"]["transient"]["display_id"] == display_id
        ):
            return dict(msg)
    raise AssertionError("the status line was never updated")


def test_records_wait_during_an_outage_and_arrive_exactly_once(
    kernel: BlockingKernelClient, mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    spool = Spool(tmp_path / "spool")
    messages: list[dict[str, Any]] = []
    run(kernel, "%%track before\nround = 0\nacc = 0.5", messages)
    [display_id] = [
        m["content"]["transient"]["display_id"]
        for m in messages if m["msg_type"] == "display_data"
    ]
    # Once uploaded, the cell's status line is updated in place with the link to its run.
    update = wait_for_update(kernel, display_id)
    assert "/#/experiments/" in update["content"]["data"]["text/html"]
    assert "synced: run" in update["content"]["data"]["text/plain"]

    mlflow_server.cut()
    for i in range(1, 4):
        run(kernel, f"%%track during-{i}\nround = {i}\nacc = 0.{5 + i}")
    deadline = time.monotonic() + 30
    while "last error" not in (status := run(kernel, "%mlops status")):
        assert time.monotonic() < deadline, status
        time.sleep(0.5)
    assert len(spool.entries()) >= 3
    assert "pending:" in status

    mlflow_server.restore()
    deadline = time.monotonic() + 90
    while spool.entries():  # the background process resumes by itself
        assert time.monotonic() < deadline, run(kernel, "%mlops status")
        time.sleep(0.3)

    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("outage.ipynb")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    names = sorted(r.info.run_name for r in runs)
    assert names == ["before", "during-1", "during-2", "during-3"]
    record_ids = {r.data.tags["nbmlops.record_id"] for r in runs}
    assert len(record_ids) == 4
    assert {r.data.params["round"] for r in runs} == {"0", "1", "2", "3"}
    [before] = [r for r in runs if r.info.run_name == "before"]
    assert before.info.run_id in update["content"]["data"]["text/html"]
