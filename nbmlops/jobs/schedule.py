"""Schedule targets: one writer class per scheduler, found by name in :data:`TARGETS`.

A target renders the file its scheduler reads from a :class:`~nbmlops.jobs.spec.Job` (a pure
function of the job and its folder), checks what it rendered, and, where nbmlops can do it
itself, installs and removes the schedule. Adding a target is one class decorated with
:func:`register`.

Every target runs the same thing, ``nbmlops run JOB``, so validation, the parent MLflow run,
the lock and the failure report are the same wherever a job is scheduled.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from nbmlops import config
from nbmlops.exceptions import ScheduleError
from nbmlops.jobs.spec import Job

#: Marks the crontab lines nbmlops owns: ``# nbmlops:<absolute job folder>``.
CRON_MARKER = "nbmlops:"
CRON_LOG = "logs/cron.log"
#: A parameter of this name receives the scheduler's run date (``YYYY-MM-DD``).
RUN_DATE_PARAM = "run_date"

TARGETS: dict[str, type[Target]] = {}


def register(cls: type[Target]) -> type[Target]:
    TARGETS[cls.name] = cls
    return cls


def target(name: str) -> Target:
    try:
        return TARGETS[name]()
    except KeyError:
        raise ScheduleError(
            f"unknown schedule target {name!r} (known: {', '.join(TARGETS)})"
        ) from None


# -- cron expressions ---------------------------------------------------------------------------


def check_cron(expr: str) -> str:
    """``expr`` when it is a five-field cron expression, else a ScheduleError saying why."""
    from croniter import croniter

    expr = " ".join(expr.split())
    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ScheduleError(
            f"invalid cron expression {expr!r}: five fields are needed, minute hour "
            "day-of-month month day-of-week, e.g. '0 3 * * 1'"
        )
    return expr


def next_run(expr: str, timezone: str = "UTC", now: datetime | None = None) -> datetime:
    """When ``expr`` fires next, in ``timezone``."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError) as e:
        raise ScheduleError(f"unknown timezone {timezone!r}") from e
    start = (now or datetime.now(zone)).astimezone(zone)
    return croniter(check_cron(expr), start).get_next(datetime)


def describe(expr: str) -> str:
    """``0 3 * * 1`` -> ``At 03:00 AM, only on Monday``."""
    from cron_descriptor import get_description

    return str(get_description(expr))


# -- the environment a scheduled run needs ------------------------------------------------------


def nbmlops_executable() -> str:
    """The ``nbmlops`` script of this installation: a scheduler's PATH does not have it."""
    beside = Path(sys.executable).with_name("nbmlops")
    return str(beside) if beside.exists() else shutil.which("nbmlops") or "nbmlops"


