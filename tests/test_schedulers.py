"""Schedules in real schedulers: a real cron daemon fires an installed job; a real Airflow
imports the generated DAG.

Both need parts outside the venv (Debian's ``cron`` run as root; an Airflow virtual
environment made by ``.ci/airflow-venv``). Missing parts skip the test on a workstation and
fail it in CI (``CI=true``), where ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.jobs.export.folder import export_job

NOTEBOOKS = Path(__file__).parent / "notebooks"
BIN = Path(sys.executable).parent
AIRFLOW_VENV = Path(os.environ.get("NBMLOPS_AIRFLOW_VENV",
                                   Path.home() / ".cache" / "nbmlops-airflow-venv"))


def missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} is not available")


def nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], capture_output=True, text=True,
                          timeout=120, check=False)


#: How long after the cron daemon starts its clock reaches a whole minute (see below): enough
#: for the test to install its job first.
CRON_LEAD_SECONDS = 15


def clock_near_a_minute() -> dict[str, str]:
    """Environment that starts a program with its clock CRON_LEAD_SECONDS before a whole
    minute (Debian's libfaketime, when installed; CI installs it). Cron runs a job at the
    minute its own clock reaches, so the test waits seconds for it instead of up to a minute
    of the wall clock; the job itself runs on the real clock (cron hands it an environment of
    its own)."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("faketime is required in CI (.ci/run installs it)")
        return {}
    ahead = (60 - CRON_LEAD_SECONDS - time.time() % 60) % 60
    return {"LD_PRELOAD": str(found[0]), "FAKETIME": f"+{ahead:.1f}s"}


@pytest.fixture
def cron_daemon() -> Iterator[None]:
    """A running cron daemon: started here (and stopped by its pid) unless one runs."""
    cron = shutil.which("cron") or ("/usr/sbin/cron" if Path("/usr/sbin/cron").exists() else None)
    if cron is None or not shutil.which("crontab"):
        missing("Debian's cron (apt-get install cron)")
    if os.geteuid() != 0:
        missing("root, to start the cron daemon")
    pidfile = Path("/var/run/crond.pid")
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pidfile.read_text().split()[0]), 0)
        yield  # a daemon runs already: use it, and leave it running
        return
    daemon = subprocess.Popen([str(cron), "-f"], env={**os.environ, **clock_near_a_minute()},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(10)
        except subprocess.TimeoutExpired:
            daemon.kill()


@pytest.mark.cron
@pytest.mark.timeout(240)
def test_cron_runs_the_installed_job(
    cron_daemon: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'cron'\n")
    shutil.copy(NOTEBOOKS / "job_parameters.ipynb", project / "check.ipynb")
    # What `nbmlops schedule` writes into the cron line comes from this environment.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    folder = export_job(project / "check.ipynb", cron="* * * * *").folder

    installed = nbmlops("schedule", str(folder), "--install")
    assert installed.returncode == 0, installed.stderr
    assert "next run" in installed.stdout
    try:
        [row] = [r for r in json.loads(nbmlops("jobs", "--json").stdout)
                 if r["folder"] == str(folder)]
        assert (row["name"], row["schedule"], row["last_run"]) == ("check", "* * * * *", None)

        client = MlflowClient(sqlite_uri)
        deadline = time.monotonic() + 150  # the next minute, plus a kernel's start
        runs: list = []  # type: ignore[type-arg]
        while not runs:
            assert time.monotonic() < deadline, (
                "no run from cron; log: " + _read(folder / "logs" / "cron.log"))
            time.sleep(2)
            ids = [e.experiment_id for e in client.search_experiments()]
            runs = client.search_runs(ids, "tags.`nbmlops.job` = 'check'") if ids else []
        while runs[0].info.status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(1)
            runs = [client.get_run(runs[0].info.run_id)]
        assert runs[0].info.status == "FINISHED", _read(folder / "logs" / "cron.log")
        [row] = [r for r in json.loads(nbmlops("jobs", "--json").stdout)
                 if r["folder"] == str(folder)]
        assert row["last_run"]["status"] == "FINISHED"
    finally:
        removed = nbmlops("schedule", str(folder), "--remove")
    assert removed.returncode == 0 and "removed 1 crontab entry" in removed.stdout
    assert str(folder) not in nbmlops("jobs").stdout


def test_installs_at_once_keep_every_crontab_line(tmp_path: Path) -> None:
    """Jobs installed at the same moment (a terminal and the sidebar, or two of them) each read
    and write back the whole crontab: none may write over the line of another."""
    if not shutil.which("crontab"):
        missing("Debian's crontab (apt-get install cron)")
    from concurrent.futures import ThreadPoolExecutor

    from nbmlops.jobs.spec import Job
    from nbmlops.jobs.targets.cron import CronTarget, cron_entries

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'many'\n")
    jobs = [(Job.from_dict({"name": f"job{i}", "notebook": "job.ipynb",
                            "schedule": {"cron": f"{i} 3 * * *"}}), tmp_path / f"job{i}")
            for i in range(8)]
    target = CronTarget()
    try:
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(lambda pair: target.install(*pair), jobs))
        installed = {e.folder: e.schedule for e in cron_entries()}
        assert {f: installed.get(f) for _, f in jobs} == {
            f: f"{i} 3 * * *" for i, (_, f) in enumerate(jobs)}
    finally:
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(lambda pair: target.remove(*pair), jobs))
    assert not {f for _, f in jobs} & {e.folder for e in cron_entries()}


