"""``nbmlops sync`` and ``nbmlops status`` as a user runs them: the console script, a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient
from mlflow_server import free_port

from nbmlops import cli
from nbmlops.sync.spool import Spool

MakeRecord = Callable[..., Path]
SCRIPT = Path(sys.executable).with_name("nbmlops")


def nbmlops(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (the entry point pyproject declares)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "nbmlops.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_sync_uploads_and_status_reports(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, tmp_path: Path
) -> None:
    for _ in range(2):
        make_record(sqlite_uri)
    # No --spool: NBMLOPS_SPOOL (set by the fixture) is the default, as for a user.
    status = nbmlops("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert (info["spool"], info["pending"], info["running"]) == (str(spool.root), 2, False)

    done = nbmlops("sync", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "2 uploaded, 0 failed, 0 waiting"
    assert "View run" not in done.stdout  # MLflow's own printing is off
    exp = MlflowClient(sqlite_uri).get_experiment_by_name("notebooks/train.ipynb")
    assert exp is not None
    assert len(MlflowClient(sqlite_uri).search_runs([exp.experiment_id])) == 2

    text = nbmlops("status", "--spool", str(spool.root))
    assert text.returncode == 0
    assert "pending:      0" in text.stdout and "sync process: not running" in text.stdout
    assert "last upload:  20" in text.stdout


def test_sync_with_an_unreachable_server_says_why(spool: Spool, make_record: MakeRecord) -> None:
    make_record(f"http://127.0.0.1:{free_port()}")
    done = nbmlops("sync", "--spool", str(spool.root), "--timeout", "20", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert (report["uploaded"], report["waiting"], report["ok"]) == (0, 1, False)
    assert "127.0.0.1" in report["errors"][0]
    status = nbmlops("status", "--spool", str(spool.root))
    assert "(failing now)" in status.stdout and "last error:" in status.stdout


@pytest.mark.parametrize("command", ["sync", "status"])
def test_spool_that_is_a_file_is_a_one_line_error(tmp_path: Path, command: str) -> None:
    not_a_folder = tmp_path / "spool.txt"
    not_a_folder.write_text("")
    done = nbmlops(command, "--spool", str(not_a_folder))
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("nbmlops: error: ") and "spool.txt" in line


def test_retry_failed_requeues(spool: Spool, sqlite_uri: str, make_record: MakeRecord) -> None:
    entry = make_record(sqlite_uri)
    failed = spool.root / "failed"
    failed.mkdir()
    os.replace(entry, failed / entry.name)
    (failed / f"{entry.name}.error.txt").write_text("boom")
    assert "failed:       1" in nbmlops("status").stdout
    done = nbmlops("sync", "--retry-failed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == [
        "1 failed record(s) put back in the queue",
        "1 uploaded, 0 failed, 0 waiting",
    ]


def test_commands_are_registered_in_one_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert {"sync", "status"} <= set(cli.COMMANDS)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "sync" in out and "status" in out


def test_sync_the_moment_the_server_is_back_uploads_at_once(
    spool: Spool, make_record: MakeRecord, mlflow_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.sync import worker

    monkeypatch.setenv("NBMLOPS_SYNC_MAX_BACKOFF", "300")  # the process would wait minutes
    mlflow_server.cut()
    for _ in range(3):
        make_record(mlflow_server.url)
    assert worker.ensure_running(spool.root)

    def last_error_at() -> float:
        return float(spool.state().get("last_error_at") or 0)

    deadline = time.monotonic() + 90
    while not last_error_at():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first = last_error_at()
    while last_error_at() - first < 15:  # backed off 0.5 + 1 + 2 + 4 + 8 s: next is 16 s
        assert time.monotonic() < deadline, spool.state()
        time.sleep(0.1)
    mlflow_server.restore()
    # Shorter than the process's back-off: it must be woken to try again now. (Room for a
    # busy machine: this timeout stays under 16 s.)
    done = nbmlops("sync", "--spool", str(spool.root), "--timeout", "10", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["waiting"] == 0
    assert not spool.entries()


def test_status_says_what_to_do_with_a_store_mlflow_refuses(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    import sqlite3

    db = sqlite_uri.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:  # as an older MLflow would have left it
        conn.execute("update alembic_version set version_num = '451aebb31d03'")
    make_record(sqlite_uri)
    done = nbmlops("sync", "--spool", str(spool.root), "--timeout", "20")
    assert done.returncode == 1 and "out-of-date database schema" in done.stdout
    status = nbmlops("status", "--spool", str(spool.root))
    assert "what to do:   the store was made by another MLflow version" in status.stdout
    assert "mlflow db upgrade" in status.stdout


def test_a_half_built_store_is_moved_aside() -> None:
    from nbmlops.sync.worker import advice

    said = advice("x.zip: (sqlite3.OperationalError) table _alembic_tmp_params already exists")
    assert said is not None and "move its file aside" in said
    assert advice("connection refused") is None and advice(None) is None
