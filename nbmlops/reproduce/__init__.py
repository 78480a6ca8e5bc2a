"""Reproducing a tracked run: ``nbmlops reproduce RUN_ID``.

``checks`` looks, before anything runs, for what would make a reproduction differ (data files
changed since, packages of other versions); ``rerun`` fetches the run's code slice and runs it
in a fresh kernel with papermill, as a new run; ``verdict`` compares the two runs' metrics and
data and says whether the run was reproduced.
"""

from __future__ import annotations

__all__ = ["checks", "rerun", "verdict"]
