"""What the sidebar needs to know of one notebook: where its runs are and its tracked cells.

A notebook is named by its path relative to the Jupyter server's root (as JupyterLab names
it). Where its runs go is :func:`nbmlops.config.destination`, the rule the kernel follows for
``%%track``, and its tracked cells are read with the kernel's own ``%%track`` grammar
(:mod:`nbmlops.track.cells`), so the sidebar reads the store and the run names the notebook's
cells write.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, regular_files, store
from nbmlops.exceptions import ConfigError, OutsideRoot
from nbmlops.redact import strip_credentials
from nbmlops.track import cells as notebook_cells
from nbmlops.track.status_line import METADATA_KEY as STATUS_METADATA_KEY


@dataclass
class TrackedCell:
    """A ``%%track`` cell of the notebook, as its runs will be named."""

    index: int
    cell_id: str | None
    run_name: str  # the ``%%track NAME``, else ``cell-<cell id>``
    named: bool  # whether NAME was given (else run names follow the cell id)
    experiment: str | None  # ``--experiment`` when the cell overrides the notebook's
    first_line: str  # the first line of code under the magic, for a label
    options: dict[str, Any] | None = None  # the whole parsed line
    problem: str | None = None  # why the line does not parse (the magic refuses the cell)


@dataclass
class NotebookInfo:
    """``GET notebook``: where the notebook's runs go, as the browser may see it."""

    path: str | None  # relative to the server's root
    experiment: str
    tracking_uri: str  # no credentials; a sqlite store's file relative to the server's root
    ui_url: str | None
    cells: list[TrackedCell]


@dataclass
class Where:
    """Where a notebook's runs go."""

    path: str | None  # relative to the server root, posix
    project_root: Path
    tracking_uri: str
    experiment: str
    ui_url: str | None
    cells: list[TrackedCell] = field(default_factory=list)
    source_name: str | None = None  # the notebook as its runs name it (``mlflow.source.name``)

    def public(self, server_root: Path) -> NotebookInfo:
        """What the browser may see: no credentials in URIs, no absolute server paths."""
        db = store.sqlite_path(self.tracking_uri)
        uri = f"sqlite:///{shown(db, server_root)}" if db else self.tracking_uri
        return NotebookInfo(self.path, self.experiment, strip_credentials(uri), self.ui_url,
                            self.cells)


def shown(path: str | Path, server_root: Path) -> str:
    """A server path as the browser may see it: relative to the server's root when inside
    it, ``~/...`` under the home folder, else only its last part."""
    target = Path(path).expanduser().resolve()
    for base, prefix in ((Path(server_root).resolve(), ""), (Path.home().resolve(), "~/")):
        if target == base or base in target.parents:
            # mutation-equivalent: dropping `if target != base`; the root relative to itself
            # is "." too.
            return prefix + (target.relative_to(base).as_posix() if target != base else ".")
    return f".../{target.name}"


#: An absolute path in a message: after a space, a quote, a bracket, ``=`` or ``sqlite:///``
#: (never inside a URL's host or path).
_ABSOLUTE = re.compile(r"(?:(?<=sqlite:///)|(?<![^\s'\"(\[=]))/[^\s'\"()\[\],;]+")


def without_server_paths(message: str, server_root: Path) -> str:
    """An error message as the browser may see it: each absolute path in it as
    :func:`shown` shows paths (``sqlite:////srv/p/mlflow.db`` becomes
    ``sqlite:///mlflow.db`` for a store at the server's root)."""
    return _ABSOLUTE.sub(lambda m: shown(m.group(0), server_root), message)


def inside(root: str | Path, path: str) -> Path:
    """``path`` (relative to ``root``, as JupyterLab names files) as an absolute path;
    :class:`OutsideRoot` when it leaves ``root`` (``..``, absolute paths, symlinks out)."""
    if "\x00" in path:  # no file has one; the system would refuse the name
        raise ConfigError(f"{path!r} is no file name: it holds a NUL character")
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
        uri = config.store_uri(root=root)
        experiment = config.chosen_experiment(root) or ""
        return Where(None, root, uri, experiment, config.ui_url(root, uri))
    notebook = inside(server_root, path)
    where = config.destination(notebook)
    cells = tracked_cells(notebook) if notebook.suffix == ".ipynb" else []
    relative = notebook.relative_to(Path(server_root).resolve()).as_posix()
    return Where(relative, where.root, where.tracking_uri, where.experiment, where.ui_url, cells,
                 where.source_name)


def referenced_runs(server_root: str | Path, path: str | None) -> list[str]:
    """What the notebook's saved outputs name of their runs, oldest first: the status lines
    keep the run id in their metadata, or only the record id when the notebook was saved
    before the upload (a papermill or job output), as ``record:<id>``. A notebook renamed or
    moved (in JupyterLab or with ``mv``), or a job's output notebook, finds its runs through
    them."""
    if not path or not path.endswith(".ipynb"):
        return []
    try:
        nb = json.loads(regular_files.read_text(inside(server_root, path),
                                                regular_files.MAX_NOTEBOOK_BYTES))
    except (OSError, ValueError):
        return []
    found: list[str] = []
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            meta = output.get("metadata") if isinstance(output, dict) else None
            held = meta.get(STATUS_METADATA_KEY) if isinstance(meta, dict) else None
            if not isinstance(held, dict):
                continue
            run_id, record_id = held.get("run_id"), held.get("record_id")
            if isinstance(run_id, str) and run_id:
                found.append(run_id)
            elif isinstance(record_id, str) and record_id:
                found.append(f"record:{record_id}")
    return list(dict.fromkeys(found))


def tracked_cells(notebook: Path) -> list[TrackedCell]:
    """The ``%%track`` cells of a notebook file, in order, named as their runs will be."""
    return [
        TrackedCell(
            index=cell.index,
            cell_id=cell.cell_id,
            run_name=cell.run_name,
            named=bool(cell.options and cell.options.name),
            experiment=cell.options.experiment if cell.options else None,
            first_line=next((ln.strip() for ln in cell.body.splitlines() if ln.strip()),
                            "")[:120],
            options=asdict(cell.options) if cell.options else None,
            problem=cell.problem,
        )
        for cell in notebook_cells.tracked_cells(notebook)
    ]
