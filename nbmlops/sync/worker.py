"""The sync process: uploads spooled records to MLflow, one process per spool.

The kernel calls :func:`ensure_running` after each spooled record. It only probes the spool's
lock (about 0.1-0.2 ms) and, when nobody holds it, starts ``python -m nbmlops.sync.worker`` fully
detached, so the upload survives the kernel and the kernel never imports mlflow. That process
(:func:`serve`) holds the lock for its lifetime, uploads oldest first, retries while MLflow is
unreachable, and exits after ``idle_seconds`` with nothing pending.

``nbmlops sync`` / ``%mlops sync`` call :func:`drain`: it uploads in the foreground when it can
take the lock, else it waits for the background process. :func:`status` reads it all back.

Records MLflow refuses as invalid, and malformed ones, are moved to ``failed/`` after
:data:`MAX_ATTEMPTS` tries (with ``<name>.error.txt`` beside them) so they never block the
queue; :func:`retry_failed` puts them back.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from nbmlops import config, store
from nbmlops.exceptions import NbmlopsError, RecordRejected, SpoolError
from nbmlops.sync.spool import Spool, entry_age, record_id_of

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger("nbmlops.sync.worker")

IDLE_SECONDS = 60.0  # NBMLOPS_SYNC_IDLE overrides
POLL_SECONDS = 0.2  # how soon an idle process sees a new record
BACKOFF_START = 0.5
BACKOFF_MAX = 15.0  # NBMLOPS_SYNC_MAX_BACKOFF overrides
MAX_ATTEMPTS = 3  # for a record MLflow refuses: then it goes to failed/
RECEIPT_MAX_AGE = 7 * 24 * 3600.0
LOCK_WAIT = 2.0  # a starting process may meet a kernel's probe holding the lock for a moment
LOG_MAX_BYTES = 1 << 20
STATE_INTERVAL = 1.0  # seconds between two writes of the uploaded count during a pass
# A kernel amends a record within milliseconds once git answers; past this the kernel is
# taken to be gone and the record goes up without its git state.
GIT_HOLD_SECONDS = 10.0



@dataclass
class SyncReport:
    """Outcome of :func:`drain`.

    ``uploaded``: records now in MLflow; ``failed``: records refused for good (moved to
    ``failed/``); ``waiting``: records still pending; ``errors``: one line per problem.
    """

    uploaded: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)
    background: bool = False  # a background sync process did the work

    @property
    def ok(self) -> bool:
        return not (self.failed or self.waiting or self.errors)

    def summary(self) -> str:
        text = f"{self.uploaded} uploaded, {self.failed} failed, {self.waiting} waiting"
        if self.background:
            text += " (background sync process)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


SpoolLike = Spool | str | os.PathLike[str]


def as_spool(spool: SpoolLike) -> Spool:
    """A :class:`Spool` from a spool or its folder."""
    return spool if isinstance(spool, Spool) else Spool(spool)


# --- the lock ------------------------------------------------------------------------------


def _try_lock(spool: Spool, wait: float) -> filelock.BaseFileLock | None:
    """The spool's lock if we get it within ``wait`` seconds."""
    lock = filelock.FileLock(str(spool.lock_file))
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        return None
    return lock


def is_running(spool: Spool) -> bool:
    """Whether a sync process (or a foreground drain) holds the spool's lock."""
    if not spool.root.is_dir():
        return False
    lock = _try_lock(spool, 0)
    if lock is None:
        return True
    lock.release()
    return False


# --- the kernel's side ---------------------------------------------------------------------


def ensure_running(spool_root: Path) -> bool:
    """Start a detached sync process for the spool unless one runs; True when started.

    Called by the kernel after each spooled record, so it stays cheap and never imports
    mlflow. A process that is just exiting re-checks ``pending`` after letting the lock go,
    so a record spooled while it left is not stranded.
    """
    spool = Spool(spool_root)
    try:
        if is_running(spool):
            return False
    except OSError:
        spool.ensure()  # a missing folder; an unwritable one raises SpoolError
    return _spawn(spool)


