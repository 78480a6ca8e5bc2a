"""The example notebooks run as `make demo` runs them, so a broken example fails the suite.

The six notebooks together take minutes (each job they run is a real kernel), so they run once,
as the demo's story, in a fresh project folder under tmp_path: the executed copies stay there,
never in the tree (copied to build/examples/ for the manual). Each notebook's time is
reported (``record_property``, and printed).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "example_notebooks"


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_demo", EXAMPLES / "run_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_demo"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


run_demo = _demo()


def test_the_story_covers_every_example_notebook() -> None:
    story = {step.notebook for step in run_demo.STEPS}
    assert story == {p.name for p in EXAMPLES.glob("[0-9][0-9]_*.ipynb")}
    assert len(story) == 6
    assert sorted(i for lane in run_demo.LANES for i in lane) == list(range(len(run_demo.STEPS)))


def _executed(tmp_path: Path, cells: list[tuple[str, list[str], list[dict[str, Any]]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for source, tags, outputs in cells:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    path = tmp_path / "executed.ipynb"
    path.write_text(json.dumps(nb))
    return path


ERROR = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": []}


def test_an_error_outside_a_raises_exception_cell_is_a_failure(tmp_path: Path) -> None:
    path = _executed(tmp_path, [("x = 1", [], []), ("%%track load\nboom()", [], [ERROR])])
    assert run_demo.surprises(path) == ["cell 2 (%%track load): ValueError: bad"]


def test_a_raises_exception_cell_must_fail_and_may(tmp_path: Path) -> None:
    path = _executed(tmp_path, [("expected()", ["raises-exception"], [ERROR]),
                                ("quiet()", ["raises-exception"], [])])
    assert run_demo.surprises(path) == ["cell 2 (quiet()) should have failed and did not"]


def test_a_line_on_stderr_is_no_failure(tmp_path: Path) -> None:
    # A refused promotion is an error output (PromotionRefused); a usage error's one stderr
    # line is not the failure a raises-exception cell shows.
    said = {"output_type": "stream", "name": "stderr", "text": "UsageError: bad gate 'auc'"}
    path = _executed(tmp_path, [("%mlops promote wine", ["raises-exception"], [said])])
    assert run_demo.surprises(path) == ["cell 1 (%mlops promote wine) should have failed and "
                                        "did not"]


@pytest.mark.kernel
@pytest.mark.timeout(900)  # the whole story: minutes, more when the machine is busy
def test_every_example_notebook_runs_as_the_demo_runs_it(
    tmp_path: Path, record_property: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    env = run_demo.prepare(project)
    seconds = run_demo.story(project, env)  # raises StepFailed naming each failure
    with capsys.disabled():
        print()
        for index, took in sorted(seconds.items()):
            step = run_demo.STEPS[index]
            name = f"{index + 1:02d} {step.notebook}"
            record_property(name, round(took, 1))
            print(f"  {name:<34} {took:5.1f} s")
    assert len(seconds) == len(run_demo.STEPS)
    executed = sorted((project / "outputs").glob("*.ipynb"))
    assert executed
    assert not list(EXAMPLES.glob("**/outputs"))  # nothing executed lands in the tree
    # The manual renders the examples with their outputs from these copies (`make docs`).
    manual = Path(os.environ.get("NBMLOPS_EXECUTED_EXAMPLES",
                                 EXAMPLES.parent / "build" / "examples"))
    manual.mkdir(parents=True, exist_ok=True)
    for copy in executed:
        shutil.copy2(copy, manual / copy.name)
