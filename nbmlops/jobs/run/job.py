"""Running a job: ``nbmlops run JOB``.

The order matters: parameters are checked against job.yaml before a kernel starts; the lock is
taken before anything is recorded; the parent MLflow run is made while papermill starts the
kernel (opening MLflow takes seconds, and so does a kernel's start: two cores do both), and
its id reaches the kernel in a file (``NBMLOPS_PARENT_RUN_FILE``) that the kernel reads when
it records its first ``%%track`` cell, so every tracked cell becomes a nested run of it.

papermill runs as a child process (its CLI), not through its Python API, for two reasons: a
whole-run timeout can then kill it and its kernel as one process group, and a kernel that dies
takes only that process with it.

When the tracking store cannot be reached, the job still runs: a scheduled pipeline must not
stop because monitoring is away. The tracked cells are spooled as always and upload later
(without a parent); ``nbmlops run`` says so on stderr. The exit status is the notebook's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import filelock

from nbmlops import atomic_files, config, papermill_cli, redact, regular_files, store
from nbmlops.exceptions import GateFailed, JobError, NbmlopsError
from nbmlops.jobs import monitored
from nbmlops.jobs.run import monitoring, retraining, uploads
from nbmlops.jobs.spec import RUNS_DIR, Job, Promote, folder_of, load, resolve_params
from nbmlops.sync.spool import Spool
from nbmlops.track import capture

LOCK_FILE = ".nbmlops-run.lock"
#: How long `nbmlops run` waits for its cells' records to upload before it ends.
SYNC_WAIT_SECONDS = 60.0
JOB_TAG = store.JOB_TAG
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

Say = Callable[[str], None]


@dataclass
class Failure:
    """Why a run failed, for a person: one block."""

    kind: str  # "error" | "timeout" | "kernel died" | "papermill" | "promotion" | "interrupted"
    message: str
    cell: int | None = None  # 1-based, in the job notebook (the injected cell not counted)
    line: int | None = None
    source_line: str | None = None

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell else "the run"
        if self.line:
            where += f", line {self.line}"
        block = [f"job failed ({self.kind}) in {where}:"]
        if self.source_line:
            block.append(f"    {self.source_line.strip()}")
        block.append(f"  {self.message}")
        return "\n".join(block)


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal: Ctrl-C, or SIGTERM (a scheduler's kill or timeout). It ends
    as an interrupted run does: its notebooks stopped, its runs KILLED."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum


def stopped_by(error: BaseException) -> str:
    """What stopped a run, as its KILLED run says it."""
    if isinstance(error, Stopped) and error.signum != signal.SIGINT:
        return f"stopped by {signal.Signals(error.signum).name}"
    return "stopped by Ctrl-C"


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """In the main thread: Ctrl-C and SIGTERM raise :class:`Stopped`, even where the shell
    that started the run made SIGINT ignored (a background job)."""

    def handler(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    with _signals_to(handler):
        yield


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """In the main thread: a Ctrl-C or SIGTERM during the block is acted on when it ends (it
    raises :class:`Stopped` then), so what the block makes is whole: the job's run, which
    a stop must find to end it KILLED."""
    held: list[int] = []
    with _signals_to(lambda signum, frame: held.append(signum)):
        yield
    if held:
        raise Stopped(held[0])


@contextlib.contextmanager
def _signals_to(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM go to ``handler`` during the block, then back to where they went;
    only the main thread can handle signals, so elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class RunResult:
    status: str  # FINISHED | FAILED | SKIPPED
    params: dict[str, Any]
    output: Path | None = None
    parent_run_id: str | None = None
    failure: Failure | None = None
    attempts: int = 0
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "FAILED" else 0


# -- the steps ------------------------------------------------------------------------------------


def read_params_file(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(regular_files.read_text(path))
    except OSError as e:
        raise JobError(f"cannot read parameters file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise JobError(f"parameters file {path} is not UTF-8 text") from None
    except yaml.YAMLError:
        raise JobError(f"parameters file {path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise JobError(f"parameters file {path} must hold a mapping of name to value")
    return data


def papermill_command(job: Job, folder: Path, output: Path, params: Mapping[str, Any],
                      verbose: bool = False, progress: bool = False) -> list[str]:
    command = papermill_cli.command(
        str(folder / job.notebook), str(output),
        # JSON is YAML: the values keep the types job.yaml checked.
        "-y", json.dumps(dict(params)),
        "--cwd", str((folder / job.cwd).resolve()),
        "-k", job.kernel,
        "--request-save-on-cell-execute",
        "--progress-bar" if progress else "--no-progress-bar",
        "--log-level", "INFO" if verbose else "WARNING",
    )
    if verbose:
        command.append("--log-output")
    if job.cell_timeout:
        command += ["--execution-timeout", str(int(job.cell_timeout))]
    return command


def failure_of(output: Path, stderr: str) -> Failure:
    """The failing cell, its line and error from the output notebook; else from papermill's
    stderr (a dead kernel or a timeout leaves no error output in the notebook)."""
    text = _ANSI.sub("", stderr)
    if "DeadKernelError" in text or "Kernel died" in text:
        return Failure("kernel died", _last_line(text, "DeadKernelError") or "the kernel died",
                       cell=_running_cell(output))
    if "CellTimeoutError" in text or "timed out" in text.lower():
        return Failure("timeout", _last_line(text, "Timeout") or "a cell timed out",
                       cell=_running_cell(output))
    found = _error_cell(output)
    if found is not None:
        return found
    return Failure("papermill", _last_line(text, "") or "papermill failed")


def _read(output: Path) -> Any:
    import nbformat

    try:
        return nbformat.read(str(output), as_version=4)
    except Exception:  # missing or half-written: papermill died before saving it
        return None


def _job_cells(nb: Any) -> Iterator[tuple[int, Any]]:
    """(number in the job notebook, cell) of the output notebook's cells."""
    number = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        # papermill adds the injected parameters, and error markers when a cell fails
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue
        number += 1
        yield number, cell


