"""``nbmlops status`` and ``%mlops status`` on a spool nobody may write (a read-only mount, a
copy of another user's project): one clear line about it, and the rest of the status as read.
A real read-only file system: a bind mount the test makes (root only; CI runs as root)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import build_record, in_ci, shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.sync.spool import Spool


@pytest.fixture
def readonly_spool(tmp_path: Path) -> Iterator[Spool]:
    """A spool with one pending record, then mounted read-only over itself."""
    spool = Spool(tmp_path / "spool").ensure()
    staging = spool.stage(build_record("sqlite:///nowhere.db"))
    staging.write_text("code/cell.py", "lr = 0.05\n")
    staging.commit()
    where = str(spool.root)
    made = subprocess.run(["mount", "--bind", where, where], capture_output=True, text=True,
                          check=False)
    if made.returncode == 0:
        made = subprocess.run(["mount", "-o", "remount,bind,ro", where], capture_output=True,
                              text=True, check=False)
        if made.returncode != 0:
            subprocess.run(["umount", where], check=False)
    if made.returncode != 0:
        if in_ci():
            pytest.fail(f"cannot mount read-only in CI: {made.stderr.strip()}")
        pytest.skip(f"cannot mount read-only here (root only): {made.stderr.strip()}")
    try:
        yield spool
    finally:
        subprocess.run(["umount", where], check=False)


def test_status_of_a_read_only_spool_is_one_clear_line(readonly_spool: Spool) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("nbmlops")), "status", "--spool",
         str(readonly_spool.root)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "pending:      1" in done.stdout  # what it can read, it shows
    [note] = [line for line in done.stdout.splitlines() if "not writable" in line]
    assert str(readonly_spool.root) in note


def test_mlops_status_in_a_notebook_on_a_read_only_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, readonly_spool: Spool
) -> None:
    shell_project(tmp_path, monkeypatch, "ro.ipynb")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(readonly_spool.root))
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance()
    try:
        ip.run_line_magic("load_ext", "nbmlops")
        with capture_output() as out:
            result = ip.run_cell("%mlops status")
        assert result.success, result.error_in_exec
        assert "Traceback" not in out.stdout + out.stderr
        assert "pending:      1" in out.stdout and "not writable" in out.stdout
    finally:
        if ip.history_manager is not None:
            ip.history_manager.end_session()
        InteractiveShell.clear_instance()
