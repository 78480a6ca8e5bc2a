"""The sync process: started on demand, exactly once per record, resumes after an outage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import filelock
import psutil
import pytest
from conftest import rewrite_entry, stop_sync_process, wait_until
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow_server import MlflowServer, free_port

from nbmlops.exceptions import SpoolError
from nbmlops.record import Environment, GitState, MetricPoint
from nbmlops.sync import worker
from nbmlops.sync.spool import ERROR_SUFFIX, RECORD_FILE, SUFFIX, Spool, record_id_of
from nbmlops.sync.upload import RECORD_ID_TAG

MakeRecord = Callable[..., Path]


def runs_by_record(uri: str, experiment: str = "notebooks/train.ipynb") -> dict[str, list[Any]]:
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    found: dict[str, list[Any]] = {}
    for run in client.search_runs([exp.experiment_id], run_view_type=ViewType.ACTIVE_ONLY):
        found.setdefault(run.data.tags[RECORD_ID_TAG], []).append(run)
    return found


def record_ids(spool: Spool, entries: list[Path]) -> list[str]:
    return [record_id_of(e) for e in entries]


def log_text(spool: Spool) -> str:
    return spool.log_file.read_text() if spool.log_file.exists() else ""


def worker_said(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "nbmlops.sync.worker"]


def paused_sync_process(spool: Spool) -> psutil.Process:
    """A background sync process of an empty spool, holding its lock, stopped (SIGSTOP), so
    the test decides when it goes on."""
    assert worker.ensure_running(spool.root)
    wait_until(lambda: worker.is_running(spool), 10, "the sync process to take the lock")
    pid = wait_until(lambda: spool.state().get("pid"), 10, "the sync process's pid")
    process = psutil.Process(pid)
    process.suspend()
    return process


@pytest.fixture(autouse=True)
def quick_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short idle exit and backoff for processes the tests start."""
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "1.5")
    monkeypatch.setenv("NBMLOPS_SYNC_MAX_BACKOFF", "1")