def run_environment(job: Job, folder: Path) -> dict[str, str]:
    """What ``nbmlops run`` needs from the installing shell: the tracking store and spool it
    would use there (cron starts with an almost empty environment)."""
    root = config.project_root(folder)
    env = {
        "MLFLOW_TRACKING_URI": job.tracking_uri or config.tracking_uri(root),
        config.ENV_SPOOL: str(config.spool_dir(root)),
        "PATH": os.pathsep.join(dict.fromkeys(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])),
    }
    for name in ("HOME", "LANG"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return env


# -- targets ----------------------------------------------------------------------------------


class Target:
    """A scheduler. ``render`` is pure; ``install``/``remove`` touch the system."""

    name: ClassVar[str]
    filename: ClassVar[str]  # relative to the job folder
    description: ClassVar[str]

    def render(self, job: Job, folder: Path) -> str:
        raise NotImplementedError

    def check(self, text: str) -> None:
        """Raise ScheduleError when ``text`` is not what the scheduler accepts."""

    def install(self, job: Job, folder: Path) -> str:
        raise ScheduleError(
            f"{self.name}: nbmlops does not install this target itself; {self.description}"
        )

    def remove(self, job: Job, folder: Path) -> str:
        raise ScheduleError(f"{self.name}: remove {folder / self.filename} from where you "
                            "copied it")


def _cron_of(job: Job) -> str:
    if not job.schedule.cron:
        raise ScheduleError(f"job {job.name} has no schedule: export it with --schedule CRON "
                            "or set schedule.cron in job.yaml")
    return check_cron(job.schedule.cron)


@register
class CronTarget(Target):
    name = "cron"
    filename = "crontab.txt"
    description = "`nbmlops schedule JOB --install` adds it to your crontab"

    def command(self, job: Job, folder: Path) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in run_environment(job, folder).items())
        run = f"{shlex.quote(nbmlops_executable())} run {shlex.quote(str(folder))}"
        log = shlex.quote(str(folder / CRON_LOG))
        line = f"cd {shlex.quote(str(folder))} && env {env} {run} >> {log} 2>&1"
        if "\n" in line or "\r" in line:  # no quoting carries a line break through crontab
            raise ScheduleError(
                f"a cron entry is one line, and the job's path or settings hold a line break "
                f"({str(folder)!r}): move the project, or use another target")
        # cron turns an unescaped % into a newline
        return line.replace("%", r"\%")

    def render(self, job: Job, folder: Path) -> str:
        tz = job.schedule.timezone
        note = "" if tz in ("UTC", _local_zone()) else (
            f"# note: cron uses the machine's timezone, not {tz}\n")
        return (f"# {describe(_cron_of(job))} (nbmlops job {job.name})\n{note}"
                f"{_cron_of(job)} {self.command(job, folder)} # {CRON_MARKER}{folder}\n")

    def check(self, text: str) -> None:
        for line in text.splitlines():
            if line and not line.startswith("#"):
                check_cron(" ".join(line.split()[:5]))

    def install(self, job: Job, folder: Path) -> str:
        (folder / CRON_LOG).parent.mkdir(parents=True, exist_ok=True)
        tab = _crontab()
        tab.remove_all(comment=f"{CRON_MARKER}{folder}")
        entry = tab.new(command=self.command(job, folder), comment=f"{CRON_MARKER}{folder}")
        entry.setall(_cron_of(job))
        _write(tab)
        when = next_run(_cron_of(job), job.schedule.timezone)
        return (f"installed in the crontab: {_cron_of(job)} ({describe(_cron_of(job))}); "
                f"next run {when:%Y-%m-%d %H:%M %Z}; log {folder / CRON_LOG}")

    def remove(self, job: Job, folder: Path) -> str:
        tab = _crontab()
        removed = tab.remove_all(comment=f"{CRON_MARKER}{folder}")
        if not removed:
            return f"no crontab entry for {folder}"
        _write(tab)
        return f"removed {removed} crontab entr{'y' if removed == 1 else 'ies'} for {folder}"


def _local_zone() -> str:
    try:
        return str(Path("/etc/timezone").read_text().strip())
    except OSError:
        return "UTC"


def _crontab() -> Any:
    from crontab import CronTab

    try:
        return CronTab(user=True)
    except (OSError, ValueError) as e:
        raise ScheduleError(f"cannot read the user crontab (is cron installed?): {e}") from None


def _write(tab: Any) -> None:
    try:
        tab.write()
    except (OSError, ValueError) as e:
        raise ScheduleError(f"cannot write the user crontab: {' '.join(str(e).split())}") from None


@dataclass(frozen=True)
class CronEntry:
    folder: Path
    schedule: str
    enabled: bool


def cron_entries() -> Iterator[CronEntry]:
    """The crontab lines nbmlops installed, with their job folders."""
    try:
        tab = _crontab()
    except ScheduleError:
        return
    for entry in tab:
        comment = entry.comment or ""
        if comment.startswith(CRON_MARKER):
            yield CronEntry(Path(comment[len(CRON_MARKER):]), str(entry.slices),
                            bool(entry.is_enabled()))


def _dag_id(name: str) -> str:
    return "nbmlops_" + re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")


@register
class AirflowTarget(Target):
    """A DAG with one BashOperator task running ``nbmlops run``.

    Not the papermill provider's PapermillOperator: it would execute the notebook directly,
    skipping what ``nbmlops run`` does (job.yaml validation, the parent MLflow run that nests
    the tracked cells, the lock, the output kept beside the job, the one-block failure report),
    so an Airflow run would differ from a cron or Kubernetes run of the same job.
    """

    name = "airflow"
    filename = "airflow_dag.py"
    description = "copy airflow_dag.py into your Airflow dags folder"

    def render(self, job: Job, folder: Path) -> str:
        params = {p.name: p.default for p in job.parameters}
        # Quoting-safe: the parameters reach `nbmlops run` as JSON through the environment.
        pairs = ", ".join(
            f'"{name}": ' + ('"{{ ds }}"' if name == RUN_DATE_PARAM else
                             "{{ params." + name + " | tojson }}")
            for name in params
        )
        # Airflow renders bash_command and env as Jinja templates: what comes from paths and
        # names is shielded in raw blocks, so a folder named "{{ 7*7 }}" stays that folder.
        env = {
            k: _jinja_raw(v) for k, v in run_environment(job, folder).items() if k != "PATH"
        } | {"NBMLOPS_PARAMS": "{" + pairs + "}"}
        timeout = (f"timedelta(seconds={job.run_timeout!r})" if job.run_timeout else "None")
        if job.steps:
            return _airflow_pipeline(job, folder, params, env, timeout)
        return _AIRFLOW_DAG.format(
            name=job.name, dag_id=_dag_id(job.name), cron=_cron_of(job),
            tz=job.schedule.timezone, retries=job.retries, retry_delay=job.retry_delay,
            timeout=timeout, params=repr(params), env=repr(env),
            command=repr(_jinja_raw(
                f"{shlex.quote(nbmlops_executable())} run {shlex.quote(str(folder))}"
            ) + ' --params-json "$NBMLOPS_PARAMS"'),
        )

    def check(self, text: str) -> None:
        try:
            compile(text, self.filename, "exec")
        except SyntaxError as e:
            raise ScheduleError(f"the airflow DAG does not compile: {e}") from None