def _error_cell(output: Path) -> Failure | None:
    nb = _read(output)
    if nb is None:
        return None
    for number, cell in _job_cells(nb):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else ():
            if out.get("output_type") != "error":
                continue
            line = _error_line(_ANSI.sub("", "\n".join(out.get("traceback", []))))
            lines = cell.source.splitlines()
            source = lines[line - 1] if line and 0 < line <= len(lines) else None
            return Failure("error", f"{out.get('ename')}: {out.get('evalue')}", number, line,
                           source)
    return None


def _error_line(trace: str) -> int | None:
    """The failing line of the cell in an IPython traceback: its frame's ``Cell In[4], line
    4`` header, else the first marked line ``----> 4 ...``; in the last exception's traceback,
    as an exception raised while handling another (pandas' KeyError) prints the first one's
    frames, inside a library, above it."""
    last = trace.rsplit("Traceback (most recent call last)", 1)[-1]
    match = (re.search(r"^Cell In\s*\[\d*\],\s*line (\d+)", last, re.MULTILINE)
             or re.search(r"^-*>\s*(\d+)\s", last, re.MULTILINE))
    return int(match.group(1)) if match else None


def _running_cell(output: Path) -> int | None:
    # papermill's metadata marks the cell that was running when the run stopped.
    nb = _read(output)
    if nb is None:
        return None
    for number, cell in _job_cells(nb):
        if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            return number
    return None


def _last_line(text: str, containing: str) -> str | None:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and containing in ln]
    return lines[-1] if lines else None


