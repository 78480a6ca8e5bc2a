"""A record MLflow cannot take whole still becomes its run, and no upload leaves a run RUNNING.

A very wide frame's schema exceeds MLflow's limit for a dataset entry: the run keeps its
metrics, params and code, the entry keeps a summary MLflow's UI reads, and the full schema is
an artifact. An upload that fails part-way ends the half run it made instead of leaving it
RUNNING in the MLflow UI; the record waits and is uploaded afresh, exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.types import Schema
from mlflow.utils.validation import MAX_DATASET_SCHEMA_SIZE

from nbmlops.record import DataRecord
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool
from nbmlops.sync.upload import RECORD_ID_TAG

MakeRecord = Callable[..., Path]
WIDE = 40_000


def wide_frame() -> DataRecord:
    return DataRecord(
        name="wide", context="input", kind="dataframe", fingerprint="1e" * 16,
        source="variable:wide", shape=[10, WIDE],
        schema=[{"name": f"feature_{i:05d}", "dtype": "float64"} for i in range(WIDE)],
        size_bytes=10 * WIDE * 8,
    )


def test_a_very_wide_frame_keeps_its_run_with_the_schema_summarised(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri, datasets=[wide_frame()])
    record = spool.load(entry)

    report = worker.drain(spool, timeout=120)

    assert (report.uploaded, report.failed, report.waiting) == (1, 0, 0), report.errors
    client = MlflowClient(sqlite_uri)
    run = client.get_run(spool.receipt(record.record_id)["run_id"])  # type: ignore[index]
    assert run.info.status == "FINISHED"
    assert run.data.params == {"lr": "0.05", "layers": "[64, 32]"}
    assert run.data.metrics["val_acc"] == 0.91
    [dataset_input] = run.inputs.dataset_inputs  # type: ignore[union-attr]
    ds = dataset_input.dataset
    assert (ds.name, ds.digest) == ("wide", "1e" * 16)
    assert ds.schema is not None and len(ds.schema) <= MAX_DATASET_SCHEMA_SIZE
    columns = Schema.from_json(json.dumps(json.loads(ds.schema)["mlflow_colspec"])).inputs
    assert 0 < len(columns) < WIDE
    assert columns[0].name == "feature_00000" and columns[0].type.name == "double"
    tags = {t.key: t.value for t in dataset_input.tags}
    assert f"of {WIDE} columns" in tags["nbmlops.schema"]
    # The full schema, where the summary says it is.
    artifact = tags["nbmlops.schema"].rsplit(" ", 1)[-1]
    local = client.download_artifacts(run.info.run_id, artifact, str(spool.tmp))
    full = json.loads(Path(local).read_text())
    assert [c["name"] for c in full] == [f"feature_{i:05d}" for i in range(WIDE)]
    assert "schema" in run.data.tags["nbmlops.warnings"]
    assert [a.path for a in client.list_artifacts(run.info.run_id, "code")] == ["code/cell.py"]


def test_an_upload_failing_part_way_leaves_no_running_run(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, tmp_path: Path
) -> None:
    """The experiment's artifact folder cannot be made: the run is created, its artifacts
    fail. The foreground sync reports it, the record waits, and MLflow shows no RUNNING
    run; once the folder can be made, the record becomes exactly one finished run."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifacts would go")
    client = MlflowClient(sqlite_uri)
    experiment_id = client.create_experiment("notebooks/train.ipynb",
                                             artifact_location=str(blocker / "mlruns"))
    entry = make_record(sqlite_uri)
    record = spool.load(entry)

    report = worker.drain(spool, timeout=60)

    assert (report.uploaded, report.waiting) == (0, 1) and report.errors
    everything = client.search_runs([experiment_id], run_view_type=ViewType.ALL)
    assert everything, "the upload did not get as far as creating the run"
    assert [r.info.status for r in everything if r.info.status == "RUNNING"] == []
    assert client.search_runs([experiment_id], run_view_type=ViewType.ACTIVE_ONLY) == []

    blocker.unlink()
    report = worker.drain(spool, timeout=60)

    assert (report.uploaded, report.waiting) == (1, 0), report.errors
    [run] = client.search_runs([experiment_id], f"tags.`{RECORD_ID_TAG}` = '{record.record_id}'")
    assert run.info.status == "FINISHED"
