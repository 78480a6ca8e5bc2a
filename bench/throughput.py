"""`make bench`: how fast spooled records reach MLflow, as a ratio to a plain client loop.

500 records (each with params, metric points, tags, one dataset and two artifact files) are
spooled, then uploaded by ``nbmlops sync`` (:func:`nbmlops.sync.worker.drain`, what the sync
process runs); the anchor, measured in the same run, logs the same records with a plain
``MlflowClient`` loop, the way MLflow's API reads: one call per param, metric point and tag,
``log_inputs``, ``log_artifact`` per file, ``set_terminated``. The two alternate in rounds of
100 records, so the load of a shared machine weighs on both alike.

Two stores: the embedded sqlite store, and a team's server (``mlflow server`` on PostgreSQL,
artifacts served from ``--artifacts-destination``; skipped with a line when PostgreSQL or its
driver is missing). Target (not a test): sync >= 2x the plain loop on both.

``BENCH_RECORDS=100 python bench/throughput.py`` for a quicker look.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # not "Creating initial tables..."

N = int(os.environ.get("BENCH_RECORDS", "500"))
ROUNDS = 5
PARAMS = 10
STEPS = 8
FILES = {"code/cell.py": "lr = 0.05\nmodel.fit(X, y)\n" * 20,
         "env/requirements.txt": "numpy==2.0.0\npandas==2.2.0\nscikit-learn==1.5.0\n"}


def make_record(uri: str, experiment: str, i: int) -> Any:
    from conftest import build_record  # the tests' typical record

    from nbmlops.record import MetricPoint

    now = int(time.time() * 1000)
    return build_record(
        uri, experiment=experiment, run_name=f"train-{i}",
        params={f"p{k}": str(i * k) for k in range(PARAMS)},
        metrics=[MetricPoint("loss", 1.0 / (s + 1 + i), s, now + s) for s in range(STEPS)]
        + [MetricPoint("acc", i / N, 0, now)],
    )


def spool_records(spool: Any, uri: str, experiment: str, numbers: range) -> None:
    for i in numbers:
        staging = spool.stage(make_record(uri, experiment, i))
        for relpath, text in FILES.items():
            staging.write_text(relpath, text)
        staging.commit()


def plain_loop(client: Any, experiment_id: str, files: Path, numbers: range) -> float:
    """Seconds to log the records ``numbers`` with a plain MlflowClient loop."""
    from nbmlops.sync.upload import dataset_inputs

    records = [make_record("", "", i) for i in numbers]
    started = time.perf_counter()
    for i, record in zip(numbers, records, strict=True):
        run_id = client.create_run(experiment_id, run_name=f"train-{i}",
                                   tags={"nbmlops.record_id": record.record_id}).info.run_id
        for key, value in record.params.items():
            client.log_param(run_id, key, value)
        for point in record.metrics:
            client.log_metric(run_id, point.name, point.value, point.timestamp_ms, point.step)
        for key, value in record.tags.items():
            client.set_tag(run_id, key, value)
        client.log_inputs(run_id, dataset_inputs(record.datasets, record.notebook))
        for relpath in FILES:
            client.log_artifact(run_id, str(files / relpath), os.path.dirname(relpath))
        client.set_terminated(run_id, "FINISHED")
    return time.perf_counter() - started


def sync(spool: Any, uri: str, experiment: str, numbers: range) -> float:
    """Seconds ``nbmlops sync`` takes for the records ``numbers`` (spooling not counted)."""
    from nbmlops.sync import worker

    spool_records(spool, uri, experiment, numbers)
    started = time.perf_counter()
    report = worker.drain(spool, timeout=3600)
    elapsed = time.perf_counter() - started
    assert report.ok and report.uploaded == len(numbers), report
    return elapsed


def count_runs(client: Any, experiment: str) -> int:
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    return len(client.search_runs([found.experiment_id], max_results=N + 10))


def compare(name: str, root: Path, uri: str) -> None:
    """Both ways in alternating rounds of N / ROUNDS records, so a shared machine's load
    weighs on both alike; the store exists and MLflow is warm before either is timed."""
    from mlflow import MlflowClient

    from nbmlops.sync.spool import Spool

    client = MlflowClient(uri)
    files = root / "files"
    for relpath, text in FILES.items():
        (files / relpath).parent.mkdir(parents=True, exist_ok=True)
        (files / relpath).write_text(text)
    # A sqlite store's artifacts beside it, as nbmlops puts them; a server decides itself.
    where = str(root / "plain-artifacts") if uri.startswith("sqlite:") else None
    experiment_id = client.create_experiment("bench/plain.ipynb", artifact_location=where)
    spool = Spool(root / "spool").ensure()
    size = max(N // ROUNDS, 1)
    plain = ours = 0.0
    for start in range(0, N, size):
        numbers = range(start, min(start + size, N))
        plain += plain_loop(client, experiment_id, files, numbers)
        ours += sync(spool, uri, "bench/sync.ipynb", numbers)
    assert count_runs(client, "bench/sync.ipynb") == N  # exactly once each
    print(f"  {name:<28} sync {N / ours:7.1f} runs/s   plain loop {N / plain:7.1f} runs/s   "
          f"{plain / ours:6.2f}x the plain loop   (target >= 2x)")


def bench_sqlite(root: Path) -> None:
    from nbmlops import store

    db = root / "mlflow.db"
    store.client(f"sqlite:///{db}", create=True)  # migrations: not part of any figure
    compare("embedded sqlite store", root, f"sqlite:///{db}")


def bench_postgres(root: Path) -> None:
    from mlflow_server import MlflowServer, PostgresCluster, ServerStartError

    try:
        import psycopg  # noqa: F401  (the server's driver)
    except ImportError:
        print("  server on PostgreSQL          skipped: no psycopg (pip install -e '.[test]')")
        return
    cluster = PostgresCluster()
    if cluster.bin is None:
        print("  server on PostgreSQL          skipped: PostgreSQL is not installed "
              "(apt-get install postgresql)")
        return
    try:
        cluster.start()
        server = MlflowServer(root / "server", workers=2,
                              backend_store_uri=cluster.create_database("mlflow"))
        with server:
            compare("mlflow server on PostgreSQL", root, server.url)
    except ServerStartError as e:
        print(f"  server on PostgreSQL          skipped: {str(e).splitlines()[0]}")
    finally:
        cluster.close()


def main() -> None:
    from nbmlops import store

    store.apply_fail_fast()
    print(f"sync throughput, {N} records ({PARAMS} params, {STEPS + 1} metric points, "
          f"1 dataset, {len(FILES)} artifacts each)")
    for bench in (bench_sqlite, bench_postgres):
        with tempfile.TemporaryDirectory() as tmp:
            bench(Path(tmp))


if __name__ == "__main__":
    main()
