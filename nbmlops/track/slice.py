"""The code slice: the statements a tracked cell's inputs really came from.

The kernel keeps a :class:`History` of every cell it executed, as executed (cells edited or
deleted since included), analysed once, statement by statement, in the order the cells ran:
the names a statement binds, may bind (inside ``if``/``for``/``try``, or in a cell that failed),
changes in place (``df["x"] = ...``, ``df.dropna(inplace=True)``, ``model.fit(X, y)``,
``np.random.seed(0)``) and reads. Per name, the positions of those events are kept in order,
so a tracked cell's slice walks back from the names it reads to the last statement that bound
each one, plus every change in place since, transitively; the cost is the slice's size, never
the history's length. A cell is analysed when the next slice needs it, not when it runs: a cell
nobody tracks costs only its code kept, and any cell costs time linear in its length.

Static analysis cannot see everything (aliases, ``exec``, ``%run``, ``from m import *``): where
it cannot be sure it keeps the statement and says so (verdict ``unsure``). What it sees is
enough to name stale state at once: an input computed by a cell edited since, by a cell run
before the cell feeding it ran again, changed in place by a cell run after this one, or coming
from a deleted cell or a cell below this one in the saved notebook (verdict ``stale``). The
verdict trusts sure changes only, and a statement that did again what an earlier one did (the
same import, a seed set again, the same code from equivalent inputs) is no input: cells run
again in order, Run All twice, are not stale; state a re-run carried over is.

Pure ``ast`` and plain data: no mlflow, no IPython import.
"""

from __future__ import annotations

import ast
import bisect
import builtins
import contextlib
import copy
import hashlib
import json
import os
import re
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbmlops import regular_files
from nbmlops.track import capture, file_calls
from nbmlops.track.segments import Segments

CLEAN, STALE, UNSURE = "clean", "stale", "unsure"

_BIND, _MAYBE, _MUTATE, _IMPORT = 0, 1, 2, 3
# An import binds a name for sure, but to a module that lives on: what earlier cells did to
# it (``np.random.seed(0)``) still holds after ``import numpy as np`` runs again.

#: Methods that change their object whatever is done with their result (lists, dicts, sets,
#: pandas with ``inplace=True`` aside, scikit-learn estimators, random generators).
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update", "sort",
    "reverse", "setdefault", "add", "discard", "difference_update", "intersection_update",
    "symmetric_difference_update", "fit", "partial_fit", "fit_transform", "fit_predict",
    "set_params", "seed", "manual_seed", "set_seed", "shuffle", "put", "resize", "fill",
    "setflags", "itemset", "write", "load_state_dict", "train", "eval", "step", "zero_grad",
})
#: Methods that set their object's random state whatever it was: a later call overrides an
#: earlier one (``np.random.seed(0)`` run again in order is not state carried over).
RESETTING_METHODS = frozenset({"seed", "manual_seed", "set_seed"})
#: Methods whose bare call (``df.head()`` closing a cell) only looks.
READING_METHODS = frozenset({
    "head", "tail", "describe", "info", "sample", "copy", "keys", "values", "items", "get",
    "count", "sum", "mean", "median", "min", "max", "std", "var", "nunique", "unique",
    "value_counts", "isna", "isnull", "notna", "corr", "cov", "to_string", "to_numpy",
    "predict", "predict_proba", "score", "transform", "summary", "round", "any", "all",
    "memory_usage", "equals", "format", "join", "split", "strip", "startswith", "endswith",
    "plot", "hist", "scatter", "bar", "barh", "boxplot", "show", "savefig", "to_csv",
    "to_parquet", "to_json", "to_pickle", "to_excel", "to_sql", "save",
})
#: Functions whose bare call does not change its arguments.
READING_FUNCTIONS = frozenset({
    "print", "display", "len", "repr", "type", "str", "help", "dir", "vars", "id",
    "isinstance", "sorted", "list", "tuple", "dict", "set", "sum", "min", "max", "abs",
    "round", "hash", "bool", "int", "float", "iter", "next", "range", "enumerate", "zip",
})
#: Plotting modules as notebooks name them: their bare calls draw, they change no argument.
PLOTTING_MODULES = frozenset({"plt", "sns", "px", "go", "alt"})
#: Cell magics whose body runs as plain code in the notebook's namespace.
BODY_MAGICS = frozenset({"time", "capture", "track"})
#: Line magics that may bind any name.
OPAQUE_LINE_MAGICS = frozenset({"run", "load", "store", "macro", "load_ext"})
#: Calls that may bind any name.
OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "locals", "vars", "__import__"})

