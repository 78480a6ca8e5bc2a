"""What ``nbmlops assess`` calls missing from git, on a real repository after a real export,
a real papermill run and a real job run: files git ignores are not missing, output notebooks
are outputs, and a job folder ignores what its runs leave so ``git status`` stays clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbmlops.assess import assess_project
from nbmlops.assess.criteria import MET, PARTLY

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.kernel


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com",
                           "-c", "init.defaultBranch=main", *args], cwd=root, check=True,
                          capture_output=True, text=True)
    return done.stdout


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (command, done.stdout, done.stderr)


def notebook(path: Path, *cells: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_ignored_files_and_outputs_are_not_missing_from_git_and_a_job_run_leaves_it_clean(
    tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(migrated_db, tmp_path / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tmp_path / "spool"))
    monkeypatch.setenv("NBMLOPS_AUTOSYNC", "0")
    for name in ("NBMLOPS_NOTEBOOK", "NBMLOPS_EXPERIMENT", "NBMLOPS_PARENT_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    (root / "pyproject.toml").write_text("[project]\nname = 'churn'\n")
    (root / ".gitignore").write_text("scratch/\n")
    notebook(root / "train.ipynb", "n = 3", "%load_ext nbmlops", "%%track train\nscore = n / 2")
    notebook(root / "scratch" / "explore.ipynb", "x = 1", "y = x + 1")  # ignored on purpose
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "Version the project")

    run(str(BIN / "nbmlops"), "export", "train.ipynb", "--name", "nightly")
    job = root / "jobs" / "nightly"
    git(root, "add", "jobs")
    git(root, "commit", "-q", "-m", "Export the nightly job")
    (root / "out").mkdir()
    run(str(BIN / "papermill"), "train.ipynb", "out/train_out.ipynb", "-p", "n", "4",
        "--no-progress-bar", "--cwd", str(root))
    run(str(BIN / "nbmlops"), "run", str(job))
    assert list((job / "runs").glob("nightly-*.ipynb"))  # the job ran and left its output

    # What the job's runs leave in its folder is ignored: only the papermill output shows.
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    assert status.splitlines() == ["?? out/train_out.ipynb"], status

    a = assess_project(root, mlflow=False)
    found = {f.id: f for f in a.findings}
    assert a.evidence.git.not_in_git == []
    assert found["git"].status == MET, found["git"].missing
    assert not any("git add" in s.command for s in a.next_steps), a.next_steps
    assert sorted(nb.path for nb in a.evidence.notebooks) == ["scratch/explore.ipynb",
                                                             "train.ipynb"]
    assert a.evidence.outputs == ["out/train_out.ipynb"]
    assert "output notebooks, not sources: out/train_out.ipynb" in found["git"].evidence

    # A notebook that is neither ignored nor an output is still missing from git.
    notebook(root / "features.ipynb", "k = 2")
    a = assess_project(root, mlflow=False)
    git_finding = next(f for f in a.findings if f.id == "git")
    assert a.evidence.git.not_in_git == ["features.ipynb"]
    assert git_finding.status == PARTLY
    assert git_finding.step is not None and git_finding.step.command.startswith(
        "git add features.ipynb ")
