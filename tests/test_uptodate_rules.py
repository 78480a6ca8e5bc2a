"""When a pipeline step is up to date, and the reason it is not: the rule of
:mod:`nbmlops.jobs.run.uptodate` given a hand-built state and each kind of change in turn (pure),
then the same changes made to real files in a job folder (no kernel, no papermill)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from nbmlops.data.fingerprints import fingerprint_file
from nbmlops.jobs.run import uptodate
from nbmlops.jobs.run.uptodate import StepState
from nbmlops.jobs.spec import Job, Step

STEP = Step(name="prep", notebook="prep.ipynb", inputs=["raw.csv", "ref.csv"],
            outputs=["clean.csv", "model.pkl"])
STATE = StepState(code="c1", params="p1",
                  inputs={"raw.csv": "r1", "ref.csv": "f1"},
                  outputs={"clean.csv": "o1", "model.pkl": "m1"}, run_id="run1")
NOW = {"raw.csv": "r1", "ref.csv": "f1", "clean.csv": "o1", "model.pkl": "m1"}


class Files:
    """The fingerprints of the files as they are now, and which paths were asked for."""

    def __init__(self, now: Mapping[str, str | None]) -> None:
        self.now = dict(now)
        self.asked: list[list[str]] = []

    def __call__(self, paths: list[str]) -> dict[str, str | None]:
        self.asked.append(list(paths))
        return {p: self.now.get(p) for p in paths}


def verdict(state: StepState = STATE, code: str = "c1", params: str = "p1", step: Step = STEP,
            **now: str | None) -> uptodate.Verdict:
    files = {**NOW, **{k.replace("_", "."): v for k, v in now.items()}}
    return uptodate.compare(state, code, params, step, Files(files))


# -- the rule, pure -------------------------------------------------------------------------

def test_nothing_changed_is_up_to_date_and_names_the_run_it_reuses() -> None:
    files = Files(NOW)
    result = uptodate.compare(STATE, "c1", "p1", STEP, files)
    assert (result.current, result.reason) == (True, "up to date")
    assert result.state is STATE and result.state.run_id == "run1"
    assert files.asked == [["raw.csv", "ref.csv"], ["clean.csv", "model.pkl"]]


@pytest.mark.parametrize(("change", "reason"), [
    ({"code": "c2"}, "its notebook changed"),
    ({"params": "p2"}, "its parameters changed"),
    ({"raw_csv": "r2"}, "input raw.csv changed"),
    ({"ref_csv": "f2"}, "input ref.csv changed"),
    ({"raw_csv": None}, "input raw.csv changed"),  # deleted
    ({"clean_csv": "o2"}, "output clean.csv is not what its last run wrote"),  # overwritten
    ({"model_pkl": "m2"}, "output model.pkl is not what its last run wrote"),
    ({"clean_csv": None}, "output clean.csv is not what its last run wrote"),  # deleted
])
def test_each_kind_of_change_makes_the_step_run_with_its_reason(
    change: dict[str, str | None], reason: str,
) -> None:
    result = verdict(**change)  # type: ignore[arg-type]
    assert (result.current, result.reason) == (False, reason)
    assert result.state is STATE  # the last success is still shown


def test_the_first_reason_is_given_in_order_notebook_parameters_inputs_outputs() -> None:
    every = {"raw_csv": "r2", "clean_csv": "o2"}
    assert verdict(code="c2", params="p2", **every).reason == "its notebook changed"
    assert verdict(params="p2", **every).reason == "its parameters changed"
    assert verdict(**every).reason == "input raw.csv changed"
    assert verdict(ref_csv="f2", model_pkl="m2").reason == "input ref.csv changed"
    assert verdict(model_pkl="m2", clean_csv="o2").reason == (
        "output clean.csv is not what its last run wrote")  # in path order, not the step's


def test_a_changed_notebook_or_parameters_hash_no_file() -> None:
    for code, params in (("c2", "p1"), ("c1", "p2")):
        files = Files(NOW)
        assert not uptodate.compare(STATE, code, params, STEP, files).current
        assert files.asked == []
    files = Files({**NOW, "raw.csv": "r2"})
    assert uptodate.compare(STATE, "c1", "p1", STEP, files).reason == "input raw.csv changed"
    assert files.asked == [["raw.csv", "ref.csv"]]  # the outputs are not hashed either


def test_a_path_the_step_no_longer_names_still_counts_until_it_runs_again() -> None:
    fewer = replace(STEP, inputs=["raw.csv"], outputs=["clean.csv"])
    assert verdict(step=fewer).reason == "up to date"
    assert verdict(step=fewer, ref_csv="f2").reason == "input ref.csv changed"
    assert verdict(step=fewer, model_pkl="m2").reason == (
        "output model.pkl is not what its last run wrote")


def test_a_path_the_step_names_since_its_last_run_counts_when_it_exists() -> None:
    more = replace(STEP, inputs=[*STEP.inputs, "extra.csv"], outputs=[*STEP.outputs, "x.png"])
    assert verdict(step=more).reason == "up to date"  # neither exists: nothing to compare
    assert verdict(step=more, extra_csv="e1").reason == "input extra.csv changed"
    assert verdict(step=more, x_png="x1").reason == "output x.png is not what its last run wrote"


def test_a_file_missing_then_and_now_is_no_change() -> None:
    state = replace(STATE, inputs={**STATE.inputs, "opt.csv": None},
                    outputs={**STATE.outputs, "log.txt": None})
    assert verdict(state=state).reason == "up to date"
    assert verdict(state=state, opt_csv="o1").reason == "input opt.csv changed"
    assert verdict(state=state, log_txt="l1").reason == (
        "output log.txt is not what its last run wrote")


# -- the digests ----------------------------------------------------------------------------

def write_notebook(path: Path, cells: list[tuple[str, str]], **extra: object) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": extra.get("metadata", {}),
          "cells": [{"cell_type": kind, "source": source, "metadata": {},
                     **({"outputs": extra.get("outputs", []), "execution_count": extra.get("n")}
                        if kind == "code" else {})}
                    for kind, source in cells]}
    path.write_text(json.dumps(nb))
    return path


def test_the_code_digest_is_the_cells_and_kernel_not_outputs_or_metadata(tmp_path: Path) -> None:
    cells = [("markdown", "# prep"), ("code", "x = 1")]
    nb = write_notebook(tmp_path / "a.ipynb", cells)
    digest = uptodate.code_digest(nb, "python3")
    assert len(digest) == 32
    saved_again = write_notebook(tmp_path / "b.ipynb", cells, n=7, metadata={"k": 1},
                                 outputs=[{"output_type": "stream", "name": "stdout",
                                           "text": "1"}])
    assert uptodate.code_digest(saved_again, "python3") == digest
    assert uptodate.code_digest(nb, "ir") != digest
    for other in ([("markdown", "# prep"), ("code", "x = 2")],
                  [("code", "# prep"), ("code", "x = 1")],  # a cell's type changed
                  [("code", "x = 1"), ("markdown", "# prep")],
                  [("markdown", "# prep")]):
        assert uptodate.code_digest(write_notebook(tmp_path / "c.ipynb", other),
                                    "python3") != digest


def test_the_parameters_digest_ignores_their_order_and_tells_values_apart() -> None:
    digest = uptodate.params_digest({"a": 1, "b": "x"})
    assert len(digest) == 32
    assert uptodate.params_digest({"b": "x", "a": 1}) == digest
    for other in ({"a": 2, "b": "x"}, {"a": 1.5, "b": "x"}, {"a": 1}, {"a": 1, "b": "y"}, {}):
        assert uptodate.params_digest(other) != digest
    # a value JSON cannot write is taken by its repr rather than refused
    assert uptodate.params_digest({"d": Path("x")}) != uptodate.params_digest({"d": Path("y")})


def test_fingerprints_are_full_content_and_none_for_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("x\n1\n")
    found = uptodate.fingerprints(tmp_path, ["a.csv", "sub/b.csv", "gone.csv"])
    assert found == {"a.csv": fingerprint_file(tmp_path / "a.csv"),
                     "sub/b.csv": fingerprint_file(tmp_path / "a.csv"), "gone.csv": None}
    assert list(found) == ["a.csv", "sub/b.csv", "gone.csv"]


# -- the same changes on real files ---------------------------------------------------------

@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_notebook(tmp_path / "prep.ipynb", [("code", "x = 1")])
    for name, text in (("raw.csv", "a\n1\n"), ("ref.csv", "b\n2\n")):
        (tmp_path / name).write_text(text)
    return tmp_path


JOB = Job(name="weekly", steps=[STEP])
PARAMS = {"scale": 2.0}


def succeed(folder: Path, params: Mapping[str, object] = PARAMS) -> StepState:
    """A run of the step: the state before it, the outputs it writes, its state after."""
    before = uptodate.before_run(folder, JOB, STEP, params)
    (folder / "clean.csv").write_text("a\n1\n")
    (folder / "model.pkl").write_bytes(b"\x80model")
    return uptodate.after_run(folder, STEP, before, "run1")


def reason(folder: Path, params: Mapping[str, object] = PARAMS) -> str:
    return uptodate.check(folder, JOB, STEP, params).reason


def test_a_step_never_run_or_with_an_unreadable_state_runs(folder: Path) -> None:
    result = uptodate.check(folder, JOB, STEP, PARAMS)
    assert (result.current, result.reason, result.state) == (
        False, "no successful run recorded", None)
    path = uptodate.state_path(folder, "prep")
    assert path == folder / ".nbmlops-state" / "prep.json"
    path.parent.mkdir()
    for text in ("{", '{"code": "c"}', '{"code": "c", "params": "p", "future": 1}', "[]"):
        path.write_text(text)
        assert uptodate.load_state(folder, "prep") is None
        assert reason(folder) == "no successful run recorded"


def test_after_a_success_the_step_is_up_to_date_with_what_it_saw(folder: Path) -> None:
    state = succeed(folder)
    result = uptodate.check(folder, JOB, STEP, PARAMS)
    assert (result.current, result.reason) == (True, "up to date")
    assert result.state == state == uptodate.load_state(folder, "prep")
    assert state.run_id == "run1" and state.finished.endswith("+00:00")
    assert set(state.inputs) == {"raw.csv", "ref.csv"}
    assert state.outputs == {"clean.csv": fingerprint_file(folder / "clean.csv"),
                             "model.pkl": fingerprint_file(folder / "model.pkl")}
    assert state.code == uptodate.code_digest(folder / "prep.ipynb", "python3")
    assert state.params == uptodate.params_digest(PARAMS)


def test_each_change_to_real_files_gives_its_reason(folder: Path) -> None:
    succeed(folder)
    (folder / "raw.csv").write_text("a\n2\n")
    assert reason(folder) == "input raw.csv changed"
    succeed(folder)
    assert reason(folder, {"scale": 3.0}) == "its parameters changed"
    write_notebook(folder / "prep.ipynb", [("code", "x = 2")])
    assert reason(folder) == "its notebook changed"
    succeed(folder)
    (folder / "clean.csv").write_text("a\n9\n")  # overwritten, not deleted
    assert reason(folder) == "output clean.csv is not what its last run wrote"
    succeed(folder)
    (folder / "model.pkl").unlink()
    assert reason(folder) == "output model.pkl is not what its last run wrote"


def test_a_file_touched_or_rewritten_with_the_same_content_stays_up_to_date(
    folder: Path,
) -> None:
    succeed(folder)
    later = os.stat(folder / "clean.csv").st_mtime_ns + 5_000_000_000
    for name in ("raw.csv", "clean.csv"):
        os.utime(folder / name, ns=(later, later))
    (folder / "model.pkl").write_bytes(b"\x80model")
    assert reason(folder) == "up to date"


def test_a_failed_run_forgets_the_last_success(folder: Path) -> None:
    succeed(folder)
    uptodate.forget(folder, "prep")
    assert reason(folder) == "no successful run recorded"
    uptodate.forget(folder, "prep")  # already forgotten: nothing to do


def test_the_state_before_a_run_is_what_the_run_sees(folder: Path) -> None:
    before = uptodate.before_run(folder, JOB, STEP, PARAMS)
    assert before == StepState(
        code=uptodate.code_digest(folder / "prep.ipynb", "python3"),
        params=uptodate.params_digest(PARAMS),
        inputs={"raw.csv": fingerprint_file(folder / "raw.csv"),
                "ref.csv": fingerprint_file(folder / "ref.csv")})
    assert uptodate.load_state(folder, "prep") is None  # saved only after a success
