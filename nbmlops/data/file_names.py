"""How a run names a file: relative to the project root, so a clone on another machine, a
job's container or CI names the same file the same way; absolute only outside the project.

Runs recorded before named files by their absolute path: :func:`path_of` reads both, so an
old name of a file under the current root and a new one resolve to the same file.
Pure apart from resolving symbolic links; no MLflow.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from nbmlops.record import DataRecord


def name_of(path: str | os.PathLike[str], root: Path) -> str:
    """The name a run records for the file at ``path`` (absolute, or relative to the working
    folder): POSIX and relative to ``root`` when inside it, absolute otherwise."""
    absolute = Path(os.path.normpath(os.path.abspath(os.fspath(path))))
    pairs = [(absolute, root)]
    with contextlib.suppress(OSError, RuntimeError):  # a loop of links: the path as given
        pairs.append((absolute.resolve(), root.resolve()))
    for candidate, base in pairs:
        try:
            relative = candidate.relative_to(base)
        except ValueError:
            continue
        return relative.as_posix() if relative.parts else "."
    return absolute.as_posix()


def path_of(name: str, root: Path) -> str:
    """Where the file a run names ``name`` is now: under ``root`` for a project-relative
    name, as it is for an absolute one (runs recorded before, or files outside the project)."""
    if os.path.isabs(name) or PurePosixPath(name).is_absolute():
        return os.path.normpath(name)
    return os.path.normpath(os.path.join(root, *PurePosixPath(name).parts))


def key_of(name: str, root: Path) -> str:
    """One spelling per file, for comparing names recorded at different times: an old
    absolute name under ``root`` becomes the project-relative one."""
    return name_of(path_of(name, root), root)


def project_named(datasets: Iterable[DataRecord], root: Path) -> list[DataRecord]:
    """``datasets`` with the files among them named (and sourced) by :func:`name_of`; a file
    bound to a variable keeps the variable's name."""
    named = []
    for data in datasets:
        if data.kind in ("file", "directory") and os.path.isabs(data.source):
            name = name_of(data.source, root)
            if data.name == data.source:
                data.name = name
            data.source = name
        named.append(data)
    return named
