"""This kernel's own tracked runs: the records it spooled, and waiting for them to reach MLflow.

A tracked cell's record is uploaded by the sync process moments after the cell returns, so a
read of "my runs" right after it (the compare panel, a promotion of the version the cell
registered, :func:`nbmlops.last_run`) would miss it. :meth:`OwnRuns.settle` waits for this
kernel's own pending records only, bounded: it wakes the sync process (starting one if none
runs) and watches the spool's folder, so the kernel never imports mlflow for it and a kernel
with nothing pending pays one folder listing per spool.

With autosync off (``NBMLOPS_AUTOSYNC=0``, ``autosync = false``) records wait for ``nbmlops
sync`` as asked: nothing is started then.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbmlops import config
from nbmlops.exceptions import NbmlopsError
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool, record_id_of

__all__ = ["SETTLE_SECONDS", "OwnRuns", "of_shell", "settle"]

#: How long a read of this kernel's runs waits for their upload, at most.
SETTLE_SECONDS = 30.0


@dataclass(frozen=True)
class _Record:
    record_id: str
    spool_root: Path
    project_root: Path


@dataclass
class OwnRuns:
    """The records one shell's tracked cells spooled, oldest first."""

    records: list[_Record] = field(default_factory=list)

    def remember(self, record_id: str, spool_root: Path, project_root: Path) -> None:
        """Called by the tracker once a cell's record is in the spool."""
        self.records.append(_Record(record_id, Path(spool_root), Path(project_root)))

    def pending(self) -> list[_Record]:
        """The records still waiting in their spool (neither uploaded nor refused)."""
        waiting: list[_Record] = []
        for root in dict.fromkeys(r.spool_root for r in self.records):
            queued = {record_id_of(e) for e in Spool(root).entries()}
            waiting += [r for r in self.records if r.spool_root == root and r.record_id in queued]
        return waiting

    def settle(self, timeout: float = SETTLE_SECONDS) -> bool:
        """Wait until these records are uploaded, at most ``timeout`` seconds; True when none
        is left pending. Never raises: a read of runs goes on with what MLflow has."""
        try:
            waiting = self.pending()
            if not waiting:
                return True
            asked = time.time()
            spools = [Spool(r.spool_root) for r in {r.spool_root: r for r in waiting}.values()
                      if config.autosync(r.project_root)]
            for spool in spools:
                spool.wake()  # a process backing off tries again now
                worker.ensure_running(spool.root)
            deadline = time.monotonic() + timeout
            while spools and waiting and time.monotonic() < deadline:
                time.sleep(worker.POLL_SECONDS)
                waiting = self.pending()
                if all(_failing_since(spool, asked) for spool in spools):
                    break  # MLflow is away: show what it has, the status line says the rest
            return not waiting
        except Exception:
            return False

    def last_run_id(self, timeout: float = SETTLE_SECONDS) -> str:
        """The MLflow run id of the last tracked cell, once uploaded."""
        if not self.records:
            raise NbmlopsError("no %%track cell has run in this kernel yet")
        last = self.records[-1]
        self.settle(timeout)
        spool = Spool(last.spool_root)
        receipt = spool.receipt(last.record_id) or {}
        if receipt.get("run_id"):
            return str(receipt["run_id"])
        if any(record_id_of(e) == last.record_id for e in spool.failed_entries()):
            raise NbmlopsError(f"MLflow refused the last tracked run (see {spool.failed}); "
                               "nbmlops sync --retry-failed tries it again")
        raise NbmlopsError("the last tracked run is not uploaded yet (%mlops status says why); "
                           "%mlops sync uploads it now")


def _failing_since(spool: Spool, asked: float) -> bool:
    """Whether the sync process failed a try made after ``asked`` (the store is away)."""
    state = spool.state()
    return bool(state.get("failing")) and float(state.get("failing_at") or 0) >= asked


def of_shell(shell: Any) -> OwnRuns | None:
    """The tracked runs of ``shell`` (None: nbmlops is not loaded in it)."""
    magics = getattr(getattr(shell, "magics_manager", None), "registry", {}).get("TrackMagics")
    tracker = getattr(magics, "tracker", None)
    own = getattr(tracker, "own", None)
    return own if isinstance(own, OwnRuns) else None


def settle(shell: Any, timeout: float = SETTLE_SECONDS) -> bool:
    """:meth:`OwnRuns.settle` for ``shell``'s runs; True when nothing of it is pending."""
    own = of_shell(shell)
    return own.settle(timeout) if own is not None else True
