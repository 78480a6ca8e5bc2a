"""A git repository whose ``.git/HEAD`` is damaged: git calls the folder no repository at all;
nbmlops says the repository is corrupt, and a run still records what can be read of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nbmlops.assess import assess_project
from nbmlops.track import environment


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.com",
                    "-c", "init.defaultBranch=main", *args], cwd=root, check=True,
                   capture_output=True)


@pytest.fixture
def broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "train.py").write_text("x = 1\n")
    git(root, "init", "-q")
    git(root, "remote", "add", "origin", "https://ada:secret@example.com/team/churn.git")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    (root / ".git" / "HEAD").write_text("garbage\n")
    return root


def test_assess_says_the_repository_is_corrupt(broken: Path) -> None:
    a = assess_project(broken, mlflow=False)
    finding = next(f for f in a.findings if f.id == "git")
    said = " ".join(finding.missing)
    assert "corrupt" in said and "no git repository" not in said, finding.missing
    assert ".git/HEAD" in said or "HEAD" in said
    assert a.evidence.git.error and "corrupt" in a.evidence.git.error
    assert finding.step is not None and "git init" not in finding.step.command


def test_a_run_records_what_can_be_read_of_a_corrupt_repository(broken: Path) -> None:
    state = environment.git_state(broken, ["train.py"])
    assert state is not None
    assert state.commit is None and state.dirty  # the code is not known to be committed
    assert state.remote == "https://example.com/team/churn.git"
