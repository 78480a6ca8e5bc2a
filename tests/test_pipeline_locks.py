"""A pipeline step never runs twice at once, however its runs were started, and what it
records as up to date is what it wrote; a run stopped by SIGTERM (a scheduler's kill) stops
its notebooks and ends KILLED. Real kernels, a real MLflow store."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import psutil
import pytest
from mlflow import MlflowClient

from nbmlops.jobs.export.pipeline import export_pipeline
from nbmlops.jobs.run import uptodate
from nbmlops.jobs.run.pipeline import FINISHED, SKIPPED, run_pipeline
from nbmlops.jobs.spec import load

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel

RAW = "x\n1\n2\n3\n4\n5\n6\n"
# Two runs of this step at once: the second cannot take the marker and fails. The step holds
# its marker until the test says go (the signal is named at run time: it is no data of it).
LOAD = ("import os, time\n"
        "busy = os.open('data/load.busy', os.O_CREAT | os.O_EXCL | os.O_WRONLY)\n"
        "with open('data/raw.csv') as f, open('data/clean.csv', 'w') as out:\n"
        "    out.write(f.read())\n"
        "go = os.path.join('data', 'go')\n"
        "deadline = time.time() + 120\n"
        "while not os.path.exists(go) and time.time() < deadline:\n"
        "    time.sleep(0.1)\n"
        "os.close(busy)\n"
        "os.unlink('data/load.busy')")
FEATURES = "open('data/features.csv', 'w').write(open('data/clean.csv').read())"


def notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def root(tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'locks'\n")
    (root / "data" / "raw.csv").write_text(RAW)
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")  # `nbmlops run` uploads what its steps spool
    monkeypatch.chdir(root)
    return root


def nbmlops_run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([str(BIN / "nbmlops"), "run", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(what: str, seen: Callable[[], bool], *runs: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while not seen():
        for run in runs:
            assert run.poll() is None, f"a run ended before {what}: {run.communicate()}"
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.1)


def test_a_whole_run_and_an_only_run_never_write_a_step_together(root: Path,
                                                                 tmp_path: Path) -> None:
    steps = [notebook(root / "load.ipynb", [LOAD]), notebook(root / "features.ipynb", [FEATURES])]
    folder = export_pipeline(steps, name="weekly").folder
    assert [s.name for s in load(folder).steps] == ["load", "features"]
    only = nbmlops_run(str(folder), "--only", "load")
    whole_log = tmp_path / "whole.log"
    whole: subprocess.Popen[str] | None = None
    try:
        # The whole run starts while the --only run is inside the step, and the step goes on
        # until the whole run is seen to wait for it (or, unlocked, has run it and failed).
        wait_for("the --only run in its step", (root / "data" / "load.busy").exists, only)
        with open(whole_log, "w") as log:
            whole = subprocess.Popen([str(BIN / "nbmlops"), "run", str(folder)], stdout=log,
                                     stderr=subprocess.STDOUT, text=True)
        waiting = "step load: another run of it is under way; waiting for it to end"
        wait_for("the whole run wait for the step, or end",
                 lambda: waiting in whole_log.read_text() or whole.poll() is not None, only)
        (root / "data" / "go").touch()
        out, err = only.communicate(timeout=300)
        whole.wait(timeout=300)
    finally:
        for run in (only, whole):
            if run is not None and run.poll() is None:
                run.kill()
                run.wait()
    said = whole_log.read_text()
    assert only.returncode == 0 and "FAILED" not in out + err, out + err
    assert whole is not None and whole.returncode == 0 and "FAILED" not in said, said
    assert waiting in said
    assert (root / "data" / "clean.csv").read_text() == RAW
    assert not (root / "data" / "load.busy").exists()
    result = run_pipeline(folder, load(folder), {})
    assert {n: s.status for n, s in result.steps.items()} == {"load": SKIPPED,
                                                              "features": SKIPPED}


TRACKED_LOAD = ("%%track load\n"
                "text = open('data/raw.csv').read()\n"
                "open('data/clean.csv', 'w').write(text)")
# The step goes on after its tracked cell wrote clean.csv, until the test says so.
# (Its two signal files are named at run time: they are no data of the step.)
WAIT = ("import os, time\n"
        "signal = lambda name: os.path.join('data', name)\n"
        "open(signal('written'), 'w').close()\n"
        "deadline = time.time() + 120\n"
        "while not os.path.exists(signal('go')) and time.time() < deadline:\n"
        "    time.sleep(0.1)")


def test_an_output_another_writer_changed_during_the_step_is_not_up_to_date(
    root: Path,
) -> None:
    steps = [notebook(root / "load.ipynb", ["%load_ext nbmlops", TRACKED_LOAD, WAIT]),
             notebook(root / "features.ipynb", [FEATURES])]
    folder = export_pipeline(steps, name="weekly").folder
    job = load(folder)
    assert job.step("load").outputs == ["../../data/clean.csv"]
    run = nbmlops_run(str(folder), "--only", "load")
    try:
        deadline = time.monotonic() + 180
        while not (root / "data" / "written").exists():
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "the step never wrote its output"
            time.sleep(0.1)
        (root / "data" / "clean.csv").write_text("x\n1\n1\n2\n2\n")  # another writer
        (root / "data" / "go").touch()
        out, err = run.communicate(timeout=180)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, out + err
    assert "data/clean.csv changed after the step wrote it" in err, err
    verdict = uptodate.check(folder, job, job.step("load"), {})
    assert not verdict.current
    assert verdict.reason == "output ../../data/clean.csv is not what its last run wrote"
    result = run_pipeline(folder, job, {}, only="load")
    assert result.steps["load"].status == FINISHED
    assert (root / "data" / "clean.csv").read_text() == RAW


SLEEP = "import pathlib, time\npathlib.Path('started').touch()\ntime.sleep(120)"


def started_run(root: Path, kind: str) -> tuple[Path, subprocess.Popen[str]]:
    """``nbmlops run`` of a job (one notebook) or a pipeline (two steps) whose notebook
    sleeps, once its cell has begun."""
    from nbmlops.jobs.export.folder import export_job

    nb = notebook(root / "long.ipynb", [SLEEP])
    if kind == "job":
        folder = export_job(nb, name="long", force=True).folder
    else:
        other = notebook(root / "other.ipynb", ["1"])
        folder = export_pipeline([nb, other], name="long").folder
    run = nbmlops_run(str(folder))
    deadline = time.monotonic() + 180
    while not (root / "started").exists():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the kernel never ran its cell"
        time.sleep(0.1)
    return folder, run


def kill_all(run: subprocess.Popen[str], below: list[psutil.Process]) -> None:
    for p in below:
        with contextlib.suppress(psutil.Error):
            p.kill()
    if run.poll() is None:
        run.kill()
        run.wait()


@pytest.mark.parametrize("kind", ["job", "pipeline"])
def test_sigterm_stops_the_notebook_and_ends_the_run_killed(root: Path, kind: str) -> None:
    from nbmlops.jobs.run.job import is_running

    folder, run = started_run(root, kind)
    below = psutil.Process(run.pid).children(recursive=True)
    try:
        assert any("ipykernel" in " ".join(p.cmdline()) for p in below)
        run.send_signal(signal.SIGTERM)  # Airflow's task kill and timeout
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 143, stderr
        # Gone before the run ended: no second run can start beside them.
        assert [p for p in below if p.is_running() and p.status() != "zombie"] == []
        assert not is_running(folder)
        client = MlflowClient()
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
        [parent] = [r for r in runs if r.data.tags.get("nbmlops.job") == "long"]
        assert parent.info.status == "KILLED"
        assert "stopped by SIGTERM" in parent.data.tags["nbmlops.error"]
        assert all(r.info.status != "RUNNING" for r in runs)
    finally:
        kill_all(run, below)


def test_a_run_killed_for_good_takes_its_notebook_with_it(root: Path) -> None:
    _, run = started_run(root, "job")
    below = psutil.Process(run.pid).children(recursive=True)
    try:
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
        _, alive = psutil.wait_procs(below, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        kill_all(run, below)
