"""``nbmlops monitor`` and ``%mlops monitor``: a scoring job's champion, scoring runs, drift per
column over time, open alerts and last retraining, read back from a real sqlite MLflow store
whose runs carry the tags and metrics a scoring job's kernel and its monitoring steps write."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import shell_project
from mlflow import MlflowClient

from nbmlops import config, store
from nbmlops.cli import main
from nbmlops.jobs import monitor_overview
from nbmlops.monitor import reference
from nbmlops.panel import monitor as monitor_html

_clock = iter(range(1_700_000_000_000, 1_800_000_000_000, 86_400_000))  # a day apart

JOB_YAML = "name: {name}\nnotebook: {name}.ipynb\n{extra}"


class Scoring:
    """A project with a scoring job ``score`` (``monitor: {model: churn}``), the model
    registered with a champion, and a helper making one day's runs."""

    def __init__(self, root: Path, migrated_db: Path) -> None:
        shutil.copy(migrated_db, root / "mlflow.db")
        self.root = root
        self.folder = root / "jobs" / "score"
        self.folder.mkdir(parents=True)
        (self.folder / "job.yaml").write_text(JOB_YAML.format(
            name="score", extra="monitor:\n  model: churn\n"))
        self.client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
        where = config.destination(self.folder / "score.ipynb")
        self.experiment = self.client.create_experiment(where.experiment)
        train = self.client.create_run(self.experiment, start_time=next(_clock))
        self.training_run = train.info.run_id
        # The training data's summary, logged as registering the model logs it.
        frame = pd.DataFrame({"age": range(200), "rate (%)": [i % 7 for i in range(200)]})
        self.client.log_text(self.training_run, reference.build(frame).encoded().decode(),
                             store.monitoring_reference_artifact("churn"))
        self.client.create_registered_model("churn")
        for _ in range(2):
            self.client.create_model_version("churn", "file:///model", run_id=self.training_run)
        self.client.set_registered_model_alias("churn", store.CHAMPION, "2")

    def day(self, drift: dict[str, float], drifted: list[str], *, alerts: Sequence[Any] = (),
            status: str = "FINISHED", **tags: str) -> tuple[str, str]:
        """A run of the job and its scoring cell's run: ``drift`` per column (age numeric,
        plan categorical), ``drifted`` the columns past their limit."""
        job_tags = {store.JOB_TAG: "score", **tags}
        if alerts:
            job_tags[store.ALERTS_TAG] = json.dumps(alerts)
        job = self.client.create_run(self.experiment, start_time=next(_clock), tags=job_tags)
        cell = self.client.create_run(self.experiment, start_time=next(_clock), tags={
            store.PARENT_RUN_TAG: job.info.run_id, store.SCORED_WITH_MODEL_TAG: "churn",
            store.SCORED_WITH_VERSION_TAG: "2", store.SCORED_WITH_ALIAS_TAG: "champion",
            store.monitor_drifted_tag("churn"): "yes" if drifted else "no",
            **({store.monitor_columns_tag("churn"): ", ".join(drifted)} if drifted else {})})
        cid = cell.info.run_id
        statistic = {"plan": "jensen_shannon"}
        for column, value in drift.items():
            # The kernel names a column's metric with its odd characters replaced.
            self.client.log_metric(cid, f"monitor.churn.{store.metric_part(column)}."
                                   f"{statistic.get(column, 'wasserstein')}", value)
        self.client.log_metric(cid, "monitor.churn.drift_share", len(drifted) / len(drift))
        self.client.log_metric(cid, "monitor.churn.wasserstein", max(drift.values()))
        self.client.log_metric(cid, "monitor.churn.rows", 500.0)
        self.client.set_terminated(cid)
        self.client.set_terminated(job.info.run_id, status)
        return job.info.run_id, cid


@pytest.fixture
def scoring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Scoring:
    return Scoring(shell_project(tmp_path, monkeypatch, "score.ipynb"), migrated_db)


