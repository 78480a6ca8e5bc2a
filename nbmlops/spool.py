"""The durable queue between a kernel and MLflow.

Layout of a spool folder::

    tmp/<record_id>/            a record being written (never read by the sync process)
    pending/<ns>-<record_id>/   record.json + artifact files, complete, waiting for upload
    done/<record_id>.json       receipt written by the sync process (run id, experiment, link)
    state.json                  the sync process's last attempt and error
    sync.lock                   held by the one sync process serving this spool

A record moves from ``tmp`` to ``pending`` by one ``rename`` after every file in it and the
folder itself were fsynced, so ``pending`` only ever holds whole records: a kernel that dies
mid-write leaves at most a stray ``tmp`` folder, never a half record.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from nbmlops.exceptions import SpoolError
from nbmlops.record import RunRecord

RECORD_FILE = "record.json"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class Staging:
    """A record's folder while the tracker fills it; :meth:`commit` publishes it."""

    def __init__(self, spool: Spool, record: RunRecord) -> None:
        self.spool = spool
        self.record = record
        self.folder = spool.tmp / record.record_id
        self.folder.mkdir(parents=True)
        self._files: list[str] = []

    def path(self, relpath: str) -> Path:
        """A path inside the record for a writer that wants a file name (``savefig``);
        call :meth:`add` once the file is written."""
        target = self.folder / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add(self, relpath: str) -> None:
        if relpath not in self._files:
            self._files.append(relpath)

    def write_text(self, relpath: str, text: str) -> None:
        self.write_bytes(relpath, text.encode("utf-8"))

    def write_bytes(self, relpath: str, data: bytes) -> None:
        self.path(relpath).write_bytes(data)
        self.add(relpath)

    def commit(self) -> Path:
        """fsync everything, then move the whole record into ``pending`` in one rename."""
        self.record.artifacts = list(self._files)
        (self.folder / RECORD_FILE).write_text(self.record.to_json(), encoding="utf-8")
        for relpath in [*self._files, RECORD_FILE]:
            with open(self.folder / relpath, "rb") as f:
                os.fsync(f.fileno())
        for sub in {(self.folder / r).parent for r in self._files} | {self.folder}:
            _fsync_dir(sub)
        target = self.spool.pending / f"{time.time_ns():020d}-{self.record.record_id}"
        os.rename(self.folder, target)
        _fsync_dir(self.spool.pending)
        return target

    def abort(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class Spool:
    """A spool folder (see the module docstring for its layout)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.pending = self.root / "pending"
        self.done = self.root / "done"
        self.state_file = self.root / "state.json"
        self.lock_file = self.root / "sync.lock"

    def ensure(self) -> Spool:
        try:
            for folder in (self.tmp, self.pending, self.done):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpoolError(f"cannot create the spool at {self.root}: {e.strerror}") from None
        return self

    def stage(self, record: RunRecord) -> Staging:
        return Staging(self.ensure(), record)

    def entries(self) -> list[Path]:
        """Complete records waiting for upload, oldest first."""
        try:
            return sorted(p for p in self.pending.iterdir() if not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def load(self, entry: Path) -> RunRecord:
        return RunRecord.from_json((entry / RECORD_FILE).read_text(encoding="utf-8"))

    def complete(self, entry: Path, receipt: dict[str, Any]) -> None:
        """Called once MLflow has the record: leave a receipt, then drop the record."""
        record_id = entry.name.split("-", 1)[1]
        write_atomic(self.done / f"{record_id}.json", json.dumps(receipt).encode())
        shutil.rmtree(entry)

    def receipt(self, record_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.done / f"{record_id}.json").read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def set_state(self, **values: Any) -> None:
        write_atomic(self.state_file, json.dumps({**self.state(), **values}).encode())
