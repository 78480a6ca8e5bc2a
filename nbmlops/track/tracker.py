"""One tracked cell execution: look before the user's code runs, record after it ran.

The order matters. Inputs are fingerprinted before the code runs (the version the cell read),
outputs after; the record is committed to the spool before the cell returns; anything that
goes wrong inside nbmlops becomes one warning and a note in the record, never an error in the
user's cell. Who runs the code in between is not this module's business (IPython itself for
typed cells, see ``cell_hooks``), so the user's own exceptions pass through untouched.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import os
import time
import traceback
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config, redact, regular_files, store
from nbmlops.data import file_names, fingerprints
from nbmlops.exceptions import StaleStateError
from nbmlops.record import DataRecord, MetricPoint, Outcome, RunRecord
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, Staging
from nbmlops.track import (
    capture,
    datachecks,
    environment,
    figures,
    location,
    models,
    own_runs,
    params,
    scoring,
)
from nbmlops.track import direction as metric_direction
from nbmlops.track import fitted as fitting
from nbmlops.track.file_calls import classify as classify_file_calls
from nbmlops.track.line import TrackOptions, default_run_name
from nbmlops.track.line import redacted as redact_track_line
from nbmlops.track.slice import History, Slice, notebook_cells


class TrackingWarning(UserWarning):
    """nbmlops could not record part of a tracked cell; the cell itself ran normally."""


class _MetricLog:
    """Points logged with :func:`nbmlops.log_metric` while a tracked cell runs, and what
    nbmlops' own functions note on the way: tags, and the registered models
    :func:`nbmlops.load_model` loaded with the references they are watched against."""

    def __init__(self) -> None:
        self.points: list[MetricPoint] = []
        self.tags: dict[str, str] = {}
        self.scored_with: list[scoring.Watched] = []
        self._next_step: dict[str, int] = {}

    def add(self, name: str, value: float, step: int | None) -> None:
        if step is None:
            step = self._next_step.get(name, 0)
        self._next_step[name] = step + 1
        self.points.append(MetricPoint(name, value, step, int(time.time() * 1000)))


_active_logs: list[_MetricLog] = []


def log_metric(name: str, value: Any, step: int | None = None) -> None:
    """Record a metric point in the tracked cell that is running (steps kept in order)."""
    number = capture.metric_value(value)
    if number is None:
        kind = type(value).__name__
        raise TypeError(f"log_metric({name!r}, ...) needs a real number, got {kind}")
    if not _active_logs:
        warnings.warn(
            f"log_metric({name!r}) outside a %%track cell is not recorded",
            TrackingWarning, stacklevel=2,
        )
        return
    _active_logs[-1].add(name, number, step)


def note_tags(tags: dict[str, str]) -> None:
    """Tags for the tracked cell that is running; nothing outside one."""
    if _active_logs:
        _active_logs[-1].tags.update(tags)


def tracking() -> bool:
    """Whether a tracked cell is running."""
    return bool(_active_logs)


def note_scoring(watched: scoring.Watched) -> None:
    """A registered model the running tracked cell loaded, to watch its input against."""
    if _active_logs:
        _active_logs[-1].scored_with.append(watched)


class _Notes:
    """Collects what nbmlops failed to capture, so one cell gives one warning."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        try:
            # What libraries say while nbmlops reads the user's values is not the user's
            # output (nbmlops' own problems are said once, after the cell).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        except Exception as e:
            self.problems.append(f"{what}: {type(e).__name__}: {e}")


@dataclass
class Context:
    """Where a cell runs and its run goes; resolved per cell but cheap (the pieces are
    cached)."""

    notebook: str | None
    where: config.Destination
    spool: Spool

    @property
    def root(self) -> Path:
        return self.where.root

    @property
    def tracking_uri(self) -> str:
        return self.where.tracking_uri

    @property
    def experiment(self) -> str:
        return self.where.experiment


