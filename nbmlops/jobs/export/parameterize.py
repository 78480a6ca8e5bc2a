"""Notebook in, job notebook and parameter specs out: the pure part of ``nbmlops export``.

Papermill's convention decides: the cell tagged ``parameters`` holds the defaults and papermill
injects overrides right after it. When a notebook has no such cell, its parameters are
inferred (literal top-level assignments in ``%%track`` cells and in the leading cells that only
set constants), moved into a new ``parameters`` cell at the top, and removed from where they
stood, so that an injected value is not overwritten later in the run.

The parameters cell is written as ``name: type = default  # help`` so papermill's own
``--help-notebook`` lists names, types, defaults and help.
"""

from __future__ import annotations

import ast
import copy
import io
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import nbformat

from nbmlops import config
from nbmlops.exceptions import JobError, NbmlopsError
from nbmlops.jobs.spec import ParamSpec, type_of, type_of_annotation
from nbmlops.track import capture
from nbmlops.track import line as track_line

PARAMETERS_TAG = "parameters"
#: A literal longer than this is data pasted into the notebook, not a parameter's default
#: (it would fill job.yaml and every command line).
MAX_DEFAULT_CHARS = 10_000
MOVED_COMMENT = "# nbmlops export: moved to the parameters cell: {names}"


@dataclass
class JobNotebook:
    """The result of :func:`to_job_notebook`."""

    notebook: nbformat.NotebookNode
    params: list[ParamSpec]
    inferred: bool  # True: the parameters cell was created by the export
    notes: list[str] = field(default_factory=list)


def python_source(source: str) -> str:
    """A cell as Python: IPython syntax (``%magic``, ``!cmd``) transformed, lines kept."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return str(TransformerManager().transform_cell(source))
    except Exception:  # IPython's transformers raise on odd input; treat as unparsable
        return source


def parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None


def is_track_cell(cell: Any) -> bool:
    return cell.cell_type == "code" and track_line.split_cell(cell.source) is not None


def parameters_cell_index(nb: nbformat.NotebookNode) -> int | None:
    for i, cell in enumerate(nb.cells):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def comments_by_line(source: str) -> dict[int, str]:
    """Trailing ``# comment`` text of each line (1-based) of Python source."""
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


@dataclass(frozen=True)
class _Assignment:
    name: str
    value: Any
    annotation: str | None
    help: str
    lines: tuple[int, int]  # first and last line (1-based, within the parsed source)
    alone: bool  # no other statement shares its lines


def _assignments(source: str) -> list[_Assignment]:
    """Top-level ``name = literal`` / ``name: T = literal`` statements of Python source."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    comments = comments_by_line(source)
    per_line: dict[int, int] = {}
    for stmt in tree.body:
        for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
            per_line[line] = per_line.get(line, 0) + 1
    literal_names = dict(capture.analyze(source).params)  # last binding is a literal
    found = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, annotation = stmt.targets[0], None
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, annotation = stmt.target, ast.unparse(stmt.annotation)
        else:
            continue
        if not isinstance(target, ast.Name) or target.id not in literal_names:
            continue
        try:
            value = ast.literal_eval(stmt.value)  # type: ignore[arg-type]
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            continue
        if len(repr(value)) > MAX_DEFAULT_CHARS:
            continue  # data written into the notebook, not a knob to turn
        end = stmt.end_lineno or stmt.lineno
        found.append(_Assignment(
            name=target.id, value=value, annotation=annotation,
            help=comments.get(end, ""), lines=(stmt.lineno, end),
            alone=all(per_line.get(line, 0) == 1 for line in range(stmt.lineno, end + 1)),
        ))
    return found


def _spec(a: _Assignment) -> ParamSpec:
    kind = (type_of_annotation(a.annotation) if a.annotation else None) or type_of(a.value)
    value = list(a.value) if isinstance(a.value, tuple) else a.value
    return ParamSpec(a.name, kind, value, a.help)


def params_of_cell(source: str) -> list[ParamSpec]:
    """Parameter specs of a ``parameters`` cell: its literal assignments, last one wins."""
    specs = {a.name: _spec(a) for a in _assignments(python_source(source))}
    return list(specs.values())


def parameters_cell_source(params: Sequence[ParamSpec]) -> str:
    lines = []
    for p in params:
        annotation = {"any": "", "list": ": list", "dict": ": dict"}.get(p.type, f": {p.type}")
        line = f"{p.name}{annotation} = {p.default!r}"
        lines.append(f"{line}  # {p.help}" if p.help else line)
    return "\n".join(lines)


def _is_constant_cell(source: str) -> bool:
    """Only imports, line magics and literal assignments: a cell that sets things up."""
    tree = parse(source)
    if tree is None or source.lstrip().startswith("%%"):
        return False
    literal = {name for name, _ in capture.analyze(python_source(source)).params}
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            continue
        if isinstance(stmt, ast.Expr) and _is_line_magic(stmt.value):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring or a bare literal
        targets = (stmt.targets if isinstance(stmt, ast.Assign)
                   else [stmt.target] if isinstance(stmt, ast.AnnAssign) else None)
        if targets and all(isinstance(t, ast.Name) and t.id in literal for t in targets):
            continue
        return False
    return True


def _is_line_magic(node: ast.expr) -> bool:
    # What IPython turns `%load_ext x` into: get_ipython().run_line_magic('load_ext', 'x')
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_line_magic")


def _candidate_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Leading constant cells, then every ``%%track`` cell."""
    found: list[int] = []
    leading = True
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if leading and _is_constant_cell(cell.source):
            found.append(i)
            continue
        leading = False
        if is_track_cell(cell):
            found.append(i)
    return found


