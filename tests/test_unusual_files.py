"""Named pipes, devices and folders where a file is expected: every reader of a path a user
gives or a walk finds refuses them at once, and reads a regular file only up to a limit.

A call that would block on a pipe runs in a thread; when it is still waiting after a few
seconds, the test writes to the pipe to release it, then fails.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from nbmlops import regular_files
from nbmlops.exceptions import NbmlopsError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")

WAIT = 10.0


def release(fifo: Path) -> None:
    """Let a reader blocked on ``fifo`` go: open it for writing and close it (EOF)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader waits on it
        return
    os.close(fd)


def finishes(call: Callable[[], Any], *pipes: Path) -> tuple[Any, BaseException | None]:
    """``call()``'s result or error; fails the test when it blocked on one of ``pipes``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as e:  # handed to the test
            box["error"] = e

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(WAIT)
    blocked = worker.is_alive()
    while worker.is_alive():
        for fifo in pipes:
            release(fifo)
        worker.join(0.1)
    assert not blocked, f"blocked on a named pipe for {WAIT:g} s"
    return box.get("result"), box.get("error")


@contextmanager
def fifo_at(path: Path) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    try:
        yield path
    finally:
        release(path)


# -- the one reader -------------------------------------------------------------------------


def test_a_regular_file_is_read_up_to_its_limit(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("héllo")
    assert regular_files.read_text(f) == "héllo"
    assert regular_files.read_bytes(f, limit=6) == "héllo".encode()
    with pytest.raises(regular_files.FileTooLarge) as raised:
        regular_files.read_bytes(f, limit=5)
    assert isinstance(raised.value, NbmlopsError) and isinstance(raised.value, OSError)
    assert "larger than 5 bytes" in str(raised.value)
    with pytest.raises(FileNotFoundError):
        regular_files.read_bytes(tmp_path / "absent.txt")


def test_a_pipe_a_device_and_a_folder_are_refused_without_waiting(tmp_path: Path) -> None:
    with fifo_at(tmp_path / "f.ipynb") as fifo:
        _, error = finishes(lambda: regular_files.read_bytes(fifo), fifo)
    assert isinstance(error, regular_files.NotARegularFile)
    assert "named pipe" in str(error) and "f.ipynb" in str(error)
    (tmp_path / "zero.ipynb").symlink_to("/dev/zero")
    with pytest.raises(regular_files.NotARegularFile, match="a device"):
        regular_files.read_bytes(tmp_path / "zero.ipynb")
    with pytest.raises(regular_files.NotARegularFile, match="Is a directory"):
        regular_files.read_bytes(tmp_path)
    assert not regular_files.is_regular(tmp_path / "zero.ipynb")
    assert not regular_files.is_regular(tmp_path / "f.ipynb")


# -- its readers ----------------------------------------------------------------------------


def test_a_notebook_that_is_a_pipe_or_a_device_is_unreadable(tmp_path: Path) -> None:
    from nbmlops.track import cells

    with fifo_at(tmp_path / "f.ipynb") as fifo:
        _, error = finishes(lambda: cells.read(fifo), fifo)
    assert isinstance(error, NbmlopsError) and "named pipe" in str(error)
    (tmp_path / "zero.ipynb").symlink_to("/dev/zero")
    with pytest.raises(NbmlopsError, match="a device"):
        cells.read(tmp_path / "zero.ipynb")


def _project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "good.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
                   "outputs": [], "source": "%%track fit\nauc = 0.9"}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (root / "features.py").write_text("def clean_rows(df):\n    return df\n")
    return root


def test_assess_passes_over_pipes_and_devices_named_as_notebooks_tests_and_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops.assess.evidence import gather

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    root = _project(tmp_path / "p")
    (root / "zero.ipynb").symlink_to("/dev/zero")
    (root / "tests").mkdir()
    (root / "tests" / "test_real.py").write_text("from features import clean_rows\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    pipes = [root / "f.ipynb", root / "tests" / "test_f.py", root / "helpers.py",
             root / ".github" / "workflows" / "ci.yml"]
    for p in pipes:
        os.mkfifo(p)
    try:
        ev, error = finishes(lambda: gather(root, mlflow=False), *pipes)
    finally:
        for p in pipes:
            release(p)
    assert error is None, error
    by_path = {nb.path: nb for nb in ev.notebooks}
    assert by_path["good.ipynb"].tracked_cells == 1
    assert by_path["f.ipynb"].error and by_path["zero.ipynb"].error
    assert ev.code.feature_functions == ["features.py:clean_rows"]
    assert ev.code.untested == []


def test_a_job_yaml_and_settings_that_are_pipes_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbmlops import config
    from nbmlops.data.expectations import load_spec
    from nbmlops.jobs import spec

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "jobs" / "j").mkdir(parents=True)
    job_yaml, settings = tmp_path / "jobs" / "j" / "job.yaml", tmp_path / "pyproject.toml"
    declared = tmp_path / "raw.json"
    with fifo_at(job_yaml), fifo_at(settings), fifo_at(declared):
        _, error = finishes(lambda: spec.load(job_yaml.parent), job_yaml)
        assert isinstance(error, NbmlopsError) and "named pipe" in str(error)
        _, error = finishes(lambda: config.project_config(tmp_path), settings)
        assert isinstance(error, NbmlopsError) and "named pipe" in str(error)
        _, error = finishes(lambda: load_spec(declared), declared)
        assert isinstance(error, NbmlopsError)
    big = tmp_path / "jobs" / "big" / "job.yaml"
    big.parent.mkdir()
    big.write_text("#" * (regular_files.MAX_TEXT_BYTES + 1))
    with pytest.raises(NbmlopsError, match="larger than"):
        spec.load(big.parent)
