"""The frames a job's ``monitor:`` names must exist in its notebook.

``monitor.input`` and ``monitor.predictions`` name variables of the scoring cell (the
predictions may also be a column the notebook adds to a frame, ``batch["score"] = ...``). A
name that no code cell binds or reads is a typo: it fails ``nbmlops export`` and the start of
``nbmlops run`` with one line, before any kernel starts, instead of a job that runs and then
watches nothing. Read from the code alone (``ast``), nothing runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from nbmlops.exceptions import JobError
from nbmlops.jobs.spec import Job
from nbmlops.track import line as track_line
from nbmlops.track.capture import analyze

__all__ = ["check", "check_notebook", "names_in"]


def names_in(cells: Iterable[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """``(names, columns)``: the names the code cells bind or read, and the string keys they
    assign into (``frame["key"] = ...``), of cells given as (cell type, source) pairs."""
    names: set[str] = set()
    columns: set[str] = set()
    for kind, source in cells:
        if kind != "code":
            continue
        body = _body(source)
        found = analyze(body)
        names.update(found.assigned, found.read)
        try:
            tree = ast.parse(body)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)):
                columns.add(node.slice.value)
    return names, columns


def check(job: Job, cells: Iterable[tuple[str, str]], notebook: str) -> None:
    """JobError, one line, when ``monitor.input`` or ``monitor.predictions`` names nothing
    the notebook's cells have."""
    watch = job.watch()
    if not (watch.input or watch.predictions):
        return
    names, columns = names_in(cells)
    for key, named, also in (("input", watch.input, set()),
                             ("predictions", watch.predictions, columns)):
        if named and named not in names and named not in also:
            raise JobError(f"job {job.name}: monitor.{key} names {named!r}, which no cell of "
                           f"{notebook} binds or reads")


def _body(source: str) -> str:
    # A %%track cell's body, IPython syntax made Python (export and run both read this way).
    from IPython.core.inputtransformer2 import TransformerManager

    split = track_line.split_cell(source)
    try:
        return str(TransformerManager().transform_cell(split[1] if split else source))
    except Exception:  # IPython's transformers raise on odd input: unparsable, skipped
        return source


def check_notebook(job: Job, path: Path) -> None:
    """:func:`check` of the notebook at ``path``; one that does not read is left to papermill
    to report."""
    if not (job.monitor and ({"input", "predictions"} & set(job.monitor))):
        return  # most jobs: the notebook is not read twice
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        return
    check(job, [(c.cell_type, c.source) for c in nb.cells], path.name)
