"""A scoring job judged live: labels arriving two days late give live metrics per segment, the
feedback lag and the offline/online gap; the challenger, scored in shadow, is judged on the
same labels, and a gate reads what it measured."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from nbmlops import store
from nbmlops.exceptions import GateFailed
from nbmlops.jobs.export.folder import export_job
from nbmlops.models import promotion
from nbmlops.monitor import history, policy

NOTEBOOKS = Path(__file__).parent / "notebooks"
MODEL = "cancer-live"
pytestmark = pytest.mark.kernel


@pytest.fixture
def project(job_project: Path) -> Path:
    return job_project


def job(project: Path, notebook: str, **sections: Any) -> Path:
    shutil.copy(NOTEBOOKS / notebook, project / notebook)
    folder = export_job(project / notebook).folder
    data = yaml.safe_load((folder / "job.yaml").read_text())
    data.update(sections)
    (folder / "job.yaml").write_text(yaml.safe_dump(data))
    return folder


def kept(client: MlflowClient, run_id: str) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(client.download_artifacts(
            run_id, store.predictions_artifact(MODEL), tmp))


def test_labels_two_days_late_judge_the_champion_and_its_shadow(
    project: Path, sqlite_uri: str, nbmlops_run: Callable[..., str],
) -> None:
    client = MlflowClient(sqlite_uri)
    nbmlops_run(job(project, "job_train_two.ipynb"))
    promotion.promote(client, MODEL, "1")  # the tree serves; the stump stays challenger
    labels = {"path": "outcomes/*.csv", "key": "customer_id", "label": "benign",
              "at": "resolved_at"}
    scoring = job(project, "job_score_live.ipynb", monitor={
        "model": MODEL, "labels": labels, "segments": ["plan"], "shadow": "challenger"})

    day1 = nbmlops_run(scoring, "-p", "day", "1")
    assert f"live {MODEL} v1: on 0 labelled, 120 pending" in day1
    [first] = history.scoring_runs(client, "job_score_live")
    tags = client.get_run(first.run_id).data.tags
    assert (tags[store.SHADOW_MODEL_TAG], tags[store.SHADOW_VERSION_TAG],
            tags[store.SHADOW_ALIAS_TAG]) == (MODEL, "2", "challenger")
    day1_kept = kept(client, first.run_id)
    assert list(day1_kept.columns) == ["customer_id", "prediction", "score", "plan",
                                       "predicted_at", "shadow_prediction", "shadow_score",
                                       "shadow_version"]
    assert first.figures["shadow.disagreement"] == pytest.approx(
        float((day1_kept.prediction != day1_kept.shadow_prediction).mean()))
    assert first.figures["shadow.served.share.1"] == pytest.approx(day1_kept.prediction.mean())
    assert first.figures["shadow.candidate.share.1"] == pytest.approx(
        day1_kept.shadow_prediction.mean())

    # Two days after day 1 was scored, the truth of 100 of its 120 customers arrives.
    _, truth = load_breast_cancer(return_X_y=True, as_frame=True)
    arrived = day1_kept.iloc[:100]
    (project / "outcomes").mkdir()
    pd.DataFrame({"customer_id": arrived.customer_id, "benign": truth.iloc[:100].to_numpy(),
                  "resolved_at": arrived.predicted_at + pd.Timedelta(days=2)}).to_csv(
        project / "outcomes" / "day3.csv", index=False)
    nbmlops_run(scoring, "-p", "day", "2")

    job_run = history.last_job_run(client, "job_score_live")
    assert job_run is not None
    got = client.get_run(job_run.run_id).data.metrics
    y = truth.iloc[:100].to_numpy()
    assert (got["live_labelled"], got["live_pending"]) == (100, 140)
    assert got["live_auc"] == pytest.approx(roc_auc_score(y, arrived.score))
    assert got["live_accuracy"] == pytest.approx(float((arrived.prediction == y).mean()))
    for plan in ("free", "pro"):
        rows = (arrived.plan == plan).to_numpy()
        assert got[f"live_auc.plan.{plan}"] == pytest.approx(
            roc_auc_score(y[rows], arrived.score[rows]))
        assert got[f"live_count.plan.{plan}"] == rows.sum()
    assert got["live_lag_median_s"] == pytest.approx(2 * 86400, abs=1)
    assert got["live_lag_p95_s"] == pytest.approx(2 * 86400, abs=1)
    registered = float(client.get_model_version(MODEL, "1").tags["nbmlops.metric.val_auc"])
    assert got["live_gap_auc"] == pytest.approx(got["live_auc"] - registered)
    # The challenger, never served, judged on the same labels.
    assert got["shadow_live_auc"] == pytest.approx(roc_auc_score(y, arrived.shadow_score))
    assert got["shadow_live_auc"] < got["live_auc"]

    # The retraining policy reads the live figures on the scoring run of this job run.
    windows = [r.window() for r in history.scoring_runs(client, "job_score_live")]
    assert "live_auc" not in windows[0].figures
    assert windows[-1].figures["live_auc"] == got["live_auc"]
    rule = policy.parse_retrain({"job": "jobs/train", "on": f"live_auc < {got['live_auc'] + 0.01}"})
    assert policy.decide(rule, windows, None, windows[-1].when).retrain

    # Gates read what each version measured live: the stump loses in shadow.
    v1, v2 = (client.get_model_version(MODEL, v).tags for v in ("1", "2"))
    assert float(v1["nbmlops.live_metric.live_auc"]) == got["live_auc"]
    assert v1[store.LIVE_MEASURED_TAG].startswith("served on 100 labelled")
    assert v2[store.LIVE_MEASURED_TAG].startswith("shadow on 100 labelled")
    with pytest.raises(GateFailed) as failed:
        promotion.promote(client, MODEL, "2", gates=["live_auc >= champion"])
    assert "live_auc >= champion" in failed.value.report
    assert str(client.get_model_version_by_alias(MODEL, "champion").version) == "1"
    assert np.isfinite(got["shadow_live_accuracy"])
