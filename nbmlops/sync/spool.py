"""The durable queue between a kernel and MLflow.

A record is one file: an uncompressed zip holding ``record.json`` and its artifact files. One
file means one fsync before the rename and one after, which is most of what a tracked cell
pays (seven fsyncs for a folder of files cost ~4 ms here, the single file ~0.8 ms).

Layout of a spool folder::

    tmp/<record_id>.zip          a record being written (never read by the sync process)
    tmp/<record_id>.<n>.part     a large file of it (a model's pickle), written as it is made
    pending/<ns>-<record_id>.zip complete records waiting for upload, oldest first
    failed/                      records MLflow refused for good, each with ``.error.txt``
    done/<record_id>.json        receipt written by the sync process (run id, experiment, link)
    state.json                   the sync process's last attempt and error
    sync.lock                    held by the one sync process serving this spool
    sync.log                     what the background sync process said
    wake                         touched to make a backing-off sync process try again now
    profiles/                    the data checks' baselines (nbmlops.track.baselines)

A record moves from ``tmp`` to ``pending`` by one ``rename`` after its content was fsynced,
so ``pending`` only ever holds whole records: a kernel that dies mid-write leaves at most a
stray file in ``tmp`` (the sync process removes it a day later), never a half record.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from nbmlops.atomic_files import fsync_dir, write_atomic
from nbmlops.exceptions import SpoolError
from nbmlops.record import RunRecord

RECORD_FILE = "record.json"
SUFFIX = ".zip"
ERROR_SUFFIX = ".error.txt"  # beside a failed record: why MLflow refused it
#: A file in ``tmp/`` untouched this long belongs to no record still being written.
TMP_MAX_AGE = 24 * 3600


def entry_name(created_ns: int, record_id: str) -> str:
    return f"{created_ns:020d}-{record_id}{SUFFIX}"


def entry_age(entry: Path) -> float:
    """Seconds since the entry was first spooled (from its name, so amending keeps it)."""
    try:
        return time.time() - int(entry.name.split("-", 1)[0]) / 1e9
    except ValueError:
        return float("inf")


def record_id_of(entry: Path) -> str:
    """The record id in a pending entry's name (``<ns>-<record_id>.zip``)."""
    name = entry.name.removesuffix(SUFFIX)
    return name.split("-", 1)[-1]


@dataclass(frozen=True)
class _Member:
    """A file of another entry, copied into this one when it is committed (amending)."""

    archive: Path
    name: str


#: Bytes held in memory; a part file in ``tmp`` (:meth:`Staging.stream`); an old member.
_Content = bytes | Path | _Member
_CHUNK = 1 << 20


class Staging:
    """A record's files while the tracker fills them (small ones in memory, large ones
    streamed to ``tmp``); :meth:`commit` publishes them as one entry."""

    def __init__(self, spool: Spool, record: RunRecord) -> None:
        self.spool = spool
        self.record = record
        self.files: dict[str, _Content] = {}
        self._parts = 0

    def write_text(self, relpath: str, text: str) -> None:
        self.write_bytes(relpath, text.encode("utf-8"))

    def write_bytes(self, relpath: str, data: bytes) -> None:
        self._put(relpath, data)

    @contextlib.contextmanager
    def stream(self, relpath: str) -> Iterator[BinaryIO]:
        """A file to write ``relpath`` into, on disk in ``tmp``: a model of gigabytes is
        never held in memory as well as in its object. What fails while it is written
        leaves no part of it."""
        self._parts += 1
        part = self.spool.tmp / f"{self.record.record_id}.{self._parts}.part"
        try:
            with open(part, "wb") as f:
                yield f
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        self._put(relpath, part)

    def _put(self, relpath: str, content: _Content) -> None:
        old = self.files.pop(relpath, None)
        if isinstance(old, Path) and old != content:
            old.unlink(missing_ok=True)
        self.files[relpath] = content

    def discard(self) -> None:
        """Remove the part files written so far."""
        for content in self.files.values():
            if isinstance(content, Path):
                content.unlink(missing_ok=True)

    def commit(self, target: Path | None = None) -> Path:
        """Write the entry to ``tmp``, fsync it, and move it into ``pending`` in one rename
        (over ``target`` when an existing entry is amended). Files are copied in chunks:
        the entry is never held in memory."""
        self.record.artifacts = list(self.files)
        tmp = self.spool.tmp / f"{self.record.record_id}{SUFFIX}"
        try:
            with open(tmp, "wb") as f:
                with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive, \
                        contextlib.ExitStack() as opened:
                    archive.writestr(RECORD_FILE, self.record.to_json())
                    sources: dict[Path, zipfile.ZipFile] = {}
                    for relpath, content in self.files.items():
                        if isinstance(content, bytes):
                            archive.writestr(relpath, content)
                        elif isinstance(content, Path):
                            archive.write(content, relpath)
                        else:
                            if content.archive not in sources:
                                sources[content.archive] = opened.enter_context(
                                    zipfile.ZipFile(content.archive))
                            _copy_member(sources[content.archive], content.name, archive,
                                         relpath)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            self.discard()
            raise
        self.discard()
        if target is None:
            target = self.spool.pending / entry_name(time.time_ns(), self.record.record_id)
        os.rename(tmp, target)
        fsync_dir(self.spool.pending)
        return target


