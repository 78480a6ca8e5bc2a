"""A scoring job end to end, through ``nbmlops run`` with real kernels and a real sqlite store:
job.yaml's ``monitor.input`` and ``monitor.predictions`` name what the scoring cell scored,
its predictions are watched against the champion's evaluation predictions, and each run is
compared with the previous window and drawn on the job's series run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.jobs.export.folder import export_job

NOTEBOOKS = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.kernel

SCORE = [
    "%load_ext nbmlops",
    "day = 0  # the day scored",
    "from sklearn.datasets import load_breast_cancer\n"
    "X, _ = load_breast_cancer(return_X_y=True, as_frame=True)",
    "%%track score\n"
    "import nbmlops\n"
    "model = nbmlops.load_model('cancer-job@champion')\n"
    "batch = X.sample(n=200, random_state=day)\n"
    "seen = X.assign(extra=1.0)  # larger, with every column: not the batch\n"
    "preds = model.predict(batch)\n"
    "probs = model.predict_proba(batch)[:, 1]\n",
]


@pytest.fixture
def project(job_project: Path) -> Path:
    return job_project


def test_a_scoring_job_watches_what_its_job_yaml_names_window_after_window(
        project: Path, sqlite_uri: str, nbmlops_run: Callable[..., str]) -> None:
    shutil.copy(NOTEBOOKS / "job_model.ipynb", project / "train.ipynb")
    train = export_job(project / "train.ipynb").folder
    data = yaml.safe_load((train / "job.yaml").read_text())
    data["promote"] = {"model": "cancer-job", "gates": []}
    (train / "job.yaml").write_text(yaml.safe_dump(data))
    nbmlops_run(train)

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in SCORE])
    nb.metadata = nbformat.read(str(NOTEBOOKS / "job_model.ipynb"), as_version=4).metadata
    nb.cells[1].metadata["tags"] = ["parameters"]
    nbformat.write(nb, str(project / "score.ipynb"))
    score = export_job(project / "score.ipynb").folder
    data = yaml.safe_load((score / "job.yaml").read_text())
    data["monitor"] = {"input": "batch", "predictions": "preds"}
    (score / "job.yaml").write_text(yaml.safe_dump(data))
    for day in (1, 2):
        said = nbmlops_run(score, "-p", "day", str(day))
        assert "monitoring step" not in said, said

    client = MlflowClient(sqlite_uri)
    experiment = client.get_experiment_by_name("score.ipynb").experiment_id
    first, second = client.search_runs([experiment], "tags.`mlflow.runName` = 'score'",
                                       order_by=["attributes.start_time ASC"])
    metrics = second.data.metrics
    # The batch job.yaml names, not the larger frame of the model's columns the cell made.
    assert metrics["monitor.cancer-job.rows"] == 200
    # The predictions job.yaml names: predict's classes, not the later predict_proba's
    # scores.
    assert "monitor.cancer-job.prediction.class.share.1" in metrics
    assert "monitor.cancer-job.prediction.score.mean" not in metrics
    assert second.data.tags[store.monitor_prediction_drifted_tag("cancer-job")] == "no"
    # Against the previous window: day 1's batch.
    assert metrics["monitor.cancer-job.previous.drifted_columns"] == 0
    assert "monitor.cancer-job.previous.mean radius.wasserstein" in metrics
    assert "monitor.cancer-job.previous.drifted_columns" not in first.data.metrics
    folder = Path(client.download_artifacts(second.info.run_id, "monitor/cancer-job",
                                            str(project.parent / "report")))
    report = json.loads((folder / "report.json").read_text())
    assert report["about"]["batch"] == "batch"
    assert report["predictions"]["about"]["predictions"] == "preds"
    assert report["predictions"]["about"]["reference"] == "predictions on X_test"
    assert report["windows"]["previous"]["run"] == first.info.run_id
    # One series run for the job and model, a step per scoring run.
    (series,) = client.search_runs([experiment], (
        f"tags.`{store.MONITOR_SERIES_TAG}` = 'score/cancer-job'"))
    assert series.info.run_name == "monitor: score/cancer-job"
    steps = client.get_metric_history(series.info.run_id, "drift_share")
    assert sorted(m.step for m in steps) == [0, 1]
    assert [m.step for m in client.get_metric_history(series.info.run_id,
                                                      "previous.drift_share")] == [1]