_AIRFLOW_DAG = '''"""An nbmlops job: `nbmlops run` on a schedule (from `nbmlops export`)."""
# job {name!r}

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id={dag_id!r},
    schedule={cron!r},
    start_date=pendulum.datetime(2024, 1, 1, tz={tz!r}),
    catchup=False,
    max_active_runs=1,  # as the job's lock: runs never overlap
    params={params},
    tags=["nbmlops"],
    default_args={{"retries": {retries}, "retry_delay": timedelta(seconds={retry_delay!r})}},
) as dag:
    BashOperator(
        task_id="run",
        bash_command={command},
        env={env},
        append_env=True,
        execution_timeout={timeout},
    )
'''


# -- pipelines: one task per step -------------------------------------------------------------


def step_commands(job: Job, folder: Path | str) -> list[tuple[str, list[str], str]]:
    """(step, its needs, the shell command running it alone) for each step of a pipeline,
    in job.yaml's order: what a scheduler with a graph of its own (Airflow, GitHub Actions)
    runs as one task each, so its UI shows the pipeline's graph."""
    return [(s.name, list(s.needs),
             f"nbmlops run {shlex.quote(str(folder))} --only {shlex.quote(s.name)}")
            for s in job.steps]


def _airflow_pipeline(job: Job, folder: Path, params: dict[str, Any], env: dict[str, str],
                      timeout: str) -> str:
    executable = shlex.quote(nbmlops_executable())
    tasks, edges = [], []
    for name, needs, command in step_commands(job, folder):
        command = executable + command[len("nbmlops"):]
        tasks.append(_AIRFLOW_TASK.format(
            var=repr(name), task_id=repr(_task_id(name)), timeout=timeout,
            command=repr(_jinja_raw(command) + ' --params-json "$NBMLOPS_PARAMS"')))
        edges += [f"    tasks[{need!r}] >> tasks[{name!r}]\n" for need in needs]
    return _AIRFLOW_DAG.split("    BashOperator(")[0].format(
        name=job.name, dag_id=_dag_id(job.name), cron=_cron_of(job),
        tz=job.schedule.timezone, retries=job.retries, retry_delay=job.retry_delay,
        params=repr(params),
    ) + f"    env = {env!r}\n    tasks = {{}}\n" + "".join(tasks) + "".join(edges)


def _task_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


_AIRFLOW_TASK = """    tasks[{var}] = BashOperator(
        task_id={task_id},
        bash_command={command},
        env=env,
        append_env=True,
        execution_timeout={timeout},
    )
"""


def _jinja_raw(text: str) -> str:
    """``text`` as a Jinja template renders it unchanged."""
    if "endraw" in text:
        raise ScheduleError(f"{text!r} cannot be passed through Airflow's templates: rename it")
    return "{% raw %}" + text + "{% endraw %}" if ("{" in text or "%" in text) else text


def _k8s_name(name: str) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return (slug or "job")[:52]  # CronJob names are at most 52 characters


