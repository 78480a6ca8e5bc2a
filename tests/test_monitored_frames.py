"""A job's ``monitor:`` must name frames its notebook has: a typo fails ``nbmlops export`` and
the start of ``nbmlops run`` in one line, before any kernel, with nothing half done."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from nbmlops.exceptions import JobError
from nbmlops.jobs.monitored import check, names_in
from nbmlops.jobs.spec import Job

CELLS = [
    ("markdown", "scores"),  # a word, which would parse as a name
    ("code", "import pandas as pd\nbatch = pd.read_csv('in.csv')"),
    ("code", "%%track score\nimport nbmlops\nmodel = nbmlops.load_model('churn@champion')\n"
             "batch['churn_score'] = model.predict_proba(batch)[:, 1]\n"
             "preds = model.predict(batch)\n!echo done"),
]


def _job(**monitor: str) -> Job:
    return Job(name="nightly", notebook="score.ipynb", monitor=dict(monitor))


def test_the_names_and_assigned_columns_of_a_notebooks_code_cells() -> None:
    names, columns = names_in(CELLS)
    assert {"batch", "model", "preds", "pd", "nbmlops"} <= names
    assert "scores" not in names  # a markdown cell's words are not names
    assert columns == {"churn_score"}


@pytest.mark.parametrize("monitor", [{"input": "batch"}, {"predictions": "preds"},
                                     {"predictions": "churn_score"}, {"model": "churn"}])
def test_frames_the_notebook_has_pass(monitor: dict[str, str]) -> None:
    check(_job(**monitor), CELLS, "score.ipynb")


@pytest.mark.parametrize(("monitor", "message"), [
    ({"input": "batches"},
     "job nightly: monitor.input names 'batches', which no cell of score.ipynb binds or reads"),
    ({"input": "churn_score"},  # a column is predictions, never the scored frame
     "job nightly: monitor.input names 'churn_score', which no cell of score.ipynb binds or "
     "reads"),
    ({"input": "batch", "predictions": "scores"},
     "job nightly: monitor.predictions names 'scores', which no cell of score.ipynb binds or "
     "reads"),
])
def test_a_frame_the_notebook_never_has_is_one_line(monitor: dict[str, str],
                                                    message: str) -> None:
    with pytest.raises(JobError) as caught:
        check(_job(**monitor), CELLS, "score.ipynb")
    assert str(caught.value) == message


def _nbmlops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "nbmlops"), *args],
                          capture_output=True, text=True, timeout=240, check=False)


def test_export_and_run_refuse_a_monitor_naming_no_frame(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'jobs'\n")
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'none.db'}")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(s) if kind == "markdown" else nbformat.v4.new_code_cell(s)
        for kind, s in CELLS])
    nbformat.write(nb, str(root / "score.ipynb"))
    assert _nbmlops("export", "score.ipynb").returncode == 0
    folder = root / "jobs" / "score"
    job_yaml = folder / "job.yaml"
    data = yaml.safe_load(job_yaml.read_text())
    data["monitor"] = {"input": "batch", "predictions": "scores"}
    job_yaml.write_text(yaml.safe_dump(data))
    written = job_yaml.read_bytes()

    done = _nbmlops("run", str(folder))
    assert done.returncode == 2
    assert done.stderr.strip() == ("nbmlops: error: job score: monitor.predictions names "
                                   "'scores', which no cell of score.ipynb binds or reads")
    assert not (folder / "runs").exists() and not (tmp_path / "none.db").exists()

    done = _nbmlops("export", "score.ipynb")  # exporting again keeps job.yaml's monitor:
    assert done.returncode == 2
    assert done.stderr.strip().endswith("monitor.predictions names 'scores', which no cell "
                                        "of score.ipynb binds or reads")
    assert job_yaml.read_bytes() == written  # nothing rewritten
