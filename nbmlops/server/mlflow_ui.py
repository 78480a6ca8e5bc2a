"""MLflow at one click: the UI a run's "Open in MLflow" goes to.

A configured address (``ui_url``, ``NBMLOPS_UI_URL``) or a tracking server wins. For a local
store (the embedded sqlite default) the server extension starts ``mlflow ui`` on a free
local port the first time it is asked, once per store, and stops it when Jupyter stops. The
ask is answered at once ("starting": ask again) and never waits for a start; a few UIs run at
most (the least recently used stops). A UI notes its address in the project's spool folder
once it answers, so the kernel's status lines link there too.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from nbmlops import config, store
from nbmlops.exceptions import QueryError, StoreNotFound
from nbmlops.redact import strip_credentials

START_TIMEOUT_S = 90.0

STARTING: Final = "starting"
READY: Final = "ready"


@dataclass
class ManagedUI:
    tracking_uri: str
    url: str  # where it listens once ready
    process: subprocess.Popen[bytes]
    marker: Path  # the spool's note of the address
    link: str | None
    used: float = field(default_factory=time.monotonic)  # last asked for: the cap stops the oldest
    ready: bool = False
    error: str | None = None  # why it did not start
    stopped: bool = False  # stopped here (the cap, Jupyter stopping): not a failure

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass(frozen=True)
class Answer:
    """What "Open in MLflow" gets at once: the UI's address, or that it is still starting
    (ask again)."""

    state: Literal["ready", "starting"]  # READY or STARTING
    url: str | None = None


# The lock guards the table only, never a start: `mlflow ui` takes seconds to come up, and
# each one is watched by its own thread, so a request never waits for another store's UI.
_managed: dict[str, ManagedUI] = {}
_lock = threading.Lock()


def ui_for(root: Path, tracking_uri: str, ui_url: str | None,
           link: str | None = None) -> Answer:
    """The MLflow UI for a notebook's store: its address, or STARTING while the ``mlflow ui``
    started for it (here, now, if none runs) comes up. Never waits for a start.

    ``link``: the Jupyter server's lasting route to this store's UI, noted beside the address
    for the links status lines keep (:func:`nbmlops.config.lasting_ui_url`). At most
    :func:`nbmlops.config.max_mlflow_uis` run at once: starting one more stops the least
    recently used. A start that failed is reported once; the next ask tries again."""
    with _lock:
        running = _managed.get(tracking_uri)
    if ui_url and (running is None or running.url != ui_url):
        return Answer(READY, ui_url)  # configured, a tracking server, or another server's UI
    if not store.sqlite_path(tracking_uri) and not tracking_uri.startswith("file:"):
        raise QueryError(f"no MLflow UI known for {strip_credentials(tracking_uri)}: set "
                         "ui_url in [tool.nbmlops] or NBMLOPS_UI_URL")
    if not store.exists(tracking_uri):
        raise StoreNotFound("no run has been uploaded yet: run a %%track cell first")
    evicted: list[ManagedUI] = []
    with _lock:
        running = _managed.get(tracking_uri)
        if running is not None and running.error is not None:
            del _managed[tracking_uri]
            raise QueryError(running.error)
        if running is None or (running.ready and not running.alive):
            running = _launch(root, tracking_uri, link)
            _managed[tracking_uri] = running
            evicted = _over_the_cap()
        running.used = time.monotonic()
        answer = Answer(READY, running.url) if running.ready else Answer(STARTING)
    for ui in evicted:
        threading.Thread(target=_retire, args=(ui,), daemon=True,
                         name="nbmlops-mlflow-ui-stop").start()
    return answer


def _over_the_cap() -> list[ManagedUI]:
    """The least recently used UIs beyond the cap, taken out of the table (under _lock)."""
    extra = len(_managed) - config.max_mlflow_uis()
    oldest = sorted(_managed.values(), key=lambda ui: ui.used)[:max(0, extra)]
    for ui in oldest:
        ui.stopped = True
        del _managed[ui.tracking_uri]
    return oldest


def _launch(root: Path, tracking_uri: str, link: str | None) -> ManagedUI:
    """Start ``mlflow ui`` for the store and a thread that marks it ready once it answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    spool = config.spool_dir(root)
    spool.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    # A UI to read runs: without this, MLflow starts seven job-runner processes (its GenAI
    # scorer jobs) that poll for as long as Jupyter runs. Set it to true to have them.
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    with open(spool / "mlflow-ui.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", tracking_uri,
             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=root, start_new_session=True,
        )
    ui = ManagedUI(tracking_uri, url, process, spool / config.MANAGED_UI_FILE, link)
    threading.Thread(target=_watch_start, args=(ui,), daemon=True,
                     name="nbmlops-mlflow-ui-start").start()
    return ui


def _watch_start(ui: ManagedUI) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(ui.url):
        if ui.stopped:
            return
        if not ui.alive or time.monotonic() > deadline:
            _stop(ui.process)
            ui.error = f"mlflow ui did not start (its log: {ui.marker.parent / 'mlflow-ui.log'})"
            return
        time.sleep(0.3)
    with _lock:
        if ui.stopped:
            return
        ui.marker.write_text(json.dumps({"tracking_uri": ui.tracking_uri, "url": ui.url,
                                         "pid": ui.process.pid, "link": ui.link}))
        ui.ready = True


def state(tracking_uri: str) -> str | None:
    """READY or STARTING for a UI started here for the store, None when none is."""
    with _lock:
        ui = _managed.get(tracking_uri)
    if ui is None or ui.error is not None:
        return None
    return READY if ui.ready else STARTING


@atexit.register
def stop_all() -> None:
    """Stop every UI started here (Jupyter is stopping)."""
    with _lock:
        every = list(_managed.values())
        _managed.clear()
        for ui in every:
            ui.stopped = True
    for ui in every:
        _retire(ui)


def _retire(ui: ManagedUI) -> None:
    """Stop a UI taken out of the table, and forget its address where the spool notes it."""
    _stop(ui.process)
    with _lock, contextlib.suppress(OSError, ValueError):
        if json.loads(ui.marker.read_text()).get("url") == ui.url:
            ui.marker.unlink()


def _stop(process: subprocess.Popen[bytes]) -> None:
    # mlflow ui forks its web workers into the session it leads: stop them all.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