def _read(path: Path) -> str:
    try:
        return path.read_text()[-2000:]
    except OSError:
        return "(none)"


class Airflow:
    """A real Airflow (its own virtual environment) whose dags folder is a project's ``jobs``
    folder, as a team syncing its repository into Airflow would have it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.env = {**os.environ,
                    "AIRFLOW_HOME": str(root / "airflow-home"),
                    "AIRFLOW__CORE__DAGS_FOLDER": str(self.project / "jobs"),
                    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    # the worker's own setup: nbmlops on PATH, a tracking server, a spool
                    "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
                    "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
                    "NBMLOPS_SPOOL": str(root / "spool")}
        self.env.pop("NBMLOPS_NOTEBOOK", None)

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIRFLOW_VENV / "bin" / "airflow"), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False)

    def python(self, script: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(AIRFLOW_VENV / "bin" / "python"), "-c", script, *args],
                              env=self.env, capture_output=True, text=True, timeout=180,
                              check=False)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Airflow:
    """Two exported jobs (one fits, one fails) and a training job with a scoring job that
    retrains through it, in a project Airflow reads its DAGs from; its database migrated and
    the DAGs serialized once for the module; the worker's MLflow store made already, as a
    team's would be."""
    if not (AIRFLOW_VENV / "bin" / "airflow").exists():
        missing(f"an Airflow virtual environment at {AIRFLOW_VENV} (bash .ci/airflow-venv)")
    af = Airflow(tmp_path_factory.mktemp("airflow"))
    shutil.copy(migrated_db, af.root / "mlflow.db")
    af.project.mkdir()
    (af.project / "pyproject.toml").write_text("[project]\nname = 'team'\n")
    for source, name in (("job_inferred.ipynb", "fit.ipynb"),
                         ("tracked_failure.ipynb", "broken.ipynb")):
        shutil.copy(NOTEBOOKS / source, af.project / name)
        export_job(af.project / name, cron="0 3 * * 1", targets=["airflow"])
    _retraining_jobs(af.project)
    for step in (("db", "migrate"), ("dags", "reserialize")):
        done = af.airflow(*step)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return af


#: The chain's data: 200 rows a day, the same every time; ``x0`` moved by two from day 4 on.
DAYS = """
import pandas as pd
from sklearn.datasets import make_classification


def day(number):
    X, y = make_classification(n_samples=200 * 6, n_features=3, n_informative=3,
                               n_redundant=0, class_sep=2.0, random_state=0)
    rows = slice(number * 200, (number + 1) * 200)
    frame = pd.DataFrame(X[rows], columns=["x0", "x1", "x2"])
    if number >= 4:
        frame["x0"] += 2.0
    return frame, pd.Series(y[rows], name="label")
"""


