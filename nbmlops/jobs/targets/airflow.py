"""Airflow: a DAG whose one task runs ``nbmlops run``, on the worker or in a Kubernetes pod.

Not the papermill provider's PapermillOperator: it would execute the notebook directly,
skipping what ``nbmlops run`` does (job.yaml validation, the parent MLflow run that nests the
tracked cells, the lock, the output kept beside the job, the one-block failure report), so an
Airflow run would differ from a cron or Kubernetes run of the same job.

Two operators, chosen by ``schedule.airflow_operator`` in job.yaml (``--airflow-operator``):

- ``bash``: a BashOperator on the Airflow worker. The DAG runs the job folder it lies in, so
  the job folder (or the repository holding it) goes into the dags folder; the worker needs
  the job's requirements and nbmlops on its PATH.
- ``kubernetes``: a KubernetesPodOperator starting the job's image (its Dockerfile), for
  Airflow workers that are not set up for the job.

A scoring job with ``retrain:`` (bash operator) gets two tasks after its run: the run only
records its retraining decision (``NBMLOPS_RETRAIN=defer``), ``nbmlops retrain-decision``
reads it back (its hold status skips what follows), and a TriggerDagRunOperator starts the
training job's own DAG, so Airflow shows the retraining as a run of that DAG
(:mod:`nbmlops.jobs.trigger`). The triggered run's conf carries the scoring run's shared
parameters and its id; the DAG of a job with ``promote:`` passes that id on, so its run is
tagged with the scoring run it retrains for.
"""

from __future__ import annotations

import pprint
import re
import shlex
from pathlib import Path
from typing import Any

from nbmlops.exceptions import NbmlopsError, ScheduleError
from nbmlops.jobs.schedule import RUN_DATE_PARAM, cron_of
from nbmlops.jobs.spec import Job, Schedule
from nbmlops.jobs.targets import kubernetes
from nbmlops.jobs.targets.base import Target, task_id, tracking_uri
from nbmlops.jobs.targets.image import dns_name
from nbmlops.jobs.trigger import (
    DEFER,
    HOLD_EXIT,
    RETRAIN_ENV,
    RETRAINED_FOR_CONF,
    RETRAINED_FOR_ENV,
    training_job,
)

OPERATORS = ("bash", "kubernetes")


def dag_id(name: str) -> str:
    return "nbmlops_" + re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


def jinja_raw(text: str) -> str:
    """``text`` as a Jinja template renders it unchanged."""
    if "endraw" in text:
        raise ScheduleError(f"{text!r} cannot be passed through Airflow's templates: rename it")
    return "{% raw %}" + text + "{% endraw %}" if ("{" in text or "%" in text) else text


def params_template(job: Job) -> str:
    """The run's parameters as a JSON object Airflow renders: the DAG's ``params`` (what a
    user sets when triggering it), and the logical date for :data:`RUN_DATE_PARAM`."""
    pairs = ", ".join(
        f'"{p.name}": ' + ('"{{ ds }}"' if p.name == RUN_DATE_PARAM else
                           "{{ params." + p.name + " | tojson }}")
        for p in job.parameters
    )
    return "{" + pairs + "}"


