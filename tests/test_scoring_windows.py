"""A scoring job's windows over time: the row-count rule (pure), then the job-level step on a
real sqlite MLflow store holding a week of scoring runs as ``nbmlops run`` and the sync
process leave them."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.jobs.run.after import After
from nbmlops.jobs.run.monitoring import STEPS
from nbmlops.jobs.run.windows import series_name, windows
from nbmlops.jobs.spec import Job
from nbmlops.monitor import reference, report
from nbmlops.monitor.settings import Watch
from nbmlops.monitor.sketch import sketch
from nbmlops.monitor.windows import rows_verdict


def test_a_row_count_is_judged_against_the_median_of_the_last_seven_windows() -> None:
    assert rows_verdict(100, [100, 100]) is None  # no usual yet
    usual = rows_verdict(100, [90, 100, 110])
    assert usual is not None and (usual.flag, usual.median, usual.ratio) == ("usual", 100, 1)
    assert rows_verdict(49, [100, 100, 100]).flag == "low"  # type: ignore[union-attr]
    assert rows_verdict(50, [100, 100, 100]).flag == "usual"  # type: ignore[union-attr]
    assert rows_verdict(201, [100, 100, 100]).flag == "high"  # type: ignore[union-attr]
    assert rows_verdict(200, [100, 100, 100]).flag == "usual"  # type: ignore[union-attr]
    # Only the last seven count: a month of small batches long ago does not.
    last = rows_verdict(100, [10] * 30 + [100] * 7)
    assert last is not None and (last.windows, last.median, last.flag) == (7, 100, "usual")
    assert rows_verdict(5, [0, 0, 0]).flag == "high"  # type: ignore[union-attr]
    assert rows_verdict(0, [0, 0, 0]).flag == "usual"  # type: ignore[union-attr]
    assert usual.to_json()["rule"] == "< 0.5x or > 2x the median of the last 7 windows"


def _frame(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    # b/ratio: a column whose name MLflow's UI would split at the slash
    return pd.DataFrame({"a": rng.normal(shift, 1, rows), "b/ratio": rng.normal(0, 1, rows)})


class Store:
    """A real sqlite store with a trained version's reference and a job's daily runs."""

    def __init__(self, root: Path) -> None:
        self.uri = f"sqlite:///{root / 'mlflow.db'}"
        self.client = MlflowClient(self.uri)
        self.experiment = self.client.create_experiment("score.ipynb")
        self.ref = reference.build(_frame(5000, 0, 0))
        trained = self.client.create_run(self.experiment, run_name="train")
        self.client.log_text(trained.info.run_id, self.ref.encoded().decode(),
                             store.monitoring_reference_artifact("churn"))
        self.trained = trained.info.run_id
        self.start = datetime(2026, 1, 1, 6, tzinfo=timezone.utc)
        self.said: list[str] = []

    def day(self, index: int, rows: int, shift: float = 0.0,
            drifted: tuple[str, ...] = ()) -> tuple[str, str]:
        """Job run and scoring run of day ``index`` (``drifted``: the columns the kernel
        found drifted from the training data)."""
        when = int((self.start + timedelta(days=index)).timestamp() * 1000)
        job = self.client.create_run(self.experiment, start_time=when, tags={
            store.JOB_TAG: "nightly"}).info.run_id
        run = self.client.create_run(self.experiment, start_time=when + 1000, tags={
            store.PARENT_RUN_TAG: job, store.SCORED_WITH_MODEL_TAG: "churn",
            store.SCORED_WITH_VERSION_TAG: "1", store.SCORED_WITH_RUN_TAG: self.trained,
            store.monitor_drifted_tag("churn"): "yes" if drifted else "no",
            store.monitor_columns_tag("churn"): ", ".join(drifted)},
            run_name="score").info.run_id
        batch = sketch(_frame(rows, shift, 100 + index), self.ref.layout)
        data = report.report(self.ref.layout, self.ref.sketch, batch, [])
        self.client.log_text(run, json.dumps(batch.to_json()), "monitor/churn/batch.json")
        self.client.log_text(run, json.dumps(data), "monitor/churn/report.json")
        self.client.log_text(run, "<html><body><h1>x</h1></body></html>",
                             "monitor/churn/report.html")
        self.client.log_metric(run, "monitor.churn.rows", rows, timestamp=when)
        self.client.log_metric(run, "monitor.churn.drift_share", shift / 10, timestamp=when)
        return job, run

    def after(self, job_run: str, folder: Path) -> After:
        # The step reads the client, the job's name and its run; where is not needed.
        return After(Job(name="nightly", notebook="score.ipynb"), folder, Watch(),
                     None,  # type: ignore[arg-type]
                     job_run, self.client, datetime.now(timezone.utc), self.said.append)


@pytest.fixture
def mlflow_store(tmp_path: Path, migrated_db: Path) -> Store:
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    return Store(tmp_path)


def _series(s: Store) -> tuple[str, dict[str, list[tuple[int, float]]]]:
    (run,) = s.client.search_runs([s.experiment], filter_string=(
        f"tags.`{store.MONITOR_SERIES_TAG}` = 'nightly/churn'"))
    assert run.info.run_name == series_name("nightly", "churn") == "monitor: nightly/churn"
    assert run.info.status == "FINISHED"
    return run.info.run_id, {k: [(m.step, m.value) for m in sorted(
        s.client.get_metric_history(run.info.run_id, k), key=lambda m: m.step)]
        for k in ("rows", "drift_share", "previous.drift_share", "rows_ratio")}


def test_each_window_is_compared_with_the_ones_before_and_drawn_over_time(
        mlflow_store: Store, tmp_path: Path) -> None:
    s = mlflow_store
    assert STEPS[0] is windows
    # Four usual days, each judged as the job runs.
    for day in range(4):
        job, run = s.day(day, 1000 + 10 * day)
        windows(s.after(job, tmp_path))
    tags = s.client.get_run(run).data.tags
    assert tags[store.monitor_rows_tag("churn")] == "usual"  # three windows before it
    assert store.monitor_rows_tag("churn") not in s.client.get_run(
        s.client.search_runs([s.experiment], "tags.`mlflow.runName` = 'score'",
                             order_by=["attributes.start_time ASC"])[0].info.run_id
    ).data.tags  # the first day had no usual yet
    metrics = s.client.get_run(run).data.metrics
    assert metrics["monitor.churn.rows_ratio"] == pytest.approx(1030 / 1010)
    assert metrics["monitor.churn.previous.drifted_columns"] == 0
    # Day 5: a third of the rows, and column a moved against day 4.
    job, run = s.day(4, 330, shift=1.0)
    windows(s.after(job, tmp_path))
    scored = s.client.get_run(run)
    assert scored.data.tags[store.monitor_rows_tag("churn")] == "low"
    assert s.client.get_run(job).data.tags[store.monitor_rows_tag("churn")] == "low"
    assert scored.data.metrics["monitor.churn.previous.drifted_columns"] == 1
    assert scored.data.metrics["monitor.churn.previous.a.wasserstein"] > 0.5
    assert scored.data.metrics["monitor.churn.previous.b_ratio.wasserstein"] < 0.5
    folder = Path(s.client.download_artifacts(run, "monitor/churn", str(tmp_path / "d5")))
    data = json.loads((folder / "report.json").read_text())
    assert data["windows"]["rows"]["flag"] == "low"
    assert data["windows"]["rows"]["median"] == 1015
    assert data["windows"]["previous"]["drifted_columns"] == ["a"]
    page = (folder / "report.html").read_text()
    assert "330 rows: low" in page and "a drifted" in page
    assert s.said[-1] == ("nbmlops: churn: 330 rows, 0.33x the median of the last 4 windows "
                          "(low)")

    # One series run, each scoring run at its index with its own time.
    series_id, history = _series(s)
    assert history["rows"] == [(0, 1000), (1, 1010), (2, 1020), (3, 1030), (4, 330)]
    assert [step for step, _ in history["previous.drift_share"]] == [1, 2, 3, 4]
    assert history["previous.drift_share"][-1][1] == 0.5
    assert [step for step, _ in history["rows_ratio"]] == [3, 4]
    points = s.client.get_metric_history(series_id, "rows")
    day5 = int((s.start + timedelta(days=4, seconds=1)).timestamp() * 1000)
    assert max(p.timestamp for p in points) == day5
    # Run again for the same job run: nothing is logged twice.
    windows(s.after(job, tmp_path))
    assert _series(s)[1]["rows"] == history["rows"]


def test_a_window_scored_with_another_version_is_not_compared(
        mlflow_store: Store, tmp_path: Path) -> None:
    s = mlflow_store
    s.day(0, 100)
    job, run = s.day(1, 100)
    s.client.set_tag(run, store.SCORED_WITH_VERSION_TAG, "2")
    windows(s.after(job, tmp_path))
    folder = Path(s.client.download_artifacts(run, "monitor/churn", str(tmp_path / "d")))
    previous = json.loads((folder / "report.json").read_text())["windows"]["previous"]
    assert previous["compared"] is False and previous["why"] == (
        "the previous window scored with v1")
    assert "monitor.churn.previous.drifted_columns" not in s.client.get_run(run).data.metrics


def test_the_report_says_since_when_each_column_drifts(
        mlflow_store: Store, tmp_path: Path) -> None:
    s = mlflow_store
    first = None
    for day, drifted in enumerate([(), ("a",), ("a",), ("a", "b/ratio")]):
        job, run = s.day(day, 1000, drifted=drifted)
        windows(s.after(job, tmp_path))
        first = first or (run if drifted else None)
    folder = Path(s.client.download_artifacts(run, "monitor/churn", str(tmp_path / "d4")))
    since = json.loads((folder / "report.json").read_text())["windows"]["since"]
    assert since["a"]["run_id"] == first and since["a"]["when"] == "2026-01-02 06:00 UTC"
    assert since["b/ratio"]["run_id"] == run  # it joined on the last day
    page = (folder / "report.html").read_text()
    assert "drifting since: a since 2026-01-02 06:00 UTC" in page
