"""The sync process's loop and entry point run in this process: ``worker.serve`` and
``worker.main`` are what ``python -m nbmlops.sync.worker`` runs, here with a real spool and a
real sqlite MLflow store, stopped by the loop's own idle exit. (tests/test_sync.py starts the
detached process itself.)"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import filelock
import pytest
from conftest import wait_until
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.record import Environment, GitState
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, record_id_of

MakeRecord = Callable[..., Path]
WORKER_LOG = "nbmlops.sync.worker"


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WORKER_LOG]


class Serving:
    """``worker.serve`` in a thread of this process, as the sync process runs it."""

    def __init__(self, spool: Spool, idle: float | None) -> None:
        self.result: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.result.append(worker.serve(spool, idle)), daemon=True
        )
        self.thread.start()

    def exited(self, timeout: float = 20) -> int:
        """serve's return once it has left by itself (nothing pending for its idle time)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve did not leave when idle"
        [result] = self.result
        return result


@pytest.fixture(autouse=True)
def quick_sync(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """serve sets MLflow's fail-fast variables for the rest of its process: restored after
    each test. The backoff after a failed pass is at most 1 s."""
    for key in store.FAIL_FAST_ENV:
        monkeypatch.setenv(key, "")  # so that monkeypatch restores what was there before
        monkeypatch.delenv(key)
    monkeypatch.setenv("NBMLOPS_SYNC_MAX_BACKOFF", "1")
    monkeypatch.delenv("NBMLOPS_SYNC_IDLE", raising=False)
    caplog.set_level(logging.INFO, logger=WORKER_LOG)


@pytest.fixture
def serving(spool: Spool) -> Iterator[Callable[..., Serving]]:
    """``serving(idle, spool=the spool fixture's)`` starts serve in a thread."""
    started: list[Serving] = []

    def start(idle: float | None, of: Spool = spool) -> Serving:
        started.append(Serving(of, idle))
        return started[-1]

    yield start
    for s in started:
        s.thread.join(5)  # a test that passed has seen it leave already
    if spool.state().get("pid") == os.getpid():  # the spool fixture stops the process that
        spool.set_state(pid=None)  # served it: not this one


def runs_of(uri: str) -> list[Any]:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("notebooks/train.ipynb")
    return [] if exp is None else client.search_runs([exp.experiment_id])


def test_serve_uploads_what_waits_cleans_old_receipts_then_leaves_when_idle(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    entries = [make_record(sqlite_uri) for _ in range(3)]
    old, new = spool.done / "old.json", spool.done / "new.json"
    for path in (old, new):
        path.write_text("{}")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "0.6")  # no idle_seconds: the variable counts
    before = time.time()

    assert serving(None).exited() == 0

    assert not spool.entries() and not worker.is_running(spool)  # its lock is let go
    assert sorted(r.data.tags["nbmlops.record_id"] for r in runs_of(sqlite_uri)) == sorted(
        record_id_of(e) for e in entries)
    state = spool.state()
    assert state["pid"] == os.getpid() and before <= state["started_at"] <= time.time()
    assert state["uploaded_total"] == 3 and before <= state["last_success_at"]
    assert not old.exists() and new.exists()
    # Its own retries must notice an outage within seconds: MLflow's are switched off.
    assert {k: os.environ.get(k) for k in store.FAIL_FAST_ENV} == store.FAIL_FAST_ENV
    said = messages(caplog)
    assert said[0] == f"sync process {os.getpid()} serving {spool.root} (idle exit after 1 s)"
    assert [m.split(" -> ")[0] for m in said[1:4]] == [f"uploaded {e.name}" for e in entries]
    assert said[-1] == f"sync process {os.getpid()} exits" and len(said) == 5


def test_serve_leaves_at_once_when_another_process_serves_the_spool(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(worker, "LOCK_WAIT", 0.1)
    entry = make_record(sqlite_uri)
    lock = filelock.FileLock(str(spool.lock_file))
    lock.acquire()
    try:
        assert serving(0.6).exited() == 0
    finally:
        lock.release()
    assert spool.entries() == [entry] and "pid" not in spool.state()
    assert messages(caplog) == [f"another sync process serves {spool.root}"]


def test_serve_makes_the_spool_it_is_given(
    tmp_path: Path, serving: Callable[..., Serving], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fresh = Spool(tmp_path / "new")
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "soon")  # not a number: the default counts
    monkeypatch.setattr(worker, "IDLE_SECONDS", 0.6)
    assert serving(None, fresh).exited() == 0
    assert messages(caplog)[0].endswith("(idle exit after 1 s)")
    assert fresh.pending.is_dir() and fresh.state()["pid"] == os.getpid()
    assert not worker.is_running(fresh)


def test_serve_holds_a_record_for_its_git_state_and_uploads_it_amended(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry = make_record(sqlite_uri, environment=Environment("3.11.2", {}, None, git_pending=True))
    loop = serving(0.6)
    held = f"holding {entry.name} until its kernel has read git"
    wait_until(lambda: held in messages(caplog), 30, "the record to be held")
    record = spool.load(entry)
    record.environment.git = GitState("ab" * 20, "main", True)
    record.environment.git_pending = False
    assert spool.amend(entry, record, {"env/git.diff": b"-a\n+b\n"})
    assert loop.exited() == 0
    [run] = runs_of(sqlite_uri)
    assert run.data.tags["mlflow.source.git.commit"] == "ab" * 20
    assert "nbmlops.warnings" not in run.data.tags
    assert messages(caplog).count(held) == 1


def test_serve_keeps_serving_after_a_pass_that_failed(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A pass that fails outside any one record (here the spool's state is damaged, so
    counting an upload fails after the record went up) is logged; the loop goes on, before
    and after a pass that went well."""
    monkeypatch.delenv("NBMLOPS_SYNC_MAX_BACKOFF")  # the default cap counts
    monkeypatch.setattr(worker, "BACKOFF_MAX", 1.0)
    spool.wake()  # an old wake-up (a sync long ago) cuts no back-off short
    os.utime(spool.wake_file, (time.time() - 3600, time.time() - 3600))
    records = [make_record(sqlite_uri)]
    loop = serving(2.0)
    # Counted at the end of its pass: the loop writes the state no more until the next upload.
    wait_until(lambda: spool.state().get("uploaded_total") == 1, 30, "the first pass")
    spool.set_state(attempts=["not", "a", "mapping"])
    records.append(make_record(sqlite_uri))
    wait_until(lambda: "sync pass failed" in messages(caplog), 30, "the failing pass")
    records.append(make_record(sqlite_uri))
    assert loop.exited() == 0
    assert all(spool.receipt(record_id_of(r)) for r in records)
    assert len(runs_of(sqlite_uri)) == 3
    failures = [r for r in caplog.records if r.getMessage() == "sync pass failed"]
    assert len(failures) == 2 and all(r.exc_info and r.levelno == logging.ERROR
                                      for r in failures)


class SpooledAsTheLoopLeaves(Spool):
    """The spool as a kernel meets it while the loop leaves: at the first look after the loop
    has let go of the lock, ``kernel()`` has just spooled a record (it saw the lock still
    held, so it started no process)."""

    def __init__(self, root: Path, kernel: Callable[[], Any]) -> None:
        super().__init__(root)
        self.kernel: Callable[[], Any] | None = kernel

    def entries(self) -> list[Path]:
        found = super().entries()
        if not found and self.kernel and not worker.is_running(self):
            self.kernel, kernel = None, self.kernel
            kernel()
            found = super().entries()
        return found


def test_a_record_spooled_as_the_loop_lets_go_is_not_stranded(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
) -> None:
    late: list[Path] = []
    leaving = SpooledAsTheLoopLeaves(spool.root, lambda: late.append(make_record(sqlite_uri)))
    assert serving(0.3, leaving).exited() == 0
    assert late and spool.receipt(record_id_of(late[0])) is not None  # it took the lock back
    assert not spool.entries() and not worker.is_running(spool)


def test_the_loop_leaves_a_late_record_to_a_process_that_took_the_lock(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, serving: Callable[..., Serving],
) -> None:
    # Taken in the loop's thread (where the spool is looked at), released in this one.
    successor = filelock.FileLock(str(spool.lock_file), thread_local=False)

    def kernel_then_new_process() -> None:
        make_record(sqlite_uri)
        successor.acquire(timeout=0)

    try:
        leaving = SpooledAsTheLoopLeaves(spool.root, kernel_then_new_process)
        assert serving(0.3, leaving).exited() == 0
        assert successor.is_locked and len(spool.entries()) == 1  # the new process's now
    finally:
        if successor.is_locked:
            successor.release()
    assert not worker.is_running(spool)


def test_main_configures_the_log_and_serves_the_spool_it_is_given(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    entry = make_record(sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "0.1")  # --idle wins over the variable
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # As in a fresh process: no handler and WARNING, so main's basicConfig sets both.
    root.handlers.clear()
    root.setLevel(logging.WARNING)
    caplog.set_level(logging.NOTSET, logger=WORKER_LOG)
    try:
        assert worker.main(["--spool", str(spool.root), "--idle", "0.6"]) == 0
    finally:
        for added in root.handlers:
            added.close()
        root.handlers[:] = handlers
        root.setLevel(level)
    assert spool.receipt(record_id_of(entry)) is not None
    lines = capsys.readouterr().err.splitlines()
    stamp = time.strftime("%Y-%m-%d ")
    head = f" {os.getpid()} {WORKER_LOG} INFO "
    serving = [line for line in lines
               if line.endswith(f"serving {spool.root} (idle exit after 1 s)")]
    assert len(serving) == 1 and serving[0].startswith(stamp)
    assert serving[0].split(head)[1] == (
        f"sync process {os.getpid()} serving {spool.root} (idle exit after 1 s)")
    assert lines[-1].startswith(stamp) and lines[-1].endswith(
        f"{head}sync process {os.getpid()} exits")


def test_main_says_why_it_cannot_serve_in_one_line_and_exits_2(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "spool"
    not_a_folder.write_text("")
    assert worker.main(["--spool", str(not_a_folder)]) == 2
    [said] = [r for r in caplog.records if r.name == WORKER_LOG]
    assert said.levelno == logging.ERROR and said.getMessage().startswith(
        f"cannot create the spool at {not_a_folder}: ")


def test_main_says_how_it_is_called(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps its help at the terminal's width
    usage = "usage: python -m nbmlops.sync.worker [-h] --spool SPOOL [--idle IDLE]"
    with pytest.raises(SystemExit) as exit_:
        worker.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [usage, "", "Upload a spool's records to MLflow."]
    assert "\n  --spool SPOOL  the spool folder\n" in out
    assert "\n  --idle IDLE    exit after this many seconds with nothing pending\n" in out
    for wrong in ([], ["--spool", "s", "--idle", "soon"]):
        with pytest.raises(SystemExit) as exit_:
            worker.main(wrong)
        assert exit_.value.code == 2
        assert capsys.readouterr().err.splitlines()[0] == usage


def test_the_log_keeps_its_tail_once_past_its_size(tmp_path: Path) -> None:
    log = tmp_path / "sync.log"
    whole = bytes(range(256)) * (worker.LOG_MAX_BYTES // 256)
    log.write_bytes(whole)  # exactly the size: kept
    worker._trim_log(log)
    assert log.read_bytes() == whole
    log.write_bytes(whole + b"last line\n")
    worker._trim_log(log)
    assert log.read_bytes() == (whole + b"last line\n")[-(worker.LOG_MAX_BYTES // 4):]
    worker._trim_log(tmp_path / "missing.log")  # nothing logged yet: nothing to do
    assert not (tmp_path / "missing.log").exists()


# --- one pass, driven step by step -----------------------------------------------------------


def test_a_record_waiting_for_its_git_state_is_held_and_said_once(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, caplog: pytest.LogCaptureFixture
) -> None:
    entry = make_record(sqlite_uri, environment=Environment("3.11.2", {}, None, git_pending=True))
    uploader = worker._Uploader(spool)
    for _ in range(2):
        assert uploader.run_pass(hold_git=60) == (0, [], set())
        assert spool.entries() == [entry]
    assert messages(caplog) == [f"holding {entry.name} until its kernel has read git"]
    # Past the hold the kernel is taken to be gone: it goes up without its git state.
    uploaded, errors, _ = uploader.run_pass(hold_git=0)
    assert (uploaded, errors) == (1, []) and not spool.entries()
    [run] = runs_of(sqlite_uri)
    assert "git state missing" in run.data.tags["nbmlops.warnings"]


def test_an_entry_gone_before_its_turn_is_no_upload_and_no_error(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    """A pass lists the pending entries once; one completed meanwhile (by a sync that had
    the spool before) is passed over."""
    first, second = make_record(sqlite_uri), make_record(sqlite_uri)

    class Meanwhile(worker._Uploader):
        def client_for(self, uri: str) -> MlflowClient:
            if second.exists():  # while the first uploads, the second is done elsewhere
                self.spool.complete(second, {"record_id": record_id_of(second)})
            return super().client_for(uri)

    uploaded, errors, failing = Meanwhile(spool).run_pass()
    assert (uploaded, errors, failing) == (1, [], set())
    assert not spool.entries() and spool.receipt(record_id_of(first)) is not None
    [run] = runs_of(sqlite_uri)
    assert run.data.tags["nbmlops.record_id"] == record_id_of(first)
    assert spool.state()["uploaded_total"] == 1 and "last_error" not in spool.state()


def test_a_pass_counts_its_uploads_in_the_spool_state(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)  # the records' project: its UI makes the links
    (tmp_path / "pyproject.toml").write_text("[tool.nbmlops]\nui_url = 'http://here'\n")
    entry = make_record(sqlite_uri)
    rid = record_id_of(entry)
    # Refused twice before, then it went up: its attempts are forgotten, others' kept.
    spool.set_state(uploaded_total=5, attempts={"other": 1, rid: 2})
    assert worker._Uploader(spool).run_pass() == (1, [], set())
    state, receipt = spool.state(), spool.receipt(rid)
    assert receipt is not None and receipt["url"].startswith("http://here/")
    assert state["uploaded_total"] == 6 and state["attempts"] == {"other": 1}
    assert state["last_run_url"] == receipt["url"]
    [said] = [m for m in messages(caplog) if m.startswith("uploaded ")]
    assert said.startswith(f"uploaded {entry.name} -> run {receipt['run_id']} in ")