def _retraining_jobs(project: Path) -> None:
    """A training job that registers model ``days`` through a gate, trained on the day it is
    given, and a scoring job of a day's batch with the champion, whose ``retrain:`` names the
    training job; each exported as a user does: once, then again after adding its section to
    job.yaml."""
    import nbformat
    import yaml

    def export(name: str, cells: list[str], **section: object) -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        nb.cells[1].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, project / f"{name}.ipynb")
        folder = export_job(project / f"{name}.ipynb", cron="0 4 * * *",
                            targets=["airflow"]).folder
        spec = yaml.safe_load((folder / "job.yaml").read_text())
        (folder / "job.yaml").write_text(yaml.safe_dump({**spec, **section}, sort_keys=False))
        export_job(project / f"{name}.ipynb")

    (project / "days.py").write_text(DAYS)
    export("train", ["%load_ext nbmlops", "day = 0",
                     "%%track fit --model clf=days\n"
                     "from sklearn.linear_model import LogisticRegression\n"
                     "from sklearn.metrics import roc_auc_score\n"
                     "import days\n"
                     "X_train, y_train = days.day(day)\n"
                     "clf = LogisticRegression().fit(X_train, y_train)\n"
                     "auc = roc_auc_score(y_train, clf.predict_proba(X_train)[:, 1])"],
           promote={"model": "days", "gates": ["auc >= 0.8"]})
    export("score", ["%load_ext nbmlops", "day = 1",
                     "%%track score\n"
                     "import nbmlops\n"
                     "import days\n"
                     "batch, _ = days.day(day)\n"
                     "scores = nbmlops.load_model('days@champion').predict_proba(batch)[:, 1]"],
           retrain={"job": "jobs/train", "on": "drift"})


def _dag_runs(airflow: Airflow, dag_id: str) -> list[dict[str, str]]:
    done = airflow.airflow("dags", "list-runs", dag_id, "-o", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]  # after Airflow's own warnings
    runs = json.loads(last)
    assert isinstance(runs, list), done.stdout[-2000:]
    return runs


_CONF_PROBE = """
import json, sys
from sqlalchemy import select
from airflow.models.dagrun import DagRun
from airflow.utils.session import create_session
with create_session() as session:
    run = session.scalars(select(DagRun).where(DagRun.dag_id == sys.argv[1],
                                               DagRun.run_id == sys.argv[2])).one()
    print(json.dumps(run.conf))
"""


def _conf(airflow: Airflow, dag_id: str, run_id: str) -> dict[str, Any]:
    """The conf a DAG run was created with, from Airflow's database."""
    done = airflow.python(_CONF_PROBE, dag_id, run_id)
    assert done.returncode == 0, done.stderr[-2000:]
    conf = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(conf, dict)
    return conf


def _newest_run(client: MlflowClient, experiment: str, job: str) -> Any:
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    [newest, *_] = client.search_runs([found.experiment_id], f"tags.`nbmlops.job` = '{job}'",
                                      order_by=["attributes.start_time DESC"])
    return newest


