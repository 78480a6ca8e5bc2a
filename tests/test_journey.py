"""One project through every capability, as a user takes it: the record must hold where one
capability hands over to the next.

A diabetes regression in git: ``prep.ipynb`` cleans the raw data and writes it to the path its
``parameters`` cell names; ``train.ipynb`` reads it back, fits a scikit-learn Pipeline in a
tracked cell, draws a figure and registers the model. The steps below run in file order on
that one project (module scope: each costs kernels), with real parts only: papermill kernels,
a real IPython shell, the ``nbmlops`` command, a sqlite MLflow store in the project, JupyterLab
with the sidebar's server extension and Chromium.

  1. the project, committed;
  2. papermill runs both notebooks, ``train`` twice, with ``-p`` values (one of which the
     tracked cell does not read);
  3. Run All twice in one shell, as a user re-runs a notebook;
  4. ``nbmlops export`` of both notebooks as a scheduled pipeline and of ``train`` as a job;
     ``nbmlops run`` of each, the pipeline twice (the second time every step is up to date);
  5. the registry: promotion through gates; scoring with the champion, monitored against
     its training data and traced back to it;
  6. ``nbmlops reproduce`` of a notebook run, a job run and a pipeline step's run; a gate
     that asks for a reproduced run;
  7. monitoring: ``score.ipynb`` exported as a job that watches the champion, alerts a
     webhook and retrains through the training job's gates; a clean batch, then a drifted
     one; ``nbmlops monitor``;
  8. ``nbmlops lineage data/clean.csv``, reached from the scoring runs too;
  9. the sidebar: the server's REST answers for each notebook, then the sidebar in Chromium,
     its Monitor view included;
 10. ``nbmlops assess`` of the finished project.

Between them, the invariants that join them: every run of an execution carries every value
injected into it as a param; a file a step writes is an output of its run and an input of
the next step's run under one project-relative name; every job, pipeline and reproduction run
is visible from its notebook's sidebar; reproduce succeeds on notebook, job and pipeline runs;
Run All twice is not stale; a scoring run traces to the model version it used, its training
run and its data; assess reaches the level the evidence supports and never asks to commit
generated notebooks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import pytest
import yaml
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient
from mlflow.entities import Run
from sidebar_browser.conftest import chromium, running_lab  # noqa: F401  (chromium: fixture)
from tracked_project import TrackedProject

from nbmlops import store
from nbmlops.cli import main
from nbmlops.monitor import history
from nbmlops.track import location

pytestmark = [pytest.mark.kernel, pytest.mark.browser]

BIN = Path(sys.executable).parent
MODEL = "diabetes"

PREP_PARAMETERS = 'raw_path = "data/raw.csv"\nclean_path = "data/clean.csv"\ntest_size = 0.2'
PREP_IMPORTS = "import numpy as np\nimport pandas as pd"
PREP = """%%track prep --expect clean=expectations/clean.json
raw = pd.read_csv(raw_path)
clean = raw.dropna().drop_duplicates().copy()
clean["bmi_x_bp"] = clean["bmi"] * clean["bp"]
rng = np.random.default_rng(0)
clean["split"] = np.where(rng.random(len(clean)) < test_size, "test", "train")
clean.to_csv(clean_path, index=False)"""

TRAIN_PARAMETERS = 'clean_path = "data/clean.csv"\nalpha = 0.0\nmax_depth = 4'
TRAIN_IMPORTS = """import matplotlib.pyplot as plt
import pandas as pd
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler"""
TRAIN_LOAD = """df = pd.read_csv(clean_path)
features = [c for c in df.columns if c not in ("target", "split")]
train, test = df[df.split == "train"], df[df.split == "test"]
X_train, y_train = train[features], train["target"]
X_test, y_test = test[features], test["target"]"""
TRAIN_HYPERPARAMETERS = "n_estimators = 40\nmin_samples_leaf = 3"
TRAIN = f"""%%track train --model pipe={MODEL}
pipe = Pipeline([
    ("scale", StandardScaler()),
    ("forest", RandomForestRegressor(n_estimators=n_estimators, max_depth=max_depth,
                                     min_samples_leaf=min_samples_leaf, ccp_alpha=alpha,
                                     random_state=0)),
]).fit(X_train, y_train)
pred = pipe.predict(X_test)
rmse = float(mean_squared_error(y_test, pred) ** 0.5)
r2 = float(r2_score(y_test, pred))
fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(y_test, pred, s=8)
ax.set_xlabel("measured progression")
ax.set_ylabel("predicted progression")
ax.set_title("Predicted against measured")"""

EXPECTATIONS = {"columns": {"target": {"dtype": "float64", "nullable": False, "min": 0},
                            "split": {"in": ["train", "test"]}},
                "rows": {"min": 100}}

# The values given to each execution: papermill's -p, then `nbmlops run`'s.
PREP_P = {"test_size": 0.25}
TRAIN_P = [{"clean_path": "data/clean.csv", "alpha": 0.1, "max_depth": 3},
           {"clean_path": "data/clean.csv", "alpha": 0.5, "max_depth": 6}]
PIPELINE_P = {"test_size": 0.25, "alpha": 0.2, "max_depth": 5}
JOB_P = {"alpha": 0.3, "max_depth": 5}

# The scoring notebook, written once the model serves: each day's batch in, predictions out.
SCORE_PARAMETERS = 'day = "2026-12-01"'
SCORE_IMPORTS = "import pandas as pd"
SCORE = f"""%%track score
import nbmlops
batch = pd.read_csv(f"data/batches/{{day}}.csv")
champion = nbmlops.load_model("{MODEL}@champion")
predictions = pd.DataFrame({{"progression": champion.predict(batch)}})
predictions.to_csv(f"data/batches/{{day}}.scored.csv", index=False)"""
# The training job's gates, which a retrained model passes before it serves.
TRAIN_GATES = ["r2 >= 0.2", "rmse <= champion * 1.2"]
# A clean day, then a day whose bmi came in other units from upstream.
DAYS = {"2026-12-01": 1.0, "2026-12-02": 3.0}


@dataclass
class Journey:
    root: Path
    uri: str
    tmp: Path
    papermill: dict[str, list[str]] = field(default_factory=dict)  # notebook -> cell run ids
    shell: list[str] = field(default_factory=list)  # the Run All runs
    pipeline: list[str] = field(default_factory=list)  # its parent runs, first run first
    steps: dict[str, str] = field(default_factory=dict)  # step -> its run, in the first run
    cells: dict[str, str] = field(default_factory=dict)  # step -> its tracked cell's run
    job: str = ""  # the job's parent run
    job_cell: str = ""  # the job's tracked cell's run
    reproductions: dict[str, str] = field(default_factory=dict)  # original -> reproduction
    scoring: list[str] = field(default_factory=list)  # the scoring job's runs, by day

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.uri)


def notebook(path: Path, parameters: str, cells: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    tagged = nbformat.v4.new_code_cell(parameters)
    tagged.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell("%load_ext nbmlops"), tagged,
                *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org",
                           *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[Journey]:
    """The project as a user keeps it: notebooks, raw data and expectations in git, the
    embedded store beside them (copied from the migrated template), the spool in an ignored
    folder of the project, where the Jupyter server finds it too."""
    from sklearn.datasets import load_diabetes

    tmp = tmp_path_factory.mktemp("journey")
    root = tmp / "diabetes"
    (root / "data").mkdir(parents=True)
    (root / "expectations").mkdir()
    (root / "pyproject.toml").write_text(
        "[project]\nname = 'diabetes'\n\n[tool.nbmlops]\nspool = '.nbmlops/spool'\n")
    (root / ".gitignore").write_text("mlflow.db\n.nbmlops/\ndata/clean.csv\n")
    load_diabetes(as_frame=True, scaled=False).frame.to_csv(root / "data" / "raw.csv",
                                                             index=False)
    (root / "expectations" / "clean.json").write_text(json.dumps(EXPECTATIONS, indent=1))
    notebook(root / "prep.ipynb", PREP_PARAMETERS, [PREP_IMPORTS, PREP])
    notebook(root / "train.ipynb", TRAIN_PARAMETERS,
             [TRAIN_IMPORTS, TRAIN_LOAD, TRAIN_HYPERPARAMETERS, TRAIN])
    shutil.copy(migrated_db, root / "mlflow.db")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Diabetes progression: prep and train")

    saved = dict(os.environ)
    mp = pytest.MonkeyPatch()
    try:
        for name in ("MLFLOW_TRACKING_URI", "NBMLOPS_SPOOL", "NBMLOPS_NOTEBOOK",
                     "NBMLOPS_EXPERIMENT", "NBMLOPS_UI_URL", "NBMLOPS_DRIFT", "NBMLOPS_STRICT"):
            mp.delenv(name, raising=False)
        mp.setenv("NBMLOPS_AUTOSYNC", "0")  # uploaded by `nbmlops sync` / `nbmlops run`
        mp.setenv("NBMLOPS_CACHE", str(tmp / "cache"))
        mp.chdir(root)
        location.clear_cache()
        yield Journey(root, f"sqlite:///{root / 'mlflow.db'}", tmp)
    finally:
        mp.undo()
        os.environ.clear()
        os.environ.update(saved)
        location.clear_cache()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``nbmlops ARGS`` as the command runs it (in this process: mlflow is imported once)."""
    capsys.readouterr()
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def papermill(root: Path, name: str, output: str, params: dict[str, Any]) -> subprocess.Popen[str]:
    """The plain papermill command, as a user types it in the project (started)."""
    # Three kernels start at once beside the other test worker: papermill's 60 s default
    # for a kernel's first answer is too short on a busy two-core machine.
    command = [str(BIN / "papermill"), f"{name}.ipynb", output, "--log-level", "WARNING",
               "--no-progress-bar", "--start-timeout", "240"]
    for key, value in params.items():
        command += ["-p", key, str(value)]
    return subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finished(*started: subprocess.Popen[str]) -> None:
    for proc in started:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]


