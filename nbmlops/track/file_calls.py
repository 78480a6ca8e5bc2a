"""Which calls read a file and which write one, and the path each is given: one rule for
the tracked cell (:mod:`nbmlops.track.tracker`) and the export's view of a whole notebook
(:mod:`nbmlops.jobs.export.dataflow`).

It knows the usual ways data reaches disk: pandas ``read_*`` / ``DataFrame.to_*``, NumPy
``load``/``save``/``savez``/``loadtxt``/``savetxt``, pyarrow ``read_table``/``write_table``/
``write_feather``, joblib ``load``/``dump``, ``open(path, mode)`` and ``Path.read_*``/
``Path.write_*``. A path is followed when it is a literal, a name bound to one (by the code
before it, or in the notebook's namespace when the kernel is there to ask), or built from those
with ``/``, ``+``, f-strings, ``Path(...)`` and ``os.path.join``.

Pure: source text and plain values in, paths as the code writes them out (relative to the
working folder, or absolute); the caller makes them absolute.
"""

from __future__ import annotations

import ast
import os
import shlex
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: Function or method names that read the path given first.
READ_FIRST = frozenset({
    "read_csv", "read_parquet", "read_json", "read_excel", "read_feather", "read_pickle",
    "read_table", "read_hdf", "read_orc", "read_fwf", "read_stata", "read_sas", "read_spss",
    "read_xml", "load", "loadtxt", "genfromtxt", "fromfile", "ParquetFile", "read_text",
    "read_bytes", "dataset", "read_schema", "read_metadata",
})
#: Methods of the object that is written (``df.to_parquet(path)``): the path is given first.
WRITE_FIRST = frozenset({
    "to_csv", "to_parquet", "to_json", "to_excel", "to_feather", "to_pickle", "to_hdf",
    "to_orc", "to_stata", "to_xml", "save", "savez", "savez_compressed", "savetxt", "tofile",
    "write_csv", "write_parquet", "write_ipc",
})
#: Functions given the data first and the path second (``pq.write_table(table, path)``).
WRITE_SECOND = frozenset({"write_table", "write_feather", "dump", "write_to_dataset",
                          "save_model"})
#: ``Path(...).write_text(...)``: the object is the path.
PATH_METHODS_WRITE = frozenset({"write_text", "write_bytes"})
PATH_METHODS_READ = frozenset({"read_text", "read_bytes"})
#: Keyword arguments that carry the path.
PATH_KEYWORDS = ("path", "path_or_buf", "filepath_or_buffer", "fname", "file", "where", "io",
                 "source", "filename", "root_path", "dest")
#: Longest text taken from the namespace as a path.
_MAX_PATH = 1024


@dataclass(frozen=True)
class Access:
    path: str  # as the code gives it (relative to the working folder, or absolute)
    mode: str  # "read" | "write"
    call: str  # the function, as a reason shows it


def classify(source: str, namespace: Mapping[str, Any] | None = None) -> list[Access]:
    """The files a cell's ``source`` reads and writes. Names the cell does not bind itself
    are looked up in ``namespace`` (a notebook's variables: ``out_path = "data/x.csv"``
    from its parameters cell, ``base = Path("data")``), when given."""
    parsed = _parse(source)
    if parsed is None:
        return []
    tree, loaded = parsed
    env: dict[str, str] = {}
    # mutation-equivalent: dropping either `if namespace`; an empty or absent namespace
    # gives no text either way, and the loop runs only when there is one.
    for name in loaded if namespace else ():
        text = path_text(namespace.get(name)) if namespace else None
        if text is not None:
            env[name] = text
    found: list[Access] = []
    for stmt in tree.body:
        found += calls_in(stmt, env)
        bind(stmt, env)
    return list(dict.fromkeys(found))


def path_text(value: Any) -> str | None:
    """The path a namespace value stands for: a short one-line string or an ``os.PathLike``."""
    if isinstance(value, os.PathLike):
        try:
            value = os.fspath(value)
        except Exception:  # a PathLike that is not one after all
            return None
    if isinstance(value, str) and 0 < len(value) <= _MAX_PATH and "\n" not in value:
        return value
    return None


@lru_cache(maxsize=256)
def _parse(source: str) -> tuple[ast.Module, tuple[str, ...]] | None:
    """The cell's tree and the names it reads (cached: a cell is usually run many times)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    loaded = (n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Load))
    return tree, tuple(dict.fromkeys(loaded))


def calls_in(stmt: ast.stmt, env: Mapping[str, str]) -> list[Access]:
    """The reads and writes of one statement, its paths resolved through ``env``. A loop's
    variable, a ``with ... as`` name or a comprehension's variable takes values no one knows
    before the code runs: inside that statement it names no known path."""
    varying = {n.id for node in ast.walk(stmt) for n in _targets(node)}
    # mutation-equivalent: `_Hiding` always; hiding no name reads the same as ``env``.
    visitor = _Calls(_Hiding(env, varying) if varying else env)
    visitor.visit(stmt)
    return visitor.found


class _Hiding(Mapping[str, str]):
    """``env`` without some names, read through (a copy for each statement would cost a
    long cell the square of its paths)."""

    def __init__(self, env: Mapping[str, str], hidden: set[str]) -> None:
        self.env, self.hidden = env, hidden

    def __getitem__(self, name: str) -> str:
        if name in self.hidden:
            # mutation-equivalent: KeyError(None); Mapping.get and `in` catch it unread.
            raise KeyError(name)
        return self.env[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in self.env if name not in self.hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _targets(node: ast.AST) -> list[ast.Name]:
    if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
        target: ast.AST | None = node.target
    elif isinstance(node, ast.withitem):
        target = node.optional_vars
    else:
        return []
    return [n for n in ast.walk(target) if isinstance(n, ast.Name)] if target else []


def bind(stmt: ast.stmt, env: MutableMapping[str, str]) -> None:
    """Remember ``name = <path expression>`` so later uses of the name resolve; a name bound
    to anything else is forgotten."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        for node in ast.walk(stmt):  # bound by a loop, a with, an import, a def ...: not known
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                env.pop(node.id, None)
            elif isinstance(node, ast.alias):  # ``import a.b`` binds ``a``
                env.pop((node.asname or node.name).split(".")[0], None)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                env.pop(node.name, None)
        return
    text = resolve(value, env)
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                if text is None or node is not target:
                    env.pop(node.id, None)
                else:
                    env[node.id] = text