@pytest.mark.airflow
@pytest.mark.timeout(600)
def test_the_scoring_dag_triggers_the_training_dag_when_its_batch_drifted(
        airflow: Airflow) -> None:
    dag = (airflow.project / "jobs" / "score" / "airflow_dag.py").read_text()
    assert str(airflow.root) not in dag  # portable: nothing of the exporting machine
    client = MlflowClient(airflow.env["MLFLOW_TRACKING_URI"])
    made = subprocess.run([str(BIN / "nbmlops"), "run", str(airflow.project / "jobs" / "train")],
                          env=airflow.env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert made.returncode == 0, made.stderr[-3000:]
    assert "days v1 is now champion (the first)" in made.stderr
    before = _dag_runs(airflow, "nbmlops_train")

    # A day like the training data: the run holds; the decision task says so and skips.
    done = airflow.airflow("dags", "test", "nbmlops_score", "--conf", json.dumps({"day": 1}))
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    held = _newest_run(client, "score.ipynb", "score")
    assert held.data.params["day"] == "1"
    assert held.data.tags[store.RETRAIN_DECISION_TAG] == "hold", held.data.tags
    assert "Bash command returned exit code 3. Skipping." in log
    assert _dag_runs(airflow, "nbmlops_train") == before

    # A drifting day: the run only decides (NBMLOPS_RETRAIN=defer), and the DAG fires one run
    # of the training DAG, left for the scheduler, with the day and the run it is for.
    done = airflow.airflow("dags", "test", "nbmlops_score", "--conf", json.dumps({"day": 4}))
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    drifted = _newest_run(client, "score.ipynb", "score")
    assert drifted.data.tags[store.RETRAIN_DECISION_TAG] == "retrain", drifted.data.tags
    assert drifted.data.tags[store.RETRAIN_OUTCOME_TAG].startswith("deferred: ")
    [fired] = [r for r in _dag_runs(airflow, "nbmlops_train") if r not in before]
    assert fired["run_id"].startswith("manual__")
    conf = _conf(airflow, "nbmlops_train", fired["run_id"])
    assert conf == {"day": 4, "nbmlops_retrained_for": drifted.info.run_id}

    # That run, as the scheduler would run it: the training run names the scoring run, learns
    # the moved day, and its version passes the gate and serves.
    done = airflow.airflow("dags", "test", "nbmlops_train", "--conf", json.dumps(conf))
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    training = _newest_run(client, "train.ipynb", "train")
    assert training.data.tags[store.RETRAINED_FOR_TAG] == drifted.info.run_id
    assert training.data.params["day"] == "4"
    champion = client.get_model_version_by_alias("days", store.CHAMPION)
    assert (str(champion.version), champion.tags[store.MODEL_JOB_RUN_TAG]) == (
        "2", training.info.run_id)


@pytest.mark.airflow
@pytest.mark.timeout(600)
def test_airflow_runs_the_job_with_its_params(airflow: Airflow) -> None:
    dag = (airflow.project / "jobs" / "fit" / "airflow_dag.py").read_text()
    assert str(airflow.root) not in dag  # portable: nothing of the exporting machine
    done = airflow.airflow("dags", "test", "nbmlops_fit", "--conf",
                           json.dumps({"alpha": 0.25, "n_points": 10}))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    client = MlflowClient(airflow.env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("fit.ipynb")
    runs = client.search_runs([experiment.experiment_id])
    [parent] = [r for r in runs if r.data.tags.get("nbmlops.job") == "fit"]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["alpha"] == "0.25" and parent.data.params["n_points"] == "10"
    [cell] = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert cell.info.run_name == "fit" and cell.data.params["alpha"] == "0.25"


@pytest.mark.airflow
@pytest.mark.timeout(600)
def test_a_failing_notebook_fails_the_airflow_task(airflow: Airflow) -> None:
    done = airflow.airflow("dags", "test", "nbmlops_broken")
    log = done.stdout + done.stderr
    assert "Command exited with return code 1" in log and "new_state=failed" in log
    assert "DagRun failed" in log
    # the job's one-block failure report, in the task's log: where, the line, the error
    block = re.search(r"job failed \(error\) in cell \d+, line 3:.*\n.*raise ValueError.*\n"
                      r".*ValueError: threshold 3 is not allowed", log)
    assert block is not None, log[-3000:]


_POD_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
from kubernetes.client import ApiClient
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags[sys.argv[2]]
task = dag.get_task("run")
task.render_template_fields({"params": dag.params, "ds": "2026-01-05"})
pod = task.build_pod_request_obj()  # what the operator would submit to the cluster
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "pod": ApiClient().sanitize_for_serialization(pod)}))
"""


@pytest.mark.airflow
def test_airflow_pod_dag_builds_a_valid_pod(tmp_path: Path) -> None:
    from nbmlops.jobs.targets import kubernetes

    if not (AIRFLOW_VENV / "bin" / "python").exists():
        missing(f"an Airflow virtual environment at {AIRFLOW_VENV} (bash .ci/airflow-venv)")
    af = Airflow(tmp_path)
    af.project.mkdir()
    shutil.copy(NOTEBOOKS / "job_inferred.ipynb", af.project / "fit.ipynb")
    folder = export_job(af.project / "fit.ipynb", cron="0 3 * * 1", targets=["airflow"],
                        airflow_operator="kubernetes").folder
    assert (folder / "Dockerfile").is_file()  # the image the pod runs
    # The operator reads the namespace from a kube config; no cluster is contacted.
    (tmp_path / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: none\n"
        "clusters: [{name: none, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: none, user: {}}]\n"
        "contexts: [{name: none, context: {cluster: none, user: none, namespace: jobs}}]\n")
    af.env["KUBECONFIG"] = str(tmp_path / "kubeconfig")
    done = af.python(_POD_PROBE, str(folder), "nbmlops_fit")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    pod = report["pod"]
    kubernetes.validate(pod, "pod")  # the newest Kubernetes releases accept it
    [container] = pod["spec"]["containers"]
    assert container["image"] == "fit:latest"
    assert container["command"] == ["nbmlops", "run", "/project/jobs/fit"]
    assert container["args"][0] == "--params-json"
    assert json.loads(container["args"][1]) == {"n_points": 20, "label": "demo", "alpha": 0.5,
                                                "layers": [8, 4]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
