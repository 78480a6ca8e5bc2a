"""``nbmlops reproduce`` of runs a job and a pipeline made: the slice runs in the folder the job
ran its notebook in (job.yaml's ``cwd``, a step's own), so the relative paths it read resolve;
and when the re-run fails, the failure is the verdict's headline, a changed input only a
possible cause. Real kernels (papermill), a real sqlite store, the CLI as a user runs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from mlflow import MlflowClient

from nbmlops import store

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel

PREP = ("import pandas as pd\n"
        "raw = pd.read_csv(raw_path)\n"
        "raw['x'] = raw['x'] * 2.0\n"
        "raw.to_csv(clean_path, index=False)")
FIT = ("import pandas as pd\n"
       "clean = pd.read_csv(clean_path)\n"
       "score = float(clean['x'].mean())")


def notebook(path: Path, parameters: str, tracked: str) -> Path:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("%load_ext nbmlops"),
                nbformat.v4.new_code_cell(tracked)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "nbmlops"), *args], capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[Path]:
    """A project whose notebooks read and write data/ relative to the project root (their
    folder), exported as a job and as a two-step pipeline, each run once."""
    tmp = tmp_path_factory.mktemp("reproduce-jobs")
    root = tmp / "project"
    (root / "data").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'repro'\n")
    (root / "data" / "raw.csv").write_text("x\n1\n2\n3\n")
    (root / "data" / "clean.csv").write_text("x\n2.0\n4.0\n6.0\n")  # what prep writes
    shutil.copy(migrated_db, tmp / "mlflow.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'mlflow.db'}")
        mp.setenv("NBMLOPS_SPOOL", str(tmp / "spool"))
        mp.setenv("NBMLOPS_AUTOSYNC", "0")  # `nbmlops run` uploads what it spooled
        mp.setenv("NBMLOPS_CACHE", str(tmp / "cache"))
        for name in ("NBMLOPS_NOTEBOOK", "NBMLOPS_EXPERIMENT", "NBMLOPS_PARENT_RUN_ID"):
            mp.delenv(name, raising=False)
        mp.chdir(root)
        notebook(root / "prep.ipynb", "raw_path = 'data/raw.csv'\nclean_path = 'data/clean.csv'",
                 "%%track prep\n" + PREP)
        notebook(root / "fit.ipynb", "clean_path = 'data/clean.csv'", "%%track fit\n" + FIT)
        for args in (["export", "fit.ipynb", "--name", "nightly"],
                     ["run", "jobs/nightly"],
                     ["export", "prep.ipynb", "fit.ipynb", "--name", "weekly"],
                     ["run", "jobs/weekly"]):
            done = nbmlops(*args)
            assert done.returncode == 0, (args, done.stdout, done.stderr)
        yield root


def cell_run(job: str, name: str) -> str:
    """The run of the tracked cell ``name`` that job ``job`` made (a step's run of a pipeline
    carries the step's name too, but no code; a reproduction is tagged as one)."""
    client = MlflowClient()
    ids = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(ids, f"attributes.run_name = '{name}' and "
                               f"tags.`{store.CODE_SHA_TAG}` LIKE '%' and "
                               f"tags.`{store.SOURCE_NAME_TAG}` LIKE 'jobs/{job}/%'")
    [run] = [r for r in found if store.REPRODUCES_TAG not in r.data.tags]
    assert store.PARENT_RUN_TAG in run.data.tags  # nested under the job's (or step's) run
    return str(run.info.run_id)


def test_a_job_run_is_reproduced_in_the_folder_the_job_ran_in(project: Path) -> None:
    run_id = cell_run("nightly", "fit")
    done = nbmlops("reproduce", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "metric score: 4 -> 4 (same)" in done.stdout
    assert done.stdout.strip().endswith("\nreproduced"), done.stdout
    assert MlflowClient().get_run(run_id).data.tags[store.REPRODUCED_TAG] == "yes"
    assert not (project / "jobs" / "nightly" / "data").exists()  # nothing written in the copy


def test_a_pipeline_step_run_is_reproduced_in_its_step_s_folder(project: Path) -> None:
    run_id = cell_run("weekly", "fit")
    done = nbmlops("reproduce", run_id)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "metric score: 4 -> 4 (same)" in done.stdout
    assert done.stdout.strip().endswith("\nreproduced"), done.stdout


def test_a_failing_reproduction_names_its_error_first_and_a_changed_input_as_a_possible_cause(
    project: Path,
) -> None:
    run_id = cell_run("weekly", "fit")
    clean = project / "data" / "clean.csv"
    kept = clean.read_text()
    clean.write_text("y\n1\n")  # the column the cell reads is gone: the re-run fails
    try:
        done = nbmlops("reproduce", run_id)
    finally:
        clean.write_text(kept)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("not reproduced"))
    assert lines[verdict:verdict + 3] == [  # the slice: its text, parameters, cells
        "not reproduced: the slice failed (error) in cell 5, line 4:",
        "    score = float(clean['x'].mean())",
        "  KeyError: 'x'",
    ]
    assert "likely cause" not in done.stdout
    assert lines[-1].startswith("possible cause: ") and "clean.csv changed since the run" \
        in lines[-1]
    tags = MlflowClient().get_run(run_id).data.tags
    assert tags[store.REPRODUCED_TAG] == "no"
    first, *rest = tags[store.REPRODUCED_DIFF_TAG].splitlines()
    assert first == "the slice failed (error) in cell 5, line 4:"
    assert any(r.startswith("possible cause: ") and "clean.csv changed" in r for r in rest)
