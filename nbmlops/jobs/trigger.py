"""A scoring job's retraining as an orchestrator runs it: the training job its ``retrain:``
names, and the decision its newest run recorded.

Run by ``nbmlops run`` alone, a scoring job retrains in the same process. Under an
orchestrator with a graph of its own (Airflow), the scoring task runs with
:data:`RETRAIN_ENV` set to :data:`DEFER`: the retraining step records its decision on the job's
run (:data:`nbmlops.store.RETRAIN_DECISION_TAG`) without running the training job, and a next
task reads it back here (``nbmlops retrain-decision``) and triggers the training job's own DAG,
so the orchestrator's UI shows the retraining as a run of the training job.
"""

from __future__ import annotations

from pathlib import Path

from nbmlops import config, store
from nbmlops.exceptions import JobError
from nbmlops.jobs.spec import JOB_FILE, Job, load

__all__ = ["DEFER", "HOLD_EXIT", "RETRAIN", "RETRAIN_ENV", "decision", "training_folder",
           "training_job"]

#: What a scoring job's run does about retraining: ``defer`` records the decision only.
RETRAIN_ENV = "NBMLOPS_RETRAIN"
DEFER = "defer"
RETRAIN = "retrain"  # the decision that retrains (the other one is "hold")
#: ``nbmlops retrain-decision``'s exit status when the decision is not to retrain (0:
#: retrain; 2 stays the status of bad input, 1 of a crash, so neither is taken for "hold").
HOLD_EXIT = 3


def training_folder(job: Job, folder: Path) -> Path:
    """The folder of the training job that ``retrain: job:`` of ``job`` (in ``folder``)
    names: relative to the project root (``jobs/train``), else to the scoring job's folder;
    JobError when neither holds a job."""
    policy = job.watch().retrain
    if policy is None:
        raise JobError(f"job {job.name} has no retrain: in its {JOB_FILE}")
    named = Path(policy.job)
    for base in (config.project_root(folder), folder):
        candidate = (base / named).resolve()
        if (candidate / JOB_FILE).is_file():
            return candidate
    raise JobError(f"job {job.name}: retrain: job {policy.job!r} is not a job folder (no "
                   f"{JOB_FILE} under the project root or the job's folder): export the "
                   "training notebook first")


def training_job(job: Job, folder: Path) -> Job:
    """The training job ``retrain:`` names, as its job.yaml describes it."""
    return load(training_folder(job, folder))


def decision(folder: Path) -> tuple[str | None, str | None]:
    """(decision, reason) of the newest run of the job in ``folder``: ``"retrain"``,
    ``"hold"``, or (None, why) when it never ran or recorded none."""
    from nbmlops.monitor.history import last_job_run

    job = load(folder)
    where = config.destination(folder / (job.source or job.notebook), job.experiment,
                               uri=job.tracking_uri)
    with store.fail_fast():
        client = store.client(where.tracking_uri)
        experiment = client.get_experiment_by_name(where.experiment)
        last = (last_job_run(client, job.name, [experiment.experiment_id])
                if experiment is not None else None)
    if last is None:
        return None, f"job {job.name} has no run in {where.experiment!r}"
    if last.decision is None:
        return None, f"run {last.run_id} of job {job.name} recorded no retraining decision"
    return last.decision, last.reason