@dataclass
class Execution:
    """A tracked cell between its start and its end: what was seen before the code ran."""

    ctx: Context
    options: TrackOptions
    body: str
    analysis: capture.CellAnalysis
    execution_count: int | None
    cell_id: str | None
    start_ms: int
    git: environment.GitProbe
    notes: _Notes = field(default_factory=_Notes)
    metric_log: _MetricLog = field(default_factory=_MetricLog)
    inputs: list[DataRecord] = field(default_factory=list)
    files_before: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    figure_watch: figures.FigureWatch | None = None
    figures: dict[str, bytes] | None = None  # PNGs, once taken
    checks: datachecks.CellChecks = field(default_factory=datachecks.CellChecks)
    # What the names the cell binds held before it ran, to tell which a failed cell rebound.
    before: dict[str, Any] = field(default_factory=dict)
    # The plain values the cell reads from the notebook, as they were when it started.
    read_before: dict[str, str] = field(default_factory=dict)
    failed: bool = False
    run_name: str = ""
    transformed: str = ""  # the body as IPython runs it (magics turned into calls)
    code_slice: Slice | None = None


class CellTracker:
    """Tracks cells for one IPython shell: :meth:`start` before the cell's code runs,
    :meth:`finish` after it, whoever runs the code in between."""

    def __init__(self, shell: Any, metric_patterns: Callable[[Path], tuple[str, ...]]) -> None:
        self.shell = shell
        self._metric_patterns = metric_patterns
        # The cells this kernel runs are one execution of the notebook; their runs share it.
        self.session_id = uuid.uuid4().hex
        #: Every executed cell, for the code slices (``cell_hooks`` feeds it).
        self.history = History(getattr(shell, "user_ns_hidden", None) or ())
        #: Whether tracked cells record their code slice (``TrackMagics.slice_code``).
        self.slicing = True
        self.own = own_runs.OwnRuns()  # the records this kernel's cells spooled

    def context(self, experiment: str | None = None) -> Context:
        notebook = location.notebook_path(self.shell)
        where = config.destination(notebook, experiment)
        return Context(notebook, where, Spool(config.spool_dir(where.root)))

    # -- around the user's code ---------------------------------------------------------------

    def start(
        self, body: str, options: TrackOptions, ctx: Context, cell_id: str | None = None,
        line: str = "",
    ) -> Execution:
        """Look at the cell before it runs: its code slice, inputs as they are now, open
        figures, git. ``cell_id`` is the id IPython was given with the cell, if any; ``line``
        the options of its ``%%track`` line as written.

        Raises :class:`StaleStateError`, before the inputs are looked at, when the cell is strict
        (``--strict``, ``strict = true``) and an input is stale."""
        transformed = self.shell.transform_cell(body)
        execution = Execution(
            ctx=ctx,
            options=options,
            body=body,
            analysis=capture.analyze(transformed),
            execution_count=self.shell.execution_count,
            cell_id=location.cell_id(self.shell, cell_id),
            start_ms=int(time.time() * 1000),
            git=environment.GitProbe.start(ctx.root, code=[ctx.notebook] if ctx.notebook else []),
            transformed=transformed,
        )
        execution.run_name = options.name or default_run_name(
            execution.cell_id, execution.execution_count
        )
        if self.slicing:
            with execution.notes.guard("code slice"):
                execution.code_slice = self._slice(execution, line)
        self._refuse_stale(execution)
        if options.capture_data:
            with execution.notes.guard("data inputs"):
                self._inputs(execution)
        execution.checks = datachecks.CellChecks(options.drift, list(options.expect))
        with execution.notes.guard("data profiles"):
            execution.checks.start(execution.inputs, self.shell.user_ns)
        with execution.notes.guard("parameters"):
            execution.read_before = params.read_values(
                self.shell.user_ns, execution.analysis.read
            )
        execution.before = _references(self.shell.user_ns, execution.analysis.assigned)
        _active_logs.append(execution.metric_log)
        with execution.notes.guard("figures"):
            execution.figure_watch = figures.FigureWatch(execution.body)  # last: it wraps
        return execution

    def _slice(self, execution: Execution, line: str) -> Slice:
        cells, saved = notebook_cells(execution.ctx.notebook)
        return self.history.slice(
            execution.transformed, run_name=execution.run_name, line=line,
            has_name=bool(execution.options.name), cell_id=execution.cell_id,
            notebook_cells=cells, notebook_saved=saved,
        )

    def _refuse_stale(self, execution: Execution) -> None:
        code_slice = execution.code_slice
        if code_slice is None or not code_slice.stale:
            return
        strict = execution.options.strict
        if not strict:
            with contextlib.suppress(Exception):  # a broken pyproject is said elsewhere
                strict = config.strict(execution.ctx.root)
        if strict:
            raise StaleStateError(
                "%%track --strict: the cell did not run, an input is stale: "
                + "; ".join(code_slice.stale)
                + " (run the cells it needs again, in order)"
            )

    def take_figures(self, execution: Execution) -> None:
        """Render the figures the cell created, those it closed (``plt.show()`` inline) and
        those still open; called before an inline backend closes the open ones."""
        if execution.figures is None:
            execution.figures = {}
            with execution.notes.guard("figures"):
                watch = execution.figure_watch
                made = watch.stop() if watch else []
                names = {n: self.shell.user_ns.get(n) for n in execution.analysis.assigned}
                shown = [*(watch.shown if watch else ()),
                         *figures.last_result(self.shell, execution.execution_count)]
                execution.figures = figures.render(made, names, shown)

    def finish(
        self, execution: Execution, error: BaseException | None
    ) -> datachecks.DataCheckError | None:
        """Record the cell's outcome and what it left behind; never raises. Returns the
        error the cell must end with when its code ran well but its data failed its checks
        (``--drift fail``, ``--expect``): the caller makes the cell fail with it."""
        with contextlib.suppress(ValueError):
            _active_logs.remove(execution.metric_log)
        execution.checks.close()
        outcome = Outcome(start_ms=execution.start_ms, end_ms=int(time.time() * 1000))
        if error is not None:
            execution.failed = True
            outcome.status = "KILLED" if isinstance(error, KeyboardInterrupt) else "FAILED"
            outcome.error_type = type(error).__name__
            outcome.error_message = self._redact_error(str(error))
        self.take_figures(execution)
        try:
            self._record(execution, outcome, error)
        except Exception as e:  # the last line of defence for the user's cell
            _warn([f"{type(e).__name__}: {e}"], recorded=False)
        return execution.checks.failure

    def _redact_error(self, text: str) -> str:
        """An error's text without secrets: ``f"login failed with {db_password}"`` holds the
        value of a variable an earlier cell set."""
        try:
            secrets = redact.namespace_secrets(self.shell.user_ns)
        except Exception:  # a hostile mapping in the namespace: the patterns still apply
            secrets = ()
        return redact.redact_known(text, secrets)

    def run(self, body: str, options: TrackOptions, ctx: Context, line: str = "") -> Any:
        """Run ``body`` here and record it (for ``run_cell_magic("track", ...)`` called
        directly; typed ``%%track`` cells run through IPython itself, see ``cell_hooks``)."""
        __tracebackhide__ = True
        execution = self.start(body, options, ctx, line=line)
        try:
            value = _execute(self.shell, body)
        except BaseException as e:
            self.finish(execution, e)
            raise
        failure = self.finish(execution, None)
        if failure is not None:
            raise failure
        return value

    def _inputs(self, execution: Execution) -> None:
        ns = self.shell.user_ns
        inputs = [
            fingerprints.describe(name, ns[name], "input")
            for name in execution.analysis.read
            if name in ns and fingerprints.is_data(ns[name])
        ]
        # A file the cell only writes (``d.to_csv(out_path)``) is an output, not an input.
        found, written = _file_accesses(execution.transformed, ns)
        watched = _candidate_paths(execution.analysis.strings)
        files_before = {path: _stat(path) for path in dict.fromkeys([*watched, *found])}
        for path, stat in files_before.items():
            if stat is not None and path not in written:
                inputs.append(fingerprints.describe_file(path, "input"))
        # Files the cells of its slice read: what ``nbmlops reproduce`` checks first.
        upstream = execution.code_slice.strings if execution.code_slice else ()
        for path in _candidate_paths(upstream):
            if path not in files_before and _stat(path) is not None:
                inputs.append(fingerprints.describe_file(path, "input"))
        for item in execution.options.data:
            if item in ns and fingerprints.is_data(ns[item]):
                inputs.append(fingerprints.describe(item, ns[item], "input"))
            elif os.path.abspath(item) not in files_before:
                inputs.append(fingerprints.describe_file(os.path.abspath(item), "input"))
        execution.inputs = _unique(file_names.project_named(inputs, execution.ctx.root))
        execution.files_before = files_before

    def _outputs(self, execution: Execution) -> list[DataRecord]:
        ns = self.shell.user_ns
        seen = {(d.name, d.fingerprint) for d in execution.inputs}
        outputs = [
            fingerprints.describe(name, ns[name], "output")
            for name in self._bound(execution)
            if fingerprints.is_data(ns[name])
        ]
        for path, before in execution.files_before.items():
            after = _stat(path)
            if after is not None and after != before:
                outputs.append(fingerprints.describe_file(path, "output"))
        outputs = file_names.project_named(outputs, execution.ctx.root)
        return [d for d in outputs if (d.name, d.fingerprint) not in seen]

    def _bound(self, execution: Execution) -> list[str]:
        """The names the cell bound: all it assigns when it succeeded; when it failed, only
        those whose value changed (the rest still hold what an earlier run left)."""
        ns = self.shell.user_ns
        names = [n for n in execution.analysis.assigned if n in ns]
        if not execution.failed:
            return names
        before = execution.before
        return [n for n in names if n not in before or _held(before[n]) is not ns[n]]

    # -- building and spooling the record ----------------------------------------------------

    def _record(self, execution: Execution, outcome: Outcome, error: BaseException | None) -> None:
        """Build the record from what the cell left, spool it, show the status line."""
        ctx, options = execution.ctx, execution.options
        code = redact.redact_code(execution.body)
        record = RunRecord(
            tracking_uri=ctx.tracking_uri,
            experiment=ctx.experiment,
            run_name=execution.run_name,
            code_sha=hashlib.sha256(code.encode()).hexdigest(),
            notebook=ctx.where.source_name,
            project_root=str(ctx.root),
            cell_id=execution.cell_id,
            execution_count=execution.execution_count,
            parent_run_id=config.job_context().parent_run_id,
            session_id=self.session_id,
            outcome=outcome,
            tags=redact.redact_mapping({**_job_tags(), **options.tags}),
        )
        notes = execution.notes
        try:
            staging = ctx.spool.stage(record)
            staging.write_text(store.CODE_ARTIFACT, code)
            if error is not None:
                staging.write_text(store.TRACEBACK_ARTIFACT, self._redact_error(_traceback(error)))
            self._fill(execution, record, staging)
            entry = staging.commit()
            self.own.remember(record.record_id, ctx.spool.root, ctx.root)
            if record.environment.git_pending:
                execution.git.then(functools.partial(_amend_git, ctx.spool, entry, record))
        except Exception as e:
            _warn([*notes.problems, f"spool {ctx.spool.root}: {e}"], recorded=False)
            return
        if notes.problems:
            _warn(notes.problems, recorded=True)
        with notes.guard("status line"):
            self._show(record, ctx.spool)
        try:
            execution.checks.after_commit(
                record, ctx.spool.root, stable_name=_stable_name(execution)
            )
        except Exception as e:
            _warn([f"data checks: {type(e).__name__}: {e}"], recorded=True)
        if config.autosync(ctx.root):
            with notes.guard("sync"):
                worker.ensure_running(ctx.spool.root)

    def _fill(self, execution: Execution, record: RunRecord, staging: Staging) -> None:
        notes, options, analysis = execution.notes, execution.options, execution.analysis
        metric_log = execution.metric_log
        scalars: dict[str, float] = {}
        patterns: tuple[str, ...] = ()
        with notes.guard("metrics"):
            patterns = self._metric_patterns(Path(record.project_root))
            logged = {p.name for p in metric_log.points}
            scalars = capture.scalar_metrics(
                self.shell.user_ns, self._bound(execution), patterns, options.metrics
            )
            now = record.outcome.end_ms
            record.metrics = [
                *metric_log.points,
                *(MetricPoint(n, v, 0, now) for n, v in scalars.items() if n not in logged),
            ]
            record.tags.update(metric_direction.tags(execution.transformed, scalars))
            record.tags.update(metric_log.tags)
            missing = [m for m in options.metrics if m not in scalars and m not in logged]
            if missing:
                notes.problems.append(f"--metric {', '.join(missing)}: no numeric value found")

        # A literal named like a metric (``baseline_acc = 0.8``) is a metric, never a param.
        # Redacted before they become text: a dict's secret keys must still be seen as keys.
        literals = {
            name: capture.param_value(value)
            for name, value in redact.redact_mapping(capture.literal_params(
                analysis.params, patterns, [*scalars, *options.metrics])).items()
        }
        given = params.RunParams()
        with notes.guard("parameters"):
            ns, bound = self.shell.user_ns, self._bound(execution)
            given = params.run_params(
                read_before=execution.read_before,
                namespace=ns,
                rebound=bound,
                injected=params.injected_names(ns.get("In") or ())
                | config.job_context().params,
                injected_values=params.injected_values(
                    ns.get("In") or (), ns, config.job_context().params),
                estimators=params.estimator_params(ns, [*bound, *analysis.read]),
                skip={*literals, *scalars, *options.metrics},
                passed=params.passed_names(execution.transformed), literals=literals,
            )
            record.tags.update(given.tags)
            for path, summary in params.model_summaries(ns, [*bound, *analysis.read]).items():
                staging.write_text(path, summary)
        record.params = redact.redact_mapping({**given.values, **literals, **options.params})
        with notes.guard("fitted results"):
            fitting.add_to(record, staging, self.shell.user_ns,
                          [*self._bound(execution), *fitting.fitted_names(execution.transformed)])

        if options.capture_data:
            with notes.guard("data outputs"):
                record.datasets = [*execution.inputs, *self._outputs(execution)]
            for data in record.datasets:
                data.source = redact.redact_value(data.source)
        with notes.guard("data checks"):
            execution.checks.fill(
                record, staging, self.shell.user_ns, root=execution.ctx.root,
                spool_root=execution.ctx.spool.root, stable_name=_stable_name(execution),
                code_failed=record.outcome.status != "FINISHED",
            )
        if metric_log.scored_with and record.outcome.status == "FINISHED":
            with notes.guard("monitoring"):
                scoring.add_to(record, staging, self.shell.user_ns, self._bound(execution),
                               analysis.read, metric_log.scored_with, execution.transformed)
        # After the data checks: a model fitted on data that failed them is not registered.
        if options.models:
            with notes.guard("models"):
                self._models(execution, record, staging)

        with notes.guard("environment"):
            record.environment.python = environment.python_version()
            record.environment.packages = environment.imported_packages()
            requirements = environment.requirements_txt(record.environment.packages)
            staging.write_text(store.REQUIREMENTS_ARTIFACT, requirements)
        with notes.guard("git"):
            # A trivial cell may end before git answers: the record is then spooled without
            # its git state and amended once git is done, off the cell's path.
            if execution.git.done():
                state, diff = execution.git.result()
                record.environment.git = state
                if diff:
                    staging.write_text(store.GIT_DIFF_ARTIFACT, redact.redact_lines(diff))
            else:
                record.environment.git_pending = True

        for relpath, png in (execution.figures or {}).items():
            staging.write_bytes(relpath, png)
        if execution.code_slice is not None:
            with notes.guard("code slice"):
                self._write_slice(execution.code_slice, record, staging)
        scripts = [*execution.analysis.scripts,
                   *(execution.code_slice.scripts if execution.code_slice else ())]
        if scripts:
            with notes.guard("scripts run with %run"):
                _write_scripts(scripts, execution.ctx.root, staging)
        record.warnings = list(notes.problems)

    def _models(self, execution: Execution, record: RunRecord, staging: Staging) -> None:
        """Pickle the ``--model`` objects; a failed cell's model is never registered."""
        wanted = execution.options.models
        if record.outcome.status != "FINISHED":
            names = ", ".join(variable for variable, _ in wanted)
            why = "its data failed the checks" if execution.checks.failure else "the cell failed"
            execution.notes.problems.append(f"--model {names}: not registered, {why}")
            return
        # Where the training data may be: what the cell reads and binds, and --data names.
        candidates = [*execution.analysis.read, *self._bound(execution),
                      *execution.options.data]
        record.models = models.capture(
            wanted, self.shell.user_ns, candidates, staging, execution.notes.problems
        )

    def _write_slice(self, code_slice: Slice, record: RunRecord, staging: Staging) -> None:
        """The slice as ``code/slice.py`` and ``code/slice.ipynb`` (redacted like the cell's
        code), its verdict as tags; kept for ``%mlops slice``."""
        pieces = [code for _, code in code_slice.cells] + [code_slice.body]
        # One pass over all of it: redacting costs a parse whatever the size.
        redacted = redact.redact_code(_PIECE.join(pieces)).split(_PIECE)
        if len(redacted) != len(pieces):  # a piece held the separator: one at a time
            redacted = [redact.redact_code(piece) for piece in pieces]
        code_slice.cells = [(label, code) for (label, _), code in zip(
            code_slice.cells, redacted, strict=False)]
        code_slice.body = redacted[-1]
        code_slice.track_line = redact_track_line(code_slice.track_line)
        script = code_slice.script(record.params)
        staging.write_text(store.SLICE_ARTIFACT, script)
        staging.write_text(store.SLICE_NOTEBOOK_ARTIFACT, code_slice.notebook(record.params))
        record.tags[store.SLICE_TAG] = code_slice.verdict
        if code_slice.reasons:
            reasons = "\n".join(code_slice.reasons)
            record.tags[store.SLICE_REASONS_TAG] = redact.redact_value(reasons)
        self.history.latest[record.run_name] = script
        self.history.latest_name = record.run_name

    def _show(self, record: RunRecord, spool: Spool) -> None:
        from nbmlops.track.status_line import StatusLine, watcher

        line = StatusLine(record)
        handle = line.display()
        if handle is not None:
            watcher(spool).watch(record.record_id, line, handle)


