"""Reading a file whose path a user gave, or a walk of the disk found: a regular file only,
and only up to a size limit.

A named pipe called ``f.ipynb`` would block a plain ``open`` until something writes to it (a
server's worker thread, ``nbmlops assess``, forever), and ``/dev/zero`` linked as a notebook
never ends. The file is opened without blocking and checked on the descriptor itself
(``fstat``), so what is read is what was checked, even if the path is swapped meanwhile.

The errors are :class:`~nbmlops.exceptions.NbmlopsError` and ``OSError`` both: a caller that
already handles an unreadable file (``except OSError``) handles these the same way.
"""

from __future__ import annotations

import errno
import os
import stat

from nbmlops.exceptions import NbmlopsError

#: Largest notebook read (a notebook full of images is a few tens of MB).
MAX_NOTEBOOK_BYTES = 100 * 1024 * 1024
#: Largest settings, job, state or declaration file read (YAML, JSON, TOML, source).
MAX_TEXT_BYTES = 8 * 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(NbmlopsError, OSError):
    """A path that is no regular file, or a file over the size limit: not read."""

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}" if self.filename else str(self.strerror)


class NotARegularFile(UnreadableFile):
    """The path names a folder, a named pipe, a device or a socket."""


class FileTooLarge(UnreadableFile):
    """The file is larger than the caller reads."""


def kind_of(mode: int) -> str:
    """What a file of ``mode`` (``st_mode``) is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def is_regular(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a regular file (following symbolic links); never blocks."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def read_bytes(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES, *,
               head: bool = False) -> bytes:
    """The bytes of the regular file ``path``, refused when it is not one or holds more than
    ``limit`` bytes (with ``head``, its first ``limit`` bytes instead). Opening a named pipe
    this way never waits for a writer."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):  # said as the system says it
            raise NotARegularFile(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(errno.EINVAL, f"{kind_of(info.st_mode)}, not a file",
                                  os.fspath(path))
        if info.st_size > limit and not head:
            raise FileTooLarge(errno.EFBIG, _too_large(limit), os.fspath(path))
        chunks = []
        left = limit + (not head)  # a file growing while read still stops at the limit
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # it grew past the limit while read
        raise FileTooLarge(errno.EFBIG, _too_large(limit), os.fspath(path))
    return data


def read_text(path: str | os.PathLike[str], limit: int = MAX_TEXT_BYTES, *,
              errors: str = "strict", head: bool = False) -> str:
    """The UTF-8 text of the regular file ``path`` (see :func:`read_bytes`);
    ``UnicodeDecodeError`` when it is no UTF-8 and ``errors`` is ``"strict"``."""
    return read_bytes(path, limit, head=head).decode("utf-8", errors=errors)


def _too_large(limit: int) -> str:
    return f"larger than {limit // (1024 * 1024) or 1} MB, not read" if limit >= 1024 * 1024 \
        else f"larger than {limit:,} bytes, not read"
