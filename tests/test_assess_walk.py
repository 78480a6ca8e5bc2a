"""Which files ``nbmlops assess`` reads: the code is always found, however much data lies in
the project; folders of data and folders git ignores are walked after it, within a budget."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from nbmlops.assess.evidence import gather


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def notebook(path: Path, source: str = "%%track fit\nauc = 0.9") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
                   "outputs": [], "source": source}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def files(folder: Path, n: int, suffix: str = ".csv") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"part-{i:06d}{suffix}").touch()


def project(root: Path) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    notebook(root / "notebooks" / "train.ipynb")
    (root / "src").mkdir()
    (root / "src" / "features.py").write_text("def clean_rows(df):\n    return df\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_features.py").write_text("from src.features import clean_rows\n")
    return root


def test_fifty_thousand_data_files_hide_no_notebook_and_no_test(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    files(root / "data", 50_001)
    ev = gather(root, mlflow=False)
    assert [nb.path for nb in ev.notebooks] == ["notebooks/train.ipynb"]
    assert ev.code.test_files == ["tests/test_features.py"]
    assert ev.code.feature_functions == ["src/features.py:clean_rows"]
    assert not any(u.startswith("files:") for u in ev.unchecked), ev.unchecked


def test_data_and_ignored_folders_are_walked_after_the_code_within_a_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.assess import walk

    monkeypatch.setattr(walk, "MAX_ENTRIES", 2_000)
    root = project(tmp_path / "p")
    (root / ".gitignore").write_text("/cache/\n")
    for i in range(3):  # an ignored tree bigger than the budget, sorted before the code
        files(root / "cache" / f"run{i}", 1_000)
    for i in range(2):  # a data folder of many small folders
        files(root / "images" / f"class{i:04d}", 3)
    files(root / "images", 600, suffix="")  # ... and many entries: data, not code
    for i in range(2):
        files(root / "images" / f"dir{i:04d}", 1)
    notebook(root / "images" / "class0000" / "look.ipynb")  # a notebook among data: later
    notebook(root / "zz" / "deep" / "deeper" / "report.ipynb")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    ev = gather(root, mlflow=False)
    paths = [nb.path for nb in ev.notebooks]
    assert paths == ["images/class0000/look.ipynb", "notebooks/train.ipynb",
                     "zz/deep/deeper/report.ipynb"]
    assert ev.code.test_files == ["tests/test_features.py"]
    skipped = [u for u in ev.unchecked if u.startswith("files:")]
    assert len(skipped) == 1 and "cache" in skipped[0], ev.unchecked
    assert str(root) not in skipped[0]


def test_without_git_the_patterns_of_the_gitignore_name_the_ignored_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.assess import walk

    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    (tmp_path / ".gitignore").write_text("# outputs\n/cache/\nscratch*\n!keep\nsub/tmp\n")
    ignored = walk.ignore_rule(tmp_path)
    assert ignored("cache", "cache") and not ignored("src/cache", "cache")
    assert ignored("scratch1", "scratch1") and ignored("a/scratch", "scratch")
    assert ignored("sub/tmp", "tmp") and not ignored("tmp", "tmp")
    assert not ignored("keep", "keep") and not ignored("src", "src")
