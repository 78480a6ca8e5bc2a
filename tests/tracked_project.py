"""A project folder whose notebook's ``%%track`` cells already have runs in its sqlite store.

The runs are made the way a user makes them: a real IPython shell runs the cells with
``%%track`` (autosync off), then :func:`nbmlops.sync.worker.drain` uploads the spool. The server and
the browser tests read them back. ``[tool.nbmlops] spool`` keeps the spool in the project so
a Jupyter server started on it finds the same spool.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

NOTEBOOK = "notebooks/train.ipynb"

SETUP = """import matplotlib
matplotlib.use("agg")
import matplotlib.pyplot as plt
import numpy as np
import nbmlops
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)"""

FIT = """%%track fit
lr = {lr}
epochs = 6
w = np.zeros(3)
losses = []
for step in range(epochs):
    p = 1 / (1 + np.exp(-X @ w))
    w += lr * X.T @ (y - p) / len(y)
    loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
    losses.append(loss)
    nbmlops.log_metric("loss", loss, step)
accuracy = float(((X @ w > 0).astype(int) == y).mean())
loss_curve, ax = plt.subplots(figsize=(3, 2))
ax.plot(losses)
ax.set_title("Loss curve")"""

EVALUATE = """%%track evaluate
threshold = {threshold}
score = float(((X @ w > threshold).astype(int) == y).mean())"""


@dataclass
class TrackedProject:
    root: Path
    notebook: str  # relative to root, as JupyterLab names it
    spool: Path
    tracking_uri: str


def notebook_node(lr: float, threshold: float) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Train\nTracked cells become MLflow runs."),
        nbformat.v4.new_code_cell("%load_ext nbmlops"),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(FIT.format(lr=lr)),
        nbformat.v4.new_code_cell(EVALUATE.format(threshold=threshold)),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def run_and_upload(
    root: Path, notebook: Path, spool: Path, cells: list[tuple[str, dict[str, Any]]]
) -> int:
    """Run ``cells`` (source, variables to set first) in a real shell working in ``root`` as
    ``notebook``, then upload the records; returns how many runs went up."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from nbmlops.sync import worker
    from nbmlops.track import location

    cwd = os.getcwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("NBMLOPS_NOTEBOOK", str(notebook))
        mp.setenv("NBMLOPS_AUTOSYNC", "0")
        mp.delenv("NBMLOPS_SPOOL", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        location.clear_cache()
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "nbmlops")
        shell.reset()
        with capture_output():
            for source, variables in cells:
                shell.user_ns.update(variables)
                shell.run_cell(source).raise_error()
        report = worker.drain(spool, timeout=120)
        shell.reset()
        location.clear_cache()
    os.chdir(cwd)
    assert report.ok, report
    return report.uploaded


def make_tracked_project(
    dest: Path, migrated_db: Path, tracking_uri: str | None = None
) -> TrackedProject:
    """Create the project in ``dest`` and run its cells: fit with lr 0.5, 0.1 and 0.02,
    evaluate twice; every run uploaded. Into the project's sqlite store, or into the
    ``tracking_uri`` its pyproject names (a team's server)."""
    dest.mkdir(parents=True, exist_ok=True)
    shared = f"tracking_uri = '{tracking_uri}'\n" if tracking_uri else ""
    (dest / "pyproject.toml").write_text(
        f"[project]\nname = 'demo'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n{shared}"
    )
    if not tracking_uri:
        shutil.copy(migrated_db, dest / "mlflow.db")
    path = dest / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    spool = dest / ".nbmlops" / "spool"
    runs = [(FIT, {"lr": 0.5}), (EVALUATE, {"threshold": 0.0}), (FIT, {"lr": 0.1}),
            (FIT, {"lr": 0.02}), (EVALUATE, {"threshold": 0.25})]
    cells = [(SETUP, {})] + [(template.format(**values), {}) for template, values in runs]
    assert run_and_upload(dest, path, spool, cells) == len(runs)
    nbformat.write(notebook_node(lr=0.02, threshold=0.25), path)
    return TrackedProject(dest, NOTEBOOK, spool,
                          tracking_uri or f"sqlite:///{dest / 'mlflow.db'}")


DRIFT_NOTEBOOK = "notebooks/etl.ipynb"

LOAD = """%%track load
clean = raw.dropna()
rows = len(clean)"""


def add_drift_runs(project: TrackedProject) -> str:
    """Two runs of ``%%track load`` in ``notebooks/etl.ipynb`` (its own experiment) over
    ``raw``, the second over shifted data, so the data checks record drift on it; both
    uploaded. The notebook's path, relative to the project root."""
    import numpy as np
    import pandas as pd


    def raw(seed: int, shift: float) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"amount": rng.normal(100 + 20 * shift, 20, 600),
                             "city": rng.choice(["Paris", "Lyon"], 600)})

    path = project.root / DRIFT_NOTEBOOK
    cells = [(LOAD, {"raw": raw(seed, shift)}) for seed, shift in ((1, 0.0), (2, 1.0))]
    assert run_and_upload(project.root, path, project.spool, cells) == 2
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"), nbformat.v4.new_code_cell(LOAD)]
    nbformat.write(nb, path)
    return DRIFT_NOTEBOOK
