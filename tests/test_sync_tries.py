"""An upload skips the search for an earlier run of its record only when no sync pass ever
began one: each pass notes its records in the spool's state before it begins."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import wait_until
from mlflow import MlflowClient
from mlflow.entities import ViewType

from nbmlops.record import MetricPoint
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, record_id_of
from nbmlops.sync.upload import RECORD_ID_TAG

MakeRecord = Callable[..., Path]


def active_with_tag(uri: str, record_id: str) -> list[object]:
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(experiments, f"tags.`{RECORD_ID_TAG}` = '{record_id}'",
                                   run_view_type=ViewType.ACTIVE_ONLY))


def test_a_sync_killed_mid_upload_leaves_one_run_after_the_next_pass(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass notes its records before it begins: the next one searches for what the
    killed one left, and replaces it."""
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "30")
    now = int(time.time() * 1000)
    curve = [MetricPoint("loss", 1.0 / (i + 1), i, now) for i in range(60_000)]
    entry = make_record(sqlite_uri, metrics=curve)
    record_id = record_id_of(entry)
    assert worker.ensure_running(spool.root)
    leftover = wait_until(lambda: active_with_tag(sqlite_uri, record_id), 120,
                          "the upload to begin")
    pid = int(spool.state()["pid"])
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not worker.is_running(spool), 30, "the killed process's lock")
    [half] = leftover
    assert half.info.status == "RUNNING"
    assert record_id in spool.state()["tried"]

    report = worker.drain(spool, timeout=240)
    assert report.uploaded == 1 and report.ok
    [run] = active_with_tag(sqlite_uri, record_id)
    assert run.info.status == "FINISHED"  # type: ignore[attr-defined]
    assert run.info.run_id != half.info.run_id  # type: ignore[attr-defined]
    assert record_id not in spool.state()["tried"]


@pytest.mark.parametrize("state", [{"tried": ["ID"]}, {"uploaded_total": 4}],
                         ids=["noted by a pass", "a state from before the list"])
def test_a_record_an_earlier_pass_may_have_begun_is_searched_for(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, state: dict[str, object]
) -> None:
    entry = make_record(sqlite_uri)
    record = spool.load(entry)
    client = MlflowClient(sqlite_uri)
    orphan = client.create_run(client.create_experiment(record.experiment),
                               tags={RECORD_ID_TAG: record.record_id})
    spool.set_state(**{k: [record.record_id] if v == ["ID"] else v for k, v in state.items()})
    assert worker.drain(spool).uploaded == 1
    [run] = active_with_tag(sqlite_uri, record.record_id)
    assert run.info.run_id != orphan.info.run_id  # type: ignore[attr-defined]
    assert client.get_run(orphan.info.run_id).info.lifecycle_stage == "deleted"
