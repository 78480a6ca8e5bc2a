"""A scoring job's history read back from a real MLflow store: which runs belong to the job,
in what order, and what each says."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from nbmlops import store
from nbmlops.monitor import history

_clock = iter(range(1_700_000_000_000, 1_800_000_000_000, 60_000))  # a minute apart


def _job_run(client: MlflowClient, exp: str, job: str, **tags: str) -> str:
    run = client.create_run(exp, start_time=next(_clock), tags={store.JOB_TAG: job, **tags})
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _scoring(client: MlflowClient, exp: str, parent: str, drifted: str | None,
             columns: str = "", model: str = "churn", version: str = "1") -> str:
    tags = {store.PARENT_RUN_TAG: parent, store.SCORED_WITH_MODEL_TAG: model,
            store.SCORED_WITH_VERSION_TAG: version, store.SCORED_WITH_ALIAS_TAG: "champion"}
    if drifted is not None:
        tags[store.monitor_drifted_tag(model)] = drifted
    if columns:
        tags[store.monitor_columns_tag(model)] = columns
    run = client.create_run(exp, start_time=next(_clock), tags=tags)
    client.log_metric(run.info.run_id, f"monitor.{model}.drift_share", 0.25)
    client.log_metric(run.info.run_id, "accuracy", 0.9)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def test_a_jobs_scoring_runs_oldest_first_with_their_verdicts(tmp_path: Path) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("score")
    first = _job_run(client, exp, "score")
    second = _job_run(client, exp, "score", **{
        store.ALERTS_TAG: json.dumps([{"kind": "drift", "title": "x drifted"}]),
        store.RETRAIN_DECISION_TAG: "retrain", store.RETRAIN_REASON_TAG: "drift on the last run"})
    other = _job_run(client, exp, "train")
    a = _scoring(client, exp, first, "no")
    b = _scoring(client, exp, second, "yes", "age, plan")
    _scoring(client, exp, other, "yes")  # another job's
    _scoring(client, exp, second, None, model="other")  # another model, not compared

    runs = history.scoring_runs(client, "score", model="churn")
    assert [r.run_id for r in runs] == [a, b]
    assert [r.drifted for r in runs] == [False, True]
    assert runs[1].drifted_columns == ("age", "plan")
    assert runs[1].figures == {"drift_share": 0.25}  # its own figures only
    assert runs[1].job_run_id == second and runs[1].version == "1"
    assert runs[1].window().drifted and not runs[0].window().drifted
    assert {r.model for r in history.scoring_runs(client, "score")} == {"churn", "other"}
    unknown = [r for r in history.scoring_runs(client, "score") if r.model == "other"]
    assert unknown[0].drifted is None

    last = history.last_job_run(client, "score")
    assert last is not None and last.run_id == second
    assert last.decision == "retrain" and last.alerts[0]["kind"] == "drift"
    assert history.last_job_run(client, "nothing") is None
    assert history.scoring_runs(client, "nothing") == []