#: IPython's input and output caches (``_``, ``_i3``, ``_7``, ``_oh``).
_IPYTHON_CACHE = re.compile(r"_+|_i+|_i?\d+|_[oid]h")

_CONDITIONAL: tuple[type[ast.stmt], ...] = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.Match,
)
if hasattr(ast, "TryStar"):  # Python 3.11+
    _CONDITIONAL = (*_CONDITIONAL, ast.TryStar)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


@dataclass(frozen=True)
class Statement:
    """One top-level statement of an executed cell, analysed once."""

    run: int  # index of its execution in History.runs
    source: str
    reads: tuple[str, ...]
    late_reads: tuple[str, ...]  # free names of a function body: looked up where it is called
    changes: tuple[str, ...]  # surely changed in place (what stale-state warnings trust)
    definition: bool  # an import, def or class: re-running it unchanged changes nothing
    strings: tuple[str, ...] = ()  # string literals that may name files it reads
    partial: bool = False  # in a cell that failed: it may have run part-way or not at all
    resets: tuple[str, ...] = ()  # names whose random state it sets (``np.random.seed(0)``)


@dataclass(frozen=True)
class _Executed:
    """A cell as it ran, until the history analyses it."""

    code: str
    execution_count: int | None
    cell_id: str | None
    failed: bool
    tracked: str | None
    stopped_at: int | None
    when: float


@dataclass
class Ran:
    """One executed cell."""

    number: int  # 1-based, in the order cells ran
    execution_count: int | None
    cell_id: str | None
    code: str
    failed: bool
    first: int  # position of its first statement
    tracked: str | None = None  # its run name, when it was a tracked cell
    when: float = field(default_factory=time.time)

    @property
    def label(self) -> str:
        """How the user sees it: ``[3]`` beside the cell, else its place in the history."""
        return f"[{self.execution_count}]" if self.execution_count else f"#{self.number}"


