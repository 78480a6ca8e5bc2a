"""papermill's own command line, as nbmlops starts it for a job step or a reproduction.

``python -m nbmlops.papermill_cli ARGS`` is ``python -m papermill ARGS`` without jsonschema's
slow optional import, nor pyarrow (:mod:`nbmlops.lean_imports`): a step's papermill process takes
1.2-1.4 s instead of 2.5-3.0. The kernel papermill starts finds its notebook in this line
(:mod:`nbmlops.track.location`); nothing here imports papermill until it runs.
"""

from __future__ import annotations

import sys

MODULE = "nbmlops.papermill_cli"
#: The process whose end ends this papermill (its kernel follows papermill: ipykernel
#: watches its parent): ``nbmlops run`` killed for good leaves no notebook running.
STOP_WITH_ENV = "NBMLOPS_STOP_WITH_PID"
#: The modules that run papermill's CLI with ``python -m``.
MODULES = ("papermill", MODULE)


def command(*args: str) -> list[str]:
    """The command line that runs papermill's CLI with ``args`` in this Python."""
    return [sys.executable, "-m", MODULE, *args]


def _end_with_parent() -> None:
    """SIGTERM when the process named by STOP_WITH_ENV ends (Linux), however it ends."""
    import os

    parent = os.environ.pop(STOP_WITH_ENV, "")
    if not parent or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    if str(os.getppid()) != parent:  # it ended before the line above
        sys.exit(1)


if __name__ == "__main__":
    _end_with_parent()
    from nbmlops.lean_imports import PAPERMILL_SLOW_OPTIONAL, skip_slow_optional_imports

    skip_slow_optional_imports(PAPERMILL_SLOW_OPTIONAL)
    from papermill.cli import papermill

    papermill()
