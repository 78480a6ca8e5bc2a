"""Files and folders: the XXH3-128 of a file's bytes, a folder's from its files' relative paths
and digests, and the caches that keep an unchanged file from being read again.

Files are cached by (path, size, mtime, ctime, inode): in memory for the process, and for files
of 1 MiB or more in a small sqlite file in the user cache folder (``NBMLOPS_CACHE`` overrides
it) for every process of the user. A file written within the last two seconds is not cached.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
import time
from collections import OrderedDict
from typing import Any

import xxhash

from nbmlops import config
from nbmlops.data.fingerprints.stream import _Hasher
from nbmlops.exceptions import FingerprintError

#: Bytes read per ``readinto`` when hashing a file.
_FILE_CHUNK = 1 << 20
#: File fingerprints kept in memory.
_FILE_CACHE_SIZE = 4096
#: Files at least this big also have their fingerprint kept on disk, across processes:
#: hashing a smaller one costs less than the lookup.
_DISK_CACHE_MIN = 1 << 20
#: A file modified this recently may change again within the file system's timestamp
#: granularity (coarse kernel clock, 2 s on FAT) without changing its mtime, so its
#: fingerprint is not cached (git's "racy clean" problem).
_RACY_NS = 2_000_000_000


_file_cache: OrderedDict[tuple[Any, ...], str] = OrderedDict()
_file_lock = threading.Lock()


def fingerprint_file(path: str | os.PathLike[str]) -> str:
    """XXH3-128 of a file's bytes (hex), or of the sorted (relative path, fingerprint) pairs
    of the files below a folder. Unchanged files are not read again in this process."""
    absolute = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(absolute)
        if stat.S_ISDIR(st.st_mode):
            h = _Hasher()
            h.text("nbmlops-directory-1")
            for rel, sub in _walk(absolute):
                h.text(rel)
                h.raw(bytes.fromhex(_file_digest(os.path.join(absolute, rel), sub)))
            return h.h.hexdigest()
        if not stat.S_ISREG(st.st_mode):
            raise FingerprintError(f"not a regular file: {absolute}")
        return _file_digest(absolute, st)
    except OSError as e:
        raise FingerprintError(f"cannot read {absolute}: {e.strerror or e}") from None


def _walk(root: str) -> list[tuple[str, os.stat_result]]:
    """Regular files below ``root`` as (relative POSIX path, stat), sorted by path."""
    found: list[tuple[str, os.stat_result]] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            st = os.stat(full)
            if stat.S_ISREG(st.st_mode):
                found.append((os.path.relpath(full, root).replace(os.sep, "/"), st))
    found.sort(key=lambda item: item[0])
    return found


def _file_key(path: str, st: os.stat_result) -> tuple[Any, ...]:
    # ctime and inode catch a rewrite or replacement that kept size and mtime (``touch -r``,
    # ``cp -p``, an atomic rename over the file).
    return (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def _file_digest(path: str, st: os.stat_result) -> str:
    key = _file_key(path, st)
    with _file_lock:
        cached = _file_cache.get(key)
        if cached is not None:
            _file_cache.move_to_end(key)
            return cached
    disk = _disk_cache() if st.st_size >= _DISK_CACHE_MIN else None
    if disk is not None:
        cached = disk.get(path, key)
        if cached is not None:
            _remember(key, cached)
            return cached
    h = xxhash.xxh3_128()
    buf = bytearray(_FILE_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
        after = os.fstat(f.fileno())
    digest = h.hexdigest()
    stable = _file_key(path, after) == key  # not written to while we read it
    if stable and time.time_ns() - st.st_mtime_ns > _RACY_NS:
        _remember(key, digest)
        if disk is not None:
            disk.put(path, key, digest)
    return digest


def _remember(key: tuple[Any, ...], digest: str) -> None:
    with _file_lock:
        _file_cache[key] = digest
        while len(_file_cache) > _FILE_CACHE_SIZE:
            _file_cache.popitem(last=False)


def clear_file_cache(*, disk: bool = False) -> None:
    """Forget every cached file fingerprint of this process (and, with ``disk=True``, the
    ones kept on disk for every process)."""
    with _file_lock:
        _file_cache.clear()
    if disk:
        cache = _disk_cache()
        if cache is not None:
            cache.clear()


class _DiskCache:
    """File fingerprints shared by every process of the user: one sqlite row per path.

    A cache only: any error (a read-only or corrupt file, a lock held too long) makes it
    answer "not cached" and the file is hashed again. WAL with ``synchronous=NORMAL`` makes a
    write cost no fsync, and a row lost in a crash is only a file read again.
    """

    #: Rows kept; the oldest go first (one row per path, so this bounds the file to ~2 MB).
    MAX_ROWS = 10_000

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: Any = None
        self._failed = False
        self._puts = 0
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        if self._db is None and not self._failed:
            try:
                import sqlite3

                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                db = sqlite3.connect(
                    self.path, timeout=0.5, isolation_level=None, check_same_thread=False
                )
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, "
                    "stat TEXT NOT NULL, digest TEXT NOT NULL, stored REAL NOT NULL)"
                )
                self._db = db
            except Exception:
                self._failed = True
        return self._db

    @staticmethod
    def _stat_text(key: tuple[Any, ...]) -> str:
        return ":".join(str(part) for part in key[1:])

    def get(self, path: str, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            db = self._connect()
            if db is None:
                return None
            try:
                row = db.execute(
                    "SELECT stat, digest FROM files WHERE path = ?", (path,)
                ).fetchone()
            except Exception:
                return None
        return str(row[1]) if row is not None and row[0] == self._stat_text(key) else None

    def put(self, path: str, key: tuple[Any, ...], digest: str) -> None:
        with self._lock:
            db = self._connect()
            if db is None:
                return
            try:
                db.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                    (path, self._stat_text(key), digest, time.time()),
                )
                self._puts += 1
                if self._puts % 256 == 1:
                    db.execute(
                        "DELETE FROM files WHERE path IN (SELECT path FROM files "
                        "ORDER BY stored DESC LIMIT -1 OFFSET ?)",
                        (self.MAX_ROWS,),
                    )
            except Exception:
                pass

    def clear(self) -> None:
        with self._lock:
            db = self._connect()
            if db is not None:
                with contextlib.suppress(Exception):
                    db.execute("DELETE FROM files")


_disk_caches: dict[str, _DiskCache] = {}


def _disk_cache() -> _DiskCache | None:
    """The cache in ``NBMLOPS_CACHE`` or the user's cache folder (None if neither is known)."""
    folder = config.fingerprint_cache_dir()
    if folder is None:
        return None
    path = os.path.join(folder, "file-fingerprints.sqlite")
    cache = _disk_caches.get(path)
    if cache is None:
        cache = _disk_caches[path] = _DiskCache(path)
    return cache
