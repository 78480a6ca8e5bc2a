"""The files a notebook reads and writes, from its code alone (``ast``, nothing runs).

For notebooks never tracked, this is what wires a pipeline. Which call reads and which
writes, and how a path is followed through names, f-strings, ``Path(...)`` and
``os.path.join``, is :mod:`nbmlops.track.file_calls` (the tracked cell uses the same rule);
here the names a notebook binds are carried from cell to cell. A path computed at run time is
not seen, and the tracked runs fill that gap.

Pure: notebook cells in, relative paths out; the caller makes them absolute.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from nbmlops.jobs.export.parameterize import cell_body
from nbmlops.track import file_calls


@dataclass(frozen=True)
class Found:
    path: str  # as the code writes it (relative to the notebook's working folder, or absolute)
    mode: str  # "read" | "write"
    call: str  # the function, as the reason shows it
    cell: int  # 1-based among all cells


def analyze(cells: Iterable[tuple[str, str]]) -> list[Found]:
    """The reads and writes of a notebook given as (cell type, source) pairs, in order."""
    env: dict[str, str] = {}
    found: list[Found] = []
    for number, (kind, source) in enumerate(cells, 1):
        if kind != "code":
            continue
        try:
            tree = ast.parse(cell_body(source))
        except (SyntaxError, ValueError):
            continue
        for stmt in tree.body:
            found += [Found(a.path, a.mode, a.call, number)
                      for a in file_calls.calls_in(stmt, env)]
            file_calls.bind(stmt, env)
    return list(dict.fromkeys(found))
