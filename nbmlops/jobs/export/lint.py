"""Checks a notebook must pass before it becomes an unattended job.

Each rule is one function registered with :func:`rule`; it takes the notebook and yields
:class:`Finding` s, each with the cell number (1-based, as a reader counts cells), a message
and a fix. ``error`` findings stop ``nbmlops export`` (unless ``--force``): the job would fail
or hang. ``warning`` findings are printed and the export goes on.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import nbformat

from nbmlops import redact
from nbmlops.exceptions import TrackLineError
from nbmlops.jobs.export.parameterize import (
    _assignments,
    is_track_cell,
    parameters_cell_index,
    parse,
    python_source,
)
from nbmlops.track import capture
from nbmlops.track import line as track_line


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # "error" | "warning"
    cell: int  # 1-based
    message: str
    fix: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.severity}: {self.message} [{self.rule}] fix: {self.fix}"


Rule = Callable[[nbformat.NotebookNode], Iterator[Finding]]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn

    return register


def lint(nb: nbformat.NotebookNode) -> list[Finding]:
    """Every finding of every rule, ordered by cell."""
    found = [f for check in RULES.values() for f in check(nb)]
    return sorted(found, key=lambda f: (f.cell, f.rule))


def _code_cells(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str]]:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            yield i + 1, cell.source


def _body(source: str) -> str:
    """Python of a cell; a ``%%track`` cell is analysed without its magic line."""
    split = track_line.split_cell(source)
    return python_source(split[1] if split is not None else source)


@rule("track-line")
def _bad_track_line(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    for number, source in _code_cells(nb):
        try:
            track_line.options_of_cell(source)
        except TrackLineError as e:
            yield Finding(
                "track-line", "error", number,
                f"{e}: the magic refuses to run this cell, so the job would stop here",
                "fix the %%track line (`%%track?` lists its options)",
            )


@rule("out-of-order")
def _out_of_order(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    last = 0
    for number, _ in _code_cells(nb):
        count = nb.cells[number - 1].get("execution_count")
        if count is None:
            continue
        if count < last:
            yield Finding(
                "out-of-order", "warning", number,
                f"executed as [{count}] after a cell above ran as [{last}]: the saved results "
                "may depend on an order the job will not follow",
                "restart the kernel and run all cells top to bottom, then save",
            )
        last = max(last, count)


# Names a Jupyter kernel defines before any cell runs.
_PREDEFINED = set(dir(builtins)) | {"get_ipython", "display", "In", "Out", "exit", "quit", "_",
                                    "__", "___", "_ih", "_oh", "_dh"}


@rule("undefined-name")
def _undefined(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    defined = set(_PREDEFINED)
    for number, source in _code_cells(nb):
        body = _body(source)
        tree = parse(body)
        if tree is None:
            continue
        if any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
               for n in ast.walk(tree)):
            return  # `from x import *`: what is defined is unknowable from here
        analysis = capture.analyze(body)
        defined_here = set(analysis.assigned)
        # Names bound anywhere in the cell (loop, comprehension and function locals too): a
        # read of one of them is never reported, so the rule errs towards silence.
        local = _bound_names(tree)
        missing = [n for n in analysis.read
                   if n not in defined and n not in defined_here and n not in local]
        if missing:
            yield Finding(
                "undefined-name", "error", number,
                f"{', '.join(missing)} used before any cell defines it (top to bottom)",
                "define it in this cell or one above, or remove the code that needs it",
            )
        defined |= defined_here


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


_HOME = re.compile(r"^(~[/\\]|/home/[^/]+|/Users/[^/]+|/root(/|$)|[A-Za-z]:\\Users\\)")


@rule("home-path")
def _home_paths(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    for number, source in _code_cells(nb):
        paths = [s for s in capture.analyze(_body(source)).strings if _HOME.match(s)]
        if paths:
            yield Finding(
                "home-path", "warning", number,
                f"path under a home folder: {', '.join(paths)}: it will not exist where the "
                "job runs",
                "use a path relative to the notebook, or make it a parameter",
            )


@rule("secret-literal")
def _secret_literals(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    # Runs redact these; a job folder is a copy of the notebook meant to be committed and
    # shipped to Airflow, a cluster or GitHub, so a secret typed into a cell goes with it.
    for number, source in _code_cells(nb):
        lines = redact.typed_secret_lines(source)
        if lines:
            yield Finding(
                "secret-literal", "error", number,
                f"a secret typed into the code (line {', '.join(map(str, lines))}): the job "
                "folder and every copy of it would hold it",
                "read it from the environment where the job runs (os.environ['NAME'])",
            )


_INTERACTIVE_CALLS = {"input", "getpass", "breakpoint", "set_trace", "raw_input", "interact"}
_INTERACTIVE_MAGICS = re.compile(r"^\s*%+(debug|pdb|qtconsole|edit)\b", re.MULTILINE)


@rule("interactive")
def _interactive(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    for number, source in _code_cells(nb):
        tree = parse(_body(source))
        calls = set()
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Call):
                func = node.func
                name = (func.id if isinstance(func, ast.Name)
                        else func.attr if isinstance(func, ast.Attribute) else "")
                if name in _INTERACTIVE_CALLS:
                    calls.add(f"{name}()")
        calls |= {f"%{m}" for m in _INTERACTIVE_MAGICS.findall(source)}
        if calls:
            yield Finding(
                "interactive", "error", number,
                f"{', '.join(sorted(calls))} waits for a person: an unattended run hangs",
                "replace the answer by a parameter",
            )


_SHELL_INSTALL = re.compile(
    r"^\s*(?:!|%+)\s*(?:pip3?|conda|mamba|apt(?:-get)?|python3?\s+-m\s+pip|uv\s+pip)\s+"
    r"install\b.*$", re.MULTILINE,
)


@rule("shell-install")
def _shell_install(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    for number, source in _code_cells(nb):
        commands = [m.group(0).strip() for m in _SHELL_INSTALL.finditer(source)]
        if commands:
            yield Finding(
                "shell-install", "warning", number,
                f"installs packages at run time ({commands[0]}): every run changes the "
                "environment",
                "remove it; the job's requirements.txt pins what the notebook imports",
            )


@rule("dependent-default")
def _dependent_defaults(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    index = parameters_cell_index(nb)
    if index is None:
        return
    tree = parse(nb.cells[index].source)
    literal = {a.name for a in _assignments(python_source(nb.cells[index].source))}
    for stmt in tree.body if tree else ():
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            used = sorted({n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)})
            if names and names[0] not in literal and used:
                yield Finding(
                    "dependent-default", "warning", index + 1,
                    f"default of {', '.join(names)} is computed from {', '.join(used)}: an "
                    "injected value of those will not change it",
                    "give it a literal default, and compute the derived value in a later cell",
                )


@rule("magic-in-parameters")
def _magic_in_parameters(nb: nbformat.NotebookNode) -> Iterator[Finding]:
    index = parameters_cell_index(nb)
    if index is None:
        return
    source = nb.cells[index].source
    magics = [line.strip() for line in source.splitlines() if line.lstrip().startswith(("%", "!"))]
    if magics:
        yield Finding(
            "magic-in-parameters", "error", index + 1,
            f"magic or shell line in the parameters cell ({magics[0]}): papermill cannot read "
            "the parameters, and it runs again after injection",
            "move it to a cell of its own above or below the parameters cell",
        )


def is_tracked(nb: nbformat.NotebookNode) -> bool:
    """Whether any cell is a ``%%track`` cell (a job without one records only its parent
    run)."""
    return any(is_track_cell(c) for c in nb.cells)