def resolve(node: ast.expr | None, env: Mapping[str, str]) -> str | None:
    """The path ``node`` evaluates to when that is known without running it."""
    if node is None:
        return None
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            part = resolve(inner, env)
            if part is None:
                return None
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div | ast.Add):
        left, right = resolve(node.left, env), resolve(node.right, env)
        if left is None or right is None:
            return None
        return os.path.join(left, right) if isinstance(node.op, ast.Div) else left + right
    if isinstance(node, ast.Call):
        name = _name(node.func)
        parts = [p for p in (resolve(a, env) for a in node.args) if p is not None]
        if name in ("Path", "PurePath", "PosixPath", "join", "abspath", "expanduser", "str",
                    "fspath") and parts and len(parts) == len(node.args):
            return os.path.join(*parts)
    return None


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Calls(ast.NodeVisitor):
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.found: list[Access] = []

    def _add(self, node: ast.expr | None, mode: str, call: str) -> None:
        path = resolve(node, self.env)
        if path:
            self.found.append(Access(path, mode, call))

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        name = _name(node.func)
        if name is None:
            return
        keyword = next((k.value for k in node.keywords if k.arg in PATH_KEYWORDS), None)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if name == "open":
            self._open(node)
        elif name in PATH_METHODS_WRITE and receiver is not None:
            self._add(receiver, "write", name)
        elif name in PATH_METHODS_READ and receiver is not None and not node.args:
            self._add(receiver, "read", name)
        elif name in READ_FIRST:
            self._add(node.args[0] if node.args else keyword, "read", name)
        elif name in WRITE_FIRST:
            first = node.args[0] if node.args else keyword
            if (name == "save" and len(node.args) > 1 and resolve(first, self.env) is None):
                first = node.args[1]  # ``torch.save(model, path)``: the object comes first
            self._add(first, "write", name)
        elif name in WRITE_SECOND:
            self._add(node.args[1] if len(node.args) > 1 else keyword, "write", name)

    def _open(self, node: ast.Call) -> None:
        args = list(node.args)
        receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
        if receiver is not None and resolve(receiver, self.env) is not None:
            target: ast.expr | None = receiver  # Path(...).open(mode): the mode comes first
        else:
            target = args.pop(0) if args else next(
                (k.value for k in node.keywords if k.arg == "file"), None)
        mode_node = args[0] if args else next(
            (k.value for k in node.keywords if k.arg == "mode"), None)
        # mutation-equivalent: any default without w, a, x or +; "XXrXX" reads as "r".
        mode = (mode_node.value if isinstance(mode_node, ast.Constant)
                and isinstance(mode_node.value, str) else "r")
        # "r+" updates the file in place: it is read and written
        # mutation-equivalent: "XXwax+XX"; no mode of open() holds an upper-case X.
        writes = any(c in mode for c in "wax+")
        if writes:
            self._add(target, "write", f"open(mode={mode!r})")
        if "r" in mode or not writes:
            self._add(target, "read", "open")


# -- scripts run with %run: code of the run, not data it read --------------------------------

#: ``%run`` options that take the next word as their value (``-m module`` runs a module).
_RUN_OPTIONS_WITH_VALUE = frozenset({"-m", "-N", "-b", "-G", "-p"})


def line_magic(node: ast.AST) -> tuple[str, str] | None:
    """``("run", "helper.py -x")`` for ``get_ipython().run_line_magic("run", "helper.py -x")``,
    the Python IPython makes of ``%run helper.py -x``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "run_line_magic" and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython" and len(node.args) >= 2):
        return None
    name, line = node.args[0], node.args[1]
    if (isinstance(name, ast.Constant) and isinstance(name.value, str)
            and isinstance(line, ast.Constant) and isinstance(line.value, str)):
        return name.value, line.value
    return None


def run_target(line: str) -> str | None:
    """The file ``%run LINE`` runs (None for ``%run -m module`` or a line not understood)."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    skip = False  # mutation-equivalent: None, falsy as False (both `skip =` lines)
    for word in words:
        if skip:
            skip = False
        elif word == "-m":
            return None
        elif word in _RUN_OPTIONS_WITH_VALUE:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def scripts_run(tree: ast.AST) -> list[str]:
    """The files the code runs with ``%run`` (paths as written)."""
    found = []
    for node in ast.walk(tree):
        magic = line_magic(node)
        if magic is not None and magic[0] == "run":
            target = run_target(magic[1])
            if target:
                found.append(target)
    return list(dict.fromkeys(found))
