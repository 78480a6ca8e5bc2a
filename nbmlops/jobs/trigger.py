"""A scoring job's retraining as an orchestrator runs it: the training job its ``retrain:``
names, and the decision its newest run recorded.

Run by ``nbmlops run`` alone, a scoring job retrains in the same process. Under an
orchestrator with a graph of its own (Airflow), the scoring task runs with
:data:`RETRAIN_ENV` set to :data:`DEFER`: the retraining step records its decision on the job's
run (:data:`nbmlops.store.RETRAIN_DECISION_TAG`) without running the training job, and a next
task reads it back here (``nbmlops retrain-decision``) and triggers the training job's own DAG,
so the orchestrator's UI shows the retraining as a run of the training job. The trigger hands
that run :func:`training_conf` (the scoring run's shared parameters and its id, under
:data:`RETRAINED_FOR_CONF`); the training job's DAG passes the id to ``nbmlops run`` in
:data:`RETRAINED_FOR_ENV`, and :func:`retrained_for_tags` tags the training run with it, as a
retraining run in the same process is tagged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbmlops import config, redact, store
from nbmlops.exceptions import JobError
from nbmlops.jobs.spec import JOB_FILE, Job, coerce, load

__all__ = ["DEFER", "HOLD_EXIT", "RETRAIN", "RETRAINED_FOR_CONF", "RETRAINED_FOR_ENV",
           "RETRAIN_ENV", "decision", "retrained_for_tags", "shared_params", "training_conf",
           "training_folder", "training_job"]

#: What a scoring job's run does about retraining: ``defer`` records the decision only.
RETRAIN_ENV = "NBMLOPS_RETRAIN"
DEFER = "defer"
RETRAIN = "retrain"  # the decision that retrains (the other one is "hold")
#: ``nbmlops retrain-decision``'s exit status when the decision is not to retrain (0:
#: retrain; 2 stays the status of bad input, 1 of a crash, so neither is taken for "hold").
HOLD_EXIT = 3
#: The key of the training DAG run's conf naming the scoring job's run that started it, and
#: the variable the training DAG hands it to ``nbmlops run`` in.
RETRAINED_FOR_CONF = "nbmlops_retrained_for"
RETRAINED_FOR_ENV = "NBMLOPS_RETRAINED_FOR"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")  # an MLflow run id


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
    job, _, last, where = _newest(folder)
    if last is None:
        return None, f"job {job.name} has no run in {where.experiment!r}"
    if last.decision is None:
        return None, f"run {last.run_id} of job {job.name} recorded no retraining decision"
    return last.decision, last.reason


def training_conf(folder: Path) -> dict[str, Any]:
    """The conf of the training DAG run that the newest run of the scoring job in ``folder``
    starts: the values of the parameters the training job declares too, as the training job
    types them (a ``day`` retrains on the day that drifted, as ``nbmlops run`` retraining in
    the same process does), and that run's id under :data:`RETRAINED_FOR_CONF`. JobError when
    the job never ran or a shared value does not fit the training job's parameter."""
    job, client, last, where = _newest(folder)
    if last is None:
        raise JobError(f"job {job.name} has no run in {where.experiment!r}")
    train = training_job(job, folder)
    given = shared_params(client, last.run_id, train)
    typed = {name: coerce(spec, given[name]) for spec in train.parameters
             if (name := spec.name) in given}
    return {**typed, RETRAINED_FOR_CONF: last.run_id}


def shared_params(client: Any, job_run_id: str, train: Job) -> dict[str, str]:
    """The scoring run's values of the parameters the training job declares too (as MLflow
    keeps them: text, which ``nbmlops run`` casts to the declared types); a redacted value
    is left to the training job's default."""
    values = client.get_run(job_run_id).data.params
    return {p.name: values[p.name] for p in train.parameters
            if p.name in values and redact.PLACEHOLDER not in values[p.name]}


def _newest(folder: Path) -> tuple[Job, Any, Any, config.Destination]:
    """The job in ``folder``, a client of its store, its newest run (None: it never ran)
    and where its runs go."""
    from nbmlops.monitor.history import last_job_run

    job = load(folder)
    where = config.destination(folder / (job.source or job.notebook), job.experiment,
                               uri=job.tracking_uri)
    with store.fail_fast():
        client = store.client(where.tracking_uri)
        experiment = client.get_experiment_by_name(where.experiment)
        last = (last_job_run(client, job.name, [experiment.experiment_id])
                if experiment is not None else None)
    return job, client, last, where


def retrained_for_tags(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The tags of a training job's run that an orchestrator started for a scoring run
    (:data:`RETRAINED_FOR_ENV` names it; empty or unset: none). JobError when it is not a run
    id."""
    value = (os.environ if environ is None else environ).get(RETRAINED_FOR_ENV, "").strip()
    if not value:
        return {}
    if not _RUN_ID.match(value):
        raise JobError(f"{RETRAINED_FOR_ENV} must be the MLflow run id of the scoring run the "
                       f"retraining is for (got {value[:80]!r})")
    return {store.RETRAINED_FOR_TAG: value}