def experiment_runs(journey: Journey, experiment: str) -> list[Run]:
    client = journey.client
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment}"
    return client.search_runs([found.experiment_id], max_results=1000,
                              order_by=["attributes.start_time ASC"])


def every_run(journey: Journey) -> list[Run]:
    client = journey.client
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, max_results=5000, order_by=["attributes.start_time ASC"])


def children(runs: list[Run], parent: str) -> list[Run]:
    return [r for r in runs if r.data.tags.get(store.PARENT_RUN_TAG) == parent]


def files(run: Run, context: str) -> dict[str, str]:
    """The files a run read (``input``) or wrote (``output``): name -> digest."""
    found = {}
    for given in run.inputs.dataset_inputs:
        tags = {t.key: t.value for t in given.tags}
        if (tags.get(store.DATA_KIND_TAG) == "file"
                and context in tags.get(store.DATA_CONTEXT_TAG, "").split(",")):
            found[given.dataset.name] = given.dataset.digest
    return found


def missing_params(run: Run, given: dict[str, Any]) -> dict[str, Any]:
    """The injected values ``run`` does not carry as params, with what it carries instead."""
    return {k: run.data.params.get(k) for k, v in given.items()
            if run.data.params.get(k) != str(v)}


# -- 1. the project -------------------------------------------------------------------------