def cell_body(source: str) -> str:
    """A code cell's Python: the body of a ``%%track`` cell, IPython syntax transformed."""
    split = track_line.split_cell(source)
    return python_source(split[1] if split is not None else source)


def _body(cell: Any) -> tuple[str, int]:
    """A cell's Python body and how many lines precede it (the ``%%track`` line)."""
    split = track_line.split_cell(cell.source) if cell.cell_type == "code" else None
    if split is not None:
        # the lines before the body: leading blank lines and the %%track line itself
        _, body = split
        return python_source(body), cell.source.count("\n") - body.count("\n")
    return python_source(cell.source), 0


def to_job_notebook(
    nb: nbformat.NotebookNode, select: Sequence[str] = (),
    metric_patterns: Sequence[str] = config.DEFAULT_METRIC_PATTERNS,
) -> JobNotebook:
    """The job notebook of ``nb`` (a deep copy; ``nb`` is not changed) and its parameters.

    ``select`` (``--param NAME``) narrows the inferred choice to these names, or extends it to
    literal top-level assignments of any code cell. With a ``parameters`` cell it narrows the
    parameters listed in job.yaml only: the cell stays as the author wrote it. An inferred
    parameter is what a tracked run records as a param (:func:`capture.literal_params` with
    the project's ``metric_patterns``): a literal named like a metric stays a metric unless
    ``select`` names it.
    """
    job = copy.deepcopy(nb)
    index = parameters_cell_index(job)
    if index is not None:
        params = params_of_cell(job.cells[index].source)
        if select:
            missing = [n for n in select if n not in {p.name for p in params}]
            if missing:
                raise JobError(f"--param {', '.join(missing)}: not in the parameters cell "
                               f"(cell {index + 1})")
            params = [p for p in params if p.name in select]
        return JobNotebook(job, params, inferred=False)

    notes: list[str] = []
    cells = _candidate_cells(job)
    if select:
        extra = [i for i, c in enumerate(job.cells) if c.cell_type == "code" and i not in cells]
        cells = sorted([*cells, *extra])
    # name -> [(cell index, assignment)], in notebook order
    seen: dict[str, list[tuple[int, _Assignment]]] = {}
    metric_named: dict[str, None] = {}
    for i in cells:
        body, _ = _body(job.cells[i])
        found = _assignments(body)
        literal = capture.literal_params(
            [(a.name, a.value) for a in found], metric_patterns, _metric_options(job.cells[i]))
        for a in found:
            if a.name in literal or a.name in select:
                seen.setdefault(a.name, []).append((i, a))
            else:
                metric_named[a.name] = None
    notes.extend(f"{name} is recorded as a metric: not a parameter (--param {name} makes it one)"
                 for name in metric_named if name not in seen)

    chosen: dict[str, list[tuple[int, _Assignment]]] = {}
    for name, places in seen.items():
        if select and name not in select:
            continue
        values = {repr(a.value) for _, a in places}
        if len(values) > 1:
            where = ", ".join(str(i + 1) for i, _ in places)
            notes.append(f"{name} is set to different values in cells {where}: not a parameter")
            continue
        if not all(a.alone for _, a in places):
            notes.append(f"{name} shares a line with other code: not a parameter")
            continue
        chosen[name] = places
    missing = [n for n in select if n not in chosen]
    if missing:
        raise JobError(f"--param {', '.join(missing)}: no literal top-level assignment "
                       f"of that name in the notebook")
    if not chosen:
        return JobNotebook(job, [], inferred=False, notes=notes)

    params = [_spec(places[0][1]) for places in chosen.values()]
    _remove_assignments(job, chosen)
    cell = nbformat.v4.new_code_cell(parameters_cell_source(params))
    cell.metadata["tags"] = [PARAMETERS_TAG]
    job.cells.insert(0, cell)
    return JobNotebook(job, params, inferred=True, notes=notes)


