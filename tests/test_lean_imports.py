"""The ``nbmlops`` command and the papermill process of a job step skip jsonschema's slow
optional import, read and validate notebooks all the same, and leave other processes alone.

``python -X importtime`` lists every module a process imported: the tests read it. A skipped
module is listed too (its import fails at once), but none of the modules inside it are."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbmlops import papermill_cli
from nbmlops.lean_imports import SLOW_OPTIONAL

BIN = Path(sys.executable).parent
SLOW = SLOW_OPTIONAL[0]

pytestmark = pytest.mark.skipif(importlib.util.find_spec(SLOW) is None,
                                reason=f"{SLOW} is not installed: nothing to skip")


def imported(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", *command], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:")}
    return done, modules


def loaded_slow(modules: set[str]) -> bool:
    return any(m.startswith(f"{SLOW}.") for m in modules)


def notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 6 * 7\nanswer")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_a_process_reading_notebooks_imports_it_unless_told(tmp_path: Path) -> None:
    path = notebook(tmp_path / "a.ipynb")
    script = f"import nbformat; nbformat.validate(nbformat.read({str(path)!r}, 4))"
    _, plain = imported(["-c", script], tmp_path)
    assert "jsonschema" in plain and loaded_slow(plain)  # what the other two tests save
    lean = "from nbmlops.lean_imports import skip_slow_optional_imports as s; s(); " + script
    done, skipped = imported(["-c", lean], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "jsonschema" in skipped and not loaded_slow(skipped)


def test_the_papermill_process_of_a_step_runs_the_notebook_without_it(tmp_path: Path) -> None:
    source = notebook(tmp_path / "in.ipynb")
    done, modules = imported(
        papermill_cli.command(str(source), str(tmp_path / "out.ipynb"), "--no-progress-bar")[1:],
        tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert {"papermill", "jsonschema"} <= modules and not loaded_slow(modules)
    assert "pyarrow" not in modules  # papermill wants pyarrow.fs for hdfs:// paths only
    [cell] = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells
    assert cell.outputs[0]["data"]["text/plain"] == "42"


def test_the_nbmlops_command_reads_a_notebook_without_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'lean'\n")
    notebook(tmp_path / "a.ipynb")
    done, modules = imported([str(BIN / "nbmlops"), "export", "a.ipynb"], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "jsonschema" in modules and not loaded_slow(modules)
    assert (tmp_path / "jobs" / "a" / "job.yaml").is_file()
