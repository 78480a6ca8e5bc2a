"""MLflow at one click: the UI a run's "Open in MLflow" goes to.

A configured address (``ui_url``, ``NBMLOPS_UI_URL``) or a tracking server wins. For a local
store (the embedded sqlite default) the server extension starts ``mlflow ui`` on a free
local port the first time it is asked, once per store, and stops it when Jupyter stops. It
notes the address in the project's spool folder so the kernel's status lines link there too.
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
from dataclasses import dataclass
from pathlib import Path

from nbmlops import config, store
from nbmlops.exceptions import QueryError, StoreNotFound
from nbmlops.redact import strip_credentials

START_TIMEOUT_S = 90.0


@dataclass
class ManagedUI:
    tracking_uri: str
    url: str
    process: subprocess.Popen[bytes]
    marker: Path  # the spool's note of the address

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


_managed: dict[str, ManagedUI] = {}
_lock = threading.Lock()


def ui_for(root: Path, tracking_uri: str, ui_url: str | None,
           link: str | None = None) -> str:
    """The MLflow UI's base address for a notebook's store, starting one when needed.

    ``link``: the Jupyter server's lasting route to this store's UI, noted beside the address
    for the links status lines keep (:func:`nbmlops.config.lasting_ui_url`)."""
    if ui_url:
        return ui_url
    if not store.sqlite_path(tracking_uri) and not tracking_uri.startswith("file:"):
        raise QueryError(f"no MLflow UI known for {strip_credentials(tracking_uri)}: set "
                         "ui_url in [tool.nbmlops] or NBMLOPS_UI_URL")
    if not store.exists(tracking_uri):
        raise StoreNotFound("no run has been uploaded yet: run a %%track cell first")
    with _lock:
        running = _managed.get(tracking_uri)
        if running is None or not running.alive:
            running = _start(root, tracking_uri, link)
            _managed[tracking_uri] = running
    return running.url


def _start(root: Path, tracking_uri: str, link: str | None) -> ManagedUI:
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
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(process)
            raise QueryError(f"mlflow ui did not start (its log: {spool / 'mlflow-ui.log'})")
        time.sleep(0.3)
    marker = spool / config.MANAGED_UI_FILE
    marker.write_text(json.dumps({"tracking_uri": tracking_uri, "url": url,
                                  "pid": process.pid, "link": link}))
    return ManagedUI(tracking_uri, url, process, marker)


@atexit.register
def stop_all() -> None:
    """Stop every UI started here (Jupyter is stopping)."""
    with _lock:
        for ui in _managed.values():
            _stop(ui.process)
            with contextlib.suppress(OSError):
                ui.marker.unlink()
        _managed.clear()


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
