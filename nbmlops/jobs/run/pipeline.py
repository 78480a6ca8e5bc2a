"""Running a pipeline: ``nbmlops run jobs/weekly`` when job.yaml has ``steps:``.

Steps start as soon as the steps they need have finished, side by side up to
``max_parallel`` (the core count by default). Each step is papermill in its own process
group, as for a one-notebook job (:mod:`nbmlops.jobs.run.job` does the executing, the failure
report, the secrets of the output notebook and the naming of its runs).

In MLflow: one run for the pipeline (tagged ``nbmlops.job``, as a job's), one child run per
step (tagged ``nbmlops.step`` and ``nbmlops.pipeline``), and each step's tracked cells nested
under its step's run. A step whose code, parameters and inputs are those of its last success,
and whose outputs are still what that run wrote (:mod:`nbmlops.jobs.run.uptodate`), does not run:
its run says "skipped: up to date" and names the run it reuses.

A failed step stops the steps that need it, directly or not; the others finish. ``--from
STEP`` runs STEP and what needs it, ``--only STEP`` that step alone with its inputs as they
are; ``--force`` runs steps even when up to date. Each step runs under a lock of its own,
however the run was started, so two runs never write a step's outputs together.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock

from nbmlops import config, store
from nbmlops.exceptions import JobError
from nbmlops.jobs import pipeline
from nbmlops.jobs.run import uploads, uptodate
from nbmlops.jobs.run.job import (
    LOCK_FILE,
    RUNS_DIR,
    Failure,
    ParentRun,
    RunResult,
    _execute,
    _name_runs,
    _on_failure,
    _one_line,
    _redact_output,
    job_lock,
    papermill_command,
    stop_on_signals,
    stop_sessions,
    stopped_by,
)
from nbmlops.jobs.spec import Job, Step, resolve_params
from nbmlops.runs.lineage import file_path

Say = Callable[[str], None]

FINISHED, FAILED, SKIPPED, NOT_RUN = "FINISHED", "FAILED", "SKIPPED", "NOT RUN"


@dataclass
class StepResult:
    name: str
    status: str = NOT_RUN  # FINISHED | FAILED | SKIPPED (up to date) | NOT RUN
    reason: str = ""  # why it ran, was skipped, or did not run
    run_id: str | None = None
    reuses: str | None = None  # a skipped step: the run whose results it reuses
    output: Path | None = None
    failure: Failure | None = None
    started: float = 0.0  # epoch seconds
    ended: float = 0.0
    attempts: int = 0

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended - self.started)

    def line(self) -> str:
        if self.status == FINISHED:
            run = f", run {self.run_id}" if self.run_id else ""
            return f"{self.name}: FINISHED in {self.duration_s:.1f} s ({self.reason}){run}"
        if self.status == SKIPPED:
            return (f"{self.name}: skipped: up to date"
                    + (f" (reuses run {self.reuses})" if self.reuses else ""))
        if self.status == FAILED:
            return f"{self.name}: FAILED after {self.duration_s:.1f} s"
        return f"{self.name}: not run ({self.reason})"


@dataclass
class PipelineResult:
    status: str  # FINISHED | FAILED | SKIPPED (another run holds the lock)
    params: dict[str, Any]
    steps: dict[str, StepResult] = field(default_factory=dict)
    parent_run_id: str | None = None
    duration_s: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.status == FAILED else 0

    @property
    def failed(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.status == FAILED]

    def report(self) -> str:
        """The failures as blocks naming their steps (empty when none failed)."""
        blocks = []
        for s in self.failed:
            text = str(s.failure or Failure("papermill", "the step failed"))
            blocks.append(f"step {s.name}: " + text.replace("job failed", "failed", 1))
        return "\n".join(blocks)


def selection(job: Job, only: str | None, start: str | None) -> list[str]:
    """The steps this run considers, in run order."""
    names = [s.name for s in job.steps]
    needs = {s.name: s.needs for s in job.steps}
    ordered = pipeline.order(names, needs)
    if only and start:
        raise JobError("--only and --from cannot be given together")
    if only:
        job.step(only)
        return [only]
    if start:
        job.step(start)
        chosen = pipeline.downstream(needs, start)
        return [n for n in ordered if n in chosen]
    return ordered


def step_params(job: Job, step: Step, params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in step.parameters}


def run_pipeline(
    folder: Path,
    job: Job,
    given: Mapping[str, Any],
    *,
    only: str | None = None,
    start: str | None = None,
    force: Collection[str] = (),
    dry_run: bool = False,
    verbose: bool = False,
    say: Say = lambda s: None,
) -> PipelineResult:
    """Run the steps of ``job`` (its folder is ``folder``); ``force`` names steps to run even
    when up to date (``*``: all)."""
    params = resolve_params(job, given)
    chosen = selection(job, only, start)
    for name in force:
        if name != "*":
            job.step(name)
    for name in chosen:
        if not (folder / job.step(name).notebook).is_file():
            raise JobError(f"job {job.name}: the notebook of step {name}, "
                           f"{folder / job.step(name).notebook}, is missing")
    if dry_run:
        would_run: set[str] = set()
        for name in chosen:
            step = job.step(name)
            verdict = uptodate.check(folder, job, step, step_params(job, step, params))
            after = [n for n in step.needs if n in would_run]
            if not verdict.current or name in force or "*" in force:
                would_run.add(name)
                say(f"{name}: runs ({'forced' if verdict.current else verdict.reason})")
            elif after:
                say(f"{name}: up to date now; runs if {', '.join(after)} change its inputs")
            else:
                say(f"{name}: skipped: up to date")
        return PipelineResult(SKIPPED, params)
    # A whole run owns the job; `--only STEP` (one task of a scheduler's graph) owns its step,
    # so the tasks of independent branches can run at once. Every step runs under its own
    # lock, whichever way it was started: a whole run waits for a step an `--only` holds.
    lock = step_lock_file(only) if only else LOCK_FILE
    with job_lock(folder, job.overlap, lock) as held:
        if not held:
            say(f"nbmlops: job {job.name} is already running: this run is skipped "
                "(overlap: skip in job.yaml)")
            return PipelineResult(SKIPPED, params)
        runner = _Runner(folder, job, params, chosen, set(force), verbose, say)
        runner.held = {only} if only else set()
        return runner.run()


def step_lock_file(step: str) -> str:
    """The lock a step's run holds, however it was started (whole run, ``--from``,
    ``--only``): two runs of one step never write its outputs together."""
    return f".nbmlops-run-{step}.lock"


def _import_output() -> None:
    with contextlib.suppress(Exception):
        import nbmlops.jobs.run.output  # noqa: F401


class _Runner:
    def __init__(self, folder: Path, job: Job, params: dict[str, Any], chosen: list[str],
                 force: set[str], verbose: bool, say: Say) -> None:
        self.folder, self.job, self.params, self.chosen = folder, job, params, chosen
        self.force, self.verbose, self.say = force, verbose, say
        self.where = config.destination(folder, job.experiment, uri=job.tracking_uri)
        self.parent = ParentRun(self.where.tracking_uri, self.where.experiment, say)
        self.mlflow = threading.Lock()  # one MLflow call at a time from the step threads
        self.stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.results = {name: StepResult(name) for name in chosen}
        self.finisher = ThreadPoolExecutor(max_workers=1)  # see _finish_output
        self.processes: list[subprocess.Popen[str]] = []  # to stop them all on Ctrl-C
        self.stopping = False
        self.held: set[str] = set()  # the steps whose locks the caller holds (`--only`)

    def run(self) -> PipelineResult:
        started = time.monotonic()
        source = config.source_name(str(self.folder), self.where.root)
        parent_id = self.parent.start(self.job, source, self.params)
        # What the end of the run needs (nbformat, seconds to import) is imported while the
        # first steps' kernels run, not after them.
        threading.Thread(target=_import_output, daemon=True).start()
        result = PipelineResult(FAILED, self.params, self.results, parent_id)
        try:
            with uploads.while_running(self.folder, parent_id):  # the steps' cells' records
                self._schedule(parent_id)
        except KeyboardInterrupt as e:
            self.finisher.shutdown(wait=False, cancel_futures=True)
            result.duration_s = time.monotonic() - started
            result.status = "KILLED"
            self.parent.end(RunResult("KILLED", self.params, failure=Failure(
                "interrupted", stopped_by(e)), duration_s=result.duration_s), False)
            raise
        result.duration_s = time.monotonic() - started
        result.status = FAILED if result.failed else FINISHED
        self.finisher.shutdown(wait=True)
        summary = RunResult(result.status, self.params, parent_run_id=parent_id,
                            duration_s=result.duration_s, attempts=1)
        if result.failed:
            first = result.failed[0]
            summary.failure = first.failure or Failure("papermill", "a step failed")
            summary.failure = Failure(summary.failure.kind, f"step {first.name}: "
                                      f"{summary.failure.message}", summary.failure.cell,
                                      summary.failure.line, summary.failure.source_line)
            summary.output = first.output
        self.parent.end(summary, upload_output=False)
        if summary.failure and self.job.on_failure:
            env = config.job_kernel_env(dict(os.environ), self.where, self.folder,
                                        self.job.name, self.params, parent_id)
            _on_failure(self.job, summary, env, self.say)
        return result

    # -- the order ------------------------------------------------------------------------

    def _schedule(self, parent_id: str | None) -> None:
        needs = {s.name: [n for n in s.needs if n in self.results] for s in self.job.steps}
        width = self.job.max_parallel or os.cpu_count() or 1
        pending = list(self.chosen)
        running: dict[Future[None], str] = {}
        done: set[str] = set()
        pool = ThreadPoolExecutor(max_workers=width)
        try:
            # As a one-notebook run does: Ctrl-C or SIGTERM stops the run.
            with stop_on_signals():
                self._loop(pool, pending, running, done, needs, width, parent_id)
        except KeyboardInterrupt:
            # The steps' papermill runs are in sessions of their own: a Ctrl-C or SIGTERM
            # reaches only this process, which stops them (and their kernels), and waits
            # for them to end, before it ends and releases the lock.
            self.stopping = True
            stop_sessions(self.processes)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self, pool: ThreadPoolExecutor, pending: list[str],
              running: dict[Future[None], str], done: set[str],
              needs: Mapping[str, list[str]], width: int, parent_id: str | None) -> None:
        while pending or running:
            for name in list(pending):
                if not all(n in done for n in needs[name]):
                    continue
                blocked = [n for n in needs[name] if self.results[n].status in
                           (FAILED, NOT_RUN)]
                if blocked:
                    pending.remove(name)
                    done.add(name)
                    why = self.results[blocked[0]]
                    self.results[name].reason = (
                        f"needs {why.name}, which failed" if why.status == FAILED
                        else f"needs {why.name}, which did not run")
                    self.say(f"nbmlops: {self.results[name].line()}")
                    continue
                if len(running) >= width:
                    break
                pending.remove(name)
                running[pool.submit(self._step, self.job.step(name), parent_id)] = name
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                done.add(name)
                error = future.exception()
                if error is not None:  # a bug or the store failing: the step failed
                    self.results[name].status = FAILED
                    self.results[name].failure = Failure("papermill", _one_line(error))
                self.say(f"nbmlops: {self.results[name].line()}")

    # -- one step -------------------------------------------------------------------------

    def _step(self, step: Step, parent_id: str | None) -> None:
        if step.name in self.held:
            return self._step_locked(step, parent_id)
        lock = filelock.FileLock(str(self.folder / step_lock_file(step.name)))
        said = False
        while True:
            try:
                lock.acquire(timeout=0.5)
                break
            except filelock.Timeout:
                if self.stopping:
                    raise KeyboardInterrupt from None
                if not said:
                    self.say(f"nbmlops: step {step.name}: another run of it is under way; "
                             "waiting for it to end")
                    said = True
        try:
            # Checked once the lock is held: what the other run left may be up to date.
            return self._step_locked(step, parent_id)
        finally:
            lock.release()

    def _step_locked(self, step: Step, parent_id: str | None) -> None:
        result = self.results[step.name]
        values = step_params(self.job, step, self.params)
        forced = "*" in self.force or step.name in self.force
        result.started = time.time()
        verdict = uptodate.check(self.folder, self.job, step, values)
        if verdict.current and not forced:
            result.status, result.reason = SKIPPED, "up to date"
            result.reuses = verdict.state.run_id if verdict.state else None
            result.run_id = self._skipped_run(step, values, parent_id, result.reuses)
            result.ended = time.time()
            return
        result.reason = "forced" if forced else verdict.reason
        before = uptodate.before_run(self.folder, self.job, step, values)
        run = self._run()
        with self.mlflow:
            result.run_id = run.start(self.job, self._source(step), values,
                                      tags=self._tags(step, parent_id), name=step.name,
                                      origin=self._origin(step))
        notebook = self.folder / step.notebook
        env = config.job_kernel_env(dict(os.environ), self.where, notebook, self.job.name,
                                    values, result.run_id, self._origin(step))
        shadow = Job(name=self.job.name, notebook=step.notebook, kernel=self.job.kernel,
                     cwd=step.cwd, cell_timeout=self.job.cell_timeout)
        for attempt in range(1, self.job.retries + 2):
            suffix = "" if attempt == 1 else f"-retry{attempt - 1}"
            output = (self.folder / RUNS_DIR
                      / f"{self.job.name}-{self.stamp}-{step.name}{suffix}.ipynb")
            output.parent.mkdir(parents=True, exist_ok=True)
            result.attempts, result.output = attempt, output
            if self.stopping:
                raise KeyboardInterrupt
            result.failure = _execute(
                papermill_command(shadow, self.folder, output, values, self.verbose),
                env, self.job.run_timeout, output, self.verbose, self.processes.append)
            if self.stopping:
                # Stopped half way: whatever it wrote is no success, and its run is KILLED.
                uptodate.forget(self.folder, step.name)
                result.ended, result.status = time.time(), "KILLED"
                with self.mlflow:
                    run.end(RunResult("KILLED", values, result.output, result.run_id,
                                      Failure("interrupted", "the pipeline was stopped"),
                                      result.attempts, result.duration_s),
                            upload_output=False)
                raise KeyboardInterrupt
            if result.failure is None:
                break
            if attempt <= self.job.retries:
                self.say(f"step {step.name}: {result.failure}\nnbmlops: attempt {attempt} "
                         f"failed; retrying in {self.job.retry_delay:g} s")
                time.sleep(self.job.retry_delay)
        result.ended = time.time()
        if result.failure is None:
            result.status = FINISHED
            uptodate.after_run(self.folder, step, before, result.run_id)
        else:
            result.status = FAILED
            uptodate.forget(self.folder, step.name)
        with self.mlflow:
            run.end(RunResult(result.status, values, result.output, result.run_id,
                              result.failure, result.attempts, result.duration_s),
                    upload_output=False)
        self.finisher.submit(self._finish_output, result)

    def _run(self) -> ParentRun:
        run = ParentRun(self.where.tracking_uri, self.where.experiment, self.say)
        run.client = self.parent.client  # one client for every run of the pipeline
        return run

    def _source(self, step: Step) -> str:
        return config.source_name(str(self.folder / step.notebook), self.where.root)

    def _origin(self, step: Step) -> str | None:
        """The notebook the step was exported from, as its runs name it for its sidebar."""
        if not step.source:
            return None
        return config.source_name(str(self.folder / step.source), self.where.root)

    def _tags(self, step: Step, parent_id: str | None) -> dict[str, str]:
        tags = {store.PIPELINE_TAG: self.job.name, store.STEP_TAG: step.name}
        if parent_id:
            tags[store.PARENT_RUN_TAG] = parent_id
        return tags

    def _skipped_run(self, step: Step, values: Mapping[str, Any], parent_id: str | None,
                     reuses: str | None) -> str | None:
        """A run that says the step was up to date and which run's results stand."""
        note = "skipped: up to date" + (f"; reuses run {reuses}" if reuses else "")
        tags = {**self._tags(step, parent_id), store.STEP_SKIPPED_TAG: "up to date",
                store.NOTE_TAG: note}
        if reuses:
            tags[store.STEP_REUSES_TAG] = reuses
        run = self._run()
        with self.mlflow:
            run_id = run.start(self.job, self._source(step), values, tags=tags, name=step.name,
                               origin=self._origin(step))
            run.end(RunResult(FINISHED, dict(values)), upload_output=False)
        return run_id

    # -- after ----------------------------------------------------------------------------

    def _finish_output(self, result: StepResult) -> None:
        """Blank secrets in a step's output notebook, name its tracked runs once uploaded,
        attach it to the step's run and learn the files its cells read. Done one step at a
        time beside the steps that run next: what needs the step does not wait for it."""
        if result.output is None:
            return
        try:
            safe = _redact_output(result.output, self.say)
            _name_runs(result.output, config.spool_dir(config.project_root(self.folder)),
                       self.say)
            if safe and result.run_id and self.parent.client is not None:
                with self.mlflow, store.fail_fast():
                    self.parent.client.log_artifact(result.run_id, str(result.output),
                                                    store.JOB_OUTPUT_FOLDER)
            if result.status == FINISHED and result.run_id:
                self._tracked_inputs(self.job.step(result.name), result.run_id)
        except Exception as e:  # the step ran; its record is a courtesy
            self.say(f"nbmlops: warning: {result.output.name}: {_one_line(e)}")

    def _tracked_inputs(self, step: Step, run_id: str) -> None:
        """Add to the step's state the files its tracked cells read that job.yaml does not
        list (a path computed at run time): a change to them makes the step run again. And
        keep as its outputs what its cells wrote, not what another writer left after them."""
        client = self.parent.client
        if client is None:
            return
        try:
            with self.mlflow, store.fail_fast():
                cells = client.search_runs(
                    [client.get_run(run_id).info.experiment_id],
                    filter_string=f"tags.`{store.PARENT_RUN_TAG}` = '{run_id}'")
        except Exception:  # the step's state keeps the inputs job.yaml lists
            return
        listed = {os.path.normpath(self.folder / p): p for p in step.outputs}
        outputs = list(listed)
        root = config.project_root(self.folder)
        found: dict[str, str] = {}
        wrote: dict[str, str] = {}  # output -> what the step's last cell writing it left
        for cell in sorted(cells, key=lambda c: c.info.start_time or 0):
            for d in cell.inputs.dataset_inputs if cell.inputs is not None else []:
                tags = {t.key: t.value for t in d.tags}
                path = file_path(d, root)  # named relative to the project, or absolute
                if path is None:
                    continue
                if "output" in tags.get(store.DATA_CONTEXT_TAG, ""):
                    named = listed.get(os.path.normpath(path))
                    if named is not None:
                        wrote[named] = d.dataset.digest
                    continue
                if any(pipeline.covers(o, path) for o in outputs):
                    continue
                found.setdefault(os.path.relpath(path, self.folder), d.dataset.digest)
        state = uptodate.load_state(self.folder, step.name)
        if state is None or state.run_id != run_id:
            return
        extra = {p: f for p, f in found.items() if p not in step.inputs}
        state.inputs.update(extra)
        # An output another writer changed after the step's cell wrote it is not what the
        # step made: the state keeps the cell's fingerprint, so the step is not up to date.
        mixed = {p: f for p, f in wrote.items() if state.outputs.get(p, f) != f}
        for path in mixed:
            self.say(f"nbmlops: warning: step {step.name}: {path} changed after the step "
                     "wrote it (another writer?): the step runs again next time")
        state.outputs.update(mixed)
        if extra or mixed:
            uptodate.save_state(self.folder, step.name, state)
