"""A kernel reading its own runs right after its tracked cells: the compare panel, a promotion
of the version a cell registered and ``nbmlops.last_run()`` wait for the sync process to upload
them (``nbmlops.track.own_runs``), and a promotion the gates refuse is a real exception in a
notebook run by papermill. Real shells, kernels, sync processes and sqlite stores."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import nbmlops
from nbmlops.exceptions import NbmlopsError
from nbmlops.panel.widget import ComparePanel
from nbmlops.sync.spool import Spool

PAPERMILL = str(Path(sys.executable).parent / "papermill")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "train.ipynb")
    shutil.copy(migrated_db, root / "mlflow.db")
    # Uploads as a user's kernel has them: by the background sync process, which exits soon.
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "1")
    monkeypatch.setenv("NBMLOPS_SYNC_IDLE", "2")
    return root


def test_compare_and_last_run_show_the_run_a_cell_just_made(
    ip: InteractiveShell, project: Path
) -> None:
    with pytest.raises(NbmlopsError, match="no %%track cell has run in this kernel yet"):
        nbmlops.last_run()
    with capture_output():
        assert ip.run_cell("%%track train\nalpha = 0.5\naccuracy = 0.75").success
    # Straight after the cell, in a store nothing was uploaded to before.
    panel = ip.run_line_magic("mlops", "compare")
    assert isinstance(panel, ComparePanel)
    [run] = panel.runs
    assert run.run_name.startswith("train") and run.metrics["accuracy"] == 0.75
    assert nbmlops.last_run() == run.run_id
    assert not Spool(project.parent / "spool").entries()


def test_with_autosync_off_last_run_says_how_to_upload(
    ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    with capture_output():
        assert ip.run_cell("%%track train\naccuracy = 0.75").success
    with pytest.raises(NbmlopsError, match=r"not uploaded yet .* %mlops sync uploads it now"):
        nbmlops.last_run()


CELLS = [
    "%load_ext nbmlops\n"
    "from sklearn.datasets import load_iris\n"
    "from sklearn.tree import DecisionTreeClassifier\n"
    "X, y = load_iris(return_X_y=True, as_frame=True)",
    "%%track train --model clf=iris\n"
    "clf = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)\n"
    "accuracy = clf.score(X, y)",
    # No %mlops sync: the promotion waits for the version the cell above registered.
    '%mlops promote iris --gate "accuracy >= 0.8"',
    "import nbmlops\nprint('last run', nbmlops.last_run())",
    "%%track stump --model clf=iris\n"
    "clf = DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)\n"
    "accuracy = clf.score(X, y)",
    '%mlops promote iris --gate "accuracy >= champion"',
    "print('after the refusal')",
]


@pytest.mark.kernel
@pytest.mark.timeout(300)
def test_a_refused_promotion_is_an_error_papermill_records(project: Path) -> None:
    notebook = project / "train.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, notebook)
    out = project / "out.ipynb"
    done = subprocess.run([PAPERMILL, str(notebook), str(out), "-k", "python3",
                           "--no-progress-bar"], capture_output=True, text=True, timeout=280)
    assert done.returncode == 1, done.stderr
    # papermill adds markdown cells pointing at the error: the code cells are ours.
    cells = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]

    def said(index: int) -> str:
        return "".join(o.get("text", "") for o in cells[index].outputs
                       if o.output_type == "stream")

    assert "iris v1 is now champion (the first)" in said(2)
    assert said(3).startswith("last run ") and len(said(3).split()[-1]) == 32
    # The refusal: the gate report, then one error line papermill records as the cell's error.
    assert "gates for iris v2 against champion v1" in said(5) and "FAIL" in said(5)
    [error] = [o for o in cells[5].outputs if o.output_type == "error"]
    assert error.ename == "PromotionRefused"
    assert "iris v2 not promoted to champion" in error.evalue
    assert error.traceback == [f"PromotionRefused: {error.evalue}"]
    assert not cells[6].outputs  # papermill stopped there
    assert "PromotionRefused" in done.stderr
