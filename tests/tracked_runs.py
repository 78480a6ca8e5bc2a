"""A real MLflow store whose runs were made by ``%%track`` in a real IPython shell.

Built once per test session (the query and the panel tests read the same runs) in a project
folder whose notebook is ``notebooks/compare.ipynb``; records are uploaded with
``nbmlops.sync.worker.drain``, as ``nbmlops sync`` does. The cells, oldest first:

=====  ==========  ===========================================================================
label  run name    what
=====  ==========  ===========================================================================
base   train       lr 0.1, depth 3, acc 0.81, val_loss 0.42, reads ``raw`` (version 1)
lower  train       lr 0.05, depth 3, acc 0.86, val_loss 0.35, same data
deep   train       lr 0.05, depth 5, acc 0.9, val_loss 0.3, ``raw`` version 2, a loss curve
eval   evaluate    threshold 0.5, rmse 0.7
fail   train       lr 0.2, depth 3, acc 0.5, then 1 / 0: FAILED
=====  ==========  ===========================================================================
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

EXPERIMENT = "notebooks/compare.ipynb"

CELLS = [
    ("base", "train", "lr = 0.1\ndepth = 3\nsample = raw.head(50)\nacc = 0.81\nval_loss = 0.42"),
    ("lower", "train", "lr = 0.05\ndepth = 3\nsample = raw.head(50)\nacc = 0.86\nval_loss = 0.35"),
    (
        "deep", "train",
        "import nbmlops\nlr = 0.05\ndepth = 5\nsample = raw.head(50)\n"
        "for step in range(3):\n    nbmlops.log_metric('loss', 1.0 / (step + 1))\n"
        "acc = 0.9\nval_loss = 0.3\n# deeper trees\n",
    ),
    ("eval", "evaluate", "threshold = 0.5\nrmse = 0.7\n"),
    ("fail", "train", "lr = 0.2\ndepth = 3\nacc = 0.5\n1 / 0\n"),
]


@dataclass
class TrackedStore:
    root: Path
    spool: Path
    uri: str
    experiment: str = EXPERIMENT
    run_ids: dict[str, str] = field(default_factory=dict)  # label -> run id
    codes: dict[str, str] = field(default_factory=dict)  # label -> cell code

    def env(self) -> dict[str, str]:
        return {
            "NBMLOPS_SPOOL": str(self.spool),
            "NBMLOPS_NOTEBOOK": str(self.root / "notebooks" / "compare.ipynb"),
            "NBMLOPS_AUTOSYNC": "0",
        }


def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    if "nbmlops" not in ip.extension_manager.loaded:
        ip.run_line_magic("load_ext", "nbmlops")
    return ip


@contextmanager
def environment(store: TrackedStore) -> Iterator[pytest.MonkeyPatch]:
    """The store's project as the working folder and environment, undone afterwards."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in store.env().items():
            mp.setenv(key, value)
        for key in ("MLFLOW_TRACKING_URI", "NBMLOPS_UI_URL"):
            mp.delenv(key, raising=False)
        mp.chdir(store.root)
        yield mp


def track(ip: InteractiveShell, name: str, body: str, experiment: str | None = None) -> None:
    line = f"%%track {name}" + (f" --experiment {experiment}" if experiment else "")
    with capture_output():
        ip.run_cell(f"{line}\n{body}")
    time.sleep(0.002)  # distinct start times, so "newest first" is well defined


def upload(store: TrackedStore) -> None:
    from nbmlops.sync import worker

    report = worker.drain(store.spool, timeout=60)
    assert report.ok, report.errors


def tracked_store(base: Path, migrated_db: Path) -> TrackedStore:
    """Build the store (once per session: the ``shared_runs`` fixture of conftest.py)."""
    import pandas as pd
    from mlflow import MlflowClient

    root = base / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'compare-demo'\n")
    shutil.copy(migrated_db, root / "mlflow.db")  # skips MLflow's migrations
    store = TrackedStore(root=root, spool=base / "spool", uri=f"sqlite:///{root / 'mlflow.db'}")
    with environment(store):
        ip = shell()
        for label, name, body in CELLS:
            version = 2 if label in ("deep", "eval", "fail") else 1
            ip.user_ns["raw"] = pd.DataFrame({"x": [float(i * version) for i in range(200)]})
            track(ip, name, body)
            store.codes[label] = body
        upload(store)
    client = MlflowClient(store.uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert len(runs) == len(CELLS)
    store.run_ids = {label: r.info.run_id for (label, _, _), r in zip(CELLS, runs, strict=True)}
    return store


def contents(store: TrackedStore) -> list[tuple[str, str]]:
    """(experiment, run id) of everything in the store: tests sharing it must not change it."""
    from mlflow import MlflowClient

    client = MlflowClient(store.uri)
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    runs = client.search_runs(list(experiments), max_results=1000)
    return sorted((experiments[r.info.experiment_id], r.info.run_id) for r in runs)


def own_copy(store: TrackedStore, where: Path) -> TrackedStore:
    """A copy of the shared store for a test that adds runs: the others never see them."""
    root = where / "project"
    shutil.copytree(store.root, root)
    return replace(store, root=root, spool=where / "spool", uri=f"sqlite:///{root / 'mlflow.db'}",
                   run_ids=dict(store.run_ids), codes=dict(store.codes))
