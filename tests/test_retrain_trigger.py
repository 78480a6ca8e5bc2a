"""A scoring job's retraining under an orchestrator: the DAG the airflow target writes for a
job with ``retrain:``, and ``nbmlops retrain-decision`` reading the decision of the job's
newest run from a real MLflow store. (``airflow dags test`` running that DAG for real is in
tests/test_schedulers.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from nbmlops import redact, store
from nbmlops.cli import main
from nbmlops.exceptions import JobError, ScheduleError
from nbmlops.jobs.spec import Job, ParamSpec, Schedule, dump
from nbmlops.jobs.targets.airflow import AirflowTarget
from nbmlops.jobs.trigger import (
    HOLD_EXIT,
    RETRAINED_FOR_CONF,
    RETRAINED_FOR_ENV,
    retrained_for_tags,
    training_conf,
    training_folder,
)


def write_job(folder: Path, job: Job) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "job.yaml").write_text(dump(job))
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'churn'\n")
    write_job(root / "jobs" / "weekly-train", Job(name="weekly-train", notebook="train.ipynb"))
    return root


def scoring(retrain: str | None = "jobs/weekly-train", operator: str = "bash") -> Job:
    return Job(name="score", notebook="score.ipynb", source="../../score.ipynb",
               schedule=Schedule(cron="0 4 * * *", targets=["airflow"],
                                 airflow_operator=operator),
               retrain={"job": retrain, "on": "drift"} if retrain else None)


def test_the_dag_of_a_scoring_job_that_retrains_triggers_the_training_job_s_dag(
        project: Path) -> None:
    folder = project / "jobs" / "score"
    text = AirflowTarget().render(scoring(), folder)
    AirflowTarget().check(text)
    # the training job's DAG, by the id its own export gives it (its name, not its folder's)
    assert "trigger_dag_id='nbmlops_weekly_train'" in text
    assert "'NBMLOPS_RETRAIN': 'defer'," in text  # the scoring run only records its decision
    assert "bash_command='nbmlops retrain-decision \"$NBMLOPS_JOB\"'" in text
    assert f"skip_on_exit_code={HOLD_EXIT}," in text  # hold skips, and the trigger after it
    assert "tasks['run'] >> tasks['retrain_decision'] >> tasks['retrain']" in text
    assert str(project) not in text  # portable

    plain = AirflowTarget().render(scoring(retrain=None), folder)
    assert "Trigger" not in plain and "NBMLOPS_RETRAIN" not in plain and "tasks" not in plain


def test_the_training_job_is_found_from_the_project_root_or_the_job_folder(
        project: Path) -> None:
    folder = project / "jobs" / "score"
    assert training_folder(scoring(), folder) == project / "jobs" / "weekly-train"
    assert training_folder(scoring("../weekly-train"), folder) == (
        project / "jobs" / "weekly-train")


@pytest.mark.parametrize(("job", "message"), [
    (scoring("jobs/nowhere"), "retrain: job 'jobs/nowhere' is not a job folder"),
    (scoring(operator="kubernetes"), "needs a one-notebook job and the bash operator"),
])
def test_a_retraining_the_dag_cannot_start_fails_the_export(
        project: Path, job: Job, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        AirflowTarget().render(job, project / "jobs" / "score")


def job_run(uri: str, decision: str | None, params: dict[str, str] | None = None) -> str:
    """A run of job ``score`` as ``nbmlops run`` makes it, with the decision its retraining
    step recorded."""
    client = store.client(uri)
    experiment = client.create_experiment("score.ipynb") if client.get_experiment_by_name(
        "score.ipynb") is None else client.get_experiment_by_name("score.ipynb").experiment_id
    tags = {store.JOB_TAG: "score"}
    if decision:
        tags |= {store.RETRAIN_DECISION_TAG: decision, store.RETRAIN_REASON_TAG: "psi 0.4"}
    run_id = client.create_run(experiment, tags=tags).info.run_id
    for key, value in (params or {}).items():
        client.log_param(run_id, key, value)
    client.set_terminated(run_id, "FINISHED")
    return str(run_id)


def test_retrain_decision_says_the_newest_run_s_decision_by_its_exit_status(
        project: Path, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    folder = write_job(project / "jobs" / "score", scoring())
    assert main(["retrain-decision", str(folder)]) == HOLD_EXIT
    assert "no decision: job score has no run in 'score.ipynb'" in capsys.readouterr().out

    job_run(sqlite_uri, None)
    assert main(["retrain-decision", str(folder)]) == HOLD_EXIT
    assert "recorded no retraining decision" in capsys.readouterr().out
    retrain = job_run(sqlite_uri, "retrain")
    assert main(["retrain-decision", str(folder)]) == 0
    # the last line: the training DAG run's conf (the trigger's XCom)
    assert capsys.readouterr().out == (
        f'retrain: psi 0.4\n{{"nbmlops_retrained_for": "{retrain}"}}\n')
    job_run(sqlite_uri, "hold")  # only the newest run counts
    assert main(["retrain-decision", str(folder)]) == HOLD_EXIT
    assert capsys.readouterr().out == "hold: psi 0.4\n"

    assert main(["retrain-decision", str(project / "nowhere")]) == 2
    assert "no job at" in capsys.readouterr().err


def test_the_training_run_s_conf_has_the_shared_parameters_typed_and_the_run_it_is_for(
        project: Path, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    write_job(project / "jobs" / "weekly-train", Job(
        name="weekly-train", notebook="train.ipynb",
        parameters=[ParamSpec("day", "int", 0), ParamSpec("region", "str", "eu"),
                    ParamSpec("token", "str", "")]))
    folder = write_job(project / "jobs" / "score", scoring())
    with pytest.raises(JobError, match="job score has no run"):
        training_conf(folder)
    # day and token are shared (token redacted: left to its default); batch is not
    run_id = job_run(sqlite_uri, "retrain",
                     {"day": "4", "batch": "200", "token": redact.PLACEHOLDER})
    assert training_conf(folder) == {"day": 4, RETRAINED_FOR_CONF: run_id}

    job_run(sqlite_uri, "retrain", {"day": "four"})  # the training job could not take it
    with pytest.raises(JobError, match="parameter day: expected int, got 'four'"):
        training_conf(folder)


def test_the_dag_of_a_job_with_promote_tags_its_run_with_the_scoring_run_it_retrains_for(
        project: Path) -> None:
    from nbmlops.jobs.spec import Promote

    train = Job(name="weekly-train", notebook="train.ipynb",
                schedule=Schedule(cron="0 3 * * 1", targets=["airflow"]),
                promote=Promote(model="churn", gates=["auc >= 0.8"]))
    text = AirflowTarget().render(train, project / "jobs" / "weekly-train")
    AirflowTarget().check(text)
    assert ("'NBMLOPS_RETRAINED_FOR': \"{{ (dag_run.conf or {}).get('nbmlops_retrained_for', "
            "'') }}\"") in text
    plain = AirflowTarget().render(Job(name="fit", notebook="fit.ipynb", schedule=train.schedule),
                                   project / "jobs" / "fit")
    assert "RETRAINED_FOR" not in plain
    scoring_dag = AirflowTarget().render(scoring(), project / "jobs" / "score")
    assert "conf=\"{{ ti.xcom_pull(task_ids='retrain_decision') }}\"," in scoring_dag


@pytest.mark.parametrize(("value", "tags"), [
    ("", {}),
    ("  ", {}),
    ("0123456789abcdef0123456789abcdef", {store.RETRAINED_FOR_TAG:
                                          "0123456789abcdef0123456789abcdef"}),
])
def test_the_retrained_for_variable_gives_the_training_run_its_tag(
        value: str, tags: dict[str, str]) -> None:
    assert retrained_for_tags({RETRAINED_FOR_ENV: value}) == tags
    assert retrained_for_tags({}) == {}


def test_a_retrained_for_value_that_is_no_run_id_stops_the_run_before_it_starts(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_job(project / "jobs" / "fit", Job(name="fit", notebook="fit.ipynb"))
    monkeypatch.setenv(RETRAINED_FOR_ENV, "{{ oops }}")
    assert main(["run", str(folder), "--dry-run"]) == 2
    assert f"{RETRAINED_FOR_ENV} must be the MLflow run id" in capsys.readouterr().err
