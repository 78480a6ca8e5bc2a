"""`make bench`: ``nbmlops assess`` on a store of 10,000 runs vs ``mlflow.search_runs``.

The store is the compare panel's (``bench/panel.py`` builds it once into ``bench/.cache/``),
copied beside a small project (a git repository, a notebook, a scheduled job folder) and given
a registry: 3 models of 5 versions each, with champion and challenger aliases. ``assess``
reads the newest 500 runs, the jobs' runs and the registry; the anchor,
``mlflow.search_runs`` of every run in the store as a DataFrame, is what a notebook user
would call to see them all. Both are timed in this process after a warm-up (median of
``REPEATS``); the whole command, a fresh process importing mlflow, is timed once.

Targets (not tests): assess <= 0.5x ``mlflow.search_runs``; the command <= 5 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import panel as panel_bench  # noqa: E402  (the store of 10,000 runs, built once)

REPEATS = 5


def make_project(folder: Path, store: Path) -> tuple[Path, str]:
    """A project whose tracking store is a copy of ``store``, with a registry added."""
    from mlflow import MlflowClient

    root = folder / "project"
    (root / "jobs" / "train").mkdir(parents=True)
    db = folder / "mlflow.db"
    shutil.copyfile(store, db)
    uri = f"sqlite:///{db}"
    (root / "pyproject.toml").write_text(
        f"[project]\nname = 'bench'\n\n[tool.nbmlops]\ntracking_uri = '{uri}'\n")
    (root / "train.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
                   "outputs": [], "source": "%%track train\nauc = 0.9"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (root / "jobs" / "train" / "job.yaml").write_text(
        "name: train\nnotebook: train.ipynb\nschedule:\n  cron: 0 3 * * 1\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "bench"]):
        subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=b@example.com", *args],
                       cwd=root, check=True, capture_output=True)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(panel_bench.BIG_EXPERIMENT).experiment_id
    runs = client.search_runs([experiment], max_results=15)
    for m in range(3):
        name = f"bench-model-{m}"
        client.create_registered_model(name)
        for run in runs[m * 5:(m + 1) * 5]:
            client.create_model_version(name, f"runs:/{run.info.run_id}/model",
                                        run_id=run.info.run_id)
        client.set_registered_model_alias(name, "champion", "1")
        client.set_registered_model_alias(name, "challenger", "5")
    return root, uri


def median_seconds(call: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    return panel_bench.median_seconds(call, repeats)


def assess(root: Path) -> Any:
    from nbmlops.assess import assess_project

    return assess_project(root, timeout=120)


def search_all(uri: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(uri)
    ids = [e.experiment_id for e in mlflow.search_experiments()]
    return mlflow.search_runs(experiment_ids=ids)


def command(root: Path) -> float:
    nbmlops = Path(sys.executable).with_name("nbmlops")
    argv = [str(nbmlops)] if nbmlops.exists() else [sys.executable, "-m", "nbmlops.cli"]
    t = time.perf_counter()
    done = subprocess.run([*argv, "assess", str(root), "--format", "json"],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - t
    assert json.loads(done.stdout)["schema"] == "nbmlops.assess/1"
    return elapsed


def main() -> None:
    store = Path(panel_bench.ensure_store()[len("sqlite:///"):])
    with tempfile.TemporaryDirectory(prefix="nbmlops-bench-assess-") as tmp:
        root, uri = make_project(Path(tmp), store)
        warm, result = median_seconds(lambda: assess(root))
        everything, frame = median_seconds(lambda: search_all(uri), 3)
        cold = command(root)
    runs = result.evidence.runs
    total = panel_bench.BIG + panel_bench.SMALL
    assert len(frame) == total and runs is not None and runs.read == 500
    assert len(result.evidence.models or []) == 3
    print(f"nbmlops assess, {total} runs and 3 models in the store, median of {REPEATS}")
    print(f"  assess (newest {runs.read} runs, jobs, registry)  {warm * 1000:8.1f} ms")
    print(f"  mlflow.search_runs, all {total} runs      {everything * 1000:8.1f} ms")
    print(f"  assess / search_runs                      {warm / everything:8.3f}x  "
          "(target <= 0.5x)")
    print(f"  `nbmlops assess` command, fresh process   {cold * 1000:8.1f} ms  "
          "(target <= 5 s)")


if __name__ == "__main__":
    main()
