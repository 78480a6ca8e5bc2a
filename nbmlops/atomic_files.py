"""Writing a file so that a reader, or a crash, sees the old file or the whole new one.

The spool's receipts and state, a job folder's files, a pipeline's up-to-date state and a job's
output notebook are all written this way; it lives below every stage so each can use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the entries of folder ``path`` (a rename into it) survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes | memoryview) -> None:
    """Write and fsync ``path``; a write that fails (a full disk) leaves no part of it."""
    try:
        with open(path, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_synced(tmp, data)
    os.replace(tmp, path)
    fsync_dir(path.parent)