class AirflowTarget(Target):
    name = "airflow"
    filename = "airflow_dag.py"
    description = ("put the job folder (or its repository) in your Airflow dags folder; the "
                   "kubernetes operator runs the job's image instead")

    def needs(self, schedule: Schedule) -> tuple[str, ...]:
        return ("image",) if schedule.airflow_operator == "kubernetes" else ()

    def render(self, job: Job, folder: Path) -> str:
        operator = job.schedule.airflow_operator
        if operator not in OPERATORS:
            raise ScheduleError(f"unknown Airflow operator {operator!r} "
                                f"(known: {', '.join(OPERATORS)})")
        timeout = f"timedelta(seconds={job.run_timeout!r})" if job.run_timeout else "None"
        retrain = _retrain_dag_id(job, folder)
        head = _HEAD.format(
            name=job.name, dag_id=dag_id(job.name), cron=cron_of(job),
            tz=job.schedule.timezone, retries=job.retries, retry_delay=job.retry_delay,
            params=repr({p.name: p.default for p in job.parameters}),
            imports=_IMPORTS[operator] + (_TRIGGER_IMPORT if retrain else ""),
            path_import="from pathlib import Path\n" if operator == "bash" else "",
            tasks="\ntasks = {}\n" if job.steps or retrain else "",
        )
        # One task, or one per step of a pipeline with the steps' needs: Airflow draws the
        # graph. (task id, its needs, what `nbmlops run` gets besides the job folder)
        tasks = ([("run", [], [])] if not job.steps else
                 [(task_id(s.name), [task_id(n) for n in s.needs], ["--only", s.name])
                  for s in job.steps])
        if operator == "bash":
            # Paths and settings are shielded from Airflow's Jinja in raw blocks, so a folder
            # named "{{ 7*7 }}" stays that folder; the parameters reach `nbmlops run` as JSON
            # through the environment, never pasted into the command.
            env = {"NBMLOPS_PARAMS": params_template(job)}
            if tracking_uri(job):
                env["MLFLOW_TRACKING_URI"] = jinja_raw(tracking_uri(job) or "")
            if retrain:
                env[RETRAIN_ENV] = DEFER  # the run records its decision; the DAG acts on it
            if job.promote is not None and not job.steps:  # a job a scoring DAG may retrain
                env[RETRAINED_FOR_ENV] = _RETRAINED_FOR
            body = _BASH_ENV.format(env="".join(f"    {k!r}: {v!r},\n" for k, v in env.items()))
            for tid, _, only in tasks:
                command = " ".join(['nbmlops run "$NBMLOPS_JOB"', *map(shlex.quote, only),
                                    '--params-json "$NBMLOPS_PARAMS"'])
                body += _BASH_TASK.format(task=_task_target(job, tid, retrain), task_id=tid,
                                          command=jinja_raw(command), timeout=timeout)
            if retrain:
                body += _RETRAIN_TASKS.format(hold=HOLD_EXIT, dag_id=retrain,
                                              conf=_TRAINING_CONF)
        else:
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"labels": kubernetes.labels(job)},
                   "spec": kubernetes.pod_spec(job, folder, container_name="base")}
            body = _POD.format(pod=_jinja_safe(pod))
            for tid, _, only in tasks:
                name = dns_name("-".join(["nbmlops", job.name, *only[1:]]))
                arguments = [*map(jinja_raw, only), "--params-json", params_template(job)]
                body += _POD_TASK.format(task=_task_target(job, tid, None), task_id=tid, name=name,
                                         arguments=arguments, timeout=timeout)
        edges = [f"tasks[{need!r}] >> tasks[{tid!r}]\n" for tid, needs, _ in tasks
                 for need in needs]
        if retrain:
            edges.append("tasks['run'] >> tasks['retrain_decision'] >> tasks['retrain']\n")
        return head + body + ("\n" + "".join(edges) if edges else "")

    def check(self, text: str) -> None:
        try:
            compile(text, self.filename, "exec")
        except SyntaxError as e:
            raise ScheduleError(f"the airflow DAG does not compile: {e}") from None
        pod = _pod_of(text)
        if pod is not None:
            kubernetes.validate(pod, "Pod of the Airflow DAG")


def _retrain_dag_id(job: Job, folder: Path) -> str | None:
    """The DAG id of the training job a scoring job's ``retrain:`` names (None without
    one): the id that job's own export gives its DAG."""
    if job.watch().retrain is None:
        return None
    if job.steps or job.schedule.airflow_operator != "bash":
        raise ScheduleError(f"job {job.name}: retrain: under Airflow needs a one-notebook job "
                            "and the bash operator")
    try:
        return dag_id(training_job(job, folder).name)
    except NbmlopsError as e:
        raise ScheduleError(str(e)) from None


def _jinja_safe(value: Any) -> str:
    """``value`` as Python source, each string shielded from Airflow's templates."""
    def shield(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: shield(x) for k, x in v.items()}
        if isinstance(v, list):
            return [shield(x) for x in v]
        return jinja_raw(v) if isinstance(v, str) else v

    return pprint.pformat(shield(value), sort_dicts=False, width=96)