@dataclass
class Slice:
    """The program that reproduces a tracked cell's inputs, and the verdict on them."""

    run_name: str
    cells: list[tuple[str, str]]  # (label of the executed cell, the statements kept), in order
    body: str  # the tracked cell's code
    track_line: str  # ``%%track NAME options`` as the cell had it (with its run name)
    stale: list[str] = field(default_factory=list)
    unsure: list[str] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)  # literals of its statements: file paths?
    scripts: list[str] = field(default_factory=list)  # files its statements run with %run

    @property
    def verdict(self) -> str:
        return STALE if self.stale else UNSURE if self.unsure else CLEAN

    @property
    def reasons(self) -> list[str]:
        return [*self.stale, *self.unsure]

    def script(self, params: Mapping[str, str] | None = None) -> str:
        """A runnable script ending with the tracked cell (``code/slice.py``)."""
        out = [
            f"# Code slice of the run {self.run_name!r}: the statements its inputs came from,",
            "# in the order they ran, then the tracked cell. nbmlops reproduce RUN_ID re-runs it.",
            f"# nbmlops.slice: {self.verdict}",
            *(f"#   {reason}" for reason in self.reasons),
            "",
        ]
        parameters = parameters_source(params or {})
        if parameters:
            out += ["# parameters", parameters, ""]
        for label, code in self.cells:
            out += [f"# cell {label}", code.rstrip("\n"), ""]
        out += ["# the tracked cell", self.body.strip("\n"), ""]
        return "\n".join(out)

    def notebook(self, params: Mapping[str, str] | None = None) -> str:
        """The same as a notebook (``code/slice.ipynb``): a papermill ``parameters`` cell on
        top, one cell per executed cell, the tracked cell last with its ``%%track`` line."""
        cells = [
            _cell("markdown", f"Code slice of the run `{self.run_name}` "
                  f"(nbmlops.slice: {self.verdict})"
                  + "".join(f"\n- {reason}" for reason in self.reasons)),
            _cell("code", parameters_source(params or {}), tags=["parameters"]),
            _cell("code", "%load_ext nbmlops"),
        ]
        cells += [_cell("code", f"# cell {label}\n{code.rstrip()}") for label, code in self.cells]
        cells.append(_cell("code", f"{self.track_line}\n{self.body.strip(chr(10))}"))
        return json.dumps({
            "cells": cells,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python",
                               "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }) + "\n"


def _cell(kind: str, source: str, tags: list[str] | None = None) -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": kind,
        "id": hashlib.sha1(f"{kind}{source}{tags}".encode()).hexdigest()[:12],
        "metadata": {"tags": tags} if tags else {},
        "source": source,
    }
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def parameters_source(params: Mapping[str, str]) -> str:
    """``name = value`` lines of a run's parameters that are plain names (a papermill
    parameters cell); a value that is a Python literal stays one, any other is a string."""
    lines = []
    for name, text in params.items():
        if not name.isidentifier():
            continue
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            value = text
        lines.append(f"{name} = {value!r}")
    return "\n".join(lines)


def track_line(line: str, run_name: str, has_name: bool) -> str:
    """The ``%%track`` line with the run's name in it (a cell named by its id would get
    another name when the slice runs elsewhere)."""
    line = line.strip()
    if has_name:
        return f"%%track {line}".rstrip()
    return f"%%track {shlex.quote(run_name)} {line}".rstrip()


class History:
    """Every cell the kernel executed, analysed once; slices of tracked cells from it."""

    def __init__(self, given: Iterable[str] = ()) -> None:
        #: Names the shell provides without a cell binding them (``get_ipython``, ``In``).
        self.given = set(given)
        self.reset()

    def reset(self) -> None:
        self._waiting: list[_Executed] = []  # cells run since the history was last read
        self._runs: list[Ran] = []
        self._statements: list[Statement] = []
        self._events: dict[str, list[tuple[int, int]]] = {}  # name -> [(position, kind)]
        self._opaque: list[int] = []
        # (position, name) of changes that are only maybe (a bare call's arguments): kept in
        # slices, not trusted for stale-state verdicts.
        self._loose: set[tuple[int, str]] = set()
        # Functions that assign globals (``global x`` in their body), by the name they are
        # bound to now: the globals each may rebind when called.
        self._global_writers: dict[str, tuple[str, ...]] = {}
        # Names bound to one object by ``b = a``: a change in place through one is a change
        # of all (each name maps to its group, one set shared by the group).
        self._aliases: dict[str, set[str]] = {}
        self._runs_of: dict[str, list[int]] = {}  # cell id -> its runs, in order
        self._runs_named: dict[str, list[int]] = {}  # tracked run name -> its runs
        # _defs by (name, how many of its events came before): never changes, events are
        # only ever appended.
        self._defs_cache: dict[tuple[str, int], tuple[list[int], bool]] = {}
        self._trusted_cache: dict[tuple[str, int, bool], tuple[list[tuple[int, int]], bool]] = {}
        #: The latest script of each tracked run name, and the latest name (``%mlops slice``).
        self.latest: dict[str, str] = {}
        self.latest_name: str | None = None

    # -- recording, once per executed cell --------------------------------------------------------

    def add(
        self, code: str, *, execution_count: int | None = None, cell_id: str | None = None,
        failed: bool = False, tracked: str | None = None, stopped_at: int | None = None,
    ) -> None:
        """Record one executed cell (its code as IPython ran it, magics transformed).

        A cell that ``failed`` ran up to line ``stopped_at`` of ``code`` when the error's
        traceback says so: what follows never ran, the statement there ran part-way.
        Without it, every statement of a failed cell may or may not have run.

        The cell is analysed when the history is next read (a tracked cell's slice), in the
        order the cells ran, so the result is the same: a cell no slice needs yet costs the
        kernel nothing but keeping its code."""
        self._waiting.append(_Executed(code, execution_count, cell_id, failed, tracked,
                                       stopped_at, time.time()))

    @property
    def runs(self) -> list[Ran]:
        """Every executed cell, in order (analysed)."""
        self._catch_up()
        return self._runs

    @property
    def statements(self) -> list[Statement]:
        """Every statement of the executed cells, in order (analysed)."""
        self._catch_up()
        return self._statements

    def _catch_up(self) -> None:
        waiting, self._waiting = self._waiting, []
        for executed in waiting:
            # A cell nbmlops cannot read is left out; the others still count.
            with contextlib.suppress(Exception):
                self._analyse(executed)

    def _analyse(self, executed: _Executed) -> None:
        code, failed, stopped_at = executed.code, executed.failed, executed.stopped_at
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError):
            return  # none of it ran
        run = len(self._runs)
        self._runs.append(Ran(run + 1, executed.execution_count, executed.cell_id, code, failed,
                              len(self._statements), executed.tracked, executed.when))
        if executed.cell_id:
            self._runs_of.setdefault(executed.cell_id, []).append(run)
        if executed.tracked:
            self._runs_named.setdefault(executed.tracked, []).append(run)
        top = set(tree.body)  # not the statements of a %%time body
        for node, source in _statements(tree, code):
            partly = failed
            if failed and stopped_at is not None and node in top:
                if node.lineno > stopped_at:
                    continue  # never ran
                partly = stopped_at <= (node.end_lineno or node.lineno)
            self._add_statement(run, node, source, partly)

    def replay(self, cells: list[str], count: int) -> None:
        """Add the cells the shell ran before nbmlops was loaded: ``cells`` is IPython's
        ``In`` (transformed code by execution count), ``count`` the running cell's count.
        Whether they failed is not known: they are taken to have run whole."""
        for number, code in enumerate(cells[1:count], start=1):
            if isinstance(code, str) and code.strip():
                self.add(code, execution_count=number)

    def _add_statement(self, run: int, node: ast.stmt, source: str, partial: bool) -> None:
        position = len(self._statements)
        bound, reads = capture.names_of(node)
        late: tuple[str, ...] = ()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            head = copy.copy(node)
            head.body = [ast.Pass()]
            _, direct = capture.names_of(head)
            late = tuple(n for n in reads if n not in direct)
            reads = direct
        nodes = list(_walk(node))  # walked once for the three questions below
        surely, maybe = _changes(node, nodes)
        opaque = _is_opaque(nodes)
        self._statements.append(Statement(
            run, source, reads, late, tuple(surely),
            isinstance(node, _DEFINITIONS) and not partial, _path_strings(nodes), partial,
            _resets(node),
        ))
        unsure = partial or isinstance(node, _CONDITIONAL)
        kind = _IMPORT if isinstance(node, ast.Import | ast.ImportFrom) else _BIND
        for name in bound:
            self._event(name, position, _MAYBE if unsure else kind)
        for name in bound:
            self._aliases.pop(name, set()).discard(name)
        alias = _alias(node)
        if alias is not None and not unsure:
            target, source = alias
            group = self._aliases.setdefault(source, {source})
            group.add(target)
            self._aliases[target] = group
        sure = {name for changed in surely for name in self._aliases.get(changed, (changed,))}
        for changed in (*surely, *maybe):
            for name in self._aliases.get(changed, (changed,)):
                if name not in bound:
                    self._event(name, position, _MUTATE)
                    if name not in sure:
                        self._loose.add((position, name))
        # Calling a function that assigns globals may rebind them.
        for name in reads if self._global_writers else ():
            for written in self._global_writers.get(name, ()):
                self._event(written, position, _MAYBE)
        for name in bound:
            self._global_writers.pop(name, None)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not unsure:
            writes = _global_names(node)
            if writes:
                self._global_writers[node.name] = writes
        if opaque:
            self._opaque.append(position)

    def _event(self, name: str, position: int, kind: int) -> None:
        self._events.setdefault(name, []).append((position, kind))

    def _defs(self, name: str, before: int) -> tuple[list[int], bool]:
        """Positions that made ``name`` what it was just before ``before``: back to the last
        statement surely binding it, with every possible binding and change since; and
        whether such a binding was found."""
        events = self._events.get(name)
        if not events:
            return [], False
        end = bisect.bisect_left(events, (before, -1))
        cached = self._defs_cache.get((name, end))
        if cached is not None:
            return cached
        found = []
        imported = complete = False
        for i in range(end - 1, -1, -1):
            position, kind = events[i]
            found.append(position)
            if kind == _BIND:
                complete = True
                break
            imported = imported or kind == _IMPORT
        if len(self._defs_cache) > 100_000:
            self._defs_cache.clear()
        self._defs_cache[(name, end)] = result = (found, complete or imported)
        return result

    def _trusted_defs(
        self, name: str, before: int, reset: bool = False
    ) -> tuple[list[tuple[int, int]], bool]:
        """What stale-state verdicts trust of :meth:`_defs`: ``(position, kind)`` of the
        statements that made ``name`` what it was before ``before``, without the changes
        that are only maybe and the statements a later one redid (the same import again, a
        random seed set again: ``reset`` when the reader sets it itself first)."""
        events = self._events.get(name)
        if not events:
            return [], False
        end = bisect.bisect_left(events, (before, -1))
        cached = self._trusted_cache.get((name, end, reset))
        if cached is None:
            if len(self._trusted_cache) > 100_000:
                self._trusted_cache.clear()
            cached = self._trusted_cache[(name, end, reset)] = self._trust(name, end, reset)
        return cached

    def _trust(self, name: str, end: int, reset: bool) -> tuple[list[tuple[int, int]], bool]:
        events = self._events[name]
        found: list[tuple[int, int]] = []
        imports: set[str] = set()
        imported = False
        for i in range(end - 1, -1, -1):
            position, kind = events[i]
            if (found and found[-1][0] == position) or (position, name) in self._loose:
                continue
            statement = self._statements[position]
            if kind == _IMPORT:
                imported = True
                if statement.source in imports:
                    continue
                imports.add(statement.source)
            elif kind == _MUTATE and name in statement.resets:
                if reset:
                    continue
                reset = True
            found.append((position, kind))
            if kind == _BIND:
                return found, True
        return found, imported

    def _trusted(
        self, reads: Iterable[str], resets: set[str], end: int
    ) -> tuple[set[int], dict[int, set[int]]]:
        """The statements a cell about to run at ``end`` depends on through what it trusts
        (:meth:`_trusted_defs`), and who reads whom among them (``end`` is the cell)."""
        kept: set[int] = set()
        edges: dict[int, set[int]] = {}
        work = [(name, end, name in resets) for name in reads]
        seen: set[tuple[str, int, bool]] = set()
        while work:
            item = work.pop()
            if item in seen:
                continue
            seen.add(item)
            name, before, reset = item
            found, complete = self._trusted_defs(name, before, reset)
            positions = [p for p, _ in found]
            if not complete and not self._given(name):
                positions += [p for p in self._opaque if p < before]
            edges.setdefault(before, set()).update(positions)
            for position in positions:
                if position in kept:
                    continue
                kept.add(position)
                statement = self._statements[position]
                work += [(r, position, r in statement.resets) for r in statement.reads]
                work += [(r, position, False) for r in statement.late_reads]
                work += [(r, before, False) for r in statement.late_reads]
        return kept, edges

    def _equivalent(self, old: int, new: int, depth: int = 0) -> bool:
        """Whether the statement at ``new`` did again what the one at ``old`` did: the same
        code from inputs made by the same (or equivalent) statements."""
        if old == new:
            return True
        was, now = self._statements[old], self._statements[new]
        if was.source != now.source or now.partial or depth > 8:
            return False
        for name in now.reads:
            then, _ = self._trusted_defs(name, old, name in was.resets)
            since, _ = self._trusted_defs(name, new, name in now.resets)
            if len(then) != len(since) or not all(
                self._equivalent(a, b, depth + 1)
                for (a, _), (b, _) in zip(then, since, strict=True)
            ):
                return False
        return True

    # -- slicing a tracked cell, before it runs ----------------------------------------------------

    def slice(
        self, body: str, *, run_name: str, line: str = "", has_name: bool = False,
        cell_id: str | None = None, notebook_cells: list[str] | None = None,
        notebook_saved: float | None = None,
    ) -> Slice:
        """The slice of a tracked cell about to run now with code ``body`` (transformed).

        ``notebook_cells`` are the cell ids of the saved notebook in order (None when unknown),
        ``notebook_saved`` when it was saved: they tell deleted cells and cells below this one.
        """
        self._catch_up()
        end = len(self._statements)
        reads = capture.analyze(body).read
        needed: dict[int, str] = {}  # position -> the input of the tracked cell it serves
        unsure: dict[str, None] = {}
        seen: set[tuple[str, int]] = set()
        work = [(name, end, name) for name in reversed(reads)]
        while work:
            name, before, via = work.pop()
            if (name, before) in seen:
                continue
            seen.add((name, before))
            found, complete = self._defs(name, before)
            if not complete and not self._given(name):
                opaque = [p for p in self._opaque if p < before]
                found += opaque
                where = ", ".join(self._label(p) for p in opaque)
                unsure[f"`{name}` has no definition nbmlops could read in this kernel's "
                       f"history" + (f" (kept {where}, which may bind it)" if opaque else "")
                       ] = None
            for position in found:
                if position in needed:
                    continue
                needed[position] = via
                statement = self._statements[position]
                work += [(r, position, via) for r in statement.reads]
                # A function reads its globals when called: as they were then, and as at the
                # definition (kept either way, so nothing it might see is missing).
                work += [(r, position, via) for r in statement.late_reads]
                work += [(r, before, via) for r in statement.late_reads]
        positions = sorted(needed)
        result = Slice(run_name, self._cells(positions), body,
                       track_line(line, run_name, has_name))
        result.strings = list(dict.fromkeys(
            s for p in positions for s in self._statements[p].strings
        ))
        result.scripts = [s for p in positions for s in _scripts(self._statements[p].source)]
        resets = _first_resets(body)
        trusted, edges = self._trusted(reads, resets, end)
        result.stale = self._stale(trusted, edges, needed, reads, resets, run_name, cell_id,
                                   notebook_cells, notebook_saved)
        partial = dict.fromkeys(self._runs[self._statements[p].run].label for p in positions
                                if self._statements[p].partial)
        result.unsure = [*unsure, *(f"cell {label} failed part-way: which of its statements "
                                    "ran is unsure" for label in partial)]
        return result

    def _given(self, name: str) -> bool:
        return name in self.given or hasattr(builtins, name) or bool(_IPYTHON_CACHE.fullmatch(name))

    def _label(self, position: int) -> str:
        return "cell " + self._runs[self._statements[position].run].label

    def _cells(self, positions: list[int]) -> list[tuple[str, str]]:
        cells: list[tuple[str, str]] = []
        last = -1
        imports: set[str] = set()
        for position in positions:
            statement = self._statements[position]
            if statement.definition and statement.source.startswith(("import ", "from ")):
                if statement.source in imports:
                    continue  # the same import again binds the same module
                imports.add(statement.source)
            if statement.run != last:
                cells.append((self._runs[statement.run].label, ""))
                last = statement.run
            label, code = cells[-1]
            cells[-1] = (label, code + statement.source.rstrip("\n") + "\n")
        return cells

    def _stale(
        self, trusted: set[int], edges: dict[int, set[int]], needed: dict[int, str],
        reads: tuple[str, ...], resets: set[str], run_name: str, cell_id: str | None,
        notebook_cells: list[str] | None, notebook_saved: float | None,
    ) -> list[str]:
        """Why the inputs the cell trusts are not what running the cells in order gives.

        A cell run again in order is not stale: what a later statement redid (the same
        import, a seed set again, the same code from the same inputs) is not an input."""
        reasons: dict[str, None] = {}
        runs, statements = self._runs, self._statements
        # Earlier runs of this cell: by its id, else (outside a notebook) by its run's name.
        this = set(self._runs_of.get(cell_id, ()) if cell_id else
                   self._runs_named.get(run_name, ()))
        order = {c: i for i, c in enumerate(notebook_cells or ())}
        positions = sorted(trusted)
        slice_runs = dict.fromkeys(statements[p].run for p in positions)
        checked: set[int] = set()
        own: dict[str, int] = {}  # input -> the latest earlier run of this cell it comes from
        repeated: set[tuple[str, str]] = set()

        for position in positions:
            via, statement = needed.get(position, ""), statements[position]
            ran = runs[statement.run]
            if statement.run in this:
                own[via] = max(own.get(via, -1), statement.run)
                continue
            if ran.cell_id and statement.run not in checked:
                checked.add(statement.run)
                later = [r for r in self._runs_of[ran.cell_id] if r > statement.run]
                if any(runs[r].code != ran.code for r in later):
                    reasons[f"`{via}` comes from cell {ran.label} as it was before your last "
                            "edit"] = None
                # The same code run again on what its earlier run left: a change applied twice.
                repeats = [runs[r].label for r in later
                           if r in slice_runs and runs[r].code == ran.code
                           and self._reads_run(r, statement.run, trusted, edges)]
                if repeats and (via, ran.cell_id) not in repeated:
                    repeated.add((via, ran.cell_id))
                    reasons[f"`{via}` comes from cell {ran.label} run again as "
                            f"{', '.join(repeats)}"] = None
            # An input of this statement made again since by a re-run of the cell that made it,
            # unless the re-run did the same again.
            for name in statement.reads:
                made, _ = self._trusted_defs(name, position, name in statement.resets)
                sources = {runs[statements[p].run].cell_id for p, _ in made} - {None}
                if not sources:
                    continue
                events = self._events.get(name, [])
                for later_position, _kind in events[bisect.bisect_right(events, (position, 9)):]:
                    again = statements[later_position]
                    if (later_position in trusted or runs[again.run].cell_id not in sources
                            or (later_position, name) in self._loose):
                        continue
                    if any(self._equivalent(p, later_position) for p, _ in made):
                        continue
                    reasons[f"`{via}` comes from cell {ran.label}, run before cell "
                            f"{runs[again.run].label} made `{name}` again"] = None
                    break
            if ran.cell_id and order:
                if ran.cell_id not in order and notebook_saved and notebook_saved > ran.when:
                    reasons[f"`{via}` comes from cell {ran.label}, deleted since"] = None
                elif cell_id in order and order.get(ran.cell_id, -1) > order[cell_id]:
                    reasons[f"`{via}` comes from cell {ran.label}, below this one"] = None
        # One clause per input, naming the last run it comes from: re-runs do not pile up.
        for via, run in own.items():
            reasons[f"`{via}` comes from an earlier run of this cell ({runs[run].label})"] = None

        # An input changed in place by another cell after this cell last ran, and not bound
        # (or imported) again since.
        previous = max(this, default=None)
        if previous is not None:
            for name in reads:
                made, complete = self._trusted_defs(name, len(statements), name in resets)
                bound = next((p for p, kind in made if kind in (_BIND, _IMPORT)), None)
                if not complete or bound is None or bound >= runs[previous].first:
                    continue
                for position, _ in made:
                    statement = statements[position]
                    ran = runs[statement.run]
                    if (position > bound and statement.run > previous
                            and statement.run not in this and name in statement.changes):
                        origin = runs[statements[bound].run].label
                        reasons[f"`{name}` comes from cell {origin}, changed in place since by "
                                f"cell {ran.label} (run after this cell)"] = None
        return list(reasons)

    def _reads_run(
        self, later: int, earlier: int, trusted: set[int], edges: dict[int, set[int]]
    ) -> bool:
        """Whether a statement of run ``later`` depends, through the trusted statements, on
        one of run ``earlier``."""
        runs, statements = self._runs, self._statements
        end = runs[later + 1].first if later + 1 < len(runs) else len(statements)
        todo = [p for p in range(runs[later].first, end) if p in trusted]
        seen = set(todo)
        while todo:
            for found in edges.get(todo.pop(), ()):
                if statements[found].run == earlier:
                    return True
                if found not in seen:
                    seen.add(found)
                    todo.append(found)
        return False


