"""``nbmlops run`` serves its spool from a thread while its notebook runs
(:func:`nbmlops.sync.worker.serving`): the kernel starts no sync process, and what the cells
spool uploads as it comes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import filelock
import pytest
from conftest import wait_until
from mlflow import MlflowClient

from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, record_id_of
from nbmlops.sync.upload import RECORD_ID_TAG

MakeRecord = Callable[..., Path]


def uploaded(uri: str) -> set[str]:
    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return {r.data.tags[RECORD_ID_TAG] for r in client.search_runs(ids)} if ids else set()


def test_serving_uploads_as_records_come_and_no_sync_process_starts(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    first = make_record(sqlite_uri)
    with worker.serving(spool) as serves:
        assert serves is True
        # The kernel's probe after each record finds the spool served: no process started.
        assert worker.is_running(spool)
        assert worker.ensure_running(spool.root) is False
        wait_until(lambda: spool.receipt(record_id_of(first)), 60, "the first record")
        later = make_record(sqlite_uri)  # a cell that ends while the notebook runs
        wait_until(lambda: spool.receipt(record_id_of(later)), 60, "the later record")
        # The receipt is written before the record leaves the spool: a moment between.
        wait_until(lambda: not spool.entries(), 10, "the spool emptied")
    assert not worker.is_running(spool)  # the lock is let go when the block ends
    assert uploaded(sqlite_uri) == {record_id_of(first), record_id_of(later)}
    assert spool.state()["uploaded_total"] == 2
    # What it did is in the spool's log, as a sync process's uploads are.
    log = spool.log_file.read_text()
    assert f"{record_id_of(later)}.zip -> run" in log


def test_a_spool_served_elsewhere_is_left_to_that_process(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri)
    held = filelock.FileLock(str(spool.lock_file))
    held.acquire()
    try:
        with worker.serving(spool) as serves:
            assert serves is False
        assert spool.entries() == [entry]  # nothing uploaded here
    finally:
        held.release()


def test_a_spool_that_is_a_file_is_not_served(tmp_path: Path) -> None:
    path = tmp_path / "spool"
    path.write_text("not a folder")
    with worker.serving(path) as serves:
        assert serves is False


def test_records_a_run_leaves_go_to_a_sync_process_unless_autosync_is_off(
    spool: Spool, make_record: MakeRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.jobs.run import uploads

    make_record("http://127.0.0.1:9")  # a store that is away: the drain left it waiting
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    output = tmp_path / "project" / "jobs" / "j" / "runs" / "j-1.ipynb"
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    uploads.retry_later(spool, worker.SyncReport(waiting=1), output)
    assert not worker.is_running(spool)  # kept for `nbmlops sync`, as asked
    monkeypatch.delenv("NBMLOPS_AUTOSYNC")
    uploads.retry_later(spool, worker.SyncReport(waiting=1, background=True), output)
    assert not worker.is_running(spool)  # a sync process has them already
    uploads.retry_later(spool, worker.SyncReport(waiting=1), output)
    wait_until(lambda: worker.is_running(spool), 30, "a sync process to retry them")
