"""How a typed ``%%track`` cell runs through IPython's own execution, untouched.

A cell magic would run the code inside the magic: tracebacks would start with the magic's
call, and top-level ``await`` or IPython's display rules would be ours to copy. Instead:

1. an input transformer replaces the ``%%track ...`` line by an empty line, so IPython
   compiles and runs the cell's own code with the line numbers the user sees;
2. ``pre_run_cell`` starts the tracked execution (inputs, open figures, git);
3. ``post_execute`` renders the new figures before an inline backend closes them;
4. ``post_run_cell`` gets IPython's result (its exception, if any) and records the run.

A cell whose code ran well but whose data failed its checks (``--drift fail``, ``--expect``)
must fail like any failing cell, after its code ran and with its variables as it left them.
A callback cannot raise into the cell, but IPython's ``run_cell`` and ipykernel's
``do_execute`` both read the ``ExecutionResult`` *after* ``post_run_cell``: setting its
``error_in_exec`` and showing the error there makes the kernel reply ``error``, so "Run All"
and papermill stop at that cell. The cell's code, its displayed result and its traceback
are untouched (no statement is appended, no AST is rewritten).

A line whose options do not parse is left alone, so the registered ``%%track`` magic runs and
reports the one-line UsageError without running the cell.

A strict cell (``--strict``) whose inputs are stale must fail before its code runs. IPython
hands the cell's AST to its ``ast_transformers`` after ``pre_run_cell``, and one that raises
``InputRejected`` ends the cell before execution (``error_before_exec``: the kernel replies
``error``, papermill stops): that is how the refusal ``pre_run_cell`` prepared is raised, shown
as one line. The transformer is registered for that cell only: while any is registered,
IPython walks every cell's whole tree again (``ast.fix_missing_locations``), which would cost
each cell, tracked or not, about what compiling it costs.

``post_run_cell`` also feeds every executed cell, tracked or not, to the tracker's history,
from which the code slices are cut. A reset of the namespace (``%reset``) clears a hidden
marker name with everything else; ``pre_run_cell`` then starts the history afresh, since
the code that made the old state no longer explains the new one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from IPython.core.error import InputRejected

from nbmlops import exceptions
from nbmlops.track import location
from nbmlops.track.line import TrackOptions, split_cell
from nbmlops.track.tracker import CellTracker, Context, Execution

#: The hidden name whose absence tells that the namespace was reset.
MARKER = "_nbmlops_history"

#: Parses a ``%%track`` line into options and the context it runs in; raises on bad input.
Prepare = Callable[[str], tuple[TrackOptions, Context]]


def _track_line(source: str) -> str | None:
    split = split_cell(source)
    return None if split is None else split[0]


class CellHooks:
    """The transformer and event callbacks for one shell."""

    def __init__(self, shell: Any, tracker: CellTracker, prepare: Prepare) -> None:
        self.shell = shell
        self.tracker = tracker
        self.prepare = prepare
        self.current: Execution | None = None
        self._started_line: str | None = None  # the line pre_run_cell already validated
        self._refused: str | None = None  # why a strict cell must not run
        self.refuse = _Refuse(self)

    def register(self) -> None:
        if self.strip_track_line not in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.append(self.strip_track_line)
        self._mark()
        for event in ("pre_run_cell", "post_execute", "post_run_cell"):
            self.shell.events.register(event, getattr(self, event))

    def unregister(self) -> None:
        if self.strip_track_line in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.strip_track_line)
        self._refuse_next(False)
        for event in ("pre_run_cell", "post_execute", "post_run_cell"):
            self.shell.events.unregister(event, getattr(self, event))

    def _valid(self, line: str) -> bool:
        try:
            self.prepare(line)
        except Exception:  # bad options: the magic itself will say what is wrong
            return False
        return True

    def strip_track_line(self, lines: list[str]) -> list[str]:
        line = _track_line(lines[0]) if lines else None
        if line is None:
            return lines
        # IPython transforms after pre_run_cell: a line that started a run is known good.
        if (self.current is not None and line == self._started_line) or self._valid(line):
            return ["\n", *lines[1:]]
        return lines

    def _mark(self) -> None:
        self.shell.user_ns[MARKER] = self.shell.user_ns_hidden[MARKER] = True

    def _refuse_next(self, on: bool) -> None:
        """Have the cell about to be compiled refused (``_refused`` says why), or not."""
        transformers = self.shell.ast_transformers
        if on and self.refuse not in transformers:
            transformers.append(self.refuse)
        elif not on and self.refuse in transformers:
            transformers.remove(self.refuse)

    def pre_run_cell(self, info: Any) -> None:
        self.current = self._started_line = self._refused = None
        self._refuse_next(False)
        if MARKER not in self.shell.user_ns:
            self.tracker.history.reset()
            self._mark()
        split = split_cell(info.raw_cell or "")
        if split is None:
            return
        line, body = split
        try:
            options, ctx = self.prepare(line)
        except Exception:
            return  # the cell goes to the magic, which raises the UsageError
        self._put_figures_first()
        self._started_line = line
        try:
            self.current = self.tracker.start(
                body, options, ctx, getattr(info, "cell_id", None), line=line
            )
        except exceptions.StaleStateError as e:
            self._refused = str(e)
            self._refuse_next(True)

    def post_execute(self) -> None:
        if self.current is not None:
            self.tracker.take_figures(self.current)

    def post_run_cell(self, result: Any) -> None:
        execution, self.current = self.current, None
        self._refused = None
        self._refuse_next(False)
        if execution is not None:
            error = result.error_before_exec or result.error_in_exec
            failure = self.tracker.finish(execution, error)
            if failure is not None and error is None:
                result.error_in_exec = failure
                self.shell.showtraceback((type(failure), failure, None))
        self._remember(result, execution)

    def _remember(self, result: Any, execution: Execution | None) -> None:
        """Add the cell that ran to the history the code slices are cut from."""
        info = getattr(result, "info", None)
        raw = getattr(info, "raw_cell", None)
        if not raw or result.error_before_exec is not None or not self.tracker.slicing:
            return  # none of its code ran, or no slice is wanted
        try:
            # IPython 9 hands over the code it ran; older versions only the raw cell. (The
            # line numbers are those of the error's traceback either way.)
            code = getattr(info, "transformed_cell", None) or self.shell.transform_cell(raw)
            self.tracker.history.add(
                code,
                execution_count=result.execution_count,
                # nbclient (papermill) sends no cell id: the notebook file's cell of that
                # source is the one that ran, as for a tracked cell.
                cell_id=execution.cell_id if execution else location.cell_id_of_source(
                    self.shell, raw, getattr(info, "cell_id", None)),
                failed=result.error_in_exec is not None,
                tracked=execution.run_name if execution else None,
                stopped_at=_stopped_at(result.error_in_exec),
            )
        except Exception:  # the history is nbmlops' business, never the user's cell's
            pass

    def _put_figures_first(self) -> None:
        # matplotlib's inline backend closes figures in its own post_execute callback; ours
        # must come first whatever order the two were registered in.
        callbacks = self.shell.events.callbacks["post_execute"]
        if callbacks and callbacks[0] != self.post_execute and self.post_execute in callbacks:
            callbacks.remove(self.post_execute)
            callbacks.insert(0, self.post_execute)


def _stopped_at(error: BaseException | None) -> int | None:
    """The line of the cell's code an error stopped it at: the first module-level frame of
    its traceback is the cell's (IPython's own frames come before it)."""
    tb = error.__traceback__ if error is not None else None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "<module>":
            return tb.tb_lineno
        tb = tb.tb_next
    return None


class StaleStateError(InputRejected, exceptions.StaleStateError):
    """A strict cell refused before its code ran; IPython shows it as one line."""

    def _render_traceback_(self) -> list[str]:
        return [f"StaleStateError: {self}"]


class _Refuse(ast.NodeTransformer):
    """The AST transformer that stops a refused cell before IPython compiles it."""

    def __init__(self, hooks: CellHooks) -> None:
        self.hooks = hooks

    def visit(self, node: ast.AST) -> ast.AST:
        message, self.hooks._refused = self.hooks._refused, None
        if message is not None:
            raise StaleStateError(message)
        return node
