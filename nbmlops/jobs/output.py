"""An executed notebook names its runs: its status lines get the run of each record.

A notebook run by papermill is saved with the status lines its tracked cells showed, often
before the sync process uploaded their records ("waiting to sync · record 5be1a0c94f2e").
Once the spool holds a record's receipt, :func:`name_runs` rewrites that line as the kernel
would have: the run's id, experiment and link. The line's output metadata says which record
it shows (:data:`nbmlops.track.status_line.METADATA_KEY`).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from nbmlops.sync.spool import Spool, write_atomic
from nbmlops.track.status_line import METADATA_KEY, render


def name_runs(notebook: Path, spool: Spool) -> tuple[int, int]:
    """Rewrite the status lines of ``notebook`` whose records were uploaded; returns how many
    lines now name their run and how many still wait. The file is replaced atomically, and
    only when something changed."""
    nb = nbformat.read(notebook, as_version=4)
    named = waiting = 0
    changed = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            shown = output.get("metadata", {}).get(METADATA_KEY)
            if not isinstance(shown, dict) or "record_id" not in shown:
                continue
            if "run_id" in shown:
                named += 1
                continue
            receipt = spool.receipt(str(shown["record_id"]))
            if receipt is None:
                waiting += 1
                continue
            plain, markup = render(list(shown.get("facts") or ["?"]), shown["record_id"],
                                   receipt)
            output["data"] = {**output.get("data", {}), "text/plain": plain,
                              "text/html": markup}
            shown["run_id"] = receipt["run_id"]
            named += 1
            changed = True
    if changed:
        write_atomic(notebook, nbformat.writes(nb).encode("utf-8"))
    return named, waiting
