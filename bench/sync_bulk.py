"""`make bench`: ``nbmlops sync`` of many small records against direct MLflow calls, as ratios.

For 500 and 2,000 records (``BENCH_SIZES=100,300`` for a quicker look) the records are spooled
first (not timed), then in a fresh process of its own each way runs once against its own copy
of one migrated sqlite store:

- sync: ``nbmlops.sync.worker.drain`` (what ``nbmlops sync`` and the sync process run);
- anchor: the same records logged by direct ``MlflowClient`` calls, the lean way MLflow's API
  allows: ``create_run`` with the tags, one ``log_batch`` of params and metrics, ``log_inputs``,
  ``log_artifact`` per file, ``set_terminated``.

Printed: records/s of each, their ratio, and each process's peak resident memory, so a memory
that grows with the number of records shows between the two sizes. Targets (not tests):
sync >= 0.8x the anchor; peak memory of sync the same for 500 and 2,000 records.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "500,2000").split(",")]
EXPERIMENT = "bench/bulk.ipynb"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_sync(root: Path) -> dict[str, Any]:
    from nbmlops import store
    from nbmlops.sync import worker
    from nbmlops.sync.spool import Spool

    store.apply_fail_fast()
    spool = Spool(root / "spool")
    pending = len(spool.entries())
    started = time.perf_counter()
    report = worker.drain(spool, timeout=24 * 3600)
    elapsed = time.perf_counter() - started
    assert report.ok and report.uploaded == pending, report
    return {"seconds": elapsed, "records": pending, "peak_mb": peak_mb()}


def child_anchor(root: Path, n: int) -> dict[str, Any]:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param
    from throughput import FILES, make_record

    from nbmlops import store
    from nbmlops.sync.upload import dataset_inputs

    store.apply_fail_fast()
    uri = f"sqlite:///{root / 'anchor.db'}"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=str(root / "art"))
    files = root / "files"
    started = time.perf_counter()
    for i in range(n):  # built one at a time, as the spool hands them out
        record = make_record(uri, EXPERIMENT, i)
        run = client.create_run(experiment_id, start_time=record.outcome.start_ms,
                                run_name=record.run_name,
                                tags={**record.tags, store.RECORD_ID_TAG: record.record_id})
        run_id = run.info.run_id
        client.log_batch(run_id,
                         metrics=[Metric(p.name, p.value, p.timestamp_ms, p.step)
                                  for p in record.metrics],
                         params=[Param(k, v) for k, v in record.params.items()])
        client.log_inputs(run_id, dataset_inputs(record.datasets, record.notebook))
        for relpath in FILES:
            client.log_artifact(run_id, str(files / relpath), os.path.dirname(relpath))
        client.set_terminated(run_id, "FINISHED", end_time=record.outcome.end_ms)
    elapsed = time.perf_counter() - started
    return {"seconds": elapsed, "records": n, "peak_mb": peak_mb()}


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench child {args} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def prepare(root: Path, n: int) -> None:
    """A migrated store for each way, the spool with ``n`` records, the anchor's files."""
    from throughput import FILES, spool_records

    from nbmlops import store
    from nbmlops.sync.spool import Spool

    db = root / "mlflow.db"
    store.client(f"sqlite:///{db}", create=True)  # migrations: not part of any figure
    shutil.copy(db, root / "anchor.db")
    spool = Spool(root / "spool").ensure()
    spool_records(spool, f"sqlite:///{db}", EXPERIMENT, range(n))
    for relpath, text in FILES.items():
        (root / "files" / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / "files" / relpath).write_text(text)


def main() -> None:
    import throughput

    print("sync of many small records (10 params, 9 metric points, 1 dataset, 2 artifacts each)")
    for n in SIZES:
        throughput.N = n  # the records' metric values depend on it
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            prepare(root, n)
            anchor = run_child("--anchor", str(root), str(n))
            ours = run_child("--sync", str(root))
        rate, base = n / ours["seconds"], n / anchor["seconds"]
        print(f"  {n:>5} records  sync {rate:7.1f} records/s, peak {ours['peak_mb']:5.0f} MB   "
              f"direct MLflow {base:7.1f} records/s, peak {anchor['peak_mb']:5.0f} MB   "
              f"{rate / base:5.2f}x the anchor   (target >= 0.8x)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--sync":
        print(json.dumps(child_sync(Path(sys.argv[2]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--anchor":
        import throughput

        throughput.N = int(sys.argv[3])
        print(json.dumps(child_anchor(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
