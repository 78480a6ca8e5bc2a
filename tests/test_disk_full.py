"""A full disk under the spool: the cell still succeeds with one warning, nothing half-written
stays behind, and records are spooled again once there is room. A real file system, filled:
a 1 MB tmpfs the test mounts (root only; CI runs as root)."""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import in_ci, shell_project
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from nbmlops.sync.spool import Spool


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if in_ci():
            pytest.fail(f"cannot mount a tmpfs in CI: {done.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here (root only): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_disk: Path) -> Path:
    root = shell_project(tmp_path, monkeypatch, "full.ipynb")
    monkeypatch.setenv("NBMLOPS_SPOOL", str(tiny_disk / "spool"))
    return root


def fill(disk: Path) -> Path:
    """Take all the room there is left on ``disk``."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_a_full_spool_never_breaks_the_cell(
    ip: InteractiveShell, project: Path, tiny_disk: Path
) -> None:
    spool = Spool(tiny_disk / "spool").ensure()
    filler = fill(tiny_disk)
    with warnings.catch_warnings(record=True) as caught, capture_output():
        warnings.simplefilter("always")
        result = ip.run_cell("%%track fit\nlr = 0.1\nloss = 0.25\nresult = lr * 2")
    assert result.success and ip.user_ns["result"] == 0.2  # the user's cell ran, unharmed
    tracking = [w for w in caught if "nbmlops" in str(w.message)]
    assert len(tracking) == 1 and "not recorded" in str(tracking[0].message)
    assert spool.entries() == []  # nothing half-written where the sync process reads
    assert [p for p in spool.tmp.iterdir()] == []

    filler.unlink()  # room again: the next cell is recorded as usual
    with capture_output():
        assert ip.run_cell("%%track fit\nlr = 0.2\nloss = 0.2").success
    [entry] = spool.entries()
    assert spool.load(entry).params["lr"] == "0.2"
    assert os.path.getsize(entry) > 0
