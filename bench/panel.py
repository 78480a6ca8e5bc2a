"""`make bench`: the compare panel's first page over 10,000 runs vs ``mlflow.search_runs``.

The panel asks MLflow for one ordered page; ``mlflow.search_runs`` returns every run of the
experiment as a DataFrame (what a notebook user would otherwise call). Both are timed in this
process after one warm-up call each (mlflow imported, the sqlite engine open), median of
``REPEATS``. A 10-run experiment in the same store shows that the first page does not grow
with the experiment.

Targets (not tests): first page <= 300 ms and <= 0.2x ``mlflow.search_runs``.

The store is built once through MLflow's public client (``create_run`` + ``log_batch`` +
``log_inputs`` + ``set_terminated``, the calls the sync process makes, with runs shaped by
``nbmlops.sync.upload.prepare``) and cached in ``bench/.cache/``; ``--rebuild`` makes it anew.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
STORE_VERSION = 1
BIG, SMALL = 10_000, 10
BIG_EXPERIMENT, SMALL_EXPERIMENT = "bench/panel-10000.ipynb", "bench/panel-10.ipynb"
WORKERS = max(2, os.cpu_count() or 2)
REPEATS = 5


def store_path() -> Path:
    return CACHE / f"panel-store-v{STORE_VERSION}" / "mlflow.db"


# --- building the store --------------------------------------------------------------------


def _record(uri: str, experiment: str, i: int) -> Any:
    """A run as ``%%track`` records it: params, metrics, two data inputs, nbmlops tags."""
    from nbmlops.record import DataRecord, Environment, MetricPoint, Outcome, RunRecord

    start = 1_700_000_000_000 + i * 60_000
    lr = (0.001, 0.01, 0.05, 0.1)[i % 4]
    depth = 2 + i % 7
    acc = 0.7 + 0.25 * ((i * 7919) % 1000) / 1000
    data_version = f"{i // 500:032x}"  # the data changes every 500 runs
    return RunRecord(
        tracking_uri=uri,
        experiment=experiment,
        run_name=("train", "tune", "evaluate")[i % 3],
        code_sha=f"{i % 5:064x}",
        notebook=experiment,
        cell_id=f"cell-{i % 3}",
        execution_count=i,
        params={"lr": str(lr), "depth": str(depth), "n_estimators": "200", "opt": "adam",
                "seed": str(i % 10)},
        metrics=[MetricPoint("accuracy", acc), MetricPoint("auc", min(acc + 0.03, 1.0)),
                 MetricPoint("f1", acc - 0.02), MetricPoint("val_loss", 1 - acc),
                 MetricPoint("rmse", (1 - acc) / 2)],
        datasets=[
            DataRecord("X_train", "input", "dataframe", data_version, "variable:X_train",
                       [1000, 4], [{"name": f"f{k}", "dtype": "float64"} for k in range(4)],
                       32_000),
            DataRecord("y_train", "input", "series", f"{i // 1000:032x}", "variable:y_train",
                       [1000], [{"name": "y", "dtype": "int64"}], 8_000),
        ],
        environment=Environment("3.11.2", {"numpy": "2.0.0", "scikit-learn": "1.5.0"}),
        outcome=Outcome("FINISHED", start, start + 1500 + 37 * (i % 50)),
    )


def _log_run(client: Any, experiment_id: str, record: Any, files: Path) -> None:
    from nbmlops.sync import upload

    run = upload.prepare(record, files)
    run_id = _retrying(
        client.create_run, experiment_id, record.outcome.start_ms, run.system_tags,
        record.run_name,
    ).info.run_id
    _retrying(client.log_batch, run_id, run.metrics, run.params, run.tags)
    _retrying(client.log_inputs, run_id, run.datasets)
    _retrying(client.set_terminated, run_id, record.outcome.status, record.outcome.end_ms)


def _retrying(call: Any, *args: Any) -> Any:
    # Writers in several threads meet sqlite's single write lock now and then, and two
    # threads may insert the same new dataset at once (MLflow checks, then inserts).
    for attempt in range(20):
        try:
            return call(*args)
        except Exception as e:
            if not any(s in str(e) for s in ("locked", "UNIQUE")) or attempt == 19:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _log_runs(uri: str, experiment_id: str, experiment: str, numbers: range) -> None:
    """One worker process: log the runs numbered ``numbers``."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as files:
        for done, i in enumerate(numbers, 1):
            _log_run(client, experiment_id, _record(uri, experiment, i), Path(files))
            if done % 1000 == 0 and numbers.start == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  {done * WORKERS:6d} runs ({rate * WORKERS:.0f}/s)", file=sys.stderr,
                      flush=True)