@pytest.fixture
def project(scoring: Scoring) -> Path:
    return scoring.root


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["monitor", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


ALERT: dict[str, Any] = {"kind": "drift", "title": "churn: age drifted", "deliveries": [
    {"target": "webhook 127.0.0.1", "delivered": True, "attempts": 1, "error": ""},
    {"target": "e-mail via 127.0.0.1", "delivered": False, "attempts": 3,
     "error": "connection refused"}]}


def test_a_drifting_job_its_runs_columns_alerts_and_retraining(
    scoring: Scoring, capsys: pytest.CaptureFixture[str]
) -> None:
    scoring.day({"age": 0.01, "plan": 0.02, "a.b": 0.0, "rate (%)": 0.0}, [])
    scoring.day({"age": 0.02, "plan": 0.01, "a.b": 0.0, "rate (%)": 0.0}, [])
    _, drifted = scoring.day({"age": 0.4, "plan": 0.02, "a.b": 0.0}, ["age"], alerts=[ALERT])
    job_run, last = scoring.day(
        {"age": 0.5, "plan": 0.03, "a.b": 0.0}, ["age"], alerts=[ALERT], **{
            store.RETRAIN_DECISION_TAG: "retrain",
            store.RETRAIN_REASON_TAG: "wasserstein >= 0.3 on 2 consecutive runs",
            store.RETRAIN_RUN_TAG: "f" * 32, store.RETRAIN_OUTCOME_TAG: "promoted churn v3"})

    code, out, err = cli(capsys, "jobs/score", "--format", "json")
    assert code == 1, err  # the newest run drifted
    found = json.loads(out)
    assert (found["job"], found["model"], found["champion"]) == ("score", "churn", "2")
    assert found["champion_run_id"] == scoring.training_run
    assert [r["drifted"] for r in found["runs"]] == [False, False, True, True]  # oldest first
    assert found["runs"][2]["run_id"] == drifted and found["runs"][3]["run_id"] == last
    assert found["runs"][3]["drifted_columns"] == ["age"]
    assert found["runs"][3]["rows"] == 500 and found["runs"][3]["drift_share"] == 1 / 3
    assert found["runs"][3]["experiment_id"] == scoring.experiment
    columns = {c["column"]: c for c in found["columns"]}
    assert columns["age"]["values"] == [0.01, 0.02, 0.4, 0.5]
    assert columns["age"]["drifted"] == [False, False, True, True]
    assert columns["plan"]["statistic"] == "jensen_shannon"
    assert "a.b" in columns  # a column whose name has a dot
    # Named as the champion's training data names it, though it never drifted.
    assert columns["rate (%)"]["values"] == [0.0, 0.0, None, None]
    [alert] = found["alerts"]
    assert alert["title"] == "churn: age drifted" and alert["job_run_id"] == job_run
    assert alert["deliveries"] == ["webhook 127.0.0.1: delivered",
                                   "e-mail via 127.0.0.1: failed (connection refused)"]
    assert found["retraining"]["outcome"] == "promoted churn v3"
    assert found["retraining"]["training_run_id"] == "f" * 32
    assert found["attention"] is True

    code, text, _ = cli(capsys, "jobs/score")
    assert code == 1
    assert "model churn: champion v2" in text
    assert f"{last[:8]}  v2  DRIFTED: age  500 rows" in text
    age = next(line for line in text.splitlines() if line.lstrip("* ").startswith("age "))
    assert age.startswith("   *age") and "▁▁▇█" in age and "wasserstein 0.5" in age
    assert "open alerts (1):" in text and "drift: churn: age drifted" in text
    assert "-> promoted churn v3 (training run ffffffff)" in text


def test_a_later_quiet_run_closes_the_alerts_and_the_job_exits_0(
    scoring: Scoring, capsys: pytest.CaptureFixture[str]
) -> None:
    scoring.day({"age": 0.4, "plan": 0.0}, ["age"], alerts=[ALERT])
    scoring.day({"age": 0.01, "plan": 0.0}, [])
    code, out, _ = cli(capsys, "jobs/score", "--format", "json")
    found = json.loads(out)
    assert code == 0 and found["alerts"] == [] and not found["attention"]
    # A run that failed did not watch: the alert it would have closed stays open.
    scoring.day({"age": 0.4, "plan": 0.0}, ["age"], alerts=[ALERT])
    scoring.day({"age": 0.0, "plan": 0.0}, [], status="FAILED")
    code, out, _ = cli(capsys, "jobs/score", "--format", "json")
    assert code == 1 and len(json.loads(out)["alerts"]) == 1
    code, text, _ = cli(capsys, "jobs/score")
    assert "never retrained" in text
    assert cli(capsys, "score") == (code, text, "")  # the job's name, as the overview shows


def test_without_a_job_every_job_that_monitors(
    scoring: Scoring, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet = scoring.root / "jobs" / "report"
    quiet.mkdir()
    (quiet / "job.yaml").write_text(JOB_YAML.format(name="report", extra=""))
    code, out, _ = cli(capsys, "--format", "json")
    assert code == 0
    assert [(f["job"], f["runs"]) for f in json.loads(out)] == [("score", [])]
    scoring.day({"age": 0.4}, ["age"])
    code, out, _ = cli(capsys)
    assert code == 1 and out.startswith("score  jobs/score") and "report" not in out


@pytest.mark.parametrize("given", ["jobs/nothing", "jobs", "jobs/score/score.ipynb"])
def test_bad_input_is_one_line_and_status_2(
    scoring: Scoring, capsys: pytest.CaptureFixture[str], given: str
) -> None:
    code, out, err = cli(capsys, given)
    assert code == 2 and out == ""
    assert err.startswith("nbmlops: error: no job at") and err.count("\n") == 1


def test_a_job_never_run_says_so(scoring: Scoring, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = cli(capsys, str(scoring.folder / "job.yaml"))
    assert code == 0
    assert "model churn: champion v2" in text and "no scoring run yet" in text


def test_sparkline_scales_to_the_largest_and_leaves_gaps() -> None:
    assert monitor_overview.sparkline([0.0, 0.5, 1.0, None]) == "▁▅█ "
    assert monitor_overview.sparkline([0.2, 0.4], top=0.8) == "▃▅"
    assert monitor_overview.sparkline([0.0, 0.0]) == "▁▁"
    assert monitor_overview.column_figures({"a.b.wasserstein": 1.0, "wasserstein": 2.0,
                                            "plan.psi": 3.0}) == {("a.b", "wasserstein"): 1.0}


def test_the_notebook_draws_a_line_per_column_with_its_drifted_runs(
    scoring: Scoring, ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    scoring.day({"age": 0.01, "plan": 0.0}, [])
    scoring.day({"age": 0.4, "plan": 0.0}, ["age"], alerts=[ALERT])
    shown = ip.run_line_magic("mlops", "monitor jobs/score")
    page = shown.data
    assert "open alerts (1)" in page
    assert page.count("<polyline") == 2 and page.count("<circle") == 1  # age drifted once
    assert 'aria-label="age: wasserstein over 2 runs, newest 0.4, drifted"' in page
    assert 'color:#cf222e">age</th>' in page and 'left">plan</th>' in page
    assert "▁ none" not in page  # drawn as lines, not as bars too
    assert monitor_html.points([0.0, 1.0], top=1.0) == [(2.0, 32.0, 0), (218.0, 2.0, 1)]


def test_a_column_with_odd_characters_keeps_its_name_once_it_drifted() -> None:
    from datetime import datetime, timezone

    from nbmlops.monitor.history import ScoringRun

    def run(value: float, drifted: tuple[str, ...]) -> ScoringRun:
        # The kernel names a column's metric with its odd characters replaced.
        return ScoringRun("r", "j", datetime.now(timezone.utc), "FINISHED", "churn", "1",
                          "champion", bool(drifted), drifted,
                          {"petal length _cm_.wasserstein": value, "age.wasserstein": 0.0})

    [petal, age] = monitor_overview.series([run(0.0, ()), run(0.9, ("petal length (cm)",))])
    assert (petal.column, petal.values, petal.drifted) == (
        "petal length (cm)", [0.0, 0.9], [False, True])
    assert (age.column, age.drifted) == ("age", [False, False])


def test_the_windows_predictions_and_shadow_figures_are_no_columns() -> None:
    from datetime import datetime, timezone

    from nbmlops.monitor.history import ScoringRun

    figures = {"age.wasserstein": 0.1, "previous.age.wasserstein": 0.2,
               "previous.wasserstein": 0.2,  # the largest against the previous window
               "prediction.score.wasserstein": 0.3, "shadow.served.score.wasserstein": 0.4}
    runs = [ScoringRun("r", "j", datetime.now(timezone.utc), "FINISHED", "churn", "1",
                       "champion", False, (), figures)]
    assert [s.column for s in monitor_overview.series(runs)] == ["age"]
    # the reference's columns, when known, decide: a column may be named "previous"
    named = {k: v for k, v in figures.items() if k != "previous.wasserstein"}
    named["previous.jensen_shannon"] = 0.5
    runs = [ScoringRun("r", "j", datetime.now(timezone.utc), "FINISHED", "churn", "1",
                       "champion", False, (), named)]
    assert [s.column for s in monitor_overview.series(runs, ["age", "previous"])] == [
        "age", "previous"]