def _metric_options(cell: Any) -> list[str]:
    """The ``--metric`` names of a ``%%track`` cell (none for another cell or a bad line)."""
    try:
        options = track_line.options_of_cell(cell.source)
    except NbmlopsError:
        return []  # the lint reports a malformed line; the export does not guess
    return list(options.metrics) if options else []


def _remove_assignments(
    nb: nbformat.NotebookNode, chosen: dict[str, list[tuple[int, _Assignment]]]
) -> None:
    by_cell: dict[int, list[_Assignment]] = {}
    for places in chosen.values():
        for i, a in places:
            by_cell.setdefault(i, []).append(a)
    for i, assignments in by_cell.items():
        cell = nb.cells[i]
        _, offset = _body(cell)
        lines = cell.source.split("\n")
        drop = {
            line - 1 + offset
            for a in assignments for line in range(a.lines[0], a.lines[1] + 1)
        }
        first = min(drop)
        names = ", ".join(dict.fromkeys(a.name for a in assignments))
        kept = [
            MOVED_COMMENT.format(names=names) if n == first else line
            for n, line in enumerate(lines) if n not in drop or n == first
        ]
        cell.source = "\n".join(kept)
        # Outputs belong to the old source; a job notebook starts clean anyway.
        cell.outputs = []
        cell.execution_count = None


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Outputs and execution counts removed: the job notebook is an input, not a record."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def imported_modules(nb: nbformat.NotebookNode) -> list[str]:
    """Top-level module names the notebook's code cells import, in order."""
    names: dict[str, None] = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = parse(_body(cell)[0] if is_track_cell(cell) else cell.source)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.name.split(".")[0]] = None
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names[node.module.split(".")[0]] = None
    return list(names)


def changes(old: nbformat.NotebookNode | None, new: nbformat.NotebookNode,
            old_params: Sequence[ParamSpec], new_params: Sequence[ParamSpec]) -> list[str]:
    """What an export over an existing job changes, one line each."""
    if old is None:
        return []
    lines = []
    before = {p.name: p for p in old_params}
    after = {p.name: p for p in new_params}
    added = [n for n in after if n not in before]
    removed = [n for n in before if n not in after]
    if added:
        lines.append(f"parameters added: {', '.join(added)}")
    if removed:
        lines.append(f"parameters removed: {', '.join(removed)}")
    for name in after.keys() & before.keys():
        a, b = before[name], after[name]
        if (a.type, a.default) != (b.type, b.default):
            lines.append(f"parameter {name}: {a.type} {a.default!r} -> {b.type} {b.default!r}")
    old_sources = [c.source for c in old.cells]
    new_sources = [c.source for c in new.cells]
    if old_sources != new_sources:
        import difflib

        matcher = difflib.SequenceMatcher(a=old_sources, b=new_sources, autojunk=False)
        counts = {"added": 0, "removed": 0, "changed": 0}
        for op, i1, i2, j1, j2 in matcher.get_opcodes():
            if op == "insert":
                counts["added"] += j2 - j1
            elif op == "delete":
                counts["removed"] += i2 - i1
            elif op == "replace":
                common = min(i2 - i1, j2 - j1)
                counts["changed"] += common
                counts["added"] += (j2 - j1) - common
                counts["removed"] += (i2 - i1) - common
        lines.append("cells " + ", ".join(f"{k}: {v}" for k, v in counts.items() if v))
    return lines
