"""Which frame a scoring cell scored, and what its run gets when none fits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from nbmlops.monitor import reference
from nbmlops.record import RunRecord
from nbmlops.sync.spool import Spool
from nbmlops.track import scoring


def _frame(rows: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame({"a": rng.normal(shift, 1, rows), "b": rng.normal(0, 1, rows),
                         "label": rng.integers(0, 2, rows)})


def test_the_batch_is_the_largest_fitting_frame_the_cell_made_else_read() -> None:
    ns = {"small": _frame(10), "big": _frame(50), "narrow": _frame(99)[["a"]],
          "old": _frame(80), "text": "a b", "n": 3}
    columns = ["a", "b"]
    assert scoring.batch_of(ns, ["small", "big", "narrow", "n"], ["old"], columns)[0] == "big"
    assert scoring.batch_of(ns, ["narrow", "text"], ["small", "old"], columns)[0] == "old"
    assert scoring.batch_of(ns, ["narrow"], ["text", "missing"], columns) is None


def _record(tmp_path: Path, ns: dict[str, object], bound: list[str]) -> tuple[RunRecord, Path]:
    record = RunRecord(tracking_uri="sqlite:///x.db", experiment="e", run_name="score",
                       code_sha="0" * 8)
    staging = Spool(tmp_path / "spool").stage(record)
    watched = scoring.Watched("churn", "3", reference.build(_frame(2000), ["a", "b"]))
    scoring.add_to(record, staging, ns, bound, [], [watched])
    return record, staging.commit()


def test_a_scored_batch_leaves_its_figures_tags_and_reports(tmp_path: Path) -> None:
    record, entry = _record(tmp_path, {"batch": _frame(3000, shift=0.4)}, ["batch"])
    metrics = {m.name: m.value for m in record.metrics}
    assert metrics["monitor.churn.drifted_columns"] == 1
    assert metrics["monitor.churn.a.wasserstein"] > 0.3 > metrics["monitor.churn.b.wasserstein"]
    assert record.tags["nbmlops.monitor.churn.drifted"] == "yes"
    assert record.tags["nbmlops.monitor.churn.drifted_columns"] == "a"
    with zipfile.ZipFile(entry) as archive:
        names = set(archive.namelist())
    assert {"monitor/churn/report.json", "monitor/churn/report.html",
            "monitor/churn/batch.json"} <= names


def test_a_cell_with_no_frame_of_the_models_columns_says_so(tmp_path: Path) -> None:
    record, _ = _record(tmp_path, {"batch": _frame(30)[["a"]]}, ["batch"])
    assert record.metrics == [] and "nbmlops.monitor.churn.drifted" not in record.tags
    assert record.warnings == ["monitor churn: no frame the cell read or made has the model's "
                               "2 columns; nothing compared"]
