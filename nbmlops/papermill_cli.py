"""papermill's own command line, as nbmlops starts it for a job step or a reproduction.

``python -m nbmlops.papermill_cli ARGS`` is ``python -m papermill ARGS`` without jsonschema's
slow optional import (:mod:`nbmlops.lean_imports`): a step's papermill process takes
1.2-1.4 s instead of 2.5-3.0. The kernel papermill starts finds its notebook in this line
(:mod:`nbmlops.track.location`); nothing here imports papermill until it runs.
"""

from __future__ import annotations

import sys

MODULE = "nbmlops.papermill_cli"
#: The modules that run papermill's CLI with ``python -m``.
MODULES = ("papermill", MODULE)


def command(*args: str) -> list[str]:
    """The command line that runs papermill's CLI with ``args`` in this Python."""
    return [sys.executable, "-m", MODULE, *args]


if __name__ == "__main__":
    from nbmlops.lean_imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    from papermill.cli import papermill

    papermill()