# -- the analysis of one statement ---------------------------------------------------------------


def _statements(tree: ast.Module, code: str) -> Iterable[tuple[ast.stmt, str]]:
    """Top-level statements with their source; the body of ``%%time``-like cell magics is
    analysed as the plain code it is. The code is split into lines once: cutting each
    statement from the whole code again would cost a long cell the square of its length."""
    segments = Segments(code)
    for node in tree.body:
        body = _magic_body(node)
        if body is not None:
            try:
                inner = ast.parse(body)
            except (SyntaxError, ValueError):
                pass
            else:
                yield from _statements(inner, body)
                continue
        yield node, segments.statement(node)


def _ipython_call(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``("run_cell_magic", args)`` for ``get_ipython().run_cell_magic(...)``."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call)
            and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython"):
        return node.func.attr, list(node.args)
    return None


def _magic_body(node: ast.stmt) -> str | None:
    call = _ipython_call(node.value) if isinstance(node, ast.Expr) else None
    if call is None or call[0] != "run_cell_magic" or len(call[1]) != 3:
        return None
    name, _, body = call[1]
    if (isinstance(name, ast.Constant) and name.value in BODY_MAGICS
            and isinstance(body, ast.Constant) and isinstance(body.value, str)):
        return body.value
    return None


def _is_opaque(nodes: Iterable[ast.AST]) -> bool:
    """Whether a statement (its nodes, :func:`_walk`) may bind any name."""
    for sub in nodes:
        if isinstance(sub, ast.ImportFrom) and any(a.name == "*" for a in sub.names):
            return True
        if isinstance(sub, ast.Call):
            if isinstance(sub.func, ast.Name) and sub.func.id in OPAQUE_CALLS:
                return True
            call = _ipython_call(sub)
            if call is not None and call[1] and isinstance(call[1][0], ast.Constant):
                magic = call[1][0].value
                if call[0] == "run_line_magic" and magic in OPAQUE_LINE_MAGICS:
                    return True
                if call[0] == "run_cell_magic" and magic not in BODY_MAGICS:
                    return True
    return False


def _walk(node: ast.AST) -> Iterable[ast.AST]:
    """The nodes that run with the statement: not the bodies of functions it defines."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if current is not node:
                continue
            if not isinstance(current, ast.Lambda):
                todo += [*current.decorator_list, *current.args.defaults]
                continue
        todo.extend(ast.iter_child_nodes(current))


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call | ast.Starred):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _receiver(node: ast.expr) -> str | None:
    """The variable a method call acts on: ``model`` in ``model.steps[0].fit(...)``; None for
    an object just made (``Tree(max_depth=2).fit(...)`` changes no variable)."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _changes(node: ast.stmt, nodes: Iterable[ast.AST]) -> tuple[list[str], list[str]]:
    """Names the statement (its nodes, :func:`_walk`) surely changes in place, and names it
    may change (a bare call: its object and its arguments)."""
    surely: list[str] = []
    maybe: list[str] = []
    for sub in nodes:
        targets: list[ast.expr] = []
        if isinstance(sub, ast.Assign):
            targets = sub.targets
        elif isinstance(sub, ast.AugAssign | ast.AnnAssign) and sub.value is not None:
            targets = [sub.target]
        elif isinstance(sub, ast.Delete):
            targets = sub.targets
        for target in targets:
            for element in _elements(target):
                if isinstance(element, ast.Attribute | ast.Subscript) or isinstance(
                    sub, ast.AugAssign
                ):
                    name = _root(element)
                    if name:
                        surely.append(name)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            name = _receiver(sub.func.value)
            inplace = any(k.arg == "inplace" and isinstance(k.value, ast.Constant)
                          and k.value.value is True for k in sub.keywords)
            if name and (inplace or sub.func.attr in MUTATING_METHODS):
                surely.append(name)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        func = call.func
        looks = (isinstance(func, ast.Name) and func.id in READING_FUNCTIONS) or (
            isinstance(func, ast.Attribute) and (func.attr in READING_METHODS
                                                  or _root(func) in PLOTTING_MODULES))
        if not looks and _ipython_call(call) is None:
            if isinstance(func, ast.Attribute):
                maybe.append(_root(func.value) or "")
            for arg in [*call.args, *(k.value for k in call.keywords)]:
                maybe.append(_root(arg) or "")
    return list(dict.fromkeys(surely)), [n for n in dict.fromkeys(maybe) if n]


def _alias(node: ast.stmt) -> tuple[str, str] | None:
    """``(b, a)`` for ``b = a``: two names for one object."""
    if (isinstance(node, ast.Assign) and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Name)):
        return node.targets[0].id, node.value.id
    return None


