"""The one-line status under a tracked cell, updated in place once MLflow has the run.

The sync process leaves a receipt in the spool when it has uploaded a record; one daemon
thread per kernel watches for the receipts of the cells it showed and updates their lines.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool

#: How long a status line keeps waiting for its receipt before it stops watching.
WATCH_SECONDS = 600.0
POLL_SECONDS = 0.25


class StatusLine:
    """``nbmlops ▸ train · 3 params · 2 metrics · 1 dataset · data 3f9a1c2e · waiting to sync``"""

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self.receipt: dict[str, Any] | None = None

    def _facts(self) -> list[str]:
        r = self.record
        facts = [
            f"{r.run_name}" + ("" if r.outcome.status == "FINISHED" else f" ({r.outcome.status})"),
            _count(len(r.params), "param"),
            _count(len({m.name for m in r.metrics}), "metric"),
            _count(len(r.datasets), "dataset"),
            f"code {r.code_sha[:8]}",
        ]
        if r.datasets:
            facts.append(f"data {r.datasets[0].fingerprint[:8]}")
        return facts

    def _where(self) -> tuple[str, str | None]:
        if self.receipt is None:
            return "waiting to sync", None
        run = f"run {self.receipt['run_id'][:8]} in {self.receipt['experiment']}"
        return f"synced: {run}", self.receipt.get("url")

    def __repr__(self) -> str:
        state, url = self._where()
        return " · ".join(["nbmlops ▸ " + self._facts()[0], *self._facts()[1:], state]) + (
            f" {url}" if url else ""
        )

    def _repr_html_(self) -> str:
        state, url = self._where()
        if url:
            state = f'<a href="{html.escape(url)}" target="_blank">{html.escape(state)}</a>'
        else:
            state = html.escape(state)
        text = " · ".join(html.escape(f) for f in self._facts())
        return (
            '<div class="nbmlops-status" style="font-family: var(--jp-code-font-family, '
            'monospace); font-size: 0.85em; opacity: 0.8">'
            f"nbmlops ▸ {text} · {state}</div>"
        )

    def display(self) -> Any:
        """Show the line under the cell; returns the display handle (None outside IPython)."""
        from IPython.display import display

        return display(self, display_id=True)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class ReceiptWatcher:
    """Updates status lines once the sync process has written their records' receipts."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._waiting: dict[str, tuple[StatusLine, Any, float]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, record_id: str, line: StatusLine, handle: Any) -> None:
        with self._lock:
            self._waiting[record_id] = (line, handle, time.monotonic() + WATCH_SECONDS)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="nbmlops-status", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(POLL_SECONDS)
            with self._lock:
                waiting = list(self._waiting.items())
            if not waiting:
                with self._lock:
                    if not self._waiting:
                        self._thread = None
                        return
                continue
            now = time.monotonic()
            for record_id, (line, handle, deadline) in waiting:
                receipt = self.spool.receipt(record_id)
                if receipt is not None:
                    line.receipt = receipt
                    handle.update(line)
                if receipt is not None or now > deadline:
                    with self._lock:
                        self._waiting.pop(record_id, None)


_watchers: dict[str, ReceiptWatcher] = {}


def watcher(spool: Spool) -> ReceiptWatcher:
    """The kernel's watcher for ``spool`` (one thread per spool, not per cell)."""
    key = str(spool.root)
    if key not in _watchers:
        _watchers[key] = ReceiptWatcher(spool)
    return _watchers[key]
