"""A notebook file's cells, and which of them are ``%%track`` cells: the one reader of a
notebook's JSON for the sidebar's server, a pipeline's up-to-date check, reproduce and assess.

A cell is tracked when the magic would track it (:func:`nbmlops.track.line.split_cell`:
``%%track`` alone or followed by its options, never ``%%tracking``), and its line is read by the
magic's own parser, so every reader sees the cells, run names and options the kernel does.
Only the JSON is read (no nbformat validation): a notebook saved by any tool, or half-edited
by hand, still shows its cells. No kernel, no MLflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import regular_files
from nbmlops.exceptions import NbmlopsError, NotebookNotFound, TrackLineError
from nbmlops.track import line as track_line

__all__ = ["Cell", "TrackedCell", "cells_of", "loads", "read", "read_json", "tracked",
           "tracked_cells"]


@dataclass(frozen=True)
class Cell:
    """One cell of a notebook, its source as one string."""

    index: int  # 0-based, among all the notebook's cells
    cell_type: str
    source: str
    cell_id: str | None = None
    execution_count: int | None = None
    #: The cell's JSON object in the notebook it was read from: editing it edits that notebook.
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class TrackedCell:
    """A ``%%track`` cell: its options parsed as the magic parses them."""

    cell: Cell
    line: str  # the options after ``%%track`` (may be empty)
    body: str  # the code under the magic's line
    options: track_line.TrackOptions | None  # None when the line does not parse
    problem: str | None = None  # why it does not (the magic refuses to run the cell)

    @property
    def index(self) -> int:
        return self.cell.index

    @property
    def cell_id(self) -> str | None:
        return self.cell.cell_id

    @property
    def source(self) -> str:
        return self.cell.source

    @property
    def run_name(self) -> str:
        """The name its runs get: ``%%track NAME``, else ``cell-<cell id>``."""
        name = self.options.name if self.options else None
        return name or track_line.default_run_name(self.cell_id)


def loads(text: str, name: str = "the notebook") -> dict[str, Any]:
    """A notebook's JSON; :class:`NbmlopsError` when ``text`` is none."""
    try:
        nb = json.loads(text)
    except ValueError as e:
        raise NbmlopsError(f"cannot read {name}: {e}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise NbmlopsError(f"cannot read {name}: not a notebook")
    return nb


def cells_of(nb: Mapping[str, Any]) -> list[Cell]:
    """The cells of a notebook's JSON (``loads``), in order; entries that are no cell are
    left out, their indexes kept."""
    found = []
    for index, raw in enumerate(nb.get("cells", [])):
        if not isinstance(raw, dict):
            continue
        source = raw.get("source", "")
        count = raw.get("execution_count")
        cell_id = raw.get("id")
        found.append(Cell(
            index=index,
            cell_type=str(raw.get("cell_type", "")),
            source="".join(source) if isinstance(source, list) else str(source),
            cell_id=cell_id if isinstance(cell_id, str) else None,
            execution_count=count if isinstance(count, int) else None,
            raw=raw,
        ))
    return found


def read_json(path: Path) -> dict[str, Any]:
    """The JSON of the notebook file ``path``: :class:`NotebookNotFound` when there is none,
    :class:`NbmlopsError` when it cannot be read as a notebook."""
    try:
        text = regular_files.read_text(path, regular_files.MAX_NOTEBOOK_BYTES)
    except FileNotFoundError:
        raise NotebookNotFound(f"no notebook {path.name!r}") from None
    except regular_files.UnreadableFile as e:  # a pipe, a device, a folder, too large
        raise NbmlopsError(f"cannot read {path.name}: {e.strerror}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise NbmlopsError(f"cannot read {path.name}: {e}") from None
    return loads(text, path.name)


def read(path: Path) -> list[Cell]:
    """The cells of the notebook file ``path`` (errors as :func:`read_json`)."""
    return cells_of(read_json(path))


def tracked(cells: Iterable[Cell]) -> list[TrackedCell]:
    """The ``%%track`` code cells among ``cells``, in order; a malformed line is kept with
    its problem rather than raised, so one bad cell hides no other."""
    found = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        split = track_line.split_cell(cell.source)
        if split is None:
            continue
        line, body = split
        try:
            found.append(TrackedCell(cell, line, body, track_line.parse(line)))
        except TrackLineError as e:
            found.append(TrackedCell(cell, line, body, None, str(e)))
    return found


def tracked_cells(path: Path) -> list[TrackedCell]:
    """The ``%%track`` cells of the notebook file ``path`` (errors as :func:`read`)."""
    return tracked(read(path))
