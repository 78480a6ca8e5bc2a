"""Pipelines: several notebooks exported as one job, wired by the files they share, run in
dependency order in real kernels, skipped when up to date, recorded in a real MLflow store.

The kernel tests tell one story on one project (module scope: each run costs kernels), in
file order: first run, nothing changed, a touched raw file, new raw content, a changed
notebook, a failing step and its resumption.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
import yaml
from mlflow import MlflowClient

from nbmlops.exceptions import PipelineError
from nbmlops.jobs import pipeline
from nbmlops.jobs.export import dataflow
from nbmlops.jobs.export.pipeline import export_pipeline
from nbmlops.jobs.run.pipeline import FINISHED, SKIPPED, run_pipeline
from nbmlops.jobs.spec import load

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel

LOAD = ("import pandas as pd\n"
        "df = pd.read_csv('data/raw.csv')\n"
        "df['x'] = df['x'] * scale\n"
        "df.to_parquet('data/clean.parquet')")
FEATURES = ("import pandas as pd\n"
            "df = pd.read_parquet('data/clean.parquet')\n"
            "if fail:\n"
            "    raise ValueError('features failed on purpose')\n"
            "df['y'] = df['x'] * 2\n"
            "df.to_parquet('data/features.parquet')")
TRAIN = ("import pandas as pd\n"
         "df = pd.read_parquet('data/features.parquet')\n"
         "loss = float(df['y'].mean())")


def notebook(path: Path, cells: list[str], parameters: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'pipes'\n")
    (root / "data").mkdir()
    (root / "data" / "raw.csv").write_text("x\n1\n2\n3\n")
    return root


def nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("pipelines")
    root = make_project(tmp / "project")
    db = tmp / "mlflow.db"
    shutil.copy(migrated_db, db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{db}")
        mp.setenv("NBMLOPS_SPOOL", str(tmp / "spool"))
        mp.setenv("NBMLOPS_AUTOSYNC", "0")  # `nbmlops run` uploads what its steps spooled
        mp.setenv("NBMLOPS_CACHE", str(tmp / "cache"))
        mp.delenv("NBMLOPS_NOTEBOOK", raising=False)
        mp.chdir(root)
        notebook(root / "load.ipynb", ["%load_ext nbmlops", "%%track load\n" + LOAD],
                 "scale: float = 1.0")
        notebook(root / "features.ipynb", ["%load_ext nbmlops", "%%track features\n" + FEATURES],
                 "scale: float = 1.0\nfail: bool = False")
        notebook(root / "train.ipynb", ["%load_ext nbmlops", "%%track train\n" + TRAIN])
        yield root


def export(root: Path) -> Path:
    # Given out of order: the data decides the order.
    done = nbmlops("export", "train.ipynb", "load.ipynb", "features.ipynb", "--name", "weekly")
    assert done.returncode == 0, done.stderr
    return root / "jobs" / "weekly"


def run(folder: Path, only: str | None = None, start: str | None = None,
        force: tuple[str, ...] = ()) -> dict[str, str]:
    result = run_pipeline(folder, load(folder), {}, only=only, start=start, force=force)
    return {name: step.status for name, step in result.steps.items()}


# -- the graph, without kernels --------------------------------------------------------------


def test_order_cycles_and_downstream() -> None:
    names = ["a", "b", "c", "d"]
    assert pipeline.order(names, {"a": ["c"], "b": [], "c": [], "d": ["a"]}) == [
        "b", "c", "a", "d"]  # ties keep the given order
    assert pipeline.find_cycle(names, {"a": ["b"], "b": ["c"], "c": ["a"]}) in (
        ["c", "b", "a", "c"], ["a", "c", "b", "a"], ["b", "a", "c", "b"])
    with pytest.raises(PipelineError, match="cycle"):
        pipeline.order(names, {"a": ["b"], "b": ["a"]})
    with pytest.raises(PipelineError, match="not a step"):
        pipeline.order(names, {"a": ["zz"]})
    assert pipeline.downstream({"b": ["a"], "c": ["b"], "d": []}, "b") == {"b", "c"}


def test_paths_read_and_written_are_found_in_code() -> None:
    cells = [
        ("code", "OUT = 'data'\nRAW: str = 'raw/in.csv'"),
        ("markdown", "pd.read_csv('not/code.csv')"),
        ("code", "%%track\nimport numpy as np, pyarrow.parquet as pq\n"
                 "df = pd.read_csv(RAW)\n"
                 "df.to_parquet(f'{OUT}/clean.parquet')\n"
                 "np.save(Path(OUT) / 'x.npy', a)\n"
                 "pq.write_table(t, OUT + '/t.parquet')\n"
                 "with open('log.txt', 'w') as f:\n    f.write('x')\n"
                 "Path('notes.txt').read_text()\n"
                 "pd.read_parquet(computed_at_run_time())"),
    ]
    found = {(f.path, f.mode) for f in dataflow.analyze(cells)}
    assert found == {
        ("raw/in.csv", "read"), ("data/clean.parquet", "write"), ("data/x.npy", "write"),
        ("data/t.parquet", "write"), ("log.txt", "write"), ("notes.txt", "read"),
    }


def test_inferred_graph_printed_with_its_reasons(project: Path) -> None:
    done = nbmlops("export", "train.ipynb", "load.ipynb", "features.ipynb", "--name", "weekly")
    assert done.returncode == 0, done.stderr
    assert "load -> features" in done.stdout and "features -> train" in done.stdout
    assert ("why load -> features: reads data/clean.parquet (code: read_parquet in cell 3), "
            "which load writes (code: to_parquet in cell 3)") in done.stdout
    job = load(project / "jobs" / "weekly")
    assert [(s.name, s.needs) for s in job.steps] == [
        ("load", []), ("features", ["load"]), ("train", ["features"])]
    assert {p.name: p.type for p in job.parameters} == {"scale": "float", "fail": "bool"}
    assert job.step("features").parameters == ["scale", "fail"]
    assert job.step("train").parameters == []
    assert job.step("load").inputs == ["../../data/raw.csv"]


def test_bad_pipelines_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    root = make_project(tmp_path / "bad")
    a = notebook(root / "a.ipynb", ["import pandas as pd\npd.read_csv('y.csv').to_csv('x.csv')"])
    b = notebook(root / "b.ipynb", ["import pandas as pd\npd.read_csv('x.csv').to_csv('y.csv')"])
    c = notebook(root / "c.ipynb", ["import pandas as pd\npd.DataFrame().to_csv('x.csv')"])
    n = notebook(root / "n.ipynb", ["print(k)"], "k: int = 1")
    s = notebook(root / "s.ipynb", ["print(k)"], "k: str = 'a'")
    out = root / "jobs" / "bad"
    done = nbmlops("export", str(a), str(b), "--name", "bad", "--out", str(out))
    assert done.returncode == 2
    assert re.fullmatch(r"nbmlops: error: the steps form a cycle: (a -> b -> a|b -> a -> b): "
                        r"a step cannot read what a step after it writes.*\n", done.stderr)
    for given, message in [
        ((a, c), "steps a and c both write x.csv"),
        ((n, s), "parameter k is int in step n and str in step s"),
    ]:
        with pytest.raises(PipelineError, match=message):
            export_pipeline(list(given), out, "bad")
    assert not (root / "jobs").exists()


def test_needs_edited_by_hand_are_kept_on_export(tmp_path: Path) -> None:
    root = make_project(tmp_path / "edited")
    a = notebook(root / "a.ipynb", ["open('a.txt', 'w').write('a')"])
    b = notebook(root / "b.ipynb", ["open('b.txt', 'w').write('b')"])
    folder = export_pipeline([a, b], name="two").folder
    assert [s.needs for s in load(folder).steps] == [[], []]
    data = yaml.safe_load((folder / "job.yaml").read_text())
    data["steps"]["b"]["needs"] = ["a"]  # b must wait for a, for a reason the code hides
    (folder / "job.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    again = export_pipeline([a, b], name="two")
    assert [s.needs for s in load(folder).steps] == [[], ["a"]]
    assert again.kept == [("b", "a")]


# -- running it ------------------------------------------------------------------------------


def test_first_run_executes_every_step_nested_in_mlflow(project: Path) -> None:
    folder = export(project)
    result = run_pipeline(folder, load(folder), {})
    assert {n: s.status for n, s in result.steps.items()} == {
        "load": FINISHED, "features": FINISHED, "train": FINISHED}
    client = MlflowClient()
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags["nbmlops.job"] == "weekly" and parent.info.status == "FINISHED"
    runs = client.search_runs([parent.info.experiment_id])
    steps = {r.data.tags["nbmlops.step"]: r for r in runs if "nbmlops.step" in r.data.tags}
    assert set(steps) == {"load", "features", "train"}
    for name, step in steps.items():
        assert step.data.tags["mlflow.parentRunId"] == result.parent_run_id
        assert step.data.tags["nbmlops.pipeline"] == "weekly"
        [cell] = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == step.info.run_id]
        assert cell.info.run_name == name  # the step's %%track cell, nested under its step
        # The step and its cell name the notebook they came from: its sidebar finds them.
        assert step.data.tags["nbmlops.source_notebook"] == f"{name}.ipynb"
        assert cell.data.tags["nbmlops.source_notebook"] == f"{name}.ipynb"
    assert steps["features"].data.params == {"scale": "1.0", "fail": "False"}


def test_second_run_skips_every_step(project: Path) -> None:
    folder = project / "jobs" / "weekly"
    os.utime(project / "data" / "raw.csv")  # touched, content unchanged
    result = run_pipeline(folder, load(folder), {})
    assert {n: s.status for n, s in result.steps.items()} == {
        "load": SKIPPED, "features": SKIPPED, "train": SKIPPED}
    skipped = MlflowClient().get_run(result.steps["train"].run_id)
    assert skipped.data.tags["nbmlops.step.skipped"] == "up to date"
    reused = skipped.data.tags["nbmlops.step.reuses"]
    assert MlflowClient().get_run(reused).data.tags["nbmlops.step"] == "train"
    assert skipped.data.tags["mlflow.note.content"] == f"skipped: up to date; reuses run {reused}"


def test_new_raw_content_reruns_every_step(project: Path) -> None:
    (project / "data" / "raw.csv").write_text("x\n4\n5\n6\n")
    assert run(project / "jobs" / "weekly") == {
        "load": FINISHED, "features": FINISHED, "train": FINISHED}


def test_changing_one_notebook_reruns_it_and_what_follows(project: Path) -> None:
    notebook(project / "features.ipynb",
             ["%load_ext nbmlops", "%%track features\n" + FEATURES.replace("* 2", "* 3")],
             "scale: float = 1.0\nfail: bool = False")
    folder = export(project)
    assert run(folder) == {"load": SKIPPED, "features": FINISHED, "train": FINISHED}


def test_tracked_runs_wire_what_the_code_hides(project: Path) -> None:
    # Read through a function of its own: the code shows no path read, the tracked runs do.
    hidden = ("import pandas as pd\n"
              "def load_table(path):\n    return pd.read_parquet(path)\n"
              "df = load_table('data/features.parquet')\n"
              "loss = float(df['y'].mean())")
    shutil.copy(project / "train.ipynb", project / "train.orig")
    notebook(project / "train.ipynb", ["%load_ext nbmlops", "%%track train\n" + hidden])
    try:
        done = nbmlops("export", "features.ipynb", "train.ipynb", "--name", "hidden")
        assert done.returncode == 0, done.stderr
        assert re.search(r"why features -> train: reads data/features.parquet \(tracked run "
                         r"[0-9a-f]{8}\), which features writes \(code: to_parquet in cell 3\)",
                         done.stdout), done.stdout
    finally:
        (project / "train.orig").replace(project / "train.ipynb")


def test_failed_step_stops_what_needs_it_and_from_resumes(project: Path) -> None:
    (project / "data" / "raw.csv").write_text("x\n7\n8\n")
    folder = project / "jobs" / "weekly"
    done = nbmlops("run", str(folder), "-p", "fail", "true")
    assert done.returncode == 1
    assert "step features: failed (error) in cell 3, line 5:" in done.stderr
    assert "ValueError: features failed on purpose" in done.stderr
    assert "train: not run (needs features, which failed)" in done.stdout
    assert "load: FINISHED" in done.stdout
    assert run(folder, start="features") == {"features": FINISHED, "train": FINISHED}
    assert run(folder) == {"load": SKIPPED, "features": SKIPPED, "train": SKIPPED}
    assert run(folder, only="train", force=("train",)) == {"train": FINISHED}


def own_project(tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project of the test's own, with its own store and spool, as the working folder."""
    root = make_project(tmp_path / "project")
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.chdir(root)
    return root


