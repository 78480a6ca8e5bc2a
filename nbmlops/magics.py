"""``%%track`` and ``%mlops``: parse the line, delegate, turn NbmlopsError into UsageError."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, List, Unicode, observe

from nbmlops import config, store
from nbmlops.exceptions import GateFailed, NbmlopsError, StaleStateError
from nbmlops.track import line as track_line
from nbmlops.track.cell_hooks import CellHooks
from nbmlops.track.line import TrackOptions
from nbmlops.track.tracker import CellTracker, Context

#: ``%mlops SUBCOMMAND``: the method of :class:`TrackMagics` that runs it, given the rest
#: of the line. Each method parses its own arguments and delegates.
MLOPS_COMMANDS: dict[str, str] = {
    "status": "_status",
    "sync": "_sync",
    "compare": "_compare",
    "jobs": "_jobs",
    "assess": "_assess",
    "register": "_register",
    "promote": "_promote",
    "rollback": "_rollback",
    "models": "_models",
    "slice": "_slice",
}


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
        """``%mlops status``: what waits in the spool and why;
        ``%mlops sync``: upload everything waiting now, in the foreground;
        ``%mlops jobs``: the jobs exported from this notebook, their schedules and last runs;
        ``%mlops slice [NAME]``: the code slice of the latest run of a tracked cell (the
        statements its inputs came from, as they ran), and its verdict;
        ``%mlops compare [EXPERIMENT] [--cell NAME] [--metric NAME] [--last N]
        [--filter "metrics.auc > 0.8"]``: a panel comparing the runs (``%mlops compare -h``);
        ``%mlops assess [PATH]``: the project's maturity level, its evidence, the next steps;
        ``%mlops register VAR [--name NAME] [--metric M] [--data X_train]``: register the
        model in VAR as a run of its own, as ``%%track --model VAR=NAME`` would;
        ``%mlops promote NAME [--version V] [--to champion] [--gate "auc >= champion"]``:
        move the alias when every gate passes, print the gate report;
        ``%mlops rollback NAME [--to VERSION]``: the champion back to the previous holder;
        ``%mlops models [NAME ...] [--notebook]``: registered models, versions, aliases and
        their history."""
        command, _, rest = line.strip().partition(" ")
        command = command or "status"
        method = MLOPS_COMMANDS.get(command)
        if method is None:
            raise UsageError(
                f"unknown %mlops command {command!r}; try {', '.join(MLOPS_COMMANDS)}"
            )
        try:
            return getattr(self, method)(rest.strip())
        except NbmlopsError as e:
            raise UsageError(" ".join(str(e).split())) from None

    def _status(self, line: str) -> None:
        from nbmlops.sync import worker

        print(worker.format_status(worker.status(self.tracker.context().spool.root)))

    def _sync(self, line: str) -> None:
        # A child process does the upload: the kernel never imports mlflow.
        done = subprocess.run(
            [sys.executable, "-m", "nbmlops.cli", "sync",
             "--spool", str(self.tracker.context().spool.root), *line.split()],
            capture_output=True, text=True, check=False,
        )
        print((done.stdout + done.stderr).strip())
        if done.returncode != 0:
            raise UsageError("sync did not upload everything (see above)")

    def _jobs(self, line: str) -> None:
        from nbmlops.jobs import overview

        ctx = self.tracker.context()
        if ctx.notebook is None:
            raise UsageError("%mlops jobs: the notebook's path is unknown (set NBMLOPS_NOTEBOOK)")
        jobs = overview.overviews(overview.job_folders(Path(ctx.notebook)))
        print(overview.describe_jobs(jobs, ctx.root))

    def _argv(self, command: str, line: str) -> list[str] | None:
        """The words of ``line`` (POSIX quoting); None when help was asked for and shown."""
        try:
            argv = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%mlops {command}: {e}") from None
        if {"-h", "--help"} & set(argv):
            print(_MODEL_ARGUMENTS[command].parser.format_help())
            return None
        return argv

    def _register(self, line: str) -> Any:
        argv = self._argv("register", line)
        if argv is None:
            return None
        args = _register_arguments.parser.parse_args(argv)
        user_ns = self.shell.user_ns if self.shell is not None else {}
        if args.variable not in user_ns:
            raise UsageError(f"%mlops register: no variable {args.variable!r}")
        name = args.name or args.variable
        # The one %%track grammar: a run of its own, named after the model, that reads VAR.
        words = [f"register-{name}", "--model", f"{args.variable}={name}"]
        words += [w for m in args.metric for w in ("--metric", m)]
        words += [w for d in args.data for w in ("--data", d)]
        options, ctx = self.prepare(shlex.join(words))
        self.tracker.run(args.variable, options, ctx)
        return None

    def _promote(self, line: str) -> Any:
        argv = self._argv("promote", line)
        if argv is None:
            return None
        args = _promote_arguments.parser.parse_args(argv)
        from nbmlops.models import promotion, registry

        where = self.tracker.context().where
        with store.fail_fast(), registry.store_errors(where.tracking_uri):
            client = registry.open_client(where.tracking_uri)
            try:
                done = promotion.promote(client, args.name, args.version, to=args.to,
                                         gates=args.gate, root=where.root)
            except GateFailed as e:
                print(e.report)  # the table first; the one-line refusal is the UsageError
                raise
        if done.report:
            print(done.report)
        print(done.summary())
        return None

    def _rollback(self, line: str) -> Any:
        argv = self._argv("rollback", line)
        if argv is None:
            return None
        args = _rollback_arguments.parser.parse_args(argv)
        from nbmlops.models import promotion, registry

        uri = self.tracker.context().where.tracking_uri
        with store.fail_fast(), registry.store_errors(uri):
            client = registry.open_client(uri)
            done = promotion.rollback(client, args.name, args.to, alias=args.alias)
        print(done.summary())
        return None

    def _models(self, line: str) -> Any:
        argv = self._argv("models", line)
        if argv is None:
            return None
        args = _models_arguments.parser.parse_args(argv)
        from nbmlops.models import registry

        where = self.tracker.context().where
        with store.fail_fast(), registry.store_errors(where.tracking_uri):
            client = registry.open_client(where.tracking_uri)
            found = registry.list_models(
                client, where.source_name if args.notebook else None, args.names or None
            )
        print(registry.format_models(found))
        return None
    def _slice(self, line: str) -> None:
        history = self.tracker.history
        name = line.strip() or history.latest_name
        script = history.latest.get(name or "")
        if script is None:
            known = ", ".join(history.latest) or "none yet"
            raise UsageError(f"no tracked run {name!r} in this kernel (tracked runs: {known})"
                             if name else "no tracked cell has run in this kernel yet")
        print(script)

    def _compare(self, line: str) -> Any:
        # POSIX quoting, so --filter "params.opt = 'adam'" arrives without its quotes.
        try:
            argv = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%mlops compare: {e}") from None
        parser = _compare_arguments.parser
        if {"-h", "--help"} & set(argv):
            print(parser.format_help())
            return None
        args = parser.parse_args(argv)
        from nbmlops.panel.widget import compare

        return compare(
            args.experiment, cell=args.cell, metric=args.metric, last=args.last,
            filter=args.filter, where=self.tracker.context(args.experiment).where,
        )


    def _assess(self, line: str) -> Any:
        from IPython.display import HTML

        from nbmlops.assess import assess_project
        from nbmlops.assess.report import html

        try:
            argv = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%mlops assess: {e}") from None
        if len(argv) > 1:
            raise UsageError("%mlops assess takes one folder (default: the notebook's project)")
        path = argv[0] if argv else self.tracker.context().root
        if not os.path.isdir(path):
            raise UsageError(f"%mlops assess: not a folder: {path}")
        return HTML(html(assess_project(path)))


@magic_arguments("mlops compare")
@argument("experiment", nargs="?", help="MLflow experiment (default: the notebook's).")
@argument("--cell", "-c", metavar="NAME", help="Only the runs of this tracked cell (its run name).")
@argument("--metric", "-m", metavar="NAME",
          help="Order by this metric, best first, and show it first.")
@argument("--last", "-n", type=int, metavar="N", help="Only the N newest runs.")
@argument("--filter", "-f", default="", metavar="EXPR",
          help="MLflow search filter: \"metrics.auc > 0.8\".")
def _compare_arguments() -> None:
    """``%mlops compare``: a panel of the notebook's runs: sort, page, tick two or more runs
    to see them side by side (params, metrics, data, packages, code), plots."""


@magic_arguments("mlops register")
@argument("variable", help="the variable holding the fitted model")
@argument("--name", "-n", default=None, help="the registered model (default: the variable)")
@argument("--metric", "-m", action="append", default=[], metavar="NAME",
          help="a variable holding one of its evaluation metrics, repeatable")
@argument("--data", "-d", action="append", default=[], metavar="VAR",
          help="the data it was trained on (its input example and signature), repeatable")
def _register_arguments() -> None:
    """``%mlops register``: register a fitted model as a new version, alias challenger."""


@magic_arguments("mlops promote")
@argument("name", help="the registered model")
@argument("--version", "-v", default=None,
          help="the version to promote (default: the challenger, else the newest)")
@argument("--to", default=store.CHAMPION,
          help=f"the alias it is to take (default: {store.CHAMPION})")
@argument("--gate", "-g", action="append", default=[], metavar="GATE",
          help='"auc >= champion", "auc >= 0.80", "latency_ms <= champion * 1.1"; '
          "repeatable, added to [tool.nbmlops.gates]")
def _promote_arguments() -> None:
    """``%mlops promote``: evaluate the gates on the version's metrics and the alias holder's,
    print the gate report, and move the alias only when every gate passes."""


@magic_arguments("mlops rollback")
@argument("name", help="the registered model")
@argument("--to", default=None, metavar="VERSION",
          help="the version to return to (default: the previous holder)")
@argument("--alias", default=store.CHAMPION,
          help=f"the alias to move back (default: {store.CHAMPION})")
def _rollback_arguments() -> None:
    """``%mlops rollback``: move the champion back to the version that held it before."""


@magic_arguments("mlops models")
@argument("names", nargs="*", metavar="NAME", help="only these registered models")
@argument("--notebook", action="store_true",
          help="only the versions this notebook registered")
def _models_arguments() -> None:
    """``%mlops models``: registered models, their versions, aliases and alias history."""


_MODEL_ARGUMENTS = {
    "register": _register_arguments,
    "promote": _promote_arguments,
    "rollback": _rollback_arguments,
    "models": _models_arguments,
}
