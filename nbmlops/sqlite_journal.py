"""The journal of an embedded ``sqlite:///`` store: write-ahead logging where it is safe.

In SQLite's default (rollback journal) mode every commit syncs the database and its journal
several times and a writer blocks every reader; a sync pass makes about five commits per run,
so uploads and the sidebar's reads wait on the disk and on each other. In WAL mode a commit
appends to ``<db>-wal`` with one sync and readers go on while the sync process writes. MLflow
reads and writes such a store unchanged (the mode is a flag in the file).

WAL needs shared memory between the processes that open the file, which network file systems
do not give: the mode is set only on file systems known to be local (``/proc/mounts``), and
left as it is elsewhere. Only while a writer (the sync process, ``nbmlops run``) is at work:
after a pass it folds the log back into the database file (:func:`checkpoint`), so a copy of
``mlflow.db`` alone holds every run, and when it exits the store goes back to rollback mode.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from urllib.request import pathname2url

#: File systems whose processes share memory-mapped files, as WAL's index needs.
LOCAL_FILE_SYSTEMS = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "f2fs", "zfs", "overlay", "jfs", "reiserfs",
    "bcachefs", "apfs", "hfs", "ntfs", "ntfs3",
})
MOUNTS = Path("/proc/mounts")
_TIMEOUT = 1.0  # seconds to wait for another process's write before giving up quietly


def file_system_of(path: Path, mounts: str | None = None) -> str | None:
    """The type of the file system holding ``path``, from ``/proc/mounts`` (None off Linux)."""
    if mounts is None:
        try:
            mounts = MOUNTS.read_text()
        except OSError:
            return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):  # the deepest mount point holds it
            best, kind = point, fields[2]
    return kind


def is_local(path: Path, mounts: str | None = None) -> bool:
    return file_system_of(path, mounts) in LOCAL_FILE_SYSTEMS


@lru_cache(maxsize=64)
def use_wal(db: Path) -> bool:
    """Put the store ``db`` in WAL mode if its file system is local; whether it is in it now.

    Once per process and store. A store another process is writing stays as it is this time
    (the next writer tries again); nothing here raises.
    """
    if not is_local(db.parent):
        return False
    _close_at_exit()
    with contextlib.suppress(sqlite3.Error, OSError), _connect(db) as connection:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()
        if bool(mode) and str(mode[0]).lower() == "wal":
            _switched.add(db)
            return True
    return False


#: MLflow's open sqlite connections in this process, by id: closed when the process exits.
_open: dict[int, sqlite3.Connection] = {}
#: Stores this process put in WAL mode: back in rollback mode when it exits.
_switched: set[Path] = set()


@lru_cache(maxsize=1)
def _close_at_exit() -> None:
    """Close MLflow's pooled connections when the process exits: the last connection to close
    folds the log into the store and removes ``-wal`` and ``-shm``, which a process that just
    ends leaves beside ``mlflow.db`` (with runs that a copy of the file alone would miss)."""
    import atexit

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    def opened(connection: object, _record: object) -> None:
        if isinstance(connection, sqlite3.Connection):
            _open[id(connection)] = connection

    def closed(connection: object, _record: object) -> None:
        _open.pop(id(connection), None)

    event.listen(Engine, "connect", opened)
    event.listen(Pool, "close", closed)
    event.listen(Pool, "close_detached", closed)
    atexit.register(close_all)


def close_all() -> None:
    """Close MLflow's connections, then put the stores this process switched back in rollback
    mode, so a store at rest is one file any reader opens: WAL needs write access to the
    folder even to read (its ``-shm``), which a teammate or a read-only mount may not have.
    A store another process still has open stays in WAL; the last writer to leave switches it.
    """
    for connection in list(_open.values()):
        with contextlib.suppress(sqlite3.Error):
            connection.close()
    _open.clear()
    for db in list(_switched):
        with contextlib.suppress(sqlite3.Error, OSError), _connect(db) as connection:
            connection.execute("PRAGMA journal_mode=DELETE")
    _switched.clear()


def checkpoint(db: Path) -> None:
    """Fold the write-ahead log into ``db`` and empty it; a no-op in rollback mode."""
    with contextlib.suppress(sqlite3.Error, OSError), _connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@contextlib.contextmanager
def _connect(db: Path) -> Iterator[sqlite3.Connection]:
    # mode=rw: a store that is not there is an error, never a new empty file
    connection = sqlite3.connect(f"file:{pathname2url(str(db))}?mode=rw", uri=True,
                                 timeout=_TIMEOUT)
    try:
        yield connection
    finally:
        connection.close()
