"""Python, imported packages and git state, against a real repository made with the git CLI."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbmlops.record import GitState
from nbmlops.redact import strip_credentials
from nbmlops.track import environment as env
from nbmlops.track.environment import (
    GitProbe,
    git_diff,
    git_state,
    imported_packages,
    python_version,
    requirements_txt,
)

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
         "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    (root / "train.py").write_text("alpha = 0.1\n")
    (root / ".gitignore").write_text("ignored/\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    yield root


# -- python and packages ------------------------------------------------------------------------


def test_python_version() -> None:
    # What a reader of the run compares with `python --version`: major.minor.micro.
    major, minor, micro = sys.version_info[:3]
    assert python_version() == f"{major}.{minor}.{micro}"


def test_imported_packages_map_modules_to_distributions() -> None:
    def module(name: str) -> types.ModuleType:
        return types.ModuleType(name)  # only the names in the mapping matter

    names = ["numpy", "numpy.linalg", "pandas", "sklearn", "dateutil", "xxhash", "os", "json",
             "_private_thing", "__main__", "my_local_helpers"]
    packages = imported_packages({name: module(name) for name in names})
    version = importlib.metadata.version
    assert packages == {
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "scikit-learn": version("scikit-learn"),  # import names differ from dist names
        "python-dateutil": version("python-dateutil"),
        "xxhash": version("xxhash"),
    }


def test_imported_packages_of_this_session_and_cache() -> None:
    import pandas  # noqa: F401

    first = imported_packages()
    assert first["pandas"] == importlib.metadata.version("pandas")
    assert "nbmlops" in first  # an editable install is found by its distribution name
    assert not any(name in sys.stdlib_module_names for name in first)
    first["pandas"] = "mutated by the caller"
    assert imported_packages()["pandas"] != "mutated by the caller"
    # The cache follows sys.modules (its cost: bench/sync.py): a module gone is gone.
    with pytest.MonkeyPatch.context() as mp:
        mp.delitem(sys.modules, "pandas")
        assert "pandas" not in imported_packages()
    assert "pandas" in imported_packages()


def test_requirements_txt() -> None:
    text = requirements_txt({"pandas": "3.0", "Jinja2": "3.1", "numpy": "2.0"})
    assert text == "Jinja2==3.1\nnumpy==2.0\npandas==3.0\n"
    assert requirements_txt({}) == ""


# -- git ----------------------------------------------------------------------------------------


@needs_git
def test_clean_repository(repo: Path) -> None:
    state = git_state(repo)
    assert state is not None
    assert state.commit == git(repo, "rev-parse", "HEAD")
    assert (state.branch, state.dirty, state.remote) == ("main", False, None)
    assert git_diff(repo) == ""


@needs_git
def test_modified_staged_and_untracked_files(repo: Path) -> None:
    (repo / "train.py").write_text("alpha = 0.2\n")
    state = git_state(repo)
    assert state is not None and state.dirty
    diff = git_diff(repo)
    assert "-alpha = 0.1" in diff and "+alpha = 0.2" in diff

    git(repo, "checkout", "--", "train.py")
    (repo / "new.py").write_text("x = 1\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "big.bin").write_text("x")
    state = git_state(repo)
    assert state is not None and not state.dirty  # untracked files are listed, not dirty
    assert git_diff(repo) == "# untracked: new.py\n"

    git(repo, "add", "new.py")
    state = git_state(repo)
    assert state is not None and state.dirty
    assert "+x = 1" in git_diff(repo)


@needs_git
def test_branch_detached_head_and_subfolder(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/x")
    (repo / "sub").mkdir()
    state = git_state(repo / "sub")
    assert state is not None and state.branch == "feature/x"
    git(repo, "checkout", "-q", "--detach")
    state = git_state(repo)
    assert state is not None and state.branch is None
    assert state.commit == git(repo, "rev-parse", "HEAD")


@needs_git
def test_repository_without_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    state = git_state(tmp_path)
    assert state is not None and state.commit is None and state.branch == "main"
    assert state.dirty  # no commit holds the code: nothing is clean
    (tmp_path / "a.py").write_text("print(1)\n")
    git(tmp_path, "add", "a.py")
    state = git_state(tmp_path)
    assert state is not None and state.dirty
    assert "+print(1)" in git_diff(tmp_path)


@needs_git
def test_code_that_is_not_in_git_is_dirty(repo: Path) -> None:
    # The run's own code (its notebook) untracked, or ignored: the commit does not hold it.
    (repo / "train.ipynb").write_text("{}")
    (repo / "ignored" / "scratch.ipynb").parent.mkdir()
    (repo / "ignored" / "scratch.ipynb").write_text("{}")
    (repo / "notes.txt").write_text("x")
    assert not git_state(repo).dirty  # type: ignore[union-attr]  # untracked: listed only
    assert git_state(repo, code=[repo / "train.ipynb"]).dirty  # type: ignore[union-attr]
    ignored = repo / "ignored" / "scratch.ipynb"
    assert git_state(repo, code=[ignored]).dirty  # type: ignore[union-attr]
    git(repo, "add", "train.ipynb")
    git(repo, "commit", "-q", "-m", "notebook")
    assert not git_state(repo, code=[repo / "train.ipynb"]).dirty  # type: ignore[union-attr]
    # A notebook outside the repository says nothing about it.
    assert not git_state(repo, code=[repo.parent / "else.ipynb"]).dirty  # type: ignore[union-attr]
    state, _ = GitProbe.start(repo, code=[ignored]).result(timeout=30)
    assert state is not None and state.dirty


@needs_git
def test_remote_url_without_credentials(repo: Path) -> None:
    git(repo, "remote", "add", "backup", "git@example.com:team/backup.git")
    state = git_state(repo)
    assert state is not None and state.remote == "git@example.com:team/backup.git"
    git(repo, "remote", "add", "origin", "https://user:s3cret@example.com/team/project.git")
    state = git_state(repo)
    assert state is not None and state.remote == "https://example.com/team/project.git"
    git(repo, "remote", "set-url", "origin", "https://example.com/team/moved.git")
    state = git_state(repo)
    assert state is not None and state.remote == "https://example.com/team/moved.git"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://ghp_token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("ssh://git:pw@host:22/a/b.git", "ssh://git@host:22/a/b.git"),
        ("ssh://git@host/a/b.git", "ssh://git@host/a/b.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("/srv/repos/b.git", "/srv/repos/b.git"),
        ("http://user:tok@host/b.git", "http://host/b.git"),
        ("HTTPS://tok@host/b.git", "https://host/b.git"),
        ("ftp://user:pw@host/f", "ftp://host/f"),
        ("ftps://user:pw@host/f", "ftps://host/f"),
        ("ssh://:pw@host/b.git", "ssh://host/b.git"),  # a password without a user
        ("https://user:p@ss@host/b.git", "https://host/b.git"),  # '@' inside the password
        ("https://host/b.git?", "https://host/b.git?"),  # nothing to strip: left as written
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


@needs_git
def test_large_diffs_are_cut_with_a_marker(repo: Path) -> None:
    (repo / "train.py").write_text("".join(f"line {i}\n" for i in range(5000)))
    diff = git_diff(repo, max_bytes=1000)
    assert diff.endswith(env.TRUNCATED_MARKER.format(size=1000))
    assert len(diff.encode()) <= 1000 + len(env.TRUNCATED_MARKER) + 10


@needs_git
def test_status_never_rewrites_the_index(repo: Path) -> None:
    index = repo / ".git" / "index"
    before = index.read_bytes()
    os.utime(repo / "train.py", ns=(5_000_000_000, 5_000_000_000))  # stale stat info
    state = git_state(repo)
    assert state is not None and not state.dirty
    assert index.read_bytes() == before  # GIT_OPTIONAL_LOCKS=0: no index refresh, no lock
    assert not (repo / ".git" / "index.lock").exists()
    git(repo, "status", "--porcelain")
    assert index.read_bytes() != before  # a plain git status would have rewritten it


def test_not_a_repository(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None
    assert git_diff(tmp_path) == ""
    assert GitProbe.start(tmp_path).result() == (None, "")


@needs_git
def test_broken_repository(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # not a repository git can read
    (tmp_path / ".git" / "HEAD").write_text("garbage\n")
    # No commit can be read: the code is not known to be committed (test_git_corrupt.py).
    assert git_state(tmp_path) == GitState(commit=None, branch=None, dirty=True, remote=None)
    assert git_diff(tmp_path) == ""


def test_git_missing(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    env._git_executable.cache_clear()
    try:
        assert git_state(repo) is None
        assert git_diff(repo) == ""
        assert GitProbe.start(repo).result() == (None, "")
    finally:
        monkeypatch.undo()
        env._git_executable.cache_clear()


@needs_git
def test_probe_runs_in_the_background(repo: Path) -> None:
    probe = GitProbe.start(repo)
    state, diff = probe.result(timeout=30)
    assert state == git_state(repo) and diff == ""
    (repo / "train.py").write_text("alpha = 0.3\n")
    state, diff = GitProbe.start(repo).result(timeout=30)
    assert state is not None and state.dirty and "+alpha = 0.3" in diff
    state, diff = GitProbe.start(repo, diff=False).result(timeout=30)
    assert state is not None and state.dirty and diff == ""
    assert GitProbe(repo).result() == (None, "")  # never started


def test_prefetch_package_index(monkeypatch: pytest.MonkeyPatch) -> None:
    # Start from nothing, whatever earlier tests built; restored afterwards.
    for name, empty in (("_module_index", None), ("_dist_dirs", {}), ("_resolved", {}),
                        ("_last_key", None)):
        monkeypatch.setattr(env, name, empty)
    env.prefetch_package_index().join(timeout=30)
    assert env._module_index is not None and "numpy" in env._module_index