def build_store(path: Path) -> None:
    """Create both experiments through MLflow's client; written in a RAM folder, then moved."""
    from mlflow import MlflowClient

    scratch = Path(tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    try:
        uri = f"sqlite:///{scratch / 'mlflow.db'}"
        client = MlflowClient(uri)  # creates the tables once, before the workers start
        for name, n in ((SMALL_EXPERIMENT, SMALL), (BIG_EXPERIMENT, BIG)):
            experiment_id = client.create_experiment(
                name, artifact_location=str(scratch / "artifacts" / str(n))
            )
            # Python (SQLAlchemy) is the bottleneck, not sqlite: one process per core.
            with ProcessPoolExecutor(WORKERS) as pool:
                slices = [range(w, n, WORKERS) for w in range(WORKERS)]
                for future in [
                    pool.submit(_log_runs, uri, experiment_id, name, s) for s in slices
                ]:
                    future.result()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        shutil.copyfile(scratch / "mlflow.db", partial)
        os.replace(partial, path)  # a build stopped half-way never looks like a cache
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ensure_store(rebuild: bool = False) -> str:
    path = store_path()
    if rebuild or not path.is_file():
        print(f"building {BIG + SMALL} runs in {path} (once; later runs reuse it)",
              file=sys.stderr)
        t = time.perf_counter()
        build_store(path)
        print(f"  built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return f"sqlite:///{path}"


# --- timing --------------------------------------------------------------------------------


def median_seconds(call: Any, repeats: int = REPEATS) -> tuple[float, Any]:
    result = call()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def first_page(uri: str, experiment: str, metric: str | None = None) -> Any:
    from nbmlops.panel.widget import ComparePanel

    return ComparePanel(experiment, tracking_uri=uri, metric=metric)


def search_all(uri: str, experiment: str) -> Any:
    import mlflow

    mlflow.set_tracking_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    return mlflow.search_runs(experiment_ids=[found.experiment_id])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="build the cached store anew")
    parser.add_argument("--store-only", action="store_true", help="build the store and stop")
    args = parser.parse_args(argv)
    uri = ensure_store(args.rebuild)
    if args.store_only:
        return
    page_big, panel = median_seconds(lambda: first_page(uri, BIG_EXPERIMENT))
    page_small, _ = median_seconds(lambda: first_page(uri, SMALL_EXPERIMENT))
    by_metric, _ = median_seconds(lambda: first_page(uri, BIG_EXPERIMENT, "accuracy"))
    everything, frame = median_seconds(lambda: search_all(uri, BIG_EXPERIMENT), 3)
    assert len(frame) == BIG and len(panel.rows) == panel.page_size
    print(f"compare panel, first page of {panel.page_size} runs, median of {REPEATS}")
    print(f"  {SMALL:6d} runs in the experiment   {page_small * 1000:8.1f} ms")
    print(f"  {BIG:6d} runs in the experiment   {page_big * 1000:8.1f} ms   (target <= 300 ms)")
    print(f"  {BIG:6d} runs, best accuracy first {by_metric * 1000:7.1f} ms")
    print(f"  mlflow.search_runs, all {BIG}    {everything * 1000:8.1f} ms")
    print(f"  first page / search_runs       {page_big / everything:8.3f}x   (target <= 0.2x)")


if __name__ == "__main__":
    main()