# -- helpers ----------------------------------------------------------------------------------

#: Joins the pieces of a slice while they are redacted together (a comment: it stays as is).
_PIECE = "\n# -- nbmlops piece --\n"


def _execute(shell: Any, body: str) -> Any:
    """Run the cell's code as IPython would run an untracked cell.

    The code is compiled under the cell's own name, with a leading blank line so line numbers
    in tracebacks match the cell as the user sees it (line 1 is the ``%%track`` line). The last
    expression's value is returned so IPython displays it as the cell's result.
    """
    __tracebackhide__ = True
    source = "\n" + shell.transform_cell(body)
    filename = shell.compile.cache(source, shell.execution_count, raw_code="\n" + body)
    tree = shell.transform_ast(shell.compile.ast_parse(source, filename=filename))
    last: ast.Expression | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(shell.compile(tree, filename, "exec"), shell.user_global_ns, shell.user_ns)
    if last is None:
        return None
    value = eval(shell.compile(last, filename, "eval"), shell.user_global_ns, shell.user_ns)
    return None if shell.displayhook.semicolon_at_end_of_expression(source) else value


def _amend_git(spool: Spool, entry: Path, record: RunRecord, state: Any, diff: str) -> None:
    """Put the git state a cell's record was spooled without into its entry."""
    record.environment.git, record.environment.git_pending = state, False
    files = {store.GIT_DIFF_ARTIFACT: redact.redact_lines(diff).encode()} if diff else {}
    with contextlib.suppress(Exception):  # then the run goes up marked as missing its git state
        spool.amend(entry, record, files)


