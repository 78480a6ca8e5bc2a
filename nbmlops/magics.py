"""``%%track`` and ``%mlops``: parse the line, delegate, turn NbmlopsError into UsageError."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from traitlets import Bool, List, Unicode, observe

from nbmlops import config, store
from nbmlops.cli import catalog as cli
from nbmlops.cli.command import Place, parse_line
from nbmlops.exceptions import GateFailed, NbmlopsError, StaleStateError
from nbmlops.track import line as track_line
from nbmlops.track.cell_hooks import CellHooks
from nbmlops.track.line import TrackOptions
from nbmlops.track.tracker import CellTracker, Context

# The commands that read this kernel's runs from MLflow: they first wait for the runs its
# cells just spooled (``compare`` does in the panel, for ``nbmlops.compare`` too).
_READS_OWN_RUNS = ("promote", "rollback", "models", "monitor", "assess")


class PromotionRefused(GateFailed):
    """A promotion the gates refused, raised in a notebook: an outcome the gate report above
    explains, not a usage error. A real exception, so "Run All", papermill and ``nbmlops
    run`` stop there and record it, as ``nbmlops promote`` exits 1."""

    def _render_traceback_(self) -> list[str]:
        return [f"PromotionRefused: {' '.join(str(self).split())}"]


@magics_class
class TrackMagics(Magics):
    """Track notebook cells as MLflow runs. Options can be set in ``ipython_config.py``,
    e.g. ``c.TrackMagics.metric_patterns = ["acc*", "loss"]``."""

    metric_patterns = List(
        Unicode(),
        default_value=None,
        allow_none=True,
        help="Globs of variable names recorded as metrics; overrides [tool.nbmlops].",
    ).tag(config=True)

    slice_code = Bool(
        True,
        help="Record each tracked cell's code slice (code/slice.py) and warn of stale inputs.",
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.tracker = CellTracker(shell, self._patterns)
        self.tracker.slicing = self.slice_code
        self.hooks = CellHooks(shell, self.tracker, self.prepare)
        if shell is not None:
            self.hooks.register()
            # Cells run before `%load_ext nbmlops` still made the state later cells read.
            with contextlib.suppress(Exception):
                self.tracker.history.replay(
                    list(shell.user_ns.get("In") or ()), int(shell.execution_count or 0)
                )

    @observe("slice_code")
    def _slice_code_changed(self, change: Any) -> None:
        self.tracker.slicing = bool(change["new"])

    def _patterns(self, root: Path) -> tuple[str, ...]:
        if self.metric_patterns is not None:
            return tuple(self.metric_patterns)
        return config.metric_patterns(root)

    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell exactly as usual and record it as an MLflow run.

        The run holds the cell's code, literal parameters, metrics (numeric variables whose
        names look like metrics, ``--metric`` names, ``nbmlops.log_metric`` calls), data
        fingerprints of the frames, arrays and files it reads and writes, the environment
        and git state, its figures and its outcome. The record is written to a local spool
        before the cell returns and uploaded to MLflow by a background process.

        Each frame the cell reads or writes is profiled (artifact ``data/<name>.json``) and
        compared with the same data of the cell's last successful run: schema changes,
        row counts, null rates, distribution shifts show as an alert under the cell
        (``--drift fail`` makes the cell fail instead); ``--expect`` checks a declared schema.

        Words of the line are split as a shell splits them: ``%%track "my run" -p "note=a b"``.
        """
        __tracebackhide__ = True
        # Typed cells never get here: CellHooks lets IPython run them. This runs a call of
        # run_cell_magic("track", ...) from code, and reports bad options of a typed line.
        options, ctx = self.prepare(line)
        try:
            return self.tracker.run(cell, options, ctx, line=line)
        except StaleStateError as e:
            raise UsageError(str(e)) from None

    track.__doc__ = f"{track.__doc__}\n{track_line.usage()}"

    def prepare(self, line: str) -> tuple[TrackOptions, Context]:
        """The options of a ``%%track`` line and where the run goes; UsageError when bad."""
        options = self._options(line)
        try:
            ctx = self.tracker.context(options.experiment)
            if len(ctx.experiment) > store.MAX_EXPERIMENT_NAME:
                raise UsageError(
                    f"experiment name of {len(ctx.experiment)} characters: MLflow takes at most "
                    f"{store.MAX_EXPERIMENT_NAME} (--experiment NAME)")
            # A bad drift setting is a one-line error now, not a note on every run.
            if options.drift is None:
                config.drift_mode(ctx.root)
            config.drift_thresholds(ctx.root)
            config.strict(ctx.root)
            return options, ctx
        except NbmlopsError as e:
            raise UsageError(str(e)) from None

    def _options(self, line: str) -> TrackOptions:
        try:
            options = track_line.parse(line)
        except NbmlopsError as e:
            raise UsageError(str(e)) from None
        for _, path in options.expect:
            from nbmlops.data.expectations import load_spec

            try:
                load_spec(path)
            except NbmlopsError as e:
                raise UsageError(f"--expect: {e}") from None
        user_ns = self.shell.user_ns if self.shell is not None else {}
        for item in options.data:
            if item not in user_ns and not os.path.isfile(item):
                raise UsageError(f"--data {item}: no such file or variable")
        return options

    @line_magic
    def mlops(self, line: str) -> Any:
        """Set below, from the commands' definitions."""
        name, _, rest = line.strip().partition(" ")
        name = name or "status"
        if name in ("help", "-h", "--help"):
            print(cli.overview())
            return None
        command = cli.MAGIC.get(name)
        if command is None:
            where = (f"{name!r} runs on the command line only: nbmlops {name}"
                     if name in cli.COMMANDS else f"unknown %mlops command {name!r}")
            raise UsageError(f"{where}; try {', '.join(cli.MAGIC)} (%mlops help)")
        try:
            args = parse_line(command, rest)
            if args is None:
                return None  # the help was asked for, and printed
            args.place = self._place()
            if name in _READS_OWN_RUNS:
                self.tracker.own.settle()
            with store.fail_fast():
                return command.in_notebook(args, self)
        except GateFailed as e:
            raise PromotionRefused(str(e), e.report) from None
        except NbmlopsError as e:
            raise UsageError(" ".join(str(e).split())) from None

    mlops.__doc__ = f"Commands of the notebook.\n\n{cli.overview()}"

    def _place(self) -> Place:
        """Where ``%mlops`` acts when its options do not say: the notebook's project."""
        ctx = self.tracker.context()
        return Place(ctx.root, ctx.where.tracking_uri, ctx.spool.root,
                     Path(ctx.notebook) if ctx.notebook else None, ctx.where.source_name)