def _spawn(spool: Spool) -> bool:
    env = dict(os.environ)
    here = Path(__file__).resolve().parent.parent
    # Run the same nbmlops as the caller, also from a source checkout that is not installed.
    # mutation-equivalent: the folder names and the variable set here; the tests' nbmlops is
    # installed (editable), so the child imports the same code without PYTHONPATH.
    if here.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(here), env.get("PYTHONPATH")]))
    try:
        spool.root.mkdir(parents=True, exist_ok=True)
        with open(spool.log_file, "ab") as err:
            # DEVNULL out: a caller reading our output must not wait for this process to exit
            # (tests/test_sync.py). mutation-equivalent: stdin None (it never reads its
            # input); env None (the same environment but PYTHONPATH, see above); close_fds
            # (True is Popen's default, and Python's own descriptors are not inheritable).
            proc = subprocess.Popen(
                [sys.executable, "-m", "nbmlops.sync.worker", "--spool", str(spool.root)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                close_fds=True,
                # Its own session: not killed with the kernel's process group, no terminal.
                start_new_session=True,
            )
    except OSError as e:
        raise SpoolError(f"cannot start the sync process for {spool.root}: {e}") from None
    # The kernel never waits for it; a daemon thread reaps it so it leaves no zombie.
    # mutation-equivalent: the thread's name (only a debugger shows it).
    threading.Thread(target=proc.wait, name="nbmlops-sync-reaper", daemon=True).start()
    return True


# --- uploading -----------------------------------------------------------------------------


def _one_line(error: BaseException) -> str:
    """``Type(CODE): message`` on one line, at most 500 characters."""
    code = getattr(error, "error_code", None)
    kind = f"{type(error).__name__}({code})" if isinstance(code, str) else type(error).__name__
    text = f"{kind}: {' '.join(str(error).split())}"
    return text if len(text) <= 500 else text[:497] + "..."


#: State keys only a pass writes: a state holding one but no "tried" list predates the list.
PASS_KEYS = frozenset({"uploaded_total", "last_error_at", "attempts"})


class _Uploader:
    """Uploads entries of one spool; shared by :func:`serve` and :func:`drain`."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self.held: set[str] = set()  # entries already logged as held for their git state
        # A store refused this process's credentials: they come from its environment, so
        # only a new process (or a foreground sync with fixed variables) can do better.
        self.refused = False  # mutation-equivalent: None (as false)
        # Uploads not yet counted in the spool's state: it is written about once a second
        # during a pass, not after each record (a write costs two fsyncs, about what one
        # commit of the store costs).
        self.unnoted: list[tuple[str, str | None]] = []
        self.noted_at = time.monotonic()

    def _note_tries(self, entries: list[Path]) -> set[str] | None:
        """Note in the spool's state, before a pass begins, every record it may try; return
        the records an earlier pass may have begun (None when the state predates the list).

        A record no pass ever began has no run in MLflow, so its upload skips the search
        for one (a query per record: a round trip to a server). One write
        per pass, not per record. Ids leave the list when their upload is counted, or when
        their entry is neither pending nor failed any more.
        """
        try:
            state = self.spool.state()
            before = state.get("tried")
            # Without the list, only a state no pass wrote yet (a new spool) is known.
            known = before is not None or not state.keys() & PASS_KEYS
            earlier = {str(i) for i in before or ()}
            present = {record_id_of(e) for e in [*entries, *self.spool.failed_entries()]}
            now = {record_id_of(e) for e in entries}
            self.spool.set_state(tried=sorted((earlier & present) | now))
        except OSError as e:  # a broken state file: every record is searched for, as before
            log.warning("could not note the records of this pass: %s", _one_line(e))
            return None
        return earlier if known else None

    def client_for(self, uri: str) -> MlflowClient:
        return store.client(uri, create=True)  # the first record bound for a store creates it

    def run_pass(
        self, skip: set[str] | None = None, hold_git: float = 0.0
    ) -> tuple[int, list[str], set[str]]:
        """Try each pending entry once, oldest first.

        ``hold_git``: leave a record whose kernel is still reading git (``git_pending``) for
        later while it is younger than this many seconds.

        Returns ``(uploaded, errors, failing URIs)``. After a retryable error for a tracking
        URI the other records for that URI wait for the next pass: they would fail the same
        way, each after a timeout, while records for other stores go on.
        """
        uploaded, failing = 0, set(skip or ())
        errors: list[str] = []
        # Experiment ids, for this pass only. (mutation-equivalent: no cache, here or passed
        # on: each record looks its experiment up, one round trip more.)
        experiments: dict[tuple[str, str], str] = {}
        entries = self.spool.entries()
        tried = self._note_tries(entries)
        try:
            for entry in entries:
                if self._upload_one(entry, hold_git, experiments, failing, errors, tried):
                    uploaded += 1
        finally:
            self._note_uploads()
        if not failing and self.spool.state().get("failing"):
            self.spool.set_state(failing=False)
        return uploaded, errors, failing

    def _upload_one(
        self,
        entry: Path,
        hold_git: float,
        experiments: dict[tuple[str, str], str],
        failing: set[str],
        errors: list[str],
        tried: set[str] | None = None,
    ) -> bool:
        """Upload one entry of a pass unless it must wait; True when MLflow has it now.

        ``tried``: the records whose upload an earlier pass began (None: not known).
        """
        from nbmlops.sync.upload import credentials_refused, is_permanent, upload

        try:
            record = self.spool.load(entry)
        except FileNotFoundError:
            return False  # completed by someone else meanwhile
        except KeyError:
            errors.append(self._failed(entry, RecordRejected("no record.json in the entry")))
            return False
        except Exception as e:
            errors.append(self._failed(entry, RecordRejected(f"unreadable record: {e}")))
            return False
        if record.tracking_uri in failing:
            return False
        # mutation-equivalent: <= (an age never equals the hold).
        if record.environment.git_pending and entry_age(entry) < hold_git:
            if entry.name not in self.held:
                self.held.add(entry.name)
                log.info("holding %s until its kernel has read git", entry.name)
            return False
        started = time.perf_counter()
        try:
            with self.spool.unpacked(entry) as folder:
                first_try = tried is not None and record_id_of(entry) not in tried
                receipt = upload(record, folder, self.client_for, experiments, first_try)
            self.spool.complete(entry, receipt)
        except Exception as e:
            # Refused credentials: only a server with authentication tells (the auth server
            # tests of tests/test_shared_server.py, outside `make mutate`).
            refused = credentials_refused(e, record.tracking_uri)
            self.refused = self.refused or refused is not None
            errors.append(self._failed(entry, e, permanent=is_permanent(e), message=refused))
            if not is_permanent(e):
                failing.add(record.tracking_uri)
            return False
        log.info(  # mutation-equivalent: timing (the milliseconds it took)
            "uploaded %s -> run %s in %.0f ms",
            entry.name,
            receipt["run_id"],
            (time.perf_counter() - started) * 1000,
        )
        self.unnoted.append((record_id_of(entry), receipt.get("url")))
        # mutation-equivalent: timing (counted now or at the end of the pass).
        if time.monotonic() - self.noted_at >= STATE_INTERVAL:
            self._note_uploads()
        return True

    def _note_uploads(self) -> None:
        """Count the uploads since the last time in the spool's state (what status shows)."""
        self.noted_at = time.monotonic()
        if not self.unnoted:
            return
        done, self.unnoted = self.unnoted, []
        state = self.spool.state()
        attempts = state.get("attempts") or {}
        for record_id, _ in done:
            attempts.pop(record_id, None)
        uploaded = {record_id for record_id, _ in done}
        self.spool.set_state(
            last_success_at=time.time(),
            last_run_url=done[-1][1],
            uploaded_total=int(state.get("uploaded_total", 0)) + len(done),
            attempts=attempts,
            tried=[i for i in state.get("tried") or () if i not in uploaded],
        )

    def _failed(
        self, entry: Path, error: BaseException, permanent: bool = True, message: str | None = None
    ) -> str:
        """Record a failed upload in the spool's state; ``message`` replaces the error's own
        line when it is about the store rather than the record."""
        message = message or f"{entry.name}: {_one_line(error)}"
        log.warning("upload failed (%s): %s", "permanent" if permanent else "will retry", message)
        state = self.spool.state()
        attempts = state.get("attempts") or {}
        values: dict[str, Any] = {
            "last_error": message,
            "last_error_at": time.time(),
            "failing_record": entry.name,
        }
        if permanent:
            n = attempts[record_id_of(entry)] = int(attempts.get(record_id_of(entry), 0)) + 1
            if n >= MAX_ATTEMPTS:
                # mutation-equivalent: pop without a default; the key was set just above.
                attempts.pop(record_id_of(entry), None)
                moved = self.spool.fail(entry, message, n)
                values["last_failed"] = moved.name
                message += f" (moved to {moved})"
            values["attempts"] = attempts
        else:
            # When the store last failed a try: a record refused meanwhile says nothing
            # about the store, and "failing" stays set until the end of the pass.
            values.update(failing=True, failing_at=values["last_error_at"])
        self.spool.set_state(**values)
        return message


def retry_failed(spool: SpoolLike) -> int:
    """Move records from ``failed/`` back to ``pending/``; returns how many."""
    return as_spool(spool).retry_failed()


def clean_receipts(spool: Spool, max_age: float = RECEIPT_MAX_AGE) -> int:
    """Delete receipts in ``done/`` older than ``max_age`` seconds; returns how many."""
    return spool.clean_receipts(max_age)


# --- the background process ----------------------------------------------------------------


def next_backoff(previous: float, cap: float) -> float:
    """Seconds to wait after a failed pass: doubling from ``BACKOFF_START``, at most ``cap``
    (an outage of hours must not leave minutes between the tries once the store is back)."""
    return min(max(previous * 2, BACKOFF_START), cap)


def serve(spool: SpoolLike, idle_seconds: float | None = None) -> int:
    """Upload until nothing has been pending for ``idle_seconds``; the process's main loop.

    Returns at once (0) when another process holds the spool's lock.
    """
    # Mutants marked "timing" below change only how long the loop waits or how often it
    # looks (back-off, polling, idle time, the cleaning schedule): the tests do not time it.
    spool = as_spool(spool)
    idle = idle_seconds if idle_seconds is not None else (
        config.env_seconds("NBMLOPS_SYNC_IDLE", IDLE_SECONDS))
    # mutation-equivalent: timing (the variable's name: the default cap instead).
    max_backoff = config.env_seconds("NBMLOPS_SYNC_MAX_BACKOFF", BACKOFF_MAX)
    spool.ensure()
    lock = _try_lock(spool, LOCK_WAIT)
    if lock is None:
        log.info("another sync process serves %s", spool.root)
        return 0
    store.apply_fail_fast()  # our own retry loop must notice an outage within seconds
    uploader = _Uploader(spool)
    spool.set_state(pid=os.getpid(), started_at=time.time())
    log.info("sync process %d serving %s (idle exit after %.0f s)", os.getpid(), spool.root, idle)
    backoff = 0.0  # mutation-equivalent: timing (1.0: the first back-off is 1 s, not 0.5)
    # mutation-equivalent: timing (- idle: with nothing pending at the start it leaves at once)
    idle_until = time.monotonic() + idle
    next_clean = 0.0  # mutation-equivalent: 1.0 or >= as >: the monotonic clock is far past
    try:
        while True:
            if time.monotonic() >= next_clean:
                clean_receipts(spool)
                spool.clean_tmp()
                # mutation-equivalent: timing (cleaning on every turn removes the same receipts)
                next_clean = time.monotonic() + 3600
            if spool.entries():
                try:
                    uploaded, errors, _ = uploader.run_pass(hold_git=GIT_HOLD_SECONDS)
                except Exception as e:  # e.g. a full disk writing the state: keep serving
                    log.exception("sync pass failed")
                    # mutation-equivalent: timing (1 uploaded: no back-off); only the errors'
                    # truth counts here (_one_line(None)).
                    uploaded, errors = 0, [_one_line(e)]
                # mutation-equivalent: timing (- idle: it stays no longer after its last work;
                # test_sync.py's idle-process test sees that in the detached process).
                idle_until = time.monotonic() + idle
                # Only a server that refuses the credentials gets here (tests/test_shared_server.py,
                # which starts one with basic auth: outside `make mutate`).
                if uploader.refused:
                    log.warning("exiting: the credentials in this process's environment were "
                                "refused; the records wait for a sync with fixed ones")
                    break
                # mutation-equivalent: timing, each way of changing these conditions and the
                # back-off reset: it backs off, retries at once or polls, at other moments.
                if errors and not uploaded:
                    backoff = next_backoff(backoff, max_backoff)
                    _sleep_unless_woken(spool, backoff)
                elif not errors:
                    backoff = 0.0
                    if not uploaded:  # only records held for their git state: poll
                        time.sleep(POLL_SECONDS)
                continue
            # mutation-equivalent: timing (<=; break for continue: it leaves after one poll).
            if time.monotonic() < idle_until:
                time.sleep(POLL_SECONDS)
                continue
            # Idle: let go, then look once more, so a record spooled while the kernel saw the
            # lock still held is not stranded.
            lock.release()
            if not spool.entries():
                break
            relock = _try_lock(spool, 0)  # mutation-equivalent: timing (waiting 1 s for it)
            if relock is None:
                break  # a newly started process has it
            lock = relock
            # mutation-equivalent: timing (- idle), None: the record it found is uploaded
            # first, which sets it again.
            idle_until = time.monotonic() + idle
    finally:
        if lock.is_locked:
            lock.release()
        log.info("sync process %d exits", os.getpid())
    return 0


@contextlib.contextmanager
def serving(spool: SpoolLike) -> Iterator[bool]:
    """Serve the spool from a thread of this process while the block runs; True when it does.

    ``nbmlops run`` serves its job's spool while the notebook runs: it has opened MLflow for
    the job's run already, so the kernel finds the lock held and starts no sync process that
    would import mlflow and open the store again (some 5 s of CPU, then a minute idle). The
    records upload as the cells end, as they would in that process. False, and nothing
    started, when another process serves the spool (it goes on doing so).
    """
    spool = as_spool(spool)
    try:
        _check_spool(spool)
        spool.ensure()
        lock = _try_lock(spool, 0)
    except (OSError, NbmlopsError):  # a broken spool: the kernel says so, as without this
        lock = None
    if lock is None:
        yield False
        return
    stop = threading.Event()
    thread = threading.Thread(target=_serve_until, args=(spool, stop), name="nbmlops-sync",
                              daemon=True)
    thread.start()
    try:
        yield True
    finally:
        stop.set()
        thread.join()
        lock.release()


def _serve_until(spool: Spool, stop: threading.Event) -> None:
    """:func:`serve`'s loop, in a thread, until ``stop`` is set (the caller holds the lock)."""
    uploader = _Uploader(spool)
    backoff = 0.0
    with store.fail_fast(), _logging_to(spool):
        while not stop.is_set():
            if not spool.entries():
                stop.wait(POLL_SECONDS)
                continue
            try:
                uploaded, errors, _ = uploader.run_pass(hold_git=GIT_HOLD_SECONDS)
            except Exception as e:  # e.g. a full disk writing the state: the drain after says
                log.warning("sync pass failed: %s", _one_line(e))
                uploaded, errors = 0, [_one_line(e)]
            if uploader.refused:
                return
            if errors and not uploaded:
                backoff = next_backoff(backoff, BACKOFF_MAX)
                stop.wait(backoff)
            elif not errors:
                backoff = 0.0
                if not uploaded:  # only records held for their git state: poll
                    stop.wait(POLL_SECONDS)


LOG_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"


@contextlib.contextmanager
def _logging_to(spool: Spool) -> Iterator[None]:
    """What this thread says goes to the spool's log, as a sync process's does."""
    try:
        handler = logging.FileHandler(spool.log_file, encoding="utf-8")
    except OSError:
        yield
        return
    me = threading.get_ident()
    handler.addFilter(lambda record: record.thread == me)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    level = log.level
    log.addHandler(handler)
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        handler.close()


# --- the foreground ------------------------------------------------------------------------


# mutation-equivalent: timing (the default timeout, 61 s).
def drain(spool: SpoolLike, timeout: float = 60.0) -> SyncReport:
    """Upload everything pending now, or wait for the background process that does.

    In the foreground each record is tried once (no endless retry); the report says what
    failed and why. When a background process holds the lock, wait until nothing is pending
    or its state shows it failing, at most ``timeout`` seconds.
    """
    spool = as_spool(spool)
    _check_spool(spool)
    spool.ensure()
    lock = _try_lock(spool, 0.5)
    if lock is None:
        return _wait_for_background(spool, timeout)
    report = SyncReport()
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    try:
        with store.fail_fast():  # drain may run in a user's process
            uploader = _Uploader(spool)
            failing: set[str] = set()
            # Keep going while new records arrive: with the lock held here, no background
            # process starts for them.
            while time.monotonic() < deadline:
                fresh = [e for e in spool.entries() if e.name not in seen]
                if not fresh:
                    break
                seen.update(e.name for e in fresh)
                uploaded, errors, failing = uploader.run_pass(skip=failing)
                report.uploaded += uploaded
                report.errors.extend(errors)
    finally:
        lock.release()
    report.failed = sum(1 for n in seen if (spool.failed / n).exists())
    remaining = spool.entries()
    report.waiting = len(remaining)
    if any(e.name not in seen for e in remaining):
        ensure_running(spool.root)  # arrived after our last look
    return report


def _sleep_unless_woken(spool: Spool, seconds: float) -> None:
    """The sync process's wait between two tries while the store is unreachable; a user who
    runs ``nbmlops sync`` meanwhile wakes it (the store may be back)."""
    started = time.time()
    # mutation-equivalent: timing (- seconds, <=: a wait cut short or a poll longer).
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if spool.woken_since(started):
            return
        time.sleep(POLL_SECONDS)


def _wait_for_background(spool: Spool, timeout: float) -> SyncReport:
    initial = {e.name for e in spool.entries()}
    deadline = time.monotonic() + timeout
    asked = time.time()
    spool.wake()  # a process backing off after an outage tries again now
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:  # mutation-equivalent: <= (a clock never equal)
        if not spool.entries():
            break
        if not is_running(spool):  # it exited meanwhile: finish in the foreground
            # mutation-equivalent: timing (the foreground's time left bounds only a drain
            # that records keep arriving for).
            return drain(spool, max(deadline - time.monotonic(), 0.0))
        state = spool.state()
        # Only a failure of a try made since we asked says the store is still down.
        # (mutation-equivalent: "or 1" for a failing_at always written with failing; > for >=.)
        if state.get("failing") and float(state.get("failing_at") or 0) >= asked:
            break
        time.sleep(POLL_SECONDS)
    remaining = spool.entries()
    report = SyncReport(background=True, waiting=len(remaining))
    left = {e.name for e in remaining}
    for name in initial - left:
        if (spool.failed / name).exists():
            report.failed += 1
        elif spool.receipt(record_id_of(Path(name))) is not None:
            report.uploaded += 1
    if state.get("failing") and remaining:
        report.errors.append(f"background sync is retrying: {state.get('last_error')}")
    elif remaining:
        report.errors.append(f"timed out after {timeout:.0f} s with {len(remaining)} pending")
    return report


# --- status --------------------------------------------------------------------------------


def _check_spool(spool: Spool) -> None:
    if spool.root.exists() and not spool.root.is_dir():
        raise SpoolError(f"the spool {spool.root} is not a folder")


def status(spool: SpoolLike) -> dict[str, Any]:
    """Pending count and age, whether a sync process runs, last error and success, failed.

    Cheap and free of mlflow: ``%mlops status`` calls it in the kernel.
    """
    spool = as_spool(spool)
    _check_spool(spool)
    entries = spool.entries()
    oldest = None
    if entries:
        oldest = round(entry_age(entries[0]), 3)
    state = spool.state()
    unreadable = None
    try:
        running = is_running(spool)
    except OSError as e:  # a read-only spool: its lock cannot be probed, the rest is read
        running = False
        unreadable = (f"cannot tell whether a sync process runs: the spool {spool.root} is not "
                      f"writable ({e.strerror or e})")
    failed = len(spool.failed_entries())
    return {
        "spool": str(spool.root),
        "pending": len(entries),
        "oldest_pending_age_s": oldest,
        "running": running,
        "pid": state.get("pid") if running else None,
        "failing": bool(state.get("failing")) and bool(entries),
        "last_error": state.get("last_error"),
        "last_error_at": state.get("last_error_at"),
        "last_success_at": state.get("last_success_at"),
        "last_run_url": state.get("last_run_url"),
        "uploaded_total": state.get("uploaded_total", 0),
        "failed": failed,
        "log": str(spool.log_file),
        "advice": advice(state.get("last_error")) if entries else None,
        "unreadable": unreadable,
    }


def advice(error: str | None) -> str | None:
    """What to do about a store MLflow itself refuses to open, from the sync error."""
    if not error:
        return None
    if "_alembic_tmp_" in error or ("already exists" in error and "table" in error):
        return ("the store was left half-built (an interrupted migration): move its file "
                "aside, then `nbmlops sync` builds a new one and uploads what waits")
    if "out-of-date database schema" in error:
        return ("the store was made by another MLflow version: back it up, then "
                "`mlflow db upgrade sqlite:///<its file>` (or move it aside for a new one), "
                "then `nbmlops sync`")
    return None


def _ago(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
    seconds = time.time() - timestamp
    if seconds < -FUTURE_SLACK_S:  # the clock went back since, or was wrong then
        return f"{when} (in the future: clock changed?)"
    return f"{when} ({_duration(seconds)} ago)"


#: A time this far ahead of the clock is a clock that changed, not a rounding.
FUTURE_SLACK_S = 2.0


def _duration(seconds: float) -> str:
    """A length of time in the unit that fits it: ``12 s``, ``10 min``, ``3 h``, ``800 days``."""
    seconds = max(seconds, 0.0)
    for unit, size, up_to in (("s", 1, 120), ("min", 60, 120 * 60), ("h", 3600, 48 * 3600)):
        if seconds < up_to:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds / 86400:.0f} days"


def _oldest(age: float | None) -> str:
    if age is None:
        return ""
    if age < -FUTURE_SLACK_S:
        return " (oldest: in the future, clock changed?)"
    return f" (oldest {_duration(age)})"


def format_status(info: dict[str, Any]) -> str:
    """:func:`status` as a few lines of text for people."""
    age = info["oldest_pending_age_s"]
    running = f"running (pid {info['pid']})" if info["running"] else "not running"
    if info.get("unreadable"):
        running = "unknown"
    failed = info["failed"]
    lines = [
        f"spool:        {info['spool']}",
        f"pending:      {info['pending']}" + _oldest(age),
        f"sync process: {running}",
        f"last upload:  {_ago(info['last_success_at'])}",
        f"failed:       {failed}" + (" (nbmlops sync --retry-failed)" if failed else ""),
    ]
    if info["last_error"]:
        now = " (failing now)" if info["failing"] else ""
        lines.append(f"last error:   {info['last_error']}{now}")
        lines.append(f"              at {_ago(info['last_error_at'])}; log: {info['log']}")
    if info.get("advice"):
        lines.append(f"what to do:   {info['advice']}")
    if info.get("unreadable"):
        lines.append(f"note:         {info['unreadable']}")
    return "\n".join(lines)


# --- python -m nbmlops.sync.worker ----------------------------------------------------------------


def _trim_log(path: Path) -> None:
    """Keep the log's tail; stderr is this file opened for append, so rewriting is safe."""
    with contextlib.suppress(OSError):
        if path.stat().st_size > LOG_MAX_BYTES:
            tail = path.read_bytes()[-LOG_MAX_BYTES // 4 :]
            path.write_bytes(tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nbmlops.sync.worker", description="Upload a spool's records to MLflow."
    )
    # mutation-equivalent: no type=Path (Spool takes a str too), no default=None (the default).
    parser.add_argument("--spool", required=True, type=Path, help="the spool folder")
    parser.add_argument(
        "--idle", type=float, default=None, help="exit after this many seconds with nothing pending"
    )
    args = parser.parse_args(argv)
    _trim_log(Spool(args.spool).log_file)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,  # mutation-equivalent: None or none, logging's default is stderr
        format=LOG_FORMAT,
    )
    try:
        return serve(Spool(args.spool), args.idle)
    except NbmlopsError as e:
        log.error("%s", e)  # mutation-equivalent: log.error(e) (a message without arguments)
        return 2


if __name__ == "__main__":
    sys.exit(main())