def _references(ns: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Weak references to what ``names`` hold now (strong ones for scalars, which take no
    weak reference): identity stays meaningful, and no large object is kept alive."""
    held: dict[str, Any] = {}
    for name in names:
        if name in ns:
            value = ns[name]
            try:
                held[name] = weakref.ref(value)
            except TypeError:
                held[name] = _Strong(value)
    return held


@dataclass(frozen=True)
class _Strong:
    value: Any


def _held(reference: Any) -> Any:
    return reference.value if isinstance(reference, _Strong) else reference()


def _traceback(error: BaseException) -> str:
    """The error as Python prints it, starting at the cell (IPython's own frames left out)."""
    tb = error.__traceback__
    while tb is not None and "IPython" in tb.tb_frame.f_code.co_filename.split(os.sep):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(error), error, tb))


def _stable_name(execution: Execution) -> bool:
    """Whether the run name names the same cell next time (a ``%%track NAME`` or a notebook
    cell id, not an execution count): only then is there a previous run to compare with."""
    return bool(execution.options.name or execution.cell_id)


def _candidate_paths(strings: Iterable[str]) -> list[str]:
    """String literals that name files, before or after the cell runs (absolute paths)."""
    paths = []
    for text in strings:
        if os.sep in text or "." in text:
            paths.append(os.path.abspath(os.path.expanduser(text)))
    return list(dict.fromkeys(paths))


