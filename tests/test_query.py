"""The query module over real stores (the runs ``%%track`` made, see ``tracked_runs``; a real
``mlflow server``), and the pure diff of runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow_server import MlflowServer, free_port
from tracked_runs import TrackedStore, contents

from nbmlops.exceptions import ExperimentNotFound, InvalidFilter, QueryError, RunNotFound
from nbmlops.runs import diff as run_diff
from nbmlops.runs import query
from nbmlops.runs.entities import Dataset, RunDetails, RunSummary
from nbmlops.sync import worker
from nbmlops.sync.spool import Spool


@pytest.fixture
def store(shared_runs: TrackedStore) -> Iterator[TrackedStore]:
    before = contents(shared_runs)
    yield shared_runs
    assert contents(shared_runs) == before, "a test changed the shared store"


# --- reading a store -----------------------------------------------------------------------


def test_experiments(store: TrackedStore) -> None:
    found = query.experiments(store.uri)
    assert store.experiment in [e.name for e in found]
    experiment = query.get_experiment(store.uri, store.experiment)
    assert query.get_experiment(store.uri, experiment.experiment_id) == experiment
    assert query.get_experiment(store.uri, experiment) is experiment
    with pytest.raises(ExperimentNotFound, match=r"no experiment 'x.ipynb' in sqlite:///.*; "
                       r"experiments there: .*notebooks/compare.ipynb"):
        query.get_experiment(store.uri, "x.ipynb")


def test_missing_sqlite_store_is_not_created(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'none' / 'mlflow.db'}"
    with pytest.raises(ExperimentNotFound, match="nothing has been uploaded there yet"):
        query.get_experiment(uri, "a.ipynb")
    with pytest.raises(RunNotFound, match=r"no run 0+ in"):
        query.get_run(uri, "0" * 32)
    assert query.experiments(uri) == []
    assert not (tmp_path / "none").exists()


def test_pages_follow_mlflow_tokens(store: TrackedStore) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = query.search_runs(store.uri, store.experiment, max_results=2, page_token=token)
        assert len(page.runs) <= 2
        seen += [r.run_id for r in page.runs]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
        assert isinstance(token, str)  # JSON-safe for the sidebar's REST API
    assert pages == 3 and sorted(seen) == sorted(store.run_ids.values())
    assert seen[0] == store.run_ids["fail"]  # newest first by default
    assert page.order_by == list(query.DEFAULT_ORDER)


def test_order_filter_and_cell(store: TrackedStore) -> None:
    ids = {v: k for k, v in store.run_ids.items()}

    def labels(**options: object) -> list[str]:
        page = query.search_runs(store.uri, store.experiment, **options)  # type: ignore[arg-type]
        return [ids[r.run_id] for r in page.runs]

    assert labels(order_by=[query.column_order("metrics.acc", True)]) == [
        "deep", "lower", "base", "fail", "eval",
    ]
    assert labels(order_by=["metrics.`val_loss` ASC"])[:3] == ["deep", "lower", "base"]
    assert labels(filter="metrics.acc > 0.85") == ["deep", "lower"]
    assert labels(cell="evaluate") == ["eval"]
    assert labels(cell="train", filter="params.lr = '0.05'") == ["deep", "lower"]
    page = query.search_runs(store.uri, store.experiment, cell="train", filter="metrics.acc < 1")
    assert page.filter == "metrics.acc < 1 and attributes.run_name = 'train'"
    assert [ids[r.run_id] for r in query.last_runs(store.uri, store.experiment, 2)] == [
        "fail", "eval",
    ]


@pytest.mark.parametrize("bad", ["metrics.acc >>> 1", "params.lr = ", "size = 3"])
def test_filter_rejected_by_mlflow(store: TrackedStore, bad: str) -> None:
    with pytest.raises(InvalidFilter, match="MLflow rejected the filter") as raised:
        query.search_runs(store.uri, store.experiment, filter=bad)
    assert "\n" not in str(raised.value)


def test_one_run_in_full(store: TrackedStore) -> None:
    details = query.get_run(store.uri, store.run_ids["deep"])
    run = details.run
    assert run.run_name == "train" and run.status == "FINISHED"
    assert run.params == {"lr": "0.05", "depth": "5"}
    assert run.metrics == {"acc": 0.9, "val_loss": 0.3, "loss": pytest.approx(1 / 3)}
    assert [(p.step, p.value) for p in details.metric_history["loss"]] == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3)),
    ]
    assert run.code_sha and len(run.code_sha) == 64 and run.duration_s is not None
    assert run.tags["mlflow.source.name"] == "notebooks/compare.ipynb"
    assert details.code == store.codes["deep"]
    assert {"code/cell.py", "env/requirements.txt"} <= set(details.artifacts)
    assert "pandas" in details.requirements
    by_name = {d.name: d for d in run.datasets}
    raw, sample = by_name["raw"], by_name["sample"]
    assert raw.context == "input" and raw.kind == "dataframe" and len(raw.fingerprint) == 32
    assert raw.short == raw.fingerprint[:8] and sample.context == "output"
    assert [d.name for d in run.inputs] == ["raw"]
    with pytest.raises(QueryError, match=r"^no run 0{32} in sqlite:///"):
        query.get_run(store.uri, "0" * 32)


def test_diff_of_runs_made_by_track(store: TrackedStore) -> None:
    diff = query.diff_runs(store.uri, [store.run_ids["base"], store.run_ids["deep"]])
    assert [(p.name, p.values) for p in diff.changed_params] == [
        ("depth", ["3", "5"]), ("lr", ["0.1", "0.05"]),
    ]
    metrics = {m.name: m for m in diff.metrics}
    assert metrics["acc"].best == [1] and metrics["acc"].direction == "max"
    assert metrics["val_loss"].best == [1] and metrics["val_loss"].direction == "min"
    assert metrics["loss"].best == []  # one value: nothing to compare
    assert [(d.name, d.context, d.status) for d in diff.data] == [
        ("raw", "input", "changed"), ("sample", "output", "changed"),
    ]
    assert diff.packages == []  # one process made both runs
    [code] = diff.code
    assert not code.same and "-lr = 0.1\n" in code.diff and "+# deeper trees\n" in code.diff
    same = query.diff_runs(store.uri, [store.run_ids["lower"], store.run_ids["lower"]])
    assert same.code[0].same and not same.changed_params
    assert [d.status for d in same.data] == ["same", "same"]
    with pytest.raises(QueryError, match="two or more"):
        query.diff_runs(store.uri, [store.run_ids["base"]])


# --- a real server -------------------------------------------------------------------------


@pytest.mark.server
def test_over_a_real_server(
    mlflow_server: MlflowServer, make_record: Callable[..., Path], spool: Spool
) -> None:
    make_record(mlflow_server.url, run_name="a", params={"lr": "0.1"}, code_sha="a" * 64,
                files={"code/cell.py": "lr = 0.1\n", "env/requirements.txt": "numpy==1.0\n"})
    make_record(mlflow_server.url, run_name="b", params={"lr": "0.2"}, code_sha="b" * 64,
                files={"code/cell.py": "lr = 0.2\n", "env/requirements.txt": "numpy==2.0\n"})
    assert worker.drain(spool).uploaded == 2
    page = query.search_runs(mlflow_server.url, "notebooks/train.ipynb", max_results=1)
    assert page.next_page_token and [r.run_name for r in page.runs] == ["b"]
    second = query.search_runs(
        mlflow_server.url, page.experiment, max_results=1, page_token=page.next_page_token
    )
    assert [r.run_name for r in second.runs] == ["a"] and second.next_page_token is None
    a, b = second.runs[0].run_id, page.runs[0].run_id
    assert query.get_run(mlflow_server.url, a).code == "lr = 0.1\n"  # through the server
    diff = query.diff_runs(mlflow_server.url, [a, b])
    assert [(p.name, p.versions) for p in diff.packages] == [("numpy", ["1.0", "2.0"])]
    assert "+lr = 0.2" in diff.code[0].diff

    # A server that is not there (nothing listens on the port): refused at once. (The shared
    # server stays up for the next tests; a restart costs seconds.)
    gone = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"MLflow at http://127\.0\.0\.1:\d+") as raised:
        query.search_runs(gone, page.experiment)
    assert time.monotonic() - started < 20  # not MLflow's minutes of retries
    assert "\n" not in str(raised.value)


# --- sorting here, columns -----------------------------------------------------------------


def summary(run_id: str, **fields: object) -> RunSummary:
    values: dict[str, object] = {
        "run_name": "r", "experiment_id": "1", "status": "FINISHED", "start_time": 1,
        "end_time": 2,
    }
    values.update(fields)
    return RunSummary(run_id, **values)  # type: ignore[arg-type]


def test_sort_runs_here() -> None:
    runs = [
        summary("a", params={"n": "10"}, metrics={"m": 0.5}, tags={"nbmlops.duration_s": "2.0"}),
        summary("b", params={"n": "9"}, metrics={"m": float("nan")}),
        summary("c", params={}, metrics={"m": 0.7}, tags={"nbmlops.duration_s": "0.5"}),
    ]

    def ids(column: str, descending: bool) -> list[str]:
        return [r.run_id for r in query.sort_runs(runs, column, descending)]

    assert ids("params.n", False) == ["b", "a", "c"]  # as numbers, missing last
    assert ids("params.n", True) == ["a", "b", "c"]
    assert ids("metrics.m", True) == ["c", "a", "b"]  # NaN with the missing
    assert ids("duration", True) == ["a", "c", "b"]  # b: 1 ms from start and end times
    assert query.column_order("duration", True) is None
    assert query.column_order("data", False) is None
    assert query.column_order("metrics.val acc", True) == "metrics.`val acc` DESC"
    assert query.column_order("run_name", False) == "attributes.run_name ASC"
    assert query.varying_params(runs) == ["n"]
    assert query.common_params(runs[:1]) == {"n": "10"}


# --- the pure diff -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("loss", "min"), ("val_loss", "min"), ("test_rmse", "min"), ("mae", "min"),
        ("mean_squared_error", "min"), ("error_rate", "min"), ("train.mse", "min"),
        ("acc", "max"), ("accuracy", "max"), ("val_acc", "max"), ("auc", "max"),
        ("roc_auc", "max"), ("f1", "max"), ("precision", "max"), ("recall", "max"),
        ("r2", "max"), ("r2_score", "max"), ("score", "max"),
        ("neg_mean_squared_error", "max"), ("n_trees", None), ("epoch_time", None),
    ],
)
def test_metric_direction_from_the_name(name: str, direction: str | None) -> None:
    assert run_diff.metric_direction(name) == direction


def test_configured_directions_win() -> None:
    configured = {"gain*": "max", "acc": "min", "cost": "lower"}
    assert run_diff.metric_direction("gain_total", configured) == "max"
    assert run_diff.metric_direction("acc", configured) == "min"
    assert run_diff.metric_direction("cost", configured) == "min"
    with pytest.raises(ValueError, match="'min' or 'max'"):
        run_diff.metric_direction("x", {"x": "up"})


def test_best_indexes() -> None:
    assert run_diff.best_indexes([0.1, 0.3, 0.3], "max") == [1, 2]  # ties both marked
    assert run_diff.best_indexes([0.1, 0.3], "min") == [0]
    assert run_diff.best_indexes([0.2, 0.2], "max") == []  # equal: nothing is better
    assert run_diff.best_indexes([0.2, None], "max") == []
    assert run_diff.best_indexes([0.2, 0.4], None) == []


def details(run_id: str, requirements: dict[str, str], python: str, code: str | None,
            sha: str, datasets: list[Dataset] | None = None) -> RunDetails:
    run = summary(run_id, tags={"nbmlops.python": python, "nbmlops.code_sha": sha},
                  datasets=datasets or [])
    return RunDetails(run, code=code, requirements=requirements)


def test_environment_data_and_code_rows() -> None:
    x1 = Dataset("X", "a" * 32, "a" * 32, "input")
    x2 = Dataset("X", "b" * 32, "b" * 32, "input,output")
    out = Dataset("model.pkl", "c" * 32, "c" * 32, "output")
    a = details("a" * 32, {"numpy": "1.0", "pandas": "2.0", "sklearn": "1.4"}, "3.11.2",
                "x = 1\n", "s1", [x1])
    b = details("b" * 32, {"numpy": "2.0", "pandas": "2.0"}, "3.12.0", "x = 2\n", "s2", [x2, out])
    c = details("c" * 32, {"numpy": "2.0"}, "3.12.0", None, "s3", [x1])
    diff = run_diff.compare([a, b, c])
    # a package only one run imported is no difference; python counts
    assert [(p.name, p.versions) for p in diff.packages] == [
        ("python", ["3.11.2", "3.12.0", "3.12.0"]), ("numpy", ["1.0", "2.0", "2.0"]),
    ]
    assert [(d.name, d.context, d.status) for d in diff.data] == [
        ("X", "input", "changed"), ("model.pkl", "output", "missing"),
    ]
    assert diff.code[0].diff.splitlines()[2:] == ["@@ -1 +1 @@", "-x = 1", "+x = 2"]
    assert diff.code[1].missing and not diff.code[1].same
    same_sha = run_diff.code_diff(a, details("d" * 32, {}, "", None, "s1"))
    assert same_sha.same and same_sha.diff == ""


# --- ordering by a metric through a narrowed set -------------------------------------------


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> tuple[str, str]:
    """130 runs made through MlflowClient: ties, NaN, runs without the metric, two names."""
    import shutil

    from mlflow import MlflowClient
    from mlflow.entities import Metric

    db = tmp_path_factory.mktemp("many-runs") / "mlflow.db"
    shutil.copy(migrated_db, db)
    uri = f"sqlite:///{db}"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("many.ipynb", artifact_location=str(db.parent))
    for i in range(130):
        run = client.create_run(experiment_id, start_time=1_000 + i,
                                run_name="train" if i % 4 else "evaluate")
        value = [round((i * 37 % 101) / 100, 2), float("nan"), None][0 if i % 13 else i % 2 + 1]
        metrics = [] if value is None else [Metric("score", value, 0, 0)]
        client.log_batch(run.info.run_id, metrics=metrics)
        client.set_terminated(run.info.run_id)
    return uri, experiment_id


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize(("filter", "cell"), [("", None), ("metrics.score > 0.2", "train")])
def test_metric_order_matches_mlflow_page_by_page(
    many_runs: tuple[str, str], monkeypatch: pytest.MonkeyPatch, descending: bool,
    filter: str, cell: str | None,
) -> None:
    from mlflow import MlflowClient

    from nbmlops.runs import narrowing

    uri, experiment_id = many_runs
    monkeypatch.setattr(narrowing, "SAMPLE", 20)  # narrowing applies from 21 runs on
    thresholds: list[float | None] = []
    real_threshold = narrowing.threshold

    def recorded(*args: object) -> float | None:
        thresholds.append(real_threshold(*args))  # type: ignore[arg-type]
        return thresholds[-1]

    monkeypatch.setattr(narrowing, "threshold", recorded)
    order = query.column_order("metrics.score", descending)
    assert order is not None
    where = query._combined_filter(filter, cell)
    truth = [r.info.run_id for r in MlflowClient(uri).search_runs(
        [experiment_id], filter_string=where, order_by=[order], max_results=1000)]
    seen: list[str] = []
    token = None
    while True:
        page = query.search_runs(uri, "many.ipynb", filter=filter, cell=cell, order_by=[order],
                                 max_results=15, page_token=token)
        seen += [r.run_id for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
        assert token.startswith("nbmlops-offset:")
    assert seen == truth and len(truth) > 20
    assert any(t is not None for t in thresholds)  # MLflow ordered narrowed sets


def test_threshold_literals_mlflow_parses(many_runs: tuple[str, str]) -> None:
    from nbmlops.runs.narrowing import beyond

    uri, _ = many_runs
    assert beyond("score", 0.1, True) == "metrics.`score` > 0.1"
    for value in (1e20, -2.5e-7, 0.30000000000000004):
        clause = beyond("score", value, value > 0)
        assert "e+" not in clause
        query.search_runs(uri, "many.ipynb", filter=clause)  # MLflow parses it
