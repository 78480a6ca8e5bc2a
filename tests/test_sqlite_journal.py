"""The embedded store's journal: write-ahead logging on local file systems, a store whose file
alone holds every run after a sync pass, and an upload that skips the search for an earlier
run only when no pass ever began one."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import wait_until
from mlflow import MlflowClient
from mlflow.entities import ViewType

from nbmlops import sqlite_journal
from nbmlops.record import MetricPoint
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, record_id_of
from nbmlops.sync.upload import RECORD_ID_TAG

MakeRecord = Callable[..., Path]

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export /home/team nfs4 rw,relatime 0 0
//files/share /mnt/my\\040share cifs rw 0 0
tmpfs /home/team/scratch tmpfs rw 0 0
"""


@pytest.mark.parametrize(("path", "kind", "local"), [
    ("/work/project", "ext4", True),
    ("/home/team/project", "nfs4", False),
    ("/home/team", "nfs4", False),
    ("/home/teammate", "ext4", True),  # a prefix of a mount point's name is not inside it
    ("/home/team/scratch/x", "tmpfs", True),  # the deepest mount point holds it
    ("/mnt/my share/project", "cifs", False),  # /proc/mounts escapes spaces
])
def test_the_file_system_of_a_path(path: str, kind: str, local: bool) -> None:
    assert sqlite_journal.file_system_of(Path(path), MOUNTS) == kind
    assert sqlite_journal.is_local(Path(path), MOUNTS) is local


def test_no_mount_table_means_not_known_to_be_local(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_journal, "MOUNTS", tmp_path / "no-such-file")
    assert sqlite_journal.file_system_of(tmp_path) is None
    assert not sqlite_journal.is_local(tmp_path)


def journal_mode(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    sqlite_journal.use_wal.cache_clear()
    yield
    sqlite_journal.use_wal.cache_clear()


def store_file(uri: str) -> Path:
    return Path(uri.removeprefix("sqlite:///"))


def runs_of(uri: str) -> list[object]:
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(experiments, run_view_type=ViewType.ACTIVE_ONLY))


def test_a_sync_leaves_a_local_store_in_wal_and_its_file_whole(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, tmp_path: Path, fresh_cache: None
) -> None:
    db = store_file(sqlite_uri)
    assert journal_mode(db) == "delete"
    for _ in range(3):
        make_record(sqlite_uri)
    report = worker.drain(spool)
    assert report.uploaded == 3 and report.ok
    assert journal_mode(db) == "wal"
    # This process still holds MLflow's connections, so the log is still there; the pass
    # folded it into the file: a copy of mlflow.db alone has every run.
    assert (db.parent / "mlflow.db-wal").stat().st_size == 0
    copy = tmp_path / "copy" / "mlflow.db"
    copy.parent.mkdir()
    shutil.copy(db, copy)
    assert len(runs_of(f"sqlite:///{copy}")) == 3


def test_a_store_on_a_network_file_system_keeps_its_journal(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    db = store_file(sqlite_uri)
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/x {db.parent} nfs4 rw 0 0\n")
    monkeypatch.setattr(sqlite_journal, "MOUNTS", mounts)
    make_record(sqlite_uri)
    assert worker.drain(spool).uploaded == 1
    assert journal_mode(db) == "delete"
    assert not (db.parent / "mlflow.db-wal").exists()


def test_a_store_that_is_not_there_is_never_made(tmp_path: Path) -> None:
    sqlite_journal.checkpoint(tmp_path / "missing.db")
    assert not sqlite_journal.use_wal(tmp_path / "missing.db")
    assert list(tmp_path.iterdir()) == []


WRITER = """
import sys
from nbmlops import store
client = store.client(sys.argv[1], create=True)
client.create_run(client.create_experiment("e"))
"""


def test_a_writer_that_exits_leaves_the_store_as_one_file(sqlite_uri: str,
                                                             fresh_cache: None) -> None:
    db = store_file(sqlite_uri)
    subprocess.run([sys.executable, "-c", WRITER, sqlite_uri], check=True, timeout=240)
    assert journal_mode(db) == "delete"  # a store at rest: one file any reader opens
    assert sorted(p.name for p in db.parent.iterdir()) == ["mlflow.db"]
    assert len(runs_of(sqlite_uri)) == 1


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
