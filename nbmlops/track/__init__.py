"""In the kernel: one ``%%track`` cell execution turned into a record in the spool.

The ``%%track`` line (:mod:`~nbmlops.track.line`) and a notebook file's tracked cells as every
reader outside the kernel sees them (:mod:`~nbmlops.track.cells`), the cell hooks that let
IPython run the cell, the tracker, what it captures (code analysis, notebook location,
environment, data checks against local baselines), the code slice of each tracked cell cut
from the kernel's history (:mod:`~nbmlops.track.slice`) and the status line under the cell.
Never imports mlflow.
"""