def side_by_side(folder: Path) -> Path:
    """Two steps at once, whatever the machine's core count."""
    data = yaml.safe_load((folder / "job.yaml").read_text())
    (folder / "job.yaml").write_text(yaml.safe_dump({**data, "max_parallel": 2}))
    return folder


# Each branch says it started, then waits for the other to have started: both finish only if
# they run at the same time. Run one after the other, the first fails at its deadline.
MEET = ("import pathlib, time\n"
        "pathlib.Path('{me}.started').touch()\n"
        "deadline = time.monotonic() + 60\n"
        "while not pathlib.Path('{other}.started').exists():\n"
        "    if time.monotonic() > deadline:\n"
        "        raise TimeoutError('{other} did not start while {me} ran')\n"
        "    time.sleep(0.05)\n"
        "open('{me}.txt', 'w').write('{me}')")


def test_independent_branches_run_side_by_side(tmp_path: Path, migrated_db: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = own_project(tmp_path, migrated_db, monkeypatch)
    left = notebook(root / "left.ipynb", [MEET.format(me="left", other="right")])
    right = notebook(root / "right.ipynb", [MEET.format(me="right", other="left")])
    folder = side_by_side(export_pipeline([left, right], name="branches").folder)
    result = run_pipeline(folder, load(folder), {})
    assert result.status == FINISHED, result.report()
    client = MlflowClient()
    a, b = (client.get_run(result.steps[n].run_id).info for n in ("left", "right"))
    assert a.start_time < b.end_time and b.start_time < a.end_time  # the two overlapped


def test_only_runs_one_step_and_an_unknown_step_is_refused(project: Path) -> None:
    folder = project / "jobs" / "weekly"
    done = nbmlops("run", str(folder), "--only", "nope")
    assert done.returncode == 2 and "has no step 'nope'" in done.stderr
    assert run(folder, only="load") == {"load": SKIPPED}


def test_jobs_view_draws_the_steps_with_their_last_status(project: Path) -> None:
    from nbmlops.jobs import overview

    folder = project / "jobs" / "weekly"
    assert folder in overview.job_folders(project / "features.ipynb")
    [view] = overview.overviews([folder])
    assert view.runs_error is None and view.runs  # the pipeline's own runs
    assert [(s.name, s.needs, s.status) for s in view.steps] == [
        ("load", [], SKIPPED), ("features", ["load"], SKIPPED), ("train", ["features"], FINISHED)]
    # Each run of the pipeline says what its steps did, their metrics and output notebooks.
    assert [(s.name, s.status) for s in view.runs[0].steps] == [("load", SKIPPED)]  # --only
    trained = [s for r in view.runs for s in r.steps if s.name == "train" and s.status == FINISHED]
    assert trained and "loss" in trained[0].metrics
    assert trained[0].output and (folder / trained[0].output).is_file()
    assert trained[0].duration_s and trained[0].duration_s > 0


def test_dry_run_says_what_would_run_and_a_held_lock_skips_the_run(project: Path) -> None:
    import filelock

    from nbmlops.jobs.run.job import LOCK_FILE

    folder = project / "jobs" / "weekly"
    (project / "data" / "raw.csv").write_text("x\n9\n")
    said: list[str] = []
    result = run_pipeline(folder, load(folder), {}, dry_run=True, say=said.append)
    assert result.status == SKIPPED and said == [
        "load: runs (input ../../data/raw.csv changed)",
        "features: up to date now; runs if load change its inputs",
        "train: skipped: up to date",
    ]
    with filelock.FileLock(str(folder / LOCK_FILE)):
        result = run_pipeline(folder, load(folder), {}, say=said.append)
    assert result.status == SKIPPED and not result.steps
    assert said[-1].endswith("is already running: this run is skipped (overlap: skip in job.yaml)")


def test_parameters_shared_by_steps() -> None:
    from nbmlops.jobs.export.pipeline import merge_parameters
    from nbmlops.jobs.spec import ParamSpec

    merged, notes = merge_parameters([
        ("a", [ParamSpec("limit", "any", None), ParamSpec("lr", "float", 0.1)]),
        ("b", [ParamSpec("limit", "int", 5), ParamSpec("lr", "float", 0.2)]),
    ])
    assert merged == [ParamSpec("limit", "int", 5), ParamSpec("lr", "float", 0.1)]
    assert notes == ["parameter lr: default 0.1 in a, 0.2 in b; the pipeline gives both 0.1 "
                     "unless -p sets it"]


# -- scheduled ------------------------------------------------------------------------------


def chain(root: Path) -> list[Path]:
    """Three notebooks, a -> b -> c through two csv files, without kernels."""
    make_project(root)
    return [
        notebook(root / "a.ipynb", ["import pandas as pd\npd.DataFrame().to_csv('x.csv')"]),
        notebook(root / "b.ipynb", ["import pandas as pd\npd.read_csv('x.csv').to_csv('y.csv')"],
                 "n: int = 1"),
        notebook(root / "c.ipynb", ["import pandas as pd\npd.read_csv('y.csv')"]),
    ]


def test_schedulers_get_the_pipeline_graph(tmp_path: Path) -> None:
    folder = export_pipeline(chain(tmp_path / "sched"), name="chain", cron="0 3 * * 1",
                             targets=["cron", "github", "kubernetes"]).folder
    [entry] = [ln for ln in (folder / "crontab.txt").read_text().splitlines()
               if not ln.startswith("#")]
    assert entry.split(" run ")[1].startswith(f"{folder} >>")  # the whole pipeline, once
    jobs = yaml.safe_load((folder / "github-workflow.yml").read_text())["jobs"]
    assert {name: job.get("needs") for name, job in jobs.items()} == {
        "a": None, "b": ["a"], "c": ["b"]}
    assert jobs["b"]["steps"][-1]["run"] == (
        'nbmlops run jobs/chain --only b -p "n=$NBMLOPS_PARAM_n"')
    cronjob = yaml.safe_load((folder / "cronjob.yaml").read_text())
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["nbmlops", "run", "/project/jobs/chain"]  # the whole of it


def airflow_bin() -> Path:
    venv = os.environ.get("NBMLOPS_AIRFLOW_VENV", Path.home() / ".cache" / "nbmlops-airflow-venv")
    if not (Path(venv) / "bin" / "python").exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the Airflow virtual environment is required in CI")
        pytest.skip("no Airflow virtual environment (bash .ci/airflow-venv)")
    return Path(venv) / "bin"


@pytest.mark.airflow
def test_airflow_has_one_task_per_step(tmp_path: Path) -> None:
    python = airflow_bin() / "python"
    folder = export_pipeline(chain(tmp_path / "af"), name="chain", cron="0 3 * * 1",
                             targets=["airflow"]).folder
    dags = folder.parent  # the DAG runs the job folder it lies in
    probe = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "dag = bag.dags['nbmlops_chain']\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},\n"
        "  'tasks': {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},\n"
        "  'command': dag.get_task('b').bash_command}))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run([str(python), "-c", probe, str(dags)], capture_output=True, text=True,
                          env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = yaml.safe_load(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["tasks"] == {"a": [], "b": ["a"], "c": ["b"]}
    assert 'run "$NBMLOPS_JOB" --only b --params-json' in report["command"]


def test_ctrl_c_stops_every_running_step_and_its_kernel(tmp_path: Path, migrated_db: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import signal
    import time

    import psutil

    root = own_project(tmp_path, migrated_db, monkeypatch)
    code = "import pathlib, time\npathlib.Path('{0}.started').touch()\ntime.sleep(120)"
    steps = [notebook(root / f"{n}.ipynb", [code.format(n)]) for n in ("left", "right")]
    folder = side_by_side(export_pipeline(steps, name="long").folder)
    run = subprocess.Popen([str(BIN / "nbmlops"), "run", str(folder)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not all((root / f"{n}.started").exists() for n in ("left", "right")):
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "the kernels never ran their cells"
            time.sleep(0.1)
        below = psutil.Process(run.pid).children(recursive=True)
        run.send_signal(signal.SIGINT)
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 130, stderr
        _, alive = psutil.wait_procs(below, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]  # no kernel left behind
        [parent] = MlflowClient().search_runs(
            [e.experiment_id for e in MlflowClient().search_experiments()],
            "tags.`nbmlops.job` = 'long'")
        assert parent.info.status == "KILLED"
    finally:
        if run.poll() is None:
            for child in psutil.Process(run.pid).children(recursive=True):
                child.kill()
            run.kill()
            run.wait()


def test_a_file_only_the_tracked_cells_saw_is_an_input(tmp_path: Path, migrated_db: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = own_project(tmp_path, migrated_db, monkeypatch)
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    (root / "lookup.txt").write_text("a")
    # Read through a function of its own: the export cannot see it, the tracked cell can.
    hidden = notebook(root / "hidden.ipynb", [
        "%load_ext nbmlops",
        "%%track\ndef text(path):\n    return open(path).read()\nsize = len(text('lookup.txt'))"])
    other = notebook(root / "other.ipynb", ["x = 1"])
    folder = export_pipeline([hidden, other], name="seen").folder
    assert load(folder).step("hidden").inputs == []
    assert run(folder) == {"hidden": FINISHED, "other": FINISHED}
    assert run(folder) == {"hidden": SKIPPED, "other": SKIPPED}
    (root / "lookup.txt").write_text("b")
    assert run(folder) == {"hidden": FINISHED, "other": SKIPPED}


@pytest.mark.airflow
def test_airflow_dags_test_runs_the_steps_in_order(tmp_path: Path, migrated_db: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    airflow = airflow_bin() / "airflow"
    root = own_project(tmp_path, migrated_db, monkeypatch)
    steps = chain(root / "chain")
    monkeypatch.chdir(root / "chain")
    folder = export_pipeline(steps, name="chain", cron="0 3 * * 1", targets=["airflow"]).folder
    dags = folder.parent  # the DAG runs the job folder it lies in
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # the worker's nbmlops
    for command in (["db", "migrate"], ["dags", "reserialize"], ["dags", "test", "nbmlops_chain"]):
        done = subprocess.run([str(airflow), *command], capture_output=True, text=True, env=env,
                              timeout=600, check=False)
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    client = MlflowClient()
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()],
                              "tags.`nbmlops.pipeline` = 'chain'")
    started = {r.data.tags["nbmlops.step"]: r for r in runs}
    assert {n: r.info.status for n, r in started.items()} == {
        "a": "FINISHED", "b": "FINISHED", "c": "FINISHED"}
    assert started["a"].info.end_time <= started["b"].info.start_time
    assert started["b"].info.end_time <= started["c"].info.start_time
