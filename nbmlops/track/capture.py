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

from nbmlops.track import file_calls

#: Longest string literal considered as a possible file path.
_MAX_PATH_LEN = 1024


@dataclass(frozen=True)
class CellAnalysis:
    """What the source of a cell says, before it runs."""

    params: tuple[tuple[str, Any], ...] = ()  # literal top-level assignments, in order
    assigned: tuple[str, ...] = ()  # names the cell binds in the notebook's namespace
    read: tuple[str, ...] = ()  # names the cell reads from the notebook's namespace
    strings: tuple[str, ...] = ()  # string literals that could name a file
    scripts: tuple[str, ...] = ()  # files it runs with ``%run``: code, not data
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
        scripts=tuple(dict.fromkeys(names.scripts)),
    )


def names_of(node: ast.AST) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(bound, read)``: the names one statement binds at the notebook's level and the names
    it reads from it, in the same sense as :func:`analyze` (free names of nested scopes
    count as read). For the code slice, which analyses a cell statement by statement."""
    names = _NameCollector()
    names.visit(node)
    return tuple(dict.fromkeys(names.stored)), tuple(dict.fromkeys(names.loaded))


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
    if isinstance(value, list | tuple | dict) and not value:
        return _NOT_LITERAL  # `losses = []` starts a container to fill, not a setting
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
    """Names bound at the notebook's level, names read from it, and string literals.

    Nodes are visited in evaluation order (the value of an assignment before its targets, a
    loop's iterable before its variable), so a name the cell binds before it reads it is not
    counted as read from the notebook: it is the cell's own. Function, lambda and
    comprehension bodies bind their own locals; only their free names are read.
    """

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.loaded: list[str] = []
        self.strings: list[str] = []
        self.scripts: list[str] = []
        self._bound: set[str] = set()  # bound by the cell so far, at the notebook's level
        self._scopes: list[set[str]] = []  # locals of the nested scopes we are inside
        self._comprehensions: list[set[str]] = []  # those of them that are comprehensions

    def _load(self, name: str) -> None:
        if name not in self._bound and not any(name in scope for scope in self._scopes):
            self.loaded.append(name)

    def _store(self, name: str) -> None:
        if self._scopes:
            self._scopes[-1].add(name)
        else:
            self.stored.append(name)
            self._bound.add(name)

    def _visit_all(self, nodes: Iterable[ast.AST | None]) -> None:
        for node in nodes:
            if node is not None:
                self.visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)
        else:
            self._store(node.id)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and 0 < len(value) <= _MAX_PATH_LEN and "\n" not in value:
            self.strings.append(value)

    def visit_Call(self, node: ast.Call) -> None:
        magic = file_calls.line_magic(node)
        if magic is None:
            self.generic_visit(node)
            return
        # ``%run helper.py`` runs code; a line magic's words name no data the cell reads.
        target = file_calls.run_target(magic[1]) if magic[0] == "run" else None
        if target:
            self.scripts.append(target)

    # -- evaluation order ---------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        self._visit_all([node.value, *node.targets])

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._visit_all([node.annotation, node.value, node.target])

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):  # ``x += 1`` reads x, then binds it
            self._load(node.target.id)
            self._store(node.target.id)
        else:
            self.visit(node.target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._visit_all([node.iter, node.target, *node.body, *node.orelse])

    visit_AsyncFor = visit_For

    def visit_With(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self._visit_all([item.context_expr, item.optional_vars])
        self._visit_all(node.body)

    visit_AsyncWith = visit_With

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        # The walrus binds in the enclosing function scope (or the notebook's), even from
        # inside a comprehension.
        owners = [s for s in self._scopes if not any(s is c for c in self._comprehensions)]
        if owners:
            owners[-1].add(node.target.id)
        else:
            self.stored.append(node.target.id)
            self._bound.add(node.target.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._visit_all([node.type])
        if node.name:
            self._store(node.name)
        self._visit_all(node.body)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self._store((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    # -- nested scopes ------------------------------------------------------------------------

    def _in_scope(self, names: Iterable[str], body: Iterable[ast.AST]) -> None:
        self._scopes.append(set(names))
        self._visit_all(body)
        self._scopes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        self._visit_all([*node.decorator_list, *args.defaults, *args.kw_defaults])
        self._in_scope(_arg_names(args), node.body)
        self._store(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_all([*node.args.defaults, *node.args.kw_defaults])
        self._in_scope(_arg_names(node.args), [node.body])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._visit_all([*node.decorator_list, *node.bases, *node.keywords])
        self._in_scope((), node.body)
        self._store(node.name)

    def _visit_comprehension(
        self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp
    ) -> None:
        first, *rest = node.generators
        self.visit(first.iter)  # evaluated in the enclosing scope
        local: set[str] = set()
        self._scopes.append(local)
        self._comprehensions.append(local)
        self.visit(first.target)
        self._visit_all(first.ifs)
        for generator in rest:
            self._visit_all([generator.iter, generator.target, *generator.ifs])
        if isinstance(node, ast.DictComp):
            self._visit_all([node.key, node.value])
        else:
            self.visit(node.elt)
        self._scopes.pop()
        self._comprehensions.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comprehension


def _arg_names(args: ast.arguments) -> list[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return [a.arg for a in every if a is not None]


# -- parameters -------------------------------------------------------------------------------


def literal_params(
    literals: Iterable[tuple[str, Any]], patterns: Iterable[str], metrics: Iterable[str] = (),
) -> dict[str, Any]:
    """The literal assignments of a cell that are parameters; the rest are metrics.

    A literal named like a metric (``baseline_acc = 0.8``: a pattern matches the name) or
    named by ``--metric`` is a metric, never a parameter. The one rule for a run's record
    and for ``nbmlops export``, so a job's parameters are the run's params."""
    patterns, named = tuple(patterns), set(metrics)
    return {name: value for name, value in literals
            if name not in named and not is_metric_name(name, patterns)}


def param_value(value: Any) -> str:
    """How a parameter value is written into MLflow (which stores strings)."""
    return value if isinstance(value, str) else repr(value)


# -- metrics ----------------------------------------------------------------------------------


def metric_value(value: Any) -> float | None:
    """A Python or NumPy real scalar as float; None for anything else (bools included)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    # 0-d NumPy arrays and tensors are scalars too; avoid importing numpy or torch to find out.
    if getattr(value, "shape", None) == () and getattr(value, "dtype", None) is not None:
        if _is_tensor(value):
            # Read detached: a tensor that needs grad would make PyTorch warn in the output.
            dtype = value.dtype
            number = dtype.is_floating_point or str(dtype).startswith(("torch.int", "torch.uint"))
            return float(value.detach()) if number else None
        kind = getattr(value.dtype, "kind", "")
        return float(value) if kind in "iuf" else None
    return None


def _is_tensor(value: Any) -> bool:
    return any(c.__module__ == "torch" and c.__name__ == "Tensor" for c in type(value).__mro__)


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
            try:
                value = metric_value(namespace[name])
            except Exception:  # an object whose number cannot be read: not a metric
                continue
            if value is not None:
                found[name] = value
    return found
