"""``nbmlops reproduce``: a run tracked in a real shell, uploaded to a real sqlite store, its slice
re-run in a real kernel with papermill, the verdict printed and tagged on the original run."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from mlflow import MlflowClient

from nbmlops import store
from nbmlops.cli import main
from nbmlops.reproduce import checks
from nbmlops.reproduce.verdict import compare
from nbmlops.runs import query
from nbmlops.runs.entities import Dataset
from nbmlops.server.jsonable import jsonable


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sqlite_uri: str) -> Path:
    root = shell_project(tmp_path, monkeypatch, "notebooks/train.ipynb")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_uri)
    (root / "notebooks").mkdir()
    (root / "notebooks" / "train.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    monkeypatch.chdir(root / "notebooks")  # a kernel works in its notebook's folder
    (root / "data").mkdir()
    (root / "data" / "wine.csv").write_text("alcohol,quality\n12.1,5\n13.4,6\n11.8,5\n14.2,7\n")
    return root


def cell(ip: InteractiveShell, source: str, cell_id: str) -> None:
    with capture_output():
        result = ip.run_cell(source, store_history=True, cell_id=cell_id)
    assert result.success, result.error_in_exec


def upload(project: Path) -> None:
    assert main(["sync", "--spool", str(project.parent / "spool")]) == 0


def reproduce(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["reproduce", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_run_made_out_of_order_with_hidden_state_is_reproduced_then_a_changed_file_named(
    ip: InteractiveShell, project: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str],
) -> None:
    cell(ip, "import numpy as np\nimport pandas as pd\nrows = 4", "setup")
    cell(ip, "wine = pd.read_csv('../data/wine.csv').head(rows)\nnp.random.seed(3)", "load")
    cell(ip, "bonus = 0.25", "scratch")  # a cell deleted since: its variable stays
    cell(ip, "def grade(v):\n    return v\n", "helpers")
    cell(ip, "def grade(v):\n    return v * 2 + bonus\n", "helpers")  # redefined
    cell(ip, "wine['strong'] = wine['alcohol'] > 12", "features")  # in place
    cell(ip, "import numpy as np\nimport pandas as pd\nrows = 2", "setup")  # edited, re-run
    cell(ip, "%%track quality\nnoise = float(np.random.rand())\n"
         "acc = grade(float(wine['strong'].mean())) + noise", "fit")
    upload(project)
    client = MlflowClient(sqlite_uri)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.tags[store.SLICE_TAG] == "stale"  # rows edited after `wine` was read

    # As if the run had used another numpy: reported, and the run still reproduces.
    requirements = Path(client.download_artifacts(
        run.info.run_id, store.REQUIREMENTS_ARTIFACT, str(project.parent)))
    requirements.write_text(re.sub(r"(?m)^numpy==.*$", "numpy==0.0.1", requirements.read_text()))
    client.log_artifact(run.info.run_id, str(requirements), "env")

    code, out, err = reproduce(capsys, run.info.run_id, "--in-place")
    assert code == 0, out + err
    assert f"nbmlops: packages differ from the run's: numpy 0.0.1 -> {np.__version__}" in err
    assert f"  package: numpy 0.0.1 -> {np.__version__}\n" in out
    assert (project / "notebooks" / f"{run.info.run_id}.reproduced.ipynb").is_file()
    assert out.strip().endswith("\nreproduced")
    assert f"metric acc: {run.data.metrics['acc']:.10g} -> {run.data.metrics['acc']:.10g} " \
        "(same)" in out
    tags = client.get_run(run.info.run_id).data.tags
    assert tags[store.REPRODUCED_TAG] == "yes"
    # What the panel and the sidebar read.
    summary = query.get_run(sqlite_uri, run.info.run_id, history=False, artifacts=False).run
    assert (summary.slice_verdict, summary.reproduced) == ("stale", "yes")
    assert jsonable(summary)["slice_reasons"] == summary.slice_reasons != []
    again = client.get_run(tags[store.REPRODUCED_RUN_TAG])
    assert again.data.tags[store.REPRODUCES_TAG] == run.info.run_id
    assert again.data.metrics == run.data.metrics
    assert again.info.experiment_id == run.info.experiment_id

    # The data file changed: named before the slice runs, and the run is not reproduced.
    wine = project / "data" / "wine.csv"
    wine.write_text(wine.read_text().replace("13.4", "11.4"))
    code, out, err = reproduce(capsys, run.info.run_id, "--out", str(project.parent / "out"))
    assert code == 1, out + err
    # Named as the run names it: relative to the project, the same on every machine.
    assert "nbmlops: data/wine.csv changed since the run" in err
    assert "not reproduced" in out and "likely cause: data/wine.csv changed since the run" in out
    assert "metric acc" in out and "(differs)" in out, out + err
    assert (project.parent / "out" / f"{run.info.run_id}.reproduced.ipynb").is_file()
    tags = client.get_run(run.info.run_id).data.tags
    assert tags[store.REPRODUCED_TAG] == "no"
    assert "likely cause: data/wine.csv changed" in tags[store.REPRODUCED_DIFF_TAG]


def recorded_run(make_record: Any, sqlite_uri: str, spool: Any) -> Any:
    """A run recorded without a code slice, uploaded: the only run of the store."""
    make_record(sqlite_uri)
    assert main(["sync", "--spool", str(spool.root)]) == 0
    client = MlflowClient(sqlite_uri)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return run


def test_a_run_without_a_slice_is_refused(
    make_record: Any, sqlite_uri: str, capsys: pytest.CaptureFixture[str], spool: Any,
) -> None:
    run = recorded_run(make_record, sqlite_uri, spool)
    capsys.readouterr()
    code, _, err = reproduce(capsys, run.info.run_id, "--tracking-uri", sqlite_uri)
    assert code == 2
    assert err.strip() == (f"nbmlops: error: run {run.info.run_id} has no code slice "
                           "(code/slice.ipynb): it was recorded without one (by an older "
                           "nbmlops, or with slicing off)")
    code, _, err = reproduce(capsys, "0" * 32, "--tracking-uri", sqlite_uri)
    assert code == 2 and err.startswith("nbmlops: error: ")


def test_the_short_run_id_a_status_line_shows_is_enough(
    make_record: Any, sqlite_uri: str, capsys: pytest.CaptureFixture[str], spool: Any,
) -> None:
    run = recorded_run(make_record, sqlite_uri, spool)
    capsys.readouterr()
    # "synced: run 9d08ede9 in ..." and the sidebar's run ids: 8 characters.
    code, _, err = reproduce(capsys, run.info.run_id[:8], "--tracking-uri", sqlite_uri)
    assert code == 2
    assert err.startswith(f"nbmlops: error: run {run.info.run_id} has no code slice"), err
    code, _, err = reproduce(capsys, "zz" * 4, "--tracking-uri", sqlite_uri)
    assert code == 2 and err.startswith("nbmlops: error: no run zzzzzzzz in "), err


def test_a_package_version_mismatch_is_reported() -> None:
    found = checks.changed_packages({"numpy": "0.0.1", "pytest": pytest.__version__,
                                     "surely-not-installed-pkg": "1.0"})
    assert [str(c) for c in found] == [
        f"numpy 0.0.1 -> {np.__version__}",
        "surely-not-installed-pkg 1.0 -> not installed",
    ]


def test_the_verdict_metric_by_metric_and_data_by_data() -> None:
    data = [Dataset("X", "a" * 32, "a" * 32, "input")]
    same = compare({"acc": 0.9}, {"acc": 0.9}, data, data, 1e-6)
    assert same.verdict == "yes" and same.differences == []
    close = compare({"acc": 0.9}, {"acc": 0.9 + 1e-9}, data, data, 1e-6)
    assert close.verdict == "within-tolerance" and close.said == "reproduced within tolerance"
    far = compare({"acc": 0.9, "loss": 1.0}, {"acc": 0.8}, data, data, 1e-6)
    assert far.verdict == "no"
    assert far.differences == ["metric acc: 0.9 -> 0.8 (differs)",
                               "metric loss: 1 -> none (missing)"]
    other = [Dataset("X", "b" * 32, "b" * 32, "input")]
    changed = compare({"acc": 0.9}, {"acc": 0.9}, data, other, 1e-6)
    assert changed.verdict == "no"
    assert changed.differences == ["data X (input): aaaaaaaa -> bbbbbbbb (differs)"]


def test_the_panel_shows_the_verdicts_beside_the_run() -> None:
    from nbmlops.panel import render
    from nbmlops.runs.entities import RunSummary

    tags = {store.SLICE_TAG: "stale", store.SLICE_REASONS_TAG: "`X` comes from cell [3]",
            store.REPRODUCED_TAG: "no"}
    shown = render.run_name_html(RunSummary("a" * 32, "fit", "1", "FINISHED", None, None,
                                            tags=tags), None)
    assert 'title="`X` comes from cell [3]">stale</span>' in shown
    assert '>not reproduced</span>' in shown
    clean = RunSummary("b" * 32, "fit", "1", "FINISHED", None, None,
                       tags={store.SLICE_TAG: "clean"})
    assert render.reproducibility_html(clean) == ""


def test_the_failing_line_is_the_cell_s_even_when_a_library_chained_exceptions() -> None:
    from nbmlops.jobs.run.job import _error_line

    chained = (  # pandas' KeyError, as IPython prints it under a cell
        "KeyError                                  Traceback (most recent call last)\n"
        "File .../pandas/core/indexes/base.py:3816, in Index.get_loc(self, key)\n"
        "   3815 try:\n-> 3816     return self._engine.get_loc(casted_key)\n\n"
        "KeyError: 'x'\n\nThe above exception was the direct cause of the following "
        "exception:\n\n"
        "KeyError                                  Traceback (most recent call last)\n"
        "Cell In[4], line 4\n      3 clean = pd.read_csv(clean_path)\n"
        "----> 4 score = float(clean['x'].mean())\n\n"
        "File .../pandas/core/frame.py:4330, in DataFrame.__getitem__(self, key)\n"
        "-> 4330             indexer = self.columns.get_loc(key)\n"
    )
    assert _error_line(chained) == 4
    assert _error_line("ValueError  Traceback (most recent call last)\n"
                       "----> 2 raise ValueError('x')\n") == 2
    assert _error_line("no traceback") is None


def test_a_failed_reproduction_heads_with_its_error_and_a_change_is_only_a_possible_cause(
) -> None:
    changed = ["data/x.csv changed since the run (recorded aaaaaaaa, now bbbbbbbb)"]
    failed = compare({"acc": 0.9}, {}, [], [], 1e-6,
                     failure="the slice failed (error) in cell 2, line 1:\n  KeyError: 'x'")
    assert failed.headline == ("not reproduced: the slice failed (error) in cell 2, line 1:\n"
                               "  KeyError: 'x'")
    assert failed.causes(changed) == [f"possible cause: {changed[0]}"]
    assert failed.differences[0] == "the slice failed (error) in cell 2, line 1:\n  KeyError: 'x'"
    differs = compare({"acc": 0.9}, {"acc": 0.8}, [], [], 1e-6)
    assert (differs.headline, differs.causes(changed)) == (
        "not reproduced", [f"likely cause: {changed[0]}"])
    same = compare({"acc": 0.9}, {"acc": 0.9}, [], [], 1e-6)
    assert (same.headline, same.causes(changed)) == ("reproduced", [])


def test_a_job_notebook_runs_where_its_job_yaml_says_and_follows_a_moved_project(
    tmp_path: Path,
) -> None:
    import shutil

    import nbformat

    from nbmlops.jobs.export.folder import export_job
    from nbmlops.jobs.export.pipeline import export_pipeline
    from nbmlops.jobs.spec import workdir_of

    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for name in ("prep", "fit"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(f"x = '{name}'")]
        nbformat.write(nb, str(root / "notebooks" / f"{name}.ipynb"))
    export_job(root / "notebooks" / "fit.ipynb", root / "jobs" / "nightly", "nightly")
    export_pipeline([root / "notebooks" / "prep.ipynb", root / "notebooks" / "fit.ipynb"],
                    root / "jobs" / "weekly", "weekly")
    moved = tmp_path / "elsewhere" / "project_moved"
    shutil.move(str(root), str(moved))
    assert workdir_of(moved / "jobs" / "nightly" / "nightly.ipynb") == moved / "notebooks"
    assert workdir_of(moved / "jobs" / "weekly" / "fit.ipynb") == moved / "notebooks"
    assert workdir_of(moved / "notebooks" / "fit.ipynb") is None  # not a job's notebook
    assert workdir_of(moved / "jobs" / "weekly" / "other.ipynb") is None


def test_a_job_runs_reproduction_is_found_from_the_notebook_the_job_came_from(
    ip: InteractiveShell, project: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As `nbmlops run` tells a job's kernel which notebook the job was exported from.
    monkeypatch.setenv("NBMLOPS_SOURCE_NOTEBOOK", "notebooks/train.ipynb")
    cell(ip, "%%track fit\nacc = 0.5", "fit")
    monkeypatch.delenv("NBMLOPS_SOURCE_NOTEBOOK")
    upload(project)
    client = MlflowClient(sqlite_uri)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.data.tags["nbmlops.source_notebook"] == "notebooks/train.ipynb"
    code, out, err = reproduce(capsys, run.info.run_id, "--out", str(project.parent / "out"))
    assert code == 0, out + err
    again = client.get_run(client.get_run(run.info.run_id).data.tags[store.REPRODUCED_RUN_TAG])
    assert again.data.tags["nbmlops.source_notebook"] == "notebooks/train.ipynb"


def test_a_script_run_with_percent_run_is_code_of_the_run_not_data_it_read(
    ip: InteractiveShell, project: Path, sqlite_uri: str, capsys: pytest.CaptureFixture[str],
) -> None:
    helper = project / "notebooks" / "helper.py"
    helper.write_text("def grade(v):\n    return v * 2\n")
    cell(ip, "import pandas as pd\n%run helper.py", "setup")
    cell(ip, "%%track quality\n%run -i helper\nwine = pd.read_csv('../data/wine.csv')\n"
         "acc = grade(float(wine['alcohol'].mean()))", "fit")
    upload(project)
    client = MlflowClient(sqlite_uri)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["data/wine.csv", "wine"]
    kept = client.download_artifacts(run.info.run_id, "code/scripts", str(project.parent))
    assert (Path(kept) / "notebooks" / "helper.py").read_text() == helper.read_text()

    # Edited since, to the same effect: the metric comes back, the run is reproduced and
    # the edit is named.
    helper.write_text("def grade(v):\n    return 2 * v  # same thing\n")
    code, out, err = reproduce(capsys, run.info.run_id)
    assert code == 0, out + err
    assert "nbmlops: script notebooks/helper.py changed since the run" in err
    assert out.strip().endswith("\nreproduced"), out + err
    assert client.get_run(run.info.run_id).data.tags[store.REPRODUCED_TAG] == "yes"

    # Edited to another effect: not reproduced, and the script is the likely cause.
    helper.write_text("def grade(v):\n    return v * 3\n")
    code, out, err = reproduce(capsys, run.info.run_id)
    assert code == 1, out + err
    assert "likely cause: script notebooks/helper.py changed since the run" in out


def test_a_run_of_another_project_is_reproduced_in_its_own_project_or_refused(
    ip: InteractiveShell, project: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the project's own store: project/mlflow.db
    cell(ip, "%%track quality\nimport pandas as pd\nwine = pd.read_csv('../data/wine.csv')\n"
         "acc = float(wine['alcohol'].mean())", "fit")
    upload(project)
    uri = f"sqlite:///{project / 'mlflow.db'}"
    client = MlflowClient(uri)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])

    # Another project with the same layout and other data, where the user stands.
    other = project.parent / "other"
    (other / "notebooks").mkdir(parents=True)
    (other / "data").mkdir()
    (other / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    (other / "notebooks" / "train.ipynb").write_text((project / "notebooks" / "train.ipynb")
                                                     .read_text())
    (other / "data" / "wine.csv").write_text("alcohol,quality\n9.0,3\n")
    monkeypatch.chdir(other / "notebooks")
    monkeypatch.setenv("NBMLOPS_NOTEBOOK", str(other / "notebooks" / "train.ipynb"))
    code, out, err = reproduce(capsys, run.info.run_id, "--tracking-uri", uri)
    assert code == 0, out + err
    assert "wine.csv changed" not in err and out.strip().endswith("\nreproduced"), out + err

    # A store outside any project: the run's notebook must be here.
    (other / "notebooks" / "train.ipynb").rename(other / "notebooks" / "renamed.ipynb")
    (project / "pyproject.toml").unlink()
    code, out, err = reproduce(capsys, run.info.run_id, "--tracking-uri", uri)
    assert code == 2 and err.count("\n") == 1, out + err
    assert (f"run {run.info.run_id[:8]} was made from notebooks/train.ipynb, which this "
            f"project ({other}) does not have") in err

    # The notebook is here, in a clone of another repository than the run's.
    (other / "notebooks" / "renamed.ipynb").rename(other / "notebooks" / "train.ipynb")
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "remote", "add", "origin",
                    "git@github.com:team/other.git"], check=True)
    client.set_tag(run.info.run_id, store.GIT_REPO_TAG, "https://github.com/team/churn")
    code, out, err = reproduce(capsys, run.info.run_id, "--tracking-uri", uri)
    assert code == 2, out + err
    assert "was made in the repository https://github.com/team/churn" in err
    assert client.get_run(run.info.run_id).data.tags[store.REPRODUCED_TAG] == "yes"


@pytest.mark.parametrize(("a", "b", "same"), [
    ("git@github.com:team/churn.git", "https://github.com/team/churn", True),
    ("ssh://git@GitHub.com/team/churn/", "https://github.com/team/churn.git", True),
    ("https://github.com/team/churn", "https://github.com/team/churn-v2", False),
    ("git@gitlab.com:team/churn.git", "git@github.com:team/churn.git", False),
])
def test_one_spelling_per_repository(a: str, b: str, same: bool) -> None:
    from nbmlops.reproduce.home import repository_key

    assert (repository_key(a) == repository_key(b)) is same