def _file_accesses(source: str, namespace: dict[str, Any]) -> tuple[list[str], set[str]]:
    """The files the cell's calls read or write, through the notebook's names too (absolute
    paths), and those of them it only writes."""
    accesses = classify_file_calls(source, namespace)
    absolute = [(os.path.abspath(os.path.expanduser(a.path)), a.mode) for a in accesses]
    read = {path for path, mode in absolute if mode == "read"}
    written = {path for path, mode in absolute if mode == "write"} - read
    return list(dict.fromkeys(path for path, _ in absolute)), written


#: Largest script kept as code of the run.
_MAX_SCRIPT_BYTES = 1 << 20


def _write_scripts(scripts: Iterable[str], root: Path, staging: Staging) -> None:
    """The files run with ``%run`` as code of the run (redacted as the cell is), under
    ``code/scripts/`` by their names in the project: code, where reproduce compares them."""
    for script in dict.fromkeys(scripts):
        path = next((p for p in (script, f"{script}.py") if regular_files.is_regular(p)), None)
        if path is None:
            continue
        try:
            text = regular_files.read_text(path, _MAX_SCRIPT_BYTES, errors="replace")
        except OSError:  # too large to be a script, or gone meanwhile
            continue
        name = file_names.name_of(path, root)
        if os.path.isabs(name):  # outside the project: its file name only
            name = f"outside/{os.path.basename(name)}"
        staging.write_text(f"{store.SCRIPTS_FOLDER}/{name}", redact.redact_code(text))


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns) if os.path.isfile(path) else None


def _unique(datasets: list[DataRecord]) -> list[DataRecord]:
    seen: dict[tuple[str, str], DataRecord] = {}
    for d in datasets:
        seen.setdefault((d.name, d.context), d)
    return list(seen.values())


def _warn(problems: list[str], *, recorded: bool) -> None:
    what = "recorded the rest of this run" if recorded else "this run was not recorded"
    warnings.warn(
        f"nbmlops {what}; could not capture " + "; ".join(problems), TrackingWarning, stacklevel=3
    )


def _job_tags() -> dict[str, str]:
    # A job's cells name the notebook the job came from: its sidebar lists them.
    source = config.job_context().source_notebook
    return {store.SOURCE_NOTEBOOK_TAG: source} if source else {}