@register
class KubernetesTarget(Target):
    name = "kubernetes"
    filename = "cronjob.yaml"
    description = "`kubectl apply -f cronjob.yaml` (build an image holding the job folder first)"
    kube_version = "1.30.0"

    def manifest(self, job: Job, folder: Path) -> dict[str, Any]:
        uri = job.tracking_uri or "http://mlflow:5000"
        container: dict[str, Any] = {
            "name": "job",
            "image": job.image or f"{_k8s_name(job.name)}:latest",
            "command": ["nbmlops", "run", "/job"],
            "workingDir": "/job",
            "env": [{"name": "MLFLOW_TRACKING_URI", "value": uri}],
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"memory": "4Gi"},
            },
        }
        job_spec: dict[str, Any] = {
            "backoffLimit": job.retries,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container]}},
        }
        if job.run_timeout:
            job_spec["activeDeadlineSeconds"] = int(job.run_timeout * (job.retries + 1))
        return {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": _k8s_name(job.name), "labels": {"app.kubernetes.io/managed-by":
                                                                  "nbmlops"}},
            "spec": {
                "schedule": _cron_of(job),
                "timeZone": job.schedule.timezone,
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {"spec": job_spec},
            },
        }

    def render(self, job: Job, folder: Path) -> str:
        import yaml

        return ("# nbmlops job " + job.name + ": the image must hold the job folder at /job "
                "and nbmlops\n" + yaml.safe_dump(self.manifest(job, folder), sort_keys=False))

    def check(self, text: str) -> None:
        import kubernetes_validate
        import yaml

        try:
            kubernetes_validate.validate(yaml.safe_load(text), self.kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            raise ScheduleError(f"invalid CronJob manifest at {path}: {e.message}") from None


def _default(spec: dict[str, Any]) -> str:
    # a string literal of GitHub's expression language: single quotes, doubled inside
    return "'" + str(spec["default"]).replace("'", "''") + "'"


@register
class GithubTarget(Target):
    name = "github"
    filename = "github-workflow.yml"
    description = "copy github-workflow.yml to .github/workflows/ of the repository"

    def workflow(self, job: Job, folder: Path) -> dict[str, Any]:
        root = config.project_root(folder)
        try:
            where = folder.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            where = folder.name
        kinds = {"int": "number", "float": "number", "bool": "boolean"}
        inputs = {
            p.name: {"description": p.help or p.name, "required": False,
                     "type": kinds.get(p.type, "string"),
                     "default": p.default if p.type in kinds else json.dumps(p.default)
                     if p.type in ("list", "dict") else str(p.default or "")}
            for p in job.parameters
        }
        # Inputs reach the script through the environment, never pasted into it (GitHub's
        # advice against script injection); paths are quoted for the shell.
        env = {
            f"NBMLOPS_PARAM_{p.name}": f"${{{{ inputs.{p.name} || {_default(inputs[p.name])} }}}}"
            for p in job.parameters if p.name != RUN_DATE_PARAM
        }
        args = "".join(
            f' -p {p.name} "$NBMLOPS_PARAM_{p.name}"'
            if p.name != RUN_DATE_PARAM else f' -p {p.name} "$(date -u +%F)"'
            for p in job.parameters
        )
        requirements = shlex.quote(f"{where}/requirements.txt")
        workflow: dict[str, Any] = {
            "name": f"nbmlops job {job.name}",
            "on": {"schedule": [{"cron": _cron_of(job)}], "workflow_dispatch": {"inputs": inputs}},
            "concurrency": {"group": "nbmlops-" + re.sub(r"[^A-Za-z0-9._-]+", "-", job.name),
                            "cancel-in-progress": False},
            "jobs": {"run": {
                "runs-on": "ubuntu-latest",
                **({"timeout-minutes": max(1, round(job.run_timeout / 60))}
                   if job.run_timeout else {}),
                "env": {"MLFLOW_TRACKING_URI": "${{ secrets.MLFLOW_TRACKING_URI }}"},
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"uses": "actions/setup-python@v5", "with": {"python-version": "3.11"}},
                    {"run": f"pip install nbmlops -r {requirements}"},
                    {"env": env, "run": f"nbmlops run {shlex.quote(where)}{args}"},
                ],
            }},
        }
        if job.steps:
            # One workflow job per step, with the pipeline's needs: GitHub draws the graph.
            # Each runs on a runner of its own: what a step reads from another must reach it
            # (a data store, or actions/upload-artifact and download-artifact).
            run = workflow["jobs"].pop("run")
            for name, needs, command in step_commands(job, where):
                step_job = copy.deepcopy(
                    {**run, "steps": [*run["steps"][:-1], {"env": env, "run": command + args}]})
                workflow["jobs"][_task_id(name)] = (
                    {"needs": [_task_id(n) for n in needs], **step_job} if needs else step_job)
        return workflow

    def render(self, job: Job, folder: Path) -> str:
        import yaml

        note = ("# GitHub runs schedules in UTC" +
                ("" if job.schedule.timezone == "UTC" else
                 f"; this job's timezone {job.schedule.timezone} is not applied") + "\n")
        return note + yaml.safe_dump(self.workflow(job, folder), sort_keys=False, width=200)

    def check(self, text: str) -> None:
        import yaml

        data = yaml.safe_load(text)
        # PyYAML reads the key `on` as True (YAML 1.1), as GitHub does not; accept both.
        on = data.get("on", data.get(True)) if isinstance(data, dict) else None
        if not on or "jobs" not in data:
            raise ScheduleError("the GitHub workflow lacks 'on' or 'jobs'")
        for item in on.get("schedule", []):
            check_cron(item["cron"])
