"""The one-line status under a tracked cell, updated in place once MLflow has the run.

The sync process leaves a receipt in the spool when it has uploaded a record; one daemon
thread per kernel watches for the receipts of the cells it showed and updates their lines.
"""

from __future__ import annotations

import html
import threading
import time
from typing import Any

from nbmlops import store
from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool

#: How long a status line keeps waiting for its receipt before it stops watching.
WATCH_SECONDS = 600.0
POLL_SECONDS = 0.25


#: Where a status line keeps, in its output's metadata, what names its record: a notebook
#: saved before the upload (a papermill output) can be given its run later.
METADATA_KEY = "nbmlops"


class StatusLine:
    """``nbmlops ▸ train · 3 params · 2 metrics · 1 dataset · data 3f9a1c2e · waiting to sync
    · record 5be1a0c94f2e``, then ``... · synced: run 9d08ede9 in notebooks/churn.ipynb``."""

    def __init__(self, record: RunRecord) -> None:
        self.facts = facts_of(record)
        self.record_id = record.record_id
        self.receipt: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return render(self.facts, self.record_id, self.receipt)[0]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        plain, markup = render(self.facts, self.record_id, self.receipt)
        metadata = {"record_id": self.record_id, "facts": self.facts}
        if self.receipt is not None:
            metadata["run_id"] = self.receipt["run_id"]
        return {"text/plain": plain, "text/html": markup}, {METADATA_KEY: metadata}

    def display(self) -> Any:
        """Show the line under the cell; returns the display handle (None outside IPython)."""
        from IPython.display import display

        return display(self, display_id=True)


def facts_of(record: RunRecord) -> list[str]:
    r = record
    facts = [
        f"{r.run_name}" + ("" if r.outcome.status == "FINISHED" else f" ({r.outcome.status})"),
        _count(len(r.params), "param"),
        _count(len({m.name for m in r.metrics}), "metric"),
        _count(len(r.datasets), "dataset"),
        f"code {r.code_sha[:8]}",
    ]
    if r.datasets:
        facts.append(f"data {r.datasets[0].fingerprint[:8]}")
    if r.models:
        facts.append("model " + ", ".join(m.name for m in r.models))
    if r.tags.get(store.SLICE_TAG) == "stale":
        reasons = r.tags.get(store.SLICE_REASONS_TAG, "").splitlines()
        facts.append("⚠ stale: " + "; ".join(reasons))
    return facts


def render(
    facts: list[str], record_id: str, receipt: dict[str, Any] | None
) -> tuple[str, str]:
    """The line as text and as HTML: its facts, then where the run is (or which record waits:
    ``nbmlops lineage RECORD`` finds its run once it is uploaded)."""
    if receipt is None:
        state, url = f"waiting to sync · record {record_id[:RECORD_SHOWN]}", None
    else:
        state = f"synced: run {receipt['run_id'][:8]} in {receipt['experiment']}"
        for model in receipt.get("models") or ():
            state += " · " + _registered(model)
        url = receipt.get("url")
    plain = " · ".join(["nbmlops ▸ " + facts[0], *facts[1:], state]) + (f" {url}" if url else "")
    shown = html.escape(state)
    # A notebook keeps its outputs: the link that outlives the MLflow UI's port, if any.
    href = (receipt or {}).get("link") or url
    if href:
        shown = f'<a href="{html.escape(href)}" target="_blank">{shown}</a>'
    markup = (
        '<div class="nbmlops-status" style="font-family: var(--jp-code-font-family, '
        'monospace); font-size: 0.85em; opacity: 0.8">'
        f"nbmlops ▸ {' · '.join(html.escape(f) for f in facts)} · {shown}</div>"
    )
    return plain, markup


def _registered(model: dict[str, Any]) -> str:
    """``cancer v3 challenger``; a version whose run ended before the challenger's says it
    stays, one without a signature says why."""
    text = f"{model['name']} v{model['version']}"
    stays = model.get("challenger_stays")
    text += (f" (challenger stays v{stays}: its run ended later)" if stays else " challenger")
    if model.get("no_signature"):
        text += f" · ⚠ no signature: {model['no_signature']}"
    return text


#: Characters of a record id a status line shows: enough to find it, short enough to read.
RECORD_SHOWN = 12


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
