"""What a job's executed notebook shows: its runs, and none of its secrets.

A notebook run by papermill is saved with the status lines its tracked cells showed, often
before the sync process uploaded their records ("waiting to sync · record 5be1a0c94f2e").
Once the spool holds a record's receipt, :func:`name_runs` rewrites that line as the kernel
would have: the run's id, experiment and link. The line's output metadata says which record
it shows (:data:`nbmlops.track.status_line.METADATA_KEY`).

The parameters a job was given are written into its notebook twice by papermill (the injected
cell and the notebook's metadata); :func:`redact_parameters` blanks those that look secret
before the notebook is kept or uploaded, as a tracked cell's own params are.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from nbmlops import redact
from nbmlops.atomic_files import write_atomic
from nbmlops.sync.spool import Spool
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


#: papermill's tag on the cell holding the parameters it injected.
INJECTED_TAG = "injected-parameters"


def redact_parameters(notebook: Path) -> bool:
    """Blank secret-looking parameters in the injected cell and papermill's metadata of an
    executed notebook; True when something was blanked (the file is then replaced)."""
    nb = nbformat.read(notebook, as_version=4)
    changed = False
    for cell in nb.cells:
        if INJECTED_TAG in cell.get("metadata", {}).get("tags", []):
            safe = redact.redact_code(cell.source)
            changed |= safe != cell.source
            cell.source = safe
    papermill = nb.metadata.get("papermill", {})
    given = papermill.get("parameters")
    if isinstance(given, dict):
        safe_params = redact.redact_mapping(given)
        changed |= safe_params != given
        papermill["parameters"] = safe_params
    if changed:
        write_atomic(notebook, nbformat.writes(nb).encode("utf-8"))
    return changed