def _resets(node: ast.stmt) -> tuple[str, ...]:
    """``("np",)`` for ``np.random.seed(0)``: the variable whose random state it sets."""
    if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr in RESETTING_METHODS):
        name = _receiver(node.value.func.value)
        return (name,) if name else ()
    return ()


def _first_resets(code: str) -> set[str]:
    """Names whose first use in ``code`` sets their random state: what earlier seeds left is
    no input of it."""
    if not any(method in code for method in RESETTING_METHODS):
        return set()
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    first: set[str] = set()
    used: set[str] = set()
    for node in tree.body:
        resets = _resets(node)
        for name in capture.names_of(node)[1]:
            if name not in used and name in resets:
                first.add(name)
            used.add(name)
    return first


def _scripts(source: str) -> list[str]:
    if "run_line_magic" not in source:  # the cheap test first: almost no statement runs one
        return []
    try:
        return file_calls.scripts_run(ast.parse(source))
    except (SyntaxError, ValueError):
        return []


def _path_strings(nodes: Sequence[ast.AST]) -> tuple[str, ...]:
    """String literals among a statement's nodes that look like file paths (a dot or a
    slash, one line, not long), not the words of a line magic (``%run helper.py`` runs
    code, it reads no data)."""
    magic = {id(n.args[1]) for n in nodes
             if isinstance(n, ast.Call) and file_calls.line_magic(n) is not None}
    return tuple(dict.fromkeys(
        sub.value for sub in nodes
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in magic
        and 0 < len(sub.value) <= 1024 and "\n" not in sub.value
        and ("." in sub.value or "/" in sub.value)
    ))


def _elements(target: ast.expr) -> Iterable[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _elements(element)
    elif isinstance(target, ast.Starred):
        yield from _elements(target.value)
    else:
        yield target


def _global_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    return tuple(dict.fromkeys(
        name for sub in ast.walk(node) if isinstance(sub, ast.Global) for name in sub.names
    ))


# -- the saved notebook ----------------------------------------------------------------------------

_saved: dict[str, tuple[int, list[str]]] = {}


def notebook_cells(path: str | None) -> tuple[list[str] | None, float | None]:
    """Cell ids of the saved notebook in order, and when it was saved (None, None when it
    cannot be read); read again only when the file changed."""
    if not path:
        return None, None
    try:
        stat = os.stat(path)
        cached = _saved.get(path)
        if cached is None or cached[0] != stat.st_mtime_ns:
            text = regular_files.read_text(path, regular_files.MAX_NOTEBOOK_BYTES)
            cells = json.loads(text).get("cells", [])
            _saved[path] = (stat.st_mtime_ns, [str(c.get("id")) for c in cells if c.get("id")])
        return _saved[path][1], stat.st_mtime
    except (OSError, ValueError, AttributeError):
        return None, None
