"""nbmlops: notebook work to real MLOps, without leaving the notebook.

``%load_ext nbmlops`` registers ``%%track`` and ``%mlops``; nothing heavy is imported here.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_ipython_extension", "log_metric"]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics once per shell (loading twice is harmless)."""
    from nbmlops.magics import TrackMagics

    if "TrackMagics" not in ipython.magics_manager.registry:
        ipython.register_magics(TrackMagics)
    _resume_sync()


def _resume_sync() -> None:
    # Records left by a kernel that died, or a sync process that was stopped, go up now.
    from nbmlops import config, sync
    from nbmlops.spool import Spool

    try:
        root = config.project_root()
        spool = Spool(config.spool_dir(root))
        if config.autosync(root) and spool.entries():
            sync.ensure_running(spool.root)
    except Exception:
        pass


def log_metric(name: str, value: Any, step: int | None = None) -> None:
    """Record ``value`` for metric ``name`` in the ``%%track`` cell that is running.

    Called in a loop, each call adds a point; without ``step`` the steps count 0, 1, 2, ...
    """
    from nbmlops.tracker import log_metric as _log_metric

    _log_metric(name, value, step)