def test_01_a_notebook_project_in_git(project: Journey) -> None:
    assert git(project.root, "status", "--porcelain") == ""
    assert git(project.root, "ls-files").split() == [
        ".gitignore", "data/raw.csv", "expectations/clean.json", "prep.ipynb", "pyproject.toml",
        "train.ipynb"]


# -- 2. papermill, twice for train -----------------------------------------------------------


def test_02_papermill_runs_both_notebooks(project: Journey,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (project.root / "out").mkdir()
    finished(papermill(project.root, "prep", "out/prep-1.ipynb", PREP_P))
    # A small sweep: both values at once, as two terminals would run them.
    finished(*(papermill(project.root, "train", f"out/train-{i}.ipynb", params)
               for i, params in enumerate(TRAIN_P, 1)))
    code, out, err = cli(capsys, "sync")
    assert code == 0, out + err
    [prep] = experiment_runs(project, "prep.ipynb")
    trains = sorted(experiment_runs(project, "train.ipynb"),
                    key=lambda r: float(r.data.params["alpha"]))  # in the order of TRAIN_P
    assert [r.info.run_name for r in trains] == ["train", "train"]
    project.papermill = {"prep": [prep.info.run_id], "train": [r.info.run_id for r in trains]}
    for run in (prep, *trains):
        assert run.info.status == "FINISHED"
        assert run.data.tags[store.SOURCE_NAME_TAG] in ("prep.ipynb", "train.ipynb")
    assert {"rmse", "r2"} <= set(trains[0].data.metrics)
    assert [a.path for a in project.client.list_artifacts(trains[0].info.run_id, "figures")]
    versions = project.client.search_model_versions(f"name = '{MODEL}'")
    assert sorted(v.run_id for v in versions) == sorted(project.papermill["train"])


def test_03_every_run_carries_the_values_papermill_injected(project: Journey) -> None:
    """Finding 4: ``clean_path`` is read by the untracked load cell, not by the tracked cell;
    it was injected all the same."""
    runs = {"prep": [project.client.get_run(project.papermill["prep"][0])],
            "train": [project.client.get_run(r) for r in project.papermill["train"]]}
    lost = {f"{name} #{i}": missing_params(run, given)
            for name, given_list in (("prep", [PREP_P]), ("train", TRAIN_P))
            for i, (run, given) in enumerate(zip(runs[name], given_list, strict=True), 1)}
    assert lost == {"prep #1": {}, "train #1": {}, "train #2": {}}


# -- 3. Run All twice in one shell ----------------------------------------------------------


def test_04_run_all_twice_in_one_shell_is_not_stale(
    project: Journey, ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding 2: running every cell again, in order, is the opposite of stale."""
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(project.root / "train.ipynb"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    location.clear_cache()
    nb = nbformat.read(str(project.root / "train.ipynb"), as_version=4)
    said = []
    for _ in range(2):
        for cell in nb.cells:
            with capture_output() as shown:
                result = ip.run_cell(cell.source, store_history=True, cell_id=cell.id)
            assert result.success, result.error_in_exec
            # What the cell showed, its status line included.
            said += [shown.stdout, *(o.data.get("text/plain", "") for o in shown.outputs)]
    location.clear_cache()
    code, out, err = cli(capsys, "sync")
    assert code == 0, out + err
    before = set(project.papermill["train"])
    shell = [r for r in experiment_runs(project, "train.ipynb") if r.info.run_id not in before]
    project.shell = [r.info.run_id for r in shell]
    assert len(shell) == 2
    seen = ([r.data.tags.get(store.SLICE_TAG) for r in shell],
            [line.strip() for line in said if "stale" in line])
    assert seen == (["clean", "clean"], []), [r.data.tags.get(store.SLICE_REASONS_TAG)
                                             for r in shell]


# -- 4. export, then run the job and the pipeline --------------------------------------------


def test_05_export_as_a_pipeline_and_a_job_then_run_them(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = cli(capsys, "export", "prep.ipynb", "train.ipynb", "--name", "weekly",
                         "--schedule", "0 3 * * 1")
    assert code == 0, out + err
    assert "prep -> train" in out
    code, out, err = cli(capsys, "export", "train.ipynb")
    assert code == 0, out + err
    git(project.root, "add", "jobs")
    git(project.root, "commit", "-q", "-m", "The weekly pipeline and the training job")

    weekly = project.root / "jobs" / "weekly"
    args = [a for k, v in PIPELINE_P.items() for a in ("-p", k, str(v))]
    code, out, err = cli(capsys, "run", str(weekly), *args)
    assert code == 0, out + err
    code, out, err = cli(capsys, "run", str(weekly), *args)
    assert code == 0, out + err
    runs = every_run(project)
    parents = [r for r in runs if r.data.tags.get(store.JOB_TAG) == "weekly"]
    assert len(parents) == 2
    project.pipeline = [r.info.run_id for r in parents]
    first, second = ({r.data.tags[store.STEP_TAG]: r for r in children(runs, p)}
                     for p in project.pipeline)
    assert {n: s.data.tags.get(store.STEP_SKIPPED_TAG) for n, s in first.items()} == {
        "prep": None, "train": None}
    assert {n: s.data.tags.get(store.STEP_SKIPPED_TAG) for n, s in second.items()} == {
        "prep": "up to date", "train": "up to date"}  # nothing changed: nothing runs again
    for name, step in first.items():
        [cell] = children(runs, step.info.run_id)
        assert (cell.info.run_name, cell.info.status) == (name, "FINISHED")
        project.steps[name], project.cells[name] = step.info.run_id, cell.info.run_id

    job = project.root / "jobs" / "train"
    args = [a for k, v in JOB_P.items() for a in ("-p", k, str(v))]
    code, out, err = cli(capsys, "run", str(job), *args)
    assert code == 0, out + err
    runs = every_run(project)
    [parent] = [r for r in runs if r.data.tags.get(store.JOB_TAG) == "train"]
    [cell] = children(runs, parent.info.run_id)
    assert (cell.info.run_name, cell.info.status) == ("train", "FINISHED")
    project.job, project.job_cell = parent.info.run_id, cell.info.run_id


def test_05b_the_schedule_lists_the_last_run_and_comes_off_cron(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """The hand-over from a run to its schedule: the pipeline installed in the real crontab is
    listed with the run ``nbmlops run`` made; the job that is not installed too."""
    if not shutil.which("crontab"):
        if os.environ.get("CI"):
            pytest.fail("Debian's crontab is required in CI (.ci/run installs cron)")
        pytest.skip("no crontab here (apt-get install cron)")
    weekly = project.root / "jobs" / "weekly"
    code, out, err = cli(capsys, "schedule", str(weekly), "--install")
    assert code == 0, out + err
    try:
        code, out, err = cli(capsys, "jobs", "--json")
        assert code == 0, err
        rows = {r["name"]: r for r in json.loads(out) if r.get("name") in ("weekly", "train")}
        seen = {name: (row["installed"], row["schedule"], (row.get("last_run") or {}).get(
            "status")) for name, row in rows.items()}
        assert seen == {"weekly": (True, "0 3 * * 1", "FINISHED"),
                        "train": (False, None, "FINISHED")}
    finally:
        code, out, err = cli(capsys, "schedule", str(weekly), "--remove")
    assert code == 0 and "removed 1 crontab entry" in out, out + err


def test_06_every_step_and_job_run_carries_the_values_injected(project: Journey) -> None:
    """Finding 4: each step's (and the job's) parameters, read by its tracked cell or not."""
    client = project.client
    executions = {"job train": (project.job, project.job_cell)} | {
        f"pipeline step {name}": (project.steps[name], project.cells[name])
        for name in ("prep", "train")}
    lost = {}
    for what, (parent, cell) in executions.items():
        given = client.get_run(parent).data.params
        assert given, f"{what} records no parameters"
        lost[what] = missing_params(client.get_run(cell), given)
    assert lost == {what: {} for what in executions}


def test_07_a_file_a_step_writes_is_its_output_and_the_next_steps_input(
    project: Journey,
) -> None:
    """Finding 3 (a path held in a variable) and project-relative names: one name, one
    digest, from the writer's outputs to the reader's inputs."""
    def handover(writer: Run, reader: Run) -> dict[str, Any]:
        wrote, read = files(writer, "output"), files(reader, "input")
        return {"wrote": {k: v for k, v in wrote.items() if k == "data/clean.csv"},
                "read": {k: v for k, v in read.items() if k == "data/clean.csv"}}

    client = project.client
    prep, train = (client.get_run(project.cells[name]) for name in ("prep", "train"))
    seen = {
        "pipeline": handover(prep, train),
        "papermill": handover(client.get_run(project.papermill["prep"][0]),
                              client.get_run(project.papermill["train"][0])),
    }
    recorded = {f"{what} {run.info.run_name}": {c: files(run, c) for c in ("input", "output")}
                for what, run in (("pipeline", prep), ("pipeline", train))}
    assert {what: bool(found["wrote"]) and found["wrote"] == found["read"]
            for what, found in seen.items()} == {"pipeline": True, "papermill": True}, recorded


def test_08_git_status_stays_clean_after_the_jobs_ran(project: Journey) -> None:
    """Finding 10: the job folders' runs, logs, state and locks are ignored by git."""
    changed = git(project.root, "status", "--porcelain", "--", "jobs").splitlines()
    assert changed == []


# -- 5. the registry ------------------------------------------------------------------------


def test_09_the_registry_promotes_through_gates(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    client = project.client
    # The newest version is the challenger: the job's, trained last.
    newest = client.get_model_version_by_alias(MODEL, store.CHALLENGER)
    assert newest.run_id == project.job_cell

    # The pipeline's model first: no champion yet, so a relative gate passes by definition.
    [version] = client.search_model_versions(f"run_id = '{project.cells['train']}'")
    code, out, err = cli(capsys, "promote", MODEL, "--version", str(version.version),
                         "--gate", "rmse <= champion", "--gate", "r2 >= 0.2")
    assert code == 0, out + err
    assert "no champion yet" in out + err
    assert client.get_model_version_by_alias(MODEL, store.CHAMPION).version == version.version

    # The challenger, held to a bar it cannot reach, is refused; the champion stays.
    code, out, err = cli(capsys, "promote", MODEL, "--gate", "rmse <= champion * 0.5")
    assert code == 1, out + err
    assert "failed gate(s) rmse <= champion * 0.5" in err
    assert client.get_model_version_by_alias(MODEL, store.CHAMPION).version == version.version


def test_09b_scoring_with_the_champion_is_monitored_and_traces_to_its_training_data(
    project: Journey, ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Level 4's chain: a prediction's run names the model version it scored with, the
    version its training run, the training run its data; and the batch scored is compared
    with the data the champion was trained on."""
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(project.root / "train.ipynb"))
    location.clear_cache()
    clean = pd.read_csv(project.root / "data" / "clean.csv")
    features = [c for c in clean.columns if c not in ("target", "split")]
    # Two batches from an earlier cell: today's rows, and rows whose bmi was measured in
    # other units upstream.
    ip.user_ns["today"] = clean[clean.split == "test"][features]
    ip.user_ns["moved"] = ip.user_ns["today"].assign(bmi=ip.user_ns["today"]["bmi"] * 3)
    for name, batch in (("score-today", "today"), ("score-moved", "moved")):
        with capture_output():
            result = ip.run_cell(f"%%track {name}\nimport nbmlops\n"
                                 f"champion = nbmlops.load_model('{MODEL}@champion')\n"
                                 f"predictions = champion.predict({batch})")
        assert result.success, result.error_in_exec
    location.clear_cache()
    code, out, err = cli(capsys, "sync")
    assert code == 0, out + err
    client = project.client
    champion = client.get_model_version_by_alias(MODEL, store.CHAMPION)
    scored = {r.info.run_name: r for r in experiment_runs(project, "train.ipynb")
              if r.data.tags.get(store.SCORED_WITH_MODEL_TAG) == MODEL}
    assert set(scored) == {"score-today", "score-moved"}
    today = scored["score-today"]
    # prediction -> scoring run -> model version -> training run -> data
    assert today.data.tags[store.SCORED_WITH_VERSION_TAG] == str(champion.version)
    training = client.get_run(today.data.tags[store.SCORED_WITH_RUN_TAG])
    assert training.info.run_id == champion.run_id
    assert "data/clean.csv" in files(training, "input")
    # Drift against the training data: none today, bmi after the upstream change.
    seen = {name: (r.data.tags.get(store.monitor_drifted_tag(MODEL)),
                   r.data.tags.get(store.monitor_columns_tag(MODEL)))
            for name, r in scored.items()}
    assert seen == {"score-today": ("no", None), "score-moved": ("yes", "bmi")}, {
        name: {k: v for k, v in r.data.metrics.items() if k.endswith(".wasserstein")}
        for name, r in scored.items()}


# -- 6. reproduce ---------------------------------------------------------------------------


def test_10_reproduce_a_notebook_a_job_and_a_pipeline_run(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding 1: job and pipeline runs re-run where their job ran, and come back."""
    originals = {"notebook": project.papermill["train"][1], "job": project.job_cell,
                 "pipeline step": project.cells["train"]}
    said = {}
    for what, run_id in originals.items():
        code, out, err = cli(capsys, "reproduce", run_id)
        said[what] = (code, out.strip().splitlines()[-1:] if out.strip() else err)
        tags = project.client.get_run(run_id).data.tags
        if store.REPRODUCED_RUN_TAG in tags:
            project.reproductions[run_id] = tags[store.REPRODUCED_RUN_TAG]
    assert said == {what: (0, ["reproduced"]) for what in originals}


def test_11_a_gate_asks_for_a_reproduced_run(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding 1 again, through the registry: the job's model is promoted only once its run
    came back."""
    client = project.client
    [version] = client.search_model_versions(f"run_id = '{project.job_cell}'")
    code, out, err = cli(capsys, "promote", MODEL, "--version", str(version.version),
                         "--gate", "reproduced", "--gate", "rmse <= champion * 1.2")
    assert code == 0, out + err
    assert client.get_model_version_by_alias(MODEL, store.CHAMPION).version == version.version


# -- 7. monitoring --------------------------------------------------------------------------


class _Webhook(BaseHTTPRequestHandler):
    """The team's chat webhook: every alert posted is kept."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server on this machine that the scoring job's alerts go to."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def edit_job(folder: Path, **sections: Any) -> None:
    """Sections added to a job's job.yaml, as a user edits it."""
    path = folder / "job.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(sections)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_11b_the_scoring_notebook_becomes_a_monitored_job_that_retrains(
    project: Journey, webhook: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """The champion serves: a scoring notebook, exported as a job that watches the champion,
    alerts the team's webhook and retrains through the training job, whose gates a retrained
    model must pass before it serves."""
    notebook(project.root / "score.ipynb", SCORE_PARAMETERS, [SCORE_IMPORTS, SCORE])
    code, out, err = cli(capsys, "export", "score.ipynb")
    assert code == 0, out + err
    jobs = project.root / "jobs"
    edit_job(jobs / "train", promote={"model": MODEL, "gates": TRAIN_GATES})
    edit_job(jobs / "score", monitor={"model": MODEL},
             alerts=[{"webhook": f"http://127.0.0.1:{webhook.server_address[1]}/hooks/ml"}],
             retrain={"job": "jobs/train", "on": "drift", "cooldown": "7d"})
    with open(project.root / ".gitignore", "a") as ignored:
        ignored.write("data/batches/\n")  # the batches arrive from upstream, day by day
    git(project.root, "add", ".gitignore", "score.ipynb", "jobs")
    git(project.root, "commit", "-q", "-m", "Score each day's batch with the champion")
    assert git(project.root, "status", "--porcelain", "--", "jobs", "score.ipynb") == ""


def test_11c_a_clean_batch_holds_a_drifted_one_alerts_and_retrains_through_the_gates(
    project: Journey, webhook: ThreadingHTTPServer, capsys: pytest.CaptureFixture[str],
) -> None:
    """Day one scores rows like the training data: no drift, no alert, retraining holds. Day
    two's bmi came in other units: drift on bmi, one alert to the webhook naming it, and the
    training job retrains, its model promoted through its gates; every step is linked."""
    client = project.client
    served = client.get_model_version_by_alias(MODEL, store.CHAMPION)
    clean = pd.read_csv(project.root / "data" / "clean.csv")
    features = [c for c in clean.columns if c not in ("target", "split")]
    (project.root / "data" / "batches").mkdir()
    said = {}
    for day, bmi_units in DAYS.items():
        batch = clean[clean.split == "test"][features]
        batch.assign(bmi=batch["bmi"] * bmi_units).to_csv(
            project.root / "data" / "batches" / f"{day}.csv", index=False)
        code, out, err = cli(capsys, "run", str(project.root / "jobs" / "score"), "-p", "day",
                             day)
        assert code == 0, out + err
        said[day] = err
    runs = history.job_runs(client, "score")
    project.scoring = [r.run_id for r in runs]
    scored = history.scoring_runs(client, "score")
    assert [(r.job_run_id, r.version, r.drifted, r.drifted_columns) for r in scored] == [
        (project.scoring[0], str(served.version), False, ()),
        (project.scoring[1], str(served.version), True, ("bmi",))], said

    # One alert, for the drift, received by the webhook with the column that drifted.
    [posted] = webhook.received  # type: ignore[attr-defined]
    assert posted["nbmlops"]["kind"] == "drift"
    [drifted] = posted["nbmlops"]["facts"]["models"]
    assert (drifted["model"], drifted["drifted_columns"], drifted["run_id"]) == (
        MODEL, ["bmi"], scored[1].run_id)
    assert "bmi" in posted["text"]

    # Retraining: held on the clean day, run on the drifted one, promoted through the gates.
    assert [(r.decision, r.outcome) for r in runs] == [
        ("hold", None), ("retrain", f"promoted {MODEL} v{int(served.version) + 1}")], said
    assert store.ALERTS_TAG not in runs[0].tags
    assert [a["kind"] for a in json.loads(runs[1].tags[store.ALERTS_TAG])] == ["drift"]
    training = client.get_run(runs[1].retrain_run_id or "")
    assert (training.data.tags[store.JOB_TAG], training.data.tags[store.RETRAINED_FOR_TAG]) == (
        "train", runs[1].run_id)
    champion = client.get_model_version_by_alias(MODEL, store.CHAMPION)
    assert str(champion.version) == str(int(served.version) + 1)
    assert champion.tags[store.MODEL_JOB_RUN_TAG] == training.info.run_id
    assert f"{len(TRAIN_GATES)}/{len(TRAIN_GATES)} passed" in champion.tags[
        store.MODEL_GATES_TAG]


def test_11d_nbmlops_monitor_lists_the_days_oldest_first_and_says_the_drift(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """The contract scripts use: the scoring runs oldest first, each drifted or not and on
    which columns; exit 1 once the newest batch drifted."""
    code, out, err = cli(capsys, "monitor", "jobs/score", "--format", "json")
    assert code == 1, out + err
    found = json.loads(out)
    assert (found["job"], found["model"]) == ("score", MODEL)
    assert [(r["drifted"], r["drifted_columns"]) for r in found["runs"]] == [
        (False, []), (True, ["bmi"])]
    scored = history.scoring_runs(project.client, "score")
    assert [r["run_id"] for r in found["runs"]] == [r.run_id for r in scored]


# -- 8. lineage -----------------------------------------------------------------------------


def test_12_lineage_names_the_writers_and_the_readers_of_clean_csv(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """Finding 3: the steps that wrote data/clean.csv through ``clean_path`` are listed."""
    code, out, err = cli(capsys, "lineage", "data/clean.csv", "--json")
    assert code == 0, out + err
    found = json.loads(out)
    readers = {r["run_id"] for r in found if "input" in r["contexts"]}
    writers = {r["run_id"] for r in found if "output" in r["contexts"]}
    assert {project.papermill["train"][0], project.cells["train"]} <= readers, out
    assert {project.papermill["prep"][0], project.cells["prep"]} <= writers, out


def test_12b_lineage_reaches_from_each_scoring_run_to_the_data_that_trained_its_model(
    project: Journey, capsys: pytest.CaptureFixture[str],
) -> None:
    """Level 4's chain from the scoring job: its run names the version it scored with, that
    version's training run read data/clean.csv, and lineage of that file names the version."""
    code, out, err = cli(capsys, "lineage", "data/clean.csv", "--json")
    assert code == 0, out + err
    trained = {r["run_id"]: [m["model"] for m in r["models"]]
               for r in json.loads(out) if "input" in r["contexts"]}
    client = project.client
    chains = {}
    for scored in history.scoring_runs(client, "score"):
        tags = client.get_run(scored.run_id).data.tags
        training = tags[store.SCORED_WITH_RUN_TAG]
        version = client.get_model_version(MODEL, tags[store.SCORED_WITH_VERSION_TAG])
        chains[scored.run_id] = (version.run_id == training,
                                 f"{MODEL}/{version.version}" in trained.get(training, []))
    assert list(chains.values()) == [(True, True)] * len(DAYS), (chains, trained)


# -- 9. the sidebar -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(project: Journey) -> Iterator[Any]:
    """JupyterLab with the nbmlops server extension, serving the project."""
    shown = TrackedProject(project.root, "train.ipynb", project.root / ".nbmlops" / "spool",
                           project.uri)
    home = project.tmp / "lab-home"
    home.mkdir()
    with running_lab(shown, home) as started:
        yield started


def api(lab: Any, path: str, **params: Any) -> Any:
    query = urllib.parse.urlencode(params)
    request = urllib.request.Request(f"{lab.url}/nbmlops/api/{path}?{query}",
                                     headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def sidebar_run_ids(lab: Any, notebook: str) -> set[str]:
    """Every run id the sidebar's answers for ``notebook`` show, page after page."""
    shown: set[str] = set()
    token = ""
    while True:
        page = api(lab, "runs", notebook=notebook, page_size=200, page_token=token)
        # A run shown inside another (a reproduction under its original) counts too.
        shown |= set(re.findall(r'"run_id": "([0-9a-f]{32})"', json.dumps(page["runs"])))
        token = page.get("next_page_token") or ""
        if not token:
            return shown


def test_13_every_run_is_visible_from_its_notebooks_sidebar(project: Journey, lab: Any) -> None:
    """Finding 5 (job and pipeline runs) and 6 (reproductions, shown with the run they
    reproduce): nothing made from a notebook is missing from its sidebar."""
    info = {nb: api(lab, "notebook", notebook=nb) for nb in ("prep.ipynb", "train.ipynb")}
    assert {nb: i["experiment"] for nb, i in info.items()} == {
        "prep.ipynb": "prep.ipynb", "train.ipynb": "train.ipynb"}
    runs = every_run(project)
    expected: dict[str, set[str]] = {
        "prep.ipynb": set(project.papermill["prep"]),
        "train.ipynb": {*project.papermill["train"], *project.shell, project.job,
                        project.job_cell},
    }
    for parent in project.pipeline:
        for step in children(runs, parent):
            notebook = f"{step.data.tags[store.STEP_TAG]}.ipynb"
            # The pipeline's own run spans its notebooks: its Jobs view lists it; each step's
            # run heads that step's cells in the notebook it came from.
            expected[notebook] |= {step.info.run_id,
                                   *(r.info.run_id for r in children(runs, step.info.run_id))}
    shown = {nb: sidebar_run_ids(lab, nb) for nb in expected}
    missing = {nb: sorted(ids - shown[nb]) for nb, ids in expected.items()}
    for original, again in project.reproductions.items():
        # In the list, or with the run it reproduces, in that run's details.
        notebook = next(nb for nb, ids in expected.items() if original in ids)
        details = json.dumps(api(lab, f"runs/{original}", notebook=notebook))
        if again not in shown[notebook] and again not in details:
            missing[notebook].append(again)
    names = {r.info.run_id: f"{r.info.run_name} ({r.data.tags.get(store.STEP_TAG) or ''}"
             f"{r.data.tags.get(store.JOB_TAG) or ''})" for r in runs}
    assert missing == {"prep.ipynb": [], "train.ipynb": []}, {
        nb: [names.get(i, i) for i in ids] for nb, ids in missing.items()}


def test_14_a_job_output_notebook_opens_its_notebooks_runs(project: Journey, lab: Any) -> None:
    """Finding 5: opening a job's output notebook (from the Jobs view) keeps the sidebar on
    the runs of the notebook the job was exported from."""
    outputs = sorted((project.root / "jobs" / "train" / "runs").glob("*.ipynb"))
    assert outputs
    output = str(outputs[-1].relative_to(project.root))
    assert {project.job, project.job_cell} <= sidebar_run_ids(lab, output)


def test_15_the_sidebar_in_the_browser(
    project: Journey, lab: Any, chromium: Any,  # noqa: F811  (the imported fixture)
) -> None:
    """The sidebar draws what the server answers: the notebook's newest run, by its id."""
    # A reproduction stands under its run, a pipeline step's run heads its cells.
    newest = next(r["run_id"] for r in api(lab, "runs", notebook="prep.ipynb")["runs"]
                  if not r.get("reproduces") and not r.get("step"))
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab.url}/lab/tree/prep.ipynb?token={lab.token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
        page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
        sidebar = page.locator("#nbmlops-sidebar")
        sidebar.locator(".jp-nbmlops-run").first.wait_for()
        assert "prep.ipynb" in sidebar.locator(".jp-nbmlops-experiment").inner_text()
        sidebar.locator(f'.jp-nbmlops-run[data-run-id="{newest}"]').first.wait_for()
    finally:
        context.close()


def test_15b_the_sidebar_monitors_the_scoring_notebooks_job(
    project: Journey, lab: Any, chromium: Any,  # noqa: F811  (the imported fixture)
) -> None:
    """The Monitor view of score.ipynb: its job's two days, the drift on bmi in the second,
    and the retraining it started."""
    champion = project.client.get_model_version_by_alias(MODEL, store.CHAMPION)
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab.url}/lab/tree/score.ipynb?token={lab.token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
        page.click('li.lm-TabBar-tab[data-id="nbmlops-sidebar"]')
        sidebar = page.locator("#nbmlops-sidebar")
        page.wait_for_function("() => document.querySelector('#nbmlops-sidebar "
                               ".jp-nbmlops-experiment')?.textContent.includes('score.ipynb')")
        sidebar.get_by_label("Monitoring of this notebook's jobs").click()
        job = sidebar.get_by_label("Monitoring of score")
        job.wait_for()
        assert "2 scoring runs · newest drifted" in job.inner_text()
        assert job.locator(".jp-nbmlops-alias").inner_text() == f"★ champion v{champion.version}"
        drifted = job.get_by_label("Drift per column of score").locator("tr.jp-mod-drifted")
        assert drifted.locator("th").all_inner_texts() == ["bmi"]
        retraining = job.get_by_label("Last retraining of score").inner_text()
        assert f"promoted {MODEL} v{champion.version}" in retraining
    finally:
        context.close()


# -- 10. assess -----------------------------------------------------------------------------


def test_16_assess_the_finished_project(project: Journey,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Finding 10: output notebooks are outputs, not files missing from git. The project has
    level 2's evidence: in git, tracked with code and data, a job, drift and schema checks,
    a schedule that ran in its period, a registered model promoted to champion. Beyond it, the
    scoring job: its batches compared with the training data and its alerts (level 3), drift
    that retrained, predictions traced to their model's data (level 4)."""
    code, out, err = cli(capsys, "assess", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    commands = [s["command"] for s in report["next_steps"]] + [
        c["step"]["command"] for c in report["criteria"] if c["step"]]
    criteria = {c["id"]: c["status"] for c in report["criteria"] if c["level"] <= 2}
    monitoring = {c["id"]: c["status"] for c in report["criteria"]
                  if c["id"] in ("monitoring", "retrain-on-drift", "prediction-lineage")}
    seen = {
        "git add of generated notebooks": [
            c for c in commands if "git add" in c and ("out/" in c or "/runs/" in c)],
        "out of order": [f["where"] for f in report["red_flags"] if f["id"] == "out-of-order"],
        "level": report["level"],
        "criteria": criteria,
        "monitoring": monitoring,
    }
    assert seen == {"git add of generated notebooks": [], "out of order": [], "level": 2,
                    "criteria": {k: "met" for k in criteria},
                    "monitoring": {"monitoring": "met", "retrain-on-drift": "met",
                                   "prediction-lineage": "met"}}, [
        (c["id"], c["missing"]) for c in report["criteria"] if c["status"] != "met"]
