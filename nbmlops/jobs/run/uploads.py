"""Who uploads a job's tracked cells while ``nbmlops run`` runs its notebook: that process.

It has opened MLflow already, for the job's run, so it serves the spool from a thread
(:func:`nbmlops.sync.worker.serving`) and the kernel, finding the spool served, starts no sync
process that would import mlflow and open the store a second time. The records still upload
as each cell ends. Without a job run (the store could not be reached) the kernel's own sync
process does it, and retries, as in a notebook.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from nbmlops import config
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool

__all__ = ["retry_later", "while_running"]


def while_running(folder: Path, job_run_id: str | None) -> contextlib.AbstractContextManager[bool]:
    """Serve the job's spool in this process while the block runs, when the job has its run
    in MLflow; the value is whether this process serves it."""
    if not job_run_id:
        return contextlib.nullcontext(False)
    return worker.serving(config.spool_dir(config.project_root(folder)))


def retry_later(spool: Spool, report: worker.SyncReport, output: Path) -> None:
    """After the drain at the end of a run: records still waiting (the store went away) are
    left to a sync process that retries them, as the kernel's would have been, unless the
    project keeps its records for ``nbmlops sync`` (autosync off)."""
    if (report.waiting and not report.background
            and config.autosync(config.project_root(output.parent))):
        worker.ensure_running(spool.root)
