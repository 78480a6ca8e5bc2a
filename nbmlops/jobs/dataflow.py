"""The files a notebook reads and writes, from its code alone (``ast``, nothing runs).

For notebooks never tracked, this is what wires a pipeline. It knows the usual ways data
reaches disk: pandas ``read_*`` / ``DataFrame.to_*``, NumPy ``load``/``save``/``savez``/
``loadtxt``/``savetxt``, pyarrow ``read_table``/``write_table``/``write_feather``, joblib
``load``/``dump``, ``open(path, mode)`` and ``Path.read_*``/``Path.write_*``. A path is
followed when it is a literal, a name bound to one (the parameters cell included), or built
from those with ``/``, ``+``, f-strings, ``Path(...)`` and ``os.path.join``; anything else
(a path computed at run time) is not seen, and the tracked runs fill that gap.

Pure: notebook cells in, relative paths out; the caller makes them absolute.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nbmlops.jobs.parameterize import cell_body

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
WRITE_SECOND = frozenset({"write_table", "write_feather", "dump", "write_to_dataset"})
#: ``Path(...).write_text(...)``: the object is the path.
PATH_METHODS_WRITE = frozenset({"write_text", "write_bytes"})
PATH_METHODS_READ = frozenset({"read_text", "read_bytes"})
#: Keyword arguments that carry the path.
PATH_KEYWORDS = ("path", "path_or_buf", "filepath_or_buffer", "fname", "file", "where", "io",
                 "source", "filename", "root_path", "dest")


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
            visitor = _Calls(env, number)
            visitor.visit(stmt)
            found += visitor.found
            _bind(stmt, env)
    return list(dict.fromkeys(found))


def _bind(stmt: ast.stmt, env: dict[str, str]) -> None:
    """Remember ``name = <path expression>`` so later uses of the name resolve."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return
    text = resolve(value, env)
    for target in targets:
        if isinstance(target, ast.Name):
            if text is None:
                env.pop(target.id, None)
            else:
                env[target.id] = text


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
    def __init__(self, env: Mapping[str, str], cell: int) -> None:
        self.env, self.cell = env, cell
        self.found: list[Found] = []

    def _add(self, node: ast.expr | None, mode: str, call: str) -> None:
        path = resolve(node, self.env)
        if path:
            self.found.append(Found(path, mode, call, self.cell))

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
            self._add(node.args[0] if node.args else keyword, "write", name)
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
        mode = (mode_node.value if isinstance(mode_node, ast.Constant)
                and isinstance(mode_node.value, str) else "r")
        if any(c in mode for c in "wax"):
            self._add(target, "write", f"open(mode={mode!r})")
        if "r" in mode or not any(c in mode for c in "wax"):
            self._add(target, "read", "open")