@contextlib.contextmanager
def job_lock(folder: Path, overlap: str, name: str = LOCK_FILE) -> Iterator[bool]:
    """True while this process holds the job's lock (``name``: a pipeline step's own, for
    ``--only STEP``); False (at once) when another run holds it and ``overlap`` is
    ``skip``."""
    lock = filelock.FileLock(str(folder / name))
    try:
        lock.acquire(timeout=-1 if overlap == "wait" else 0)
    except filelock.Timeout:
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def is_running(folder: Path) -> bool:
    """Whether a run of the job holds its lock now (started by cron, a shell or the sidebar)."""
    lock = filelock.FileLock(str(folder / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        return True
    lock.release()
    return False


class ParentRunHandoff:
    """The file a job's kernel reads its parent run's id from (``NBMLOPS_PARENT_RUN_FILE``):
    written once the run exists, empty when there is none; the kernel starts meanwhile."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="nbmlops-job-")
        self.path = Path(self._folder.name) / "parent-run"

    def give(self, run_id: str | None) -> None:
        atomic_files.write_atomic(self.path, (run_id or "").encode())

    def __enter__(self) -> ParentRunHandoff:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.path.exists():  # stopped before the run was made: no kernel waits
            self.give(None)
        self._folder.cleanup()


class ParentRun:
    """The job's MLflow run: created while the notebook starts, ended after it.

    Every call is guarded: a tracking store that fails makes it a no-op with a warning, never
    a failed job.
    """

    def __init__(self, uri: str, experiment: str, say: Say) -> None:
        self.uri, self.experiment, self.say = uri, experiment, say
        self.client: Any = None
        self.run_id: str | None = None

    def start(self, job: Job, notebook: str, params: Mapping[str, Any],
              tags: Mapping[str, str] | None = None, name: str | None = None,
              origin: str | None = None) -> str | None:
        """Create the run; ``tags`` replace the job tag (a pipeline's step runs carry their
        own), ``name`` the run's name (the job's name and the time), ``origin`` the notebook
        the job was exported from (project-relative)."""
        if origin:
            tags = {**(tags if tags is not None else {JOB_TAG: job.name}),
                    store.SOURCE_NOTEBOOK_TAG: origin}
        try:
            with store.fail_fast():
                self.run_id = self._create(job, notebook, params, tags, name)
        except Exception as e:  # whatever MLflow raises: the job runs anyway
            self.say(f"nbmlops: warning: no parent run ({_one_line(e)}); the job runs, its "
                     "tracked cells wait in the spool and upload later")
            self.run_id = None
        return self.run_id

    def _create(self, job: Job, notebook: str, params: Mapping[str, Any],
                tags: Mapping[str, str] | None, name: str | None) -> str:
        from nbmlops.sync.upload import ensure_experiment

        if self.client is None:
            self.client = store.client(self.uri, create=True)
        experiment_id = ensure_experiment(self.client, self.experiment, self.uri)
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        run = self.client.create_run(experiment_id, run_name=name or f"{job.name} {stamp}", tags={
            **(tags if tags is not None else {JOB_TAG: job.name}),
            store.SOURCE_NAME_TAG: notebook,
            store.SOURCE_TYPE_TAG: store.SOURCE_TYPE_NOTEBOOK,
        })
        run_id = str(run.info.run_id)
        if params:
            from mlflow.entities import Param

            # As a tracked cell's: a parameter that looks secret is never stored.
            safe = redact.redact_mapping({k: capture.param_value(v) for k, v in params.items()})
            self.client.log_batch(run_id, params=[
                Param(k, v[:6000]) for k, v in safe.items()
            ])
        return run_id

    def end(self, result: RunResult, upload_output: bool = True) -> None:
        if not self.run_id:
            return
        try:
            with store.fail_fast():
                self._finish(self.run_id, result, upload_output)
        except Exception as e:
            self.say(f"nbmlops: warning: could not finish the parent run {self.run_id}: "
                     f"{_one_line(e)}")

    def _finish(self, run_id: str, result: RunResult, upload_output: bool) -> None:
        self.client.set_tag(run_id, store.DURATION_TAG, f"{result.duration_s:.3f}")
        self.client.set_tag(run_id, store.JOB_ATTEMPTS_TAG, str(result.attempts))
        if result.output:
            self.client.set_tag(run_id, store.JOB_OUTPUT_TAG, f"{RUNS_DIR}/{result.output.name}")
        self.client.log_metric(run_id, "duration_s", result.duration_s)
        if result.failure:
            self.client.set_tag(run_id, store.JOB_ERROR_TAG,
                                str(result.failure)[:store.MAX_TAG_VALUE])
        if upload_output and result.output and result.output.is_file():
            self.client.log_artifact(run_id, str(result.output), store.JOB_OUTPUT_FOLDER)
        self.client.set_terminated(run_id, result.status)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}"


def run_job(
    job_path: str | Path,
    given: Mapping[str, Any],
    dry_run: bool = False,
    verbose: bool = False,
    progress: bool = False,
    say: Say = lambda s: print(s, file=sys.stderr),
    tags: Mapping[str, str] | None = None,
) -> RunResult:
    """Run the job in ``job_path`` once (plus its retries) with ``given`` parameters;
    ``tags`` go on its run beside the job's own (a retraining names the run it is for)."""
    folder = folder_of(job_path)
    job = load(folder)
    if job.is_pipeline:
        raise JobError(f"job {job.name} is a pipeline: run it with `nbmlops run {folder}` "
                       "(nbmlops.jobs.run.pipeline.run_pipeline)")
    params = resolve_params(job, given)  # before any kernel: a typo costs nothing
    notebook = folder / job.notebook
    if not notebook.is_file():
        raise JobError(f"job {job.name}: its notebook {notebook} is missing")
    monitored.check_notebook(job, notebook)  # monitor: names the cells never make
    retraining.check_at_start(job, folder)  # an alert target or training job that is not there
    if dry_run:
        output = folder / RUNS_DIR / f"{job.name}-DRYRUN.ipynb"
        say(" ".join(papermill_command(job, folder, output, params)))
        return RunResult("SKIPPED", params)

    with job_lock(folder, job.overlap) as held:
        if not held:
            say(f"nbmlops: job {job.name} is already running: this run is skipped "
                "(overlap: skip in job.yaml)")
            return RunResult("SKIPPED", params)
        return _run_locked(job, folder, params, verbose, progress, say, tags)


def _run_locked(job: Job, folder: Path, params: dict[str, Any], verbose: bool,
                progress: bool, say: Say, tags: Mapping[str, str] | None = None) -> RunResult:
    notebook = folder / job.notebook
    source = folder / job.source if job.source else notebook
    where = job.destination(folder)
    parent = ParentRun(where.tracking_uri, where.experiment, say)
    origin = config.source_name(str(source), where.root) if job.source else None
    started = time.monotonic()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = RunResult("FAILED", params)
    with ParentRunHandoff() as handoff, contextlib.ExitStack() as serving:
        env = config.job_kernel_env(dict(os.environ), where, notebook, job.name, params, None,
                                    origin, parent_run_file=str(handoff.path))

        def open_run(_: subprocess.Popen[str]) -> None:
            """While papermill starts the kernel: the job's run, then its uploads."""
            with signals_held():
                result.parent_run_id = parent.start(
                    job, config.source_name(str(notebook), where.root), params,
                    tags={JOB_TAG: job.name, **tags} if tags else None, origin=origin)
                serving.enter_context(uploads.while_running(folder, result.parent_run_id))
                handoff.give(result.parent_run_id)  # after the spool is served: see uploads

        for attempt in range(1, job.retries + 2):
            suffix = "" if attempt == 1 else f"-retry{attempt - 1}"
            output = folder / RUNS_DIR / f"{job.name}-{stamp}{suffix}.ipynb"
            output.parent.mkdir(parents=True, exist_ok=True)
            result.attempts, result.output = attempt, output
            try:
                failure = _execute(papermill_command(job, folder, output, params, verbose,
                                                     progress), env, job.run_timeout, output,
                                   verbose, open_run if attempt == 1 else None)
            except KeyboardInterrupt as e:
                # Ctrl-C or SIGTERM: the parent run ends KILLED, as an interrupted tracked
                # cell does, instead of staying RUNNING for ever; the output notebook is not
                # checked nor uploaded.
                result.status, result.failure = "KILLED", Failure("interrupted", stopped_by(e))
                result.duration_s = time.monotonic() - started
                parent.end(result, upload_output=False)
                raise
            result.failure = failure
            if failure is None:
                result.status = "FINISHED"
                break
            if attempt <= job.retries:
                say(f"{failure}\nnbmlops: attempt {attempt} failed; retrying in "
                    f"{job.retry_delay:g} s")
                time.sleep(job.retry_delay)
    result.duration_s = time.monotonic() - started
    safe = _redact_output(result.output, say)
    _name_runs(result.output, config.spool_dir(config.project_root(folder)), say)
    if result.status == "FINISHED" and job.promote is not None:
        _promote(job.promote, result, where, say)
    monitoring.after_run(job, folder, result.parent_run_id, result.status, where, say,
                         run_job=run_job)  # a retraining runs its training job
    # Uploads the output notebook, its status lines naming their runs, its secrets blanked.
    parent.end(result, upload_output=safe)
    if result.failure and job.on_failure:
        _on_failure(job, result, config.job_kernel_env(
            dict(os.environ), where, notebook, job.name, params, result.parent_run_id, origin),
            say)
    return result


def _promote(spec: Promote, result: RunResult, where: config.Destination, say: Say) -> None:
    """Promote the version of ``spec.model`` this run registered, through the gates; a gate
    that fails, or a version that cannot be found, fails the run and moves nothing."""
    from nbmlops.models import promotion, registry

    def fail(message: str) -> None:
        result.status = "FAILED"
        result.failure = Failure("promotion", f"{message}; {spec.to} of {spec.model} untouched")

    if not result.parent_run_id:
        return fail(f"no job run in MLflow to find the version of {spec.model} it registered")
    try:
        with store.fail_fast():
            client = store.client(where.tracking_uri)
            version = registry.version_of_job_run(client, spec.model, result.parent_run_id)
            if version is None:
                return fail(f"this run registered no version of {spec.model} (a cell needs "
                            f"`%%track --model VAR={spec.model}`, and its record must be "
                            "uploaded)")
            done = promotion.promote(client, spec.model, version.version, to=spec.to,
                                     gates=spec.gates, root=where.root)
    except GateFailed as e:
        say(e.report)
        return fail(str(e).split(" (")[0])
    except NbmlopsError as e:
        return fail(f"{spec.model}: {e}")
    except Exception as e:  # the store failed: the model waits, unpromoted
        return fail(f"{spec.model}: {_one_line(e)}")
    if done.report:
        say(done.report)
    say(f"nbmlops: {done.summary()}")
    return None


def _redact_output(output: Path | None, say: Say) -> bool:
    """Blank the secret-looking parameters papermill wrote into the output notebook; False
    when that failed (the notebook is then not uploaded)."""
    if output is None or not output.is_file():
        return False
    from nbmlops.jobs.run.output import redact_parameters

    try:
        redact_parameters(output)
    except Exception as e:
        say(f"nbmlops: warning: {output.name} is not uploaded: its parameters could not be "
            f"checked for secrets ({_one_line(e)})")
        return False
    return True


def _name_runs(output: Path | None, spool_dir: Path, say: Say) -> None:
    """Upload what the job's cells spooled (bounded), then give the output notebook's status
    lines their runs; say what still waits and why."""
    if output is None or not output.is_file():
        return
    from nbmlops.jobs.run.output import name_runs
    from nbmlops.sync import worker

    spool = Spool(spool_dir)
    try:
        report = worker.drain(spool, timeout=SYNC_WAIT_SECONDS)
        uploads.retry_later(spool, report, output)
        _, waiting = name_runs(output, spool)
    except Exception as e:  # the job ran; naming its runs is a courtesy
        say(f"nbmlops: warning: could not name the runs in {output.name}: {_one_line(e)}")
        return
    if waiting:
        why = report.errors[0] if report.errors else "not uploaded yet"
        say(f"nbmlops: {waiting} tracked cell(s) wait in the spool ({why}); their status lines "
            "name their records, and `nbmlops lineage RECORD` finds each run once uploaded")


def _execute(command: list[str], env: dict[str, str], timeout: float | None, output: Path,
             verbose: bool,
             started: Callable[[subprocess.Popen[str]], None] | None = None) -> Failure | None:
    # A session of its own: a timeout kills papermill and the kernel it started together.
    # papermill ends with this process however it ends (see nbmlops.papermill_cli).
    proc = subprocess.Popen(
        command, env={**env, papermill_cli.STOP_WITH_ENV: str(os.getpid())},
        start_new_session=True, text=True,
        stdout=None if verbose else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    begun = time.monotonic()
    try:
        # papermill runs in a session of its own: a Ctrl-C or SIGTERM reaches only this
        # process, which stops it and its kernel.
        with stop_on_signals():
            if started is not None:
                # A pipeline's steps run in threads (Ctrl-C reaches their caller only); a job
                # makes its run while the kernel starts.
                started(proc)
            left = None if timeout is None else max(0.0, timeout - (time.monotonic() - begun))
            _, stderr = proc.communicate(timeout=left)
    except subprocess.TimeoutExpired:
        stop_session(proc, signal.SIGKILL)
        proc.communicate()
        return Failure("timeout", f"the whole run took longer than {timeout:g} s (run_timeout)",
                       cell=_running_cell(output))
    except KeyboardInterrupt:
        stop_sessions([proc])
        raise
    if verbose and stderr:
        sys.stderr.write(stderr)
    return None if proc.returncode == 0 else failure_of(output, stderr or "")


def stop_session(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    """Stop papermill and the kernel it started: they run in a session of their own (the
    kernel, in one of its own, ends when papermill does)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_sessions(procs: list[subprocess.Popen[str]], timeout: float = 10.0) -> None:
    """Stop papermill runs and their kernels and wait until every one has ended (killed
    after ``timeout``): the run's lock is released only then, so no second run starts
    beside a notebook still running."""
    import psutil

    kernels: list[psutil.Process] = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            kernels += psutil.Process(proc.pid).children(recursive=True)
        stop_session(proc)
    for kernel in kernels:
        with contextlib.suppress(psutil.Error):
            kernel.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:  # papermill is a child: Popen reaps it
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stop_session(proc, signal.SIGKILL)
    _, alive = psutil.wait_procs(kernels, timeout=max(0.0, deadline - time.monotonic()))
    for kernel in alive:
        with contextlib.suppress(psutil.Error):
            kernel.kill()
    psutil.wait_procs(alive, timeout=5)


def _on_failure(job: Job, result: RunResult, env: dict[str, str], say: Say) -> None:
    hook_env = {**env, "NBMLOPS_ERROR": str(result.failure),
                "NBMLOPS_OUTPUT": str(result.output or "")}
    done = subprocess.run(job.on_failure or "", shell=True, env=hook_env, check=False)
    if done.returncode:
        say(f"nbmlops: warning: on_failure exited with status {done.returncode}")


def last_run(uri: str, job_name: str) -> dict[str, Any] | None:
    """Status and start time of the job's latest parent run in MLflow (None if none)."""
    if not store.exists(uri):
        return None  # nothing was uploaded there yet
    client = store.client(uri)
    with store.fail_fast():
        ids = [e.experiment_id for e in client.search_experiments()]
        if not ids:
            return None
        runs = client.search_runs(ids, filter_string=f"tags.`{JOB_TAG}` = '{job_name}'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
    if not runs:
        return None
    info = runs[0].info
    return {"status": info.status, "start_time": info.start_time, "run_id": info.run_id}