def test_ensure_running_uploads_then_exits_when_idle(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entries = [make_record(sqlite_uri) for _ in range(3)]
    assert worker.ensure_running(spool.root) is True
    wait_until(lambda: worker.is_running(spool), 10, "the sync process to take the lock")

    # The kernel calls this after every cell: with a process running it only probes the lock
    # (its cost is measured by bench/sync.py). It writes its pid just after taking the lock.
    pid = wait_until(lambda: spool.state().get("pid"), 10, "the sync process's pid")
    for _ in range(20):
        assert worker.ensure_running(spool.root) is False
    assert spool.state()["pid"] == pid

    wait_until(lambda: not spool.entries(), 60, "the records to upload")
    runs = runs_by_record(sqlite_uri)
    assert sorted(runs) == sorted(record_ids(spool, entries))
    assert all(len(r) == 1 for r in runs.values())
    assert all(spool.receipt(rid) for rid in runs)
    # Idle for NBMLOPS_SYNC_IDLE seconds: it lets go and exits.
    wait_until(lambda: not worker.is_running(spool), 15, "the idle process to exit")
    state = spool.state()
    assert state["last_success_at"] and state["uploaded_total"] == 3
    assert "exits" in spool.log_file.read_text()
    # Our process started it and never waits for it, yet no zombie is left behind.
    wait_until(lambda: not psutil.pid_exists(state["pid"]), 5, "the exited process to be reaped")

    # It let go of its lock: the next record gets a new process, which takes the lock over.
    later = make_record(sqlite_uri)
    assert worker.ensure_running(spool.root) is True
    wait_until(lambda: spool.receipt(record_id_of(later)), 60, "the next process to upload")
    assert spool.state().get("pid") not in (None, state["pid"])
    wait_until(lambda: not worker.is_running(spool), 15, "the second process to exit")


def test_sync_process_outlives_the_kernel_that_started_it(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entries = [make_record(sqlite_uri) for _ in range(2)]
    kernel = (
        "import os, signal, sys\n"
        "from nbmlops.sync import worker\n"
        "assert worker.ensure_running(sys.argv[1])\n"
        "worker.status(sys.argv[1])\n"
        "assert 'mlflow' not in sys.modules, 'the kernel imported mlflow'\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", kernel, str(spool.root)], capture_output=True, timeout=60
    )
    assert died.returncode == -9, died.stderr
    wait_until(lambda: not spool.entries(), 60, "the orphaned sync process to upload")
    assert sorted(runs_by_record(sqlite_uri)) == sorted(record_ids(spool, entries))


def test_new_record_is_picked_up_quickly_by_an_idle_process(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "30")
    make_record(sqlite_uri)
    worker.ensure_running(spool.root)
    wait_until(lambda: spool.state().get("uploaded_total") == 1, 60, "the first record")
    pid = spool.state()["pid"]
    entry = make_record(sqlite_uri)
    assert worker.ensure_running(spool.root) is False  # already there
    # The idle process polls the pending folder (how soon: bench/sync.py).
    wait_until(lambda: spool.receipt(record_id_of(entry)), 10, "the second record")
    assert spool.state()["pid"] == pid and worker.is_running(spool)


def test_a_second_process_exits_at_once(spool: Spool) -> None:
    lock = filelock.FileLock(str(spool.lock_file))
    lock.acquire()
    try:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "nbmlops.sync.worker", "--spool", str(spool.root)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert done.returncode == 0
        assert "another sync process" in done.stderr
        assert time.monotonic() - started < worker.LOCK_WAIT + 5
    finally:
        lock.release()


def test_rejected_record_moves_to_failed_without_blocking_the_queue(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    broken = make_record(sqlite_uri)
    rewrite_entry(broken, replace={RECORD_FILE: "{not json"})
    invalid = make_record(sqlite_uri, metrics=[MetricPoint("loss", 1.0, 0, -1)])  # MLflow: 400
    good = make_record(sqlite_uri)

    worker.ensure_running(spool.root)
    wait_until(lambda: not spool.entries(), 60, "the queue to empty")
    assert spool.receipt(record_id_of(good)) is not None
    failed = spool.failed
    assert sorted(p.name for p in failed.iterdir() if p.name.endswith(SUFFIX)) == sorted(
        [broken.name, invalid.name]
    )
    assert "unreadable record" in (failed / f"{broken.name}{ERROR_SUFFIX}").read_text()
    error = (failed / f"{invalid.name}{ERROR_SUFFIX}").read_text()
    assert "INVALID_PARAMETER_VALUE" in error and f"attempts: {worker.MAX_ATTEMPTS}" in error
    assert worker.status(spool)["failed"] == 2
    # One run for the good record only: the invalid one's half run was not left behind either.
    runs = runs_by_record(sqlite_uri)
    assert list(runs) == [record_id_of(good)]

    assert worker.retry_failed(spool) == 2
    assert len(spool.entries()) == 2 and worker.status(spool)["failed"] == 0


def test_drain_in_the_foreground_reports_an_unreachable_store(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for _ in range(3):
        make_record(down)
    good = make_record(sqlite_uri)
    started = time.monotonic()
    report = worker.drain(spool, timeout=30)
    assert time.monotonic() - started < 20
    # The dead server is tried once, its other records wait; the sqlite record goes up.
    assert (report.uploaded, report.failed, report.waiting) == (1, 0, 3)
    assert len(report.errors) == 1 and "127.0.0.1" in report.errors[0]
    assert not report.ok and not report.background
    assert spool.receipt(record_id_of(good)) is not None
    info = worker.status(spool)
    assert info["pending"] == 3 and info["failing"] and "127.0.0.1" in info["last_error"]
    assert info["oldest_pending_age_s"] >= 0 and not info["running"]
    assert os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES") is None  # restored


def test_a_caller_reading_our_output_is_not_held_by_the_sync_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``nbmlops run`` under a scheduler, or a kernel's parent, reads the output of the process
    that spooled: the detached sync process it starts (here for a spool whose folders do not
    exist yet) must not keep that output open while it idles."""
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "120")
    spool = Spool(tmp_path / "not" / "made" / "yet")
    script = ("import sys; from pathlib import Path; from nbmlops.sync import worker; "
              "print(worker.ensure_running(Path(sys.argv[1])))")
    try:
        done = subprocess.run([sys.executable, "-c", script, str(spool.root)],
                              capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr
        wait_until(lambda: worker.is_running(spool), 10, "the sync process to take the lock")
        # A session of its own: a Ctrl-C or a job's timeout that stops the caller's process
        # group leaves it uploading.
        pid = wait_until(lambda: spool.state().get("pid"), 10, "the sync process's pid")
        assert os.getsid(pid) == pid != os.getsid(0)
    finally:
        wait_until(lambda: spool.state().get("pid"), 10, "the sync process's pid")
        stop_sync_process(spool)


def test_a_sync_process_that_cannot_start_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    where = tmp_path / "a-file" / "spool"
    with pytest.raises(SpoolError, match=f"^cannot start the sync process for {where}: "):
        worker.ensure_running(where)


def test_drain_waits_for_the_background_process(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "5")
    process = paused_sync_process(spool)
    for _ in range(4):
        make_record(sqlite_uri)
    late = worker.drain(spool, 0.6)  # the process is paused: nothing moves
    assert late.background and late.waiting == 4
    assert late.errors == ["timed out after 1 s with 4 pending"]
    asked = time.time()
    with ThreadPoolExecutor(1) as pool:
        draining = pool.submit(worker.drain, spool, 60)
        # drain has counted the pending records when it wakes the process: let it go on.
        wait_until(lambda: spool.woken_since(asked), 10, "drain to wake the sync process")
        process.resume()
        report = draining.result()
    assert report.ok and report.background and report.waiting == 0
    assert report.uploaded == 4 and not spool.entries()
    assert len(runs_by_record(sqlite_uri)) == 4


def test_drain_reports_what_a_failing_background_process_did_and_why_it_waits(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background process is retrying an unreachable store: drain waits for one try made
    since it asked (not an older failure), then counts what that pass did."""
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "5")
    process = paused_sync_process(spool)
    # Nothing pending: nothing to wait for, and an old failure is no error of this sync.
    spool.set_state(failing=True, failing_at=time.time() - 120, last_error="older")
    nothing = worker.drain(spool, 20)
    assert nothing.ok and nothing.background and nothing.to_dict()["waiting"] == 0
    good = make_record(sqlite_uri)
    broken = [make_record(sqlite_uri) for _ in range(2)]
    for entry in broken:
        rewrite_entry(entry, replace={RECORD_FILE: "{not json"})
    down = make_record(f"http://127.0.0.1:{free_port()}")  # last: tried after the others
    # Refused twice before: this try moves them to failed/. The store failed a minute ago,
    # and is marked failing until a pass goes well: the records refused in the next pass
    # (before the store is tried again) must not pass for the store's failure.
    old = time.time() - 60
    spool.set_state(attempts={record_id_of(e): worker.MAX_ATTEMPTS - 1 for e in broken},
                    failing=True, failing_at=old, last_error_at=old, last_error="old")
    asked = time.time()
    pool = ThreadPoolExecutor(1)
    try:
        # It stops on the store's failure, long before its own timeout.
        draining = pool.submit(worker.drain, spool, 600)
        wait_until(lambda: spool.woken_since(asked), 10, "drain to wake the sync process")
        process.resume()
        report = draining.result(timeout=30)
    finally:
        pool.shutdown(wait=False)
    assert report.background and (report.uploaded, report.failed, report.waiting) == (1, 2, 1)
    [error] = report.errors
    assert error.startswith(f"background sync is retrying: {down.name}: ")
    assert "127.0.0.1" in error and spool.receipt(record_id_of(good)) is not None
    os.replace(down, spool.root / "aside")  # nothing pending: the process leaves


def test_drain_finishes_in_the_foreground_when_the_background_process_dies(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "5")
    process = paused_sync_process(spool)
    for _ in range(3):
        make_record(sqlite_uri)
    asked = time.time()
    with ThreadPoolExecutor(1) as pool:
        draining = pool.submit(worker.drain, spool, 60)
        wait_until(lambda: spool.woken_since(asked), 10, "drain to wake the sync process")
        process.kill()  # it dies holding nothing: the lock goes with the process
        report = draining.result()
    assert report.ok and not report.background
    assert (report.uploaded, report.waiting) == (3, 0) and not spool.entries()
    assert len(runs_by_record(sqlite_uri)) == 3


def test_status_of_an_empty_and_of_a_missing_spool(tmp_path: Path) -> None:
    info = worker.status(tmp_path / "nowhere")
    assert (info["pending"], info["running"], info["failed"]) == (0, False, 0)
    assert info["uploaded_total"] == 0 and info["last_error"] is None
    assert not (tmp_path / "nowhere").exists()  # status never creates the spool
    text = worker.format_status(info)
    assert "pending:      0" in text and "not running" in text
    json.dumps(info)


def test_status_reads_the_spool_and_the_sync_process_state(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    from nbmlops.sync.spool import entry_name

    older, newer = make_record(sqlite_uri), make_record(sqlite_uri)
    # Spooled 100.123 s ago (the age is read from the entry's name).
    aged = spool.pending / entry_name(time.time_ns() - 100_123_000_000, record_id_of(older))
    os.replace(older, aged)
    os.replace(make_record(sqlite_uri), spool.root / "aside")
    spool.failed.mkdir()
    os.replace(spool.root / "aside", spool.failed / "00000000000000000001-f.zip")
    error = "x.zip: OperationalError: table _alembic_tmp_params already exists"
    spool.set_state(pid=4242, failing=True, last_error=error, last_error_at=1.5,
                    last_success_at=2.5, last_run_url="http://ui/run", uploaded_total=7)
    lock = filelock.FileLock(str(spool.lock_file))
    with lock:  # as a sync process holds it
        info = worker.status(str(spool.root))
    oldest = info.pop("oldest_pending_age_s")
    assert 100.123 <= oldest < 160 and round(oldest, 3) == oldest
    assert info == {
        "spool": str(spool.root), "pending": 2, "running": True, "pid": 4242,
        "failing": True, "last_error": error, "last_error_at": 1.5, "last_success_at": 2.5,
        "last_run_url": "http://ui/run", "uploaded_total": 7, "failed": 1,
        "log": str(spool.log_file), "advice": worker.advice(error), "unreadable": None,
    }
    assert spool.entries() == [aged, newer]
    # Nobody serves it, nothing waits: no pid, no failing, no advice, whatever the state says.
    for entry in spool.entries():
        entry.unlink()
    quiet = worker.status(spool)
    assert (quiet["running"], quiet["pid"], quiet["failing"], quiet["advice"]) == (
        False, None, False, None)
    assert quiet["oldest_pending_age_s"] is None and quiet["last_error"] == error


def test_what_to_do_about_a_store_mlflow_refuses_to_open() -> None:
    half_built = ("the store was left half-built (an interrupted migration): move its file "
                  "aside, then `nbmlops sync` builds a new one and uploads what waits")
    other_version = ("the store was made by another MLflow version: back it up, then "
                     "`mlflow db upgrade sqlite:///<its file>` (or move it aside for a new one),"
                     " then `nbmlops sync`")
    for error in ("OperationalError: table _alembic_tmp_params already exists",
                  "no such table: _alembic_tmp_runs", "table params already exists"):
        assert worker.advice(error) == half_built
    assert worker.advice("Detected out-of-date database schema (found version x)") == (
        other_version)
    for error in ("index params already exists", "table runs is locked", "", None):
        assert worker.advice(error) is None


def test_a_sync_report_in_one_line_and_as_json() -> None:
    report = worker.SyncReport(uploaded=3, failed=1, waiting=2)
    assert report.summary() == "3 uploaded, 1 failed, 2 waiting"
    assert report.to_dict() == {"uploaded": 3, "failed": 1, "waiting": 2, "errors": [],
                                "background": False, "ok": False}
    done = worker.SyncReport(uploaded=1, background=True)
    assert done.summary() == "1 uploaded, 0 failed, 0 waiting (background sync process)"
    assert done.ok and done.to_dict()["ok"] is True
    for not_done in (worker.SyncReport(failed=1), worker.SyncReport(waiting=1),
                     worker.SyncReport(errors=["x"])):
        assert not not_done.ok


def test_old_receipts_are_cleaned(spool: Spool) -> None:
    old, new = spool.done / "old.json", spool.done / "new.json"
    for path in (old, new):
        path.write_text("{}")
    week_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    assert worker.clean_receipts(spool) == 1
    assert not old.exists() and new.exists()


def test_leftovers_of_a_killed_kernel_are_cleaned(spool: Spool) -> None:
    old, new = spool.tmp / "abc.1.part", spool.tmp / "def.zip"
    for path in (old, new):
        path.write_bytes(b"half")
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    assert spool.clean_tmp() == 1
    assert not old.exists() and new.exists()


@pytest.mark.server
def test_server_outage_every_record_arrives_exactly_once(
    spool: Spool, make_record: MakeRecord, mlflow_server: MlflowServer
) -> None:
    """Records spooled while the server is down arrive once it is back, with nobody acting:
    the background process keeps retrying by itself."""
    uri = mlflow_server.url
    before = [make_record(uri) for _ in range(2)]
    worker.ensure_running(spool.root)
    wait_until(lambda: not spool.entries(), 60, "the records before the outage")

    mlflow_server.cut()
    during = [make_record(uri) for _ in range(3)]
    worker.ensure_running(spool.root)
    wait_until(lambda: spool.state().get("failing"), 30, "the sync process to notice the outage")
    info = worker.status(spool)
    assert info["running"] and info["failing"] and info["pending"] == 3
    assert "127.0.0.1" in info["last_error"]
    # A failing process must not exit when idle: it still retries after the idle timeout.
    first_error = float(info["last_error_at"])
    wait_until(lambda: float(spool.state()["last_error_at"]) > first_error + 2, 30,
               "a retry later than the idle timeout")
    assert worker.is_running(spool) and spool.state()["pid"] == info["pid"]

    mlflow_server.restore()
    wait_until(lambda: not spool.entries(), 90, "the records spooled during the outage")
    runs = runs_by_record(uri)
    assert sorted(runs) == sorted(record_ids(spool, before + during))
    assert all(len(r) == 1 and r[0].info.status == "FINISHED" for r in runs.values())
    assert not worker.status(spool)["failing"]


def test_record_waiting_for_its_git_state_is_held_then_amended(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri, environment=Environment("3.11.2", {}, None, git_pending=True))
    worker.ensure_running(spool.root)
    wait_until(lambda: f"holding {entry.name}" in log_text(spool), 30, "the record to be held")
    assert spool.entries() == [entry]

    record = spool.load(entry)
    record.environment.git = GitState("ab" * 20, "main", True)
    record.environment.git_pending = False
    assert spool.amend(entry, record, {"env/git.diff": b"-a\n+b\n"})
    wait_until(lambda: not spool.entries(), 30, "the amended record to upload")
    [[run]] = runs_by_record(sqlite_uri).values()
    assert run.data.tags["mlflow.source.git.commit"] == "ab" * 20
    artifacts = MlflowClient(sqlite_uri).list_artifacts(run.info.run_id, "env")
    assert "env/git.diff" in {a.path for a in artifacts}
    assert "nbmlops.warnings" not in run.data.tags


def test_foreground_sync_does_not_wait_for_a_git_state(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    make_record(sqlite_uri, environment=Environment("3.11.2", {}, None, git_pending=True))
    report = worker.drain(spool)
    assert report.uploaded == 1
    [[run]] = runs_by_record(sqlite_uri).values()
    assert "git state missing" in run.data.tags["nbmlops.warnings"]


def test_backoff_doubles_up_to_its_cap() -> None:
    waits, wait = [], 0.0
    for _ in range(8):
        wait = worker.next_backoff(wait, worker.BACKOFF_MAX)
        waits.append(wait)
    assert waits == [0.5, 1, 2, 4, 8, 15, 15, 15]
    assert worker.next_backoff(0.5, 1.0) == 1.0 and worker.next_backoff(1.0, 1.0) == 1.0


def test_the_sync_process_survives_a_failing_pass(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that fails outside any one record (here: its state file cannot be read, as on a
    broken disk) is logged; the process keeps serving and uploads what comes next."""
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "10")
    process = paused_sync_process(spool)
    first = make_record(sqlite_uri)
    spool.state_file.unlink()
    spool.state_file.mkdir()  # reading or replacing the state now fails
    process.resume()
    wait_until(lambda: "sync pass failed" in log_text(spool), 30, "the failing pass")
    assert spool.receipt(record_id_of(first)) is not None  # uploaded before the state write
    assert process.is_running() and worker.is_running(spool)

    spool.state_file.rmdir()
    second = make_record(sqlite_uri)
    wait_until(lambda: spool.receipt(record_id_of(second)), 30, "the next record")
    assert process.is_running() and len(runs_by_record(sqlite_uri)) == 2


# --- what people read: the status text, errors on one line ----------------------------------


def test_the_status_as_people_read_it() -> None:
    now = time.time()
    info = {"spool": "/s", "pending": 3, "oldest_pending_age_s": 12.4, "running": True,
            "pid": 42, "last_success_at": 0, "failed": 2, "last_error": "boom",
            "failing": True, "last_error_at": now - 5, "log": "/s/sync.log",
            "advice": "move it aside"}
    at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now - 5))
    assert worker.format_status(info) == "\n".join([
        "spool:        /s",
        "pending:      3 (oldest 12 s)",
        "sync process: running (pid 42)",
        "last upload:  never",
        "failed:       2 (nbmlops sync --retry-failed)",
        "last error:   boom (failing now)",
        f"              at {at} (5 s ago); log: /s/sync.log",
        "what to do:   move it aside",
    ])
    quiet = {**info, "pending": 0, "oldest_pending_age_s": None, "running": False, "failed": 0,
             "last_error": None, "advice": None, "last_success_at": now - 65}
    assert worker.format_status(quiet) == "\n".join([
        "spool:        /s",
        "pending:      0",
        "sync process: not running",
        f"last upload:  {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(now - 65))} (65 s ago)",
        "failed:       0",
    ])
    recovered = worker.format_status({**info, "failing": False})
    assert "last error:   boom\n" in recovered and "(failing now)" not in recovered


def test_an_error_on_one_line_with_its_mlflow_code() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

    assert worker._one_line(ValueError("bad\n  value\tthere")) == "ValueError: bad value there"
    assert worker._one_line(MlflowException("down", error_code=INTERNAL_ERROR)) == (
        "MlflowException(INTERNAL_ERROR): down")
    long = worker._one_line(OSError("x" * 600))
    assert len(long) == 500 and long == "OSError: " + "x" * 488 + "..."
    exact = worker._one_line(OSError("x" * 491))
    assert len(exact) == 500 and exact.endswith("x")
    assert worker._one_line(OSError("x" * 492)).endswith("x...")


def test_a_refused_record_is_counted_then_moved_and_an_outage_only_marks_failing(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    """One pass at a time, in this process: a record no retry can fix is tried
    MAX_ATTEMPTS times, then moved to failed/ with why; an unreachable store counts no
    attempt and marks the spool failing."""
    broken = make_record(sqlite_uri)
    rewrite_entry(broken, replace={RECORD_FILE: "{not json"})
    rid = record_id_of(broken)
    uploader = worker._Uploader(spool)
    for attempt in range(1, worker.MAX_ATTEMPTS):
        uploaded, [error], failing = uploader.run_pass()
        assert (uploaded, failing) == (0, set())
        assert error.startswith(f"{broken.name}: RecordRejected: unreadable record: ")
        state = spool.state()
        assert state["attempts"] == {rid: attempt} and state["failing_record"] == broken.name
        assert state["last_error"] == error and state["last_error_at"] <= time.time()
        assert not state.get("failing") and "last_failed" not in state
        assert spool.entries() == [broken]
        assert worker_said(caplog)[-1] == f"upload failed (permanent): {error}"
    _, [error], _ = uploader.run_pass()
    assert error.startswith(f"{broken.name}: RecordRejected: ")
    moved = spool.failed / broken.name
    assert error.endswith(f" (moved to {moved})") and moved.exists() and not spool.entries()
    state = spool.state()
    assert state["attempts"] == {} and state["last_failed"] == broken.name
    why = (spool.failed / f"{broken.name}{ERROR_SUFFIX}").read_text()
    assert why.startswith(f"{broken.name}: RecordRejected: unreadable record: ")
    assert f"attempts: {worker.MAX_ATTEMPTS}\n" in why

    down = f"http://127.0.0.1:{free_port()}"
    waiting = make_record(down)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # refused at once
    uploaded, [error], failing = uploader.run_pass()
    assert (uploaded, failing) == (0, {down}) and error.startswith(f"{waiting.name}: ")
    state = spool.state()
    assert state["failing"] is True and state["attempts"] == {}
    assert state["failing_at"] == state["last_error_at"]  # what a waiting drain looks at
    assert state["failing_record"] == waiting.name and spool.entries() == [waiting]
    assert worker_said(caplog)[-1] == f"upload failed (will retry): {error}"

    # An entry without its record is refused as such; a store not made yet is made.
    os.replace(waiting, spool.root / "waiting.zip.aside")
    empty = make_record(sqlite_uri)
    rewrite_entry(empty, drop=(RECORD_FILE,))
    fresh = make_record(f"sqlite:///{tmp_path}/new/mlflow.db")
    uploaded, [error], _ = uploader.run_pass()
    assert uploaded == 1 and spool.receipt(record_id_of(fresh)) is not None
    assert error == f"{empty.name}: RecordRejected: no record.json in the entry"
    assert spool.state()["failing"] is False  # no store failed this pass

    # A value MLflow refuses (a negative step: HTTP 400) counts an attempt like a bad record.
    invalid = make_record(sqlite_uri, metrics=[MetricPoint("loss", 1.0, 0, -1)])
    _, errors, failing = uploader.run_pass()
    assert errors[-1].startswith(f"{invalid.name}: ") and "INVALID_PARAMETER_VALUE" in errors[-1]
    assert failing == set() and spool.state()["attempts"][record_id_of(invalid)] == 1
    assert worker_said(caplog)[-1].startswith(f"upload failed (permanent): {invalid.name}: ")


def test_a_streamed_file_goes_into_the_entry_and_survives_an_amend(
    spool: Spool, sqlite_uri: str
) -> None:
    """Large files are written to ``tmp`` as they are made, copied into the entry in chunks,
    and copied again from the old entry when it is amended; nothing is left in ``tmp``."""
    from conftest import build_record

    record = build_record(sqlite_uri)
    staging = spool.stage(record)
    staging.write_text("code/cell.py", "x = 1\n")
    big = os.urandom(3 << 20)
    with staging.stream("nbmlops-models/m/model.pkl") as out:
        out.write(big[:1000])
        out.write(big[1000:])
    with pytest.raises(RuntimeError), staging.stream("nbmlops-models/n/model.pkl") as out:
        out.write(b"half")
        raise RuntimeError("the pickle failed half-way")
    entry = staging.commit()
    assert list(spool.tmp.iterdir()) == []
    assert spool.load(entry).artifacts == ["code/cell.py", "nbmlops-models/m/model.pkl"]
    with spool.unpacked(entry) as files:
        assert (files / "nbmlops-models" / "m" / "model.pkl").read_bytes() == big

    assert spool.amend(entry, spool.load(entry), {"env/git.diff": b"+a\n"})
    assert list(spool.tmp.iterdir()) == []
    with spool.unpacked(entry) as files:
        assert (files / "nbmlops-models" / "m" / "model.pkl").read_bytes() == big
        assert (files / "code" / "cell.py").read_text() == "x = 1\n"
        assert (files / "env" / "git.diff").read_bytes() == b"+a\n"
    assert spool.load(entry).artifacts == [
        "code/cell.py", "nbmlops-models/m/model.pkl", "env/git.diff"]
