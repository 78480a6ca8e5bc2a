"""Opening MLflow: a new embedded store is built whole or not at all, whoever races to build it
and whatever kills them meanwhile; a store not made yet is never made by reading it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nbmlops import store
from nbmlops.exceptions import StoreNotFound

# A sync process's first upload to a store nobody made yet, in a process of its own.
FIRST_UPLOAD = """
import sys
from nbmlops import store
client = store.client(sys.argv[1], create=True)
experiment = client.create_experiment(f"e-{sys.argv[2]}")
client.create_run(experiment)
"""


def healthy(db: Path) -> bool:
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    return "experiments" in tables and not any(t.startswith("_alembic_tmp") for t in tables)


def test_reading_never_makes_a_store(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}"
    with pytest.raises(StoreNotFound):
        store.client(uri)
    assert not (tmp_path / "none").exists()


def test_processes_racing_to_make_one_store_all_use_it(tmp_path: Path) -> None:
    # Three are enough: without the lock, or building in place, this fails every time.
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    procs = [subprocess.Popen([sys.executable, "-c", FIRST_UPLOAD, uri, str(i)],
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
    assert healthy(db)
    names = {e.name for e in store.client(uri).search_experiments()}
    assert {f"e-{i}" for i in range(3)} <= names
    # No lock left beside (the open store's own -wal and -shm belong to sqlite)
    beside = {p.name for p in tmp_path.iterdir()} - {"mlflow.db-wal", "mlflow.db-shm"}
    assert beside == {"mlflow.db"}


@pytest.mark.parametrize("after", [0.3, 0.8, 1.5])
def test_a_process_killed_while_making_the_store_leaves_none_broken(
    tmp_path: Path, after: float
) -> None:
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", FIRST_UPLOAD, uri, "killed"])
    time.sleep(after)  # somewhere in MLflow's import or its migrations
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not db.exists() or healthy(db)
    # The next one builds it (or finds it whole) and works.
    done = subprocess.run([sys.executable, "-c", FIRST_UPLOAD, uri, "next"],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert healthy(db)
    assert not list(tmp_path.glob(".mlflow.db.*.creating"))
