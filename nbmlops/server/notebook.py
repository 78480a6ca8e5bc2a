"""What the sidebar needs to know of one notebook: where its runs are and its tracked cells.

A notebook is named by its path relative to the Jupyter server's root (as JupyterLab names
it). Its project root, tracking URI, experiment and MLflow UI address are resolved exactly as
the kernel resolves them for ``%%track`` (:mod:`nbmlops.config`, :mod:`nbmlops.track.location`), so
the sidebar reads the store the notebook's cells write to.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.exceptions import NbmlopsError, NotebookNotFound, OutsideRoot
from nbmlops.track import location
from nbmlops.track.environment import strip_credentials

TRACK = "%%track"


@dataclass
class TrackedCell:
    """A ``%%track`` cell of the notebook, as its runs will be named."""

    index: int
    cell_id: str | None
    run_name: str  # the ``%%track NAME``, else ``cell-<cell id>``
    named: bool  # whether NAME was given (else run names follow the cell id)
    experiment: str | None  # ``--experiment`` when the cell overrides the notebook's
    first_line: str  # the first line of code under the magic, for a label


@dataclass
class Where:
    """Where a notebook's runs go."""

    path: str | None  # relative to the server root, posix
    project_root: Path
    tracking_uri: str
    experiment: str
    ui_url: str | None
    cells: list[TrackedCell] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """What the browser may see: no credentials in URIs, no absolute server paths."""
        return {
            "path": self.path,
            "experiment": self.experiment,
            "tracking_uri": strip_credentials(self.tracking_uri),
            "ui_url": self.ui_url,
            "cells": [c.__dict__ for c in self.cells],
        }


def inside(root: str | Path, path: str) -> Path:
    """``path`` (relative to ``root``, as JupyterLab names files) as an absolute path;
    :class:`OutsideRoot` when it leaves ``root`` (``..``, absolute paths, symlinks out)."""
    base = Path(root).resolve()
    candidate = (base / path.lstrip("/")).resolve()
    if candidate != base and base not in candidate.parents:
        raise OutsideRoot(f"{path!r} is outside the server's root folder")
    return candidate


def resolve(server_root: str | Path, path: str | None) -> Where:
    """Where the notebook at ``path`` (or, without one, the server root's project) writes
    its runs; its tracked cells when the file exists."""
    if not path:
        root = config.project_root(Path(server_root))
        uri = config.tracking_uri(root)
        experiment = str(config.project_config(root).get("experiment") or "")
        return Where(None, root, uri, experiment, config.ui_url(root, uri))
    notebook = inside(server_root, path)
    root = config.project_root(notebook.parent)
    uri = config.tracking_uri(root)
    experiment = str(config.project_config(root).get("experiment") or "") or (
        location.experiment_name(str(notebook), root)
    )
    cells = tracked_cells(notebook) if notebook.suffix == ".ipynb" else []
    relative = notebook.relative_to(Path(server_root).resolve()).as_posix()
    return Where(relative, root, uri, experiment, config.ui_url(root, uri), cells)


def tracked_cells(notebook: Path) -> list[TrackedCell]:
    """The ``%%track`` cells of a notebook file, in order."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotebookNotFound(f"no notebook {notebook.name!r}") from None
    except (OSError, ValueError) as e:
        raise NbmlopsError(f"cannot read {notebook.name}: {e}") from None
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        first, _, body = text.lstrip().partition("\n")
        if not first.startswith(TRACK) or first[len(TRACK):len(TRACK) + 1] not in ("", " "):
            continue
        name, experiment = parse_track_line(first[len(TRACK):])
        cell_id = cell.get("id")
        code_line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
        cells.append(TrackedCell(
            index=index,
            cell_id=cell_id,
            run_name=name or f"cell-{cell_id}",
            named=bool(name),
            experiment=experiment,
            first_line=code_line[:120],
        ))
    return cells


_VALUE_OPTIONS = {"--experiment", "-e", "--param", "-p", "--metric", "-m", "--data", "-d",
                  "--tag", "-t"}


def parse_track_line(line: str) -> tuple[str | None, str | None]:
    """``(NAME, --experiment)`` of a ``%%track`` line; None for what it does not give.

    Parsed here without IPython's magic machinery: the server must not need a shell.
    """
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    name = experiment = None
    i = 0
    while i < len(words):
        word = words[i]
        option, eq, value = word.partition("=")
        if option in _VALUE_OPTIONS:
            if not eq:
                i += 1
                value = words[i] if i < len(words) else ""
            if option in ("--experiment", "-e"):
                experiment = value or None
        elif not word.startswith("-") and name is None:
            name = word
        i += 1
    return name, experiment
