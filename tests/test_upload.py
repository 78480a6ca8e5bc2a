"""upload(): one spooled record -> exactly one MLflow run, read back with MlflowClient."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import rewrite_entry
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.types import Schema
from mlflow_server import MlflowServer, free_port

from nbmlops import config
from nbmlops.exceptions import RecordRejected
from nbmlops.record import DataRecord, MetricPoint, Outcome
from nbmlops.store import FAIL_FAST_ENV
from nbmlops.sync import artifact_scheme
from nbmlops.sync.spool import RECORD_FILE, Spool
from nbmlops.sync.upload import RECORD_ID_TAG, TRUNCATED, is_permanent, upload

MakeRecord = Callable[..., Path]


class Clients:
    """``client_for`` as the sync process has it: one MlflowClient per tracking URI."""

    def __init__(self) -> None:
        self.made: dict[str, MlflowClient] = {}

    def __call__(self, uri: str) -> MlflowClient:
        return self.made.setdefault(uri, MlflowClient(tracking_uri=uri))


def push(spool: Spool, entry: Path, clients: Callable[[str], MlflowClient]) -> dict[str, Any]:
    with spool.unpacked(entry) as files:
        return upload(spool.load(entry), files, clients)


def inputs_of(run: Any) -> list[Any]:
    assert run.inputs is not None
    return list(run.inputs.dataset_inputs)


def js(text: str | None) -> Any:
    assert text is not None
    return json.loads(text)


def active_runs(client: MlflowClient, experiment_id: str, record_id: str) -> list[Any]:
    return list(
        client.search_runs(
            [experiment_id], f"tags.`{RECORD_ID_TAG}` = '{record_id}'", ViewType.ACTIVE_ONLY
        )
    )


def check_complete_run(client: MlflowClient, spool: Spool, entry: Path, rc: dict[str, Any]) -> None:
    """Everything of ``build_record`` + DEFAULT_FILES is where an MLflow user looks for it."""
    record = spool.load(entry)
    run = client.get_run(rc["run_id"])
    assert rc["record_id"] == record.record_id
    assert client.get_experiment(rc["experiment_id"]).name == record.experiment
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "train"
    assert (run.info.start_time, run.info.end_time) == (
        record.outcome.start_ms,
        record.outcome.end_ms,
    )
    assert run.data.params == {"lr": "0.05", "layers": "[64, 32]"}
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
        (s, 1.0 / (s + 1)) for s in range(4)
    ]
    assert [m.timestamp for m in sorted(history, key=lambda m: m.step)] == [
        p.timestamp_ms for p in record.metrics[:4]
    ]
    assert run.data.metrics["val_acc"] == pytest.approx(0.91)
    tags = run.data.tags
    expected = {
        "mlflow.source.name": "notebooks/train.ipynb",
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.git.commit": "ab" * 20,
        "mlflow.source.git.branch": "main",
        RECORD_ID_TAG: record.record_id,
        "nbmlops.code_sha": "c0de" * 10,
        "nbmlops.cell_id": "cell-1",
        "nbmlops.notebook": "notebooks/train.ipynb",
        "nbmlops.python": "3.11.2",
        "nbmlops.git.dirty": "true",
        "nbmlops.duration_s": "2.000",
        "team": "vision",
    }
    assert {k: tags.get(k) for k in expected} == expected
    assert tags["mlflow.user"]
    assert "nbmlops.error_type" not in tags and "nbmlops.warnings" not in tags

    [dataset_input] = inputs_of(run)
    ds = dataset_input.dataset
    assert (ds.name, ds.digest, ds.source_type) == ("df", "0f" * 16, "code")
    assert {t.key: t.value for t in dataset_input.tags} == {
        "mlflow.data.context": "input",
        "nbmlops.kind": "dataframe",
    }
    # MLflow's own parser reads the schema back, as the UI does.
    schema = Schema.from_json(json.dumps(js(ds.schema)["mlflow_colspec"]))
    assert [(c.name, c.type.name) for c in schema.inputs] == [("x", "double"), ("y", "long")]
    assert js(ds.profile) == {
        "num_rows": 100,
        "num_elements": 200,
        "shape": [100, 2],
        "size_bytes": 1600,
    }
    assert js(ds.source)["tags"]["nbmlops.variable"] == "df"

    assert sorted(a.path for a in client.list_artifacts(run.info.run_id)) == ["code", "env"]
    assert [a.path for a in client.list_artifacts(run.info.run_id, "code")] == ["code/cell.py"]
    local = client.download_artifacts(run.info.run_id, "env/requirements.txt", str(spool.tmp))
    assert Path(local).read_text() == "numpy==2.0.0\n"


def test_record_lands_in_sqlite_store(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri)
    clients = Clients()
    rc = push(spool, entry, clients)
    client = clients(sqlite_uri)
    check_complete_run(client, spool, entry, rc)
    assert set(rc) == {
        "record_id", "run_id", "experiment_id", "experiment", "tracking_uri", "url", "synced_at",
    }  # fmt: skip
    # A sqlite store keeps artifacts beside the database, not in the sync process's cwd,
    # named relative to it.
    store = Path(sqlite_uri.removeprefix("sqlite:///")).parent
    artifact_uri = client.get_run(rc["run_id"]).info.artifact_uri
    assert artifact_uri.startswith(artifact_scheme.location("mlruns/"))
    assert artifact_scheme.resolve(artifact_uri, sqlite_uri).is_relative_to(store / "mlruns")
    assert (store / "mlruns").is_dir()


def test_run_url_in_receipt(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBMLOPS_UI_URL", "http://ui.example:5000/")
    rc = push(spool, make_record(sqlite_uri), Clients())
    assert rc["url"] == (
        f"http://ui.example:5000/#/experiments/{rc['experiment_id']}/runs/{rc['run_id']}"
        "?workflowType=machine_learning"
    )


def test_failed_and_killed_runs(spool: Spool, sqlite_uri: str, make_record: MakeRecord) -> None:
    clients = Clients()
    now = int(time.time() * 1000)
    failed = make_record(
        sqlite_uri,
        files={"code/cell.py": "1/0\n", "error/traceback.txt": "ZeroDivisionError: division"},
        outcome=Outcome("FAILED", now - 50, now, "ZeroDivisionError", "division by zero"),
    )
    killed = make_record(
        sqlite_uri, outcome=Outcome("KILLED", now - 50, now, "KeyboardInterrupt", None)
    )
    client = clients(sqlite_uri)

    run = client.get_run(push(spool, failed, clients)["run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["nbmlops.error_type"] == "ZeroDivisionError"
    assert run.data.tags["nbmlops.error_message"] == "division by zero"
    trace = client.download_artifacts(run.info.run_id, "error/traceback.txt", str(failed.parent))
    assert "ZeroDivisionError" in Path(trace).read_text()

    run = client.get_run(push(spool, killed, clients)["run_id"])
    assert run.info.status == "KILLED"
    assert run.data.tags["nbmlops.error_type"] == "KeyboardInterrupt"


def test_upload_twice_is_one_run(spool: Spool, sqlite_uri: str, make_record: MakeRecord) -> None:
    entry = make_record(sqlite_uri)
    clients = Clients()
    first = push(spool, entry, clients)
    second = push(spool, entry, clients)  # e.g. the process died before spool.complete
    assert second["run_id"] == first["run_id"]
    runs = active_runs(clients(sqlite_uri), first["experiment_id"], first["record_id"])
    assert [r.info.run_id for r in runs] == [first["run_id"]]


def test_half_uploaded_run_is_replaced(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    """A crash after create_run leaves a RUNNING run with the tag: it is deleted and the record
    uploaded afresh, so exactly one complete run remains."""
    entry = make_record(sqlite_uri)
    record = spool.load(entry)
    clients = Clients()
    client = clients(sqlite_uri)
    experiment_id = client.create_experiment(record.experiment)
    orphan = client.create_run(experiment_id, tags={RECORD_ID_TAG: record.record_id})
    client.log_param(orphan.info.run_id, "lr", "0.05")

    rc = push(spool, entry, clients)
    assert rc["run_id"] != orphan.info.run_id
    assert client.get_run(orphan.info.run_id).info.lifecycle_stage == "deleted"
    runs = active_runs(client, experiment_id, record.record_id)
    assert [r.info.run_id for r in runs] == [rc["run_id"]]
    check_complete_run(client, spool, entry, rc)


def test_mlflow_batch_and_length_limits(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    now = int(time.time() * 1000)
    params = {f"p{i}": str(i) for i in range(250)} | {"long": "x" * 7000, "bad key?": "1"}
    metrics = [MetricPoint("curve", float(i), i, now) for i in range(2500)]
    tags = {f"t{i}": "v" for i in range(150)} | {RECORD_ID_TAG: "forged"}
    entry = make_record(sqlite_uri, params=params, metrics=metrics, tags=tags)
    clients = Clients()
    run = clients(sqlite_uri).get_run(push(spool, entry, clients)["run_id"])
    assert len(run.data.params) == 252
    assert run.data.params["long"].endswith(TRUNCATED)
    assert len(run.data.params["long"]) == 6000
    assert run.data.params["bad key_"] == "1"
    history = clients(sqlite_uri).get_metric_history(run.info.run_id, "curve")
    assert sorted(m.step for m in history) == list(range(2500))
    assert all(run.data.tags[f"t{i}"] == "v" for i in range(150))
    assert run.data.tags[RECORD_ID_TAG] == spool.load(entry).record_id  # not forged
    warnings = run.data.tags["nbmlops.warnings"]
    assert "'long' cut to 6000" in warnings and "'bad key?' renamed" in warnings
    assert "nbmlops.record_id" in warnings


def test_outputs_files_and_arrays(spool: Spool, sqlite_uri: str, make_record: MakeRecord) -> None:
    fp_same, fp_file, fp_arr = "aa" * 16, "bb" * 16, "cc" * 16
    datasets = [
        DataRecord("df", "input", "dataframe", fp_same, "variable:df", [3, 1],
                   [{"name": "a", "dtype": "datetime64[ns]"}]),
        DataRecord("df", "output", "dataframe", fp_same, "variable:df", [3, 1],
                   [{"name": "a", "dtype": "datetime64[ns]"}]),
        DataRecord("/data/train.csv", "input", "file", fp_file, "/data/train.csv", size_bytes=42),
        DataRecord("pred", "output", "ndarray", fp_arr, "variable:pred", [10, 3],
                   [{"name": "", "dtype": "float32"}]),
    ]  # fmt: skip
    entry = make_record(sqlite_uri, datasets=datasets)
    clients = Clients()
    run = clients(sqlite_uri).get_run(push(spool, entry, clients)["run_id"])
    inputs = {d.dataset.digest: d for d in inputs_of(run)}
    assert set(inputs) == {fp_same, fp_file, fp_arr}

    def context(digest: str) -> str:
        return {t.key: t.value for t in inputs[digest].tags}["mlflow.data.context"]

    # Read and written unchanged: MLflow keeps one input per (name, digest).
    assert context(fp_same) == "input,output"
    assert context(fp_file) == "input" and context(fp_arr) == "output"
    csv = inputs[fp_file].dataset
    assert (csv.source_type, js(csv.source)) == ("local", {"uri": "/data/train.csv"})
    assert js(csv.profile) == {"size_bytes": 42}
    arr = inputs[fp_arr].dataset
    spec = json.loads(js(arr.schema)["mlflow_tensorspec"]["features"])
    assert spec == [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    when = js(inputs[fp_same].dataset.schema)["mlflow_colspec"]
    assert when == [{"type": "datetime", "name": "a", "required": True}]


def test_missing_artifact_is_a_warning_not_a_lost_run(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri)
    rewrite_entry(entry, drop=("env/requirements.txt",))
    clients = Clients()
    run = clients(sqlite_uri).get_run(push(spool, entry, clients)["run_id"])
    assert run.info.status == "FINISHED"
    assert "'env/requirements.txt' is missing" in run.data.tags["nbmlops.warnings"]


def all_artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    found = []
    for info in client.list_artifacts(run_id, path):
        found += all_artifacts(client, run_id, info.path) if info.is_dir else [info.path]
    return found


def test_artifact_paths_outside_the_record_are_never_uploaded(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    """A tampered or corrupt record must not make the sync process upload files of the host."""
    entry = make_record(sqlite_uri)
    record = json.loads(spool.load(entry).to_json())
    outside = ["/etc/hostname", "../" * 20 + "etc/hostname", "code/../../" * 10 + "etc/hostname"]
    assert Path("/etc/hostname").is_file()  # the files exist: only the path check stops them
    record["artifacts"] += outside
    rewrite_entry(entry, replace={RECORD_FILE: json.dumps(record)})
    clients = Clients()
    run = clients(sqlite_uri).get_run(push(spool, entry, clients)["run_id"])
    assert run.info.status == "FINISHED"
    uploaded = all_artifacts(clients(sqlite_uri), run.info.run_id)
    assert sorted(uploaded) == ["code/cell.py", "env/requirements.txt"]
    warnings = run.data.tags["nbmlops.warnings"]
    assert all(f"artifact {p!r} is outside the record" in warnings for p in outside)


@pytest.mark.parametrize("status", ["RUNNING", "SCHEDULED", "finished", ""])
def test_a_record_in_no_terminal_status_is_rejected(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, status: str
) -> None:
    entry = make_record(sqlite_uri, outcome=Outcome(status, 1, 2))
    with pytest.raises(RecordRejected, match="is not a run status") as info:
        push(spool, entry, Clients())
    assert is_permanent(info.value)
    assert MlflowClient(sqlite_uri).get_experiment_by_name("notebooks/train.ipynb") is None


def test_experiment_created_concurrently(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    """Another process creates the experiment between our lookup and our create."""
    entry = make_record(sqlite_uri)
    name = spool.load(entry).record_id and "notebooks/train.ipynb"

    class RacingClient(MlflowClient):
        def get_experiment_by_name(self, experiment_name: str) -> Any:
            found = super().get_experiment_by_name(experiment_name)
            if found is None and not getattr(self, "raced", False):
                self.raced = True
                MlflowClient(tracking_uri=sqlite_uri).create_experiment(experiment_name)
                return None  # what we saw just before the other process's create
            return found

    client = RacingClient(tracking_uri=sqlite_uri)
    rc = push(spool, entry, lambda uri: client)
    assert client.raced
    assert rc["experiment_id"] == client.get_experiment_by_name(name).experiment_id


def test_deleted_experiment_is_rejected(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    client = MlflowClient(tracking_uri=sqlite_uri)
    client.delete_experiment(client.create_experiment("notebooks/train.ipynb"))
    entry = make_record(sqlite_uri)
    with pytest.raises(RecordRejected, match="deleted") as info:
        push(spool, entry, Clients())
    assert is_permanent(info.value)


def test_invalid_value_is_permanent_an_outage_is_not(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = make_record(sqlite_uri, metrics=[MetricPoint("loss", 1.0, 0, -5)])
    with pytest.raises(MlflowException) as info:
        push(spool, entry, Clients())
    assert info.value.error_code == "INVALID_PARAMETER_VALUE" and is_permanent(info.value)

    for key, value in FAIL_FAST_ENV.items():
        monkeypatch.setenv(key, value)
    down = make_record(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(MlflowException, match=r"127\.0\.0\.1.*(Connection|connect)") as outage:
        push(spool, down, Clients())
    assert outage.value.error_code == "INTERNAL_ERROR" and not is_permanent(outage.value)
    # A bound with a wide margin, not a speed claim: MLflow's own retries take minutes.
    assert time.monotonic() - started < 30


def test_malformed_record_is_rejected_before_mlflow(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    entry = make_record(sqlite_uri, record_id="x' OR '1'='1")
    with pytest.raises(RecordRejected, match="record id"):
        push(spool, entry, Clients())
    entry = make_record(sqlite_uri, metrics=[MetricPoint("loss", "high")])  # type: ignore[arg-type]
    with pytest.raises(RecordRejected, match="malformed"):
        push(spool, entry, Clients())
    # Rejected before MLflow was asked anything: no experiment, no run.
    client = MlflowClient(sqlite_uri)
    assert client.get_experiment_by_name("notebooks/train.ipynb") is None
    assert client.search_runs(
        [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)],
        run_view_type=ViewType.ALL,
    ) == []


@pytest.mark.server
def test_record_lands_on_a_tracking_server(
    spool: Spool, make_record: MakeRecord, mlflow_server: MlflowServer
) -> None:
    clients = Clients()
    entries = [make_record(mlflow_server.url) for _ in range(3)]
    receipts = [push(spool, entry, clients) for entry in entries]
    assert len({r["run_id"] for r in receipts}) == 3  # one client, one run per record
    rc = receipts[-1]
    check_complete_run(clients(mlflow_server.url), spool, entries[-1], rc)
    assert rc["url"] == (
        f"{mlflow_server.url}/#/experiments/{rc['experiment_id']}/runs/{rc['run_id']}"
        "?workflowType=machine_learning"
    )
    # Artifacts went through the server into its artifact destination (the server is shared:
    # this experiment's folder).
    assert len(list((mlflow_server.artifacts / rc["experiment_id"]).rglob("cell.py"))) == 3


# --- the pure parts: where artifacts go, what a receipt links to, what is never retried ---------


def test_a_sqlite_stores_artifacts_go_beside_it_in_a_folder_per_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nbmlops.sync.upload import _artifact_location

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    beside = artifact_scheme.location
    assert _artifact_location(uri, "notebooks/train.ipynb") == beside(
        "mlruns/notebooks_train.ipynb")
    assert _artifact_location(uri, "._été  2026 ._") == beside("mlruns/été_2026")
    assert _artifact_location(uri, "../..") == beside("mlruns/experiment")
    assert _artifact_location(uri, "??") == beside("mlruns/experiment")
    assert _artifact_location(uri, "X-ray_") == beside("mlruns/X-ray")
    assert _artifact_location("http://127.0.0.1:5000", "x") is None
    # Where MLflow does not know the scheme (nbmlops installed without its entry points), a
    # location it could not read back is never written: the absolute path it is.
    monkeypatch.setattr(artifact_scheme, "available", lambda: False)
    assert _artifact_location(uri, "X-ray_") == f"{tmp_path}/mlruns/X-ray"


def test_a_receipt_links_to_the_ui_of_the_records_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import build_record

    from nbmlops.sync.upload import receipt

    monkeypatch.delenv("NBMLOPS_UI_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "pyproject.toml").write_text(
        "[tool.nbmlops]\nui_url = 'http://ui.example/'\n")
    record = build_record("sqlite:///x.db", project_root=str(tmp_path / "project"))
    rc = receipt(record, "7", "abc")
    assert rc["url"] == f"http://ui.example/#/experiments/7/runs/abc?{config.UI_TRAINING_VIEW}"
    assert (rc["record_id"], rc["run_id"], rc["experiment_id"]) == (record.record_id, "abc", "7")
    assert (rc["experiment"], rc["tracking_uri"]) == (record.experiment, "sqlite:///x.db")
    assert rc["synced_at"] <= time.time()
    # Without a project root the working folder's project counts.
    assert receipt(build_record("sqlite:///x.db", project_root=""), "7", "abc")["url"] is None
    (tmp_path / "pyproject.toml").write_text("[tool.nbmlops]\nui_url = 'http://here'\n")
    assert receipt(build_record("sqlite:///x.db", project_root=""), "7", "abc")["url"] == (
        f"http://here/#/experiments/7/runs/abc?{config.UI_TRAINING_VIEW}")
    # A broken pyproject leaves the link out; the upload still counts.
    (tmp_path / "project" / "pyproject.toml").write_text("[tool.nbmlops\n")
    assert receipt(record, "7", "abc")["url"] is None


def test_only_errors_about_the_record_are_permanent() -> None:
    from mlflow.protos.databricks_pb2 import (
        INTERNAL_ERROR,
        INVALID_PARAMETER_VALUE,
        MALFORMED_REQUEST,
        RESOURCE_DOES_NOT_EXIST,
    )

    assert is_permanent(RecordRejected("bad"))
    assert is_permanent(MlflowException("x", error_code=INVALID_PARAMETER_VALUE))
    assert is_permanent(MlflowException("x", error_code=MALFORMED_REQUEST))
    assert not is_permanent(MlflowException("x", error_code=INTERNAL_ERROR))
    assert not is_permanent(MlflowException("x", error_code=RESOURCE_DOES_NOT_EXIST))
    for error in (ConnectionRefusedError(), TimeoutError(), OSError("disk"), ValueError("x")):
        assert not is_permanent(error)


def test_of_two_finished_runs_of_one_record_the_first_is_the_record(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    """Two processes raced and both finished (or a run was copied): the record is the run
    that started first, every time, and no third run is made."""
    entry = make_record(sqlite_uri)
    record = spool.load(entry)
    clients = Clients()
    client = clients(sqlite_uri)
    experiment_id = client.create_experiment(record.experiment)
    first, second = (
        client.create_run(experiment_id, start_time=start, tags={RECORD_ID_TAG: record.record_id})
        for start in (1_000, 2_000)
    )
    for run in (second, first):
        client.set_terminated(run.info.run_id, "FINISHED")
    assert push(spool, entry, clients)["run_id"] == first.info.run_id
    assert len(active_runs(client, experiment_id, record.record_id)) == 2


@pytest.mark.parametrize(("n_metrics", "n_params", "n_tags"), [
    (0, 0, 250), (0, 250, 0), (2500, 0, 0), (1500, 120, 30), (0, 0, 0),
])
def test_batches_carry_everything_within_mlflows_limits(
    n_metrics: int, n_params: int, n_tags: int
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    from nbmlops.sync import upload as up

    metrics = [Metric("m", float(i), 0, i) for i in range(n_metrics)]
    params = [Param(f"p{i}", "v") for i in range(n_params)]
    tags = [RunTag(f"t{i}", "v") for i in range(n_tags)]
    batches = list(up._batches(metrics, params, tags))
    assert [m for ms, _, _ in batches for m in ms] == metrics  # in order, once each
    assert [p for _, ps, _ in batches for p in ps] == params
    assert [t for _, _, ts in batches for t in ts] == tags
    for ms, ps, ts in batches:
        assert ms or ps or ts
        assert len(ms) <= up.MAX_METRICS_PER_BATCH
        assert len(ps) + len(ts) <= 2 * up.MAX_PARAMS_TAGS_PER_BATCH
        assert max(len(ps), len(ts)) <= up.MAX_PARAMS_TAGS_PER_BATCH
        assert len(ms) + len(ps) + len(ts) <= up.MAX_PER_BATCH


def test_the_experiment_made_for_a_record_is_a_training_one_beside_the_store(
    spool: Spool, sqlite_uri: str, make_record: MakeRecord
) -> None:
    from nbmlops import store
    from nbmlops.sync.upload import _artifact_location

    entry = make_record(sqlite_uri)
    clients = Clients()
    rc = push(spool, entry, clients)
    experiment = clients(sqlite_uri).get_experiment(rc["experiment_id"])
    assert experiment.tags[store.EXPERIMENT_KIND_TAG] == store.EXPERIMENT_KIND_TRAINING
    location = _artifact_location(sqlite_uri, "notebooks/train.ipynb")
    assert location is not None and experiment.artifact_location.endswith(location)


def test_a_refused_identity_is_one_line_that_names_the_variables_to_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the sync process says when a server refused the credentials of its environment
    (MLflow's REST client raises these codes for HTTP 401 and 403); the URI's own secret is
    left out."""
    from mlflow.protos.databricks_pb2 import (
        INTERNAL_ERROR,
        PERMISSION_DENIED,
        UNAUTHENTICATED,
    )

    from nbmlops.sync.upload import credentials_refused

    uri, shown = "https://bob:s3cret@mlflow.example:5000", "https://mlflow.example:5000"
    unauthenticated = MlflowException("no", error_code=UNAUTHENTICATED)
    denied = MlflowException("no", error_code=PERMISSION_DENIED)
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    assert credentials_refused(unauthenticated, uri) == (
        f"the tracking server at {shown} asks for credentials (HTTP 401): set "
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert credentials_refused(unauthenticated, uri) == (
        f"the tracking server at {shown} refused the credentials of user 'alice' (HTTP 401): "
        "check MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD")
    assert credentials_refused(denied, uri) == (
        f"the tracking server at {shown} denied user 'alice' a permission (HTTP 403): grant "
        "it EDIT on the experiment (or the model), or use another MLFLOW_TRACKING_USERNAME")
    # Anything else is about the store or the record, not who we are.
    for error in (MlflowException("x", error_code=INTERNAL_ERROR), ConnectionRefusedError(),
                  RecordRejected("bad")):
        assert credentials_refused(error, uri) is None