def _copy_member(source: zipfile.ZipFile, name: str, archive: zipfile.ZipFile,
                 relpath: str) -> None:
    # A member written through open() must say up front whether it may pass 2 GiB.
    size = source.getinfo(name).file_size
    with source.open(name) as src, archive.open(
        relpath, "w", force_zip64=size >= zipfile.ZIP64_LIMIT
    ) as dst:
        shutil.copyfileobj(src, dst, _CHUNK)


class Spool:
    """A spool folder (see the module docstring for its layout)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.pending = self.root / "pending"
        self.done = self.root / "done"
        self.failed = self.root / "failed"
        self.state_file = self.root / "state.json"
        self.lock_file = self.root / "sync.lock"
        self.log_file = self.root / "sync.log"
        self.wake_file = self.root / "wake"
        self.profiles = self.root / "profiles"

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
            return sorted(p for p in self.pending.iterdir() if p.name.endswith(SUFFIX))
        except FileNotFoundError:
            return []

    def load(self, entry: Path) -> RunRecord:
        """The record of an entry; ``KeyError`` / ``BadZipFile`` when it is not one."""
        with zipfile.ZipFile(entry) as archive:
            return RunRecord.from_json(archive.read(RECORD_FILE).decode("utf-8"))

    @contextlib.contextmanager
    def unpacked(self, entry: Path) -> Iterator[Path]:
        """The entry's artifact files in a temporary folder (for uploaders that want paths)."""
        with tempfile.TemporaryDirectory(prefix="nbmlops-") as folder, zipfile.ZipFile(
            entry
        ) as archive:
            for name in archive.namelist():
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts or name == RECORD_FILE:
                    continue  # never write outside the folder, whatever the entry says
                target = Path(folder, *parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
            yield Path(folder)

    def amend(self, entry: Path, record: RunRecord, files: dict[str, bytes]) -> bool:
        """Replace a pending entry by ``record`` with its old files updated by ``files``;
        False when the entry is gone (already uploaded)."""
        try:
            with zipfile.ZipFile(entry) as archive:
                old = [n for n in archive.namelist() if n != RECORD_FILE]
        except FileNotFoundError:
            return False
        staging = Staging(self, record)
        staging.files = {**{n: _Member(entry, n) for n in old}, **files}
        staging.commit(target=entry)
        return True

    def failed_entries(self) -> list[Path]:
        """Records MLflow refused for good, oldest first."""
        try:
            return sorted(p for p in self.failed.iterdir() if p.name.endswith(SUFFIX))
        except FileNotFoundError:
            return []

    def fail(self, entry: Path, message: str, attempts: int) -> Path:
        """Move a pending entry to ``failed/``, with why beside it; returns its new path."""
        self.failed.mkdir(exist_ok=True)
        text = f"{message}\nattempts: {attempts}\nat: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
        write_atomic(self.failed / f"{entry.name}{ERROR_SUFFIX}", text.encode())
        target = self.failed / entry.name
        os.replace(entry, target)
        return target

    def retry_failed(self) -> int:
        """Move the records of ``failed/`` back to ``pending/``; returns how many."""
        entries = self.failed_entries()
        if entries:
            self.ensure()
        for entry in entries:
            os.replace(entry, self.pending / entry.name)
            (self.failed / f"{entry.name}{ERROR_SUFFIX}").unlink(missing_ok=True)
        return len(entries)

    def clean_receipts(self, max_age: float) -> int:
        """Delete receipts in ``done/`` older than ``max_age`` seconds; returns how many."""
        cutoff = time.time() - max_age
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for receipt in self.done.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if receipt.stat().st_mtime < cutoff:
                        receipt.unlink()
                        removed += 1
        return removed

    def clean_tmp(self, max_age: float = TMP_MAX_AGE) -> int:
        """Delete files in ``tmp/`` untouched for ``max_age`` seconds: what a kernel killed
        while writing a record left (a model's pickle may be gigabytes). Returns how many."""
        cutoff = time.time() - max_age
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for leftover in self.tmp.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                        leftover.unlink()
                        removed += 1
        return removed

    def complete(self, entry: Path, receipt: dict[str, Any]) -> None:
        """Called once MLflow has the record: leave a receipt, then drop the record."""
        write_atomic(self.done / f"{record_id_of(entry)}.json", json.dumps(receipt).encode())
        entry.unlink()

    def receipt(self, record_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.done / f"{record_id}.json").read_text()))
        except (FileNotFoundError, ValueError):
            return None

    def wake(self) -> None:
        """Ask the sync process to try again now rather than after its back-off."""
        with contextlib.suppress(OSError):
            self.wake_file.touch()

    def woken_since(self, when: float) -> bool:
        try:
            return self.wake_file.stat().st_mtime >= when
        except OSError:
            return False

    def state(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except (FileNotFoundError, ValueError):
            return {}

    def set_state(self, **values: Any) -> None:
        write_atomic(self.state_file, json.dumps({**self.state(), **values}).encode())
