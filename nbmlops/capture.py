"""Static analysis of a cell and the pure rules that turn its namespace into record fields.

Everything here works on source text and plain values: no I/O, no mlflow, no pandas import.
The analysis is cached by source, since a cell is usually run many times unchanged.
"""

from __future__ import annotations

import ast
import fnmatch
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
#: Longest string literal considered as a possible file path.
_MAX_PATH_LEN = 1024


@dataclass(frozen=True)
class CellAnalysis:
    """What the source of a cell says, before it runs."""

    params: tuple[tuple[str, Any], ...] = ()  # literal top-level assignments, in order
    assigned: tuple[str, ...] = ()  # names the cell binds in the notebook's namespace
    read: tuple[str, ...] = ()  # names the cell reads from the notebook's namespace
    strings: tuple[str, ...] = ()  # string literals that could name a file
    parsed: bool = True


@lru_cache(maxsize=256)
def analyze(source: str) -> CellAnalysis:
    """Parameters, names read and written, and candidate file paths of a cell.

    A cell that does not parse as Python (it may hold IPython syntax the shell transforms
    first) yields an empty analysis; the caller passes the transformed source when it can.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return CellAnalysis(parsed=False)
    names = _NameCollector()
    names.visit(tree)
    return CellAnalysis(
        params=tuple(_literal_assignments(tree.body).items()),
        assigned=tuple(dict.fromkeys(names.stored)),
        read=tuple(dict.fromkeys(names.loaded)),
        strings=tuple(dict.fromkeys(names.strings)),
    )


def _literal_assignments(body: list[ast.stmt]) -> dict[str, Any]:
    """``name = <literal>`` at the top level; a later non-literal assignment drops the name."""
    found: dict[str, Any] = {}
    for stmt in body:
        pairs: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(stmt, ast.Assign):
            pairs = [(target, stmt.value) for target in stmt.targets]
        elif isinstance(stmt, ast.AnnAssign):
            pairs = [(stmt.target, stmt.value)]
        elif isinstance(stmt, ast.AugAssign | ast.For | ast.With | ast.Delete):
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store | ast.Del):
                    found.pop(sub.id, None)
            continue
        for target, value in pairs:
            for name, node in _unpack(target, value):
                literal = _literal(node)
                if literal is _NOT_LITERAL:
                    found.pop(name, None)
                else:
                    found.pop(name, None)  # re-insert so the order follows the last binding
                    found[name] = literal
    return found


def _unpack(target: ast.expr, value: ast.expr | None) -> Iterable[tuple[str, ast.expr | None]]:
    if isinstance(target, ast.Name):
        yield target.id, value
    elif isinstance(target, ast.Tuple | ast.List):
        values = value.elts if isinstance(value, ast.Tuple | ast.List) else None
        if values is not None and len(values) == len(target.elts):
            for sub_target, sub_value in zip(target.elts, values, strict=True):
                yield from _unpack(sub_target, sub_value)
        else:
            for sub_target in target.elts:
                yield from _unpack(sub_target, None)


_NOT_LITERAL = object()


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return _NOT_LITERAL
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL
    return value if _is_plain(value) else _NOT_LITERAL


def _is_plain(value: Any) -> bool:
    """Numbers, strings, booleans, None, and lists/tuples/dicts of them."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str | int | float | bool) and _is_plain(v) for k, v in value.items()
        )
    return False


class _NameCollector(ast.NodeVisitor):
    """Names bound and read at the notebook's level, and string literals anywhere.

    Function and class bodies bind their own locals, so only their free reads count;
    comprehension variables are local to the comprehension.
    """

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.loaded: list[str] = []
        self.strings: list[str] = []
        self._depth = 0  # > 0 inside a nested scope

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.loaded.append(node.id)
        elif self._depth == 0:
            self.stored.append(node.id)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and 0 < len(value) <= _MAX_PATH_LEN and "\n" not in value:
            self.strings.append(value)

    def _visit_scope(self, node: ast.AST, name: str | None) -> None:
        if name and self._depth == 0:
            self.stored.append(name)
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_scope(node, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_scope(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_scope(node, None)

    def _visit_comprehension(self, node: ast.AST) -> None:
        self._visit_scope(node, None)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self._depth == 0:
            for alias in node.names:
                self.stored.append((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        # The walrus binds in the enclosing function scope, even from a comprehension.
        if isinstance(node.target, ast.Name):
            self.stored.append(node.target.id)
        self.visit(node.value)


# -- parameters -------------------------------------------------------------------------------


def param_value(value: Any) -> str:
    """How a parameter value is written into MLflow (which stores strings)."""
    return value if isinstance(value, str) else repr(value)


def parse_pairs(pairs: Iterable[str], what: str) -> dict[str, str]:
    """``["k=v", ...]`` from ``--param`` / ``--tag``; a malformed pair is a ValueError."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what} must look like NAME=VALUE, got {pair!r}")
        parsed[key.strip()] = value
    return parsed


# -- metrics ----------------------------------------------------------------------------------


def metric_value(value: Any) -> float | None:
    """A Python or NumPy real scalar as float; None for anything else (bools included)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    # 0-d NumPy arrays are scalars too; avoid importing numpy to find out.
    if getattr(value, "shape", None) == () and getattr(value, "dtype", None) is not None:
        kind = getattr(value.dtype, "kind", "")
        return float(value) if kind in "iuf" else None
    return None


_PART_SPLIT = re.compile(r"[_\W]+")


def is_metric_name(name: str, patterns: Iterable[str]) -> bool:
    """Whether ``name`` looks like a metric: a pattern matches the whole lower-cased name or
    one of its ``_``-separated parts (``val_loss``, ``test_auc``, ``f1``)."""
    lowered = name.lower()
    parts = [lowered, *(p for p in _PART_SPLIT.split(lowered) if p)]
    return any(fnmatch.fnmatchcase(part, pattern.lower()) for pattern in patterns for part in parts)


def scalar_metrics(
    namespace: Mapping[str, Any], names: Iterable[str], patterns: Iterable[str],
    explicit: Iterable[str] = (),
) -> dict[str, float]:
    """Numeric scalars among ``names`` whose names match ``patterns``, plus ``explicit`` ones."""
    patterns = tuple(patterns)
    wanted = [n for n in names if is_metric_name(n, patterns)]
    found: dict[str, float] = {}
    for name in dict.fromkeys([*wanted, *explicit]):
        if name in namespace:
            value = metric_value(namespace[name])
            if value is not None:
                found[name] = value
    return found
