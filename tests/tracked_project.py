"""A project folder whose notebook's ``%%track`` cells already have runs in its sqlite store.

The runs are made the way a user makes them: a real IPython shell runs the cells with
``%%track`` (autosync off), then :func:`nbmlops.sync.drain` uploads the spool. The server and
the browser tests read them back. ``[tool.nbmlops] spool`` keeps the spool in the project so
a Jupyter server started on it finds the same spool.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = "notebooks/train.ipynb"

SETUP = """import numpy as np
import nbmlops
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)"""

FIT = """%%track fit
lr = {lr}
epochs = 6
w = np.zeros(3)
for step in range(epochs):
    p = 1 / (1 + np.exp(-X @ w))
    w += lr * X.T @ (y - p) / len(y)
    loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
    nbmlops.log_metric("loss", loss, step)
accuracy = float(((X @ w > 0).astype(int) == y).mean())"""

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


def make_tracked_project(dest: Path, migrated_db: Path) -> TrackedProject:
    """Create the project in ``dest`` and run its cells: fit with lr 0.5, 0.1 and 0.02,
    evaluate twice; every run uploaded."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from nbmlops import location, sync

    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n"
    )
    shutil.copy(migrated_db, dest / "mlflow.db")
    path = dest / NOTEBOOK
    path.parent.mkdir(parents=True, exist_ok=True)
    spool = dest / ".nbmlops" / "spool"
    runs = [(FIT, {"lr": 0.5}), (EVALUATE, {"threshold": 0.0}), (FIT, {"lr": 0.1}),
            (FIT, {"lr": 0.02}), (EVALUATE, {"threshold": 0.25})]
    cwd = os.getcwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(dest)
        mp.setenv("NBMLOPS_NOTEBOOK", str(path))
        mp.setenv("NBMLOPS_AUTOSYNC", "0")
        mp.delenv("NBMLOPS_SPOOL", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        location.clear_cache()
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "nbmlops")
        shell.reset()
        with capture_output():
            result = shell.run_cell(SETUP)
            result.raise_error()
            for template, values in runs:
                result = shell.run_cell(template.format(**values))
                result.raise_error()
        report = sync.drain(spool, timeout=120)
        shell.reset()
        location.clear_cache()
    os.chdir(cwd)
    assert report.ok and report.uploaded == len(runs), report
    nbformat.write(notebook_node(lr=0.02, threshold=0.25), path)
    return TrackedProject(dest, NOTEBOOK, spool, f"sqlite:///{dest / 'mlflow.db'}")


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
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from nbmlops import location, sync

    def raw(seed: int, shift: float) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame({"amount": rng.normal(100 + 20 * shift, 20, 600),
                             "city": rng.choice(["Paris", "Lyon"], 600)})

    path = project.root / DRIFT_NOTEBOOK
    cwd = os.getcwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project.root)
        mp.setenv("NBMLOPS_NOTEBOOK", str(path))
        mp.setenv("NBMLOPS_AUTOSYNC", "0")
        mp.delenv("NBMLOPS_SPOOL", raising=False)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        location.clear_cache()
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "nbmlops")
        shell.reset()
        with capture_output():
            for seed, shift in ((1, 0.0), (2, 1.0)):
                shell.user_ns["raw"] = raw(seed, shift)
                shell.run_cell(LOAD).raise_error()
        report = sync.drain(project.spool, timeout=120)
        shell.reset()
        location.clear_cache()
    os.chdir(cwd)
    assert report.ok and report.uploaded == 2, report
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"), nbformat.v4.new_code_cell(LOAD)]
    nbformat.write(nb, path)
    return DRIFT_NOTEBOOK
