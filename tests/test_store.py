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


def test_making_a_store_says_nothing_in_the_output(tmp_path: Path) -> None:
    # The cell or job that uploads first would show MLflow's "Creating initial MLflow
    # database tables..." among its own output.
    made = subprocess.run([sys.executable, "-c", "import sys\nfrom nbmlops import store\n"
                           "store.client(sys.argv[1], create=True).search_experiments()",
                           f"sqlite:///{tmp_path / 'new.db'}"],
                          capture_output=True, text=True, timeout=300, check=True)
    assert (tmp_path / "new.db").is_file()
    assert "database tables" not in made.stderr + made.stdout, made.stderr


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]  # no lock left beside


def building(folder: Path) -> list[Path]:
    """The database files being built in ``folder``: aside, or in place."""
    return [p for p in folder.iterdir()
            if p.name == "mlflow.db" or (p.name.startswith(".mlflow.db.")
                                         and p.name.endswith(".creating"))]


# Where the kill lands, as seen from outside: the lock taken (MLflow still importing), the
# database file made (its first tables on the way), the migrations well under way (the file
# holds more than its first tables; the whole store is about 1 MB).
STAGES = {
    "lock": lambda d: (d / ".mlflow.db.lock").exists(),
    "file": lambda d: bool(building(d)),
    "migrations": lambda d: any(p.stat().st_size >= 64 * 1024 for p in building(d)),
}


def kill_at(proc: subprocess.Popen[str], folder: Path, stage: str) -> None:
    """SIGKILL ``proc`` as soon as its making of the store is seen to have reached ``stage``."""
    deadline = time.monotonic() + 180
    while True:
        try:
            reached = STAGES[stage](folder)
        except FileNotFoundError:  # renamed or removed while looked at
            reached = False
        if reached:
            break
        if proc.poll() is not None:
            pytest.fail(f"the process ended before its store reached {stage!r}: "
                        f"{proc.communicate()[1][-2000:]}")
        assert time.monotonic() < deadline, f"the store's making never reached {stage!r}"
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_process_killed_while_making_the_store_leaves_none_broken(
    tmp_path: Path, stage: str
) -> None:
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    proc = subprocess.Popen([sys.executable, "-c", FIRST_UPLOAD, uri, "killed"],
                            stderr=subprocess.PIPE, text=True)
    kill_at(proc, tmp_path, stage)
    # Killed half-way (each stage is seconds before the end), it left no store at all: not
    # one half-built, which later calls would reject or, worse, take as whole.
    assert not db.exists(), f"a store was left by a process killed half-way ({stage})"
    # The next one builds it (or finds it whole) and works.
    done = subprocess.run([sys.executable, "-c", FIRST_UPLOAD, uri, "next"],
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    assert healthy(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]  # nothing left beside