def _pod_of(text: str) -> dict[str, Any] | None:
    """The POD literal of a rendered pod DAG (None in a bash DAG)."""
    import ast

    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "POD" for t in node.targets):
            pod = ast.literal_eval(node.value)
            return pod if isinstance(pod, dict) else None
    return None


_IMPORTS = {
    "bash": "from airflow.providers.standard.operators.bash import BashOperator\n",
    "kubernetes": "from airflow.providers.cncf.kubernetes.operators.pod import "
                  "KubernetesPodOperator\n",
}

_HEAD = '''"""nbmlops job {name!r}: `nbmlops run` on a schedule (from `nbmlops export`)."""

from __future__ import annotations

from datetime import timedelta
{path_import}
import pendulum
{imports}from airflow.sdk import DAG

dag = DAG(
    dag_id={dag_id!r},
    schedule={cron!r},
    start_date=pendulum.datetime(2024, 1, 1, tz={tz!r}),
    catchup=False,
    max_active_runs=1,  # as the job's lock: runs never overlap
    params={params},
    tags=["nbmlops"],
    default_args={{"retries": {retries}, "retry_delay": timedelta(seconds={retry_delay!r})}},
)
{tasks}'''

_BASH_ENV = '''
# The job folder is the folder of this file: copy or sync the job folder (or the repository
# holding it) into the dags folder. `nbmlops` comes from the worker's PATH, the tracking server
# from job.yaml or the worker's environment.
JOB = str(Path(__file__).resolve().parent)

env = {{
    "NBMLOPS_JOB": "{{% raw %}}" + JOB + "{{% endraw %}}",
{env}}}
'''

_BASH_TASK = '''
{task}BashOperator(
    dag=dag,
    task_id={task_id!r},
    bash_command={command!r},
    env=env,
    append_env=True,
    execution_timeout={timeout},
)
'''

_TRIGGER_IMPORT = ("from airflow.providers.standard.operators.trigger_dagrun import "
                   "TriggerDagRunOperator\n")

# After the scoring run: its retraining decision read back by nbmlops (exit 0: retrain; the
# hold status skips the task, and the trigger after it), then the training job's DAG started
# with the conf the decision's last line gives (the task's XCom, JSON the trigger parses).
_RETRAIN_TASKS = '''
tasks["retrain_decision"] = BashOperator(
    dag=dag,
    task_id="retrain_decision",
    bash_command='nbmlops retrain-decision "$NBMLOPS_JOB"',
    env=env,
    append_env=True,
    skip_on_exit_code={hold!r},
)

tasks["retrain"] = TriggerDagRunOperator(
    dag=dag,
    task_id="retrain",
    trigger_dag_id={dag_id!r},
    conf={conf!r},
)
'''

_TRAINING_CONF = "{{ ti.xcom_pull(task_ids='retrain_decision') }}"
# In a training job's DAG: the scoring run a triggered run is for (empty when not triggered).
_RETRAINED_FOR = "{{ (dag_run.conf or {}).get('" + RETRAINED_FOR_CONF + "', '') }}"

_POD = '''
# The Pod a task starts: the job's image (built from its Dockerfile), the job folder in it,
# the tracking server, the same as the CronJob of the kubernetes target.
POD = {pod}
'''

_POD_TASK = '''
{task}KubernetesPodOperator(
    dag=dag,
    task_id={task_id!r},
    name={name!r},
    pod_template_dict=POD,
    image=POD["spec"]["containers"][0]["image"],
    cmds=POD["spec"]["containers"][0]["command"],
    arguments={arguments!r},
    get_logs=True,
    execution_timeout={timeout},
)
'''


def _task_target(job: Job, tid: str, retrain: str | None) -> str:
    """How the DAG keeps a task: a pipeline's, by id, to wire the steps' needs; a scoring
    job's run, to run the retraining tasks after it."""
    return f"tasks[{tid!r}] = " if job.steps or retrain else ""
